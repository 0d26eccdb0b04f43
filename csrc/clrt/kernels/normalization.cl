// Normalization kernels: softmax / log-softmax over one axis, LayerNorm over trailing dims,
// reductions over any set of axes and arg-max/min over one. Shapes and ops are runtime
// arguments (one program).
// Work-group variants need a power-of-two local size of at most WG_MAX. Build option
// STORAGE_HALF: tensors are stored as half (vload_half / vstore_half, core OpenCL: no
// cl_khr_fp16), every sum and statistic is still accumulated in float.


#ifndef WG_MAX
#define WG_MAX 256
#endif


// Combines of the reductions: 0 sum, 1 max, 2 min, 3 product. Max and min propagate NaN, as
// onnxruntime's ReduceMax/ReduceMin do (fmax/fmin alone would drop it).
inline float combine(float a, float b, int c) {
  if (c == 1 || c == 2) {
    if (isnan(a) || isnan(b)) return a + b;
    return c == 1 ? fmax(a, b) : fmin(a, b);
  }
  return c == 0 ? a + b : a * b;
}

// Reduces v over the work-group; every item gets the result. red holds get_local_size(0).
inline float group_reduce(__local float* red, float v, int c) {
  const int lid = get_local_id(0);
  red[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {
    if (lid < s) red[lid] = combine(red[lid], red[lid + s], c);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float r = red[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return r;
}

// Compensated (Kahan) accumulation for the serial loops: long rows summed by one work-item
// would otherwise lose digits (the work-group variants sum in a tree).
inline void kahan_add(float* sum, float* comp, float v) {
  const float y = v - *comp;
  const float t = *sum + y;
  *comp = (t - *sum) - y;
  *sum = t;
}

// ---- softmax over the middle axis of [outer, len, inner] ----
// One work-group per row (inner == 1), for long rows.
__kernel void softmax_rows(__global const st_t* x, __global st_t* y, int len, int log_mode) {
  __local float red[WG_MAX];
  const int lid = get_local_id(0), L = get_local_size(0);
  const long base = (long)get_group_id(0) * len;
  __global const st_t* xr = x + base;
  __global st_t* yr = y + base;
  float m = -INFINITY;
  for (int j = lid; j < len; j += L) m = fmax(m, LD(xr, j));
  m = group_reduce(red, m, 1);
  float s = 0.0f;
  for (int j = lid; j < len; j += L) s += exp(LD(xr, j) - m);
  s = group_reduce(red, s, 0);
  if (log_mode) {
    const float ls = log(s);
    for (int j = lid; j < len; j += L) ST(yr, j, LD(xr, j) - m - ls);
  } else {
    for (int j = lid; j < len; j += L) ST(yr, j, exp(LD(xr, j) - m) / s);
  }
}

// One work-item per (outer, inner) column: short rows, or any inner > 1 (coalesced over inner).
__kernel void softmax_cols(__global const st_t* x, __global st_t* y, int outer, int len,
                           int inner, int log_mode) {
  const int g = get_global_id(0);
  if (g >= outer * inner) return;
  const int o = g / inner, in = g - o * inner;
  const long base = (long)o * len * inner + in;
  float m = -INFINITY;
  for (int j = 0; j < len; ++j) m = fmax(m, LD(x, base + (long)j * inner));
  float s = 0.0f, comp = 0.0f;
  for (int j = 0; j < len; ++j) kahan_add(&s, &comp, exp(LD(x, base + (long)j * inner) - m));
  const float ls = log(s);
  for (int j = 0; j < len; ++j) {
    const long k = base + (long)j * inner;
    const float v = LD(x, k);
    ST(y, k, log_mode ? v - m - ls : exp(v - m) / s);
  }
}

// ---- LayerNorm: rows of len values; scale/bias repeat every sn/bn values (broadcast over
// leading normalized dims). stats bit 0 writes the mean, bit 1 1/sqrt(var + eps) per row. ----
inline void ln_write(__global const st_t* xr, __global st_t* yr, int j, float mean, float rstd,
                     __global const float* scale, __global const float* bias, int sn, int bn) {
  float v = (LD(xr, j) - mean) * rstd * scale[j % sn];
  if (bn > 0) v += bias[j % bn];
  ST(yr, j, v);
}

__kernel void layernorm_rows(__global const st_t* x, __global const float* scale,
                             __global const float* bias, __global st_t* y,
                             __global st_t* mean_out, __global st_t* rstd_out, int len, int sn,
                             int bn, float eps, int stats) {
  __local float red[WG_MAX];
  const int lid = get_local_id(0), L = get_local_size(0);
  const int row = get_group_id(0);
  const long base = (long)row * len;
  __global const st_t* xr = x + base;
  float s = 0.0f;
  for (int j = lid; j < len; j += L) s += LD(xr, j);
  const float mean = group_reduce(red, s, 0) / len;
  float q = 0.0f;
  for (int j = lid; j < len; j += L) {
    const float d = LD(xr, j) - mean;
    q += d * d;
  }
  const float rstd = 1.0f / sqrt(group_reduce(red, q, 0) / len + eps);
  for (int j = lid; j < len; j += L) ln_write(xr, y + base, j, mean, rstd, scale, bias, sn, bn);
  if ((stats & 1) && lid == 0) ST(mean_out, row, mean);
  if ((stats & 2) && lid == 0) ST(rstd_out, row, rstd);
}

// One work-item per row, for short rows.
__kernel void layernorm_small(__global const st_t* x, __global const float* scale,
                              __global const float* bias, __global st_t* y,
                              __global st_t* mean_out, __global st_t* rstd_out, int rows,
                              int len, int sn, int bn, float eps, int stats) {
  const int row = get_global_id(0);
  if (row >= rows) return;
  const long base = (long)row * len;
  __global const st_t* xr = x + base;
  float s = 0.0f, comp = 0.0f;
  for (int j = 0; j < len; ++j) kahan_add(&s, &comp, LD(xr, j));
  const float mean = s / len;
  float q = 0.0f;
  comp = 0.0f;
  for (int j = 0; j < len; ++j) {
    const float d = LD(xr, j) - mean;
    kahan_add(&q, &comp, d * d);
  }
  const float rstd = 1.0f / sqrt(q / len + eps);
  for (int j = 0; j < len; ++j) ln_write(xr, y + base, j, mean, rstd, scale, bias, sn, bn);
  if (stats & 1) ST(mean_out, row, mean);
  if (stats & 2) ST(rstd_out, row, rstd);
}

// ---- LayerNorm of rows held in registers: T work-items per row (a power of two, T <= the
// work-group), several rows per work-group. Each item loads its vectors of the row once (the
// other kernels read it three times), so the row costs one read and one write of memory. The
// tactic takes it where len is a multiple of LN_VEC, len <= 32 * T, scale covers the whole row
// and bias is absent (has_bias 0) or covers it too. Vector k of item t holds values
// [(k * T + t) * LN_VEC, +LN_VEC): consecutive items read consecutive 16 bytes. Rows start at
// row * len, a multiple of LN_VEC, and buffers start aligned, so the accesses go through
// pointers of the vector type (vload4 / vload_half8 assume element alignment only, which
// NVIDIA's compiler turns into one access per element). ----
#ifdef STORAGE_HALF
#define LN_VEC 8  // 16 bytes of half
typedef float8 ln_t;
#define LN_LD(p, i) LDA8(p, i)
#define LN_ST(p, i, v) STA8(p, i, v)
#define LN_W(p, i) (*((__global const float8*)(p) + (i) / 8))
inline float ln_hsum(float8 v) {
  const float4 s = v.lo + v.hi;
  return (s.x + s.y) + (s.z + s.w);
}
#else
#define LN_VEC 4
typedef float4 ln_t;
#define LN_LD(p, i) (*((__global const float4*)(p) + (i) / 4))
#define LN_ST(p, i, v) (*((__global float4*)(p) + (i) / 4) = (v))
#define LN_W(p, i) LN_LD(p, i)
inline float ln_hsum(float4 v) { return (v.x + v.y) + (v.z + v.w); }
#endif
#define LN_NV (32 / LN_VEC)  // vectors per item: 32 values in private registers

// Build option LN_SHFL (NVIDIA): a slice of <= 32 items lies in one warp (the work-group is a
// multiple of 32, items numbered along warps), so its sum needs no local memory or barrier: a
// butterfly of shfl.sync (every lane gets the same bits, as a + b == b + a).
#ifdef LN_SHFL
inline float ln_shfl_xor(float v, int m) {
  int r;
  asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;"
               : "=r"(r)
               : "r"(as_int(v)), "r"(m));
  return as_float(r);
}
#endif

// Sum of v over the T items of this item's row; every one of them gets it. red holds the
// work-group's size. All items of the work-group must call it (barriers, full-warp shuffles).
inline float ln_row_sum(__local float* red, float v, int T) {
  const int lid = get_local_id(0), t = lid & (T - 1);
#ifdef LN_SHFL
  for (int m = min(T, 32) / 2; m > 0; m >>= 1) v += ln_shfl_xor(v, m);
  if (T <= 32) return v;
  // A row over several warps: their sums meet in local memory.
  if ((lid & 31) == 0) red[lid / 32] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  float s = 0.0f;
  for (int w = (lid - t) / 32; w < (lid - t + T) / 32; ++w) s += red[w];
  barrier(CLK_LOCAL_MEM_FENCE);  // red is written again by the next sum
  return s;
#else
  red[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = T / 2; s > 0; s >>= 1) {
    if (t < s) red[lid] += red[lid + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float r = red[lid - t];
  barrier(CLK_LOCAL_MEM_FENCE);
  return r;
#endif
}

// q8: y holds INT8 values at 1 / inv_q each (rounded half to even, clamped to +-127, as
// storage_io.clh's QROUND): the layer writes the INT8 tensor its readers take (the builder's
// narrowOutput) instead of a REFORMAT reading its float output back.
#ifdef STORAGE_HALF
typedef char8 ln_q_t;
#define LN_CONVERT_Q convert_char8
#define LN_CONVERT_I convert_int8
#else
typedef char4 ln_q_t;
#define LN_CONVERT_Q convert_char4
#define LN_CONVERT_I convert_int4
#endif
__kernel void layernorm_vec(__global const st_t* x, __global const float* scale,
                            __global const float* bias, __global st_t* y,
                            __global st_t* mean_out, __global st_t* rstd_out, int rows, int len,
                            int T, int has_bias, float eps, int stats, int q8, float inv_q) {
  __local float red[WG_MAX];
  const int lid = get_local_id(0), t = lid & (T - 1);
  const int row = get_group_id(0) * (get_local_size(0) / T) + lid / T;
  // Items of the last work-group's missing rows load nothing but still join the sums.
  const bool live = row < rows;
  const long base = (long)row * len;
  __global const st_t* xr = x + base;
  ln_t v[LN_NV], acc = (ln_t)0.0f;
#pragma unroll
  for (int k = 0; k < LN_NV; ++k) {
    const int i = (k * T + t) * LN_VEC;
    v[k] = live && i < len ? LN_LD(xr, i) : (ln_t)0.0f;
    acc += v[k];
  }
  const float mean = ln_row_sum(red, ln_hsum(acc), T) / len;
  // Two passes over the registers, as the other kernels do over memory: the variance of the
  // deviations, not E[x^2] - mean^2 (which cancels for rows far from zero).
  acc = (ln_t)0.0f;
#pragma unroll
  for (int k = 0; k < LN_NV; ++k) {
    const ln_t d = v[k] - mean;
    if ((k * T + t) * LN_VEC < len) acc += d * d;
  }
  const float rstd = 1.0f / sqrt(ln_row_sum(red, ln_hsum(acc), T) / len + eps);
  if (!live) return;
  __global st_t* yr = y + base;
#pragma unroll
  for (int k = 0; k < LN_NV; ++k) {
    const int i = (k * T + t) * LN_VEC;
    if (i < len) {
      ln_t o = (v[k] - mean) * rstd * LN_W(scale, i);
      if (has_bias) o += LN_W(bias, i);
      if (q8)
        *((__global ln_q_t*)((__global char*)y + base) + i / LN_VEC) =
            LN_CONVERT_Q(LN_CONVERT_I(QROUND(o * inv_q)));
      else
        LN_ST(yr, i, o);
    }
  }
  if ((stats & 1) && t == 0) ST(mean_out, row, mean);
  if ((stats & 2) && t == 0) ST(rstd_out, row, rstd);
}

// ---- reductions. op: 0 SUM, 1 MEAN, 2 MAX, 3 MIN, 4 PROD, 5 SUM_SQUARE, 6 L2, 7 L1, 8 LOG_SUM,
// 9 LOG_SUM_EXP. outp: kept dims (operand 0 = input strides); redp: reduced dims. ----
inline int reduce_combine(int op) { return op == 2 ? 1 : op == 3 ? 2 : op == 4 ? 3 : 0; }
inline float reduce_init(int op) {
  return op == 2 ? -INFINITY : op == 3 ? INFINITY : op == 4 ? 1.0f : 0.0f;
}
inline float reduce_map(float v, int op, float shift) {
  return op == 5 || op == 6 ? v * v : op == 7 ? fabs(v) : op == 9 ? exp(v - shift) : v;
}
inline float reduce_final(float acc, int op, int count, float shift) {
  switch (op) {
    case 1: return acc / count;
    case 6: return sqrt(acc);
    case 8: return log(acc);
    case 9: return shift + log(acc);
    default: return acc;
  }
}

// Folds the reduced positions of one output; c is the combine, shift feeds LOG_SUM_EXP.
inline float reduce_serial(__global const st_t* x, int base, const IndexPack* r, int count,
                           int op, int c, float shift) {
  float acc = c == 1 ? -INFINITY : reduce_init(op), comp = 0.0f;
  if (r->rank == 1) {
    const int st = r->s[0][0];
    for (int k = 0; k < count; ++k) {
      const float v = LD(x, base + k * st);
      if (c == 0)
        kahan_add(&acc, &comp, reduce_map(v, op, shift));
      else
        acc = combine(acc, c == 1 ? v : reduce_map(v, op, shift), c);
    }
    return acc;
  }
  int idx[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int off = base;
  for (int k = 0; k < count; ++k) {
    const float v = LD(x, off);
    if (c == 0)
      kahan_add(&acc, &comp, reduce_map(v, op, shift));
    else
      acc = combine(acc, c == 1 ? v : reduce_map(v, op, shift), c);
    for (int d = r->rank - 1; d >= 0; --d) {  // odometer step over the reduced dims
      off += r->s[0][d];
      if (++idx[d] < r->dims[d]) break;
      off -= r->s[0][d] * r->dims[d];
      idx[d] = 0;
    }
  }
  return acc;
}

// One work-item per output: many outputs.
__kernel void reduce_item(__global const st_t* x, __global st_t* y, int nout, IndexPack outp,
                          IndexPack redp, int count, int op) {
  const int o = get_global_id(0);
  if (o >= nout) return;
  const int base = pack_offset(&outp, 0, o);
  float shift = 0.0f;
  if (op == 9) {
    shift = reduce_serial(x, base, &redp, count, op, 1, 0.0f);
    if (isinf(shift)) shift = 0.0f;
  }
  const float acc = reduce_serial(x, base, &redp, count, op, reduce_combine(op), shift);
  ST(y, o, reduce_final(acc, op, count, shift));
}

// One work-group per output: few outputs over many reduced positions.
__kernel void reduce_group(__global const st_t* x, __global st_t* y, IndexPack outp,
                           IndexPack redp, int count, int op) {
  __local float red[WG_MAX];
  const int lid = get_local_id(0), L = get_local_size(0);
  const int o = get_group_id(0);
  const int base = pack_offset(&outp, 0, o);
  float shift = 0.0f;
  if (op == 9) {
    float m = -INFINITY;
    for (int k = lid; k < count; k += L) m = fmax(m, LD(x, base + pack_offset(&redp, 0, k)));
    shift = group_reduce(red, m, 1);
    if (isinf(shift)) shift = 0.0f;
  }
  const int c = reduce_combine(op);
  float acc = reduce_init(op);
  for (int k = lid; k < count; k += L)
    acc = combine(acc, reduce_map(LD(x, base + pack_offset(&redp, 0, k)), op, shift), c);
  acc = group_reduce(red, acc, c);
  if (lid == 0) ST(y, o, reduce_final(acc, op, count, shift));
}

// ---- ARGMAX (op 0) / ARGMIN (op 1) over the middle axis of [outer, len, inner]: the first
// extreme, or the last with select_last. One work-item per output. ----
__kernel void arg_reduce(__global const st_t* x, __global long* y, int n, int len, int inner,
                         int op, int select_last) {
  const int g = get_global_id(0);
  if (g >= n) return;
  const int base = (g / inner) * len * inner + g % inner;
  float best = LD(x, base);
  long b = 0;
  for (int k = 1; k < len; ++k) {
    const float v = LD(x, base + k * inner);
    if ((op == 0 ? v > best : v < best) || (select_last && v == best)) {
      best = v;
      b = k;
    }
  }
  y[g] = b;
}
