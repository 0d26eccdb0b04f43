// Build progress (TensorRT 10's IProgressMonitor): nested phases with counted steps, reported to
// the config's monitor, which can cancel the build by answering false to a step.
#pragma once

#include <cstdint>
#include <string>

namespace clrt::builder {

class ProgressMonitor {
 public:
  virtual ~ProgressMonitor() = default;
  // `parent` is empty for a top-level phase.
  virtual void phaseStart(const std::string& phase, const std::string& parent, int32_t steps) = 0;
  // False cancels the build.
  virtual bool stepComplete(const std::string& phase, int32_t step) = 0;
  virtual void phaseFinish(const std::string& phase) = 0;
};

// Makes `monitor` the one phases on this thread report to for the scope's lifetime (a build
// installs its config's), so code deep in the builder needs no config to report progress.
class ScopedProgress {
 public:
  explicit ScopedProgress(ProgressMonitor* monitor);
  ~ScopedProgress();
  ScopedProgress(const ScopedProgress&) = delete;
  ScopedProgress& operator=(const ScopedProgress&) = delete;

 private:
  ProgressMonitor* prev_;
};

// One phase: phase_start when constructed (its parent is the innermost phase open on this
// thread), phase_finish when it goes out of scope. step() runs the cancellation check (Ctrl-C)
// and reports the step; a monitor answering false makes it throw Error(kBuild) naming the phase
// and step, after which buildCancelled() is true until the next build starts.
class Phase {
 public:
  Phase(std::string name, int32_t steps);
  ~Phase();
  Phase(const Phase&) = delete;
  Phase& operator=(const Phase&) = delete;
  void step();

 private:
  std::string name_;
  int32_t steps_;
  int32_t done_ = 0;
  const Phase* parent_;
};

bool buildCancelled();  // the last build on this thread was cancelled by its progress monitor

}  // namespace clrt::builder
