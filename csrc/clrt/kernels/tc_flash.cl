// Flash attention on NVIDIA tensor cores (attention.tc_fp16_flash, tactics/attention.cc), the
// same contract as tc_attention.cl (q, k, v stored as half, k as [Skv, HD] rows, attention.clh's
// strides, NaN and masked rows alike) with everything the key loop touches kept in registers:
// - each warp holds its 16 query rows as mma A fragments for the whole loop (loaded once from
//   global memory);
// - key tiles of K and V (KT keys) arrive by cp.async into a two-tile ring, the next tile's
//   copy in flight while the current one is multiplied; V stays in its [key, d] layout and the
//   second product's B fragments come from ldmatrix.trans (no transposing stores);
// - the scores' accumulators, scaled into the exp2 domain, give the online softmax's row maxima
//   by two shuffles across the four lanes of a row, and are packed to half pairs as the A
//   fragments of P V (the accumulator layout of an m16n8 tile pair is the A layout of m16k16).
// One barrier pair per key tile. TC_EMULATE swaps the PTX (mma, shuffles, ldmatrix, cp.async,
// cvt) for exact emulations through local memory, with the work-group one warp, so the
// indexing runs on any device.
//
// Build options: HD (head size of q, k and v: 32 or 64), WARPS, TC_EMULATE, STORAGE_HALF (the
// bias and output are half; set by the tactic), BIAS_HALF.
#ifndef TC_EMULATE
#define TC_EMULATE 0
#endif
#ifndef WARPS
#define WARPS 4
#endif
#if HD != 32 && HD != 64
#error "tc_flash takes head sizes 32 and 64"
#endif
#if TC_EMULATE && WARPS != 1
#error "TC_EMULATE: the emulated lane exchanges need a work-group of one warp"
#endif
#define TC_INT8 0
#define TC_TF32 0
#define NT (32 * WARPS)
#define KCH (HD / 8)  // 16-byte chunks of a row of HD halves
#define KT 64         // keys per tile
#define SN (KT / 8)   // n8 score tiles across a key tile
#define ON (HD / 8)   // n8 output tiles across the head
#define QK (HD / 16)  // k16 steps of the first product
typedef float acc_t;
#if TC_EMULATE
#define TC_UNROLL _Pragma("clang loop unroll(disable)")
#else
#define TC_UNROLL _Pragma("unroll")
#endif

#include "tc_mma.clh"
#include "tc_async.clh"
#include "attention.clh"

#define LOG2E 1.4426950408889634f

// ---- Lane exchanges: the mma on register fragments (m16n8k16, f16 -> f32; tc_mma.clh's
// layout), the max and sum over the four lanes of a row, float pairs packed as half2, and the
// B fragments of V (ldmatrix.trans). `xs` is local scratch of the emulations.
#if TC_EMULATE
// Element k of the half pair word w.
inline float hpart(uint w, int k) { return h2f((w >> (16 * (k & 1))) & 0xffffu); }
// Every lane publishes its fragment words, then sums its four outputs from the lanes that hold
// its rows of A (a0..a3) and columns of B (b0, b1).
void mma_reg(float* d, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1, __local uint* xs,
             int lane) {
  barrier(CLK_LOCAL_MEM_FENCE);
  xs[lane * 6 + 0] = a0;
  xs[lane * 6 + 1] = a1;
  xs[lane * 6 + 2] = a2;
  xs[lane * 6 + 3] = a3;
  xs[lane * 6 + 4] = b0;
  xs[lane * 6 + 5] = b1;
  barrier(CLK_LOCAL_MEM_FENCE);
  const int g = lane >> 2, t = lane & 3;
  for (int q = 0; q < 4; ++q) {
    const int row = g + 8 * (q >> 1), col = 2 * t + (q & 1);
    float sum = 0.0f;
    for (int k = 0; k < 16; ++k) {
      // A[row][k]: lane (row % 8, (k % 8) / 2), word (row >= 8) + 2 (k >= 8); B[k][col]: lane
      // (col, (k % 8) / 2), word 4 + (k >= 8); the lower k of a pair in the low half.
      const uint aw = xs[((row & 7) * 4 + ((k & 7) >> 1)) * 6 + (row >> 3) + 2 * (k >> 3)];
      const uint bw = xs[(col * 4 + ((k & 7) >> 1)) * 6 + 4 + (k >> 3)];
      sum += hpart(aw, k) * hpart(bw, k);
    }
    d[q] += sum;
  }
}
#define MMA_R(d, a0, a1, a2, a3, b0, b1) mma_reg(d, a0, a1, a2, a3, b0, b1, xs, lane)
// op 0: max, 1: sum, over lanes 4g .. 4g + 3.
float quad_reduce(float v, int op, __local float* xf, int lane) {
  barrier(CLK_LOCAL_MEM_FENCE);
  xf[lane] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  const int b = lane & ~3;
  return op ? (xf[b] + xf[b + 1]) + (xf[b + 2] + xf[b + 3])
            : fmax(fmax(xf[b], xf[b + 1]), fmax(xf[b + 2], xf[b + 3]));
}
#define QUAD_MAX(v) quad_reduce(v, 0, xf, lane)
#define QUAD_SUM(v) quad_reduce(v, 1, xf, lane)
inline uint pack_h2(float lo, float hi) {
  ushort h[2];
  vstore_half_rte(lo, 0, (half*)h);
  vstore_half_rte(hi, 1, (half*)h);
  return (uint)h[0] | ((uint)h[1] << 16);
}
// Half at key row `key`, head column `col` of a V tile.
#define V_AT(vt, key, col) \
  (((__local const ushort*)&(vt)[(key) * KCH + (((col) >> 3) ^ SWZ(key))])[(col) & 7])
