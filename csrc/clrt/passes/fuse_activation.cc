// fuseActivation: conv/matmul + a pointwise activation becomes the layer's epilogue (attrs act,
// act_alpha, act_beta), so the activation never touches memory on its own.
#include <set>

#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

using ir::Layer;
using ir::LayerKind;
using ir::Network;

namespace {

// The activations every conv/matmul epilogue implements (ELU, SOFTPLUS, GELU_TANH stay apart).
bool epilogueSupports(const std::string& type) {
  static const std::set<std::string> kTypes = {"RELU",    "LEAKY_RELU",   "CLIP",
                                               "SIGMOID", "TANH",         "HARD_SIGMOID",
                                               "HARD_SWISH", "GELU_ERF"};
  return kTypes.count(type) != 0;
}

bool fuseAt(Network& net, const detail::Consumers& cons, int u) {
  const Layer& act = net.layers[u];
  if (act.inputs.size() != 1 || act.outputs.size() != 1) return false;
  const std::string type = act.attrs.s("type");
  if (!epilogueSupports(type)) return false;
  int h = detail::fusionHost(net, cons, act.inputs[0], u);
  if (h < 0) return false;
  Layer& host = net.layers[h];
  if (detail::hasActivation(host)) return false;
  if (net.tensors[act.inputs[0]].dtype != net.tensors[act.outputs[0]].dtype) return false;
  host.attrs.set("act", type);
  if (act.attrs.has("alpha")) host.attrs.set("act_alpha", act.attrs.f("alpha"));
  if (act.attrs.has("beta")) host.attrs.set("act_beta", act.attrs.f("beta"));
  detail::note(str("fuseActivation: fused ACTIVATION ", type, " '", act.name, "' into ",
                   ir::layerKindName(host.kind), " '", host.name, "'"));
  detail::absorb(net, h, u);
  return true;
}

}  // namespace

bool fuseActivation(Network& net) {
  bool changed = false;
  detail::Consumers cons = net.consumers();
  for (int u : net.topoOrder()) {
    if (net.layers[u].dead || net.layers[u].kind != LayerKind::kACTIVATION) continue;
    if (fuseAt(net, cons, u)) {
      changed = true;
      cons = net.consumers();
    }
  }
  return changed;
}

}  // namespace clrt::passes
