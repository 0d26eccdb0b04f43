// evalOnHost: computes shape subgraphs and small constants on the host (data movement kinds here,
// arithmetic in host_eval_math.cc).
#include <algorithm>
#include <cmath>
#include <limits>

#include "clrt/core/error.h"
#include "clrt/ir/limits.h"
#include "clrt/ir/quantize.h"
#include "clrt/ir/shape_internal.h"

namespace clrt::ir {

using namespace detail;

namespace detail {

bool isFloatType(DataType t) { return t == DataType::kFLOAT || t == DataType::kHALF; }

std::vector<int64_t> stridedIndex(const Dims& out, int64_t base,
                                  const std::vector<int64_t>& strides) {
  const int64_t n = volume(out);
  const int r = static_cast<int>(out.size());
  std::vector<int64_t> res(static_cast<size_t>(std::max<int64_t>(n, 0)));
  std::vector<int64_t> idx(r, 0);
  int64_t off = base;
  for (int64_t i = 0; i < n; ++i) {
    res[i] = off;
    for (int k = r - 1; k >= 0; --k) {  // odometer step
      if (++idx[k] < out[k]) {
        off += strides[k];
        break;
      }
      off -= strides[k] * (out[k] - 1);
      idx[k] = 0;
    }
  }
  return res;
}

std::vector<int64_t> broadcastStrides(const Dims& out, const Dims& in) {
  const auto st = stridesOf(in);
  std::vector<int64_t> res(out.size(), 0);
  const size_t lead = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) res[lead + i] = in[i] == 1 ? 0 : st[i];
  return res;
}

HostTensor fromInt64(DataType t, const Dims& d, const std::vector<int64_t>& v) {
  HostTensor h(t, d);
  uint8_t* p = h.bytes.data();
  for (size_t i = 0; i < v.size(); ++i) {
    switch (t) {
      case DataType::kINT64:
        std::memcpy(p + 8 * i, &v[i], 8);
        break;
      case DataType::kINT32: {
        const int32_t x = static_cast<int32_t>(v[i]);
        std::memcpy(p + 4 * i, &x, 4);
        break;
      }
      case DataType::kFLOAT: {
        const float x = static_cast<float>(v[i]);
        std::memcpy(p + 4 * i, &x, 4);
        break;
      }
      case DataType::kHALF: {
        const uint16_t x = floatToHalf(static_cast<float>(v[i]));
        std::memcpy(p + 2 * i, &x, 2);
        break;
      }
      case DataType::kBOOL:
        p[i] = v[i] != 0;
        break;
      case DataType::kINT8:
      case DataType::kUINT8:
        p[i] = static_cast<uint8_t>(v[i]);
        break;
      default:
        fail(ErrorKind::kUnsupported, str("host values of dtype ", dtypeName(t)));
    }
  }
  return h;
}

HostTensor fromDouble(DataType t, const Dims& d, const std::vector<double>& v) {
  if (!isFloatType(t)) {
    std::vector<int64_t> iv(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      const double x = v[i];  // truncate toward zero; NaN -> 0, saturate out-of-range
      if (t == DataType::kBOOL)
        iv[i] = x != 0.0;
      else if (std::isnan(x))
        iv[i] = 0;
      else if (x >= 9.2233720368547758e18)
        iv[i] = std::numeric_limits<int64_t>::max();
      else if (x <= -9.2233720368547758e18)
        iv[i] = std::numeric_limits<int64_t>::min();
      else
        iv[i] = static_cast<int64_t>(x);
    }
    return fromInt64(t, d, iv);
  }
  HostTensor h(t, d);
  for (size_t i = 0; i < v.size(); ++i) {
    const float f = static_cast<float>(v[i]);
    if (t == DataType::kFLOAT)
      std::memcpy(h.bytes.data() + 4 * i, &f, 4);
    else {
      const uint16_t x = floatToHalf(f);
      std::memcpy(h.bytes.data() + 2 * i, &x, 2);
    }
  }
  return h;
}

std::vector<double> asDoubles(const HostTensor& h) {
  if (h.dtype == DataType::kINT64) {
    const auto v = h.asInt64();
    return std::vector<double>(v.begin(), v.end());
  }
  const auto v = h.asFloats();
  return std::vector<double>(v.begin(), v.end());
}

}  // namespace detail

