// Importers that compose existing layers: LpNormalization, InstanceNormalization,
// GroupNormalization, MeanVarianceNormalization (reductions and broadcast arithmetic), LRN (an
// average pool across channels), SpaceToDepth and DepthToSpace (reshape, transpose, reshape),
// EyeLike (a constant), Tile (reshape, expand, reshape), CenterCropPad (pad, slice) and OneHot
// (a comparison with a range).
#include "clrt/ir/one_hot.h"
#include "clrt/onnx/importer.h"
#include "clrt/onnx/importers/compose.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

// Tensor ids only: a layer reference dies with the next layer added.
using compose::binary;

int reduce(ImportContext& c, const char* op, int x, const std::vector<int64_t>& axes) {
  ir::Layer& l = c.addInternal(LayerKind::kREDUCE, {x});
  l.attrs.set("op", op);
  l.attrs.set("axes", axes);
  l.attrs.set("keepdims", int64_t{1});
  return l.outputs[0];
}

int scalar(ImportContext& c, DataType t, float v) {
  return c.constantTensor(HostTensor::fromFloats({}, {v}).castTo(t));
}

// y = x / ||x||_p along one axis (p 1 or 2); an all-zero slice stays 0 (its norm counts as 1,
// as onnxruntime's).
void importLpNorm(ImportContext& c) {
  const int64_t p = c.attrInt("p", 2);
  if (p != 1 && p != 2) reject(ErrorKind::kParse, str("attribute 'p' must be 1 or 2, got ", p));
  const int64_t rank = static_cast<int64_t>(c.inputDims(0).size());
  const int64_t axis = normalizeAxis(c.attrInt("axis", -1), rank, "attribute 'axis'");
  const int x = c.input(0);
  const int norm = reduce(c, p == 1 ? "L1" : "L2", x, {axis});
  const DataType t = c.net().tensors[x].dtype;
  const int zero = binary(c, "EQUAL", norm, scalar(c, t, 0.0f));
  const int one = scalar(c, t, 1.0f);
  const int safe = c.addInternal(LayerKind::kWHERE, {zero, one, norm}).outputs[0];
  c.add(LayerKind::kELEMENTWISE, {x, safe}).attrs.set("op", "DIV");
}

// x normalised from axis 2 on, with the node's epsilon and unit scale of `normedDims`.
int unitNorm(ImportContext& c, int x, const Dims& normedDims) {
  ir::Layer& n = c.addInternal(LayerKind::kNORMALIZATION, {x});
  n.attrs.set("axis", int64_t{2});
  n.attrs.set("epsilon", static_cast<double>(c.attrFloat("epsilon", 1e-5f)));
  n.weights["scale"] =
      HostTensor::fromFloats(normedDims, std::vector<float>(volume(normedDims), 1.0f));
  return n.outputs[0];
}

// The node's output: normed * scale[c] + bias[c], scale and bias being inputs 1 and 2 of [C]
// unsqueezed to [C, 1, ...] against a rank-`rank` normed.
void scaleShiftPerChannel(ImportContext& c, int normed, int64_t rank) {
  std::vector<int64_t> trailing;
  for (int64_t k = 1; k < rank - 1; ++k) trailing.push_back(k);
  auto perChannel = [&](int i) {
    ir::Layer& u = c.addInternal(LayerKind::kUNSQUEEZE, {c.input(i)});
    u.attrs.set("axes", trailing);
    return u.outputs[0];
  };
  const int scaled = binary(c, "PROD", normed, perChannel(1));
  c.add(LayerKind::kELEMENTWISE, {scaled, perChannel(2)}).attrs.set("op", "SUM");
}

// (x - mean) / sqrt(var + epsilon) over the spatial dims of [N, C, ...] (a NORMALIZATION with
// unit scale), then * scale[c] + B[c] with both reshaped to [C, 1, ...] for broadcasting.
void importInstanceNorm(ImportContext& c) {
  const Dims xd = c.inputDims(0);
  const int64_t rank = static_cast<int64_t>(xd.size());
  if (rank < 3)
    reject(ErrorKind::kParse, str("input must be [N, C, D1, ...], got ", dimsToString(xd)));
  const Dims spatial(xd.begin() + 2, xd.end());
  if (!isStatic(spatial))
    reject(ErrorKind::kUnsupported,
           str("the spatial dims must be static, input is ", dimsToString(xd)));
  const int normed = unitNorm(c, c.input(0), spatial);
  scaleShiftPerChannel(c, normed, rank);
}

