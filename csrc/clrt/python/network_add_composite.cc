// INetworkDefinition.add_one_hot, add_normalization and add_einsum: TensorRT layers that clrt's ir
// has no one kind for, built from several ir layers as the ONNX importer builds OneHot (a
// comparison with a range, onnx/importers/composite.cc), Layer/Instance/GroupNormalization (a
// NORMALIZATION of unit scale between reshapes, then the scale and bias) and Einsum (the lowering
// of ir/einsum.cc, which the importer calls too). The last ir layer stands for the whole:
// NetworkState::composites maps it to the TensorRT layer type, its properties edit the parts in
// place (found from it through their producers), and get_input gives TensorRT's inputs.
#include <cmath>
#include <functional>

#include "clrt/ir/einsum.h"
#include "clrt/ir/one_hot.h"
#include "clrt/python/bindings.h"

namespace clrt::python {
namespace {

using K = ir::LayerKind;

std::string what(const LayerHandle& h, const char* prop) {
  return str("layer '", h.get().name, "' ", prop);
}

// Appends the parts of one composite; any failure removes every layer and tensor it added.
class Parts {
 public:
  Parts(const NetPtr& s, const char* cls)
      : s_(s), cls_(cls), layers_(s->net->layers.size()), tensors_(s->net->tensors.size()) {}
  // A part's output tensor; `set` fills in its attrs and weights before it is inferred.
  int add(K kind, const std::vector<int>& ins, const std::function<void(ir::Layer&)>& set = {}) {
    int id;
    ir::Layer& l = newLayer(s_, kind, cls_, ins, &id);
    if (set) set(l);
    commitNewLayer(*s_->net, id);
    last_ = id;
    return s_->net->layers[id].outputs[0];
  }
  // A part whose inputs may not fit until a property is set (TensorRT checks when it builds):
  // its output takes input 0's dtype and dims unless inference gives others.
  int addLenient(K kind, const std::vector<int>& ins, const std::function<void(ir::Layer&)>& set) {
    int id;
    ir::Layer& l = newLayer(s_, kind, cls_, ins, &id);
    set(l);
    ir::Network& net = *s_->net;
    net.tensors[l.outputs[0]].dtype = net.tensors[ins[0]].dtype;
    net.tensors[l.outputs[0]].dims = net.tensors[ins[0]].dims;
    refreshShapes(net, id);
    last_ = id;
    return net.layers[id].outputs[0];
  }
  int constant(HostTensor v) {
    return add(K::kCONSTANT, {}, [&](ir::Layer& l) { l.weights["value"] = std::move(v); });
  }
  int binary(const char* op, int a, int b) {
    return add(K::kELEMENTWISE, {a, b}, [&](ir::Layer& l) { l.attrs.set("op", op); });
  }
  // Registers the last part as the layer and returns its Python object.
  py::object finish(const char* type) {
    s_->composites[last_] = type;
    return wrapLayer(s_, last_, true);
  }
  void rollback() {
    s_->net->layers.resize(layers_);
    s_->net->tensors.resize(tensors_);
  }

