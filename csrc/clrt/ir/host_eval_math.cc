// Host evaluation of the arithmetic kinds: elementwise, unary, activation, scale, reduce, matmul.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <type_traits>

#include "clrt/core/error.h"
#include "clrt/core/kernel_codes.h"
#include "clrt/ir/shape_internal.h"

namespace clrt::ir::detail {

namespace {

// Wrapping integer arithmetic (no signed-overflow UB), as int64 tensors behave on devices.
int64_t wrapAdd(int64_t a, int64_t b) { return static_cast<int64_t>(uint64_t(a) + uint64_t(b)); }
int64_t wrapSub(int64_t a, int64_t b) { return static_cast<int64_t>(uint64_t(a) - uint64_t(b)); }
int64_t wrapMul(int64_t a, int64_t b) { return static_cast<int64_t>(uint64_t(a) * uint64_t(b)); }

int64_t intPow(int64_t b, int64_t e) {
  if (e < 0) return b == 1 ? 1 : (b == -1 ? (e % 2 ? -1 : 1) : 0);
  int64_t r = 1;
  for (; e > 0; e >>= 1, b = wrapMul(b, b))
    if (e & 1) r = wrapMul(r, b);
  return r;
}

// ONNX Mod on integers: the sign of the divisor (floor) or, with fmod, of the dividend.
int64_t intMod(const Layer& layer, const Dims& d, int64_t x, int64_t y, bool floorMod) {
  if (y == 0) layerFail(layer, "integer division by zero", d);
  const int64_t r = y == -1 ? 0 : x % y;
  return floorMod && r != 0 && ((r < 0) != (y < 0)) ? r + y : r;
}

// BitShift on a `bits`-wide integer; a negative shift or one of the width or more leaves the
// sign fill alone (ONNX 28). The result is wrapped to the width.
int64_t shift(int64_t x, int64_t s, bool left, int bits) {
  if (s < 0 || s >= bits) return !left && x < 0 ? -1 : 0;
  if (!left) return x >> s;
  const uint64_t u = static_cast<uint64_t>(x) << s;
  if (bits == 64) return static_cast<int64_t>(u);
  return static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(u)));
}

// MAX/MIN with onnxruntime's NaN semantics: a NaN operand gives NaN (std::max drops it when it
// comes second).
template <typename T>
T maxProp(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    if (std::isnan(a) || std::isnan(b)) return a + b;
  return std::max(a, b);
}
template <typename T>
T minProp(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    if (std::isnan(a) || std::isnan(b)) return a + b;
  return std::min(a, b);
}

// Returns false for an op the host does not know; `v` holds a op b (comparisons give 0/1).
template <typename T, typename Div, typename Pow>
bool binary(const std::string& op, T a, T b, T& v, Div div, Pow pw) {
  if (op == "SUM")
    v = a + b;
  else if (op == "SUB")
    v = a - b;
  else if (op == "PROD")
    v = a * b;
  else if (op == "DIV")
    v = div(a, b);
  else if (op == "POW")
    v = pw(a, b);
  else if (op == "MAX")
    v = maxProp(a, b);
  else if (op == "MIN")
    v = minProp(a, b);
  else if (op == "EQUAL")
    v = a == b;
  else if (op == "GREATER")
    v = a > b;
  else if (op == "LESS")
    v = a < b;
  else if (op == "GREATER_OR_EQUAL")
    v = a >= b;
  else if (op == "LESS_OR_EQUAL")
    v = a <= b;
  else if (op == "AND")
    v = (a != 0) && (b != 0);
  else if (op == "OR")
    v = (a != 0) || (b != 0);
  else if (op == "XOR")
    v = (a != 0) != (b != 0);
  else
    return false;
  return true;
}

struct Act {
  std::string type;
  double alpha = 0, beta = 0;
};