// b0 / b1 of the n8 output tiles jd and jd + 1 at k16 step kk: V[16kk + 2t (+1)][8jd + g] and
// keys + 8 (as ldmatrix.trans delivers them).
#define V_FRAGS(vt, kk, jd, r)                                                    \
  TC_UNROLL for (int q_ = 0; q_ < 4; ++q_) {                                      \
    const int key_ = 16 * (kk) + 2 * t + 8 * (q_ & 1), col_ = 8 * ((jd) + (q_ >> 1)) + g; \
    r[q_] = (uint)V_AT(vt, key_, col_) | ((uint)V_AT(vt, key_ + 1, col_) << 16);  \
  }
#else
#define MMA_R(d, a0, a1, a2, a3, b0, b1) MMA(d, a0, a1, a2, a3, b0, b1)
inline float shfl_xor(float v, int m) {
  float r;
  asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=f"(r) : "f"(v), "r"(m));
  return r;
}
inline float quad_max(float v) {
  v = fmax(v, shfl_xor(v, 1));
  return fmax(v, shfl_xor(v, 2));
}
inline float quad_sum(float v) {
  v += shfl_xor(v, 1);
  return v + shfl_xor(v, 2);
}
#define QUAD_MAX(v) quad_max(v)
#define QUAD_SUM(v) quad_sum(v)
inline uint pack_h2(float lo, float hi) {
  uint r;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}
