// Standalone harness: how fast an OpenCL device reads and writes half (FP16) storage by each way
// clrt's kernels can (kernels/storage_io.clh), on one tensor the size of EfficientNet-B0's
// largest squeeze-and-excitation multiply at batch 64 (64 x 144 x 56 x 56 halves, 58 MB). Links
// only OpenCL, so it builds in seconds on the lent GPU machine:
//   g++ -O2 -std=c++17 benchmarks/half_bandwidth.cc -lOpenCL -o /tmp/hbw && /tmp/hbw
// Each kernel computes y = 1.5 x (the gate kernels: y = g[image, channel] * x, channels last, as
// pointwise.cl's binary_f8 in mode 5) and is checked against the host; prints the best of 20
// runs (OpenCL profiling events) and the bytes read + written per second. Rows:
//   copy16    16-byte copy, no conversion (the bandwidth ceiling)
//   vloada8   vloada_half8 / vstorea_half8 (LDA8 / STA8 without HALF_BITS)
//   bits8     one 16-byte access, converted in private memory (LDA8 / STA8 with HALF_BITS)
//   scalar    vload_half / vstore_half, one element a work-item (LD / ST)
//   ptx8      one 16-byte access, cvt.f32.f16 / cvt.rn.f16.f32 through inline PTX (NVIDIA only)
//   gate8     bits8 plus the gate's image and channel from a struct argument (binary_f8's path)
//   gate8v    gate8 with the struct's fields read directly, its address never taken
//   gate1     one element a work-item, the gate's offset by two divisions (binary_f's path)
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char* kSource = R"CL(
inline float8 ld_bits(__global const half* p, size_t i) {
  ushort hb[8];
  vstore8(*((__global const ushort8*)p + i / 8), 0, hb);
  float r[8];
  for (int e = 0; e < 8; ++e) r[e] = vload_half(e, (const half*)hb);
  return vload8(0, r);
}
inline void st_bits(__global half* p, size_t i, float8 v) {
  ushort hb[8];
  vstore_half8_rte(v, 0, (half*)hb);
  *((__global ushort8*)p + i / 8) = vload8(0, hb);
}
typedef struct { int rank; int dims[8]; } Pack;
__kernel void copy16(__global const uint4* x, __global uint4* y, int n) {
  const int i = get_global_id(0);
  if (i * 8 < n) y[i] = x[i];
}
__kernel void vloada8(__global const half* x, __global half* y, int n) {
  const int i = get_global_id(0) * 8;
  if (i < n) vstorea_half8(vloada_half8(i / 8, x) * 1.5f, i / 8, y);
}
__kernel void bits8(__global const half* x, __global half* y, int n) {
  const int i = get_global_id(0) * 8;
  if (i < n) st_bits(y, i, ld_bits(x, i) * 1.5f);
}
__kernel void scalar(__global const half* x, __global half* y, int n) {
  const int i = get_global_id(0);
  if (i < n) vstore_half(vload_half(i, x) * 1.5f, i, y);
}
#ifdef PTX
inline float h2f(ushort h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f; }
inline ushort f2h(float f) { ushort h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }
__kernel void ptx8(__global const half* x, __global half* y, int n) {
  const int i = get_global_id(0) * 8;
  if (i >= n) return;
  const ushort8 u = *((__global const ushort8*)x + i / 8);
  const float8 v = (float8)(h2f(u.s0), h2f(u.s1), h2f(u.s2), h2f(u.s3), h2f(u.s4), h2f(u.s5),
                            h2f(u.s6), h2f(u.s7)) * 1.5f;
  *((__global ushort8*)y + i / 8) = (ushort8)(f2h(v.s0), f2h(v.s1), f2h(v.s2), f2h(v.s3),
                                              f2h(v.s4), f2h(v.s5), f2h(v.s6), f2h(v.s7));
}
#endif
inline int gate_of(const Pack* p, int i) {
  const int C = p->dims[0], S = p->dims[1];
  return i / (C * S) * p->dims[3] + i % C;
}
__kernel void gate8(__global const half* g, __global const half* x, __global half* y, int n,
                    Pack p) {
  const int i = get_global_id(0) * 8;
  if (i < n) st_bits(y, i, ld_bits(g, gate_of(&p, i)) * ld_bits(x, i));
}
__kernel void gate8v(__global const half* g, __global const half* x, __global half* y, int n,
                     Pack p) {
  const int i = get_global_id(0) * 8;
  const int o = i / (p.dims[0] * p.dims[1]) * p.dims[3] + i % p.dims[0];
  if (i < n) st_bits(y, i, ld_bits(g, o) * ld_bits(x, i));
}
__kernel void gate1(__global const half* g, __global const half* x, __global half* y, int n,
                    Pack p) {
  const int i = get_global_id(0);
  if (i < n) vstore_half(vload_half(gate_of(&p, i), g) * vload_half(i, x), i, y);
}
)CL";

struct Pack {
  cl_int rank;
  cl_int dims[8];
};

float halfToFloat(uint16_t h) {
  const int e = (h >> 10) & 31, m = h & 1023;
  const float v = e == 0 ? std::ldexp(static_cast<float>(m), -24)
                         : std::ldexp(static_cast<float>(m | 1024), e - 25);
  return (h & 0x8000) ? -v : v;
}

