// REFORMAT kernel: converts between FLOAT, HALF and INT8 storage (quantizing, dequantizing or
// requantizing INT8 with its per-tensor scales). No build options.


// One work-item per element.
__kernel void convert_any(__global const void* x, __global void* y, int n, int in_dt,
                          float in_scale, int out_dt, float out_inv) {
  const int i = get_global_id(0);
  if (i >= n) return;
  store_any(y, i, load_any(x, i, in_dt, in_scale), out_dt, out_inv);
}
