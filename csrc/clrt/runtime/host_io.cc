// HostIO: pinned staging for infer()'s copies on GPUs (CLRT_PINNED_IO=0/1 overrides the choice).
#include "clrt/runtime/host_io.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "clrt/core/types.h"
#include "clrt/tactics/int8_common.h"

namespace clrt::runtime {
namespace {

std::atomic<int> g_half_uploads{0}, g_int8_uploads{0};
std::atomic<int> g_pinned_blocks{0}, g_plain_blocks{0};  // HostBlocks::made()

bool usePinned(const ocl::Device& dev) {
  if (const char* v = std::getenv("CLRT_PINNED_IO"); v && *v) return *v != '0';
  return dev.info().is_gpu;
}

// A copy or conversion is split into chunks, each chunk's transfer enqueued as soon as it is
// filled, so transfers start while later chunks are still being filled: at least four chunks a
// thread, so that the threads end together (ResNet-50's batch of 64 sent as HALF, 19 MB staged,
// made ten 2 MB chunks for eight threads: two rounds, the second with two threads busy), and no
// fewer bytes than kMinChunk, below which a transfer is mostly its launch (~10 us).
constexpr size_t kMaxChunk = size_t{4} << 20, kMinChunk = size_t{256} << 10;

// Host threads for copies and conversions (the caller and the workers): CLRT_COPY_THREADS, else
// half the cores and one, at most 8. One thread copies ~5-10 GB/s, below what the bus takes from
// pinned memory.
size_t copyThreads() {
  static const size_t n = [] {
    if (const char* v = std::getenv("CLRT_COPY_THREADS"); v && std::atoi(v) > 0)
      return static_cast<size_t>(std::min(64, std::atoi(v)));
    return std::min<size_t>(8, std::max(1u, std::thread::hardware_concurrency()) / 2 + 1);
  }();
  return n;
}

// The chunk for `bytes` staged: a multiple of 4 KB (so a narrow upload's chunks start on whole
// source elements) between kMinChunk and `most`.
size_t chunkFor(size_t bytes, size_t most) {
  const size_t want = bytes / (4 * copyThreads()) + 1;
  return (std::clamp(want, std::min(kMinChunk, most), most) + 4095) & ~size_t{4095};
}

// Threads kept for copies and conversions, so that an infer() call does not start and join
// threads of its own (tens of microseconds each). run() makes the caller one of the runners:
// entries no worker has taken by the time the caller's own run returns are withdrawn, so a call
// never waits for a busy pool (another context's copy) and completes even where no worker runs
// (a child forked from a process that had them).
class Workers {
 public:
  static Workers& get() {
    static auto* w = new Workers();  // never destroyed: workers may be blocked in wait at exit
    return *w;
  }
  // work() on the calling thread and on up to `others` workers at once; returns when every run
  // that started has returned. work() must not throw.
  void run(size_t others, const std::function<void()>& work) {
    Job job{&work};
    if (others) {
      std::lock_guard<std::mutex> lock(mu_);
      while (threads_ < others) {
        std::thread([this] { loop(); }).detach();
        ++threads_;
      }
      for (size_t i = 0; i < others; ++i) queue_.push_back(&job);
      job.pending = others;
    }
    if (others) cv_.notify_all();
    work();
    std::unique_lock<std::mutex> lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (*it == &job) {
        it = queue_.erase(it);
        --job.pending;
      } else {
        ++it;
      }
    }
    done_.wait(lock, [&] { return job.pending == 0; });
  }

 private:
  struct Job {
    const std::function<void()>* work;
    size_t pending = 0;  // entries queued or running
  };
  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return !queue_.empty(); });
      Job* job = queue_.front();
      queue_.pop_front();
      lock.unlock();
      (*job->work)();
      lock.lock();
      if (--job->pending == 0) done_.notify_all();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_, done_;
  std::deque<Job*> queue_;
  size_t threads_ = 0;
};

