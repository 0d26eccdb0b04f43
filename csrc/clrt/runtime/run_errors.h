// The error record of an execution context's runs (tactics/run_errors.h): cleared before each
// run, fetched after it, and raised (kValue naming the layer and the bad value) at the next
// point the host waits for the run: infer(), execute_v2, synchronize() or the next enqueue.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "clrt/ocl/device.h"
#include "clrt/tactics/run_errors.h"

namespace clrt::runtime {

class RunErrorRecord {
 public:
  RunErrorRecord() = default;
  // Allocates the record on `dev` when `needed` (some kernel reportsRunErrors()); otherwise
  // every call is a no-op. `layerNames` maps the tags back to layers.
  void init(ocl::Device& dev, bool needed, std::vector<std::string> layerNames);
  ~RunErrorRecord();
  cl_mem buffer() const { return buf_.get(); }
  void clear(cl_command_queue q);  // enqueues a zero fill
  void fetch(cl_command_queue q);  // enqueues a non-blocking read of the record
  // Waits for the fetched record and throws when a kernel filled it.
  void raisePending();

 private:
  ocl::MemHandle buf_;
  std::vector<std::string> layers_;
  int32_t host_[tactics::kSlots] = {};
  cl_event pending_ = nullptr;
};

}  // namespace clrt::runtime
