// Does this OpenCL driver build programs concurrently, from threads or from processes? Builds one
// program N times, first from N child processes (forked before this process touches OpenCL;
// each writes its program's binary to a file), then one after another, then from N threads, and
// prints the three wall times; then loads the children's binaries here (what a builder handing
// compiles to helper processes would do: on NVIDIA the binary is PTX, so this times the PTX ->
// SASS step, which the driver's own JIT cache may answer). Every build gets a distinct SALT
// kernel, so its generated code differs and no driver-side cache answers it (run with
// CUDA_CACHE_DISABLE=1 as well to be sure). The source is a program as clrt gives it to the
// driver (prelude in front, includes expanded), written by the module:
//   python -c "import clrt._clrt as c; open('/tmp/tc.cl', 'w').write(
//       c._debug.kernel_source('tc_gemm.cl'))"
//   g++ -O2 -std=c++17 -pthread benchmarks/compile_threads.cc -lOpenCL -o /tmp/ct
//   /tmp/ct /tmp/tc.cl 8 "<build options>"
// The options are a program's as `clrtexec --verbose` logs them ("built OpenCL program
// tc_gemm.cl [options] in N ms"); the default builds the INT8 GEMM kernel on the default tile.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string readFile(const std::string& p) {
  std::ifstream f(p);
  if (!f) {
    std::fprintf(stderr, "cannot read %s\n", p.c_str());
    std::exit(2);
  }
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The first OpenCL device of any platform, or nullptr.
cl_device_id firstDevice() {
  cl_platform_id plats[8];
  cl_uint np = 0;
  clGetPlatformIDs(8, plats, &np);
  cl_device_id dev = nullptr;
  for (cl_uint i = 0; i < np && !dev; ++i)
    if (clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, 1, &dev, nullptr) != CL_SUCCESS) dev = nullptr;
  return dev;
}

// One build in a fresh process: its own platform, context and program; the binary to `out`.
// 0 on success.
int childBuild(const std::string& src, const std::string& extra, int salt, const std::string& out) {
  cl_device_id dev = firstDevice();
  if (!dev) return 2;
  char vendor[256] = {};
  clGetDeviceInfo(dev, CL_DEVICE_VENDOR, sizeof vendor, vendor, nullptr);
  const bool nvidia = std::string(vendor).find("NVIDIA") != std::string::npos;
  cl_int e = CL_SUCCESS;
  cl_context ctx = clCreateContext(nullptr, 1, &dev, nullptr, nullptr, &e);
  const char* s = src.c_str();
  cl_program p = clCreateProgramWithSource(ctx, 1, &s, nullptr, &e);
  const std::string opts = "-cl-std=CL1.2 " + extra + " -DSALT=" + std::to_string(salt) +
                           (nvidia ? "" : " -DTC_EMULATE=1");
  if (clBuildProgram(p, 1, &dev, opts.c_str(), nullptr, nullptr) != CL_SUCCESS) return 1;
  size_t n = 0;
  clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, nullptr);
  std::vector<unsigned char> bin(n);
  unsigned char* ptr = bin.data();
  clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof ptr, &ptr, nullptr);
  std::ofstream f(out, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bin.data()), static_cast<std::streamsize>(n));
  clReleaseProgram(p);
  clReleaseContext(ctx);
  return f ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s SOURCE_FILE N [BUILD_OPTIONS]\n", argv[0]);
    return 2;
  }
  const int n = std::atoi(argv[2]);
  const std::string extra = argc > 3 ? argv[3] : "-DTC_INT8=1 -DTC_CONV=0 -DOUT_DT=0";
  const std::string src =
      readFile(argv[1]) +
      "\n__kernel void clrt_salt(__global int* p) { p[get_global_id(0)] = SALT; }\n";
  const char* nocache = std::getenv("CUDA_CACHE_DISABLE");
  std::printf("%d builds of %s [%s], CUDA_CACHE_DISABLE=%s\n", n, argv[1], extra.c_str(),
              nocache ? nocache : "(unset)");

  // Processes first, before this one opens OpenCL (a driver need not survive a fork).
  std::vector<std::string> binFiles;
  for (int i = 0; i < n; ++i) binFiles.push_back("/tmp/clrt_ct_" + std::to_string(i) + ".bin");
  auto t0 = std::chrono::steady_clock::now();
  std::vector<pid_t> kids;
  for (int i = 0; i < n; ++i) {
    const pid_t pid = fork();
    if (pid == 0) {
      std::_Exit(childBuild(src, extra, 3000 + i, binFiles[static_cast<size_t>(i)]));
    }
    kids.push_back(pid);
  }
  int failed = 0;
  for (pid_t k : kids) {
    int st = 0;
    waitpid(k, &st, 0);
    failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  const double procs = seconds(t0);
  if (failed) std::fprintf(stderr, "%d child builds failed\n", failed);

  cl_device_id dev = firstDevice();
  if (!dev) {
    std::fprintf(stderr, "no OpenCL device\n");
    return 2;
  }
  char name[256] = {}, vendor[256] = {};
  clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name, name, nullptr);
  clGetDeviceInfo(dev, CL_DEVICE_VENDOR, sizeof vendor, vendor, nullptr);
  const bool nvidia = std::string(vendor).find("NVIDIA") != std::string::npos;
  cl_int err = CL_SUCCESS;
  cl_context ctx = clCreateContext(nullptr, 1, &dev, nullptr, nullptr, &err);
  // One build; `salt` makes each program distinct.
  auto build = [&](int salt) {
    const char* s = src.c_str();
    cl_int e = CL_SUCCESS;
    cl_program p = clCreateProgramWithSource(ctx, 1, &s, nullptr, &e);
    std::string opts = "-cl-std=CL1.2 " + extra + " -DSALT=" + std::to_string(salt) +
                       (nvidia ? "" : " -DTC_EMULATE=1");
    e = clBuildProgram(p, 1, &dev, opts.c_str(), nullptr, nullptr);
    if (e != CL_SUCCESS) std::fprintf(stderr, "build %d failed (%d)\n", salt, e);
    clReleaseProgram(p);
  };
  std::printf("device: %s (%s)\n", name, vendor);
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) build(1000 + i);
  const double serial = seconds(t0);
  t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int i = 0; i < n; ++i) ts.emplace_back(build, 2000 + i);
  for (auto& t : ts) t.join();
  const double par = seconds(t0);
  std::printf(
      "one after another: %.2f s (%.2f s each); %d threads: %.2f s (%.1fx); %d processes: "
      "%.2f s (%.1fx)\n",
      serial, serial / n, n, par, serial / par, n, procs, serial / procs);
  // The children's binaries, loaded here one after another.
  t0 = std::chrono::steady_clock::now();
  int loaded = 0;
  for (const std::string& f : binFiles) {
    const std::string bin = readFile(f);
    const unsigned char* b = reinterpret_cast<const unsigned char*>(bin.data());
    size_t len = bin.size();
    cl_int st = CL_SUCCESS, e = CL_SUCCESS;
    cl_program p = clCreateProgramWithBinary(ctx, 1, &dev, &len, &b, &st, &e);
    if (e == CL_SUCCESS && st == CL_SUCCESS &&
        clBuildProgram(p, 1, &dev, "-cl-std=CL1.2", nullptr, nullptr) == CL_SUCCESS)
      ++loaded;
    if (p) clReleaseProgram(p);
    std::remove(f.c_str());
  }
  std::printf("loading the %d processes' binaries here: %.2f s (%d loaded)\n", n, seconds(t0),
              loaded);
  clReleaseContext(ctx);
  return 0;
}
