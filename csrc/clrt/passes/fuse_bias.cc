// fuseBias: conv/matmul + Add (or Sub) of a per-channel constant becomes the layer's bias.
#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

bool fuseBias(ir::Network& net) {
  bool changed = false;
  detail::Consumers cons = net.consumers();
  for (int u : net.topoOrder()) {
    if (net.layers[u].dead || net.layers[u].kind != ir::LayerKind::kELEMENTWISE) continue;
    if (detail::foldElementwiseConstant(net, cons, u, /*allowScale=*/false, "fuseBias")) {
      changed = true;
      cons = net.consumers();
    }
  }
  return changed;
}

}  // namespace clrt::passes
