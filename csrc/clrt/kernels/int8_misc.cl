// INT8 pooling (windowed and global MAX/AVERAGE), SUM of two INT8 tensors and concatenation with
// requantization: int8 inputs, each output stored as float, half or requantized int8 per its
// dtype code. No build options; shapes, dtypes and scales are runtime arguments.


// Windowed pooling of an NCHW input, one work-item per output (geometry as pooling.cl's pool2d).
// MAX compares the int8 values (a window with no image tap yields -128); AVERAGE sums in int32.
// Output NCHW, or channels last (out_hwc; C channels an image).
__kernel void pool_i8(__global const char* x, __global void* y, int NC, int H, int W, int OH,
                      int OW, int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl, int pb,
                      int pr, int is_max, int count_include_pad, float s_in, int out_dt,
                      float out_inv, int C, int out_hwc) {
  const int ow = get_global_id(0);
  const int oh = get_global_id(1);
  const int nc = get_global_id(2);
  if (ow >= OW || oh >= OH || nc >= NC) return;
  const __global char* xc = x + (size_t)nc * H * W;
  const int hs = oh * sh - pt, ws = ow * sw - pl;
  int m = -128, s = 0, valid = 0, padded = 0;
  for (int r = 0; r < kh; ++r) {
    const int ih = hs + r * dh;
    if (ih >= H + pb) break;
    const bool row_in = ih >= 0 && ih < H;
    for (int q = 0; q < kw; ++q) {
      const int iw = ws + q * dw;
      if (iw >= W + pr) break;
      ++padded;
      if (row_in && iw >= 0 && iw < W) {
        const int v = xc[(size_t)ih * W + iw];
        m = max(m, v);
        s += v;
        ++valid;
      }
    }
  }
  float out;
  if (is_max) {
    out = (float)m * s_in;
  } else {
    const int div = count_include_pad ? padded : valid;
    out = div > 0 ? (float)s * s_in / (float)div : 0.0f;
  }
  const size_t o = layout_index(out_hwc, nc / C, nc % C, (size_t)oh * OW + ow, C, (size_t)OH * OW);
  store_any(y, o, out, out_dt, out_inv);
}

// pool_i8 with NCHW output for CPUs: a work-item per output row of one (n, c) plane, windows
// wholly inside the input taking a loop without checks (both divisors are then kh * kw); the
// others count taps as pool_i8, so the results are pool_i8's. rows: NC * OH.
__kernel void pool_i8_rows(__global const char* x, __global void* y, int rows, int H, int W,
                           int OH, int OW, int kh, int kw, int sh, int sw, int dh, int dw, int pt,
                           int pl, int pb, int pr, int is_max, int count_include_pad, float s_in,
                           int out_dt, float out_inv) {
  const int gid = get_global_id(0);
  if (gid >= rows) return;
  const int nc = gid / OH, oh = gid - nc * OH;
  const __global char* xc = x + (size_t)nc * H * W;
  const int hs = oh * sh - pt;
  int kh_pad = 0;  // window rows inside the padded extent
  while (kh_pad < kh && hs + kh_pad * dh < H + pb) ++kh_pad;
  const bool rows_in = hs >= 0 && hs + (kh - 1) * dh < H;
  for (int ow = 0; ow < OW; ++ow) {
    const int ws = ow * sw - pl;
    int m = -128, s = 0;
    float out;
    if (rows_in && ws >= 0 && ws + (kw - 1) * dw < W) {
      const __global char* xw = xc + (size_t)hs * W + ws;
      for (int r = 0; r < kh; ++r, xw += dh * W)
        for (int q = 0; q < kw; ++q) {
          const int v = xw[q * dw];
          m = max(m, v);
          s += v;
        }
      out = is_max ? (float)m * s_in : (float)s * s_in / (float)(kh * kw);
    } else {
      int kw_pad = 0, valid = 0;
      while (kw_pad < kw && ws + kw_pad * dw < W + pr) ++kw_pad;
      for (int r = 0; r < kh_pad; ++r) {
        const int ih = hs + r * dh;
        if (ih < 0 || ih >= H) continue;
        for (int q = 0; q < kw_pad; ++q) {
          const int iw = ws + q * dw;
          if (iw < 0 || iw >= W) continue;
          const int v = xc[(size_t)ih * W + iw];
          m = max(m, v);
          s += v;
          ++valid;
        }
      }
      const int div = count_include_pad ? kh_pad * kw_pad : valid;
      out = is_max ? (float)m * s_in : (div > 0 ? (float)s * s_in / (float)div : 0.0f);
    }
    store_any(y, (size_t)gid * OW + ow, out, out_dt, out_inv);
  }
}

