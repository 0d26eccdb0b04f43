// Engine and ExecutionContext: kernels instantiated from an EngineDesc, memory planning
// (activation buffers shared by tensors whose lifetimes do not overlap), enqueue, and the
// NumPy-friendly infer().
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "clrt/core/logger.h"
#include "clrt/ocl/device.h"
#include "clrt/plan/engine_desc.h"
#include "clrt/runtime/host_io.h"
#include "clrt/runtime/layer_marks.h"
#include "clrt/runtime/run_errors.h"
#include "clrt/tactics/tactic.h"

namespace clrt::runtime {

// The engine types live in plan/ (which must not include runtime/).
using plan::EngineDesc;
using plan::Profile;
using plan::ShapeRange;
using plan::ValueRange;

enum class TensorIOMode { kNONE = 0, kINPUT = 1, kOUTPUT = 2 };
struct ResolvedShapes;  // shape_resolver.h

// Host memory infer() reads without copying it first (a NumPy array held by the caller).
struct HostView {
  DataType dtype = DataType::kFLOAT;
  Dims dims;
  const void* data = nullptr;
  size_t bytes = 0;
};

class HostIO;

// An output of inferPooled(): its values at `data`, a block of the context's HostBlocks, which
// it returns to when the last copy of `data` goes (null when the output has no elements).
struct HostOutput {
  DataType dtype = DataType::kFLOAT;
  Dims dims;
  std::shared_ptr<uint8_t> data;
};

// TensorRT's IOutputAllocator: where an output goes when its size is known only after the run
// (data-dependent shapes), for enqueue()/execute() users.
class OutputAllocator {
 public:
  virtual ~OutputAllocator() = default;
  // A mem_alloc pointer holding at least `size` bytes (>= 1, also for an empty tensor) for output
  // `name`; `current` is what it returned last time for it (0 the first time).
  virtual uintptr_t reallocate(const std::string& name, uintptr_t current, uint64_t size,
                               uint64_t alignment, cl_command_queue queue) = 0;
  virtual void notifyShape(const std::string& name, const Dims& dims) = 0;
};

class ExecutionContext;

// Device copies of the tensors a run needs to resume at a layer (ExecutionContext::capture).
struct Snapshot {
  int layer = 0;  // the first layer a resumed run executes
  std::map<int, std::pair<ocl::MemHandle, uint64_t>> tensors;  // tensor id -> copy, its bytes
  uint64_t bytes = 0;                                          // over all tensors
  cl_mem buffer(int tensor) const;  // the copy of `tensor`, or nullptr when not held
};

// Where Engine::create's EngineDesc comes from.
struct LoadOptions {
  // Read from a file: every field is checked against every other (engine_check.h) first.
  bool from_file = false;
  // Build every program from the embedded source (or this machine's kernel cache) instead of
  // loading the stored binaries, and store the fresh binaries in the engine.
  bool rebuild_programs = false;
};

class Engine : public std::enable_shared_from_this<Engine> {
 public:
  // Checks the device fingerprint (kEngineFormat naming both devices on mismatch) and the desc,
  // instantiates every layer's tactic (compiles nothing when the binaries are present and
  // used), uploads constants.
  static std::shared_ptr<Engine> create(EngineDesc desc, std::shared_ptr<ocl::Device> dev,
                                        ILogger* logger, const LoadOptions& load = {});
  static std::shared_ptr<Engine> deserialize(const uint8_t* data, size_t size,
                                             std::shared_ptr<ocl::Device> dev, ILogger* logger,
                                             bool rebuildPrograms = false);
  std::vector<uint8_t> serialize() const;

  const EngineDesc& desc() const { return desc_; }
  ocl::Device& device() const { return *dev_; }
  std::shared_ptr<ocl::Device> devicePtr() const { return dev_; }
  ILogger* logger() const { return logger_; }

