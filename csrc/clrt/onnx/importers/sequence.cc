// Sequence importers: a sequence is an import-time list of tensors (ImportContext::sequence), so
// positions and split sizes that decide its elements must be known when building. SequenceAt
// with a run-time position gathers from the stacked elements when they share one static shape.
#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

// A build-time position into a sequence of n elements (negative counts from the end); `ends`
// allows n itself (an insertion at the back).
int64_t position(ImportContext& c, int i, int64_t n, bool ends) {
  const int64_t p = c.constInts(i, "the position").at(0);
  const int64_t k = p < 0 ? p + n : p;
  if (k < 0 || k > n || (!ends && k == n))
    reject(ErrorKind::kValue, str("position ", p, " is outside a sequence of ", n, " elements"));
  return k;
}

int stack(ImportContext& c, const std::vector<int>& parts, int64_t axis, int output) {
  std::vector<int> ins;
  for (int p : parts) {
    ir::Layer& u = c.addInternal(LayerKind::kUNSQUEEZE, {p});
    u.attrs.set("axes", std::vector<int64_t>{axis});
    ins.push_back(u.outputs[0]);
  }
  ir::Layer& l = c.addMapped(LayerKind::kCONCATENATION, ins, {output});
  l.attrs.set("axis", axis);
  return l.outputs[0];
}

void importConstruct(ImportContext& c) {
  std::vector<int> e;
  for (int i = 0; i < c.numInputs(); ++i) e.push_back(c.input(i));
  c.defineSequence(0, e);
}

void importEmpty(ImportContext& c) { c.defineSequence(0, {}); }

void importInsert(ImportContext& c) {
  std::vector<int> e = c.sequence(0);
  const int64_t n = static_cast<int64_t>(e.size());
  const int64_t k = c.hasInput(2) ? position(c, 2, n, true) : n;
  e.insert(e.begin() + k, c.input(1));
  c.defineSequence(0, e);
}

void importErase(ImportContext& c) {
  std::vector<int> e = c.sequence(0);
  const int64_t n = static_cast<int64_t>(e.size());
  if (n == 0) reject(ErrorKind::kValue, "cannot erase from an empty sequence");
  e.erase(e.begin() + (c.hasInput(1) ? position(c, 1, n, false) : n - 1));
  c.defineSequence(0, e);
}

void importLength(ImportContext& c) {
  c.defineConstant(0, HostTensor::scalarInt64(static_cast<int64_t>(c.sequence(0).size())));
}

// A run-time position: the elements stacked on a new axis 0 and gathered (negative indices
// wrap as ONNX's); needs one static shape for all of them.
void importAt(ImportContext& c) {
  const std::vector<int>& e = c.sequence(0);
  const int64_t n = static_cast<int64_t>(e.size());
  if (c.constant(1)) {
    c.addMapped(LayerKind::kIDENTITY, {e[position(c, 1, n, false)]}, {0});
    return;
  }
  if (n == 0) reject(ErrorKind::kValue, "SequenceAt of an empty sequence");
  const Dims d = c.net().tensors[e[0]].dims;
  for (int t : e)
    if (c.net().tensors[t].dims != d || !isStatic(d))
      reject(ErrorKind::kUnsupported,
             str("the position ('", c.node().input(1),
                 "') is computed at run time and the elements differ in shape (or are dynamic): ",
                 dimsToString(d), " and ", dimsToString(c.net().tensors[t].dims)),
             "make the position a constant");
  std::vector<int> ins;
  for (int t : e) {
    ir::Layer& u = c.addInternal(LayerKind::kUNSQUEEZE, {t});
    u.attrs.set("axes", std::vector<int64_t>{0});
    ins.push_back(u.outputs[0]);
  }
  ir::Layer& cat = c.addInternal(LayerKind::kCONCATENATION, ins);
  cat.attrs.set("axis", int64_t{0});
  const int all = cat.outputs[0];
  c.add(LayerKind::kGATHER, {all, c.input(1)}, 1).attrs.set("axis", int64_t{0});
}

