// clrt._clrt._infer_debug: one run of an engine that also returns every device layer's output
// tensors (clrt.accuracy's per-tensor comparison; TensorRT's debug tensors without a rebuild);
// _registered_tactics: every tactic with its layer kind and precisions (tests force each one).
#include <utility>

#include "clrt/ocl/device.h"
#include "clrt/python/bindings.h"
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
        seen.emplace_back(l.outputs[i], std::move(h));
      }
    });
    ctx->infer(inputs);
  }
  py::list out;
  for (auto& [t, h] : seen)
    out.append(py::make_tuple(net.tensors[static_cast<size_t>(t)].name, toArray(std::move(h))));
  return out;
}

}  // namespace

void bind_debug(py::module_& m) {
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
