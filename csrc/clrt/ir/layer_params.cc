// The one reader of the convolution / matrix multiply / pooling / epilogue attrs (layer_params.h).
#include "clrt/ir/layer_params.h"

#include <algorithm>

#include "clrt/core/kernel_codes.h"

namespace clrt::ir {
namespace {

template <typename T>
std::optional<T> refuse(std::string* why, std::string reason) {
  if (why) *why = std::move(reason);
  return std::nullopt;
}

// {h, w} from an attribute list of length 0 (def), 1 (1-D: {1 or def, v}) or 2.
bool readPair(const Attrs& a, const std::string& key, int64_t def, int64_t* h, int64_t* w) {
  const std::vector<int64_t> v = a.ints(key);
  if (v.empty()) {
    *h = def, *w = def;
  } else if (v.size() == 1) {
    *h = 1, *w = v[0];
  } else if (v.size() == 2) {
    *h = v[0], *w = v[1];
  } else {
    return false;
  }
  return true;
}

// Strides, dilations, pads and auto_pad of `a` (taps set by the caller); false when the lists
// have ranks other than 1-D/2-D or hold non-positive strides/dilations or negative pads.
bool readWindow(const Attrs& a, Window2d* w) {
  if (!readPair(a, "strides", 1, &w->sh, &w->sw) || !readPair(a, "dilations", 1, &w->dh, &w->dw))
    return false;
  const std::vector<int64_t> p = a.ints("pads");
  if (p.size() == 2) {
    w->pads[1] = p[0], w->pads[3] = p[1];
  } else if (p.size() == 4) {
    std::copy(p.begin(), p.end(), w->pads);
  } else if (!p.empty()) {
    return false;
  }
  w->auto_pad = a.s("auto_pad", "NOTSET");
  if (w->auto_pad.empty()) w->auto_pad = "NOTSET";
  if (!knownAutoPad(w->auto_pad)) return false;
  for (int64_t v : w->pads)
    if (v < 0) return false;
  return w->sh > 0 && w->sw > 0 && w->dh > 0 && w->dw > 0 && w->kh > 0 && w->kw > 0;
}

const HostTensor* weight(const Layer& l, const char* name) {
  auto it = l.weights.find(name);
  return it == l.weights.end() ? nullptr : &it->second;
}

}  // namespace

std::optional<std::vector<int64_t>> spatialList(const Attrs& a, const std::string& key, int64_t def,
                                                size_t nsp, std::string* why) {
  std::vector<int64_t> v = a.ints(key);
  if (v.empty()) return std::vector<int64_t>(nsp, def);
  if (v.size() == nsp) return v;
  if (nsp == 1 && v.size() == 2) return std::vector<int64_t>{v[1]};
  return refuse<std::vector<int64_t>>(why, "attr " + key + " " + dimsToString(v) +
                                               " does not fit " + std::to_string(nsp) +
                                               " spatial dims");
}

std::optional<WindowNd> windowNd(const Attrs& a, size_t nsp, std::string* why) {
  WindowNd w;
  auto strides = spatialList(a, "strides", 1, nsp, why);
  if (!strides) return std::nullopt;
  auto dilations = spatialList(a, "dilations", 1, nsp, why);
  if (!dilations) return std::nullopt;
  w.strides = std::move(*strides);
  w.dilations = std::move(*dilations);
  const std::vector<int64_t> v = a.ints("pads");
  if (v.empty() || v.size() == 2 * nsp) {
    w.pads = v.empty() ? std::vector<int64_t>(2 * nsp, 0) : v;
  } else if (nsp == 1 && v.size() == 4) {  // {top, left, bottom, right} of an H = 1 layer
    w.pads = {v[1], v[3]};
  } else {
    return refuse<WindowNd>(
        why, "pads " + dimsToString(v) + " do not fit " + std::to_string(nsp) + " spatial dims");
  }
  w.auto_pad = a.s("auto_pad", "NOTSET");
  if (w.auto_pad.empty()) w.auto_pad = "NOTSET";
  return w;
}

bool knownAutoPad(const std::string& ap) {
  return ap == "NOTSET" || ap == "SAME_UPPER" || ap == "SAME_LOWER" || ap == "VALID";
}

std::optional<EpilogueParams> epilogueParams(const Attrs& a, std::string* why) {
  const std::string type = a.s("act", "");
  if (type.empty()) return EpilogueParams{};
  const ActivationInfo* info = findActivation(type);
  if (!info) return refuse<EpilogueParams>(why, "fused activation '" + type + "' is unknown");
  EpilogueParams e;
  e.act = info->code;
  e.alpha = static_cast<float>(a.f("act_alpha", info->alpha));
  e.beta = static_cast<float>(a.f("act_beta", info->beta));
  return e;
}

std::optional<ConvParams> convParams(const Layer& l, std::string* why) {
  const HostTensor* k = weight(l, "kernel");
  if (!k) return refuse<ConvParams>(why, "no constant kernel");
  const Dims& kd = k->dims;
  if (kd.size() != 3 && kd.size() != 4)
    return refuse<ConvParams>(why, "kernel of rank " + std::to_string(kd.size()) + " (1-D/2-D)");
  ConvParams p;
  p.K = kd[0];
  p.Cg = kd[1];
  p.win.kh = kd.size() == 4 ? kd[2] : 1;
  p.win.kw = kd.back();
  p.G = l.attrs.i("group", 1);
  if (p.G < 1 || p.K < 1 || p.Cg < 1 || p.K % p.G != 0)
    return refuse<ConvParams>(why, "group/kernel dims do not divide");
  if (!readWindow(l.attrs, &p.win))
    return refuse<ConvParams>(why, "strides/dilations/pads/auto_pad out of range");
  auto ep = epilogueParams(l.attrs, why);
  if (!ep) return std::nullopt;
  p.ep = *ep;
  const HostTensor* b = weight(l, "bias");
  p.has_bias = b != nullptr;
  if (b && b->numel() != p.K) return refuse<ConvParams>(why, "bias is not one value per channel");
  return p;
}

std::optional<MatMulParams> matMulParams(const Layer& l, std::string* why) {
  MatMulParams p;
  p.ta = l.attrs.i("trans_a", 0) != 0;
  p.tb = l.attrs.i("trans_b", 0) != 0;
  if (const HostTensor* k = weight(l, "kernel")) {
    p.b_weights = true;
    p.b_dims = k->dims;
    if (p.b_dims.empty()) return refuse<MatMulParams>(why, "scalar kernel");
  }
  if (const HostTensor* b = weight(l, "bias")) {
    p.has_bias = true;
    p.bias_n = b->numel();
  }
  p.has_res = l.attrs.i("has_residual", 0) != 0;
  auto ep = epilogueParams(l.attrs, why);
  if (!ep) return std::nullopt;
  p.ep = *ep;
  const size_t need = 1 + (p.b_weights ? 0 : 1) + (p.has_res ? 1 : 0);
  if (l.inputs.size() < need) return refuse<MatMulParams>(why, "too few inputs");
  return p;
}

std::optional<PoolParams> poolParams(const Layer& l, std::string* why) {
  PoolParams p;
  const std::string type = l.attrs.s("type", "MAX");
  if (type != "MAX" && type != "AVERAGE" && type != "LP")
    return refuse<PoolParams>(why, "pooling type '" + type + "'");
  p.is_max = type == "MAX";
  p.is_lp = type == "LP";
  p.p = static_cast<float>(l.attrs.i("p", 2));
  p.global = l.attrs.i("global", 0) != 0;
  p.count_include_pad = l.attrs.i("count_include_pad", 0) != 0;
  if (p.is_lp && (p.global || p.p < 1))
    return refuse<PoolParams>(why, "LP pooling needs a window and p >= 1");
  if (p.global) return p;
  p.window = l.attrs.ints("window");
  const size_t n = p.window.size();
  if (n < 1 || n > 3) return refuse<PoolParams>(why, "window must have 1 to 3 entries");
  const std::optional<WindowNd> w = windowNd(l.attrs, n);
  bool ok = w.has_value();
  if (ok) p.strides = w->strides, p.dilations = w->dilations, p.pads = w->pads;
  for (size_t i = 0; ok && i < n; ++i)
    ok = p.window[i] >= 1 && p.strides[i] >= 1 && p.dilations[i] >= 1 && p.pads[i] >= 0 &&
         p.pads[n + i] >= 0;
  if (!ok) return refuse<PoolParams>(why, "window/strides/dilations/pads out of range");
  if (n == 3) {
    p.win.auto_pad = w->auto_pad;
    if (!knownAutoPad(p.win.auto_pad))
      return refuse<PoolParams>(why, "auto_pad '" + p.win.auto_pad + "'");
    return p;
  }
  if (!readPair(l.attrs, "window", 1, &p.win.kh, &p.win.kw) || !readWindow(l.attrs, &p.win))
    return refuse<PoolParams>(why, "window/strides/dilations/pads out of range");
  return p;
}

}  // namespace clrt::ir
