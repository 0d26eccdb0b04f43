// The IExecutionContext object's state, shared by bind_engine.cc (shapes, execution) and
// bind_debug.cc (debug tensors and their listener) and bind_output_allocator.cc.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "clrt/python/bindings.h"
#include "clrt/runtime/engine.h"

namespace clrt::python {

struct Context {
  std::unique_ptr<runtime::ExecutionContext> ctx;
  py::object engine;  // the ICudaEngine object (keeps the engine and its logger alive)
  std::string name;
  bool profiling = false;
  bool debug_sync = false;  // IExecutionContext.debug_sync: execute_v2 waits for each layer
  py::object debug_listener = py::none();               // a trt.IDebugListener, or None
  std::map<std::string, bool> debug_state;              // set_tensor_debug_state; absent means off
  std::map<std::string, py::object> output_allocators;  // set_output_allocator, by output
};

// Marked tensors read back during a run, in execution order.
using DebugValues = std::vector<std::pair<std::string, HostTensor>>;

// Runs `run` (which releases the GIL itself); when a debug listener is set and some marked
// tensor's debug state is on, those tensors are read back as their layers finish and the
// listener's process_debug_tensor is called for each after the run. With `all`, every marked
// tensor is read back into it, whatever its state (bind_debug.cc). `also`, when given, is called
// after each device layer is enqueued too (execute_v2's debug_sync).
void runWithDebug(Context& c, const std::function<void()>& run, DebugValues* all = nullptr,
                  const runtime::ExecutionContext::LayerObserver& also = nullptr);
// `out` (infer's outputs) with every value of `values` added, INT8 ones as floats.
py::dict inferDebugValues(Context& c, DebugValues&& values, py::dict out);
// IExecutionContext's debug-tensor methods and infer(feeds, debug=...) (bind_debug.cc).
void bindContextDebug(py::class_<Context>& cls);
// set_output_allocator / get_output_allocator (bind_output_allocator.cc).
void bindContextOutputAllocator(py::class_<Context>& cls);

}  // namespace clrt::python
