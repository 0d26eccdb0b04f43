// QuantizeLinear / DequantizeLinear as real conversions (the Q/DQ layers left after folding):
// per-tensor (channels = 1) or per-axis scale and zero point, read from device buffers.
// Integer types are DT_ codes (the prelude): DT_INT8, DT_INT32, DT_UINT8.

// The integer at element i of a buffer of type `t`.
inline int load_q(__global const uchar* p, int i, int t) {
  if (t == DT_INT8) return ((__global const char*)p)[i];
  if (t == DT_INT32) return ((__global const int*)p)[i];
  return p[i];
}

// y = saturate(rint(x / scale[c]) + zp[c]); rint rounds half to even as onnxruntime does.
// has_zp 0: zero point 0 (zp may be any buffer). c = (i / inner) % channels.
__kernel void quantize_linear(__global const float* x, __global const float* scale,
                              __global const uchar* zp, __global uchar* y, int n, int inner,
                              int channels, int has_zp, int out_t) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int c = channels == 1 ? 0 : (i / inner) % channels;
  const float z = has_zp ? (float)load_q(zp, c, out_t) : 0.0f;
  float q = rint(x[i] / scale[c]) + z;
  if (isnan(q)) q = z;
  if (out_t == DT_INT8) {
    ((__global char*)y)[i] = (char)clamp(q, -128.0f, 127.0f);
  } else {
    y[i] = (uchar)clamp(q, 0.0f, 255.0f);
  }
}

// y = (x - zp[c]) * scale[c], x of type in_t (INT8, UINT8 or INT32).
__kernel void dequantize_linear(__global const uchar* x, __global const float* scale,
                                __global const uchar* zp, __global float* y, int n, int inner,
                                int channels, int has_zp, int in_t) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int c = channels == 1 ? 0 : (i / inner) % channels;
  const int z = has_zp ? load_q(zp, c, in_t) : 0;
  // INT32 x - zp may exceed int: subtract in long like the host (then one rounding to float).
  y[i] = (float)((long)load_q(x, i, in_t) - (long)z) * scale[c];
}
