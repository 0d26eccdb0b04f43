// Pointwise kernels: activations and unary math, broadcast binary ops, per-channel scale, casts
// and where. The op and every shape are runtime arguments, so one program serves every
// pointwise layer of every shape (codes: tactics/pointwise.cc). The build option STORAGE_HALF
// makes the float kernels (*_f) read and write half storage, computing in float; the program
// without it is the FP32 one.



// Operand offsets of a binary op. mode 0: both dense, 1: b scalar, 2: a scalar, 3: broadcast
// through p; 4 (5): a (b) dense, b (a) one value per image and channel (squeeze-and-excitation's
// gate), with p->dims = {C, spatial size, y channels last, the gate's image stride}; 6 (7): a
// (b) dense, b (a) repeated over y's leading dims (a bias over the last dims, a position
// embedding over the batch), p->dims[0] its element count.
inline int2 binary_offsets(const IndexPack* p, int mode, int i) {
  if (mode == 0) return (int2)(i, i);
  if (mode == 1) return (int2)(i, 0);
  if (mode == 2) return (int2)(0, i);
  if (mode == 6) return (int2)(i, i % p->dims[0]);
  if (mode == 7) return (int2)(i % p->dims[0], i);
  if (mode >= 4) {
    const int C = p->dims[0], S = p->dims[1];
    const int c = p->dims[2] ? i % C : i / S % C;
    const int g = i / (C * S) * p->dims[3] + c;
    return mode == 4 ? (int2)(i, g) : (int2)(g, i);
  }
  return (int2)(pack_offset(p, 0, i), pack_offset(p, 1, i));
}


// ---- activations (1..12, the codes of activation.clh) and unary math (20..30, 32..43) ----
inline float unary_op(float x, int op, float a, float b) {
  switch (op) {
    ACT_CASES(x, a, b)
    case 20: return exp(x);
    case 21: return log(x);
    case 22: return sqrt(x);
    case 23: return 1.0f / x;
    case 24: return fabs(x);
    case 25: return -x;
    case 26: return erf(x);
    case 27: return sin(x);
    case 28: return cos(x);
    case 29: return floor(x);
    case 30: return ceil(x);
    case 32: return tan(x);
    case 33: return asin(x);
    case 34: return acos(x);
    case 35: return atan(x);
    case 36: return sinh(x);
    case 37: return cosh(x);
    case 38: return asinh(x);
    case 39: return acosh(x);
    case 40: return atanh(x);
    // OpenCL's sign() maps NaN to 0; onnxruntime keeps it.
    case 41: return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x;
    case 42: return rint(x);  // halves to even, as ONNX Round
    case 43: return x / (1.0f + fabs(x));
    default: return x;
  }
}

__kernel void unary_f(__global const st_t* x, __global st_t* y, int n, int op, float a,
                      float b) {
  const int i = get_global_id(0);
  if (i < n) ST(y, i, unary_op(LD(x, i), op, a, b));
}

// Integer ABS (24) / NEG (25) / SIGN (41) / BITWISE_NOT (46); NOT on bool is not_b.
#define UNARY_INT(NAME, T)                                                 \
  __kernel void NAME(__global const T* x, __global T* y, int n, int op) { \
    const int i = get_global_id(0);                                        \
    if (i >= n) return;                                                    \
    const T v = x[i];                                                      \
    y[i] = op == 24   ? (v < (T)0 ? (T)0 - v : v)                          \
           : op == 41 ? (T)(v > (T)0) - (T)(v < (T)0)                      \
           : op == 46 ? ~v                                                 \
                      : (T)0 - v;                                          \
  }
UNARY_INT(unary_i, int)
UNARY_INT(unary_l, long)

// IsNaN (44) / IsInf (45: pos and neg say which infinities count), to bool.
__kernel void isclass_f(__global const st_t* x, __global uchar* y, int n, int op, int pos,
                        int neg) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const float v = LD(x, i);
  y[i] = op == 44 ? isnan(v) : (pos && v == INFINITY) || (neg && v == -INFINITY);
}

__kernel void not_b(__global const uchar* x, __global uchar* y, int n) {
  const int i = get_global_id(0);
  if (i < n) y[i] = x[i] ? 0 : 1;
}

