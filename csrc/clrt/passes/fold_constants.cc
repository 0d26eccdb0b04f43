// foldConstants: layers whose inputs are all known on the host (constants, shapes of static
// tensors) are evaluated once at build time and become CONSTANT layers.
#include <algorithm>

#include "clrt/core/error.h"
#include "clrt/ir/limits.h"
#include "clrt/ir/shape_inference.h"
#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

using ir::Layer;
using ir::LayerKind;
using ir::Network;

namespace {

// Beyond this an engine would carry a huge folded tensor (think Expand to a giant shape) that
// is cheaper to compute at runtime.
constexpr int64_t kMaxFoldElements = int64_t{64} << 20;

// The host view of the layer's inputs, or false when one of them is not host-known.
bool hostInputs(const Network& net, const Layer& l, std::vector<ir::TensorInfo>& infos) {
  infos.assign(l.inputs.size(), ir::TensorInfo{});
  for (size_t k = 0; k < l.inputs.size(); ++k) {
    int t = l.inputs[k];
    if (t < 0) continue;  // optional input absent
    const ir::Tensor& tensor = net.tensors[t];
    if (const HostTensor* v = detail::constantValue(net, t)) {
      infos[k] = {v->dtype, v->dims, v};
    } else if (l.kind == LayerKind::kSHAPE && k == 0 && isStatic(tensor.dims)) {
      infos[k] = {tensor.dtype, tensor.dims, nullptr};  // SHAPE needs only the dims
    } else {
      return false;
    }
  }
  return true;
}

// Evaluates the layer, or returns false (unsupported kind, inconsistent values, too large).
bool evaluate(const Layer& l, const std::vector<ir::TensorInfo>& infos,
              std::vector<HostTensor>& outs) {
  try {
    // Shapes first, so a huge result is refused before anything is allocated.
    auto shapes = ir::inferLayer(l, infos);
    if (shapes.size() != l.outputs.size()) return false;
    for (const auto& s : shapes)
      if (!isStatic(s.second) || volume(s.second) > kMaxFoldElements) return false;
    if (!ir::evalOnHost(l, infos, outs) || outs.size() != l.outputs.size()) return false;
  } catch (const Error&) {
    // Left in place: the runtime reports the problem with real inputs, or it never runs.
    return false;
  }
  for (const HostTensor& o : outs)
    if (o.numel() > kMaxFoldElements ||
        o.bytes.size() != static_cast<size_t>(o.numel()) * dtypeSize(o.dtype))
      return false;
  return true;
}

// The layer becomes a CONSTANT writing its first output; one more CONSTANT per extra output.
// Output tensor ids and names are kept so consumers are untouched.
void replaceWithConstants(Network& net, int u, std::vector<HostTensor>& outs) {
  std::vector<int> outputs = net.layers[u].outputs;
  for (size_t k = 0; k < outputs.size(); ++k) {
    ir::Tensor& t = net.tensors[outputs[k]];
    t.dtype = outs[k].dtype;
    t.dims = outs[k].dims;
  }
  Layer& l = net.layers[u];
  std::vector<std::optional<DataType>> types = l.output_types;
  l.kind = LayerKind::kCONSTANT;
  l.inputs.clear();
  l.attrs = ir::Attrs();
  l.weights.clear();
  l.weights["value"] = std::move(outs[0]);
  l.outputs = {outputs[0]};
  if (l.output_types.size() > 1) l.output_types.resize(1);
  // l is not used past here: push_back below may move the layers.
  const std::string name = l.name;
  const std::vector<std::string> nodes = l.onnx_nodes;
  const std::optional<DataType> precision = l.precision;
  for (size_t k = 1; k < outputs.size(); ++k) {
    Layer c;
    c.name = net.uniqueLayerName(str(name, "_output_", k));
    c.kind = LayerKind::kCONSTANT;
    c.outputs = {outputs[k]};
    c.weights["value"] = std::move(outs[k]);
    c.onnx_nodes = nodes;
    c.precision = precision;
    if (k < types.size()) c.output_types = {types[k]};
    net.layers.push_back(std::move(c));
    net.tensors[outputs[k]].producer = static_cast<int>(net.layers.size()) - 1;
  }
}

}  // namespace

bool foldConstants(Network& net) {
  bool changed = false;
  uint64_t folded = 0;  // bytes of the values folded so far, bounded by the host memory limit
  std::vector<ir::TensorInfo> infos;
  std::vector<HostTensor> outs;
  // Topological order: a folded layer is a constant by the time its consumers are looked at.
  for (int u : net.topoOrder()) {
    const Layer& l = net.layers[u];
    if (l.dead || l.kind == LayerKind::kCONSTANT || l.outputs.empty()) continue;
    if (!ir::canEvalOnHost(l.kind) || !hostInputs(net, l, infos)) continue;
    outs.clear();
    if (!evaluate(l, infos, outs)) continue;
    uint64_t bytes = 0;
    for (const HostTensor& o : outs) bytes += o.bytes.size();
    // Over the budget the layer stays a host layer, evaluated per shape resolution under the
    // same limit (an error naming it when over), instead of folding on until memory runs out.
    if (bytes > ir::hostMemoryLimit() - std::min(folded, ir::hostMemoryLimit())) continue;
    folded += bytes;
    const std::string what = str(ir::layerKindName(l.kind), " '", l.name, "'");
    replaceWithConstants(net, u, outs);
    detail::note(str("foldConstants: folded ", what, " into a constant"));
    changed = true;
  }
  return changed;
}

}  // namespace clrt::passes
