// Attention (opsets 23, 24 and 25) as a composite of existing layers: heads split by
// reshape/transpose, the KV cache by concatenation, grouped KV heads repeated by concatenation,
// Q*K^T and P*V by matrix multiplies, the mask, causal and window constraints folded into one
// additive bias, a softmax, and a select that zeroes fully-masked query rows.
#include <cmath>
#include <limits>

#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Tensor ids only: a layer reference dies with the next layer added.
int binary(ImportContext& c, const char* op, int a, int b) {
  ir::Layer& l = c.addInternal(LayerKind::kELEMENTWISE, {a, b});
  l.attrs.set("op", op);
  return l.outputs[0];
}

int scalar(ImportContext& c, float v) { return c.constantTensor(HostTensor::fromFloats({}, {v})); }

int where(ImportContext& c, int cond, int a, int b) {
  return c.addInternal(LayerKind::kWHERE, {cond, a, b}).outputs[0];
}

// Boolean "attend" -> additive bias: 0 where true, -inf where false.
int boolToBias(ImportContext& c, int cond) {
  return where(c, cond, scalar(c, 0.0f), scalar(c, kNegInf));
}

int withAttr(ImportContext& c, LayerKind kind, int x, const char* key, std::vector<int64_t> v) {
  ir::Layer& l = c.addInternal(kind, {x});
  l.attrs.set(key, std::move(v));
  return l.outputs[0];
}

// [B, S, H*d] -> [B, H, S, d].
int splitHeads(ImportContext& c, int x, int64_t heads) {
  const int r = withAttr(c, LayerKind::kRESHAPE, x, "shape", {0, 0, heads, -1});
  return withAttr(c, LayerKind::kTRANSPOSE, r, "perm", {0, 2, 1, 3});
}

// [B, Hkv, S, d] -> [B, Hkv*reps, S, d], each head repeated `reps` times in place (h0 h0 h1 h1),
// the grouping of grouped-query attention.
int repeatHeads(ImportContext& c, int x, const Dims& d, int64_t reps) {
  const int u = withAttr(c, LayerKind::kUNSQUEEZE, x, "axes", {2});
  ir::Layer& cat = c.addInternal(LayerKind::kCONCATENATION, std::vector<int>(reps, u));
  cat.attrs.set("axis", int64_t{2});
  const int r = cat.outputs[0];
  const int64_t heads = d[1] * reps;
  if (d[3] >= 0) return withAttr(c, LayerKind::kRESHAPE, r, "shape", {0, heads, -1, d[3]});
  if (d[2] >= 0) return withAttr(c, LayerKind::kRESHAPE, r, "shape", {0, heads, d[2], -1});
  reject(ErrorKind::kUnsupported,
         str("grouped-query attention needs a static sequence length or head size of K/V, got ",
             dimsToString(d)));
}

int64_t staticDim(int64_t v, const char* what) {
  if (v < 0)
    reject(ErrorKind::kUnsupported,
           str(what, " must be static (known when the network is built), got a dynamic one"));
  return v;
}

struct Shapes {
  int64_t Hq = 0, Hkv = 0, Sq = -1, Skv = -1, past = 0, D = -1, Dv = -1;
};

// Reads the head counts and lengths; Q, K, V come back as 4-D [B, H, S, d].
Shapes headsOf(ImportContext& c, int& q, int& k, int& v) {
  const Dims qd = c.inputDims(0), kd = c.inputDims(1), vd = c.inputDims(2);
  if ((qd.size() != 3 && qd.size() != 4) || kd.size() != qd.size() || vd.size() != qd.size())
    reject(ErrorKind::kParse, str("Q, K and V must all be 3-D or all 4-D, got ", dimsToString(qd),
                                  ", ", dimsToString(kd), ", ", dimsToString(vd)));
  Shapes s;
  q = c.input(0), k = c.input(1), v = c.input(2);
  if (qd.size() == 3) {
    s.Hq = c.requireAttrInt("q_num_heads");
    s.Hkv = c.requireAttrInt("kv_num_heads");
    if (s.Hq <= 0 || s.Hkv <= 0)
      reject(ErrorKind::kParse, str("attributes 'q_num_heads' and 'kv_num_heads' must be "
                                    "positive, got ",
                                    s.Hq, " and ", s.Hkv));
    auto headSize = [](const Dims& d, int64_t h, const char* name) -> int64_t {
      if (d[2] >= 0 && d[2] % h != 0)
        reject(ErrorKind::kParse,
               str(name, "'s hidden size ", d[2], " is not a multiple of its ", h, " heads"));
      return d[2] < 0 ? -1 : d[2] / h;
    };
    s.D = headSize(qd, s.Hq, "Q"), s.Dv = headSize(vd, s.Hkv, "V");
    headSize(kd, s.Hkv, "K");
    s.Sq = qd[1], s.Skv = kd[1];
    q = splitHeads(c, q, s.Hq), k = splitHeads(c, k, s.Hkv), v = splitHeads(c, v, s.Hkv);
  } else {
    s.Hq = staticDim(qd[1], "Q's head count (dim 1)");
    s.Hkv = staticDim(kd[1], "K's head count (dim 1)");
    s.Sq = qd[2], s.Skv = kd[2], s.D = qd[3], s.Dv = vd[3];
  }
  if (s.Hq % s.Hkv != 0)
    reject(ErrorKind::kParse,
           str("the query heads (", s.Hq, ") must be a multiple of the KV heads (", s.Hkv, ")"));
  return s;
}

