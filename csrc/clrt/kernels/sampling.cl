// Grid sampling (ONNX GridSample, tactics/sampling.cc): x [N,C,...in] read at the normalized
// coordinates of grid [N,...out,r], 2 or 3 spatial dims. One work-item per output element; a dim
// contributes 1 (nearest), 2 (linear) or 4 (cubic) taps. Coordinates and padding follow
// onnxruntime's CPU kernel: out-of-range coordinates are clamped (not for cubic) or reflected
// first, then each tap index is zeroed, clamped or reflected again.

#define GS_MAX 3

// Same layout as GridPack in tactics/sampling.cc; in/out list the spatial dims outermost first.
typedef struct {
  int rank;
  int channels;
  int in[GS_MAX];
  int out[GS_MAX];
} GridPack;

// Reflects x into [lo, hi] as often as it takes (a degenerate range collapses to lo).
inline float gs_reflect(float x, float lo, float hi) {
  const float range = hi - lo;
  if (!(range > 0.0f)) return lo;
  if (x < lo) {
    const float d = lo - x;
    const int n = (int)(d / range);
    const float r = d - n * range;
    return (n % 2 == 0) ? lo + r : hi - r;
  }
  if (x > hi) {
    const float d = x - hi;
    const int n = (int)(d / range);
    const float r = d - n * range;
    return (n % 2 == 0) ? hi - r : lo + r;
  }
  return x;
}

// Keys' cubic convolution weight at distance d (A = -0.75, as onnxruntime).
inline float gs_cubic(float d) {
  const float A = -0.75f;
  d = fabs(d);
  if (d <= 1.0f) return ((A + 2.0f) * d - (A + 3.0f)) * d * d + 1.0f;
  if (d < 2.0f) return ((A * d - 5.0f * A) * d + 8.0f * A) * d - 4.0f * A;
  return 0.0f;
}

// Index of tap k along a dim of length len under the padding (0 zeros, 1 border, 2 reflection);
// -1 reads zero.
inline int gs_tap(int k, int len, int padding, float lo, float hi) {
  if (padding == 1) return clamp(k, 0, len - 1);
  if (padding == 2) return clamp((int)gs_reflect((float)k, lo, hi), 0, len - 1);
  return (k >= 0 && k < len) ? k : -1;
}

// mode: 0 nearest, 1 linear, 2 cubic. align: align_corners.
__kernel void grid_sample(__global const st_t* x, __global const st_t* grid, __global st_t* y,
                          int n, GridPack p, int mode, int padding, int align) {
  const int gid = get_global_id(0);
  if (gid >= n) return;
  int so = 1, si = 1;
  for (int d = 0; d < p.rank; ++d) {
    so *= p.out[d];
    si *= p.in[d];
  }
  const int o = gid % so;
  const int nc = gid / so;
  const int b = nc / p.channels;
  // Per dim: the first tap, its weights.
  int base[GS_MAX];
  float w[GS_MAX][4];
  const int taps = mode == 0 ? 1 : mode == 1 ? 2 : 4;
  for (int d = 0; d < p.rank; ++d) {
    const int len = p.in[d];
    // The grid's coordinate 0 addresses the innermost dim.
    const float g = LD(grid, ((size_t)b * so + o) * p.rank + (p.rank - 1 - d));
    float c = align ? (g + 1.0f) / 2.0f * (len - 1) : ((g + 1.0f) * len - 1.0f) / 2.0f;
    const float lo = align ? 0.0f : -0.5f, hi = align ? len - 1.0f : len - 0.5f;
    if (mode == 0) c = rint(c);
    // Cubic clamps its taps only (onnxruntime, as PyTorch): clamping the coordinate as well
    // would move the weights.
    if (c < lo || c > hi) {
      if (padding == 1 && mode != 2) c = clamp(c, 0.0f, len - 1.0f);
      if (padding == 2) c = gs_reflect(c, lo, hi);
    }
    if (mode == 0) {
      base[d] = (int)c;
      w[d][0] = 1.0f;
    } else {
      const float f = floor(c), t = c - f;
      if (mode == 1) {
        base[d] = (int)f;
        w[d][0] = 1.0f - t;
        w[d][1] = t;
      } else {
        base[d] = (int)f - 1;
        for (int k = 0; k < 4; ++k) w[d][k] = gs_cubic(t + 1.0f - k);
      }
    }
  }
  int total = 1;
  for (int d = 0; d < p.rank; ++d) total *= taps;
  __global const st_t* img = x + (size_t)nc * si;
  float acc = 0.0f;
  for (int t = 0; t < total; ++t) {
    float wt = 1.0f;
    int off = 0;
    for (int d = p.rank - 1, rest = t; d >= 0; --d, rest /= taps) {
      const int k = rest % taps, len = p.in[d];
      const float lo = align ? 0.0f : -0.5f, hi = align ? len - 1.0f : len - 0.5f;
      const int idx = gs_tap(base[d] + k, len, padding, lo, hi);
      if (idx < 0) {
        off = -1;
        break;
      }
      int stride = 1;
      for (int e = d + 1; e < p.rank; ++e) stride *= p.in[e];
      off += idx * stride;
      wt *= w[d][k];
    }
    if (off >= 0) acc += wt * LD(img, off);
  }
  ST(y, gid, acc);
}
