// The data-dependent kinds (NON_ZERO, NMS, UNIQUE): their shape rules (-1 where the values
// decide), the upper bounds the builder and the arena plan use for those dims, and their host
// computation (the runtime reads the inputs back and runs it; constant folding runs it too).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>

#include "clrt/core/error.h"
#include "clrt/ir/shape_internal.h"

namespace clrt::ir {

using namespace detail;

namespace {

using Result = std::vector<std::pair<DataType, Dims>>;

// -1 when any dim is unknown.
int64_t knownVolume(const Dims& d) {
  for (int64_t x : d)
    if (x < 0) return -1;
  return volume(d);
}

bool hasAxis(const Layer& l) { return l.attrs.has("axis"); }

// A one-value input (max_output_boxes_per_class, thresholds), or `def` when absent.
double scalarInput(const Layer& l, const std::vector<HostTensor>& in, size_t i, double def) {
  if (i >= in.size() || in[i].bytes.empty()) return def;  // absent (or empty: ONNX's default)
  CLRT_CHECK(in[i].numel() == 1, kValue, "layer '", l.name, "' (", layerKindName(l.kind),
             "): input ", i, " must hold one value, its dims are ", dimsToString(in[i].dims));
  return asDoubles(in[i])[0];
}

std::vector<HostTensor> nonZero(const HostTensor& x) {
  const auto v = asDoubles(x);
  const auto st = stridesOf(x.dims);
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  std::vector<int64_t> hits;
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] != 0.0) hits.push_back(static_cast<int64_t>(i));
  const int64_t n = static_cast<int64_t>(hits.size());
  // A scalar gives [0, n] (ONNX: one row per dim, none for rank 0).
  std::vector<int64_t> out(static_cast<size_t>(rank * n));
  for (int64_t j = 0; j < n; ++j) {
    int64_t rem = hits[j];
    for (int64_t d = 0; d < rank; ++d) {
      out[d * n + j] = rem / st[d];
      rem %= st[d];
    }
  }
  return {HostTensor::fromInt64({rank, n}, out)};
}

// ONNX NonMaxSuppression: per batch and class, boxes above score_threshold in descending score
// order (equal scores keep box order), each kept unless its IoU with a kept one exceeds
// iou_threshold, at most max_output_boxes_per_class of them.
std::vector<HostTensor> nms(const Layer& l, const std::vector<HostTensor>& in) {
  const Dims& bd = in[0].dims;
  const Dims& sd = in[1].dims;
  CLRT_CHECK(bd.size() == 3 && bd[2] == 4 && sd.size() == 3 && sd[0] == bd[0] && sd[2] == bd[1],
             kValue, "layer '", l.name,
             "' (NMS): boxes must be [B, N, 4] and scores [B, C, N], got ", dimsToString(bd),
             " and ", dimsToString(sd));
  const int64_t B = bd[0], N = bd[1], C = sd[1];
  // Read as an integer: exporters pass INT64_MAX for "no limit", beyond a double's exact range.
  int64_t maxOut = 0;
  if (in.size() > 2 && !in[2].bytes.empty()) {
    scalarInput(l, in, 2, 0);  // checks it holds one value
    maxOut = in[2].asInt64()[0];
  }
  const double iouThr = scalarInput(l, in, 3, 0);
  const bool hasScoreThr = in.size() > 4 && !in[4].bytes.empty();
  const double scoreThr = scalarInput(l, in, 4, 0);
  const bool center = l.attrs.i("center_point_box", 0) != 0;
  const auto boxes = asDoubles(in[0]);
  const auto scores = asDoubles(in[1]);
  struct Box {
    double y1, x1, y2, x2;
  };
  auto boxAt = [&](int64_t b, int64_t i) {
    const double* p = boxes.data() + (b * N + i) * 4;
    if (center) return Box{p[1] - p[3] / 2, p[0] - p[2] / 2, p[1] + p[3] / 2, p[0] + p[2] / 2};
    // Corners may come in either order (ONNX: "any diagonal pair").
    return Box{std::min(p[0], p[2]), std::min(p[1], p[3]), std::max(p[0], p[2]),
               std::max(p[1], p[3])};
  };
  auto iou = [](const Box& a, const Box& b) {
    const double ih = std::max(0.0, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
    const double iw = std::max(0.0, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
    const double inter = ih * iw;
    const double uni = (a.y2 - a.y1) * (a.x2 - a.x1) + (b.y2 - b.y1) * (b.x2 - b.x1) - inter;
    return inter <= 0 || uni <= 0 ? 0.0 : inter / uni;
  };
  std::vector<int64_t> out;
  if (maxOut > 0)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c) {
        const double* s = scores.data() + (b * C + c) * N;  // N may be 0: no element read
        std::vector<int64_t> order;
        for (int64_t i = 0; i < N; ++i)
          if (!hasScoreThr || s[i] > scoreThr) order.push_back(i);
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t x, int64_t y) { return s[x] > s[y]; });
        std::vector<Box> kept;
        for (int64_t i : order) {
          if (static_cast<int64_t>(kept.size()) >= maxOut) break;
          const Box bx = boxAt(b, i);
          bool keep = true;
          for (const Box& k : kept)
            if (iou(bx, k) > iouThr) {
              keep = false;
              break;
            }
          if (!keep) continue;
          kept.push_back(bx);
          out.insert(out.end(), {b, c, i});
        }
      }
  return {HostTensor::fromInt64({static_cast<int64_t>(out.size() / 3), 3}, out)};
}

