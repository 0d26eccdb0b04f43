// removeDeadLayers: layers none of whose outputs reach a network output or a debug tensor
// (mark_debug) are marked dead.
#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

bool removeDeadLayers(ir::Network& net) {
  std::vector<char> live(net.layers.size(), 0);
  std::vector<int> stack(net.outputs.begin(), net.outputs.end());
  for (size_t t = 0; t < net.tensors.size(); ++t)
    if (net.tensors[t].debug) stack.push_back(static_cast<int>(t));
  while (!stack.empty()) {
    int t = stack.back();
    stack.pop_back();
    if (t < 0) continue;
    int p = net.tensors[t].producer;
    if (p < 0 || live[p] || net.layers[p].dead) continue;
    live[p] = 1;
    for (int in : net.layers[p].inputs) stack.push_back(in);
  }
  bool changed = false;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    ir::Layer& l = net.layers[i];
    if (l.dead || live[i]) continue;
    l.dead = true;
    changed = true;
    detail::note(str("removeDeadLayers: removed ", ir::layerKindName(l.kind), " '", l.name, "'"));
  }
  return changed;
}

}  // namespace clrt::passes
