// foldQdq: explicit quantization. An activation QuantizeLinear -> DequantizeLinear pair with a
// per-tensor scale is removed and its scale becomes the tensor's INT8 dynamic range.
//
// Why ranges and not real Q/DQ layers: the builder's INT8 kernels take a symmetric scale per
// tensor (amax / 127, zero point 0), so a pair Q(s, zp) -> DQ(s, zp) on x is exactly "x is
// stored as INT8 with scale s" when zp is the symmetric one. Removing the pair also lets the
// conv/matmul fusions (bias, BatchNorm, activation, residual) see adjacent layers again.
//
// amax of a pair with scale s:
//   INT8, zp 0: 127 * s (clrt's symmetric INT8 reuses onnxruntime's scale exactly).
//   UINT8, zp 128: the pair represents [-128, 127] * s; amax = 127 * s keeps the scale s and
//     only -128 * s (the most negative step) saturates to -127 * s.
//   Any other zero point (asymmetric): the range [lo, hi] = [(qmin - zp) * s, (qmax - zp) * s]
//     is covered symmetrically, amax = max(|lo|, |hi|), with a warning: the INT8 scale is then
//     coarser than the model's (up to twice for UINT8 with zp 0). When [lo, hi] holds one sign
//     only (zp at qmin or qmax) the pair's clamp is the point (onnxruntime removes a Relu or
//     Clip that the Q's range implies): the Q becomes a CLIP to [lo, hi], which the activation
//     fusion then folds into the producing conv/matmul. Otherwise values beyond [lo, hi] are
//     rare saturation, and [-amax, amax] stands for it.
// Weight Q/DQ on constants is not handled here: the importer and foldConstants evaluate them on
// the host, so weights reach the kernels as float values already rounded to their INT8 grid.
// Per-axis activation Q/DQ, pairs whose DQ parameters differ from the Q's and lone Q or DQ
// layers stay and run as real conversions (tactics/quantize_linear.cc).
#include <algorithm>
#include <cmath>

#include "clrt/ir/quantize.h"
#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

using ir::Layer;
using ir::LayerKind;
using ir::Network;

