// Convolution-family importers: Conv, ConvInteger, QLinearConv, ConvTranspose, BatchNormalization
// (folded to kSCALE), MaxPool, AveragePool, LpPool, GlobalAveragePool, GlobalMaxPool, MaxUnpool.
// 1-D windows become the 2-D form with H = 1; 3-D ones keep three entries per attribute
// (ConvTranspose keeps its own rank).
#include <algorithm>
#include <cmath>

#include "clrt/ir/limits.h"
#include "clrt/onnx/importer.h"
#include "clrt/onnx/importers/compose.h"
#include "clrt/onnx/importers/integer_product.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

// Checks the spatial rank of a window (1-D to 3-D are imported).
void checkSpatialRank(size_t nsp, const char* what) {
  if (nsp < 1 || nsp > 3)
    reject(ErrorKind::kUnsupported, str(nsp, "-D ", what, " is not supported (1-D to 3-D are)"),
           "clrt runs 1-D to 3-D windows");
}

// A per-spatial-dim attribute in the 2-D form of the kind table ({1 or def, v} for 1-D).
std::vector<int64_t> spatial(ImportContext& c, const char* name, size_t nsp, int64_t def,
                             int64_t min) {
  std::vector<int64_t> v = c.attrInts(name, std::vector<int64_t>(nsp, def));
  if (v.size() != nsp)
    reject(ErrorKind::kParse,
           str("attribute '", name, "' has ", v.size(), " values for ", nsp, " spatial dims"));
  for (int64_t x : v)
    if (x < min) reject(ErrorKind::kParse, str("attribute '", name, "' has value ", x));
  if (nsp == 1) v.insert(v.begin(), def);
  return v;
}

// strides, dilations, pads {top, left, bottom, right} and auto_pad of a conv/pool node.
void windowAttrs(ImportContext& c, ir::Attrs& a, size_t nsp) {
  a.set("strides", spatial(c, "strides", nsp, 1, 1));
  a.set("dilations", spatial(c, "dilations", nsp, 1, 1));
  std::vector<int64_t> p = c.attrInts("pads", std::vector<int64_t>(2 * nsp, 0));
  if (p.size() != 2 * nsp)
    reject(ErrorKind::kParse, str("attribute 'pads' has ", p.size(), " values for ", nsp,
                                  " spatial dims (needs begins then ends)"));
  for (int64_t x : p)
    if (x < 0) reject(ErrorKind::kParse, str("attribute 'pads' has negative value ", x));
  if (nsp == 1) p = {0, p[0], 0, p[1]};
  a.set("pads", p);
  const std::string autoPad = c.attrString("auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER" &&
      autoPad != "VALID")
    reject(ErrorKind::kParse, "attribute 'auto_pad' is '" + autoPad +
                                  "'; expected NOTSET, SAME_UPPER, SAME_LOWER or VALID");
  a.set("auto_pad", autoPad);
}

// W's dims [K, C/group, ...kernel] (`name` as the node spells it) against kernel_shape and group;
// returns group. The caller has checked that W has at least 3 dims.
int64_t checkConvWeight(ImportContext& c, const Dims& wd, const char* name) {
  checkSpatialRank(wd.size() - 2, "convolution");
  const auto ks = c.attrInts("kernel_shape");
  if (!ks.empty() && ks != Dims(wd.begin() + 2, wd.end()))
    reject(ErrorKind::kParse,
           str("kernel_shape ", dimsToString(ks), " does not match ", name, " ", dimsToString(wd)));
  const int64_t group = c.attrInt("group", 1);
  if (group < 1 || wd[0] % group != 0)
    reject(ErrorKind::kParse,
           str("group ", group, " does not divide the ", wd[0], " output channels"));
  return group;
}

// A 1-D window back from the 2-D form windowAttrs gives (a run-time W keeps its native rank).
void nativeRank1d(ir::Attrs& a) {
  const auto s = a.ints("strides"), d = a.ints("dilations");
  const auto p = a.ints("pads");
  a.set("strides", std::vector<int64_t>{s[1]});
  a.set("dilations", std::vector<int64_t>{d[1]});
  a.set("pads", std::vector<int64_t>{p[1], p[3]});
}

