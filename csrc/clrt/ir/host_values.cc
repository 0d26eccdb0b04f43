// ir::HostValues: see host_values.h.
#include "clrt/ir/host_values.h"

#include <type_traits>

#include "clrt/ir/limits.h"

namespace clrt::ir {

// Values of constants point into their layers' weights: layers appended meanwhile must move the
// existing ones (keeping their maps' nodes in place), never copy them.
static_assert(std::is_nothrow_move_constructible_v<Layer>);

const HostTensor* HostValues::value(int t, int depth) {
  if (t < 0 || t >= static_cast<int>(net_.tensors.size())) return nullptr;
  auto it = cache_.find(t);
  if (it != cache_.end()) return it->second;
  cache_[t] = nullptr;  // guards against cycles while this value is being computed
  return compute(t, depth);
}

std::vector<TensorInfo> HostValues::inputsOf(const Layer& layer, int depth) {
  std::vector<TensorInfo> infos;
  for (int t : layer.inputs) {
    TensorInfo info;
    if (t >= 0 && t < static_cast<int>(net_.tensors.size())) {
      info.dtype = net_.tensors[t].dtype;
      info.dims = net_.tensors[t].dims;
      info.value = value(t, depth + 1);
    }
    infos.push_back(info);
  }
  return infos;
}

const HostTensor* HostValues::compute(int t, int depth) {
  const int p = net_.tensors[t].producer;
  if (p < 0 || p >= static_cast<int>(net_.layers.size()) || depth > kMaxDepth) return nullptr;
  const Layer& layer = net_.layers[p];
  if (layer.dead) return nullptr;
  if (layer.kind == LayerKind::kCONSTANT) {
    auto w = layer.weights.find("value");
    if (w == layer.weights.end()) return nullptr;
    return store(t, &w->second);  // the layer's weights outlive this object
  }
  if (!canEvalOnHost(layer.kind)) return nullptr;
  std::vector<TensorInfo> ins = inputsOf(layer, depth);
  if (layer.kind != LayerKind::kSHAPE)  // SHAPE needs the dims only
    for (const auto& in : ins)
      if (!in.value || in.value->numel() > kShapeFoldElements) return nullptr;
  for (int o : layer.outputs) {
    if (o < 0) return nullptr;
    if (!smallStatic(net_.tensors[o].dims)) return nullptr;
  }
  std::vector<HostTensor> outs;
  try {
    if (!evalOnHost(layer, ins, outs) || outs.size() != layer.outputs.size()) return nullptr;
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

const HostTensor* HostValues::store(int t, const HostTensor* v) {
  cache_[t] = v;
  return v;
}

}  // namespace clrt::ir