namespace {

struct PairParams {
  float scale = 0.0f;
  int64_t zero = 0;
  DataType qtype = DataType::kINT8;
};

// The per-tensor parameters of a Q or DQ layer whose scale/zero point are constants.
bool perTensorParams(const Network& net, const Layer& l, PairParams* p) {
  if (l.inputs.size() < 2) return false;
  const HostTensor* s = detail::constantValue(net, l.inputs[1]);
  if (!s || s->numel() != 1) return false;
  const HostTensor* zp = l.inputs.size() > 2 ? detail::constantValue(net, l.inputs[2]) : nullptr;
  if (l.inputs.size() > 2 && l.inputs[2] >= 0 && !zp) return false;
  if (zp && zp->numel() != 1) return false;
  p->scale = s->asFloats()[0];
  p->zero = zp ? zp->asInt64()[0] : 0;
  if (l.kind == LayerKind::kQUANTIZE)
    p->qtype = zp ? zp->dtype : static_cast<DataType>(l.attrs.i("to", int(DataType::kINT8)));
  else
    p->qtype = net.tensors[l.inputs[0]].dtype;
  return std::isfinite(p->scale) && p->scale > 0.0f &&
         (p->qtype == DataType::kINT8 || p->qtype == DataType::kUINT8);
}

bool isOutput(const Network& net, int t) {
  return std::find(net.outputs.begin(), net.outputs.end(), t) != net.outputs.end();
}

// amax of the pair (see the top comment); `symmetric` false for an approximated zero point.
float pairAmax(const PairParams& p, bool* symmetric) {
  const int64_t mid = p.qtype == DataType::kUINT8 ? 128 : 0;
  *symmetric = p.zero == mid;
  if (*symmetric) return 127.0f * p.scale;
  const int64_t lo = ir::quantMin(p.qtype) - p.zero, hi = ir::quantMax(p.qtype) - p.zero;
  return static_cast<float>(std::max(std::llabs(lo), std::llabs(hi))) * p.scale;
}

void setRange(Network& net, int t, float amax) {
  auto& r = net.tensors[t].dynamic_range;
  // Two pairs on one tensor (unusual): the wider range keeps both sets of values representable.
  if (r) amax = std::max(amax, std::max(std::fabs(r->first), std::fabs(r->second)));
  r = std::make_pair(-amax, amax);
  net.tensors[t].qdq_point = true;
}

// Folds the Q layer `q` with all its DQ readers, or returns false leaving them in place.
bool foldPair(Network& net, const detail::Consumers& cons, int q) {
  const Layer& ql = net.layers[q];
  const int x = ql.inputs[0], qt = ql.outputs[0];
  PairParams qp;
  if (x < 0 || detail::constantValue(net, x) || isOutput(net, qt) || !perTensorParams(net, ql, &qp))
    return false;
  const std::vector<int> readers = detail::liveConsumers(net, cons, qt);
  if (readers.empty()) return false;
  for (int d : readers) {
    const Layer& dl = net.layers[d];
    PairParams dp;
    if (dl.kind != LayerKind::kDEQUANTIZE || dl.inputs[0] != qt || !perTensorParams(net, dl, &dp) ||
        dp.scale != qp.scale || dp.zero != qp.zero || dp.qtype != qp.qtype)
      return false;
  }
  bool symmetric = true;
  const float amax = pairAmax(qp, &symmetric);
  const float lo = static_cast<float>(ir::quantMin(qp.qtype) - qp.zero) * qp.scale;
  const float hi = static_cast<float>(ir::quantMax(qp.qtype) - qp.zero) * qp.scale;
  // A one-signed range is an activation: onnxruntime drops a Relu/Clip whose effect the Q
  // already has, so the clamp is kept as a CLIP layer (fused into a conv/matmul epilogue).
  const bool clamp = !symmetric && (lo >= 0.0f || hi <= 0.0f);
  const std::string xName = net.tensors[x].name;
  if (!symmetric)
    detail::warn(str("foldQdq: tensor '", xName, "' is quantized asymmetrically (",
                     dtypeName(qp.qtype), ", zero point ", qp.zero, ", scale ", qp.scale,
                     "); clrt's INT8 is symmetric, so its range [", lo, ", ", hi,
                     "] is stored as [-", amax, ", ", amax, "]",
                     clamp ? " after a CLIP to that range" : ""));
  setRange(net, x, amax);
  int src = x;  // what the DQ readers read from now on
  std::vector<std::string> nodes;
  if (clamp) {
    Layer& c = net.layers[q];
    c.kind = LayerKind::kACTIVATION;
    c.inputs = {x};
    c.attrs = ir::Attrs();
    c.attrs.set("type", "CLIP");
    c.attrs.set("alpha", static_cast<double>(lo));
    c.attrs.set("beta", static_cast<double>(hi));
    net.tensors[qt].dtype = DataType::kFLOAT;
    setRange(net, qt, amax);
    src = qt;
  } else {
    nodes = ql.onnx_nodes;
    net.layers[q].dead = true;
  }
  for (int d : readers) {
    Layer& dl = net.layers[d];
    const int out = dl.outputs[0];
    if (isOutput(net, out)) {
      // The output keeps its name and the pair's saturation, which a float output would not
      // have otherwise: the DQ becomes a CLIP to [lo, hi] (a copy after the clamp above).
      dl.inputs = {src};
      dl.attrs = ir::Attrs();
      if (clamp) {
        dl.kind = LayerKind::kIDENTITY;
      } else {
        dl.kind = LayerKind::kACTIVATION;
        dl.attrs.set("type", "CLIP");
        dl.attrs.set("alpha", static_cast<double>(lo));
        dl.attrs.set("beta", static_cast<double>(hi));
      }
      setRange(net, out, amax);
    } else {
      detail::replaceUses(net, out, src);
      dl.dead = true;
      nodes.insert(nodes.end(), dl.onnx_nodes.begin(), dl.onnx_nodes.end());
    }
  }
  // The folded nodes are credited to the layer now computing their values.
  const int p = net.tensors[src].producer;
  if (p >= 0 && !net.layers[p].dead) {
    auto& pn = net.layers[p].onnx_nodes;
    pn.insert(pn.end(), nodes.begin(), nodes.end());
  }
  detail::note(str("foldQdq: Q/DQ on '", xName, "' folded into the dynamic range +-", amax));
  return true;
}

}  // namespace

bool foldQdq(Network& net) {
  bool changed = false;
  const detail::Consumers cons = net.consumers();
  for (int u : net.topoOrder()) {
    const Layer& l = net.layers[u];
    if (l.dead || (l.kind != LayerKind::kQUANTIZE && l.kind != LayerKind::kDEQUANTIZE)) continue;
    net.explicit_quantization = true;
    if (l.kind == LayerKind::kQUANTIZE) changed |= foldPair(net, cons, u);
  }
  return changed;
}

}  // namespace clrt::passes
