// Debug tensors (TensorRT 10): IDebugListener, the execution context's debug states and
// listener, infer(feeds, debug=True); clrt._clrt._infer_debug, one run of an engine that also
// returns every device layer's output tensors (clrt.accuracy's per-tensor comparison); and
// _registered_tactics: every tactic with its layer kind and precisions (tests force each one).
#include <algorithm>
#include <cmath>
#include <utility>

#include "clrt/ocl/device.h"
#include "clrt/python/bindings.h"
#include "clrt/python/context.h"
#include "clrt/runtime/engine.h"
#include "clrt/tactics/tactic.h"

namespace clrt::python {
namespace {

// The engine's own kernels run unchanged; each layer's outputs are read back (blocking, on the
// queue the layer was enqueued on) before the next layer is enqueued, so arena reuse cannot
// overwrite them. Returns [(tensor name, array)] in execution order, network outputs included;
// INT8 tensors come back as int8 (the inspector gives their ranges).
py::list inferDebug(const py::object& engineObj, const py::dict& feeds) {
  std::shared_ptr<runtime::Engine> engine = engineOf(engineObj);
  const ir::Network& net = engine->desc().net;
  std::map<std::string, runtime::HostView> inputs;
  std::vector<py::array> held;  // alive while the GIL is released
  for (auto item : feeds) {
    const std::string name = py::str(item.first);
    CLRT_CHECK(engine->ioMode(name) == runtime::TensorIOMode::kINPUT, kValue, "_infer_debug: '",
               name, "' is not an input of this engine");
    const DataType want = engine->ioDtype(name);
    held.push_back(contiguous(item.second, numpyDtype(want)));
    const py::array& v = held.back();
    inputs[name] = runtime::HostView{want, Dims(v.shape(), v.shape() + v.ndim()), v.data(),
                                     static_cast<size_t>(v.nbytes())};
  }
  std::vector<std::pair<int, HostTensor>> seen;
  {
    py::gil_scoped_release release;
    auto ctx = engine->createExecutionContext();
    ctx->setLayerObserver([&](int li, const tactics::ExecArgs& a) {
      const ir::Layer& l = net.layers[static_cast<size_t>(li)];
      for (size_t i = 0; i < l.outputs.size() && i < a.outputs.size(); ++i) {
        const tactics::DeviceTensor& d = a.outputs[i];
        if (l.outputs[i] < 0 || !d.buf) continue;
        HostTensor h(d.dtype, d.dims);
        engine->device().read(a.queue, d.buf, 0, h.bytes.size(), h.bytes.data());
        seen.emplace_back(l.outputs[i], tactics::linearized(std::move(h), d.format));
      }
    });
    ctx->infer(inputs);
  }
  py::list out;
  for (auto& [t, h] : seen)
    out.append(py::make_tuple(net.tensors[static_cast<size_t>(t)].name, toArray(std::move(h))));
  return out;
}

// The Python base class of debug listeners.
class Listener {
 public:
  virtual ~Listener() = default;
  virtual bool processDebugTensor(uintptr_t addr, const py::object& location, DataType type,
                                  const py::tuple& shape, const std::string& name,
                                  uintptr_t stream) {
    (void)addr, (void)location, (void)type, (void)shape, (void)name, (void)stream;
    return true;
  }
};

class PyListener : public Listener {
 public:
  bool processDebugTensor(uintptr_t addr, const py::object& location, DataType type,
                          const py::tuple& shape, const std::string& name,
                          uintptr_t stream) override {
    PYBIND11_OVERRIDE_NAME(bool, Listener, "process_debug_tensor", processDebugTensor, addr,
                           location, type, shape, name, stream);
  }
};

const ir::Network& netOf(const Context& c) { return c.ctx->engine().desc().net; }

std::string markedList(const ir::Network& net) {
  std::string s;
  for (const auto& t : net.tensors)
    if (t.debug) s += (s.empty() ? "'" : ", '") + t.name + "'";
  return s.empty() ? "none (mark them with network.mark_debug before building)" : s;
}

const ir::Tensor& debugTensor(const Context& c, const std::string& name, const char* what) {
  const ir::Network& net = netOf(c);
  for (const auto& t : net.tensors)
    if (t.name == name && t.debug) return t;
  fail(ErrorKind::kValue, str(what, ": '", name, "' is not a debug tensor of this engine; its ",
                              "debug tensors are ", markedList(net)));
}

// An INT8 tensor as the float values it stands for (its dynamic range's scale).
py::array hostValue(const ir::Tensor& t, HostTensor h) {
  if (h.dtype != DataType::kINT8 || !t.dynamic_range) return toArray(std::move(h));
  const float scale = std::max(std::abs(t.dynamic_range->first), t.dynamic_range->second) / 127;
  HostTensor f(DataType::kFLOAT, h.dims);
  const auto* q = reinterpret_cast<const int8_t*>(h.bytes.data());
  auto* v = reinterpret_cast<float*>(f.bytes.data());
  for (int64_t i = 0; i < h.numel(); ++i) v[i] = q[i] * scale;
  return toArray(std::move(f));
}

// infer(feeds, debug=True)'s extra entries: every marked tensor, floats for INT8 ones.
void addDebugValues(const Context& c, DebugValues&& values, py::dict& out) {
  const ir::Network& net = netOf(c);
  for (auto& [name, h] : values) {
    const auto it = std::find_if(net.tensors.begin(), net.tensors.end(),
                                 [&](const ir::Tensor& t) { return t.name == name; });
    if (!out.contains(pyText(name))) out[pyText(name)] = hostValue(*it, std::move(h));
  }
}

void callListener(Context& c, DebugValues& values) {
  py::object location = py::module_::import("clrt._clrt").attr("TensorLocation").attr("DEVICE");
  auto dev = c.ctx->engine().devicePtr();
  for (auto& [name, h] : values) {
    // The listener gets a device pointer as TensorRT's does (clrt.memcpy_dtoh reads it), valid
    // during the call.
    const uintptr_t p = runtime::memAlloc(dev, std::max<size_t>(h.bytes.size(), 1));
    try {
      runtime::memcpyHtoD(p, h.bytes.data(), h.bytes.size());
      c.debug_listener.attr("process_debug_tensor")(p, location, h.dtype, toTuple(h.dims),
                                                    pyText(name), 0);
    } catch (...) {
      runtime::memFree(p);
      throw;
    }
    runtime::memFree(p);
  }
}

}  // namespace

void runWithDebug(Context& c, const std::function<void()>& run, DebugValues* all,
                  const runtime::ExecutionContext::LayerObserver& also) {
  const ir::Network& net = netOf(c);
  const bool listen = !c.debug_listener.is_none();
  std::vector<char> want(net.tensors.size(), 0);
  bool any = false;
  for (size_t t = 0; t < net.tensors.size(); ++t) {
    const ir::Tensor& x = net.tensors[t];
    if (!x.debug) continue;
    auto it = c.debug_state.find(x.name);
    want[t] = all || (listen && it != c.debug_state.end() && it->second);
    any = any || want[t];
  }
  if (!any && !also) return run();
  DebugValues seen;
  runtime::Engine& engine = c.ctx->engine();
  // Read back (blocking, on the layer's queue) as each layer finishes, before arena reuse can
  // overwrite the tensor; inputs too, for marked network inputs and host-computed tensors.
  c.ctx->setLayerObserver([&](int li, const tactics::ExecArgs& a) {
    const ir::Layer& l = net.layers[static_cast<size_t>(li)];
    auto take = [&](int t, const tactics::DeviceTensor& d) {
      if (t < 0 || !want[static_cast<size_t>(t)] || !d.buf) return;
      want[static_cast<size_t>(t)] = 0;
      HostTensor h(d.dtype, d.dims);
      engine.device().read(a.queue, d.buf, 0, h.bytes.size(), h.bytes.data());
      seen.emplace_back(net.tensors[static_cast<size_t>(t)].name,
                        tactics::linearized(std::move(h), d.format));
    };
    for (size_t i = 0; i < l.inputs.size() && i < a.inputs.size(); ++i)
      take(l.inputs[i], a.inputs[i]);
    for (size_t i = 0; i < l.outputs.size() && i < a.outputs.size(); ++i)
      take(l.outputs[i], a.outputs[i]);
    if (also) also(li, a);
  });
  try {
    run();
  } catch (...) {
    c.ctx->setLayerObserver(nullptr);
    throw;
  }
  c.ctx->setLayerObserver(nullptr);
  if (listen && any) {
    DebugValues on;
    for (const auto& [name, h] : seen) {
      auto it = c.debug_state.find(name);
      if (it != c.debug_state.end() && it->second) on.emplace_back(name, h);
    }
    callListener(c, on);
  }
  if (all) *all = std::move(seen);
}

py::dict inferDebugValues(Context& c, DebugValues&& values, py::dict out) {
  addDebugValues(c, std::move(values), out);
  return out;
}

void bindContextDebug(py::class_<Context>& cls) {
  cls.def(
         "set_debug_listener",
         [](Context& c, const py::object& listener) {
           CLRT_CHECK(listener.is_none() || py::isinstance(listener, py::type::of<Listener>()),
                      kValue,
                      "set_debug_listener: expected a trt.IDebugListener subclass instance or "
                      "None, got ",
                      std::string(py::str(py::type::of(listener).attr("__name__"))));
           c.debug_listener = listener;
           return true;
         },
         py::arg("listener"),
         "After each run, listener.process_debug_tensor(addr, location, type, shape, name, "
         "stream) for each debug tensor whose debug state is on (addr: a device pointer, valid "
         "during the call).")
      .def("get_debug_listener", [](const Context& c) { return c.debug_listener; })
      .def(
          "set_tensor_debug_state",
          [](Context& c, const std::string& name, bool flag) {
            c.debug_state[debugTensor(c, name, "set_tensor_debug_state").name] = flag;
            return true;
          },
          py::arg("name"), py::arg("flag"))
      .def(
          "get_debug_state",
          [](const Context& c, const std::string& name) {
            debugTensor(c, name, "get_debug_state");
            auto it = c.debug_state.find(name);
            return it != c.debug_state.end() && it->second;
          },
          py::arg("name"))
      .def(
          "set_all_tensors_debug_state",
          [](Context& c, bool flag) {
            for (const auto& t : netOf(c).tensors)
              if (t.debug) c.debug_state[t.name] = flag;
            return true;
          },
          py::arg("flag"));
}

void bind_debug(py::module_& m) {
  py::class_<Listener, PyListener>(
      m, "IDebugListener",
      "Subclass and set with context.set_debug_listener: process_debug_tensor(addr, location, "
      "type, shape, name, stream) is called after each run for each debug tensor whose state is "
      "on; clrt.memcpy_dtoh(array, addr) reads the value.")
      .def(py::init<>())
      .def("process_debug_tensor", &Listener::processDebugTensor, py::arg("addr"),
           py::arg("location"), py::arg("type"), py::arg("shape"), py::arg("name"),
           py::arg("stream"));
  py::object engine = m.attr("ICudaEngine");
  engine.attr("is_debug_tensor") = py::cpp_function(
      [](const py::object& self, const std::string& name) {
        for (const auto& t : engineOf(self)->desc().net.tensors)
          if (t.name == name) return t.debug;
        return false;
      },
      py::name("is_debug_tensor"), py::is_method(engine), py::arg("name"));
  m.def("_infer_debug", &inferDebug, py::arg("engine"), py::arg("feeds"),
        "clrt.accuracy internals: [(tensor name, array)] of every device layer's outputs in "
        "execution order for one run with `feeds` ({input name: array}).");
  m.def(
      "_registered_tactics",
      [] {
        std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> out;
        for (const tactics::Tactic* t : tactics::allTactics()) {
          std::vector<std::string> precs;
          for (DataType d : t->precisions()) precs.push_back(dtypeName(d));
          out.emplace_back(t->name(), ir::layerKindName(t->kind()), precs);
        }
        return out;
      },
      "[(tactic name, layer kind, [precision names])] of every registered tactic.");
}

}  // namespace clrt::python