// Conv whose W (and B) are computed at run time: layer inputs 2 and 3 (input 1 is the residual
// slot), read from device memory per run by the direct window tactic, which keeps the native
// rank: kernel_shape = W's dims and, for 1-D, one-entry strides/dilations and {begin, end} pads.
void runtimeConv(ImportContext& c) {
  const Dims wd = c.inputDims(1);
  if (wd.size() < 3 || !isStatic(wd))
    reject(ErrorKind::kUnsupported,
           str("Conv weight W (input 1, '", c.node().input(1),
               "') is computed at run time and needs static dims [K, C/group, ...kernel], got ",
               dimsToString(wd)),
           "give the graph input W static dims or make it an initializer");
  const size_t nsp = wd.size() - 2;
  const int64_t group = checkConvWeight(c, wd, "W");
  std::vector<int> ins{c.input(0), -1, c.input(1)};
  if (c.hasInput(2)) ins.push_back(c.input(2));
  ir::Layer& l = c.add(LayerKind::kCONVOLUTION, ins);
  l.attrs.set("group", group);
  l.attrs.set("kernel_shape", wd);
  windowAttrs(c, l.attrs, nsp);
  if (nsp == 1) nativeRank1d(l.attrs);
}

void importConv(ImportContext& c) {
  if (!c.constant(1)) return runtimeConv(c);
  HostTensor w = c.requireConstant(1, "Conv weight W").castTo(DataType::kFLOAT);
  if (w.dims.size() < 3) reject(ErrorKind::kParse, "weight W must be [K, C/group, ...kernel]");
  const size_t nsp = w.dims.size() - 2;
  const int64_t group = checkConvWeight(c, w.dims, "W");
  if (nsp == 1) w.dims.insert(w.dims.begin() + 2, 1);  // [K, C/g, kw] -> [K, C/g, 1, kw]
  ir::Layer& l = c.add(LayerKind::kCONVOLUTION, {c.input(0)});
  l.attrs.set("group", group);
  windowAttrs(c, l.attrs, nsp);
  l.weights["kernel"] = std::move(w);
  if (c.hasInput(2))
    l.weights["bias"] = c.requireConstant(2, "Conv bias B").castTo(DataType::kFLOAT);
}

// conv(x - x_zero_point, w - w_zero_point) as an INT32 tensor, exact (integer_product.h), with
// the node's window attributes; x, w and their zero points are inputs xi, wi, xzp, wzp (what:
// the op, for messages). w_zero_point may hold one value per output channel. Each digit
// product is an internal convolution: a constant W as its weights, else read at run time as
// runtimeConv's.
int integerConv(ImportContext& c, int xi, int xzp, int wi, int wzp, const char* what) {
  const Dims wd = c.inputDims(wi);
  if (wd.size() < 3 || !isStatic(wd))
    reject(ErrorKind::kUnsupported, str(what, " weight w ", dimsToString(wd),
                                        " must have static dims [M, C/group, ...kernel]"));
  const size_t nsp = wd.size() - 2;
  const int64_t group = checkConvWeight(c, wd, "w");
  Dims zpShape(wd.size(), 1);
  zpShape[0] = -1;
  const IntegerOperand x = centredOperand(c, xi, xzp), w = centredOperand(c, wi, wzp, zpShape);
  int64_t K = wd[1];
  for (size_t i = 2; i < wd.size(); ++i) K *= wd[i];
  return exactIntegerProduct(c, x, w, K, what,
                             [&](const IntegerOperand& xd, const IntegerOperand& wdig) {
                               const int xt = xd.host ? c.constantTensor(*xd.host) : xd.tensor;
                               ir::Layer* l;
                               if (wdig.host) {
                                 HostTensor k = *wdig.host;
                                 if (nsp == 1) k.dims.insert(k.dims.begin() + 2, 1);
                                 l = &c.addInternal(LayerKind::kCONVOLUTION, {xt});
                                 l->weights["kernel"] = std::move(k);
                               } else {
                                 l = &c.addInternal(LayerKind::kCONVOLUTION, {xt, -1, wdig.tensor});
                                 l->attrs.set("kernel_shape", wd);
                               }
                               l->attrs.set("group", group);
                               windowAttrs(c, l->attrs, nsp);
                               if (!wdig.host && nsp == 1) nativeRank1d(l->attrs);
                               return l->outputs[0];
                             });
}

void importConvInteger(ImportContext& c) {
  c.add(LayerKind::kIDENTITY, {integerConv(c, 0, 2, 1, 3, "ConvInteger")});
}