Act makeAct(const ir::Attrs& a, const char* typeKey, const char* alphaKey, const char* betaKey) {
  Act act;
  act.type = a.s(typeKey);
  // The defaults are the activation table's (the kernels' too).
  const ActivationInfo* info = findActivation(act.type);
  act.alpha = a.f(alphaKey, info ? info->alpha : 0.0);
  act.beta = a.f(betaKey, info ? info->beta : 0.0);
  return act;
}

// Applies the activation in place; false for an unknown type (not evaluated on the host).
bool applyAct(const Act& a, double& x) {
  const std::string& t = a.type;
  if (t.empty()) return true;
  if (t == "RELU")
    x = std::max(x, 0.0);
  else if (t == "LEAKY_RELU")
    x = x >= 0 ? x : a.alpha * x;
  else if (t == "CLIP")
    x = std::min(std::max(x, a.alpha), a.beta);
  else if (t == "SIGMOID")
    x = 1.0 / (1.0 + std::exp(-x));
  else if (t == "TANH")
    x = std::tanh(x);
  else if (t == "HARD_SIGMOID")
    x = std::clamp(a.alpha * x + a.beta, 0.0, 1.0);
  else if (t == "HARD_SWISH")
    x = x * std::clamp(a.alpha * x + a.beta, 0.0, 1.0);
  else if (t == "ELU")
    x = x >= 0 ? x : a.alpha * (std::exp(x) - 1.0);
  else if (t == "SELU")
    x = a.beta * (x > 0 ? x : a.alpha * (std::exp(x) - 1.0));
  else if (t == "SOFTPLUS")
    x = std::log1p(std::exp(x));
  else if (t == "GELU_ERF")
    x = 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  else if (t == "GELU_TANH")
    x = 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  else if (t == "THRESHOLDED_RELU")
    x = x > a.alpha ? x : 0.0;
  else if (t == "SHRINK")
    x = x < -a.alpha ? x + a.beta : x > a.alpha ? x - a.beta : 0.0;
  else if (t == "CELU")
    x = std::max(x, 0.0) + std::min(0.0, a.alpha * (std::exp(x / a.alpha) - 1.0));
  else if (t == "MISH")
    x = x * std::tanh(std::log1p(std::exp(x)));
  else if (t == "SWISH")
    x = x / (1.0 + std::exp(-a.alpha * x));
  else
    return false;
  return true;
}

// Swaps the last two dims of a row-major value list.
void swapLastTwo(std::vector<double>& v, Dims& d) {
  if (d.size() < 2) return;
  const int64_t R = d[d.size() - 2], C = d.back(), n = R * C;
  std::vector<double> out(v.size());
  for (size_t b = 0; b * n < v.size(); ++b)
    for (int64_t i = 0; i < R; ++i)
      for (int64_t j = 0; j < C; ++j) out[b * n + j * R + i] = v[b * n + i * C + j];
  v.swap(out);
  std::swap(d[d.size() - 2], d.back());
}

}  // namespace