// ---- binary ops: 0 SUM, 1 SUB, 2 PROD, 3 DIV, 4 POW, 5 MAX, 6 MIN, 12 MOD (sign of the
// divisor), 13 FMOD (sign of the dividend), 17 SHIFT_LEFT, 18 SHIFT_RIGHT, 19 BITWISE_AND,
// 20 BITWISE_OR, 21 BITWISE_XOR (integers); 7 EQUAL,
// 8 GREATER, 9 LESS, 15 GREATER_OR_EQUAL, 16 LESS_OR_EQUAL (to bool); 10 AND, 11 OR, 14 XOR
// (bool) ----
// ONNX Mod with fmod=0 on floats: fmod moved to the divisor's sign; a zero takes its sign too.
inline float floor_mod_f(float a, float b) {
  const float r = fmod(a, b);
  if (r == 0.0f) return copysign(0.0f, b);
  return (r < 0.0f) != (b < 0.0f) ? r + b : r;
}

// Pow: integral exponents 0..64 (x^2, GELU's x^3, an integer tensor's values) by products, as
// exact as onnxruntime's std::pow (x^1 is x); pow() may be ulps off on GPUs (OpenCL allows 16).
inline float pow_f(float a, float b) {
  if (!(b >= 0.0f && b <= 64.0f && b == rint(b))) return pow(a, b);
  float r = 1.0f, p = a;
  for (int k = (int)b; k; k >>= 1) {
    if (k & 1) r *= p;
    if (k > 1) p *= p;
  }
  return r;
}

inline float binop_f(float a, float b, int op) {
  switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return pow_f(a, b);
    // MAX/MIN propagate NaN, as onnxruntime's do (fmax/fmin would drop it).
    case 5: return isnan(a) || isnan(b) ? a + b : fmax(a, b);
    case 12: return floor_mod_f(a, b);
    case 13: return fmod(a, b);
    default: return isnan(a) || isnan(b) ? a + b : fmin(a, b);
  }
}


// Integer division truncates (as C and onnxruntime); x/0 and x%0 are recorded in err (the run
// then fails naming the layer, as onnxruntime's does) and give 0; MIN/-1 wraps instead of
// trapping. Shifts by a negative amount or by the width or more give the sign fill alone.
#define BINOP_INT(NAME, T, UT, BITS)                                     \
  inline T NAME(T a, T b, int op, __global int* err, int tag) {          \
    switch (op) {                                                        \
      case 0: return a + b;                                              \
      case 1: return a - b;                                              \
      case 2: return a * b;                                              \
      case 3:                                                            \
      case 12:                                                           \
      case 13: {                                                         \
        if (b == 0) {                                                    \
          record_error(err, tag, 2, (long)a, 0);                         \
          return (T)0;                                                   \
        }                                                                \
        if (op == 3) return b == -1 ? (T)0 - a : a / b;                  \
        const T r = b == -1 ? (T)0 : a % b;                              \
        return op == 12 && r != 0 && ((r < 0) != (b < 0)) ? r + b : r;   \
      }                                                                  \
      case 4: {                                                          \
        if (b < 0) return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0; \
        T r = 1;                                                         \
        while (b > 0) {                                                  \
          if (b & 1) r *= a;                                             \
          a *= a;                                                        \
          b >>= 1;                                                       \
        }                                                                \
        return r;                                                        \
      }                                                                  \
      case 5: return a > b ? a : b;                                      \
      case 17: return b < 0 || b >= BITS ? (T)0 : (T)((UT)a << b);       \
      case 18: return b < 0 || b >= BITS ? (a < 0 ? (T)-1 : (T)0) : a >> b; \
      case 19: return a & b;                                             \
      case 20: return a | b;                                             \
      case 21: return a ^ b;                                             \
      default: return a < b ? a : b;                                     \
    }                                                                    \
  }
BINOP_INT(binop_i, int, uint, 32)
BINOP_INT(binop_l, long, ulong, 64)

inline uchar binop_b(uchar a, uchar b, int op, __global int* err, int tag) {
  return op == 10 ? (a && b) : op == 11 ? (a || b) : op == 14 ? ((a != 0) != (b != 0))
                                                              : ((a != 0) == (b != 0));
}