// Windowed pooling of a channels-last input ([N][H][W][C]), VEC consecutive channels per
// work-item (C % VEC == 0) so that a warp's loads of one tap are contiguous: gid 0 the channel
// group, 1 the output column, 2 the image and output row. Output channels last (out_hwc) or
// NCHW.
#define DEFINE_POOL_I8_HWC(NAME, VEC, LOAD)                                                   \
  __kernel void NAME(__global const char* x, __global void* y, int C, int H, int W, int OH,      \
                     int OW, int NOH, int kh, int kw, int sh, int sw, int dh, int dw, int pt,     \
                     int pl, int pb, int pr, int is_max, int count_include_pad, float s_in,       \
                     int out_dt, float out_inv, int out_hwc) {                                    \
    const int c0 = get_global_id(0) * VEC, ow = get_global_id(1), noh = get_global_id(2);       \
    if (c0 >= C || ow >= OW || noh >= NOH) return;                                              \
    const int n = noh / OH, oh = noh - n * OH;                                                  \
    const __global char* xn = x + (size_t)n * H * W * C + c0;                                   \
    const int hs = oh * sh - pt, ws = ow * sw - pl;                                             \
    int m[VEC], s[VEC], valid = 0, padded = 0;                                                  \
    for (int k = 0; k < VEC; ++k) m[k] = -128, s[k] = 0;                                        \
    POOL_HWC_WALK({                                                                             \
      int v[VEC];                                                                               \
      LOAD(v, xn + tap_);                                                                       \
      for (int k = 0; k < VEC; ++k) {                                                           \
        m[k] = max(m[k], (int)v[k]);                                                            \
        s[k] += v[k];                                                                           \
      }                                                                                         \
    })                                                                                          \
    const int div = count_include_pad ? padded : valid;                                         \
    for (int k = 0; k < VEC; ++k) {                                                             \
      const float out = is_max ? (float)m[k] * s_in                                             \
                               : (div > 0 ? (float)s[k] * s_in / (float)div : 0.0f);            \
      const int c = c0 + k;                                                                     \
      const size_t o = layout_index(out_hwc, n, c, (size_t)oh * OW + ow, C, (size_t)OH * OW); \
      store_any(y, o, out, out_dt, out_inv);                                                    \
    }                                                                                           \
  }
#define LOAD_I8X1(v, p) v[0] = *(p)
#define LOAD_I8X4(v, p)                                \
  {                                                    \
    const char4 t_ = *(__global const char4*)(p);      \
    v[0] = t_.x, v[1] = t_.y, v[2] = t_.z, v[3] = t_.w; \
  }
DEFINE_POOL_I8_HWC(pool_i8_hwc, 1, LOAD_I8X1)
DEFINE_POOL_I8_HWC(pool_i8_hwc4, 4, LOAD_I8X4)

// The channels-last to channels-last INT8 case (C % 16 == 0, as ResNet's max pooling): 16
// channels a work-item, one 16-byte load per tap and one 16-byte store. gid 0 the channel group,
// 1 the output column, 2 the image and output row.
__kernel void pool_i8_hwc16(__global const char* x, __global char* y, int C, int H, int W, int OH,
                            int OW, int NOH, int kh, int kw, int sh, int sw, int dh, int dw,
                            int pt, int pl, int pb, int pr, int is_max, int count_include_pad,
                            float s_in, float out_inv) {
  const int c0 = get_global_id(0) * 16, ow = get_global_id(1), noh = get_global_id(2);
  if (c0 >= C || ow >= OW || noh >= NOH) return;
  const int n = noh / OH, oh = noh - n * OH;
  const __global char* xn = x + (size_t)n * H * W * C + c0;
  const int hs = oh * sh - pt, ws = ow * sw - pl;
  int16 m = (int16)(-128), s = (int16)(0);
  int valid = 0, padded = 0;
  POOL_HWC_WALK({
    const int16 v = convert_int16(*(__global const char16*)(xn + tap_));
    m = max(m, v);
    s += v;
  })
  const int div = count_include_pad ? padded : valid;
  const float16 out = is_max ? convert_float16(m) * s_in
                             : (div > 0 ? convert_float16(s) * (s_in / (float)div) : (float16)(0));
  *(__global char16*)(y + ((size_t)noh * OW + ow) * C + c0) =
      convert_char16_rte(clamp(out * out_inv, -127.0f, 127.0f));
}

