// Along-one-axis importers: CumSum, CumProd (kCUMULATIVE) and TopK (kTOPK; k known on the host at
// build or run time); ReverseSequence and TensorScatter, whose positions are computed by
// elementwise layers and applied by a GATHER / SCATTER of mode ELEMENT.
#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

Importer cumulative(const char* op) {
  return [=](ImportContext& c) {
    if (!c.hasInput(1)) reject(ErrorKind::kParse, "input 1 (axis) is required");
    if (!c.constant(1)) {  // a run-time axis: the kernel reads it (one value, checked there)
      const Dims ad = c.inputDims(1);
      if (ad.size() > 1 || (ad.size() == 1 && ad[0] != 1))
        reject(ErrorKind::kParse, str("axis must hold one value, its dims are ", dimsToString(ad)));
      ir::Layer& l = c.add(LayerKind::kCUMULATIVE, {c.input(0), c.input(1)});
      l.attrs.set("op", op);
      l.attrs.set("exclusive", c.attrFlag("exclusive", 0));
      l.attrs.set("reverse", c.attrFlag("reverse", 0));
      return;
    }
    const std::vector<int64_t> axis = c.constInts(1, "axis");
    if (axis.size() != 1)
      reject(ErrorKind::kParse, str("axis must hold one value, got ", axis.size()));
    const int64_t rank = static_cast<int64_t>(c.inputDims(0).size());
    if (axis[0] < -rank || axis[0] >= rank)
      reject(ErrorKind::kParse, str("axis ", axis[0], " is out of range for rank ", rank));
    ir::Layer& l = c.add(LayerKind::kCUMULATIVE, {c.input(0)});
    l.attrs.set("op", op);
    l.attrs.set("axis", axis[0]);
    l.attrs.set("exclusive", c.attrFlag("exclusive", 0));
    l.attrs.set("reverse", c.attrFlag("reverse", 0));
  };
}

// A K computed at run time (min(1000, n) of a detector's candidate count): a shape operand the
// host knows when the layer runs, so the kernel gets it as the output dims.
void importRuntimeK(ImportContext& c, int version) {
  const Dims kd = c.inputDims(1);
  if (volume(kd) != 1)
    reject(ErrorKind::kParse, str("K must hold one value, its dims are ", dimsToString(kd)));
  const int64_t rank = static_cast<int64_t>(c.inputDims(0).size()), axis = c.attrInt("axis", -1);
  if (axis < -rank || axis >= rank)
    reject(ErrorKind::kParse, str("axis ", axis, " is out of range for rank ", rank));
  ir::Layer& l = c.add(LayerKind::kTOPK, {c.input(0), c.input(1)});
  l.attrs.set("axis", axis < 0 ? axis + rank : axis);
  l.attrs.set("largest", version < 11 ? int64_t{1} : c.attrFlag("largest", 1));
  l.attrs.set("sorted", version < 11 ? int64_t{1} : c.attrFlag("sorted", 1));
}

// TopK-1 takes k as an attribute, 10 as input 1; 11 adds largest, sorted and negative axes.
void importTopK(ImportContext& c) {
  const int version = schemaVersion("TopK", c.opset());
  int64_t k = 0;
  if (version < 10) {
    k = c.requireAttrInt("k");
  } else {
    if (!c.hasInput(1)) reject(ErrorKind::kParse, "input 1 (K) is required");
    if (!c.constant(1)) return importRuntimeK(c, version);
    const std::vector<int64_t> kv = c.constInts(1, "K");
    if (kv.size() != 1) reject(ErrorKind::kParse, str("K must hold one value, got ", kv.size()));
    k = kv[0];
  }
  const Dims x = c.inputDims(0);
  const int64_t rank = static_cast<int64_t>(x.size()), axis = c.attrInt("axis", -1);
  if (axis < (version < 11 ? 0 : -rank) || axis >= rank)
    reject(ErrorKind::kParse, str("axis ", axis, " is out of range for rank ", rank));
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (k < 0 || (x[a] >= 0 && k > x[a]))
    reject(ErrorKind::kParse, str("K = ", k, " must lie in [0, ", x[a], "] (axis ", a, ")"));
  // UINT64 values order unsigned on their sign-flipped bits, flipped back in the output.
  const bool u64 = c.logicalDtype(0) == DataType::kUINT64;
  ir::Layer& l = u64 ? c.addInternal(LayerKind::kTOPK, {c.unsignedOrder(c.input(0))}, 2)
                     : c.add(LayerKind::kTOPK, {c.input(0)});
  l.attrs.set("k", k);
  l.attrs.set("axis", a);
  l.attrs.set("largest", version < 11 ? int64_t{1} : c.attrFlag("largest", 1));
  // Unsorted output may come in any order; the kernel always sorts.
  l.attrs.set("sorted", version < 11 ? int64_t{1} : c.attrFlag("sorted", 1));
  if (!u64) return;
  const int values = l.outputs[0], indices = l.outputs[1];  // `l` dies with the next layer
  c.addMapped(LayerKind::kIDENTITY, {c.unsignedOrder(values)}, {0});
  c.addMapped(LayerKind::kIDENTITY, {indices}, {1});
}