// QLinearConv as onnxruntime computes it: the exact INT32 convolution of the centred operands
// plus the INT32 bias, converted to float, times x_scale * w_scale / y_scale (one per output
// channel with per-channel w_scale), rounded half to even, + y_zero_point, saturated to y's
// type. Scales and zero points may be computed at run time.
void importQLinearConv(ImportContext& c) {
  const Dims wd = c.inputDims(3);
  const DataType yt = c.hasInput(7) ? c.logicalDtype(7) : DataType::kUINT8;
  if (yt != DataType::kINT8 && yt != DataType::kUINT8)
    reject(ErrorKind::kUnsupported, str("y is ", dtypeName(yt), "; INT8 and UINT8 are supported"));
  int acc = integerConv(c, 0, 2, 3, 5, "QLinearConv");
  Dims perChannel(wd.size(), 1);  // [1, M, 1, ...]: broadcast against the output
  perChannel[1] = wd[0];
  if (c.hasInput(8)) {
    const int b = compose::withAttr(
        c, LayerKind::kRESHAPE, c.castTensor(c.input(8), DataType::kINT32), "shape", perChannel);
    acc = compose::binary(c, "SUM", acc, b);
  }
  const Dims wsd = c.inputDims(4);
  int ws = c.castTensor(c.input(4), DataType::kFLOAT);
  if (volume(wsd) != 1) ws = compose::withAttr(c, LayerKind::kRESHAPE, ws, "shape", perChannel);
  const int xs = c.castTensor(c.input(1), DataType::kFLOAT);
  const int ys = c.castTensor(c.input(6), DataType::kFLOAT);
  const int scale = compose::binary(c, "DIV", compose::binary(c, "PROD", xs, ws), ys);
  const int scaled = compose::binary(c, "PROD", c.castTensor(acc, DataType::kFLOAT), scale);
  const int zp = c.hasInput(7) ? c.castTensor(c.input(7), DataType::kFLOAT) : -1;
  compose::quantizedOutput(c, scaled, zp, yt);
}

// ConvTranspose: output_shape and auto_pad are resolved into explicit pads here (they need the
// static spatial input dims), splitting an odd total as onnx's reference does. An end pad may be
// negative: output_shape larger than the full result extends it with bias-only positions.
// W and B may be computed tensors (read by the kernel from device memory); W's dims must then be
// static, recorded as kernel_shape.
// A window attribute of n values (default `def` each), each at least `min`, for nsp spatial dims.
std::vector<int64_t> windowList(const ImportContext& c, const char* name, size_t n, size_t nsp,
                                int64_t def, int64_t min) {
  auto v = c.attrInts(name, std::vector<int64_t>(n, def));
  if (v.size() != n)
    reject(ErrorKind::kParse, str("attribute '", name, "' has ", v.size(), " values; expected ", n,
                                  " for ", nsp, " spatial dims"));
  for (int64_t e : v)
    if (e < min) reject(ErrorKind::kParse, str("attribute '", name, "' has value ", e));
  return v;
}

