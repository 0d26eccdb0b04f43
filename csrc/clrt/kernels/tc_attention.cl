// Fused attention on NVIDIA tensor cores (ATTENTION layers in FP16, tactics/attention.cc):
// out = softmax(q k^T * scale + bias) v with q, k, v stored as half and k as [Skv, HD] rows.
// A work-group of WARPS warps takes 16 query rows per warp; for each tile of HD keys it stages
// K (the GEMMs' swizzled chunk tiles) and V (rows as stored, padded against bank conflicts) in
// local memory, forms the scores with mma.sync (tc_mma.clh's TILE_MMA), folds them into each
// row's running maximum and sum (the online softmax; the four lanes of a row combine their
// partial maxima by shuffles) and multiplies the probabilities by V straight from registers:
// a score tile's accumulators are, packed to half pairs, the A fragments of the second product
// (FlashAttention-2's register reuse), and each lane builds its B fragments from 32-bit loads of
// V's rows (two keys' values of one head column pair make the fragments of two n8 tiles; the
// output's head columns are permuted accordingly and put back when written). Scores and
// probabilities never reach memory, and a key tile takes two barriers. TC_EMULATE swaps the PTX
// (mma, shuffles) for exact emulations through local memory, so the same fragments, staging,
// masking and softmax run on any device.
//
// Build options: HD (head size of q, k and v: 32 or 64, which is also the key tile), WARPS,
// TC_EMULATE, STORAGE_HALF (the bias and output are half; set by the tactic).

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

