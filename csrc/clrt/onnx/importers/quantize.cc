// Quantization importers: QuantizeLinear and DequantizeLinear, INT8/UINT8 with constant per-tensor
// or per-axis parameters as kQUANTIZE / kDEQUANTIZE layers (explicit INT8 quantization), every
// other type and layout (16-, 4- and 2-bit integers, FLOAT8, FLOAT4, blocked or computed scales)
// as arithmetic layers; DynamicQuantizeLinear from reductions and elementwise layers. Constant
// inputs (quantized weights) are converted on the host. QLinearMatMul requantizes MatMulInteger's
// exact INT32 product.
#include "clrt/ir/quantize.h"

#include <algorithm>

#include "clrt/onnx/importer.h"
#include "clrt/onnx/importers/compose.h"
#include "clrt/onnx/importers/integer_product.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

const char* kScaleHint =
    "Q/DQ scales and zero points must be initializers or Constant outputs (as onnxruntime's "
    "quantizer and QAT exports write them)";

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

bool floatQuantType(DataType t) { return isNarrowFloat(t) && t != DataType::kE8M0; }

const char* kQuantTypes =
    "INT8, UINT8, INT16, UINT16, INT4, UINT4, INT2, UINT2, the FLOAT8 types and FLOAT4E2M1";

// Input `i` (a scale or zero point) as FLOAT, laid out to broadcast against x: one value as it
// is, a 1-D per-axis vector reshaped along `axis`, a blocked one (opset 21) repeated `block`
// times along `axis` (a reshape, an expand, a reshape and, for a last partial block, a slice).
int laidOut(ImportContext& c, int i, const Dims& xd, int64_t axis, int64_t block) {
  const char* what = i == 1 ? "scale" : "zero point";
  const Dims vd = c.inputDims(i);
  const int64_t rank = static_cast<int64_t>(xd.size());
  if (block > 0) {
    bool fits = static_cast<int64_t>(vd.size()) == rank && isStatic(vd) && isStatic(xd);
    for (int64_t d = 0; fits && d < rank; ++d)
      fits = d == axis ? vd[d] == (xd[d] + block - 1) / block : vd[d] == xd[d];
    if (!fits)
      reject(ErrorKind::kParse,
             str("the ", what, " has dims ", dimsToString(vd), "; blocks of ", block,
                 " along axis ", axis, " of x ", dimsToString(xd),
                 " need x's (static) dims with ceil(x dim / ", block, ") along the axis"));
    Dims split = vd;  // (..., blocks, 1, ...) expanded to (..., blocks, block, ...)
    split.insert(split.begin() + axis + 1, 1);
    int t = compose::withAttr(c, LayerKind::kRESHAPE, c.castTensor(c.input(i), DataType::kFLOAT),
                              "shape", split);
    split[axis + 1] = block;
    t = c.addInternal(LayerKind::kEXPAND, {t, c.constantTensor(HostTensor::fromInt64(
                                                  {static_cast<int64_t>(split.size())}, split))})
            .outputs[0];
    Dims whole = vd;
    whole[axis] = vd[axis] * block;
    t = compose::withAttr(c, LayerKind::kRESHAPE, t, "shape", whole);
    return whole[axis] == xd[axis] ? t : compose::slice(c, t, axis, 0, xd[axis]);
  }
  const int t = c.castTensor(c.input(i), DataType::kFLOAT);
  if (vd.empty() || (vd.size() == 1 && vd[0] == 1)) return t;
  if (vd.size() != 1)
    reject(
        ErrorKind::kParse,
        str("the ", what, " (input ", i, ", '", c.node().input(i), "') has dims ", dimsToString(vd),
            "; it must be one value, or one per element of axis ", axis, " (without block_size)"));
  if (xd[axis] >= 0 && vd[0] >= 0 && xd[axis] != vd[0])
    reject(ErrorKind::kParse,
           str("the ", what, " has ", vd[0], " values for axis ", axis, " of length ", xd[axis]));
  if (rank <= 1) return t;
  std::vector<int64_t> along(static_cast<size_t>(rank), 1);
  along[axis] = -1;
  return compose::withAttr(c, LayerKind::kRESHAPE, t, "shape", along);
}