void importConvTranspose(ImportContext& c) {
  const HostTensor* wc = c.constant(1);
  const Dims wd = wc ? wc->dims : c.inputDims(1);
  const Dims x = c.inputDims(0);
  if (wd.size() < 3 || wd.size() != x.size())
    reject(ErrorKind::kParse,
           str("weight W ", dimsToString(wd),
               " must be [C, K/group, ...kernel] of the input's rank ", x.size()));
  for (int64_t v : wd)
    if (v < 0)
      reject(ErrorKind::kUnsupported, str("weight W has dynamic dims ", dimsToString(wd)),
             "give W static dims");
  const size_t nsp = wd.size() - 2;
  if (nsp > 3)
    reject(ErrorKind::kUnsupported, str(nsp, "-D ConvTranspose is not supported (1-D to 3-D are)"),
           "clrt runs 1-D to 3-D windows");
  const Dims k(wd.begin() + 2, wd.end());
  const auto ks = c.attrInts("kernel_shape");
  if (!ks.empty() && ks != k)
    reject(ErrorKind::kParse,
           str("kernel_shape ", dimsToString(ks), " does not match W ", dimsToString(wd)));
  const int64_t group = c.attrInt("group", 1);
  if (group < 1 || wd[0] % group != 0)
    reject(ErrorKind::kParse,
           str("group ", group, " does not divide the ", wd[0], " input channels"));
  const auto s = windowList(c, "strides", nsp, nsp, 1, 1),
             d = windowList(c, "dilations", nsp, nsp, 1, 1);
  const auto op = windowList(c, "output_padding", nsp, nsp, 0, 0);
  std::vector<int64_t> pads = windowList(c, "pads", 2 * nsp, nsp, 0, 0);
  const std::string autoPad = c.attrString("auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER" &&
      autoPad != "VALID")
    reject(ErrorKind::kParse, "attribute 'auto_pad' is '" + autoPad +
                                  "'; expected NOTSET, SAME_UPPER, SAME_LOWER or VALID");
  std::vector<int64_t> outShape = c.attrInts("output_shape");
  if (outShape.size() == nsp + 2) outShape.erase(outShape.begin(), outShape.begin() + 2);
  if (!outShape.empty() && outShape.size() != nsp)
    reject(ErrorKind::kParse, str("attribute 'output_shape' ", dimsToString(outShape),
                                  " needs one value per spatial dim"));
  const bool same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
  if (autoPad == "VALID") std::fill(pads.begin(), pads.end(), 0);
  if (same || !outShape.empty()) {
    for (size_t i = 0; i < nsp; ++i) {
      if (x[2 + i] < 0)
        reject(ErrorKind::kUnsupported,
               str("output_shape/auto_pad need static spatial dims, input is ", dimsToString(x)),
               "export with static spatial dims or explicit pads");
      const int64_t out = outShape.empty() ? x[2 + i] * s[i] : outShape[i];
      const int64_t total = s[i] * (x[2 + i] - 1) + op[i] + (k[i] - 1) * d[i] + 1 - out;
      const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);  // floor
      if (same) pads[i] = autoPad == "SAME_UPPER" ? half : total - half;
      pads[i + nsp] = total - pads[i];
    }
  }
  const HostTensor* bc = c.hasInput(2) ? c.constant(2) : nullptr;
  std::vector<int> ins = {c.input(0)};
  if (!wc || (c.hasInput(2) && !bc)) {
    ins.push_back(c.input(1));
    if (c.hasInput(2)) ins.push_back(c.input(2));
  }
  ir::Layer& l = c.add(LayerKind::kDECONVOLUTION, ins);
  l.attrs.set("group", group);
  l.attrs.set("strides", s);
  l.attrs.set("dilations", d);
  l.attrs.set("output_padding", op);
  l.attrs.set("pads", pads);
  if (ins.size() > 1) {
    l.attrs.set("kernel_shape", wd);
    return;
  }
  l.weights["kernel"] = wc->castTo(DataType::kFLOAT);
  if (bc) l.weights["bias"] = bc->castTo(DataType::kFLOAT);
}

// Col2Im (1 to 3 spatial dims) is a ConvTranspose: column c*K + k (k a block position) adds
// into channel c at that position of its patch, so a group per channel with a one-hot kernel
// sums the overlapping patches exactly as Col2Im does. The input [N, C*K, L] is reshaped to
// [N, C*K, *blocks per dim]; output_padding covers image sizes the strides do not end on.
void importCol2Im(ImportContext& c) {
  const std::vector<int64_t> image = c.constInts(1, "image_shape");
  const std::vector<int64_t> block = c.constInts(2, "block_shape");
  const size_t nsp = image.size();
  const Dims x = c.inputDims(0);
  if (nsp < 1 || nsp > 3 || block.size() != nsp || x.size() != 3)
    reject(ErrorKind::kUnsupported,
           str("input ", dimsToString(x), ", image_shape ", dimsToString(image), ", block_shape ",
               dimsToString(block), ": clrt's Col2Im takes a 3-D input and 1 to 3 spatial dims"));
  const auto s = windowList(c, "strides", nsp, nsp, 1, 1),
             d = windowList(c, "dilations", nsp, nsp, 1, 1);
  const auto pads = windowList(c, "pads", 2 * nsp, nsp, 0, 0);
  constexpr int64_t kMax = int64_t{1} << 20;  // products of these must not overflow
  for (const auto* v : {&image, &block, &s, &d, &pads})
    for (int64_t e : *v)
      if (e > kMax)
        reject(ErrorKind::kUnsupported,
               str("image_shape ", dimsToString(image), ", block_shape ", dimsToString(block),
                   ", strides ", dimsToString(s), ", dilations ", dimsToString(d), ", pads ",
                   dimsToString(pads), ": values beyond ", kMax, " are not supported"));
  int64_t K = 1, L = 1;
  std::vector<int64_t> blocks(nsp), op(nsp);
  for (size_t i = 0; i < nsp; ++i) {
    const int64_t span = image[i] + pads[i] + pads[i + nsp] - ((block[i] - 1) * d[i] + 1);
    if (block[i] < 1 || image[i] < 1 || span < 0)
      reject(ErrorKind::kParse, str("block_shape ", dimsToString(block), " with dilations ",
                                    dimsToString(d), " does not fit image_shape ",
                                    dimsToString(image), " padded by ", dimsToString(pads)));
    blocks[i] = span / s[i] + 1;
    op[i] = span % s[i];
    K *= block[i];
    L *= blocks[i];
  }
  if (x[1] < 0 || x[1] % K != 0 || (x[2] >= 0 && x[2] != L))
    reject(ErrorKind::kParse,
           str("input is ", dimsToString(x), "; expected [N, C*", K, ", ", L, "] for block_shape ",
               dimsToString(block), " and image_shape ", dimsToString(image)));
  const int64_t C = x[1] / K;
  Dims wd = {x[1], 1};
  wd.insert(wd.end(), block.begin(), block.end());
  if (ir::hostBytes(wd, DataType::kFLOAT) > ir::hostTensorLimit())
    reject(ErrorKind::kUnsupported,
           str("the one-hot kernel ", dimsToString(wd), " exceeds the host memory limit (",
               ir::hostTensorLimit(), " bytes; CLRT_HOST_MEMORY_LIMIT sets 4x it)"));
  std::vector<int64_t> shape = {0, x[1]};
  shape.insert(shape.end(), blocks.begin(), blocks.end());
  ir::Layer& r = c.addInternal(LayerKind::kRESHAPE, {c.input(0)});
  r.attrs.set("shape", shape);
  const int cols = r.outputs[0];
  HostTensor w = HostTensor::fromFloats(wd, std::vector<float>(static_cast<size_t>(x[1] * K)));
  for (int64_t ch = 0; ch < x[1]; ++ch) w.f32()[ch * K + ch % K] = 1.0f;
  ir::Layer& l = c.add(LayerKind::kDECONVOLUTION, {cols});
  l.attrs.set("group", C);
  l.attrs.set("strides", s);
  l.attrs.set("dilations", d);
  l.attrs.set("output_padding", op);
  l.attrs.set("pads", pads);
  l.weights["kernel"] = std::move(w);
}