// memcpy over several threads.
void parallelCopy(void* dst, const void* src, size_t n) {
  constexpr size_t kSlice = size_t{2} << 20;  // below this a thread costs more than it saves
  const size_t parts = std::min(copyThreads(), n / kSlice + 1);
  if (parts <= 1) {
    std::memcpy(dst, src, n);
    return;
  }
  const size_t step = chunkFor(n, kMaxChunk);
  auto* d = static_cast<uint8_t*>(dst);
  const auto* s = static_cast<const uint8_t*>(src);
  std::atomic<size_t> next{0};
  Workers::get().run(parts - 1, [&] {
    for (size_t off; (off = next.fetch_add(step)) < n;)
      std::memcpy(d + off, s + off, std::min(step, n - off));
  });
}

std::mutex g_pinned_mu;
std::map<uintptr_t, size_t>& pinnedBlocks() {  // start -> bytes
  static auto* m = new std::map<uintptr_t, size_t>();
  return *m;
}

// The vector paths below: on unless CLRT_HOST_SIMD=0 (read per upload, so tests can compare
// both ways in one process).
bool hostSimd() {
  const char* v = std::getenv("CLRT_HOST_SIMD");
  return !(v && *v == '0');
}

#if defined(__x86_64__) || defined(__i386__)
// F16C's conversion, round to nearest even: the bits of floatToHalf (NaN payloads aside); a
// 38.5 MB batch in 2.1 ms on one core of the development machine, against 55 ms element by
// element (benchmarks/bench_host_convert.py).
__attribute__((target("avx,f16c"))) size_t halvesF16c(const float* f, uint16_t* h, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(f + i), _MM_FROUND_TO_NEAREST_INT));
  return i;
}
#endif

}  // namespace

// The REFORMAT kernel's quantization (storage_io.clh QROUND): OpenCL's clamp is fmin(fmax()),
// which takes NaN to -127. SSE2 where there is one: a 38.5 MB batch in 1.8 ms on one core of the
// development machine, faster than copying it (2.7 ms); the scalar loop, which GCC does not
// vectorize, takes 13 ms (benchmarks/bench_host_convert.py).
void quantizeAsKernel(const float* f, int8_t* q, size_t n, float inv) {
  size_t i = 0;
#if defined(__SSE2__)
  if (hostSimd()) {
    const __m128 vinv = _mm_set1_ps(inv), lo = _mm_set1_ps(-127.0f), hi = _mm_set1_ps(127.0f);
    for (; i + 16 <= n; i += 16) {
      __m128i r[4];
      for (int k = 0; k < 4; ++k) {
        const __m128 v = _mm_mul_ps(_mm_loadu_ps(f + i + 4 * k), vinv);
        // maxps returns its second operand when either is NaN: -127, as fmax does.
        r[k] = _mm_cvtps_epi32(_mm_min_ps(_mm_max_ps(v, lo), hi));  // MXCSR: half to even
      }
      const __m128i a = _mm_packs_epi32(r[0], r[1]), b = _mm_packs_epi32(r[2], r[3]);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm_packs_epi16(a, b));
    }
  }
#endif
  for (; i < n; ++i) q[i] = tactics::int8::quantize(f[i], inv);
}

void toHalves(const float* f, uint16_t* h, size_t n) {
  size_t i = 0;
#if defined(__x86_64__) || defined(__i386__)
  static const bool f16c = __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
  if (f16c && hostSimd()) i = halvesF16c(f, h, n);
#endif
  for (; i < n; ++i) h[i] = floatToHalf(f[i]);
}

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

bool narrowUploadsEnabled(DataType dt) {
  auto on = [](const char* var) {
    const char* v = std::getenv(var);
    return !(v && *v == '0');
  };
  static const bool half = on("CLRT_HALF_UPLOAD"), int8 = on("CLRT_INT8_UPLOAD");
  return dt == DataType::kHALF ? half : dt == DataType::kINT8 && int8;
}
int narrowUploadCount(DataType dt) {
  return dt == DataType::kHALF   ? g_half_uploads.load()
         : dt == DataType::kINT8 ? g_int8_uploads.load()
                                 : 0;
}

