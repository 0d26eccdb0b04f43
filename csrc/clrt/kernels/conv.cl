// Convolution kernels: register-blocked direct conv, depthwise conv and im2col (the CLBlast
// tactics' bias + activation is gemm.cl's bias_act).
// Shapes are runtime arguments; only the activation (ACT) and the activation storage
// (STORAGE_HALF) are build options, so one program per activation and storage serves every
// convolution layer. The tiling (CONV_KB, CONV_PB) is the tactic's (tactics/convolution.cc), passed
// as build options; the defaults below only let the file compile alone.



// Direct conv tiling: each work-item computes CONV_KB output channels x CONV_PB output columns
// of one output row. Weights are pre-packed by the host as [G][Kg/KB][Cg][kh][kw][KB] (zero
// padded) so the KB weights of one tap are one vector load. The input is read from a zero-padded
// float copy (conv_pad, in the tactic's workspace) whose rows hold every column a work-item's
// taps reach, so the loop (window.clh's conv_padded_taps) has no bounds checks. On the 2-core
// PoCL machine ResNet-style 3x3 layers ran 3-3.6x faster than with the same tiling reading the
// unpadded input with a check per tap (every block of a 7x7 layer touches a border).
// (Defaults of CONV_KB, CONV_PB: window.clh.)

// Zero-padded float copy of images [n0, n0 + get_global_size(1) / C) of x ([N][C][H][W]) into
// xp ([n - n0][C][Hp][Wp], origin at (-pt, -pl)): a work-item per `cpi` columns of a padded row.
__kernel void conv_pad(__global const st_t* x, __global float* xp, int C, int H, int W, int Hp,
                       int Wp, int pt, int pl, int n0, int cpi) {
  CONV_PAD_ROW(x, LD, xp, C, H, W, Hp, Wp, pt, pl, n0, cpi)
}

#ifdef STORAGE_HALF
#define CONV_ST8(p, i, v) vstore_half8((v), 0, (p) + (i))
#else
#define CONV_ST8(p, i, v) vstore8((v), 0, (p) + (i))
#endif

// xp: conv_pad's copy of images [n0, n0 + get_global_size(2)); Hp, Wp its padded sizes.
__kernel void conv_direct(__global const float* xp, __global const float* wp,
                          __global const float* bp, __global const st_t* res, __global st_t* y,
                          int n0, int C, int Hp, int Wp, int K, int OH, int OW, int G, int kh,
                          int kw, int sh, int sw, int dh, int dw, int has_res, float alpha,
                          float beta) {
  ConvBlock blk;
  if (!conv_block(get_global_size(2), C, K, G, OH, OW, sh, sw, 0, 0, CONV_KB, CONV_PB, &blk))
    return;
  const int oh = blk.oh, ow0 = blk.ow0, g = blk.g, kblk = blk.kblk, gk = blk.gk;
  const int Cg = blk.Cg, Kg = blk.Kg, n = n0 + blk.n;
  const __global float* xb = xp + ((size_t)blk.n * C + (size_t)g * Cg) * Hp * Wp +
                             (size_t)oh * sh * Wp + ow0 * sw;
  const __global float* wb = wp + (size_t)gk * Cg * kh * kw * CONV_KB;
  float16 acc[CONV_PB];
  for (int j = 0; j < CONV_PB; ++j) acc[j] = (float16)(0.0f);
  conv_padded_taps(acc, xb, wb, 0, Cg, Hp, Wp, kh, kw, sw, dh, dw);

  // The block transposed to [j][kk] so that each output channel's PB columns store together.
  const float16 bv = vload16(gk, bp);
  float t[CONV_PB * CONV_KB];
  for (int j = 0; j < CONV_PB; ++j) vstore16(acc[j] + bv, j, t);
  const bool full = ow0 + CONV_PB <= OW;
  for (int kk = 0; kk < CONV_KB; ++kk) {
    const int k = kblk * CONV_KB + kk;
    if (k >= Kg) break;
    const size_t o = (((size_t)n * K + (size_t)g * Kg + k) * OH + oh) * OW + ow0;
#if CONV_PB == 8
    if (full) {
      float8 v = (float8)(t[kk], t[CONV_KB + kk], t[2 * CONV_KB + kk], t[3 * CONV_KB + kk],
                          t[4 * CONV_KB + kk], t[5 * CONV_KB + kk], t[6 * CONV_KB + kk],
                          t[7 * CONV_KB + kk]);
      if (has_res) v += LD8(res, o);
      CONV_ST8(y, o, apply_act8(v, alpha, beta));
      continue;
    }
#endif
    for (int j = 0; j < CONV_PB; ++j) {
      if (ow0 + j >= OW) break;
      float v = t[j * CONV_KB + kk];
      if (has_res) v += LD(res, o + j);
      ST(y, o + j, apply_act(v, alpha, beta));
    }
  }
}