// BatchNormalization whose scale, B, mean or var are computed (graph inputs): elementwise
// layers on the device, y = (x - mean) * (scale / sqrt(var + epsilon)) + B, each [C] viewed as
// [C, 1, ...] to broadcast over the channel axis.
void runtimeBatchNorm(ImportContext& c) {
  const int64_t rank = static_cast<int64_t>(c.inputDims(0).size());
  if (rank < 2) reject(ErrorKind::kParse, "input must be [N, C, ...]");
  auto channel = [&](int i) {
    ir::Layer& r = c.addInternal(LayerKind::kRESHAPE, {c.input(i)});
    std::vector<int64_t> shape(rank - 1, 1);
    shape[0] = -1;
    r.attrs.set("shape", shape);
    return r.outputs[0];
  };
  auto op = [&](const char* name, int a, int b) {
    ir::Layer& l = c.addInternal(LayerKind::kELEMENTWISE, {a, b});
    l.attrs.set("op", name);
    return l.outputs[0];
  };
  const int eps = c.constantTensor(HostTensor::fromFloats({}, {c.attrFloat("epsilon", 1e-5f)}));
  // Tensor ids only, each layer added in its own statement: a layer reference dies with the
  // next layer added.
  const int var = op("SUM", channel(4), eps);
  ir::Layer& root = c.addInternal(LayerKind::kUNARY, {var});
  root.attrs.set("op", "SQRT");
  const int sd = root.outputs[0];
  const int scale = channel(1);
  const int k = op("DIV", scale, sd);
  const int mean = channel(3);
  const int centered = op("SUB", c.input(0), mean);
  const int scaled = op("PROD", centered, k);
  const int bias = channel(2);
  c.add(LayerKind::kELEMENTWISE, {scaled, bias}).attrs.set("op", "SUM");
}

// Inference-mode BatchNormalization: y = x * scale + shift per channel (axis 1).
void importBatchNorm(ImportContext& c) {
  if (c.attrInt("spatial", 1) == 0)  // versions 6 and 7: per-element statistics
    reject(ErrorKind::kUnsupported,
           "spatial=0 (statistics per element, not per channel) is "
           "not supported",
           "export BatchNormalization with per-channel statistics");
  if (c.numOutputs() > 1 || c.attrInt("training_mode", 0) != 0)
    reject(ErrorKind::kUnsupported, "training mode (running mean/var outputs) is not supported",
           "export the model in eval mode (model.eval() before torch.onnx.export)");
  for (int i = 1; i <= 4; ++i)
    if (!c.constant(i)) return runtimeBatchNorm(c);
  const auto g = c.requireConstant(1, "scale").asFloats();
  const auto b = c.requireConstant(2, "B").asFloats();
  const auto m = c.requireConstant(3, "input_mean").asFloats();
  const auto v = c.requireConstant(4, "input_var").asFloats();
  const size_t n = g.size();
  if (b.size() != n || m.size() != n || v.size() != n)
    reject(ErrorKind::kParse, str("scale, B, mean and var must have the same length, got ",
                                  g.size(), ", ", b.size(), ", ", m.size(), ", ", v.size()));
  const float eps = c.attrFloat("epsilon", 1e-5f);
  std::vector<float> scale(n), shift(n);
  for (size_t i = 0; i < n; ++i) {
    scale[i] = g[i] / std::sqrt(v[i] + eps);
    shift[i] = b[i] - m[i] * scale[i];
  }
  ir::Layer& l = c.add(LayerKind::kSCALE, {c.input(0)});
  l.weights["scale"] = HostTensor::fromFloats({static_cast<int64_t>(n)}, scale);
  l.weights["shift"] = HostTensor::fromFloats({static_cast<int64_t>(n)}, shift);
  l.attrs.set("channel_axis", int64_t{1});
}