inline float pooled(int m, int s, int HW, int is_max, float s_in) {
  if (is_max) return (float)m * s_in;
  return HW > 0 ? (float)s * s_in / (float)HW : 0.0f;
}

// Global pooling of an NCHW input, one work-item per (n, c).
__kernel void gpool_i8_loop(__global const char* x, __global void* y, int NC, int HW, int is_max,
                            float s_in, int out_dt, float out_inv) {
  const int nc = get_global_id(0);
  if (nc >= NC) return;
  const __global char* xc = x + (size_t)nc * HW;
  int m = -128, s = 0;
  for (int i = 0; i < HW; ++i) {
    const int v = xc[i];
    m = max(m, v);
    s += v;
  }
  store_any(y, nc, pooled(m, s, HW, is_max, s_in), out_dt, out_inv);
}

// Global pooling, one work-group of GPOOL_WG work-items per (n, c) (large HW on GPUs).
__kernel __attribute__((reqd_work_group_size(GPOOL_WG, 1, 1))) void gpool_i8_reduce(
    __global const char* x, __global void* y, int NC, int HW, int is_max, float s_in, int out_dt,
    float out_inv) {
  __local int lm[GPOOL_WG];
  __local int ls[GPOOL_WG];
  const int nc = get_group_id(0);
  const int t = get_local_id(0);
  int m = -128, s = 0;
  if (nc < NC) {
    const __global char* xc = x + (size_t)nc * HW;
    for (int i = t; i < HW; i += GPOOL_WG) {
      const int v = xc[i];
      m = max(m, v);
      s += v;
    }
  }
  lm[t] = m;
  ls[t] = s;
  GPOOL_TREE(lm, ls, t, max);
  if (t == 0 && nc < NC) store_any(y, nc, pooled(lm[0], ls[0], HW, is_max, s_in), out_dt, out_inv);
}

// Global pooling of a channels-last INT8 input: global_pool_hwc's work-groups (pooling.cl).
__kernel __attribute__((reqd_work_group_size(GPOOL_HWC_WG, 1, 1))) void gpool_i8_hwc(
    __global const char* x, __global void* y, int N, int C, int HW, int is_max, float s_in,
    int out_dt, float out_inv) {
  __local int lm[GPOOL_HWC_WG];
  __local int ls[GPOOL_HWC_WG];
  GPOOL_HWC_WORK_ITEM(N, C, t, row, n, c, live);
  int m = -128, s = 0;
  if (live) {
    const __global char* xn = x + (size_t)n * HW * C + c;
    for (int i = row; i < HW; i += GPOOL_HWC_ROWS) {
      const int v = xn[(size_t)i * C];
      m = max(m, v);
      s += v;
    }
  }
  GPOOL_HWC_ROWS_REDUCE(lm, ls, t, m, s, max);
  if (row == 0 && live) store_any(y, n * C + c, pooled(m, s, HW, is_max, s_in), out_dt, out_inv);
}

