// INT8 convolution kernels: register-blocked direct conv, depthwise conv and an implicit-GEMM
// conv with local-memory tiles, each with the fused epilogue
// y = act(acc * mult[k] + bias[k] + residual) stored as float, half or requantized int8.
// Build options: ACT (activation code) and USE_DP4A (NVIDIA: PTX dp4a for the GEMM's 4-way int8
// dot products). Shapes, dtypes and scales are runtime arguments.
//
// Exact integer sums from float FMAs: a product of two int8 values in [-127, 127] is an integer
// of magnitude <= 16129, and a float represents every integer up to 2^24 exactly, so up to
// 1040 such products add up in float with no rounding at all. The direct and depthwise kernels
// (the CPU's fast path: float FMAs are its widest multiply-add) accumulate at most EXACT_TAPS
// products in float, then move the sum into an int32 accumulator: the result is the int32 sum.
// (EXACT_TAPS: int8_tile.clh.)

// Eight consecutive int8 values of image row xr at columns iw..iw+7 as floats, zeros outside
// [0, W). A row of 8+ columns is read with one load, shifted into place when the eight columns
// straddle an edge (most blocks of small images do), so no column is read twice.
__attribute__((always_inline)) inline float8 row8(const __global char* xr, int iw, int W) {
  if (iw >= 0 && iw + 8 <= W) return convert_float8(vload8(0, xr + iw));
  const int8 q = (int8)(iw) + (int8)(0, 1, 2, 3, 4, 5, 6, 7);
  const int8 in = (q >= (int8)(0)) & (q < (int8)(W));
  if (W >= 8) {
    const int base = clamp(iw, 0, W - 8);
    const float8 v = convert_float8(vload8(0, xr + base));
    return select((float8)(0.0f), shuffle(v, as_uint8(q - (int8)(base)) & (uint8)(7)), in);
  }
  float t[8];
  for (int j = 0; j < 8; ++j) t[j] = (iw + j >= 0 && iw + j < W) ? (float)xr[iw + j] : 0.0f;
  return vload8(0, t);
}

// Zero-padded float copy of int8 images for conv_i8_direct: conv.cl's conv_pad for char input.
#define LD_CHAR(p, i) ((float)(p)[i])
__kernel void conv_i8_pad(__global const char* x, __global float* xp, int C, int H, int W, int Hp,
                          int Wp, int pt, int pl, int n0, int cpi) {
  CONV_PAD_ROW(x, LD_CHAR, xp, C, H, W, Hp, Wp, pt, pl, n0, cpi)
}

// Direct conv (the tiling of conv.cl's conv_direct): each work-item computes CONV_KB output
// channels x CONV_PB output columns of one output row, reading conv_i8_pad's zero-padded float
// copy of images [n0, n0 + get_global_size(2)) (Hp x Wp planes) through conv_padded_taps
// (window.clh). Weights are the quantized values as floats, packed by the host as
// [G][Kg/KB][Cg][kh][kw][KB] (zero padded); mult and bias are packed [G][Kg/KB][KB] alike.
// `cchunk` channels (cchunk * kh * kw <= EXACT_TAPS) are summed in float between moves into the
// int32 accumulators.

__kernel void conv_i8_direct(__global const float* xp, __global const float* wp,
                             __global const float* mp, __global const float* bp,
                             __global const void* res, __global void* y, int n0, int C, int Hp,
                             int Wp, int K, int OH, int OW, int G, int kh, int kw, int sh, int sw,
                             int dh, int dw, int cchunk, int res_dt, float res_scale, int out_dt,
                             float out_inv, float alpha, float beta) {
  ConvBlock blk;
  if (!conv_block(get_global_size(2), C, K, G, OH, OW, sh, sw, 0, 0, CONV_KB, CONV_PB, &blk))
    return;
  const int oh = blk.oh, ow0 = blk.ow0, g = blk.g, kblk = blk.kblk, gk = blk.gk;
  const int Cg = blk.Cg, Kg = blk.Kg, n = n0 + blk.n;
  const __global float* xb = xp + ((size_t)blk.n * C + (size_t)g * Cg) * Hp * Wp +
                             (size_t)oh * sh * Wp + ow0 * sw;
  const __global float* wb = wp + (size_t)gk * Cg * kh * kw * CONV_KB;

  int16 acc[CONV_PB];
#pragma unroll
  for (int j = 0; j < CONV_PB; ++j) acc[j] = (int16)(0);
  for (int c0 = 0; c0 < Cg; c0 += cchunk) {
    float16 f[CONV_PB];
#pragma unroll
    for (int j = 0; j < CONV_PB; ++j) f[j] = (float16)(0.0f);
    conv_padded_taps(f, xb, wb, c0, min(Cg, c0 + cchunk), Hp, Wp, kh, kw, sw, dh, dw);
#pragma unroll
    for (int j = 0; j < CONV_PB; ++j) acc[j] += convert_int16(f[j]);
  }

  // Epilogue on 16-channel vectors per output column (channel stride OH * OW).
  const float16 m16 = vload16(gk, mp), b16 = vload16(gk, bp);
  const int nk = min(CONV_KB, Kg - kblk * CONV_KB), nj = min(CONV_PB, OW - ow0);
  const size_t cs = (size_t)OH * OW;
  const size_t o0 = (((size_t)n * K + (size_t)g * Kg + kblk * CONV_KB) * OH + oh) * OW + ow0;
  store_i8_block(acc, nj, nk, o0, cs, m16, b16, res, res_dt, res_scale, y, out_dt, out_inv, alpha,
                 beta);
}

