// Pooling kernels: windowed MAX/AVERAGE over [N*C, D, H, W] and global MAX/AVERAGE reductions.
// Shapes are runtime arguments; the only build option is the storage (one program per storage).

// One work-item per output element of [N*C, D, H, W] (1-D and 2-D read as D = H = 1). A window
// tap counts as padding when it lies in the pad region [-pf, D + pk) x [-pt, H + pb) x
// [-pl, W + pr) but outside the input; taps past the padded end (ceil mode) count for neither
// divisor. MAX ignores padding; a window with no input tap yields -FLT_MAX (onnxruntime's
// lowest()). type: 0 AVERAGE, 1 MAX, 2 LP ((sum |x|^p)^(1/p) over the input taps).
// g: the window (WinPack, window.clh). hwc_in / hwc_out: that tensor is stored channels last
// ([N, D, H, W, C], C channels an image); a channels-last input is walked with the channel
// fastest across work-items, so a warp's loads of one tap are contiguous.
__kernel void pool3d(__global const st_t* x, __global st_t* y, int n, WinPack g, int type,
                     int count_include_pad, float p, int C, int hwc_in, int hwc_out) {
  const int gid = get_global_id(0);
  if (gid >= n) return;
  int o[3];
  int nc;
  if (hwc_in) {
    const int img = win_out_index(gid / C, &g, o);
    nc = img * C + gid % C;
  } else {
    nc = win_out_index(gid, &g, o);
  }
  const int od = o[0], oh = o[1], ow = o[2];
  const int D = g.in[0], H = g.in[1], W = g.in[2];
  const int cs = hwc_in ? C : 1;  // element stride between spatial positions
  const __global st_t* xc = x + layout_index(hwc_in, nc / C, nc % C, 0, C, (size_t)D * H * W);
  const int ds = od * g.s[0] - g.pb[0], hs = oh * g.s[1] - g.pb[1], ws = ow * g.s[2] - g.pb[2];
  float m = -FLT_MAX, s = 0.0f;
  int valid = 0, padded = 0;
  for (int a = 0; a < g.k[0]; ++a) {
    const int id = ds + a * g.d[0];
    if (id >= D + g.pe[0]) break;
    const bool plane_in = id >= 0 && id < D;
    for (int b = 0; b < g.k[1]; ++b) {
      const int ih = hs + b * g.d[1];
      if (ih >= H + g.pe[1]) break;
      const bool row_in = plane_in && ih >= 0 && ih < H;
      for (int q = 0; q < g.k[2]; ++q) {
        const int iw = ws + q * g.d[2];
        if (iw >= W + g.pe[2]) break;
        ++padded;
        if (row_in && iw >= 0 && iw < W) {
          const float v = LD(xc, (((size_t)id * H + ih) * W + iw) * cs);
          m = fmax(m, v);
          s += type == 2 ? pow(fabs(v), p) : v;
          ++valid;
        }
      }
    }
  }
  float out;
  if (type == 2) {
    out = pow(s, 1.0f / p);
  } else if (type == 1) {
    out = m;
  } else {
    const int div = count_include_pad ? padded : valid;
    out = div > 0 ? s / (float)div : 0.0f;
  }
  const size_t sp = ((size_t)od * g.out[1] + oh) * g.out[2] + ow;
  ST(y, layout_index(hwc_out, nc / C, nc % C, sp, C, (size_t)g.out[0] * g.out[1] * g.out[2]), out);
}