int reshapeTo(ImportContext& c, int x, const std::vector<int64_t>& shape) {
  ir::Layer& l = c.addInternal(LayerKind::kRESHAPE, {x});
  l.attrs.set("shape", shape);
  return l.outputs[0];
}

// GroupNormalization-21: x [N, C, ...] viewed as [N, G, C / G * spatial] and normalised over the
// last dim (a NORMALIZATION with unit scale), then * scale[c] + bias[c] per channel.
void importGroupNorm(ImportContext& c) {
  const Dims xd = c.inputDims(0);
  const int64_t rank = static_cast<int64_t>(xd.size()), G = c.requireAttrInt("num_groups");
  const Dims rest(xd.begin() + 1, xd.end());
  if (rank < 3 || !isStatic(rest))
    reject(ErrorKind::kUnsupported,
           str("input must be [N, C, D1, ...] with static C and spatial dims, got ",
               dimsToString(xd)));
  if (G <= 0 || xd[1] % G != 0)
    reject(ErrorKind::kParse, str("num_groups ", G, " does not divide the ", xd[1], " channels"));
  const int64_t per = volume(rest) / G;
  const int grouped = reshapeTo(c, c.input(0), {0, G, per});
  std::vector<int64_t> back{0};
  back.insert(back.end(), rest.begin(), rest.end());
  const int normed = reshapeTo(c, unitNorm(c, grouped, {per}), back);
  scaleShiftPerChannel(c, normed, rank);
}

// LRN: y = x / (bias + alpha / size * sum of x^2 over the channel window)^beta. The window sum
// is an average pool (padding counted) of x^2 viewed as [N, 1, C, spatial].
void importLrn(ImportContext& c) {
  const Dims xd = c.inputDims(0);
  const int64_t size = c.requireAttrInt("size");
  const Dims rest(xd.begin() + 1, xd.end());
  if (xd.size() < 3 || !isStatic(rest))
    reject(ErrorKind::kUnsupported,
           str("input must be [N, C, D1, ...] with static C and spatial dims, got ",
               dimsToString(xd)));
  if (size <= 0) reject(ErrorKind::kParse, str("attribute 'size' must be positive, got ", size));
  const int x = c.input(0);
  const DataType t = c.net().tensors[x].dtype;
  const int sq = reshapeTo(c, binary(c, "PROD", x, x), {0, 1, xd[1], volume(rest) / xd[1]});
  ir::Layer& p = c.addInternal(LayerKind::kPOOLING, {sq});
  p.attrs.set("type", "AVERAGE");
  p.attrs.set("window", std::vector<int64_t>{size, 1});
  p.attrs.set("strides", std::vector<int64_t>{1, 1});
  p.attrs.set("dilations", std::vector<int64_t>{1, 1});
  p.attrs.set("pads", std::vector<int64_t>{(size - 1) / 2, 0, size / 2, 0});
  p.attrs.set("auto_pad", "NOTSET");
  p.attrs.set("ceil_mode", int64_t{0});
  p.attrs.set("count_include_pad", int64_t{1});
  std::vector<int64_t> back{0};
  back.insert(back.end(), rest.begin(), rest.end());
  const int avg = reshapeTo(c, p.outputs[0], back);
  const int scaled = binary(c, "PROD", avg, scalar(c, t, c.attrFloat("alpha", 1e-4f)));
  const int base = binary(c, "SUM", scaled, scalar(c, t, c.attrFloat("bias", 1.0f)));
  const int den = binary(c, "POW", base, scalar(c, t, c.attrFloat("beta", 0.75f)));
  c.add(LayerKind::kELEMENTWISE, {x, den}).attrs.set("op", "DIV");
}

