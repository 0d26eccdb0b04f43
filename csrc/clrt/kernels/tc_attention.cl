// Fused attention on NVIDIA tensor cores (ATTENTION layers in FP16, tactics/attention.cc):
// out = softmax(q k^T * scale + bias) v with q, k, v stored as half and k as [Skv, HD] rows.
// A work-group of WARPS warps takes 16 query rows per warp; for each tile of HD keys it stages
// K and V (V transposed, as the B operand of the second product wants it) in local memory, forms
// the scores with mma.sync (tc_mma.clh's TILE_MMA, the GEMM kernels' swizzled tiles and
// fragment layout), folds them into each row's running maximum and sum (the online softmax;
// the four lanes holding a row exchange their partial maxima through local memory), writes the
// probabilities as half into a local A tile and multiplies it by V into the output
// accumulators, rescaled when a row's maximum grows. Scores and probabilities never reach global
// memory. TC_EMULATE swaps the PTX for its exact emulation (tc_mma.clh), so the same staging,
// masking and softmax run on any device.
//
// Build options: HD (head size of q, k and v: 32 or 64, which is also the key tile), WARPS,
// TC_EMULATE, STORAGE_HALF (the bias and output are half; set by the tactic), PREFETCH (1: each
// key tile's K and V rows are loaded into registers while the tile before it is multiplied, and
// stored to local memory at the next tile: their global latency overlaps the products instead
// of stalling every warp once a tile; attention.tc_fp16_prefetch, which timing weighs against
// the plain kernel).
#ifndef PREFETCH
#define PREFETCH 0
#endif

#ifndef TC_EMULATE
#define TC_EMULATE 0
#endif
#ifndef WARPS
#define WARPS 4
#endif
#if HD != 32 && HD != 64
#error "tc_attention takes head sizes 32 and 64"
#endif
#define TC_INT8 0
#define TC_TF32 0
#define NT (32 * WARPS)
#define BM (16 * WARPS)
#define KCH (HD / 8)  // 16-byte chunks of a row of HD halves (and of a key tile's HD keys)
#define TM 1
#define TN (HD / 8)  // n8 tiles across a key tile (first product) or the head (second)
typedef float acc_t;
#if TC_EMULATE
#define TC_UNROLL _Pragma("clang loop unroll(disable)")
#else
#define TC_UNROLL _Pragma("unroll")
#endif

#include "tc_mma.clh"
#include "attention.clh"

// Element (row, col) of a swizzled half tile of KCH chunks per row, in halves.
#define HALF_AT(row, col) ((((row) * KCH) + (((col) >> 3) ^ SWZ(row))) * 8 + ((col) & 7))

