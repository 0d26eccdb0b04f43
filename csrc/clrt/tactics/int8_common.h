// Shared by the INT8 tactics (tactics/int8_*.cc): precision-contract checks, per-output-channel
// weight quantization and the dtype/scale arguments of the int8_*.cl epilogues.
//
// Arithmetic (the same in every INT8 kernel and in tests/device/test_int8_ops.py's simulation):
//   quantize    q = clamp(rint(x * (1/scale)), -127, 127), 1/scale rounded to float once;
//   weights     per output channel k: s_w[k] = max|W_k| / 127, q_w = clamp(rint(W / s_w[k]))
//               (tactics/weight_quant.h);
//   conv/gemm   acc = sum q_x * q_w (exact int32), y = acc * (s_x * s_w[k]) + bias[k]
//               (+ residual, dequantized) -> activation -> stored FLOAT, HALF or INT8.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "clrt/tactics/compute_common.h"
#include "clrt/tactics/weight_quant.h"

namespace clrt::tactics::int8 {

// Whether `t` is a storage dtype the INT8 epilogues read and write.
inline bool epilogueDtype(DataType t) {
  return t == DataType::kFLOAT || t == DataType::kHALF || t == DataType::kINT8;
}

// An INT8 layer whose input i is stored INT8 with a positive scale.
inline bool int8Input(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, size_t i) {
  return i < in.size() && inputDtype(l, i, in[i].dtype) == DataType::kINT8 &&
         inputScale(l, i) > 0.0f;
}

// The common gate of every INT8 compute tactic: INT8 precision, INT8 input 0 with a scale,
// output 0 FLOAT/HALF/INT8 (INT8 with a scale).
inline bool int8Layer(const ir::Layer& l, const std::vector<ir::TensorInfo>& in) {
  if (layerPrecision(l) != DataType::kINT8 || l.outputs.empty() || !int8Input(l, in, 0))
    return false;
  const DataType o = outputDtype(l, 0, DataType::kINT8);
  return epilogueDtype(o) && (o != DataType::kINT8 || outputScale(l, 0) > 0.0f);
}

// An optional epilogue input (residual): absent, INT8 with a scale, or FLOAT/HALF.
inline bool residualOk(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, size_t i) {
  if (i >= in.size() || i >= l.inputs.size() || l.inputs[i] < 0) return true;
  const DataType d = inputDtype(l, i, in[i].dtype);
  if (d == DataType::kINT8) return inputScale(l, i) > 0.0f;
  return d == DataType::kFLOAT || d == DataType::kHALF;
}

// How a kernel reads or writes one tensor: dtype code (DataType numbering: 0 FLOAT, 1 HALF,
// 2 INT8; -1 absent) and the factor its epilogue applies (scale to read INT8, 1/scale to write).
struct Io {
  cl_mem buf = nullptr;
  cl_int dt = -1;
  float scale = 0.0f;  // reads: dequantize factor; writes: requantize factor (1/scale)
};

// The tensor the layer's attrs describe at input i, checked against what arrived at runtime.
inline Io readIo(const ir::Layer& l, const ExecArgs& a, size_t i, const char* what) {
  Io io;
  if (i >= a.inputs.size() || !a.inputs[i].buf) return io;
  const DeviceTensor& t = a.inputs[i];
  const DataType want = inputDtype(l, i, t.dtype);
  CLRT_CHECK(t.dtype == want && epilogueDtype(t.dtype), kRuntime, "INT8 layer '", l.name,
             "': ", what, " is ", dtypeName(t.dtype), ", the layer was built for ",
             dtypeName(want));
  io.buf = t.buf;
  io.dt = static_cast<cl_int>(t.dtype);
  io.scale = t.dtype == DataType::kINT8 ? inputScale(l, i) : 1.0f;
  return io;
}

inline Io writeIo(const ir::Layer& l, const ExecArgs& a, size_t i) {
  CLRT_CHECK(i < a.outputs.size() && a.outputs[i].buf, kRuntime, "INT8 layer '", l.name,
             "' has no device buffer for output ", i);
  const DeviceTensor& t = a.outputs[i];
  const DataType want = outputDtype(l, i, t.dtype);
  CLRT_CHECK(t.dtype == want && epilogueDtype(t.dtype), kRuntime, "INT8 layer '", l.name,
             "': output ", i, " is ", dtypeName(t.dtype), ", the layer was built for ",
             dtypeName(want));
  Io io;
  io.buf = t.buf;
  io.dt = static_cast<cl_int>(t.dtype);
  io.scale = t.dtype == DataType::kINT8 ? 1.0f / outputScale(l, i) : 1.0f;
  return io;
}

// q = x * inv clamped to [-127, 127] and rounded half to even, as the kernels compute it
// (storage_io.clh QROUND): OpenCL's clamp is fmin(fmax()), which takes NaN to -127; adding and
// subtracting 1.5 * 2^23 rounds a float of magnitude below 2^22 half to even.
inline int8_t quantize(float x, float inv) {
  float v = x * inv;
  v = v > -127.0f ? v : -127.0f;  // NaN: -127
  v = v < 127.0f ? v : 127.0f;
  return static_cast<int8_t>(static_cast<int>((v + 12582912.0f) - 12582912.0f));
}

// The part of a layer its kernels read at enqueue (names, attrs): weights are dropped once
// they are on the device.
inline ir::Layer attrsOf(const ir::Layer& l) {
  ir::Layer c;
  c.name = l.name;
  c.kind = l.kind;
  c.inputs = l.inputs;
  c.outputs = l.outputs;
  c.attrs = l.attrs;
  return c;
}

inline int64_t roundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// A device copy of raw bytes (int8 weights, packed ints, tables).
template <typename T>
cl_mem uploadRaw(ocl::Device& dev, const std::vector<T>& v) {
  const size_t bytes = v.size() * sizeof(T);
  cl_mem m = dev.alloc(std::max<size_t>(bytes, 4));
  if (bytes) dev.write(dev.queue(), m, 0, bytes, v.data(), /*blocking=*/true);
  return m;
}

inline cl_mem uploadFloats(ocl::Device& dev, const std::vector<float>& v) {
  return uploadRaw(dev, v);
}

}  // namespace clrt::tactics::int8

namespace clrt::tactics {
// The INT8 families, registered by registerInt8Tactics (tactics/int8_register.cc).
void registerInt8ConvTactics();  // tactics/int8_conv.cc: CONVOLUTION
void registerInt8GemmTactics();  // tactics/int8_gemm.cc: MATRIX_MULTIPLY
void registerInt8MiscTactics();  // tactics/int8_misc.cc: POOLING, ELEMENTWISE SUM, CONCATENATION
}  // namespace clrt::tactics
