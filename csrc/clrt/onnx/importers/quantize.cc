// Quantization importers: QuantizeLinear and DequantizeLinear (kQUANTIZE / kDEQUANTIZE),
// per-tensor or per-axis, and DynamicQuantizeLinear (reductions and elementwise layers). Constant
// inputs (quantized weights) are converted here, on the host. QLinearMatMul runs as float
// arithmetic layers around a MATRIX_MULTIPLY.
#include "clrt/ir/quantize.h"

#include <algorithm>

#include "clrt/onnx/importer.h"
#include "clrt/onnx/importers/compose.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

const char* kScaleHint =
    "Q/DQ scales and zero points must be initializers or Constant outputs (as onnxruntime's "
    "quantizer and QAT exports write them)";

// Blocked quantization (opset 21) has one scale per block of elements: not implemented.
void rejectBlocked(ImportContext& c) {
  const int64_t b = c.attrInt("block_size", 0);
  if (b != 0)
    reject(ErrorKind::kUnsupported,
           str("blocked quantization (block_size=", b, ") is not supported"),
           "clrt imports per-tensor and per-axis Q/DQ scales only");
}

// The tensor id of a scale: the input itself when it is FLOAT, else a FLOAT copy.
int floatScaleTensor(ImportContext& c, const HostTensor& scale, const ir::QuantParams& p) {
  if (scale.dtype == DataType::kFLOAT) return c.input(1);
  return c.constantTensor(HostTensor::fromFloats(scale.dims, p.scale));
}

// Scale and zero point of the node (both must be host-known) checked against x's dims.
ir::QuantParams readParams(ImportContext& c, DataType qtype, const Dims& xDims, const char* op) {
  const char* scaleName = c.node().op_type() == "QuantizeLinear" ? "y_scale" : "x_scale";
  const char* zpName = c.node().op_type() == "QuantizeLinear" ? "y_zero_point" : "x_zero_point";
  const HostTensor* scale = c.constant(1);
  if (!scale)
    reject(ErrorKind::kUnsupported,
           str(scaleName, " (input 1, '", c.node().input(1), "') must be a constant"), kScaleHint);
  const HostTensor* zp = nullptr;
  if (c.hasInput(2)) {
    zp = c.constant(2);
    if (!zp)
      reject(ErrorKind::kUnsupported,
             str(zpName, " (input 2, '", c.node().input(2), "') must be a constant"), kScaleHint);
  }
  // Opset 10 has no axis attribute: its scale is a scalar.
  const int64_t axis = c.opset() >= 13 ? c.attrInt("axis", 1) : 1;
  if (c.opset() < 13 && scale->numel() != 1)
    reject(ErrorKind::kParse, str(scaleName, " must be a scalar before opset 13, got shape ",
                                  dimsToString(scale->dims)));
  try {
    return ir::quantParams(*scale, zp, qtype, axis, xDims, op);
  } catch (const Error& e) {
    reject(ErrorKind::kParse, e.what());
  }
}

// Adds the layer: x, the FLOAT scale, the zero point (absent: -1); per-axis layers get "axis".
ir::Layer& addLayer(ImportContext& c, LayerKind kind, const ir::QuantParams& p) {
  std::vector<int> ins{c.input(0), floatScaleTensor(c, *c.constant(1), p),
                       c.hasInput(2) ? c.input(2) : -1};
  ir::Layer& l = c.add(kind, ins);
  if (p.axis >= 0) l.attrs.set("axis", p.axis);
  c.net().explicit_quantization = true;  // the builder takes ranges from Q/DQ, not a calibrator
  return l;
}

DataType inputDtype(ImportContext& c) {
  if (const HostTensor* v = c.constant(0)) return v->dtype;
  return c.net().tensors[c.input(0)].dtype;
}