// The host-known part of the bias, [Sq, T]: causal (key j <= query i + offset) and the sliding
// window (offset + i - left <= j <= offset + i + right), offset the past length. Sets `anyEmpty`
// when a row allows no key.
HostTensor frontierBias(int64_t Sq, int64_t T, int64_t offset, bool causal, int64_t left,
                        int64_t right, bool& anyEmpty) {
  std::vector<float> b(static_cast<size_t>(Sq * T), 0.0f);
  for (int64_t i = 0; i < Sq; ++i) {
    bool any = false;
    for (int64_t j = 0; j < T; ++j) {
      const int64_t diff = i + offset - j;
      const bool ok =
          (!causal || diff >= 0) && (left < 0 || diff <= left) && (right < 0 || -diff <= right);
      if (!ok) b[i * T + j] = kNegInf;
      any = any || ok;
    }
    anyEmpty = anyEmpty || !any;
  }
  return HostTensor::fromFloats({Sq, T}, b);
}

int int64Scalar(ImportContext& c, int64_t v) {
  return c.constantTensor(HostTensor::scalarInt64(v));
}

// Dim `axis` of x at run time, an INT64 scalar.
int lengthOf(ImportContext& c, int x, int64_t axis) {
  ir::Layer& sh = c.addInternal(LayerKind::kSHAPE, {x});
  sh.attrs.set("start", axis);
  sh.attrs.set("end", axis + 1);
  const int one = sh.outputs[0];
  return withAttr(c, LayerKind::kSQUEEZE, one, "axes", {0});
}

// The causal/window bias when the lengths are known only at run time, [Sq, T]: with
// rel[i, j] = j - i + Sq and bound = offset + Sq (offset the past length), key j is causal when
// rel <= bound, inside the left window when bound <= rel + left, the right one when
// rel - right <= bound.
int runtimeFrontierBias(ImportContext& c, int q, int k, bool causal, int64_t left, int64_t right) {
  const int zero = int64Scalar(c, 0), one = int64Scalar(c, 1);
  const int sq = lengthOf(c, q, 2), t = lengthOf(c, k, 2);
  const int i = c.addInternal(LayerKind::kRANGE, {zero, sq, one}).outputs[0];
  const int j = c.addInternal(LayerKind::kRANGE, {zero, t, one}).outputs[0];
  const int rows = withAttr(c, LayerKind::kUNSQUEEZE, i, "axes", {1});
  const int rel = binary(c, "SUM", binary(c, "SUB", j, rows), sq);
  const int bound = c.hasInput(4) ? binary(c, "SUM", lengthOf(c, c.input(4), 2), sq) : sq;
  int allowed = -1;
  auto require = [&](int cond) { allowed = allowed < 0 ? cond : binary(c, "AND", allowed, cond); };
  if (causal) require(binary(c, "LESS_OR_EQUAL", rel, bound));
  if (left >= 0)
    require(binary(c, "LESS_OR_EQUAL", bound, binary(c, "SUM", rel, int64Scalar(c, left))));
  if (right >= 0)
    require(binary(c, "LESS_OR_EQUAL", binary(c, "SUB", rel, int64Scalar(c, right)), bound));
  return boolToBias(c, allowed);
}

