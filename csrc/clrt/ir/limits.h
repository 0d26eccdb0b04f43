// Host memory limits for values clrt computes itself (constant folding, shape tensors, host
// layers), shared by the importer, shape propagation, the builder and the runtime, so that a
// 200-byte model cannot make clrt allocate gigabytes.
#pragma once

#include <cstdint>

#include "clrt/core/types.h"

namespace clrt::ir {

struct Layer;

// Values folded while shapes propagate (importer, Network::inferShapes, ITensor.shape): shape
// subgraphs and small constants only; larger values are left to the builder.
constexpr int64_t kShapeFoldElements = int64_t{1} << 16;
// The highest rank a shape rule gives a result: a shape tensor's length becomes a rank (Reshape,
// Expand, ConstantOfShape), and a 2^32-long one must be refused, not allocated. ONNX sets no
// limit; the kernels index up to rank 8.
constexpr int64_t kMaxRank = 64;
// ROI_ALIGN's largest sampling grid side per bin: its sampling_ratio (refused at import), or the
// adaptive ceil(roi size / output size) (a run-time error past it, not a run that never ends).
constexpr int64_t kMaxRoiGrid = 4096;
// Static and at most kShapeFoldElements elements (absurd dims do not overflow).
bool smallStatic(const Dims& d);

// Host memory for computed values: 1 GiB by default, CLRT_HOST_MEMORY_LIMIT=<bytes> changes it.
// One computed tensor may take a quarter of it (the evaluators hold a few working copies); all
// values computed by one constant-folding pass, or by one shape resolution, the whole of it.
uint64_t hostMemoryLimit();
inline uint64_t hostTensorLimit() { return hostMemoryLimit() / 4; }

// Bytes of a static tensor, saturating at UINT64_MAX instead of overflowing.
uint64_t hostBytes(const Dims& dims, DataType t);

// Throws Error(kBuild) naming the layer, the shape and the sizes when `bytes` more would take
// the layer's output over its limit (`held` bytes computed before it count towards `limit`).
void checkHostMemory(const Layer& layer, const Dims& dims, DataType t, uint64_t held,
                     uint64_t limit);

}  // namespace clrt::ir