// QuantizeLinear whose scale or zero point is computed (DynamicQuantizeLinear's expansion):
// per tensor, as arithmetic: saturate(round(x / scale) + zero_point), cast to the zero point's
// dtype (computed in its compute dtype).
void runtimeQuantize(ImportContext& c) {
  DataType qtype = c.hasInput(2) ? c.logicalDtype(2) : DataType::kUINT8;
  if (!c.hasInput(2) && c.opset() >= 21 && c.attrInt("output_dtype", 0) != 0)
    qtype =
        dtypeFromOnnx(static_cast<int>(c.attrInt("output_dtype", 0)), "attribute 'output_dtype'");
  if (qtype != DataType::kINT8 && qtype != DataType::kUINT8)
    reject(ErrorKind::kUnsupported,
           str("quantizing to ", dtypeName(qtype), " is not supported (INT8 and UINT8 are)"));
  for (int i : {1, 2}) {
    if (!c.hasInput(i) || volume(c.inputDims(i)) == 1) continue;
    reject(ErrorKind::kUnsupported,
           str(i == 1 ? "y_scale" : "y_zero_point", " (input ", i, ", '", c.node().input(i),
               "') is computed at run time with shape ", dimsToString(c.inputDims(i)),
               "; a computed scale or zero point must be one value (per tensor)"),
           kScaleHint);
  }
  auto op = [&](const char* name, int a, int b) {
    ir::Layer& l = c.addInternal(LayerKind::kELEMENTWISE, {a, b});
    l.attrs.set("op", name);
    return l.outputs[0];
  };
  auto asFloat = [&](int t) { return c.castTensor(t, DataType::kFLOAT); };
  const int x = asFloat(c.input(0)), scale = asFloat(c.input(1));
  ir::Layer& r = c.addInternal(LayerKind::kUNARY, {op("DIV", x, scale)});
  r.attrs.set("op", "ROUND");
  int q = r.outputs[0];
  if (c.hasInput(2)) q = op("SUM", q, asFloat(c.input(2)));
  ir::Layer& clip = c.addInternal(LayerKind::kACTIVATION, {q});
  clip.attrs.set("type", "CLIP");
  clip.attrs.set("alpha", qtype == DataType::kINT8 ? -128.0 : 0.0);
  clip.attrs.set("beta", qtype == DataType::kINT8 ? 127.0 : 255.0);
  const int clipped = clip.outputs[0];
  const DataType wide = computeDtype(qtype);
  c.add(LayerKind::kCAST, {clipped}).attrs.set("to", static_cast<int64_t>(wide));
  if (wide != qtype) c.setLogicalDtype(0, qtype);
}

void importQuantize(ImportContext& c) {
  rejectBlocked(c);
  const DataType xt = inputDtype(c);
  if (xt != DataType::kFLOAT && xt != DataType::kHALF)
    reject(ErrorKind::kUnsupported,
           str("input x is ", dtypeName(xt), "; QuantizeLinear of FLOAT or FLOAT16 is supported"));
  if (!c.constant(1) || (c.hasInput(2) && !c.constant(2))) return runtimeQuantize(c);
  // The output type is the zero point's; without one, output_dtype (opset 21) or UINT8.
  DataType qtype = DataType::kUINT8;
  if (c.hasInput(2) && c.constant(2)) {
    qtype = c.constant(2)->dtype;
  } else if (c.opset() >= 21 && c.attrInt("output_dtype", 0) != 0) {
    qtype =
        dtypeFromOnnx(static_cast<int>(c.attrInt("output_dtype", 0)), "attribute 'output_dtype'");
  }
  if (qtype != DataType::kINT8 && qtype != DataType::kUINT8)
    reject(ErrorKind::kUnsupported,
           str("quantizing to ", dtypeName(qtype), " is not supported (INT8 and UINT8 are)"));
  const ir::QuantParams p = readParams(c, qtype, c.inputDims(0), "QuantizeLinear");
  if (const HostTensor* x = c.constant(0)) {
    c.net().explicit_quantization = true;
    c.defineConstant(0, ir::quantizeLinear(*x, p));
    return;
  }
  addLayer(c, LayerKind::kQUANTIZE, p).attrs.set("to", static_cast<int64_t>(qtype));
}