  // I/O tensors: inputs first (network order), then outputs.
  int numIOTensors() const { return static_cast<int>(io_.size()); }
  const std::string& ioName(int i) const;  // throws kValue on a bad index
  // The name infer() returns I/O tensor i under: its ONNX graph output name where the engine
  // tensor had to take another (the output is also a graph input), else ioName(i).
  const std::string& ioKey(int i) const;
  int ioTensorId(const std::string& name) const;       // tensor id; throws kValue naming the tensor
  TensorIOMode ioMode(const std::string& name) const;  // kNONE for unknown names
  Dims ioShape(const std::string& name) const;         // build-time dims, -1 for dynamic
  DataType ioDtype(const std::string& name) const;
  // kHWC where the tensor's allowed_formats asked for channels last (builder/layouts.cc).
  ir::TensorFormat ioFormat(const std::string& name) const;
  int numProfiles() const { return static_cast<int>(desc_.profiles.size()); }
  // {min, opt, max} for an input under a profile; throws kValue when out of range/unknown.
  ShapeRange profileShape(const std::string& input, int profile) const;

  int numLayers() const { return static_cast<int>(desc_.net.layers.size()); }

  // Set when a refit replaced this engine (the Python ICudaEngine then holds the refitted one):
  // contexts made before it stop with an error instead of running the old weights.
  void supersede() { superseded_ = true; }
  bool superseded() const { return superseded_; }
  uint64_t peakActivationBytes() const { return desc_.peak_activation_bytes; }

  // `userManaged`: the context's activations and workspace go in device memory the caller
  // hands it (ExecutionContext::setDeviceMemory; TensorRT's USER_MANAGED strategy).
  std::unique_ptr<ExecutionContext> createExecutionContext(bool userManaged = false);
  // Bytes of device memory a user-managed context needs at profile `p`'s max shapes
  // (activations and workspace, each buffer aligned as the device's sub-buffers must be).
  uint64_t deviceMemoryForProfile(int p) const;
  // The same at resolved dims (per tensor).
  uint64_t deviceMemoryAt(const std::vector<Dims>& dims) const;
  // Bytes output `name` can take at most under profile `p`: its dims at the profile's max
  // shapes, a data-dependent dim at its upper bound; -1 when `name` is no output.
  int64_t maxOutputBytes(const std::string& name, int p) const;
  // Shapes at profile `p`'s max corner (kValue when there is no such profile).
  ResolvedShapes resolvedAtMax(int p) const;

  // Internal, used by ExecutionContext.
  tactics::Kernel* kernel(int layer) const { return kernels_[layer].get(); }
  cl_mem constantBuffer(int tensor) const;  // device copy of a constant, or nullptr
  // Held while a context enqueues the layers: kernel objects (and their arguments) are the
  // engine's, shared by every context.
  std::mutex& enqueueMutex() const { return enqueue_mu_; }
  bool reportsRunErrors() const { return reports_run_errors_; }  // some kernel checks values

 private:
  std::atomic<bool> superseded_{false};
  Engine() = default;
  EngineDesc desc_;
  std::shared_ptr<ocl::Device> dev_;
  ILogger* logger_ = nullptr;
  std::vector<int> io_;                                    // tensor ids
  std::vector<std::unique_ptr<tactics::Kernel>> kernels_;  // per layer; null for host layers
  std::map<int, ocl::MemHandle> const_bufs_;               // tensor id -> device copy
  mutable std::mutex enqueue_mu_;
  bool reports_run_errors_ = false;
};

// Every public method locks the context, so one context may be used from several threads
// (calls are serialized; each sees a consistent set of shapes and buffers).
class ExecutionContext {
 public:
  explicit ExecutionContext(std::shared_ptr<Engine> engine, bool userManaged = false);
  ~ExecutionContext();

  Engine& engine() const { return *engine_; }
  // Validates against the engine's dims and the active profile (kValue naming the input, the
  // given shape and the allowed range).
  void setInputShape(const std::string& name, const Dims& dims);
  Dims getTensorShape(const std::string& name);  // resolved dims of any I/O tensor
  bool allInputShapesSpecified() const;
  void setOptimizationProfile(int index);
  int optimizationProfile() const { return profile_; }