// The node's pooling layer; reading tensor `x` into an internal output when given.
ir::Layer& pool(ImportContext& c, const char* type, int x = -1) {
  const auto k = c.attrInts("kernel_shape");
  if (k.empty()) reject(ErrorKind::kParse, "required attribute 'kernel_shape' is missing");
  checkSpatialRank(k.size(), "pooling");
  ir::Layer& l = x >= 0 ? c.addInternal(LayerKind::kPOOLING, {x})
                        : c.add(LayerKind::kPOOLING, {c.input(0)}, 1);
  l.attrs.set("type", type);
  l.attrs.set("window", spatial(c, "kernel_shape", k.size(), 1, 1));
  windowAttrs(c, l.attrs, k.size());
  l.attrs.set("ceil_mode", c.attrFlag("ceil_mode", 0));
  l.attrs.set("count_include_pad", c.attrFlag("count_include_pad", 0));
  return l;
}

// MaxPool's Indices output: the flat index into X (storage_order 1: with the spatial dims taken
// column-major) of each window's first maximum, as onnxruntime reports it. Each window's taps are
// gathered from X's flattened image by a constant table of positions (a tap in the padding reads
// the window's first tap inside the image instead: it cannot be the first maximum then), their
// ARGMAX picks the tap, and a second table maps the tap to its position. Needs X's dims static.
void maxPoolIndices(ImportContext& c, int y) {
  const Dims xd = c.inputDims(0);
  const size_t nsp = xd.size() < 3 ? 0 : xd.size() - 2;
  if ((nsp != 1 && nsp != 2) || !isStatic(xd))
    reject(ErrorKind::kUnsupported,
           str("the Indices output of MaxPool needs X with static dims and 1 or 2 spatial dims, "
               "got ",
               dimsToString(xd)),
           "export MaxPool without return_indices, or with static input dims");
  const ir::Attrs& a = c.net().layers[c.net().tensors[y].producer].attrs;
  const auto win = a.ints("window"), st = a.ints("strides"), dl = a.ints("dilations");
  auto pads = a.ints("pads");  // the 2-D form: {top, left, bottom, right}
  const std::string autoPad = a.s("auto_pad", "NOTSET");
  const Dims yd = c.tensorDims(y);
  const int64_t N = xd[0], C = xd[1], H = nsp == 2 ? xd[2] : 1, W = xd.back();
  volume(xd);  // throws, naming the shape, when X's element count overflows
  constexpr int64_t kMaxTaps = int64_t{1} << 26;
  if (xd[0] * xd[1] > kMaxTaps)  // each at most 2^63 / (H * W) here: no overflow
    reject(ErrorKind::kUnsupported,
           str("the Indices output of MaxPool over ", xd[0], " x ", xd[1],
               " images (batch x channels): clrt tables their offsets, up to 2^26"));
  for (int64_t v : {win[0], win[1], nsp == 2 ? yd[2] : 1, yd.back()})
    if (v < 1 || v > kMaxTaps)
      reject(ErrorKind::kUnsupported,
             str("the Indices output of MaxPool with window ", dimsToString(win), " and output ",
                 dimsToString(yd), ": each window and output side must be 1 to 2^26"));
  const int64_t oh = nsp == 2 ? yd[2] : 1, ow = yd.back(), K = win[0] * win[1], P = oh * ow;
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {  // the begins the shape rule takes
    const int64_t in[2] = {H, W}, out[2] = {oh, ow};
    for (int d = 0; d < 2; ++d) {
      const int64_t total =
          std::max<int64_t>(0, (out[d] - 1) * st[d] + (win[d] - 1) * dl[d] + 1 - in[d]);
      pads[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
    }
  } else if (autoPad == "VALID") {
    pads[0] = pads[1] = 0;
  }
  if (K > kMaxTaps || P > kMaxTaps || K * P > kMaxTaps)
    reject(ErrorKind::kUnsupported, str("the Indices output of MaxPool over ", P, " windows of ", K,
                                        " taps: clrt gathers them, up to 2^26 taps in all"));
  const int64_t storageOrder = c.attrFlag("storage_order", 0);
  std::vector<int64_t> src(static_cast<size_t>(K * P)), where(src.size());
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox) {
      const int64_t p = oy * ow + ox;
      int64_t first = -1, firstAt = 0;
      for (int64_t k = 0; k < K; ++k) {
        const int64_t h = oy * st[0] - pads[0] + (k / win[1]) * dl[0];
        const int64_t w = ox * st[1] - pads[1] + (k % win[1]) * dl[1];
        const bool inside = h >= 0 && h < H && w >= 0 && w < W;
        if (inside && first < 0) first = h * W + w, firstAt = storageOrder ? w * H + h : first;
        src[k * P + p] = inside ? h * W + w : -1;
        where[k * P + p] = storageOrder ? w * H + h : h * W + w;
      }
      if (first < 0)
        reject(ErrorKind::kUnsupported, str("MaxPool window ", p, " lies wholly in the padding"));
      for (int64_t k = 0; k < K; ++k)
        if (src[k * P + p] < 0) src[k * P + p] = first, where[k * P + p] = firstAt;
    }
  using namespace compose;
  const int flat = withAttr(c, LayerKind::kRESHAPE, c.input(0), "shape", {N, C, H * W});
  ir::Layer& g = c.addInternal(LayerKind::kGATHER,
                               {flat, c.constantTensor(HostTensor::fromInt64({K * P}, src))});
  g.attrs.set("axis", int64_t{2});
  const int taps = withAttr(c, LayerKind::kRESHAPE, g.outputs[0], "shape", {N, C, K, P});
  ir::Layer& am = c.addInternal(LayerKind::kREDUCE, {taps});
  am.attrs.set("op", "ARGMAX");
  am.attrs.set("axes", std::vector<int64_t>{2});
  am.attrs.set("keepdims", int64_t{0});
  am.attrs.set("select_last_index", int64_t{0});
  // Tensor ids from here: a layer reference dies with the next layer added, and the order in
  // which a call's arguments add layers is unspecified.
  const int tap = am.outputs[0];
  std::vector<int64_t> ps(static_cast<size_t>(P)), base(static_cast<size_t>(N * C));
  for (int64_t p = 0; p < P; ++p) ps[p] = p;
  for (int64_t i = 0; i < N * C; ++i) base[i] = i * H * W;
  const int perP = int64Scalar(c, P), cells = c.constantTensor(HostTensor::fromInt64({P}, ps));
  const int cell = binary(c, "SUM", binary(c, "PROD", tap, perP), cells);
  const int table = c.constantTensor(HostTensor::fromInt64({K * P}, where));
  ir::Layer& pos = c.addInternal(LayerKind::kGATHER, {table, cell});
  pos.attrs.set("axis", int64_t{0});
  const int position = pos.outputs[0];
  const int offsets = c.constantTensor(HostTensor::fromInt64({N, C, 1}, base));
  const int idx = binary(c, "SUM", position, offsets);
  c.addMapped(LayerKind::kRESHAPE, {idx}, {1}).attrs.set("shape", std::vector<int64_t>(yd));
}