// Depthwise conv (group == C == K): each work-item computes CONV_PB output columns of one
// channel's output row. Weights [C][kh][kw], bias [C] (zeros when the layer has none).
__kernel void conv_depthwise(__global const st_t* x, __global const float* w,
                             __global const float* bias, __global const st_t* res,
                             __global st_t* y, int N, int C, int H, int W, int OH, int OW, int kh,
                             int kw, int sh, int sw, int dh, int dw, int pt, int pl, int has_res,
                             float alpha, float beta) {
  ConvBlock blk;
  if (!conv_block(N, C, C, C, OH, OW, sh, sw, pt, pl, 1, CONV_PB, &blk)) return;
  const int oh = blk.oh, ow0 = blk.ow0, c = blk.g, n = blk.n;

  const __global st_t* xc = x + ((size_t)n * C + c) * H * W;
  const __global float* wc = w + (size_t)c * kh * kw;
  const int ih0 = blk.ih0, iw0 = blk.iw0;
  const bool vec_w = sw == 1 && iw0 >= 0 && iw0 + (kw - 1) * dw + CONV_PB <= W;
  float8 acc = (float8)(0.0f);
  for (int r = 0; r < kh; ++r) {
    const int ih = ih0 + r * dh;
    if (ih < 0 || ih >= H) continue;
    const __global st_t* xr = xc + (size_t)ih * W;
    for (int s = 0; s < kw; ++s) {
      const float wv = wc[r * kw + s];
      const int iw = iw0 + s * dw;
      float8 xv;
      if (vec_w) {
        xv = LD8(xr, iw);
      } else {
        float t[CONV_PB];
        for (int j = 0; j < CONV_PB; ++j) {
          const int q = iw + j * sw;
          t[j] = (q >= 0 && q < W) ? LD(xr, q) : 0.0f;
        }
        xv = vload8(0, t);
      }
      acc = fma(xv, (float8)(wv), acc);
    }
  }
  float a[CONV_PB];
  vstore8(acc, 0, a);
  const size_t o = (((size_t)n * C + c) * OH + oh) * OW + ow0;
  const float b = bias[c];
  for (int j = 0; j < CONV_PB; ++j) {
    if (ow0 + j >= OW) break;
    float v = a[j] + b;
    if (has_res) v += LD(res, o + j);
    ST(y, o + j, apply_act(v, alpha, beta));
  }
}

