// Range refinement by whole-network runs: every candidate range of every tensor costs a run of
// the network over every calibration batch. refine.cc makes the same choices from stored
// activations; this stays as the reference it is tested against (CLRT_REFINE_FULL_RUNS=1).
#include <algorithm>
#include <chrono>
#include <cmath>

#include "clrt/builder/calib_internal.h"
#include "clrt/builder/cancel.h"
#include "clrt/builder/progress.h"
#include "clrt/quant/histogram.h"

namespace clrt::builder::detail {

void refineRangesFullRuns(const Shaped& s, runtime::Engine& engine,
                          const std::vector<Batch>& batches, const std::vector<int>& targets,
                          const Stats& st, std::map<int, float>& amax, ILogger* logger,
                          RefineResult* out) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<RefineTarget> order = refineOrder(s, targets, st, amax);
  const int32_t refinable = refinableCount(order, logger);
  if (refinable == 0) return;
  RefineRunner rr(s, engine);
  std::vector<float>& state = rr.state;
  const std::vector<std::string>& outputs = rr.outputs;
  // The network's outputs of one batch, as floats.
  auto floatOutputs = [&](const Batch& b) {
    Batch scratch;
    return rr.floatOutputs(rr.ctx->infer(rr.stage(b, scratch)));
  };
  // The FP32 outputs, kept for the comparisons (skipped when they would take too much memory).
  std::vector<std::vector<HostTensor>> reference;
  uint64_t bytes = 0;
  for (const Batch& b : batches) {
    reference.push_back(floatOutputs(b));
    for (const HostTensor& h : reference.back()) bytes += h.bytes.size();
    if (!referenceFits(bytes, logger)) return;
  }
  auto error = [&]() {
    OutputError e(outputs.size());
    for (size_t b = 0; b < batches.size(); ++b) {
      checkCancel();
      const std::vector<HostTensor> out = floatOutputs(batches[b]);
      for (size_t o = 0; o < outputs.size(); ++o)
        e.add(o, out[o].f32(), reference[b][o].f32(), reference[b][o].numel());
    }
    return e.value();
  };
  int evaluated = 0, changed = 0, passes = 0;
  Phase phase("Range refinement", refinable);
  for (const RefineTarget& tg : order) {
    const int t = tg.tensor;
    float& chosen = amax[t];
    if (tg.alternatives.empty()) {
      state[t] = chosen;
      continue;
    }
    ++evaluated;
    state[t] = chosen;
    const double klErr = error();
    double best = klErr;
    const float kl = chosen;
    std::string tried = str(kl, " (entropy): ", klErr);
    std::vector<RangeTrial> trials{{kl, klErr, true}};
    for (float c : tg.alternatives) {
      state[t] = c;
      const double e = error();
      tried += str(", ", c, ": ", e);
      trials.push_back({c, e, true});
      if (candidateWins(trials.back(), best, klErr)) {
        best = e;
        chosen = c;
      }
    }
    passes += static_cast<int>(1 + tg.alternatives.size());
    if (out) out->trials[t] = std::move(trials);
    state[t] = chosen;
    logChoice(logger, s.net.tensors[t].name, tried, kl, chosen, klErr, best);
    changed += chosen != kl;
    phase.step();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (out) out->seconds = secs, out->passes = passes;
  logf(logger, Severity::kINFO, "calibration: range refinement evaluated ", evaluated,
       " tensors and widened ", changed, " (", passes, " passes over the data, ", secs,
       " s; full runs)");
}

}  // namespace clrt::builder::detail
