// Shared shape helpers: layer-naming errors, axes, broadcasting, slice/split/reshape resolution.
#include <algorithm>
#include <limits>

#include "clrt/core/error.h"
#include "clrt/ir/shape_internal.h"

namespace clrt::ir::detail {

void layerFail(const Layer& layer, const std::string& what, const std::string& got) {
  fail(ErrorKind::kValue,
       str("layer '", layer.name, "' (", layerKindName(layer.kind), "): ", what, ", got ", got));
}

void layerFail(const Layer& layer, const std::string& what, const Dims& got) {
  layerFail(layer, what, dimsToString(got));
}

void nameLayer(const Layer& layer, const Error& e) {
  const std::string prefix = str("layer '", layer.name, "' (");
  const std::string what = e.what();
  if (what.compare(0, prefix.size(), prefix) == 0) throw e;
  fail(e.kind(), str(prefix, layerKindName(layer.kind), "): ", what));
}

bool hasInput(const Layer& layer, const std::vector<TensorInfo>& ins, size_t i) {
  if (i >= ins.size()) return false;
  return i >= layer.inputs.size() || layer.inputs[i] >= 0;
}

bool inputInts(const Layer& layer, const std::vector<TensorInfo>& ins, size_t i,
               std::vector<int64_t>& out) {
  if (!hasInput(layer, ins, i) || !ins[i].value) return false;
  out = ins[i].value->asInt64();
  return true;
}

Dims broadcast(const Layer& layer, const Dims& a, const Dims& b) {
  const size_t r = std::max(a.size(), b.size());
  Dims out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t x = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t y = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (x == y || y == 1)
      out[i] = x;
    else if (x == 1)
      out[i] = y;
    else if (x < 0 || y < 0)
      out[i] = x < 0 ? y : x;  // the dynamic side must match at runtime
    else
      layerFail(layer, "shapes do not broadcast", dimsToString(a) + " and " + dimsToString(b));
  }
  return out;
}

int64_t axisOf(const Layer& layer, int64_t axis, int64_t rank, const Dims& got, bool inclusive) {
  const int64_t hi = inclusive ? rank : rank - 1;
  if (axis < -rank || axis > hi)
    layerFail(layer, str("axis ", axis, " out of range for rank ", rank), got);
  return axis < 0 ? axis + rank : axis;
}

SliceParams resolveSlice(const Layer& layer, const std::vector<TensorInfo>& ins) {
  const Dims& d = ins.at(0).dims;
  const int64_t r = static_cast<int64_t>(d.size());
  SliceParams p;
  p.start.assign(r, 0);
  p.step.assign(r, 1);
  p.len = d;
  // Each parameter comes from its input when wired, else from the attr of the same name.
  const char* names[4] = {"starts", "ends", "axes", "steps"};
  std::vector<int64_t> v[4];
  bool given[4], known[4];
  for (int k = 0; k < 4; ++k) {
    const size_t idx = static_cast<size_t>(k) + 1;
    if (idx < layer.inputs.size() && layer.inputs[idx] >= 0) {
      given[k] = true;
      known[k] = inputInts(layer, ins, idx, v[k]);
    } else {
      given[k] = layer.attrs.has(names[k]);
      known[k] = true;
      v[k] = layer.attrs.ints(names[k]);
    }
  }
  if (!known[2]) {  // which axes are sliced is unknown: every dim may change
    p.len.assign(r, -1);
    return p;
  }
  size_t n = known[0] ? v[0].size() : (known[1] ? v[1].size() : v[2].size());
  if (!given[2] && !known[0] && !known[1]) {
    p.len.assign(r, -1);
    return p;
  }
  if (!given[2]) {
    v[2].resize(n);
    for (size_t i = 0; i < n; ++i) v[2][i] = static_cast<int64_t>(i);
  }
  n = v[2].size();
  if (!given[3]) v[3].assign(n, 1);
  for (int k : {0, 1, 3})
    if (known[k] && v[k].size() != n)
      layerFail(layer, str(names[k], " has ", v[k].size(), " entries but ", n, " axes"), d);
  std::vector<char> seen(r, 0);
  for (size_t i = 0; i < n; ++i) {
    const int64_t ax = axisOf(layer, v[2][i], r, d);
    if (seen[ax]) layerFail(layer, str("axis ", v[2][i], " repeated in slice axes"), d);
    seen[ax] = 1;
    if (!known[0] || !known[1] || !known[3] || d[ax] < 0) {
      p.len[ax] = -1;
      continue;
    }
    const int64_t dim = d[ax], step = v[3][i];
    if (step == 0) layerFail(layer, str("slice step is 0 on axis ", ax), d);
    int64_t s = v[0][i], e = v[1][i];
    // onnxruntime reads INT_MAX ends as "to the end in the step direction" (numpy's None).
    if (e == std::numeric_limits<int64_t>::max() || e == std::numeric_limits<int32_t>::max())
      e = step < 0 ? -1 : dim;
    else if (e < 0)
      e += dim;
    if (s < 0) s += dim;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
    }
    const int64_t len = step > 0 ? (e > s ? (e - s + step - 1) / step : 0)
                                 : (s > e ? (s - e - step - 1) / -step : 0);
    p.start[ax] = s;
    p.step[ax] = step;
    p.len[ax] = len;
  }
  return p;
}