bool evalElementwise(const Layer& layer, const std::vector<const HostTensor*>& in, DataType outT,
                     const Dims& outD, HostTensor& out) {
  const HostTensor& a = *in[0];
  const HostTensor& b = *in[1];
  const std::string op = layer.attrs.s("op");
  const auto ai = stridedIndex(outD, 0, broadcastStrides(outD, a.dims));
  const auto bi = stridedIndex(outD, 0, broadcastStrides(outD, b.dims));
  if (isFloatType(a.dtype) || isFloatType(b.dtype)) {
    const auto av = asDoubles(a), bv = asDoubles(b);
    std::vector<double> v(ai.size());
    auto div = [](double x, double y) { return x / y; };
    auto pw = [](double x, double y) { return std::pow(x, y); };
    for (size_t i = 0; i < ai.size(); ++i) {
      const double x = av[ai[i]], y = bv[bi[i]];
      if (op == "FMOD") {
        v[i] = std::fmod(x, y);
      } else if (op == "MOD") {  // the divisor's sign, a zero result included
        const double r = std::fmod(x, y);
        v[i] = r == 0 ? std::copysign(0.0, y) : ((r < 0) != (y < 0) ? r + y : r);
      } else if (!binary<double>(op, x, y, v[i], div, pw)) {
        return false;
      }
    }
    out = fromDouble(outT, outD, v);
    return true;
  }
  const auto av = a.asInt64(), bv = b.asInt64();
  std::vector<int64_t> v(ai.size());
  // C-style truncating division, as onnxruntime does for integer Div.
  auto div = [&](int64_t x, int64_t y) -> int64_t {
    if (y == 0) layerFail(layer, "integer division by zero", a.dims);
    return (y == -1) ? wrapSub(0, x) : x / y;
  };
  for (size_t i = 0; i < ai.size(); ++i) {
    const int64_t x = av[ai[i]], y = bv[bi[i]];
    if (op == "SUM")
      v[i] = wrapAdd(x, y);
    else if (op == "SUB")
      v[i] = wrapSub(x, y);
    else if (op == "PROD")
      v[i] = wrapMul(x, y);
    else if (op == "MOD" || op == "FMOD")
      v[i] = intMod(layer, a.dims, x, y, op == "MOD");
    else if (op == "SHIFT_LEFT" || op == "SHIFT_RIGHT")
      v[i] = shift(x, y, op == "SHIFT_LEFT", static_cast<int>(dtypeSize(outT)) * 8);
    else if (op == "BITWISE_AND")
      v[i] = x & y;
    else if (op == "BITWISE_OR")
      v[i] = x | y;
    else if (op == "BITWISE_XOR")
      v[i] = x ^ y;
    else if (!binary<int64_t>(op, x, y, v[i], div, intPow))
      return false;
  }
  out = fromInt64(outT, outD, v);
  return true;
}

namespace {
// The trigonometric, rounding and classifying unary ops; false for an unknown op.
bool unaryMore(const std::string& op, double& e) {
  static const std::map<std::string, double (*)(double)> fns = {
      {"TAN", [](double v) { return std::tan(v); }},
      {"ASIN", [](double v) { return std::asin(v); }},
      {"ACOS", [](double v) { return std::acos(v); }},
      {"ATAN", [](double v) { return std::atan(v); }},
      {"SINH", [](double v) { return std::sinh(v); }},
      {"COSH", [](double v) { return std::cosh(v); }},
      {"ASINH", [](double v) { return std::asinh(v); }},
      {"ACOSH", [](double v) { return std::acosh(v); }},
      {"ATANH", [](double v) { return std::atanh(v); }},
      {"SIGN", [](double v) { return v > 0   ? 1.0
                                     : v < 0 ? -1.0
                                             : v; }},
      {"ROUND", [](double v) { return std::nearbyint(v); }},  // halves to even
      {"SOFTSIGN", [](double v) { return v / (1.0 + std::fabs(v)); }},
      {"ISNAN", [](double v) { return std::isnan(v) ? 1.0 : 0.0; }}};
  auto it = fns.find(op);
  if (it == fns.end()) return false;
  e = it->second(e);
  return true;
}
}  // namespace