// Depthwise conv (group == C == K): each work-item computes CONV_PB output columns of one
// channel's output row. Weights [C][kh][kw] as floats (kh * kw <= EXACT_TAPS: one float sum is
// exact), mult and bias [C].
__kernel void conv_i8_depthwise(__global const char* x, __global const float* w,
                                __global const float* mult, __global const float* bias,
                                __global const void* res, __global void* y, int N, int C, int H,
                                int W, int OH, int OW, int kh, int kw, int sh, int sw, int dh,
                                int dw, int pt, int pl, int res_dt, float res_scale, int out_dt,
                                float out_inv, float alpha, float beta) {
  ConvBlock blk;
  if (!conv_block(N, C, C, C, OH, OW, sh, sw, pt, pl, 1, CONV_PB, &blk)) return;
  const int oh = blk.oh, ow0 = blk.ow0, c = blk.g, n = blk.n;

  const __global char* xc = x + ((size_t)n * C + c) * H * W;
  const __global float* wc = w + (size_t)c * kh * kw;
  const int ih0 = blk.ih0, iw0 = blk.iw0;
  float8 f = (float8)(0.0f);
  for (int r = 0; r < kh; ++r) {
    const int ih = ih0 + r * dh;
    if (ih < 0 || ih >= H) continue;
    const __global char* xr = xc + (size_t)ih * W;
    for (int s = 0; s < kw; ++s) {
      const float wv = wc[r * kw + s];
      const int iw = iw0 + s * dw;
      float8 xv;
      if (sw == 1) {
        xv = row8(xr, iw, W);
      } else {
        float t[CONV_PB];
#pragma unroll
        for (int j = 0; j < CONV_PB; ++j) {
          const int q = iw + j * sw;
          t[j] = (q >= 0 && q < W) ? (float)xr[q] : 0.0f;
        }
        xv = vload8(0, t);
      }
      f = fma(xv, (float8)(wv), f);
    }
  }
  // f is the exact integer sum (at most EXACT_TAPS products).
  const size_t o = (((size_t)n * C + c) * OH + oh) * OW + ow0;
  const int nj = min(CONV_PB, OW - ow0);
  float8 v = fma(f, (float8)(mult[c]), (float8)(bias[c]));
  if (res_dt >= 0) v += load8_any(res, o, 1, nj, res_dt, res_scale);
  store8_any(y, o, 1, nj, apply_act8(v, alpha, beta), out_dt, out_inv);
}

// The same where a tensor is stored channels last ([N, H, W, C]): one work-item per output with
// the channel fastest across work-items (contiguous loads of one tap from an HWC input); gid 0
// the channel, 1 the output column, 2 image * OH + output row. in_hwc / res_hwc / out_hwc: the
// input, residual and output layouts (NCHW otherwise).
__kernel void conv_i8_depthwise_hwc(__global const char* x, __global const float* w,
                                    __global const float* mult, __global const float* bias,
                                    __global const void* res, __global void* y, int C, int H,
                                    int W, int OH, int OW, int NOH, int kh, int kw, int sh, int sw,
                                    int dh, int dw, int pt, int pl, int res_dt, float res_scale,
                                    int out_dt, float out_inv, float alpha, float beta, int in_hwc,
                                    int res_hwc, int out_hwc) {
  const int c = get_global_id(0), ow = get_global_id(1), noh = get_global_id(2);
  if (c >= C || ow >= OW || noh >= NOH) return;
  const int n = noh / OH, oh = noh - n * OH;
  const size_t step = in_hwc ? (size_t)C : 1;  // elements between neighbouring pixels
  const __global char* xc = x + layout_index(in_hwc, n, c, 0, C, (size_t)H * W);
  const __global float* wc = w + (size_t)c * kh * kw;
  const int ih0 = oh * sh - pt, iw0 = ow * sw - pl;
  float f = 0.0f;  // the exact integer sum (at most EXACT_TAPS products)
  DW_TAPS(f = fma((float)xc[((size_t)ih * W + iw) * step], wc[r * kw + s], f);)
  const size_t sp = (size_t)oh * OW + ow, S = (size_t)OH * OW;
  float v = fma(f, mult[c], bias[c]);
  if (res_dt >= 0) v += load_any(res, layout_index(res_hwc, n, c, sp, C, S), res_dt, res_scale);
  store_any(y, layout_index(out_hwc, n, c, sp, C, S), apply_act(v, alpha, beta), out_dt, out_inv);
}