// The external-cache bias (opset 24 nonpad_kv_seqlen [B]), [B, 1, Sq, T]: key j is padding
// unless j < n[b]; causal and window bounds use the per-batch offset n[b] - Sq.
int nonpadBias(ImportContext& c, int64_t Sq, int64_t T, bool causal, int64_t left, int64_t right) {
  const int n = withAttr(c, LayerKind::kRESHAPE, c.input(6), "shape", {-1, 1, 1, 1});
  // rel[i, j] = j - i + Sq; then offset + i - j = n - rel.
  auto grid = [&](int64_t add, bool withRow) {
    std::vector<int64_t> v(static_cast<size_t>(Sq * T));
    for (int64_t i = 0; i < Sq; ++i)
      for (int64_t j = 0; j < T; ++j) v[i * T + j] = j + (withRow ? Sq - i : 0) + add;
    return c.constantTensor(HostTensor::fromInt64({Sq, T}, v));
  };
  int allowed = binary(c, "LESS", grid(0, false), n);
  if (causal) allowed = binary(c, "AND", allowed, binary(c, "LESS_OR_EQUAL", grid(0, true), n));
  if (left >= 0)
    allowed = binary(c, "AND", allowed, binary(c, "LESS_OR_EQUAL", n, grid(left, true)));
  if (right >= 0)
    allowed = binary(c, "AND", allowed, binary(c, "LESS_OR_EQUAL", grid(-right, true), n));
  return boolToBias(c, allowed);
}

// attn_mask as an additive bias, its last dim padded with -inf up to T keys.
int maskBias(ImportContext& c, int64_t T, int& rank) {
  const Dims md = c.inputDims(3);
  rank = static_cast<int>(md.size());
  if (rank < 1) reject(ErrorKind::kParse, "attn_mask must have at least one dim");
  int m = c.input(3);
  if (c.net().tensors[m].dtype == DataType::kBOOL) m = boolToBias(c, m);
  const int64_t last = md.back();
  if (last >= 0 && T >= 0 && last > T)
    reject(ErrorKind::kParse,
           str("attn_mask's last dim ", last, " is longer than the ", T, " keys"));
  if (last != T) {
    staticDim(last, "attn_mask's last dim when it may be shorter than the keys");
    std::vector<int64_t> pads(2 * md.size(), 0);
    pads[2 * md.size() - 1] = staticDim(T, "the key count when attn_mask is shorter") - last;
    ir::Layer& p = c.addInternal(LayerKind::kPADDING, {m});
    p.attrs.set("pads", pads);
    p.attrs.set("mode", "constant");
    p.attrs.set("value", static_cast<double>(kNegInf));
    m = p.outputs[0];
  }
  return m;
}

void emit(ImportContext& c, int output, int tensor) {
  if (c.hasOutput(output)) c.addMapped(LayerKind::kIDENTITY, {tensor}, {output});
}

