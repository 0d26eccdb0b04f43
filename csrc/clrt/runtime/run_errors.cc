// The execution context's run error record: zero fill, asynchronous fetch, checked raise.
#include "clrt/runtime/run_errors.h"

#include <cstring>

namespace clrt::runtime {

void RunErrorRecord::init(ocl::Device& dev, bool needed, std::vector<std::string> layerNames) {
  if (!needed) return;
  buf_ = ocl::MemHandle(dev.alloc(sizeof host_));
  layers_ = std::move(layerNames);
}

RunErrorRecord::~RunErrorRecord() {
  // The pending read writes into host_: it must land before this object goes.
  if (pending_) {
    clWaitForEvents(1, &pending_);
    clReleaseEvent(pending_);
  }
}

void RunErrorRecord::clear(cl_command_queue q) {
  if (!buf_.get()) return;
  const int32_t zero = 0;
  ocl::check(
      clEnqueueFillBuffer(q, buf_.get(), &zero, sizeof zero, 0, sizeof host_, 0, nullptr, nullptr),
      "clEnqueueFillBuffer");
}

void RunErrorRecord::fetch(cl_command_queue q) {
  if (!buf_.get()) return;
  if (pending_) raisePending();
  ocl::check(
      clEnqueueReadBuffer(q, buf_.get(), CL_FALSE, 0, sizeof host_, host_, 0, nullptr, &pending_),
      "clEnqueueReadBuffer");
}

void RunErrorRecord::raisePending() {
  if (!pending_) return;
  const cl_int err = clWaitForEvents(1, &pending_);
  clReleaseEvent(pending_);
  pending_ = nullptr;
  ocl::check(err, "clWaitForEvents");
  if (host_[tactics::kTag] == 0) return;
  const int li = host_[tactics::kTag] - 1;
  const std::string name =
      li >= 0 && li < static_cast<int>(layers_.size()) ? layers_[li] : "#" + std::to_string(li);
  const std::string msg = tactics::describeRunError(host_, name);
  std::memset(host_, 0, sizeof host_);
  fail(ErrorKind::kValue, msg);
}

}  // namespace clrt::runtime