// conv_i8_depthwise_hwc with the input, the output (and any residual) channels last and C a
// multiple of 8: a work-item per 8 channels of one output pixel (one 8-byte load per tap, 8-wide
// aligned epilogue accesses); the same sums and rounding. Weights as [kh * kw][C] (wt). gid 0:
// channel octet + C / 8 * output column (padded to the work-group), 1: image * OH + output row.
__kernel void conv_i8_depthwise_hwc8(__global const char* x, __global const float* wt,
                                     __global const float* mult, __global const float* bias,
                                     __global const void* res, __global void* y, int C, int H,
                                     int W, int OH, int OW, int NOH, int kh, int kw, int sh,
                                     int sw, int dh, int dw, int pt, int pl, int res_dt,
                                     float res_scale, int out_dt, float out_inv, float alpha,
                                     float beta) {
  const int C8 = C / 8, q = get_global_id(0), noh = get_global_id(1);
  if (q >= C8 * OW || noh >= NOH) return;
  const int ow = q / C8, c = (q - ow * C8) * 8;
  const int n = noh / OH, oh = noh - n * OH;
  const __global char* xn = x + (size_t)n * H * W * C + c;
  const int ih0 = oh * sh - pt, iw0 = ow * sw - pl;
  float8 f = 0.0f;  // the exact integer sums (at most EXACT_TAPS products)
  DW_TAPS(f = fma(convert_float8(*((__global const char8*)xn + ((size_t)ih * W + iw) * C / 8)),
                  *((__global const float8*)wt + ((size_t)(r * kw + s) * C + c) / 8), f);)
  const size_t o = ((size_t)noh * OW + ow) * C + c;
  const __global float8* m8 = (__global const float8*)mult + c / 8;
  float8 v = fma(f, *m8, *((__global const float8*)bias + c / 8));
  if (res_dt >= 0) v += load8a_any(res, o, res_dt, res_scale);
  store8a_any(y, o, apply_act8(v, alpha, beta), out_dt, out_inv);
}

// conv_i8_depthwise_hwc8 over four consecutive output columns a work-item
// (conv.int8_depthwise_w4): a tap's 8 weights (32 bytes of floats, four times the tap's 8
// bytes of activations) are loaded once for the four outputs instead of once each. Each
// output's sum in the same order as conv_i8_depthwise_hwc8's. gid 0: channel octet + C / 8 *
// output column quad (padded to the work-group), 1: image * OH + output row.
__kernel void conv_i8_depthwise_hwc8x4(__global const char* x, __global const float* wt,
                                       __global const float* mult, __global const float* bias,
                                       __global const void* res, __global void* y, int C, int H,
                                       int W, int OH, int OW, int NOH, int kh, int kw, int sh,
                                       int sw, int dh, int dw, int pt, int pl, int res_dt,
                                       float res_scale, int out_dt, float out_inv, float alpha,
                                       float beta) {
  DW_QUAD_PROLOGUE
  const __global char* xn = x + (size_t)n * H * W * C + c;
  float8 f[4] = {(float8)(0.0f), (float8)(0.0f), (float8)(0.0f), (float8)(0.0f)};
  DW_TAPS_QUAD({
    f[u] = fma(convert_float8(*((__global const char8*)xn + ((size_t)ih * W + iw) * C / 8)), w8,
               f[u]);
  })
  const float8 m8 = *((__global const float8*)mult + c / 8);
  const float8 b8 = *((__global const float8*)bias + c / 8);
#pragma unroll
  for (int u = 0; u < 4; ++u) {
    if (ow0 + u >= OW) break;
    const size_t o = ((size_t)noh * OW + ow0 + u) * C + c;
    float8 v = fma(f[u], m8, b8);
    if (res_dt >= 0) v += load8a_any(res, o, res_dt, res_scale);
    store8a_any(y, o, apply_act8(v, alpha, beta), out_dt, out_inv);
  }
}