#define BINARY(NAME, T, FN)                                                                    \
  __kernel void NAME(__global const T* a, __global const T* b, __global T* y, int n, int op,   \
                     int mode, IndexPack p, __global int* err, int tag) {                      \
    const int i = get_global_id(0);                                                            \
    if (i >= n) return;                                                                        \
    const int2 o = binary_offsets(&p, mode, i);                                                \
    y[i] = FN(a[o.x], b[o.y], op, err, tag);                                                   \
  }
__kernel void binary_f(__global const st_t* a, __global const st_t* b, __global st_t* y, int n,
                       int op, int mode, IndexPack p) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int2 o = binary_offsets(&p, mode, i);
  ST(y, i, binop_f(LD(a, o.x), LD(b, o.y), op));
}
// binary_f's modes 4 and 5 with y NCHW (a per-image-and-channel gate, p.dims[2] == 0), a
// work-item per (image, channel) plane of S elements, for CPUs: one gate read a plane instead of
// index arithmetic per element (PoCL, 2 cores: a squeeze-and-excitation multiply of 256 x 32 x
// 14 x 14 4.1 -> 0.4 ms). The same op on the same values as binary_f.
__kernel void binary_f_planes(__global const st_t* a, __global const st_t* b, __global st_t* y,
                              int planes, int S, int op, int mode, IndexPack p) {
  const int q = get_global_id(0);
  if (q >= planes) return;
  const int C = p.dims[0];
  const int g = q / C * p.dims[3] + q % C;
  const size_t o = (size_t)q * S;
  if (mode == 4) {
    const float gv = LD(b, g);
    for (int j = 0; j < S; ++j) ST(y, o + j, binop_f(LD(a, o + j), gv, op));
  } else {
    const float gv = LD(a, g);
    for (int j = 0; j < S; ++j) ST(y, o + j, binop_f(gv, LD(b, o + j), op));
  }
}
// binary_f 8 elements a work-item (y's elements 8i..8i+7, n a multiple of 8) in modes 0-2 and
// 4-7, each one aligned 8-wide access: in modes 4 / 5 the 8 elements are 8 channels of one
// position (y channels last, C a multiple of 8: the gate's 8 values are consecutive) or 8
// positions of one channel (y NCHW, the spatial size a multiple of 8: one gate value); in modes
// 6 / 7 the repeated operand's count is a multiple of 8. The same op on the same values as
// binary_f, element by element.
__kernel void binary_f8(__global const st_t* a, __global const st_t* b, __global st_t* y, int n,
                        int op, int mode, IndexPack p) {
  const int i = get_global_id(0) * 8;
  if (i >= n) return;
  float8 u, v;
  if (mode == 0 || mode == 1 || mode == 4 || mode == 6) u = LDA8(a, i);
  if (mode == 0 || mode == 2 || mode == 5 || mode == 7) v = LDA8(b, i);
  if (mode == 1) v = (float8)(LD(b, 0));
  if (mode == 2) u = (float8)(LD(a, 0));
  if (mode == 6) v = LDA8(b, i % p.dims[0]);
  if (mode == 7) u = LDA8(a, i % p.dims[0]);
  if (mode == 4 || mode == 5) {  // binary_offsets' gate offset, read from p without taking its address
    const int C = p.dims[0], S = p.dims[1];
    const int g = i / (C * S) * p.dims[3] + (p.dims[2] ? i % C : i / S % C);
    __global const st_t* gp = mode == 4 ? b : a;
    const float8 gv = p.dims[2] ? LDA8(gp, g) : (float8)(LD(gp, g));
    if (mode == 4)
      v = gv;
    else
      u = gv;
  }
  float8 r;
  if (op == 0) {  // the common ops as vector arithmetic, the others lane by lane
    r = u + v;
  } else if (op == 1) {
    r = u - v;
  } else if (op == 2) {
    r = u * v;
  } else if (op == 3) {
    r = u / v;
  } else {
    float t[8], x[8], w[8];
    vstore8(u, 0, x);
    vstore8(v, 0, w);
    for (int k = 0; k < 8; ++k) t[k] = binop_f(x[k], w[k], op);
    r = vload8(0, t);
  }
  STA8(y, i, r);
}
BINARY(binary_i, int, binop_i)
BINARY(binary_l, long, binop_l)
BINARY(binary_b, uchar, binop_b)

