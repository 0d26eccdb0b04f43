// Shape and data-movement importers: Flatten, Reshape, Transpose, Concat, Split, Slice,
// Squeeze, Unsqueeze, Identity, Dropout, Constant, Shape, Gather, Cast, ConstantOfShape, Range,
// Expand, Where.
#include "clrt/onnx/importer.h"

namespace clrt::onnx {

HostTensor tensorFromProto(const ::onnx::TensorProto& t, const std::string& dir);

namespace {

using ir::LayerKind;

void reg(const char* op, int since, Importer f) { importerTable()[op].push_back({since, f}); }

// Inputs after the first: host-known constants become attrs, others stay tensor inputs.
void withInputs(ImportContext& c, LayerKind kind, int n, std::function<void(ir::Layer&)> set = {}) {
  std::vector<int> ins;
  for (int i = 0; i < n; ++i) ins.push_back(c.hasInput(i) ? c.input(i) : -1);
  while (!ins.empty() && ins.back() < 0) ins.pop_back();
  auto& l = c.add(kind, ins);
  if (set) set(l);
}

void axesLayer(ImportContext& c, LayerKind kind, bool fromInput) {
  std::vector<int64_t> axes;
  if (fromInput) {
    if (c.hasInput(1)) axes = c.requireConstant(1, "axes").asInt64();
  } else {
    axes = c.attrInts("axes");
  }
  CLRT_CHECK(kind == LayerKind::kSQUEEZE || !axes.empty(), kParse, "axes are required");
  c.add(kind, {c.input(0)}).attrs.set("axes", axes);
}

void split(ImportContext& c, int mode /*0 attr, 1 input, 2 input or num_outputs*/) {
  std::vector<int64_t> sizes;
  if (mode == 0)
    sizes = c.attrInts("split");
  else if (c.hasInput(1))
    sizes = c.requireConstant(1, "split").asInt64();
  auto& l = c.add(LayerKind::kSPLIT, {c.input(0)}, false, c.numOutputs());
  l.attrs.set("axis", c.attrInt("axis", 0));
  if (!sizes.empty()) l.attrs.set("split", sizes);
}

void slice(ImportContext& c) {
  std::vector<int> ins{c.input(0)};
  for (int i = 1; i < 5; ++i) ins.push_back(c.hasInput(i) ? c.input(i) : -1);
  while (ins.size() > 3 && ins.back() < 0) ins.pop_back();
  c.add(LayerKind::kSLICE, ins);
}

void constantNode(ImportContext& c) {
  HostTensor v;
  if (auto a = c.attr("value"))
    v = tensorFromProto(a->t(), "");
  else if (auto a = c.attr("value_float"))
    v = HostTensor::fromFloats({}, {a->f()});
  else if (auto a = c.attr("value_floats"))
    v = HostTensor::fromFloats({a->floats_size()}, {a->floats().begin(), a->floats().end()});
  else if (auto a = c.attr("value_int"))
    v = HostTensor::fromInt64({}, {a->i()});
  else if (auto a = c.attr("value_ints"))
    v = HostTensor::fromInt64({a->ints_size()}, {a->ints().begin(), a->ints().end()});
  else
    c.unsupported("Constant needs value, value_float(s) or value_int(s)");
  c.defineConstant(0, std::move(v));
}

}  // namespace

void registerShapeImporters() {
  reg("Identity", 1, [](ImportContext& c) { c.add(LayerKind::kIDENTITY, {c.input(0)}); });
  reg("Dropout", 1, [](ImportContext& c) {
    CLRT_CHECK(!c.outputUsed(1), kUnsupported, "the mask output of Dropout is not supported");
    c.add(LayerKind::kIDENTITY, {c.input(0)}, false, 1);
  });
  reg("Flatten", 1, [](ImportContext& c) {
    c.add(LayerKind::kFLATTEN, {c.input(0)}).attrs.set("axis", c.attrInt("axis", 1));
  });
  reg("Reshape", 5, [](ImportContext& c) {
    const int64_t allowzero = c.attrInt("allowzero", 0);
    if (const HostTensor* s = c.constant(1)) {
      auto& l = c.add(LayerKind::kRESHAPE, {c.input(0)});
      l.attrs.set("shape", s->asInt64());
      l.attrs.set("allowzero", allowzero);
      return;
    }
    c.add(LayerKind::kRESHAPE, {c.input(0), c.input(1)}).attrs.set("allowzero", allowzero);
  });
  reg("Transpose", 1, [](ImportContext& c) {
    const int x = c.input(0);
    std::vector<int64_t> perm = c.attrInts("perm");
    if (perm.empty()) {
      const int64_t r = static_cast<int64_t>(c.tensor(x).dims.size());
      for (int64_t i = r - 1; i >= 0; --i) perm.push_back(i);
    }
    c.add(LayerKind::kTRANSPOSE, {x}).attrs.set("perm", perm);
  });
  reg("Concat", 1, [](ImportContext& c) {
    std::vector<int> ins;
    for (int i = 0; i < c.numInputs(); ++i) ins.push_back(c.input(i));
    c.add(LayerKind::kCONCATENATION, ins).attrs.set("axis", c.attrInt("axis", 0));
  });
  reg("Split", 1, [](ImportContext& c) { split(c, 0); });
  reg("Split", 13, [](ImportContext& c) { split(c, 1); });
  reg("Split", 18, [](ImportContext& c) { split(c, 2); });
  reg("Slice", 10, slice);
  reg("Squeeze", 1, [](ImportContext& c) { axesLayer(c, LayerKind::kSQUEEZE, false); });
  reg("Squeeze", 13, [](ImportContext& c) { axesLayer(c, LayerKind::kSQUEEZE, true); });
  reg("Unsqueeze", 1, [](ImportContext& c) { axesLayer(c, LayerKind::kUNSQUEEZE, false); });
  reg("Unsqueeze", 13, [](ImportContext& c) { axesLayer(c, LayerKind::kUNSQUEEZE, true); });
  reg("Constant", 1, constantNode);
  reg("Shape", 1, [](ImportContext& c) {
    auto& l = c.add(LayerKind::kSHAPE, {c.input(0)});
    if (c.hasAttr("start")) l.attrs.set("start", c.attrInt("start", 0));
    if (c.hasAttr("end")) l.attrs.set("end", c.attrInt("end", 0));
  });
  reg("Gather", 1, [](ImportContext& c) {
    c.add(LayerKind::kGATHER, {c.input(0), c.input(1)}).attrs.set("axis", c.attrInt("axis", 0));
  });
  reg("Cast", 1, [](ImportContext& c) {
    const DataType to = dtypeFromOnnx(static_cast<int>(c.attrInt("to", 1)), "Cast 'to'");
    c.add(LayerKind::kCAST, {c.input(0)}).attrs.set("to", static_cast<int64_t>(to));
  });
  reg("ConstantOfShape", 9, [](ImportContext& c) {
    auto& l = c.add(LayerKind::kCONSTANT_OF_SHAPE, {c.input(0)});
    if (auto a = c.attr("value")) l.weights["value"] = tensorFromProto(a->t(), "");
  });
  reg("Range", 11, [](ImportContext& c) { withInputs(c, LayerKind::kRANGE, 3); });
  reg("Expand", 8, [](ImportContext& c) { withInputs(c, LayerKind::kEXPAND, 2); });
  reg("Where", 9, [](ImportContext& c) { withInputs(c, LayerKind::kWHERE, 3); });
}

}  // namespace clrt::onnx
