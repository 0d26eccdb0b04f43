// Standalone harness: what one clEnqueueNDRangeKernel costs the host on an OpenCL device, and
// which of the things clrt's runtime does with each launch makes it dearer. Links only OpenCL:
//   g++ -O2 -std=c++17 benchmarks/enqueue_cost.cc -lOpenCL -o /tmp/enq && /tmp/enq
// Every row launches a tiny kernel (1024 work-items, c = a + b * k) 3000 times after 300 warm-up
// launches, setting its arguments before each launch as clrt does, and prints the host's mean
// microseconds per enqueue call and per launch overall (enqueue through clFinish). Rows vary one
// thing at a time against "plain" (no profiling, plain buffers, no event, one kernel object):
//   profiling     the queue created with CL_QUEUE_PROFILING_ENABLE (clrt's queues)
//   event         an event asked for and released with each launch
//   subbuf        the arguments are disjoint sub-buffers of one arena buffer
//   subbuf-alias  sub-buffers that overlap (an arena whose tensors reuse memory), 256 of them
//   buffers-256   256 plain buffers used in turn (a buffer per tensor)
//   subbuf-256    256 disjoint sub-buffers of one arena used in turn
//   kernels-256   256 kernel objects of the one program used in turn (one per layer)
//   clrt-like     profiling + aliased sub-buffers + 256 kernels (what an engine's run does)
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

const char* kSource = R"CL(
typedef struct { int rank; int dims[8]; } Pack;
__kernel void axpb(__global const float* a, __global const float* b, __global float* c, int n,
                   Pack p) {
  const int i = get_global_id(0);
  if (i < n) c[i] = a[i] + b[i] * (float)p.dims[0];
}
)CL";

void check(cl_int e, const char* what) {
  if (e != CL_SUCCESS) {
    std::fprintf(stderr, "%s failed: %d\n", what, e);
    std::exit(1);
  }
}

struct Pack {
  cl_int rank;
  cl_int dims[8];
};

