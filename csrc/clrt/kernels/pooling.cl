// Pooling kernels: windowed MAX/AVERAGE over [N*C, H, W] and global MAX/AVERAGE reductions.
// Shapes are runtime arguments; the only build option is the storage (one program per storage).


// One work-item per output element. A window tap counts as padding when it lies in the pad
// region [-pt, H + pb) x [-pl, W + pr) but outside the image; taps past the padded end (ceil
// mode) count for neither divisor. MAX ignores padding; a window with no image tap yields
// -FLT_MAX (onnxruntime's lowest()).
__kernel void pool2d(__global const st_t* x, __global st_t* y, int NC, int H, int W, int OH,
                     int OW, int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl, int pb,
                     int pr, int is_max, int count_include_pad) {
  const int ow = get_global_id(0);
  const int oh = get_global_id(1);
  const int nc = get_global_id(2);
  if (ow >= OW || oh >= OH || nc >= NC) return;
  const __global st_t* xc = x + (size_t)nc * H * W;
  const int hs = oh * sh - pt, ws = ow * sw - pl;
  float m = -FLT_MAX, s = 0.0f;
  int valid = 0, padded = 0;
  for (int r = 0; r < kh; ++r) {
    const int ih = hs + r * dh;
    if (ih >= H + pb) break;
    const bool row_in = ih >= 0 && ih < H;
    for (int q = 0; q < kw; ++q) {
      const int iw = ws + q * dw;
      if (iw >= W + pr) break;
      ++padded;
      if (row_in && iw >= 0 && iw < W) {
        const float v = LD(xc, (size_t)ih * W + iw);
        m = fmax(m, v);
        s += v;
        ++valid;
      }
    }
  }
  float out;
  if (is_max) {
    out = m;
  } else {
    const int div = count_include_pad ? padded : valid;
    out = div > 0 ? s / (float)div : 0.0f;
  }
  ST(y, ((size_t)nc * OH + oh) * OW + ow, out);
}

// Global pooling, one work-item per (n, c): a plain loop, best for small HW and on CPUs.
__kernel void global_pool_loop(__global const st_t* x, __global st_t* y, int NC, int HW,
                               int is_max) {
  const int nc = get_global_id(0);
  if (nc >= NC) return;
  const __global st_t* xc = x + (size_t)nc * HW;
  float m = -FLT_MAX, s = 0.0f;
  for (int i = 0; i < HW; ++i) {
    const float v = LD(xc, i);
    m = fmax(m, v);
    s += v;
  }
  ST(y, nc, is_max ? m : (HW > 0 ? s / (float)HW : 0.0f));
}

// Global pooling, one work-group of GPOOL_WG work-items per (n, c): a tree reduction in local
// memory, for large HW on GPUs. Launch with local size GPOOL_WG and global NC * GPOOL_WG.
#ifndef GPOOL_WG
#define GPOOL_WG 128
#endif
__kernel __attribute__((reqd_work_group_size(GPOOL_WG, 1, 1))) void global_pool_reduce(
    __global const st_t* x, __global st_t* y, int NC, int HW, int is_max) {
  __local float lm[GPOOL_WG];
  __local float ls[GPOOL_WG];
  const int nc = get_group_id(0);
  const int t = get_local_id(0);
  float m = -FLT_MAX, s = 0.0f;
  if (nc < NC) {
    const __global st_t* xc = x + (size_t)nc * HW;
    for (int i = t; i < HW; i += GPOOL_WG) {
      const float v = LD(xc, i);
      m = fmax(m, v);
      s += v;
    }
  }
  lm[t] = m;
  ls[t] = s;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int step = GPOOL_WG / 2; step > 0; step >>= 1) {
    if (t < step) {
      lm[t] = fmax(lm[t], lm[t + step]);
      ls[t] += ls[t + step];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (t == 0 && nc < NC) ST(y, nc, is_max ? lm[0] : (HW > 0 ? ls[0] / (float)HW : 0.0f));
}
