// Reduction and normalisation importers: ReduceMean/Sum/Max/Min/Prod/L2/SumSquare, Softmax,
// LogSoftmax, LayerNormalization.
#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

void addReduce(ImportContext& c, const char* op, const std::vector<int64_t>& axes,
               int axesInput = -1) {
  std::vector<int> ins{c.input(0)};
  if (axesInput >= 0) ins.push_back(axesInput);
  ir::Layer& l = c.add(LayerKind::kREDUCE, ins);
  l.attrs.set("op", op);
  l.attrs.set("axes", axes);
  l.attrs.set("keepdims", c.attrFlag("keepdims", 1));
  l.attrs.set("noop_with_empty_axes", c.attrFlag("noop_with_empty_axes", 0));
}

// Family helpers: axes as an attribute (older opsets) or as an optional input; a computed one
// (a shape-tensor input, a shape subgraph) stays a layer input read on the host at run time.
Importer reduceAttr(const char* op) {
  return [=](ImportContext& c) { addReduce(c, op, c.attrInts("axes")); };
}
Importer reduceInput(const char* op) {
  return [=](ImportContext& c) {
    if (!c.hasInput(1)) return addReduce(c, op, {});
    if (const HostTensor* a = c.constant(1)) return addReduce(c, op, a->asInt64());
    addReduce(c, op, {}, c.input(1));
  };
}

// Opset >= 13: one axis.
void softmax13(ImportContext& c, LayerKind kind) {
  const int64_t rank = static_cast<int64_t>(c.inputDims(0).size());
  const int64_t axis = normalizeAxis(c.attrInt("axis", -1), rank, "attribute 'axis'");
  c.add(kind, {c.input(0)}).attrs.set("axis", axis);
}

// Opset < 13: the input is viewed as 2-D [prod(d[:axis]), prod(d[axis:])] and normalised per
// row: FLATTEN(axis) -> SOFTMAX(axis=1) -> RESHAPE back to the input's shape (a SHAPE layer).
void softmax1(ImportContext& c, LayerKind kind) {
  const int x = c.input(0);
  const int64_t rank = static_cast<int64_t>(c.inputDims(0).size());
  const int64_t axis = normalizeAxis(c.attrInt("axis", 1), rank, "attribute 'axis'");
  if (axis == rank - 1) {
    c.add(kind, {x}).attrs.set("axis", axis);
    return;
  }
  ir::Layer& f = c.addInternal(LayerKind::kFLATTEN, {x});
  f.attrs.set("axis", axis);
  const int flat = f.outputs[0];
  ir::Layer& s = c.addInternal(kind, {flat});
  s.attrs.set("axis", int64_t{1});
  const int sm = s.outputs[0];
  const int shape = c.addInternal(LayerKind::kSHAPE, {x}).outputs[0];
  c.add(LayerKind::kRESHAPE, {sm, shape}).attrs.set("allowzero", int64_t{0});
}

void importSoftmax1(ImportContext& c) { softmax1(c, LayerKind::kSOFTMAX); }
void importSoftmax13(ImportContext& c) { softmax13(c, LayerKind::kSOFTMAX); }
void importLogSoftmax1(ImportContext& c) { softmax1(c, LayerKind::kLOG_SOFTMAX); }
void importLogSoftmax13(ImportContext& c) { softmax13(c, LayerKind::kLOG_SOFTMAX); }

// Normalises over dims [axis, rank); Scale and B must be constants of that shape.
void importLayerNorm(ImportContext& c) {
  if (c.numOutputs() > 1)
    reject(ErrorKind::kUnsupported, "the Mean and InvStdDev outputs are not supported",
           "export LayerNormalization with its Y output only");
  const Dims x = c.inputDims(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  const int64_t axis = normalizeAxis(c.attrInt("axis", -1), rank, "attribute 'axis'");
  HostTensor scale = c.requireConstant(1, "Scale").castTo(DataType::kFLOAT);
  const int64_t n = volume(Dims(x.begin() + axis, x.end()));
  if (n >= 0 && scale.numel() != n)
    reject(ErrorKind::kParse, str("Scale has ", scale.numel(), " values for the ", n,
                                  " normalised elements of input ", dimsToString(x)));
  ir::Layer& l = c.add(LayerKind::kNORMALIZATION, {c.input(0)});
  l.attrs.set("axis", axis);
  l.attrs.set("epsilon", static_cast<double>(c.attrFloat("epsilon", 1e-5f)));
  l.weights["scale"] = std::move(scale);
  if (c.hasInput(2)) l.weights["bias"] = c.requireConstant(2, "B").castTo(DataType::kFLOAT);
}

}  // namespace

void registerReduceImporters() {
  // Axes are an attribute up to version 13 and an input from 18 (ReduceSum: from 13); 12 and 20
  // of ReduceMax/Min only add dtypes.
  const std::pair<const char*, const char*> reduces[] = {
      {"ReduceMean", "MEAN"}, {"ReduceMax", "MAX"}, {"ReduceMin", "MIN"},
      {"ReduceProd", "PROD"}, {"ReduceL2", "L2"},   {"ReduceSumSquare", "SUM_SQUARE"}};
  for (const auto& [op, kind] : reduces) {
    const bool minMax = kind == std::string("MAX") || kind == std::string("MIN");
    registerImporter(op, minMax ? std::vector<int>{1, 11, 12, 13} : std::vector<int>{1, 11, 13},
                     reduceAttr(kind));
    registerImporter(op, minMax ? std::vector<int>{18, 20} : std::vector<int>{18},
                     reduceInput(kind));
  }
  registerImporter("ReduceSum", {1, 11}, reduceAttr("SUM"));
  registerImporter("ReduceSum", {13}, reduceInput("SUM"));
  // Versions 1 and 11 normalise the input viewed as 2-D; 13 normalises along one axis.
  registerImporter("Softmax", {1, 11}, importSoftmax1);
  registerImporter("Softmax", {13}, importSoftmax13);
  registerImporter("LogSoftmax", {1, 11}, importLogSoftmax1);
  registerImporter("LogSoftmax", {13}, importLogSoftmax13);
  registerImporter("LayerNormalization", {17}, importLayerNorm);
}

}  // namespace clrt::onnx