// conv_depthwise over conv_pad's zero-padded float copy of images [n0, n0 + get_global_size(2))
// (Hp x Wp planes), for CPUs: no bounds checks, a tap's 8 inputs one vector load at stride 1,
// the 8 outputs one store. Same sums in the same order as conv_depthwise, so the same results
// (PoCL, 2 cores: 3x3 layers of 7x7 to 112x112 images 1.7-2.4x faster than conv_depthwise).
__kernel void conv_depthwise_padded(__global const float* xp, __global const float* w,
                                    __global const float* bias, __global const st_t* res,
                                    __global st_t* y, int n0, int C, int Hp, int Wp, int OH,
                                    int OW, int kh, int kw, int sh, int sw, int dh, int dw,
                                    int has_res, float alpha, float beta) {
  ConvBlock blk;
  if (!conv_block(get_global_size(2), C, C, C, OH, OW, sh, sw, 0, 0, 1, CONV_PB, &blk)) return;
  const int oh = blk.oh, ow0 = blk.ow0, c = blk.g, n = n0 + blk.n;
  const __global float* xb =
      xp + ((size_t)blk.n * C + c) * Hp * Wp + (size_t)oh * sh * Wp + ow0 * sw;
  const __global float* wc = w + (size_t)c * kh * kw;
  float8 acc = (float8)(0.0f);
  for (int r = 0; r < kh; ++r) {
    const __global float* xr = xb + (size_t)r * dh * Wp;
    for (int s = 0; s < kw; ++s) {
      const float wv = wc[r * kw + s];
      const __global float* xs = xr + s * dw;
      float8 xv;
      if (sw == 1)
        xv = vload8(0, xs);
      else
        xv = (float8)(xs[0], xs[sw], xs[2 * sw], xs[3 * sw], xs[4 * sw], xs[5 * sw], xs[6 * sw],
                      xs[7 * sw]);
      acc = fma(xv, (float8)(wv), acc);
    }
  }
  acc += (float8)(bias[c]);
  const size_t o = (((size_t)n * C + c) * OH + oh) * OW + ow0;
#if CONV_PB == 8
  if (ow0 + CONV_PB <= OW) {
    if (has_res) acc += LD8(res, o);
    CONV_ST8(y, o, apply_act8(acc, alpha, beta));
    return;
  }
#endif
  float a[CONV_PB];
  vstore8(acc, 0, a);
  for (int j = 0; j < CONV_PB; ++j) {
    if (ow0 + j >= OW) break;
    float v = a[j];
    if (has_res) v += LD(res, o + j);
    ST(y, o + j, apply_act(v, alpha, beta));
  }
}

// Depthwise convolution where a tensor is stored channels last ([N, H, W, C]): one work-item
// per output with the channel fastest across work-items, so that a warp's loads of one tap are
// contiguous in an HWC input. gid 0 the channel, 1 the output column, 2 image * OH + output
// row. in_hwc / res_hwc / out_hwc: the input, residual and output layouts (NCHW otherwise).
__kernel void conv_depthwise_hwc(__global const st_t* x, __global const float* w,
                                 __global const float* bias, __global const st_t* res,
                                 __global st_t* y, int C, int H, int W, int OH, int OW, int NOH,
                                 int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl,
                                 int has_res, int in_hwc, int res_hwc, int out_hwc, float alpha,
                                 float beta) {
  const int c = get_global_id(0), ow = get_global_id(1), noh = get_global_id(2);
  if (c >= C || ow >= OW || noh >= NOH) return;
  const int n = noh / OH, oh = noh - n * OH;
  const size_t step = in_hwc ? (size_t)C : 1;  // elements between neighbouring pixels
  const __global st_t* xc = x + layout_index(in_hwc, n, c, 0, C, (size_t)H * W);
  const __global float* wc = w + (size_t)c * kh * kw;
  const int ih0 = oh * sh - pt, iw0 = ow * sw - pl;
  float acc = 0.0f;
  DW_TAPS(acc = fma(LD(xc, ((size_t)ih * W + iw) * step), wc[r * kw + s], acc);)
  const size_t sp = (size_t)oh * OW + ow, S = (size_t)OH * OW;
  float v = acc + bias[c];
  if (has_res) v += LD(res, layout_index(res_hwc, n, c, sp, C, S));
  ST(y, layout_index(out_hwc, n, c, sp, C, S), apply_act(v, alpha, beta));
}

// Depthwise convolution with the input, the output (and any residual) channels last and C a
// multiple of 8: a work-item per 8 channels of one output pixel, so that each tap is one 8-wide
// load and the output one 8-wide store (LDA8 / STA8); the same sums, in the same order, as
// conv_depthwise_hwc. Weights as [kh * kw][C] (wt). gid 0: channel octet + C / 8 * output
// column (padded to the work-group), 1: image * OH + output row.
__kernel void conv_depthwise_hwc8(__global const st_t* x, __global const float* wt,
                                  __global const float* bias, __global const st_t* res,
                                  __global st_t* y, int C, int H, int W, int OH, int OW, int NOH,
                                  int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl,
                                  int has_res, float alpha, float beta) {
  const int C8 = C / 8, q = get_global_id(0), noh = get_global_id(1);
  if (q >= C8 * OW || noh >= NOH) return;
  const int ow = q / C8, c = (q - ow * C8) * 8;
  const int n = noh / OH, oh = noh - n * OH;
  const __global st_t* xn = x + (size_t)n * H * W * C + c;
  const int ih0 = oh * sh - pt, iw0 = ow * sw - pl;
  float8 acc = 0.0f;
  DW_TAPS(acc = fma(LDA8(xn, ((size_t)ih * W + iw) * C),
                    *((__global const float8*)wt + ((size_t)(r * kw + s) * C + c) / 8), acc);)
  const size_t o = ((size_t)noh * OW + ow) * C + c;
  float8 v = acc + *((__global const float8*)bias + c / 8);
  if (has_res) v += LDA8(res, o);
  STA8(y, o, apply_act8(v, alpha, beta));
}

