// Resampling importers: Resize (every version), Upsample (7, 9) and Pad. Constant scales, sizes,
// roi and pads become the layer's attrs (ir/network.h kRESIZE, kPADDING); computed ones stay
// inputs, shape operands the host resolves per run.
#include <algorithm>
#include <cmath>
#include <set>

#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

// The node's `axes` attribute normalised to [0, rank) (all dims when absent).
std::vector<int64_t> nodeAxes(ImportContext& c, int64_t rank, const std::vector<int64_t>& given) {
  std::vector<int64_t> axes = given;
  if (axes.empty())
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  std::set<int64_t> seen;
  for (int64_t& a : axes) {
    if (a < -rank || a >= rank)
      reject(ErrorKind::kParse, str("axis ", a, " is out of range for rank ", rank));
    if (a < 0) a += rank;
    if (!seen.insert(a).second) reject(ErrorKind::kParse, str("axis ", a, " is repeated"));
  }
  return axes;
}

// One value per axis spread over every dim (`fill` elsewhere).
template <typename T>
std::vector<T> spread(const std::vector<T>& v, const std::vector<int64_t>& axes, int64_t rank,
                      T fill, const char* what) {
  if (v.size() != axes.size())
    reject(ErrorKind::kParse, str(what, " has ", v.size(), " values for ", axes.size(), " axes"));
  std::vector<T> out(rank, fill);
  for (size_t i = 0; i < axes.size(); ++i) out[axes[i]] = v[i];
  return out;
}

const HostTensor* nonEmptyConstant(ImportContext& c, int i, const char* what) {
  if (!c.hasInput(i)) return nullptr;
  const HostTensor& t = c.requireConstant(i, what);
  return t.numel() == 0 ? nullptr : &t;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return s;
}

// mode is "nearest", "linear" or "cubic" (Upsample-7 also says "bilinear").
std::string resizeMode(ImportContext& c, bool allowCubic) {
  const std::string m = lower(c.attrString("mode", "nearest"));
  if (m == "nearest") return "NEAREST";
  if (m == "linear" || m == "bilinear") return "LINEAR";
  if (m == "cubic" && allowCubic) return "CUBIC";
  reject(ErrorKind::kParse, "attribute 'mode' is '" + m + "'; expected nearest, linear" +
                                (allowCubic ? " or cubic" : ""));
}

void setScales(ir::Layer& l, std::vector<float> scales) {
  std::vector<double> d;
  for (float s : scales) {
    if (!(s > 0) || !std::isfinite(s))
      reject(ErrorKind::kParse, str("scale ", s, " must be positive and finite"));
    d.push_back(s);
  }
  l.attrs.set("scales", std::move(d));
}

// Upsample-7/9 and Resize-10: asymmetric coordinates, nearest rounds down when upsampling.
// Scales computed at run time stay input 2 (as Resize-11's), read by the host per run.
void legacyResize(ImportContext& c, std::vector<float> scales, bool computed = false) {
  const int64_t rank = static_cast<int64_t>(c.inputDims(0).size());
  if (computed) {
    ir::Layer& l = c.add(LayerKind::kRESIZE, {c.input(0), -1, c.input(1)});
    l.attrs.set("mode", resizeMode(c, false));
    l.attrs.set("coord", "asymmetric");
    l.attrs.set("nearest_mode", "simple");
    return;
  }
  if (static_cast<int64_t>(scales.size()) != rank)
    reject(ErrorKind::kParse, str("scales has ", scales.size(), " values for rank ", rank));
  const std::string mode = resizeMode(c, false);
  ir::Layer& l = c.add(LayerKind::kRESIZE, {c.input(0)});
  l.attrs.set("mode", mode);
  l.attrs.set("coord", "asymmetric");
  l.attrs.set("nearest_mode", "simple");
  setScales(l, std::move(scales));
}