void importMaxPool(ImportContext& c) {
  const DataType t = c.logicalDtype(0);
  if (t != DataType::kINT8 && t != DataType::kUINT8 && t != DataType::kINT16 &&
      t != DataType::kUINT16) {
    const int y = pool(c, "MAX").outputs[0];
    if (c.hasOutput(1)) maxPoolIndices(c, y);
    return;
  }
  // Narrow integers are exact in FLOAT, which the pooling kernels run.
  if (c.hasOutput(1))
    reject(ErrorKind::kUnsupported,
           str("the Indices output of MaxPool over ", dtypeName(t), " is not supported"),
           "export MaxPool without return_indices");
  const int x = c.input(0);
  const DataType wide = c.net().tensors[x].dtype;
  const int y = pool(c, "MAX", c.castTensor(x, DataType::kFLOAT)).outputs[0];
  c.add(LayerKind::kCAST, {y}).attrs.set("to", static_cast<int64_t>(wide));
  if (wide != t) c.setLogicalDtype(0, t);
}

void importAveragePool(ImportContext& c) { pool(c, "AVERAGE"); }

void importLpPool(ImportContext& c) {
  const int64_t p = c.attrInt("p", 2);
  if (p < 1) reject(ErrorKind::kParse, str("attribute 'p' is ", p, "; expected >= 1"));
  pool(c, "LP").attrs.set("p", p);
}

