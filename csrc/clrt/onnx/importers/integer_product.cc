// Exact integer products in FLOAT layers (see integer_product.h).
#include "clrt/onnx/importers/integer_product.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "clrt/ir/quantize.h"
#include "clrt/onnx/importers/compose.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

// Partial sums below this are exact in FLOAT.
constexpr double kExactFloat = 16777216.0;  // 2^24

// The magnitude an 8-bit integer input can reach, before and after its zero point.
double dtypeBound(DataType t, bool withZeroPoint) {
  const bool narrow = t == DataType::kINT8 || t == DataType::kUINT8;
  if (!narrow) return -1;
  if (withZeroPoint) return 255;  // x - zp over two values of the same 8-bit type
  return t == DataType::kUINT8 ? 255 : 128;
}

double hostMaxAbs(const HostTensor& t) {
  double m = 0;
  for (float v : t.asFloats()) m = std::max(m, static_cast<double>(std::fabs(v)));
  return m;
}

struct Digit {
  IntegerOperand value;
  int64_t weight;  // the digit's place value
};

// x = 16 * floor(x / 16) + (x - 16 * floor(x / 16)): digits with magnitudes at most
// ceil(maxAbs / 16) and 15; both computed exactly in FLOAT (x / 16 is a power-of-two scaling).
std::pair<IntegerOperand, IntegerOperand> splitDigit(ImportContext& c, const IntegerOperand& x) {
  IntegerOperand hi, lo;
  hi.maxAbs = std::ceil(x.maxAbs / 16);
  lo.maxAbs = 15;
  if (x.host) {
    HostTensor h = *x.host, l = *x.host;
    for (int64_t k = 0; k < h.numel(); ++k) {
      const float q = std::floor(x.host->f32()[k] / 16.0f);
      h.f32()[k] = q;
      l.f32()[k] = x.host->f32()[k] - 16.0f * q;
    }
    hi.host = std::move(h);
    lo.host = std::move(l);
    return {hi, lo};
  }
  using namespace compose;
  ir::Layer& f =
      c.addInternal(LayerKind::kUNARY, {binary(c, "PROD", x.tensor, floatScalar(c, 1.0f / 16.0f))});
  f.attrs.set("op", "FLOOR");
  hi.tensor = f.outputs[0];
  lo.tensor = binary(c, "SUB", x.tensor, binary(c, "PROD", hi.tensor, floatScalar(c, 16.0f)));
  return {hi, lo};
}

// Splits the operand with the larger bound until one digit product's K-term sum is exact.
bool splitUntilExact(ImportContext& c, std::vector<Digit>& a, std::vector<Digit>& b, double K) {
  auto bound = [](const std::vector<Digit>& d) {
    double m = 0;
    for (const Digit& x : d) m = std::max(m, x.value.maxAbs);
    return m;
  };
  while (K * bound(a) * bound(b) >= kExactFloat) {
    std::vector<Digit>& s = bound(a) >= bound(b) ? a : b;
    if (bound(s) <= 16) return false;
    std::vector<Digit> next;
    for (const Digit& d : s) {
      auto [hi, lo] = splitDigit(c, d.value);
      next.push_back({hi, d.weight * 16});
      next.push_back({lo, d.weight});
    }
    s = std::move(next);
  }
  return true;
}

}  // namespace

IntegerOperand centredOperand(ImportContext& c, int i, int zp, const Dims& zpShape) {
  const bool hasZp = c.hasInput(zp);
  IntegerOperand r;
  r.maxAbs = dtypeBound(c.logicalDtype(i), hasZp);
  if (r.maxAbs < 0)
    reject(ErrorKind::kUnsupported, str("input ", i, " ('", c.node().input(i), "') is ",
                                        dtypeName(c.logicalDtype(i)), "; expected INT8 or UINT8"));
  if (hasZp && c.logicalDtype(zp) != c.logicalDtype(i))
    reject(ErrorKind::kParse, str("zero point (input ", zp, ", '", c.node().input(zp), "') is ",
                                  dtypeName(c.logicalDtype(zp)), " but input ", i, " is ",
                                  dtypeName(c.logicalDtype(i))));
  const HostTensor* hx = c.constant(i);
  const HostTensor* hz = hasZp ? c.constant(zp) : nullptr;
  if (hx && (!hasZp || hz)) {  // centred on the host: DequantizeLinear's arithmetic, scale 1
    ir::QuantParams p;
    p.qtype = hx->dtype;
    p.zero = hz ? hz->asInt64() : std::vector<int64_t>{0};
    p.scale.assign(p.zero.size(), 1.0f);
    if (p.zero.size() > 1) {  // along zpShape's -1 dim (right-aligned), else the last dim
      const int64_t rank = static_cast<int64_t>(hx->dims.size());
      p.axis = rank - 1;
      for (size_t d = 0; d < zpShape.size(); ++d)
        if (zpShape[d] < 0) p.axis = rank - static_cast<int64_t>(zpShape.size() - d);
      if (p.axis < 0 || hx->dims[p.axis] != static_cast<int64_t>(p.zero.size()))
        reject(ErrorKind::kParse, str("zero point of ", p.zero.size(), " values does not match ",
                                      "its input ", dimsToString(hx->dims)));
    }
    r.host = ir::dequantizeLinear(*hx, p);
    r.maxAbs = hostMaxAbs(*r.host);
    return r;
  }
  using namespace compose;
  r.tensor = c.castTensor(c.input(i), DataType::kFLOAT);
  if (hasZp) {
    int z = c.castTensor(c.input(zp), DataType::kFLOAT);
    const Dims zd = c.inputDims(zp);
    if (!zpShape.empty() && zd.size() == 1 && zd[0] != 1)
      z = withAttr(c, LayerKind::kRESHAPE, z, "shape", zpShape);
    r.tensor = binary(c, "SUB", r.tensor, z);
  }
  return r;
}

int exactIntegerProduct(
    ImportContext& c, const IntegerOperand& a, const IntegerOperand& b, int64_t K,
    const std::string& what,
    const std::function<int(const IntegerOperand&, const IntegerOperand&)>& product) {
  if (K < 0)
    reject(ErrorKind::kUnsupported,
           str(what,
               ": the reduction length is dynamic; clrt needs it static to keep the "
               "integer sums exact"));
  std::vector<Digit> da{{a, 1}}, db{{b, 1}};
  if (!splitUntilExact(c, da, db, static_cast<double>(std::max<int64_t>(K, 1))))
    reject(ErrorKind::kUnsupported,
           str(what, " sums ", K,
               " products: clrt computes integer products exactly in FLOAT by 4-bit digits, "
               "which holds for at most 65,536 products per output"),
           "split the reduction into parts");
  // Digit products, cast to INT32, scaled by their place values and summed there.
  int sum = -1;
  for (const Digit& x : da)
    for (const Digit& y : db) {
      ir::Layer& p = c.net().layers[c.net().tensors[product(x.value, y.value)].producer];
      p.exact_float = true;  // FP16 or INT8 would round the sums
      int term = c.castTensor(p.outputs[0], DataType::kINT32);
      if (x.weight * y.weight != 1) {
        HostTensor w = HostTensor::fromInt64({}, {x.weight * y.weight}).castTo(DataType::kINT32);
        term = compose::binary(c, "PROD", term, c.constantTensor(std::move(w)));
      }
      sum = sum < 0 ? term : compose::binary(c, "SUM", sum, term);
    }
  return sum;
}

}  // namespace clrt::onnx
