// ExecutionContext: input shapes, per-shape resolution (dims, host values, activation buffers),
// enqueue of every device layer, and the NumPy-style infer().
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "clrt/runtime/context_state.h"
#include "clrt/runtime/engine.h"
#include "clrt/runtime/host_io.h"
#include "clrt/tactics/tactic.h"

namespace clrt::runtime {

namespace {

// How FLOAT input t may cross the bus (HostIO::uploadNarrow): as HALF when every reader is a
// REFORMAT from FLOAT to HALF (an FP16 engine's input conversion), as INT8 when every reader is
// a REFORMAT from FLOAT to INT8 at one scale (an INT8 engine's quantization); the engine then
// computes the same bits. Otherwise as it is (dtype FLOAT). Per network input, once per context.
Narrow narrowOf(const ir::Network& net, int t) {
  Narrow none, n;
  // An output or a debug tensor (mark_debug) shows its FLOAT values: those must be the caller's.
  if (net.tensors[t].dtype != DataType::kFLOAT || net.tensors[t].is_output || net.tensors[t].debug)
    return none;
  for (const ir::Layer& l : net.layers)
    for (size_t i = 0; i < l.inputs.size(); ++i) {
      if (l.inputs[i] != t) continue;
      if (l.kind != ir::LayerKind::kREFORMAT || l.outputs.size() != 1 ||
          tactics::inputDtype(l, i) != DataType::kFLOAT)
        return none;
      const DataType to = tactics::outputDtype(l, 0);
      const float scale = to == DataType::kINT8 ? tactics::outputScale(l, 0) : 1.0f;
      if ((to != DataType::kHALF && to != DataType::kINT8) || !(scale > 0) ||
          !std::isfinite(scale) ||
          (n.dtype != DataType::kFLOAT && (to != n.dtype || scale != n.scale)))
        return none;
      n.dtype = to;
      n.scale = scale;
    }
  return n;
}

}  // namespace

ExecutionContext::ExecutionContext(std::shared_ptr<Engine> engine, bool userManaged)
    : engine_(std::move(engine)), user_managed_(userManaged) {
  // A queue of its own, so contexts on two threads overlap; attached to the device, whose
  // finishAll() orders mem_alloc copies (memcpy_dtoh after execute_async_v3) after it. Engine
  // work went to the device's queue: done before this context's first layer.
  queue_ = engine_->device().createQueue();
  engine_->device().attachQueue(queue_);
  ocl::check(clFinish(engine_->device().queue()), "clFinish (engine uploads)");
  for (int t : engine_->desc().net.inputs) {
    const auto& tensor = engine_->desc().net.tensors[t];
    if (isStatic(tensor.dims)) input_shapes_[tensor.name] = tensor.dims;
  }
  data_dependent_ = dataDependentTensors(engine_->desc().net);
  narrow_inputs_.assign(engine_->desc().net.tensors.size(), Narrow());
  for (int t : engine_->desc().net.inputs) narrow_inputs_[t] = narrowOf(engine_->desc().net, t);
  std::vector<std::string> names;
  for (const auto& l : engine_->desc().net.layers) names.push_back(l.name);
  errors_.init(engine_->device(), engine_->reportsRunErrors(), std::move(names));
}

ExecutionContext::~ExecutionContext() {
  host_io_.reset();
  resolved_.reset();
  if (queue_) {
    clFinish(queue_);
    engine_->device().detachQueue(queue_);
    clReleaseCommandQueue(queue_);
  }
}

void ExecutionContext::setOptimizationProfile(int index) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const int n = std::max(engine_->numProfiles(), 1);
  CLRT_CHECK(index >= 0 && index < n, kValue, "optimization profile ", index, " out of range [0, ",
             n, ")");
  profile_ = index;
}

void ExecutionContext::setInputShape(const std::string& name, const Dims& dims) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  CLRT_CHECK(engine_->ioMode(name) == TensorIOMode::kINPUT, kValue, "'", name,
             "' is not an input of this engine");
  const Dims declared = engine_->ioShape(name);
  const ShapeRange r = engine_->profileShape(name, profile_);
  bool ok = dims.size() == declared.size();
  for (size_t i = 0; ok && i < dims.size(); ++i) {
    if (declared[i] >= 0)
      ok = dims[i] == declared[i];
    else
      ok = dims[i] >= r.min[i] && dims[i] <= r.max[i];
  }
  CLRT_CHECK(ok, kValue, "input '", name, "': shape ", dimsToString(dims),
             " is outside what the engine accepts: declared ", dimsToString(declared), ", profile ",
             profile_, " range min ", dimsToString(r.min), " max ", dimsToString(r.max));
  input_shapes_[name] = dims;
}

