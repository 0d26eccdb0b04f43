// Range refinement of entropy thresholds by partial re-execution of the FP32 network.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>

#include "clrt/builder/calib_internal.h"
#include "clrt/builder/cancel.h"
#include "clrt/builder/progress.h"
#include "clrt/quant/histogram.h"

namespace clrt::builder::detail {

namespace {

// Device memory the stored activations of all batches may take together.
constexpr uint64_t kSnapshotBudget = uint64_t{1} << 30;

bool fullRunsRequested() {
  const char* v = std::getenv("CLRT_REFINE_FULL_RUNS");
  return v && *v && *v != '0';
}

}  // namespace

// clrt's refinement of entropy thresholds (BuilderConfig::refine_int8_ranges, on by default).
// The KL search judges each tensor alone, and it can clip a tensor the network is sensitive to:
// on a trained Fashion-MNIST CNN it clipped the first ReLU's output at a quarter of its max and
// cost a point of top-1; a squeeze-excite gate's sigmoid was clipped at 0.07 of 0.74. So each
// tensor's KL threshold competes with the wider of its 99.99th percentile and its max, in
// execution order: the FP32 network runs over every calibration batch with that tensor, and each
// tensor before it at its chosen range, quantized and dequantized in place, and the candidate with
// the smallest error of the network outputs against FP32 wins. KL stays unless another candidate
// lowers the error by more than 1% (so float noise between batch sizes cannot flip a choice).
// Only wider candidates are tried, and only for tensors where KL clips more than 1 value in 10^4:
// on the trained models a tighter one never won by 1%, nor did widening a tensor clipped less,
// and each candidate costs a pass over the calibration data. Updates `amax` in place.
// A candidate's pass runs only the layers after the tensor's producer: the activations they read
// are captured once per batch (ExecutionContext::capture, within kSnapshotBudget; batches beyond
// it run from the inputs) and advanced from tensor to tensor, and a candidate stops as soon as
// its error so far can no longer win (the error only grows batch by batch). The choices are those
// of the whole-network runs (refine_full.cc): the same kernels see the same bytes.
void refineRanges(const Shaped& s, runtime::Engine& engine, const std::vector<Batch>& batches,
                  const std::vector<int>& targets, const Stats& st, std::map<int, float>& amax,
                  ILogger* logger, RefineResult* out) {
  if (fullRunsRequested())
    return refineRangesFullRuns(s, engine, batches, targets, st, amax, logger, out);
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<RefineTarget> order = refineOrder(s, targets, st, amax);
  const int32_t refinable = refinableCount(order, logger);
  if (refinable == 0) return;
  const int numLayers = engine.numLayers();
  RefineRunner rr(s, engine);
  auto& ctx = rr.ctx;
  auto& fq = rr.fq;
  auto& state = rr.state;
  const std::vector<std::string>& outputs = rr.outputs;
  int64_t layersRun = 0;
  auto run = [&](int begin, int end) {
    ctx->runLayers(begin, end);
    layersRun += end - begin;
  };
  // Stages batch b, network inputs fake-quantized at their ranges so far.
  auto load = [&](size_t b) {
    Batch scratch;
    ctx->load(rr.stage(batches[b], scratch));
  };
  auto floatOutputs = [&]() { return rr.floatOutputs(ctx->outputs()); };
  // The FP32 outputs, kept for the comparisons (skipped when they would take too much memory),
  // and the reference's sums of every batch, which each candidate's error divides by. The
  // statistics' pass ran the same engine on the same bytes: its outputs, when it kept them, are
  // these, and the reference pass is not run again.
  const bool kept = st.outputs.size() == batches.size() && !batches.empty();
  std::vector<std::vector<HostTensor>> own;
  const std::vector<std::vector<HostTensor>>& reference = kept ? st.outputs : own;
  if (kept) load(0);  // the shapes, for the snapshots' sizes
  OutputError refSums(outputs.size());
  uint64_t bytes = 0;
  for (size_t b = 0; b < batches.size(); ++b) {
    if (!kept) {
      load(b);
      run(0, numLayers);
      own.push_back(floatOutputs());
    }
    for (const HostTensor& h : reference[b]) bytes += h.bytes.size();
    if (!referenceFits(bytes, logger)) return;
    for (size_t o = 0; o < outputs.size(); ++o)
      refSums.addReference(o, reference[b][o].f32(), reference[b][o].numel());
  }

  // Per batch: the activations the layers from `held` on read, at the ranges chosen so far.
  std::vector<std::optional<runtime::Snapshot>> snap(batches.size());
  uint64_t heldBytes = 0;
  int held = -1;
  auto position = [&](int t) { return s.net.tensors[t].producer + 1; };
  // Moves every batch's stored activations to layer p (p >= held), storing what fits the budget.
  auto advance = [&](int p) {
    const uint64_t need = ctx->liveBytes(p);  // the shapes are set: a batch was loaded
    for (size_t b = 0; b < batches.size(); ++b) {
      checkCancel();
      if (snap[b] && snap[b]->layer == p) continue;
      if (snap[b]) {
        ctx->restore(*snap[b]);
        run(snap[b]->layer, p);
        heldBytes -= snap[b]->bytes;
        snap[b].reset();
      } else if (heldBytes + need <= kSnapshotBudget) {
        load(b);
        run(0, p);
      } else {
        continue;  // over the budget: its candidates run from the inputs
      }
      if (heldBytes + need <= kSnapshotBudget) {
        snap[b] = ctx->capture(p);
        heldBytes += snap[b]->bytes;
      }
    }
    held = p;
  };
  // Fake-quantizes the stored copies of t (a tensor written before the stored layer).
  auto quantizeHeld = [&](int t, float a) {
    for (auto& sn : snap)
      if (sn)
        if (cl_mem m = sn->buffer(t))
          fq.enqueueFakeQuant(ctx->queue(), m, sn->tensors.at(t).second / 4, a);
  };
  // The output error with tensor t at range c, every other tensor at its state; stops (complete
  // false) once the error reaches `bound`, which it can then only exceed.
  auto evaluate = [&](int t, float c, double bound) {
    const int p = position(t);
    OutputError e = refSums;
    if (p == 0) state[t] = c;  // a network input: quantized on the host by load()
    for (size_t b = 0; b < batches.size(); ++b) {
      checkCancel();
      if (p == 0) {
        load(b);
      } else if (snap[b]) {
        ctx->restore(*snap[b]);
      } else {
        load(b);
        run(0, p);
      }
      if (p > 0)
        fq.enqueueFakeQuant(ctx->queue(), ctx->tensorBuffer(t), ctx->tensorBytes(t) / 4, c);
      run(p, numLayers);
      const std::vector<HostTensor> y = floatOutputs();
      for (size_t o = 0; o < outputs.size(); ++o)
        e.addError(o, y[o].f32(), reference[b][o].f32(), reference[b][o].numel());
      if (b + 1 < batches.size() && e.value() >= bound) {
        if (p == 0) state[t] = 0.0f;
        return RangeTrial{c, e.value(), false};
      }
    }
    if (p == 0) state[t] = 0.0f;
    return RangeTrial{c, e.value(), true};
  };
  int evaluated = 0, changed = 0;
  Phase phase("Range refinement", refinable);
  for (const RefineTarget& tg : order) {
    const int t = tg.tensor;
    const int p = position(t);
    float& chosen = amax[t];
    if (!tg.alternatives.empty()) {
      ++evaluated;
      if (p > 0) advance(p);
      const float kl = chosen;
      const RangeTrial klTrial = evaluate(t, kl, std::numeric_limits<double>::infinity());
      const double klErr = klTrial.error;
      double best = klErr;
      std::vector<RangeTrial> trials{klTrial};
      std::string tried = str(kl, " (entropy): ", klErr);
      for (float c : tg.alternatives) {
        const RangeTrial r = evaluate(t, c, std::min(best, klErr * 0.99));
        trials.push_back(r);
        tried += str(", ", c, r.complete ? ": " : ": >= ", r.error);
        if (candidateWins(r, best, klErr)) {
          best = r.error;
          chosen = c;
        }
      }
      logChoice(logger, s.net.tensors[t].name, tried, kl, chosen, klErr, best);
      changed += chosen != kl;
      if (out) out->trials[t] = std::move(trials);
      phase.step();
    }
    state[t] = chosen;
    if (p > 0 && p <= held) quantizeHeld(t, chosen);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double passes =
      static_cast<double>(layersRun) / std::max(numLayers, 1) / static_cast<double>(batches.size());
  if (out) out->seconds = secs, out->passes = passes;
  logf(logger, Severity::kINFO, "calibration: range refinement evaluated ", evaluated,
       " tensors and widened ", changed, " (layers run: ", passes,
       " whole-network passes over the data, ", secs, " s)");
}

}  // namespace clrt::builder::detail
