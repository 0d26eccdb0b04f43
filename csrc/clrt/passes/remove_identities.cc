// removeIdentities: layers that compute nothing (IDENTITY, a Cast to the same type, a reshape
// that keeps the dims, a concatenation of one tensor) are bypassed, or their producer writes
// the network output directly.
#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

using ir::Layer;
using ir::LayerKind;
using ir::Network;

namespace {

bool isIdentityPerm(const std::vector<int64_t>& perm, size_t rank, bool emptyIsIdentity) {
  if (perm.empty()) return emptyIsIdentity || rank <= 1;
  if (perm.size() != rank) return false;
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i)) return false;
  return true;
}

bool isNoOp(const Network& net, const Layer& l) {
  if (l.outputs.size() != 1 || l.inputs.empty() || l.inputs[0] < 0) return false;
  const ir::Tensor& in = net.tensors[l.inputs[0]];
  const ir::Tensor& out = net.tensors[l.outputs[0]];
  if (in.dtype != out.dtype) return false;
  const bool sameDims = isStatic(in.dims) && in.dims == out.dims;
  switch (l.kind) {
    case LayerKind::kIDENTITY:
      return l.inputs.size() == 1;
    case LayerKind::kCAST:
      return l.inputs.size() == 1 &&
             l.attrs.i("to", static_cast<int64_t>(in.dtype)) == static_cast<int64_t>(in.dtype);
    case LayerKind::kRESHAPE:
    case LayerKind::kFLATTEN:
    case LayerKind::kSQUEEZE:
    case LayerKind::kUNSQUEEZE:
      return sameDims;
    case LayerKind::kTRANSPOSE:
      return l.inputs.size() == 1 && isIdentityPerm(l.attrs.ints("perm"), in.dims.size(), false);
    case LayerKind::kCONCATENATION:  // of one tensor (a KV cache's empty past already dropped)
      return l.inputs.size() == 1 && sameDims;
    case LayerKind::kSHUFFLE:
      return isIdentityPerm(l.attrs.ints("first_transpose"), in.dims.size(), true) &&
             isIdentityPerm(l.attrs.ints("second_transpose"), in.dims.size(), true) &&
             (sameDims || (l.inputs.size() == 1 && l.attrs.i("has_reshape", 0) == 0));
    default:
      return false;
  }
}

void appendNodes(Layer& to, const Layer& from) {
  to.onnx_nodes.insert(to.onnx_nodes.end(), from.onnx_nodes.begin(), from.onnx_nodes.end());
}

// Consumers of o read i instead; the layer's ONNX nodes go to i's producer (or o's first reader
// when i is a network input).
void bypass(Network& net, int u, int i, int o) {
  Layer& l = net.layers[u];
  int heir = net.tensors[i].producer;
  if (heir < 0) {
    for (size_t k = 0; k < net.layers.size() && heir < 0; ++k) {
      const Layer& c = net.layers[k];
      if (!c.dead && static_cast<int>(k) != u)
        for (int in : c.inputs)
          if (in == o) heir = static_cast<int>(k);
    }
  }
  if (heir >= 0) appendNodes(net.layers[heir], l);
  l.dead = true;
  net.tensors[o].producer = -1;
  detail::replaceUses(net, o, i);
}

// o is a network output and i an intermediate: i's producer writes o, so the name survives.
void renameInto(Network& net, int u, int i, int o) {
  Layer& l = net.layers[u];
  int p = net.tensors[i].producer;
  Layer& prod = net.layers[p];
  for (int& out : prod.outputs)
    if (out == i) out = o;
  appendNodes(prod, l);
  l.dead = true;
  ir::Tensor& to = net.tensors[o];
  to.producer = p;
  if (!to.dynamic_range) to.dynamic_range = net.tensors[i].dynamic_range;
  to.qdq_point = to.qdq_point || net.tensors[i].qdq_point;
  if (!isStatic(to.dims) && isStatic(net.tensors[i].dims)) to.dims = net.tensors[i].dims;
  net.tensors[i].producer = -1;
  detail::replaceUses(net, i, o);
}

}  // namespace

bool removeIdentities(Network& net) {
  bool changed = false;
  for (int u : net.topoOrder()) {
    const Layer& l = net.layers[u];
    if (l.dead || !isNoOp(net, l)) continue;
    const int i = l.inputs[0];
    const int o = l.outputs[0];
    const int p = net.tensors[i].producer;
    // An unconstrained no-op imposes nothing and can always go; a constrained one (an identity
    // used as a cast) goes only into a producer with the very same constraint.
    if (detail::hasConstraint(l) && (p < 0 || !detail::sameConstraints(l, net.layers[p]))) continue;
    const std::string what = str(ir::layerKindName(l.kind), " '", l.name, "'");
    // The tensor the rewrite removes (o when bypassing, i when renaming) must not be a debug one.
    const int gone = net.tensors[o].is_output ? i : o;
    if (net.tensors[gone].debug) {
      detail::note(str("removeIdentities: kept ", what, ": '", net.tensors[gone].name,
                       "' is a debug tensor (mark_debug)"));
      continue;
    }
    if (!net.tensors[o].is_output) {
      bypass(net, u, i, o);
      detail::note(str("removeIdentities: bypassed ", what));
    } else if (p >= 0 && !net.tensors[i].is_input && !net.tensors[i].is_output) {
      renameInto(net, u, i, o);
      detail::note(str("removeIdentities: removed ", what, "; '", net.layers[p].name,
                       "' now writes network output '", net.tensors[o].name, "'"));
    } else {
      continue;  // network input/output copied to another network output: the copy is real
    }
    changed = true;
  }
  return changed;
}

}  // namespace clrt::passes