bool isPinnedHost(const void* p, size_t n) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(g_pinned_mu);
  auto& blocks = pinnedBlocks();
  auto it = blocks.upper_bound(a);
  if (it == blocks.begin()) return false;
  --it;
  return a + n <= it->first + it->second;
}

namespace {

// Ordinary memory for a HostBlocks block, each page written once here: the device's copy into
// pages not yet mapped ran slower than this plus the copy (PoCL, 2-core machine: a Relu
// engine's 38.5 MB output, a loop keeping every result, 54 ms a call against 43). Not advised
// into 2 MB pages (MADV_HUGEPAGE): the same loop then took 428 ms a call, the kernel compacting
// memory.
uint8_t* allocBlock(size_t bytes) {
  auto* p = static_cast<uint8_t*>(std::malloc(bytes));
  if (!p) throw std::bad_alloc();
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 0;
  return p;
}
void freeBlock(uint8_t* p) { std::free(p); }

}  // namespace

struct HostBlocks::State {
  struct Block {
    std::unique_ptr<PinnedHost> pinned;                                      // page-locked, or
    std::unique_ptr<uint8_t, void (*)(uint8_t*)> plain{nullptr, freeBlock};  // ordinary memory
    size_t bytes = 0;
    uint8_t* data() const { return pinned ? static_cast<uint8_t*>(pinned->data()) : plain.get(); }
  };
  std::shared_ptr<ocl::Device> dev;
  bool pinned = false;
  std::mutex mu;
  std::multimap<size_t, Block> free;  // by size
  size_t free_bytes = 0;
  size_t pinned_bytes = 0;  // of every page-locked block alive, free or taken

  // Called by a block's last owner: keeps it for take() while the free blocks fit kMaxFree.
  static void giveBack(const std::weak_ptr<State>& weak, Block b) {
    if (auto st = weak.lock()) {
      std::lock_guard<std::mutex> lock(st->mu);
      if (st->free_bytes + b.bytes <= kMaxFree) {
        st->free_bytes += b.bytes;
        st->free.emplace(b.bytes, std::move(b));
        return;
      }
      if (b.pinned) st->pinned_bytes -= b.bytes;
    }
    // Dropped here, outside the lock: a page-locked block waits for the device's queues.
  }
};

HostBlocks::HostBlocks(std::shared_ptr<ocl::Device> dev, bool pinned)
    : s_(std::make_shared<State>()) {
  s_->dev = std::move(dev);
  s_->pinned = pinned;
}

HostBlocks::~HostBlocks() {
  std::multimap<size_t, State::Block> drop;
  std::lock_guard<std::mutex> lock(s_->mu);
  drop.swap(s_->free);  // taken blocks still alive return to nothing and go when released
  s_->free_bytes = 0;
}

std::shared_ptr<uint8_t> HostBlocks::take(size_t bytes) {
  CLRT_CHECK(bytes > 0, kRuntime, "HostBlocks::take of 0 bytes");
  State::Block b;
  bool lock_pages = false;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    auto it = s_->free.lower_bound(bytes);
    if (it != s_->free.end() && it->first <= 2 * bytes) {
      b = std::move(it->second);
      s_->free.erase(it);
      s_->free_bytes -= b.bytes;
    } else if (s_->pinned && s_->pinned_bytes + bytes <= kMaxPinned) {
      s_->pinned_bytes += bytes;  // counted now, so that threads taking at once stay within
      lock_pages = true;
    }
  }
  if (!b.data()) {
    b.bytes = bytes;
    if (lock_pages) {
      try {
        b.pinned = std::make_unique<PinnedHost>(s_->dev, bytes);
        ++g_pinned_blocks;
      } catch (const Error&) {  // no page-locked memory to be had: ordinary memory will do
        std::lock_guard<std::mutex> lock(s_->mu);
        s_->pinned_bytes -= bytes;
      }
    }
    if (!b.pinned) {
      b.plain.reset(allocBlock(bytes));
      ++g_plain_blocks;
    }
  }
  uint8_t* ptr = b.data();
  std::weak_ptr<State> weak = s_;
  auto block = std::make_shared<State::Block>(std::move(b));
  return std::shared_ptr<uint8_t>(
      ptr, [weak, block](uint8_t*) { State::giveBack(weak, std::move(*block)); });
}

