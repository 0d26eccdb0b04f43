// Fused attention (ATTENTION layers, tactics/attention.cc): out = softmax(q k^T * scale + bias) v
// for every leading index, with the scores of a head never leaving the work-group. Each
// work-item owns one query row; the work-group stages KT keys and their values at a time in
// local memory and each row folds them into a running maximum, a running sum of exponentials
// and a running weighted sum of values (the online softmax), rescaled when the maximum grows.
// Build options: HD, HDV (head sizes of q/k and v), QB (rows per work-group), KT (keys per
// tile), STORAGE_HALF (half storage, float arithmetic).

#include "attention.clh"

#ifndef QB
#define QB 32
#endif
#ifndef KT
#define KT 32
#endif

// q [L, sq, HD], k [L, skv, HD], v [L, skv, HDV], out [L, sq, HDV] and the bias (has_bias,
// [L, sq, skv]) where attention.clh's strides put them. A row whose softmax is NaN (scores all
// -inf, or one NaN or +inf, as the unfused layers compute it) gives NaN, or with nan_to_zero 1
// sum_j 0 * v[j] (zero unless some v[j] is not finite); with nan_to_zero 2 a row whose every
// bias value is -inf gives sum_j 0 * v[j] (ONNX Attention's masked rows), others as computed.
__kernel void attention_rows(__global const st_t* q, __global const st_t* k,
                             __global const st_t* v, __global const bias_t* bias, __global st_t* out,
                             int sq, int skv, float scale, int has_bias, IndexPack lp,
                             IndexPack op, AttnStrides s, int nan_to_zero) {
  __local float kt[KT * HD];
  __local float vt[KT * HDV];
  const int lid = get_local_id(0);
  const int i = get_group_id(0) * QB + lid;
  const int l = get_group_id(1);
  const int row = i < sq ? i : sq - 1;  // rows past the end help stage tiles, write nothing
  const long qoff = s.qo + (long)pack_offset(&lp, 0, l) + (long)row * s.qi;
  const long koff = s.ko + (long)pack_offset(&lp, 1, l), voff = s.vo + (long)pack_offset(&lp, 2, l);
  const long boff = has_bias ? (long)pack_offset(&op, 1, l) + (long)row * s.bi : 0;
  float qr[HD], acc[HDV], sc[KT];
  for (int d = 0; d < HD; ++d) qr[d] = LD(q, qoff + (long)d * s.qd);
  for (int d = 0; d < HDV; ++d) acc[d] = 0.0f;
  float m = -INFINITY, sum = 0.0f;
  int bad = 0;   // a NaN score
  int anyb = 0;  // a bias value other than -inf
  for (int j0 = 0; j0 < skv; j0 += KT) {
    const int n = min(KT, skv - j0);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int e = lid; e < n * HD; e += QB) {
      const int jj = e / HD, d = e - jj * HD;
      kt[e] = LD(k, koff + (long)(j0 + jj) * s.kj + (long)d * s.kd);
    }
    for (int e = lid; e < n * HDV; e += QB) {
      const int jj = e / HDV, d = e - jj * HDV;
      vt[e] = LD(v, voff + (long)(j0 + jj) * s.vj + (long)d * s.vd);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float tmax = -INFINITY;
    for (int jj = 0; jj < n; ++jj) {
      float dot = 0.0f;
      for (int d = 0; d < HD; ++d) dot = fma(qr[d], kt[jj * HD + d], dot);
      float x = dot * scale;
      if (has_bias) {
        const float b = LDB(bias, boff + (long)(j0 + jj) * s.bj);
        anyb |= !(b == -INFINITY);
        x += b;
      }
      bad |= isnan(x);
      sc[jj] = x;
      tmax = fmax(tmax, x);
    }
    if (tmax == -INFINITY) continue;  // every key of the tile masked: they add nothing
    if (tmax > m) {
      const float c = exp(m - tmax);  // 0 while m is -inf
      sum *= c;
      for (int d = 0; d < HDV; ++d) acc[d] *= c;
      m = tmax;
    }
    for (int jj = 0; jj < n; ++jj) {
      const float p = exp(sc[jj] - m);  // NaN at m = +inf, as the unfused softmax
      sum += p;
      for (int d = 0; d < HDV; ++d) acc[d] = fma(p, vt[jj * HDV + d], acc[d]);
    }
  }
  if (i >= sq) return;
  const long ooff = s.oo + (long)pack_offset(&op, 0, l) + (long)i * s.oi;
  const bool masked = nan_to_zero == 2 && !anyb;
  if (skv > 0 && (masked || bad || m == -INFINITY || isnan(sum))) {
    for (int d = 0; d < HDV; ++d)
      ST(out, ooff + (long)d * s.od,
         attn_empty_row(masked || nan_to_zero == 1, v, voff + (long)d * s.vd, s.vj, skv));
    return;
  }
  const float inv = skv > 0 ? 1.0f / sum : 0.0f;
  for (int d = 0; d < HDV; ++d) ST(out, ooff + (long)d * s.od, acc[d] * inv);
}
