// Resize over up to 8 dims (ONNX Resize / Upsample): nearest, linear and cubic sampling with
// every coordinate transform, exclude_outside and antialias. One work-item per output element;
// each dim contributes its own taps and weights, so only resized dims cost more than one tap.

#define RMAX 8

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

// Same layout as ResizePack in tactics/resize.cc. outw: the output length as the transform sees
// it (in * scale, which is not the integer output length when a scale was given).
typedef struct {
  int rank;
  int in[RMAX];
  int out[RMAX];
  float scale[RMAX];
  float outw[RMAX];
  float roi0[RMAX];
  float roi1[RMAX];
} ResizePack;

// a / b rounded once, as onnxruntime's float division: OpenCL lets a GPU's float division be
// 2.5 ulps off, and a nearest pick at floor() of a coordinate that is exactly an integer would
// then take the neighbour. EXACT_DIV: the program is built with
// -cl-fp32-correctly-rounded-divide-sqrt (tactics/resize.cc, where the device offers it). Else
// through double where the device has it (53 >= 2 * 24 + 2 bits: the second rounding to float
// cannot differ from a direct one).
inline float div_rn(float a, float b) {
#if defined(EXACT_DIV)
  return a / b;
#elif defined(cl_khr_fp64)
  return (float)((double)a / (double)b);
#else
  return a / b;
#endif
}

// coord codes: 0 half_pixel, 1 half_pixel_symmetric, 2 pytorch_half_pixel, 3 align_corners,
// 4 asymmetric, 5 tf_half_pixel_for_nn, 6 tf_crop_and_resize. Each operation rounded on its own
// (no fused multiply-adds), as onnxruntime computes the transforms.
inline float source_coord(int coord, float x, float s, int lin, int lout, float outw, float r0,
                          float r1) {
#pragma OPENCL FP_CONTRACT OFF
  switch (coord) {
    case 1: {
      const float offset = 0.5f * lin * (1.0f - div_rn(lout, outw));
      return offset + div_rn(x + 0.5f, s) - 0.5f;
    }
    case 2:
      return outw == 1.0f ? -0.5f : div_rn(x + 0.5f, s) - 0.5f;
    case 3:
      return outw == 1.0f ? 0.0f : div_rn(x * (lin - 1), outw - 1.0f);
    case 4:
      return div_rn(x, s);
    case 5:
      return div_rn(x + 0.5f, s);
    case 6:
      return outw == 1.0f ? 0.5f * (r0 + r1) * (lin - 1)
                          : r0 * (lin - 1) + div_rn(x * (r1 - r0) * (lin - 1), outw - 1.0f);
    default:
      return div_rn(x + 0.5f, s) - 0.5f;
  }
}

// nearest codes: 0 round_prefer_floor, 1 round_prefer_ceil, 2 floor, 3 ceil, 4 simple (floor,
// ceil when downsampling: onnxruntime's Upsample / Resize-10 rule).
inline int nearest_index(int mode, float x, float s) {
  const float f = floor(x);
  if (f == x) return (int)f;
  const float r = x - f;
  switch (mode) {
    case 0:
      return (int)f + (r > 0.5f);
    case 1:
      return (int)f + (r >= 0.5f);
    case 2:
      return (int)f;
    case 3:
      return (int)f + 1;
    default:
      return s < 1.0f ? (int)f + 1 : (int)f;
  }
}

inline float cubic_weight(float t, float A) {
  t = fabs(t);
  if (t <= 1.0f) return ((A + 2.0f) * t - (A + 3.0f)) * t * t + 1.0f;
  if (t < 2.0f) return ((A * t - 5.0f * A) * t + 8.0f * A) * t - 4.0f * A;
  return 0.0f;
}

// The weight of a tap at distance t from the source coordinate (mode 1 linear, 2 cubic); 0 for
// a tap outside the input under exclude_outside.
inline float tap_weight(int mode, float t, float A, int excluded) {
  if (excluded) return 0.0f;
  return mode == 1 ? fmax(0.0f, 1.0f - fabs(t)) : cubic_weight(t, A);
}

// mode: 0 nearest, 1 linear, 2 cubic.
__kernel void resize_nd(__global const st_t* x, __global st_t* y, int n, ResizePack p, int mode,
                        int coord, int nearest, float cubic_a, int exclude_outside, int antialias,
                        float extrapolation) {
  const int g = get_global_id(0);
  if (g >= n) return;
  int base[RMAX], start[RMAX], taps[RMAX];
  float ratio[RMAX], seff[RMAX], norm[RMAX];
  int stride[RMAX];
  int st = 1;
  for (int d = p.rank - 1; d >= 0; --d) {
    stride[d] = st;
    st *= p.in[d];
  }
  int rem = g;
  int total = 1;
  for (int d = p.rank - 1; d >= 0; --d) {
    const int o = rem % p.out[d];
    rem /= p.out[d];
    const int L = p.in[d];
    // An unresized dim is read as is: tf_half_pixel_for_nn would otherwise shift it half a
    // sample (onnxruntime resizes only the dims whose scale is not 1).
    taps[d] = 1;  // one sample, base[d] (the only entry read then), unless interpolated below
    if (p.scale[d] == 1.0f && L == p.out[d] && coord != 6) {
      base[d] = o;
      continue;
    }
    const float xo = source_coord(coord, (float)o, p.scale[d], L, p.out[d], p.outw[d], p.roi0[d],
                                  p.roi1[d]);
    if (coord == 6 && (xo < 0.0f || xo > (float)(L - 1))) {
      ST(y, g, extrapolation);
      return;
    }
    if (mode == 0) {
      base[d] = clamp(nearest_index(nearest, xo, p.scale[d]), 0, L - 1);
      continue;
    }
    // Taps base + i, i in [start, 1 - start + mode - 1); ratio in (0, 1] (onnx's convention).
    base[d] = (int)ceil(xo) - 1;
    ratio[d] = xo - (float)base[d];
    seff[d] = antialias ? fmin(p.scale[d], 1.0f) : 1.0f;
    if (ratio[d] == 1.0f && seff[d] == 1.0f) {  // on a sample: that sample alone
      base[d] += 1;
      continue;
    }
    const float reach = mode == 1 ? 1.0f : 2.0f;
    start[d] = (int)floor(-reach / seff[d]) + 1;
    taps[d] = 2 - 2 * start[d];
    float sum = 0.0f;
    for (int i = 0; i < taps[d]; ++i) {
      const int k = start[d] + i;
      const int idx = base[d] + k;
      sum += tap_weight(mode, seff[d] * ((float)k - ratio[d]), cubic_a,
                        exclude_outside && (idx < 0 || idx >= L));
    }
    norm[d] = sum != 0.0f ? 1.0f / sum : 0.0f;
    total *= taps[d];
  }
  float acc = 0.0f;
  for (int t = 0; t < total; ++t) {
    int r = t;
    int off = 0;
    float w = 1.0f;
    for (int d = p.rank - 1; d >= 0; --d) {
      const int L = p.in[d];
      if (taps[d] == 1) {
        off += base[d] * stride[d];
        continue;
      }
      const int i = r % taps[d];
      r /= taps[d];
      const int k = start[d] + i;
      const int idx = base[d] + k;
      w *= tap_weight(mode, seff[d] * ((float)k - ratio[d]), cubic_a,
                      exclude_outside && (idx < 0 || idx >= L)) *
           norm[d];
      off += clamp(idx, 0, L - 1) * stride[d];
    }
    acc += w * LD(x, off);
  }
  ST(y, g, acc);
}
