// Data type helpers, dimension utilities, host tensor conversions.
#include "clrt/core/types.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "clrt/core/error.h"

namespace clrt {

size_t dtypeSize(DataType t) {
  switch (t) {
    case DataType::kFLOAT:
    case DataType::kINT32:
    case DataType::kUINT32:
      return 4;
    case DataType::kHALF:
    case DataType::kBF16:
    case DataType::kINT16:
    case DataType::kUINT16:
      return 2;
    case DataType::kINT8:
    case DataType::kBOOL:
    case DataType::kUINT8:
    case DataType::kFP8:
    case DataType::kINT4:
    case DataType::kFP4:
    case DataType::kE8M0:
    case DataType::kUINT4:
    case DataType::kINT2:
    case DataType::kUINT2:
    case DataType::kFP8E5M2:
    case DataType::kFP8E4M3FNUZ:
    case DataType::kFP8E5M2FNUZ:
      return 1;
    case DataType::kINT64:
    case DataType::kUINT64:
    case DataType::kDOUBLE:
      return 8;
  }
  return 0;
}

const char* dtypeName(DataType t) {
  switch (t) {
    case DataType::kFLOAT:
      return "FLOAT";
    case DataType::kHALF:
      return "HALF";
    case DataType::kINT8:
      return "INT8";
    case DataType::kINT32:
      return "INT32";
    case DataType::kBOOL:
      return "BOOL";
    case DataType::kUINT8:
      return "UINT8";
    case DataType::kFP8:
      return "FP8";
    case DataType::kBF16:
      return "BF16";
    case DataType::kINT64:
      return "INT64";
    case DataType::kINT16:
      return "INT16";
    case DataType::kUINT16:
      return "UINT16";
    case DataType::kUINT32:
      return "UINT32";
    case DataType::kUINT64:
      return "UINT64";
    case DataType::kDOUBLE:
      return "DOUBLE";
    case DataType::kINT4:
      return "INT4";
    case DataType::kFP4:
      return "FP4";
    case DataType::kE8M0:
      return "E8M0";
    case DataType::kUINT4:
      return "UINT4";
    case DataType::kINT2:
      return "INT2";
    case DataType::kUINT2:
      return "UINT2";
    case DataType::kFP8E5M2:
      return "FP8E5M2";
    case DataType::kFP8E4M3FNUZ:
      return "FP8E4M3FNUZ";
    case DataType::kFP8E5M2FNUZ:
      return "FP8E5M2FNUZ";
  }
  return "UNKNOWN";
}

bool validDtype(int64_t v) {
  return (v >= 0 && v <= static_cast<int64_t>(DataType::kE8M0)) ||
         (v >= static_cast<int64_t>(DataType::kINT16) &&
          v <= static_cast<int64_t>(DataType::kFP8E5M2FNUZ));
}

bool isNarrowFloat(DataType t) {
  return t == DataType::kFP8 || t == DataType::kFP8E5M2 || t == DataType::kFP8E4M3FNUZ ||
         t == DataType::kFP8E5M2FNUZ || t == DataType::kFP4 || t == DataType::kE8M0;
}

bool isSubByteInt(DataType t) {
  return t == DataType::kINT4 || t == DataType::kUINT4 || t == DataType::kINT2 ||
         t == DataType::kUINT2;
}

int dtypeBits(DataType t) {
  if (t == DataType::kINT4 || t == DataType::kUINT4 || t == DataType::kFP4) return 4;
  if (t == DataType::kINT2 || t == DataType::kUINT2) return 2;
  return 8 * static_cast<int>(dtypeSize(t));
}

bool isFloatDtype(DataType t) {
  return t == DataType::kFLOAT || t == DataType::kHALF || t == DataType::kDOUBLE ||
         t == DataType::kBF16 || isNarrowFloat(t);
}

DataType computeDtype(DataType t) {
  switch (t) {
    case DataType::kINT8:
    case DataType::kUINT8:
    case DataType::kINT16:
    case DataType::kUINT16:
    case DataType::kINT4:
    case DataType::kUINT4:
    case DataType::kINT2:
    case DataType::kUINT2:
      return DataType::kINT32;
    case DataType::kUINT32:
    case DataType::kUINT64:
      return DataType::kINT64;
    case DataType::kHALF:
    case DataType::kBF16:
    case DataType::kDOUBLE:
    case DataType::kFP8:
    case DataType::kFP8E5M2:
    case DataType::kFP8E4M3FNUZ:
    case DataType::kFP8E5M2FNUZ:
    case DataType::kFP4:
    case DataType::kE8M0:
      return DataType::kFLOAT;
    default:
      return t;
  }
}

namespace {
[[noreturn]] void tooLarge(const Dims& d) {
  fail(ErrorKind::kValue, str("shape ", dimsToString(d), " has more than 2^63 elements"));
}
}  // namespace

int64_t volume(const Dims& d) {
  int64_t v = 1;
  for (auto x : d)
    if (x < 0) return -1;
  for (auto x : d)
    if (__builtin_mul_overflow(v, x, &v)) tooLarge(d);
  return v;
}

bool isStatic(const Dims& d) {
  for (auto x : d)
    if (x < 0) return false;
  return true;
}

std::string dimsToString(const Dims& d) {
  std::string s = "(";
  for (size_t i = 0; i < d.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(d[i]);
  }
  if (d.size() == 1) s += ",";
  return s + ")";
}

HostTensor::HostTensor(DataType t, Dims d) : dtype(t), dims(std::move(d)) {
  for (auto x : dims)
    CLRT_CHECK(x >= 0, kValue, "host tensor of shape ", dimsToString(dims), ": negative dim");
  size_t n = 0;
  CLRT_CHECK(!__builtin_mul_overflow(static_cast<size_t>(numel()), dtypeSize(t), &n), kValue,
             "host tensor of shape ", dimsToString(dims), " ", dtypeName(t), " is too large");
  bytes.assign(n, 0);
}

HostTensor HostTensor::fromFloats(Dims d, const std::vector<float>& v) {
  HostTensor h(DataType::kFLOAT, std::move(d));
  CLRT_CHECK(static_cast<int64_t>(v.size()) == h.numel(), kValue, "fromFloats: ", v.size(),
             " values for shape ", dimsToString(h.dims));
  if (!v.empty()) std::memcpy(h.bytes.data(), v.data(), v.size() * 4);
  return h;
}

HostTensor HostTensor::fromInt64(Dims d, const std::vector<int64_t>& v) {
  HostTensor h(DataType::kINT64, std::move(d));
  CLRT_CHECK(static_cast<int64_t>(v.size()) == h.numel(), kValue, "fromInt64: ", v.size(),
             " values for shape ", dimsToString(h.dims));
  if (!v.empty()) std::memcpy(h.bytes.data(), v.data(), v.size() * 8);
  return h;
}

int64_t HostTensor::numel() const {
  int64_t v = 1;
  for (auto x : dims)
    if (__builtin_mul_overflow(v, x, &v)) tooLarge(dims);
  return v;
}

namespace {

// One element read whatever its dtype: floats (DOUBLE narrowed to float, as clrt computes it)
// as a double, integers as int64 (UINT64 by its bits, flagged).
struct Elem {
  bool isFloat = false, isU64 = false;
  double f = 0.0;
  int64_t i = 0;
};

template <typename T>
T load(const uint8_t* p, int64_t i) {
  T v;
  std::memcpy(&v, p + sizeof(T) * i, sizeof(T));
  return v;
}

Elem readElem(DataType t, const uint8_t* p, int64_t i) {
  Elem e;
  e.isFloat = true;
  switch (t) {
    case DataType::kFLOAT:
      e.f = load<float>(p, i);
      return e;
    case DataType::kHALF:
      e.f = halfToFloat(load<uint16_t>(p, i));
      return e;
    case DataType::kBF16:
      e.f = bf16ToFloat(load<uint16_t>(p, i));
      return e;
    case DataType::kDOUBLE:
      e.f = static_cast<float>(load<double>(p, i));
      return e;
    default:
      if (isNarrowFloat(t)) {
        e.f = narrowToFloat(t, p[i]);
        return e;
      }
      break;
  }
  e.isFloat = false;
  if (isSubByteInt(t)) {
    e.i = subByteToInt(t, p[i]);
    return e;
  }
  switch (t) {
    case DataType::kINT8:
      e.i = load<int8_t>(p, i);
      break;
    case DataType::kUINT8:
      e.i = load<uint8_t>(p, i);
      break;
    case DataType::kBOOL:
      e.i = load<uint8_t>(p, i) != 0;
      break;
    case DataType::kINT16:
      e.i = load<int16_t>(p, i);
      break;
    case DataType::kUINT16:
      e.i = load<uint16_t>(p, i);
      break;
    case DataType::kINT32:
      e.i = load<int32_t>(p, i);
      break;
    case DataType::kUINT32:
      e.i = load<uint32_t>(p, i);
      break;
    case DataType::kINT64:
      e.i = load<int64_t>(p, i);
      break;
    case DataType::kUINT64:
      e.i = load<int64_t>(p, i);
      e.isU64 = true;
      break;
    default:
      fail(ErrorKind::kUnsupported, str("cannot convert host tensor of dtype ", dtypeName(t)));
  }
  return e;
}

double asDouble(const Elem& e) {
  if (e.isFloat) return e.f;
  return e.isU64 ? static_cast<double>(static_cast<uint64_t>(e.i)) : static_cast<double>(e.i);
}

void checkBytes(const HostTensor& h) {
  CLRT_CHECK(h.bytes.size() >= static_cast<size_t>(h.numel()) * dtypeSize(h.dtype), kValue,
             "host tensor holds ", h.bytes.size(), " bytes, shape ", dimsToString(h.dims),
             " needs more");
}

// Float to integer as ONNX Cast does it here (and the cast kernel): toward zero, saturated to
// the target's range, NaN to 0. Integers to integers wrap (two's complement).
template <typename T>
T toInt(const Elem& e) {
  if (!e.isFloat) return static_cast<T>(e.i);
  const double v = e.f;
  if (std::isnan(v)) return 0;
  if (v <= static_cast<double>(std::numeric_limits<T>::lowest()))
    return std::numeric_limits<T>::lowest();
  if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

template <typename T>
void store(uint8_t* p, int64_t i, T v) {
  std::memcpy(p + sizeof(T) * i, &v, sizeof(T));
}

}  // namespace

std::vector<float> HostTensor::asFloats() const {
  checkBytes(*this);
  const int64_t n = numel();
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(asDouble(readElem(dtype, bytes.data(), i)));
  return out;
}

std::vector<int64_t> HostTensor::asInt64() const {
  checkBytes(*this);
  const int64_t n = numel();
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const Elem e = readElem(dtype, bytes.data(), i);
    out[i] = e.isFloat ? static_cast<int64_t>(e.f) : e.i;
  }
  return out;
}

HostTensor HostTensor::castTo(DataType t, CastMode m) const {
  if (t == dtype) return *this;
  checkBytes(*this);
  HostTensor out(t, dims);
  const int64_t n = numel();
  uint8_t* o = out.bytes.data();
  for (int64_t i = 0; i < n; ++i) {
    const Elem e = readElem(dtype, bytes.data(), i);
    switch (t) {
      case DataType::kFLOAT:
        store(o, i, static_cast<float>(asDouble(e)));
        break;
      case DataType::kHALF:
        store(o, i, floatToHalf(static_cast<float>(asDouble(e))));
        break;
      case DataType::kBF16:
        store(o, i, floatToBf16(static_cast<float>(asDouble(e))));
        break;
      case DataType::kDOUBLE:
        store(o, i, static_cast<double>(static_cast<float>(asDouble(e))));
        break;
      case DataType::kBOOL:
        o[i] = e.isFloat ? e.f != 0.0 : e.i != 0;
        break;
      case DataType::kINT8:
        store(o, i, toInt<int8_t>(e));
        break;
      case DataType::kUINT8:
        store(o, i, toInt<uint8_t>(e));
        break;
      case DataType::kINT16:
        store(o, i, toInt<int16_t>(e));
        break;
      case DataType::kUINT16:
        store(o, i, toInt<uint16_t>(e));
        break;
      case DataType::kINT32:
        store(o, i, toInt<int32_t>(e));
        break;
      case DataType::kUINT32:
        store(o, i, toInt<uint32_t>(e));
        break;
      case DataType::kINT64:
        store(o, i, toInt<int64_t>(e));
        break;
      case DataType::kUINT64:
        store(o, i, toInt<uint64_t>(e));
        break;
      default:
        if (isNarrowFloat(t))
          o[i] = floatToNarrow(t, static_cast<float>(asDouble(e)), m);
        else if (isSubByteInt(t))
          o[i] = e.isFloat ? floatToSubByte(t, static_cast<float>(e.f)) : intToSubByte(t, e.i);
        else
          fail(ErrorKind::kUnsupported, str("cannot cast host tensor to ", dtypeName(t)));
    }
  }
  return out;
}

std::vector<int64_t> stridesOf(const Dims& d) {
  std::vector<int64_t> s(d.size(), 1);
  for (int i = static_cast<int>(d.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * d[i + 1];
  return s;
}

Dims broadcastShapes(const Dims& a, const Dims& b, const std::string& what) {
  const size_t r = std::max(a.size(), b.size());
  Dims out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t x = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t y = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (x == y || y == 1)
      out[i] = x;
    else if (x == 1)
      out[i] = y;
    else if (x < 0 || y < 0)
      out[i] = x < 0 ? y : x;  // dynamic: trust the static side
    else
      fail(ErrorKind::kValue,
           str(what, ": shapes ", dimsToString(a), " and ", dimsToString(b), " do not broadcast"));
  }
  return out;
}

int64_t normalizeAxis(int64_t axis, int64_t rank, const std::string& what) {
  CLRT_CHECK(axis >= -rank && axis < std::max<int64_t>(rank, 1), kValue, what, ": axis ", axis,
             " out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

float bf16ToFloat(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float halfToFloat(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0)
      bits = sign;
    else {
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31)
    bits = sign | 0x7f800000u | (mant << 13);
  else
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffffu;
  if (((x >> 23) & 0xff) == 0xff)
    return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0));
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
  if (exp <= 0) {
    if (exp < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const uint32_t shift = static_cast<uint32_t>(14 - exp);
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return static_cast<uint16_t>(h);
}

namespace {

// A minifloat: 1 sign bit, `e` exponent bits, `m` mantissa bits. kIeee has infinities and NaNs
// at the top exponent (E5M2); kFn only NaN, all ones (E4M3FN); kFnuz one NaN at -0 and no
// negative zero (the FNUZ types); kNone neither (FP4).
enum class Specials { kIeee, kFn, kFnuz, kNone };
struct MiniFloat {
  int e, m, bias;
  Specials sp;
  int bits() const { return 1 + e + m; }
  int maxCode() const {  // the largest finite magnitude's bits
    const int all = (1 << (e + m)) - 1;
    if (sp == Specials::kIeee) return all - (1 << m);
    if (sp == Specials::kFn) return all - 1;
    return all;
  }
};

MiniFloat miniFloat(DataType t) {
  switch (t) {
    case DataType::kFP8:
      return {4, 3, 7, Specials::kFn};
    case DataType::kFP8E5M2:
      return {5, 2, 15, Specials::kIeee};
    case DataType::kFP8E4M3FNUZ:
      return {4, 3, 8, Specials::kFnuz};
    case DataType::kFP8E5M2FNUZ:
      return {5, 2, 16, Specials::kFnuz};
    case DataType::kFP4:
      return {2, 1, 1, Specials::kNone};
    default:
      fail(ErrorKind::kRuntime, str(dtypeName(t), " is not a minifloat"));
  }
}

bool subByteSigned(DataType t) { return t == DataType::kINT4 || t == DataType::kINT2; }

}  // namespace

CastMode castMode(bool saturate, const std::string& round) {
  CastMode m;
  m.saturate = saturate;
  m.round = round == "down"      ? E8M0Round::kDown
            : round == "nearest" ? E8M0Round::kNearest
                                 : E8M0Round::kUp;
  return m;
}

float narrowToFloat(DataType t, uint8_t b) {
  if (t == DataType::kE8M0)
    return b == 0xff ? std::numeric_limits<float>::quiet_NaN() : std::ldexp(1.0f, b - 127);
  const MiniFloat f = miniFloat(t);
  b &= static_cast<uint8_t>((1 << f.bits()) - 1);
  const int sign = b >> (f.e + f.m), exp = (b >> f.m) & ((1 << f.e) - 1),
            man = b & ((1 << f.m) - 1);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  if (f.sp == Specials::kFnuz && b == (1 << (f.e + f.m))) return nan;
  if (f.sp == Specials::kFn && exp == (1 << f.e) - 1 && man == (1 << f.m) - 1)
    return sign ? -nan : nan;
  if (f.sp == Specials::kIeee && exp == (1 << f.e) - 1) {
    const float v = man ? nan : std::numeric_limits<float>::infinity();
    return sign ? -v : v;
  }
  const float v = exp == 0 ? std::ldexp(static_cast<float>(man), 1 - f.bias - f.m)
                           : std::ldexp(static_cast<float>(man + (1 << f.m)), exp - f.bias - f.m);
  return sign ? -v : v;
}

uint8_t floatToNarrow(DataType t, float x, CastMode mode) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if (t == DataType::kE8M0) {  // the float's exponent field, rounded by the fraction dropped
    uint32_t exp = (u >> 23) & 0xff;
    if (exp == 0xff) return 0xff;
    bool up = false;
    if (mode.round == E8M0Round::kUp) {
      up = (u & 0x7fffffu) != 0;
    } else if (mode.round == E8M0Round::kNearest) {
      up = (u & 0x400000u) && ((u & 0x3fffffu) || exp > 0);
    }
    if (up && !(mode.saturate && exp == 0xfe)) ++exp;
    return static_cast<uint8_t>(exp);
  }
  const MiniFloat f = miniFloat(t);
  const int signBit = 1 << (f.e + f.m);
  const int sign = (u >> 31) ? signBit : 0;
  const int nanCode = f.sp == Specials::kFnuz   ? signBit
                      : f.sp == Specials::kFn   ? sign | (signBit - 1)
                      : f.sp == Specials::kIeee ? sign | (signBit - 1 - ((1 << (f.m - 1)) - 1))
                                                : (sign ^ signBit);  // FP4: as ml_dtypes
  const bool saturate = mode.saturate || f.sp == Specials::kNone;
  // Past the largest finite value: saturate, else NaN (or infinity where the type has it).
  const int over = saturate                  ? sign | f.maxCode()
                   : f.sp == Specials::kIeee ? sign | (((1 << f.e) - 1) << f.m)
                                             : nanCode;
  if (std::isnan(x)) return static_cast<uint8_t>(nanCode);
  const float a = std::fabs(x);
  if (std::isinf(a)) return static_cast<uint8_t>(over);
  const int zero = f.sp == Specials::kFnuz ? 0 : sign;
  if (a == 0.0f) return static_cast<uint8_t>(zero);
  // The quantum at a's binade (subnormals share the lowest normal binade's), and a rounded to
  // it, nearest even: ldexp scales by a power of two exactly.
  const int emin = 1 - f.bias;
  int ex = 0;
  std::frexp(a, &ex);
  const int q = std::max(ex - 1, emin) - f.m;
  const double r = std::nearbyint(std::ldexp(static_cast<double>(a), -q));
  if (r == 0.0) return static_cast<uint8_t>(zero);
  // r is the mantissa with its leading one (normals) or without (subnormals); a carry into the
  // next binade lands on the exponent field as the integers add.
  const int64_t code = ((static_cast<int64_t>(q) + f.m - emin) << f.m) + static_cast<int64_t>(r);
  if (code > f.maxCode()) return static_cast<uint8_t>(over);
  return static_cast<uint8_t>(sign | static_cast<int>(code));
}

int64_t subByteToInt(DataType t, uint8_t b) {
  const int n = dtypeBits(t);
  const int v = b & ((1 << n) - 1);
  return subByteSigned(t) && (v >> (n - 1)) ? v - (1 << n) : v;
}

uint8_t intToSubByte(DataType t, int64_t v) {
  return static_cast<uint8_t>(static_cast<uint64_t>(v) & ((1u << dtypeBits(t)) - 1));
}

uint8_t floatToSubByte(DataType t, float f) {
  const int n = dtypeBits(t);
  const double lo = subByteSigned(t) ? -(1 << (n - 1)) : 0;
  const double hi = subByteSigned(t) ? (1 << (n - 1)) - 1 : (1 << n) - 1;
  const double v = std::trunc(static_cast<double>(f));
  if (std::isnan(v) || v < lo || v > hi) return 0;
  return intToSubByte(t, static_cast<int64_t>(v));
}

}  // namespace clrt
