// Shape rules of the resampling kinds: resize, padding, transposed convolution, grid sampling,
// roi align.
#include <cmath>

#include "clrt/core/error.h"
#include "clrt/ir/resample_params.h"
#include "clrt/ir/shape_internal.h"

namespace clrt::ir::detail {

Dims inferResize(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims& x = ins.at(0).dims;
  ResizeGeometry g;
  if (!resizeGeometry(layer, ins, &g)) return Dims(x.size(), -1);
  const auto& sizes = g.sizes;
  if (!sizes.empty()) {
    if (sizes.size() != x.size())
      layerFail(layer, str("sizes ", dimsToString(sizes), " do not match the input rank"), x);
    for (int64_t s : sizes)
      if (s < 0) layerFail(layer, str("sizes ", dimsToString(sizes), " must be >= 0"), x);
    return sizes;
  }
  const auto& scales = g.scales;
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
  std::vector<int64_t> pads;
  if (!paddingPads(layer, ins, x.size(), &pads)) return Dims(x.size(), -1);
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

// x [N, C, H, W] pooled over rois [R, 4] (roi r in image batch_indices[r]) gives
// [R, C, output_height, output_width].
Dims inferRoiAlign(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims &x = ins.at(0).dims, &rois = ins.at(1).dims, &bi = ins.at(2).dims;
  if (x.size() != 4 || rois.size() != 2 || bi.size() != 1)
    layerFail(layer,
              str("needs x [N, C, H, W], rois [R, 4] and batch indices [R]; rois are ",
                  dimsToString(rois), ", batch indices ", dimsToString(bi)),
              x);
  if (rois[1] >= 0 && rois[1] != 4)
    layerFail(layer, str("rois ", dimsToString(rois), " must hold 4 coordinates per roi"), x);
  if (rois[0] >= 0 && bi[0] >= 0 && rois[0] != bi[0])
    layerFail(layer,
              str("rois ", dimsToString(rois), " and batch indices ", dimsToString(bi),
                  " count different rois"),
              x);
  const DataType rt = ins[1].dtype, bt = ins[2].dtype;
  if ((rt != DataType::kFLOAT && rt != DataType::kHALF) ||
      (bt != DataType::kINT32 && bt != DataType::kINT64))
    layerFail(layer,
              str("rois are ", dtypeName(rt), " and batch indices ", dtypeName(bt),
                  "; expected FLOAT or HALF rois and INT32 or INT64 batch indices"),
              x);
  const int64_t oh = layer.attrs.i("output_height", 1), ow = layer.attrs.i("output_width", 1);
  if (oh < 1 || ow < 1)
    layerFail(layer, str("output_height ", oh, " and output_width ", ow, " must be at least 1"), x);
  return {rois[0] >= 0 ? rois[0] : bi[0], x[1], oh, ow};
}

}  // namespace clrt::ir::detail

namespace clrt::ir {

namespace {

std::vector<int64_t> allAxes(const Layer& layer, size_t rank) {
  std::vector<int64_t> axes = layer.attrs.ints("axes");
  if (axes.empty())
    for (size_t i = 0; i < rank; ++i) axes.push_back(static_cast<int64_t>(i));
  return axes;
}

// Sizes under keep_aspect_ratio_policy not_larger / not_smaller: one scale for every resized
// axis, the smallest or largest of out / in. False while an input dim is unknown.
bool keepAspect(const Layer& layer, const Dims& x, const std::vector<int64_t>& axes,
                ResizeGeometry* g) {
  const std::string policy = layer.attrs.s("policy", "stretch");
  if (policy == "stretch") return true;
  double s = policy == "not_larger" ? 1e300 : 0.0;
  for (int64_t a : axes) {
    if (x[a] < 0) return false;
    if (x[a] == 0) detail::layerFail(layer, str("keep_aspect_ratio_policy on empty dim ", a), x);
    const double r = static_cast<double>(g->sizes[a]) / static_cast<double>(x[a]);
    s = policy == "not_larger" ? std::min(s, r) : std::max(s, r);
  }
  g->scales.assign(x.size(), 1.0);
  for (int64_t a : axes) {
    g->sizes[a] = static_cast<int64_t>(s * static_cast<double>(x[a]) + 0.5);
    g->scales[a] = s;
  }
  return true;
}

}  // namespace

bool resizeGeometry(const Layer& layer, const std::vector<TensorInfo>& ins, ResizeGeometry* g) {
  g->scales = layer.attrs.floats("scales");
  g->sizes = layer.attrs.ints("sizes");
  g->roi = layer.attrs.floats("roi");
  bool runtime = false;
  for (size_t i = 1; i <= 3; ++i) {
    if (!detail::hasInput(layer, ins, i)) continue;
    if (!ins[i].value) return false;
    runtime = true;
  }
  if (!runtime) return true;
  const Dims& x = ins.at(0).dims;
  const size_t r = x.size();
  const std::vector<int64_t> axes = allAxes(layer, r);
  const size_t n = axes.size();
  auto given = [&](size_t i) { return detail::hasInput(layer, ins, i) && ins[i].value->numel(); };
  auto check = [&](size_t got, size_t want, const char* what) {
    if (got != want)
      detail::layerFail(layer, str(what, " has ", got, " values for ", n, " axes"), x);
  };
  if (given(1)) {
    const auto v = ins[1].value->castTo(DataType::kFLOAT).asFloats();
    check(v.size(), 2 * n, "roi");
    g->roi.assign(2 * r, 0.0);
    for (size_t i = 0; i < r; ++i) g->roi[r + i] = 1.0;
    for (size_t i = 0; i < n; ++i) g->roi[axes[i]] = v[i], g->roi[r + axes[i]] = v[n + i];
  }
  if (given(2)) {
    const auto v = ins[2].value->castTo(DataType::kFLOAT).asFloats();
    check(v.size(), n, "scales");
    g->scales.assign(r, 1.0);
    g->sizes.clear();
    for (size_t i = 0; i < n; ++i) {
      if (!(v[i] > 0) || !std::isfinite(v[i]))
        detail::layerFail(layer, str("scale ", v[i], " must be positive and finite"), x);
      g->scales[axes[i]] = v[i];
    }
    return true;
  }
  if (!given(3)) detail::layerFail(layer, "needs scales or sizes, both are empty", x);
  const auto v = ins[3].value->asInt64();
  check(v.size(), n, "sizes");
  g->sizes = x;
  g->scales.clear();
  for (size_t i = 0; i < n; ++i) {
    if (v[i] < 0) detail::layerFail(layer, str("sizes ", dimsToString(v), " must be >= 0"), x);
    g->sizes[axes[i]] = v[i];
  }
  return keepAspect(layer, x, axes, g);
}

bool paddingPads(const Layer& layer, const std::vector<TensorInfo>& ins, size_t rank,
                 std::vector<int64_t>* full) {
  if (!detail::hasInput(layer, ins, 1)) {
    *full = layer.attrs.ints("pads");
    return true;
  }
  std::vector<int64_t> pads, axes;
  if (!detail::inputInts(layer, ins, 1, pads)) return false;
  const int64_t r = static_cast<int64_t>(rank);
  const Dims& x = ins.at(0).dims;
  if (detail::hasInput(layer, ins, 2)) {
    if (!detail::inputInts(layer, ins, 2, axes)) return false;
  } else {
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  }
  const size_t n = axes.size();
  if (pads.size() != 2 * n)
    detail::layerFail(layer,
                      str("pads ", dimsToString(pads), " need ", 2 * n, " values for ", n,
                          " axes (begins then ends)"),
                      x);
  full->assign(2 * rank, 0);
  std::vector<char> seen(rank, 0);
  for (size_t i = 0; i < n; ++i) {
    const int64_t a = detail::axisOf(layer, axes[i], r, x);
    if (seen[a]) detail::layerFail(layer, str("pad axis ", axes[i], " is repeated"), x);
    seen[a] = 1;
    (*full)[a] = pads[i];
    (*full)[rank + a] = pads[n + i];
  }
  return true;
}

}  // namespace clrt::ir