// gpool_i8_hwc with C a multiple of 8: global_pool_hwc8's work-groups (GPOOL_HWC8_WORK_ITEM),
// each work-item 8 channels (one 8-byte load per position). Integer sums: the same values as
// gpool_i8_hwc whatever the order. With P > 1 parts, each writes its max and sum to part
// ([N][P][C] maxima, then as many sums) and gpool_i8_hwc8_end finishes.
inline void gpool_i8_store8(int8 m, int8 s, __global void* y, size_t at, int HW, int is_max,
                            float s_in, int out_dt, float out_inv) {
  int mm[8], ss[8];
  float v[8];
  vstore8(m, 0, mm);
  vstore8(s, 0, ss);
  for (int e = 0; e < 8; ++e) v[e] = pooled(mm[e], ss[e], HW, is_max, s_in);
  store8a_any(y, at, vload8(0, v), out_dt, out_inv);
}
__kernel __attribute__((reqd_work_group_size(GPOOL_HWC_WG, 1, 1))) void gpool_i8_hwc8(
    __global const char* x, __global void* y, int N, int C, int HW, int is_max, float s_in,
    int out_dt, float out_inv, int P, __global int* part) {
  __local int8 lm[GPOOL_HWC_WG];
  __local int8 ls[GPOOL_HWC_WG];
  GPOOL_HWC8_WORK_ITEM(N, C, HW, P, L, R, t, lane, row, n, o, p, i0, i1, live);
  int8 m = -128, s = 0;
  if (live) {
    const __global char* xn = x + (size_t)n * HW * C + (size_t)o * 8;
    for (int i = i0 + row; i < i1; i += R) {
      const int8 v = convert_int8(*(__global const char8*)(xn + (size_t)i * C));
      m = max(m, v);
      s += v;
    }
  }
  GPOOL_HWC8_ROWS_REDUCE(lm, ls, L, R, t, lane, row, live, m, s, max);
  if (P > 1) {
    const size_t at = ((size_t)n * P + p) * C + (size_t)o * 8;
    vstore8(m, 0, part + at);
    vstore8(s, 0, part + (size_t)N * P * C + at);
    return;
  }
  gpool_i8_store8(m, s, y, (size_t)n * C + (size_t)o * 8, HW, is_max, s_in, out_dt, out_inv);
}

// The P parts of gpool_i8_hwc8 per image and channel octet: a work-item per (n, octet).
__kernel void gpool_i8_hwc8_end(__global const int* part, __global void* y, int N, int C, int HW,
                                int is_max, float s_in, int out_dt, float out_inv, int P) {
  const int q = get_global_id(0), C8 = C / 8;
  if (q >= N * C8) return;
  const int n = q / C8, o = q - n * C8;
  int8 m = -128, s = 0;
  for (int p = 0; p < P; ++p) {
    const size_t at = ((size_t)n * P + p) * C + (size_t)o * 8;
    m = max(m, vload8(0, part + at));
    s += vload8(0, part + (size_t)N * P * C + at);
  }
  gpool_i8_store8(m, s, y, (size_t)n * C + (size_t)o * 8, HW, is_max, s_in, out_dt, out_inv);
}

// y = a * sa + b * sb. `bcast`: a and b index through p (NumPy broadcasting), else both are
// dense like y.
__kernel void add_i8(__global const char* a, __global const char* b, __global void* y, int n,
                     IndexPack p, int bcast, float sa, float sb, int out_dt, float out_inv) {
  const int i = get_global_id(0);
  if (i >= n) return;
  int ia = i, ib = i;
  if (bcast) {
    ia = 0, ib = 0;
    int rem = i;
    for (int d = p.rank - 1; d >= 0; --d) {
      const int m = p.dims[d];
      const int q = rem / m;
      const int r = rem - q * m;
      ia += r * p.s[0][d];
      ib += r * p.s[1][d];
      rem = q;
    }
  }
  store_any(y, i, (float)a[ia] * sa + (float)b[ib] * sb, out_dt, out_inv);
}

// One input of a concatenation: x is [outer, chunk], its slice of y [outer, ychunk] starts at
// column `off`. x is requantized (or dequantized) to y's dtype and scale.
__kernel void concat_i8(__global const char* x, __global void* y, int outer, int chunk, int ychunk,
                        int off, float s_in, int out_dt, float out_inv) {
  const int i = get_global_id(0);
  const int o = get_global_id(1);
  if (i >= chunk || o >= outer) return;
  store_any(y, (size_t)o * ychunk + off + i, (float)x[(size_t)o * chunk + i] * s_in, out_dt,
            out_inv);
}
