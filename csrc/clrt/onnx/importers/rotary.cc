// RotaryEmbedding (opset 23) as a composite: cos/sin gathered by position, the rotated part of
// each head split in halves (or even/odd lanes when interleaved) by slices, rotated by
// broadcast arithmetic and put back together by concatenation.
#include "clrt/onnx/importers/compose.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;
using namespace compose;

void importRotary(ImportContext& c) {
  const Dims xd = c.inputDims(0);
  if (xd.size() != 3 && xd.size() != 4)
    reject(ErrorKind::kParse, str("input must be 3-D or 4-D, got ", dimsToString(xd)));
  const bool rank3 = xd.size() == 3;
  int x = c.input(0);
  int64_t D = xd.back();
  if (rank3) {
    const int64_t heads = c.attrInt("num_heads", 0);
    if (heads <= 0) reject(ErrorKind::kParse, "a 3-D input needs a positive attribute 'num_heads'");
    if (D >= 0 && D % heads != 0)
      reject(ErrorKind::kParse, str("hidden size ", D, " is not a multiple of num_heads ", heads));
    D = D < 0 ? -1 : D / heads;
    x = withAttr(c, LayerKind::kRESHAPE, x, "shape", {0, 0, heads, -1});  // [B, S, H, D]
  }
  if (D < 0) reject(ErrorKind::kUnsupported, "the head size (last dim) must be static");
  int64_t rd = c.attrInt("rotary_embedding_dim", 0);
  if (rd == 0) rd = D;
  if (rd < 0 || rd > D || rd % 2 != 0)
    reject(ErrorKind::kParse, str("attribute 'rotary_embedding_dim' must be even and at most "
                                  "the head size ",
                                  D, ", got ", rd));
  const int64_t half = rd / 2;
  const bool interleaved = c.attrFlag("interleaved", 0) != 0;

  // cos/sin as [B, S, rd/2], then a unit head axis where x has its heads.
  int cs[2];
  for (int i = 0; i < 2; ++i) {
    const Dims cd = c.inputDims(1 + i);
    if (!cd.empty() && cd.back() >= 0 && cd.back() != half)
      reject(ErrorKind::kParse, str(i == 0 ? "cos_cache" : "sin_cache", "'s last dim is ",
                                    cd.back(), "; expected rotary_embedding_dim / 2 = ", half));
    int t = c.input(1 + i);
    if (c.hasInput(3)) {
      ir::Layer& g = c.addInternal(LayerKind::kGATHER, {t, c.input(3)});
      g.attrs.set("axis", int64_t{0});
      t = g.outputs[0];
    }
    cs[i] = withAttr(c, LayerKind::kUNSQUEEZE, t, "axes", {rank3 ? 2 : 1});
  }
  const int cosv = cs[0], sinv = cs[1];

  const int x1 = interleaved ? slice(c, x, 3, 0, rd, 2) : slice(c, x, 3, 0, half, 1);
  const int x2 = interleaved ? slice(c, x, 3, 1, rd, 2) : slice(c, x, 3, half, rd, 1);
  const int real = binary(c, "SUB", binary(c, "PROD", cosv, x1), binary(c, "PROD", sinv, x2));
  const int imag = binary(c, "SUM", binary(c, "PROD", sinv, x1), binary(c, "PROD", cosv, x2));
  int rotated = 0;
  if (interleaved) {
    const int pairs = concat(c,
                             {withAttr(c, LayerKind::kUNSQUEEZE, real, "axes", {4}),
                              withAttr(c, LayerKind::kUNSQUEEZE, imag, "axes", {4})},
                             4);
    rotated = withAttr(c, LayerKind::kRESHAPE, pairs, "shape", {0, 0, 0, rd});
  } else {
    rotated = concat(c, {real, imag}, 3);
  }
  if (rd < D) rotated = concat(c, {rotated, slice(c, x, 3, rd, D, 1)}, 3);
  if (rank3)
    c.add(LayerKind::kRESHAPE, {rotated}).attrs.set("shape", std::vector<int64_t>{0, 0, -1});
  else
    c.add(LayerKind::kIDENTITY, {rotated});
}

}  // namespace

void registerRotaryImporters() { registerImporter("RotaryEmbedding", {23}, importRotary); }

}  // namespace clrt::onnx