bool evalUnary(const Layer& layer, const HostTensor& x, DataType outT, HostTensor& out) {
  const std::string op = layer.attrs.s("op");
  if (!isFloatType(x.dtype)) {
    auto v = x.asInt64();
    for (auto& e : v) {
      if (op == "ABS")
        e = e < 0 ? wrapSub(0, e) : e;
      else if (op == "NEG")
        e = wrapSub(0, e);
      else if (op == "NOT")
        e = e == 0;
      else if (op == "SIGN")
        e = (e > 0) - (e < 0);
      else if (op == "BITWISE_NOT")
        e = ~e;
      else if (op != "FLOOR" && op != "CEIL" && op != "ROUND")
        return false;
    }
    out = fromInt64(outT, x.dims, v);
    return true;
  }
  auto v = asDoubles(x);
  for (auto& e : v) {
    if (op == "EXP")
      e = std::exp(e);
    else if (op == "LOG")
      e = std::log(e);
    else if (op == "SQRT")
      e = std::sqrt(e);
    else if (op == "RECIP")
      e = 1.0 / e;
    else if (op == "ABS")
      e = std::fabs(e);
    else if (op == "NEG")
      e = -e;
    else if (op == "ERF")
      e = std::erf(e);
    else if (op == "SIN")
      e = std::sin(e);
    else if (op == "COS")
      e = std::cos(e);
    else if (op == "FLOOR")
      e = std::floor(e);
    else if (op == "CEIL")
      e = std::ceil(e);
    else if (op == "NOT")
      e = e == 0.0;
    else if (op == "ISINF")
      e = std::isinf(e) && layer.attrs.i(e > 0 ? "detect_positive" : "detect_negative", 1) != 0;
    else if (!unaryMore(op, e))
      return false;
  }
  out = fromDouble(outT, x.dims, v);
  return true;
}

bool evalActivation(const Layer& layer, const HostTensor& x, HostTensor& out) {
  if (!isFloatType(x.dtype)) return false;
  const Act act = makeAct(layer.attrs, "type", "alpha", "beta");
  if (act.type.empty()) return false;
  auto v = asDoubles(x);
  for (auto& e : v)
    if (!applyAct(act, e)) return false;
  out = fromDouble(x.dtype, x.dims, v);
  return true;
}

bool evalScale(const Layer& layer, const HostTensor& x, HostTensor& out) {
  if (!isFloatType(x.dtype) || x.dims.empty()) return false;
  const int64_t ax = normalizeAxis(layer.attrs.i("channel_axis", 1), x.dims.size(), layer.name);
  const int64_t C = x.dims[ax];
  const int64_t inner = volume(Dims(x.dims.begin() + ax + 1, x.dims.end()));
  auto param = [&](const char* key, double def) {
    auto it = layer.weights.find(key);
    if (it == layer.weights.end()) return std::vector<double>(C, def);
    auto v = asDoubles(it->second);
    if (v.size() == 1) v.assign(C, v[0]);
    return v;
  };
  const auto scale = param("scale", 1.0), shift = param("shift", 0.0);
  if (static_cast<int64_t>(scale.size()) != C || static_cast<int64_t>(shift.size()) != C)
    layerFail(layer, str("scale/shift must hold ", C, " values"), x.dims);
  auto v = asDoubles(x);
  for (size_t i = 0; i < v.size(); ++i) {
    const int64_t c = (static_cast<int64_t>(i) / inner) % C;
    v[i] = v[i] * scale[c] + shift[c];
  }
  out = fromDouble(x.dtype, x.dims, v);
  return true;
}

namespace {
// ARGMAX / ARGMIN over one axis: the first extreme, or the last with select_last_index.
bool evalArgReduce(const Layer& layer, const HostTensor& x, const Dims& outD, HostTensor& out) {
  const std::vector<int64_t> axes = layer.attrs.ints("axes");
  if (axes.size() != 1 || x.dims.empty()) return false;
  const int64_t ax = normalizeAxis(axes[0], static_cast<int64_t>(x.dims.size()), layer.name);
  const int64_t len = x.dims[ax], inner = volume(Dims(x.dims.begin() + ax + 1, x.dims.end()));
  const int64_t outer = volume(Dims(x.dims.begin(), x.dims.begin() + ax));
  if (len <= 0 && outer * inner > 0) return false;  // nothing to pick (the shape rule says so)
  const bool isMax = layer.attrs.s("op") == "ARGMAX", last = layer.attrs.i("select_last_index", 0);
  const auto v = asDoubles(x);
  std::vector<int64_t> idx(static_cast<size_t>(outer * inner), 0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const size_t base = static_cast<size_t>(o * len * inner + i);
      double best = v[base];
      int64_t& b = idx[static_cast<size_t>(o * inner + i)];
      for (int64_t k = 1; k < len; ++k) {
        const double e = v[base + static_cast<size_t>(k * inner)];
        if ((isMax ? e > best : e < best) || (last && e == best)) best = e, b = k;
      }
    }
  out = fromInt64(DataType::kINT64, outD, idx);
  return true;
}
}  // namespace

