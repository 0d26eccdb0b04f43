// Host-known tensor values of a network, computed on demand: constants and the small
// host-evaluable subgraphs over them (shape arithmetic), with the limits ir::Network::inferShapes
// folds under, so both agree on what is known. Used while a network is being built through the
// Python API (its shapes) and by the control-flow lowering (trip counts, loop conditions).
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "clrt/ir/network.h"
#include "clrt/ir/shape_inference.h"

namespace clrt::ir {

class HostValues {
 public:
  // `net` must outlive this object; tensors and layers may be appended meanwhile (values already
  // computed stay valid as long as the layers producing them are not edited).
  explicit HostValues(const Network& net) : net_(net) {}

  // The value of tensor t, or null when it is not known on the host.
  const HostTensor* value(int t, int depth = 0);
  // Each input's dtype, dims and value (when known).
  std::vector<TensorInfo> inputsOf(const Layer& layer, int depth = 0);
  // Drops a cached value (its producer was edited).
  void forget(int t) { cache_.erase(t); }

 private:
  static constexpr int kMaxDepth = 256;
  const HostTensor* compute(int t, int depth);
  const HostTensor* store(int t, const HostTensor* v);

  const Network& net_;
  std::map<int, const HostTensor*> cache_;
  std::vector<std::unique_ptr<HostTensor>> owned_;
};

}  // namespace clrt::ir