bool ExecutionContext::allInputShapesSpecified() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  for (int t : engine_->desc().net.inputs)
    if (!input_shapes_.count(engine_->desc().net.tensors[t].name)) return false;
  return true;
}

void ExecutionContext::setShapeInputValues(const std::string& name, HostTensor values) {
  const auto& desc = engine_->desc();
  if (profile_ < static_cast<int>(desc.profiles.size())) {
    auto it = desc.profiles[profile_].values.find(name);
    if (it != desc.profiles[profile_].values.end()) {
      const auto& r = it->second;
      bool ok = static_cast<size_t>(values.numel()) == r.size();
      std::string got;
      if (r.real() || values.dtype == DataType::kFLOAT) {  // compared as the floats layers read
        const auto v = values.castTo(DataType::kFLOAT).asFloats();
        for (size_t i = 0; ok && i < v.size(); ++i)
          ok = v[i] >= static_cast<float>(r.at(0, i)) && v[i] <= static_cast<float>(r.at(2, i));
        for (float x : v) got += (got.empty() ? "" : ", ") + str(x);
        got = "[" + got + "]";
      } else {
        const auto v = values.asInt64();
        for (size_t i = 0; ok && i < v.size(); ++i) ok = v[i] >= r.min[i] && v[i] <= r.max[i];
        got = dimsToString(v);
      }
      CLRT_CHECK(ok, kValue, "shape input '", name, "': values ", got, " are outside profile ",
                 profile_, "'s range min ", r.text(0), " max ", r.text(2),
                 "; build with a wider profile.set_shape_input() range");
    }
  }
  input_values_[name] = std::move(values);
}

void ExecutionContext::setDeviceMemory(uintptr_t ptr, uint64_t bytes) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  CLRT_CHECK(user_managed_, kValue,
             "this context allocates its own device memory: set_device_memory / device_memory are "
             "for a context made with create_execution_context(ExecutionContextAllocationStrategy"
             ".USER_MANAGED) or create_execution_context_without_device_memory()");
  Address a;
  uint64_t usable = 0;
  if (ptr) {
    AllocationRef ref = retainAllocation(ptr);
    CLRT_CHECK(bytes <= ref.bytes, kValue, "set_device_memory: ", bytes, " bytes at 0x", std::hex,
               ptr, std::dec, ", an allocation of ", ref.bytes);
    usable = bytes ? bytes : ref.bytes;
    a = Address{ptr, ref.serial, std::move(ref.mem)};
  }
  clFinish(queue_);  // runs already enqueued use the old memory: let them end first
  device_memory_ = std::move(a);
  device_memory_bytes_ = usable;
  memory_moved_ = true;
}

uintptr_t ExecutionContext::deviceMemory() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return device_memory_.ptr;
}

void ExecutionContext::currentInputs(std::map<int, Dims>& in,
                                     std::map<int, HostTensor>& values) const {
  const auto& net = engine_->desc().net;
  for (int t : net.inputs) {
    if (auto v = input_values_.find(net.tensors[t].name); v != input_values_.end())
      values[t] = v->second;
    auto it = input_shapes_.find(net.tensors[t].name);
    CLRT_CHECK(it != input_shapes_.end(), kValue, "input '", net.tensors[t].name,
               "' has dynamic dims ", dimsToString(net.tensors[t].dims),
               " and no shape set; call set_input_shape() first");
    in[t] = it->second;
  }
  const std::string m = net.namedDimMismatch(in);
  CLRT_CHECK(m.empty(), kValue, "input shapes: ", m,
             "; dims that share a name (ITensor.set_dimension_name, an ONNX dim_param) must be "
             "equal");
}

uint64_t ExecutionContext::deviceMemoryForShapes() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::map<int, Dims> in;
  std::map<int, HostTensor> values;
  currentInputs(in, values);
  const auto& desc = engine_->desc();
  return engine_->deviceMemoryAt(resolveShapes(desc.net, desc.on_host, in, values).dims);
}

