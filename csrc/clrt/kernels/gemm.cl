// GEMM kernels for MatMul: a local-memory tiled batched GEMM and a few-rows GEMM, both with NumPy
// batch broadcasting and a fused epilogue, and the bias+act epilogue run after CLBlast. Only ACT
// and the operand storage (STORAGE_HALF) are build options; the tiling (GEMM_*) is the tactic's
// (tactics/matmul.cc), passed as build options (the defaults only let the file compile alone).




// Tiling: a work-group of GEMM_WGN x GEMM_WGM work-items computes a GEMM_TM x GEMM_TN tile of C
// from GEMM_TK-deep tiles of A and B staged in local memory; each work-item keeps GEMM_RM rows x
// 16 columns in float16 registers (an outer product per k: one vector of B, RM scalars of A).
#ifndef GEMM_WGN
#define GEMM_WGN 8
#endif
#ifndef GEMM_WGM
#define GEMM_WGM 8
#endif
#ifndef GEMM_RM
#define GEMM_RM 8
#endif
#ifndef GEMM_TK
#define GEMM_TK 16
#endif
#define GEMM_TN (GEMM_WGN * 16)
#define GEMM_TM (GEMM_WGM * GEMM_RM)

// C[b] = op(A)[b] (M x K) * op(B)[b] (K x N), row-major C [batch, M, N]. op() is folded into
// element strides: op(A)[m][k] = A[a_off + m*a_sm + k*a_sk], op(B)[k][n] = B[b_off + k*b_sk +
// n*b_sn]. Batch b is decomposed over the output batch dims bdims[0..nbd) (row-major); a_bs/b_bs
// are each operand's element stride per batch dim (0 where it broadcasts).
__kernel __attribute__((reqd_work_group_size(GEMM_WGN, GEMM_WGM, 1))) void gemm_tiled(
    __global const st_t* A, __global const st_t* B, __global const float* bias,
    __global const st_t* res, __global st_t* Cm, int M, int N, int K, long a_sm, long a_sk,
    long b_sk, long b_sn, int8 bdims, long8 a_bs, long8 b_bs, int nbd, int has_bias, int has_res,
    float alpha, float beta) {
  __local float As[GEMM_TK][GEMM_TM];
  __local float Bs[GEMM_TK][GEMM_TN];
  const int tx = get_local_id(0), ty = get_local_id(1);
  const int n0 = get_group_id(0) * GEMM_TN, m0 = get_group_id(1) * GEMM_TM;
  const int bat = get_global_id(2);

  long a_off, b_off;
  batch_offsets(bat, bdims, a_bs, b_bs, nbd, &a_off, &b_off);
  const __global st_t* Ab = A + a_off;
  const __global st_t* Bb = B + b_off;

  float16 acc[GEMM_RM];
  for (int i = 0; i < GEMM_RM; ++i) acc[i] = (float16)(0.0f);

  const int lid = ty * GEMM_WGN + tx;
  const int nwi = GEMM_WGN * GEMM_WGM;
  // Tile loads: consecutive work-items walk the operand's contiguous dimension.
  const bool a_kfast = a_sk == 1;
  const bool b_nfast = b_sn == 1;
  for (int k0 = 0; k0 < K; k0 += GEMM_TK) {
    for (int l = lid; l < GEMM_TK * GEMM_TM; l += nwi) {
      const int kk = a_kfast ? l % GEMM_TK : l / GEMM_TM;
      const int mm = a_kfast ? l / GEMM_TK : l % GEMM_TM;
      const int m = m0 + mm, k = k0 + kk;
      As[kk][mm] = (m < M && k < K) ? LD(Ab, m * a_sm + k * a_sk) : 0.0f;
    }
    for (int l = lid; l < GEMM_TK * GEMM_TN; l += nwi) {
      const int kk = b_nfast ? l / GEMM_TN : l % GEMM_TK;
      const int nn = b_nfast ? l % GEMM_TN : l / GEMM_TK;
      const int n = n0 + nn, k = k0 + kk;
      Bs[kk][nn] = (n < N && k < K) ? LD(Bb, k * b_sk + n * b_sn) : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 0; kk < GEMM_TK; ++kk) {
      const float16 b = vload16(tx, &Bs[kk][0]);
      for (int i = 0; i < GEMM_RM; ++i)
        acc[i] = fma((float16)(As[kk][ty * GEMM_RM + i]), b, acc[i]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  for (int i = 0; i < GEMM_RM; ++i) {
    const int m = m0 + ty * GEMM_RM + i;
    if (m >= M) break;
    float v16[16];
    vstore16(acc[i], 0, v16);
    for (int j = 0; j < 16; ++j) {
      const int n = n0 + tx * 16 + j;
      if (n >= N) break;
      const size_t idx = ((size_t)bat * M + m) * N + n;
      float v = v16[j];
      if (has_bias) v += bias[n];
      if (has_res) v += LD(res, idx);
      ST(Cm, idx, apply_act(v, alpha, beta));
    }
  }
}

// Few rows (M too small to fill gemm_tiled's tiles, e.g. a batch-1 linear layer): each
// work-item computes 16 consecutive columns of one row of C, streaming B without local memory.
// When A rows and B columns are contiguous along K (B transposed, as ONNX Gemm transB=1 stores
// it) the 16 outputs are vector dot products over K; otherwise an axpy over B's rows.
__kernel void gemm_rows(__global const st_t* A, __global const st_t* B,
                        __global const float* bias, __global const st_t* res, __global st_t* Cm,
                        int M, int N, int K, long a_sm, long a_sk, long b_sk, long b_sn, int8 bdims,
                        long8 a_bs, long8 b_bs, int nbd, int has_bias, int has_res, float alpha,
                        float beta) {
  const int n0 = get_global_id(0) * 16;
  const int m = get_global_id(1);
  const int bat = get_global_id(2);
  if (n0 >= N || m >= M) return;
  long a_off, b_off;
  batch_offsets(bat, bdims, a_bs, b_bs, nbd, &a_off, &b_off);
  const __global st_t* Ar = A + a_off + m * a_sm;
  const __global st_t* Bb = B + b_off;
  const int nn = min(16, N - n0);
  float out[16];
  if (a_sk == 1 && b_sk == 1) {
    const int K16 = K & ~15;
    for (int j = 0; j < 16; ++j) {
      const __global st_t* Bc = Bb + (long)min(n0 + j, N - 1) * b_sn;
      float16 acc = (float16)(0.0f);
      for (int k = 0; k < K16; k += 16) acc = fma(LD16(Ar, k), LD16(Bc, k), acc);
      float s = 0.0f;
      for (int k = K16; k < K; ++k) s = fma(LD(Ar, k), LD(Bc, k), s);
      const float8 h8 = acc.lo + acc.hi;
      const float4 h4 = h8.lo + h8.hi;
      out[j] = s + (h4.x + h4.y) + (h4.z + h4.w);
    }
  } else {
    float16 acc = (float16)(0.0f);
    const bool vec = b_sn == 1 && nn == 16;
    for (int k = 0; k < K; ++k) {
      const float a = LD(Ar, k * a_sk);
      const __global st_t* Bk = Bb + k * b_sk;
      float16 b;
      if (vec) {
        b = LD16(Bk, n0);
      } else {
        float t[16];
        for (int j = 0; j < 16; ++j) t[j] = j < nn ? LD(Bk, (long)(n0 + j) * b_sn) : 0.0f;
        b = vload16(0, t);
      }
      acc = fma((float16)(a), b, acc);
    }
    vstore16(acc, 0, out);
  }
  for (int j = 0; j < nn; ++j) {
    const int n = n0 + j;
    const size_t idx = ((size_t)bat * M + m) * N + n;
    float v = out[j];
    if (has_bias) v += bias[n];
    if (has_res) v += LD(res, idx);
    ST(Cm, idx, apply_act(v, alpha, beta));
  }
}

// Serves the CLBlast tactics, which run FP32 only: always float.
// In-place epilogue after a GEMM: y[o][i] = act(y + bias + res), o = outer index (gid 1),
// i = inner index (gid 0). The bias index is i when bias_inner (MatMul: bias over the last dim)
// else o % nbias (conv: bias per output channel, outer = n*K + k).
__kernel void bias_act(__global float* y, __global const float* bias, __global const float* res,
                       int inner, int outer, int nbias, int bias_inner, int has_bias, int has_res,
                       float alpha, float beta) {
  const int i = get_global_id(0);
  const int o = get_global_id(1);
  if (i >= inner || o >= outer) return;
  const size_t idx = (size_t)o * inner + i;
  float v = y[idx];
  if (has_bias) v += bias[bias_inner ? i : o % nbias];
  if (has_res) v += res[idx];
  y[idx] = apply_act(v, alpha, beta);
}
