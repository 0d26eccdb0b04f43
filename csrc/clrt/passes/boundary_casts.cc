// castBoundaryInputs: network inputs of a dtype no layer computes in (INT16, UINT16, UINT32,
// UINT64, DOUBLE) are read through a CAST to their compute dtype, as the ONNX parser does.
#include "clrt/passes/passes.h"

namespace clrt::passes {

bool castBoundaryInputs(ir::Network& net) {
  bool changed = false;
  const auto users = net.consumers();
  const std::vector<int> inputs = net.inputs;
  for (int in : inputs) {
    const DataType t = net.tensors[in].dtype, c = computeDtype(t);
    // INT8, UINT8 and HALF inputs keep the meaning the network API gives them (quantized and
    // FP16 I/O).
    if (c == t || t == DataType::kINT8 || t == DataType::kUINT8 || t == DataType::kHALF) continue;
    std::vector<int> readers;
    for (int li : users[in])
      if (net.layers[li].kind != ir::LayerKind::kCAST) readers.push_back(li);
    if (readers.empty()) continue;
    const std::string name = net.tensors[in].name;
    const int li = net.addLayer(ir::LayerKind::kCAST, net.uniqueLayerName(name + "_to_compute"),
                                {in}, 1, {net.uniqueTensorName(name + "_" + dtypeName(c))});
    ir::Layer& l = net.layers[li];
    l.attrs.set("to", static_cast<int64_t>(c));
    const int wide = l.outputs[0];
    net.tensors[wide].dtype = c;
    net.tensors[wide].dims = net.tensors[in].dims;
    for (int r : readers)
      for (int& x : net.layers[r].inputs)
        if (x == in) x = wide;
    changed = true;
  }
  return changed;
}

}  // namespace clrt::passes