namespace {

bool hostDtype(DataType t) {
  return t == DataType::kFLOAT || t == DataType::kHALF || t == DataType::kINT64 ||
         t == DataType::kINT32 || t == DataType::kBOOL || t == DataType::kINT8 ||
         t == DataType::kUINT8;
}

// Copies the elements of `src` listed in `index` (one per output element), whatever the dtype.
HostTensor pick(const HostTensor& src, const Dims& outD, const std::vector<int64_t>& index) {
  HostTensor out(src.dtype, outD);
  const size_t es = dtypeSize(src.dtype);
  for (size_t i = 0; i < index.size(); ++i)
    std::memcpy(out.bytes.data() + i * es, src.bytes.data() + index[i] * es, es);
  return out;
}

HostTensor transposeT(const HostTensor& x, const std::vector<int64_t>& perm) {
  const auto st = stridesOf(x.dims);
  Dims outD(perm.size());
  std::vector<int64_t> pst(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    outD[i] = x.dims[perm[i]];
    pst[i] = st[perm[i]];
  }
  return pick(x, outD, stridedIndex(outD, 0, pst));
}

HostTensor reshaped(HostTensor x, const Dims& d) {
  x.dims = d;
  return x;
}

HostTensor concat(const Layer& layer, const std::vector<TensorInfo>& ins, DataType t,
                  const Dims& outD) {
  const int64_t axis = normalizeAxis(layer.attrs.i("axis", 0), outD.size(), layer.name);
  const int64_t outer = volume(Dims(outD.begin(), outD.begin() + axis));
  HostTensor out(t, outD);
  const size_t es = dtypeSize(t);
  uint8_t* dst = out.bytes.data();
  for (int64_t o = 0; o < outer; ++o)
    for (size_t i = 0; i < ins.size(); ++i) {
      if (!hasInput(layer, ins, i)) continue;
      const HostTensor& v = *ins[i].value;
      const size_t chunk = volume(Dims(v.dims.begin() + axis, v.dims.end())) * es;
      if (chunk) std::memcpy(dst, v.bytes.data() + o * chunk, chunk);  // empty: null data
      dst += chunk;
    }
  return out;
}

// GatherElements: out[p] = data[p with p[axis] replaced by indices[p]] (out has indices' dims).
HostTensor gatherElements(const Layer& layer, const HostTensor& data, const HostTensor& indices,
                          const Dims& outD) {
  const int64_t r = static_cast<int64_t>(data.dims.size());
  const int64_t axis = normalizeAxis(layer.attrs.i("axis", 0), r, layer.name);
  const int64_t dim = data.dims[axis];
  std::vector<int64_t> st = stridesOf(data.dims);
  const int64_t axisStride = st[axis];
  st[axis] = 0;
  const auto base = stridedIndex(outD, 0, st);
  const auto idx = indices.asInt64();
  std::vector<int64_t> src(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] < -dim || idx[i] >= dim)
      layerFail(layer, str("index ", idx[i], " out of range for axis size ", dim), data.dims);
    src[i] = static_cast<int64_t>(base[i]) + (idx[i] < 0 ? idx[i] + dim : idx[i]) * axisStride;
  }
  return pick(data, outD, src);
}

HostTensor gather(const Layer& layer, const HostTensor& data, const HostTensor& indices,
                  const Dims& outD) {
  if (layer.attrs.s("mode") == "ELEMENT") return gatherElements(layer, data, indices, outD);
  const int64_t r = static_cast<int64_t>(data.dims.size());
  const int64_t axis = normalizeAxis(layer.attrs.i("axis", 0), r, layer.name);
  const int64_t dim = data.dims[axis];
  const int64_t inner = volume(Dims(data.dims.begin() + axis + 1, data.dims.end()));
  const int64_t outer = volume(Dims(data.dims.begin(), data.dims.begin() + axis));
  auto idx = indices.asInt64();
  for (auto& j : idx) {
    if (j < -dim || j >= dim)
      layerFail(layer, str("index ", j, " out of range for axis size ", dim), data.dims);
    if (j < 0) j += dim;
  }
  std::vector<int64_t> src;
  src.reserve(outer * idx.size() * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j : idx)
      for (int64_t k = 0; k < inner; ++k) src.push_back((o * dim + j) * inner + k);
  return pick(data, outD, src);
}

