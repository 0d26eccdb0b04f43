// Shape rules of the resampling kinds: resize, padding, transposed convolution, grid sampling.
#include <cmath>

#include "clrt/core/error.h"
#include "clrt/ir/shape_internal.h"

namespace clrt::ir::detail {

Dims inferResize(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims& x = ins.at(0).dims;
  const auto sizes = layer.attrs.ints("sizes");
  if (!sizes.empty()) {
    if (sizes.size() != x.size())
      layerFail(layer, str("sizes ", dimsToString(sizes), " do not match the input rank"), x);
    for (int64_t s : sizes)
      if (s < 0) layerFail(layer, str("sizes ", dimsToString(sizes), " must be >= 0"), x);
    return sizes;
  }
  const auto scales = layer.attrs.floats("scales");
  if (scales.size() != x.size())
    layerFail(layer, str("needs one scale per input dim (", scales.size(), " given)"), x);
  Dims out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    if (!(scales[i] > 0) || !std::isfinite(scales[i]))
      layerFail(layer, str("scale ", scales[i], " of dim ", i, " must be positive"), x);
    // onnxruntime multiplies in float: a scale like 1/3 read from float32 stays consistent.
    const double o = static_cast<double>(static_cast<float>(scales[i]) * static_cast<float>(x[i]));
    if (x[i] >= 0 && o >= 9.0e18) layerFail(layer, str("dim ", i, " overflows int64"), x);
    out[i] = x[i] < 0 ? -1 : static_cast<int64_t>(std::floor(o));
  }
  return out;
}

Dims inferPadding(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims& x = ins.at(0).dims;
  const auto pads = layer.attrs.ints("pads");
  if (pads.size() != 2 * x.size())
    layerFail(layer, str("pads ", dimsToString(pads), " need begins and ends of every dim"), x);
  Dims out(x.size());
  const size_t r = x.size();
  for (size_t i = 0; i < r; ++i) {
    if (x[i] < 0) {
      out[i] = -1;
      continue;
    }
    out[i] = x[i] + pads[i] + pads[i + r];
    if (out[i] < 0)
      layerFail(layer, str("pads ", dimsToString(pads), " crop dim ", i, " below zero"), x);
  }
  return out;
}

Dims inferDeconv(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims& x = ins.at(0).dims;
  // The kernel: weights, or input 1 (then also recorded as kernel_shape).
  auto it = layer.weights.find("kernel");
  Dims kd = layer.attrs.ints("kernel_shape");
  if (it != layer.weights.end())
    kd = it->second.dims;
  else if (!hasInput(layer, ins, 1) || kd.empty())
    layerFail(layer, "needs 'kernel' weights or input 1 with attr kernel_shape", x);
  else if (ins[1].dims != kd)
    layerFail(
        layer,
        str("kernel input ", dimsToString(ins[1].dims), " is not kernel_shape ", dimsToString(kd)),
        x);
  if (x.size() < 3 || kd.size() != x.size())
    layerFail(layer,
              str("expects input [N, C, ...spatial] of the rank of kernel ", dimsToString(kd)), x);
  const size_t nsp = x.size() - 2;
  const int64_t group = layer.attrs.i("group", 1);
  if (group <= 0 || (x[1] >= 0 && x[1] != kd[0]) || kd[0] % group != 0)
    layerFail(layer,
              str("input channels do not match kernel ", dimsToString(kd), " with group ", group),
              x);
  auto list = [&](const char* name, size_t n, int64_t def) {
    auto v = layer.attrs.ints(name);
    if (v.empty()) v.assign(n, def);
    if (v.size() != n) layerFail(layer, str("attr ", name, " ", dimsToString(v), " needs ", n), x);
    return v;
  };
  const auto s = list("strides", nsp, 1), d = list("dilations", nsp, 1);
  const auto op = list("output_padding", nsp, 0), p = list("pads", 2 * nsp, 0);
  Dims out = {x[0], kd[1] * group};
  for (size_t i = 0; i < nsp; ++i) {
    // An end pad may be negative (ConvTranspose output_shape beyond the full result).
    if (s[i] <= 0 || d[i] <= 0 || op[i] < 0 || p[i] < 0)
      layerFail(layer, "strides and dilations must be positive, begin pads >= 0", x);
    if (x[2 + i] < 0) {
      out.push_back(-1);
      continue;
    }
    const int64_t o =
        s[i] * (x[2 + i] - 1) + op[i] + (kd[2 + i] - 1) * d[i] + 1 - p[i] - p[i + nsp];
    if (o < 0) layerFail(layer, str("spatial dim ", i, " comes out negative (", o, ")"), x);
    out.push_back(o);
  }
  auto b = layer.weights.find("bias");
  if (b != layer.weights.end() && b->second.numel() != out[1])
    layerFail(layer, str("bias has ", b->second.numel(), " values for ", out[1], " channels"),
              b->second.dims);
  return out;
}

// [N, C, ...in] sampled at grid [N, ...out, r] gives [N, C, ...out].
Dims inferGridSample(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims &x = ins.at(0).dims, &g = ins.at(1).dims;
  const size_t r = x.size() < 2 ? 0 : x.size() - 2;
  if (r < 2 || r > 3 || g.size() != x.size())
    layerFail(layer,
              str("needs x of rank 4 or 5 and a grid of the same rank; grid is ", dimsToString(g)),
              x);
  if (g.back() >= 0 && g.back() != static_cast<int64_t>(r))
    layerFail(layer, str("grid ", dimsToString(g), " must end in ", r, " coordinates"), x);
  if (g[0] >= 0 && x[0] >= 0 && g[0] != x[0])
    layerFail(layer, str("grid ", dimsToString(g), " has another batch than x"), x);
  Dims out = {x[0] >= 0 ? x[0] : g[0], x[1]};
  out.insert(out.end(), g.begin() + 1, g.end() - 1);
  return out;
}

}  // namespace clrt::ir::detail
