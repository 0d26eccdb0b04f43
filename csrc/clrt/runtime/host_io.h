// Copies between host memory and device buffers for infer(): through pinned (page-locked)
// staging buffers on GPUs, where copies from ordinary pageable memory run at a fraction of the
// bus speed, and directly on CPU devices, where staging would only add a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "clrt/core/types.h"
#include "clrt/ocl/device.h"

namespace clrt::runtime {

// Page-locked host memory (trt.pagelocked_empty): a mapped CL_MEM_ALLOC_HOST_PTR buffer, which
// NVIDIA's driver transfers from at bus speed. infer() and memcpy_htod/dtoh read and write it
// directly, without staging. Registered for its lifetime so those copies can recognise it.
class PinnedHost {
 public:
  PinnedHost(std::shared_ptr<ocl::Device> dev, size_t bytes);
  ~PinnedHost();
  PinnedHost(const PinnedHost&) = delete;
  PinnedHost& operator=(const PinnedHost&) = delete;
  void* data() const { return ptr_; }
  size_t size() const { return bytes_; }

 private:
  std::shared_ptr<ocl::Device> dev_;
  ocl::MemHandle buf_;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};
// Whether [p, p + n) lies inside one live PinnedHost block.
bool isPinnedHost(const void* p, size_t n);

// Host memory for infer()'s outputs (ExecutionContext::inferPooled), recycled: a block goes back
// to the pool when its last owner lets go (a NumPy array's base), so a loop of infer() calls
// writes its outputs into pages already mapped instead of fresh ones, which the kernel faults in
// and zeroes first (38.5 MB: 20 ms on the 2-core machine, three times the copy itself). Where
// `pinned`, blocks are page-locked (PinnedHost) while the pool's page-locked bytes stay within
// kMaxPinned, so the outputs cross the bus straight into them with no staging copy; past it (or
// when none is to be had) they are ordinary memory. At most kMaxFree bytes of returned blocks
// are kept. Per pool: one per execution context.
class HostBlocks {
 public:
  static constexpr size_t kMaxPinned = size_t{512} << 20, kMaxFree = size_t{256} << 20;
  HostBlocks(std::shared_ptr<ocl::Device> dev, bool pinned);
  ~HostBlocks();
  HostBlocks(const HostBlocks&) = delete;
  HostBlocks& operator=(const HostBlocks&) = delete;
  // A block of at least `bytes` (> 0), contents undefined: a returned one of up to twice the size,
  // else a new one. Thread-safe; the blocks may outlive the pool.
  std::shared_ptr<uint8_t> take(size_t bytes);
  // Blocks allocated by every pool of this process so far: {page-locked, ordinary} (for tests).
  static std::pair<int, int> made();

 private:
  struct State;  // shared with the blocks, which return themselves to it
  std::shared_ptr<State> s_;
};
// How infer() may send a FLOAT input whose every reader first converts it (an FP16 engine's
// input conversion to HALF, an INT8 engine's quantization at one scale): in that narrower dtype,
// with the reader computing the same bits from fewer bytes on the bus.
struct Narrow {
  DataType dtype = DataType::kFLOAT;  // HALF or INT8; FLOAT: sent as it is
  float scale = 1.0f;                 // INT8: the quantization's scale (value = q * scale)
};
// Whether infer() may send FLOAT inputs as `dt` (HALF or INT8; CLRT_HALF_UPLOAD=0 and
// CLRT_INT8_UPLOAD=0 turn them off), and how many uploads in this process did (for tests).
bool narrowUploadsEnabled(DataType dt);
int narrowUploadCount(DataType dt);

// infer()'s host conversions for uploadNarrow, exposed for tests and benchmarks:
// q[i] = f[i] * inv quantized as the REFORMAT kernel does it (clamp to [-127, 127] with NaN to
// -127, round half to even); h[i] = f[i] as half, rounded to nearest even.
void quantizeAsKernel(const float* f, int8_t* q, size_t n, float inv);
void toHalves(const float* f, uint16_t* h, size_t n);

class HostIO {
 public:
  HostIO(ocl::Device& dev, cl_command_queue q);
  ~HostIO();
  HostIO(const HostIO&) = delete;
  HostIO& operator=(const HostIO&) = delete;

  bool pinned() const { return pinned_; }
  // Enqueues host -> device. `src` must stay valid until finish() (or the next blocking read).
  // Pinned: copied into staging in chunks, each chunk's transfer overlapping the next memcpy.
  void upload(const std::string& name, cl_mem dst, const void* src, size_t bytes);
  // Enqueues host FLOAT -> device FLOAT with `n.dtype` on the bus: the `count` floats converted
  // into pinned staging as the device converts them (HALF: round to nearest even; INT8:
  // x / scale rounded to nearest even and clamped to [-127, 127], NaN to -127, as the REFORMAT
  // kernel's clamp gives it), sent, and widened back into `dst` on the device (q * scale for
  // INT8). Only for an input whose every reader first converts it so (ExecutionContext checks):
  // the engine then computes the same bits from a half or a quarter of the bytes. Pinned
  // staging only; `src` must stay valid until finish().
  void uploadNarrow(const std::string& name, cl_mem dst, const float* src, size_t count,
                    const Narrow& n);
  // Enqueues device -> host; the data is in `dst` after finish().
  void download(const std::string& name, cl_mem src, void* dst, size_t bytes);
  // Waits for every copy and completes the downloads.
  void finish();

 private:
  struct Staging {
    ocl::MemHandle buf;
    void* ptr = nullptr;  // persistently mapped
    size_t bytes = 0;
  };
  void* stage(const std::string& key, size_t bytes);
  // Fills `bytes` of staging `st` by chunks of `chunk` bytes (fill(offset, n) writes
  // st[offset, offset + n)) on the copy threads, each chunk's transfer to dst enqueued as soon
  // as it is filled. Chunks come from chunkFor (host_io.cc): at least four a thread; a narrow
  // upload's are at most a half or a quarter of a copy's, so that each reads no more of the
  // caller's array.
  template <class Fill>
  void sendChunks(cl_mem dst, uint8_t* st, size_t bytes, size_t chunk, const Fill& fill);
  ocl::Device& dev_;
  cl_command_queue q_;
  bool pinned_;
  std::map<std::string, Staging> staging_;
  struct Pending {
    const void* from;
    void* to;
    size_t bytes;
  };
  std::vector<Pending> downloads_;  // staging -> caller, done in finish()
  std::map<std::string, std::pair<ocl::MemHandle, size_t>> narrow_;  // uploadNarrow's device side
  ocl::KernelHandle widen_;  // reformat.cl's convert_any8 (widen8_) or convert_any
  bool widen8_ = false;
};

}  // namespace clrt::runtime
