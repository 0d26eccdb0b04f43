// fuseAttention: the scaled dot-product attention that exporters write as layers,
//   MatMul(q, k^T) [* or / a scalar] [+ bias] -> Softmax(last axis) [-> Where(IsNaN(p), 0, p)]
//   -> MatMul(p, v),
// becomes one ATTENTION layer (ir/network.h), whose kernels keep the [Sq, Skv] scores of a head
// on chip instead of writing them, the softmax and the probabilities to memory in three more
// launches (tactics/attention.cc). Scalar multiplies of q or k feeding only the first MatMul (the
// sqrt(scale) PyTorch's exporter puts on both, also behind k's transpose) join the scale. The
// scores, the probabilities and the tensors in between must be read by nothing else and be
// neither outputs, debug tensors, Q/DQ points nor ranged by the user; q, k and v must share
// their leading dims, with head sizes known and at most ir::kMaxAttentionHead.
// CLRT_FUSE_ATTENTION=0 leaves the layers apart (for comparisons).
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

namespace {

using ir::LayerKind;

// A tensor that disappears into the fused layer: one live reader, nothing outside watches it.
bool internal(const ir::Network& net, const detail::Consumers& cons, int t, size_t readers = 1) {
  const ir::Tensor& x = net.tensors[t];
  return !x.is_output && !x.debug && !x.qdq_point && !x.dynamic_range &&
         detail::liveConsumers(net, cons, t).size() == readers;
}

int producer(const ir::Network& net, int t) {
  if (t < 0) return -1;
  const int p = net.tensors[t].producer;
  return p >= 0 && !net.layers[p].dead ? p : -1;
}

// The scalar constant c of y = x * c, c * x or x / c, a single-output ELEMENTWISE layer
// without constraints; sets *x and returns the factor (1/c for a divide), else 0.
double scalarFactor(const ir::Network& net, int layer, int* x) {
  if (layer < 0) return 0;
  const ir::Layer& e = net.layers[layer];
  if (e.kind != LayerKind::kELEMENTWISE || e.inputs.size() != 2 || e.outputs.size() != 1 ||
      detail::hasConstraint(e))
    return 0;
  const std::string op = e.attrs.s("op");
  for (int slot = 0; slot < 2; ++slot) {
    if (op != "PROD" && !(op == "DIV" && slot == 0)) continue;
    const int u = e.inputs[slot], c = e.inputs[1 - slot];
    const HostTensor* v = u >= 0 && c >= 0 ? detail::constantValue(net, c) : nullptr;
    if (!v || v->numel() != 1 || v->dims.size() > net.tensors[u].dims.size() ||
        (v->dtype != DataType::kFLOAT && v->dtype != DataType::kHALF))
      continue;
    const double f = v->asFloats()[0];
    if (!std::isfinite(f) || f == 0) continue;
    *x = u;
    return op == "DIV" ? 1.0 / f : f;
  }
  return 0;
}

bool isMatmulOfTwo(const ir::Layer& l) {
  return l.kind == LayerKind::kMATRIX_MULTIPLY && l.inputs.size() == 2 && l.inputs[0] >= 0 &&
         l.inputs[1] >= 0 && l.outputs.size() == 1 && l.weights.empty() &&
         l.attrs.i("trans_a", 0) == 0 && !detail::hasActivation(l) && !detail::hasResidual(l);
}

// What one match found: the layers that go, the fused layer's inputs and attributes.
struct Match {
  std::vector<int> gone;  // layers merged into `keep`
  int keep = -1;          // the second MatMul, which becomes the ATTENTION layer
  int q = -1, k = -1, v = -1, bias = -1;
  double scale = 1;
  bool transK = true, nanToZero = false;
};

// The Where(IsNaN(p), 0, p) PyTorch writes after the softmax: its output, else -1 (p read by
// exactly the IsNaN and the Where).
int nanGuard(const ir::Network& net, const detail::Consumers& cons, int p, Match* m) {
  const std::vector<int> readers = detail::liveConsumers(net, cons, p);
  if (readers.size() != 2 || !internal(net, cons, p, 2)) return -1;
  int isnan = -1, where = -1;
  for (int r : readers) {
    const ir::Layer& l = net.layers[r];
    if (l.kind == LayerKind::kUNARY && l.attrs.s("op") == "ISNAN" && l.inputs.size() == 1)
      isnan = r;
    else if (l.kind == LayerKind::kWHERE && l.inputs.size() == 3 && l.outputs.size() == 1)
      where = r;
  }
  if (isnan < 0 || where < 0) return -1;
  const ir::Layer &u = net.layers[isnan], &w = net.layers[where];
  const int cond = u.outputs.at(0);
  const HostTensor* zero = w.inputs[1] >= 0 ? detail::constantValue(net, w.inputs[1]) : nullptr;
  if (w.inputs[0] != cond || w.inputs[2] != p || !internal(net, cons, cond) || !zero ||
      zero->numel() != 1 || zero->dims.size() > net.tensors[p].dims.size() ||
      (zero->dtype != DataType::kFLOAT && zero->dtype != DataType::kHALF) ||
      zero->asFloats()[0] != 0.0f)
    return -1;
  m->gone.push_back(isnan);
  m->gone.push_back(where);
  m->nanToZero = true;
  return w.outputs[0];
}

// A scalar multiply feeding operand `slot` of the first MatMul (directly, or for k behind a
// TRANSPOSE read by nothing else) joins the scale. Returns the operand the fused layer reads.
int unscaled(ir::Network& net, const detail::Consumers& cons, int t, Match* m) {
  int x = -1;
  const int p = producer(net, t);
  if (p >= 0 && internal(net, cons, t)) {
    const double f = scalarFactor(net, p, &x);
    if (f != 0) {
      m->gone.push_back(p);
      m->scale *= f;
      return x;
    }
  }
  return t;
}

bool staticHead(const Dims& d) { return !d.empty() && d.back() > 0; }

// Matches the pattern ending at softmax layer `si`; fills *m without changing the network.
bool match(const ir::Network& net, const detail::Consumers& cons, int si, Match* m) {
  const ir::Layer& sm = net.layers[si];
  if (sm.kind != LayerKind::kSOFTMAX || sm.inputs.size() != 1 || sm.outputs.size() != 1)
    return false;
  const int x = sm.inputs[0];
  const size_t rank = net.tensors[x].dims.size();
  const int64_t axis = sm.attrs.i("axis", -1);
  if (rank < 2 || (axis != -1 && axis != static_cast<int64_t>(rank) - 1)) return false;
  // Backwards from the scores: [+ bias], [* scalar], MatMul.
  int t = x;
  int p = producer(net, t);
  if (p >= 0 && internal(net, cons, t) && net.layers[p].kind == LayerKind::kELEMENTWISE &&
      net.layers[p].attrs.s("op") == "SUM" && net.layers[p].inputs.size() == 2 &&
      !detail::hasConstraint(net.layers[p])) {
    const ir::Layer& add = net.layers[p];
    for (int slot = 0; slot < 2 && m->bias < 0; ++slot) {
      const int a = add.inputs[slot], b = add.inputs[1 - slot];
      if (a < 0 || b < 0) continue;
      const int ap = producer(net, a);
      if (ap < 0) continue;
      const ir::Layer& al = net.layers[ap];
      int dummy = -1;
      if (isMatmulOfTwo(al) || scalarFactor(net, ap, &dummy) != 0) {
        const DataType bt = net.tensors[b].dtype;
        if (bt != DataType::kFLOAT && bt != DataType::kHALF) continue;
        if (net.tensors[b].dims.size() > rank) continue;
        m->bias = b;
        m->gone.push_back(p);
        t = a;
      }
    }
    if (m->bias < 0) return false;
    p = producer(net, t);
  }
  int u = -1;
  if (p >= 0 && internal(net, cons, t)) {
    const double f = scalarFactor(net, p, &u);
    if (f != 0) {
      m->scale *= f;
      m->gone.push_back(p);
      t = u;
      p = producer(net, t);
    }
  }
  if (p < 0 || !internal(net, cons, t) || !isMatmulOfTwo(net.layers[p]) ||
      net.tensors[t].dims != net.tensors[x].dims)  // a bias that broadcasts the scores wider
    return false;
  const int mm1 = p;
  m->gone.push_back(mm1);
  m->transK = net.layers[mm1].attrs.i("trans_b", 0) != 0;
  // Forwards from the probabilities: [Where(IsNaN)], MatMul(p, v).
  int probs = sm.outputs[0];
  if (const int g = nanGuard(net, cons, probs, m); g >= 0) probs = g;
  if (!internal(net, cons, probs)) return false;
  const int mm2 = detail::liveConsumers(net, cons, probs)[0];
  const ir::Layer& pv = net.layers[mm2];
  if (!isMatmulOfTwo(pv) || pv.inputs[0] != probs || pv.attrs.i("trans_b", 0) != 0) return false;
  m->gone.push_back(si);
  m->keep = mm2;
  m->v = pv.inputs[1];
  m->q = net.layers[mm1].inputs[0];
  m->k = net.layers[mm1].inputs[1];
  // Leading dims shared, head sizes static and small enough for the kernels, float data.
  const Dims &qd = net.tensors[m->q].dims, &kd = net.tensors[m->k].dims,
             &vd = net.tensors[m->v].dims;
  if (qd.size() != rank || kd.size() != rank || vd.size() != rank || !staticHead(qd) ||
      !staticHead(vd) || qd.back() > ir::kMaxAttentionHead || vd.back() > ir::kMaxAttentionHead)
    return false;
  for (size_t i = 0; i + 2 < rank; ++i)
    if (qd[i] < 0 || qd[i] != kd[i] || qd[i] != vd[i]) return false;
  for (int in : {m->q, m->k, m->v}) {
    const DataType d = net.tensors[in].dtype;
    if (d != DataType::kFLOAT && d != DataType::kHALF) return false;
  }
  // Every member's constraint holds in the fused layer: one set precision among them, and no
  // output type asked of a tensor that disappears.
  std::optional<DataType> precision = pv.precision;
  for (int g : m->gone) {
    const ir::Layer& l = net.layers[g];
    if (!detail::mergeableConstraints(l, pv) ||
        (precision && l.precision && *l.precision != *precision))
      return false;
    if (!precision) precision = l.precision;
  }
  return true;
}

}  // namespace