void ExecutionContext::resolve() {
  if (user_managed_) {
    CLRT_CHECK(device_memory_.ptr, kValue,
               "this context's device memory is user-managed and none is set: call "
               "set_device_memory(ptr, size) or set context.device_memory, with at least "
               "update_device_memory_size_for_shapes() bytes, before running it");
    CLRT_CHECK(allocationLive(device_memory_.ptr, device_memory_.serial), kValue,
               "the device memory set on this context (0x", std::hex, device_memory_.ptr, std::dec,
               ") was freed; set the context's device memory again");
  }
  std::map<std::string, std::vector<uint8_t>> vkey;
  for (const auto& [name, v] : input_values_) vkey[name] = v.bytes;
  if (resolved_ && !memory_moved_ && resolved_->key == input_shapes_ &&
      resolved_->value_key == vkey)
    return;
  memory_moved_ = false;
  const auto& desc = engine_->desc();
  const auto& net = desc.net;
  std::map<int, Dims> in;
  std::map<int, HostTensor> values;
  currentInputs(in, values);
  auto r = std::make_unique<Resolved>();
  if (resolved_) r->io = std::move(resolved_->io);
  resolved_.reset();
  r->key = input_shapes_;
  r->value_key = std::move(vkey);
  r->shapes = resolveShapes(net, desc.on_host, in, values);
  ocl::Device& dev = engine_->device();
  const uint64_t align = dev.info().arena_alignment;
  r->plan = planMemory(net, desc.on_host, r->shapes.dims, align);
  size_t ws = 0;
  for (size_t li = 0; li < net.layers.size(); ++li) {
    const auto& l = net.layers[li];
    if (desc.on_host[li]) continue;
    ws = std::max(ws, engine_->kernel(static_cast<int>(li))->workspaceAt(l, r->shapes.dims));
    for (int t : l.inputs) {
      if (t < 0 || !r->shapes.values[t] || engine_->constantBuffer(t) || r->host_copies.count(t))
        continue;
      const HostTensor& v = *r->shapes.values[t];
      ocl::MemHandle m(dev.alloc(std::max<size_t>(v.bytes.size(), 4)));
      dev.write(queue_, m.get(), 0, v.bytes.size(), v.bytes.data(), true);
      r->host_copies[t] = std::move(m);
    }
  }
  if (user_managed_) {
    // Sub-buffers of the caller's memory, which must hold them all at these shapes.
    const BlockLayout b = blockLayout(r->plan, ws, align);
    CLRT_CHECK(b.total <= device_memory_bytes_, kValue, "this context needs ", b.total,
               " bytes of device memory at its current input shapes; the memory set holds ",
               device_memory_bytes_, " (update_device_memory_size_for_shapes() gives the size)");
    auto sub = [&](uint64_t offset, uint64_t bytes) {
      cl_buffer_region region{offset, std::max<uint64_t>(bytes, 4)};
      cl_int err = CL_SUCCESS;
      cl_mem m = clCreateSubBuffer(device_memory_.mem.get(), CL_MEM_READ_WRITE,
                                   CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
      ocl::check(err, "clCreateSubBuffer (user-managed device memory)");
      return ocl::MemHandle(m);
    };
    for (size_t i = 0; i < r->plan.slot_bytes.size(); ++i)
      r->slots.push_back(sub(b.slot_offset[i], r->plan.slot_bytes[i]));
    if (ws) r->workspace = sub(b.workspace_offset, ws);
  } else {
    for (uint64_t bytes : r->plan.slot_bytes)
      r->slots.emplace_back(dev.alloc(std::max<uint64_t>(bytes, 4)));
    if (ws) r->workspace = ocl::MemHandle(dev.alloc(ws));
  }
  r->sub.assign(net.tensors.size(), nullptr);
  for (size_t t = 0; t < net.tensors.size(); ++t)
    if (r->plan.slot[t] >= 0) r->sub[t] = r->slots[r->plan.slot[t]].get();
  r->workspace_bytes = ws;
  if (std::find(data_dependent_.begin(), data_dependent_.end(), 1) != data_dependent_.end())
    r->bound = r->shapes;
  resolved_ = std::move(r);
  fitDataDependent();
}

Dims ExecutionContext::getTensorShape(const std::string& name) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const int t = engine_->ioTensorId(name);
  if (engine_->ioMode(name) == TensorIOMode::kINPUT) {
    auto it = input_shapes_.find(name);
    return it != input_shapes_.end() ? it->second : engine_->ioShape(name);
  }
  if (!allInputShapesSpecified()) return engine_->ioShape(name);
  resolve();
  // Dims the values decide are unknown (-1) until a run has set them.
  if (data_dependent_[t] && !resolved_->ran) return engine_->ioShape(name);
  return resolved_->shapes.dims[t];
}

