// Helpers shared by the ir/ shape rules and host evaluator (not part of the public contract).
#pragma once

#include <string>
#include <vector>

#include "clrt/core/error.h"
#include "clrt/ir/shape_inference.h"

namespace clrt::ir::detail {

// Throws Error(kValue, "layer '<name>' (<KIND>): <what>, got <got>").
[[noreturn]] void layerFail(const Layer& layer, const std::string& what, const std::string& got);
[[noreturn]] void layerFail(const Layer& layer, const std::string& what, const Dims& got);

// Rethrows `e` (from a helper that does not know the layer: volume(), broadcastShapes, ...) with
// "layer '<name>' (<KIND>): " in front unless the message already starts so.
[[noreturn]] void nameLayer(const Layer& layer, const Error& e);

// Whether optional input i is present (the layer wires a tensor there and the caller passed it).
bool hasInput(const Layer& layer, const std::vector<TensorInfo>& ins, size_t i);

// The host-known integer values of input i, or false when absent/unknown.
bool inputInts(const Layer& layer, const std::vector<TensorInfo>& ins, size_t i,
               std::vector<int64_t>& out);

// Broadcast of two shapes with the layer-naming error.
Dims broadcast(const Layer& layer, const Dims& a, const Dims& b);

// Normalised axis in [0, rank) (or [0, rank] with inclusive), layer-naming error.
int64_t axisOf(const Layer& layer, int64_t axis, int64_t rank, const Dims& got,
               bool inclusive = false);

// Per input dimension: first element, step and output length after ONNX Slice clamping.
// len is -1 where the input dim or a needed value is unknown; start is meaningful only when
// len >= 0.
struct SliceParams {
  std::vector<int64_t> start, step, len;
};
SliceParams resolveSlice(const Layer& layer, const std::vector<TensorInfo>& ins);

// Sizes of each SPLIT output along the axis (-1 where unknown).
std::vector<int64_t> splitSizes(const Layer& layer, const std::vector<TensorInfo>& ins,
                                int64_t axis, int64_t dim, size_t nOut);

// Resolves a reshape spec (0 copies the input dim unless allowzero, -1 inferred).
Dims reshapeDims(const Layer& layer, const Dims& in, const std::vector<int64_t>& spec,
                 bool allowzero);

// The permutation of a transpose (empty = reverse) validated against the rank.
std::vector<int64_t> resolvePerm(const Layer& layer, std::vector<int64_t> perm, const Dims& in);

// Axes of SQUEEZE / UNSQUEEZE / REDUCE: from input 1 when given, else the `axes` attr.
// Returns false when input 1 is present but its value is unknown.
bool layerAxes(const Layer& layer, const std::vector<TensorInfo>& ins, std::vector<int64_t>& axes);

bool isBoolOp(const std::string& op);  // elementwise ops producing BOOL

// Output dims of the compute-heavy kinds (shape_rules_nn.cc).
Dims inferConv(const Layer& layer, const std::vector<TensorInfo>& ins);
Dims inferPool(const Layer& layer, const std::vector<TensorInfo>& ins);
Dims inferMatmul(const Layer& layer, const std::vector<TensorInfo>& ins);
Dims inferAttention(const Layer& layer, const std::vector<TensorInfo>& ins);
// RESIZE, PADDING, DECONVOLUTION, GRID_SAMPLE, ROI_ALIGN (shape_rules_spatial.cc).
Dims inferResize(const Layer& layer, const std::vector<TensorInfo>& ins);
Dims inferPadding(const Layer& layer, const std::vector<TensorInfo>& ins);
Dims inferDeconv(const Layer& layer, const std::vector<TensorInfo>& ins);
Dims inferGridSample(const Layer& layer, const std::vector<TensorInfo>& ins);
Dims inferRoiAlign(const Layer& layer, const std::vector<TensorInfo>& ins);
// NON_ZERO, NMS, UNIQUE (data_dependent.cc).
std::vector<std::pair<DataType, Dims>> inferDataDependent(const Layer& layer,
                                                          const std::vector<TensorInfo>& ins);

// ---- host evaluation helpers (host_eval*.cc) ----
bool isFloatType(DataType t);  // FLOAT or HALF: computed in double on the host
// Source element index of every output element: base + sum(idx[k] * strides[k]).
std::vector<int64_t> stridedIndex(const Dims& out, int64_t base,
                                  const std::vector<int64_t>& strides);
// Strides reading `in` broadcast to `out` (0 on broadcast dims).
std::vector<int64_t> broadcastStrides(const Dims& out, const Dims& in);
// Host tensors of dtype t from computed values (float -> int truncates toward zero).
HostTensor fromInt64(DataType t, const Dims& d, const std::vector<int64_t>& v);
HostTensor fromDouble(DataType t, const Dims& d, const std::vector<double>& v);
std::vector<double> asDoubles(const HostTensor& h);

// Math kinds; each returns false when the op or dtype is not handled on the host.
bool evalElementwise(const Layer& layer, const std::vector<const HostTensor*>& in, DataType outT,
                     const Dims& outD, HostTensor& out);
bool evalUnary(const Layer& layer, const HostTensor& x, DataType outT, HostTensor& out);
bool evalActivation(const Layer& layer, const HostTensor& x, HostTensor& out);
bool evalScale(const Layer& layer, const HostTensor& x, HostTensor& out);
bool evalReduce(const Layer& layer, const std::vector<TensorInfo>& ins, const Dims& outD,
                HostTensor& out);
bool evalMatmul(const Layer& layer, const std::vector<TensorInfo>& ins, const Dims& outD,
                HostTensor& out);

}  // namespace clrt::ir::detail