#define compare_op(u, v, op)                                                         \
  ((op) == 7 ? (u) == (v) : (op) == 8 ? (u) > (v) : (op) == 9 ? (u) < (v) : (op) == 15 \
                                                                 ? (u) >= (v)          \
                                                                 : (u) <= (v))
#define COMPARE(NAME, T)                                                                     \
  __kernel void NAME(__global const T* a, __global const T* b, __global uchar* y, int n,     \
                     int op, int mode, IndexPack p) {                                        \
    const int i = get_global_id(0);                                                          \
    if (i >= n) return;                                                                      \
    const int2 o = binary_offsets(&p, mode, i);                                              \
    y[i] = compare_op(a[o.x], b[o.y], op);                                                   \
  }
__kernel void compare_f(__global const st_t* a, __global const st_t* b, __global uchar* y, int n,
                        int op, int mode, IndexPack p) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int2 o = binary_offsets(&p, mode, i);
  y[i] = compare_op(LD(a, o.x), LD(b, o.y), op);
}
COMPARE(compare_i, int)
COMPARE(compare_l, long)

// ---- per-channel affine: channel = (i / inner) % C ----
__kernel void scale_f(__global const st_t* x, __global const float* scale,
                      __global const float* shift, __global st_t* y, int n, int inner, int C) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int c = (i / inner) % C;
  ST(y, i, LD(x, i) * scale[c] + shift[c]);
}

// ---- casts between any two clrt DataTypes: FLOAT 0, HALF 1, INT8 2, INT32 3, BOOL 4, UINT8 5,
// INT64 8, INT16 16, UINT16 17, UINT32 18, UINT64 19, DOUBLE 20 ----
// Float to integer truncates toward zero and saturates (NaN gives 0); integers wrap. DOUBLE is
// converted through its bits (round to nearest even), so devices without cl_khr_fp64 run it.
float double_bits_to_float(ulong b) {
  const uint sign = (uint)(b >> 32) & 0x80000000u;
  const int e = (int)((b >> 52) & 0x7ff);
  const ulong m = b & 0xfffffffffffffUL;
  if (e == 0x7ff) return as_float(sign | 0x7f800000u | (m ? 0x400000u : 0u));
  const int fe = e - 1023 + 127;
  if (e == 0 || fe < -24) return as_float(sign);  // below half the smallest float subnormal
  if (fe >= 255) return as_float(sign | 0x7f800000u);
  const ulong mant = m | (1UL << 52);
  const int shift = fe >= 1 ? 29 : 30 - fe;
  ulong q = mant >> shift;
  const ulong rem = mant & ((1UL << shift) - 1), half_ulp = 1UL << (shift - 1);
  if (rem > half_ulp || (rem == half_ulp && (q & 1))) ++q;
  // A carry out of the mantissa moves into the exponent (up to infinity), as the bits add.
  const uint bits = fe >= 1 ? ((uint)fe << 23) + (uint)(q - (1UL << 23)) : (uint)q;
  return as_float(sign | bits);
}

ulong float_to_double_bits(float f) {
  const uint u = as_uint(f);
  const ulong sign = (ulong)(u & 0x80000000u) << 32;
  const uint e = (u >> 23) & 0xff, m = u & 0x7fffffu;
  if (e == 255) return sign | 0x7ff0000000000000UL | ((ulong)m << 29);
  if (e == 0) {
    if (m == 0) return sign;
    const int p = 31 - (int)clz(m);  // subnormal: m * 2^-149 = 1.xxx * 2^(p - 149)
    return sign | ((ulong)(p - 149 + 1023) << 52) | (((ulong)m << (52 - p)) & 0xfffffffffffffUL);
  }
  return sign | ((ulong)(e - 127 + 1023) << 52) | ((ulong)m << 29);
}

