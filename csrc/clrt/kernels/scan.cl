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