 private:
  NetPtr s_;
  const char* cls_;
  size_t layers_, tensors_;
  int last_ = -1;
};

template <typename F>
py::object build(const NetPtr& s, const char* cls, F&& body) {
  Parts p(s, cls);
  try {
    return body(p);
  } catch (...) {
    p.rollback();
    throw;
  }
}

// The layer producing input `i` of layer `id` (-1 for a network input or an absent one).
int producerOf(const ir::Network& net, int id, size_t i) {
  const ir::Layer& l = net.layers[id];
  return i < l.inputs.size() && l.inputs[i] >= 0 ? net.tensors[l.inputs[i]].producer : -1;
}

py::object layerType(const char* name) {
  return py::module_::import("clrt._clrt").attr("LayerType").attr(name);
}

// --- OneHot: ir::lowerOneHot's layers after CASTs of the indices and depth (to INT64) ---

struct OneHotParts {
  int where, equal, unsqueeze, reshape, cast, onSlice, depth;
};

OneHotParts oneHotParts(const LayerHandle& h) {
  const ir::Network& net = h.net();
  OneHotParts p{};
  p.where = h.id;
  p.equal = producerOf(net, p.where, 0);
  p.onSlice = producerOf(net, p.where, 1);
  p.unsqueeze = producerOf(net, p.equal, 0);
  p.reshape = producerOf(net, p.equal, 1);
  const int wrap = producerOf(net, p.unsqueeze, 0);  // WHERE(idx < 0, idx + depth, idx)
  p.cast = producerOf(net, wrap, 2);
  const int range = producerOf(net, p.reshape, 0);
  p.depth = producerOf(net, range, 1);  // the depth's CAST, or a GATHER of its first value
  if (net.layers[p.depth].kind == K::kGATHER) p.depth = producerOf(net, p.depth, 0);
  return p;
}

int64_t oneHotAxis(const LayerHandle& h) {
  return h.net().layers[oneHotParts(h).unsqueeze].attrs.ints("axes").at(0);
}

// `axis` of a one-hot output of rank `rank` (indices' rank + 1) as TensorRT takes it.
int64_t checkedOneHotAxis(int64_t axis, int64_t rank, const std::string& w) {
  CLRT_CHECK(axis >= -rank && axis < rank, kValue, w, ": axis ", axis,
             " is out of range for indices of rank ", rank - 1, " (expected ", -rank, " to ",
             rank - 1, ")");
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> along(int64_t rank, int64_t axis) {
  std::vector<int64_t> v(static_cast<size_t>(rank), 1);
  v[axis] = -1;
  return v;
}

py::object addOneHot(const NetPtr& s, const TensorHandle& indices, const TensorHandle& values,
                     const TensorHandle& depth, int64_t axis) {
  const char* w = "add_one_hot";
  const int i = tensorIn(s, indices, w), v = tensorIn(s, values, w), d = tensorIn(s, depth, w);
  const auto& t = s->net->tensors;
  CLRT_CHECK(t[i].dtype == DataType::kINT32 || t[i].dtype == DataType::kINT64, kValue, w,
             ": indices '", t[i].name, "' are ", dtypeName(t[i].dtype),
             "; expected INT32 or INT64");
  CLRT_CHECK(t[v].dims.size() == 1 && t[v].dims[0] == 2, kValue, w, ": values '", t[v].name,
             "' have dims ", dimsToString(t[v].dims), "; expected [2] (off value, on value)");
  const Dims dd = t[d].dims;  // a copy: the parts below add tensors (t may move)
  CLRT_CHECK((t[d].dtype == DataType::kINT32 || t[d].dtype == DataType::kINT64) &&
                 (dd.empty() || (dd.size() == 1 && dd[0] == 1)),
             kValue, w, ": depth '", t[d].name, "' is ", dtypeName(t[d].dtype), " ",
             dimsToString(dd), "; expected one INT32 or INT64 value");
  const int64_t rank = static_cast<int64_t>(t[i].dims.size()) + 1;
  axis = checkedOneHotAxis(axis, rank, w);
  return build(s, "OneHot", [&](Parts& p) {
    auto cast = [&](int x) {
      return p.add(K::kCAST, {x},
                   [](ir::Layer& l) { l.attrs.set("to", static_cast<int64_t>(DataType::kINT64)); });
    };
    const int idx = cast(i);
    int dep = cast(d);
    if (!dd.empty()) {  // [1] -> a scalar
      const int first = p.constant(HostTensor::fromInt64({}, {0}));
      dep = p.add(K::kGATHER, {dep, first}, [](ir::Layer& l) { l.attrs.set("axis", int64_t{0}); });
    }
    ir::lowerOneHot(
        idx, dep, v, rank, axis,
        [&](K kind, const std::vector<int>& ins, const std::function<void(ir::Layer&)>& set) {
          return p.add(kind, ins, set);
        },
        [&](int64_t x) { return p.constant(HostTensor::fromInt64({}, {x})); });
    return p.finish("ONE_HOT");
  });
}

void setOneHotAxis(const OneHotLayer& h, int64_t axis) {
  const OneHotParts p = oneHotParts(h);
  ir::Network& net = h.net();
  const int64_t rank =
      static_cast<int64_t>(net.tensors[net.layers[p.where].outputs[0]].dims.size());
  axis = checkedOneHotAxis(axis, rank, what(h, "axis"));
  net.layers[p.unsqueeze].attrs.set("axes", std::vector<int64_t>{axis});
  net.layers[p.reshape].attrs.set("shape", along(rank, axis));
  refreshShapes(net, p.unsqueeze);
  refreshShapes(net, p.reshape);
}

// --- Normalization: R2(SUM(PROD(NORM(R1(x)), Q1(scale)), Q2(bias))) ---
// num_groups 1: every reshape keeps its input's dims (shape all 0s), NORM normalizes the trailing
// axes. num_groups G > 1 (TensorRT's group norm, scale and bias one value per group): x [N, C,
// ...] as [N, G, C / G * spatial] normalized over its last dim, scale and bias as [1, G, 1], R2
// back to x's dims.

struct NormParts {
  int r2, sum, prod, norm, r1, q1, q2;
};

NormParts normParts(const LayerHandle& h) {
  const ir::Network& net = h.net();
  NormParts p{};
  p.r2 = h.id;
  p.sum = producerOf(net, p.r2, 0);
  p.prod = producerOf(net, p.sum, 0);
  p.q2 = producerOf(net, p.sum, 1);
  p.norm = producerOf(net, p.prod, 0);
  p.q1 = producerOf(net, p.prod, 1);
  p.r1 = producerOf(net, p.norm, 0);
  return p;
}

struct NormSpec {
  int64_t axes = 0;  // TensorRT's bit mask
  int64_t groups = 1;
  double epsilon = 1e-5;
};

const Dims& dimsOf(const ir::Network& net, const ir::Layer& l, size_t i) {
  return net.tensors[l.inputs.at(i)].dims;
}

// What the parts get: reshape shapes (0 keeps a dim), the NORM's axis and unit-scale dims.
struct NormPlan {
  Dims r1, q1, q2, r2, normed;
  int64_t axis = 0;
};

// Scale or bias `v` against input x: TensorRT broadcasts it (each dim 1 or x's), or with groups
// takes one value per group.
void checkAffine(const Dims& x, const Dims& v, const char* which, const NormSpec& spec,
                 const std::string& w) {
  if (spec.groups > 1) {
    CLRT_CHECK(isStatic(v) && volume(v) == spec.groups, kValue, w, ": num_groups ", spec.groups,
               " needs the ", which, " to hold one value per group ([1, G, 1, ...]), got ",
               dimsToString(v));
    return;
  }
  bool fits = v.size() <= x.size();
  for (size_t k = 0; fits && k < v.size(); ++k) {
    const int64_t a = v[v.size() - 1 - k], b = x[x.size() - 1 - k];
    fits = a == 1 || a == b || (a < 0 && b < 0);
  }
  // [1, G, 1, ...] with G dividing C: a group norm's, waiting for num_groups to be set.
  bool perGroup = v.size() == x.size() && v.size() >= 3 && v[1] > 1 && x[1] > 0 && x[1] % v[1] == 0;
  for (size_t k = 0; perGroup && k < v.size(); ++k) perGroup = k == 1 || v[k] == 1;
  CLRT_CHECK(fits || perGroup, kValue, w, ": ", which, " ", dimsToString(v),
             " does not broadcast to input ", dimsToString(x),
             " (instance norm: [1, C, 1, ...]; group norm: [1, G, 1, ...]; layer norm: the "
             "normalized dims)");
}

NormPlan planNorm(const Dims& x, const Dims& sd, const Dims& bd, const NormSpec& spec,
                  const std::string& w) {
  const int64_t r = static_cast<int64_t>(x.size());
  CLRT_CHECK(spec.axes > 0 && r < 63 && (spec.axes >> r) == 0, kValue, w, ": axes bit mask ",
             spec.axes, " must name axes of the input ", dimsToString(x));
  int64_t first = 0;
  while (!((spec.axes >> first) & 1)) ++first;
  CLRT_CHECK(spec.axes == ((int64_t{1} << r) - 1) - ((int64_t{1} << first) - 1), kUnsupported, w,
             ": axes bit mask ", spec.axes, " is not a run of trailing axes; clrt normalizes axes ",
             "a..", r - 1, " (instance norm: the spatial ones, layer norm: the last ones)");
  CLRT_CHECK(spec.groups >= 1, kValue, w, ": num_groups ", spec.groups, " must be >= 1");
  CLRT_CHECK(spec.epsilon >= 0 && std::isfinite(spec.epsilon), kValue, w, ": epsilon ",
             spec.epsilon, " must be finite and >= 0");
  checkAffine(x, sd, "scale", spec, w);
  checkAffine(x, bd, "bias", spec, w);
  NormPlan p;
  p.r1 = p.r2 = Dims(x.size(), 0);
  p.q1 = Dims(sd.size(), 0);
  p.q2 = Dims(bd.size(), 0);
  p.normed.assign(x.begin() + first, x.end());
  p.axis = first;
  if (spec.groups > 1) {
    const Dims rest(x.begin() + 1, x.end());
    CLRT_CHECK(r >= 3 && first == 2 && isStatic(rest) && x[1] % spec.groups == 0, kValue, w,
               ": num_groups ", spec.groups, " needs input [N, C, ...] (got ", dimsToString(x),
               ") with static C divisible by it and static spatial dims, and axes of every "
               "spatial dim (bit mask ",
               ((int64_t{1} << r) - 4), ")");
    const int64_t per = volume(rest) / spec.groups;
    p.r1 = {0, spec.groups, per};
    p.normed = {per};
    p.axis = 2;
    p.q1 = p.q2 = {1, spec.groups, 1};
    p.r2 = {0};
    p.r2.insert(p.r2.end(), rest.begin(), rest.end());
  }
  CLRT_CHECK(isStatic(p.normed), kUnsupported, w, ": the normalized dims ", dimsToString(p.normed),
             " of input ", dimsToString(x), " must be static");
  return p;
}

void setNormAttrs(ir::Layer& n, const NormPlan& p, double epsilon) {
  n.attrs.set("axis", p.axis);
  n.attrs.set("epsilon", epsilon);
  n.weights["scale"] = HostTensor::fromFloats(p.normed, std::vector<float>(volume(p.normed), 1.0f));
}

NormSpec normSpec(const LayerHandle& h) {
  const ir::Network& net = h.net();
  const NormParts p = normParts(h);
  const ir::Layer& n = net.layers[p.norm];
  NormSpec s;
  s.epsilon = n.attrs.f("epsilon", 1e-5);
  const Dims r1 = net.layers[p.r1].attrs.ints("shape");
  s.groups = r1.size() >= 2 && r1[1] != 0 ? r1[1] : 1;
  const int64_t r = static_cast<int64_t>(dimsOf(net, net.layers[p.r1], 0).size());
  const int64_t first = s.groups > 1 ? 2 : n.attrs.i("axis", 0);
  s.axes = ((int64_t{1} << r) - 1) - ((int64_t{1} << first) - 1);
  return s;
}

void editNorm(const NormalizationLayer& h, const std::function<void(NormSpec&)>& change,
              const char* prop) {
  NormSpec spec = normSpec(h);
  change(spec);
  const NormParts p = normParts(h);
  ir::Network& net = h.net();
  auto in = [&](int l) -> const Dims& { return dimsOf(net, net.layers[l], 0); };
  const NormPlan plan = planNorm(in(p.r1), in(p.q1), in(p.q2), spec, what(h, prop));
  net.layers[p.r1].attrs.set("shape", plan.r1);
  net.layers[p.q1].attrs.set("shape", plan.q1);
  net.layers[p.q2].attrs.set("shape", plan.q2);
  net.layers[p.r2].attrs.set("shape", plan.r2);
  setNormAttrs(net.layers[p.norm], plan, spec.epsilon);
  for (int l : {p.r1, p.q1, p.q2}) refreshShapes(net, l);
}

py::object addNormalization(const NetPtr& s, const TensorHandle& input, const TensorHandle& scale,
                            const TensorHandle& bias, int64_t axes) {
  const char* w = "add_normalization";
  const int x = tensorIn(s, input, w), sc = tensorIn(s, scale, w), b = tensorIn(s, bias, w);
  const auto& t = s->net->tensors;
  CLRT_CHECK(t[x].dtype == DataType::kFLOAT || t[x].dtype == DataType::kHALF, kValue, w,
             ": input '", t[x].name, "' is ", dtypeName(t[x].dtype), "; expected FLOAT or HALF");
  NormSpec spec;
  spec.axes = axes;
  const NormPlan plan = planNorm(t[x].dims, t[sc].dims, t[b].dims, spec, w);
  return build(s, "Normalization", [&](Parts& p) {
    auto reshape = [&](int in, const Dims& shape) {
      return p.add(K::kRESHAPE, {in}, [&](ir::Layer& l) { l.attrs.set("shape", shape); });
    };
    const int normed = p.add(K::kNORMALIZATION, {reshape(x, plan.r1)},
                             [&](ir::Layer& l) { setNormAttrs(l, plan, spec.epsilon); });
    auto binary = [&](const char* op, int a, int c) {
      return p.addLenient(K::kELEMENTWISE, {a, c}, [&](ir::Layer& l) { l.attrs.set("op", op); });
    };
    const int scaled = binary("PROD", normed, reshape(sc, plan.q1));
    reshape(binary("SUM", scaled, reshape(b, plan.q2)), plan.r2);
    return p.finish("NORMALIZATION");
  });
}

// --- Einsum: the importer's lowering (ir/einsum.cc), closed by an IDENTITY that stands for the
// layer and holds the equation and the public inputs as attrs ---

struct EinsumLayer : LayerHandle {};

py::object addEinsum(const NetPtr& s, const std::vector<TensorHandle>& inputs,
                     const std::string& equation) {
  const char* w = "add_einsum";
  std::vector<ir::EinsumOperand> ops;
  std::vector<int64_t> ids;
  for (const TensorHandle& t : inputs) {
    const int id = tensorIn(s, t, w);
    ops.push_back({id, s->net->tensors[id].dims});
    ids.push_back(id);
  }
  CLRT_CHECK(!ops.empty(), kValue, w, ": no inputs");
  return build(s, "Einsum", [&](Parts& p) {
    int r;
    try {
      r = ir::lowerEinsum(
          equation, ops,
          [&](K kind, const std::vector<int>& ins, const std::function<void(ir::Layer&)>& set) {
            return p.add(kind, ins, set);
          });
    } catch (const Error& e) {
      fail(e.kind() == ErrorKind::kUnsupported ? ErrorKind::kUnsupported : ErrorKind::kValue,
           str(w, ": ", e.what()));
    }
    p.add(K::kIDENTITY, {r}, [&](ir::Layer& l) {
      l.attrs.set("equation", ir::einsumEquation(equation));
      l.attrs.set("einsum_inputs", ids);
    });
    return p.finish("EINSUM");
  });
}

// get_input / num_inputs as TensorRT's: the public inputs, wherever the parts read them.
template <typename Cls>
void bindPublicInputs(Cls& cls, std::function<std::vector<int>(const LayerHandle&)> inputs) {
  cls.def_property_readonly("num_inputs",
                            [inputs](const LayerHandle& h) { return inputs(h).size(); })
      .def(
          "get_input",
          [inputs](const LayerHandle& h, int64_t i) {
            const std::vector<int> v = inputs(h);
            CLRT_CHECK(i >= 0 && i < static_cast<int64_t>(v.size()), kValue, what(h, "get_input"),
                       ": index ", i, " is out of range (", v.size(), " inputs)");
            return wrapTensor(h.state, v[i]);
          },
          py::arg("index"))
      .def(
          "set_input",
          [](const LayerHandle& h, int64_t, const TensorHandle&) {
            fail(ErrorKind::kUnsupported,
                 str(what(h, "set_input"),
                     ": clrt builds this layer from several ir layers; add a new one with the "
                     "new input instead"));
          },
          py::arg("index"), py::arg("tensor"));
}

}  // namespace

py::object wrapComposite(const LayerHandle& h) {
  auto it = h.state->composites.find(h.id);
  if (it == h.state->composites.end()) return py::none();
  if (it->second == "ONE_HOT") return py::cast(OneHotLayer{h});
  if (it->second == "NORMALIZATION") return py::cast(NormalizationLayer{h});
  if (it->second == "EINSUM") return py::cast(EinsumLayer{h});
  return py::none();
}

void bindCompositeLayers(py::module_& m) {
  py::class_<OneHotLayer, LayerHandle> oneHot(m, "IOneHotLayer");
  oneHot.def_property_readonly("type", [](const OneHotLayer&) { return layerType("ONE_HOT"); })
      .def_property("axis", &oneHotAxis, &setOneHotAxis,
                    "Where the depth dim goes in the output (indices' rank + 1 dims).");
  bindPublicInputs(oneHot, [](const LayerHandle& h) {
    const OneHotParts p = oneHotParts(h);
    const ir::Network& net = h.net();
    return std::vector<int>{net.layers[p.cast].inputs[0], net.layers[p.onSlice].inputs[0],
                            net.layers[p.depth].inputs[0]};
  });
  py::class_<NormalizationLayer, LayerHandle> norm(m, "INormalizationLayer");
  norm.def_property_readonly("type",
                             [](const NormalizationLayer&) { return layerType("NORMALIZATION"); })
      .def_property(
          "epsilon", [](const NormalizationLayer& h) { return normSpec(h).epsilon; },
          [](const NormalizationLayer& h, double e) {
            editNorm(
                h, [&](NormSpec& s) { s.epsilon = e; }, "epsilon");
          })
      .def_property(
          "axes", [](const NormalizationLayer& h) { return normSpec(h).axes; },
          [](const NormalizationLayer& h, int64_t a) {
            editNorm(
                h, [&](NormSpec& s) { s.axes = a; }, "axes");
          },
          "Bit mask of the normalized axes: a run of trailing ones in clrt.")
      .def_property(
          "num_groups", [](const NormalizationLayer& h) { return normSpec(h).groups; },
          [](const NormalizationLayer& h, int64_t g) {
            editNorm(
                h, [&](NormSpec& s) { s.groups = g; }, "num_groups");
          },
          "Channel groups (input [N, C, ...], axes the spatial dims, scale/bias [1, G, 1, ...]).")
      .def_property(
          "compute_precision",
          [](const NormalizationLayer& h) {
            return h.net().layers[normParts(h).norm].precision.value_or(DataType::kFLOAT);
          },
          [](const NormalizationLayer& h, DataType t) {
            CLRT_CHECK(t == DataType::kFLOAT || t == DataType::kHALF, kUnsupported,
                       what(h, "compute_precision"), ": ", dtypeName(t),
                       " is not implemented (FLOAT and HALF are)");
            h.net().layers[normParts(h).norm].precision = t;
          },
          "The precision of the mean/variance (the NORMALIZATION part's precision).");
  bindPublicInputs(norm, [](const LayerHandle& h) {
    const NormParts p = normParts(h);
    const ir::Network& net = h.net();
    return std::vector<int>{net.layers[p.r1].inputs[0], net.layers[p.q1].inputs[0],
                            net.layers[p.q2].inputs[0]};
  });
  py::class_<EinsumLayer, LayerHandle> einsum(m, "IEinsumLayer");
  einsum.def_property_readonly("type", [](const EinsumLayer&) { return layerType("EINSUM"); })
      .def_property(
          "equation", [](const EinsumLayer& h) { return h.get().attrs.s("equation", ""); },
          [](const EinsumLayer& h, const std::string& eq) {
            const std::string now = h.get().attrs.s("equation", "");
            CLRT_CHECK(ir::einsumEquation(eq) == now, kUnsupported, what(h, "equation"), ": '", eq,
                       "' differs from '", now,
                       "'; clrt lowers the equation into several ir layers when add_einsum adds "
                       "the layer, so a new equation needs a new add_einsum");
          },
          "The Einsum equation (spaces removed). Fixed once added in clrt: setting another "
          "equation raises clrt.UnsupportedError.");
  bindPublicInputs(einsum, [](const LayerHandle& h) {
    std::vector<int> v;
    for (int64_t t : h.get().attrs.ints("einsum_inputs")) v.push_back(static_cast<int>(t));
    return v;
  });
}

void bindCompositeAdders(py::class_<NetworkState, NetPtr>& cls) {
  cls.def("add_one_hot", &addOneHot, py::arg("indices"), py::arg("values"), py::arg("depth"),
          py::arg("axis"),
          "One-hot (ONNX OneHot): values[1] where an index (negative ones count from depth) "
          "equals the position along the new axis, values[0] elsewhere.")
      .def("add_normalization", &addNormalization, py::arg("input"), py::arg("scale"),
           py::arg("bias"), py::arg("axes"),
           "(x - mean) / sqrt(var + epsilon) * scale + bias over the axes of a bit mask (a run "
           "of trailing axes), epsilon 1e-5 and one group until set on the layer.")
      .def("add_einsum", &addEinsum, py::arg("inputs"), py::arg("equation"),
           "Einsum over one or two tensors of static dims (ONNX Einsum, lowered as clrt's "
           "importer lowers it: transposes, reshapes, diagonals, sums and one batched matrix "
           "multiply); ellipses allowed, labels of one size wherever they appear.");
}

}  // namespace clrt::python
