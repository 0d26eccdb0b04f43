// fuseResidualAdd: conv/matmul + Add(another tensor of the output's shape) becomes the layer's
// residual input, added in the epilogue before any activation. Also through a RESHAPE between
// the product and the Add (Hugging Face's Conv1D: addmm on [B * S, K] viewed as [B, S, N]):
// the other tensor is then read through a reshape to the product's dims (a view).
#include <algorithm>

#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

using ir::Layer;
using ir::LayerKind;
using ir::Network;

namespace {

// Tensor r becomes the host's residual input (a conv's input 1, after a matmul's operands).
void attachResidual(Layer& host, int r) {
  if (host.kind == LayerKind::kCONVOLUTION) {
    if (host.inputs.size() < 2) host.inputs.resize(2, -1);
    host.inputs[1] = r;
  } else {
    host.inputs.push_back(r);
  }
  host.attrs.set("has_residual", 1);
}

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
    attachResidual(host, b);
    detail::note(str("fuseResidualAdd: fused ELEMENTWISE SUM '", add.name, "' into ",
                     ir::layerKindName(host.kind), " '", host.name, "' (residual '", tb.name,
                     "')"));
    detail::absorb(net, h, u);
    return true;
  }
  return false;
}

// Add(reshape(host output), b): the host adds reshape(b, its dims) and the reshape writes the
// Add's output. The host's dims may hold one dynamic entry (the reshape infers it).
bool fuseThroughReshape(Network& net, const detail::Consumers& cons, int u) {
  const Layer& add = net.layers[u];
  if (add.inputs.size() != 2 || add.outputs.size() != 1 || add.attrs.s("op") != "SUM") return false;
  for (int slot = 0; slot < 2; ++slot) {
    const int a = add.inputs[slot], b = add.inputs[1 - slot];
    if (a < 0 || b < 0 || a == b || detail::constantValue(net, b)) continue;
    const int r = net.tensors[a].producer;
    if (r < 0 || net.layers[r].dead || net.layers[r].kind != LayerKind::kRESHAPE ||
        net.layers[r].outputs.size() != 1 || net.layers[r].inputs.empty() ||
        detail::hasConstraint(net.layers[r]) || net.tensors[a].is_output || net.tensors[a].debug ||
        net.tensors[a].qdq_point || detail::liveConsumers(net, cons, a).size() != 1)
      continue;
    const int y = net.layers[r].inputs[0];
    const int h = y >= 0 ? detail::fusionHost(net, cons, y, r) : -1;
    if (h < 0 || detail::hasActivation(net.layers[h]) || detail::hasResidual(net.layers[h]) ||
        !detail::mergeableConstraints(add, net.layers[h]))
      continue;
    const ir::Tensor &ta = net.tensors[a], &tb = net.tensors[b], &out = net.tensors[add.outputs[0]];
    const Dims yd = net.tensors[y].dims;
    if (ta.dims != tb.dims || ta.dims != out.dims || ta.dtype != tb.dtype ||
        std::count(yd.begin(), yd.end(), int64_t{-1}) > 1 ||
        std::count(yd.begin(), yd.end(), int64_t{0}) > 0 ||  // a 0 in "shape" copies a dim
        detail::dependsOnLayer(net, b, h) || net.tensors[y].qdq_point)
      continue;
    const int z = add.outputs[0];
    const std::vector<std::string> addNodes = add.onnx_nodes;
    const int view =
        net.addLayer(LayerKind::kRESHAPE, net.uniqueLayerName(add.name + "_residual"), {b});
    Layer& rv = net.layers[view];
    rv.attrs.set("shape", std::vector<int64_t>(yd.begin(), yd.end()));
    const int bv = rv.outputs[0];
    net.tensors[bv].dims = yd;
    net.tensors[bv].dtype = net.tensors[b].dtype;
    net.tensors[bv].dynamic_range = net.tensors[b].dynamic_range;  // b's values, reshaped
    Layer& host = net.layers[h];
    attachResidual(host, bv);
    host.onnx_nodes.insert(host.onnx_nodes.end(), addNodes.begin(), addNodes.end());
    net.layers[r].outputs[0] = z;
    net.tensors[z].producer = r;
    // y now holds the sum, z's values before the reshape: z's range is its range (a range set on
    // the reshaped host output a goes unused, as one on any tensor an epilogue absorbs).
    net.tensors[y].dynamic_range = net.tensors[z].dynamic_range;
    net.layers[u].dead = true;
    detail::note(str("fuseResidualAdd: fused ELEMENTWISE SUM '", net.layers[u].name, "' into ",
                     ir::layerKindName(host.kind), " '", host.name, "' through reshape '",
                     net.layers[r].name, "'"));
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
    if (fuseAt(net, cons, u) || fuseThroughReshape(net, cons, u)) {
      changed = true;
      cons = net.consumers();
    }
  }
  return changed;
}

}  // namespace clrt::passes