bool fuseAttention(ir::Network& net) {
  if (const char* e = std::getenv("CLRT_FUSE_ATTENTION"); e && *e == '0') return false;
  bool changed = false;
  for (size_t si = 0; si < net.layers.size(); ++si) {
    if (net.layers[si].dead || net.layers[si].kind != LayerKind::kSOFTMAX) continue;
    const detail::Consumers cons = net.consumers();
    Match m;
    if (!match(net, cons, static_cast<int>(si), &m)) continue;
    ir::Layer& a = net.layers[m.keep];
    for (int g : m.gone) {
      ir::Layer& l = net.layers[g];
      detail::mergeConstraints(a, l);
      a.onnx_nodes.insert(a.onnx_nodes.end(), l.onnx_nodes.begin(), l.onnx_nodes.end());
      l.dead = true;
    }
    a.kind = LayerKind::kATTENTION;
    a.inputs = {m.q, m.k, m.v, m.bias};
    a.attrs = ir::Attrs();
    a.attrs.set("scale", m.scale);
    a.attrs.set("trans_k", int64_t{m.transK});
    a.attrs.set("nan_to_zero", int64_t{m.nanToZero});
    a.attrs.set("head_q", net.tensors[m.q].dims.back());
    a.attrs.set("head_v", net.tensors[m.v].dims.back());
    detail::note(str("fuseAttention: ", m.gone.size() + 1, " layers became ATTENTION '", a.name,
                     "' (scale ", m.scale, m.bias >= 0 ? ", with a bias" : "",
                     m.nanToZero ? ", NaN rows to zero" : "", ")"));
    changed = true;
  }
  // Scalar multiplies of q and k (k's possibly behind a transpose only the layer reads) join the
  // scale; in a later round than the fusion when the transpose folding left a reader behind.
  for (ir::Layer& a : net.layers) {
    if (a.dead || a.kind != LayerKind::kATTENTION) continue;
    const detail::Consumers cons = net.consumers();
    Match m;
    a.inputs[0] = unscaled(net, cons, a.inputs[0], &m);
    const int k = a.inputs[1], kp = producer(net, k);
    if (kp >= 0 && net.layers[kp].kind == LayerKind::kTRANSPOSE && internal(net, cons, k) &&
        !net.layers[kp].inputs.empty() && net.layers[kp].inputs[0] >= 0 &&
        !detail::hasConstraint(net.layers[kp]))
      net.layers[kp].inputs[0] = unscaled(net, cons, net.layers[kp].inputs[0], &m);
    else
      a.inputs[1] = unscaled(net, cons, k, &m);
    if (m.gone.empty()) continue;
    for (int g : m.gone) {
      a.onnx_nodes.insert(a.onnx_nodes.end(), net.layers[g].onnx_nodes.begin(),
                          net.layers[g].onnx_nodes.end());
      net.layers[g].dead = true;
    }
    a.attrs.set("scale", a.attrs.f("scale", 1.0) * m.scale);
    detail::note(str("fuseAttention: ", m.gone.size(), " scalar multiplies of q or k joined the ",
                     "scale of '", a.name, "'"));
    changed = true;
  }
  return changed;
}

}  // namespace clrt::passes