  // A user buffer (a mem_alloc pointer; 0 unsets) for an I/O tensor. The context holds a
  // reference to it, so a later free cannot make it write freed memory; enqueue refuses an
  // allocation freed since (naming the tensor), and checks it is large enough.
  void setTensorAddress(const std::string& name, uintptr_t ptr);
  uintptr_t getTensorAddress(const std::string& name) const;
  // An output's allocator (null unsets): enqueue() asks it for memory at the run's actual size
  // and tells it the shape. Outputs whose shape depends on values need one (or an address large
  // enough, checked after the run).
  void setOutputAllocator(const std::string& name, std::shared_ptr<OutputAllocator> a);
  // A user-managed context's device memory: a mem_alloc pointer (0 unsets) of which the first
  // `bytes` (0: all of it) hold the activations and workspace, as sub-buffers; referenced while
  // set, and checked before each run to be live and large enough for the shapes then.
  bool userManaged() const { return user_managed_; }
  void setDeviceMemory(uintptr_t ptr, uint64_t bytes);
  uintptr_t deviceMemory() const;
  // Bytes of device memory this context needs at its current input shapes (all set).
  uint64_t deviceMemoryForShapes();
  std::shared_ptr<OutputAllocator> outputAllocator(const std::string& name) const;
  // Enqueues the whole network on `queue` (the context's own queue when null); does not wait.
  void enqueue(cl_command_queue queue = nullptr);
  // execute_v2: one buffer per I/O tensor in I/O order; waits for completion.
  void execute(const std::vector<uintptr_t>& bindings);
  // Sets shapes from the arrays, uploads, runs, downloads. Names/dtypes/shapes are checked
  // (kValue naming the tensor and what was expected); the views must hold the inputs' dtypes.
  std::map<std::string, HostTensor> infer(const std::map<std::string, HostView>& inputs);
  std::map<std::string, HostTensor> infer(const std::map<std::string, HostTensor>& inputs);
  // infer() with the outputs in recycled host blocks (page-locked on GPUs, HostBlocks): what
  // Python's infer() returns as NumPy arrays, without zero-filling fresh memory for each.
  std::map<std::string, HostOutput> inferPooled(const std::map<std::string, HostView>& inputs);
  void synchronize();
  cl_command_queue queue() const { return queue_; }

  // Per-layer profiling (filled when enabled): layer name -> last run's milliseconds.
  void setProfiling(bool on);
  std::vector<std::pair<std::string, double>> layerTimes() const;
  // Called after each device layer is enqueued, with its device tensors, on the same queue
  // (calibration enqueues its statistics kernels there, before the activation buffers are reused).
  using LayerObserver = std::function<void(int layer, const tactics::ExecArgs& args)>;
  void setLayerObserver(LayerObserver f) { observer_ = std::move(f); }

  // Partial re-execution, for re-runs that change one tensor (calibration's range refinement):
  // run once, capture() the tensors the layers from some layer on read, then restore() them (and
  // change what is to be changed, at tensorBuffer()) and run only those layers. With the same
  // shapes and kernels a resumed run's outputs equal a full run's bit for bit. Everything works on
  // infer()'s own buffers and queue; load() stages the inputs as infer() does without running.
  void load(const std::map<std::string, HostTensor>& inputs);
  // Enqueues layers [begin, end) (end < 0: to the last) after load(); does not wait.
  void runLayers(int begin, int end = -1);
  // What capture(layer) copies: device tensors read by layers >= layer that earlier layers (or
  // the inputs) wrote, and network outputs written before it. Needs the shapes (after load()).
  std::vector<int> liveAt(int layer);
  uint64_t liveBytes(int layer);
  Snapshot capture(int layer);
  void restore(const Snapshot& s);
  cl_mem tensorBuffer(int tensor);   // where `tensor` lives at the current shapes, after load()
  uint64_t tensorBytes(int tensor);  // its size there
  std::map<std::string, HostTensor> outputs();  // downloads the outputs (waits)