// (x - mean) / sqrt(mean((x - mean)^2)) over `axes` (default N and the spatial dims).
void importMvn(ImportContext& c) {
  const int x = c.input(0);
  const std::vector<int64_t> axes = c.attrInts("axes", {0, 2, 3});
  const int centred = binary(c, "SUB", x, reduce(c, "MEAN", x, axes));
  const int var = reduce(c, "MEAN", binary(c, "PROD", centred, centred), axes);
  ir::Layer& root = c.addInternal(LayerKind::kUNARY, {var});
  root.attrs.set("op", "SQRT");
  const int sd = root.outputs[0];
  c.add(LayerKind::kELEMENTWISE, {centred, sd}).attrs.set("op", "DIV");
}

// Reshape to `split`, transpose by `perm`, reshape to `out` (all static).
void blockShuffle(ImportContext& c, const Dims& split, const std::vector<int64_t>& perm,
                  const Dims& out) {
  ir::Layer& r = c.addInternal(LayerKind::kRESHAPE, {c.input(0)});
  r.attrs.set("shape", std::vector<int64_t>(split.begin(), split.end()));
  const int a = r.outputs[0];
  ir::Layer& t = c.addInternal(LayerKind::kTRANSPOSE, {a});
  t.attrs.set("perm", perm);
  const int b = t.outputs[0];
  c.add(LayerKind::kRESHAPE, {b}).attrs.set("shape", std::vector<int64_t>(out.begin(), out.end()));
}

// [N, C, H, W] and the blocksize, checked static and 4-D.
Dims blockInput(ImportContext& c, int64_t& bs) {
  const Dims x = c.inputDims(0);
  bs = c.requireAttrInt("blocksize");
  if (x.size() != 4 || !isStatic(x) || bs < 1)
    reject(ErrorKind::kUnsupported,
           str("needs a static 4-D input and blocksize >= 1, got ", dimsToString(x), ", ", bs));
  return x;
}

std::string blockMode(ImportContext& c) {
  const std::string mode = c.attrString("mode", "DCR");
  if (mode != "DCR" && mode != "CRD")
    reject(ErrorKind::kParse, str("attribute 'mode' must be DCR or CRD, got '", mode, "'"));
  return mode;
}

void importDepthToSpace(ImportContext& c) {
  int64_t b = 0;
  const Dims x = blockInput(c, b);
  const int64_t N = x[0], C = x[1], H = x[2], W = x[3];
  if (C % (b * b) != 0)
    reject(ErrorKind::kParse, str("channels ", C, " are not a multiple of blocksize^2 ", b * b));
  const Dims out{N, C / (b * b), H * b, W * b};
  if (blockMode(c) == "DCR")
    blockShuffle(c, {N, b, b, C / (b * b), H, W}, {0, 3, 4, 1, 5, 2}, out);
  else
    blockShuffle(c, {N, C / (b * b), b, b, H, W}, {0, 1, 4, 2, 5, 3}, out);
}

void importSpaceToDepth(ImportContext& c) {
  int64_t b = 0;
  const Dims x = blockInput(c, b);
  const int64_t N = x[0], C = x[1], H = x[2], W = x[3];
  if (H % b != 0 || W % b != 0)
    reject(ErrorKind::kParse, str("spatial dims ", H, "x", W, " are not multiples of ", b));
  const Dims split{N, C, H / b, b, W / b, b}, out{N, C * b * b, H / b, W / b};
  if (blockMode(c) == "DCR")
    blockShuffle(c, split, {0, 3, 5, 1, 2, 4}, out);
  else
    blockShuffle(c, split, {0, 1, 3, 5, 2, 4}, out);
}

// EyeLike: ones on diagonal k of a 2-D shape (static), as x's dtype unless `dtype` says.
void importEyeLike(ImportContext& c) {
  const Dims d = c.inputDims(0);
  if (d.size() != 2 || !isStatic(d))
    reject(ErrorKind::kUnsupported, str("needs a static 2-D input, got ", dimsToString(d)));
  const DataType t = c.hasAttr("dtype") ? dtypeFromOnnx(static_cast<int>(c.attrInt("dtype", 1)),
                                                        "attribute 'dtype'")
                                        : c.net().tensors[c.input(0)].dtype;
  const int64_t k = c.attrInt("k", 0);
  std::vector<int64_t> v(static_cast<size_t>(d[0] * d[1]), 0);
  for (int64_t i = 0; i < d[0]; ++i)
    if (i + k >= 0 && i + k < d[1]) v[i * d[1] + i + k] = 1;
  c.defineConstant(0, HostTensor::fromInt64(d, v).castTo(t));
}

