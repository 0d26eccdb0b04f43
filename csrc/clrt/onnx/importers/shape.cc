// Shape and data-movement importers: Shape, Gather, Cast, Reshape, Flatten, Transpose, Squeeze,
// Unsqueeze, Concat, Split, Slice, Identity, Dropout, Constant, ConstantOfShape, Range, Expand,
// Where, Trilu, GatherElements, GatherND, Scatter, ScatterElements, ScatterND, Size, CastLike,
// BitCast, OptionalHasElement, OptionalGetElement.
#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

// Family helper: a layer of `kind` reading the node's first n inputs, absent ones as -1.
Importer passInputs(LayerKind kind, int n) {
  return [=](ImportContext& c) {
    std::vector<int> ins;
    for (int i = 0; i < n; ++i) ins.push_back(c.hasInput(i) ? c.input(i) : -1);
    c.add(kind, ins);
  };
}

void importIdentity(ImportContext& c) { c.add(LayerKind::kIDENTITY, {c.input(0)}, 1); }

// Optionals whose element is a tensor (engine values are tensors; optional graph inputs are
// refused where read): OptionalHasElement is true for a tensor and false for an absent input,
// OptionalGetElement passes the tensor through.
void importOptionalHasElement(ImportContext& c) {
  HostTensor has(DataType::kBOOL, {});
  has.bytes[0] = c.hasInput(0) ? 1 : 0;
  c.defineConstant(0, std::move(has));
}

void importOptionalGetElement(ImportContext& c) {
  if (!c.hasInput(0)) reject(ErrorKind::kParse, "input 0 is absent: there is no element to get");
  c.add(LayerKind::kIDENTITY, {c.input(0)});
}

// Inference-time Dropout passes its input through, and its mask is all true (version 7's mask
// has the input's type: all ones). Training mode drops at random, so it is refused, except with a
// constant ratio of 0, which drops nothing.
void importDropout(ImportContext& c) {
  const HostTensor* training = c.hasInput(2) ? c.constant(2) : nullptr;  // version 12
  if (c.hasInput(2) && (!training || training->castTo(DataType::kINT64).asInt64().at(0) != 0)) {
    const HostTensor* ratio = c.hasInput(1) ? c.constant(1) : nullptr;
    const bool zero = ratio && ratio->numel() == 1 && ratio->asFloats()[0] == 0.0f;
    if (!training || !zero)
      reject(ErrorKind::kUnsupported,
             "training_mode must be a constant false (or the ratio a constant 0)",
             "export the model in eval mode (model.eval() before torch.onnx.export)");
  }
  c.add(LayerKind::kIDENTITY, {c.input(0)}, 1);
  if (!c.hasOutput(1)) return;
  const bool boolMask = schemaVersion("Dropout", c.opset()) >= 10;
  HostTensor one = HostTensor::fromFloats({1}, {1.0f});
  one = one.castTo(boolMask ? DataType::kBOOL : c.net().tensors[c.input(0)].dtype);
  const int shape = c.addInternal(LayerKind::kSHAPE, {c.input(0)}).outputs[0];
  c.addMapped(LayerKind::kCONSTANT_OF_SHAPE, {shape}, {1}).weights["value"] = std::move(one);
}

void importFlatten(ImportContext& c) {
  c.add(LayerKind::kFLATTEN, {c.input(0)}).attrs.set("axis", c.attrInt("axis", 1));
}

// A constant target shape becomes the "shape" attr; a computed one stays an input.
void importReshape(ImportContext& c) {
  const int64_t allowzero = c.attrFlag("allowzero", 0);
  if (const HostTensor* s = c.constant(1)) {
    std::vector<int64_t> shape = s->asInt64();
    ir::Layer& l = c.add(LayerKind::kRESHAPE, {c.input(0)});
    l.attrs.set("shape", std::move(shape));
    l.attrs.set("allowzero", allowzero);
    return;
  }
  c.add(LayerKind::kRESHAPE, {c.input(0), c.input(1)}).attrs.set("allowzero", allowzero);
}

void importTranspose(ImportContext& c) {
  std::vector<int64_t> perm = c.attrInts("perm");
  if (perm.empty())  // default: reverse the dims
    for (int64_t i = static_cast<int64_t>(c.inputDims(0).size()) - 1; i >= 0; --i)
      perm.push_back(i);
  c.add(LayerKind::kTRANSPOSE, {c.input(0)}).attrs.set("perm", perm);
}