HostTensor rangeT(const std::vector<TensorInfo>& ins, DataType t, const Dims& outD) {
  const int64_t n = outD[0];
  if (isFloatType(t)) {
    const double s = ins[0].value->asFloats()[0], d = ins[2].value->asFloats()[0];
    std::vector<double> v(n);
    for (int64_t i = 0; i < n; ++i) v[i] = s + static_cast<double>(i) * d;
    return fromDouble(t, outD, v);
  }
  const int64_t s = ins[0].value->asInt64()[0], d = ins[2].value->asInt64()[0];
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = s + i * d;
  return fromInt64(t, outD, v);
}

HostTensor constantOfShape(const Layer& layer, DataType t, const Dims& outD) {
  HostTensor out(t, outD);
  auto it = layer.weights.find("value");
  if (it == layer.weights.end() || it->second.bytes.empty()) return out;  // float zeros
  const size_t es = dtypeSize(t);
  for (size_t i = 0; i + es <= out.bytes.size(); i += es)
    std::memcpy(out.bytes.data() + i, it->second.bytes.data(), es);
  return out;
}

HostTensor whereT(const HostTensor& c, const HostTensor& x, const HostTensor& y, const Dims& outD) {
  const auto ci = stridedIndex(outD, 0, broadcastStrides(outD, c.dims));
  const auto xi = stridedIndex(outD, 0, broadcastStrides(outD, x.dims));
  const auto yi = stridedIndex(outD, 0, broadcastStrides(outD, y.dims));
  const auto cv = c.asInt64();
  HostTensor out(x.dtype, outD);
  const size_t es = dtypeSize(x.dtype);
  for (size_t i = 0; i < ci.size(); ++i) {
    const uint8_t* src = cv[ci[i]] ? x.bytes.data() + xi[i] * es : y.bytes.data() + yi[i] * es;
    std::memcpy(out.bytes.data() + i * es, src, es);
  }
  return out;
}

HostTensor castT(const HostTensor& x, DataType t) {
  if (isFloatType(x.dtype)) return fromDouble(t, x.dims, asDoubles(x));
  return fromInt64(t, x.dims, x.asInt64());
}

}  // namespace

bool canEvalOnHost(LayerKind k) {
  switch (k) {
    case LayerKind::kCONVOLUTION:
    case LayerKind::kPOOLING:
    case LayerKind::kSOFTMAX:
    case LayerKind::kLOG_SOFTMAX:
    case LayerKind::kNORMALIZATION:
    case LayerKind::kREFORMAT:
    case LayerKind::kRESIZE:
    case LayerKind::kDECONVOLUTION:
    case LayerKind::kGRID_SAMPLE:
    case LayerKind::kROI_ALIGN:
    case LayerKind::kATTENTION:
    case LayerKind::kCUMULATIVE:
    case LayerKind::kTOPK:
    case LayerKind::kSCATTER:
    case LayerKind::kPADDING:
    // Control flow is lowered before anything evaluates (passes/lower_control_flow.cc).
    case LayerKind::kTRIP_LIMIT:
    case LayerKind::kRECURRENCE:
    case LayerKind::kITERATOR:
    case LayerKind::kLOOP_OUTPUT:
    case LayerKind::kCONDITION:
    case LayerKind::kIF_INPUT:
    case LayerKind::kIF_OUTPUT:
      return false;
    default:
      return true;
  }
}

namespace {
// The host computes any dtype's CAST (HostTensor::castTo); other layers the dtypes above.
bool hostDtype(const Layer& layer, DataType t) {
  return hostDtype(t) || (layer.kind == LayerKind::kCAST && validDtype(static_cast<int64_t>(t)));
}
}  // namespace

