// INT8 1x1 convolution, stride 1, no padding: per image and group a GEMM
// out[k][p] = sum_c W[k][c] * X[c][p] over the H * W pixels taken as one row, with the fused
// epilogue y = act(acc * mult[k] + bias[k] + residual) stored as float, half or int8.
// conv_i8_direct blocks each output row on its own, so on the small maps where 1x1 convs
// dominate (7x7, 14x14) its CONV_PB-column blocks straddle row ends (a shuffled load, or column
// by column below 8 columns); here every block but an image's last is one vector load per
// channel.
// Build options: ACT, and the tunables EXACT_TAPS, CONV_KB, CONV_PB (tactics/int8_conv1x1.cc).

// Each work-item: CONV_KB output channels x CONV_PB consecutive pixels of one image. Weights,
// mult and bias packed as conv_i8_direct's ([G][Kg/KB][Cg][KB] floats, [G][Kg/KB][KB]).
__kernel void conv_i8_1x1(__global const char* x, __global const float* wp,
                          __global const float* mp, __global const float* bp,
                          __global const void* res, __global void* y, int N, int C, int K, int P,
                          int G, int res_dt, float res_scale, int out_dt, float out_inv,
                          float alpha, float beta) {
  const int p0 = get_global_id(0) * CONV_PB;
  const int Cg = C / G, Kg = K / G;
  const int nkb = (Kg + CONV_KB - 1) / CONV_KB;
  const int gk = get_global_id(1);  // g * nkb + kblk
  const int n = get_global_id(2);
  if (p0 >= P || gk >= G * nkb || n >= N) return;
  const int g = gk / nkb, kblk = gk - g * nkb;
  const int nj = min(CONV_PB, P - p0);

  const __global char* xb = x + ((size_t)n * C + (size_t)g * Cg) * P + p0;
  const __global float* wb = wp + (size_t)gk * Cg * CONV_KB;

  int16 acc[CONV_PB];
#pragma unroll
  for (int j = 0; j < CONV_PB; ++j) acc[j] = (int16)(0);
  for (int c0 = 0; c0 < Cg; c0 += EXACT_TAPS) {
    const int c1 = min(Cg, c0 + EXACT_TAPS);
    float16 f[CONV_PB];
#pragma unroll
    for (int j = 0; j < CONV_PB; ++j) f[j] = (float16)(0.0f);
    for (int c = c0; c < c1; ++c) {
      const float16 wv = vload16(c, wb);
      const __global char* xc = xb + (size_t)c * P;
      float xv[CONV_PB];
      if (nj == CONV_PB) {
        vstore8(convert_float8(vload8(0, xc)), 0, xv);
      } else {
#pragma unroll
        for (int j = 0; j < CONV_PB; ++j) xv[j] = j < nj ? (float)xc[j] : 0.0f;
      }
#pragma unroll
      for (int j = 0; j < CONV_PB; ++j) f[j] = fma((float16)(xv[j]), wv, f[j]);
    }
#pragma unroll
    for (int j = 0; j < CONV_PB; ++j) acc[j] += convert_int16(f[j]);
  }

  const size_t o0 = ((size_t)n * K + (size_t)g * Kg + kblk * CONV_KB) * P + p0;
  store_i8_block(acc, nj, min(CONV_KB, Kg - kblk * CONV_KB), o0, P, vload16(gk, mp),
                 vload16(gk, bp), res, res_dt, res_scale, y, out_dt, out_inv, alpha, beta);
}
