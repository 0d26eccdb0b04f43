// REFORMAT kernel: converts between FLOAT, HALF and INT8 storage (quantizing, dequantizing or
// requantizing INT8 with its per-tensor scales). No build options.


// One work-item per element.
__kernel void convert_any(__global const void* x, __global void* y, int n, int in_dt,
                          float in_scale, int out_dt, float out_inv) {
  const int i = get_global_id(0);
  if (i >= n) return;
  store_any(y, i, load_any(x, i, in_dt, in_scale), out_dt, out_inv);
}

// The same, 8 elements a work-item (n a multiple of 8: aligned vector accesses), each converted
// as convert_any converts it.
__kernel void convert_any8(__global const void* x, __global void* y, int n8, int in_dt,
                           float in_scale, int out_dt, float out_inv) {
  const int i = get_global_id(0);
  if (i >= n8) return;
  store8a_any(y, (size_t)i * 8, load8a_any(x, (size_t)i * 8, in_dt, in_scale), out_dt, out_inv);
}

// The same between layouts (NCHW and channels last), through a 32 x 32 tile of local memory so
// that both the reads and the writes are coalesced: an image's NCHW [C][S] and channels-last
// [S][C] views are each other's transpose. The input as R x Q per image (NCHW: C x S; channels
// last: S x C), the output Q x R. Work-group 32 x 8; group (Q tile, R tile, image). Each
// element converted as convert_any converts it.
__kernel __attribute__((reqd_work_group_size(32, 8, 1))) void convert_layout_tiled(
    __global const void* x, __global void* y, int in_dt, float in_scale, int out_dt,
    float out_inv, int C, int S, int in_hwc) {
  __local float tile[32][33];
  const int R = in_hwc ? S : C, Q = in_hwc ? C : S;
  const int q0 = get_group_id(0) * 32, r0 = get_group_id(1) * 32;
  const int tx = get_local_id(0), ty = get_local_id(1);
  const size_t base = (size_t)get_group_id(2) * C * S;
  for (int j = ty; j < 32; j += 8) {
    const int r = r0 + j, q = q0 + tx;
    if (r < R && q < Q) tile[j][tx] = load_any(x, base + (size_t)r * Q + q, in_dt, in_scale);
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int j = ty; j < 32; j += 8) {
    const int q = q0 + j, r = r0 + tx;
    if (r < R && q < Q) store_any(y, base + (size_t)q * R + r, tile[tx][j], out_dt, out_inv);
  }
}

// The same for a few channels (the tactic's kFewChannels or fewer, as a stem's 3), where the
// tiles above would be mostly empty: a work-item per image position converts its C values, read
// at stride S and written consecutively (or the reverse), so that neighbouring work-items touch
// neighbouring elements for each c. NS = images x S. Each element converted as convert_any
// converts it.
__kernel void convert_layout_few(__global const void* x, __global void* y, int in_dt,
                                 float in_scale, int out_dt, float out_inv, int C, int S, int NS,
                                 int in_hwc) {
  const int i = get_global_id(0);
  if (i >= NS) return;
  const int n = i / S, s = i - n * S;
  const size_t base = (size_t)n * C * S;
  for (int c = 0; c < C; ++c) {
    const size_t nchw = base + (size_t)c * S + s, hwc = base + (size_t)s * C + c;
    store_any(y, in_hwc ? nchw : hwc, load_any(x, in_hwc ? hwc : nchw, in_dt, in_scale), out_dt,
              out_inv);
  }
}