void check(cl_int e, const char* what) {
  if (e != CL_SUCCESS) {
    std::fprintf(stderr, "%s failed: %d\n", what, e);
    std::exit(1);
  }
}

}  // namespace

int main() {
  cl_platform_id platforms[8];
  cl_uint np = 0;
  check(clGetPlatformIDs(8, platforms, &np), "clGetPlatformIDs");
  cl_device_id dev = nullptr;
  for (cl_uint k = 0; k < np && !dev; ++k)
    if (clGetDeviceIDs(platforms[k], CL_DEVICE_TYPE_GPU, 1, &dev, nullptr) != CL_SUCCESS)
      clGetDeviceIDs(platforms[k], CL_DEVICE_TYPE_ALL, 1, &dev, nullptr);
  if (!dev) return std::fprintf(stderr, "no OpenCL device\n"), 1;
  char name[256] = {};
  clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof(name), name, nullptr);
  cl_int e = CL_SUCCESS;
  cl_context ctx = clCreateContext(nullptr, 1, &dev, nullptr, nullptr, &e);
  check(e, "clCreateContext");
  cl_command_queue q = clCreateCommandQueue(ctx, dev, CL_QUEUE_PROFILING_ENABLE, &e);
  check(e, "clCreateCommandQueue");
  bool ptx = true;  // inline PTX builds on NVIDIA only: without it, the rest
  cl_program prog = nullptr;
  for (const char* opts : {"-DPTX", ""}) {
    prog = clCreateProgramWithSource(ctx, 1, &kSource, nullptr, &e);
    if (clBuildProgram(prog, 1, &dev, opts, nullptr, nullptr) == CL_SUCCESS) break;
    if (!*opts) return std::fprintf(stderr, "the harness's kernels do not build\n"), 1;
    clReleaseProgram(prog);
    ptx = false;
  }
  const int N = 64, C = 144, S = 56 * 56, n = N * C * S;
  std::vector<uint16_t> x(n), g(N * C);
  for (int i = 0; i < n; ++i) x[i] = static_cast<uint16_t>(0x3800 + i % 1021);  // 0.5 .. 1
  for (int i = 0; i < N * C; ++i) g[i] = static_cast<uint16_t>(0x3400 + i % 997);
  const size_t bytes = static_cast<size_t>(n) * 2;
  cl_mem bx = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, x.data(), &e);
  cl_mem bg =
      clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, g.size() * 2, g.data(), &e);
  cl_mem by = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, bytes, nullptr, &e);
  check(e, "clCreateBuffer");
  Pack pack{4, {C, S, 1, C}};
  std::printf("%s: %d halves (%.1f MB), best of 20 runs\n%-8s %10s %10s\n", name, n, bytes / 1e6,
              "kernel", "ms", "GB/s");
  for (const char* kn :
       {"copy16", "vloada8", "bits8", "scalar", "ptx8", "gate8", "gate8v", "gate1"}) {
    if (!ptx && !std::strcmp(kn, "ptx8")) continue;
    cl_kernel k = clCreateKernel(prog, kn, &e);
    check(e, kn);
    const bool gate = !std::strncmp(kn, "gate", 4),
               one = !std::strcmp(kn, "scalar") || !std::strcmp(kn, "gate1");
    int a = 0;
    if (gate) clSetKernelArg(k, a++, sizeof(cl_mem), &bg);
    clSetKernelArg(k, a++, sizeof(cl_mem), &bx);
    clSetKernelArg(k, a++, sizeof(cl_mem), &by);
    clSetKernelArg(k, a++, sizeof(int), &n);
    if (gate) clSetKernelArg(k, a++, sizeof(Pack), &pack);
    const size_t wg = 128, items = one ? n : n / 8, global = (items + wg - 1) / wg * wg;
    double best = 1e30;
    for (int r = 0; r < 20; ++r) {
      cl_event ev;
      check(clEnqueueNDRangeKernel(q, k, 1, nullptr, &global, &wg, 0, nullptr, &ev), kn);
      clWaitForEvents(1, &ev);
      cl_ulong t0 = 0, t1 = 0;
      clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof(t0), &t0, nullptr);
      clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof(t1), &t1, nullptr);
      best = std::min(best, (t1 - t0) * 1e-6);
      clReleaseEvent(ev);
    }
    std::vector<uint16_t> y(n);
    clEnqueueReadBuffer(q, by, CL_TRUE, 0, bytes, y.data(), 0, nullptr, nullptr);
    int bad = 0;
    for (int i = 0; i < n; i += 997) {
      const float xv = halfToFloat(x[i]);
      const float want = !std::strcmp(kn, "copy16") ? xv
                         : gate                     ? halfToFloat(g[i / (C * S) * C + i % C]) * xv
                                                    : 1.5f * xv;
      bad += std::fabs(halfToFloat(y[i]) - want) > 1e-3f * std::fabs(want);
    }
    std::printf("%-8s %10.4f %10.0f%s\n", kn, best, 2.0 * bytes / best / 1e6,
                bad ? "  WRONG VALUES" : "");
    clReleaseKernel(k);
  }
  return 0;
}
