// Pad over up to 8 dims (ONNX Pad): constant, reflect, edge and wrap, per element size so one
// program pads any dtype. One work-item per output element. Negative pads crop first
// (onnxruntime's order): reflect/edge/wrap then see the cropped dim, of length len from crop.

// Same layout as PadPack in tactics/resize.cc.
typedef struct {
  int rank;
  int in[8];
  int out[8];
  int begin[8];  // the non-negative begin pads
  int crop[8];   // elements cropped at the start
  int len[8];    // the dim's length after cropping
} PadPack;

// The source index of output index o along a dim of length L, or -1 for the constant.
// mode: 0 constant, 1 reflect, 2 edge, 3 wrap.
inline int pad_source(int mode, int o, int begin, int L) {
  int i = o - begin;
  if (i >= 0 && i < L) return i;
  if (mode == 0 || L == 0) return -1;
  if (mode == 2) return clamp(i, 0, L - 1);
  if (mode == 3) return ((i % L) + L) % L;
  if (L == 1) return 0;
  const int m = 2 * (L - 1);
  i = ((i % m) + m) % m;
  return i < L ? i : m - i;
}

#define PAD(NAME, T)                                                                       \
  __kernel void NAME(__global const T* x, __global T* y, int n, PadPack p, int mode, T value) { \
    const int g = get_global_id(0);                                                        \
    if (g >= n) return;                                                                    \
    int rem = g, off = 0, st = 1;                                                          \
    for (int d = p.rank - 1; d >= 0; --d) {                                                \
      const int o = rem % p.out[d];                                                        \
      rem /= p.out[d];                                                                     \
      const int i = pad_source(mode, o, p.begin[d], p.len[d]);                             \
      if (i < 0) {                                                                         \
        y[g] = value;                                                                      \
        return;                                                                            \
      }                                                                                    \
      off += (i + p.crop[d]) * st;                                                         \
      st *= p.in[d];                                                                       \
    }                                                                                      \
    y[g] = x[off];                                                                         \
  }
PAD(pad_1, uchar)
PAD(pad_2, ushort)
PAD(pad_4, uint)
PAD(pad_8, ulong)
