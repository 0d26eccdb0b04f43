// ExecutionContext's per-shape state (dims, memory plan, activation buffers), shared by the files
// that implement the context (context.cc, resume.cc).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "clrt/runtime/engine.h"
#include "clrt/runtime/shape_resolver.h"

namespace clrt::runtime {

// Runs f(); when it throws, waits for `queue` first: uploads read the caller's host memory
// without blocking, and it must stay alive until they are done.
template <class F>
auto finishingOnError(cl_command_queue queue, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (...) {
    clFinish(queue);
    throw;
  }
}

struct ExecutionContext::Resolved {
  std::map<std::string, Dims> key;
  std::map<std::string, std::vector<uint8_t>> value_key;  // shape-tensor input values
  ResolvedShapes shapes;
  MemoryPlan plan;
  std::vector<ocl::MemHandle> slots;          // the plan's activation buffers
  std::vector<cl_mem> sub;                    // per tensor: its buffer (one of slots) or null
  std::map<int, ocl::MemHandle> host_copies;  // host-derived values read by device layers
  ocl::MemHandle workspace;
  size_t workspace_bytes = 0;
  // Data-dependent shapes: the shapes the buffers were planned at (upper bounds; each run starts
  // from them), per-context buffers (tensor -> buffer, bytes) and, per tensor, the one
  // bufferOf() uses instead of the planned or the I/O buffer (null: none). `ran`: a run has set
  // the data-dependent dims.
  ResolvedShapes bound;
  std::map<int, std::pair<ocl::MemHandle, size_t>> own;
  std::vector<cl_mem> redirect;
  bool ran = false;
  std::map<std::string, std::pair<ocl::MemHandle, size_t>> io;  // infer()'s own I/O buffers
};

// Per tensor: whether its dims or value can change with the values a data-dependent layer
// (ir::isDataDependent) computes, i.e. it is that layer's output or downstream of one.
std::vector<uint8_t> dataDependentTensors(const ir::Network& net);

}  // namespace clrt::runtime
