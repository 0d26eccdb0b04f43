// Attention kernel harness: builds tc_flash.cl (or tc_attention.cl) with the kernel prelude and
// each option string given, times it with profiling events on contiguous q, k, v [L, S, HD]
// (half), and checks sampled rows against a double-precision reference.
// usage: tc_attention_harness KERNEL_DIR FILE(tc_flash.cl|tc_attention.cl) L S HD ITERS "OPTS"...
// Build: g++ -O2 -std=c++17 benchmarks/tc_attention_harness.cc -lOpenCL -o /tmp/tca
// e.g. /tmp/tca csrc/clrt/kernels tc_flash.cl 768 197 64 20 "-DWARPS=4" "-DWARPS=8"
// (ViT-B/16 at batch 64: 768 heads of 197 x 64). Off NVIDIA: "-DTC_EMULATE=1 -DWARPS=1".
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#define CK(x)                                                                             \
  do {                                                                                    \
    cl_int e_ = (x);                                                                      \
    if (e_ != CL_SUCCESS) {                                                               \
      std::fprintf(stderr, "%s:%d: %s -> OpenCL error %d\n", __FILE__, __LINE__, #x, e_); \
      std::exit(2);                                                                       \
    }                                                                                     \
  } while (0)

static std::string readFile(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
static uint16_t f2h(float f) {  // round to nearest even, normal range only (inputs are small)
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t s = (x >> 16) & 0x8000u;
  int e = (int)((x >> 23) & 0xff) - 127 + 15;
  uint32_t m = x & 0x7fffffu;
  if (e <= 0) return (uint16_t)s;
  uint32_t h = s | (uint32_t)(e << 10) | (m >> 13);
  const uint32_t rem = m & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return (uint16_t)h;
}
static float h2f(uint16_t h) {
  const uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  uint32_t x = e == 0 ? s : s | ((e + 112) << 23) | (m << 13);
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

struct IndexPack {
  cl_int rank;
  cl_int dims[8];
  cl_int s[3][8];
};
struct AttnStrides {
  cl_int qo, qi, qd, ko, kj, kd, vo, vj, vd, oo, oi, od, bi, bj;
};

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr, "usage: %s KERNEL_DIR FILE L S HD ITERS OPTS...\n", argv[0]);
    return 1;
  }
  const std::string dir = argv[1], file = argv[2];
  const int L = std::atoi(argv[3]), S = std::atoi(argv[4]), HD = std::atoi(argv[5]);
  const int iters = std::atoi(argv[6]);
  const bool flash = file.find("flash") != std::string::npos;
  std::string pre =
      "#define DT_FLOAT 0\n#define DT_HALF 1\n#define DT_INT8 2\n#define DT_INT32 3\n"
      "#define DT_BOOL 4\n#define DT_UINT8 5\n#define DT_INT64 8\n#define ACT_CASES(x,a,b)\n";
  for (const char* p : {"prelude.clh", "activation.clh", "storage_io.clh", "run_errors.clh",
                        "window.clh", "int8_tile.clh"})
    pre += readFile(dir + "/" + p);
  const std::string src = pre + "#line 1\n" + readFile(dir + "/" + file);

  cl_platform_id plat;
  CK(clGetPlatformIDs(1, &plat, nullptr));
  cl_device_id dev;
  CK(clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, 1, &dev, nullptr));
  char vendor[256] = {0};
  clGetDeviceInfo(dev, CL_DEVICE_VENDOR, sizeof vendor, vendor, nullptr);
  const bool nv = std::strstr(vendor, "NVIDIA") != nullptr;
  cl_int err;
  cl_context ctx = clCreateContext(nullptr, 1, &dev, nullptr, nullptr, &err);
  CK(err);
  cl_command_queue q = clCreateCommandQueue(ctx, dev, CL_QUEUE_PROFILING_ENABLE, &err);
  CK(err);

  const size_t n = (size_t)L * S * HD;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<uint16_t> hq(n), hk(n), hv(n);
  for (auto* a : {&hq, &hk, &hv})
    for (auto& x : *a) x = f2h(nd(rng));
  auto buf = [&](size_t bytes, const void* data) {
    cl_mem m = clCreateBuffer(ctx, CL_MEM_READ_WRITE | (data ? CL_MEM_COPY_HOST_PTR : 0), bytes,
                              const_cast<void*>(data), &err);
    CK(err);
    return m;
  };
  cl_mem dq = buf(n * 2, hq.data()), dk = buf(n * 2, hk.data()), dv = buf(n * 2, hv.data());
  cl_mem dout = buf(n * 2, nullptr);
  IndexPack lp{}, op{};
  lp.rank = op.rank = 1;
  lp.dims[0] = op.dims[0] = L;
  lp.s[0][0] = lp.s[1][0] = lp.s[2][0] = S * HD;
  op.s[0][0] = S * HD;
  AttnStrides st{0, HD, 1, 0, HD, 1, 0, HD, 1, 0, HD, 1, 0, 0};
  const float scale = 1.0f / std::sqrt((float)HD);

  for (int a = 7; a < argc; ++a) {
    const std::string opts =
        std::string(argv[a]) + " -I " + dir + " -DSTORAGE_HALF=1 -DHD=" + std::to_string(HD);
    const char* s = src.c_str();
    cl_program prog = clCreateProgramWithSource(ctx, 1, &s, nullptr, &err);
    CK(err);
    err = clBuildProgram(prog, 1, &dev, (opts + (nv ? " -cl-nv-verbose" : "")).c_str(), nullptr,
                         nullptr);
    size_t ln = 0;
    clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, nullptr, &ln);
    std::string log(ln, '\0');
    clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, ln, log.data(), nullptr);
    if (err != CL_SUCCESS) {
      std::printf("%-40s BUILD FAILED (%d)\n%s\n", argv[a], err, log.substr(0, 3000).c_str());
      continue;
    }
    std::string regs = "?";
    const size_t r = log.find("Used ");
    if (r != std::string::npos) regs = log.substr(r, log.find('\n', r) - r);
    cl_kernel k = clCreateKernel(prog, flash ? "tc_flash" : "tc_attention", &err);
    CK(err);
    int warps = 4;
    const std::string o = argv[a];
    const size_t wp = o.find("-DWARPS=");
    if (wp != std::string::npos) warps = std::atoi(o.c_str() + wp + 8);
    cl_int sq = S, skv = S, hb = 0, ntz = 0;
    int ai = 0;
    CK(clSetKernelArg(k, ai++, sizeof(cl_mem), &dq));
    CK(clSetKernelArg(k, ai++, sizeof(cl_mem), &dk));
    CK(clSetKernelArg(k, ai++, sizeof(cl_mem), &dv));
    CK(clSetKernelArg(k, ai++, sizeof(cl_mem), &dq));  // bias: unused
    CK(clSetKernelArg(k, ai++, sizeof(cl_mem), &dout));
    CK(clSetKernelArg(k, ai++, sizeof(cl_int), &sq));
    CK(clSetKernelArg(k, ai++, sizeof(cl_int), &skv));
    CK(clSetKernelArg(k, ai++, sizeof(float), &scale));
    CK(clSetKernelArg(k, ai++, sizeof(cl_int), &hb));
    CK(clSetKernelArg(k, ai++, sizeof(IndexPack), &lp));
    CK(clSetKernelArg(k, ai++, sizeof(IndexPack), &op));
    CK(clSetKernelArg(k, ai++, sizeof(AttnStrides), &st));
    CK(clSetKernelArg(k, ai++, sizeof(cl_int), &ntz));
    const size_t rows = 16 * warps, groups = (S + rows - 1) / rows;
    const size_t gsz[2] = {groups * 32 * warps, (size_t)L}, lsz[2] = {32 * (size_t)warps, 1};
    double best = 1e30;
    for (int it = 0; it < iters + 2; ++it) {
      cl_event ev;
      CK(clEnqueueNDRangeKernel(q, k, 2, nullptr, gsz, lsz, 0, nullptr, &ev));
      CK(clWaitForEvents(1, &ev));
      cl_ulong t0, t1;
      clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, 8, &t0, nullptr);
      clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, 8, &t1, nullptr);
      if (it >= 2) best = std::min(best, (t1 - t0) * 1e-6);
      clReleaseEvent(ev);
    }
    std::vector<uint16_t> ho(n);
    CK(clEnqueueReadBuffer(q, dout, CL_TRUE, 0, n * 2, ho.data(), 0, nullptr, nullptr));
    double maxerr = 0;  // sampled rows against double precision
    for (int l = 0; l < L; l += std::max(1, L / 7))
      for (int i = 0; i < S; i += std::max(1, S / 5)) {
        std::vector<double> sc(S);
        double mx = -1e300, sum = 0;
        for (int j = 0; j < S; ++j) {
          double d = 0;
          for (int c = 0; c < HD; ++c)
            d += (double)h2f(hq[((size_t)l * S + i) * HD + c]) *
                 h2f(hk[((size_t)l * S + j) * HD + c]);
          sc[j] = d * scale;
          mx = std::max(mx, sc[j]);
        }
        for (int j = 0; j < S; ++j) sum += (sc[j] = std::exp(sc[j] - mx));
        for (int c = 0; c < HD; ++c) {
          double o = 0;
          for (int j = 0; j < S; ++j) o += sc[j] * h2f(hv[((size_t)l * S + j) * HD + c]);
          o /= sum;
          maxerr = std::max(maxerr, std::fabs(o - h2f(ho[((size_t)l * S + i) * HD + c])));
        }
      }
    const double flop = 4.0 * L * S * (double)S * HD;
    std::printf("%-40s %8.4f ms %7.1f TFLOP/s  max err %.2e  %s\n", argv[a], best,
                flop / best / 1e9, maxerr, regs.c_str());
    clReleaseKernel(k);
    clReleaseProgram(prog);
  }
  return 0;
}
