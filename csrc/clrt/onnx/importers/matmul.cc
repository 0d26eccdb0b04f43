// Matrix-multiply importers: Gemm (alpha/beta/transposes, C as bias or a separate sum), MatMul
// and MatMulInteger (in FLOAT where that is exact).
#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

HostTensor scaled(const HostTensor& t, float s) {
  HostTensor f = t.castTo(DataType::kFLOAT);
  if (s != 1.f)
    for (int64_t i = 0; i < f.numel(); ++i) f.f32()[i] *= s;
  return f;
}

// C fits the bias weight when it broadcasts along the last dim only: a scalar, [N] or [1, N].
bool biasShaped(const HostTensor& C, int64_t N) {
  const Dims& d = C.dims;
  if (C.numel() == 1) return N >= 0 && N <= (int64_t{1} << 24);  // expanded to N values
  const bool row = d.size() == 1 || (d.size() == 2 && d[0] == 1);
  return row && (N < 0 || d.back() == N);
}

// Y = alpha * op(A) @ op(B) + beta * C. A constant B becomes the "kernel" (alpha folded in); a
// bias-shaped constant C becomes the "bias"; anything else is added by a separate SUM layer.
void importGemm(ImportContext& c) {
  const float alpha = c.attrFloat("alpha", 1.f), beta = c.attrFloat("beta", 1.f);
  const int64_t tA = c.attrFlag("transA", 0), tB = c.attrFlag("transB", 0);
  if (c.inputDims(0).size() != 2) reject(ErrorKind::kParse, "input A must be 2-D");
  const HostTensor* B = c.constant(1);
  const Dims bd = B ? B->dims : c.inputDims(1);
  if (bd.size() != 2) reject(ErrorKind::kParse, "input B must be 2-D, got " + dimsToString(bd));
  const int64_t N = tB ? bd[0] : bd[1];
  const bool hasC = c.hasInput(2) && beta != 0.f;
  const bool scaleOut = !B && alpha != 1.f;  // alpha applied after the product
  const HostTensor* C = hasC ? c.constant(2) : nullptr;
  const bool cBias = C && !scaleOut && biasShaped(*C, N);
  const bool mmLast = !scaleOut && (!hasC || cBias);
  std::vector<int> ins{c.input(0)};
  if (!B) ins.push_back(c.input(1));
  ir::Layer& mm = mmLast ? c.add(LayerKind::kMATRIX_MULTIPLY, ins)
                         : c.addInternal(LayerKind::kMATRIX_MULTIPLY, ins);
  mm.attrs.set("trans_a", tA);
  mm.attrs.set("trans_b", tB);
  if (B) mm.weights["kernel"] = scaled(*B, alpha);
  if (cBias) {
    const HostTensor bias = scaled(*C, beta);
    const int64_t n = N >= 0 ? N : C->dims.back();
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[i] = bias.f32()[bias.numel() == 1 ? 0 : i];
    mm.weights["bias"] = HostTensor::fromFloats({n}, v);
  }
  int y = mm.outputs[0];
  if (scaleOut) {
    const std::vector<int> ins2{y, c.constantTensor(HostTensor::fromFloats({}, {alpha}))};
    ir::Layer& l =
        hasC ? c.addInternal(LayerKind::kELEMENTWISE, ins2) : c.add(LayerKind::kELEMENTWISE, ins2);
    l.attrs.set("op", "PROD");
    y = l.outputs[0];
  }
  if (!hasC || cBias) return;
  int cin = C ? (beta == 1.f ? c.input(2) : c.constantTensor(scaled(*C, beta))) : c.input(2);
  if (!C && beta != 1.f) {
    const std::vector<int> ins3{cin, c.constantTensor(HostTensor::fromFloats({}, {beta}))};
    ir::Layer& s = c.addInternal(LayerKind::kELEMENTWISE, ins3);
    s.attrs.set("op", "PROD");
    cin = s.outputs[0];
  }
  c.add(LayerKind::kELEMENTWISE, {y, cin}).attrs.set("op", "SUM");
}

// NumPy matmul; a constant B is held as the "kernel" weights.
void importMatMul(ImportContext& c) {
  if (const HostTensor* b = c.constant(1)) {
    HostTensor kernel = b->castTo(DataType::kFLOAT);
    c.add(LayerKind::kMATRIX_MULTIPLY, {c.input(0)}).weights["kernel"] = std::move(kernel);
    return;
  }
  c.add(LayerKind::kMATRIX_MULTIPLY, {c.input(0), c.input(1)});
}

// MatMulInteger: (A - a_zero_point) @ (B - b_zero_point) as INT32, computed in FLOAT: exact
// while every partial sum stays below 2^24, i.e. K * 255 * 255 for 8-bit operands (K <= 258).
void importMatMulInteger(ImportContext& c) {
  const Dims ad = c.inputDims(0);
  const int64_t K = ad.empty() ? -1 : ad.back();
  if (K < 0 || K > 258)
    reject(ErrorKind::kUnsupported,
           str("MatMulInteger over K = ", K,
               " (A's last dim): clrt computes it in FLOAT, exact only for a static K <= 258"),
           "split the product along K or compute it with QLinearMatMul");
  auto centred = [&](int i, int zp) {
    const int v = c.castTensor(c.input(i), DataType::kFLOAT);
    if (!c.hasInput(zp)) return v;
    int z = c.castTensor(c.input(zp), DataType::kFLOAT);
    const Dims zd = c.inputDims(zp);
    if (i == 0 && zd.size() == 1 && zd[0] != 1) {  // one zero point per row of A
      ir::Layer& r = c.addInternal(LayerKind::kRESHAPE, {z});
      r.attrs.set("shape", std::vector<int64_t>{-1, 1});
      z = r.outputs[0];
    }
    ir::Layer& l = c.addInternal(LayerKind::kELEMENTWISE, {v, z});
    l.attrs.set("op", "SUB");
    return l.outputs[0];
  };
  const int a = centred(0, 2), b = centred(1, 3);
  const int y = c.addInternal(LayerKind::kMATRIX_MULTIPLY, {a, b}).outputs[0];
  c.add(LayerKind::kCAST, {y}).attrs.set("to", static_cast<int64_t>(DataType::kINT32));
}

}  // namespace

void registerMatmulImporters() {
  // Versions 1 and 6 require C and have a `broadcast` attribute: without it C is [M, N], a case
  // of the unidirectional broadcasting imported for all versions.
  registerImporter("Gemm", {1, 6, 7, 9, 11, 13}, importGemm);
  registerImporter("MatMul", {1, 9, 13}, importMatMul);
  registerImporter("MatMulInteger", {10}, importMatMulInteger);
}

}  // namespace clrt::onnx
