// Along-one-axis kernels (tactics/scan.cc): cumulative sum / product (CumSum, CumProd) and
// TopK. The tensor is viewed as [outer, len, inner]; one work-item walks one line of len
// elements at stride inner. Float lines use the storage type st_t; integer ones int / long.

// op 0 sum, 1 product, accumulated in A. exclusive: each output leaves its own element out;
// reverse: the lines are walked from their end.
#define CUMULATIVE(NAME, T, A, LOAD, STORE)                                                  \
  __kernel void NAME(__global const T* x, __global T* y, int lines, int len, int inner,      \
                     int op, int exclusive, int reverse) {                                   \
    const int g = get_global_id(0);                                                          \
    if (g >= lines) return;                                                                  \
    const size_t base = (size_t)(g / inner) * len * inner + g % inner;                       \
    A acc = op ? (A)1 : (A)0;                                                                \
    for (int s = 0; s < len; ++s) {                                                          \
      const size_t i = base + (size_t)(reverse ? len - 1 - s : s) * inner;                   \
      const A v = (A)LOAD(x, i);                                                             \
      const A next = op ? acc * v : acc + v;                                                 \
      STORE(y, i, exclusive ? acc : next);                                                   \
      acc = next;                                                                            \
    }                                                                                        \
  }
#define LD_I(p, i) ((p)[i])
#define ST_I(p, i, v) ((p)[i] = (v))
#define ST_W(p, i, v) ((p)[i] = (int)(v))
CUMULATIVE(cumulative_f, st_t, float, LD, ST)
// int32 accumulates in long and wraps when stored, as onnxruntime's int32 arithmetic does.
CUMULATIVE(cumulative_i, int, long, LD_I, ST_W)
CUMULATIVE(cumulative_l, long, long, LD_I, ST_I)

// The same with the axis in a device tensor (a run-time input, INT32 or INT64): one work-item
// per element finds its coordinate along the axis, and the first of each line walks it. An axis
// outside [-rank, rank) is recorded in err as an out-of-range index (kind 1) against the rank.
#define CUMULATIVE_RT(NAME, T, A, LOAD, STORE)                                                 \
  __kernel void NAME(__global const T* x, __global T* y, int n, int rank, int8 dims8,          \
                     __global const void* axis_buf, int axis64, int op, int exclusive,         \
                     int reverse, __global int* err, int tag) {                               \
    const int g = get_global_id(0);                                                            \
    if (g >= n) return;                                                                        \
    long a = axis64 ? ((__global const long*)axis_buf)[0] : ((__global const int*)axis_buf)[0]; \
    if (a < -rank || a >= rank) {                                                              \
      record_error(err, tag, 1, a, rank);                                                      \
      return;                                                                                  \
    }                                                                                          \
    if (a < 0) a += rank;                                                                      \
    int dims[8];                                                                               \
    vstore8(dims8, 0, dims);                                                                   \
    int inner = 1;                                                                             \
    for (int d = rank - 1; d > a; --d) inner *= dims[d];                                       \
    const int len = dims[a];                                                                   \
    if ((g / inner) % len != 0) return;                                                        \
    A acc = op ? (A)1 : (A)0;                                                                  \
    for (int s = 0; s < len; ++s) {                                                            \
      const size_t i = g + (size_t)(reverse ? len - 1 - s : s) * inner;                        \
      const A v = (A)LOAD(x, i);                                                               \
      const A next = op ? acc * v : acc + v;                                                   \
      STORE(y, i, exclusive ? acc : next);                                                     \
      acc = next;                                                                              \
    }                                                                                          \
  }
CUMULATIVE_RT(cumulative_rt_f, st_t, float, LD, ST)
CUMULATIVE_RT(cumulative_rt_i, int, long, LD_I, ST_W)
CUMULATIVE_RT(cumulative_rt_l, long, long, LD_I, ST_I)

// Whether (va, ia) comes before (vb, ib) in TopK order: the larger (or smaller) value first,
// equal values by index. NaN counts as larger than every number.
inline bool topk_before_f(float va, int ia, float vb, int ib, int largest) {
  const bool na = isnan(va), nb = isnan(vb);
  if (na || nb) return na && nb ? ia < ib : largest ? na : nb;
  if (va != vb) return largest ? va > vb : va < vb;
  return ia < ib;
}
inline bool topk_before_l(long va, int ia, long vb, int ib, int largest) {
  if (va != vb) return largest ? va > vb : va < vb;
  return ia < ib;
}

// The k first elements of each line in TopK order (selection: O(k * len), small k expected).
// V is the compared type, BEFORE its order.
#define TOPK(NAME, T, V, LOAD, STORE, BEFORE)                                                 \
  __kernel void NAME(__global const T* x, __global T* y, __global long* idx, int lines,       \
                     int len, int inner, int k, int largest) {                                \
    const int g = get_global_id(0);                                                           \
    if (g >= lines) return;                                                                   \
    const size_t base = (size_t)(g / inner) * len * inner + g % inner;                        \
    const size_t obase = (size_t)(g / inner) * k * inner + g % inner;                         \
    V pv = 0;                                                                                 \
    int pi = -1;                                                                              \
    for (int j = 0; j < k; ++j) {                                                             \
      int bi = -1;                                                                            \
      V bv = 0;                                                                               \
      for (int s = 0; s < len; ++s) {                                                         \
        const V v = (V)LOAD(x, base + (size_t)s * inner);                                     \
        if (pi >= 0 && !BEFORE(pv, pi, v, s, largest)) continue;                              \
        if (bi < 0 || BEFORE(v, s, bv, bi, largest)) {                                        \
          bv = v;                                                                             \
          bi = s;                                                                             \
        }                                                                                     \
      }                                                                                       \
      STORE(y, obase + (size_t)j * inner, bv);                                                \
      idx[obase + (size_t)j * inner] = bi;                                                    \
      pv = bv;                                                                                \
      pi = bi;                                                                                \
    }                                                                                         \
  }