void importAttention(ImportContext& c) {
  const int64_t mode = c.attrInt("qk_matmul_output_mode", 0);
  if (mode < 0 || mode > 3)
    reject(ErrorKind::kParse, str("attribute 'qk_matmul_output_mode' must be 0..3, got ", mode));
  if (c.hasAttr("softmax_precision")) {
    // clrt's softmax runs in float32 for every input dtype, as precise as any choice here.
    const int64_t p = c.attrInt("softmax_precision", 1);
    if (p != 1 && p != 10 && p != 11 && p != 16)
      reject(ErrorKind::kParse,
             str("attribute 'softmax_precision' must be 1, 10, 11 or 16, got ", p));
  }
  const bool causal = c.attrFlag("is_causal", 0) != 0;
  const int64_t left = c.attrInt("left_window_size", -1),
                right = c.attrInt("right_window_size", -1);
  if (left < -1 || right < -1)
    reject(ErrorKind::kParse,
           str("window sizes must be -1 or nonnegative, got left ", left, ", right ", right));
  const float softcap = c.attrFloat("softcap", 0.0f);
  const bool hasPast = c.hasInput(4), nonpad = c.opset() >= 24 && c.hasInput(6);
  if (hasPast != c.hasInput(5))
    reject(ErrorKind::kParse, "past_key and past_value must be given together");
  if (hasPast && nonpad)
    reject(ErrorKind::kParse, "nonpad_kv_seqlen cannot be combined with past_key/past_value");

  int q = 0, k = 0, v = 0;
  Shapes s = headsOf(c, q, k, v);
  if (hasPast) {
    const Dims pd = c.inputDims(4);
    if (pd.size() != 4)
      reject(ErrorKind::kParse, str("past_key must be 4-D, got ", dimsToString(pd)));
    s.past = pd[2];
    for (auto [x, i] : {std::pair{&k, 4}, std::pair{&v, 5}}) {
      ir::Layer& cat = c.addInternal(LayerKind::kCONCATENATION, {c.input(i), *x});
      cat.attrs.set("axis", int64_t{2});
      *x = cat.outputs[0];
    }
  }
  emit(c, 1, k);
  emit(c, 2, v);
  const int64_t T = s.past < 0 || s.Skv < 0 ? -1 : s.past + s.Skv;

  // Q and K each scaled by sqrt(scale), as the ONNX function body does.
  double scale = c.attrFloat("scale", 0.0f);
  if (!c.hasAttr("scale")) scale = 1.0 / std::sqrt(double(staticDim(s.D, "Q's head size")));
  const int root = scalar(c, static_cast<float>(std::sqrt(scale)));
  q = binary(c, "PROD", q, root);
  k = binary(c, "PROD", k, root);
  if (s.Hq != s.Hkv) {
    const int64_t reps = s.Hq / s.Hkv;
    k = repeatHeads(c, k, {-1, s.Hkv, T, s.D}, reps);
    v = repeatHeads(c, v, {-1, s.Hkv, T, s.Dv}, reps);
  }
  ir::Layer& mm = c.addInternal(LayerKind::kMATRIX_MULTIPLY, {q, k});
  mm.attrs.set("trans_b", int64_t{1});
  const int raw = mm.outputs[0];
  int capped = raw;
  if (softcap > 0.0f) {
    ir::Layer& t =
        c.addInternal(LayerKind::kACTIVATION, {binary(c, "DIV", raw, scalar(c, softcap))});
    t.attrs.set("type", "TANH");
    const int tanh = t.outputs[0];
    capped = binary(c, "PROD", tanh, scalar(c, softcap));
  }

  // The additive bias and its rank; `guard` when some query row may allow no key.
  int bias = -1, rank = 0;
  bool guard = false;
  auto addBias = [&](int b, int r) {
    bias = bias < 0 ? b : binary(c, "SUM", bias, b);
    rank = std::max(rank, r);
  };
  if (c.hasInput(3)) {
    int r = 0;
    addBias(maskBias(c, T, r), r);
    guard = true;
  }
  const bool window = left >= 0 || right >= 0;
  if ((causal || window) && !nonpad) {
    if (s.Sq >= 0 && T >= 0) {
      addBias(c.constantTensor(frontierBias(s.Sq, T, s.past, causal, left, right, guard)), 2);
    } else {
      addBias(runtimeFrontierBias(c, q, k, causal, left, right), 2);
      guard = guard || left >= 0;  // only a left window can leave a query no key
    }
  }
  if (nonpad) {
    addBias(nonpadBias(c, staticDim(s.Sq, "the query length with nonpad_kv_seqlen"),
                       staticDim(T, "the key length with nonpad_kv_seqlen"), causal, left, right),
            4);
    guard = true;
  }
  const int logits = bias < 0 ? capped : binary(c, "SUM", capped, bias);
  ir::Layer& sm = c.addInternal(LayerKind::kSOFTMAX, {logits});
  sm.attrs.set("axis", int64_t{3});
  int probs = sm.outputs[0];
  if (guard) {
    // Decided on the bias, as ONNX specifies: a row whose every key is -inf gives zeros, where
    // the softmax alone gives NaN.
    ir::Layer& mx = c.addInternal(LayerKind::kREDUCE, {bias});
    mx.attrs.set("op", "MAX");
    mx.attrs.set("axes", std::vector<int64_t>{rank - 1});
    mx.attrs.set("keepdims", int64_t{1});
    const int rowMax = mx.outputs[0];
    const int empty = binary(c, "EQUAL", rowMax, scalar(c, kNegInf));
    probs = where(c, empty, scalar(c, 0.0f), probs);
  }
  const int debug[] = {raw, capped, logits, probs};
  emit(c, 3, debug[mode]);

  if (c.inputDims(0).size() == 4) {
    c.addMapped(LayerKind::kMATRIX_MULTIPLY, {probs, v}, {0});
    return;
  }
  const int y = c.addInternal(LayerKind::kMATRIX_MULTIPLY, {probs, v}).outputs[0];
  const int t = withAttr(c, LayerKind::kTRANSPOSE, y, "perm", {0, 2, 1, 3});
  c.addMapped(LayerKind::kRESHAPE, {t}, {0}).attrs.set("shape", std::vector<int64_t>{0, 0, -1});
}

}  // namespace

void registerAttentionImporters() {
  // 24 adds nonpad_kv_seqlen and bottom-right causal alignment (which 23's errata adopt), 25
  // the sliding window.
  registerImporter("Attention", {23, 24, 25}, importAttention);
}

}  // namespace clrt::onnx