double now_us() {
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main() {
  cl_platform_id plat;
  cl_device_id dev;
  check(clGetPlatformIDs(1, &plat, nullptr), "clGetPlatformIDs");
  check(clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, 1, &dev, nullptr), "clGetDeviceIDs");
  char name[256] = {};
  clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name, name, nullptr);
  cl_uint align_bits = 0;
  clGetDeviceInfo(dev, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits, nullptr);
  const size_t align = std::max<size_t>(align_bits / 8, 256);
  cl_int err;
  cl_context ctx = clCreateContext(nullptr, 1, &dev, nullptr, nullptr, &err);
  check(err, "clCreateContext");
  cl_program prog = clCreateProgramWithSource(ctx, 1, &kSource, nullptr, &err);
  check(err, "clCreateProgramWithSource");
  check(clBuildProgram(prog, 1, &dev, "", nullptr, nullptr), "clBuildProgram");
  const int n = 1024, kKernels = 256, kWarm = 300, kRuns = 3000;
  const size_t bytes = n * sizeof(float);
  std::vector<cl_kernel> kernels(kKernels);
  for (auto& k : kernels) {
    k = clCreateKernel(prog, "axpb", &err);
    check(err, "clCreateKernel");
  }
  std::vector<cl_mem> plain(3);
  for (auto& m : plain) {
    m = clCreateBuffer(ctx, CL_MEM_READ_WRITE, bytes, nullptr, &err);
    check(err, "clCreateBuffer");
  }
  // Arena of 64 slots; sub-buffer s starts at slot s % 64 and spans 2 slots (overlapping its
  // neighbours), as a planner's reused memory does.
  const size_t slot = (bytes + align - 1) / align * align;
  cl_mem arena = clCreateBuffer(ctx, CL_MEM_READ_WRITE, slot * 66, nullptr, &err);
  check(err, "clCreateBuffer arena");
  std::vector<cl_mem> subs(256);
  for (size_t s = 0; s < subs.size(); ++s) {
    cl_buffer_region r{(s % 64) * slot, 2 * slot};
    subs[s] = clCreateSubBuffer(arena, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
    check(err, "clCreateSubBuffer");
  }
  // 256 plain buffers and 256 disjoint sub-buffers of a second arena, used in turn like `subs`.
  std::vector<cl_mem> plains(256), dsubs(256);
  for (auto& m : plains) {
    m = clCreateBuffer(ctx, CL_MEM_READ_WRITE, bytes, nullptr, &err);
    check(err, "clCreateBuffer");
  }
  cl_mem arena2 = clCreateBuffer(ctx, CL_MEM_READ_WRITE, slot * 256, nullptr, &err);
  check(err, "clCreateBuffer arena2");
  for (size_t s = 0; s < dsubs.size(); ++s) {
    cl_buffer_region r{s * slot, slot};
    dsubs[s] = clCreateSubBuffer(arena2, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
    check(err, "clCreateSubBuffer");
  }
  std::vector<cl_mem> disjoint(3);
  for (int s = 0; s < 3; ++s) {
    cl_buffer_region r{static_cast<size_t>(s) * 2 * slot, slot};
    disjoint[s] =
        clCreateSubBuffer(arena, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
    check(err, "clCreateSubBuffer");
  }
  struct Row {
    const char* name;
    bool profiling, event, sub, alias, many;
    int turn = 0;  // 1: 256 plain buffers in turn, 2: 256 disjoint sub-buffers in turn
  };
  const Row rows[] = {
      {"plain", false, false, false, false, false},
      {"profiling", true, false, false, false, false},
      {"event", false, true, false, false, false},
      {"subbuf", false, false, true, false, false},
      {"subbuf-alias", false, false, true, true, false},
      {"kernels-256", false, false, false, false, true},
      {"buffers-256", false, false, false, false, false, 1},
      {"subbuf-256", false, false, false, false, false, 2},
      {"clrt-like", true, false, true, true, true},
      {"clrt-like+event", true, true, true, true, true},
  };
  std::printf("%s: host cost of clEnqueueNDRangeKernel, tiny kernel, %d launches\n", name, kRuns);
  std::printf("%-16s %14s %16s\n", "row", "us / enqueue", "us / launch");
  for (const Row& row : rows) {
    cl_command_queue q =
        clCreateCommandQueue(ctx, dev, row.profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    check(err, "clCreateCommandQueue");
    Pack p{};
    p.rank = 1;
    p.dims[0] = 2;
    double enq = 0;
    double t0 = 0;
    for (int it = 0; it < kWarm + kRuns; ++it) {
      if (it == kWarm) {
        check(clFinish(q), "clFinish");
        enq = 0;
        t0 = now_us();
      }
      cl_kernel k = kernels[row.many ? it % kKernels : 0];
      cl_mem a, b, c;
      if (row.turn) {
        const std::vector<cl_mem>& v = row.turn == 1 ? plains : dsubs;
        a = v[it % 256], b = v[(it + 7) % 256], c = v[(it + 31) % 256];
      } else if (!row.sub) {
        a = plain[0], b = plain[1], c = plain[2];
      } else if (!row.alias) {
        a = disjoint[0], b = disjoint[1], c = disjoint[2];
      } else {
        a = subs[it % 256], b = subs[(it + 7) % 256], c = subs[(it + 31) % 256];
      }
      const cl_int nn = n;
      clSetKernelArg(k, 0, sizeof a, &a);
      clSetKernelArg(k, 1, sizeof b, &b);
      clSetKernelArg(k, 2, sizeof c, &c);
      clSetKernelArg(k, 3, sizeof nn, &nn);
      clSetKernelArg(k, 4, sizeof p, &p);
      const size_t g = n;
      cl_event ev = nullptr;
      const double s = now_us();
      check(clEnqueueNDRangeKernel(q, k, 1, nullptr, &g, nullptr, 0, nullptr,
                                   row.event ? &ev : nullptr),
            "clEnqueueNDRangeKernel");
      enq += now_us() - s;
      if (ev) clReleaseEvent(ev);
    }
    check(clFinish(q), "clFinish");
    const double total = now_us() - t0;
    std::printf("%-16s %14.2f %16.2f\n", row.name, enq / kRuns, total / kRuns);
    clReleaseCommandQueue(q);
  }
  return 0;
}
