// What calibration.cc shares with range refinement (refine.cc, refine_full.cc): the batches,
// the statistics, fake quantization on the host and the network's output error; and what the two
// refinements share.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "clrt/builder/internal.h"
#include "clrt/quant/histogram.h"
#include "clrt/runtime/engine.h"

namespace clrt::builder::detail {

using Batch = std::map<std::string, HostTensor>;

struct Stats {
  std::vector<float> absmax;                // per target
  std::vector<std::vector<uint64_t>> hist;  // per target, when histograms were collected
  // Per batch, the FP32 network outputs as floats, in the order of the network's outputs: range
  // refinement's reference, when the statistics' last pass kept them (every batch, or none).
  std::vector<std::vector<HostTensor>> outputs;
};

// The batch with HALF inputs as FLOAT (statsEngine's inputs); the batch itself when it has none.
const Batch& widenHalf(const Batch& b, Batch& scratch);

// Fake quantization of a host tensor of floats (a network input), as the device kernel does.
void fakeQuantHost(HostTensor& h, float amax);

// Error of the network's float outputs against the FP32 ones: per output, the sum of squared
// differences over the reference's sum of squared deviations from its mean, averaged over
// the outputs. Accumulated in double over every calibration batch.
struct OutputError {
  explicit OutputError(size_t outputs)
      : sse(outputs), sum(outputs), sumsq(outputs), count(outputs) {}
  std::vector<double> sse, sum, sumsq, count;
  void add(size_t o, const float* y, const float* r, int64_t n) {
    addError(o, y, r, n);
    addReference(o, r, n);
  }
  // The two halves of add(), each accumulator in the same order: the reference's sums can be
  // taken once over every batch and a candidate's errors added batch by batch.
  void addError(size_t o, const float* y, const float* r, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(y[i]) - r[i];
      sse[o] += d * d;
    }
  }
  void addReference(size_t o, const float* r, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      sum[o] += r[i];
      sumsq[o] += static_cast<double>(r[i]) * r[i];
    }
    count[o] += static_cast<double>(n);
  }
  double value() const {
    double e = 0.0;
    for (size_t o = 0; o < sse.size(); ++o) {
      const double var = count[o] > 0 ? sumsq[o] - sum[o] * sum[o] / count[o] : 0.0;
      e += sse[o] / (var > 0.0 ? var : std::max(sumsq[o], 1.0));
    }
    return sse.empty() ? 0.0 : e / static_cast<double>(sse.size());
  }
};

// One candidate range refinement tried for a tensor, and the network output error it gave; a
// candidate dropped once its error could no longer win has `complete` false and `error` a lower
// bound (the error over the batches run so far).
struct RangeTrial {
  float amax = 0.0f;
  double error = 0.0;
  bool complete = true;
};
struct RefineResult {
  std::map<int, std::vector<RangeTrial>> trials;  // tensor id -> KL first, then the wider ones
  double seconds = 0.0;
  double passes = 0.0;  // layers run, in whole-network passes over the data
};

// Range refinement (refine.cc): updates `amax` in place; fills `out` when not null.
void refineRanges(const Shaped& s, runtime::Engine& engine, const std::vector<Batch>& batches,
                  const std::vector<int>& targets, const Stats& st, std::map<int, float>& amax,
                  ILogger* logger, RefineResult* out);
// The same choices by whole-network runs per candidate (the implementation partial
// re-execution replaced; CLRT_REFINE_FULL_RUNS=1 selects it, for the test that compares them).
void refineRangesFullRuns(const Shaped& s, runtime::Engine& engine,
                          const std::vector<Batch>& batches, const std::vector<int>& targets,
                          const Stats& st, std::map<int, float>& amax, ILogger* logger,
                          RefineResult* out);

// Targets in execution order (network inputs first) with their candidate ranges wider than the
// KL one: the 99.99th percentile and the max, only where KL clips more than 1 value in 10^4.
struct RefineTarget {
  int tensor;
  std::vector<float> alternatives;
};
std::vector<RefineTarget> refineOrder(const Shaped& s, const std::vector<int>& targets,
                                      const Stats& st, const std::map<int, float>& amax);

// What both refinements (refine.cc, refine_full.cc) share, in refine_common.cc, so that they
// make the same choices from the same bytes.
// How many targets have wider candidates; logs when none has.
int32_t refinableCount(const std::vector<RefineTarget>& order, ILogger* logger);
// False, after logging that refinement is skipped, once the reference outputs kept take `bytes`
// beyond what refinement may hold.
bool referenceFits(uint64_t bytes, ILogger* logger);
// Whether candidate r replaces the best so far: a complete trial lowering the error below `best`
// and by more than 1% below the KL one's.
bool candidateWins(const RangeTrial& r, double best, double klErr);
// Logs the trials of tensor `name` (`tried`) and, when the choice moved off KL, the change.
void logChoice(ILogger* logger, const std::string& name, const std::string& tried, float kl,
               float chosen, double klErr, double best);

// An execution context of the FP32 engine whose layers' float outputs are fake-quantized at
// their range in `state` as they are written, and the staging of batches for it.
struct RefineRunner {
  RefineRunner(const Shaped& s, runtime::Engine& engine);
  ~RefineRunner();  // removes the layer observer
  RefineRunner(const RefineRunner&) = delete;
  RefineRunner& operator=(const RefineRunner&) = delete;

  // b with HALF inputs widened and the network inputs fake-quantized at their state; `scratch`
  // holds what differs from b.
  const Batch& stage(const Batch& b, Batch& scratch) const;
  // A run's outputs (by name) as floats, in the order of the network's outputs.
  std::vector<HostTensor> floatOutputs(std::map<std::string, HostTensor> res) const;

  const Shaped& s;
  std::vector<std::string> outputs;  // the network's output names
  std::unique_ptr<runtime::ExecutionContext> ctx;
  quant::DeviceStats fq;
  std::vector<float> state;  // per tensor, the fake-quantization amax; 0 = none
};

}  // namespace clrt::builder::detail
