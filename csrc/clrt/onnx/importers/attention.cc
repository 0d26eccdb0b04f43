// Attention (opsets 23, 24 and 25) as a composite of existing layers: heads split by
// reshape/transpose, the KV cache by concatenation, grouped KV heads repeated by concatenation,
// Q*K^T and P*V by matrix multiplies, the mask, causal and window constraints folded into one
// additive bias (importers/attention_bias.cc), a softmax, and a select that zeroes fully-masked
// query rows.
#include "clrt/onnx/importers/attention.h"

#include <algorithm>
#include <cmath>

#include "clrt/onnx/importers/compose.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;
using namespace attention;
using namespace compose;

// [B, S, H*d] -> [B, H, S, d].
int splitHeads(ImportContext& c, int x, int64_t heads) {
  const int r = withAttr(c, LayerKind::kRESHAPE, x, "shape", {0, 0, heads, -1});
  return withAttr(c, LayerKind::kTRANSPOSE, r, "perm", {0, 2, 1, 3});
}

// [B, Hkv, S, d] -> [B, Hkv*reps, S, d], each head repeated `reps` times in place (h0 h0 h1 h1),
// the grouping of grouped-query attention.
int repeatHeads(ImportContext& c, int x, const Dims& d, int64_t reps) {
  const int u = withAttr(c, LayerKind::kUNSQUEEZE, x, "axes", {2});
  const int r = concat(c, std::vector<int>(reps, u), 2);
  const int64_t heads = d[1] * reps;
  if (d[3] >= 0) return withAttr(c, LayerKind::kRESHAPE, r, "shape", {0, heads, -1, d[3]});
  if (d[2] >= 0) return withAttr(c, LayerKind::kRESHAPE, r, "shape", {0, heads, d[2], -1});
  reject(ErrorKind::kUnsupported,
         str("grouped-query attention needs a static sequence length or head size of K/V, got ",
             dimsToString(d)));
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
    k = concat(c, {c.input(4), k}, 2);
    v = concat(c, {c.input(5), v}, 2);
  }
  emit(c, 1, k);
  emit(c, 2, v);
  const int64_t T = s.past < 0 || s.Skv < 0 ? -1 : s.past + s.Skv;

  // Q and K each scaled by sqrt(scale), as the ONNX function body does.
  double scale = c.attrFloat("scale", 0.0f);
  if (!c.hasAttr("scale")) scale = 1.0 / std::sqrt(double(staticDim(s.D, "Q's head size")));
  const int root = floatScalar(c, static_cast<float>(std::sqrt(scale)));
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
        c.addInternal(LayerKind::kACTIVATION, {binary(c, "DIV", raw, floatScalar(c, softcap))});
    t.attrs.set("type", "TANH");
    const int tanh = t.outputs[0];
    capped = binary(c, "PROD", tanh, floatScalar(c, softcap));
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
      addBias(runtimeFrontierBias(c, q, k, causal, left, right, false), 2);
      guard = guard || left >= 0;  // only a left window can leave a query no key
    }
  }
  if (nonpad) {
    addBias(runtimeFrontierBias(c, q, k, causal, left, right, true), 4);
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
    const int empty = binary(c, "EQUAL", rowMax, floatScalar(c, kNegInf));
    probs = c.addInternal(LayerKind::kWHERE, {empty, floatScalar(c, 0.0f), probs}).outputs[0];
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