void ExecutionContext::setTensorAddress(const std::string& name, uintptr_t ptr) {
  engine_->ioTensorId(name);  // validates the name
  if (!ptr) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    addresses_.erase(name);
    return;
  }
  AllocationRef ref = retainAllocation(ptr);  // kValue for pointers that are not allocations
  std::lock_guard<std::recursive_mutex> lock(mu_);
  addresses_[name] = Address{ptr, ref.serial, std::move(ref.mem)};
}

uintptr_t ExecutionContext::getTensorAddress(const std::string& name) const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto it = addresses_.find(name);
  return it == addresses_.end() ? 0 : it->second.ptr;
}

void ExecutionContext::setProfiling(bool on) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  profiling_ = on;
}

namespace {
// CLRT_LAYER_TIMES=wait: a profiled run's layers each waited for and timed on the host, launch
// latency included (read only when profiling).
bool waitEachLayer() {
  const char* how = std::getenv("CLRT_LAYER_TIMES");
  return how && std::strcmp(how, "wait") == 0;
}
}  // namespace

std::vector<std::pair<std::string, double>> ExecutionContext::layerTimes() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (marks_.pending()) layer_times_ = marks_.collect();  // waits for the run
  return layer_times_;
}

void ExecutionContext::enqueue(cl_command_queue queue) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  // Shape-tensor values decide the shapes: read them from their buffers before resolving.
  for (int t : engine_->desc().net.inputs) {
    const auto& tensor = engine_->desc().net.tensors[t];
    auto it = addresses_.find(tensor.name);
    if (!tensor.is_shape_tensor || it == addresses_.end()) continue;
    auto dims = input_shapes_.find(tensor.name);
    CLRT_CHECK(dims != input_shapes_.end(), kValue, "shape input '", tensor.name,
               "' has no shape set; call set_input_shape() first");
    HostTensor v(tensor.dtype, dims->second);
    size_t have = 0;
    clGetMemObjectInfo(it->second.mem.get(), CL_MEM_SIZE, sizeof have, &have, nullptr);
    CLRT_CHECK(have >= v.bytes.size(), kValue, "buffer for shape input '", tensor.name, "' holds ",
               have, " bytes; shape ", dimsToString(v.dims), " needs ", v.bytes.size());
    memcpyDtoH(v.bytes.data(), it->second.ptr, v.bytes.size());
    setShapeInputValues(tensor.name, std::move(v));
  }
  resolve();
  fitDataDependent();  // allocators set since the shapes were resolved
  const auto& net = engine_->desc().net;
  std::vector<cl_mem> io(net.tensors.size(), nullptr);
  for (int i = 0; i < engine_->numIOTensors(); ++i) {
    const std::string& name = engine_->ioName(i);
    const int t = engine_->ioTensorId(name);
    auto it = addresses_.find(name);
    // Sizes known only after the run: deliverOutputs() checks them and copies.
    if (staged(t)) {
      CLRT_CHECK(it != addresses_.end() || allocators_.count(name), kValue, "output '", name,
                 "' has a data-dependent shape ", dimsToString(engine_->ioShape(name)),
                 ": give it an allocator (context.set_output_allocator) or an address large "
                 "enough for its largest size (set_tensor_address)");
      if (it != addresses_.end() && !allocators_.count(name)) {
        CLRT_CHECK(allocationLive(it->second.ptr, it->second.serial), kValue,
                   "the device buffer set for output '", name,
                   "' was freed after set_tensor_address(); set a live allocation");
        io[t] = it->second.mem.get();
      }
      continue;
    }
    CLRT_CHECK(it != addresses_.end(), kValue, "no device buffer set for tensor '", name,
               "'; call set_tensor_address()");
    CLRT_CHECK(allocationLive(it->second.ptr, it->second.serial), kValue, "the device buffer 0x",
               std::hex, it->second.ptr, std::dec, " set for tensor '", name,
               "' was freed after set_tensor_address(); set a live allocation");
    size_t have = 0;
    clGetMemObjectInfo(it->second.mem.get(), CL_MEM_SIZE, sizeof have, &have, nullptr);
    const size_t need = volume(resolved_->shapes.dims[t]) * dtypeSize(net.tensors[t].dtype);
    CLRT_CHECK(have >= need, kValue, "buffer for tensor '", name, "' holds ", have,
               " bytes; shape ", dimsToString(resolved_->shapes.dims[t]), " needs ", need);
    io[t] = it->second.mem.get();
  }
  enqueueLayers(queue ? queue : queue_, io, 0, -1);
  deliverOutputs(queue ? queue : queue_, io);
}