int64_t blockSize(ImportContext& c) {
  const int64_t b = c.opset() >= 21 ? c.attrInt("block_size", 0) : 0;
  if (b < 0) reject(ErrorKind::kParse, str("block_size ", b, " must be positive (or 0)"));
  return b;
}

// The quantization axis (from opset 13) against x's rank; unused (0) for a per-tensor scale,
// whose default axis 1 need not exist in x.
int64_t quantAxis(ImportContext& c, const Dims& xd) {
  const Dims sd = c.inputDims(1);
  if (blockSize(c) == 0 && (sd.empty() || (sd.size() == 1 && sd[0] == 1))) return 0;
  const int64_t rank = static_cast<int64_t>(xd.size());
  return normalizeAxis(c.opset() >= 13 ? c.attrInt("axis", 1) : 1, std::max<int64_t>(rank, 1),
                       "attribute 'axis'");
}

// QuantizeLinear as arithmetic: for integer types saturate(round(x / scale) + zero_point) held
// in INT32, for FLOAT8/FLOAT4 x / scale + zero_point rounded to the type (saturating unless the
// node says otherwise) and held in FLOAT; the output records the ONNX type. Any scale layout,
// computed scales included; the INT8/UINT8 ones with constant scales take QUANTIZE layers instead.
void arithmeticQuantize(ImportContext& c, DataType qtype) {
  const Dims xd = c.inputDims(0);
  const int64_t axis = quantAxis(c, xd), block = blockSize(c);
  const int x = c.castTensor(c.input(0), DataType::kFLOAT);
  int q = compose::binary(c, "DIV", x, laidOut(c, 1, xd, axis, block));
  double lo = 0, hi = 0;
  if (compose::integerRange(qtype, lo, hi))
    return compose::quantizedOutput(c, q, c.hasInput(2) ? laidOut(c, 2, xd, axis, block) : -1,
                                    qtype);
  // The formula is the integers' (ONNX's FLOAT8 zero points are 0 in practice).
  if (c.hasInput(2)) q = compose::binary(c, "SUM", q, laidOut(c, 2, xd, axis, block));
  ir::Layer& n = c.addInternal(LayerKind::kCAST, {q});
  n.attrs.set("to", static_cast<int64_t>(qtype));
  n.attrs.set("saturate", c.attrInt("saturate", 1) != 0 ? int64_t{1} : int64_t{0});
  c.net().tensors[n.outputs[0]].dtype = qtype;
  const int narrow = n.outputs[0];
  c.add(LayerKind::kCAST, {narrow}).attrs.set("to", static_cast<int64_t>(DataType::kFLOAT));
  c.setLogicalDtype(0, qtype);
}

void importQuantize(ImportContext& c) {
  const DataType xt = inputDtype(c);
  if (xt != DataType::kFLOAT && xt != DataType::kHALF && xt != DataType::kBF16)
    reject(ErrorKind::kUnsupported, str("input x is ", dtypeName(xt),
                                        "; QuantizeLinear of FLOAT, FLOAT16 or BFLOAT16 is "
                                        "supported"));
  // The output type is the zero point's; without one, output_dtype (opset 21) or UINT8.
  DataType qtype = DataType::kUINT8;
  if (c.hasInput(2)) {
    qtype = c.logicalDtype(2);
  } else if (c.opset() >= 21 && c.attrInt("output_dtype", 0) != 0) {
    qtype =
        dtypeFromOnnx(static_cast<int>(c.attrInt("output_dtype", 0)), "attribute 'output_dtype'");
  }
  double lo = 0, hi = 0;
  if (!compose::integerRange(qtype, lo, hi) && !floatQuantType(qtype))
    reject(ErrorKind::kUnsupported,
           str("quantizing to ", dtypeName(qtype), " is not supported (", kQuantTypes, " are)"));
  const bool layer = (qtype == DataType::kINT8 || qtype == DataType::kUINT8) &&
                     xt != DataType::kBF16 && blockSize(c) == 0 && c.constant(1) &&
                     (!c.hasInput(2) || c.constant(2));
  if (!layer) return arithmeticQuantize(c, qtype);
  const ir::QuantParams p = readParams(c, qtype, c.inputDims(0), "QuantizeLinear");
  if (const HostTensor* x = c.constant(0)) {
    c.net().explicit_quantization = true;
    c.defineConstant(0, ir::quantizeLinear(*x, p));
    return;
  }
  addLayer(c, LayerKind::kQUANTIZE, p).attrs.set("to", static_cast<int64_t>(qtype));
}