TOPK(topk_f, st_t, float, LD, ST, topk_before_f)
TOPK(topk_i, int, long, LD_I, ST_W, topk_before_l)
TOPK(topk_l, long, long, LD_I, ST_I, topk_before_l)

// TopK of long float lines, one work-group of TOPK_WG per line (tactics/scan.cc picks it where
// the selection above would walk a line k times). Values become 32-bit keys whose unsigned order
// is TopK's order (the larger value, or the smaller with `largest` 0, has the larger key; NaN
// above every number either way; -0 as +0); a radix select on the keys, 8 bits a pass, finds
// the k-th key T; the keys above T and the first ties at T in index order are gathered into
// local memory in line order, sorted (bitonic, key descending then index ascending: the order of
// topk_before_f) and written. kpad: k rounded up to a power of two; lr / li hold kpad keys and
// indices.
#define TOPK_WG 256
inline uint topk_key(float v, int largest) {
  if (isnan(v)) return largest ? 0xFFFFFFFFu : 0u;
  uint u = as_uint(v);
  if ((u & 0x7FFFFFFFu) == 0u) u = 0u;
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return largest ? u : ~u;
}
__kernel __attribute__((reqd_work_group_size(TOPK_WG, 1, 1))) void topk_group_f(
    __global const st_t* x, __global st_t* y, __global long* idx, int len, int inner, int k,
    int kpad, int largest, __local uint* lr, __local int* li) {
  __local uint hist[256];
  __local int cgt[TOPK_WG], ceq[TOPK_WG];
  __local uint sel[2];
  const int g = get_group_id(0), lid = get_local_id(0);
  const size_t base = (size_t)(g / inner) * len * inner + g % inner;
  const size_t obase = (size_t)(g / inner) * k * inner + g % inner;
  const int chunk = (len + TOPK_WG - 1) / TOPK_WG;
  const int c0 = min(len, lid * chunk), c1 = min(len, c0 + chunk);
  uint prefix = 0u, mask = 0u;
  if (lid == 0) sel[1] = (uint)k;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = lid; b < 256; b += TOPK_WG) hist[b] = 0u;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = c0; s < c1; ++s) {
      const uint r = topk_key(LD(x, base + (size_t)s * inner), largest);
      if ((r & mask) == prefix) atomic_inc(&hist[(r >> shift) & 255u]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {  // the bin holding the k-th key among those with this prefix
      const uint need = sel[1];
      uint above = 0u;
      int b = 255;
      for (; b > 0 && above + hist[b] < need; --b) above += hist[b];
      sel[0] = prefix | ((uint)b << shift);
      sel[1] = need - above;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    prefix = sel[0];
    mask |= 255u << shift;
  }
  const int ties = (int)sel[1], above = k - ties;
  int ngt = 0, neq = 0;
  for (int s = c0; s < c1; ++s) {
    const uint r = topk_key(LD(x, base + (size_t)s * inner), largest);
    ngt += r > prefix;
    neq += r == prefix;
  }
  cgt[lid] = ngt;
  ceq[lid] = neq;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lid == 0) {  // exclusive prefix sums: each work-item's first slot, in line order
    int sg = 0, se = 0;
    for (int w = 0; w < TOPK_WG; ++w) {
      const int a = cgt[w], e = ceq[w];
      cgt[w] = sg;
      ceq[w] = se;
      sg += a;
      se += e;
    }
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  int pg = cgt[lid], pe = ceq[lid];
  for (int s = c0; s < c1; ++s) {
    const uint r = topk_key(LD(x, base + (size_t)s * inner), largest);
    if (r > prefix) {
      lr[pg] = r;
      li[pg++] = s;
    } else if (r == prefix) {
      if (pe < ties) {
        lr[above + pe] = r;
        li[above + pe] = s;
      }
      ++pe;
    }
  }
  for (int j = k + lid; j < kpad; j += TOPK_WG) {
    lr[j] = 0u;
    li[j] = INT_MAX;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int size = 2; size <= kpad; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int t = lid; t < kpad / 2; t += TOPK_WG) {
        const int i = 2 * t - (t & (stride - 1)), j = i + stride;
        const uint ri = lr[i], rj = lr[j];
        const int ii = li[i], ij = li[j];
        const bool jfirst = rj > ri || (rj == ri && ij < ii);
        if (jfirst == ((i & size) == 0)) {
          lr[i] = rj;
          lr[j] = ri;
          li[i] = ij;
          li[j] = ii;
        }
      }
      barrier(CLK_LOCAL_MEM_FENCE);
    }
  }
  for (int j = lid; j < k; j += TOPK_WG) {
    const int s = li[j];
    ST(y, obase + (size_t)j * inner, LD(x, base + (size_t)s * inner));
    idx[obase + (size_t)j * inner] = s;
  }
}