cl_mem ExecutionContext::bufferOf(int t, const std::vector<cl_mem>& io) const {
  if (cl_mem m = resolved_->redirect[t]) return m;
  if (io[t]) return io[t];
  if (cl_mem c = engine_->constantBuffer(t)) return c;
  if (auto it = resolved_->host_copies.find(t); it != resolved_->host_copies.end())
    return it->second.get();
  return resolved_->sub[t];
}

void ExecutionContext::enqueueLayers(cl_command_queue q, const std::vector<cl_mem>& io, int begin,
                                     int end) {
  const auto& desc = engine_->desc();
  const auto& net = desc.net;
  if (end < 0) end = static_cast<int>(net.layers.size());
  CLRT_CHECK(!engine_->superseded(), kValue,
             "this execution context was created before refit_cuda_engine() refitted its engine; "
             "create a new context (engine.create_execution_context()) to run the new weights");
  errors_.raisePending();  // an earlier asynchronous run's error, not reported yet
  if (begin == 0 && !resolved_->bound.dims.empty()) {  // data-dependent dims: from the bounds
    resolved_->shapes = resolved_->bound;
    fitDataDependent();
  }
  errors_.clear(q);
  layer_times_.clear();
  const bool marked = profiling_ && !waitEachLayer() && marks_.usable(q);
  if (marked) marks_.start(q);
  std::lock_guard<std::mutex> engineLock(engine_->enqueueMutex());
  for (size_t li = static_cast<size_t>(begin); li < static_cast<size_t>(end); ++li) {
    if (desc.on_host[li]) continue;
    const auto& l = net.layers[li];
    tactics::ExecArgs a;
    a.queue = q;
    for (int t : l.inputs) {
      if (t < 0) {
        a.inputs.push_back({});
        a.input_values.push_back(nullptr);
        continue;
      }
      a.inputs.push_back({bufferOf(t, io), resolved_->shapes.dims[t], net.tensors[t].dtype,
                          net.tensors[t].format});
      a.input_values.push_back(resolved_->shapes.values[t] ? &*resolved_->shapes.values[t]
                                                           : nullptr);
    }
    for (int t : l.outputs)
      a.outputs.push_back({bufferOf(t, io), resolved_->shapes.dims[t], net.tensors[t].dtype,
                           net.tensors[t].format});
    a.workspace = resolved_->workspace.get();
    a.errors = errors_.buffer();
    a.layer = static_cast<int>(li);
    auto t0 = std::chrono::steady_clock::now();
    tactics::Kernel* kernel = engine_->kernel(static_cast<int>(li));
    std::vector<Dims> actual;
    if (kernel->dataDependent()) a.actual_dims = &actual;
    kernel->enqueue(a);
    if (kernel->dataDependent()) {
      afterDataDependent(static_cast<int>(li), std::move(actual));
      for (size_t o = 0; o < l.outputs.size(); ++o)  // observers see what was written
        a.outputs[o] = {bufferOf(l.outputs[o], io), resolved_->shapes.dims[l.outputs[o]],
                        net.tensors[l.outputs[o]].dtype, net.tensors[l.outputs[o]].format};
    }
    if (observer_) observer_(static_cast<int>(li), a);
    if (marked) {
      marks_.mark(q, l.name);
    } else if (profiling_) {  // a queue without marker times: wait for each layer
      clFinish(q);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      layer_times_.push_back({l.name, ms});
    }
  }
  // Outputs computed on the host (shape math, constants) are written after the device layers.
  if (end == static_cast<int>(net.layers.size())) {
    for (int t : net.outputs)
      if (resolved_->shapes.values[t] && !resolved_->shapes.values[t]->bytes.empty()) {
        const HostTensor& v = *resolved_->shapes.values[t];
        engine_->device().write(q, bufferOf(t, io), 0, v.bytes.size(), v.bytes.data(), false);
      }
    resolved_->ran = true;
  }
  errors_.fetch(q);
}

