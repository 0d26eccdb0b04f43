// foldReshapesAroundMatmul: X [d0, .., dk, K] -> Reshape [M, K] -> MatMul(W) [M, N] -> Reshape
// [d0, .., dk, N], which is how Hugging Face's Conv1D (GPT-2's projections: addmm on the rows,
// viewed back) and every exporter of a 2-D Gemm on a 3-D activation write a Linear layer. A
// MatMul of weights works row by row, and the two reshapes only regroup the rows: the MatMul
// reads X and writes the second reshape's output itself, and both reshapes go. Its bias,
// activation and the residual Add after it then fuse as they do for a MatMul on 3-D input
// (before, INT8 builds with ranges on the reshaped tensors kept the Add and the activation as
// layers of their own, with REFORMATs between).
#include <algorithm>
#include <string>

#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

namespace {

using ir::LayerKind;

using detail::staticDims;

// A live RESHAPE (or FLATTEN) without constraints, producing tensor t, read by `reader` alone;
// its index, else -1.
int plainReshape(const ir::Network& net, const detail::Consumers& cons, int t, int reader) {
  if (t < 0) return -1;
  const int r = net.tensors[t].producer;
  if (r < 0) return -1;
  const ir::Layer& l = net.layers[r];
  const ir::Tensor& y = net.tensors[t];
  if (l.dead || (l.kind != LayerKind::kRESHAPE && l.kind != LayerKind::kFLATTEN) ||
      l.outputs.size() != 1 || l.inputs.empty() || l.inputs[0] < 0 || detail::hasConstraint(l) ||
      y.is_output || y.debug || y.qdq_point)
    return -1;
  const std::vector<int> readers = detail::liveConsumers(net, cons, t);
  if (reader >= 0 && (readers.size() != 1 || readers[0] != reader)) return -1;
  return r;
}

}  // namespace

bool foldReshapesAroundMatmul(ir::Network& net) {
  bool changed = false;
  detail::Consumers cons = net.consumers();
  for (size_t mi = 0; mi < net.layers.size(); ++mi) {
    ir::Layer& m = net.layers[mi];
    if (m.dead || !detail::rowWiseMatmul(m) || detail::hasResidual(m)) continue;
    const int r1 = plainReshape(net, cons, m.inputs[0], static_cast<int>(mi));
    if (r1 < 0) continue;
    const int x = net.layers[r1].inputs[0], y = m.outputs[0];
    const std::vector<int> readers = detail::liveConsumers(net, cons, y);
    if (readers.size() != 1 || net.tensors[y].is_output || net.tensors[y].debug ||
        net.tensors[y].qdq_point)
      continue;
    const int r2 = readers[0];
    const ir::Layer& back = net.layers[r2];
    if ((back.kind != LayerKind::kRESHAPE && back.kind != LayerKind::kFLATTEN) ||
        back.outputs.size() != 1 || back.inputs.empty() || back.inputs[0] != y ||
        detail::hasConstraint(back))
      continue;
    const int z = back.outputs[0];
    const Dims &xd = net.tensors[x].dims, &rd = net.tensors[m.inputs[0]].dims,
               &yd = net.tensors[y].dims, &zd = net.tensors[z].dims;
    // Rows regrouped only: the innermost dims are K before and N after, the row dims of X and
    // of the result are the same, all known.
    if (!staticDims(xd) || !staticDims(zd) || !staticDims(rd) || !staticDims(yd) ||
        xd.size() != zd.size() || xd.size() < 2 || rd.empty() || yd.empty() ||
        xd.back() != rd.back() || zd.back() != yd.back() ||
        !std::equal(xd.begin(), xd.end() - 1, zd.begin()) ||
        net.tensors[x].dtype != net.tensors[m.inputs[0]].dtype ||
        net.tensors[z].dtype != net.tensors[y].dtype)
      continue;
    // X holds R1's values and z y's: a range set on the reshaped tensor alone becomes theirs.
    const int rin = m.inputs[0];
    if (!net.tensors[x].dynamic_range)
      net.tensors[x].dynamic_range = net.tensors[rin].dynamic_range;
    if (!net.tensors[z].dynamic_range) net.tensors[z].dynamic_range = net.tensors[y].dynamic_range;
    const std::string name1 = net.layers[r1].name, name2 = back.name;
    m.onnx_nodes.insert(m.onnx_nodes.end(), net.layers[r1].onnx_nodes.begin(),
                        net.layers[r1].onnx_nodes.end());
    m.onnx_nodes.insert(m.onnx_nodes.end(), back.onnx_nodes.begin(), back.onnx_nodes.end());
    m.inputs[0] = x;
    m.outputs[0] = z;
    net.tensors[y].producer = -1;  // orphaned; compact() drops it
    net.tensors[z].producer = static_cast<int>(mi);
    net.layers[r1].dead = true;
    net.layers[r2].dead = true;
    detail::note(str("foldReshapesAroundMatmul: MATRIX_MULTIPLY '", m.name, "' reads '",
                     net.tensors[x].name, "' and writes '", net.tensors[z].name,
                     "' itself (reshapes '", name1, "' and '", name2, "' fold)"));
    changed = true;
    cons = net.consumers();
  }
  return changed;
}

}  // namespace clrt::passes
