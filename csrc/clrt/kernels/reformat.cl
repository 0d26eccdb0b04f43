// REFORMAT kernel: converts between FLOAT, HALF and INT8 storage (quantizing, dequantizing or
// requantizing INT8 with its per-tensor scales). No build options.


// One work-item per element.
__kernel void convert_any(__global const void* x, __global void* y, int n, int in_dt,
                          float in_scale, int out_dt, float out_inv) {
  const int i = get_global_id(0);
  if (i >= n) return;
  store_any(y, i, load_any(x, i, in_dt, in_scale), out_dt, out_inv);
}

// The same between layouts: element i of the output, NCHW or channels last (out_hwc), from the
// input in its own layout (in_hwc). C channels and S spatial positions an image.
__kernel void convert_layout(__global const void* x, __global void* y, int n, int in_dt,
                             float in_scale, int out_dt, float out_inv, int C, int S, int in_hwc,
                             int out_hwc) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int img = i / (C * S), r = i - img * C * S;
  const int c = out_hwc ? r % C : r / S, s = out_hwc ? r / C : r % S;
  const size_t src = layout_index(in_hwc, img, c, s, C, S);
  store_any(y, i, load_any(x, src, in_dt, in_scale), out_dt, out_inv);
}

