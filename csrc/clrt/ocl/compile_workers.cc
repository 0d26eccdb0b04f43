// The pool of clrt-compile-worker processes, per device: started as compiles need them (up to
// compileWorkerCount), each handling one request at a time over a socket pair (send with
// MSG_NOSIGNAL: a worker gone is an error here, not a SIGPIPE). A worker ends by itself after
// kIdleSeconds without a request; a request that finds its worker gone starts another once, and
// if that one goes too, frees its place in the pool (before session 36 it kept the place of the
// third worker it had started: the next request then waited for a free worker for ever).
#include "clrt/ocl/compile_workers.h"

#include <dlfcn.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

extern char** environ;

namespace clrt::ocl::detail {
namespace {

constexpr int kIdleSeconds = 20;

// The worker executable: CLRT_COMPILE_WORKER, else beside the library holding this code (the
// Python package's clrt/ directory).
std::string workerPath() {
  if (const char* p = std::getenv("CLRT_COMPILE_WORKER"); p && *p) return p;
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&compileWorkerCount), &info) || !info.dli_fname) return "";
  std::string lib = info.dli_fname;
  const size_t slash = lib.rfind('/');
  return (slash == std::string::npos ? std::string(".") : lib.substr(0, slash)) +
         "/clrt-compile-worker";
}