void globalPool(ImportContext& c, const char* type) {
  const Dims x = c.inputDims(0);
  if (x.size() < 3) reject(ErrorKind::kParse, "input must be [N, C, ...spatial]");
  checkSpatialRank(x.size() - 2, "global pooling");
  ir::Layer& l = c.add(LayerKind::kPOOLING, {c.input(0)});
  l.attrs.set("type", type);
  l.attrs.set("global", int64_t{1});
}

void importGlobalAveragePool(ImportContext& c) { globalPool(c, "AVERAGE"); }
void importGlobalMaxPool(ImportContext& c) { globalPool(c, "MAX"); }

// MaxUnpool: X's values written at their MaxPool indices (flat over the whole output) into zeros
// of the output shape: a SCATTER of mode ELEMENT over the flattened tensors. Shapes are static.
void importMaxUnpool(ImportContext& c) {
  const Dims x = c.inputDims(0), idx = c.inputDims(1);
  const size_t nsp = x.size() < 2 ? 0 : x.size() - 2;
  if (nsp < 1 || !isStatic(x) || idx != x)
    reject(ErrorKind::kUnsupported, str("X ", dimsToString(x), " and I ", dimsToString(idx),
                                        " must have one static shape [N, C, D1, ...]"));
  const auto k = c.attrInts("kernel_shape");
  const auto st = c.attrInts("strides", std::vector<int64_t>(nsp, 1));
  const auto p = c.attrInts("pads", std::vector<int64_t>(2 * nsp, 0));
  if (k.size() != nsp || st.size() != nsp || p.size() != 2 * nsp)
    reject(ErrorKind::kParse, str("kernel_shape, strides and pads must cover the ", nsp,
                                  " spatial dims (pads twice)"));
  Dims out = {x[0], x[1]};
  if (c.hasInput(2)) {
    out = c.constInts(2, "output_shape");
    if (out.size() != x.size())
      reject(ErrorKind::kParse, str("output_shape ", dimsToString(out), " is not of X's rank"));
  } else {
    for (size_t i = 0; i < nsp; ++i)
      out.push_back((x[2 + i] - 1) * st[i] - p[i] - p[nsp + i] + k[i]);
  }
  auto flat = [&](int t) {
    ir::Layer& l = c.addInternal(LayerKind::kRESHAPE, {t});
    l.attrs.set("shape", std::vector<int64_t>{-1});
    return l.outputs[0];
  };
  const DataType t = c.net().tensors[c.input(0)].dtype;
  const int zeros = c.constantTensor(
      HostTensor::fromFloats({volume(out)}, std::vector<float>(volume(out), 0.0f)).castTo(t));
  ir::Layer& s = c.addInternal(LayerKind::kSCATTER, {zeros, flat(c.input(1)), flat(c.input(0))});
  s.attrs.set("mode", "ELEMENT");
  s.attrs.set("reduction", "none");
  s.attrs.set("axis", int64_t{0});
  const int scattered = s.outputs[0];
  c.add(LayerKind::kRESHAPE, {scattered}).attrs.set("shape", std::vector<int64_t>(out));
}

}  // namespace

void registerConvImporters() {
  registerImporter("Conv", {1, 11, 22}, importConv);
  registerImporter("ConvTranspose", {1, 11, 22}, importConvTranspose);
  registerImporter("Col2Im", {18}, importCol2Im);
  registerImporter("ConvInteger", {10}, importConvInteger);
  registerImporter("QLinearConv", {10}, importQLinearConv);
  registerImporter("BatchNormalization", {6, 7, 9, 14, 15}, importBatchNorm);
  registerImporter("MaxPool", {1, 8, 10, 11, 12, 22}, importMaxPool);
  registerImporter("AveragePool", {1, 7, 10, 11, 19, 22}, importAveragePool);
  registerImporter("LpPool", {2, 11, 18, 22}, importLpPool);
  registerImporter("GlobalAveragePool", {1, 22}, importGlobalAveragePool);
  registerImporter("GlobalMaxPool", {1, 22}, importGlobalMaxPool);
  registerImporter("MaxUnpool", {9, 11, 22}, importMaxUnpool);  // 11 adds output_shape
}

}  // namespace clrt::onnx
