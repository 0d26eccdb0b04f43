// Does this OpenCL driver build programs concurrently? Builds kernels/tc_gemm.cl N times with
// distinct defines (so no driver-side cache answers), once one after another and once from N
// threads, and prints both wall times. Links only OpenCL:
//   g++ -O2 -std=c++17 -pthread benchmarks/compile_threads.cc -lOpenCL -o /tmp/ct
//   /tmp/ct csrc/clrt/kernels 8
// The builder instantiates a layer's candidate tactics in parallel when this shows a gain.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

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

const char* kDefines =
    "#define DT_FLOAT 0\n#define DT_HALF 1\n#define DT_INT8 2\n#define DT_INT32 3\n"
    "#define ACT_CASES(x, a, b)\n";

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s KERNEL_DIR N\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const int n = std::atoi(argv[2]);
  const std::string src = std::string(kDefines) + readFile(dir + "/prelude.clh") +
                          readFile(dir + "/activation.clh") + readFile(dir + "/storage_io.clh") +
                          readFile(dir + "/run_errors.clh") + "#line 1\n" +
                          readFile(dir + "/tc_gemm.cl");
  cl_platform_id plats[8];
  cl_uint np = 0;
  clGetPlatformIDs(8, plats, &np);
  cl_device_id dev = nullptr;
  for (cl_uint i = 0; i < np && !dev; ++i)
    if (clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, 1, &dev, nullptr) != CL_SUCCESS) dev = nullptr;
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
    std::string opts = "-cl-std=CL1.2 -DTC_INT8=1 -DTC_CONV=0 -DOUT_DT=0 -I " + dir +
                       " -DSALT=" + std::to_string(salt) + (nvidia ? "" : " -DTC_EMULATE=1");
    e = clBuildProgram(p, 1, &dev, opts.c_str(), nullptr, nullptr);
    if (e != CL_SUCCESS) std::fprintf(stderr, "build %d failed (%d)\n", salt, e);
    clReleaseProgram(p);
  };
  std::printf("device: %s (%s); %d builds of tc_gemm.cl\n", name, vendor, n);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) build(1000 + i);
  const double serial = seconds(t0);
  t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int i = 0; i < n; ++i) ts.emplace_back(build, 2000 + i);
  for (auto& t : ts) t.join();
  const double par = seconds(t0);
  std::printf("one after another: %.2f s (%.2f s each); %d threads: %.2f s (%.1fx)\n", serial,
              serial / n, n, par, serial / par);
  clReleaseContext(ctx);
  return 0;
}