// ONNX Unique over whole slices along `axis` (or single elements), compared by value.
std::vector<HostTensor> unique(const Layer& l, const HostTensor& x) {
  const bool sorted = l.attrs.i("sorted", 1) != 0;
  Dims d = x.dims;
  int64_t axis = 0, outer = 1, len = volume(d), inner = 1;
  if (hasAxis(l)) {
    axis = axisOf(l, l.attrs.i("axis", 0), static_cast<int64_t>(d.size()), d);
    len = d[axis];
    for (int64_t i = 0; i < axis; ++i) outer *= d[i];
    for (size_t i = axis + 1; i < d.size(); ++i) inner *= d[i];
  }
  const size_t es = dtypeSize(x.dtype);
  const auto v = asDoubles(x);
  auto slice = [&](int64_t j) {
    std::vector<double> s;
    s.reserve(static_cast<size_t>(outer * inner));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) s.push_back(v[(o * len + j) * inner + i]);
    return s;
  };
  std::vector<std::vector<double>> keys;
  std::map<std::vector<double>, int64_t> seen;  // slice -> index in `first`
  std::vector<int64_t> first, counts, inverse(static_cast<size_t>(len));
  for (int64_t j = 0; j < len; ++j) {
    auto s = slice(j);
    auto [it, fresh] = seen.emplace(s, static_cast<int64_t>(first.size()));
    if (fresh) {
      first.push_back(j);
      counts.push_back(0);
      keys.push_back(std::move(s));
    }
    ++counts[it->second];
    inverse[j] = it->second;
  }
  const int64_t n = static_cast<int64_t>(first.size());
  std::vector<int64_t> order(n);  // output position -> index in `first`
  std::iota(order.begin(), order.end(), 0);
  if (sorted)
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
  std::vector<int64_t> rank(n);
  for (int64_t p = 0; p < n; ++p) rank[order[p]] = p;
  Dims yd = hasAxis(l) ? d : Dims{n};
  if (hasAxis(l)) yd[axis] = n;
  HostTensor y(x.dtype, yd);
  std::vector<int64_t> idx(n), cnt(n);
  for (int64_t p = 0; p < n; ++p) {
    const int64_t j = first[order[p]];
    idx[p] = j;
    cnt[p] = counts[order[p]];
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(y.bytes.data() + ((o * n + p) * inner) * es,
                  x.bytes.data() + ((o * len + j) * inner) * es, static_cast<size_t>(inner) * es);
  }
  for (auto& r : inverse) r = rank[r];
  return {std::move(y), HostTensor::fromInt64({n}, idx), HostTensor::fromInt64({len}, inverse),
          HostTensor::fromInt64({n}, cnt)};
}

}  // namespace

bool isDataDependent(LayerKind k) {
  return k == LayerKind::kNON_ZERO || k == LayerKind::kNMS || k == LayerKind::kUNIQUE;
}

namespace detail {

Result inferDataDependent(const Layer& l, const std::vector<TensorInfo>& ins) {
  const Dims& x = ins[0].dims;
  switch (l.kind) {
    case LayerKind::kNON_ZERO:
      return {{DataType::kINT64, {static_cast<int64_t>(x.size()), -1}}};
    case LayerKind::kNMS: {
      if (ins.size() < 2 || x.size() != 3 || ins[1].dims.size() != 3)
        layerFail(l, "needs boxes [B, N, 4] and scores [B, C, N]", x);
      return {{DataType::kINT64, {-1, 3}}};
    }
    case LayerKind::kUNIQUE: {
      Dims y{-1};
      int64_t len = knownVolume(x);
      if (hasAxis(l)) {
        const int64_t a = axisOf(l, l.attrs.i("axis", 0), static_cast<int64_t>(x.size()), x);
        y = x;
        y[a] = -1;
        len = x[a];
      }
      return {{ins[0].dtype, y},
              {DataType::kINT64, {-1}},
              {DataType::kINT64, {len}},
              {DataType::kINT64, {-1}}};
    }
    default:
      layerFail(l, "is not a data-dependent kind", x);
  }
}

}  // namespace detail

// Bounds: NON_ZERO's count is at most x's element count; NMS selects at most
// min(max_output_boxes_per_class, N) boxes per batch and class (N when max_output is computed at
// run time); UNIQUE keeps at most all the elements (or slices along the axis).
void boundDataDependent(const Layer& l, const std::vector<TensorInfo>& ins,
                        std::vector<std::pair<DataType, Dims>>& outs) {
  if (!isDataDependent(l.kind)) return;
  const Dims& x = ins[0].dims;
  int64_t bound = knownVolume(x);
  if (l.kind == LayerKind::kNMS) {
    const Dims& s = ins[1].dims;
    int64_t per = x[1];
    if (hasInput(l, ins, 2) && ins[2].value && ins[2].value->numel() == 1)
      per = std::clamp<int64_t>(ins[2].value->asInt64()[0], 0, per);
    bound = x[0] * s[1] * per;
  } else if (l.kind == LayerKind::kUNIQUE && hasAxis(l)) {
    bound = x[axisOf(l, l.attrs.i("axis", 0), static_cast<int64_t>(x.size()), x)];
  }
  for (auto& o : outs)
    for (auto& d : o.second)
      if (d < 0) d = bound;
}

std::vector<HostTensor> evalDataDependent(const Layer& l, const std::vector<HostTensor>& in) {
  try {
    switch (l.kind) {
      case LayerKind::kNON_ZERO:
        return nonZero(in.at(0));
      case LayerKind::kNMS:
        return nms(l, in);
      case LayerKind::kUNIQUE:
        return unique(l, in.at(0));
      default:
        layerFail(l, "is not a data-dependent kind", Dims{});
    }
  } catch (const Error& e) {
    nameLayer(l, e);
  }
}

}  // namespace clrt::ir
