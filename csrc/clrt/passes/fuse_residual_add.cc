// fuseResidualAdd: conv/matmul + Add(another tensor of the output's shape) becomes the layer's
// residual input, added in the epilogue before any activation.
#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

using ir::Layer;
using ir::LayerKind;
using ir::Network;

namespace {

bool fuseAt(Network& net, const detail::Consumers& cons, int u) {
  const Layer& add = net.layers[u];
  if (add.inputs.size() != 2 || add.outputs.size() != 1 || add.attrs.s("op") != "SUM") return false;
  const ir::Tensor& out = net.tensors[add.outputs[0]];
  for (int slot = 0; slot < 2; ++slot) {
    int a = add.inputs[slot];
    int b = add.inputs[1 - slot];
    if (a < 0 || b < 0 || a == b) continue;
    int h = detail::fusionHost(net, cons, a, u);
    if (h < 0) continue;
    Layer& host = net.layers[h];
    if (detail::hasActivation(host) || detail::hasResidual(host)) continue;
    if (detail::constantValue(net, b)) continue;  // fuseBias's business
    // The epilogue adds r element by element: no broadcasting either way. Equal dims with -1
    // entries are trusted to be equal at runtime (the usual dynamic batch on both paths).
    const ir::Tensor& ta = net.tensors[a];
    const ir::Tensor& tb = net.tensors[b];
    if (ta.dims != tb.dims || ta.dims != out.dims || ta.dtype != tb.dtype) continue;
    // b becomes an input of the host, so b must not be computed from the host (a cycle).
    if (detail::dependsOnLayer(net, b, h)) continue;
    if (host.kind == LayerKind::kCONVOLUTION) {
      if (host.inputs.size() < 2) host.inputs.resize(2, -1);
      host.inputs[1] = b;
    } else {
      host.inputs.push_back(b);
    }
    host.attrs.set("has_residual", 1);
    detail::note(str("fuseResidualAdd: fused ELEMENTWISE SUM '", add.name, "' into ",
                     ir::layerKindName(host.kind), " '", host.name, "' (residual '", tb.name,
                     "')"));
    detail::absorb(net, h, u);
    return true;
  }
  return false;
}

}  // namespace

bool fuseResidualAdd(Network& net) {
  bool changed = false;
  detail::Consumers cons = net.consumers();
  for (int u : net.topoOrder()) {
    if (net.layers[u].dead || net.layers[u].kind != LayerKind::kELEMENTWISE) continue;
    if (fuseAt(net, cons, u)) {
      changed = true;
      cons = net.consumers();
    }
  }
  return changed;
}

}  // namespace clrt::passes