void importConcat(ImportContext& c) {
  const int64_t axis = c.requireAttrInt("axis");
  std::vector<int> ins;
  for (int i = 0; i < c.numInputs(); ++i) ins.push_back(c.input(i));
  c.add(LayerKind::kCONCATENATION, ins).attrs.set("axis", axis);
}

// Split sizes: the `split` attr (opset < 13), else a constant or computed input; neither means
// equal parts (num_outputs of opset 18 is then the output count).
void split(ImportContext& c, bool sizesFromInput) {
  const int n = c.node().output_size();
  if (c.hasAttr("num_outputs") && c.attrInt("num_outputs", 0) != n)
    reject(ErrorKind::kParse, str("num_outputs is ", c.attrInt("num_outputs", 0),
                                  " but the node has ", n, " outputs"));
  std::vector<int> ins{c.input(0)};
  std::vector<int64_t> sizes;
  if (!sizesFromInput)
    sizes = c.attrInts("split");
  else if (const HostTensor* s = c.constant(1))
    sizes = s->asInt64();
  else if (c.hasInput(1))
    ins.push_back(c.input(1));
  ir::Layer& l = c.add(LayerKind::kSPLIT, ins, n);
  l.attrs.set("axis", c.attrInt("axis", 0));
  if (!sizes.empty()) l.attrs.set("split", sizes);
}
void importSplit11(ImportContext& c) { split(c, false); }
void importSplit13(ImportContext& c) { split(c, true); }

// Constant starts/ends/axes/steps become attrs; computed ones stay inputs 1..4.
void importSlice(ImportContext& c) {
  if (!c.hasInput(1) || !c.hasInput(2)) reject(ErrorKind::kParse, "starts and ends are required");
  static const char* names[] = {"starts", "ends", "axes", "steps"};
  std::vector<int> ins{c.input(0)};
  std::vector<std::pair<const char*, std::vector<int64_t>>> attrs;
  for (int i = 1; i <= 4; ++i) {
    const HostTensor* v = c.constant(i);
    if (v) attrs.push_back({names[i - 1], v->asInt64()});
    ins.push_back(c.hasInput(i) && !v ? c.input(i) : -1);
  }
  while (ins.back() < 0) ins.pop_back();
  ir::Layer& l = c.add(LayerKind::kSLICE, ins);
  for (auto& [k, v] : attrs) l.attrs.set(k, v);
}

// Slice version 1: starts/ends/axes are attributes (steps are all 1).
void importSlice1(ImportContext& c) {
  const auto starts = c.attrInts("starts"), ends = c.attrInts("ends");
  if (starts.empty() || starts.size() != ends.size())
    reject(ErrorKind::kParse, str("attributes 'starts' and 'ends' must be non-empty and of equal "
                                  "length, got ",
                                  starts.size(), " and ", ends.size()));
  ir::Layer& l = c.add(LayerKind::kSLICE, {c.input(0)});
  l.attrs.set("starts", starts);
  l.attrs.set("ends", ends);
  if (c.hasAttr("axes")) l.attrs.set("axes", c.attrInts("axes"));
}

// Squeeze/Unsqueeze axes: an attribute before opset 13, an input from 13. Computed axes stay
// input 1, a shape operand known on the host at run time (a shape input).
void axesOp(ImportContext& c, LayerKind kind, bool fromInput) {
  std::vector<int64_t> axes;
  if (!fromInput)
    axes = c.attrInts("axes");
  else if (c.hasInput(1) && !c.constant(1))
    return void(c.add(kind, {c.input(0), c.input(1)}));
  else if (c.hasInput(1))
    axes = c.constInts(1, "axes");
  if (kind == LayerKind::kUNSQUEEZE && axes.empty())
    reject(ErrorKind::kParse, "Unsqueeze needs axes");
  c.add(kind, {c.input(0)}).attrs.set("axes", axes);
}
void importSqueeze11(ImportContext& c) { axesOp(c, LayerKind::kSQUEEZE, false); }
void importSqueeze13(ImportContext& c) { axesOp(c, LayerKind::kSQUEEZE, true); }
void importUnsqueeze11(ImportContext& c) { axesOp(c, LayerKind::kUNSQUEEZE, false); }
void importUnsqueeze13(ImportContext& c) { axesOp(c, LayerKind::kUNSQUEEZE, true); }

