// Per-layer times from markers (layer_marks.h).
#include "clrt/runtime/layer_marks.h"

#include <algorithm>

namespace clrt::runtime {
namespace {

cl_event marker(cl_command_queue q) {
  cl_event e = nullptr;
  ocl::check(clEnqueueMarkerWithWaitList(q, 0, nullptr, &e), "clEnqueueMarkerWithWaitList");
  return e;
}

bool endOf(cl_event e, cl_ulong* t) {
  return clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_END, sizeof *t, t, nullptr) == CL_SUCCESS;
}

}  // namespace

bool LayerMarks::usable(cl_command_queue q) {
  if (q == probed_) return usable_;
  cl_event e = marker(q);
  const cl_int err = clWaitForEvents(1, &e);
  cl_ulong t = 0;
  usable_ = err == CL_SUCCESS && endOf(e, &t) && t > 0;
  clReleaseEvent(e);
  probed_ = q;
  return usable_;
}

void LayerMarks::start(cl_command_queue q) {
  release();
  start_ = marker(q);
}

void LayerMarks::mark(cl_command_queue q, const std::string& layer) {
  marks_.emplace_back(layer, marker(q));
}

std::vector<std::pair<std::string, double>> LayerMarks::collect() {
  std::vector<std::pair<std::string, double>> out;
  if (!start_) return out;
  std::vector<cl_event> all{start_};
  for (const auto& [name, e] : marks_) all.push_back(e);
  ocl::check(clWaitForEvents(static_cast<cl_uint>(all.size()), all.data()), "clWaitForEvents");
  cl_ulong prev = 0;
  const bool timed = endOf(start_, &prev);
  for (const auto& [name, e] : marks_) {
    cl_ulong t = prev;
    if (timed && !endOf(e, &t)) t = prev;
    // An in-order queue completes markers in order; max() keeps a clock's jitter from going
    // below zero.
    out.emplace_back(name, static_cast<double>(std::max(t, prev) - prev) * 1e-6);
    prev = std::max(t, prev);
  }
  release();
  return out;
}

void LayerMarks::release() {
  if (start_) clReleaseEvent(start_);
  start_ = nullptr;
  for (auto& [name, e] : marks_) clReleaseEvent(e);
  marks_.clear();
}

}  // namespace clrt::runtime
