// Range refinement by whole-network runs: every candidate range of every tensor costs a run of
// the network over every calibration batch. refine.cc makes the same choices from stored
// activations; this stays as the reference it is tested against (CLRT_REFINE_FULL_RUNS=1).
#include <algorithm>
#include <chrono>
#include <cmath>

#include "clrt/builder/calib_internal.h"
#include "clrt/builder/cancel.h"
#include "clrt/builder/progress.h"
#include "clrt/quant/algorithms.h"
#include "clrt/quant/histogram.h"

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

void refineRangesFullRuns(const Shaped& s, runtime::Engine& engine,
                          const std::vector<Batch>& batches, const std::vector<int>& targets,
                          const Stats& st, std::map<int, float>& amax, ILogger* logger,
                          RefineResult* out) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<RefineTarget> order = refineOrder(s, targets, st, amax);
  const bool any = std::any_of(order.begin(), order.end(),
                               [](const RefineTarget& t) { return !t.alternatives.empty(); });
  if (!any) {
    logf(logger, Severity::kINFO,
         "calibration: range refinement: KL clips no tensor beyond its 99.99th percentile");
    return;
  }

  std::vector<std::string> outputs;
  for (int t : s.net.outputs) outputs.push_back(s.net.tensors[t].name);
  auto ctx = engine.createExecutionContext();
  quant::DeviceStats fq(engine.device(), 0);
  std::vector<float> state(s.net.tensors.size(), 0.0f);  // fake-quantization amax, 0 = none
  ctx->setLayerObserver([&](int li, const tactics::ExecArgs& a) {
    const auto& l = s.net.layers[li];
    for (size_t i = 0; i < l.outputs.size(); ++i) {
      const int t = l.outputs[i];
      const auto& d = a.outputs[i];
      if (t >= 0 && state[t] > 0.0f && d.buf && d.dtype == DataType::kFLOAT)
        fq.enqueueFakeQuant(a.queue, d.buf, static_cast<size_t>(volume(d.dims)), state[t]);
    }
  });
  auto run = [&](const Batch& b) {
    Batch scratch;
    const Batch& in = widenHalf(b, scratch);
    bool quantIn = false;
    for (int t : s.net.inputs) quantIn = quantIn || state[t] > 0.0f;
    if (!quantIn) return ctx->infer(in);
    Batch q = in;
    for (int t : s.net.inputs)
      if (state[t] > 0.0f) fakeQuantHost(q.at(s.net.tensors[t].name), state[t]);
    return ctx->infer(q);
  };
  // The network's outputs of one batch, as floats.
  auto floatOutputs = [&](const Batch& b) {
    auto out = run(b);
    std::vector<HostTensor> v;
    for (const auto& name : outputs) {
      HostTensor& h = out.at(name);
      v.push_back(h.dtype == DataType::kFLOAT ? std::move(h) : h.castTo(DataType::kFLOAT));
    }
    return v;
  };
  // The FP32 outputs, kept for the comparisons (skipped when they would take too much memory).
  std::vector<std::vector<HostTensor>> reference;
  uint64_t bytes = 0;
  for (const Batch& b : batches) {
    reference.push_back(floatOutputs(b));
    for (const HostTensor& h : reference.back()) bytes += h.bytes.size();
    if (bytes > (uint64_t{1} << 30)) {
      logf(logger, Severity::kINFO,
           "calibration: range refinement skipped (the FP32 outputs of the calibration batches "
           "exceed 1 GiB)");
      ctx->setLayerObserver(nullptr);
      return;
    }
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
  Phase phase("Range refinement", static_cast<int32_t>(std::count_if(
                                      order.begin(), order.end(), [](const RefineTarget& t) {
                                        return !t.alternatives.empty();
                                      })));
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
      if (e < best && e < klErr * 0.99) {
        best = e;
        chosen = c;
      }
    }
    passes += static_cast<int>(1 + tg.alternatives.size());
    if (out) out->trials[t] = std::move(trials);
    state[t] = chosen;
    const std::string& name = s.net.tensors[t].name;
    logf(logger, Severity::kVERBOSE, "calibration: output error with '", name, "' at ", tried);
    if (chosen != kl) {
      ++changed;
      logf(logger, Severity::kINFO, "calibration: '", name, "' range ", kl, " -> ", chosen,
           " (network output error ", klErr, " -> ", best, ")");
    }
    phase.step();
  }
  ctx->setLayerObserver(nullptr);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (out) out->seconds = secs, out->passes = passes;
  logf(logger, Severity::kINFO, "calibration: range refinement evaluated ", evaluated,
       " tensors and widened ", changed, " (", passes, " passes over the data, ", secs,
       " s; full runs)");
}

}  // namespace clrt::builder::detail
