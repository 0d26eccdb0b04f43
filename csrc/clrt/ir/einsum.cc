// Einsum lowering (einsum.h), moved here from the ONNX importer so that add_einsum builds the
// same layers.
#include "clrt/ir/einsum.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "clrt/core/error.h"

namespace clrt::ir {
namespace {

// An operand as the lowering sees it: a tensor, one label per dim (letters; ellipsis dims are
// '0' + k, right-aligned over the widest ellipsis) and its known dims.
struct Operand {
  int t;
  std::string labels;
  Dims dims;
};

class Lowering {
 public:
  explicit Lowering(const EinsumEmit& emit) : emit_(emit) {}

  int reshape(int t, const Dims& shape) {
    return emit_(LayerKind::kRESHAPE, {t}, [&](Layer& l) {
      l.attrs.set("shape", std::vector<int64_t>(shape.begin(), shape.end()));
    });
  }

  // The operand with its dims in the order of `labels` (a permutation of its own).
  void permute(Operand& o, const std::string& labels) {
    if (labels == o.labels) return;
    std::vector<int64_t> perm;
    Dims dims;
    for (char ch : labels) {
      const size_t p = o.labels.find(ch);
      perm.push_back(static_cast<int64_t>(p));
      dims.push_back(o.dims[p]);
    }
    const int t = emit_(LayerKind::kTRANSPOSE, {o.t}, [&](Layer& l) { l.attrs.set("perm", perm); });
    o = {t, labels, dims};
  }

  // Takes the diagonal of every repeated label, then sums the labels `keep` does not hold.
  void reduce(Operand& o, const std::string& keep) {
    for (size_t p = 0; p < o.labels.size(); ++p) {
      const size_t q = o.labels.find(o.labels[p], p + 1);
      if (q == std::string::npos) continue;
      const char ch = o.labels[p];
      const int64_t n = o.dims[p];
      if (o.dims[q] != n)
        fail(ErrorKind::kParse, str("label '", ch, "' spans dims of ", n, " and ", o.dims[q]));
      std::string rest;
      // [rest..., ch, ch] -> [rest..., n * n], and the diagonal is every (n + 1)-th element.
      std::vector<int64_t> perm;
      Dims dims;
      for (size_t k = 0; k < o.labels.size(); ++k)
        if (k != p && k != q) {
          rest += o.labels[k];
          perm.push_back(static_cast<int64_t>(k));
          dims.push_back(o.dims[k]);
        }
      perm.push_back(static_cast<int64_t>(p));
      perm.push_back(static_cast<int64_t>(q));
      const int tr =
          emit_(LayerKind::kTRANSPOSE, {o.t}, [&](Layer& l) { l.attrs.set("perm", perm); });
      Dims flat = dims;
      flat.push_back(n * n);
      const int r = reshape(tr, flat);
      std::vector<int64_t> diag;
      for (int64_t i = 0; i < n; ++i) diag.push_back(i * (n + 1));
      const int idx = emit_(LayerKind::kCONSTANT, {}, [&](Layer& l) {
        l.weights["value"] = HostTensor::fromInt64({n}, diag);
      });
      const int g = emit_(LayerKind::kGATHER, {r, idx}, [&](Layer& l) {
        l.attrs.set("axis", static_cast<int64_t>(dims.size()));
      });
      dims.push_back(n);
      o = {g, rest + ch, dims};
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
    const int t = emit_(LayerKind::kREDUCE, {o.t}, [&](Layer& l) {
      l.attrs.set("op", "SUM");
      l.attrs.set("axes", axes);
      l.attrs.set("keepdims", int64_t{0});
    });
    o = {t, kept, dims};
  }

 private:
  const EinsumEmit& emit_;
};

int64_t volumeOf(const Operand& o, const std::string& labels) {
  int64_t v = 1;
  for (char ch : labels) v *= o.dims[o.labels.find(ch)];
  return v;
}

}  // namespace

std::string einsumEquation(const std::string& equation) {
  std::string eq;
  for (char ch : equation)
    if (ch != ' ') eq += ch;
  return eq;
}

int lowerEinsum(const std::string& equation, const std::vector<EinsumOperand>& operands,
                const EinsumEmit& emit) {
  const std::string eq = einsumEquation(equation);
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms(1);
  for (char ch : lhs) {
    if (ch == ',')
      terms.emplace_back();
    else
      terms.back() += ch;
  }
  const int n = static_cast<int>(operands.size());
  if (static_cast<int>(terms.size()) != n)
    fail(ErrorKind::kParse,
         str("equation '", eq, "' has ", terms.size(), " terms for ", n, " inputs"));
  if (n > 2)
    fail(ErrorKind::kUnsupported,
         str("Einsum over ", n, " operands is not implemented (one or two are)"));
  // Ellipsis dims first: how many each term covers, and the widest.
  std::vector<Operand> ops;
  size_t widest = 0;
  for (int i = 0; i < n; ++i) {
    const Dims& d = operands[i].dims;
    for (int64_t v : d)
      if (v < 0) fail(ErrorKind::kUnsupported, str("input ", i, " has dynamic dims"));
    const std::string& t = terms[i];
    const size_t e = t.find("...");
    const size_t letters = t.size() - (e == std::string::npos ? 0 : 3);
    if (letters > d.size() || (e == std::string::npos && letters != d.size()))
      fail(ErrorKind::kParse, str("term '", t, "' does not fit input ", i, " of rank ", d.size()));
    if (e != std::string::npos) widest = std::max(widest, d.size() - letters);
    ops.push_back({operands[i].tensor, t, d});
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
        fail(ErrorKind::kParse, str("equation '", eq, "' holds '", ch, "'"));
      if (size.count(ch) && size[ch] != o.dims[k])
        fail(ErrorKind::kUnsupported,
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
        fail(ErrorKind::kParse, str("output label '", ch, "' is in no input term"));
    for (size_t k = 0; k < out.size(); ++k)
      if (out.find(out[k], k + 1) != std::string::npos)
        fail(ErrorKind::kParse, str("output label '", out[k], "' appears twice"));
  }
  Lowering low(emit);
  for (int i = 0; i < n; ++i)
    low.reduce(ops[i], out + (n == 2 ? ops[1 - i].labels : std::string()));
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
    low.permute(pa, batch + left + contract);
    low.permute(pb, batch + contract + right);
    const int64_t nb = volumeOf(pa, batch), nk = volumeOf(pa, contract);
    const int ra = low.reshape(pa.t, {nb, volumeOf(pa, left), nk});
    const int rb = low.reshape(pb.t, {nb, nk, volumeOf(pb, right)});
    const int mm = emit(LayerKind::kMATRIX_MULTIPLY, {ra, rb}, {});
    const std::string labels = batch + left + right;
    Dims dims;
    for (char ch : labels) dims.push_back(size[ch]);
    r = {low.reshape(mm, dims), labels, dims};
  }
  low.permute(r, out);
  return r.t;
}

}  // namespace clrt::ir
