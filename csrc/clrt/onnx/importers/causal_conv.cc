// CausalConvWithState (opset 27) as a composite: the input is left-extended by the past state
// (or zeros), the depthwise causal convolution is a sum of k shifted slices times one weight
// column each (so the weight may be computed at run time), then the optional bias and SiLU.
#include <limits>

#include "clrt/onnx/importers/compose.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;
using namespace compose;

void importCausalConv(ImportContext& c) {
  const Dims xd = c.inputDims(0), wd = c.inputDims(1);
  if (xd.size() != 3 || wd.size() != 3)
    reject(ErrorKind::kParse, str("input must be [B, C, L] and weight [C, 1, k], got ",
                                  dimsToString(xd), " and ", dimsToString(wd)));
  const int64_t k = wd[2];
  if (k < 1)
    reject(ErrorKind::kUnsupported,
           str("the kernel size (weight dim 2) must be static, got weight ", dimsToString(wd)));
  const std::string act = c.attrString("activation", "none");
  if (act != "none" && act != "silu" && act != "swish")
    reject(ErrorKind::kParse,
           str("attribute 'activation' is '", act, "'; expected none, silu or swish"));

  int padded = c.input(0);
  if (k > 1) {
    if (c.hasInput(3)) {
      padded = concat(c, {c.input(3), c.input(0)}, 2);
    } else {
      ir::Layer& p = c.addInternal(LayerKind::kPADDING, {c.input(0)});
      p.attrs.set("pads", std::vector<int64_t>{0, 0, k - 1, 0, 0, 0});
      p.attrs.set("mode", "constant");
      p.attrs.set("value", 0.0);
      padded = p.outputs[0];
    }
  }
  // [C, 1, k] -> [C, k]: column j broadcasts as [C, 1] over [B, C, L].
  const int w = withAttr(c, LayerKind::kRESHAPE, c.input(1), "shape", {0, -1});
  // Ends counted from the back, so the input length may be known only at run time.
  constexpr int64_t kEnd = std::numeric_limits<int64_t>::max();
  int acc = -1;
  for (int64_t j = 0; j < k; ++j) {
    const int shifted = slice(c, padded, 2, j, j == k - 1 ? kEnd : j - (k - 1));
    const int term = binary(c, "PROD", shifted, slice(c, w, 1, j, j + 1));
    acc = acc < 0 ? term : binary(c, "SUM", acc, term);
  }
  if (c.hasInput(2)) {
    acc = binary(c, "SUM", acc, withAttr(c, LayerKind::kUNSQUEEZE, c.input(2), "axes", {1}));
  }
  if (act != "none") {
    ir::Layer& s = c.addInternal(LayerKind::kACTIVATION, {acc});
    s.attrs.set("type", "SIGMOID");
    acc = binary(c, "PROD", acc, s.outputs[0]);
  }
  c.addMapped(LayerKind::kIDENTITY, {acc}, {0});
  // The last k - 1 positions (none when k is 1).
  if (c.hasOutput(1))
    c.addMapped(LayerKind::kIDENTITY, {slice(c, padded, 2, k > 1 ? 1 - k : kEnd, kEnd)}, {1});
}

}  // namespace

void registerCausalConvImporters() {
  registerImporter("CausalConvWithState", {27}, importCausalConv);
}

}  // namespace clrt::onnx