bool sendAll(int fd, const void* p, size_t n) {
  const auto* c = static_cast<const char*>(p);
  while (n) {
    const ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
    if (k <= 0) return false;
    c += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

bool recvAll(int fd, void* p, size_t n) {
  auto* c = static_cast<char*>(p);
  while (n) {
    const ssize_t k = recv(fd, c, n, 0);
    if (k <= 0) return false;
    c += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

struct Worker {
  pid_t pid = -1;
  int fd = -1;
  ~Worker() {
    if (fd >= 0) close(fd);  // the worker reads the end of its input and exits
    if (pid > 0) waitpid(pid, nullptr, 0);
  }
  // One reply: status and bytes; false when the worker is gone.
  bool read(uint32_t& status, std::vector<uint8_t>& bytes) {
    uint64_t n = 0;
    if (!recvAll(fd, &status, sizeof status) || !recvAll(fd, &n, sizeof n) || n > (1ull << 31))
      return false;
    bytes.resize(n);
    return n == 0 || recvAll(fd, bytes.data(), n);
  }
};

// The position of `dev` among its platform's devices, and of the platform among the platforms.
bool devicePosition(cl_device_id dev, int& platform, int& device, std::string& name) {
  cl_platform_id mine = nullptr;
  if (clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof mine, &mine, nullptr) != CL_SUCCESS)
    return false;
  cl_uint np = 0;
  if (clGetPlatformIDs(0, nullptr, &np) != CL_SUCCESS) return false;
  std::vector<cl_platform_id> ps(np);
  clGetPlatformIDs(np, ps.data(), nullptr);
  const auto pit = std::find(ps.begin(), ps.end(), mine);
  if (pit == ps.end()) return false;
  cl_uint nd = 0;
  if (clGetDeviceIDs(mine, CL_DEVICE_TYPE_ALL, 0, nullptr, &nd) != CL_SUCCESS) return false;
  std::vector<cl_device_id> ds(nd);
  clGetDeviceIDs(mine, CL_DEVICE_TYPE_ALL, nd, ds.data(), nullptr);
  const auto dit = std::find(ds.begin(), ds.end(), dev);
  if (dit == ds.end()) return false;
  size_t n = 0;
  clGetDeviceInfo(dev, CL_DEVICE_NAME, 0, nullptr, &n);
  name.assign(n, '\0');
  clGetDeviceInfo(dev, CL_DEVICE_NAME, n, name.data(), nullptr);
  while (!name.empty() && name.back() == '\0') name.pop_back();
  platform = static_cast<int>(pit - ps.begin());
  device = static_cast<int>(dit - ds.begin());
  return true;
}

// A started worker that answered ready, or nullptr.
std::unique_ptr<Worker> startWorker(cl_device_id dev) {
  int platform = 0, device = 0;
  std::string name;
  const std::string path = workerPath();
  if (path.empty() || access(path.c_str(), X_OK) != 0 ||
      !devicePosition(dev, platform, device, name))
    return nullptr;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return nullptr;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, sv[1], STDIN_FILENO);  // dup2 clears FD_CLOEXEC
  posix_spawn_file_actions_adddup2(&fa, sv[1], STDOUT_FILENO);
  const std::string p = std::to_string(platform), d = std::to_string(device),
                    idle = std::to_string(kIdleSeconds);
  char* argv[] = {const_cast<char*>(path.c_str()), const_cast<char*>(p.c_str()),
                  const_cast<char*>(d.c_str()),    const_cast<char*>(name.c_str()),
                  const_cast<char*>(idle.c_str()), nullptr};
  auto w = std::make_unique<Worker>();
  const int rc = posix_spawn(&w->pid, path.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(sv[1]);
  w->fd = sv[0];
  if (rc != 0) {
    w->pid = -1;
    return nullptr;
  }
  uint32_t status = 0;
  std::vector<uint8_t> hello;
  if (!w->read(status, hello) || status != 0) return nullptr;  // ~Worker ends it
  return w;
}

class Pool {
 public:
  explicit Pool(int size) : size_(size) {}

  std::optional<std::vector<uint8_t>> compile(cl_device_id dev, const std::string& source,
                                              const std::string& options) {
    std::unique_ptr<Worker> w = take(dev);
    for (int attempt = 0; w; ++attempt) {
      const uint64_t no = options.size(), ns = source.size();
      uint32_t status = 0;
      std::vector<uint8_t> reply;
      if (sendAll(w->fd, &no, sizeof no) && sendAll(w->fd, options.data(), no) &&
          sendAll(w->fd, &ns, sizeof ns) && sendAll(w->fd, source.data(), ns) &&
          w->read(status, reply)) {
        if (status > 2) {  // not a reply: the stream is out of step, so the worker goes
          w.reset();
          lost();
          return std::nullopt;
        }
        give(std::move(w));
        if (status == 0 && !reply.empty()) return reply;
        return std::nullopt;  // the build failed there: the caller's own build reports it
      }
      if (attempt == 1) {  // gone again: this request compiles itself, the slot is freed
        w.reset();
        lost();
        break;
      }
      w = startWorker(dev);  // gone (idle too long, or crashed): one more, once
      if (!w) lost();
    }
    return std::nullopt;
  }

 private:
  // A free worker, a new one while fewer than size_ run, else waits for one. nullptr when no
  // worker can be started.
  std::unique_ptr<Worker> take(cl_device_id dev) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (broken_) return nullptr;
      if (!idle_.empty()) {
        std::unique_ptr<Worker> w = std::move(idle_.back());
        idle_.pop_back();
        return w;
      }
      if (running_ < size_) {
        ++running_;
        lock.unlock();
        std::unique_ptr<Worker> w = startWorker(dev);
        if (!w) {
          lock.lock();
          --running_;
          broken_ = true;  // no executable, no device there: this process compiles itself
          cv_.notify_all();
        }
        return w;
      }
      cv_.wait(lock);
    }
  }
  void give(std::unique_ptr<Worker> w) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(w));
    cv_.notify_one();
  }
  void lost() {
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
    cv_.notify_one();
  }
  const int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Worker>> idle_;
  int running_ = 0;
  bool broken_ = false;
};

}  // namespace

int compileWorkerCount(bool nvidia) {
  if (const char* v = std::getenv("CLRT_COMPILE_WORKERS"); v && *v)
    return std::clamp(std::atoi(v), 0, 64);
  if (!nvidia) return 0;
  return std::clamp(static_cast<int>(std::thread::hardware_concurrency()) / 2, 2, 8);
}

std::optional<std::vector<uint8_t>> compileInWorker(cl_device_id dev, bool nvidia,
                                                    const std::string& source,
                                                    const std::string& options) {
  const int n = compileWorkerCount(nvidia);
  if (n <= 0) return std::nullopt;
  static std::mutex mu;
  static auto* pools = new std::map<cl_device_id, std::unique_ptr<Pool>>();  // kept to the end
  Pool* pool;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = (*pools)[dev];
    if (!slot) slot = std::make_unique<Pool>(n);
    pool = slot.get();
  }
  return pool->compile(dev, source, options);
}

}  // namespace clrt::ocl::detail
