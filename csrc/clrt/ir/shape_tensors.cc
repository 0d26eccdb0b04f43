// Shape tensors: network inputs whose values (not only dims) decide shapes, as TensorRT's
// ITensor.is_shape_tensor. Their values live on the host and come from the profile / the run.
#include <functional>

#include "clrt/ir/shape_inference.h"

namespace clrt::ir {

std::vector<int> shapeOperands(LayerKind k) {
  switch (k) {
    case LayerKind::kRESHAPE:
    case LayerKind::kSHUFFLE:
    case LayerKind::kEXPAND:
    case LayerKind::kSQUEEZE:
    case LayerKind::kUNSQUEEZE:
    case LayerKind::kSPLIT:
    case LayerKind::kREDUCE:
    case LayerKind::kTOPK:
      return {1};
    case LayerKind::kSLICE:
      return {1, 2, 3, 4};
    case LayerKind::kPADDING:
      return {1, 2};
    case LayerKind::kRESIZE:
      return {1, 2, 3};
    case LayerKind::kRANGE:
      return {0, 1, 2};
    case LayerKind::kCONSTANT_OF_SHAPE:
      return {0};
    default:
      return {};
  }
}

// FLOAT too: Resize scales and roi are shape operands.
bool canBeShapeTensor(const Tensor& t) {
  return (t.dtype == DataType::kINT64 || t.dtype == DataType::kINT32 ||
          t.dtype == DataType::kFLOAT) &&
         t.dims.size() <= 1;
}

// Walks back from every shape operand through layers the host can evaluate (SHAPE stops the
// walk: it reads only dims) to the network inputs that feed it.
void markShapeTensors(Network& net) {
  std::vector<char> seen(net.tensors.size(), 0);
  std::function<void(int)> visit = [&](int t) {
    if (t < 0 || seen[t]) return;
    seen[t] = 1;
    Tensor& tensor = net.tensors[t];
    if (tensor.is_input) {
      if (canBeShapeTensor(tensor)) tensor.is_shape_tensor = true;
      return;
    }
    if (tensor.producer < 0) return;
    const Layer& p = net.layers[tensor.producer];
    if (p.dead || p.kind == LayerKind::kSHAPE || !canEvalOnHost(p.kind)) return;
    for (int in : p.inputs) visit(in);
  };
  for (int t : net.inputs) net.tensors[t].is_shape_tensor = false;
  for (const Layer& l : net.layers) {
    if (l.dead) continue;
    for (int k : shapeOperands(l.kind))
      if (k < static_cast<int>(l.inputs.size())) visit(l.inputs[k]);
  }
}

}  // namespace clrt::ir
