// Reduction and normalisation importers: ReduceMean/Sum/Max/Min/Prod/L1/L2/SumSquare/LogSum/
// LogSumExp, ArgMax, ArgMin, Softmax, LogSoftmax, Hardmax, LayerNormalization,
// RMSNormalization, NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss.
#include <algorithm>

#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

// BOOL ReduceMax/ReduceMin (any / all) reduce 0/1 as FLOAT.
void addReduce(ImportContext& c, const char* op, const std::vector<int64_t>& axes,
               int axesInput = -1) {
  const int x = c.input(0);
  const bool boolean = c.net().tensors[x].dtype == DataType::kBOOL &&
                       (std::string(op) == "MAX" || std::string(op) == "MIN");
  std::vector<int> ins{boolean ? c.castTensor(x, DataType::kFLOAT) : x};
  if (axesInput >= 0) ins.push_back(axesInput);
  ir::Layer& l = boolean ? c.addInternal(LayerKind::kREDUCE, ins) : c.add(LayerKind::kREDUCE, ins);
  l.attrs.set("op", op);
  l.attrs.set("axes", axes);
  l.attrs.set("keepdims", c.attrFlag("keepdims", 1));
  l.attrs.set("noop_with_empty_axes", c.attrFlag("noop_with_empty_axes", 0));
  if (!boolean) return;
  // r > 0.5, not a cast: an empty reduction gives -inf (MAX: false) or +inf (MIN: true).
  const int r = l.outputs[0];
  const int half = c.constantTensor(HostTensor::fromFloats({}, {0.5f}));
  c.add(LayerKind::kELEMENTWISE, {r, half}).attrs.set("op", "GREATER");
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

// ArgMax / ArgMin: one axis (default 0) to INT64 indices; 12 added select_last_index.
Importer argReduce(const char* op) {
  return [=](ImportContext& c) {
    ir::Layer& l = c.add(LayerKind::kREDUCE, {c.input(0)});
    l.attrs.set("op", op);
    l.attrs.set("axes", std::vector<int64_t>{c.attrInt("axis", 0)});
    l.attrs.set("keepdims", c.attrFlag("keepdims", 1));
    l.attrs.set("select_last_index", c.attrFlag("select_last_index", 0));
  };
}

// Hardmax (13: one axis): 1 where the index along the axis is the first maximum's, else 0; an
// ARGMAX compared with the constant axis positions, cast back to x's dtype.
void importHardmax13(ImportContext& c) {
  const int x = c.input(0);
  const Dims xd = c.inputDims(0);
  const int64_t rank = static_cast<int64_t>(xd.size());
  const int64_t axis = normalizeAxis(c.attrInt("axis", -1), rank, "attribute 'axis'");
  if (xd[axis] < 0)
    reject(ErrorKind::kUnsupported,
           str("the Hardmax axis must have a static length, input is ", dimsToString(xd)));
  ir::Layer& am = c.addInternal(LayerKind::kREDUCE, {x});
  am.attrs.set("op", "ARGMAX");
  am.attrs.set("axes", std::vector<int64_t>{axis});
  am.attrs.set("keepdims", int64_t{1});
  const int argmax = am.outputs[0];  // `am` dies with the next layer added
  Dims pd(static_cast<size_t>(rank - axis), 1);
  pd[0] = xd[axis];
  std::vector<int64_t> pos(static_cast<size_t>(xd[axis]));
  for (int64_t k = 0; k < xd[axis]; ++k) pos[k] = k;
  const int positions = c.constantTensor(HostTensor::fromInt64(pd, pos));
  ir::Layer& eq = c.addInternal(LayerKind::kELEMENTWISE, {positions, argmax});
  eq.attrs.set("op", "EQUAL");
  c.add(LayerKind::kCAST, {eq.outputs[0]})
      .attrs.set("to", static_cast<int64_t>(c.net().tensors[x].dtype));
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

// An internal layer of the node: op(a, b) with broadcasting; its output tensor.
int binaryOp(ImportContext& c, const char* op, int a, int b) {
  ir::Layer& l = c.addInternal(LayerKind::kELEMENTWISE, {a, b});
  l.attrs.set("op", op);
  return l.outputs[0];
}

// Axes [axis, rank) of input 0, the normalised dims of LayerNormalization and RMSNormalization.
std::vector<int64_t> trailingAxes(ImportContext& c, int64_t& axis) {
  const int64_t rank = static_cast<int64_t>(c.inputDims(0).size());
  axis = normalizeAxis(c.attrInt("axis", -1), rank, "attribute 'axis'");
  std::vector<int64_t> axes;
  for (int64_t a = axis; a < rank; ++a) axes.push_back(a);
  return axes;
}

// Normalises over dims [axis, rank). Constant Scale and B ride in the NORMALIZATION layer;
// tensor ones are applied after it (normalising with unit scale) by broadcast Mul and Add. The
// layer also writes the optional Mean and InvStdDev outputs.
void importLayerNorm(ImportContext& c) {
  const Dims x = c.inputDims(0);
  int64_t axis = 0;
  trailingAxes(c, axis);
  const int64_t n = volume(Dims(x.begin() + axis, x.end()));
  const HostTensor* scale = c.constant(1);
  const bool folded = scale && (!c.hasInput(2) || c.constant(2));
  if (n < 0 && !folded)
    reject(ErrorKind::kUnsupported,
           str("a tensor Scale needs static normalised dims, input is ", dimsToString(x)));
  std::vector<int> outs{folded ? 0 : -1};
  for (int i = 1; i < std::min(c.numOutputs(), 3); ++i) outs.push_back(i);
  HostTensor w =
      folded ? scale->castTo(DataType::kFLOAT)
             : HostTensor::fromFloats(Dims(x.begin() + axis, x.end()), std::vector<float>(n, 1.0f));
  if (n >= 0 && w.numel() != n)
    reject(ErrorKind::kParse, str("Scale has ", w.numel(), " values for the ", n,
                                  " normalised elements of input ", dimsToString(x)));
  ir::Layer& l = c.addMapped(LayerKind::kNORMALIZATION, {c.input(0)}, outs);
  l.attrs.set("axis", axis);
  l.attrs.set("epsilon", static_cast<double>(c.attrFloat("epsilon", 1e-5f)));
  l.weights["scale"] = std::move(w);
  if (folded) {
    if (c.hasInput(2)) l.weights["bias"] = c.constant(2)->castTo(DataType::kFLOAT);
    return;
  }
  const int normed = l.outputs[0];
  if (!c.hasInput(2)) {
    c.addMapped(LayerKind::kELEMENTWISE, {normed, c.input(1)}, {0}).attrs.set("op", "PROD");
    return;
  }
  const int scaled = binaryOp(c, "PROD", normed, c.input(1));
  c.addMapped(LayerKind::kELEMENTWISE, {scaled, c.input(2)}, {0}).attrs.set("op", "SUM");
}

// Y = X / sqrt(mean(X^2 over [axis, rank)) + epsilon) * scale, from existing layers.
void importRmsNorm(ImportContext& c) {
  int64_t axis = 0;
  const std::vector<int64_t> axes = trailingAxes(c, axis);
  const int x = c.input(0);
  const DataType t = c.net().tensors[x].dtype;
  // Layer references die with the next layer added: keep tensor ids only.
  ir::Layer& ms = c.addInternal(LayerKind::kREDUCE, {binaryOp(c, "PROD", x, x)});
  ms.attrs.set("op", "MEAN");
  ms.attrs.set("axes", axes);
  ms.attrs.set("keepdims", int64_t{1});
  const int meanSq = ms.outputs[0];
  const float eps = c.attrFloat("epsilon", 1e-5f);
  const int epsT = c.constantTensor(HostTensor::fromFloats({}, {eps}).castTo(t));
  const int var = binaryOp(c, "SUM", meanSq, epsT);
  ir::Layer& root = c.addInternal(LayerKind::kUNARY, {var});
  root.attrs.set("op", "SQRT");
  const int rms = root.outputs[0];
  const int normed = binaryOp(c, "DIV", x, rms);
  c.add(LayerKind::kELEMENTWISE, {normed, c.input(1)}).attrs.set("op", "PROD");
}

// NegativeLogLikelihoodLoss on log-probabilities `logp` [N, C, d...] and int `target` [N, d...]:
// loss = -logp[n, t, d...] * weight[t] (0 where t == ignore_index), then reduced (none / sum /
// mean = sum(loss) / sum(weights used)). GatherElements picks logp along C. The last layer
// writes node output 0.
void nllLoss(ImportContext& c, int logp, int target, int weight) {
  const std::string reduction = c.attrString("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean")
    reject(ErrorKind::kParse,
           str("attribute 'reduction' must be none, sum or mean, got '", reduction, "'"));
  const DataType ft = c.net().tensors[logp].dtype, it = c.net().tensors[target].dtype;
  const bool ignore = c.hasAttr("ignore_index");
  auto layer = [&](LayerKind k, std::vector<int> ins) -> ir::Layer& {
    return c.addInternal(k, ins);
  };
  auto scalar = [&](DataType t, double v) {
    return c.constantTensor(HostTensor::fromFloats({}, {static_cast<float>(v)}).castTo(t));
  };
  int ignored = -1, safe = target;
  if (ignore) {
    const int ii =
        c.constantTensor(HostTensor::fromInt64({}, {c.attrInt("ignore_index", 0)}).castTo(it));
    ignored = binaryOp(c, "EQUAL", target, ii);
    const int zero = c.constantTensor(HostTensor::fromInt64({}, {0}).castTo(it));
    safe = layer(LayerKind::kWHERE, {ignored, zero, target}).outputs[0];
  }
  ir::Layer& un = layer(LayerKind::kUNSQUEEZE, {safe});
  un.attrs.set("axes", std::vector<int64_t>{1});
  const int idx = un.outputs[0];
  ir::Layer& ge = layer(LayerKind::kGATHER, {logp, idx});
  ge.attrs.set("axis", int64_t{1});
  ge.attrs.set("mode", "ELEMENT");
  const int picked = ge.outputs[0];
  ir::Layer& sq = layer(LayerKind::kSQUEEZE, {picked});
  sq.attrs.set("axes", std::vector<int64_t>{1});
  int loss = sq.outputs[0];
  int used = -1;  // the weight each element carries; -1: 1 everywhere
  if (weight >= 0) {
    ir::Layer& g = layer(LayerKind::kGATHER, {weight, safe});
    g.attrs.set("axis", int64_t{0});
    used = g.outputs[0];
  }
  if (ignore) {
    const int zero = scalar(ft, 0), one = used >= 0 ? used : scalar(ft, 1);
    used = layer(LayerKind::kWHERE, {ignored, zero, one}).outputs[0];
  }
  if (used >= 0) loss = binaryOp(c, "PROD", loss, used);
  auto reduce = [&](const char* op, int x, bool out) {
    ir::Layer& r = out ? c.addMapped(LayerKind::kREDUCE, {x}, {0}) : layer(LayerKind::kREDUCE, {x});
    r.attrs.set("op", op);
    r.attrs.set("keepdims", int64_t{0});
    return r.outputs[0];
  };
  if (reduction == "none") {
    c.addMapped(LayerKind::kUNARY, {loss}, {0}).attrs.set("op", "NEG");
    return;
  }
  ir::Layer& neg = layer(LayerKind::kUNARY, {loss});
  neg.attrs.set("op", "NEG");
  const int negLoss = neg.outputs[0];
  if (reduction == "sum" || used < 0) {
    reduce(reduction == "sum" ? "SUM" : "MEAN", negLoss, true);
    return;
  }
  const int total = reduce("SUM", negLoss, false), weights = reduce("SUM", used, false);
  c.addMapped(LayerKind::kELEMENTWISE, {total, weights}, {0}).attrs.set("op", "DIV");
}

void importNllLoss(ImportContext& c) {
  nllLoss(c, c.input(0), c.input(1), c.hasInput(2) ? c.input(2) : -1);
}

// SoftmaxCrossEntropyLoss: NLL loss of LogSoftmax(scores) over axis 1, which is the optional
// second output (log_prob).
void importSceLoss(ImportContext& c) {
  ir::Layer& ls = c.addMapped(LayerKind::kLOG_SOFTMAX, {c.input(0)}, {1});
  ls.attrs.set("axis", int64_t{1});
  const int logp = ls.outputs[0];
  nllLoss(c, logp, c.input(1), c.hasInput(2) ? c.input(2) : -1);
}

}  // namespace

void registerReduceImporters() {
  // Axes are an attribute up to version 13 and an input from 18 (ReduceSum: from 13); 12 and 20
  // of ReduceMax/Min only add dtypes.
  const std::pair<const char*, const char*> reduces[] = {
      {"ReduceMean", "MEAN"}, {"ReduceMax", "MAX"},        {"ReduceMin", "MIN"},
      {"ReduceProd", "PROD"}, {"ReduceL2", "L2"},          {"ReduceSumSquare", "SUM_SQUARE"},
      {"ReduceL1", "L1"},     {"ReduceLogSum", "LOG_SUM"}, {"ReduceLogSumExp", "LOG_SUM_EXP"}};
  for (const auto& [op, kind] : reduces) {
    const std::string k = kind;
    const bool minMax = k == "MAX" || k == "MIN";
    registerImporter(op, minMax ? std::vector<int>{1, 11, 12, 13} : std::vector<int>{1, 11, 13},
                     reduceAttr(kind));
    // 28 of ReduceLogSum/LogSumExp only adds dtypes.
    std::vector<int> withInput = minMax ? std::vector<int>{18, 20} : std::vector<int>{18};
    if (k == "LOG_SUM" || k == "LOG_SUM_EXP") withInput.push_back(28);
    registerImporter(op, withInput, reduceInput(kind));
  }
  registerImporter("ReduceSum", {1, 11}, reduceAttr("SUM"));
  registerImporter("ReduceSum", {13}, reduceInput("SUM"));
  // Versions 1 and 11 normalise the input viewed as 2-D; 13 normalises along one axis.
  registerImporter("Softmax", {1, 11}, importSoftmax1);
  registerImporter("Softmax", {13}, importSoftmax13);
  registerImporter("LogSoftmax", {1, 11}, importLogSoftmax1);
  registerImporter("LogSoftmax", {13}, importLogSoftmax13);
  registerImporter("ArgMax", {1, 11, 12, 13}, argReduce("ARGMAX"));
  registerImporter("ArgMin", {1, 11, 12, 13}, argReduce("ARGMIN"));
  registerImporter("Hardmax", {13}, importHardmax13);
  registerImporter("LayerNormalization", {17}, importLayerNorm);
  registerImporter("RMSNormalization", {23}, importRmsNorm);
  // 13 and 22 of both losses only add dtypes.
  registerImporter("NegativeLogLikelihoodLoss", {12, 13, 22}, importNllLoss);
  registerImporter("SoftmaxCrossEntropyLoss", {12, 13}, importSceLoss);
}

}  // namespace clrt::onnx