// bfloat16 (a float's top 16 bits) of f, rounded to nearest even; NaN stays a quiet NaN.
inline ushort float_to_bf16_bits(float f) {
  const uint b = as_uint(f);
  if ((b & 0x7fffffffu) > 0x7f800000u) return (ushort)((b >> 16) | 0x40u);
  return (ushort)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

// ---- narrow types, one element per byte (as core/types.cc's floatToNarrow/narrowToFloat) ----
// A minifloat dtype's exponent bits, mantissa bits, bias and specials: 0 infinities and NaNs
// (E5M2), 1 NaN all ones (E4M3FN), 2 NaN at -0 (FNUZ), 3 none (FP4).
inline int4 minifloat_of(int t) {
  switch (t) {
    case 6: return (int4)(4, 3, 7, 1);
    case 24: return (int4)(5, 2, 15, 0);
    case 25: return (int4)(4, 3, 8, 2);
    case 26: return (int4)(5, 2, 16, 2);
    default: return (int4)(2, 1, 1, 3);  // 10: FP4
  }
}

inline int minifloat_max_code(int4 f) {
  const int all = (1 << (f.x + f.y)) - 1;
  return f.w == 0 ? all - (1 << f.y) : f.w == 1 ? all - 1 : all;
}

float narrow_to_float(int t, uint b) {
  if (t == 11) return b == 0xffu ? NAN : as_float(b ? b << 23 : 0x400000u);  // E8M0: 2^(b-127)
  const int4 f = minifloat_of(t);
  b &= (1u << (1 + f.x + f.y)) - 1u;
  const int sign = (int)(b >> (f.x + f.y)), e = (int)(b >> f.y) & ((1 << f.x) - 1);
  const int m = (int)b & ((1 << f.y) - 1);
  if (f.w == 2 && b == (1u << (f.x + f.y))) return NAN;
  float v;
  if (f.w == 1 && e == (1 << f.x) - 1 && m == (1 << f.y) - 1)
    v = NAN;
  else if (f.w == 0 && e == (1 << f.x) - 1)
    v = m ? NAN : INFINITY;
  else
    v = e == 0 ? ldexp((float)m, 1 - f.z - f.y) : ldexp((float)(m + (1 << f.y)), e - f.z - f.y);
  return sign ? -v : v;
}

// mode: bit 0 saturate; bits 1-2 E8M0's rounding (0 up, 1 down, 2 nearest).
uint float_to_narrow(int t, float x, int mode) {
  const uint u = as_uint(x);
  const int sat = mode & 1;
  if (t == 11) {
    uint e = (u >> 23) & 0xffu;
    if (e == 0xffu) return 0xffu;
    const int rm = (mode >> 1) & 3;
    const int up = rm == 0 ? (u & 0x7fffffu) != 0
                           : rm == 2 && (u & 0x400000u) && ((u & 0x3fffffu) || e > 0);
    if (up && !(sat && e == 0xfeu)) ++e;
    return e & 0xffu;
  }
  const int4 f = minifloat_of(t);
  const int sbit = 1 << (f.x + f.y), sign = (u >> 31) ? sbit : 0;
  const int nan_code = f.w == 2   ? sbit
                       : f.w == 1 ? sign | (sbit - 1)
                       : f.w == 0 ? sign | (sbit - (1 << (f.y - 1)))
                                  : sign ^ sbit;
  const int over = sat || f.w == 3 ? sign | minifloat_max_code(f)
                   : f.w == 0      ? sign | (((1 << f.x) - 1) << f.y)
                                   : nan_code;
  if (isnan(x)) return (uint)nan_code;
  const float a = fabs(x);
  if (isinf(a)) return (uint)over;
  const int zero = f.w == 2 ? 0 : sign;
  // The quantum at a's binade (float subnormals are far below every narrow type's), and a
  // rounded to it, nearest even; a carry into the next binade lands on the exponent field.
  const int emin = 1 - f.z, q = max((int)((u >> 23) & 0xffu) - 127, emin) - f.y;
  const int r = (int)rint(ldexp(a, -q));
  if (r == 0) return (uint)zero;
  const int code = ((q + f.y - emin) << f.y) + r;
  return (uint)(code > minifloat_max_code(f) ? over : sign | code);
}

inline int subbyte_bits(int t) { return t == 9 || t == 21 ? 4 : 2; }
inline int subbyte_signed(int t) { return t == 9 || t == 22; }

long subbyte_to_long(int t, uint b) {
  const int n = subbyte_bits(t), v = (int)b & ((1 << n) - 1);
  return subbyte_signed(t) && (v >> (n - 1)) ? v - (1 << n) : v;
}

// Floats truncate toward zero and give 0 out of range (ONNX's reference, ml_dtypes).
uint float_to_subbyte(int t, float f) {
  const int n = subbyte_bits(t);
  const float lo = subbyte_signed(t) ? -(float)(1 << (n - 1)) : 0.0f;
  const float hi = subbyte_signed(t) ? (float)((1 << (n - 1)) - 1) : (float)((1 << n) - 1);
  const float v = trunc(f);
  if (isnan(v) || v < lo || v > hi) return 0u;
  return (uint)(int)v & ((1u << n) - 1u);
}

__kernel void cast_any(__global const uchar* x, __global uchar* y, int n, int st, int dt,
                       int mode) {
  const int i = get_global_id(0);
  if (i >= n) return;
  float f = 0.0f;
  long l = 0;
  int is_float = 0, is_u64 = 0;
  switch (st) {
    case 0: f = ((__global const float*)x)[i]; is_float = 1; break;
    case 1: f = vload_half(i, (__global const half*)x); is_float = 1; break;
    case 7: f = as_float((uint)((__global const ushort*)x)[i] << 16); is_float = 1; break;
    case 20: f = double_bits_to_float(((__global const ulong*)x)[i]); is_float = 1; break;
    case 2: l = ((__global const char*)x)[i]; break;
    case 3: l = ((__global const int*)x)[i]; break;
    case 4: l = x[i] != 0; break;
    case 5: l = x[i]; break;
    case 16: l = ((__global const short*)x)[i]; break;
    case 17: l = ((__global const ushort*)x)[i]; break;
    case 18: l = ((__global const uint*)x)[i]; break;
    case 19: l = ((__global const long*)x)[i]; is_u64 = 1; break;
    case 6: case 10: case 11: case 24: case 25: case 26:
      f = narrow_to_float(st, x[i]); is_float = 1; break;
    case 9: case 21: case 22: case 23: l = subbyte_to_long(st, x[i]); break;
    default: l = ((__global const long*)x)[i]; break;
  }
  if (!is_float) f = is_u64 ? (float)(ulong)l : (float)l;
  switch (dt) {
    case 0: ((__global float*)y)[i] = f; break;
    case 1: vstore_half_rte(f, i, (__global half*)y); break;
    case 7: ((__global ushort*)y)[i] = float_to_bf16_bits(f); break;
    case 20: ((__global ulong*)y)[i] = float_to_double_bits(f); break;
    case 2: ((__global char*)y)[i] = is_float ? convert_char_sat_rtz(f) : (char)l; break;
    case 3: ((__global int*)y)[i] = is_float ? convert_int_sat_rtz(f) : (int)l; break;
    case 4: y[i] = is_float ? f != 0.0f : l != 0; break;
    case 5: y[i] = is_float ? convert_uchar_sat_rtz(f) : (uchar)l; break;
    case 16: ((__global short*)y)[i] = is_float ? convert_short_sat_rtz(f) : (short)l; break;
    case 17: ((__global ushort*)y)[i] = is_float ? convert_ushort_sat_rtz(f) : (ushort)l; break;
    case 18: ((__global uint*)y)[i] = is_float ? convert_uint_sat_rtz(f) : (uint)l; break;
    case 19: ((__global ulong*)y)[i] = is_float ? convert_ulong_sat_rtz(f) : (ulong)l; break;
    case 6: case 10: case 11: case 24: case 25: case 26:
      y[i] = (uchar)float_to_narrow(dt, f, mode); break;
    case 9: case 21: case 22: case 23:
      y[i] = (uchar)(is_float ? float_to_subbyte(dt, f) : (uint)l & ((1u << subbyte_bits(dt)) - 1u));
      break;
    default: ((__global long*)y)[i] = is_float ? convert_long_sat_rtz(f) : l; break;
  }
}

// ---- where(cond, x, y) with broadcasting: operand 0 cond, 1 x, 2 y; any element size ----
#define WHERE(NAME, T)                                                                  \
  __kernel void NAME(__global const uchar* c, __global const T* x, __global const T* y, \
                     __global T* out, int n, IndexPack p) {                             \
    const int i = get_global_id(0);                                                     \
    if (i >= n) return;                                                                 \
    out[i] = c[pack_offset(&p, 0, i)] ? x[pack_offset(&p, 1, i)] : y[pack_offset(&p, 2, i)]; \
  }
WHERE(where_1, uchar)
WHERE(where_2, ushort)
WHERE(where_4, uint)
WHERE(where_8, ulong)
