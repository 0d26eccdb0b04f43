// Keeps ITensor.shape right while a network is built through the Python API: infers each new
// layer strictly and re-infers downstream layers after an edit.
#include <map>
#include <memory>
#include <optional>

#include "clrt/ir/host_values.h"
#include "clrt/ir/shape_inference.h"
#include "clrt/python/bindings.h"

namespace clrt::python {
namespace {

using ir::HostValues;

// Writes inferred (dtype, dims) into the layer's outputs; true when anything changed.
bool apply(ir::Network& net, const ir::Layer& layer,
           const std::vector<std::pair<DataType, Dims>>& results) {
  CLRT_CHECK(results.size() == layer.outputs.size(), kValue, "layer '", layer.name,
             "': shape inference gave ", results.size(), " outputs for ", layer.outputs.size());
  bool changed = false;
  for (size_t i = 0; i < results.size(); ++i) {
    const int t = layer.outputs[i];
    if (t < 0 || t >= static_cast<int>(net.tensors.size())) continue;
    ir::Tensor& tensor = net.tensors[t];
    if (tensor.dtype != results[i].first || tensor.dims != results[i].second) changed = true;
    tensor.dtype = results[i].first;
    tensor.dims = results[i].second;
  }
  return changed;
}

}  // namespace

void commitNewLayer(ir::Network& net, int layer) {
  CLRT_CHECK(layer == static_cast<int>(net.layers.size()) - 1, kValue, "internal: layer ", layer,
             " is not the newest layer");
  try {
    HostValues values(net);
    const ir::Layer& l = net.layers[layer];
    apply(net, l, ir::inferLayer(l, values.inputsOf(l)));
  } catch (const Error& e) {
    const size_t outs = net.layers[layer].outputs.size();
    net.layers.pop_back();
    net.tensors.resize(net.tensors.size() - outs);
    fail(ErrorKind::kValue, e.what());
  }
}

void refreshShapes(ir::Network& net, int layer, const std::vector<int>& tensors) {
  std::vector<int> order;
  try {
    order = net.topoOrder();
  } catch (const Error&) {
    return;  // a cycle (from set_input): the builder reports it
  }
  std::vector<char> dirty(net.tensors.size(), 0);
  for (int t : tensors)
    if (t >= 0 && t < static_cast<int>(dirty.size())) dirty[t] = 1;
  HostValues values(net);
  for (int l : order) {
    const ir::Layer& L = net.layers[l];
    bool touched = l == layer;
    for (int t : L.inputs)
      touched = touched || (t >= 0 && t < static_cast<int>(dirty.size()) && dirty[t]);
    if (!touched) continue;
    try {
      if (!apply(net, L, ir::inferLayer(L, values.inputsOf(L)))) continue;
    } catch (const Error&) {
      continue;  // inconsistent mid-edit; keeps its old dims
    }
    for (int t : L.outputs) {
      if (t < 0 || t >= static_cast<int>(dirty.size())) continue;
      dirty[t] = 1;
      values.forget(t);
    }
  }
}

}  // namespace clrt::python
