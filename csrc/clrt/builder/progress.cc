// Build phases reported to the installed progress monitor (progress.h).
#include "clrt/builder/progress.h"

#include <utility>

#include "clrt/builder/cancel.h"
#include "clrt/core/error.h"

namespace clrt::builder {
namespace {
thread_local ProgressMonitor* t_monitor = nullptr;
thread_local const Phase* t_open = nullptr;  // innermost open phase
thread_local bool t_cancelled = false;
}  // namespace

ScopedProgress::ScopedProgress(ProgressMonitor* monitor) : prev_(t_monitor) {
  t_monitor = monitor;
  t_cancelled = false;
}

ScopedProgress::~ScopedProgress() { t_monitor = prev_; }

Phase::Phase(std::string name, int32_t steps)
    : name_(std::move(name)), steps_(steps), parent_(t_open) {
  t_open = this;
  if (t_monitor) t_monitor->phaseStart(name_, parent_ ? parent_->name_ : std::string(), steps_);
}

Phase::~Phase() {
  t_open = parent_;
  if (!t_monitor) return;
  // Also when a cancel or an error unwinds the build, so bars close. A monitor should not throw
  // here (a destructor cannot pass it on); the Python binding reports such an exception itself.
  try {
    t_monitor->phaseFinish(name_);
  } catch (...) {
  }
}

void Phase::step() {
  checkCancel();
  const int32_t step = done_++;
  if (!t_monitor || t_monitor->stepComplete(name_, step)) return;
  t_cancelled = true;
  fail(ErrorKind::kBuild,
       str("build cancelled by the progress monitor: step_complete('", name_, "', ", step,
           ") returned False (", step + 1, " of ", steps_, " steps done)"));
}

bool buildCancelled() { return t_cancelled; }

}  // namespace clrt::builder
