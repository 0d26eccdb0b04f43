// OneHot lowered onto ir layers, shared by the ONNX importer (OneHot) and the network API
// (INetworkDefinition.add_one_hot), so that both build the same layers.
#pragma once

#include <functional>

#include "clrt/ir/einsum.h"

namespace clrt::ir {

// values[1] where an index (a negative one counts from the end: + depth) equals the position
// along `axis` of the output, values[0] elsewhere; indices out of range match no position:
//   WHERE(EQUAL(UNSQUEEZE(WHERE(idx < 0, idx + depth, idx), axis), RESHAPE(RANGE(0, depth, 1))),
//         SLICE(values, 1), SLICE(values, 0))
// `indices` (INT64), `depth` (an INT64 scalar) and `values` ([off, on]) are tensor ids; `rank`
// is the output's (the indices' + 1), `axis` in [0, rank). `scalar` makes an INT64 scalar
// constant. The WHERE is the last layer emitted; its output is returned. The network API finds
// the parts again from it (add_one_hot's axis property), so their order is part of the contract.
int lowerOneHot(int indices, int depth, int values, int64_t rank, int64_t axis,
                const EinsumEmit& emit, const std::function<int(int64_t)>& scalar);

}  // namespace clrt::ir
