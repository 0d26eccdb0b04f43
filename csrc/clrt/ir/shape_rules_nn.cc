// Shape rules of the compute kinds: convolution, pooling, matrix multiply.
#include <algorithm>

#include "clrt/core/error.h"
#include "clrt/ir/layer_params.h"
#include "clrt/ir/shape_internal.h"

namespace clrt::ir::detail {

namespace {

int64_t windowOut(const Layer& layer, const Dims& x, int64_t in, int64_t k, int64_t s, int64_t dil,
                  int64_t pb, int64_t pe, const std::string& autoPad, bool ceilMode) {
  if (s <= 0 || dil <= 0 || k <= 0)
    layerFail(layer, str("kernel ", k, ", stride ", s, ", dilation ", dil, " must be positive"), x);
  if (in < 0) return -1;
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") return in / s + (in % s != 0);
  if (autoPad == "VALID")
    pb = pe = 0;
  else if (!autoPad.empty() && autoPad != "NOTSET")
    layerFail(layer, str("unknown auto_pad '", autoPad, "'"), x);
  // In 128 bits: pads, dilations and kernels come from the model and may be absurd.
  const __int128 padded = static_cast<__int128>(in) + pb + pe;
  const __int128 window = static_cast<__int128>(dil) * (k - 1) + 1;
  const __int128 num = padded - window;
  if (num < 0)
    layerFail(layer,
              str("window ", static_cast<double>(window), " is larger than the padded input ",
                  static_cast<double>(padded)),
              x);
  const __int128 wide = (ceilMode ? (num + s - 1) / s : num / s) + 1;
  if (wide > INT64_MAX || padded > INT64_MAX)
    layerFail(layer,
              str("output size overflows int64 (input ", in, ", pads ", pb, "+", pe, ", kernel ", k,
                  ", dilation ", dil, ", stride ", s, ")"),
              x);
  int64_t out = static_cast<int64_t>(wide);
  // The last window must start inside the input or the left padding (ONNX / PyTorch rule).
  if (ceilMode && (out - 1) * s >= in + pb) --out;
  return out;
}

Dims windowDims(const Layer& layer, const Dims& x, const std::vector<int64_t>& ks, int64_t outC,
                bool ceilMode) {
  const size_t nsp = x.size() - 2;
  std::string why;
  const std::optional<WindowNd> w = windowNd(layer.attrs, nsp, &why);
  if (!w) layerFail(layer, why, x);
  Dims out = {x[0], outC};
  for (size_t i = 0; i < nsp; ++i)
    out.push_back(windowOut(layer, x, x[2 + i], ks[i], w->strides[i], w->dilations[i], w->pads[i],
                            w->pads[nsp + i], w->auto_pad, ceilMode));
  return out;
}

}  // namespace

Dims inferConv(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims& x = ins.at(0).dims;
  if (x.size() < 3) layerFail(layer, "expects input [N, C, ...spatial]", x);
  auto it = layer.weights.find("kernel");
  Dims kd;
  if (it != layer.weights.end())
    kd = it->second.dims;
  else if (hasInput(layer, ins, 2))  // W computed at run time, B optional input 3
    kd = ins[2].dims;
  else
    layerFail(layer, "needs 'kernel' weights or the weight as input 2", x);
  if (!isStatic(kd)) layerFail(layer, "the weight input needs static dims", kd);
  const size_t nsp = x.size() - 2;
  std::vector<int64_t> ks;
  if (kd.size() == nsp + 2)
    ks.assign(kd.begin() + 2, kd.end());
  else if (nsp == 1 && kd.size() == 4 && kd[2] == 1)
    ks = {kd[3]};
  else
    layerFail(layer, str("kernel ", dimsToString(kd), " does not fit the input rank"), x);
  const int64_t group = layer.attrs.i("group", 1);
  if (group <= 0 || kd[0] % group != 0)
    layerFail(layer, str("group ", group, " does not divide the ", kd[0], " output channels"), x);
  if (x[1] >= 0 && x[1] != kd[1] * group)
    layerFail(layer,
              str("input channels do not match kernel ", dimsToString(kd), " with group ", group,
                  " (expected ", kd[1] * group, ")"),
              x);
  Dims out = windowDims(layer, x, ks, kd[0], false);
  auto b = layer.weights.find("bias");
  if (b != layer.weights.end() && b->second.numel() != kd[0])
    layerFail(layer, str("bias has ", b->second.numel(), " values for ", kd[0], " channels"),
              b->second.dims);
  if (hasInput(layer, ins, 1)) {
    const Dims& r = ins[1].dims;
    bool ok = r.size() == out.size();
    for (size_t i = 0; ok && i < r.size(); ++i) ok = r[i] < 0 || out[i] < 0 || r[i] == out[i];
    if (!ok)
      layerFail(layer, str("residual input must have the output shape ", dimsToString(out)), r);
  }
  return out;
}

Dims inferPool(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims& x = ins.at(0).dims;
  if (x.size() < 3) layerFail(layer, "expects input [N, C, ...spatial]", x);
  const size_t nsp = x.size() - 2;
  if (layer.attrs.i("global", 0)) {
    Dims out = {x[0], x[1]};
    out.resize(x.size(), 1);
    return out;
  }
  if (!layer.attrs.has("window")) layerFail(layer, "missing attr 'window'", x);
  std::string why;
  const std::optional<std::vector<int64_t>> ks = spatialList(layer.attrs, "window", 1, nsp, &why);
  if (!ks) layerFail(layer, why, x);
  return windowDims(layer, x, *ks, x[1], layer.attrs.i("ceil_mode", 0) != 0);
}

Dims inferMatmul(const Layer& layer, const std::vector<TensorInfo>& ins) {
  Dims a = ins.at(0).dims, b;
  auto it = layer.weights.find("kernel");
  if (it != layer.weights.end())
    b = it->second.dims;
  else if (hasInput(layer, ins, 1))
    b = ins[1].dims;
  else
    layerFail(layer, "needs operand b as input 1 or 'kernel' weights", a);
  if (a.empty() || b.empty())
    layerFail(layer, "operands must have rank >= 1", dimsToString(a) + " and " + dimsToString(b));
  if (layer.attrs.i("trans_a", 0) && a.size() >= 2) std::swap(a[a.size() - 1], a[a.size() - 2]);
  if (layer.attrs.i("trans_b", 0) && b.size() >= 2) std::swap(b[b.size() - 1], b[b.size() - 2]);
  const bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a = {1, a[0]};
  if (b1) b = {b[0], 1};
  const int64_t ka = a.back(), kb = b[b.size() - 2];
  if (ka >= 0 && kb >= 0 && ka != kb)
    layerFail(layer, str("inner dimensions differ (", ka, " vs ", kb, ")"),
              dimsToString(ins[0].dims) + " and " + dimsToString(b));
  Dims out = broadcast(layer, Dims(a.begin(), a.end() - 2), Dims(b.begin(), b.end() - 2));
  if (!a1) out.push_back(a[a.size() - 2]);
  if (!b1) out.push_back(b.back());
  auto bias = layer.weights.find("bias");
  if (bias != layer.weights.end() && !b1 && b.back() >= 0 && bias->second.numel() != b.back() &&
      bias->second.numel() != 1)
    layerFail(layer, str("bias has ", bias->second.numel(), " values for ", b.back(), " columns"),
              bias->second.dims);
  return out;
}

// Operand `slot` of an ATTENTION layer: its input's dims, or those of the view it reads of its
// input (attrs <x>_dims over <x>_src; passes/fuse_attention.cc).
Dims attentionOperand(const Layer& layer, const std::vector<TensorInfo>& ins, int slot) {
  static const char* const kNames[] = {"q", "k", "v"};
  const std::string n = kNames[slot];
  const Dims& in = ins.at(static_cast<size_t>(slot)).dims;
  if (!layer.attrs.has(n + "_dims")) return in;
  const std::vector<int64_t> src = layer.attrs.ints(n + "_src");
  if (in != Dims(src.begin(), src.end()))
    layerFail(layer, str(n, " is read as a view of a ", dimsToString(src), " tensor"), in);
  const std::vector<int64_t> d = layer.attrs.ints(n + "_dims");
  return Dims(d.begin(), d.end());
}

Dims inferAttention(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims q = attentionOperand(layer, ins, 0), k = attentionOperand(layer, ins, 1),
             v = attentionOperand(layer, ins, 2);
  const std::string qkv = dimsToString(q) + ", " + dimsToString(k) + " and " + dimsToString(v);
  if (q.size() < 2 || k.size() != q.size() || v.size() != q.size())
    layerFail(layer, "q, k and v must have one rank >= 2", qkv);
  const size_t r = q.size();
  const bool transK = layer.attrs.i("trans_k", 1) != 0;
  const int64_t kd = transK ? k[r - 1] : k[r - 2], kn = transK ? k[r - 2] : k[r - 1];
  auto differ = [](int64_t a, int64_t b) { return a >= 0 && b >= 0 && a != b; };
  bool bad = differ(q[r - 1], kd) || differ(kn, v[r - 2]) ||
             differ(q[r - 1], layer.attrs.i("head_q", -1)) ||
             differ(v[r - 1], layer.attrs.i("head_v", -1));
  if (bad)
    layerFail(layer,
              str("expects q [L..., Sq, D], k [L..., ", transK ? "Skv, D" : "D, Skv",
                  "], v [L..., Skv, Dv] (L broadcast)"),
              qkv);
  // Leading dims broadcast as the MatMuls the layer replaces broadcast them.
  const auto lead = [](const Dims& d) { return Dims(d.begin(), d.end() - 2); };
  Dims out = broadcast(layer, broadcast(layer, lead(q), lead(k)), lead(v));
  const Dims batch = out;
  out.push_back(q[r - 2]);
  out.push_back(v[r - 1]);
  if (layer.attrs.has("o_dims")) {  // written transposed: o_strides over these dims
    const std::vector<int64_t> o = layer.attrs.ints("o_dims");
    if (o.size() != out.size() || volume(Dims(o.begin(), o.end())) != volume(out))
      layerFail(layer,
                "its transposed output " + dimsToString(Dims(o.begin(), o.end())) +
                    " does not hold the result " + dimsToString(out),
                q);
    out = Dims(o.begin(), o.end());
  }
  if (hasInput(layer, ins, 3)) {
    Dims scores = batch;
    scores.push_back(q[r - 2]);
    scores.push_back(kn);
    const Dims b = broadcast(layer, scores, ins[3].dims);
    if (b.size() != scores.size())
      layerFail(layer, "the bias broadcasts beyond the scores " + dimsToString(scores),
                ins[3].dims);
  }
  return out;
}

}  // namespace clrt::ir::detail
