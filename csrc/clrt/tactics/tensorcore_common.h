// Shared pieces of the NVIDIA tensor-core tactics (kernels/tc_gemm.cl): availability, tile
// configurations, build options, storage-dtype codes and weight packing (half / per-row int8 /
// float for TF32).
#pragma once

#include <string>
#include <vector>

#include "clrt/tactics/compute_common.h"
#include "clrt/tactics/weight_quant.h"

namespace clrt::tactics::tc {

constexpr const char* kFile = "tc_gemm.cl";

// The three mma.sync families: FP16 x FP16 -> FP32 (m16n8k16), INT8 x INT8 -> INT32
// (m16n8k32) and FP32 operands multiplied as TF32 -> FP32 (m16n8k8).
enum class Mma { kF16, kS8, kTF32 };
// The layer precision a family implements, which is also its operands' storage dtype.
DataType precisionOf(Mma m);
int elemBytes(Mma m);       // 2, 1, 4
const char* suffix(Mma m);  // "fp16", "int8", "tf32" (conv.tc_<suffix>, matmul.tc_<suffix>)

// Tensor cores through inline PTX: every family needs sm_80 or later (mma.sync m16n8k16 f16,
// m16n8k32 s8 and m16n8k8 tf32 are Ampere instructions), read from the device's compute
// capability, not its vendor name. CLRT_TC_EMULATE=1 makes the tactics eligible on any device
// with the mma emulated in local memory (slow; for testing the tiling and indexing on CPUs).
bool emulated(const ocl::DeviceInfo& dev);
inline bool available(const ocl::DeviceInfo& dev) {
  return dev.compute_capability >= 80 || emulated(dev);
}

// A block tile of BM x BN outputs computed by WARPS_M x WARPS_N warps, KCH 16-byte chunks per
// staged tile row and STAGES (0: register double buffering, else a cp.async ring; see
// tc_gemm.cl).
struct Config {
  int bm = 128, bn = 128, warps_m = 2, warps_n = 4, kch = 4, stages = 0;
  // TC_WGMMA (with WG_ASYNC): warpgroups of 64 rows (warps_m = bm / 16, warps_n 1), kch 8 or
  // 4 (128- or 64-byte swizzled rows), a ring of `stages` >= 3 tiles.
  bool wgmma = false;
  // WG_ASYNC: a k-tile's multiply left in flight while the next is issued (the default). Off,
  // a 3-tile ring's prologue issues two tiles instead of one (tensorcore_conv.cc's short 1x1s).
  bool wg_async = true;
  // PINGPONG (tc_pingpong.clh): a warp-specialized persistent block of three warpgroups, a
  // producer and two consumers of 64 x BN tiles taken in turn; at most one block per compute
  // unit. Needs wgmma, bm 64, warps_m 4, stages >= 3 and 16-byte aligned operand rows.
  bool pingpong = false;
  // Threads of one warpgroup tile's multiply (a ping-pong block has three times as many).
  int threads() const { return warps_m * warps_n * 32; }
  int blockThreads() const { return threads() * (pingpong ? 3 : 1); }
  // The same data path on a 32 x 32 tile of one warp: what emulation runs (CLRT_TC_EMULATE),
  // where PoCL compiles and runs the big tiles' emulated mma for minutes. A warpgroup tile's:
  // 64 x 64, one warpgroup.
  Config emulation() const {
    Config c = *this;
    if (wgmma) {
      c.bm = c.bn = 64;
      c.warps_m = 4;
      return c;
    }
    c.bm = c.bn = 32;
    c.warps_m = c.warps_n = 1;
    return c;
  }
  // Elements of one thread's convolution gather run (the CALIGN granule of tc_conv).
  int gatherRun(Mma m) const { return (4 * bn / threads()) * (16 / elemBytes(m)); }
};
// tc_matmul's block tile: 128 x 128 in 4 warps of 64 x 64, 128-byte tile rows in a 3-tile
// cp.async ring (239 TFLOP/s FP16 / 403 TOP/s INT8 at 4096^3 on an H200,
// benchmarks/tc_gemm_harness.cc, against 196 / 346 with 64-byte rows staged through registers
// and 183-223 / 314-379 with 128 x 256 / 256 x 128 tiles). Channels-last 1x1 convolutions run
// through it too (tensorcore_conv.cc).
inline constexpr Config kGemmTile{128, 128, 2, 2, /*kch=*/8, /*stages=*/3};
// 64 x 64 in 4 warps of 32 x 32, 64-byte rows, 2-tile ring: a quarter of kGemmTile's
// accumulators (registers) and local memory, so 4x the blocks for a small M x N (a classifier's
// 64 x 1000 makes 8 blocks of kGemmTile, for 132 SMs) and more blocks per SM.
inline constexpr Config kSmallGemmTile{64, 64, 2, 2, /*kch=*/4, /*stages=*/2};
// Hopper warpgroup tiles (wgmma from sm_90a PTX, see tc_wgmma.clh), 128-byte rows in a
// cp.async ring, one k-tile's multiply in flight while the next is issued. H100,
// benchmarks/tc_gemm_harness.cc (RESULTS.md, 2026-12-06):
// - 128 x 256 in two warpgroups, 4-tile ring: 4096^3 FP16 553 TFLOP/s and INT8 940 TOP/s,
//   against 230 / 431 on kGemmTile and about 690 for cuBLAS FP16 (128 x 128: 391 / 718;
//   without the multiply in flight 397 / 722).
inline constexpr Config kWgTile{128, 256, 8, 1, /*kch=*/8, /*stages=*/4, /*wgmma=*/true};
// - 64 x 128 in one warpgroup, 3-tile ring (72 KiB: blocks share an SM): ResNet-50's short
//   1x1 GEMMs with INT8 output, 200704 x 128 x 256 0.069 ms (0.079 on the best mma.sync tile),
//   12544 x 1024 x 256 + residual 0.044 (0.048), 50176 x 512 x 128 + residual 0.074 (0.077).
inline constexpr Config kWgTile64x128{64, 128, 4, 1, /*kch=*/8, /*stages=*/3, /*wgmma=*/true};
// - 128 x 64: 64 output channels, 200704 x 64 x 256 0.054 ms (0.062).
inline constexpr Config kWgTile64{128, 64, 8, 1, /*kch=*/8, /*stages=*/3, /*wgmma=*/true};
// - The ping-pong GEMM (PINGPONG, matmul.tc_*_pp, conv.tc_*_wgpp for channels-last 1x1
//   layers): a block an SM, a producer warpgroup copying k-tiles into a 6-tile ring (144 KiB)
//   and two consumers multiplying 64 x 128 tiles by turns, so that one writes its tile out while
//   the other multiplies. H100 (benchmarks/RESULTS.md, session 36), against kWgTile, FP16 with
//   half output: ViT-B/16's out_proj 12608 x 768 x 768 + residual 0.0670 ms against 0.0774,
//   qkv 12608 x 2304 x 768 0.133 against 0.138; INT8 (FP32 output) qkv 0.084 against 0.113,
//   fc1 12608 x 3072 x 768 0.107 against 0.152. 4096^3 behind (368 TFLOP/s against 544): one
//   warpgroup multiplies at a time. ResNet-50's short 1x1 GEMMs ran slower on it than on
//   kWgTile64x128 (session 35: 0.169 against 0.112 ms for layer1's conv3).
inline constexpr Config kPingPongTile = [] {
  Config c{64, 128, 4, 1, /*kch=*/8, /*stages=*/6, /*wgmma=*/true};
  c.pingpong = true;
  return c;
}();
// - The same block with 64 x 256 consumer tiles in a 4-tile ring (160 KiB): H100, session 36,
//   FP16 against kWgTile, ViT-B/16's qkv 0.121 against 0.138 ms, fc1 0.153 / 0.186, fc2 +
//   residual 0.176 / 0.217; INT8 (FP32 output) fc2 0.095 against 0.134; 4096^3 FP16 428
//   TFLOP/s. (128 x 128 consumer tiles, two 64-row products a k-step, as CUTLASS's ping-pong
//   kernels tile, were slower than the better of these two on every shape timed.)
inline constexpr Config kPingPongTile256 = [] {
  Config c{64, 256, 4, 1, /*kch=*/8, /*stages=*/4, /*wgmma=*/true};
  c.pingpong = true;
  return c;
}();
// Whether the builder offers the ping-pong tactics unasked (a tactic filter that names them runs
// them either way): matmul.tc_*_pp on Hopper unless CLRT_TC_PINGPONG=0; conv.tc_*_wgpp, slower
// on every 1x1 shape timed, only with CLRT_TC_PINGPONG=1.
bool pingpongOffered(bool conv);
// A ping-pong launch's blocks (at most; never more than its tiles): one per compute unit, or
// CLRT_TC_PP_BLOCKS (tests make blocks walk several tiles whatever the device; on a GPU, to
// compare).
int64_t pingpongBlocks(const ocl::DeviceInfo& dev);

// Whether a tactic of tile `c` can run on `dev`: the warpgroup tiles (wgmma, PTX for sm_90a)
// on compute capability 9.0 only (H100, H200), or emulated as the mma.sync tiles are.
inline bool available(const Config& c, const ocl::DeviceInfo& dev) {
  return c.wgmma ? dev.compute_capability == 90 || emulated(dev) : available(dev);
}
// Whether the builder offers such a tactic unasked (Tactic::worthOffering): the warpgroup tiles
// where they are Hopper's own; emulated, only when the tactic filter names them (each is a
// slow program for PoCL to compile).
inline bool worthOffering(const Config& c, const ocl::DeviceInfo& dev) {
  return !c.wgmma || dev.compute_capability == 90;
}

// The tile a tactic of tile `c` runs on `dev`: `c` itself, or emulated, its emulation() one;
// CLRT_TC_EMULATE=tiles emulates `c` itself (every warp of it; PoCL then compiles each program
// for minutes), to check a tile's own indexing off NVIDIA.
Config runTile(const Config& c, const ocl::DeviceInfo& dev);

// 0 float, 1 half, 2 int8: OUT_DT / RES_DT of tc_gemm.cl; -1 for other dtypes.
int dtCode(DataType t);

// tc_matmul's epilogue option for a tile. RES_STAGE, for a tile with a residual: the block's
// residual tile copied into local memory with the first operand tiles, so that a short
// reduction's block waits for memory once. Only on 64-byte-row tiles: H200, INT8, ResNet-50's
// layer1 conv3 (200704 x 256 x 64 with its residual) 0.148 -> 0.123 ms on 128 x 128 / KCH 4, but
// 0.23 -> 0.26 ms on kGemmTile, whose 96 KiB of rings leave no room for it
// (benchmarks/RESULTS.md). CLRT_TC_RES_STAGE=0 turns it off, =all on for every ring tile, to
// compare on one device.
// CLRT_TC_EP_REG=1: EP_REG instead (the epilogue written from registers, no staging) on tiles
// whose warps hold a multiple of four n8 tiles.
std::string mmEpilogueOption(const Config& c, bool has_res);

// Build options for one program of tc_gemm.cl (the activation comes from `ep`).
std::string options(const ocl::DeviceInfo& dev, Mma mma, bool conv, const Config& c,
                    const ir::EpilogueParams& ep, int out_dt, int res_dt, const std::string& extra);

// Row-major float weights of `groups` consecutive [rows x cols] matrices, each as a zero-padded
// [prow x pcol] matrix of the family's operand (one after the other): half bits (kF16), floats
// (kTF32) or, for kS8, quantized per row by quantizeRows (tactics/weight_quant.h; a non-finite
// weight is a build error naming `layer`), `scales` then receiving one scale per real row.
std::vector<uint8_t> packWeights(Mma m, const std::vector<float>& w, int64_t rows, int64_t cols,
                                 int64_t prow, int64_t pcol, const std::string& layer,
                                 std::vector<float>* scales, int64_t groups = 1);

// The untimed order of a tensor-core tactic of priority `prio` on `dev`: on a GPU ahead of the
// CLBlast tactics too, which their untimedPriority moves up there.
inline int untimedOrder(int prio, const ocl::DeviceInfo& dev) {
  return prio - (dev.is_gpu ? 4 : 0);
}

// Split-K (tc_gemm.cl SPLIT_FIXUP), decided per launch from what a kernel reads once when it is
// made: the device's compute units and CLRT_TC_SPLITK (N > 0 forces N splits, 1 none).
struct SplitPolicy {
  int compute_units = 1;
  int forced = 0;  // 0: splitK decides
};
SplitPolicy splitPolicy(const ocl::DeviceInfo& dev);
// How many splits a launch of `tiles` blocks over `nk` k-tiles takes: 1 when the tiles fill the
// compute units; else enough splits to fill them, at most 16, each at least 2 k-tiles long
// (ResNet-50 at batch 1 on an H200 ran its layer3 / layer4 convolutions on 4-8 blocks for 132
// SMs); a forced count, at most nk.
int splitK(int64_t tiles, int64_t nk, const SplitPolicy& p);
// Workspace bytes of a launch in `ks` splits on run tile `c`: every split's accumulators. 0 when
// ks is 1.
uint64_t splitBytes(int64_t tiles, int ks, const Config& c);

// The split-K tile counters of one kernel, a buffer per command queue, zeroed once when made:
// the split that finishes a tile resets its counter, so they are zero again after every
// launch and need no fill before the next one (a fill per split layer and run was one more
// command on the queue: ResNet-50 at batch 1 splits most of its convolutions). Per queue, so
// that contexts running the same engine on two queues at once never share a counter.
class SplitCounters {
 public:
  // At least `tiles` counters for launches on `q`, zero when the queue reaches the launch.
  cl_mem get(cl_command_queue q, int64_t tiles);

 private:
  struct Entry {
    ocl::MemHandle buf;
    int64_t n = 0;
  };
  std::mutex mu_;
  std::map<cl_command_queue, Entry> byQueue_;
};

// The split-K buffers of a launch of `tiles` blocks in `*ks` splits on run tile `c`: the
// workspace (partial sums) and the counters; null, and *ks = 1, without splits or without the
// workspace workspaceSize asked for (not expected).
struct SplitBuffers {
  cl_mem ws = nullptr, counters = nullptr;
};
SplitBuffers splitBuffers(const ExecArgs& a, int64_t tiles, int* ks, const Config& c,
                          SplitCounters& counters);

// A device copy of `bytes` (at least 4 bytes).
cl_mem upload(ocl::Device& dev, const std::vector<uint8_t>& bytes);
cl_mem uploadFloats(ocl::Device& dev, const std::vector<float>& v);

inline int64_t roundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Registration of the two families (tensorcore_conv.cc, tensorcore_matmul.cc).
void registerConv();
void registerMatMul();

}  // namespace clrt::tactics::tc