// DequantizeLinear whose scale or zero point is computed at run time: (x - zero_point) * scale
// as FLOAT arithmetic (exact for 8- and 16-bit integers), per tensor, or per axis with a 1-D scale
// laid along `axis`. The output takes the scale's type (FLOAT16 scales: FLOAT16).
void runtimeDequantize(ImportContext& c, DataType xt) {
  if (xt != DataType::kINT8 && xt != DataType::kUINT8 && xt != DataType::kINT16 &&
      xt != DataType::kUINT16 && xt != DataType::kINT32)
    reject(ErrorKind::kUnsupported,
           str("input x is ", dtypeName(xt),
               "; DequantizeLinear of INT8, UINT8, INT16, UINT16 or INT32 is supported"));
  const Dims xd = c.inputDims(0), sd = c.inputDims(1);
  const int64_t rank = static_cast<int64_t>(xd.size());
  const bool perAxis = sd.size() == 1 && sd[0] != 1;
  if (sd.size() > 1)
    reject(ErrorKind::kUnsupported,
           str("x_scale (input 1, '", c.node().input(1), "') has dims ", dimsToString(sd),
               "; a scale computed at run time must be one value or one per channel of `axis`"),
           kScaleHint);
  std::vector<int64_t> along(static_cast<size_t>(std::max<int64_t>(rank, 1)), 1);
  if (perAxis) {
    const int64_t axis = normalizeAxis(c.attrInt("axis", 1), rank, "attribute 'axis'");
    if (xd[axis] >= 0 && sd[0] >= 0 && xd[axis] != sd[0])
      reject(ErrorKind::kParse,
             str("x_scale has ", sd[0], " values for axis ", axis, " of length ", xd[axis]));
    along[axis] = -1;
  }
  auto asFloat = [&](int t) {
    t = c.castTensor(t, DataType::kFLOAT);
    if (!perAxis || rank <= 1) return t;
    return compose::withAttr(c, LayerKind::kRESHAPE, t, "shape", along);
  };
  int x = c.castTensor(c.input(0), DataType::kFLOAT);
  if (c.hasInput(2)) x = compose::binary(c, "SUB", x, asFloat(c.input(2)));
  const DataType st = c.logicalDtype(1);
  if (st != DataType::kHALF) {
    ir::Layer& y = c.add(LayerKind::kELEMENTWISE, {x, asFloat(c.input(1))});
    y.attrs.set("op", "PROD");
    return;
  }
  const int y = compose::binary(c, "PROD", x, asFloat(c.input(1)));
  c.add(LayerKind::kCAST, {y}).attrs.set("to", static_cast<int64_t>(DataType::kHALF));
}

void importDequantize(ImportContext& c) {
  rejectBlocked(c);
  const int64_t outType = c.attrInt("output_dtype", 0);  // version 23
  if (outType != 0 && outType != ::onnx::TensorProto::FLOAT)
    reject(ErrorKind::kUnsupported,
           str("output_dtype ", onnxTypeName(static_cast<int>(outType)),
               " is not supported (DequantizeLinear outputs FLOAT)"),
           "export DequantizeLinear without output_dtype or with FLOAT");
  const DataType xt = c.constant(0) ? inputDtype(c) : c.logicalDtype(0);
  if (!c.constant(1) || (c.hasInput(2) && !c.constant(2))) return runtimeDequantize(c, xt);
  if (xt != DataType::kINT8 && xt != DataType::kUINT8 && xt != DataType::kINT32)
    reject(ErrorKind::kUnsupported, str("input x is ", dtypeName(xt),
                                        "; DequantizeLinear of INT8, UINT8 or INT32 is "
                                        "supported"));
  const ir::QuantParams p = readParams(c, xt, c.inputDims(0), "DequantizeLinear");
  if (const HostTensor* x = c.constant(0)) {
    // Quantized weights: folded to float here, whatever their size.
    c.net().explicit_quantization = true;
    c.defineConstant(0, ir::dequantizeLinear(*x, p));
    return;
  }
  addLayer(c, LayerKind::kDEQUANTIZE, p);
}

// DynamicQuantizeLinear: uint8 with scale (max(x, 0) - min(x, 0)) / 255 and zero point
// round(-min(x, 0) / scale), from reductions and elementwise layers (ONNX's function body).
// The uint8 outputs are computed as INT32 (their compute dtype) and cast.
void importDynamicQuantize(ImportContext& c) {
  const int x = c.input(0);
  auto layer = [&](LayerKind k, const std::vector<int>& ins, const char* attr, const char* v) {
    ir::Layer& l = c.addInternal(k, ins);
    l.attrs.set(attr, v);
    return l.outputs[0];
  };
  auto reduceAll = [&](const char* op) {
    ir::Layer& l = c.addInternal(LayerKind::kREDUCE, {x});
    l.attrs.set("op", op);
    l.attrs.set("axes", std::vector<int64_t>{});
    l.attrs.set("keepdims", int64_t{0});
    return l.outputs[0];
  };
  auto scalar = [&](float v) { return c.constantTensor(HostTensor::fromFloats({}, {v})); };
  auto toUint8 = [&](int v, int output) {  // round half to even, saturate, cast
    const int r = layer(LayerKind::kUNARY, {v}, "op", "ROUND");
    ir::Layer& l = c.addInternal(LayerKind::kACTIVATION, {r});
    l.attrs.set("type", "CLIP");
    l.attrs.set("alpha", 0.0);
    l.attrs.set("beta", 255.0);
    const int clipped = l.outputs[0];
    const DataType wide = computeDtype(DataType::kUINT8);
    c.addMapped(LayerKind::kCAST, {clipped}, {output}).attrs.set("to", int64_t(wide));
    if (wide != DataType::kUINT8) c.setLogicalDtype(output, DataType::kUINT8);
  };
  const int zero = scalar(0.0f);
  const int mx = reduceAll("MAX"), mn = reduceAll("MIN");
  const int hi = layer(LayerKind::kELEMENTWISE, {mx, zero}, "op", "MAX");
  const int lo = layer(LayerKind::kELEMENTWISE, {mn, zero}, "op", "MIN");
  const int range = layer(LayerKind::kELEMENTWISE, {hi, lo}, "op", "SUB");
  const int q = scalar(255.0f);
  ir::Layer& s = c.addMapped(LayerKind::kELEMENTWISE, {range, q}, {1});
  s.attrs.set("op", "DIV");
  const int scale = s.outputs[0];
  const int negLo = layer(LayerKind::kELEMENTWISE, {zero, lo}, "op", "SUB");
  const int zpf = layer(LayerKind::kELEMENTWISE, {negLo, scale}, "op", "DIV");
  const int zpr = layer(LayerKind::kUNARY, {zpf}, "op", "ROUND");
  const int xs = layer(LayerKind::kELEMENTWISE, {x, scale}, "op", "DIV");
  const int xr = layer(LayerKind::kUNARY, {xs}, "op", "ROUND");
  toUint8(layer(LayerKind::kELEMENTWISE, {xr, zpr}, "op", "SUM"), 0);
  toUint8(zpr, 2);
}

