// Matrix-multiply importers: Gemm (alpha/beta/transposes, C as bias or a separate sum), MatMul
// and MatMulInteger (exact, by integer_product.h),
// Einsum (one or two operands, lowered onto transposes, reshapes, diagonal gathers, sums and
// one batched MATRIX_MULTIPLY) and Det (up to 3 x 3, gathers and products).
#include <algorithm>
#include <functional>

#include "clrt/ir/einsum.h"
#include "clrt/onnx/importer.h"
#include "clrt/onnx/importers/compose.h"
#include "clrt/onnx/importers/integer_product.h"

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

// MatMulInteger: (A - a_zero_point) @ (B - b_zero_point) as INT32, exact (integer_product.h).
void importMatMulInteger(ImportContext& c) {
  c.add(LayerKind::kIDENTITY, {integerMatMul(c, 0, 2, 1, 3, "MatMulInteger")});
}

// ---- Einsum (ir/einsum.cc, shared with add_einsum) ----
void importEinsum(ImportContext& c) {
  std::vector<ir::EinsumOperand> ops;
  for (int i = 0; i < c.numInputs(); ++i) ops.push_back({c.input(i), c.inputDims(i)});
  const int r = ir::lowerEinsum(c.attrString("equation", ""), ops, compose::emitter(c));
  c.add(LayerKind::kIDENTITY, {r});
}

int reshapeTo(ImportContext& c, int t, const Dims& shape) {
  ir::Layer& l = c.addInternal(LayerKind::kRESHAPE, {t});
  l.attrs.set("shape", std::vector<int64_t>(shape.begin(), shape.end()));
  return l.outputs[0];
}

// Det of [..., n, n] for n <= 3: Leibniz's sum over the n! permutations, each term a product of
// elements gathered from the flattened matrices.
void importDet(ImportContext& c) {
  const Dims d = c.inputDims(0);
  const size_t r = d.size();
  if (r < 2 || d[r - 1] != d[r - 2] || d[r - 1] < 1 || d[r - 1] > 3)
    reject(ErrorKind::kUnsupported,
           str("input is ", dimsToString(d), "; Det of [..., n, n] with n of 1 to 3 is supported"));
  const int64_t n = d[r - 1];
  std::vector<int64_t> flat(d.begin(), d.end() - 2);
  for (int64_t& v : flat) v = v < 0 ? 0 : v;  // 0 copies a dynamic batch dim
  flat.push_back(n * n);
  const int x = reshapeTo(c, c.input(0), flat);
  auto element = [&](int64_t i) {
    ir::Layer& g =
        c.addInternal(LayerKind::kGATHER, {x, c.constantTensor(HostTensor::scalarInt64(i))});
    g.attrs.set("axis", static_cast<int64_t>(r - 2));
    return g.outputs[0];
  };
  auto ew = [&](const char* op, int a, int b) {
    ir::Layer& l = c.addInternal(LayerKind::kELEMENTWISE, {a, b});
    l.attrs.set("op", op);
    return l.outputs[0];
  };
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  int sum = -1;
  do {
    int term = element(perm[0]);
    for (int64_t i = 1; i < n; ++i) term = ew("PROD", term, element(i * n + perm[i]));
    int inversions = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) inversions += perm[i] > perm[j];
    // The identity comes first (even): it starts the sum.
    sum = sum < 0 ? term : ew(inversions % 2 ? "SUB" : "SUM", sum, term);
  } while (std::next_permutation(perm.begin(), perm.end()));
  c.add(LayerKind::kIDENTITY, {sum});
}

}  // namespace

int integerMatMul(ImportContext& c, int ai, int azp, int bi, int bzp, const char* what) {
  const Dims ad = c.inputDims(ai);
  const int64_t K = ad.empty() ? -1 : ad.back();
  const IntegerOperand a = centredOperand(c, ai, azp, {-1, 1}), b = centredOperand(c, bi, bzp);
  return exactIntegerProduct(
      c, a, b, K, what, [&](const IntegerOperand& x, const IntegerOperand& y) {
        const int xt = x.host ? c.constantTensor(*x.host) : x.tensor;
        if (y.host) {
          ir::Layer& l = c.addInternal(LayerKind::kMATRIX_MULTIPLY, {xt});
          l.weights["kernel"] = *y.host;
          return l.outputs[0];
        }
        return c.addInternal(LayerKind::kMATRIX_MULTIPLY, {xt, y.tensor}).outputs[0];
      });
}

void registerMatmulImporters() {
  // Versions 1 and 6 require C and have a `broadcast` attribute: without it C is [M, N], a case
  // of the unidirectional broadcasting imported for all versions.
  registerImporter("Gemm", {1, 6, 7, 9, 11, 13}, importGemm);
  registerImporter("MatMul", {1, 9, 13}, importMatMul);
  registerImporter("MatMulInteger", {10}, importMatMulInteger);
  registerImporter("Einsum", {12, 28}, importEinsum);  // 28 adds dtypes
  registerImporter("Det", {11, 22}, importDet);        // 22 adds dtypes
}

}  // namespace clrt::onnx