// pool3d's 2-D windows (D = 1) over NCHW in and out, a work-item per output row of one (n, c)
// plane: for CPUs, where pool3d's per-output index arithmetic and checks cost more than the taps
// (PoCL, 2 cores: the Fashion-MNIST demo's 2x2 max pooling 8.9 -> 1.7 ms). Windows wholly inside
// the input take a loop without checks (both divisors are then kh * kw); the others count taps
// exactly as pool3d, in the same order, so the results are pool3d's. rows: N * C * OH.
__kernel void pool2d_rows(__global const st_t* x, __global st_t* y, int rows, WinPack g, int type,
                          int count_include_pad, float p) {
  const int gid = get_global_id(0);
  if (gid >= rows) return;
  const int OH = g.out[1], OW = g.out[2], H = g.in[1], W = g.in[2];
  const int nc = gid / OH, oh = gid - nc * OH;
  const int kh = g.k[1], kw = g.k[2], sw = g.s[2], dh = g.d[1], dw = g.d[2];
  const int hs = oh * g.s[1] - g.pb[1];
  const __global st_t* xc = x + (size_t)nc * H * W;
  __global st_t* yr = y + (size_t)gid * OW;
  int kh_pad = 0;  // window rows inside the padded extent
  while (kh_pad < kh && hs + kh_pad * dh < H + g.pe[1]) ++kh_pad;
  const bool rows_in = hs >= 0 && hs + (kh - 1) * dh < H;
  for (int ow = 0; ow < OW; ++ow) {
    const int ws = ow * sw - g.pb[2];
    float m = -FLT_MAX, s = 0.0f;
    if (rows_in && type != 2 && ws >= 0 && ws + (kw - 1) * dw < W) {
      const __global st_t* xw = xc + (size_t)hs * W + ws;
      for (int b = 0; b < kh; ++b, xw += dh * W)
        for (int q = 0; q < kw; ++q) {
          const float v = LD(xw, q * dw);
          m = fmax(m, v);
          s += v;
        }
      ST(yr, ow, type == 1 ? m : s / (float)(kh * kw));
      continue;
    }
    int kw_pad = 0, valid = 0;
    while (kw_pad < kw && ws + kw_pad * dw < W + g.pe[2]) ++kw_pad;
    for (int b = 0; b < kh_pad; ++b) {
      const int ih = hs + b * dh;
      if (ih < 0 || ih >= H) continue;
      const __global st_t* xr = xc + (size_t)ih * W;
      for (int q = 0; q < kw_pad; ++q) {
        const int iw = ws + q * dw;
        if (iw < 0 || iw >= W) continue;
        const float v = LD(xr, iw);
        m = fmax(m, v);
        s += type == 2 ? pow(fabs(v), p) : v;
        ++valid;
      }
    }
    float out;
    if (type == 2) {
      out = pow(s, 1.0f / p);
    } else if (type == 1) {
      out = m;
    } else {
      const int div = count_include_pad ? kh_pad * kw_pad : valid;
      out = div > 0 ? s / (float)div : 0.0f;
    }
    ST(yr, ow, out);
  }
}

// 2-D MAX / AVERAGE pooling of a channels-last input into a channels-last output, C a multiple
// of 8: a work-item per 8 channels of an output pixel, each tap one aligned 8-wide load (LDA8),
// the output one 8-wide store (STA8); taps, their order and the divisors as pool3d's, so the
// results are pool3d's. g as pool3d's with the window in slots 1 and 2 (D = 1). gid 0: channel
// octet + C / 8 * output column (padded to the work-group), 1: image * OH + output row.
__kernel void pool2d_hwc8(__global const st_t* x, __global st_t* y, WinPack g, int is_max,
                          int count_include_pad, int C, int NOH) {
  const int C8 = C / 8, q = get_global_id(0), noh = get_global_id(1);
  const int H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2];
  if (q >= C8 * OW || noh >= NOH) return;
  const int ow = q / C8, c = (q - ow * C8) * 8;
  const int n = noh / OH, oh = noh - n * OH;
  const __global st_t* xn = x + (size_t)n * H * W * C + c;
  const int hs = oh * g.s[1] - g.pb[1], ws = ow * g.s[2] - g.pb[2];
  const int kh = g.k[1], kw = g.k[2], dh = g.d[1], dw = g.d[2], pb = g.pe[1], pr = g.pe[2];
  float8 m = (float8)(-FLT_MAX), s = (float8)(0.0f);
  int valid = 0, padded = 0;
  POOL_HWC_WALK({
    const float8 v = LDA8(xn, tap_);
    m = fmax(m, v);
    s += v;
  })
  const int div = count_include_pad ? padded : valid;
  const float8 out = is_max ? m : (div > 0 ? s / (float)div : (float8)(0.0f));
  STA8(y, ((size_t)noh * OW + ow) * C + c, out);
}

// Global pooling of an NCHW input, one work-item per (n, c): a plain loop, best for small HW
// and on CPUs.
__kernel void global_pool_loop(__global const st_t* x, __global st_t* y, int NC, int HW,
                               int is_max) {
  const int nc = get_global_id(0);
  if (nc >= NC) return;
  const __global st_t* xc = x + (size_t)nc * HW;
  float m = -FLT_MAX, s = 0.0f;
  for (int i = 0; i < HW; ++i) {
    const float v = LD(xc, i);
    m = fmax(m, v);
    s += v;
  }
  ST(y, nc, is_max ? m : (HW > 0 ? s / (float)HW : 0.0f));
}