bool evalReduce(const Layer& layer, const std::vector<TensorInfo>& ins, const Dims& outD,
                HostTensor& out) {
  const HostTensor& x = *ins[0].value;
  if (layer.attrs.s("op") == "ARGMAX" || layer.attrs.s("op") == "ARGMIN")
    return evalArgReduce(layer, x, outD, out);
  const int64_t r = static_cast<int64_t>(x.dims.size());
  std::vector<int64_t> axes;
  if (!layerAxes(layer, ins, axes)) return false;
  if (axes.empty() && layer.attrs.i("noop_with_empty_axes", 0)) {
    out = x;
    return true;
  }
  Dims kd = x.dims;  // the keepdims shape: same element order as outD
  for (int64_t i = 0; i < r; ++i)
    if (axes.empty()) kd[i] = 1;
  for (int64_t a : axes) kd[normalizeAxis(a, r, layer.name)] = 1;
  const auto ks = stridesOf(kd);
  std::vector<int64_t> st(r);
  for (int64_t i = 0; i < r; ++i) st[i] = kd[i] == 1 ? 0 : ks[i];
  const auto dst = stridedIndex(x.dims, 0, st);
  const std::string op = layer.attrs.s("op");
  const int64_t n = volume(kd), count = n > 0 ? x.numel() / n : 0;
  const bool fl = isFloatType(x.dtype);
  const double inf = std::numeric_limits<double>::infinity();
  double init = 0;
  if (op == "PROD")
    init = 1;
  else if (op == "MAX")
    init = -inf;
  else if (op == "MIN")
    init = inf;
  else if (op != "SUM" && op != "MEAN" && op != "SUM_SQUARE" && op != "L2" && op != "L1" &&
           op != "LOG_SUM" && op != "LOG_SUM_EXP")
    return false;
  if (!fl && (op == "LOG_SUM" || op == "LOG_SUM_EXP")) return false;
  if (fl) {
    const auto v = asDoubles(x);
    std::vector<double> acc(n, init);
    // LOG_SUM_EXP sums exp(v - max) so that large values do not overflow; an infinite max
    // shifts by 0.
    std::vector<double> mx(op == "LOG_SUM_EXP" ? n : 0, -inf);
    if (!mx.empty())
      for (size_t i = 0; i < v.size(); ++i) mx[dst[i]] = maxProp(mx[dst[i]], v[i]);
    for (auto& m : mx)
      if (std::isinf(m)) m = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      double& a = acc[dst[i]];
      if (op == "L1")
        a += std::fabs(v[i]);
      else if (op == "LOG_SUM_EXP")
        a += std::exp(v[i] - mx[dst[i]]);
      else if (op == "PROD")
        a *= v[i];
      else if (op == "MAX")
        a = maxProp(a, v[i]);
      else if (op == "MIN")
        a = minProp(a, v[i]);
      else if (op == "SUM_SQUARE" || op == "L2")
        a += v[i] * v[i];
      else
        a += v[i];
    }
    for (auto& a : acc) {
      if (op == "MEAN" && count > 0) a /= static_cast<double>(count);
      if (op == "L2") a = std::sqrt(a);
      if (op == "LOG_SUM") a = std::log(a);
    }
    for (size_t o = 0; o < mx.size(); ++o) acc[o] = mx[o] + std::log(acc[o]);
    out = fromDouble(x.dtype, outD, acc);
    return true;
  }
  const auto v = x.asInt64();
  const int64_t iinit = op == "PROD"  ? 1
                        : op == "MAX" ? std::numeric_limits<int64_t>::min()
                        : op == "MIN" ? std::numeric_limits<int64_t>::max()
                                      : 0;
  std::vector<int64_t> acc(n, iinit);
  for (size_t i = 0; i < v.size(); ++i) {
    int64_t& a = acc[dst[i]];
    if (op == "PROD")
      a = wrapMul(a, v[i]);
    else if (op == "MAX")
      a = std::max(a, v[i]);
    else if (op == "MIN")
      a = std::min(a, v[i]);
    else if (op == "SUM_SQUARE" || op == "L2")
      a = wrapAdd(a, wrapMul(v[i], v[i]));
    else if (op == "L1")
      a = wrapAdd(a, v[i] < 0 ? wrapSub(0, v[i]) : v[i]);
    else
      a = wrapAdd(a, v[i]);
  }
  for (auto& a : acc) {
    if (op == "MEAN" && count > 0) a /= count;
    if (op == "L2") a = static_cast<int64_t>(std::sqrt(static_cast<double>(a)));
  }
  out = fromInt64(x.dtype, outD, acc);
  return true;
}

