// foldBatchNorm: a per-channel affine (SCALE, or PROD/SUM with a constant) after a conv/matmul
// goes into the kernel and bias, so BatchNormalization costs nothing at inference.
#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

using ir::Layer;
using ir::LayerKind;
using ir::Network;

namespace {

bool foldScaleLayer(Network& net, const detail::Consumers& cons, int u) {
  const Layer& s = net.layers[u];
  if (s.inputs.size() != 1 || s.outputs.size() != 1) return false;
  int x = s.inputs[0];
  int h = detail::fusionHost(net, cons, x, u);
  if (h < 0) return false;
  Layer& host = net.layers[h];
  // The scale would also have to apply to a residual or pass through an activation.
  if (detail::hasActivation(host) || detail::hasResidual(host)) return false;
  if (!host.weights.count("kernel")) return false;
  const int64_t k = detail::outputChannels(net, host);
  const int64_t rank = static_cast<int64_t>(net.tensors[x].dims.size());
  if (k <= 0 || rank == 0) return false;
  int64_t axis = s.attrs.i("channel_axis", 1);
  if (axis < -rank || axis >= rank) return false;
  if (axis < 0) axis += rank;
  if (axis != detail::channelAxis(net, host)) return false;

  auto values = [&](const char* name, float def) -> std::optional<std::vector<float>> {
    auto it = s.weights.find(name);
    if (it == s.weights.end()) return std::vector<float>(static_cast<size_t>(k), def);
    std::vector<float> v = it->second.asFloats();
    if (v.size() == 1) return std::vector<float>(static_cast<size_t>(k), v[0]);
    if (static_cast<int64_t>(v.size()) != k) return std::nullopt;
    return v;
  };
  auto scale = values("scale", 1.f);
  auto shift = values("shift", 0.f);
  if (!scale || !shift || !detail::foldAffine(host, *scale, *shift)) return false;
  detail::note(str("foldBatchNorm: folded SCALE '", s.name, "' into ", ir::layerKindName(host.kind),
                   " '", host.name, "'"));
  detail::absorb(net, h, u);
  return true;
}

}  // namespace

bool foldBatchNorm(Network& net) {
  bool changed = false;
  detail::Consumers cons = net.consumers();
  for (int u : net.topoOrder()) {
    const Layer& l = net.layers[u];
    if (l.dead) continue;
    bool folded = false;
    if (l.kind == LayerKind::kSCALE) folded = foldScaleLayer(net, cons, u);
    if (l.kind == LayerKind::kELEMENTWISE)
      folded = detail::foldElementwiseConstant(net, cons, u, /*allowScale=*/true, "foldBatchNorm");
    if (folded) {
      changed = true;
      cons = net.consumers();
    }
  }
  return changed;
}

}  // namespace clrt::passes
