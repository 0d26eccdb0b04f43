// clrt-compile-worker: builds OpenCL programs for a clrt process in a process of its own.
// NVIDIA's driver builds one program at a time per process, whatever the threads asking
// (benchmarks/compile_threads.cc: 16 builds 1.4x faster from 16 threads, 4.9x from 16
// processes, on an H100), so the builder hands its compiles to a few of these
// (ocl/compile_workers.cc) and loads the binaries they return.
//
//   clrt-compile-worker PLATFORM_INDEX DEVICE_INDEX DEVICE_NAME IDLE_SECONDS
//
// The device is the DEVICE_INDEX-th of the PLATFORM_INDEX-th platform (clGetPlatformIDs and
// clGetDeviceIDs order), and must be named DEVICE_NAME. Requests on stdin, replies on stdout,
// until stdin ends or no request comes for IDLE_SECONDS (a worker holds a driver context, on
// NVIDIA some GPU memory, which an idle one gives back; the builder starts another when it
// needs one):
//   request: u64 length, build options; u64 length, program source
//   reply:   u32 status (0 built: the program binary follows; 1 the build failed: its log
//            follows; 2 anything else: a message follows), u64 length, bytes
// A first reply with status 2 and no request before it means the device was not found.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

bool readAll(void* p, size_t n) {
  auto* c = static_cast<char*>(p);
  while (n) {
    const size_t got = std::fread(c, 1, n, stdin);
    if (!got) return false;
    c += got;
    n -= got;
  }
  return true;
}

bool readString(std::string& s) {
  uint64_t n = 0;
  if (!readAll(&n, sizeof n) || n > (uint64_t{1} << 30)) return false;
  s.resize(n);
  return n == 0 || readAll(s.data(), n);
}

// The replies' stream: the original stdout, which main() moves away from descriptor 1 so that
// whatever the driver prints goes to stderr instead of into a reply.
FILE* g_replies = nullptr;

void reply(uint32_t status, const void* data, uint64_t n) {
  std::fwrite(&status, sizeof status, 1, g_replies);
  std::fwrite(&n, sizeof n, 1, g_replies);
  if (n) std::fwrite(data, 1, n, g_replies);
  std::fflush(g_replies);
}
void reply(uint32_t status, const std::string& s) { reply(status, s.data(), s.size()); }

cl_device_id findDevice(int platform, int device, const std::string& name) {
  cl_uint np = 0;
  if (clGetPlatformIDs(0, nullptr, &np) != CL_SUCCESS || platform < 0 ||
      static_cast<cl_uint>(platform) >= np)
    return nullptr;
  std::vector<cl_platform_id> ps(np);
  clGetPlatformIDs(np, ps.data(), nullptr);
  cl_uint nd = 0;
  if (clGetDeviceIDs(ps[platform], CL_DEVICE_TYPE_ALL, 0, nullptr, &nd) != CL_SUCCESS ||
      device < 0 || static_cast<cl_uint>(device) >= nd)
    return nullptr;
  std::vector<cl_device_id> ds(nd);
  clGetDeviceIDs(ps[platform], CL_DEVICE_TYPE_ALL, nd, ds.data(), nullptr);
  size_t n = 0;
  clGetDeviceInfo(ds[device], CL_DEVICE_NAME, 0, nullptr, &n);
  std::string got(n, '\0');
  clGetDeviceInfo(ds[device], CL_DEVICE_NAME, n, got.data(), nullptr);
  while (!got.empty() && got.back() == '\0') got.pop_back();
  return got == name ? ds[device] : nullptr;
}

std::string buildLog(cl_program p, cl_device_id d) {
  size_t n = 0;
  clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, 0, nullptr, &n);
  std::string log(n, '\0');
  if (n) clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, n, log.data(), nullptr);
  return log;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s PLATFORM_INDEX DEVICE_INDEX DEVICE_NAME IDLE_SECONDS\n",
                 argv[0]);
    return 2;
  }
  const int out = dup(STDOUT_FILENO);
  g_replies = out >= 0 ? fdopen(out, "wb") : nullptr;
  if (!g_replies || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) return 1;
  cl_device_id dev = findDevice(std::atoi(argv[1]), std::atoi(argv[2]), argv[3]);
  cl_int err = CL_SUCCESS;
  cl_context ctx = dev ? clCreateContext(nullptr, 1, &dev, nullptr, nullptr, &err) : nullptr;
  if (!ctx) {
    reply(2, std::string("no OpenCL device '") + argv[3] + "' at that index");
    return 1;
  }
  reply(0, "ready");
  const int idle_ms = std::max(1, std::atoi(argv[4])) * 1000;
  std::string opts, src;
  // Waits for the next request (stdio's buffer empty: the last one was read whole).
  auto next = [&] {
    pollfd in{STDIN_FILENO, POLLIN, 0};
    return poll(&in, 1, idle_ms) == 1 && readString(opts) && readString(src);
  };
  while (next()) {
    const char* s = src.c_str();
    size_t len = src.size();
    cl_program p = clCreateProgramWithSource(ctx, 1, &s, &len, &err);
    if (!p || err != CL_SUCCESS) {
      reply(2, "clCreateProgramWithSource failed");
      continue;
    }
    if (clBuildProgram(p, 1, &dev, opts.c_str(), nullptr, nullptr) != CL_SUCCESS) {
      reply(1, buildLog(p, dev));
      clReleaseProgram(p);
      continue;
    }
    size_t n = 0;
    std::vector<unsigned char> bin;
    if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, nullptr) == CL_SUCCESS && n) {
      bin.resize(n);
      unsigned char* ptr = bin.data();
      if (clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof ptr, &ptr, nullptr) != CL_SUCCESS)
        bin.clear();
    }
    if (bin.empty())
      reply(2, "the driver gave no program binary");
    else
      reply(0, bin.data(), bin.size());
    clReleaseProgram(p);
  }
  clReleaseContext(ctx);
  return 0;
}
