// ONNX QuantizeLinear / DequantizeLinear on host values: shared by the importer (constant
// weights), host evaluation (constant folding) and the Q/DQ folding pass.
#pragma once

#include <string>
#include <vector>

#include "clrt/ir/shape_inference.h"

namespace clrt::ir {

// Scale and zero point of one Q or DQ, checked against the quantized tensor's dims.
struct QuantParams {
  std::vector<float> scale;          // one value (per-tensor) or one per slice along `axis`
  std::vector<int64_t> zero;         // same count as scale (zeros when the zero point is absent)
  int64_t axis = -1;                 // normalised axis for per-axis parameters, -1 per-tensor
  DataType qtype = DataType::kINT8;  // the integer side: INT8, UINT8 (or INT32 for DQ)
};

// Representable range of an integer quantization type (INT8, UINT8, INT32).
int64_t quantMin(DataType t);
int64_t quantMax(DataType t);

// Reads and checks scale (any float dtype, finite and > 0) and the optional zero point (dtype
// `qtype`, same count as the scale). One scale value means per-tensor; otherwise the scale is
// 1-D with xDims[axis] values (axis may be negative; -1 dims are not checked). Throws
// Error(kValue) whose message starts with `what`.
QuantParams quantParams(const HostTensor& scale, const HostTensor* zeroPoint, DataType qtype,
                        int64_t axis, const Dims& xDims, const std::string& what);

// y = saturate(round_half_even(x / scale) + zero_point), computed in float as onnxruntime.
HostTensor quantizeLinear(const HostTensor& x, const QuantParams& p);
// y = (x - zero_point) * scale, FLOAT.
HostTensor dequantizeLinear(const HostTensor& x, const QuantParams& p);

// Host evaluation of a kQUANTIZE / kDEQUANTIZE layer whose inputs are all known (evalOnHost).
// Returns false when an input value is missing or its dtype does not fit.
bool evalQuantizeLayer(const Layer& layer, const std::vector<TensorInfo>& ins, HostTensor& out);

}  // namespace clrt::ir
