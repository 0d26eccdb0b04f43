// CausalConvWithState (opset 27) as a composite: the input is left-extended by the past state
// (or zeros), the depthwise causal convolution is a sum of k shifted slices times one weight
// column each (so the weight may be computed at run time), then the optional bias and SiLU.
#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

int binary(ImportContext& c, const char* op, int a, int b) {
  ir::Layer& l = c.addInternal(LayerKind::kELEMENTWISE, {a, b});
  l.attrs.set("op", op);
  return l.outputs[0];
}

// x[..., start:end] along `axis`.
int range(ImportContext& c, int x, int64_t axis, int64_t start, int64_t end) {
  ir::Layer& l = c.addInternal(LayerKind::kSLICE, {x});
  l.attrs.set("starts", std::vector<int64_t>{start});
  l.attrs.set("ends", std::vector<int64_t>{end});
  l.attrs.set("axes", std::vector<int64_t>{axis});
  return l.outputs[0];
}

void importCausalConv(ImportContext& c) {
  const Dims xd = c.inputDims(0), wd = c.inputDims(1);
  if (xd.size() != 3 || wd.size() != 3)
    reject(ErrorKind::kParse, str("input must be [B, C, L] and weight [C, 1, k], got ",
                                  dimsToString(xd), " and ", dimsToString(wd)));
  const int64_t k = wd[2], L = xd[2];
  if (k < 1 || L < 0)
    reject(ErrorKind::kUnsupported,
           str("the kernel size and the input length must be static, got weight ", dimsToString(wd),
               " and input ", dimsToString(xd)));
  const std::string act = c.attrString("activation", "none");
  if (act != "none" && act != "silu" && act != "swish")
    reject(ErrorKind::kParse,
           str("attribute 'activation' is '", act, "'; expected none, silu or swish"));

  int padded = c.input(0);
  if (k > 1) {
    if (c.hasInput(3)) {
      ir::Layer& cat = c.addInternal(LayerKind::kCONCATENATION, {c.input(3), c.input(0)});
      cat.attrs.set("axis", int64_t{2});
      padded = cat.outputs[0];
    } else {
      ir::Layer& p = c.addInternal(LayerKind::kPADDING, {c.input(0)});
      p.attrs.set("pads", std::vector<int64_t>{0, 0, k - 1, 0, 0, 0});
      p.attrs.set("mode", "constant");
      p.attrs.set("value", 0.0);
      padded = p.outputs[0];
    }
  }
  // [C, 1, k] -> [C, k]: column j broadcasts as [C, 1] over [B, C, L].
  ir::Layer& wr = c.addInternal(LayerKind::kRESHAPE, {c.input(1)});
  wr.attrs.set("shape", std::vector<int64_t>{0, -1});
  const int w = wr.outputs[0];
  int acc = -1;
  for (int64_t j = 0; j < k; ++j) {
    const int term = binary(c, "PROD", range(c, padded, 2, j, j + L), range(c, w, 1, j, j + 1));
    acc = acc < 0 ? term : binary(c, "SUM", acc, term);
  }
  if (c.hasInput(2)) {
    ir::Layer& u = c.addInternal(LayerKind::kUNSQUEEZE, {c.input(2)});
    u.attrs.set("axes", std::vector<int64_t>{1});
    acc = binary(c, "SUM", acc, u.outputs[0]);
  }
  if (act != "none") {
    ir::Layer& s = c.addInternal(LayerKind::kACTIVATION, {acc});
    s.attrs.set("type", "SIGMOID");
    acc = binary(c, "PROD", acc, s.outputs[0]);
  }
  c.addMapped(LayerKind::kIDENTITY, {acc}, {0});
  if (c.hasOutput(1)) c.addMapped(LayerKind::kIDENTITY, {range(c, padded, 2, L, L + k - 1)}, {1});
}

}  // namespace

void registerCausalConvImporters() {
  registerImporter("CausalConvWithState", {27}, importCausalConv);
}

}  // namespace clrt::onnx