std::pair<int, int> HostBlocks::made() { return {g_pinned_blocks.load(), g_plain_blocks.load()}; }

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
  sendChunks(dst, st, bytes, chunkFor(bytes, kMaxChunk),
             [&](size_t off, size_t n) { std::memcpy(st + off, from + off, n); });
}

void HostIO::uploadNarrow(const std::string& name, cl_mem dst, const float* src, size_t count,
                          const Narrow& nw) {
  if (!count) return;
  CLRT_CHECK(pinned_, kRuntime, "uploadNarrow needs pinned staging");
  const bool half = nw.dtype == DataType::kHALF;
  CLRT_CHECK(half || (nw.dtype == DataType::kINT8 && nw.scale > 0 && std::isfinite(nw.scale)),
             kRuntime, "uploadNarrow of '", name, "': ", dtypeName(nw.dtype), " at scale ",
             nw.scale);
  const size_t bytes = count * dtypeSize(nw.dtype);
  auto& dev = narrow_[name];
  if (!dev.first.get() || dev.second < bytes) {
    dev.first = ocl::MemHandle(dev_.alloc(bytes));
    dev.second = bytes;
  }
  auto* st = static_cast<uint8_t*>(stage(str(half ? "half:" : "int8:", name), bytes));
  if (half) {
    sendChunks(dev.first.get(), st, bytes, chunkFor(bytes, kMaxChunk / 2),
               [&](size_t off, size_t n) {
                 toHalves(src + off / 2, reinterpret_cast<uint16_t*>(st + off), n / 2);
               });
  } else {
    const float inv = 1.0f / nw.scale;  // as the kernel gets it (int8::writeIo)
    sendChunks(dev.first.get(), st, bytes, chunkFor(bytes, kMaxChunk / 4),
               [&](size_t off, size_t n) {
                 quantizeAsKernel(src + off, reinterpret_cast<int8_t*>(st + off), n, inv);
               });
  }
  // Widened 8 a work-item where the count allows (convert_any8), else one (convert_any).
  const bool eight = count % 8 == 0;
  if (!widen_.get() || eight != widen8_) {
    widen_ =
        ocl::KernelHandle(dev_.kernel("reformat.cl", "", eight ? "convert_any8" : "convert_any"));
    widen8_ = eight;
  }
  const auto n = static_cast<cl_int>(eight ? count / 8 : count);
  ocl::setArgs(widen_.get(), dev.first.get(), dst, n, static_cast<cl_int>(nw.dtype),
               half ? 1.0f : nw.scale, static_cast<cl_int>(DataType::kFLOAT), 1.0f);
  ocl::launch(q_, widen_.get(), {static_cast<size_t>(n)});
  ++(half ? g_half_uploads : g_int8_uploads);
}

template <class Fill>
void HostIO::sendChunks(cl_mem dst, uint8_t* st, size_t bytes, size_t chunk, const Fill& fill) {
  const size_t chunks = (bytes + chunk - 1) / chunk;
  // Each runner copies a chunk into staging and enqueues its transfer itself (OpenCL enqueues are
  // thread-safe), so the bus starts on the first chunk while the others are still being copied
  // and the host copy runs at several threads' bandwidth. The chunks' transfers may reach the
  // queue in any order; the layers are enqueued after all of them.
  std::atomic<size_t> next{0};
  std::exception_ptr failed;
  std::mutex failed_mu;
  Workers::get().run(std::min(chunks, copyThreads()) - 1, [&] {
    for (size_t c; (c = next.fetch_add(1)) < chunks;) {
      const size_t off = c * chunk, n = std::min(chunk, bytes - off);
      try {
        fill(off, n);
        dev_.write(q_, dst, off, n, st + off, false);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failed_mu);
        if (!failed) failed = std::current_exception();
        next.store(chunks);
      }
    }
  });
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