std::vector<int64_t> splitSizes(const Layer& layer, const std::vector<TensorInfo>& ins,
                                int64_t axis, int64_t dim, size_t nOut) {
  const Dims& d = ins.at(0).dims;
  std::vector<int64_t> sizes;
  if (hasInput(layer, ins, 1)) {
    if (!inputInts(layer, ins, 1, sizes)) return std::vector<int64_t>(nOut, -1);
  } else {
    sizes = layer.attrs.ints("split");
  }
  if (sizes.empty()) {
    if (dim < 0) return std::vector<int64_t>(nOut, -1);
    // Opset 18 num_outputs: ceil-sized chunks, the last one smaller.
    const int64_t n = static_cast<int64_t>(nOut), chunk = (dim + n - 1) / n;
    if (chunk * (n - 1) > dim)
      layerFail(layer, str("cannot split dim ", dim, " of axis ", axis, " into ", n, " outputs"),
                d);
    sizes.assign(nOut, chunk);
    sizes.back() = dim - chunk * (n - 1);
    return sizes;
  }
  if (sizes.size() != nOut)
    layerFail(layer, str("split has ", sizes.size(), " sizes for ", nOut, " outputs"), d);
  int64_t sum = 0;
  for (int64_t s : sizes) {
    if (s < 0) layerFail(layer, str("negative split size ", s), d);
    if (__builtin_add_overflow(sum, s, &sum))
      layerFail(layer, str("split sizes ", dimsToString(sizes), " overflow int64"), d);
  }
  if (dim >= 0 && sum != dim)
    layerFail(layer, str("split sizes sum to ", sum, " but axis ", axis, " has ", dim), d);
  return sizes;
}

Dims reshapeDims(const Layer& layer, const Dims& in, const std::vector<int64_t>& spec,
                 bool allowzero) {
  Dims out(spec.size());
  std::vector<char> copied(spec.size(), 0);
  int inferAt = -1;
  bool hasZero = false;
  for (size_t i = 0; i < spec.size(); ++i) {
    const int64_t s = spec[i];
    if (s < -1) layerFail(layer, str("invalid reshape dim ", s, " in ", dimsToString(spec)), in);
    if (s == -1) {
      if (inferAt >= 0)
        layerFail(layer, str("reshape has more than one -1 in ", dimsToString(spec)), in);
      inferAt = static_cast<int>(i);
    } else if (s == 0 && !allowzero) {
      if (i >= in.size())
        layerFail(
            layer,
            str("reshape copies dim ", i, " (0 in ", dimsToString(spec), ") past the input rank"),
            in);
      out[i] = in[i];
      copied[i] = 1;
    } else {
      hasZero = hasZero || s == 0;
      out[i] = s;
    }
  }
  if (allowzero && hasZero && inferAt >= 0)
    layerFail(layer, str("reshape with allowzero cannot hold both 0 and -1: ", dimsToString(spec)),
              in);
  // Copied dims appear on both sides, so they cancel even when dynamic (batch-dynamic flatten).
  int64_t inRest = 1, outRest = 1;
  bool inKnown = true;
  for (size_t i = 0; i < in.size(); ++i) {
    if (i < copied.size() && copied[i]) continue;
    if (in[i] < 0)
      inKnown = false;
    else if (__builtin_mul_overflow(inRest, in[i], &inRest))
      layerFail(layer, "input volume overflows int64", in);
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (copied[i] || static_cast<int>(i) == inferAt) continue;
    if (__builtin_mul_overflow(outRest, out[i], &outRest))
      layerFail(layer, str("reshape target ", dimsToString(spec), " overflows int64"), in);
  }
  if (inferAt >= 0) {
    if (!inKnown) {
      out[inferAt] = -1;
    } else {
      if (outRest == 0 || inRest % outRest != 0)
        layerFail(layer, str("cannot reshape to ", dimsToString(spec), " (volume mismatch)"), in);
      out[inferAt] = inRest / outRest;
    }
  } else if (inKnown && inRest != outRest) {
    layerFail(layer, str("cannot reshape to ", dimsToString(spec), " (volume mismatch)"), in);
  }
  return out;
}

std::vector<int64_t> resolvePerm(const Layer& layer, std::vector<int64_t> perm, const Dims& in) {
  const int64_t r = static_cast<int64_t>(in.size());
  if (perm.empty()) {
    for (int64_t i = r - 1; i >= 0; --i) perm.push_back(i);
    return perm;
  }
  if (static_cast<int64_t>(perm.size()) != r)
    layerFail(layer, str("perm ", dimsToString(perm), " does not match the input rank"), in);
  std::vector<char> seen(r, 0);
  for (auto& p : perm) {
    p = axisOf(layer, p, r, in);
    if (seen[p]) layerFail(layer, str("perm ", dimsToString(perm), " is not a permutation"), in);
    seen[p] = 1;
  }
  return perm;
}

bool layerAxes(const Layer& layer, const std::vector<TensorInfo>& ins, std::vector<int64_t>& axes) {
  if (hasInput(layer, ins, 1)) return inputInts(layer, ins, 1, axes);
  axes = layer.attrs.ints("axes");
  return true;
}

bool isBoolOp(const std::string& op) {
  return op == "EQUAL" || op == "GREATER" || op == "LESS" || op == "GREATER_OR_EQUAL" ||
         op == "LESS_OR_EQUAL" || op == "AND" || op == "OR" || op == "XOR";
}

}  // namespace clrt::ir::detail
