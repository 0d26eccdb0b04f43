// Data movement kernels: a strided copy (transpose, slice, concat, split, expand), gather and
// gather-elements, per element size so one program moves any dtype, plus range. Shapes are
// runtime arguments.


// dst[dbase + sum idx_d * s1_d] = src[sbase + sum idx_d * s0_d] for every index of p.dims.
#define STRIDED_COPY(NAME, T)                                                              \
  __kernel void NAME(__global const T* src, __global T* dst, int n, IndexPack p, int sbase, \
                     int dbase) {                                                          \
    int i = get_global_id(0);                                                              \
    if (i >= n) return;                                                                    \
    int so = sbase, dof = dbase;                                                           \
    for (int d = p.rank - 1; d >= 0; --d) {                                                \
      const int m = p.dims[d];                                                             \
      const int q = i / m;                                                                 \
      const int r = i - q * m;                                                             \
      so += r * p.s[0][d];                                                                 \
      dof += r * p.s[1][d];                                                                \
      i = q;                                                                               \
    }                                                                                      \
    dst[dof] = src[so];                                                                    \
  }
STRIDED_COPY(copy_1, uchar)
STRIDED_COPY(copy_2, ushort)
STRIDED_COPY(copy_4, uint)
STRIDED_COPY(copy_8, ulong)


// out[o, j, i] = data[o, wrap(indices[j]), i] for data [outer, axis_len, inner]. Indices are
// int32 or int64 (idx64); negative ones wrap. An out-of-range one is recorded in err (the run
// then fails naming the layer, as onnxruntime's does) and clamped so no read leaves the tensor.
#define GATHER(NAME, T)                                                                        \
  __kernel void NAME(__global const T* data, __global const void* indices, __global T* out,    \
                     int n, int axis_len, int nidx, int inner, int idx64, __global int* err,   \
                     int tag) {                                                                \
    const int g = get_global_id(0);                                                            \
    if (g >= n) return;                                                                        \
    const int i = g % inner;                                                                   \
    const int t = g / inner;                                                                   \
    const int j = t % nidx;                                                                    \
    const int o = t / nidx;                                                                    \
    const long k0 = idx64 ? ((__global const long*)indices)[j] : ((__global const int*)indices)[j]; \
    long k = k0 < 0 ? k0 + axis_len : k0;                                                      \
    if (k < 0 || k >= axis_len) {                                                              \
      if (i == 0) record_error(err, tag, 1, k0, axis_len);                                     \
      k = clamp(k, (long)0, (long)axis_len - 1);                                               \
    }                                                                                          \
    out[g] = data[((long)o * axis_len + k) * inner + i];                                       \
  }
GATHER(gather_1, uchar)
GATHER(gather_2, ushort)
GATHER(gather_4, uint)
GATHER(gather_8, ulong)

// GatherElements: out[p] = data[p with p[axis] = wrap(indices[p])]. p iterates the indices'
// dims with operand 0 = data strides, the axis one zeroed (astride adds the index instead).
// Out-of-range indices are recorded and clamped as in GATHER.
#define GATHER_ELEMENTS(NAME, T)                                                                 \
  __kernel void NAME(__global const T* data, __global const void* indices, __global T* out,      \
                     int n, IndexPack p, int axis_len, int astride, int idx64, __global int* err, \
                     int tag) {                                                                  \
    const int g = get_global_id(0);                                                              \
    if (g >= n) return;                                                                          \
    int off = 0;                                                                                 \
    for (int d = p.rank - 1, i = g; d >= 0; --d) {                                               \
      const int q = i / p.dims[d];                                                               \
      off += (i - q * p.dims[d]) * p.s[0][d];                                                    \
      i = q;                                                                                     \
    }                                                                                            \
    const long k0 =                                                                              \
        idx64 ? ((__global const long*)indices)[g] : ((__global const int*)indices)[g];          \
    long k = k0 < 0 ? k0 + axis_len : k0;                                                        \
    if (k < 0 || k >= axis_len) {                                                                \
      record_error(err, tag, 1, k0, axis_len);                                                   \
      k = clamp(k, (long)0, (long)axis_len - 1);                                                 \
    }                                                                                            \
    out[g] = data[off + k * astride];                                                            \
  }
GATHER_ELEMENTS(gather_el_1, uchar)
GATHER_ELEMENTS(gather_el_2, ushort)
GATHER_ELEMENTS(gather_el_4, uint)
GATHER_ELEMENTS(gather_el_8, ulong)

// y[i] = start + i * delta, start and delta read from one-element device tensors.
#define RANGE(NAME, T)                                                                        \
  __kernel void NAME(__global const T* start, __global const T* delta, __global T* y, int n) { \
    const int i = get_global_id(0);                                                           \
    if (i < n) y[i] = start[0] + (T)i * delta[0];                                             \
  }
RANGE(range_f, float)
RANGE(range_i, int)
RANGE(range_l, long)
