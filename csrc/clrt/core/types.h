// Basic value types shared by every room: data types, dimensions, host tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace clrt {

// Numbering follows TensorRT's DataType so values cross the Python edge unchanged.
enum class DataType : int32_t {
  kFLOAT = 0,
  kHALF = 1,
  kINT8 = 2,
  kINT32 = 3,
  kBOOL = 4,
  kUINT8 = 5,
  kFP8 = 6,
  kBF16 = 7,
  kINT64 = 8,
  kINT4 = 9,   // held one element per byte (ml_dtypes' layout); ONNX files pack two per byte
  kFP4 = 10,   // FLOAT4E2M1
  kE8M0 = 11,  // FLOAT8E8M0: a power of two (microscaling formats' scales)
  // clrt's own, past TensorRT's numbering: types that only cross the engine boundary; layers
  // compute them in computeDtype().
  kINT16 = 16,
  kUINT16 = 17,
  kUINT32 = 18,
  kUINT64 = 19,
  kDOUBLE = 20,
  kUINT4 = 21,
  kINT2 = 22,
  kUINT2 = 23,
  kFP8E5M2 = 24,  // kFP8 is E4M3FN, as TensorRT's
  kFP8E4M3FNUZ = 25,
  kFP8E5M2FNUZ = 26,
};

size_t dtypeSize(DataType t);
const char* dtypeName(DataType t);
bool validDtype(int64_t v);     // one of the DataType values above
bool isFloatDtype(DataType t);  // FLOAT, HALF, DOUBLE, BF16 and the narrow floats below

// Narrow storage types, one element per byte: the FP8 family, FP4 and E8M0 (computed as FLOAT)
// and the 4- and 2-bit integers (computed as INT32). ONNX's rules convert to them (Cast):
// floats round to nearest even and, with `saturate`, overflow to the largest finite value
// (else NaN, or infinity for E5M2); E8M0 rounds as `round` says; floats to the small integers
// truncate toward zero and give 0 out of range (as ml_dtypes and ONNX's reference do);
// integers wrap.
bool isNarrowFloat(DataType t);
bool isSubByteInt(DataType t);
int dtypeBits(DataType t);  // the element's width in bits (4 and 2 for those held in a byte)
enum class E8M0Round : int { kUp = 0, kDown = 1, kNearest = 2 };
struct CastMode {
  bool saturate = true;
  E8M0Round round = E8M0Round::kUp;
};
// A CAST layer's saturate and round_mode ("up", "down" or "nearest") attributes.
CastMode castMode(bool saturate, const std::string& round);
float narrowToFloat(DataType t, uint8_t b);
uint8_t floatToNarrow(DataType t, float f, CastMode m = {});
int64_t subByteToInt(DataType t, uint8_t b);
uint8_t floatToSubByte(DataType t, float f);
uint8_t intToSubByte(DataType t, int64_t v);

// What layers compute a boundary dtype in: small integers widen to INT32, UINT32/UINT64 to
// INT64, HALF and DOUBLE to FLOAT; FLOAT, INT32, INT64 and BOOL are their own.
DataType computeDtype(DataType t);

// Dimensions; -1 marks a dimension unknown until runtime (dynamic).
using Dims = std::vector<int64_t>;

// Product; -1 if any dim is dynamic. A product past int64 (dims from a hostile model or engine)
// throws Error(kValue) naming the shape, as does HostTensor::numel.
int64_t volume(const Dims& d);
bool isStatic(const Dims& d);
std::string dimsToString(const Dims& d);  // "(1, 3, 224, 224)"

// A dense, row-major tensor held on the host: weights, constants and shape values.
struct HostTensor {
  DataType dtype = DataType::kFLOAT;
  Dims dims;
  std::vector<uint8_t> bytes;

  HostTensor() = default;
  HostTensor(DataType t, Dims d);  // zero-filled
  static HostTensor fromFloats(Dims d, const std::vector<float>& v);
  static HostTensor fromInt64(Dims d, const std::vector<int64_t>& v);
  static HostTensor scalarInt64(int64_t v) { return fromInt64({}, {v}); }

  int64_t numel() const;  // product of dims (1 for a scalar)
  bool empty() const { return bytes.empty(); }
  float* f32() { return reinterpret_cast<float*>(bytes.data()); }
  const float* f32() const { return reinterpret_cast<const float*>(bytes.data()); }
  int64_t* i64() { return reinterpret_cast<int64_t*>(bytes.data()); }
  const int64_t* i64() const { return reinterpret_cast<const int64_t*>(bytes.data()); }

  // Values converted to a common type, whatever the stored dtype
  // (float/half/int32/int64/bool/int8/uint8).
  std::vector<float> asFloats() const;
  std::vector<int64_t> asInt64() const;
  HostTensor castTo(DataType t, CastMode m = {}) const;
};

// Row-major strides of a shape, in elements.
std::vector<int64_t> stridesOf(const Dims& d);

// NumPy broadcasting of two shapes; throws ValueError naming `what` when incompatible.
Dims broadcastShapes(const Dims& a, const Dims& b, const std::string& what);

// Normalises a possibly negative axis against a rank; throws ValueError naming `what`.
int64_t normalizeAxis(int64_t axis, int64_t rank, const std::string& what);

float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);
// bfloat16 (the float's top 16 bits): exact widening; narrowing rounds to nearest even and keeps
// NaN a (quiet) NaN, as the cast kernel does.
float bf16ToFloat(uint16_t b);
uint16_t floatToBf16(float f);

}  // namespace clrt