// ---- Implicit GEMM: out[k][p] = sum_r W[k][r] * X[r][p] per group, r over (c, kr, ks) taps,
// p over the N * OH * OW output pixels. ----
// A GEMM_WG x GEMM_WG work-group computes I8_TM channels x I8_TN pixels; each work-item
// GEMM_R x GEMM_R outputs (channels ty + GEMM_WG*i, pixels tx + GEMM_WG*j: conflict-free local
// reads, coalesced stores). Each step stages GEMM_TQ quads (4 consecutive taps packed in an int,
// byte e = tap 4q+e) of weights and gathered inputs in local memory.
// (Tile sizes: int8_tile.clh.)
// wq: [G][Rq][Kgp] quads (Rq = taps padded to GEMM_TQ quads / 4, Kgp = Kg padded to I8_TM),
// zero padded. taps: [Rq * 4] int4 {c, kr * dh, ks * dw, valid}. mult/bias: [K].
__kernel __attribute__((reqd_work_group_size(GEMM_WG, GEMM_WG, 1))) void conv_i8_gemm(
    __global const char* x, __global const int* wq, __global const int4* taps,
    __global const float* mult, __global const float* bias, __global const void* res,
    __global void* y, int N, int C, int H, int W, int K, int OH, int OW, int G, int Kgp, int Rq,
    int sh, int sw, int pt, int pl, int res_dt, float res_scale, int out_dt, float out_inv,
    float alpha, float beta) {
  __local int Ws[GEMM_TQ][I8_TM];
  __local int Xs[GEMM_TQ][I8_TN];
  const int tx = get_local_id(0), ty = get_local_id(1);
  const int lid = ty * GEMM_WG + tx;
  const int p0 = get_group_id(0) * I8_TN, k0 = get_group_id(1) * I8_TM;
  const int g = get_group_id(2);
  const int Cg = C / G, Kg = K / G;
  const int OHW = OH * OW, NP = N * OHW;

  // The pixel this work-item gathers (the same one at every step).
  const int gp = lid % I8_TN, gq = lid / I8_TN;  // gq < GEMM_WG*GEMM_WG / I8_TN
  const int pix = p0 + gp;
  const bool pix_ok = pix < NP;
  const int pn = pix_ok ? pix / OHW : 0;
  const int prem = pix_ok ? pix - pn * OHW : 0;
  const int poh = prem / OW, pow_ = prem - poh * OW;
  const int ih0 = poh * sh - pt, iw0 = pow_ * sw - pl;
  const __global char* xb = x + ((size_t)pn * C + (size_t)g * Cg) * H * W;
  const __global int* wg = wq + (size_t)g * Rq * Kgp;

  int acc[GEMM_R][GEMM_R];
  I8_TILE_ZERO(acc);

  for (int q0 = 0; q0 < Rq; q0 += GEMM_TQ) {
    I8_TILE_STAGE_W(Ws, wg, q0, Kgp, k0, lid);
    for (int q = gq; q < GEMM_TQ; q += GEMM_WG * GEMM_WG / I8_TN) {
      uint packed = 0;
      for (int e = 0; e < 4; ++e) {
        const int4 t = taps[(q0 + q) * 4 + e];
        const int ih = ih0 + t.y, iw = iw0 + t.z;
        char v = 0;
        if (pix_ok && t.w && ih >= 0 && ih < H && iw >= 0 && iw < W)
          v = xb[((size_t)t.x * H + ih) * W + iw];
        packed |= (uint)(uchar)v << (8 * e);
      }
      Xs[q][gp] = (int)packed;
    }
    I8_TILE_MAC(Ws, Xs, tx, ty, acc);
  }

  for (int i = 0; i < GEMM_R; ++i) {
    const int k = k0 + ty + GEMM_WG * i;
    if (k >= Kg) break;
    const int kc = g * Kg + k;
    const float m = mult[kc], b = bias[kc];
    for (int j = 0; j < GEMM_R; ++j) {
      const int p = p0 + tx + GEMM_WG * j;
      if (p >= NP) break;
      const int n = p / OHW;
      const size_t o = ((size_t)n * K + kc) * OHW + (p - n * OHW);
      store_any(y, o, int8_epilogue(acc[i][j], m, b, res, o, res_dt, res_scale, alpha, beta), out_dt,
                out_inv);
    }
  }
}
