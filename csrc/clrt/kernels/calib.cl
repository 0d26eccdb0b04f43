// INT8 calibration statistics: running max|x| per tensor and |x| histograms (quant/histogram.cc).
// Built with -DWG=<work-group size, a power of two>; launches use exactly WG work-items a group.
// `per` = 0: work-items stride over the data by the global size (coalesced on GPUs); per > 0:
// work-item g reads the contiguous run [g * per, (g + 1) * per) (cache-friendly on CPUs).

#ifndef CALIB_BINS
#define CALIB_BINS 2048
#endif

// max|x| of x[0..n) into slots[slot]. Non-negative floats order like their bit patterns, so a uint
// atomic_max on the bits is a float max. NaN fails `a > m` and is skipped.
__kernel void calib_absmax(__global const float* x, ulong n, __global uint* slots, ulong slot,
                           ulong per) {
  __local float part[WG];
  const uint lid = get_local_id(0);
  float m = 0.0f;
  const ulong begin = per ? get_global_id(0) * per : get_global_id(0);
  const ulong end = per ? min(n, begin + per) : n;
  const ulong step = per ? 1 : get_global_size(0);
  for (ulong i = begin; i < end; i += step) {
    const float a = fabs(x[i]);
    if (a > m) m = a;
  }
  part[lid] = m;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (lid < s) part[lid] = fmax(part[lid], part[lid + s]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) atomic_max(&slots[slot], as_uint(part[0]));
}

// Counts |x| of x[off..off+n) into hist[base..base+2048): bin = min((int)(|x| * scale), 2047),
// with scale = 2048 / range computed once on the host (scale <= 0: bin 0). One float multiply per
// element, so the bin never depends on how the data was split into launches. Counts gather in
// local memory first so the global atomics are one per bin and group.
__kernel void calib_hist(__global const float* x, ulong off, uint n, float scale,
                         __global uint* hist, ulong base, uint per) {
  __local uint h[CALIB_BINS];
  const uint lid = get_local_id(0);
  for (uint b = lid; b < CALIB_BINS; b += WG) h[b] = 0;
  barrier(CLK_LOCAL_MEM_FENCE);
  const uint begin = per ? get_global_id(0) * per : get_global_id(0);
  const uint end = per ? min(n, begin + per) : n;
  const uint step = per ? 1 : get_global_size(0);
  for (uint i = begin; i < end; i += step) {
    const float a = fabs(x[off + i]);
    if (isnan(a)) continue;
    int b = 0;
    if (scale > 0.0f) {
      const float v = a * scale;
      b = v < 2047.0f ? (int)v : 2047;  // also catches inf
    }
    atomic_inc(&h[b]);
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint b = lid; b < CALIB_BINS; b += WG)
    if (h[b]) atomic_add(&hist[base + b], h[b]);
}

// In place: x = clamp(rint(x / scale), -127, 127) * scale, the values symmetric INT8 with this
// scale can hold (range refinement in calibration simulates a tensor's quantization with it).
__kernel void calib_fake_quant(__global float* x, ulong n, float scale) {
  for (ulong i = get_global_id(0); i < n; i += get_global_size(0))
    x[i] = clamp(rint(x[i] / scale), -127.0f, 127.0f) * scale;
}
