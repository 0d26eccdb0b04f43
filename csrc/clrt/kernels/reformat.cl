// REFORMAT kernel: converts between FLOAT, HALF and INT8 storage (quantizing, dequantizing or
// requantizing INT8 with its per-tensor scales). No build options.

// ---- Epilogue storage (copied in int8_conv/gemm/misc.cl and reformat.cl): dtype codes are
// DataType's, 0 FLOAT, 1 HALF, 2 INT8. Reads multiply an INT8 value by its scale; writes
// multiply by 1/scale and round half to even, clamped to the symmetric range [-127, 127]. ----
// Rounding: adding and subtracting 1.5 * 2^23 rounds a float of magnitude < 2^22 to an integer,
// half to even, like rint (which PoCL implements in software: slower).
#define QROUND(v) ((clamp((v), -127.0f, 127.0f) + 12582912.0f) - 12582912.0f)
inline float load_any(__global const void* p, size_t i, int dt, float scale) {
  if (dt == 0) return ((__global const float*)p)[i];
  if (dt == 1) return vload_half(i, (__global const half*)p);
  return (float)((__global const char*)p)[i] * scale;
}
inline void store_any(__global void* p, size_t i, float v, int dt, float inv_scale) {
  if (dt == 2)
    ((__global char*)p)[i] = (char)(int)QROUND(v * inv_scale);
  else if (dt == 1)
    vstore_half(v, i, (__global half*)p);
  else
    ((__global float*)p)[i] = v;
}

// One work-item per element.
__kernel void convert_any(__global const void* x, __global void* y, int n, int in_dt,
                          float in_scale, int out_dt, float out_inv) {
  const int i = get_global_id(0);
  if (i >= n) return;
  store_any(y, i, load_any(x, i, in_dt, in_scale), out_dt, out_inv);
}