void ExecutionContext::synchronize() {
  ocl::check(clFinish(queue_), "clFinish");
  errors_.raisePending();
}

void ExecutionContext::execute(const std::vector<uintptr_t>& bindings) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  CLRT_CHECK(static_cast<int>(bindings.size()) == engine_->numIOTensors(), kValue,
             "execute_v2 expects ", engine_->numIOTensors(), " buffers (inputs then outputs), got ",
             bindings.size());
  for (int i = 0; i < engine_->numIOTensors(); ++i)
    CLRT_CHECK(bindings[i] != 0, kValue, "execute_v2: buffer ", i, " (tensor '", engine_->ioName(i),
               "') is null");
  for (int i = 0; i < engine_->numIOTensors(); ++i)
    setTensorAddress(engine_->ioName(i), bindings[i]);
  enqueue();
  synchronize();
}

std::map<std::string, HostTensor> ExecutionContext::infer(
    const std::map<std::string, HostTensor>& inputs) {
  std::map<std::string, HostView> views;
  for (auto& [name, h] : inputs)
    views[name] = HostView{h.dtype, h.dims, h.bytes.data(), h.bytes.size()};
  return infer(views);
}

template <class Download>
auto ExecutionContext::runInfer(const std::map<std::string, HostView>& inputs, Download&& download)
    -> decltype(download()) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  // CLRT_INFER_TRACE=1: each call waits for its uploads and for its layers before going on, and
  // prints to stderr how long the host staged the inputs, the uploads took to land, the layers
  // ran and the outputs took to reach the caller (a diagnostic: the waits undo the overlap of
  // copies with the host's conversions, so the call runs slower than without it).
  static const bool trace = [] {
    const char* v = std::getenv("CLRT_INFER_TRACE");
    return v && *v && *v != '0';
  }();
  using Clock = std::chrono::steady_clock;
  Clock::time_point t[5];
  auto ms = [&](int a, int b) {
    return std::chrono::duration<double, std::milli>(t[b] - t[a]).count();
  };
  auto out = finishingOnError(queue_, [&] {
    if (trace) t[0] = Clock::now();
    stageInputs(inputs);
    if (trace) {
      t[1] = Clock::now();
      clFinish(queue_);
      t[2] = Clock::now();
    }
    enqueueLayers(queue_, infer_io_, 0, -1);
    if (trace) {
      clFinish(queue_);
      t[3] = Clock::now();
    }
    return download();
  });
  if (trace) {
    t[4] = Clock::now();
    std::fprintf(stderr,
                 "clrt infer: inputs staged %.3f ms, uploads landed %.3f ms later, layers %.3f "
                 "ms, outputs to the host %.3f ms; %.3f ms in all\n",
                 ms(0, 1), ms(1, 2), ms(2, 3), ms(3, 4), ms(0, 4));
  }
  errors_.raisePending();
  return out;
}

std::map<std::string, HostTensor> ExecutionContext::infer(
    const std::map<std::string, HostView>& inputs) {
  return runInfer(inputs, [&] { return downloadOutputs(); });
}

std::map<std::string, HostOutput> ExecutionContext::inferPooled(
    const std::map<std::string, HostView>& inputs) {
  return runInfer(inputs, [&] {
    if (!out_blocks_)
      out_blocks_ = std::make_unique<HostBlocks>(engine_->devicePtr(), host_io_->pinned());
    const auto& net = engine_->desc().net;
    std::map<std::string, HostOutput> out;
    downloadEach([&](int t, size_t bytes) -> void* {
      HostOutput& o = out[net.tensors[t].name];
      o.dtype = net.tensors[t].dtype;
      o.dims = resolved_->shapes.dims[t];
      if (bytes) o.data = out_blocks_->take(bytes);
      return o.data.get();
    });
    return out;
  });
}