bool evalMatmul(const Layer& layer, const std::vector<TensorInfo>& ins, const Dims& outD,
                HostTensor& out) {
  const HostTensor& a = *ins[0].value;
  auto kit = layer.weights.find("kernel");
  const bool hasKernel = kit != layer.weights.end();
  const HostTensor* b = hasKernel ? &kit->second : ins[1].value;
  if (!isFloatType(a.dtype) || !isFloatType(b->dtype)) return false;
  const size_t resIdx = hasKernel ? 1 : 2;
  const HostTensor* res = hasInput(layer, ins, resIdx) ? ins[resIdx].value : nullptr;
  Dims ad = a.dims, bd = b->dims;
  auto av = asDoubles(a), bv = asDoubles(*b);
  if (layer.attrs.i("trans_a", 0)) swapLastTwo(av, ad);
  if (layer.attrs.i("trans_b", 0)) swapLastTwo(bv, bd);
  if (ad.size() == 1) ad = {1, ad[0]};
  if (bd.size() == 1) bd = {bd[0], 1};
  const int64_t M = ad[ad.size() - 2], K = ad.back(), N = bd.back();
  const Dims ab(ad.begin(), ad.end() - 2), bb(bd.begin(), bd.end() - 2);
  const Dims ob = broadcastShapes(ab, bb, layer.name);
  const auto aOff = stridedIndex(ob, 0, broadcastStrides(ob, ab));
  const auto bOff = stridedIndex(ob, 0, broadcastStrides(ob, bb));
  std::vector<double> bias;
  if (auto it = layer.weights.find("bias"); it != layer.weights.end()) bias = asDoubles(it->second);
  if (!bias.empty() && bias.size() != 1 && static_cast<int64_t>(bias.size()) != N) return false;
  const Act act = makeAct(layer.attrs, "act", "act_alpha", "act_beta");
  std::vector<int64_t> ri;
  std::vector<double> rv;
  if (res) {
    ri = stridedIndex(outD, 0, broadcastStrides(outD, res->dims));
    rv = asDoubles(*res);
  }
  std::vector<double> v(static_cast<size_t>(volume(ob) * M * N));
  for (size_t bi = 0; bi < aOff.size(); ++bi)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0;
        const double* pa = av.data() + aOff[bi] * M * K + m * K;
        const double* pb = bv.data() + bOff[bi] * K * N + n;
        for (int64_t k = 0; k < K; ++k) s += pa[k] * pb[k * N];
        if (!bias.empty()) s += bias[bias.size() == 1 ? 0 : n];
        const size_t o = (bi * M + m) * N + n;
        if (res) s += rv[ri[o]];
        if (!applyAct(act, s)) return false;
        v[o] = s;
      }
  out = fromDouble(a.dtype, outD, v);
  return true;
}

}  // namespace clrt::ir::detail