// conv_depthwise_hwc8 over four consecutive output columns a work-item (conv.depthwise_w4): a
// tap's 8 weights (32 bytes, more than the tap's 8 activations) are loaded once for the four
// outputs instead of once each, for a quarter of the work-items. Each output's sum in the same
// order as conv_depthwise_hwc8's, so the values are the same. gid 0: channel octet + C / 8 *
// output column quad (padded to the work-group), 1: image * OH + output row.
__kernel void conv_depthwise_hwc8x4(__global const st_t* x, __global const float* wt,
                                    __global const float* bias, __global const st_t* res,
                                    __global st_t* y, int C, int H, int W, int OH, int OW,
                                    int NOH, int kh, int kw, int sh, int sw, int dh, int dw,
                                    int pt, int pl, int has_res, float alpha, float beta) {
  DW_QUAD_PROLOGUE
  const __global st_t* xn = x + (size_t)n * H * W * C + c;
  float8 acc[4] = {(float8)(0.0f), (float8)(0.0f), (float8)(0.0f), (float8)(0.0f)};
  DW_TAPS_QUAD({ acc[u] = fma(LDA8(xn, ((size_t)ih * W + iw) * C), w8, acc[u]); })
  const float8 b8 = *((__global const float8*)bias + c / 8);
#pragma unroll
  for (int u = 0; u < 4; ++u) {
    if (ow0 + u >= OW) break;
    const size_t o = ((size_t)noh * OW + ow0 + u) * C + c;
    float8 v = acc[u] + b8;
    if (has_res) v += LDA8(res, o);
    STA8(y, o, apply_act8(v, alpha, beta));
  }
}

// A 1x1, stride-1, unpadded convolution of one group, 8 output channels a work-item: for the
// narrow pointwise convolutions of inverted-residual blocks (16-240 channels), which are
// memory-bound and leave a tensor-core tile mostly empty. C and K are multiples of 8; weights
// packed as [K / 8][C][8] (wp), bias [K] (zeros when the layer has none). gid 0: image * S +
// position (S the spatial size), gid 1: output-channel octet; so the work-items of a work-group
// read the same weights (one broadcast load) for consecutive pixels. Each of x, res and y
// channels last (aligned 8-wide loads and stores) or NCHW (x_hwc, res_hwc, y_hwc); the sum starts
// at the bias and adds the channels in order either way, so both layouts give the same values.
__kernel void conv1x1_k8(__global const st_t* x, __global const float* wp,
                         __global const float* bias, __global const st_t* res, __global st_t* y,
                         int C, int K, int S, int NS, int has_res, int x_hwc, int res_hwc,
                         int y_hwc, float alpha, float beta) {
  const int ns = get_global_id(0), kb = get_global_id(1), k = kb * 8;
  if (ns >= NS) return;
  const int n = ns / S, sp = ns - n * S;
  const __global float8* w = (const __global float8*)wp + (size_t)kb * C;
  float8 acc = *((__global const float8*)bias + kb);
  if (x_hwc) {
    const __global st_t* xr = x + (size_t)ns * C;
    for (int c = 0; c < C; c += 8) {
      const float8 v = LDA8(xr, c);
      acc = fma((float8)(v.s0), w[c], acc);
      acc = fma((float8)(v.s1), w[c + 1], acc);
      acc = fma((float8)(v.s2), w[c + 2], acc);
      acc = fma((float8)(v.s3), w[c + 3], acc);
      acc = fma((float8)(v.s4), w[c + 4], acc);
      acc = fma((float8)(v.s5), w[c + 5], acc);
      acc = fma((float8)(v.s6), w[c + 6], acc);
      acc = fma((float8)(v.s7), w[c + 7], acc);
    }
  } else {
    const __global st_t* xr = x + (size_t)n * C * S + sp;
    for (int c = 0; c < C; ++c) acc = fma((float8)(LD(xr, (size_t)c * S)), w[c], acc);
  }
  float t[8];
  if (has_res) {
    if (res_hwc) {
      acc += LDA8(res, (size_t)ns * K + k);
    } else {
      for (int j = 0; j < 8; ++j) t[j] = LD(res, ((size_t)n * K + k + j) * S + sp);
      acc += vload8(0, t);
    }
  }
  acc = apply_act8(acc, alpha, beta);
  if (y_hwc) {
    STA8(y, (size_t)ns * K + k, acc);
  } else {
    vstore8(acc, 0, t);
    for (int j = 0; j < 8; ++j) ST(y, ((size_t)n * K + k + j) * S + sp, t[j]);
  }
}

