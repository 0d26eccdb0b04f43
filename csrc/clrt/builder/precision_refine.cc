// The precision choice refined as a whole network: the greedy choice (precision.cc, one layer at
// a time in execution order, counting its inputs' reformats) cannot leave a chain it started in:
// ResNet-50's INT8 + FP16 build kept its FP16 stem's max pooling in FP16 (0.38 ms) rather than
// INT8 (0.06 ms plus a reformat), and every layer after it followed. Here a layer, or the
// connected layers sharing its precision, moves to another precision it was timed in whenever
// the network's estimate (layers' times plus the reformats the choice implies) falls.
#include <algorithm>
#include <set>

#include "clrt/builder/internal.h"

namespace clrt::builder::detail {
namespace {

using Problem = PrecisionProblem;

// The storage of tensor `t` under `prec` and the reformats it needs, in ms.
double tensorCost(const Problem& p, const Problem::Tensor& t, const std::vector<DataType>& prec,
                  const ReformatCost& cost) {
  DataType src = t.producer >= 0 ? prec[static_cast<size_t>(t.producer)] : t.src;
  if (src == DataType::kINT8 && !t.int8_ok) src = DataType::kFLOAT;
  std::set<DataType> wants(t.fixed.begin(), t.fixed.end());
  for (int c : t.consumers) wants.insert(prec[static_cast<size_t>(c)]);
  double ms = 0;
  if (src == DataType::kINT8 && !t.keep_int8 && !wants.empty() &&
      !(wants.size() == 1 && *wants.begin() == DataType::kINT8)) {
    // chooseDtypes stores it FLOAT: the producer writes 3 more bytes an element.
    src = DataType::kFLOAT;
    ms += cost.ms_per_byte * static_cast<double>(t.elems) * 3.0;
  }
  for (DataType w : wants)
    if (w != src) ms += cost.ms(t.elems, src, w);
  return ms;
}

double layerMs(const Problem::Layer& l, DataType p) {
  if (l.ms.size() < 2) return 0;  // fixed: the same in every choice
  auto it = l.ms.find(p);
  return it == l.ms.end() ? 0 : it->second;
}

}  // namespace

double precisionCost(const Problem& p, const std::vector<DataType>& prec,
                     const ReformatCost& cost) {
  double ms = 0;
  for (size_t i = 0; i < p.layers.size(); ++i) ms += layerMs(p.layers[i], prec[i]);
  for (const auto& t : p.tensors) ms += tensorCost(p, t, prec, cost);
  return ms;
}

std::vector<DataType> refinePrecisions(const Problem& p, const ReformatCost& cost,
                                       std::vector<std::string>* moves) {
  const size_t n = p.layers.size();
  std::vector<DataType> prec(n);
  for (size_t i = 0; i < n; ++i) prec[i] = p.layers[i].prec;
  // The tensors each layer writes or reads: what a move of it can change.
  std::vector<std::vector<int>> touches(n);
  for (size_t ti = 0; ti < p.tensors.size(); ++ti) {
    const auto& t = p.tensors[ti];
    if (t.producer >= 0) touches[static_cast<size_t>(t.producer)].push_back(static_cast<int>(ti));
    for (int c : t.consumers) touches[static_cast<size_t>(c)].push_back(static_cast<int>(ti));
  }
  auto movable = [&](size_t i, DataType to) {
    return p.layers[i].ms.size() >= 2 && p.layers[i].ms.count(to) > 0;
  };
  // The change of the estimate when the layers in `set` take precision `to`.
  auto delta = [&](const std::vector<size_t>& set, DataType to) {
    std::set<int> ts;
    double before = 0, after = 0;
    for (size_t i : set) {
      ts.insert(touches[i].begin(), touches[i].end());
      before += layerMs(p.layers[i], prec[i]);
      after += layerMs(p.layers[i], to);
    }
    for (int t : ts) before += tensorCost(p, p.tensors[static_cast<size_t>(t)], prec, cost);
    std::vector<DataType> saved;
    for (size_t i : set) saved.push_back(prec[i]), prec[i] = to;
    for (int t : ts) after += tensorCost(p, p.tensors[static_cast<size_t>(t)], prec, cost);
    for (size_t k = 0; k < set.size(); ++k) prec[set[k]] = saved[k];
    return after - before;
  };
  // Layer i with the layers connected to it through tensors that share its precision and can
  // take `to`.
  auto region = [&](size_t i, DataType to) {
    std::vector<size_t> out{i};
    std::vector<bool> in(n, false);
    in[i] = true;
    for (size_t k = 0; k < out.size(); ++k)
      for (int ti : touches[out[k]]) {
        const auto& t = p.tensors[static_cast<size_t>(ti)];
        std::vector<int> near(t.consumers);
        if (t.producer >= 0) near.push_back(t.producer);
        for (int j : near) {
          const auto u = static_cast<size_t>(j);
          if (!in[u] && prec[u] == prec[i] && movable(u, to)) in[u] = true, out.push_back(u);
        }
      }
    return out;
  };
  // A move must save more than this share of the moved layers' time: the times are medians of
  // a few runs, and smaller differences are noise rather than a reason to change precision.
  constexpr double kMinGainShare = 0.02;
  constexpr double kMinGainMs = 1e-6;
  constexpr int kSweeps = 16;
  auto worth = [&](const std::vector<size_t>& set, double gain) {
    double ms = 0;
    for (size_t i : set) ms += layerMs(p.layers[i], prec[i]);
    return gain > std::max(kMinGainMs, kMinGainShare * ms);
  };
  for (int sweep = 0; sweep < kSweeps; ++sweep) {
    bool moved = false;
    for (size_t i = 0; i < n; ++i) {
      if (p.layers[i].ms.size() < 2) continue;
      for (const auto& [to, ms] : p.layers[i].ms) {
        if (to == prec[i]) continue;
        std::vector<size_t> best{i};
        double gain = -delta(best, to);
        if (!worth(best, gain)) gain = 0;
        std::vector<size_t> grown = region(i, to);
        if (grown.size() > 1)
          if (const double g = -delta(grown, to); g > gain && worth(grown, g))
            gain = g, best = std::move(grown);
        if (gain <= 0) continue;
        if (moves)
          moves->push_back(str(best.size(), " layer(s) from layer ", i, " ", dtypeName(prec[i]),
                               " -> ", dtypeName(to), ": ", gain, " ms less"));
        for (size_t j : best) prec[j] = to;
        moved = true;
      }
    }
    if (!moved) break;
  }
  return prec;
}

}  // namespace clrt::builder::detail
