// The engine inspector's JSON and one-line texts, built from the EngineDesc.
#include "clrt/runtime/inspector.h"

#include <cmath>
#include <sstream>

namespace clrt::runtime {
namespace {

constexpr int32_t kNone = 1, kDetailed = 2;  // ProfilingVerbosity values (0: layer names only)

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

// TensorRT's TensorFormat member names.
const char* formatName(ir::TensorFormat f) {
  return f == ir::TensorFormat::kHWC ? "HWC" : "LINEAR";
}

std::string tensorJson(const ir::Network& net, int t) {
  const ir::Tensor& x = net.tensors[static_cast<size_t>(t)];
  std::string s = "{\"Name\": " + jsonString(x.name) + ", \"Dimensions\": [";
  for (size_t i = 0; i < x.dims.size(); ++i) s += (i ? ", " : "") + std::to_string(x.dims[i]);
  s += "], \"Format/Datatype\": " + jsonString(dtypeName(x.dtype));
  s += ", \"Format\": " + jsonString(formatName(x.format));
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
  if (x.format != ir::TensorFormat::kLINEAR) s += std::string("; ") + formatName(x.format);
  if (x.dynamic_range)
    s += "; range " + jsonNumber(x.dynamic_range->first) + ".." +
         jsonNumber(x.dynamic_range->second);
  return s + "]";
}

// The computing precision: the builder's choice for device layers; host layers (shape math)
// compute in their output's type.
DataType precisionOf(const EngineDesc& d, size_t i) {
  const ir::Layer& l = d.net.layers[i];
  if (!d.on_host.empty() && d.on_host[i] && !l.outputs.empty())
    return d.net.tensors[static_cast<size_t>(l.outputs[0])].dtype;
  return tactics::layerPrecision(l);
}

std::string layerJson(const EngineDesc& d, size_t i) {
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

std::string layerLine(const EngineDesc& d, size_t i) {
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

}  // namespace

std::string inspectLayer(const Engine& engine, size_t i, bool json) {
  return json ? layerJson(engine.desc(), i) : layerLine(engine.desc(), i);
}

std::string inspectEngine(const Engine& engine, bool json) {
  const EngineDesc& d = engine.desc();
  const size_t n = d.profiling_verbosity == kNone ? 0 : d.net.layers.size();
  if (json) {
    std::string s = "{\"Layers\": [";
    for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + layerJson(d, i);
    s += "], \"Bindings\": [";
    for (int i = 0; i < engine.numIOTensors(); ++i)
      s += (i ? ", " : "") + jsonString(engine.ioName(i));
    return s + "]}";
  }
  std::string s;
  for (size_t i = 0; i < n; ++i) s += layerLine(d, i) + "\n";
  s += "Bindings:";
  for (int i = 0; i < engine.numIOTensors(); ++i) s += " " + engine.ioName(i);
  return s + "\n";
}

}  // namespace clrt::runtime