void ExecutionContext::stageInputs(const std::map<std::string, HostView>& inputs) {
  const auto& net = engine_->desc().net;
  std::string expected;
  for (int t : net.inputs) expected += (expected.empty() ? "'" : ", '") + net.tensors[t].name + "'";
  for (auto& [name, v] : inputs)
    CLRT_CHECK(engine_->ioMode(name) == TensorIOMode::kINPUT, kValue, "infer: '", name,
               "' is not an input of this engine; inputs are ", expected);
  for (int t : net.inputs) {
    const auto& tensor = net.tensors[t];
    auto it = inputs.find(tensor.name);
    CLRT_CHECK(it != inputs.end(), kValue, "infer: missing input '", tensor.name, "'; inputs are ",
               expected);
    CLRT_CHECK(it->second.dtype == tensor.dtype, kValue, "infer: input '", tensor.name,
               "' has dtype ", dtypeName(it->second.dtype), ", the engine expects ",
               dtypeName(tensor.dtype));
    setInputShape(tensor.name, it->second.dims);
    if (tensor.is_shape_tensor) {
      const HostView& v = it->second;
      HostTensor h(tensor.dtype, v.dims);
      CLRT_CHECK(v.bytes == h.bytes.size(), kValue, "infer: input '", tensor.name, "' holds ",
                 v.bytes, " bytes for shape ", dimsToString(v.dims));
      std::copy_n(static_cast<const uint8_t*>(v.data), v.bytes, h.bytes.data());
      setShapeInputValues(tensor.name, std::move(h));
    }
  }
  resolve();
  fitDataDependent();
  ocl::Device& dev = engine_->device();
  auto ioBuffer = [&](const std::string& name, size_t bytes) -> cl_mem {
    auto& slot = resolved_->io[name];
    if (!slot.first.get() || slot.second < bytes) {
      slot.first = ocl::MemHandle(dev.alloc(std::max<size_t>(bytes, 4)));
      slot.second = bytes;
    }
    return slot.first.get();
  };
  // infer() uses buffers of its own: addresses set with set_tensor_address stay as they were.
  infer_io_.assign(net.tensors.size(), nullptr);
  if (!host_io_) host_io_ = std::make_unique<HostIO>(dev, queue_);
  for (int t : net.inputs) {
    if (net.tensors[t].is_shape_tensor) continue;  // read on the host above
    const HostView& v = inputs.at(net.tensors[t].name);
    CLRT_CHECK(v.bytes == volume(v.dims) * dtypeSize(net.tensors[t].dtype), kValue,
               "infer: input '", net.tensors[t].name, "' holds ", v.bytes, " bytes for shape ",
               dimsToString(v.dims));
    infer_io_[t] = ioBuffer(net.tensors[t].name, v.bytes);
    const Narrow& nw = narrow_inputs_[t];
    if (nw.dtype != DataType::kFLOAT && host_io_->pinned() && narrowUploadsEnabled(nw.dtype) &&
        !isPinnedHost(v.data, v.bytes))
      host_io_->uploadNarrow(net.tensors[t].name, infer_io_[t], static_cast<const float*>(v.data),
                             v.bytes / 4, nw);
    else
      host_io_->upload(net.tensors[t].name, infer_io_[t], v.data, v.bytes);
  }
  for (int t : net.outputs) {
    if (resolved_->redirect[t]) continue;  // written to the context's own buffer
    const size_t bytes = volume(resolved_->shapes.dims[t]) * dtypeSize(net.tensors[t].dtype);
    if (!infer_io_[t]) infer_io_[t] = ioBuffer(net.tensors[t].name, bytes);
  }
}

std::map<std::string, HostTensor> ExecutionContext::downloadOutputs() {
  const auto& net = engine_->desc().net;
  std::map<std::string, HostTensor> out;
  downloadEach([&](int t, size_t) -> void* {
    auto& slot = out[net.tensors[t].name];
    slot = HostTensor(net.tensors[t].dtype, resolved_->shapes.dims[t]);
    return slot.bytes.data();
  });
  return out;
}

void ExecutionContext::downloadEach(const std::function<void*(int t, size_t bytes)>& where) {
  const auto& net = engine_->desc().net;
  try {
    for (int t : net.outputs) {
      const size_t bytes = volume(resolved_->shapes.dims[t]) * dtypeSize(net.tensors[t].dtype);
      void* dst = where(t, bytes);
      if (bytes) host_io_->download(net.tensors[t].name, bufferOf(t, infer_io_), dst, bytes);
    }
    host_io_->finish();
  } catch (...) {
    clFinish(queue_);  // copies already enqueued write into the caller's memory
    throw;
  }
}

}  // namespace clrt::runtime
