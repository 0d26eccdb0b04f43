// What range refinement (refine.cc) and its whole-network reference (refine_full.cc) share: the
// targets and their candidates, the fake-quantizing execution context, the rule that picks a
// candidate and its log lines.
#include <algorithm>
#include <cmath>

#include "clrt/builder/calib_internal.h"
#include "clrt/quant/algorithms.h"

namespace clrt::builder::detail {

std::vector<RefineTarget> refineOrder(const Shaped& s, const std::vector<int>& targets,
                                      const Stats& st, const std::map<int, float>& amax) {
  std::vector<RefineTarget> order;
  for (size_t i = 0; i < targets.size(); ++i) {
    auto it = amax.find(targets[i]);
    if (it == amax.end()) continue;
    RefineTarget tg{targets[i], {}};
    const float kl = it->second;
    const float pct = quant::percentileAmax(st.hist[i], st.absmax[i], 99.99);
    // Only where KL clips more than 1 value in 10^4 (it lies below the 99.99th percentile).
    if (pct > 1.01f * kl)
      for (float c : {pct, st.absmax[i]})
        if (c > 1.01f * kl && std::none_of(tg.alternatives.begin(), tg.alternatives.end(),
                                           [&](float a) { return std::abs(a - c) <= 0.01f * c; }))
          tg.alternatives.push_back(c);
    order.push_back(std::move(tg));
  }
  std::stable_sort(order.begin(), order.end(), [&](const RefineTarget& a, const RefineTarget& b) {
    return s.net.tensors[a.tensor].producer < s.net.tensors[b.tensor].producer;
  });
  return order;
}

int32_t refinableCount(const std::vector<RefineTarget>& order, ILogger* logger) {
  const auto n = std::count_if(order.begin(), order.end(),
                               [](const RefineTarget& t) { return !t.alternatives.empty(); });
  if (n == 0)
    logf(logger, Severity::kINFO,
         "calibration: range refinement: KL clips no tensor beyond its 99.99th percentile");
  return static_cast<int32_t>(n);
}

bool referenceFits(uint64_t bytes, ILogger* logger) {
  if (bytes <= (uint64_t{1} << 30)) return true;
  logf(logger, Severity::kINFO,
       "calibration: range refinement skipped (the FP32 outputs of the calibration batches "
       "exceed 1 GiB)");
  return false;
}

bool candidateWins(const RangeTrial& r, double best, double klErr) {
  return r.complete && r.error < best && r.error < klErr * 0.99;
}

void logChoice(ILogger* logger, const std::string& name, const std::string& tried, float kl,
               float chosen, double klErr, double best) {
  logf(logger, Severity::kVERBOSE, "calibration: output error with '", name, "' at ", tried);
  if (chosen != kl)
    logf(logger, Severity::kINFO, "calibration: '", name, "' range ", kl, " -> ", chosen,
         " (network output error ", klErr, " -> ", best, ")");
}

RefineRunner::RefineRunner(const Shaped& sh, runtime::Engine& engine)
    : s(sh),
      ctx(engine.createExecutionContext()),
      fq(engine.device(), 0),
      state(sh.net.tensors.size(), 0.0f) {
  for (int t : s.net.outputs) outputs.push_back(s.net.tensors[t].name);
  ctx->setLayerObserver([this](int li, const tactics::ExecArgs& a) {
    const auto& l = s.net.layers[li];
    for (size_t i = 0; i < l.outputs.size(); ++i) {
      const int t = l.outputs[i];
      const auto& d = a.outputs[i];
      if (t >= 0 && state[t] > 0.0f && d.buf && d.dtype == DataType::kFLOAT)
        fq.enqueueFakeQuant(a.queue, d.buf, static_cast<size_t>(volume(d.dims)), state[t]);
    }
  });
}

RefineRunner::~RefineRunner() { ctx->setLayerObserver(nullptr); }

const Batch& RefineRunner::stage(const Batch& b, Batch& scratch) const {
  const Batch& in = widenHalf(b, scratch);
  bool quantIn = false;
  for (int t : s.net.inputs) quantIn = quantIn || state[t] > 0.0f;
  if (!quantIn) return in;
  Batch q = in;
  for (int t : s.net.inputs)
    if (state[t] > 0.0f) fakeQuantHost(q.at(s.net.tensors[t].name), state[t]);
  scratch = std::move(q);
  return scratch;
}

std::vector<HostTensor> RefineRunner::floatOutputs(std::map<std::string, HostTensor> res) const {
  std::vector<HostTensor> v;
  for (const auto& name : outputs) {
    HostTensor& h = res.at(name);
    v.push_back(h.dtype == DataType::kFLOAT ? std::move(h) : h.castTo(DataType::kFLOAT));
  }
  return v;
}

}  // namespace clrt::builder::detail
