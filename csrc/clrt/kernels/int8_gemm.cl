// INT8 MatMul kernels against constant weights (op(B) quantized per output column n): a few-rows
// kernel (float-exact sums, the CPU's path) and a local-memory tiled GEMM (PTX dp4a on NVIDIA),
// both with the fused epilogue y = act(acc * mult[n] + bias[n] + residual) stored as float,
// half or requantized int8. Build options: ACT, USE_DP4A. A is [rows, K] with rows = batch * M
// (or per batch [K, M] when trans_a), the output [rows, N].
//
// Exact integer sums from float FMAs: int8 x int8 products are integers of magnitude <= 16129
// and floats hold every integer up to 2^24, so EXACT_TAPS products add up in float exactly
// before moving into an int32 accumulator.
// (EXACT_TAPS: int8_tile.clh.)

// The element offset of A(row, k): a_row + k * a_sk.
inline int a_row_offset(int row, int M, int K, int ta) {
  if (!ta) return row * K;
  const int b = row / M;
  return b * M * K + (row - b * M);
}

// Each work-item computes 16 consecutive columns of one row, streaming the weights (the
// quantized values as floats, [K][Np], Np = N padded to 16) with an axpy per k. mult and bias
// are padded to Np too.
__kernel void gemm_i8_rows(__global const char* A, __global const float* wf,
                           __global const float* mult, __global const float* bias,
                           __global const void* res, __global void* y, int rows, int M, int N,
                           int K, int Np, int ta, int res_dt, float res_scale, int out_dt,
                           float out_inv, float alpha, float beta) {
  const int n0 = get_global_id(0) * 16;
  const int row = get_global_id(1);
  if (n0 >= N || row >= rows) return;
  const __global char* Ar = A + a_row_offset(row, M, K, ta);
  const int a_sk = ta ? M : 1;
  const __global float* wn = wf + n0;
  int16 acc = (int16)(0);
  for (int k0 = 0; k0 < K; k0 += EXACT_TAPS) {
    const int k1 = min(K, k0 + EXACT_TAPS);
    float16 f = (float16)(0.0f);
    for (int k = k0; k < k1; ++k)
      f = fma((float16)((float)Ar[(size_t)k * a_sk]), vload16(0, wn + (size_t)k * Np), f);
    acc += convert_int16(f);
  }
  const size_t o = (size_t)row * N + n0;
  const int nn = min(16, N - n0);
  float16 v = fma(convert_float16(acc), vload16(0, mult + n0), vload16(0, bias + n0));
  if (res_dt >= 0) v += load16_any(res, o, 1, nn, res_dt, res_scale);
  store16_any(y, o, 1, nn, apply_act16(v, alpha, beta), out_dt, out_inv);
}

// Tiled GEMM (as int8_conv.cl's conv_i8_gemm): a GEMM_WG x GEMM_WG work-group computes I8_TM
// columns x I8_TN rows, each work-item GEMM_R x GEMM_R of them; each step stages GEMM_TQ quads
// (4 consecutive k packed in an int, byte e = k 4q+e) of weights and A in local memory.
// (Tile sizes: int8_tile.clh.)
// wq: [Kq][Np] quads (Kq = K padded to GEMM_TQ quads / 4, Np = N padded to I8_TM), zero
// padded.
__kernel __attribute__((reqd_work_group_size(GEMM_WG, GEMM_WG, 1))) void gemm_i8_tiled(
    __global const char* A, __global const int* wq, __global const float* mult,
    __global const float* bias, __global const void* res, __global void* y, int rows, int M,
    int N, int K, int Np, int Kq, int ta, int res_dt, float res_scale, int out_dt, float out_inv,
    float alpha, float beta) {
  __local int Ws[GEMM_TQ][I8_TM];
  __local int As[GEMM_TQ][I8_TN];
  const int tx = get_local_id(0), ty = get_local_id(1);
  const int lid = ty * GEMM_WG + tx;
  const int r0 = get_group_id(0) * I8_TN, n0 = get_group_id(1) * I8_TM;

  // The row this work-item gathers (the same one at every step).
  const int gr = lid % I8_TN, gq = lid / I8_TN;
  const int row = r0 + gr;
  const bool row_ok = row < rows;
  const __global char* Ar = A + (row_ok ? a_row_offset(row, M, K, ta) : 0);
  const int a_sk = ta ? M : 1;

  int acc[GEMM_R][GEMM_R];
  I8_TILE_ZERO(acc);

  for (int q0 = 0; q0 < Kq; q0 += GEMM_TQ) {
    I8_TILE_STAGE_W(Ws, wq, q0, Np, n0, lid);
    for (int q = gq; q < GEMM_TQ; q += GEMM_WG * GEMM_WG / I8_TN) {
      const int k = (q0 + q) * 4;
      uint packed = 0;
      if (row_ok && ta == 0 && k + 3 < K) {
        packed = as_uint(vload4(0, Ar + k));
      } else if (row_ok) {
        for (int e = 0; e < 4; ++e)
          if (k + e < K) packed |= (uint)(uchar)Ar[(size_t)(k + e) * a_sk] << (8 * e);
      }
      As[q][gr] = (int)packed;
    }
    I8_TILE_MAC(Ws, As, tx, ty, acc);
  }

  for (int i = 0; i < GEMM_R; ++i) {
    const int n = n0 + ty + GEMM_WG * i;
    if (n >= N) break;
    const float m = mult[n], b = bias[n];
    for (int j = 0; j < GEMM_R; ++j) {
      const int r = r0 + tx + GEMM_WG * j;
      if (r >= rows) break;
      const size_t o = (size_t)r * N + n;
      store_any(y, o, int8_epilogue(acc[i][j], m, b, res, o, res_dt, res_scale, alpha, beta), out_dt,
                out_inv);
    }
  }
}