void importConcatFrom(ImportContext& c) {
  const std::vector<int>& e = c.sequence(0);
  if (e.empty()) reject(ErrorKind::kUnsupported, "ConcatFromSequence of an empty sequence");
  const bool newAxis = c.attrFlag("new_axis", 0) != 0;
  const int64_t rank = static_cast<int64_t>(c.net().tensors[e[0]].dims.size()) + (newAxis ? 1 : 0);
  const int64_t axis = normalizeAxis(c.requireAttrInt("axis"), rank, "attribute 'axis'");
  if (newAxis) {
    stack(c, e, axis, 0);
    return;
  }
  c.addMapped(LayerKind::kCONCATENATION, e, {0}).attrs.set("axis", axis);
}

// Sizes: absent (ones, keepdims applies), a scalar (equal chunks, the last one shorter) or a
// list (constant, or computed with a static length).
void importSplitTo(ImportContext& c) {
  const Dims d = c.inputDims(0);
  const int64_t axis =
      normalizeAxis(c.attrInt("axis", 0), static_cast<int64_t>(d.size()), "attribute 'axis'");
  const int64_t len = d[axis];
  std::vector<int> ins{c.input(0)};
  std::vector<int64_t> sizes;
  int64_t parts = 0;
  const bool keep = !c.hasInput(1) && c.attrFlag("keepdims", 1) == 0;
  if (!c.hasInput(1) || (c.constant(1) && c.constant(1)->dims.empty())) {
    const int64_t chunk = c.hasInput(1) ? c.constInts(1, "split").at(0) : 1;
    if (len < 0 || chunk < 1)
      reject(ErrorKind::kUnsupported,
             str("splitting dim ", axis, " of ", dimsToString(d), " into chunks of ", chunk,
                 " needs a static dim and a positive chunk"));
    for (int64_t at = 0; at < len; at += chunk) sizes.push_back(std::min(chunk, len - at));
    parts = static_cast<int64_t>(sizes.size());
  } else if (const HostTensor* s = c.constant(1)) {
    sizes = s->asInt64();
    parts = static_cast<int64_t>(sizes.size());
  } else {
    const Dims sd = c.inputDims(1);
    if (sd.size() != 1)
      reject(ErrorKind::kUnsupported,
             "a chunk size computed at run time: clrt needs the number "
             "of elements when building");
    parts = sd[0];
    if (parts < 1)
      reject(ErrorKind::kUnsupported,
             "the split sizes are computed at run time with a dynamic count");
    ins.push_back(c.input(1));
  }
  if (parts == 0) {
    c.defineSequence(0, {});
    return;
  }
  ir::Layer& l = c.addInternal(LayerKind::kSPLIT, ins, static_cast<int>(parts));
  l.attrs.set("axis", axis);
  if (!sizes.empty()) l.attrs.set("split", sizes);
  std::vector<int> e = l.outputs;
  if (keep)
    for (int& t : e) {
      ir::Layer& q = c.addInternal(LayerKind::kSQUEEZE, {t});
      q.attrs.set("axes", std::vector<int64_t>{axis});
      t = q.outputs[0];
    }
  c.defineSequence(0, e);
}

}  // namespace

void registerSequenceImporters() {
  registerImporter("SequenceConstruct", {11}, importConstruct);
  registerImporter("SequenceEmpty", {11}, importEmpty);
  registerImporter("SequenceInsert", {11}, importInsert);
  registerImporter("SequenceErase", {11}, importErase);
  registerImporter("SequenceLength", {11}, importLength);
  registerImporter("SequenceAt", {11}, importAt);
  registerImporter("ConcatFromSequence", {11}, importConcatFrom);
  registerImporter("SplitToSequence", {11, 24}, importSplitTo);  // 24 adds dtypes
}

}  // namespace clrt::onnx
