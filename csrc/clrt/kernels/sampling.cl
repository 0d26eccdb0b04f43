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

// RoiAlign (ONNX, tactics/sampling.cc): x [N,C,H,W] pooled over rois [R,4] (x1, y1, x2, y2)
// into [R,C,oh,ow], one work-item per output element. Each bin averages (or takes the max of)
// a grid of bilinear samples. The roi geometry and the sample positions are computed in float
// in onnxruntime's order of operations, without contraction into fma, so that an adaptive grid
// (ceil of the bin size) and the samples' corners come out as its CPU kernel's.

// Same layout as RoiPack in tactics/sampling.cc.
typedef struct {
  int batch;
  int channels;
  int height;
  int width;
  int out_h;
  int out_w;
  int sampling;    // samples per bin side; 0: ceil(bin size) per roi
  int max_grid;    // the largest adaptive side taken (ir/limits.h kMaxRoiGrid)
  int half_pixel;  // coordinates shifted by -0.5 (else output_half_pixel: no shift)
  int max_mode;    // 0: average, 1: max of the weighted corners
  float scale;     // spatial_scale
} RoiPack;

// The four bilinear corners of sample (y, x) in an h x w image and their weights. A sample
// more than one pixel outside reads nothing (zero weights); one nearer clamps to the border.
inline void ra_corners(float y, float x, int h, int w, int* off, float* wt) {
  if (y < -1.0f || y > (float)h || x < -1.0f || x > (float)w) {
    for (int k = 0; k < 4; ++k) {
      off[k] = 0;
      wt[k] = 0.0f;
    }
    return;
  }
  if (y <= 0.0f) y = 0.0f;
  if (x <= 0.0f) x = 0.0f;
  int y0 = (int)y, x0 = (int)x, y1, x1;
  if (y0 >= h - 1) {
    y0 = y1 = h - 1;
    y = (float)y0;
  } else {
    y1 = y0 + 1;
  }
  if (x0 >= w - 1) {
    x0 = x1 = w - 1;
    x = (float)x0;
  } else {
    x1 = x0 + 1;
  }
  const float ly = y - y0, lx = x - x0;
  const float hy = 1.0f - ly, hx = 1.0f - lx;
  off[0] = y0 * w + x0;
  off[1] = y0 * w + x1;
  off[2] = y1 * w + x0;
  off[3] = y1 * w + x1;
  wt[0] = hy * hx;
  wt[1] = hy * lx;
  wt[2] = ly * hx;
  wt[3] = ly * lx;
}

// The grid side of a bin of `bin` pixels: sampling when set, else ceil(bin) (none for an empty
// or reversed roi). -1 past max_grid (the run fails).
inline int ra_grid(float bin, int sampling, int max_grid) {
  if (sampling > 0) return sampling;
  const float s = ceil(bin);
  if (s > (float)max_grid) return -1;
  return s > 0.0f ? (int)s : 0;
}

// rois: FLOAT or HALF (rois_dt, a DT_ code); batch: INT32 or INT64 (idx64). A batch index
// outside [0, N) or an adaptive grid past max_grid is recorded in err and the bin written 0.
__kernel void roi_align(__global const st_t* x, __global const void* rois, int rois_dt,
                        __global const void* batch, int idx64, __global st_t* y, int n, RoiPack p,
                        __global int* err, int tag) {
#pragma OPENCL FP_CONTRACT OFF
  const int gid = get_global_id(0);
  if (gid >= n) return;
  const int pw = gid % p.out_w;
  const int ph = (gid / p.out_w) % p.out_h;
  const int c = (gid / (p.out_w * p.out_h)) % p.channels;
  const int r = gid / (p.out_w * p.out_h * p.channels);
  const bool first = c == 0 && ph == 0 && pw == 0;  // reports the roi's errors once
  const long b = idx64 ? ((__global const long*)batch)[r] : ((__global const int*)batch)[r];
  if (b < 0 || b >= p.batch) {
    if (first) record_error(err, tag, 3, b, p.batch);
    ST(y, gid, 0.0f);
    return;
  }
  const float shift = p.half_pixel ? 0.5f : 0.0f;
  const float x1 = load_any(rois, 4 * (size_t)r, rois_dt, 1.0f) * p.scale - shift;
  const float y1 = load_any(rois, 4 * (size_t)r + 1, rois_dt, 1.0f) * p.scale - shift;
  const float x2 = load_any(rois, 4 * (size_t)r + 2, rois_dt, 1.0f) * p.scale - shift;
  const float y2 = load_any(rois, 4 * (size_t)r + 3, rois_dt, 1.0f) * p.scale - shift;
  float rw = x2 - x1, rh = y2 - y1;
  if (!p.half_pixel) {  // output_half_pixel makes a degenerate roi one pixel wide
    rw = fmax(rw, 1.0f);
    rh = fmax(rh, 1.0f);
  }
  const float bh = rh / (float)p.out_h, bw = rw / (float)p.out_w;
  const int gh = ra_grid(bh, p.sampling, p.max_grid), gw = ra_grid(bw, p.sampling, p.max_grid);
  if (gh < 0 || gw < 0) {
    if (first) record_error(err, tag, 4, r, (int)fmin(fmax(ceil(fmax(bh, bw)), 0.0f), 2.0e9f));
    ST(y, gid, 0.0f);
    return;
  }
  const float ys = y1 + ph * bh, xs = x1 + pw * bw;
  __global const st_t* img = x + ((size_t)b * p.channels + c) * p.height * p.width;
  float acc = 0.0f;
  bool any = false;
  for (int iy = 0; iy < gh; ++iy) {
    const float yy = ys + ((float)iy + 0.5f) * bh / (float)gh;
    for (int ix = 0; ix < gw; ++ix) {
      const float xx = xs + ((float)ix + 0.5f) * bw / (float)gw;
      int off[4];
      float wt[4];
      ra_corners(yy, xx, p.height, p.width, off, wt);
      const float v0 = wt[0] * LD(img, off[0]), v1 = wt[1] * LD(img, off[1]);
      const float v2 = wt[2] * LD(img, off[2]), v3 = wt[3] * LD(img, off[3]);
      if (p.max_mode) {
        const float v = fmax(fmax(fmax(v0, v1), v2), v3);
        acc = any ? fmax(acc, v) : v;
        any = true;
      } else {
        acc += ((v0 + v1) + v2) + v3;
      }
    }
  }
  if (!p.max_mode) acc /= (float)max(gh * gw, 1);
  ST(y, gid, acc);
}