// A Constant defines a host value; a CONSTANT layer appears only when a node reads it as a tensor.
void importConstant(ImportContext& c) {
  HostTensor v;
  if (const auto* a = c.attr("value"))
    v = tensorFromProto(a->t(), c.modelDir());
  else if (const auto* a = c.attr("value_float"))
    v = HostTensor::fromFloats({}, {a->f()});
  else if (const auto* a = c.attr("value_floats"))
    v = HostTensor::fromFloats({a->floats_size()}, {a->floats().begin(), a->floats().end()});
  else if (const auto* a = c.attr("value_int"))
    v = HostTensor::fromInt64({}, {a->i()});
  else if (const auto* a = c.attr("value_ints"))
    v = HostTensor::fromInt64({a->ints_size()}, {a->ints().begin(), a->ints().end()});
  else
    reject(ErrorKind::kUnsupported,
           "only value, value_float(s) and value_int(s) Constants are supported",
           "sparse and string constants cannot be imported");
  c.defineConstant(0, std::move(v));
}

void importShape(ImportContext& c) {
  ir::Layer& l = c.add(LayerKind::kSHAPE, {c.input(0)});
  if (c.hasAttr("start")) l.attrs.set("start", c.attrInt("start", 0));
  if (c.hasAttr("end")) l.attrs.set("end", c.attrInt("end", 0));
}

// Size = the product of Shape: an INT64 scalar, folded when the dims are static, else computed
// on the host from the run's dims.
void importSize(ImportContext& c) {
  const int shape = c.addInternal(LayerKind::kSHAPE, {c.input(0)}).outputs[0];
  ir::Layer& l = c.add(LayerKind::kREDUCE, {shape});
  l.attrs.set("op", "PROD");
  l.attrs.set("axes", std::vector<int64_t>{});
  l.attrs.set("keepdims", int64_t{0});
  l.attrs.set("noop_with_empty_axes", int64_t{0});
}

void importGather(ImportContext& c) {
  c.add(LayerKind::kGATHER, {c.input(0), c.input(1)}).attrs.set("axis", c.attrInt("axis", 0));
}

void importGatherNd(ImportContext& c) {
  ir::Layer& l = c.add(LayerKind::kGATHER, {c.input(0), c.input(1)});
  l.attrs.set("mode", "ND");
  l.attrs.set("batch_dims", c.attrInt("batch_dims", 0));  // from 12
}

// ScatterElements (mode ELEMENT, attr axis) and ScatterND (mode ND); reduction from 16.
Importer scatter(const char* mode) {
  return [=](ImportContext& c) {
    const std::string r = c.attrString("reduction", "none");
    if (r != "none" && r != "add" && r != "mul" && r != "max" && r != "min")
      reject(ErrorKind::kParse, str("attribute 'reduction' must be none, add, mul, max or min, "
                                    "got '",
                                    r, "'"));
    ir::Layer& l = c.add(LayerKind::kSCATTER, {c.input(0), c.input(1), c.input(2)});
    l.attrs.set("mode", mode);
    l.attrs.set("reduction", r);
    if (mode == std::string("ELEMENT")) l.attrs.set("axis", c.attrInt("axis", 0));
  };
}

void importGatherElements(ImportContext& c) {
  ir::Layer& l = c.add(LayerKind::kGATHER, {c.input(0), c.input(1)});
  l.attrs.set("axis", c.attrInt("axis", 0));
  l.attrs.set("mode", "ELEMENT");
}