 private:
  struct Resolved;
  struct Address {
    uintptr_t ptr = 0;
    uint64_t serial = 0;
    ocl::MemHandle mem;  // a reference of the context's own
  };
  void resolve();  // shapes, host values, memory plan, activation buffers (cached per input shapes)
  // The input dims and shape-input values resolve() starts from (kValue: a dynamic input with
  // no shape set).
  void currentInputs(std::map<int, Dims>& dims, std::map<int, HostTensor>& values) const;
  // Values of a shape-tensor input, checked against the active profile's range.
  void setShapeInputValues(const std::string& name, HostTensor values);
  // Enqueues every device layer with `io` (per tensor id: the I/O buffers, null elsewhere).
  void enqueueLayers(cl_command_queue q, const std::vector<cl_mem>& io, int begin, int end);
  cl_mem bufferOf(int tensor, const std::vector<cl_mem>& io) const;
  // Data-dependent shapes (data_dependent.cc): per-context buffers of the tensors whose dims the
  // values decide (outputs always, others when they outgrow their planned buffer), sized at the
  // current dims; the layers after data-dependent layer `li` resolved from its actual dims; the
  // outputs handed to their allocators / addresses after the run.
  bool staged(int tensor) const;        // an output written to the context's own buffer first
  void fitDataDependent(int from = 0);  // tensors written by layers >= from
  void afterDataDependent(int li, std::vector<Dims> dims);
  void deliverOutputs(cl_command_queue q, const std::vector<cl_mem>& io);
  // infer() and inferPooled(): under the lock, the inputs staged and the layers enqueued, then
  // download() (which returns the outputs); the queue finished on an error, run errors raised.
  template <class Download>
  auto runInfer(const std::map<std::string, HostView>& inputs, Download&& download)
      -> decltype(download());
  // infer()'s checks, shapes and uploads into infer_io_; downloads (waits).
  void stageInputs(const std::map<std::string, HostView>& inputs);
  std::map<std::string, HostTensor> downloadOutputs();
  // Downloads output t (its `bytes` at the resolved dims) to where(t, bytes), every one, and
  // waits; on an error the queue is finished before it propagates, so no copy is left writing
  // into memory the caller may then free.
  void downloadEach(const std::function<void*(int t, size_t bytes)>& where);

  mutable std::recursive_mutex mu_;
  std::shared_ptr<Engine> engine_;
  int profile_ = 0;
  cl_command_queue queue_ = nullptr;
  std::map<std::string, Dims> input_shapes_;
  std::map<std::string, HostTensor> input_values_;  // shape-tensor inputs
  std::map<std::string, Address> addresses_;
  std::map<std::string, std::shared_ptr<OutputAllocator>> allocators_;
  std::map<std::string, uintptr_t> allocated_;  // what each allocator last returned
  std::vector<uint8_t> data_dependent_;         // per tensor: its dims or value depend on values
  std::vector<Narrow> narrow_inputs_;           // per tensor: how infer() may send a FLOAT input
  std::unique_ptr<Resolved> resolved_;
  bool user_managed_ = false;
  Address device_memory_;  // user-managed: the memory set, and its usable bytes
  uint64_t device_memory_bytes_ = 0;
  bool memory_moved_ = false;        // set since the last resolve: the buffers are placed anew
  std::unique_ptr<HostIO> host_io_;  // infer()'s copies (pinned staging on GPUs)
  std::unique_ptr<HostBlocks> out_blocks_;  // inferPooled()'s outputs
  std::vector<cl_mem> infer_io_;            // per tensor: infer()'s I/O buffers, null elsewhere
  bool profiling_ = false;
  // The last profiled run's layer times: from marks_ when its queue gives marker times (read
  // when asked for), else measured by waiting after each layer.
  mutable std::vector<std::pair<std::string, double>> layer_times_;
  mutable LayerMarks marks_;
  LayerObserver observer_;
  RunErrorRecord errors_;  // out-of-range indices, integer division by zero
};

// Device buffers handed to Python as integers (trt.mem_alloc), like pycuda's DeviceAllocation.
uintptr_t memAlloc(std::shared_ptr<ocl::Device> dev, size_t bytes);
void memFree(uintptr_t ptr);
cl_mem lookupAllocation(uintptr_t ptr, size_t* size = nullptr);  // throws kValue if unknown
struct AllocationRef {
  ocl::MemHandle mem;  // retained for the caller
  size_t bytes = 0;
  uint64_t serial = 0;  // unique per mem_alloc, also when the driver reuses a handle
};
AllocationRef retainAllocation(uintptr_t ptr);        // throws kValue if unknown
bool allocationLive(uintptr_t ptr, uint64_t serial);  // still allocated and not freed since
void memcpyHtoD(uintptr_t dst, const void* src, size_t bytes);
void memcpyDtoH(void* dst, uintptr_t src, size_t bytes);
void memcpyDtoD(uintptr_t dst, uintptr_t src, size_t bytes);  // same device; both hold `bytes`
void memsetD8(uintptr_t dst, uint8_t value, size_t bytes);

}  // namespace clrt::runtime
