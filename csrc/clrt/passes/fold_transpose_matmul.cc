// foldTransposeIntoMatmul: the swap of the last two axes in a TRANSPOSE feeding a MatMul operand
// becomes the MatMul's trans_a / trans_b. A transpose that only swaps them disappears (a
// K^T); one that also moves other axes (attention's head split and K^T in one, perm 0,2,3,1)
// keeps the rest (0,2,1,3) when it feeds operand B alone, B is then read transposed and the rest
// keeps the innermost axis in place (rows copied whole, as before): the tensor-core GEMM wants
// B as [N][K], so it no longer transposes K back itself (tactics/tensorcore_matmul.cc), and the
// other tactics read either way. A scalar multiply or divide between the transpose and the
// MatMul (attention's 1/sqrt(d) on k^T in BERT exports) first moves before the transpose, where
// it computes the same values.
#include <string>
#include <utility>
#include <vector>

#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

namespace {

bool isIdentity(const std::vector<int64_t>& p) {
  for (size_t k = 0; k < p.size(); ++k)
    if (p[k] != static_cast<int64_t>(k)) return false;
  return true;
}

// y = transpose(x) * c or transpose(x) / c, c a scalar constant: rewired as transpose(x * c)
// (or / c), so that a MatMul reading y meets the transpose. True when rewired.
bool scaleBeforeTranspose(ir::Network& net, const detail::Consumers& cons, int y) {
  const int ei = net.tensors[y].producer;
  if (ei < 0) return false;
  ir::Layer& e = net.layers[ei];
  if (e.dead || e.kind != ir::LayerKind::kELEMENTWISE || e.inputs.size() != 2 ||
      e.outputs.size() != 1 || detail::hasConstraint(e))
    return false;
  const std::string op = e.attrs.s("op");
  for (int slot = 0; slot < 2; ++slot) {
    if (op != "PROD" && !(op == "DIV" && slot == 0)) continue;
    const int u = e.inputs[slot], c = e.inputs[1 - slot];
    if (u < 0 || c < 0 || net.tensors[u].producer < 0) continue;
    const int ti = net.tensors[u].producer;
    ir::Layer& tr = net.layers[ti];
    if (tr.dead || tr.kind != ir::LayerKind::kTRANSPOSE || tr.inputs.empty() || tr.inputs[0] < 0 ||
        tr.outputs.size() != 1 || detail::hasConstraint(tr))
      continue;
    const int x = tr.inputs[0];
    const HostTensor* v = detail::constantValue(net, c);
    const ir::Tensor& ut = net.tensors[u];
    if (!v || v->numel() != 1 || v->dims.size() > net.tensors[x].dims.size() || ut.is_output ||
        ut.debug || ut.qdq_point || net.tensors[y].qdq_point ||
        detail::liveConsumers(net, cons, u).size() != 1)
      continue;
    // u's values become x * c, the values y had (transposed): y's range, if any, is theirs.
    net.tensors[u].dynamic_range = net.tensors[y].dynamic_range;
    // e now reads x and writes u (x's shape); the transpose reads u and writes y.
    e.inputs[slot] = x;
    e.outputs = {u};
    tr.inputs[0] = u;
    tr.outputs = {y};
    net.tensors[u].dims = net.tensors[x].dims;
    net.tensors[u].producer = ei;
    net.tensors[y].producer = ti;
    detail::note(str("foldTransposeIntoMatmul: '", e.name, "' (a scalar ", op, ") moved before '",
                     tr.name, "'"));
    return true;
  }
  return false;
}

}  // namespace

bool foldTransposeIntoMatmul(ir::Network& net) {
  bool changed = false;
  detail::Consumers cons = net.consumers();
  for (ir::Layer& mm : net.layers) {
    if (mm.dead || mm.kind != ir::LayerKind::kMATRIX_MULTIPLY) continue;
    for (int slot = 0; slot < 2 && slot < static_cast<int>(mm.inputs.size()); ++slot) {
      const int t = mm.inputs[slot];
      if (t < 0 || net.tensors[t].producer < 0) continue;
      if (scaleBeforeTranspose(net, cons, t)) {
        cons = net.consumers();
        changed = true;
      }
      const ir::Layer& tr = net.layers[net.tensors[t].producer];
      if (tr.dead || tr.kind != ir::LayerKind::kTRANSPOSE || tr.inputs.empty() || tr.inputs[0] < 0)
        continue;
      const int x = tr.inputs[0];
      const size_t rank = net.tensors[x].dims.size();
      std::vector<int64_t> rest = detail::resolvedPerm(tr.attrs.ints("perm"), rank);
      // Both tensors of one quantization (a Q/DQ point keeps the transpose), the transposed
      // tensor not one the user watches, the precision constraints compatible. A dynamic range
      // on it does not keep it: its values are x's (an INT8 MatMul then reads x at x's range,
      // the same values; calibration and placeholder ranges give both the same), and the part
      // of a transpose left keeps them too. (It kept attention's K^T apart under INT8 ranges,
      // so the fused layer read k as columns, which the tensor-core kernels do not take.)
      if (rank < 2 || rest.empty() || net.tensors[t].dims.size() != rank ||
          net.tensors[t].qdq_point || net.tensors[x].qdq_point || net.tensors[t].debug ||
          !detail::mergeableConstraints(tr, mm))
        continue;
      std::swap(rest[rank - 2], rest[rank - 1]);  // the transpose left once trans_* swaps back
      const char* flag = slot == 0 ? "trans_a" : "trans_b";
      const bool trans = mm.attrs.i(flag, 0) == 0;                 // the flag after the fold
      ir::Layer& transpose = net.layers[net.tensors[t].producer];  // tr, to change
      if (isIdentity(rest)) {
        mm.inputs[slot] = x;  // the transpose goes when nothing else reads it
        // x holds the same values: a range set on the transposed tensor alone is x's too.
        if (!net.tensors[x].dynamic_range)
          net.tensors[x].dynamic_range = net.tensors[t].dynamic_range;
        mm.onnx_nodes.insert(mm.onnx_nodes.end(), transpose.onnx_nodes.begin(),
                             transpose.onnx_nodes.end());
        detail::note(str("foldTransposeIntoMatmul: '", transpose.name, "' became ", flag, " of '",
                         mm.name, "'"));
      } else if (slot == 1 && trans && rest[rank - 1] == static_cast<int64_t>(rank - 1) &&
                 !net.tensors[t].is_output && detail::liveConsumers(net, cons, t).size() == 1) {
        transpose.attrs.set("perm", rest);
        Dims& d = net.tensors[t].dims;
        std::swap(d[rank - 2], d[rank - 1]);
        detail::note(str("foldTransposeIntoMatmul: '", transpose.name,
                         "' leaves its last two axes to trans_b of '", mm.name, "'"));
      } else {
        continue;
      }
      mm.attrs.set(flag, int64_t{trans});
      changed = true;
    }
  }
  return changed;  // a transpose left without readers goes with removeDeadLayers
}

}  // namespace clrt::passes