// Cast to `to` (a boundary dtype): the value is converted to `to` with ONNX's rules and, when
// `to` computes wider, widened again with `to` recorded as its ONNX dtype. Narrow float targets
// take the node's saturate and round_mode (E8M0).
void castTo(ImportContext& c, DataType to) {
  const DataType from = c.logicalDtype(0);
  const DataType wide = computeDtype(to);
  int x = c.input(0);
  // UINT64 is held as INT64: its values convert to floats as unsigned only from UINT64 bits.
  if (from == DataType::kUINT64 && isFloatDtype(to)) x = c.castTensor(x, DataType::kUINT64);
  if (to != wide && to != DataType::kDOUBLE) {
    x = c.castTensor(x, to);
    const int producer = c.net().tensors[x].producer;
    if (isNarrowFloat(to) && producer >= 0) {
      const std::string round = c.attrString("round_mode", "up");
      if (round != "up" && round != "down" && round != "nearest")
        reject(ErrorKind::kParse,
               str("round_mode '", round, "' is not one of 'up', 'down', 'nearest'"));
      ir::Layer& narrow = c.net().layers[producer];
      narrow.attrs.set("saturate", c.attrInt("saturate", 1) != 0 ? int64_t{1} : int64_t{0});
      if (to == DataType::kE8M0) narrow.attrs.set("round_mode", round);
    }
  }
  c.add(LayerKind::kCAST, {x}).attrs.set("to", static_cast<int64_t>(wide));
  if (to != wide) c.setLogicalDtype(0, to);
}

void importCast(ImportContext& c) {
  castTo(c, ioDtypeFromOnnx(static_cast<int>(c.requireAttrInt("to")), "attribute 'to'"));
}

// BitCast: the bits read as another type of the same width. Between integers that is the
// two's-complement conversion Cast does; FLOAT <-> INT32 copies the 4 bytes (a CAST marked
// bitcast).
void importBitCast(ImportContext& c) {
  const DataType from = c.logicalDtype(0);
  const DataType to = ioDtypeFromOnnx(static_cast<int>(c.requireAttrInt("to")), "attribute 'to'");
  if (dtypeBits(from) != dtypeBits(to))
    reject(ErrorKind::kParse, str("BitCast from ", dtypeName(from), " to ", dtypeName(to),
                                  " changes the element size"));
  const auto integer = [](DataType t) { return !isFloatDtype(t) && t != DataType::kBOOL; };
  // A BOOL's byte is 0 or 1: read as an 8-bit integer it is that number, as Cast gives it.
  if ((integer(from) || from == DataType::kBOOL) && integer(to)) return castTo(c, to);
  const bool f2i = from == DataType::kFLOAT && to == DataType::kINT32;
  if (!f2i && !(from == DataType::kINT32 && to == DataType::kFLOAT))
    reject(ErrorKind::kUnsupported,
           str("BitCast from ", dtypeName(from), " to ", dtypeName(to), " is not implemented"),
           "clrt bit-casts between integers of one width and between FLOAT and INT32");
  ir::Layer& l = c.add(LayerKind::kCAST, {c.input(0)});
  l.attrs.set("to", static_cast<int64_t>(to));
  l.attrs.set("bitcast", int64_t{1});
}

// CastLike: Cast to the dtype of input 1.
void importCastLike(ImportContext& c) {
  if (!c.hasInput(1))
    reject(ErrorKind::kParse, "input 1 (target_type) is required but absent",
           "the node does not follow the ONNX operator spec");
  castTo(c, c.logicalDtype(1));
}

// The fill value defaults to float 0; it is always stored so that the output dtype is explicit.
void importConstantOfShape(ImportContext& c) {
  HostTensor value = HostTensor::fromFloats({1}, {0.f});
  if (const auto* a = c.attr("value")) value = tensorFromProto(a->t(), c.modelDir());
  if (value.numel() != 1) reject(ErrorKind::kParse, "attribute 'value' must hold one element");
  c.add(LayerKind::kCONSTANT_OF_SHAPE, {c.input(0)}).weights["value"] = std::move(value);
}