int elementwise(ImportContext& c, const char* op, int a, int b) {
  ir::Layer& l = c.addInternal(LayerKind::kELEMENTWISE, {a, b});
  l.attrs.set("op", op);
  return l.outputs[0];
}

// 0, 1, ..., n - 1 as INT64 along `axis` of a rank-`rank` shape of ones.
int iota(ImportContext& c, int64_t n, int64_t axis, size_t rank) {
  Dims d(rank, 1);
  d[axis] = n;
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return c.constantTensor(HostTensor::fromInt64(d, v));
}

// A [n] tensor viewed along `axis` of a rank-`rank` shape of ones.
int alongAxis(ImportContext& c, int t, int64_t n, int64_t axis, size_t rank) {
  std::vector<int64_t> d(rank, 1);
  d[axis] = n;
  ir::Layer& l = c.addInternal(LayerKind::kRESHAPE, {t});
  l.attrs.set("shape", d);
  return l.outputs[0];
}

int expandTo(ImportContext& c, int t, const Dims& dims) {
  const int shape = c.constantTensor(
      HostTensor::fromInt64({static_cast<int64_t>(dims.size())}, std::vector<int64_t>(dims)));
  return c.addInternal(LayerKind::kEXPAND, {t, shape}).outputs[0];
}

Dims staticDims(ImportContext& c, int i, const char* what) {
  const Dims d = c.inputDims(i);
  if (!isStatic(d))
    reject(ErrorKind::kUnsupported, str(what, " must have static dims, got ", dimsToString(d)));
  return d;
}

// y[.., t, .., b, ..] = x[.., lens[b] - 1 - t, .., b, ..] for t < lens[b], else x itself.
void importReverseSequence(ImportContext& c) {
  const Dims x = staticDims(c, 0, "input");
  const size_t rank = x.size();
  const int64_t ta = c.attrInt("time_axis", 0), ba = c.attrInt("batch_axis", 1);
  if (rank < 2 || (ta != 0 && ta != 1) || (ba != 0 && ba != 1) || ta == ba)
    reject(ErrorKind::kParse, str("time_axis ", ta, " and batch_axis ", ba,
                                  " must be 0 and 1 in some order (input rank ", rank, ")"));
  const int t = iota(c, x[ta], ta, rank);
  const int lens = alongAxis(c, c.input(1), x[ba], ba, rank);
  const int one = c.constantTensor(HostTensor::scalarInt64(1));
  const int rev = elementwise(c, "SUB", elementwise(c, "SUB", lens, one), t);
  const int inside = elementwise(c, "LESS", t, lens);
  const int idx = c.addInternal(LayerKind::kWHERE, {inside, rev, t}).outputs[0];
  ir::Layer& g = c.add(LayerKind::kGATHER, {c.input(0), expandTo(c, idx, x)});
  g.attrs.set("axis", ta);
  g.attrs.set("mode", "ELEMENT");
}

// TensorScatter (a KV-cache write): update[b, .., i, ..] lands at write_indices[b] + i along
// `axis` of past_cache (modulo its length in mode circular).
void importTensorScatter(ImportContext& c) {
  const Dims past = staticDims(c, 0, "past_cache"), upd = staticDims(c, 1, "update");
  const size_t rank = past.size();
  if (rank < 2 || upd.size() != rank)
    reject(ErrorKind::kParse, str("update ", dimsToString(upd), " and past_cache ",
                                  dimsToString(past), " must have one rank >= 2"));
  const int64_t axis =
      normalizeAxis(c.attrInt("axis", -2), static_cast<int64_t>(rank), "attribute 'axis'");
  if (axis == 0) reject(ErrorKind::kParse, "attribute 'axis' must not be the batch axis 0");
  const std::string mode = c.attrString("mode", "linear");
  if (mode != "linear" && mode != "circular")
    reject(ErrorKind::kParse, "attribute 'mode' is '" + mode + "'; expected linear or circular");
  int idx = iota(c, upd[axis], axis, rank);
  if (c.hasInput(2)) idx = elementwise(c, "SUM", alongAxis(c, c.input(2), upd[0], 0, rank), idx);
  if (mode == "circular")
    idx = elementwise(c, "MOD", idx, c.constantTensor(HostTensor::scalarInt64(past[axis])));
  ir::Layer& s = c.add(LayerKind::kSCATTER, {c.input(0), expandTo(c, idx, upd), c.input(1)});
  s.attrs.set("mode", "ELEMENT");
  s.attrs.set("reduction", "none");
  s.attrs.set("axis", axis);
}

}  // namespace

void registerScanImporters() {
  // 14 adds dtypes.
  registerImporter("CumSum", {11, 14}, cumulative("SUM"));
  registerImporter("CumProd", {26}, cumulative("PROD"));
  registerImporter("TopK", {1, 10, 11, 24}, importTopK);
  registerImporter("ReverseSequence", {10, 28}, importReverseSequence);  // 28 adds dtypes
  registerImporter("TensorScatter", {24}, importTensorScatter);
}

}  // namespace clrt::onnx