// A 1x1 convolution over few pixels with many input channels (squeeze-and-excitation layers,
// [N, C, 1, 1]): a work-group of CONV_WG1 work-items per output octet of a pixel, work-item t
// summing channels t, t + CONV_WG1, ..., then a tree reduction in local memory; so that a
// layer of 64 images still spreads over the device instead of a few work-items looping over
// every channel. Weights (wp), bias and layouts as conv1x1_k8's, both padded with zeros to a
// whole last octet: any K, any C.
// Work-group id: output octet + K / 8 * (image * S + position).
#define CONV_WG1 64
__kernel __attribute__((reqd_work_group_size(CONV_WG1, 1, 1))) void conv1x1_wg(
    __global const st_t* x, __global const float* wp, __global const float* bias,
    __global const st_t* res, __global st_t* y, int C, int K, int S, int has_res, int x_hwc,
    int res_hwc, int y_hwc, float alpha, float beta) {
  __local float8 part[CONV_WG1];
  const int K8 = (K + 7) / 8, q = get_group_id(0), t = get_local_id(0);
  const int ns = q / K8, kb = q - ns * K8, k = kb * 8;
  const int n = ns / S, sp = ns - n * S;
  const __global float8* w = (const __global float8*)wp + (size_t)kb * C;
  float8 acc = 0.0f;
  for (int c = t; c < C; c += CONV_WG1) {
    const float v = LD(x, x_hwc ? (size_t)ns * C + c : ((size_t)n * C + c) * S + sp);
    acc = fma((float8)(v), w[c], acc);
  }
  part[t] = acc;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int h = CONV_WG1 / 2; h > 0; h >>= 1) {
    if (t < h) part[t] += part[t + h];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (t >= 8 || k + t >= K) return;  // work-item t < 8 finishes output channel k + t
  float v = ((__local const float*)part)[t] + bias[k + t];
  if (has_res) v += LD(res, res_hwc ? (size_t)ns * K + k + t : ((size_t)n * K + k + t) * S + sp);
  ST(y, y_hwc ? (size_t)ns * K + k + t : ((size_t)n * K + k + t) * S + sp,
     apply_act(v, alpha, beta));
}

// im2col and bias_act serve the CLBlast tactics, which run FP32 only: always float.
// im2col of one image (x points at image n via x_off): col[(c*kh + r)*kw + s][oh*OW + ow].
__kernel void im2col(__global const float* x, long x_off, __global float* col, int C, int H, int W,
                     int OH, int OW, int kh, int kw, int sh, int sw, int dh, int dw, int pt,
                     int pl) {
  const int p = get_global_id(0);
  const int row = get_global_id(1);
  const int P = OH * OW;
  if (p >= P || row >= C * kh * kw) return;
  const int s = row % kw, r = (row / kw) % kh, c = row / (kw * kh);
  const int oh = p / OW, ow = p - oh * OW;
  const int ih = oh * sh - pt + r * dh, iw = ow * sw - pl + s * dw;
  float v = 0.0f;
  if (ih >= 0 && ih < H && iw >= 0 && iw < W) v = x[x_off + ((size_t)c * H + ih) * W + iw];
  col[(size_t)row * P + p] = v;
}