// [a0, b0, a1, b1, ...] from two INT64 vectors of one length: shape math, on the host.
int interleave(ImportContext& c, int a, int b) {
  auto column = [&](int v) {
    ir::Layer& u = c.addInternal(LayerKind::kUNSQUEEZE, {v});
    u.attrs.set("axes", std::vector<int64_t>{1});
    return u.outputs[0];
  };
  const int ca = column(a), cb = column(b);
  ir::Layer& cat = c.addInternal(LayerKind::kCONCATENATION, {ca, cb});
  cat.attrs.set("axis", int64_t{1});
  const int pairs = cat.outputs[0];
  ir::Layer& flat = c.addInternal(LayerKind::kRESHAPE, {pairs});
  flat.attrs.set("shape", std::vector<int64_t>{-1});
  return flat.outputs[0];
}

// Tile: x [d0, d1, ...] viewed as [1, d0, 1, d1, ...], expanded to [r0, d0, r1, d1, ...] and
// reshaped to [r0*d0, r1*d1, ...]. Repeats computed at run time (a shape input) feed the expand
// and reshape shapes, which the host resolves per run.
void importTile(ImportContext& c) {
  const int64_t rank = static_cast<int64_t>(c.inputDims(0).size());
  if (rank == 0) reject(ErrorKind::kParse, "Tile needs an input of rank >= 1");
  const Dims rd = c.inputDims(1);
  if (rd.size() != 1 || (rd[0] >= 0 && rd[0] != rank))
    reject(ErrorKind::kParse, str("repeats must be a 1-D tensor of ", rank,
                                  " values (one per input dim), got dims ", dimsToString(rd)));
  if (const HostTensor* r = c.constant(1))
    for (int64_t v : r->asInt64())
      if (v < 0)
        reject(ErrorKind::kParse, str("repeats ", dimsToString(r->asInt64()), " must be >= 0"));
  const int x = c.input(0);
  int reps = c.input(1);
  reps = c.castTensor(reps, DataType::kINT64);
  const int dims = c.addInternal(LayerKind::kSHAPE, {x}).outputs[0];
  const int ones = c.constantTensor(HostTensor::fromInt64({rank}, std::vector<int64_t>(rank, 1)));
  ir::Layer& v = c.addInternal(LayerKind::kRESHAPE, {x, interleave(c, ones, dims)});
  v.attrs.set("allowzero", int64_t{1});
  const int viewed = v.outputs[0];
  const int expanded =
      c.addInternal(LayerKind::kEXPAND, {viewed, interleave(c, reps, dims)}).outputs[0];
  c.add(LayerKind::kRESHAPE, {expanded, binary(c, "PROD", reps, dims)})
      .attrs.set("allowzero", int64_t{1});
}

// OneHot: ir::lowerOneHot (shared with the network API's add_one_hot) on the indices and depth
// cast to INT64. A depth computed at run time decides the output's size along `axis`, as a shape
// value does.
void importOneHot(ImportContext& c) {
  const Dims id = c.inputDims(0), dd = c.inputDims(1), vd = c.inputDims(2);
  const int64_t rank = static_cast<int64_t>(id.size()) + 1;
  const int64_t axis = normalizeAxis(c.attrInt("axis", -1), rank, "attribute 'axis'");
  if (dd.size() > 1 || (dd.size() == 1 && dd[0] != 1))
    reject(ErrorKind::kParse, str("depth must hold one value, got dims ", dimsToString(dd)));
  if (vd.size() != 1 || (vd[0] >= 0 && vd[0] != 2))
    reject(ErrorKind::kParse,
           str("values must be [off_value, on_value], got dims ", dimsToString(vd)));
  if (const HostTensor* d = c.constant(1))
    if (d->castTo(DataType::kINT64).asInt64().at(0) < 1)
      reject(ErrorKind::kParse, str("depth is ", d->castTo(DataType::kINT64).asInt64().at(0),
                                    "; expected at least 1"));
  const int idx = c.castTensor(c.input(0), DataType::kINT64);
  int depth = c.castTensor(c.input(1), DataType::kINT64);
  if (dd.size() == 1) {  // [1] -> a scalar
    ir::Layer& g = c.addInternal(LayerKind::kGATHER, {depth, compose::int64Scalar(c, 0)});
    g.attrs.set("axis", int64_t{0});
    depth = g.outputs[0];
  }
  const int r = ir::lowerOneHot(idx, depth, c.input(2), rank, axis, compose::emitter(c),
                                [&](int64_t v) { return compose::int64Scalar(c, v); });
  c.add(LayerKind::kIDENTITY, {r});
}