void importUpsample7(ImportContext& c) {
  const auto s = c.attr("scales");
  if (!s) reject(ErrorKind::kParse, "required attribute 'scales' is missing");
  legacyResize(c, std::vector<float>(s->floats().begin(), s->floats().end()));
}

void importUpsample9(ImportContext& c) {
  if (!c.constant(1)) return legacyResize(c, {}, true);
  legacyResize(c, c.requireConstant(1, "Upsample scales").castTo(DataType::kFLOAT).asFloats());
}

void importResize10(ImportContext& c) {
  if (!c.constant(1)) return legacyResize(c, {}, true);
  legacyResize(c, c.requireConstant(1, "Resize scales").castTo(DataType::kFLOAT).asFloats());
}

void setResizeAttrs(ImportContext& c, ir::Layer& l, const std::string& mode,
                    const std::string& coord, const std::string& nearest, int64_t antialias) {
  l.attrs.set("mode", mode);
  l.attrs.set("coord", coord);
  l.attrs.set("nearest_mode", nearest);
  l.attrs.set("cubic_a", c.attrFloat("cubic_coeff_a", -0.75f));
  l.attrs.set("exclude_outside", c.attrFlag("exclude_outside", 0));
  l.attrs.set("extrapolation", c.attrFloat("extrapolation_value", 0.0f));
  l.attrs.set("antialias", mode == "NEAREST" ? int64_t{0} : antialias);
}