bool canEvalOnHost(const Layer& layer, const Network& net) {
  if (!canEvalOnHost(layer.kind)) return false;
  if (layer.kind == LayerKind::kGATHER && layer.attrs.s("mode") == "ND") return false;
  for (int t : layer.outputs)
    if (t >= 0 && !hostDtype(layer, net.tensors[t].dtype)) return false;
  return true;
}

namespace {
bool evalKind(const Layer& layer, const std::vector<TensorInfo>& given,
              std::vector<HostTensor>& outputs) {
  std::vector<TensorInfo> ins = given;
  for (size_t i = 0; i < ins.size(); ++i) {
    if (!hasInput(layer, ins, i)) continue;
    if (ins[i].value) {
      if (!hostDtype(layer, ins[i].value->dtype)) return false;
      ins[i].dims = ins[i].value->dims;
      ins[i].dtype = ins[i].value->dtype;
    } else if (layer.kind != LayerKind::kSHAPE || i > 0) {
      return false;
    }
  }
  const auto res = inferLayer(layer, ins);
  for (const auto& r : res)
    if (!isStatic(r.second) || !hostDtype(layer, r.first)) return false;
  // Checked before anything is allocated: the shapes may come from a hostile model.
  for (const auto& r : res) checkHostMemory(layer, r.second, r.first, 0, hostTensorLimit());
  const DataType t = res[0].first;
  const Dims& d = res[0].second;
  const HostTensor* x = ins.empty() ? nullptr : ins[0].value;
  outputs.clear();
  switch (layer.kind) {
    case LayerKind::kCONSTANT:
      outputs.push_back(layer.weights.at("value"));
      break;
    case LayerKind::kIDENTITY:
      outputs.push_back(*x);
      break;
    case LayerKind::kSHAPE: {
      if (!isStatic(ins[0].dims)) return false;
      const int64_t r = static_cast<int64_t>(ins[0].dims.size());
      int64_t s = layer.attrs.i("start", 0);
      s = std::clamp<int64_t>(s < 0 ? s + r : s, 0, r);
      outputs.push_back(HostTensor::fromInt64(
          d, std::vector<int64_t>(ins[0].dims.begin() + s, ins[0].dims.begin() + s + d[0])));
      break;
    }
    case LayerKind::kCAST:
      if (layer.attrs.i("bitcast", 0) != 0) {
        if (dtypeSize(x->dtype) != dtypeSize(t)) return false;
        HostTensor b = *x;
        b.dtype = t;
        outputs.push_back(std::move(b));
      } else if (hostDtype(x->dtype) && hostDtype(t)) {
        outputs.push_back(castT(*x, t));
      } else {
        outputs.push_back(x->castTo(
            t, castMode(layer.attrs.i("saturate", 1) != 0, layer.attrs.s("round_mode", "up"))));
      }
      break;
    case LayerKind::kRESHAPE:
    case LayerKind::kFLATTEN:
    case LayerKind::kSQUEEZE:
    case LayerKind::kUNSQUEEZE:
      outputs.push_back(reshaped(*x, d));
      break;
    case LayerKind::kSHUFFLE: {
      HostTensor v = *x;
      auto first = layer.attrs.ints("first_transpose");
      if (!first.empty()) v = transposeT(v, resolvePerm(layer, first, v.dims));
      auto second = layer.attrs.ints("second_transpose");
      if (second.empty()) {
        outputs.push_back(reshaped(std::move(v), d));
        break;
      }
      // The reshaped dims are the output dims before the second transpose.
      Dims mid(d.size());
      const auto perm = resolvePerm(layer, second, d);
      for (size_t i = 0; i < perm.size(); ++i) mid[perm[i]] = d[i];
      outputs.push_back(transposeT(reshaped(std::move(v), mid), perm));
      break;
    }
    case LayerKind::kTRANSPOSE:
      outputs.push_back(transposeT(*x, resolvePerm(layer, layer.attrs.ints("perm"), x->dims)));
      break;
    case LayerKind::kCONCATENATION:
      for (size_t i = 0; i < ins.size(); ++i)
        if (hasInput(layer, ins, i) && ins[i].value->dtype != t) return false;
      outputs.push_back(concat(layer, ins, t, d));
      break;
    case LayerKind::kSLICE: {
      const SliceParams p = resolveSlice(layer, ins);
      const auto st = stridesOf(x->dims);
      int64_t base = 0;
      std::vector<int64_t> sst(st.size());
      for (size_t i = 0; i < st.size(); ++i) {
        base += p.start[i] * st[i];
        sst[i] = p.step[i] * st[i];
      }
      outputs.push_back(pick(*x, d, stridedIndex(d, base, sst)));
      break;
    }
    case LayerKind::kSPLIT: {
      const int64_t ax = normalizeAxis(layer.attrs.i("axis", 0), x->dims.size(), layer.name);
      const auto st = stridesOf(x->dims);
      int64_t off = 0;
      for (const auto& r : res) {
        outputs.push_back(pick(*x, r.second, stridedIndex(r.second, off * st[ax], st)));
        off += r.second[ax];
      }
      break;
    }
    case LayerKind::kGATHER:
      if (layer.attrs.s("mode") == "ND") return false;  // runs on the device
      outputs.push_back(gather(layer, *x, *ins[1].value, d));
      break;
    case LayerKind::kEXPAND:
      outputs.push_back(pick(*x, d, stridedIndex(d, 0, broadcastStrides(d, x->dims))));
      break;
    case LayerKind::kWHERE:
      if (ins[1].value->dtype != ins[2].value->dtype) return false;
      outputs.push_back(whereT(*x, *ins[1].value, *ins[2].value, d));
      break;
    case LayerKind::kRANGE:
      outputs.push_back(rangeT(ins, t, d));
      break;
    case LayerKind::kCONSTANT_OF_SHAPE:
      outputs.push_back(constantOfShape(layer, t, d));
      break;
    case LayerKind::kELEMENTWISE: {
      outputs.emplace_back();
      if (!evalElementwise(layer, {x, ins[1].value}, t, d, outputs[0])) return false;
      break;
    }
    case LayerKind::kUNARY:
      outputs.emplace_back();
      if (!evalUnary(layer, *x, t, outputs[0])) return false;
      break;
    case LayerKind::kACTIVATION:
      outputs.emplace_back();
      if (!evalActivation(layer, *x, outputs[0])) return false;
      break;
    case LayerKind::kSCALE:
      outputs.emplace_back();
      if (!evalScale(layer, *x, outputs[0])) return false;
      break;
    case LayerKind::kREDUCE:
      outputs.emplace_back();
      if (!evalReduce(layer, ins, d, outputs[0])) return false;
      break;
    case LayerKind::kMATRIX_MULTIPLY:
      outputs.emplace_back();
      if (!evalMatmul(layer, ins, d, outputs[0])) return false;
      break;
    case LayerKind::kQUANTIZE:
    case LayerKind::kDEQUANTIZE:
      outputs.emplace_back();
      if (!evalQuantizeLayer(layer, ins, outputs[0])) return false;
      break;
    default:
      return false;
  }
  return true;
}
}  // namespace

bool evalOnHost(const Layer& layer, const std::vector<TensorInfo>& given,
                std::vector<HostTensor>& outputs) {
  if (!canEvalOnHost(layer.kind)) return false;
  if (isDataDependent(layer.kind)) {  // every input known: e.g. NonZero of a constant mask
    std::vector<HostTensor> in;
    for (size_t i = 0; i < given.size(); ++i) {
      if (!hasInput(layer, given, i)) {
        in.emplace_back();
        continue;
      }
      if (!given[i].value || !hostDtype(given[i].value->dtype)) return false;
      in.push_back(*given[i].value);
    }
    outputs = evalDataDependent(layer, in);
    return true;
  }
  try {
    return evalKind(layer, given, outputs);
  } catch (const Error& e) {
    nameLayer(layer, e);
  }
}

}  // namespace clrt::ir
