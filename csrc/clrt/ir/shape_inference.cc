// inferLayer: the executable form of the layer kind table in ir/network.h (ONNX semantics).
#include "clrt/ir/shape_inference.h"

#include <algorithm>
#include <cmath>

#include "clrt/core/error.h"
#include "clrt/ir/limits.h"
#include "clrt/ir/shape_internal.h"

namespace clrt::ir {

using namespace detail;

namespace {

using Result = std::vector<std::pair<DataType, Dims>>;

// The length of 1-D shape input `idx` whose values are unknown: the rank of the result.
size_t shapeInputRank(const Layer& layer, const std::vector<TensorInfo>& ins, size_t idx) {
  const Dims& sd = ins[idx].dims;
  if (sd.size() != 1 || sd[0] < 0)
    layerFail(layer, "shape input must be 1-D with a known length", sd);
  if (sd[0] > kMaxRank)
    layerFail(layer,
              str("shape input of ", sd[0], " values: results of rank above ", kMaxRank,
                  " are not supported"),
              sd);
  return static_cast<size_t>(sd[0]);
}

// A result shape whose values are known: refused above kMaxRank like an unknown one.
const std::vector<int64_t>& rankChecked(const Layer& layer, const std::vector<int64_t>& shape) {
  if (static_cast<int64_t>(shape.size()) > kMaxRank)
    layerFail(
        layer,
        str("a result of rank ", shape.size(), ": ranks above ", kMaxRank, " are not supported"),
        Dims{});
  return shape;
}

// Reshape target from shape input `idx` (value, or only its length when unknown) or attr.
bool reshapeSpec(const Layer& layer, const std::vector<TensorInfo>& ins, size_t idx,
                 const char* attr, std::vector<int64_t>& spec, Dims& unknownOut) {
  if (hasInput(layer, ins, idx)) {
    if (inputInts(layer, ins, idx, spec)) {
      rankChecked(layer, spec);
      return true;
    }
    unknownOut.assign(shapeInputRank(layer, ins, idx), -1);
    return false;
  }
  if (!layer.attrs.has(attr))
    layerFail(layer, str("needs a shape input or attr '", attr, "'"), ins[0].dims);
  spec = rankChecked(layer, layer.attrs.ints(attr));
  return true;
}

Dims permute(const Dims& d, const std::vector<int64_t>& perm) {
  Dims out(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) out[i] = d[perm[i]];
  return out;
}

Dims inferShuffle(const Layer& layer, const std::vector<TensorInfo>& ins) {
  Dims d = ins[0].dims;
  auto first = layer.attrs.ints("first_transpose");
  if (!first.empty()) d = permute(d, resolvePerm(layer, first, d));
  if (layer.attrs.i("has_reshape", 0) || hasInput(layer, ins, 1)) {
    std::vector<int64_t> spec;
    Dims unknown;
    if (reshapeSpec(layer, ins, 1, "reshape_dims", spec, unknown))
      d = reshapeDims(layer, d, spec, layer.attrs.i("zero_is_placeholder", 1) == 0);
    else
      d = unknown;
  }
  auto second = layer.attrs.ints("second_transpose");
  if (!second.empty()) d = permute(d, resolvePerm(layer, second, d));
  return d;
}

Dims inferReduce(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims& x = ins[0].dims;
  const int64_t r = static_cast<int64_t>(x.size());
  std::vector<int64_t> axes;
  const bool keep = layer.attrs.i("keepdims", 1) != 0;
  if (!layerAxes(layer, ins, axes)) {
    // Axes known only at run time (a shape input): the rank is known, the dims are not.
    const Dims& a = ins[1].dims;
    const int64_t n = a.empty() ? 1 : a[0];
    if (n == 0 && layer.attrs.i("noop_with_empty_axes", 0)) return x;
    if (n == 0) return keep ? Dims(r, 1) : Dims{};
    if (keep) return Dims(r, -1);
    if (n > 0 && n <= r) return Dims(r - n, -1);
    layerFail(layer, "reduce axes of unknown count must be known at build time", x);
  }
  if (axes.empty()) {
    if (layer.attrs.i("noop_with_empty_axes", 0)) return x;
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  }
  std::vector<char> red(r, 0);
  for (int64_t a : axes) red[axisOf(layer, a, r, x)] = 1;
  const std::string op = layer.attrs.s("op");
  if (op == "ARGMAX" || op == "ARGMIN")
    for (int64_t i = 0; i < r; ++i)
      if (red[i] && x[i] == 0)
        layerFail(layer,
                  str("the index of an extreme over axis ", i, " needs elements; it has none"), x);
  Dims out;
  for (int64_t i = 0; i < r; ++i) {
    if (!red[i])
      out.push_back(x[i]);
    else if (keep)
      out.push_back(1);
  }
  return out;
}

// GatherND: indices.dims[:-1] + data.dims[batch_dims + K:], K = indices.dims[-1] (static).
Dims inferGatherNd(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims &x = ins[0].dims, &idx = ins[1].dims;
  const int64_t b = layer.attrs.i("batch_dims", 0);
  const int64_t r = static_cast<int64_t>(x.size()), q = static_cast<int64_t>(idx.size());
  if (q < 1 || b < 0 || b >= q || b >= r)
    layerFail(layer, str("batch_dims ", b, " does not fit indices ", dimsToString(idx)), x);
  const int64_t K = idx.back();
  if (K < 0) layerFail(layer, "the last dim of indices must be static", idx);
  if (b + K > r)
    layerFail(layer,
              str("index rows of ", K, " values exceed the data rank after ", b, " batch dims"), x);
  Dims out(idx.begin(), idx.end() - 1);
  out.insert(out.end(), x.begin() + b + K, x.end());
  return out;
}

// The number of axes a run-time axes input (input 1) holds: its length, which must be static.
int64_t runtimeAxesCount(const Layer& layer, const std::vector<TensorInfo>& ins, const Dims& x) {
  const Dims& a = ins[1].dims;
  const int64_t n = a.empty() ? 1 : a[0];
  if (a.size() > 1 || n < 0)
    layerFail(layer,
              str("axes computed at run time must be a 1-D tensor of static length, got ",
                  dimsToString(a)),
              x);
  return n;
}

Dims inferSqueeze(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims& x = ins[0].dims;
  const int64_t r = static_cast<int64_t>(x.size());
  std::vector<int64_t> axes;
  if (!layerAxes(layer, ins, axes)) {
    // Axes known only at run time (a shape input): n of them go, the rest are unknown here.
    const int64_t n = runtimeAxesCount(layer, ins, x);
    if (n > r) layerFail(layer, str(n, " squeeze axes for rank ", r), x);
    return Dims(r - n, -1);
  }
  std::vector<char> drop(r, 0);
  if (axes.empty()) {
    for (int64_t i = 0; i < r; ++i) drop[i] = x[i] == 1;  // dynamic dims are assumed not 1
  }
  for (int64_t a : axes) {
    const int64_t ax = axisOf(layer, a, r, x);
    if (x[ax] != 1 && x[ax] >= 0)
      layerFail(layer, str("cannot squeeze axis ", a, " of size ", x[ax]), x);
    drop[ax] = 1;
  }
  Dims out;
  for (int64_t i = 0; i < r; ++i)
    if (!drop[i]) out.push_back(x[i]);
  return out;
}

Dims inferUnsqueeze(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims& x = ins[0].dims;
  std::vector<int64_t> axes;
  if (!layerAxes(layer, ins, axes)) return Dims(x.size() + runtimeAxesCount(layer, ins, x), -1);
  const int64_t r = static_cast<int64_t>(x.size() + axes.size());
  std::vector<char> ins1(r, 0);
  for (int64_t a : axes) {
    const int64_t ax = axisOf(layer, a, r, x);
    if (ins1[ax]) layerFail(layer, str("axis ", a, " repeated in unsqueeze axes"), x);
    ins1[ax] = 1;
  }
  Dims out;
  size_t k = 0;
  for (int64_t i = 0; i < r; ++i) out.push_back(ins1[i] ? 1 : x[k++]);
  return out;
}

Dims inferConcat(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims* first = nullptr;
  Dims out;
  int64_t axis = 0;
  for (size_t i = 0; i < ins.size(); ++i) {
    if (!hasInput(layer, ins, i)) continue;
    const Dims& d = ins[i].dims;
    if (!first) {
      first = &d;
      out = d;
      if (d.empty()) layerFail(layer, "cannot concatenate scalars", d);
      axis = axisOf(layer, layer.attrs.i("axis", 0), d.size(), d);
      continue;
    }
    if (d.size() != out.size())
      layerFail(layer, str("input ", i, " has rank ", d.size(), ", input 0 has ", first->size()),
                d);
    for (size_t k = 0; k < d.size(); ++k) {
      if (static_cast<int64_t>(k) == axis) {
        out[k] = (out[k] < 0 || d[k] < 0) ? -1 : out[k] + d[k];
      } else if (d[k] >= 0 && out[k] >= 0 && d[k] != out[k]) {
        layerFail(layer, str("input ", i, " differs from ", dimsToString(*first), " on axis ", k),
                  d);
      } else if (out[k] < 0) {
        out[k] = d[k];
      }
    }
  }
  if (!first) layerFail(layer, "needs at least one input", Dims{});
  return out;
}

Dims inferRange(const Layer& layer, const std::vector<TensorInfo>& ins) {
  for (size_t i = 0; i < 3; ++i)
    if (!hasInput(layer, ins, i)) layerFail(layer, "needs start, limit and delta inputs", Dims{});
  for (size_t i = 0; i < 3; ++i)
    if (!ins[i].value) return {-1};
  const DataType t = ins[0].dtype;
  if (t == DataType::kFLOAT || t == DataType::kHALF) {
    const double s = ins[0].value->asFloats().at(0), l = ins[1].value->asFloats().at(0),
                 dl = ins[2].value->asFloats().at(0);
    if (dl == 0) layerFail(layer, "delta is 0", Dims{});
    const double n = std::ceil((l - s) / dl);
    if (!(n < 9.2e18))  // NaN or past int64: the cast would be undefined
      layerFail(layer, str("Range(", s, ", ", l, ", ", dl, ") has ", n, " elements"), Dims{});
    return {std::max<int64_t>(static_cast<int64_t>(n), 0)};
  }
  const int64_t s = ins[0].value->asInt64().at(0), l = ins[1].value->asInt64().at(0),
                dl = ins[2].value->asInt64().at(0);
  if (dl == 0) layerFail(layer, "delta is 0", Dims{});
  // In 128 bits: limit - start overflows int64 for extreme values.
  const __int128 span = static_cast<__int128>(l) - s, d = dl;
  const __int128 n =
      d > 0 ? (span > 0 ? (span + d - 1) / d : 0) : (span < 0 ? (-span - d - 1) / -d : 0);
  if (n > INT64_MAX)
    layerFail(layer, str("Range(", s, ", ", l, ", ", dl, ") has more than 2^63 elements"), Dims{});
  return {static_cast<int64_t>(n)};
}

Dims inferExpand(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims& x = ins[0].dims;
  if (!hasInput(layer, ins, 1)) layerFail(layer, "needs a shape input", x);
  std::vector<int64_t> shape;
  if (inputInts(layer, ins, 1, shape)) return broadcast(layer, x, rankChecked(layer, shape));
  const size_t r = std::max<size_t>(x.size(), shapeInputRank(layer, ins, 1));
  Dims out(r, -1);
  for (size_t i = 0; i < x.size(); ++i)
    if (x[i] > 1) out[r - x.size() + i] = x[i];  // a non-1 dim survives any valid broadcast
  return out;
}

Dims inferConstantOfShape(const Layer& layer, const std::vector<TensorInfo>& ins) {
  if (!hasInput(layer, ins, 0)) layerFail(layer, "needs a shape input", Dims{});
  std::vector<int64_t> shape;
  if (inputInts(layer, ins, 0, shape)) {
    for (int64_t s : rankChecked(layer, shape))
      if (s < 0) layerFail(layer, "shape values must be >= 0", shape);
    return shape;
  }
  return Dims(shapeInputRank(layer, ins, 0), -1);
}

Dims inferShape(const Layer& layer, const Dims& x) {
  const int64_t r = static_cast<int64_t>(x.size());
  auto clampEnd = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
  const int64_t s = clampEnd(layer.attrs.i("start", 0)), e = clampEnd(layer.attrs.i("end", r));
  return {std::max<int64_t>(e - s, 0)};
}

DataType castTarget(const Layer& layer, const Dims& x) {
  const int64_t to = layer.attrs.i("to", -1);
  if (!validDtype(to)) layerFail(layer, str("invalid cast target ", to), x);
  return static_cast<DataType>(to);
}

// Inputs each kind needs wired (optional ones are checked where used).
size_t requiredInputs(LayerKind k) {
  switch (k) {
    case LayerKind::kCONSTANT:
    case LayerKind::kCONCATENATION:
      return 0;
    case LayerKind::kELEMENTWISE:
    case LayerKind::kGATHER:
    case LayerKind::kEXPAND:
    case LayerKind::kGRID_SAMPLE:
      return 2;
    case LayerKind::kIF_OUTPUT:
      return 2;
    case LayerKind::kWHERE:
    case LayerKind::kRANGE:
    case LayerKind::kSCATTER:
    case LayerKind::kROI_ALIGN:
    case LayerKind::kATTENTION:
      return 3;
    default:
      return 1;
  }
}

// TRIP_LIMIT and CONDITION: a 0-D value of the kind's dtype; no outputs.
Result inferControl(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const bool count = layer.kind == LayerKind::kTRIP_LIMIT && layer.attrs.s("kind") == "COUNT";
  const DataType t = ins[0].dtype;
  const bool okType =
      count ? (t == DataType::kINT32 || t == DataType::kINT64) : t == DataType::kBOOL;
  if (!okType)
    layerFail(layer,
              str("the ", count ? "trip count" : "condition", " must be ",
                  count ? "INT32 or INT64" : "BOOL", ", got ", dtypeName(t)),
              ins[0].dims);
  const Dims& d = ins[0].dims;
  if (!(d.empty() || (d.size() == 1 && d[0] == 1)))
    layerFail(layer, str("the ", count ? "trip count" : "condition", " must be one value (0-D)"),
              ins[0].dims);
  return {};
}

// LOOP_OUTPUT: x for LAST_VALUE; else x with the length (input 1, -1 until known) at axis.
Dims inferLoopOutput(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims& x = ins[0].dims;
  const std::string kind = layer.attrs.s("kind");
  if (kind == "LAST_VALUE") return x;
  if (kind != "CONCATENATE" && kind != "REVERSE")
    layerFail(layer, str("unknown loop output kind '", kind, "'"), x);
  const int64_t r = static_cast<int64_t>(x.size());
  const int64_t axis = axisOf(layer, layer.attrs.i("axis", 0), r + 1, x);
  int64_t len = -1;
  std::vector<int64_t> v;
  if (hasInput(layer, ins, 1)) {
    if (ins[1].dtype != DataType::kINT32 && ins[1].dtype != DataType::kINT64)
      layerFail(layer,
                str("the length (input 1) must be INT32 or INT64, got ", dtypeName(ins[1].dtype)),
                x);
    if (inputInts(layer, ins, 1, v)) {
      if (v.size() != 1 || v[0] < 0)
        layerFail(layer, "the length (input 1) must be one value >= 0", ins[1].dims);
      len = v[0];
    }
  }
  Dims d = x;
  d.insert(d.begin() + axis, len);
  return d;
}

Result inferKind(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const size_t need = requiredInputs(layer.kind);
  for (size_t i = 0; i < need; ++i)
    if (!hasInput(layer, ins, i))
      layerFail(layer, str("input ", i, " is required"), str(ins.size(), " inputs"));
  const DataType t0 = need > 0 ? ins[0].dtype : DataType::kFLOAT;
  const Dims x = need > 0 ? ins[0].dims : Dims{};
  const int64_t r = static_cast<int64_t>(x.size());
  auto one = [&](Dims d, DataType t) { return Result{{t, std::move(d)}}; };
  switch (layer.kind) {
    case LayerKind::kCONVOLUTION:
      return one(inferConv(layer, ins), t0);
    case LayerKind::kPOOLING:
      return one(inferPool(layer, ins), t0);
    case LayerKind::kMATRIX_MULTIPLY:
      return one(inferMatmul(layer, ins), t0);
    case LayerKind::kATTENTION:
      return one(inferAttention(layer, ins), t0);
    case LayerKind::kACTIVATION:
    case LayerKind::kIDENTITY:
      return one(x, t0);
    case LayerKind::kUNARY: {
      const std::string op = layer.attrs.s("op");
      return one(x, op == "NOT" || op == "ISNAN" || op == "ISINF" ? DataType::kBOOL : t0);
    }
    case LayerKind::kSOFTMAX:
    case LayerKind::kLOG_SOFTMAX:
      if (r > 0) axisOf(layer, layer.attrs.i("axis", -1), r, x);
      return one(x, t0);
    case LayerKind::kNORMALIZATION: {
      const int64_t ax = r > 0 ? axisOf(layer, layer.attrs.i("axis", -1), r, x) : 0;
      Result res{{t0, x}};
      // Mean and InvStdDev: one float per row, the normalised dims kept as 1s.
      Dims stat = x;
      for (int64_t k = ax; k < r; ++k) stat[k] = 1;
      for (size_t k = 1; k < layer.outputs.size() && k < 3; ++k)
        res.push_back({DataType::kFLOAT, stat});
      return res;
    }
    case LayerKind::kSCALE: {
      if (r > 0) {
        const int64_t ax = axisOf(layer, layer.attrs.i("channel_axis", 1), r, x);
        auto s = layer.weights.find("scale");
        if (s != layer.weights.end() && x[ax] >= 0 && s->second.numel() != x[ax] &&
            s->second.numel() != 1)
          layerFail(layer, str("scale has ", s->second.numel(), " values for ", x[ax], " channels"),
                    x);
      }
      return one(x, t0);
    }
    case LayerKind::kELEMENTWISE:
      return one(broadcast(layer, x, ins[1].dims),
                 isBoolOp(layer.attrs.s("op")) ? DataType::kBOOL : t0);
    case LayerKind::kWHERE:
      return one(broadcast(layer, broadcast(layer, x, ins[1].dims), ins[2].dims), ins[1].dtype);
    case LayerKind::kCONCATENATION: {
      DataType t = DataType::kFLOAT;
      for (size_t i = 0; i < ins.size(); ++i)
        if (hasInput(layer, ins, i)) {
          t = ins[i].dtype;
          break;
        }
      return one(inferConcat(layer, ins), t);
    }
    case LayerKind::kSHUFFLE:
      return one(inferShuffle(layer, ins), t0);
    case LayerKind::kRESHAPE: {
      std::vector<int64_t> spec;
      Dims unknown;
      if (!reshapeSpec(layer, ins, 1, "shape", spec, unknown)) return one(unknown, t0);
      return one(reshapeDims(layer, x, spec, layer.attrs.i("allowzero", 0) != 0), t0);
    }
    case LayerKind::kTRANSPOSE:
      return one(permute(x, resolvePerm(layer, layer.attrs.ints("perm"), x)), t0);
    case LayerKind::kFLATTEN: {
      const int64_t ax = axisOf(layer, layer.attrs.i("axis", 1), r, x, true);
      const int64_t a = volume(Dims(x.begin(), x.begin() + ax));
      const int64_t b = volume(Dims(x.begin() + ax, x.end()));
      return one({a, b}, t0);
    }
    case LayerKind::kSQUEEZE:
      return one(inferSqueeze(layer, ins), t0);
    case LayerKind::kUNSQUEEZE:
      return one(inferUnsqueeze(layer, ins), t0);
    case LayerKind::kCONSTANT: {
      auto it = layer.weights.find("value");
      if (it == layer.weights.end()) layerFail(layer, "missing 'value' weights", Dims{});
      return one(it->second.dims, it->second.dtype);
    }
    case LayerKind::kREDUCE: {
      const std::string op = layer.attrs.s("op");
      return one(inferReduce(layer, ins), op == "ARGMAX" || op == "ARGMIN" ? DataType::kINT64 : t0);
    }
    case LayerKind::kSLICE:
      return one(resolveSlice(layer, ins).len, t0);
    case LayerKind::kGATHER: {
      if (r == 0) layerFail(layer, "cannot gather from a scalar", x);
      const int64_t ax = axisOf(layer, layer.attrs.i("axis", 0), r, x);
      if (layer.attrs.s("mode") == "ND") return one(inferGatherNd(layer, ins), t0);
      if (layer.attrs.s("mode") == "ELEMENT") {
        if (ins[1].dims.size() != x.size())
          layerFail(layer, str("indices ", dimsToString(ins[1].dims), " must have the data's rank"),
                    x);
        // Off the axis, an output element reads the data at its own position: indices may not
        // reach past the data there (onnxruntime refuses it too).
        for (size_t k = 0; k < x.size(); ++k)
          if (static_cast<int64_t>(k) != ax && x[k] >= 0 && ins[1].dims[k] > x[k])
            layerFail(layer,
                      str("indices ", dimsToString(ins[1].dims), " reach past the data in dim ", k,
                          " (", ins[1].dims[k], " > ", x[k], ")"),
                      x);
        return one(ins[1].dims, t0);
      }
      Dims out(x.begin(), x.begin() + ax);
      out.insert(out.end(), ins[1].dims.begin(), ins[1].dims.end());
      out.insert(out.end(), x.begin() + ax + 1, x.end());
      return one(out, t0);
    }
    case LayerKind::kSHAPE:
      return one(inferShape(layer, x), DataType::kINT64);
    case LayerKind::kCAST:
      return one(x, castTarget(layer, x));
    case LayerKind::kSPLIT: {
      if (r == 0) layerFail(layer, "cannot split a scalar", x);
      const int64_t ax = axisOf(layer, layer.attrs.i("axis", 0), r, x);
      size_t n = layer.outputs.size();
      if (n == 0) n = std::max<size_t>(layer.attrs.ints("split").size(), 1);
      Result res;
      for (int64_t s : splitSizes(layer, ins, ax, x[ax], n)) {
        Dims d = x;
        d[ax] = s;
        res.push_back({t0, d});
      }
      return res;
    }
    case LayerKind::kRANGE:
      return one(inferRange(layer, ins), t0);
    case LayerKind::kCONSTANT_OF_SHAPE: {
      auto it = layer.weights.find("value");
      return one(inferConstantOfShape(layer, ins),
                 it == layer.weights.end() ? DataType::kFLOAT : it->second.dtype);
    }
    case LayerKind::kEXPAND:
      return one(inferExpand(layer, ins), t0);
    case LayerKind::kREFORMAT: {
      const auto to = layer.attrs.ints("out_dtypes");
      return one(x, to.empty() ? t0 : static_cast<DataType>(to[0]));
    }
    case LayerKind::kQUANTIZE:
      // The zero point's dtype is the output's (ONNX); INT8 without one, unless "to" says.
      return one(x, hasInput(layer, ins, 2)
                        ? ins[2].dtype
                        : static_cast<DataType>(layer.attrs.i("to", int(DataType::kINT8))));
    case LayerKind::kDEQUANTIZE:
      return one(x, DataType::kFLOAT);
    case LayerKind::kRESIZE:
      return one(inferResize(layer, ins), t0);
    case LayerKind::kPADDING:
      return one(inferPadding(layer, ins), t0);
    case LayerKind::kDECONVOLUTION:
      return one(inferDeconv(layer, ins), t0);
    case LayerKind::kGRID_SAMPLE:
      return one(inferGridSample(layer, ins), t0);
    case LayerKind::kROI_ALIGN:
      return one(inferRoiAlign(layer, ins), t0);
    case LayerKind::kCUMULATIVE:
      if (!hasInput(layer, ins, 1)) normalizeAxis(layer.attrs.i("axis", 0), r, "CUMULATIVE axis");
      return one(x, t0);
    case LayerKind::kTOPK: {
      const int64_t axis = normalizeAxis(layer.attrs.i("axis", -1), r, "TOPK axis");
      int64_t k = layer.attrs.i("k", -1);
      std::vector<int64_t> kv;
      if (hasInput(layer, ins, 1)) {
        if (!inputInts(layer, ins, 1, kv)) {  // known at run time
          Dims d = x;
          d[axis] = -1;
          return {{t0, d}, {DataType::kINT64, d}};
        }
        if (kv.size() != 1) layerFail(layer, "k must hold one value", ins[1].dims);
        k = kv[0];
      }
      if (k < 0 || (x[axis] >= 0 && k > x[axis]))
        layerFail(layer, str("k = ", k, " must lie in [0, ", x[axis], "] on axis ", axis), x);
      Dims d = x;
      d[axis] = k;
      return {{t0, d}, {DataType::kINT64, d}};
    }
    case LayerKind::kNON_ZERO:
    case LayerKind::kNMS:
    case LayerKind::kUNIQUE:
      return inferDataDependent(layer, ins);
    case LayerKind::kSCATTER:
      if (ins[2].dtype != t0)
        layerFail(layer, str("updates are ", dtypeName(ins[2].dtype), ", data ", dtypeName(t0)), x);
      return one(x, t0);
    case LayerKind::kTRIP_LIMIT:
    case LayerKind::kCONDITION:
      return inferControl(layer, ins);
    case LayerKind::kRECURRENCE:
    case LayerKind::kIF_INPUT:
      return one(x, t0);
    case LayerKind::kITERATOR: {
      if (r == 0) layerFail(layer, "cannot iterate over a scalar", x);
      Dims d = x;
      d.erase(d.begin() + axisOf(layer, layer.attrs.i("axis", 0), r, x));
      return one(d, t0);
    }
    case LayerKind::kLOOP_OUTPUT:
      return one(inferLoopOutput(layer, ins), t0);
    case LayerKind::kIF_OUTPUT: {
      const Dims& f = ins[1].dims;
      if (ins[1].dtype != t0)
        layerFail(layer,
                  str("the branches give ", dtypeName(t0), " (true) and ", dtypeName(ins[1].dtype),
                      " (false); they must give one dtype"),
                  x);
      bool same = f.size() == x.size();
      for (size_t i = 0; same && i < x.size(); ++i) same = x[i] < 0 || f[i] < 0 || x[i] == f[i];
      if (!same)
        layerFail(layer,
                  str("the branches give shapes ", dimsToString(x), " (true) and ", dimsToString(f),
                      " (false); they must give one shape"),
                  x);
      Dims d = x;
      for (size_t i = 0; i < d.size(); ++i)
        if (d[i] < 0) d[i] = f[i];
      return one(d, t0);
    }
  }
  fail(ErrorKind::kValue,
       str("layer '", layer.name, "': unknown layer kind ", static_cast<int>(layer.kind)));
}

}  // namespace

std::vector<std::pair<DataType, Dims>> inferLayer(const Layer& layer,
                                                  const std::vector<TensorInfo>& ins) {
  try {
    return inferKind(layer, ins);
  } catch (const Error& e) {
    nameLayer(layer, e);
  }
}

}  // namespace clrt::ir
