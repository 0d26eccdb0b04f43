// Per-layer device times of a profiled run (context.profiling, IProfiler, clrtexec
// --dumpProfile) from markers enqueued between the layers: a layer's time is the span from the
// marker before it completing to the one after it completing, read once the run is done. The
// layers are not waited for one by one, so the device runs them back to back as it does
// unprofiled and the host's enqueue time is left out while the device is busy; the times add
// up to the run's device time. A queue whose markers carry no profiling times (a driver that
// gives none), or CLRT_LAYER_TIMES=wait, is timed the old way: the host waits after each layer
// (launch latency included: what a batch-1 run pays per layer).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "clrt/ocl/device.h"

namespace clrt::runtime {

class LayerMarks {
 public:
  LayerMarks() = default;
  LayerMarks(const LayerMarks&) = delete;
  LayerMarks& operator=(const LayerMarks&) = delete;
  ~LayerMarks() { release(); }

  // Whether q's markers carry profiling times (asked once per queue: a marker and a wait).
  bool usable(cl_command_queue q);
  // Drops the last run's markers and enqueues the one that opens this run.
  void start(cl_command_queue q);
  // Enqueues the marker that closes `layer`.
  void mark(cl_command_queue q, const std::string& layer);
  bool pending() const { return !marks_.empty(); }
  // Waits for the markers, then [(layer, ms)] in run order; the markers are released.
  std::vector<std::pair<std::string, double>> collect();

 private:
  void release();
  cl_command_queue probed_ = nullptr;
  bool usable_ = false;
  cl_event start_ = nullptr;
  std::vector<std::pair<std::string, cl_event>> marks_;
};

}  // namespace clrt::runtime
