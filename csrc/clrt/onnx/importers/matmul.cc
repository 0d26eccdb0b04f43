// Matrix-multiply importers: Gemm (alpha/beta/transposes, C as bias or a separate sum), MatMul
// and MatMulInteger (exact, by integer_product.h),
// Einsum (one or two operands, lowered onto transposes, reshapes, diagonal gathers, sums and
// one batched MATRIX_MULTIPLY) and Det (up to 3 x 3, gathers and products).
#include <algorithm>
#include <map>

#include "clrt/onnx/importer.h"
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

// ---- Einsum ----
// An operand as the lowering sees it: a tensor, one label per dim (letters; ellipsis dims are
// '0' + k, right-aligned over the widest ellipsis) and its known dims.
struct Operand {
  int t;
  std::string labels;
  Dims dims;
};

int einsumReshape(ImportContext& c, int t, const Dims& shape) {
  ir::Layer& l = c.addInternal(LayerKind::kRESHAPE, {t});
  l.attrs.set("shape", std::vector<int64_t>(shape.begin(), shape.end()));
  return l.outputs[0];
}

// The operand with its dims in the order of `labels` (a permutation of its own).
void einsumPermute(ImportContext& c, Operand& o, const std::string& labels) {
  if (labels == o.labels) return;
  std::vector<int64_t> perm;
  Dims dims;
  for (char ch : labels) {
    const size_t p = o.labels.find(ch);
    perm.push_back(static_cast<int64_t>(p));
    dims.push_back(o.dims[p]);
  }
  ir::Layer& l = c.addInternal(LayerKind::kTRANSPOSE, {o.t});
  l.attrs.set("perm", perm);
  o = {l.outputs[0], labels, dims};
}

// Takes the diagonal of every repeated label, then sums the labels `keep` does not hold.
void einsumReduce(ImportContext& c, Operand& o, const std::string& keep) {
  for (size_t p = 0; p < o.labels.size(); ++p) {
    const size_t q = o.labels.find(o.labels[p], p + 1);
    if (q == std::string::npos) continue;
    const char ch = o.labels[p];
    const int64_t n = o.dims[p];
    if (o.dims[q] != n)
      reject(ErrorKind::kParse, str("label '", ch, "' spans dims of ", n, " and ", o.dims[q]));
    std::string rest;
    for (size_t k = 0; k < o.labels.size(); ++k)
      if (k != p && k != q) rest += o.labels[k];
    // [rest..., ch, ch] -> [rest..., n * n], and the diagonal is every (n + 1)-th element.
    std::string order = rest + ch;
    order += ch;
    std::vector<int64_t> perm;
    Dims dims;
    for (size_t k = 0; k < o.labels.size(); ++k)
      if (k != p && k != q) perm.push_back(static_cast<int64_t>(k)), dims.push_back(o.dims[k]);
    perm.push_back(static_cast<int64_t>(p));
    perm.push_back(static_cast<int64_t>(q));
    ir::Layer& tr = c.addInternal(LayerKind::kTRANSPOSE, {o.t});
    tr.attrs.set("perm", perm);
    Dims flat = dims;
    flat.push_back(n * n);
    const int r = einsumReshape(c, tr.outputs[0], flat);
    std::vector<int64_t> diag;
    for (int64_t i = 0; i < n; ++i) diag.push_back(i * (n + 1));
    const int idx = c.constantTensor(HostTensor::fromInt64({n}, diag));
    ir::Layer& g = c.addInternal(LayerKind::kGATHER, {r, idx});
    g.attrs.set("axis", static_cast<int64_t>(dims.size()));
    dims.push_back(n);
    o = {g.outputs[0], rest + ch, dims};
    p = static_cast<size_t>(-1);  // the labels moved: look again from the start
  }
  std::vector<int64_t> axes;
  std::string kept;
  Dims dims;
  for (size_t k = 0; k < o.labels.size(); ++k) {
    if (keep.find(o.labels[k]) == std::string::npos)
      axes.push_back(static_cast<int64_t>(k));
    else
      kept += o.labels[k], dims.push_back(o.dims[k]);
  }
  if (axes.empty()) return;
  ir::Layer& l = c.addInternal(LayerKind::kREDUCE, {o.t});
  l.attrs.set("op", "SUM");
  l.attrs.set("axes", axes);
  l.attrs.set("keepdims", int64_t{0});
  o = {l.outputs[0], kept, dims};
}

int64_t einsumVolume(const Operand& o, const std::string& labels) {
  int64_t v = 1;
  for (char ch : labels) v *= o.dims[o.labels.find(ch)];
  return v;
}

