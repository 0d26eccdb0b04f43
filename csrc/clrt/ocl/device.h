// OpenCL platform/device choice, context, queue, buffers, program build + binary cache, events.
#pragma once

#define CL_TARGET_OPENCL_VERSION 120
#ifndef CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#endif
#include <CL/cl.h>

#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "clrt/core/error.h"
#include "clrt/core/logger.h"

namespace clrt::ocl {

// Throws Error(kDevice) "OpenCL error <name> (<code>) in <what>" when err != CL_SUCCESS.
void check(cl_int err, const char* what);
const char* clErrorName(cl_int err);

struct DeviceInfo {
  int index = 0;  // position in getDevices()
  std::string name, vendor, version, driver, platform;
  bool is_gpu = false;
  bool is_nvidia = false;
  // NVIDIA's compute capability as major * 10 + minor (cl_nv_device_attribute_query); 0 where
  // the driver does not report one.
  int compute_capability = 0;
  uint64_t global_mem = 0, max_alloc = 0, local_mem = 0;
  size_t max_work_group = 0;
  int compute_units = 0;
  bool has_fp16 = false;  // cl_khr_fp16
  // Offset alignment for sub-buffers of one arena (CL_DEVICE_MEM_BASE_ADDR_ALIGN, >= 256 bytes).
  uint64_t arena_alignment = 256;
  std::string extensions;
  // Identifies device + driver: stored in engine files and program cache keys.
  std::string fingerprint() const;
};

// All OpenCL devices on all platforms, in a stable order.
std::vector<DeviceInfo> getDevices();

// Holds one device's context and a profiling-enabled in-order queue. One per device, shared.
struct DeferredLog;  // program_cache.cc

class Device {
 public:
  static std::shared_ptr<Device> open(int index);
  // CLRT_DEVICE (index or name substring) if set, else the first GPU, else the first device.
  static std::shared_ptr<Device> getDefault();
  static void setDefault(int index);  // what getDefault returns from now on
  // An index from a user string: a number, or a case-insensitive name substring.
  static int resolve(const std::string& spec);

  ~Device();
  const DeviceInfo& info() const { return info_; }
  cl_context context() const { return ctx_; }
  cl_device_id id() const { return dev_; }
  cl_command_queue queue() const { return queue_; }  // the device's default queue
  cl_command_queue createQueue() const;              // a new profiling in-order queue
  // The queues of execution contexts (one each, so contexts on two threads overlap). Work
  // outside every context (memcpy_htod/dtoh, Stream.synchronize) is ordered after theirs by
  // finishAll(): it waits for the default queue and every attached one, and returns the first
  // clFinish error (CL_SUCCESS when none).
  void attachQueue(cl_command_queue q);
  void detachQueue(cl_command_queue q);
  cl_int finishAll();

  // Buffers. alloc throws kDevice on failure (naming the size).
  cl_mem alloc(size_t bytes) const;
  void write(cl_command_queue q, cl_mem buf, size_t offset, size_t bytes, const void* src,
             bool blocking) const;
  void read(cl_command_queue q, cl_mem buf, size_t offset, size_t bytes, void* dst) const;

  // A program from the embedded kernel file `file` (e.g. "conv.cl") with build options
  // `options` (-D...): from the engine-file binaries of a ProgramBinaryScope alive on this thread,
  // else from the in-process cache, the disk cache or a compilation of the source. Thread-safe.
  // Returns a retained program owned by the device's cache.
  // Two threads asking for one program wait for one build; different programs build at once.
  cl_program program(const std::string& file, const std::string& options);
  // Programs built from source (or the disk cache) in this process, for the engine file:
  // key -> binary.
  std::map<std::string, std::vector<uint8_t>> programBinaries(const std::vector<std::string>& keys);
  static std::string programKey(const std::string& file, const std::string& options);
  int compileCount() const { return compile_count_; }  // compilations done in this process
  // Seconds spent building programs from source, and programs loaded from the disk cache, in
  // this process (for the builder's time report).
  double compileSeconds() const { return compile_seconds_; }
  int cacheLoads() const { return cache_loads_; }

  // A kernel object from a cached program (new object each call; caller releases).
  cl_kernel kernel(const std::string& file, const std::string& options, const char* name);
  // A kernel object from a program program() returned (`file` names it in errors).
  static cl_kernel kernel(cl_program program, const std::string& file, const char* name);

 private:
  Device() = default;
  cl_program retargeted(cl_program prog, const std::string& what);
  cl_program buildProgram(const std::string& file, const std::string& key, const std::string& opts,
                          const std::string& what, bool showLog, DeferredLog& warnings);
  DeviceInfo info_;
  cl_device_id dev_ = nullptr;
  cl_context ctx_ = nullptr;
  cl_command_queue queue_ = nullptr;
  std::mutex mu_;
  // Key -> program built from source or the disk cache; "key#<binary checksum>" -> program made
  // from an engine file's binary (never handed to a build or to an engine without that binary).
  std::map<std::string, cl_program> programs_;
  std::map<std::string, std::shared_future<cl_program>> building_;  // being built, by key
  int compile_count_ = 0;
  double compile_seconds_ = 0.0;
  int cache_loads_ = 0;
  std::mutex queues_mu_;  // held while finishAll() waits, so a queue is not released meanwhile
  std::vector<cl_command_queue> attached_;
};

// While alive on a thread, records the keys of every program that thread asks for, so the
// builder can store exactly the binaries an engine's kernels use. Recorders nest: each one alive
// records.
class ProgramRecorder {
 public:
  ProgramRecorder();
  ~ProgramRecorder();
  ProgramRecorder(const ProgramRecorder&) = delete;
  ProgramRecorder& operator=(const ProgramRecorder&) = delete;
  const std::vector<std::string>& keys() const { return keys_; }
  void add(const std::string& key);
  // Records `keys` in every recorder alive on the calling thread: programs another thread
  // built on its behalf (the builder's candidate tactics instantiated on worker threads).
  static void addOnThisThread(const std::vector<std::string>& keys);

