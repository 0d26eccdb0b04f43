// INetworkDefinition.add_loop and add_if_conditional: TensorRT's ILoop and IIfConditional with
// their boundary layers (ir/network.h, "Control flow"). The layers stay in the network as the
// user adds them, so shapes, names and get_layer read as in TensorRT; the builder unrolls loops
// and turns conditionals into selects first (passes/lower_control_flow.cc). Each loop and
// conditional has an id in NetworkState::constructs (its name); the boundary layers carry the id
// and the name in their attrs, so the builder's messages can name it.
#include <functional>

#include "clrt/ir/host_values.h"
#include "clrt/python/bindings.h"

namespace clrt::python {
namespace {

using K = ir::LayerKind;

enum class TripLimit : int32_t { kCOUNT = 0, kWHILE = 1 };
enum class LoopOutput : int32_t { kLAST_VALUE = 0, kCONCATENATE = 1, kREVERSE = 2 };

struct Construct {
  NetPtr state;
  int64_t id = -1;
  bool loop = true;
  const char* key() const { return loop ? "loop" : "conditional"; }
  std::string name() const { return state->constructs.at(id); }
};
struct LoopRef : Construct {};
struct ConditionalRef : Construct {};

struct LoopBoundaryLayer : LayerHandle {};
struct RecurrenceLayer : LoopBoundaryLayer {};
struct TripLimitLayer : LoopBoundaryLayer {};
struct IteratorLayer : LoopBoundaryLayer {};
struct LoopOutputLayer : LoopBoundaryLayer {};
struct IfBoundaryLayer : LayerHandle {};
struct ConditionLayer : IfBoundaryLayer {};
struct IfInputLayer : IfBoundaryLayer {};
struct IfOutputLayer : IfBoundaryLayer {};

Construct newConstruct(const NetPtr& s, bool loop) {
  const int64_t id = static_cast<int64_t>(s->constructs.size());
  s->constructs[id] = str("(Unnamed ", loop ? "Loop" : "IfConditional", "* ", id, ")");
  return {s, id, loop};
}

// A boundary layer of construct `c`, inferred and wrapped.
py::object addBoundary(const Construct& c, K kind, const char* cls, const std::vector<int>& ins,
                       int nOutputs, const std::function<void(ir::Layer&)>& set = {}) {
  int id;
  ir::Layer& l = newLayer(c.state, kind, cls, ins, &id, nOutputs);
  l.attrs.set(c.key(), c.id);
  l.attrs.set(str(c.key(), "_name"), c.name());
  if (set) set(l);
  return finish(c.state, id);
}

Construct constructOf(const LayerHandle& h, bool loop) {
  const char* key = loop ? "loop" : "conditional";
  return {h.state, h.get().attrs.i(key, -1), loop};
}

void rename(const Construct& c, const std::string& name) {
  CLRT_CHECK(!name.empty(), kValue, c.name(), ": name must not be empty");
  c.state->constructs[c.id] = name;
  for (ir::Layer& l : c.state->net->layers)
    if (l.attrs.has(c.key()) && l.attrs.i(c.key(), -1) == c.id)
      l.attrs.set(str(c.key(), "_name"), name);
}

std::string loopWhat(const LoopRef& loop, const char* call) {
  return str("loop '", loop.name(), "' ", call);
}

// The kind attr of TRIP_LIMIT layers.
const char* limitKind(TripLimit k) { return k == TripLimit::kCOUNT ? "COUNT" : "WHILE"; }

std::string outputKind(LoopOutput k) {
  switch (k) {
    case LoopOutput::kLAST_VALUE:
      return "LAST_VALUE";
    case LoopOutput::kCONCATENATE:
      return "CONCATENATE";
    case LoopOutput::kREVERSE:
      return "REVERSE";
  }
  fail(ErrorKind::kValue, str("unknown LoopOutput ", static_cast<int>(k)));
}

LoopOutput outputKindOf(const std::string& s) {
  if (s == "CONCATENATE") return LoopOutput::kCONCATENATE;
  if (s == "REVERSE") return LoopOutput::kREVERSE;
  return LoopOutput::kLAST_VALUE;
}

void bindLoop(py::module_& m) {
  py::enum_<TripLimit>(m, "TripLimit", "How a loop's trip limit bounds it.")
      .value("COUNT", TripLimit::kCOUNT)
      .value("WHILE", TripLimit::kWHILE);
  py::enum_<LoopOutput>(m, "LoopOutput", "What a loop output gives.")
      .value("LAST_VALUE", LoopOutput::kLAST_VALUE)
      .value("CONCATENATE", LoopOutput::kCONCATENATE)
      .value("REVERSE", LoopOutput::kREVERSE);

  py::class_<LoopRef>(m, "ILoop",
                      "A loop of the network (add_loop). clrt unrolls it when the engine is "
                      "built: the trip count must be known then (constants, static shapes).")
      .def_property(
          "name", [](const LoopRef& l) { return l.name(); },
          [](const LoopRef& l, const std::string& n) { rename(l, n); })
      .def(
          "add_recurrence",
          [](const LoopRef& l, const TensorHandle& init) {
            const int x = tensorIn(l.state, init, loopWhat(l, "add_recurrence"));
            return addBoundary(l, K::kRECURRENCE, "Recurrence", {x}, 1);
          },
          py::arg("initial_value"),
          "A value carried from one iteration to the next: initial_value first, then what "
          "set_input(1, tensor) gives.")
      .def(
          "add_trip_limit",
          [](const LoopRef& l, const TensorHandle& t, TripLimit kind) {
            const int x = tensorIn(l.state, t, loopWhat(l, "add_trip_limit"));
            for (const ir::Layer& b : l.state->net->layers)
              CLRT_CHECK(!(b.kind == K::kTRIP_LIMIT && b.attrs.i("loop", -1) == l.id &&
                           b.attrs.s("kind") == limitKind(kind)),
                         kValue, loopWhat(l, "add_trip_limit"), ": the loop has a ",
                         limitKind(kind), " limit already");
            return addBoundary(l, K::kTRIP_LIMIT, "TripLimit", {x}, 0,
                               [&](ir::Layer& b) { b.attrs.set("kind", limitKind(kind)); });
          },
          py::arg("tensor"), py::arg("kind"),
          "COUNT: a 0-D INT32/INT64 trip count; WHILE: a 0-D BOOL condition computed in the "
          "loop, checked before each iteration.")
      .def(
          "add_iterator",
          [](const LoopRef& l, const TensorHandle& t, int64_t axis, bool reverse) {
            const int x = tensorIn(l.state, t, loopWhat(l, "add_iterator"));
            return addBoundary(l, K::kITERATOR, "Iterator", {x}, 1, [&](ir::Layer& b) {
              b.attrs.set("axis", axis);
              b.attrs.set("reverse", reverse);
            });
          },
          py::arg("tensor"), py::arg("axis") = 0, py::arg("reverse") = false,
          "The tensor's slice along axis at the iteration's index (from the end when reverse).")
      .def(
          "add_loop_output",
          [](const LoopRef& l, const TensorHandle& t, LoopOutput kind, int64_t axis) {
            const int x = tensorIn(l.state, t, loopWhat(l, "add_loop_output"));
            return addBoundary(l, K::kLOOP_OUTPUT, "LoopOutput", {x}, 1, [&](ir::Layer& b) {
              b.attrs.set("kind", outputKind(kind));
              b.attrs.set("axis", axis);
            });
          },
          py::arg("tensor"), py::arg("kind"), py::arg("axis") = 0,
          "LAST_VALUE: the tensor's value in the last iteration; CONCATENATE / REVERSE: every "
          "iteration's value stacked along a new axis (in reverse order), its length given by "
          "set_input(1, tensor).")
      .def("__repr__", [](const LoopRef& l) { return str("<clrt.ILoop '", l.name(), "'>"); });

  py::class_<LoopBoundaryLayer, LayerHandle>(m, "ILoopBoundaryLayer")
      .def_property_readonly(
          "loop", [](const LoopBoundaryLayer& h) { return LoopRef{constructOf(h, true)}; });
  py::class_<RecurrenceLayer, LoopBoundaryLayer>(m, "IRecurrenceLayer");
  py::class_<TripLimitLayer, LoopBoundaryLayer>(m, "ITripLimitLayer")
      .def_property_readonly("kind", [](const TripLimitLayer& h) {
        return h.get().attrs.s("kind") == "COUNT" ? TripLimit::kCOUNT : TripLimit::kWHILE;
      });
  py::class_<IteratorLayer, LoopBoundaryLayer>(m, "IIteratorLayer")
      .def_property(
          "axis", [](const IteratorLayer& h) { return h.get().attrs.i("axis", 0); },
          [](const IteratorLayer& h, int64_t a) {
            edit(h, [&](ir::Layer& l) { l.attrs.set("axis", a); });
          })
      .def_property(
          "reverse", [](const IteratorLayer& h) { return h.get().attrs.i("reverse", 0) != 0; },
          [](const IteratorLayer& h, bool r) {
            edit(h, [&](ir::Layer& l) { l.attrs.set("reverse", r); });
          });
  py::class_<LoopOutputLayer, LoopBoundaryLayer>(m, "ILoopOutputLayer")
      .def_property_readonly(
          "kind", [](const LoopOutputLayer& h) { return outputKindOf(h.get().attrs.s("kind")); })
      .def_property(
          "axis", [](const LoopOutputLayer& h) { return h.get().attrs.i("axis", 0); },
          [](const LoopOutputLayer& h, int64_t a) {
            edit(h, [&](ir::Layer& l) { l.attrs.set("axis", a); });
          });
}

std::string ifWhat(const ConditionalRef& c, const char* call) {
  return str("conditional '", c.name(), "' ", call);
}

void bindConditional(py::module_& m) {
  py::class_<ConditionalRef>(m, "IIfConditional",
                             "An if-then-else of the network (add_if_conditional). clrt "
                             "computes both branches and selects each output (the untaken "
                             "branch is dropped when the condition is known at build time).")
      .def_property(
          "name", [](const ConditionalRef& c) { return c.name(); },
          [](const ConditionalRef& c, const std::string& n) { rename(c, n); })
      .def(
          "set_condition",
          [](const ConditionalRef& c, const TensorHandle& t) {
            const int x = tensorIn(c.state, t, ifWhat(c, "set_condition"));
            ir::Network& net = *c.state->net;
            for (size_t i = 0; i < net.layers.size(); ++i) {
              ir::Layer& l = net.layers[i];
              if (l.kind != K::kCONDITION || l.attrs.i("conditional", -1) != c.id) continue;
              const int id = static_cast<int>(i);
              const int old = l.inputs[0];
              l.inputs[0] = x;  // a new condition replaces the old one
              try {
                ir::HostValues values(net);
                ir::inferLayer(l, values.inputsOf(l));  // a 0-D BOOL, or ValueError
              } catch (...) {
                net.layers[i].inputs[0] = old;
                throw;
              }
              return wrapLayer(c.state, id, true);
            }
            return addBoundary(c, K::kCONDITION, "Condition", {x}, 0);
          },
          py::arg("condition"), "The 0-D BOOL tensor that picks the branch.")
      .def(
          "add_input",
          [](const ConditionalRef& c, const TensorHandle& t) {
            const int x = tensorIn(c.state, t, ifWhat(c, "add_input"));
            return addBoundary(c, K::kIF_INPUT, "ConditionalInput", {x}, 1);
          },
          py::arg("input"), "A value from outside, as the branches see it.")
      .def(
          "add_output",
          [](const ConditionalRef& c, const TensorHandle& t, const TensorHandle& f) {
            const int a = tensorIn(c.state, t, ifWhat(c, "add_output"));
            const int b = tensorIn(c.state, f, ifWhat(c, "add_output"));
            return addBoundary(c, K::kIF_OUTPUT, "ConditionalOutput", {a, b}, 1);
          },
          py::arg("true_subgraph_output"), py::arg("false_subgraph_output"),
          "The conditional's output: the true branch's value or the false branch's (one dtype "
          "and shape).")
      .def("__repr__",
           [](const ConditionalRef& c) { return str("<clrt.IIfConditional '", c.name(), "'>"); });

  py::class_<IfBoundaryLayer, LayerHandle>(m, "IIfConditionalBoundaryLayer")
      .def_property_readonly("conditional", [](const IfBoundaryLayer& h) {
        return ConditionalRef{constructOf(h, false)};
      });
  py::class_<ConditionLayer, IfBoundaryLayer>(m, "IConditionLayer");
  py::class_<IfInputLayer, IfBoundaryLayer>(m, "IIfConditionalInputLayer");
  py::class_<IfOutputLayer, IfBoundaryLayer>(m, "IIfConditionalOutputLayer");
}

}  // namespace

py::object wrapControlFlow(const LayerHandle& h) {
  switch (h.get().kind) {
    case K::kRECURRENCE:
      return py::cast(RecurrenceLayer{{h}});
    case K::kTRIP_LIMIT:
      return py::cast(TripLimitLayer{{h}});
    case K::kITERATOR:
      return py::cast(IteratorLayer{{h}});
    case K::kLOOP_OUTPUT:
      return py::cast(LoopOutputLayer{{h}});
    case K::kCONDITION:
      return py::cast(ConditionLayer{{h}});
    case K::kIF_INPUT:
      return py::cast(IfInputLayer{{h}});
    case K::kIF_OUTPUT:
      return py::cast(IfOutputLayer{{h}});
    default:
      return py::none();
  }
}

void bindControlFlowLayers(py::module_& m) {
  bindLoop(m);
  bindConditional(m);
}

void bindControlFlowAdders(py::class_<NetworkState, NetPtr>& cls) {
  cls.def(
         "add_loop", [](const NetPtr& s) { return LoopRef{newConstruct(s, true)}; },
         "A loop (ILoop): add its trip limit, recurrences, iterators and outputs, and the layers "
         "of its body as usual. clrt unrolls it when building, so the trip count must be known "
         "then.")
      .def(
          "add_if_conditional",
          [](const NetPtr& s) { return ConditionalRef{newConstruct(s, false)}; },
          "An if-then-else (IIfConditional): set_condition, add_input, then each branch's layers "
          "as usual and add_output(true_value, false_value).");
}

}  // namespace clrt::python
