// Index-addressed kernels: GatherND, and ScatterElements / ScatterND with an optional reduction
// (tactics/scatter.cc). Moves are per element size; reductions per value type. Shapes are
// runtime arguments. Out-of-range indices are recorded in err (the run then fails naming the
// layer, as onnxruntime's does) and the element is skipped (scatter) or clamped (gather).

typedef struct {
  int rank;
  int dims[8];
  int s[3][8];
} IndexPack;


inline long load_index(__global const void* indices, int idx64, int i) {
  return idx64 ? ((__global const long*)indices)[i] : ((__global const int*)indices)[i];
}

// Wraps a negative index; -1 (recorded in err) when it is out of [-len, len).
inline long wrap_index(long k0, int len, __global int* err, int tag) {
  const long k = k0 < 0 ? k0 + len : k0;
  if (k >= 0 && k < len) return k;
  record_error(err, tag, 1, k0, len);
  return -1;
}

// Offset in data of index row t of an ND indices tensor: sum_j wrap(idx[t*K + j]) * stride_j
// over the K indexed dims (p.dims / p.s[0]); -1 when an index is out of range.
inline long nd_offset(__global const void* indices, int idx64, int t, const IndexPack* p,
                      __global int* err, int tag) {
  long off = 0;
  for (int j = 0; j < p->rank; ++j) {
    const long k = wrap_index(load_index(indices, idx64, t * p->rank + j), p->dims[j], err, tag);
    if (k < 0) return -1;
    off += k * p->s[0][j];
  }
  return off;
}

// Destination in data of update element g. mode 0 (elements): p iterates the updates' dims
// with data strides, the axis one zeroed, and astride * wrap(indices[g]) adds the axis offset.
// mode 1 (ND): g = row * inner + r over rows of K indices (p holds the K dims and strides).
inline long scatter_dest(int g, int mode, const IndexPack* p, int inner, int axis_len,
                         int astride, __global const void* indices, int idx64, __global int* err,
                         int tag) {
  if (mode == 1) {
    const long base = nd_offset(indices, idx64, g / inner, p, err, tag);
    return base < 0 ? -1 : base + g % inner;
  }
  long off = 0;
  for (int d = p->rank - 1, i = g; d >= 0; --d) {
    const int q = i / p->dims[d];
    off += (i - q * p->dims[d]) * p->s[0][d];
    i = q;
  }
  const long k = wrap_index(load_index(indices, idx64, g), axis_len, err, tag);
  return k < 0 ? -1 : off + k * astride;
}

// out already holds data. Reduction 0 none, 1 add, 2 mul, 3 max, 4 min. serial: work-item 0
// applies every update in order (duplicate indices then combine as onnxruntime's loop does);
// otherwise one work-item per update.
#define SCATTER(NAME, T)                                                                       \
  __kernel void NAME(__global T* out, __global const void* indices, __global const T* updates, \
                     int n, int mode, IndexPack p, int inner, int axis_len, int astride,       \
                     int idx64, int reduction, int serial, __global int* err, int tag) {       \
    const int first = get_global_id(0);                                                        \
    const int end = serial ? (first == 0 ? n : 0) : min(first + 1, n);                         \
    for (int g = first; g < end; ++g) {                                                        \
      const long o = scatter_dest(g, mode, &p, inner, axis_len, astride, indices, idx64, err,  \
                                  tag);                                                        \
      if (o < 0) continue;                                                                     \
      const T u = updates[g], v = out[o];                                                      \
      out[o] = reduction == 1   ? v + u                                                        \
               : reduction == 2 ? v * u                                                        \
               : reduction == 3 ? (u > v ? u : v)                                              \
               : reduction == 4 ? (u < v ? u : v)                                              \
                                : u;                                                           \
    }                                                                                          \
  }
SCATTER(scatter_1, uchar)
SCATTER(scatter_2, ushort)
SCATTER(scatter_4, uint)
SCATTER(scatter_8, ulong)
SCATTER(scatter_f, float)
SCATTER(scatter_i, int)
SCATTER(scatter_l, long)

// GatherND: out[g] = data[batch * bstride + nd_offset(row) + g % inner] with row = g / inner
// and batch = row / rows_per_batch (batch_dims leading dims shared by data and indices).
#define GATHER_ND(NAME, T)                                                                      \
  __kernel void NAME(__global const T* data, __global const void* indices, __global T* out,     \
                     int n, IndexPack p, int inner, int rows_per_batch, int bstride, int idx64, \
                     __global int* err, int tag) {                                              \
    const int g = get_global_id(0);                                                             \
    if (g >= n) return;                                                                         \
    const int row = g / inner;                                                                  \
    const long off = nd_offset(indices, idx64, row, &p, err, tag);                              \
    out[g] = data[(long)(row / rows_per_batch) * bstride + (off < 0 ? 0 : off) + g % inner];    \
  }
GATHER_ND(gather_nd_1, uchar)
GATHER_ND(gather_nd_2, ushort)
GATHER_ND(gather_nd_4, uint)
GATHER_ND(gather_nd_8, ulong)