 private:
  std::vector<std::string> keys_;
  ProgramRecorder* prev_;
};

// While alive on a thread, program() on that thread loads these engine-file binaries (program
// key -> binary) instead of building the source. The binaries must already be integrity-checked
// (plan/): a damaged binary can crash the driver's loader.
class ProgramBinaryScope {
 public:
  explicit ProgramBinaryScope(const std::map<std::string, std::vector<uint8_t>>& binaries);
  ~ProgramBinaryScope();
  ProgramBinaryScope(const ProgramBinaryScope&) = delete;
  ProgramBinaryScope& operator=(const ProgramBinaryScope&) = delete;
  struct Entry {
    const std::vector<uint8_t>* binary;
    uint64_t checksum;
  };
  const Entry* find(const std::string& key) const;

 private:
  std::map<std::string, Entry> entries_;
  const ProgramBinaryScope* prev_;
};

// While alive on a thread, what program() meets on that thread and recovers from (a damaged
// kernel-cache entry, a binary the driver rejects) is logged here as a warning.
class ProgramLogScope {
 public:
  explicit ProgramLogScope(ILogger* logger);
  ~ProgramLogScope();
  ProgramLogScope(const ProgramLogScope&) = delete;
  ProgramLogScope& operator=(const ProgramLogScope&) = delete;
  static ILogger* current();

 private:
  ILogger* prev_;
};

// The ProgramBinaryScope and ProgramLogScope alive on a thread, carried to a worker thread that
// builds programs on its behalf (AdoptProgramScopes there). Recorders are not carried: the
// worker records on its own and the caller adds its keys (ProgramRecorder::addOnThisThread).
struct ProgramScopes {
  const ProgramBinaryScope* binaries;
  ILogger* logger;
  static ProgramScopes current();
};
class AdoptProgramScopes {
 public:
  explicit AdoptProgramScopes(const ProgramScopes& s);
  ~AdoptProgramScopes();
  AdoptProgramScopes(const AdoptProgramScopes&) = delete;
  AdoptProgramScopes& operator=(const AdoptProgramScopes&) = delete;

 private:
  ProgramScopes prev_;
};

// A program binary of NVIDIA's OpenCL compiler (PTX for sm_90) built with -DTC_WGMMA=1, made the
// sm_90a program it stands for: its "//WG:" comment markers removed (kernels/tc_wgmma.clh) and
// its target made sm_90a. False, `bin` unchanged, when it is no such PTX.
bool retargetWgmma(std::vector<uint8_t>& bin);

// The kernel-cache entry on disk: "CLRTKC1\0", u64 binary length, u64 checksum64 of the binary,
// the binary. decode returns the binary, or an empty vector with `why` set when the entry is
// damaged (wrong magic, truncated, trailing bytes, checksum mismatch).
std::vector<uint8_t> encodeCacheEntry(const std::vector<uint8_t>& binary);
std::vector<uint8_t> decodeCacheEntry(const std::vector<uint8_t>& entry, std::string* why);

// RAII for cl_mem / cl_kernel / cl_event.
struct MemHandle {
  cl_mem m = nullptr;
  MemHandle() = default;
  explicit MemHandle(cl_mem x) : m(x) {}
  MemHandle(const MemHandle&) = delete;
  MemHandle& operator=(const MemHandle&) = delete;
  MemHandle(MemHandle&& o) noexcept : m(o.m) { o.m = nullptr; }
  MemHandle& operator=(MemHandle&& o) noexcept;
  ~MemHandle();
  cl_mem get() const { return m; }
};

struct KernelHandle {
  cl_kernel k = nullptr;
  KernelHandle() = default;
  explicit KernelHandle(cl_kernel x) : k(x) {}
  KernelHandle(const KernelHandle&) = delete;
  KernelHandle& operator=(const KernelHandle&) = delete;
  KernelHandle(KernelHandle&& o) noexcept : k(o.k) { o.k = nullptr; }
  KernelHandle& operator=(KernelHandle&& o) noexcept;
  ~KernelHandle();
  cl_kernel get() const { return k; }
};

// Sets kernel arguments in order: setArgs(k, buf, n, 1.0f, ...). Each arg passed by value.
template <typename... Args>
void setArgs(cl_kernel k, const Args&... args) {
  cl_uint i = 0;
  (check(clSetKernelArg(k, i++, sizeof(Args), &args), "clSetKernelArg"), ...);
}

// Enqueues a kernel with a 1/2/3-D global size rounded up to the local size (local may be
// empty for "driver chooses"). Kernels must bounds-check. Returns the event if `ev` non-null.
void launch(cl_command_queue q, cl_kernel k, std::vector<size_t> global,
            std::vector<size_t> local = {}, cl_event* ev = nullptr);

// Embedded kernel sources (generated at build time from csrc/clrt/kernels/*.cl).
const std::string& kernelSource(const std::string& file);  // throws if unknown
std::vector<std::string> kernelFiles();

}  // namespace clrt::ocl
