// Direct 3-D window kernels: convolution (with the fused epilogue) and transposed convolution
// (ONNX ConvTranspose) over 1 to 3 spatial dims, lower ranks read as D = H = 1. One work-item
// per output element. x [N, C, D, H, W] in the layer's storage; weights and arithmetic float.

// g: the window (WinPack, window.clh; its end pads are unused here).

// Output element gid of [N, K, D, H, W]: its position o = {od, oh, ow}, channel k and image b.
inline void win3d_out(int gid, const WinPack* g, int K, int o[3], int* k, int* b) {
  const int r = win_out_index(gid, g, o);
  *k = r % K;
  *b = r / K;
}

// w [K, C/G, kd, kh, kw]; y = act(conv + bias + residual) as conv.cl's epilogue.
__kernel void conv3d_direct(__global const st_t* x, __global const float* w,
                            __global const float* bias, __global const st_t* res,
                            __global st_t* y, int n, int C, int K, int G, int has_res,
                            float alpha, float beta, WinPack g) {
  const int gid = get_global_id(0);
  if (gid >= n) return;
  int o[3], k, b;
  win3d_out(gid, &g, K, o, &k, &b);
  const int od = o[0], oh = o[1], ow = o[2];
  const int Cg = C / G, grp = k / (K / G);
  const int ksz = g.k[0] * g.k[1] * g.k[2];
  const int isz = g.in[0] * g.in[1] * g.in[2];
  float acc = bias[k];
  for (int ci = 0; ci < Cg; ++ci) {
    const __global st_t* xc = x + (size_t)(b * C + grp * Cg + ci) * isz;
    const __global float* wc = w + (size_t)(k * Cg + ci) * ksz;
    for (int a = 0; a < g.k[0]; ++a) {
      const int id = od * g.s[0] - g.pb[0] + a * g.d[0];
      if (id < 0 || id >= g.in[0]) continue;
      for (int e = 0; e < g.k[1]; ++e) {
        const int ih = oh * g.s[1] - g.pb[1] + e * g.d[1];
        if (ih < 0 || ih >= g.in[1]) continue;
        for (int c = 0; c < g.k[2]; ++c) {
          const int iw = ow * g.s[2] - g.pb[2] + c * g.d[2];
          if (iw < 0 || iw >= g.in[2]) continue;
          acc += LD(xc, (id * g.in[1] + ih) * g.in[2] + iw) * wc[(a * g.k[1] + e) * g.k[2] + c];
        }
      }
    }
  }
  if (has_res) acc += LD(res, gid);
  ST(y, gid, apply_act(acc, alpha, beta));
}

// w [C, K/G, kd, kh, kw]: each output gathers the input positions whose taps land on it.
__kernel void deconv3d_direct(__global const st_t* x, __global const float* w,
                              __global const float* bias, __global st_t* y, int n, int C, int K,
                              int G, WinPack g) {
  const int gid = get_global_id(0);
  if (gid >= n) return;
  int o[3], k, b;
  win3d_out(gid, &g, K, o, &k, &b);
  const int od = o[0], oh = o[1], ow = o[2];
  const int Kg = K / G, Cg = C / G;
  const int grp = k / Kg, kk = k - grp * Kg;
  const int ksz = g.k[0] * g.k[1] * g.k[2];
  const int isz = g.in[0] * g.in[1] * g.in[2];
  float acc = bias[k];
  for (int a = 0; a < g.k[0]; ++a) {
    const int td = od + g.pb[0] - a * g.d[0];
    if (td < 0 || td % g.s[0] != 0 || td / g.s[0] >= g.in[0]) continue;
    const int id = td / g.s[0];
    for (int e = 0; e < g.k[1]; ++e) {
      const int th = oh + g.pb[1] - e * g.d[1];
      if (th < 0 || th % g.s[1] != 0 || th / g.s[1] >= g.in[1]) continue;
      const int ih = th / g.s[1];
      for (int c = 0; c < g.k[2]; ++c) {
        const int tw = ow + g.pb[2] - c * g.d[2];
        if (tw < 0 || tw % g.s[2] != 0 || tw / g.s[2] >= g.in[2]) continue;
        const int xi = (id * g.in[1] + ih) * g.in[2] + tw / g.s[2];
        const int wi = (a * g.k[1] + e) * g.k[2] + c;
        for (int ci = 0; ci < Cg; ++ci) {
          const int ch = grp * Cg + ci;
          acc += LD(x, (size_t)(b * C + ch) * isz + xi) * w[(size_t)(ch * Kg + kk) * ksz + wi];
        }
      }
    }
  }
  ST(y, gid, acc);
}
