// IEngineInspector: what the builder decided per layer (type, precision, tactic, tensors with
// their types and INT8 ranges, the ONNX nodes a layer holds), as JSON or one line per layer.
// How much is shown follows the engine's ProfilingVerbosity, as in TensorRT: DETAILED shows
// everything, LAYER_NAMES_ONLY (the default) the layer names, NONE nothing per layer.
#include <cmath>
#include <sstream>

#include "clrt/python/bindings.h"
#include "clrt/runtime/engine.h"
#include "clrt/tactics/tactic.h"

namespace clrt::python {
namespace {

enum class LayerInformationFormat : int32_t { kONELINE = 0, kJSON = 1 };
constexpr int32_t kNamesOnly = 0, kNone = 1, kDetailed = 2;  // ProfilingVerbosity values

struct Inspector {
  std::shared_ptr<runtime::Engine> engine;
  py::object context = py::none();  // accepted like TensorRT's; shapes come from the engine
};

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string jsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream os;
  os.precision(9);
  os << v;
  return os.str();
}

std::string tensorJson(const ir::Network& net, int t) {
  const ir::Tensor& x = net.tensors[static_cast<size_t>(t)];
  std::string s = "{\"Name\": " + jsonString(x.name) + ", \"Dimensions\": [";
  for (size_t i = 0; i < x.dims.size(); ++i) s += (i ? ", " : "") + std::to_string(x.dims[i]);
  s += "], \"Format/Datatype\": " + jsonString(dtypeName(x.dtype));
  if (x.dynamic_range)
    s += ", \"DynamicRange\": [" + jsonNumber(x.dynamic_range->first) + ", " +
         jsonNumber(x.dynamic_range->second) + "]";
  return s + "}";
}

std::string tensorLine(const ir::Network& net, int t) {
  const ir::Tensor& x = net.tensors[static_cast<size_t>(t)];
  std::string s = x.name + "[";
  for (size_t i = 0; i < x.dims.size(); ++i) s += (i ? "x" : "") + std::to_string(x.dims[i]);
  s += std::string("; ") + dtypeName(x.dtype);
  if (x.dynamic_range)
    s += "; range " + jsonNumber(x.dynamic_range->first) + ".." +
         jsonNumber(x.dynamic_range->second);
  return s + "]";
}

// The computing precision: the builder's choice for device layers; host layers (shape math)
// compute in their output's type.
DataType precisionOf(const runtime::EngineDesc& d, size_t i) {
  const ir::Layer& l = d.net.layers[i];
  if (!d.on_host.empty() && d.on_host[i] && !l.outputs.empty())
    return d.net.tensors[static_cast<size_t>(l.outputs[0])].dtype;
  return tactics::layerPrecision(l);
}

std::string layerJson(const runtime::EngineDesc& d, size_t i) {
  const ir::Layer& l = d.net.layers[i];
  if (d.profiling_verbosity == kNone) return "{}";
  if (d.profiling_verbosity != kDetailed) return jsonString(l.name);
  const bool host = !d.on_host.empty() && d.on_host[i];
  std::string s = "{\"Name\": " + jsonString(l.name) +
                  ", \"LayerType\": " + jsonString(ir::layerKindName(l.kind)) +
                  ", \"Precision\": " + jsonString(dtypeName(precisionOf(d, i))) +
                  ", \"TacticName\": " + jsonString(i < d.tactics.size() ? d.tactics[i] : "") +
                  ", \"Location\": " + jsonString(host ? "Host" : "Device") + ", \"Origin\": [";
  for (size_t k = 0; k < l.onnx_nodes.size(); ++k)
    s += (k ? ", " : "") + jsonString(l.onnx_nodes[k]);
  s += "], \"Inputs\": [";
  bool first = true;
  for (int t : l.inputs) {
    if (t < 0) continue;
    s += (first ? "" : ", ") + tensorJson(d.net, t);
    first = false;
  }
  s += "], \"Outputs\": [";
  for (size_t k = 0; k < l.outputs.size(); ++k)
    s += (k ? ", " : "") + tensorJson(d.net, l.outputs[k]);
  return s + "]}";
}

std::string layerLine(const runtime::EngineDesc& d, size_t i) {
  const ir::Layer& l = d.net.layers[i];
  if (d.profiling_verbosity == kNone) return "";
  if (d.profiling_verbosity != kDetailed) return l.name;
  std::string s = l.name + " [" + ir::layerKindName(l.kind) + "] " + dtypeName(precisionOf(d, i));
  const std::string tactic = i < d.tactics.size() ? d.tactics[i] : "";
  s += tactic.empty() ? " (host)" : " tactic " + tactic;
  s += " (";
  bool first = true;
  for (int t : l.inputs) {
    if (t < 0) continue;
    s += (first ? "" : ", ") + tensorLine(d.net, t);
    first = false;
  }
  s += ") -> (";
  for (size_t k = 0; k < l.outputs.size(); ++k)
    s += (k ? ", " : "") + tensorLine(d.net, l.outputs[k]);
  return s + ")";
}

size_t layerIndex(const Inspector& x, int64_t i) {
  const auto n = static_cast<int64_t>(x.engine->desc().net.layers.size());
  if (i < 0 || i >= n) throw py::index_error(str("layer index ", i, " out of range [0, ", n, ")"));
  return static_cast<size_t>(i);
}

std::string layerInfo(const Inspector& x, int64_t i, LayerInformationFormat f) {
  const size_t k = layerIndex(x, i);
  return f == LayerInformationFormat::kJSON ? layerJson(x.engine->desc(), k)
                                            : layerLine(x.engine->desc(), k);
}

std::string engineInfo(const Inspector& x, LayerInformationFormat f) {
  const runtime::EngineDesc& d = x.engine->desc();
  const size_t n = d.profiling_verbosity == kNone ? 0 : d.net.layers.size();
  if (f == LayerInformationFormat::kJSON) {
    std::string s = "{\"Layers\": [";
    for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + layerJson(d, i);
    s += "], \"Bindings\": [";
    for (int i = 0; i < x.engine->numIOTensors(); ++i)
      s += (i ? ", " : "") + jsonString(x.engine->ioName(i));
    return s + "]}";
  }
  std::string s;
  for (size_t i = 0; i < n; ++i) s += layerLine(d, i) + "\n";
  s += "Bindings:";
  for (int i = 0; i < x.engine->numIOTensors(); ++i) s += " " + x.engine->ioName(i);
  return s + "\n";
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