// Global pooling, one work-group of GPOOL_WG work-items per (n, c): a tree reduction in local
// memory, for large HW on GPUs. Launch with local size GPOOL_WG and global NC * GPOOL_WG.
__kernel __attribute__((reqd_work_group_size(GPOOL_WG, 1, 1))) void global_pool_reduce(
    __global const st_t* x, __global st_t* y, int NC, int HW, int is_max) {
  __local float lm[GPOOL_WG];
  __local float ls[GPOOL_WG];
  const int nc = get_group_id(0);
  const int t = get_local_id(0);
  float m = -FLT_MAX, s = 0.0f;
  if (nc < NC) {
    const __global st_t* xc = x + (size_t)nc * HW;
    for (int i = t; i < HW; i += GPOOL_WG) {
      const float v = LD(xc, i);
      m = fmax(m, v);
      s += v;
    }
  }
  lm[t] = m;
  ls[t] = s;
  GPOOL_TREE(lm, ls, t, fmax);
  if (t == 0 && nc < NC) ST(y, nc, is_max ? lm[0] : (HW > 0 ? ls[0] / (float)HW : 0.0f));
}

// Global pooling of a channels-last input: a work-group per (n, chunk of GPOOL_HWC_LANES
// channels); consecutive work-items read consecutive channels, GPOOL_HWC_ROWS rows of them
// stride through the spatial positions. Launch with local size GPOOL_HWC_WG and global
// N * ceil(C / GPOOL_HWC_LANES) * GPOOL_HWC_WG.
// Channels-last global pooling with C a multiple of 8: each work-item 8 channels (one aligned
// 8-wide load per position), in GPOOL_HWC8_WORK_ITEM's work-groups (window.clh). With P > 1
// parts, each writes its max and sum to part ([N][P][C] maxima, then as many sums) and
// global_pool_hwc8_end finishes.
__kernel __attribute__((reqd_work_group_size(GPOOL_HWC_WG, 1, 1))) void global_pool_hwc8(
    __global const st_t* x, __global st_t* y, int N, int C, int HW, int is_max, int P,
    __global float* part) {
  __local float8 lm[GPOOL_HWC_WG];
  __local float8 ls[GPOOL_HWC_WG];
  GPOOL_HWC8_WORK_ITEM(N, C, HW, P, L, R, t, lane, row, n, o, p, i0, i1, live);
  float8 m = -FLT_MAX, s = 0.0f;
  if (live) {
    const __global st_t* xn = x + (size_t)n * HW * C + (size_t)o * 8;
    for (int i = i0 + row; i < i1; i += R) {
      const float8 v = LDA8(xn, (size_t)i * C);
      m = fmax(m, v);
      s += v;
    }
  }
  GPOOL_HWC8_ROWS_REDUCE(lm, ls, L, R, t, lane, row, live, m, s, fmax);
  if (P > 1) {
    const size_t at = ((size_t)n * P + p) * C + (size_t)o * 8;
    vstore8(m, 0, part + at);
    vstore8(s, 0, part + (size_t)N * P * C + at);
    return;
  }
  STA8(y, (size_t)n * C + (size_t)o * 8, is_max ? m : (HW > 0 ? s / (float)HW : (float8)(0.0f)));
}

// The P parts of global_pool_hwc8 per image and channel octet, in part order: a work-item per
// (n, octet).
__kernel void global_pool_hwc8_end(__global const float* part, __global st_t* y, int N, int C,
                                   int HW, int is_max, int P) {
  const int q = get_global_id(0), C8 = C / 8;
  if (q >= N * C8) return;
  const int n = q / C8, o = q - n * C8;
  float8 m = -FLT_MAX, s = 0.0f;
  for (int p = 0; p < P; ++p) {
    const size_t at = ((size_t)n * P + p) * C + (size_t)o * 8;
    m = fmax(m, vload8(0, part + at));
    s += vload8(0, part + (size_t)N * P * C + at);
  }
  STA8(y, (size_t)n * C + (size_t)o * 8, is_max ? m : (HW > 0 ? s / (float)HW : (float8)(0.0f)));
}

__kernel __attribute__((reqd_work_group_size(GPOOL_HWC_WG, 1, 1))) void global_pool_hwc(
    __global const st_t* x, __global st_t* y, int N, int C, int HW, int is_max) {
  __local float lm[GPOOL_HWC_WG];
  __local float ls[GPOOL_HWC_WG];
  GPOOL_HWC_WORK_ITEM(N, C, t, row, n, c, live);
  float m = -FLT_MAX, s = 0.0f;
  if (live) {
    const __global st_t* xn = x + (size_t)n * HW * C + c;
    for (int i = row; i < HW; i += GPOOL_HWC_ROWS) {
      const float v = LD(xn, (size_t)i * C);
      m = fmax(m, v);
      s += v;
    }
  }
  GPOOL_HWC_ROWS_REDUCE(lm, ls, t, m, s, fmax);
  if (row == 0 && live) ST(y, n * C + c, is_max ? m : (HW > 0 ? s / (float)HW : 0.0f));
}
