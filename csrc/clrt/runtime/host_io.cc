// HostIO: pinned staging for infer()'s copies on GPUs (CLRT_PINNED_IO=0/1 overrides the choice).
#include "clrt/runtime/host_io.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "clrt/core/types.h"

namespace clrt::runtime {
namespace {

std::atomic<int> g_half_uploads{0};

bool usePinned(const ocl::Device& dev) {
  if (const char* v = std::getenv("CLRT_PINNED_IO"); v && *v) return *v != '0';
  return dev.info().is_gpu;
}

// Transfers start while later chunks are still being copied into staging; small enough that the
// last chunk's transfer (what the copy cannot hide) is short, large enough that a transfer is
// not dominated by its launch (~10 us).
constexpr size_t kChunk = size_t{4} << 20;

size_t copyThreads() {
  return std::min<size_t>(8, std::max(1u, std::thread::hardware_concurrency()) / 2 + 1);
}

// memcpy over several threads: one thread copies ~5-10 GB/s, below what the bus takes from
// pinned memory, so a large input would otherwise be bound by the host copy.
void parallelCopy(void* dst, const void* src, size_t n) {
  constexpr size_t kSlice = size_t{2} << 20;  // below this a thread costs more than it saves
  const size_t parts = std::min(copyThreads(), n / kSlice + 1);
  if (parts <= 1) {
    std::memcpy(dst, src, n);
    return;
  }
  const size_t step = (n / parts + 63) & ~size_t{63};
  auto* d = static_cast<uint8_t*>(dst);
  const auto* s = static_cast<const uint8_t*>(src);
  std::vector<std::thread> helpers;
  for (size_t off = step; off < n; off += step)
    helpers.emplace_back([=] { std::memcpy(d + off, s + off, std::min(step, n - off)); });
  std::memcpy(d, s, std::min(step, n));
  for (auto& t : helpers) t.join();
}

std::mutex g_pinned_mu;
std::map<uintptr_t, size_t>& pinnedBlocks() {  // start -> bytes
  static auto* m = new std::map<uintptr_t, size_t>();
  return *m;
}

}  // namespace

PinnedHost::PinnedHost(std::shared_ptr<ocl::Device> dev, size_t bytes)
    : dev_(std::move(dev)), bytes_(bytes) {
  const size_t n = std::max<size_t>(bytes, 4);
  cl_int err = CL_SUCCESS;
  cl_mem m =
      clCreateBuffer(dev_->context(), CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, n, nullptr, &err);
  if (err != CL_SUCCESS)
    fail(ErrorKind::kDevice, str("allocating ", bytes, " bytes of page-locked host memory failed: ",
                                 ocl::clErrorName(err)));
  buf_ = ocl::MemHandle(m);
  ptr_ = clEnqueueMapBuffer(dev_->queue(), m, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, n, 0, nullptr,
                            nullptr, &err);
  ocl::check(err, "clEnqueueMapBuffer (page-locked host memory)");
  std::lock_guard<std::mutex> lock(g_pinned_mu);
  pinnedBlocks()[reinterpret_cast<uintptr_t>(ptr_)] = bytes_;
}

PinnedHost::~PinnedHost() {
  {
    std::lock_guard<std::mutex> lock(g_pinned_mu);
    pinnedBlocks().erase(reinterpret_cast<uintptr_t>(ptr_));
  }
  // Copies from or into the block may still be queued (on any context's queue): they finish
  // before it goes.
  dev_->finishAll();
  clEnqueueUnmapMemObject(dev_->queue(), buf_.get(), ptr_, 0, nullptr, nullptr);
  clFinish(dev_->queue());
}

bool halfUploadsEnabled() {
  static const bool on = [] {
    const char* v = std::getenv("CLRT_HALF_UPLOAD");
    return !(v && *v == '0');
  }();
  return on;
}
int halfUploadCount() { return g_half_uploads.load(); }

bool isPinnedHost(const void* p, size_t n) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(g_pinned_mu);
  auto& blocks = pinnedBlocks();
  auto it = blocks.upper_bound(a);
  if (it == blocks.begin()) return false;
  --it;
  return a + n <= it->first + it->second;
}

HostIO::HostIO(ocl::Device& dev, cl_command_queue q) : dev_(dev), q_(q), pinned_(usePinned(dev)) {}

HostIO::~HostIO() {
  clFinish(q_);
  for (auto& [key, s] : staging_)
    if (s.ptr) clEnqueueUnmapMemObject(q_, s.buf.get(), s.ptr, 0, nullptr, nullptr);
  clFinish(q_);
}

