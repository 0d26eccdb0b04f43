// Typed parameters of the layer kinds with several tactics (convolution, matrix multiply,
// pooling) and of the fused epilogue: read from a layer's weights and string-keyed attrs,
// checked and defaulted once here; the tactics consume these structs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "clrt/ir/network.h"

namespace clrt::ir {

// A 2-D window (kernel taps, strides, dilations, explicit pads, auto_pad). 1-D layers read as
// H=1: one-element lists apply to W and two-element pads are {begin, end} of W.
struct Window2d {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pads[4] = {0, 0, 0, 0};  // top, left, bottom, right
  std::string auto_pad = "NOTSET";
};

// The fused activation (attrs act, act_alpha, act_beta; core/kernel_codes.h), ONNX's defaults
// filled in. act 0: none.
struct EpilogueParams {
  int act = 0;
  float alpha = 0.0f, beta = 0.0f;
};

// CONVOLUTION: weights "kernel" [K, C/G, kh, kw] or [K, C/G, kw], optional "bias" [K].
struct ConvParams {
  int64_t K = 0, Cg = 0, G = 1;
  Window2d win;
  EpilogueParams ep;
  bool has_bias = false;
};

// MATRIX_MULTIPLY: a @ b with b an input or the weight "kernel", optional "bias" over the last
// output dim, optional residual (the last input).
struct MatMulParams {
  bool ta = false, tb = false;
  bool b_weights = false;  // b is the weight "kernel" (b_dims), else input 1
  Dims b_dims;
  bool has_bias = false;
  int64_t bias_n = 0;
  bool has_res = false;
  EpilogueParams ep;
};

// POOLING: MAX / AVERAGE / LP (LpPool's norm p) over a 1-D to 3-D window, or global MAX /
// AVERAGE. The N-D lists hold one entry per window dim as the attrs list them (pads: begins then
// ends, auto_pad in win.auto_pad); win is their 2-D form, filled for 1-D and 2-D windows only.
struct PoolParams {
  bool is_max = true, is_lp = false, global = false, count_include_pad = false;
  float p = 2.0f;
  Window2d win;
  std::vector<int64_t> window, strides, dilations, pads;
};

// An N-D window's attrs (conv, pooling, their transposed and 3-D forms) for a layer with nsp
// spatial dims: strides and dilations, one per dim (default 1), pads as begins then ends (default
// 0), auto_pad ("NOTSET" when empty). A 1-D layer may carry the 2-D form of an H = 1 layer
// (strides {1, w}, pads {t, l, b, r}): its W entries are read. Only the lists' lengths are
// checked here; each reader checks the values it supports.
struct WindowNd {
  std::vector<int64_t> strides, dilations, pads;
  std::string auto_pad = "NOTSET";
};
// Attr `key` as one entry per spatial dim (def when absent); nullopt with the reason in *why
// when it does not fit nsp dims.
std::optional<std::vector<int64_t>> spatialList(const Attrs& a, const std::string& key, int64_t def,
                                                size_t nsp, std::string* why = nullptr);
std::optional<WindowNd> windowNd(const Attrs& a, size_t nsp, std::string* why = nullptr);
bool knownAutoPad(const std::string& auto_pad);

// Each returns nullopt when the layer's weights/attrs are outside what the kernels implement (an
// unknown activation, a malformed window, a bias of the wrong size, too few inputs), with the
// reason in *why when given.
std::optional<EpilogueParams> epilogueParams(const Attrs& a, std::string* why = nullptr);
std::optional<ConvParams> convParams(const Layer& l, std::string* why = nullptr);
std::optional<MatMulParams> matMulParams(const Layer& l, std::string* why = nullptr);
std::optional<PoolParams> poolParams(const Layer& l, std::string* why = nullptr);

}  // namespace clrt::ir