// q [L, sq, HD], k [L, skv, HD], v [L, skv, HD] (half bits, rows of HD contiguous halves at
// multiples of 8), out [L, sq, HD] and the bias where attention.clh's strides put them. NaN and
// masked rows (nan_to_zero) as attention.cl.
__kernel __attribute__((reqd_work_group_size(NT, 1, 1))) void tc_attention(
    __global const ushort* q, __global const ushort* k, __global const ushort* v,
    __global const bias_t* bias, __global st_t* out, int sq, int skv, float scale, int has_bias,
    IndexPack lp, IndexPack op, AttnStrides s, int nan_to_zero) {
  __local uint4 Qs[BM * KCH], Ks[HD * KCH], Vs[HD * KCH], Ps[BM * KCH];
  __local float red[BM * 4];
  __local half* const ph = (__local half*)Ps;
  __local ushort* const vh = (__local ushort*)Vs;
  const int tid = get_local_id(0), lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int wm = warp * 16, wn = 0;
  const int l = get_group_id(1), m0 = get_group_id(0) * BM;
  const long qbase = s.qo + (long)pack_offset(&lp, 0, l);
  const long kbase = s.ko + (long)pack_offset(&lp, 1, l), vbase = s.vo + (long)pack_offset(&lp, 2, l);
  const long obase = s.oo + (long)pack_offset(&op, 0, l);
  for (int idx = tid; idx < BM * KCH; idx += NT) {
    const int r = idx / KCH, c = idx - r * KCH;
    uint4 val = (uint4)(0u);
    if (m0 + r < sq) val = *(__global const uint4*)(q + qbase + (long)(m0 + r) * s.qi + c * 8);
    Qs[r * KCH + (c ^ SWZ(r))] = val;
  }
  // This lane's two rows (g and g + 8 of its warp's 16): running max, sum of its columns, NaN.
  float m[2] = {-INFINITY, -INFINITY}, lsum[2] = {0.0f, 0.0f};
  int bad[2] = {0, 0}, anyb[2] = {0, 0};  // a NaN score; a bias value other than -inf
  long boff[2] = {0, 0};
  const long lb = has_bias ? (long)pack_offset(&op, 1, l) : 0;
  for (int hr = 0; hr < 2; ++hr) boff[hr] = lb + (long)min(m0 + wm + g + 8 * hr, sq - 1) * s.bi;
  acc_t oacc[TM][TN][4];
  for (int j = 0; j < TN; ++j)
    for (int e = 0; e < 4; ++e) oacc[0][j][e] = 0.0f;
  // Chunk c of key row r of the tile at key j0_ into kv_ / vv_ (zeros past the last key); both
  // into the local tiles, V transposed: row d of Vs holds column d of the tile, key r at column
  // r.
#define KV_LOAD(j0_, r, c, kv_, vv_)                                                  \
  {                                                                                   \
    kv_ = vv_ = (uint4)(0u);                                                          \
    if ((j0_) + (r) < skv) {                                                          \
      kv_ = *(__global const uint4*)(k + kbase + (long)((j0_) + (r)) * s.kj + (c) * 8); \
      vv_ = *(__global const uint4*)(v + vbase + (long)((j0_) + (r)) * s.vj + (c) * 8); \
    }                                                                                 \
  }
#define KV_STORE(r, c, kv_, vv_)                                   \
  {                                                                \
    Ks[(r) * KCH + ((c) ^ SWZ(r))] = kv_;                          \
    const uint w_[4] = {vv_.x, vv_.y, vv_.z, vv_.w};               \
    for (int u_ = 0; u_ < 8; ++u_)                                 \
      vh[HALF_AT((c) * 8 + u_, r)] = (ushort)(w_[u_ >> 1] >> (16 * (u_ & 1))); \
  }
#if PREFETCH
#define KV_IT (HD * KCH / NT)  // chunks of K (and of V) a thread moves per tile
#if HD * KCH % NT != 0
#error "PREFETCH: a key tile's chunks must split evenly over the work-group"
#endif
  uint4 kr[KV_IT], vr[KV_IT];
  TC_UNROLL for (int i = 0; i < KV_IT; ++i) {
    const int idx = tid + i * NT, r = idx / KCH, c = idx - r * KCH;
    KV_LOAD(0, r, c, kr[i], vr[i])
  }
#endif
  for (int j0 = 0; j0 < skv; j0 += HD) {
    barrier(CLK_LOCAL_MEM_FENCE);  // the last tile's readers are done
#if PREFETCH
    TC_UNROLL for (int i = 0; i < KV_IT; ++i) {
      const int idx = tid + i * NT, r = idx / KCH, c = idx - r * KCH;
      KV_STORE(r, c, kr[i], vr[i])
      if (j0 + HD < skv) KV_LOAD(j0 + HD, r, c, kr[i], vr[i])  // in flight during the products
    }
#else
    for (int idx = tid; idx < HD * KCH; idx += NT) {
      const int r = idx / KCH, c = idx - r * KCH;
      uint4 kv, vv;
      KV_LOAD(j0, r, c, kv, vv)
      KV_STORE(r, c, kv, vv)
    }
#endif
    barrier(CLK_LOCAL_MEM_FENCE);
    acc_t sacc[TM][TN][4];
    for (int j = 0; j < TN; ++j)
      for (int e = 0; e < 4; ++e) sacc[0][j][e] = 0.0f;
#define acc sacc
    TILE_MMA(Qs, Ks);
#undef acc
    // Scores: scaled, biased, keys past the end masked; the row maxima of this tile.
    float tmax[2] = {-INFINITY, -INFINITY};
    for (int j = 0; j < TN; ++j)
      for (int e = 0; e < 4; ++e) {
        const int hr = e >> 1, key = j0 + 8 * j + 2 * t + (e & 1);
        float x = sacc[0][j][e] * scale;
        if (key >= skv)
          x = -INFINITY;
        else if (has_bias) {
          const float b = LDB(bias, boff[hr] + (long)key * s.bj);
          anyb[hr] |= !(b == -INFINITY);
          x += b;
        }
        bad[hr] |= isnan(x);
        sacc[0][j][e] = x;
        tmax[hr] = fmax(tmax[hr], x);
      }
    red[(wm + g) * 4 + t] = tmax[0];
    red[(wm + g + 8) * 4 + t] = tmax[1];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int hr = 0; hr < 2; ++hr) {
      const int r = wm + g + 8 * hr;
      const float tm = fmax(fmax(red[r * 4], red[r * 4 + 1]), fmax(red[r * 4 + 2], red[r * 4 + 3]));
      if (tm > m[hr]) {
        const float c = exp(m[hr] - tm);  // 0 while the row had no key
        lsum[hr] *= c;
        for (int j = 0; j < TN; ++j) {
          oacc[0][j][2 * hr] *= c;
          oacc[0][j][2 * hr + 1] *= c;
        }
        m[hr] = tm;
      }
    }
    for (int j = 0; j < TN; ++j)
      for (int e = 0; e < 4; ++e) {
        const int hr = e >> 1, col = 8 * j + 2 * t + (e & 1);
        const float p = m[hr] == -INFINITY ? 0.0f : exp(sacc[0][j][e] - m[hr]);
        lsum[hr] += p;
        vstore_half(p, HALF_AT(wm + g + 8 * hr, col), ph);
      }
    barrier(CLK_LOCAL_MEM_FENCE);
#define acc oacc
    TILE_MMA(Ps, Vs);
#undef acc
  }
  // Row sums over the four lanes of a row (a NaN score makes the lane's part NaN).
  barrier(CLK_LOCAL_MEM_FENCE);
  red[(wm + g) * 4 + t] = bad[0] ? NAN : lsum[0];
  red[(wm + g + 8) * 4 + t] = bad[1] ? NAN : lsum[1];
  barrier(CLK_LOCAL_MEM_FENCE);
  float total[2];
  for (int hr = 0; hr < 2; ++hr) {
    const int r = wm + g + 8 * hr;
    total[hr] = red[r * 4] + red[r * 4 + 1] + red[r * 4 + 2] + red[r * 4 + 3];
  }
  int masked[2] = {0, 0};  // nan_to_zero 2: no lane of the row saw a bias value other than -inf
  if (nan_to_zero == 2) {
    barrier(CLK_LOCAL_MEM_FENCE);
    red[(wm + g) * 4 + t] = (float)anyb[0];
    red[(wm + g + 8) * 4 + t] = (float)anyb[1];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int hr = 0; hr < 2; ++hr) {
      const int r = wm + g + 8 * hr;
      masked[hr] = red[r * 4] + red[r * 4 + 1] + red[r * 4 + 2] + red[r * 4 + 3] == 0.0f;
    }
  }
  for (int hr = 0; hr < 2; ++hr) {
    const int r = wm + g + 8 * hr, row = m0 + r;
    if (row >= sq) continue;
    const bool nanrow = skv > 0 && (masked[hr] || isnan(total[hr]) || m[hr] == -INFINITY);
    const float inv = skv > 0 ? 1.0f / total[hr] : 0.0f;
    for (int j = 0; j < TN; ++j)
      for (int e = 0; e < 2; ++e) {
        const int d = 8 * j + 2 * t + e;
        const float o = nanrow ? attn_empty_row(masked[hr] || nan_to_zero == 1,
                                                (__global const st_t*)v, vbase + d, s.vj, skv)
                               : oacc[0][j][2 * hr + e] * inv;
        ST(out, obase + (long)row * s.oi + (long)d * s.od, o);
      }
  }
}