// DequantizeLinear as arithmetic: (x - zero_point) * scale in FLOAT (exact for integers up to
// 16 bits), any scale layout; the output takes output_dtype (opset 23) or the scale's type.
void arithmeticDequantize(ImportContext& c, DataType xt, DataType outT) {
  const Dims xd = c.inputDims(0);
  const int64_t axis = quantAxis(c, xd), block = blockSize(c);
  int x = c.castTensor(c.input(0), DataType::kFLOAT);
  if (c.hasInput(2)) x = compose::binary(c, "SUB", x, laidOut(c, 2, xd, axis, block));
  const int scale = laidOut(c, 1, xd, axis, block);
  if (outT == DataType::kFLOAT) {
    c.add(LayerKind::kELEMENTWISE, {x, scale}).attrs.set("op", "PROD");
    return;
  }
  const int y = compose::binary(c, "PROD", x, scale);
  const DataType wide = computeDtype(outT);
  c.add(LayerKind::kCAST, {wide == outT ? y : c.castTensor(y, outT)})
      .attrs.set("to", static_cast<int64_t>(wide));
  if (wide != outT) c.setLogicalDtype(0, outT);
}

void importDequantize(ImportContext& c) {
  const DataType xt = c.constant(0) ? inputDtype(c) : c.logicalDtype(0);
  double lo = 0, hi = 0;
  if (!compose::integerRange(xt, lo, hi) && !floatQuantType(xt) && xt != DataType::kINT32)
    reject(ErrorKind::kUnsupported,
           str("input x is ", dtypeName(xt), "; DequantizeLinear of INT32, ", kQuantTypes,
               " is supported"));
  const int64_t outType = c.attrInt("output_dtype", 0);  // version 23
  const DataType outT = outType != 0
                            ? dtypeFromOnnx(static_cast<int>(outType), "attribute 'output_dtype'")
                            : c.logicalDtype(1);
  if (outT != DataType::kFLOAT && outT != DataType::kHALF && outT != DataType::kBF16)
    reject(ErrorKind::kUnsupported, str("DequantizeLinear's output type ", dtypeName(outT),
                                        " is not supported (FLOAT, FLOAT16 and BFLOAT16 are)"));
  const bool layer = (xt == DataType::kINT8 || xt == DataType::kUINT8 || xt == DataType::kINT32) &&
                     outT == c.logicalDtype(1) && outT != DataType::kBF16 && blockSize(c) == 0 &&
                     c.constant(1) && (!c.hasInput(2) || c.constant(2));
  if (!layer) return arithmeticDequantize(c, xt, outT);
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
  compose::quantizedOutput(c, xs, zpr, DataType::kUINT8, 0);
  compose::quantizedOutput(c, zpf, -1, DataType::kUINT8, 2);
}

// QLinearMatMul as onnxruntime computes it: the exact INT32 product of the centred operands
// (integer_product.h, shared with MatMulInteger), converted to float, times a_scale * b_scale /
// y_scale, rounded half to even, + y_zero_point, saturated to y's type. Scales and zero points
// may be computed at run time.
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
  const int acc = integerMatMul(c, 0, 2, 3, 5, "QLinearMatMul");
  const int scale = compose::binary(c, "DIV", compose::binary(c, "PROD", f(1), f(4)), f(6));
  const int scaled = compose::binary(c, "PROD", c.castTensor(acc, DataType::kFLOAT), scale);
  compose::quantizedOutput(c, scaled, f(7), yt);
}

}  // namespace

void registerQuantizeImporters() {
  // One importer per op: it reads the opset for what changed (axis from 13, FLOAT16 scales
  // from 19, block_size and output_dtype from 21, saturate (float8 targets) from 19; 23's
  // precision only sets how the division is computed, and 24, 25 and 28 add dtypes).
  const std::vector<int> versions{10, 13, 19, 21, 23, 24, 25, 28};
  registerImporter("QuantizeLinear", versions, importQuantize);
  registerImporter("DequantizeLinear", versions, importDequantize);
  registerImporter("QLinearMatMul", {10, 21}, importQLinearMatMul);  // 21 adds FLOAT16 scales
  registerImporter("DynamicQuantizeLinear", {11}, importDynamicQuantize);
}

}  // namespace clrt::onnx