void importResize(ImportContext& c) {
  const Dims x = c.inputDims(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  const auto axes = nodeAxes(c, rank, c.attrInts("axes"));
  const std::string coord = c.attrString("coordinate_transformation_mode", "half_pixel");
  static const std::set<std::string> coords = {
      "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
      "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  if (!coords.count(coord))
    reject(ErrorKind::kParse, "attribute 'coordinate_transformation_mode' is '" + coord + "'");
  const std::string nearest = c.attrString("nearest_mode", "round_prefer_floor");
  if (nearest != "round_prefer_floor" && nearest != "round_prefer_ceil" && nearest != "floor" &&
      nearest != "ceil")
    reject(ErrorKind::kParse, "attribute 'nearest_mode' is '" + nearest + "'");
  const std::string policy = c.attrString("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
    reject(ErrorKind::kParse, "attribute 'keep_aspect_ratio_policy' is '" + policy + "'");
  const std::string mode = resizeMode(c, true);
  const int64_t antialias = c.attrFlag("antialias", 0);

  const bool crop = coord == "tf_crop_and_resize";
  auto computed = [&](int i) { return c.hasInput(i) && !c.constant(i); };
  if (computed(2) || computed(3) || (crop && computed(1))) {
    // Empty inputs count as absent: their length is static (ONNX gives one value per axis).
    auto present = [&](int i) {
      if (!c.hasInput(i)) return -1;
      const Dims d = c.inputDims(i);
      return d.size() == 1 && d[0] == 0 ? -1 : c.input(i);
    };
    const std::vector<int> ins{c.input(0), crop ? present(1) : -1, present(2), present(3)};
    if ((ins[2] >= 0) == (ins[3] >= 0))
      reject(ErrorKind::kParse, "exactly one of 'scales' and 'sizes' must be given");
    if (crop && ins[1] < 0) reject(ErrorKind::kParse, "tf_crop_and_resize needs the 'roi' input");
    ir::Layer& l = c.add(LayerKind::kRESIZE, ins, 1);
    setResizeAttrs(c, l, mode, coord, nearest, antialias);
    l.attrs.set("axes", axes);
    l.attrs.set("policy", policy);
    return;
  }
  const HostTensor* scales = nonEmptyConstant(c, 2, "Resize scales");
  const HostTensor* sizes = nonEmptyConstant(c, 3, "Resize sizes");
  if ((scales != nullptr) == (sizes != nullptr))
    reject(ErrorKind::kParse, "exactly one of 'scales' and 'sizes' must be given");
  ir::Layer& l = c.add(LayerKind::kRESIZE, {c.input(0)}, 1);
  setResizeAttrs(c, l, mode, coord, nearest, antialias);
  if (crop) {
    const HostTensor* roi = nonEmptyConstant(c, 1, "Resize roi");
    if (!roi) reject(ErrorKind::kParse, "tf_crop_and_resize needs the 'roi' input");
    const auto v = roi->castTo(DataType::kFLOAT).asFloats();
    const size_t n = axes.size();
    if (v.size() != 2 * n)
      reject(ErrorKind::kParse, str("roi has ", v.size(), " values for ", n, " axes"));
    std::vector<double> full(2 * rank);
    for (int64_t i = 0; i < rank; ++i) full[i] = 0.0, full[rank + i] = 1.0;
    for (size_t i = 0; i < n; ++i) full[axes[i]] = v[i], full[rank + axes[i]] = v[n + i];
    l.attrs.set("roi", std::move(full));
  }
  if (scales) {
    setScales(l, spread(scales->castTo(DataType::kFLOAT).asFloats(), axes, rank, 1.0f, "scales"));
    return;
  }
  std::vector<int64_t> out = spread(sizes->asInt64(), axes, rank, int64_t{-1}, "sizes");
  for (int64_t a : axes)
    if (out[a] < 0) reject(ErrorKind::kParse, str("sizes ", dimsToString(out), " must be >= 0"));
  for (int64_t i = 0; i < rank; ++i)
    if (out[i] < 0) {
      if (x[i] < 0)
        reject(ErrorKind::kUnsupported, str("dim ", i, " is dynamic and not resized by 'sizes'"),
               "give every dim in sizes or use scales");
      out[i] = x[i];
    }
  if (policy != "stretch") {
    // One scale for every resized axis, the smallest (not_larger) or largest (not_smaller).
    double s = policy == "not_larger" ? 1e300 : 0.0;
    for (int64_t a : axes) {
      if (x[a] <= 0)
        reject(ErrorKind::kUnsupported, str("keep_aspect_ratio_policy needs static dim ", a),
               "export with static spatial dims");
      const double r = static_cast<double>(out[a]) / static_cast<double>(x[a]);
      s = policy == "not_larger" ? std::min(s, r) : std::max(s, r);
    }
    for (int64_t a : axes) out[a] = static_cast<int64_t>(s * static_cast<double>(x[a]) + 0.5);
    std::vector<double> sc(rank, 1.0);
    for (int64_t a : axes) sc[a] = s;
    l.attrs.set("scales", std::move(sc));
  }
  l.attrs.set("sizes", std::move(out));
}

std::string padMode(ImportContext& c) {
  const std::string mode = c.attrString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    reject(ErrorKind::kParse,
           "attribute 'mode' is '" + mode + "'; expected constant, reflect, edge or wrap");
  if (mode == "wrap" && c.opset() < 19)
    reject(ErrorKind::kParse, "mode 'wrap' needs Pad-19 or later");
  return mode;
}

// A constant_value computed at run time (mode constant only reads it).
bool runtimeValue(ImportContext& c, const std::string& mode) {
  return mode == "constant" && c.hasInput(2) && !c.constant(2);
}

double padValue(ImportContext& c) {
  if (!c.hasInput(2) || !c.constant(2)) return 0.0;  // absent, or at run time (padValueTensor)
  const HostTensor& v = *c.constant(2);
  if (v.numel() > 1) reject(ErrorKind::kParse, "constant_value must hold one value");
  return v.numel() == 1 ? v.castTo(DataType::kFLOAT).asFloats()[0] : 0.0;
}

// The node's PADDING of tensor x: pads as the attr `full` when given, else inputs 1 (and 3) read
// at run time. `node`: the layer writes the node's output.
int padTensor(ImportContext& c, int x, const std::vector<int64_t>* full, const std::string& mode,
              double value, bool node) {
  std::vector<int> ins{x};
  if (!full) {
    ins.push_back(c.input(1));
    if (c.hasInput(3)) ins.push_back(c.input(3));
  }
  ir::Layer& l = node ? c.add(LayerKind::kPADDING, ins) : c.addInternal(LayerKind::kPADDING, ins);
  if (full) l.attrs.set("pads", *full);
  l.attrs.set("mode", mode);
  l.attrs.set("value", value);
  return l.outputs[0];
}

// Pads with a constant_value computed at run time: x padded with zeros, then WHERE over a mask
// (ones of x's shape padded with zeros) picks x inside and the value outside.
void padWithRuntimeValue(ImportContext& c, const std::vector<int64_t>* full) {
  const Dims vd = c.inputDims(2);
  if (vd.size() > 1 || (vd.size() == 1 && vd[0] != 1))
    reject(ErrorKind::kParse,
           str("constant_value must hold one value, got dims ", dimsToString(vd)));
  const int x = c.input(0);
  const DataType t = c.net().tensors[x].dtype;
  const int padded = padTensor(c, x, full, "constant", 0.0, false);
  const int shape = c.addInternal(LayerKind::kSHAPE, {x}).outputs[0];
  ir::Layer& ones = c.addInternal(LayerKind::kCONSTANT_OF_SHAPE, {shape});
  ones.weights["value"] = HostTensor::fromFloats({1}, {1.0f}).castTo(t);
  const int inside =
      c.castTensor(padTensor(c, ones.outputs[0], full, "constant", 0.0, false), DataType::kBOOL);
  c.add(LayerKind::kWHERE, {inside, padded, c.castTensor(c.input(2), t)});
}

// Pads or axes computed from graph inputs: they stay inputs 1 and 2 of the layer, shape
// operands resolved on the host per run (shape inputs give their values).
void runtimePad(ImportContext& c) {
  const std::string mode = padMode(c);
  if (runtimeValue(c, mode)) return padWithRuntimeValue(c, nullptr);
  padTensor(c, c.input(0), nullptr, mode, padValue(c), true);
}

// Pad-2 (attributes) and Pad-11 on (pads, constant_value and, from 18, axes as inputs).
void importPad(ImportContext& c) {
  const int64_t rank = static_cast<int64_t>(c.inputDims(0).size());
  std::vector<int64_t> pads;
  double value = 0.0;
  std::vector<int64_t> axes;
  if (c.opset() < 11) {
    pads = c.attrInts("pads");
    value = c.attrFloat("value", 0.0f);
  } else {
    if (!c.constant(1) || (c.hasInput(3) && !c.constant(3))) return runtimePad(c);
    pads = c.constInts(1, "Pad pads");
    value = padValue(c);
    if (c.hasInput(3)) axes = c.constInts(3, "Pad axes");
  }
  axes = nodeAxes(c, rank, axes);
  const size_t n = axes.size();
  if (pads.size() != 2 * n)
    reject(ErrorKind::kParse, str("pads has ", pads.size(), " values for ", n, " axes"));
  std::vector<int64_t> full(2 * rank, 0);
  for (size_t i = 0; i < n; ++i) full[axes[i]] = pads[i], full[rank + axes[i]] = pads[n + i];
  const std::string mode = padMode(c);
  if (c.opset() >= 11 && runtimeValue(c, mode)) return padWithRuntimeValue(c, &full);
  padTensor(c, c.input(0), &full, mode, value, true);
}

}  // namespace

void registerResizeImporters() {
  registerImporter("Upsample", {7}, importUpsample7);
  registerImporter("Upsample", {9}, importUpsample9);
  registerImporter("Resize", {10}, importResize10);
  registerImporter("Resize", {11, 13, 18, 19}, importResize);
  registerImporter("Pad", {2, 11, 13, 18, 19, 21, 23, 24, 25}, importPad);
}

}  // namespace clrt::onnx
