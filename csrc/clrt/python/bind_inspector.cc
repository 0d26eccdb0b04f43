// IEngineInspector: the Python face of runtime/inspector.h (the text is built there).
#include "clrt/python/bindings.h"
#include "clrt/runtime/engine.h"
#include "clrt/runtime/inspector.h"

namespace clrt::python {
namespace {

enum class LayerInformationFormat : int32_t { kONELINE = 0, kJSON = 1 };

struct Inspector {
  std::shared_ptr<runtime::Engine> engine;
  py::object context = py::none();  // accepted like TensorRT's; shapes come from the engine
};

size_t layerIndex(const Inspector& x, int64_t i) {
  const auto n = static_cast<int64_t>(x.engine->desc().net.layers.size());
  if (i < 0 || i >= n) throw py::index_error(str("layer index ", i, " out of range [0, ", n, ")"));
  return static_cast<size_t>(i);
}

std::string layerInfo(const Inspector& x, int64_t i, LayerInformationFormat f) {
  return runtime::inspectLayer(*x.engine, layerIndex(x, i), f == LayerInformationFormat::kJSON);
}

std::string engineInfo(const Inspector& x, LayerInformationFormat f) {
  return runtime::inspectEngine(*x.engine, f == LayerInformationFormat::kJSON);
}

}  // namespace

py::object makeInspector(std::shared_ptr<runtime::Engine> engine) {
  return py::cast(Inspector{std::move(engine)});
}

void bind_inspector(py::module_& m) {
  py::enum_<LayerInformationFormat>(m, "LayerInformationFormat")
      .value("ONELINE", LayerInformationFormat::kONELINE)
      .value("JSON", LayerInformationFormat::kJSON);
  py::class_<Inspector>(
      m, "EngineInspector",
      "Per-layer decisions of a built engine: ICudaEngine.create_engine_inspector(). "
      "Detail follows the builder config's profiling_verbosity (DETAILED for "
      "precisions, tactics, tensor types and INT8 ranges).")
      .def_readwrite("execution_context", &Inspector::context,
                     "Accepted for TensorRT compatibility; dimensions are the engine's.")
      .def("get_layer_information", &layerInfo, py::arg("layer_index"), py::arg("format"),
           "One layer as JSON or one line; IndexError outside [0, num_layers).")
      .def("get_engine_information", &engineInfo, py::arg("format"),
           "Every layer (execution order) and the I/O tensor names.")
      .def("__repr__", [](const Inspector& x) {
        return str("<clrt.EngineInspector: ", x.engine->numLayers(), " layers>");
      });
  m.attr("IEngineInspector") = m.attr("EngineInspector");
}

}  // namespace clrt::python
