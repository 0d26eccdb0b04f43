// Attention's additive bias: the mask (bool or float, padded to the key count), the causal and
// sliding-window frontier (a host constant when the lengths are static, built on the device
// from the run-time lengths otherwise, and always with the external-cache lengths of opset 24).
#include "clrt/onnx/importers/attention.h"
#include "clrt/onnx/importers/compose.h"

namespace clrt::onnx::attention {

using ir::LayerKind;
using namespace compose;

namespace {

// Dim `axis` of x at run time, an INT64 scalar.
int lengthOf(ImportContext& c, int x, int64_t axis) {
  ir::Layer& sh = c.addInternal(LayerKind::kSHAPE, {x});
  sh.attrs.set("start", axis);
  sh.attrs.set("end", axis + 1);
  const int one = sh.outputs[0];
  return withAttr(c, LayerKind::kSQUEEZE, one, "axes", {0});
}

}  // namespace

int64_t staticDim(int64_t v, const char* what) {
  if (v < 0)
    reject(ErrorKind::kUnsupported,
           str(what, " must be static (known when the network is built), got a dynamic one"));
  return v;
}

// Boolean "attend" -> additive bias: 0 where true, -inf where false.
int boolToBias(ImportContext& c, int cond) {
  return c.addInternal(LayerKind::kWHERE, {cond, floatScalar(c, 0.0f), floatScalar(c, kNegInf)})
      .outputs[0];
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

// The causal/window bias built on the device from the run-time lengths, [Sq, T] (or
// [B, 1, Sq, T] with nonpad_kv_seqlen n): with rel[i, j] = j - i + Sq and bound = offset + Sq
// (offset the past length, or n[b] - Sq), key j is causal when rel <= bound, inside the left
// window when bound <= rel + left, the right one when rel - right <= bound; with n it must also
// be a real key, j < n[b].
int runtimeFrontierBias(ImportContext& c, int q, int k, bool causal, int64_t left, int64_t right,
                        bool nonpad) {
  const int zero = int64Scalar(c, 0), one = int64Scalar(c, 1);
  const int sq = lengthOf(c, q, 2), t = lengthOf(c, k, 2);
  const int i = c.addInternal(LayerKind::kRANGE, {zero, sq, one}).outputs[0];
  const int j = c.addInternal(LayerKind::kRANGE, {zero, t, one}).outputs[0];
  const int rows = withAttr(c, LayerKind::kUNSQUEEZE, i, "axes", {1});
  const int rel = binary(c, "SUM", binary(c, "SUB", j, rows), sq);
  int bound = sq;
  if (nonpad)
    bound = withAttr(c, LayerKind::kRESHAPE, c.input(6), "shape", {-1, 1, 1, 1});
  else if (c.hasInput(4))
    bound = binary(c, "SUM", lengthOf(c, c.input(4), 2), sq);
  int allowed = -1;
  auto require = [&](int cond) { allowed = allowed < 0 ? cond : binary(c, "AND", allowed, cond); };
  if (nonpad) require(binary(c, "LESS", j, bound));
  if (causal) require(binary(c, "LESS_OR_EQUAL", rel, bound));
  if (left >= 0)
    require(binary(c, "LESS_OR_EQUAL", bound, binary(c, "SUM", rel, int64Scalar(c, left))));
  if (right >= 0)
    require(binary(c, "LESS_OR_EQUAL", binary(c, "SUB", rel, int64Scalar(c, right)), bound));
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

}  // namespace clrt::onnx::attention