// Lanes 8i .. 8i + 7 address the rows of matrix i: keys 16kk + 8 (i & 1) + (lane & 7) of the
// head's chunk jd + (i >> 1); .trans hands each lane the column pairs of the B layout.
#define V_FRAGS(vt, kk, jd, r)                                                               \
  {                                                                                          \
    const int key_ = 16 * (kk) + 8 * ((lane >> 3) & 1) + (lane & 7), c_ = (jd) + (lane >> 4); \
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"       \
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])                            \
                 : "r"(saddr(&(vt)[key_ * KCH + (c_ ^ SWZ(key_))]))                          \
                 : "memory");                                                                \
  }
#endif

// q [L, sq, HD], k [L, skv, HD], v [L, skv, HD] (half bits, rows of HD contiguous halves at
// multiples of 8), out [L, sq, HD] and the bias where attention.clh's strides put them.
__kernel __attribute__((reqd_work_group_size(NT, 1, 1))) void tc_flash(
    __global const ushort* q, __global const ushort* k, __global const ushort* v,
    __global const bias_t* bias, __global st_t* out, int sq, int skv, float scale, int has_bias,
    IndexPack lp, IndexPack op, AttnStrides s, int nan_to_zero, int q8, float inv_q) {
  __local uint4 Ks[2][KT * KCH], Vs[2][KT * KCH];
#if TC_EMULATE
  __local uint xs[32 * 6];
  __local float xf[32];
#endif
  const int tid = get_local_id(0), lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int l = get_group_id(1), r0 = get_group_id(0) * (16 * WARPS) + warp * 16;
  const long qbase = s.qo + (long)pack_offset(&lp, 0, l);
  const long kbase = s.ko + (long)pack_offset(&lp, 1, l), vbase = s.vo + (long)pack_offset(&lp, 2, l);
  const long obase = s.oo + (long)pack_offset(&op, 0, l);
  // This warp's q rows r0 + g and r0 + g + 8 as A fragments: chunk t + 4p of each (the k order
  // inside a chunk is the one tc_mma.clh's TILE_MMA uses, and K's fragments below match it).
  uint4 qa[KCH / 4][2];
  TC_UNROLL for (int p = 0; p < KCH / 4; ++p) TC_UNROLL for (int h = 0; h < 2; ++h) {
    const int row = r0 + g + 8 * h;
    qa[p][h] = row < sq ? *(__global const uint4*)(q + qbase + (long)row * s.qi + (t + 4 * p) * 8)
                        : (uint4)(0u);
  }
  // Per row (h: g, g + 8): running maximum (exp2 domain), this lane's share of the sum (a NaN
  // score makes it NaN: its probability is NaN), a bias value other than -inf seen.
  float m[2] = {-INFINITY, -INFINITY}, lsum[2] = {0.0f, 0.0f};
  int anyb[2] = {0, 0};
  long boff[2] = {0, 0};
  const long lb = has_bias ? (long)pack_offset(&op, 1, l) : 0;
  for (int h = 0; h < 2; ++h) boff[h] = lb + (long)min(r0 + g + 8 * h, sq - 1) * s.bi;
  float oacc[ON][4];
  TC_UNROLL for (int j = 0; j < ON; ++j) TC_UNROLL for (int e = 0; e < 4; ++e) oacc[j][e] = 0.0f;
  const float sl2 = scale * LOG2E;
  // Key tile j0_'s K and V rows into ring slot st_ (zeros past the last key; the address stays
  // in the tensor).
#define LOAD_TILE(j0_, st_)                                                             \
  for (int idx_ = tid; idx_ < KT * KCH; idx_ += NT) {                                  \
    const int r_ = idx_ / KCH, c_ = idx_ - r_ * KCH, key_ = (j0_) + r_;                \
    const long kr_ = min(key_, skv - 1);                                               \
    const int at_ = r_ * KCH + (c_ ^ SWZ(r_));                                         \
    CP_ASYNC_ZFILL(&Ks[st_][at_], (__global const uint4*)(k + kbase + kr_ * s.kj + c_ * 8), \
                   key_ < skv);                                                        \
    CP_ASYNC_ZFILL(&Vs[st_][at_], (__global const uint4*)(v + vbase + kr_ * s.vj + c_ * 8), \
                   key_ < skv);                                                        \
  }
  const int ntiles = (skv + KT - 1) / KT;
  if (ntiles > 0) LOAD_TILE(0, 0)
  CP_COMMIT();
  for (int it = 0; it < ntiles; ++it) {
    const int st = it & 1, j0 = it * KT;
    if (it + 1 < ntiles) {
      LOAD_TILE(j0 + KT, st ^ 1)
      CP_COMMIT();
      CP_WAIT(1);
    } else {
      CP_WAIT(0);
    }
    barrier(CLK_LOCAL_MEM_FENCE);  // tile it landed for every thread
    // A warp whose rows all lie past the end (in the last work-group of a row count that is not
    // a multiple of 16 * WARPS: ViT's 197 rows leave three of eight warps without one) only
    // helps load.
    if (r0 < sq) {
      __local const uint4* kt = Ks[st];
      __local const uint4* vt = Vs[st];
      // k16 steps of this tile that hold a key: the last tile of ViT's 197 keys has 5 keys, and
      // its other 48 columns of both products are skipped (the branches are uniform).
      const int nkk = min(KT / 16, (skv - j0 + 15) >> 4);
      float sacc[SN][4];
      TC_UNROLL for (int j = 0; j < SN; ++j) TC_UNROLL for (int e = 0; e < 4; ++e) sacc[j][e] = 0.0f;
      TC_UNROLL for (int p = 0; p < KCH / 4; ++p) TC_UNROLL for (int j = 0; j < SN; ++j) {
        if (j >= 2 * nkk) break;
        const uint4 fb = kt[(8 * j + g) * KCH + ((t + 4 * p) ^ SWZ(g))];
        MMA_R(sacc[j], qa[p][0].x, qa[p][1].x, qa[p][0].y, qa[p][1].y, fb.x, fb.y);
        MMA_R(sacc[j], qa[p][0].z, qa[p][1].z, qa[p][0].w, qa[p][1].w, fb.z, fb.w);
      }
      // Scores into the exp2 domain (scaled; biased and keys past the end masked where the layer
      // has a bias or this is the last tile, a branch the whole work-group takes alike); row
      // maxima.
      float tmax[2] = {-INFINITY, -INFINITY};
      if (has_bias || j0 + KT > skv) {
        TC_UNROLL for (int j = 0; j < SN; ++j) TC_UNROLL for (int e = 0; e < 4; ++e) {
          if (j >= 2 * nkk) break;
          const int h = e >> 1, key = j0 + 8 * j + 2 * t + (e & 1);
          float x = sacc[j][e] * sl2;
          if (key >= skv) {
            x = -INFINITY;
          } else if (has_bias) {
            const float b = LDB(bias, boff[h] + (long)key * s.bj);
            anyb[h] |= !(b == -INFINITY);
            x += b * LOG2E;
          }
          sacc[j][e] = x;
          tmax[h] = fmax(tmax[h], x);
        }
      } else {
        TC_UNROLL for (int j = 0; j < SN; ++j) TC_UNROLL for (int e = 0; e < 4; ++e) {
          sacc[j][e] *= sl2;
          tmax[e >> 1] = fmax(tmax[e >> 1], sacc[j][e]);
        }
      }
      TC_UNROLL for (int h = 0; h < 2; ++h) {
        const float tm = QUAD_MAX(tmax[h]);
        if (tm > m[h]) {
          const float c = native_exp2(m[h] - tm);  // 0 while the row had no key
          lsum[h] *= c;
          TC_UNROLL for (int j = 0; j < ON; ++j) {
            oacc[j][2 * h] *= c;
            oacc[j][2 * h + 1] *= c;
          }
          m[h] = tm;
        }
      }
      // Probabilities; score tiles 2kk and 2kk + 1 are the A fragment of P V's k16 step kk. A row
      // with no key yet (maximum -inf) has only -inf (or NaN) scores: against 0 they give 0.
      float mref[2];
      TC_UNROLL for (int h = 0; h < 2; ++h) mref[h] = m[h] == -INFINITY ? 0.0f : m[h];
      TC_UNROLL for (int kk = 0; kk < KT / 16; ++kk) {
        if (kk >= nkk) break;
        uint pa[4];
        TC_UNROLL for (int u = 0; u < 4; ++u) {
          const int j = 2 * kk + (u >> 1), h = u & 1;
          const float p0 = native_exp2(sacc[j][2 * h] - mref[h]);
          const float p1 = native_exp2(sacc[j][2 * h + 1] - mref[h]);
          lsum[h] += p0 + p1;
          pa[u] = pack_h2(p0, p1);
        }
        TC_UNROLL for (int jd = 0; jd < ON; jd += 2) {
          uint fb[4];
          V_FRAGS(vt, kk, jd, fb)
          MMA_R(oacc[jd], pa[0], pa[1], pa[2], pa[3], fb[0], fb[1]);
          MMA_R(oacc[jd + 1], pa[0], pa[1], pa[2], pa[3], fb[2], fb[3]);
        }
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);  // every warp is done with slot st before it is reloaded
  }
  float total[2];
  int masked[2];
  TC_UNROLL for (int h = 0; h < 2; ++h) {
    // nan_to_zero 2: no lane of the row saw a bias value other than -inf.
    total[h] = QUAD_SUM(lsum[h]);
    masked[h] = nan_to_zero == 2 && QUAD_MAX((float)anyb[h]) == 0.0f;
  }
  TC_UNROLL for (int h = 0; h < 2; ++h) {
    const int row = r0 + g + 8 * h;
    if (row >= sq) continue;
    const bool nanrow = skv > 0 && (masked[h] || isnan(total[h]) || m[h] == -INFINITY);
    const float inv = skv > 0 ? 1.0f / total[h] : 0.0f;
    TC_UNROLL for (int j = 0; j < ON; ++j) {
      const int d = 8 * j + 2 * t;
      float o[2];
      TC_UNROLL for (int e = 0; e < 2; ++e)
        o[e] = nanrow ? attn_empty_row(masked[h] || nan_to_zero == 1, (__global const st_t*)v,
                                       vbase + d + e, s.vj, skv)
                      : oacc[j][2 * h + e] * inv;
      const long at = obase + (long)row * s.oi + (long)d * s.od;
      if (q8) {  // INT8 output at 1 / inv_q (the builder's narrowOutput), rounded as QROUND
        __global char* oc = (__global char*)out;
        oc[at] = (char)(int)QROUND(o[0] * inv_q);
        oc[at + s.od] = (char)(int)QROUND(o[1] * inv_q);
        continue;
      }
#if STORAGE_HALF
      if (s.od == 1 && (at & 1) == 0) {  // the pair as one 4-byte store
        *(__global uint*)((__global uchar*)out + 2 * at) = pack_h2(o[0], o[1]);
        continue;
      }
#endif
      ST(out, at, o[0]);
      ST(out, at + s.od, o[1]);
    }
  }
}