// One warp's mma.sync on register fragments (the PTX fragment layout of tc_mma.clh), and the
// maximum / sum over the four lanes holding a row (lanes 4g .. 4g + 3). Emulated, each lane's
// words go through local memory (`xw`, 6 words a lane of the one-warp work-group) and every
// lane computes its outputs from the other lanes' words, as the tensor core would.
#if TC_EMULATE
void mma_regs(acc_t* d, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1, __local uint* xw,
              int lane) {
  __local uint* w = xw + 6 * lane;
  w[0] = a0, w[1] = a1, w[2] = a2, w[3] = a3, w[4] = b0, w[5] = b1;
  barrier(CLK_LOCAL_MEM_FENCE);
  const int g = lane >> 2, t = lane & 3;
  for (int q = 0; q < 4; ++q) {
    const int row = g + 8 * (q >> 1), col = 2 * t + (q & 1);
    float sum = 0.0f;
    for (int kk = 0; kk < 16; ++kk) {
      const int tt = (kk & 7) >> 1, hi = kk >= 8, e = kk & 1;
      const uint aw = xw[6 * ((row & 7) * 4 + tt) + (row >= 8) + 2 * hi];
      const uint bw = xw[6 * (col * 4 + tt) + 4 + hi];
      sum += h2f((aw >> (16 * e)) & 0xffffu) * h2f((bw >> (16 * e)) & 0xffffu);
    }
    d[q] += sum;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
}
#define MMA_R(d, a0, a1, a2, a3, b0, b1) mma_regs(d, a0, a1, a2, a3, b0, b1, xw, lane)
float quad_op(float v, int sum, __local float* xf, int lane) {
  xf[lane] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  const int b = lane & ~3;
  const float r = sum ? xf[b] + xf[b + 1] + xf[b + 2] + xf[b + 3]
                      : fmax(fmax(xf[b], xf[b + 1]), fmax(xf[b + 2], xf[b + 3]));
  barrier(CLK_LOCAL_MEM_FENCE);
  return r;
}
#define QUAD_MAX(v) quad_op((v), 0, xf, lane)
#define QUAD_SUM(v) quad_op((v), 1, xf, lane)
#else
#define MMA_R(d, a0, a1, a2, a3, b0, b1) MMA(d, a0, a1, a2, a3, b0, b1)
inline float shfl_xor(float v, int m) {
  uint r;
  asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;"
               : "=r"(r)
               : "r"(as_uint(v)), "r"(m));
  return as_float(r);
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
#endif

// Two floats as one word of halves (lo in the low half), rounded to nearest even: one cvt on
// NVIDIA (sm_80+), vstore_half_rte's bits elsewhere.
inline uint pack_half2(float lo, float hi) {
#if TC_EMULATE
  ushort h[2];
  vstore_half_rte(lo, 0, (half*)h);
  vstore_half_rte(hi, 1, (half*)h);
  return (uint)h[0] | ((uint)h[1] << 16);
#else
  uint r;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
#endif
}

// V's rows in local memory: HD halves and 16 bytes of padding, so that the lanes of a fragment
// load (keys 2t .. 2t + 9, head word g) fall on 32 distinct banks.
#define VROW (HD / 2 + 4)  // 32-bit words per staged row
// The head column the output accumulator (n8 tile j, element e, lane t) holds: tile 2J + h
// column n is head column 16 J + 2 n + h (each lane's B fragments of tiles 2J and 2J + 1 come
// from the same two-halves words of V).
#define OUT_COL(j, e, t) (16 * ((j) >> 1) + 4 * (t) + 2 * ((e) & 1) + ((j) & 1))

// q [L, sq, HD], k [L, skv, HD], v [L, skv, HD] (half bits, rows of HD contiguous halves at
// multiples of 8), out [L, sq, HD] and the bias where attention.clh's strides put them. NaN and
// masked rows (nan_to_zero) as attention.cl.
__kernel __attribute__((reqd_work_group_size(NT, 1, 1))) void tc_attention(
    __global const ushort* q, __global const ushort* k, __global const ushort* v,
    __global const bias_t* bias, __global st_t* out, int sq, int skv, float scale, int has_bias,
    IndexPack lp, IndexPack op, AttnStrides s, int nan_to_zero) {
  __local uint4 Qs[BM * KCH], Ks[HD * KCH];
  __local uint Vw[HD * VROW];
#if TC_EMULATE
  __local uint xw[6 * 32];
  __local float xf[32];
#endif
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
  // This lane's two rows (g and g + 8 of its warp's 16): running max (of the whole row, the
  // same in its four lanes), sum of this lane's columns, NaN seen.
  float m[2] = {-INFINITY, -INFINITY}, lsum[2] = {0.0f, 0.0f};
  int bad[2] = {0, 0}, anyb[2] = {0, 0};  // a NaN score; a bias value other than -inf
  long boff[2] = {0, 0};
  const long lb = has_bias ? (long)pack_offset(&op, 1, l) : 0;
  TC_UNROLL for (int hr = 0; hr < 2; ++hr) boff[hr] = lb + (long)min(m0 + wm + g + 8 * hr, sq - 1) * s.bi;
  acc_t oacc[TN][4];
  TC_UNROLL for (int j = 0; j < TN; ++j)
    TC_UNROLL for (int e = 0; e < 4; ++e) oacc[j][e] = 0.0f;
  for (int j0 = 0; j0 < skv; j0 += HD) {
    barrier(CLK_LOCAL_MEM_FENCE);  // the last tile's readers are done
    for (int idx = tid; idx < HD * KCH; idx += NT) {
      const int r = idx / KCH, c = idx - r * KCH;
      uint4 kv = (uint4)(0u), vv = (uint4)(0u);
      if (j0 + r < skv) {
        kv = *(__global const uint4*)(k + kbase + (long)(j0 + r) * s.kj + c * 8);
        vv = *(__global const uint4*)(v + vbase + (long)(j0 + r) * s.vj + c * 8);
      }
      Ks[r * KCH + (c ^ SWZ(r))] = kv;
      *(__local uint4*)(Vw + r * VROW + 4 * c) = vv;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    acc_t sacc[TM][TN][4];
    TC_UNROLL for (int j = 0; j < TN; ++j)
      TC_UNROLL for (int e = 0; e < 4; ++e) sacc[0][j][e] = 0.0f;
#define acc sacc
    TILE_MMA(Qs, Ks);
#undef acc
    // Scores: scaled, biased, keys past the end masked; the row maxima of this tile.
    float tmax[2] = {-INFINITY, -INFINITY};
    TC_UNROLL for (int j = 0; j < TN; ++j)
      TC_UNROLL for (int e = 0; e < 4; ++e) {
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
    TC_UNROLL for (int hr = 0; hr < 2; ++hr) {
      const float tm = QUAD_MAX(tmax[hr]);
      if (tm > m[hr]) {
        const float c = exp(m[hr] - tm);  // 0 while the row had no key
        lsum[hr] *= c;
        TC_UNROLL for (int j = 0; j < TN; ++j) {
          oacc[j][2 * hr] *= c;
          oacc[j][2 * hr + 1] *= c;
        }
        m[hr] = tm;
      }
    }
    // Probabilities, as half pairs: the A fragments of k16 step ks are score tiles 2 ks and
    // 2 ks + 1 (keys 2t, 2t + 1 and 2t + 8, 2t + 9 of the step, rows g and g + 8).
    uint pa[TN][2];
    TC_UNROLL for (int j = 0; j < TN; ++j)
      TC_UNROLL for (int hr = 0; hr < 2; ++hr) {
        float p2[2];
        TC_UNROLL for (int e = 0; e < 2; ++e) {
          const float p = m[hr] == -INFINITY ? 0.0f : exp(sacc[0][j][2 * hr + e] - m[hr]);
          lsum[hr] += p;
          p2[e] = p;
        }
        pa[j][hr] = pack_half2(p2[0], p2[1]);
      }
    // O += P V, k16 step by step: lane (g, t) loads head word 8J + g (head columns 16J + 2g,
    // + 1) of keys 2t, 2t + 1, 2t + 8 and 2t + 9 and splits them into the B fragments of output
    // tiles 2J (low halves) and 2J + 1 (high halves).
    TC_UNROLL for (int ks = 0; ks < HD / 16; ++ks) {
      const uint a0 = pa[2 * ks][0], a1 = pa[2 * ks][1], a2 = pa[2 * ks + 1][0],
                 a3 = pa[2 * ks + 1][1];
      const int r0 = 16 * ks + 2 * t;
      TC_UNROLL for (int J = 0; J < HD / 16; ++J) {
        const int wi = 8 * J + g;
        const uint w0 = Vw[r0 * VROW + wi], w1 = Vw[(r0 + 1) * VROW + wi];
        const uint w2 = Vw[(r0 + 8) * VROW + wi], w3 = Vw[(r0 + 9) * VROW + wi];
        const uint lo0 = (w0 & 0xffffu) | (w1 << 16), hi0 = (w0 >> 16) | (w1 & 0xffff0000u);
        const uint lo1 = (w2 & 0xffffu) | (w3 << 16), hi1 = (w2 >> 16) | (w3 & 0xffff0000u);
        MMA_R(oacc[2 * J], a0, a1, a2, a3, lo0, lo1);
        MMA_R(oacc[2 * J + 1], a0, a1, a2, a3, hi0, hi1);
      }
    }
  }
  // Row sums over the four lanes of a row (a NaN score makes the row's sum NaN).
  float total[2];
  TC_UNROLL for (int hr = 0; hr < 2; ++hr) total[hr] = QUAD_SUM(bad[hr] ? NAN : lsum[hr]);
  int masked[2] = {0, 0};  // nan_to_zero 2: no lane of the row saw a bias value other than -inf
  if (nan_to_zero == 2)
    TC_UNROLL for (int hr = 0; hr < 2; ++hr) masked[hr] = QUAD_SUM((float)anyb[hr]) == 0.0f;
  TC_UNROLL for (int hr = 0; hr < 2; ++hr) {
    const int r = wm + g + 8 * hr, row = m0 + r;
    if (row >= sq) continue;
    const bool nanrow = skv > 0 && (masked[hr] || isnan(total[hr]) || m[hr] == -INFINITY);
    const float inv = skv > 0 ? 1.0f / total[hr] : 0.0f;
    TC_UNROLL for (int j = 0; j < TN; ++j)
      TC_UNROLL for (int e = 0; e < 2; ++e) {
        const int d = OUT_COL(j, e, t);
        float o = oacc[j][2 * hr + e] * inv;
        if (nanrow) {
          o = NAN;
          if (masked[hr] || nan_to_zero == 1) {
            o = 0.0f;
            for (int key = 0; key < skv; ++key)
              o += 0.0f * vload_half(vbase + (long)key * s.vj + d, (__global const half*)v);
          }
        }
        ST(out, obase + (long)row * s.oi + (long)d * s.od, o);
      }
  }
}
