// LinearAttention (opset 27) as a composite: the recurrence over the (static) sequence is
// unrolled into matrix multiplies on a [B, Hkv, dk, dv] state, one step per token: decay
// (gated rules), delta correction (delta rules), the outer-product write and the read by the
// query heads of each KV head.
#include <cmath>

#include "clrt/onnx/importers/compose.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;
using namespace compose;

// A sequence this long unrolls into tens of thousands of layers; longer ones are refused.
constexpr int64_t kMaxSteps = 1024;

int matmul(ImportContext& c, int a, int b, bool transA = false) {
  ir::Layer& l = c.addInternal(LayerKind::kMATRIX_MULTIPLY, {a, b});
  l.attrs.set("trans_a", int64_t{transA});
  return l.outputs[0];
}

// [B, T, H*d] -> [B, H, T, d].
int heads(ImportContext& c, int x, int64_t h) {
  const int r = withAttr(c, LayerKind::kRESHAPE, x, "shape", {0, 0, h, -1});
  return withAttr(c, LayerKind::kTRANSPOSE, r, "perm", {0, 2, 1, 3});
}

void importLinearAttention(ImportContext& c) {
  const std::string rule = c.attrString("update_rule", "gated_delta");
  if (rule != "linear" && rule != "gated" && rule != "delta" && rule != "gated_delta")
    reject(ErrorKind::kParse, str("attribute 'update_rule' is '", rule,
                                  "'; expected linear, gated, delta or gated_delta"));
  const bool gated = rule == "gated" || rule == "gated_delta";
  const bool delta = rule == "delta" || rule == "gated_delta";
  if (gated != c.hasInput(4) || delta != c.hasInput(5))
    reject(ErrorKind::kParse, str("update_rule '", rule, "' ", gated ? "needs" : "forbids",
                                  " input decay and ", delta ? "needs" : "forbids", " input beta"));
  const int64_t Hq = c.requireAttrInt("q_num_heads"), Hkv = c.requireAttrInt("kv_num_heads");
  if (Hq <= 0 || Hkv <= 0 || Hq % Hkv != 0)
    reject(ErrorKind::kParse, str("q_num_heads (", Hq,
                                  ") must be a positive multiple of "
                                  "kv_num_heads (",
                                  Hkv, ")"));
  const Dims qd = c.inputDims(0), vd = c.inputDims(2);
  if (qd.size() != 3 || vd.size() != 3 || c.inputDims(1).size() != 3)
    reject(ErrorKind::kParse, "query, key and value must be [B, T, H*d]");
  const int64_t T = qd[1];
  if (T < 1 || T > kMaxSteps || qd[2] < 0 || vd[2] < 0)
    reject(ErrorKind::kUnsupported, str("the sequence length (at most ", kMaxSteps,
                                        ") and hidden sizes must be static, "
                                        "got query ",
                                        dimsToString(qd), " and value ", dimsToString(vd)));
  const int64_t dk = qd[2] / Hq, dv = vd[2] / Hkv, G = Hq / Hkv;
  float scale = c.attrFloat("scale", 0.0f);
  if (scale == 0.0f) scale = 1.0f / std::sqrt(static_cast<float>(dk));

  const int q = heads(c, c.input(0), Hq), k = heads(c, c.input(1), Hkv),
            v = heads(c, c.input(2), Hkv);
  // exp(decay) as [B, Hkv, dk or 1, T]: column t scales the state's rows.
  int decay = -1, beta = -1;
  if (gated) {
    const Dims dd = c.inputDims(4);
    const bool perHead = dd.size() == 3 && dd[2] == Hkv;  // else one value per key dim
    const int g = perHead ? withAttr(c, LayerKind::kRESHAPE, c.input(4), "shape", {0, 0, Hkv, 1})
                          : c.input(4);
    const int g4 =
        perHead ? withAttr(c, LayerKind::kTRANSPOSE, g, "perm", {0, 2, 1, 3}) : heads(c, g, Hkv);
    ir::Layer& e = c.addInternal(LayerKind::kUNARY, {g4});
    e.attrs.set("op", "EXP");
    decay = withAttr(c, LayerKind::kTRANSPOSE, e.outputs[0], "perm", {0, 1, 3, 2});
  }
  if (delta) {  // [B, T, Hkv or 1] -> [B, Hkv or 1, T, 1]
    const int r = withAttr(c, LayerKind::kUNSQUEEZE, c.input(5), "axes", {3});
    beta = withAttr(c, LayerKind::kTRANSPOSE, r, "perm", {0, 2, 1, 3});
  }

  int state = c.hasInput(3) ? c.input(3) : -1;  // absent: zeros, so the first write is the state
  std::vector<int> outs;
  for (int64_t i = 0; i < T; ++i) {
    const int kt = slice(c, k, 2, i, i + 1);  // [B, Hkv, 1, dk]
    int vt = slice(c, v, 2, i, i + 1);        // [B, Hkv, 1, dv]
    if (gated && state >= 0) state = binary(c, "PROD", state, slice(c, decay, 3, i, i + 1));
    if (delta) {
      if (state >= 0) vt = binary(c, "SUB", vt, matmul(c, kt, state));
      vt = binary(c, "PROD", vt, slice(c, beta, 2, i, i + 1));
    }
    const int write = matmul(c, kt, vt, true);  // [B, Hkv, dk, dv]
    state = state < 0 ? write : binary(c, "SUM", state, write);
    // The G query heads of each KV head read its state together: [B, Hkv, G, dk] @ state.
    const int qt =
        withAttr(c, LayerKind::kRESHAPE, slice(c, q, 2, i, i + 1), "shape", {0, Hkv, G, dk});
    outs.push_back(withAttr(c, LayerKind::kRESHAPE, matmul(c, qt, state), "shape", {0, Hq, 1, dv}));
  }
  int y = outs[0];
  if (outs.size() > 1) {
    y = concat(c, outs, 2);
  }
  y = binary(c, "PROD", y, floatScalar(c, scale));
  y = withAttr(c, LayerKind::kTRANSPOSE, y, "perm", {0, 2, 1, 3});
  c.addMapped(LayerKind::kRESHAPE, {y}, {0}).attrs.set("shape", std::vector<int64_t>{0, 0, -1});
  if (c.hasOutput(1)) c.addMapped(LayerKind::kIDENTITY, {state}, {1});
}

}  // namespace

void registerLinearAttentionImporters() {
  registerImporter("LinearAttention", {27}, importLinearAttention);
}

}  // namespace clrt::onnx
