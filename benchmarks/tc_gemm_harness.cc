// Standalone harness for kernels/tc_gemm.cl's tc_matmul: builds the kernel with several sets of
// build options, checks each against a double-precision host reference and times it with
// OpenCL profiling events. Links only OpenCL, so it builds in seconds on the lent GPU machine:
//   g++ -O2 -std=c++17 benchmarks/tc_gemm_harness.cc -lOpenCL -o /tmp/tch
//   /tmp/tch csrc/clrt/kernels INT8 M N K ITERS "-DBM=128 ..." ["-DSTAGES=3 ..." ...]
// INT8 0: FP16 in, half out (plus a half residual with -DRES_DT=1); 1: INT8 in, float out. Every
// option set runs M x N x K (timed; 32 sampled rows checked) and two small shapes checked in full:
// one with 16-byte aligned rows, one without (the edge and unaligned paths). Prints one table row
// per option set. With TC_DUMP=DIR set, each option set's program binary (PTX on NVIDIA) is written
// to DIR/<n>.ptx, for ptxas / nvdisasm to show the instruction mix; with TC_LOG set, the build log
// (ptxas' registers, spills and stack per kernel with NVIDIA's -cl-nv-verbose) is printed.
// -DMINCTA=N in an option set asks ptxas for N blocks an SM (.minnctapersm in the PTX).
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
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

namespace {

#define CK(x)                                                                             \
  do {                                                                                    \
    cl_int e_ = (x);                                                                      \
    if (e_ != CL_SUCCESS) {                                                               \
      std::fprintf(stderr, "%s:%d: %s -> OpenCL error %d\n", __FILE__, __LINE__, #x, e_); \
      std::exit(2);                                                                       \
    }                                                                                     \
  } while (0)

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

// The generated defines the prelude expects (core/kernel_codes.cc): dtype codes; no activation.
const char* kDefines =
    "#define DT_FLOAT 0\n#define DT_HALF 1\n#define DT_INT8 2\n#define DT_INT32 3\n"
    "#define ACT_CASES(x, a, b)\n";

uint16_t toHalf(float f) {  // exact for the small dyadic values used here
  if (f == 0) return 0;
  uint32_t b;
  std::memcpy(&b, &f, 4);
  const uint32_t s = (b >> 16) & 0x8000u, e = (b >> 23) & 0xffu, m = b & 0x7fffffu;
  return static_cast<uint16_t>(s | ((e - 112u) << 10) | (m >> 13));
}
float fromHalf(uint16_t h) {
  const uint32_t s = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) return (s ? -1.0f : 1.0f) * m * 5.9604644775390625e-8f;
  uint32_t b = s | ((e + 112u) << 23) | (m << 13);
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

struct Env {
  cl_context ctx;
  cl_device_id dev;
  cl_command_queue q;
  bool nvidia;
};

Env open() {
  cl_uint np = 0;
  CK(clGetPlatformIDs(0, nullptr, &np));
  std::vector<cl_platform_id> ps(np);
  CK(clGetPlatformIDs(np, ps.data(), nullptr));
  Env e{};
  for (cl_platform_id p : ps) {
    cl_uint nd = 0;
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &e.dev, &nd) == CL_SUCCESS && nd) break;
  }
  char name[256] = {0}, vendor[256] = {0};
  cl_ulong lmem = 0;
  clGetDeviceInfo(e.dev, CL_DEVICE_NAME, sizeof name, name, nullptr);
  clGetDeviceInfo(e.dev, CL_DEVICE_VENDOR, sizeof vendor, vendor, nullptr);
  clGetDeviceInfo(e.dev, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lmem, &lmem, nullptr);
  e.nvidia = std::strstr(vendor, "NVIDIA") != nullptr;
  std::printf("device: %s (%s), local memory %llu bytes\n", name, vendor,
              static_cast<unsigned long long>(lmem));
  cl_int err;
  e.ctx = clCreateContext(nullptr, 1, &e.dev, nullptr, nullptr, &err);
  CK(err);
  e.q = clCreateCommandQueue(e.ctx, e.dev, CL_QUEUE_PROFILING_ENABLE, &err);
  CK(err);
  return e;
}

int optInt(const std::string& opts, const std::string& key, int def) {
  const size_t p = opts.find("-D" + key + "=");
  return p == std::string::npos ? def : std::atoi(opts.c_str() + p + key.size() + 3);
}