// CenterCropPad as ONNX defines it: pad each listed axis evenly up to `shape` (the odd element
// at the end), then crop evenly down to it (the odd element at the end). The amounts are shape
// math on the host, from `shape` (a shape input when computed) and the input dims.
void importCenterCropPad(ImportContext& c) {
  const int64_t rank = static_cast<int64_t>(c.inputDims(0).size());
  std::vector<int64_t> axes = c.attrInts("axes");
  if (axes.empty())
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  for (int64_t& a : axes) a = normalizeAxis(a, rank, "attribute 'axes'");
  const Dims sd = c.inputDims(1);
  const int64_t n = static_cast<int64_t>(axes.size());
  if (sd.size() != 1 || (sd[0] >= 0 && sd[0] != n))
    reject(ErrorKind::kParse, str("shape must be a 1-D tensor of ", n,
                                  " values (one per axis), got dims ", dimsToString(sd)));
  const int x = c.input(0);
  int target = c.input(1);
  target = c.castTensor(target, DataType::kINT64);
  const int axesT = c.constantTensor(HostTensor::fromInt64({n}, axes));
  auto dimsOf = [&](int t) {
    const int shape = c.addInternal(LayerKind::kSHAPE, {t}).outputs[0];
    ir::Layer& g = c.addInternal(LayerKind::kGATHER, {shape, axesT});
    g.attrs.set("axis", int64_t{0});
    return g.outputs[0];
  };
  const int two = c.constantTensor(HostTensor::fromInt64({}, {2}));
  const int have = dimsOf(x);
  const int grow = binary(c, "SUB", binary(c, "MAX", target, have), have);
  const int before = binary(c, "DIV", grow, two);
  const int after = binary(c, "SUB", grow, before);
  ir::Layer& cat = c.addInternal(LayerKind::kCONCATENATION, {before, after});
  cat.attrs.set("axis", int64_t{0});
  const int pads = cat.outputs[0];
  ir::Layer& pad = c.addInternal(LayerKind::kPADDING, {x, pads, axesT});
  pad.attrs.set("mode", "constant");
  pad.attrs.set("value", 0.0);
  const int padded = pad.outputs[0];
  const int start = binary(c, "DIV", binary(c, "SUB", dimsOf(padded), target), two);
  const int end = binary(c, "SUM", start, target);
  c.add(LayerKind::kSLICE, {padded, start, end, axesT});
}

}  // namespace

void registerCompositeImporters() {
  registerImporter("LpNormalization", {1, 22}, importLpNorm);                 // 22 adds dtypes
  registerImporter("InstanceNormalization", {1, 6, 22}, importInstanceNorm);  // 1: consumed_inputs
  registerImporter("MeanVarianceNormalization", {9, 13}, importMvn);
  // 18 scales per group, deprecated by 21 (per channel): only 21 is imported.
  registerImporter("GroupNormalization", {21}, importGroupNorm);
  registerImporter("LRN", {1, 13}, importLrn);  // 13 adds dtypes
  // 1 is DCR only; 11 adds DepthToSpace's mode, 28 SpaceToDepth's; 13 and 28 add dtypes.
  registerImporter("DepthToSpace", {1, 11, 13, 28}, importDepthToSpace);
  registerImporter("SpaceToDepth", {1, 13, 28}, importSpaceToDepth);
  registerImporter("EyeLike", {9, 22}, importEyeLike);
  registerImporter("Tile", {6, 13}, importTile);
  registerImporter("CenterCropPad", {18}, importCenterCropPad);
  registerImporter("OneHot", {9, 11, 28}, importOneHot);  // 11: negative indices; 28: dtypes
}

}  // namespace clrt::onnx