void importEinsum(ImportContext& c) {
  std::string eq;
  for (char ch : c.attrString("equation", "")) {
    if (ch != ' ') eq += ch;
  }
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms(1);
  for (char ch : lhs) {
    if (ch == ',')
      terms.emplace_back();
    else
      terms.back() += ch;
  }
  const int n = c.numInputs();
  if (static_cast<int>(terms.size()) != n)
    reject(ErrorKind::kParse,
           str("equation '", eq, "' has ", terms.size(), " terms for ", n, " inputs"));
  if (n > 2)
    reject(ErrorKind::kUnsupported,
           str("Einsum over ", n, " operands is not implemented (one or two are)"));
  // Ellipsis dims first: how many each term covers, and the widest.
  std::vector<Operand> ops;
  size_t widest = 0;
  for (int i = 0; i < n; ++i) {
    const Dims d = c.inputDims(i);
    for (int64_t v : d)
      if (v < 0) reject(ErrorKind::kUnsupported, str("input ", i, " has dynamic dims"));
    const std::string& t = terms[i];
    const size_t e = t.find("...");
    const size_t letters = t.size() - (e == std::string::npos ? 0 : 3);
    if (letters > d.size() || (e == std::string::npos && letters != d.size()))
      reject(ErrorKind::kParse,
             str("term '", t, "' does not fit input ", i, " of rank ", d.size()));
    if (e != std::string::npos) widest = std::max(widest, d.size() - letters);
    ops.push_back({c.input(i), t, d});
  }
  for (Operand& o : ops) {
    const size_t e = o.labels.find("...");
    if (e == std::string::npos) continue;
    const size_t k = o.dims.size() - (o.labels.size() - 3);
    std::string ell;
    for (size_t j = widest - k; j < widest; ++j) ell += static_cast<char>('0' + j);
    o.labels.replace(e, 3, ell);
  }
  std::map<char, int64_t> size;
  std::map<char, int> count;
  for (const Operand& o : ops)
    for (size_t k = 0; k < o.labels.size(); ++k) {
      const char ch = o.labels[k];
      if (!std::isalpha(static_cast<unsigned char>(ch)) &&
          !std::isdigit(static_cast<unsigned char>(ch)))
        reject(ErrorKind::kParse, str("equation '", eq, "' holds '", ch, "'"));
      if (size.count(ch) && size[ch] != o.dims[k])
        reject(ErrorKind::kUnsupported,
               str("label '", ch, "' spans dims of ", size[ch], " and ", o.dims[k],
                   " (broadcasting Einsum dims is not implemented)"));
      size[ch] = o.dims[k];
      ++count[ch];
    }
  std::string out;
  if (arrow == std::string::npos) {  // implicit: ellipsis dims, then labels seen once, sorted
    for (const auto& [ch, k] : count)
      if (std::isdigit(static_cast<unsigned char>(ch))) out += ch;
    for (const auto& [ch, k] : count)
      if (k == 1 && std::isalpha(static_cast<unsigned char>(ch))) out += ch;
  } else {
    out = eq.substr(arrow + 2);
    std::string ell;
    for (size_t j = 0; j < widest; ++j) ell += static_cast<char>('0' + j);
    if (const size_t e = out.find("..."); e != std::string::npos) out.replace(e, 3, ell);
    for (char ch : out)
      if (!size.count(ch))
        reject(ErrorKind::kParse, str("output label '", ch, "' is in no input term"));
  }
  for (int i = 0; i < n; ++i)
    einsumReduce(c, ops[i], out + (n == 2 ? ops[1 - i].labels : std::string()));
  Operand r = ops[0];
  if (n == 2) {
    const Operand &a = ops[0], &b = ops[1];
    std::string batch, left, right, contract;
    for (char ch : a.labels)
      (b.labels.find(ch) == std::string::npos ? left
       : out.find(ch) == std::string::npos    ? contract
                                              : batch) += ch;
    for (char ch : b.labels)
      if (a.labels.find(ch) == std::string::npos) right += ch;
    Operand pa = a, pb = b;
    einsumPermute(c, pa, batch + left + contract);
    einsumPermute(c, pb, batch + contract + right);
    const int64_t nb = einsumVolume(pa, batch), nk = einsumVolume(pa, contract);
    const int ra = einsumReshape(c, pa.t, {nb, einsumVolume(pa, left), nk});
    const int rb = einsumReshape(c, pb.t, {nb, nk, einsumVolume(pb, right)});
    ir::Layer& mm = c.addInternal(LayerKind::kMATRIX_MULTIPLY, {ra, rb});
    const std::string labels = batch + left + right;
    Dims dims;
    for (char ch : labels) dims.push_back(size[ch]);
    r = {einsumReshape(c, mm.outputs[0], dims), labels, dims};
  }
  einsumPermute(c, r, out);
  c.add(LayerKind::kIDENTITY, {r.t});
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
  const int x = einsumReshape(c, c.input(0), flat);
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
