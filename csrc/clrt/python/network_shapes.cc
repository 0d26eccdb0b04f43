// Keeps ITensor.shape right while a network is built through the Python API: infers each new
// layer strictly and re-infers downstream layers after an edit.
#include <map>
#include <memory>
#include <optional>

#include "clrt/ir/limits.h"
#include "clrt/ir/shape_inference.h"
#include "clrt/python/bindings.h"

namespace clrt::python {
namespace {

// Host-known tensor values (constants and small shape subgraphs over them), computed on demand
// with the same limits as ir::Network::inferShapes so both give the same dims.
class HostValues {
 public:
  explicit HostValues(const ir::Network& net) : net_(net) {}

  const HostTensor* value(int t, int depth = 0) {
    if (t < 0 || t >= static_cast<int>(net_.tensors.size())) return nullptr;
    auto it = cache_.find(t);
    if (it != cache_.end()) return it->second;
    cache_[t] = nullptr;  // guards against cycles while this value is being computed
    return compute(t, depth);
  }

  std::vector<ir::TensorInfo> inputsOf(const ir::Layer& layer, int depth = 0) {
    std::vector<ir::TensorInfo> infos;
    for (int t : layer.inputs) {
      ir::TensorInfo info;
      if (t >= 0 && t < static_cast<int>(net_.tensors.size())) {
        info.dtype = net_.tensors[t].dtype;
        info.dims = net_.tensors[t].dims;
        info.value = value(t, depth + 1);
      }
      infos.push_back(info);
    }
    return infos;
  }

  void forget(int t) { cache_.erase(t); }

 private:
  static constexpr int kMaxDepth = 256;

  const HostTensor* compute(int t, int depth) {
    const int p = net_.tensors[t].producer;
    if (p < 0 || p >= static_cast<int>(net_.layers.size()) || depth > kMaxDepth) return nullptr;
    const ir::Layer& layer = net_.layers[p];
    if (layer.kind == ir::LayerKind::kCONSTANT) {
      auto w = layer.weights.find("value");
      if (w == layer.weights.end()) return nullptr;
      return store(t, &w->second);  // the layer's weights outlive this object
    }
    if (!ir::canEvalOnHost(layer.kind)) return nullptr;
    std::vector<ir::TensorInfo> ins = inputsOf(layer, depth);
    if (layer.kind != ir::LayerKind::kSHAPE)  // SHAPE needs the dims only
      for (const auto& in : ins)
        if (!in.value || in.value->numel() > ir::kShapeFoldElements) return nullptr;
    for (int o : layer.outputs) {
      if (o < 0) return nullptr;
      const Dims& d = net_.tensors[o].dims;
      if (!ir::smallStatic(d)) return nullptr;
    }
    std::vector<HostTensor> outs;
    try {
      if (!ir::evalOnHost(layer, ins, outs) || outs.size() != layer.outputs.size()) return nullptr;
    } catch (const Error&) {
      return nullptr;
    }
    const HostTensor* mine = nullptr;
    for (size_t i = 0; i < outs.size(); ++i) {
      owned_.push_back(std::make_unique<HostTensor>(std::move(outs[i])));
      store(layer.outputs[i], owned_.back().get());
      if (layer.outputs[i] == t) mine = owned_.back().get();
    }
    return mine;
  }

  const HostTensor* store(int t, const HostTensor* v) {
    cache_[t] = v;
    return v;
  }

  const ir::Network& net_;
  std::map<int, const HostTensor*> cache_;
  std::vector<std::unique_ptr<HostTensor>> owned_;
};

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