void* HostIO::stage(const std::string& key, size_t bytes) {
  Staging& s = staging_[key];
  if (s.ptr && s.bytes >= bytes) return s.ptr;
  if (s.ptr) {
    clFinish(q_);
    clEnqueueUnmapMemObject(q_, s.buf.get(), s.ptr, 0, nullptr, nullptr);
    clFinish(q_);
    s = Staging();
  }
  cl_int err = CL_SUCCESS;
  cl_mem m = clCreateBuffer(dev_.context(), CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR,
                            std::max<size_t>(bytes, 4), nullptr, &err);
  ocl::check(err, "clCreateBuffer (pinned staging)");
  s.buf = ocl::MemHandle(m);
  s.ptr = clEnqueueMapBuffer(q_, m, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0,
                             std::max<size_t>(bytes, 4), 0, nullptr, nullptr, &err);
  ocl::check(err, "clEnqueueMapBuffer (pinned staging)");
  s.bytes = bytes;
  return s.ptr;
}

void HostIO::upload(const std::string& name, cl_mem dst, const void* src, size_t bytes) {
  if (!bytes) return;
  if (!pinned_ || isPinnedHost(src, bytes)) {
    dev_.write(q_, dst, 0, bytes, src, false);
    return;
  }
  auto* st = static_cast<uint8_t*>(stage("in:" + name, bytes));
  const auto* from = static_cast<const uint8_t*>(src);
  sendChunks(dst, st, bytes, [&](size_t off, size_t n) { std::memcpy(st + off, from + off, n); });
}

void HostIO::uploadAsHalf(const std::string& name, cl_mem dst, const float* src, size_t count) {
  if (!count) return;
  CLRT_CHECK(pinned_, kRuntime, "uploadAsHalf needs pinned staging");
  const size_t bytes = count * 2;
  auto& dev = half_[name];
  if (!dev.first.get() || dev.second < bytes) {
    dev.first = ocl::MemHandle(dev_.alloc(bytes));
    dev.second = bytes;
  }
  auto* st = static_cast<uint8_t*>(stage("half:" + name, bytes));
  sendChunks(dev.first.get(), st, bytes, [&](size_t off, size_t n) {
    auto* h = reinterpret_cast<uint16_t*>(st + off);
    const float* f = src + off / 2;
    for (size_t i = 0; i < n / 2; ++i) h[i] = floatToHalf(f[i]);
  });
  // Widened 8 a work-item where the count allows (convert_any8), else one (convert_any).
  const bool eight = count % 8 == 0;
  if (!widen_.get() || eight != widen8_) {
    widen_ =
        ocl::KernelHandle(dev_.kernel("reformat.cl", "", eight ? "convert_any8" : "convert_any"));
    widen8_ = eight;
  }
  const auto n = static_cast<cl_int>(eight ? count / 8 : count);
  ocl::setArgs(widen_.get(), dev.first.get(), dst, n, static_cast<cl_int>(DataType::kHALF), 1.0f,
               static_cast<cl_int>(DataType::kFLOAT), 1.0f);
  ocl::launch(q_, widen_.get(), {static_cast<size_t>(n)});
  ++g_half_uploads;
}

template <class Fill>
void HostIO::sendChunks(cl_mem dst, uint8_t* st, size_t bytes, const Fill& fill) {
  const size_t chunks = (bytes + kChunk - 1) / kChunk;
  // Each worker copies a chunk into staging and enqueues its transfer itself (OpenCL enqueues are
  // thread-safe), so the bus starts on the first chunk while the others are still being copied
  // and the host copy runs at several threads' bandwidth. The chunks' transfers may reach the
  // queue in any order; the layers are enqueued after all of them.
  std::atomic<size_t> next{0};
  std::exception_ptr failed;
  std::mutex failed_mu;
  auto work = [&] {
    for (size_t c; (c = next.fetch_add(1)) < chunks;) {
      const size_t off = c * kChunk, n = std::min(kChunk, bytes - off);
      try {
        fill(off, n);
        dev_.write(q_, dst, off, n, st + off, false);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failed_mu);
        if (!failed) failed = std::current_exception();
        next.store(chunks);
      }
    }
  };
  std::vector<std::thread> helpers;
  for (size_t i = 1; i < std::min(chunks, copyThreads()); ++i) helpers.emplace_back(work);
  work();
  for (auto& t : helpers) t.join();
  if (failed) {
    clFinish(q_);  // transfers already enqueued read the staging buffer: let them end first
    std::rethrow_exception(failed);
  }
}

void HostIO::download(const std::string& name, cl_mem src, void* dst, size_t bytes) {
  if (!bytes) return;
  if (!pinned_ || isPinnedHost(dst, bytes)) {
    ocl::check(clEnqueueReadBuffer(q_, src, CL_FALSE, 0, bytes, dst, 0, nullptr, nullptr),
               "clEnqueueReadBuffer");
    return;
  }
  void* st = stage("out:" + name, bytes);
  ocl::check(clEnqueueReadBuffer(q_, src, CL_FALSE, 0, bytes, st, 0, nullptr, nullptr),
             "clEnqueueReadBuffer");
  downloads_.push_back({st, dst, bytes});
}

void HostIO::finish() {
  ocl::check(clFinish(q_), "clFinish");
  for (const Pending& p : downloads_) parallelCopy(p.to, p.from, p.bytes);
  downloads_.clear();
}

}  // namespace clrt::runtime