struct Problem {
  int M, N, K, lda, ldb;
};

// Runs tc_matmul on one problem; returns {max rel error over checked rows, best ms}.
// q8 (INT8 only): the output is INT8 at scale 32 (as a layer feeding another INT8 layer),
// plus an INT8 residual when q8 == 2; checked exactly (round half to even, saturate to 127).
// hres (FP16 only): a half residual is added (the FP16 engine's residual layers).
std::pair<double, double> runOne(Env& e, cl_kernel k, bool int8, const Problem& p, int iters,
                                 int check_rows, int bm, int bn, int nthr, int q8,
                                 bool hres = false, int ps_blocks = 0, bool pp = false) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> d(-8, 8);
  const size_t esz = int8 ? 1 : 2;
  std::vector<float> af(static_cast<size_t>(p.M) * p.lda, 0),
      bf(static_cast<size_t>(p.N) * p.ldb, 0);
  for (int r = 0; r < p.M; ++r)
    for (int c = 0; c < p.K; ++c)
      af[static_cast<size_t>(r) * p.lda + c] = int8 ? d(rng) : d(rng) / 8.0f;
  for (int r = 0; r < p.N; ++r)
    for (int c = 0; c < p.K; ++c)
      bf[static_cast<size_t>(r) * p.ldb + c] = int8 ? d(rng) : d(rng) / 8.0f;
  auto pack = [&](const std::vector<float>& v) {
    std::vector<uint8_t> b(v.size() * esz);
    for (size_t i = 0; i < v.size(); ++i) {
      if (int8) {
        b[i] = static_cast<uint8_t>(static_cast<int8_t>(v[i]));
      } else {
        const uint16_t h = toHalf(v[i]);
        std::memcpy(&b[2 * i], &h, 2);
      }
    }
    return b;
  };
  const std::vector<uint8_t> ab = pack(af), bb = pack(bf);
  cl_int err;
  cl_mem A = clCreateBuffer(e.ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, ab.size(),
                            const_cast<uint8_t*>(ab.data()), &err);
  CK(err);
  cl_mem B = clCreateBuffer(e.ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bb.size(),
                            const_cast<uint8_t*>(bb.data()), &err);
  CK(err);
  const size_t osz = q8 ? 1 : int8 ? 4 : 2;
  std::vector<int8_t> resv(q8 == 2 ? static_cast<size_t>(p.M) * p.N : 1);
  std::uniform_int_distribution<int> dr(-100, 100);
  for (auto& v : resv) v = static_cast<int8_t>(dr(rng));
  std::vector<uint16_t> resh(hres ? static_cast<size_t>(p.M) * p.N : 1);
  for (auto& v : resh) v = toHalf(dr(rng) / 8.0f);
  cl_mem R = hres ? clCreateBuffer(e.ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, resh.size() * 2,
                                   resh.data(), &err)
                  : clCreateBuffer(e.ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, resv.size(),
                                   resv.data(), &err);
  CK(err);
  cl_mem Y =
      clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, static_cast<size_t>(p.M) * p.N * osz, nullptr, &err);
  CK(err);
  cl_mem dummy = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, 64, nullptr, &err);
  CK(err);
  const cl_long z = 0;
  const cl_int has_res = q8 == 2 || hres;
  const float res_scale = 32.0f, inv_os = q8 ? 1.0f / 32 : 1.0f;
  const cl_int M = p.M, N = p.N, K = p.K, lda = p.lda, ldb = p.ldb;
  const cl_int avec = (p.lda * esz) % 16 == 0, bvec = (p.ldb * esz) % 16 == 0;
  const cl_int mt = (p.M + bm - 1) / bm, nt = (p.N + bn - 1) / bn;
  cl_int8 bd{};
  cl_long8 bs{};
  const cl_int zero = 0;
  const float one = 1.0f, fz = 0.0f;
  int a = 0;
  auto set = [&](size_t sz, const void* v) { CK(clSetKernelArg(k, a++, sz, v)); };
  set(sizeof A, &A), set(sizeof B, &B), set(8, &z), set(8, &z), set(sizeof dummy, &dummy);
  set(sizeof dummy, &dummy), set(sizeof R, &R), set(sizeof Y, &Y);
  set(4, &M), set(4, &N), set(4, &K), set(4, &lda), set(4, &ldb), set(4, &avec), set(4, &bvec);
  set(4, &mt), set(sizeof bd, &bd), set(sizeof bs, &bs), set(sizeof bs, &bs), set(4, &zero);
  set(4, &zero), set(4, &zero), set(4, &has_res), set(4, &one), set(4, &res_scale);
  set(4, &inv_os);
  set(4, &one), set(4, &fz);
  const cl_int one_split = 1;  // ksplit (split-K off), then no workspace and no counters
  const cl_mem no_ws = nullptr;
  set(4, &one_split), set(sizeof no_ws, &no_ws), set(sizeof no_ws, &no_ws);
  // -DPERSIST=1: ps_blocks blocks in all (PS_BLOCKS), a whole number per column tile, at most
  // one per row tile.
  // -DPINGPONG=1: min(tiles, ps_blocks) blocks, each walking tiles gid, gid + blocks, ...
  const size_t blocks = pp ? static_cast<size_t>(std::min(mt * nt, ps_blocks))
                        : ps_blocks > 0
                            ? static_cast<size_t>(std::max(1, std::min(mt, ps_blocks / nt))) * nt
                            : static_cast<size_t>(mt) * nt;
  const size_t gs[2] = {blocks * nthr, 1}, ls[2] = {static_cast<size_t>(nthr), 1};
  double best = 1e30;
  for (int i = 0; i < std::max(iters, 1) + (iters > 0 ? 2 : 0); ++i) {
    cl_event ev;
    CK(clEnqueueNDRangeKernel(e.q, k, 2, nullptr, gs, ls, 0, nullptr, &ev));
    CK(clWaitForEvents(1, &ev));
    cl_ulong t0, t1;
    CK(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, nullptr));
    CK(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, nullptr));
    clReleaseEvent(ev);
    if (i >= 2 || iters == 0) best = std::min(best, (t1 - t0) * 1e-6);
  }
  std::vector<uint8_t> y(static_cast<size_t>(p.M) * p.N * osz);
  CK(clEnqueueReadBuffer(e.q, Y, CL_TRUE, 0, y.size(), y.data(), 0, nullptr, nullptr));
  std::vector<int> rows;
  if (check_rows >= p.M) {
    for (int r = 0; r < p.M; ++r) rows.push_back(r);
  } else {
    std::uniform_int_distribution<int> rr(0, p.M - 1);
    rows = {0, p.M - 1};
    while (static_cast<int>(rows.size()) < check_rows) rows.push_back(rr(rng));
  }
  double maxerr = 0, maxref = 0;
  for (int r : rows)
    for (int c = 0; c < p.N; ++c) {
      double ref = 0;
      for (int kk = 0; kk < p.K; ++kk)
        ref += static_cast<double>(af[static_cast<size_t>(r) * p.lda + kk]) *
               bf[static_cast<size_t>(c) * p.ldb + kk];
      const size_t o = static_cast<size_t>(r) * p.N + c;
      double got;
      if (q8) {
        const double v = ref + (has_res ? 32.0 * resv[o] : 0.0);
        const double want = std::max(-127.0, std::min(127.0, std::nearbyint(v / 32)));
        maxerr = std::max(maxerr, std::fabs(static_cast<int8_t>(y[o]) - want));
        maxref = 1;
        continue;
      } else if (int8) {
        float f;
        std::memcpy(&f, &y[o * 4], 4);
        got = f;
      } else {
        uint16_t h;
        std::memcpy(&h, &y[o * 2], 2);
        got = fromHalf(h);
        if (hres) ref += fromHalf(resh[o]);
      }
      maxerr = std::max(maxerr, std::fabs(got - ref));
      maxref = std::max(maxref, std::fabs(ref));
    }
  clReleaseMemObject(A), clReleaseMemObject(B), clReleaseMemObject(Y), clReleaseMemObject(dummy);
  clReleaseMemObject(R);
  return {maxerr / std::max(maxref, 1e-30), best};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr, "usage: %s KERNEL_DIR INT8 M N K ITERS OPTS...\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const bool int8 = std::atoi(argv[2]) != 0;
  const int M = std::atoi(argv[3]), N = std::atoi(argv[4]), K = std::atoi(argv[5]);
  const int iters = std::atoi(argv[6]);
  const std::string src = std::string(kDefines) + readFile(dir + "/prelude.clh") +
                          readFile(dir + "/activation.clh") + readFile(dir + "/storage_io.clh") +
                          readFile(dir + "/run_errors.clh") + "#line 1\n" +
                          readFile(dir + "/tc_gemm.cl");
  Env e = open();
  const double tol = int8 ? 0.0 : 2e-3;  // INT8 is exact; FP16: the half rounding of the output
  std::printf("%-64s %5s %9s %9s %10s %10s %10s  %s\n", "options", "regs", "ms", "TFLOP/s",
              "err big", "err align", "err odd", "verdict");
  for (int i = 7; i < argc; ++i) {
    // "-DOUT_DT=2" (INT8 output) and "-DRES_DT=2" (INT8 residual) in the options: runOne's q8.
    const int q8 =
        int8 && optInt(argv[i], "OUT_DT", 0) == 2 ? 1 + (optInt(argv[i], "RES_DT", 0) == 2) : 0;
    std::string opts = std::string("-DTC_INT8=") + (int8 ? "1" : "0") + " -DTC_CONV=0" +
                       (q8     ? ""
                        : int8 ? " -DOUT_DT=0"
                               : " -DOUT_DT=1") +
                       " " + argv[i];
    if (!e.nvidia) opts += " -DTC_EMULATE=1";
    const char* s = src.c_str();
    cl_int err;
    cl_program prog = clCreateProgramWithSource(e.ctx, 1, &s, nullptr, &err);
    CK(err);
    // -I: tc_gemm.cl #includes its epilogue part (the library expands it itself).
    const std::string bopts = opts + " -I " + dir + (e.nvidia ? " -cl-nv-verbose" : "");
    const auto tb = std::chrono::steady_clock::now();
    err = clBuildProgram(prog, 1, &e.dev, bopts.c_str(), nullptr, nullptr);
    const double build_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - tb).count();
    size_t ln = 0;
    clGetProgramBuildInfo(prog, e.dev, CL_PROGRAM_BUILD_LOG, 0, nullptr, &ln);
    std::string log(ln, '\0');
    clGetProgramBuildInfo(prog, e.dev, CL_PROGRAM_BUILD_LOG, ln, log.data(), nullptr);
    if (err != CL_SUCCESS) {
      std::printf("%-64s BUILD FAILED (%d)\n%s\n", argv[i], err, log.substr(0, 3000).c_str());
      continue;
    }
    // -DTC_WGMMA=1 on NVIDIA: the PTX's "//WG:" lines uncommented and its target made sm_90a,
    // then built again from that binary (what clrt's ocl::retargetWgmma does).
    if (e.nvidia && optInt(opts, "TC_WGMMA", 0)) {
      size_t bs = 0;
      clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof bs, &bs, nullptr);
      std::string ptx(bs, '\0');
      unsigned char* bp = reinterpret_cast<unsigned char*>(&ptx[0]);
      clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bp, &bp, nullptr);
      while (!ptx.empty() && ptx.back() == '\0') ptx.pop_back();
      for (size_t p = ptx.find("//WG:"); p != std::string::npos; p = ptx.find("//WG:", p))
        ptx.erase(p, 5);
      const size_t tp = ptx.find(".target sm_90");
      if (tp != std::string::npos && !std::isalnum(static_cast<unsigned char>(ptx[tp + 13])))
        ptx.insert(tp + 13, "a");
      // -DMINCTA=N (an experiment): the entry asks ptxas for N blocks an SM (.minnctapersm),
      // capping its registers so that N fit.
      if (const int nc = optInt(argv[i], "MINCTA", 0); nc > 0) {
        const size_t rq = ptx.find(".reqntid");
        if (rq != std::string::npos)
          ptx.insert(ptx.find('\n', rq), "\n.minnctapersm " + std::to_string(nc));
      }
      clReleaseProgram(prog);
      const unsigned char* pb = reinterpret_cast<const unsigned char*>(ptx.c_str());
      size_t plen = ptx.size() + 1;
      cl_int bst;
      prog = clCreateProgramWithBinary(e.ctx, 1, &e.dev, &plen, &pb, &bst, &err);
      CK(err);
      err = clBuildProgram(prog, 1, &e.dev, "-cl-nv-verbose", nullptr, nullptr);
      clGetProgramBuildInfo(prog, e.dev, CL_PROGRAM_BUILD_LOG, 0, nullptr, &ln);
      log.assign(ln, '\0');
      clGetProgramBuildInfo(prog, e.dev, CL_PROGRAM_BUILD_LOG, ln, log.data(), nullptr);
      if (err != CL_SUCCESS) {
        std::printf("%-64s SM_90A BUILD FAILED (%d)\n%s\n", argv[i], err,
                    log.substr(0, 3000).c_str());
        continue;
      }
    }
    // ptxas' "Used N registers" line of tc_matmul (-cl-nv-verbose).
    std::string regs = "-";
    const size_t kp = log.find("tc_matmul");
    const size_t rp = log.find(" registers", kp == std::string::npos ? 0 : kp);
    if (rp != std::string::npos) {
      size_t b = rp;
      while (b > 0 && std::isdigit(static_cast<unsigned char>(log[b - 1]))) --b;
      regs = log.substr(b, rp - b);
    }
    if (log.find("spill") != std::string::npos && log.find(" 0 bytes spill") == std::string::npos)
      regs += "S";
    if (std::getenv("TC_LOG")) std::printf("%s\n", log.substr(0, 4000).c_str());
    if (const char* dump = std::getenv("TC_DUMP")) {
      size_t bs = 0;
      clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof bs, &bs, nullptr);
      std::vector<unsigned char> bin(bs);
      unsigned char* bp = bin.data();
      clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bp, &bp, nullptr);
      std::ofstream(std::string(dump) + "/" + std::to_string(i - 6) + ".ptx", std::ios::binary)
          .write(reinterpret_cast<const char*>(bin.data()), static_cast<std::streamsize>(bs));
    }
    cl_kernel k = clCreateKernel(prog, "tc_matmul", &err);
    CK(err);
    const int bm = optInt(argv[i], "BM", 128), bn = optInt(argv[i], "BN", 128);
    // -DPINGPONG=1: a producer warpgroup beside the two consumers of WARPS_M * WARPS_N warps.
    const bool pp = optInt(argv[i], "PINGPONG", 0) != 0;
    const int nthr =
        optInt(argv[i], "WARPS_M", 2) * optInt(argv[i], "WARPS_N", 4) * 32 * (pp ? 3 : 1);
    const auto tr = std::chrono::steady_clock::now();
    const bool hres = !int8 && optInt(argv[i], "RES_DT", 0) == 1;  // FP16 with a half residual
    // -DPERSIST=1: -DPS_BLOCKS=N blocks (default 2 an SM of 132), reductions of at most NKP
    // k-tiles (the small shapes' K capped to that).
    const bool ps = optInt(argv[i], "PERSIST", 0) != 0;
    const int psb = ps   ? optInt(argv[i], "PS_BLOCKS", 264)
                    : pp ? optInt(argv[i], "PS_BLOCKS", 132)
                         : 0;
    const int kcap =
        ps ? optInt(argv[i], "NKP", 1) * optInt(argv[i], "KCH", 4) * (int8 ? 16 : 8) : 1 << 30;
    const auto big =
        runOne(e, k, int8, {M, N, K, K, K}, iters, 32, bm, bn, nthr, q8, hres, psb, pp);
    const double first_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - tr).count();
    // PINGPONG copies only 16-byte aligned rows (208 and 224 bytes or elements: aligned for INT8
    // too): its small shapes keep their sizes (an odd K, M and N) with aligned strides.
    const int ald = pp ? 208 : 200;
    const auto al = runOne(e, k, int8, {200, 136, std::min(200, kcap), ald, ald}, 0, 1 << 30, bm,
                           bn, nthr, q8, hres, psb, pp);
    const int oda = pp ? 208 : 203, odb = pp ? 224 : 211;
    const auto odd = runOne(e, k, int8, {131, 67, std::min(203, kcap), oda, odb}, 0, 1 << 30, bm,
                            bn, nthr, q8, hres, psb, pp);
    const bool ok = big.first <= tol && al.first <= tol && odd.first <= tol;
    std::printf("%-64s %5s %9.4f %9.1f %10.2e %10.2e %10.2e  %s (build %.1f s, first run %.1f s)\n",
                argv[i], regs.c_str(), big.second, 2.0 * M * N * K / big.second / 1e9, big.first,
                al.first, odd.first, ok ? "ok" : "WRONG", build_s, first_s);
    std::fflush(stdout);
    clReleaseKernel(k);
    clReleaseProgram(prog);
  }
  return 0;
}
