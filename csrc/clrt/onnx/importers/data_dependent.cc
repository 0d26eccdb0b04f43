// Importers of ops whose output sizes depend on the values: NonZero, NonMaxSuppression and Unique
// (the data-dependent kinds, computed on the host at run time) and Compress (NonZero of the
// condition, then a Gather).
#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

void importNonZero(ImportContext& c) { c.add(LayerKind::kNON_ZERO, {c.input(0)}); }

void importNms(ImportContext& c) {
  std::vector<int> in = {c.input(0), c.input(1)};
  for (int i = 2; i < 5; ++i) in.push_back(c.hasInput(i) ? c.input(i) : -1);
  const Dims b = c.inputDims(0), s = c.inputDims(1);
  if (b.size() != 3 || s.size() != 3 || (b[2] >= 0 && b[2] != 4))
    reject(ErrorKind::kParse, str("boxes must be [B, N, 4] and scores [B, C, N], got ",
                                  dimsToString(b), " and ", dimsToString(s)));
  for (int i = 2; i < 5; ++i)
    if (c.hasInput(i) && volume(c.inputDims(i)) > 1)
      reject(ErrorKind::kParse,
             str("input ", i, " must hold one value, its dims are ", dimsToString(c.inputDims(i))));
  ir::Layer& l = c.add(LayerKind::kNMS, in);
  l.attrs.set("center_point_box", c.attrFlag("center_point_box", 0));
}

void importUnique(ImportContext& c) {
  const int x = c.input(0);
  const int64_t rank = static_cast<int64_t>(c.inputDims(0).size());
  std::vector<int> outs;
  for (int i = 0; i < 4; ++i) outs.push_back(c.hasOutput(i) ? i : -1);
  ir::Layer& l = c.addMapped(LayerKind::kUNIQUE, {x}, outs);
  l.attrs.set("sorted", c.attrFlag("sorted", 1));
  if (c.hasAttr("axis")) {
    const int64_t axis = c.attrInt("axis", 0);
    if (axis < -rank || axis >= rank)
      reject(ErrorKind::kParse, str("axis ", axis, " is out of range for rank ", rank));
    l.attrs.set("axis", axis < 0 ? axis + rank : axis);
  }
}

// Compress(x, condition, axis) = Gather(x, NonZero(condition)[0], axis); without an axis, of x
// flattened. A condition shorter than the axis selects among its first slices only, as ONNX says.
void importCompress(ImportContext& c) {
  int x = c.input(0);
  const int cond = c.input(1);
  if (c.inputDims(1).size() != 1)
    reject(ErrorKind::kParse,
           str("condition must be 1-D, its dims are ", dimsToString(c.inputDims(1))));
  const int64_t rank = static_cast<int64_t>(c.inputDims(0).size());
  int64_t axis = 0;
  if (c.hasAttr("axis")) {
    axis = c.attrInt("axis", 0);
    if (axis < -rank || axis >= rank)
      reject(ErrorKind::kParse, str("axis ", axis, " is out of range for rank ", rank));
    if (axis < 0) axis += rank;
  } else {
    ir::Layer& flat = c.addInternal(LayerKind::kRESHAPE, {x});
    flat.attrs.set("shape", std::vector<int64_t>{-1});
    x = flat.outputs[0];
  }
  const int nz = c.addInternal(LayerKind::kNON_ZERO, {cond}).outputs[0];
  ir::Layer& idx = c.addInternal(LayerKind::kSQUEEZE, {nz});
  idx.attrs.set("axes", std::vector<int64_t>{0});
  ir::Layer& g = c.addMapped(LayerKind::kGATHER, {x, idx.outputs[0]}, {0});
  g.attrs.set("axis", axis);
}

}  // namespace

void registerDataDependentImporters() {
  registerImporter("NonZero", {9, 13}, importNonZero);
  registerImporter("NonMaxSuppression", {10, 11}, importNms);
  registerImporter("Unique", {11, 28}, importUnique);  // 28 adds dtypes
  registerImporter("Compress", {9, 11, 28}, importCompress);
}

}  // namespace clrt::onnx