// Trilu keeps x[..., i, j] where j - i >= k (upper) or j - i <= k (lower), else 0: a WHERE on
// a mask comparing the constant j - i with k, which folds to a constant when k is one.
void importTrilu(ImportContext& c) {
  const Dims xd = c.inputDims(0);
  if (xd.size() < 2)
    reject(ErrorKind::kParse, str("input must have rank >= 2, got ", dimsToString(xd)));
  const int64_t rows = xd[xd.size() - 2], cols = xd.back();
  if (rows < 0 || cols < 0)
    reject(ErrorKind::kUnsupported,
           str("the last two dims must be static, input is ", dimsToString(xd)));
  std::vector<int64_t> diff(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) diff[i * cols + j] = j - i;
  const int d = c.constantTensor(HostTensor::fromInt64({rows, cols}, diff));
  if (c.hasInput(1) && c.net().tensors[c.input(1)].dtype != DataType::kINT64)
    reject(ErrorKind::kParse, "k (input 1) must be an INT64 scalar");
  const int k = c.hasInput(1) ? c.input(1) : c.constantTensor(HostTensor::scalarInt64(0));
  ir::Layer& mask = c.addInternal(LayerKind::kELEMENTWISE, {d, k});
  mask.attrs.set("op", c.attrFlag("upper", 1) ? "GREATER_OR_EQUAL" : "LESS_OR_EQUAL");
  const int keep = mask.outputs[0];  // `mask` dies with the next layer added
  const int x = c.input(0);
  const int zero = c.constantTensor(HostTensor(c.net().tensors[x].dtype, {}));
  c.add(LayerKind::kWHERE, {keep, x, zero});
}

}  // namespace

void registerShapeImporters() {
  // Versions that only add dtypes (e.g. 21..25: 4-bit and float8 types) share an importer; a
  // dtype clrt lacks is refused where the tensor is read.
  const std::vector<int> layout{13, 21, 23, 24, 25};
  registerImporter("Identity", {1, 13, 14, 16, 19, 21, 23, 24, 25}, importIdentity);
  registerImporter("OptionalHasElement", {15, 18, 28}, importOptionalHasElement);
  registerImporter("OptionalGetElement", {15, 18, 28}, importOptionalGetElement);
  registerImporter("Dropout", {7, 10, 12, 13, 22}, importDropout);
  registerImporter("Flatten", {1, 9, 11, 13, 21, 23, 24, 25}, importFlatten);
  registerImporter("Reshape", {5, 13, 14, 19, 21, 23, 24, 25}, importReshape);
  registerImporter("Transpose", {1, 13, 21, 23, 24, 25}, importTranspose);
  registerImporter("Concat", {4, 11, 13}, importConcat);
  registerImporter("Split", {2, 11}, importSplit11);
  registerImporter("Split", {13, 18}, importSplit13);
  registerImporter("Slice", {1}, importSlice1);
  registerImporter("Slice", {10, 11, 13}, importSlice);
  registerImporter("Squeeze", {1, 11}, importSqueeze11);
  registerImporter("Squeeze", layout, importSqueeze13);
  registerImporter("Unsqueeze", {1, 11}, importUnsqueeze11);
  registerImporter("Unsqueeze", layout, importUnsqueeze13);
  registerImporter("Constant", {1, 9, 11, 12, 13, 19, 21, 23, 24, 25}, importConstant);
  registerImporter("Shape", {1, 13, 15, 19, 21, 23, 24, 25}, importShape);
  registerImporter("Size", {1, 13, 19, 21, 23, 24, 25}, importSize);
  registerImporter("Gather", {1, 11, 13}, importGather);
  registerImporter("GatherElements", {11, 13}, importGatherElements);  // 13 adds dtypes
  registerImporter("GatherND", {11, 12, 13}, importGatherNd);
  // Scatter 9 and 11 are ScatterElements without reduction; 16 adds add/mul, 18 max/min.
  registerImporter("Scatter", {9, 11}, scatter("ELEMENT"));
  registerImporter("ScatterElements", {11, 13, 16, 18}, scatter("ELEMENT"));
  registerImporter("ScatterND", {11, 13, 16, 18}, scatter("ND"));
  // 19's saturate and 24's round_mode concern narrow float targets.
  registerImporter("Cast", {6, 9, 13, 19, 21, 23, 24, 25, 28}, importCast);
  registerImporter("CastLike", {15, 19, 21, 23, 24, 25}, importCastLike);
  registerImporter("BitCast", {26}, importBitCast);
  registerImporter("ConstantOfShape", {9, 20, 21, 23, 24, 25}, importConstantOfShape);
  // 27's stash_type only concerns FLOAT16/BFLOAT16 ranges.
  registerImporter("Range", {11, 27}, passInputs(LayerKind::kRANGE, 3));
  registerImporter("Expand", {8, 13}, passInputs(LayerKind::kEXPAND, 2));
  registerImporter("Where", {9, 16}, passInputs(LayerKind::kWHERE, 3));
  registerImporter("Trilu", {14}, importTrilu);
}

}  // namespace clrt::onnx