// QLinearMatMul: ((a - a_zp) @ (b - b_zp)) * (a_scale * b_scale / y_scale), rounded half to
// even, + y_zp, saturated to y's type, as onnxruntime requantizes. Computed in float (integer
// products of 8-bit values are exact there), so scales and zero points may be run-time tensors.
void importQLinearMatMul(ImportContext& c) {
  for (int i = 0; i < 8; ++i)
    if (!c.hasInput(i)) reject(ErrorKind::kParse, str("input ", i, " is required but absent"));
  for (int i : {1, 2, 4, 5, 6, 7}) {
    const Dims d = c.inputDims(i);
    if (!isStatic(d) || volume(d) != 1)
      reject(ErrorKind::kUnsupported,
             str("input ", i, " has dims ", dimsToString(d),
                 "; QLinearMatMul with one scale and zero point per tensor is supported"));
  }
  const DataType yt = c.logicalDtype(7);
  if (yt != DataType::kINT8 && yt != DataType::kUINT8)
    reject(ErrorKind::kUnsupported, str("y_zero_point is ", dtypeName(yt), "; INT8 or UINT8"));
  auto f = [&](int i) { return c.castTensor(c.input(i), DataType::kFLOAT); };
  auto ew = [&](const char* op, int a, int b) {
    ir::Layer& l = c.addInternal(LayerKind::kELEMENTWISE, {a, b});
    l.attrs.set("op", op);
    return l.outputs[0];
  };
  const int a = ew("SUB", f(0), f(2)), b = ew("SUB", f(3), f(5));
  const int acc = c.addInternal(LayerKind::kMATRIX_MULTIPLY, {a, b}).outputs[0];
  const int scaled = ew("PROD", acc, ew("DIV", ew("PROD", f(1), f(4)), f(6)));
  ir::Layer& r = c.addInternal(LayerKind::kUNARY, {scaled});
  r.attrs.set("op", "ROUND");
  const int shifted = ew("SUM", r.outputs[0], f(7));
  ir::Layer& clip = c.addInternal(LayerKind::kACTIVATION, {shifted});
  clip.attrs.set("type", "CLIP");
  clip.attrs.set("alpha", yt == DataType::kINT8 ? -128.0 : 0.0);
  clip.attrs.set("beta", yt == DataType::kINT8 ? 127.0 : 255.0);
  // Held in the compute dtype with y's type recorded, as Cast's output.
  c.add(LayerKind::kCAST, {clip.outputs[0]})
      .attrs.set("to", static_cast<int64_t>(DataType::kINT32));
  c.setLogicalDtype(0, yt);
}

}  // namespace

void registerQuantizeImporters() {
  // One importer per op: it reads the opset for what changed (axis from 13, FLOAT16 scales
  // from 19, block_size and output_dtype from 21; saturate only concerns float8 and is ignored;
  // 23's precision only sets how the division is computed, and 24, 25 and 28 add dtypes).
  const std::vector<int> versions{10, 13, 19, 21, 23, 24, 25, 28};
  registerImporter("QuantizeLinear", versions, importQuantize);
  registerImporter("DequantizeLinear", versions, importDequantize);
  registerImporter("QLinearMatMul", {10, 21}, importQLinearMatMul);  // 21 adds FLOAT16 scales
  registerImporter("DynamicQuantizeLinear", {11}, importDynamicQuantize);
}

}  // namespace clrt::onnx
