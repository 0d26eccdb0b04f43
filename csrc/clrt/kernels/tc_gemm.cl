// Tensor-core GEMM (tc_matmul) and implicit-GEMM convolution (tc_conv) for NVIDIA through inline
// PTX mma.sync: FP16 in / FP32 accumulate (m16n8k16), INT8 in / INT32 accumulate (m16n8k32) or
// FP32 in, multiplied as TF32 / FP32 accumulate (m16n8k8), with the fused scale + bias + residual
// + activation epilogue. TC_EMULATE swaps the PTX (mma,
// cp.async) for exact emulations so the same tiling, staging and indexing run on any device.
//
// Build options: TC_INT8 (0/1), TC_TF32 (0/1: FP32 operands, TF32 products), TC_CONV (0: tc_matmul, 1: tc_conv), BM/BN (block tile),
// WARPS_M/WARPS_N (warp grid), CALIGN (tc_conv: C is a multiple of the per-thread gather run),
// IN_HWC/RES_HWC/OUT_HWC (tc_conv: input, residual, output stored channels last, [N][H][W][C]),
// HWC_ROWS (tc_conv: a channels-last input of one group with dilation 1 along W, gathered a kernel
// row at a time when C is not CALIGN), OUT_DT/RES_DT (0 float, 1 half, 2 int8), ACT, TC_EMULATE, KCH (16-byte chunks per tile row: 4
// or 8; tc_conv's register path 4), STAGES (0, or a cp.async ring of >= 2 tiles), TC_SADDR (how a
// local pointer becomes a .shared address for cp.async, see saddr()), RES_STAGE (1: the
// block's residual tile is copied into local memory by cp.async with the first operand tiles),
// TC_WGMMA (1: Hopper's warpgroup multiply, sm_90a, instead of mma.sync; see tc_wgmma.clh) and
// WG_ASYNC (1: one k-tile's wgmma in flight while the next is issued), EP_REG (tc_matmul: the
// epilogue written from registers, tc_mm_epilogue.clh) and CONV_CA (tc_conv's ring gathers through
// L1: cp.async.ca), CRUN (tc_conv's ring: 16-byte chunks of one tap's channels, where fewer
// than 4, as in a space-to-depth stem's packed input, S2D_SRC_HWC, see tc_s2d_pack), PERSIST
// (tc_matmul: a block walks several row tiles of one column tile, NKP k-tiles of B held, EP_ROWS
// rows staged a pass; see the kernel), PINGPONG (tc_matmul: warp-specialized, a producer
// warpgroup and two consumers; tc_pingpong.clh).
//
// Data path: both operands are staged as "rows x BK" tiles in local memory, K-contiguous, KCH
// 16-byte chunks per row (BK = KCH * 8 halves, KCH * 16 int8 or KCH * 4 floats), whose order is XOR-swizzled
// by SWZ(row) so that the chunk stores and the fragment loads are free of bank conflicts.
// A lane (g = lane / 4, t = lane % 4) reads chunks t, t + 4, ... of its rows with one 16-byte
// load each and feeds each chunk's words to two k-steps. This permutes k inside the tile
// identically for both operands (the PTX fragment wants k = 2t, 2t+1, 2t+8, 2t+9 of each k16
// step), which leaves every dot product unchanged and needs no ldmatrix. TF32 is the same in
// 32-bit words: a k8 step's fragment holds k = t and t + 4 of each row, one word each, so the
// chunk's four floats feed two k8 steps exactly as a chunk's four half pairs feed two k16 steps. STAGES 0: global loads
// for tile k+1 go to registers while tile k is multiplied (double buffered local memory, one
// barrier per tile). STAGES >= 2: cp.async copies global -> local for tile k + STAGES - 1 while
// tile k is multiplied (no staging registers, one barrier per tile); edge tiles and unaligned
// operands take the register path's chunk packing into the same ring.

#ifndef TC_INT8
#define TC_INT8 0
#endif
#ifndef TC_TF32
#define TC_TF32 0
#endif
#if TC_INT8 && TC_TF32
#error "TC_INT8 and TC_TF32 exclude each other"
#endif
#ifndef TC_CONV
#define TC_CONV 0
#endif
#ifndef BM
#define BM 128
#endif
#ifndef BN
#define BN 128
#endif
#ifndef WARPS_M
#define WARPS_M 2
#endif
#ifndef WARPS_N
#define WARPS_N 4
#endif
#ifndef CALIGN
#define CALIGN 0
#endif
#ifndef IN_HWC
#define IN_HWC 0
#endif
#ifndef RES_HWC
#define RES_HWC 0
#endif
#ifndef OUT_HWC
#define OUT_HWC 0
#endif
#ifndef HWC_ROWS
#define HWC_ROWS 0
#endif
#ifndef OUT_DT
#define OUT_DT 0
#endif
#ifndef RES_DT
#define RES_DT 0
#endif
#ifndef TC_EMULATE
#define TC_EMULATE 0
#endif
#ifndef EP_REG
#define EP_REG 0
#endif
#ifndef S2D_PACK
#define S2D_PACK 0
#endif
#ifndef S2D_SRC_HWC
#define S2D_SRC_HWC 0
#endif
#ifndef CONV_CA
#define CONV_CA 0
#endif
#ifndef KCH
#define KCH 4
#endif
#ifndef STAGES
#define STAGES 0
#endif
#ifndef RES_STAGE
#define RES_STAGE 0
#endif
#ifndef PERSIST
#define PERSIST 0
#endif
#ifndef PINGPONG
#define PINGPONG 0
#endif
#if RES_STAGE && (TC_CONV || !STAGES)
#error "RES_STAGE: tc_matmul's cp.async ring stages the residual tile"
#endif
#if TC_CONV && KCH != 4 && !STAGES
#error "tc_conv's register path stages 64-byte tile rows (KCH 4)"
#endif
#if KCH != 4 && KCH != 8
#error "KCH must be 4 or 8"
#endif
#if STAGES == 1
#error "STAGES is 0 or >= 2"
#endif
#ifndef TC_WGMMA
#define TC_WGMMA 0
#endif
#ifndef WG_ASYNC
#define WG_ASYNC 0
#endif
#if TC_WGMMA
// Hopper's warpgroup multiply (sm_90a; see tc_wgmma.clh): 128- or 64-byte swizzled rows (KCH 8
// or 4) in a cp.async ring, one warpgroup per 64 rows of the block tile, each thread holding
// m16 x BN of a warp's rows (TM 1, TN BN / 8) in the mma.sync accumulator layout, so the
// epilogues are shared.
#if STAGES < 2 || WARPS_N != 1 || WARPS_M * 16 != BM || BM % 64
#error "TC_WGMMA: a cp.async ring, WARPS_M = BM / 16, WARPS_N 1, BM a multiple of 64"
#endif
#if WG_ASYNC && STAGES < 3
#error "WG_ASYNC: a ring of at least 3 tiles"
#endif
#endif
#if PERSIST && (TC_CONV || STAGES < 2 || !defined(NKP) || !defined(EP_ROWS) || WG_ASYNC)
#error "PERSIST: tc_matmul on a cp.async ring, NKP k-tiles of B held, EP_ROWS staged rows a pass"
#endif
// WG_ASYNC: a k-tile's wgmma group stays in flight while the next is issued, so the tile
// loaded into a ring slot is the one two behind (LAG 1), not one behind.
#if TC_WGMMA && WG_ASYNC
#define LAG 1
#define WG_PENDING "1"
#else
#define LAG 0
#define WG_PENDING "0"
#endif
#if TC_CONV && STAGES && BN > WARPS_M * WARPS_N * 32
#error "tc_conv's ring: a thread per pixel row of the B tile at least"
#endif
#ifndef CRUN
#define CRUN 4
#endif
#if TC_CONV && STAGES && !(IN_HWC && CALIGN)
#error "tc_conv's cp.async ring needs a channels-last input whose C fills 64-byte segments"
#endif

// Unrolling inside macros (all accumulator indices must be compile-time constants).
#if defined(TC_NO_PRAGMA)
#define TC_UNROLL
#elif TC_EMULATE
// Emulation: keep the mma call sites in loops (unrolled they make CPU compilers slow).
#define TC_UNROLL _Pragma("clang loop unroll(disable)")
#else
#define TC_UNROLL _Pragma("unroll")
#endif

#define NWARPS (WARPS_M * WARPS_N)
#define NT (NWARPS * 32)
#define TM (BM / WARPS_M / 16)  // m16 tiles per warp
#define TN (BN / WARPS_N / 8)   // n8 tiles per warp
#if TC_INT8
typedef uchar elem_t;
typedef int acc_t;
#define EPC 16  // elements per 16-byte chunk
#elif TC_TF32
typedef uint elem_t;  // float bits
typedef float acc_t;
#define EPC 4
#else
typedef ushort elem_t;
typedef float acc_t;
#define EPC 8
#endif
#define BK (KCH * EPC)
#define KM_IT(R) ((R) * KCH / NT)  // K-major tile: 16-byte chunks per thread


#include "tc_mma.clh"

// Packs EPC elements (zero where i >= n) from p into one chunk; the slow path of the loaders.
inline uint4 pack_chunk(__global const elem_t* p, int n) {
  uint w[4];
#pragma unroll
  for (int q = 0; q < 4; ++q) {
    uint v = 0;
#if TC_INT8
#pragma unroll
    for (int b = 0; b < 4; ++b)
      if (4 * q + b < n) v |= (uint)p[4 * q + b] << (8 * b);
#elif TC_TF32
    if (q < n) v = p[q];
#else
#pragma unroll
    for (int b = 0; b < 2; ++b)
      if (2 * q + b < n) v |= (uint)p[2 * q + b] << (16 * b);
#endif
    w[q] = v;
  }
  return (uint4)(w[0], w[1], w[2], w[3]);
}

// K-major operand: element (row, k) at base[row * ld + k]. Each thread moves KM_IT(R) chunks.
// `vec`: ld and the base are 16-byte aligned, so whole tiles load as uint4.
#define KM_LOAD(regs, R, base, rows, K, ld, vec, row0, k0)                                \
  {                                                                                       \
    const bool full_ = (vec) && (row0) + (R) <= (rows) && (k0) + BK <= (K);               \
    TC_UNROLL for (int it_ = 0; it_ < KM_IT(R); ++it_) {                          \
      const int idx_ = tid + it_ * NT, r_ = (row0) + idx_ / KCH, k_ = (k0) + idx_ % KCH * EPC; \
      if (full_) {                                                                        \
        regs[it_] = *(__global const uint4*)((base) + (size_t)r_ * (ld) + k_);            \
      } else {                                                                            \
        const int n_ = r_ < (rows) ? clamp((K) - k_, 0, EPC) : 0;                         \
        regs[it_] = pack_chunk((base) + (n_ > 0 ? (size_t)r_ * (ld) + k_ : 0), n_);       \
      }                                                                                   \
    }                                                                                     \
  }
#define KM_STORE(tile, regs, R)                                          \
  TC_UNROLL for (int it_ = 0; it_ < KM_IT(R); ++it_) {           \
    const int idx_ = tid + it_ * NT, r_ = idx_ / KCH;                    \
    tile[r_ * KCH + ((idx_ % KCH) ^ SWZ(r_))] = regs[it_];               \
  }

#include "tc_async.clh"
// TC_WGMMA: the ring's tiles, written through the generic proxy (cp.async, stores), made
// visible to wgmma's async proxy before the barrier that hands them over; WG_DRAIN (after the
// main loop) waits for the last wgmma group.
#if TC_WGMMA && !TC_EMULATE
#define WG_PROXY_FENCE() asm volatile("//WG:fence.proxy.async.shared::cta;\n" ::: "memory")
#else
#define WG_PROXY_FENCE()
#undef WG_DRAIN
#define WG_DRAIN()
#endif

#include "tc_epilogue.clh"

// One K-major operand tile (R rows x BK, rows of length K at stride ld) into ring slot T: each
// thread KM_IT(R) chunks, by cp.async where the block's rows are whole and 16-byte aligned
// (`full`) and the chunk lies inside K, else packed chunks stored directly (zeros past K). The slot is free: every warp has passed
// the barrier after its last multiply of it.
#define ISSUE_OP(T, R, base, rows, K, ld, full, row0, k0)                                   \
  TC_UNROLL for (int it_ = 0; it_ < KM_IT(R); ++it_) {                                      \
    const int idx_ = tid + it_ * NT, r_ = idx_ / KCH, c_ = idx_ % KCH;                      \
    __local uint4* dst_ = &T[r_ * KCH + (c_ ^ SWZ(r_))];                                    \
    const int k_ = (k0) + c_ * EPC;                                                         \
    if ((full) && k_ + EPC <= (K)) {                                                        \
      CP_ASYNC(dst_, (__global const uint4*)((base) + (size_t)((row0) + r_) * (ld) + k_)); \
    } else {                                                                                \
      const int n_ = (row0) + r_ < (rows) ? clamp((K) - k_, 0, EPC) : 0;                    \
      *dst_ = pack_chunk((base) + (n_ > 0 ? (size_t)((row0) + r_) * (ld) + k_ : 0), n_);    \
    }                                                                                       \
  }

#define NBUF (STAGES > 2 ? STAGES : 2)  // tiles of the local ring

// The local tiles: both rings in one array, which the staged epilogue reuses.
// TC_WGMMA: the rings start at a 1024-byte boundary of the shared window (the swizzle's atom).
#if TC_WGMMA && !TC_EMULATE
#define RING_PAD 64
#define RING_OFF ((64 - (saddr(Sm_) >> 4) % 64) % 64)
#else
#define RING_PAD 0
#define RING_OFF 0
#endif
#if PERSIST
// PERSIST: the column tile's B (NKP k-tiles, held), then a ring of STAGES row tiles of A (NKP
// k-tiles each), then the epilogue's staging (EP_ROWS rows of BN floats), so that the ring's
// copies land while a tile's epilogue runs.
#define PS_B (NKP * BN * KCH)
#define PS_A (STAGES * NKP * BM * KCH)
#define PS_EP (EP_ROWS * EP_STRIDE(BN) / 4)
#define SM_UINT4 (PS_B + PS_A + PS_EP)
#define AS_OFF PS_B
#define BS_OFF 0
#else
#define SM_UINT4 (NBUF * (BM + BN) * KCH)
#define AS_OFF 0
#define BS_OFF (NBUF * BM * KCH)
#endif
#define TC_LOCAL                                                                    \
  __local uint4 Sm_[SM_UINT4 + RING_PAD];                                           \
  __local int last_split_;                                                          \
  __local uint4(*As)[BM * KCH] = (__local uint4(*)[BM * KCH])(Sm_ + RING_OFF + AS_OFF); \
  __local uint4(*Bs)[BN * KCH] = (__local uint4(*)[BN * KCH])(Sm_ + RING_OFF + BS_OFF);

// Common prologue of both kernels: lane/warp coordinates and zeroed accumulators.
#define TC_PROLOGUE                                                          \
  const int tid = get_local_id(0), lane = tid & 31, warp = tid >> 5;         \
  const int g = lane >> 2, t = lane & 3;                                     \
  const int wm = (warp / WARPS_N) * (BM / WARPS_M), wn = (warp % WARPS_N) * (BN / WARPS_N); \
  TC_LOCAL                                                                   \
  acc_t acc[TM][TN][4];                                                      \
  TC_UNROLL for (int i_ = 0; i_ < TM; ++i_) TC_UNROLL for (  \
      int j_ = 0; j_ < TN; ++j_) TC_UNROLL for (int q_ = 0; q_ < 4; ++q_) acc[i_][j_][q_] = 0;

// The epilogue value of accumulator element (row m, column n): v = acc * scale[.] + bias[.].
// Rows are output channels (conv) or rows of C (matmul); scale/bias index the rows for conv and
// the columns for matmul.
#define EPI_VALUE(a, sc, bs) ((float)(a) * (sc) + (bs))

// Split-K (ksplit > 1; grid dim 2 is the split): block z of a tile multiplies k-tiles
// [SPLIT_LO(nk), SPLIT_HI(nk)) only. Every split writes its accumulators to the workspace `ws`
// ([tile][split][TM * TN * 4][NT] 32-bit values), then counts itself in its tile's counter
// (`cnt`, one uint per tile); the split that arrives last adds all of them in split order (the
// same sum whoever arrives last), zeroes the counter for the next launch, and runs the
// epilogue; the others return. The counters are the kernel's own, zeroed once when the host
// makes them (tactics SplitCounters), so a launch needs no fill before it. Tiles then fill a
// GPU whose layer has fewer output tiles than compute units (batch 1).
#define SPLIT_LO(nk) (int)((long)get_group_id(2) * (nk) / ksplit)
#define SPLIT_HI(nk) (int)((long)(get_group_id(2) + 1) * (nk) / ksplit)
#if TC_EMULATE
#define GLOBAL_FENCE() mem_fence(CLK_GLOBAL_MEM_FENCE)
#else
#define GLOBAL_FENCE() asm volatile("membar.gl;" ::: "memory")
#endif
#define SPLIT_FIXUP(tile)                                                                       \
  if (ksplit > 1) {                                                                             \
    __global uint* cnt_ = cnt + (tile);                                                         \
    __global int* part_ = (__global int*)ws;                                                    \
    const size_t per_ = (size_t)TM * TN * 4 * NT;                                               \
    __global int* mine_ = part_ + ((size_t)(tile) * ksplit + get_group_id(2)) * per_ + tid;     \
    TC_UNROLL for (int i_ = 0; i_ < TM; ++i_) TC_UNROLL for (int j_ = 0; j_ < TN; ++j_)        \
        TC_UNROLL for (int q_ = 0; q_ < 4; ++q_)                                                \
            mine_[((i_ * TN + j_) * 4 + q_) * NT] = ACC_BITS(acc[i_][j_][q_]);                  \
    GLOBAL_FENCE();                                                                             \
    barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);                                        \
    if (tid == 0) last_split_ = atomic_inc(cnt_) == (uint)(ksplit - 1);                         \
    barrier(CLK_LOCAL_MEM_FENCE);                                                               \
    if (!last_split_) return;                                                                   \
    GLOBAL_FENCE();                                                                             \
    TC_UNROLL for (int i_ = 0; i_ < TM; ++i_) TC_UNROLL for (int j_ = 0; j_ < TN; ++j_)        \
        TC_UNROLL for (int q_ = 0; q_ < 4; ++q_) acc[i_][j_][q_] = 0;                           \
    for (int z_ = 0; z_ < ksplit; ++z_) {                                                       \
      volatile __global const int* src_ = part_ + ((size_t)(tile) * ksplit + z_) * per_ + tid;  \
      TC_UNROLL for (int i_ = 0; i_ < TM; ++i_) TC_UNROLL for (int j_ = 0; j_ < TN; ++j_)      \
          TC_UNROLL for (int q_ = 0; q_ < 4; ++q_)                                              \
              acc[i_][j_][q_] += BITS_ACC(src_[((i_ * TN + j_) * 4 + q_) * NT]);                \
    }                                                                                           \
    if (tid == 0) *cnt_ = 0;                                                                    \
  }
#if TC_INT8
#define ACC_BITS(a) (a)
#define BITS_ACC(b) (b)
#else
#define ACC_BITS(a) as_int(a)
#define BITS_ACC(b) as_float(b)
#endif

// tc_matmul's epilogue staging (tc_mm_epilogue.clh): EPR_M rows of BN floats a pass, in the
// rings' memory.
#if PERSIST
#define EPR_M EP_ROWS
#define EP_BUF ((__local float*)(Sm_ + RING_OFF + PS_B + PS_A))
#elif TC_EMULATE && BM == 32 && BN == 32
#define EPR_M (BM / 2)  // the one-warp emulation tile: two passes, as the larger tiles take
#define EP_BUF ((__local float*)Sm_)
#else
#define EPR_M EP_PASS(BM, BN)
#define EP_BUF ((__local float*)Sm_)
#endif

#if !TC_CONV

#if PINGPONG
#include "tc_pingpong.clh"
#else
// C[b] (M x N, row-major, batch-major) = A[b] (M x K) * B[b] (K x N), both operands K-major:
// A as [M][lda], B as [N][ldb] (the host transposes operands stored the other way with
// tc_transpose first: a transposing tile loader measured 2-3x slower on an H100).
// Epilogue per column n: v = acc * scale * svec[n] + bias[n] (+ res) -> act -> Y.
__kernel __attribute__((reqd_work_group_size(NT, 1, 1))) void tc_matmul(
    __global const elem_t* A, __global const elem_t* B, long a_off0, long b_off0,
    __global const float* bias, __global const float* svec, __global const uchar* res,
    __global uchar* Y, int M, int N, int K, int lda, int ldb, int avec, int bvec, int mtiles, int8 bdims, long8 a_bs, long8 b_bs,
    int nbd,
    int has_bias, int has_svec, int has_res, float scale, float res_scale, float inv_out_scale,
    float alpha, float beta, int ksplit, __global uint* ws, __global uint* cnt) {
  TC_PROLOGUE
  // Blocks of one column tile run together: they share its B panel in L2.
  const int gid = get_group_id(0), bat = get_group_id(1);
  long ao, bo;
  batch_offsets(bat, bdims, a_bs, b_bs, nbd, &ao, &bo);
  __global const elem_t* Ab = A + a_off0 + ao;
  __global const elem_t* Bb = B + b_off0 + bo;
  const int nkall = (K + BK - 1) / BK, klo = SPLIT_LO(nkall), nk = SPLIT_HI(nkall) - klo;
  const size_t obase = (size_t)bat * M * N;
#if RES_DT == DT_INT8
#define RES_BYTES 1
#elif RES_DT == DT_HALF
#define RES_BYTES 2
#else
#define RES_BYTES 4
#endif
#define RCPR (BN * RES_BYTES / 16)  // 16-byte chunks per residual tile row
#define RROW (BN * RES_BYTES + 16)   // bytes per staged row: padded against bank conflicts
#if PERSIST
  // A block per share of the GPU (the host launches Q blocks per column tile, fewer than the
  // tiles), for reductions of at most NKP k-tiles: the block holds its column tile's B in local
  // memory, loaded once, and walks row tiles gid % Q, + Q, ..., copying each one's A k-tiles
  // (and, RES_STAGE, its residual tile) by cp.async STAGES - 1 tiles ahead into a ring, so that
  // the next tiles' loads are in flight while a tile is multiplied and written out, without a
  // block's start and end between them. ksplit is 1 and nk <= NKP (the host's check).
  const int q_ = get_num_groups(0) / ((N + BN - 1) / BN);
  const int n0 = (gid / q_) * BN, mfirst = gid % q_;
  const int ntiles = mfirst < mtiles ? (mtiles - 1 - mfirst) / q_ + 1 : 0;
  const bool bfull = bvec && n0 + BN <= N;
#if RES_STAGE
  __local uint4 Rring[STAGES * BM * (RCPR + 1)];
  const bool res_ok = has_res && (N * RES_BYTES) % 16 == 0 && n0 + BN <= N;
#endif
  // Row tile i of this block (i < ntiles) into ring slot i % STAGES: its A k-tiles and its
  // residual tile where whole and aligned (the same test the epilogue makes).
#define PS_ISSUE(i)                                                                           \
  {                                                                                           \
    const int mi_ = (mfirst + (i) * q_) * BM, sl_ = (i) % STAGES;                              \
    const bool af_ = avec && mi_ + BM <= M;                                                   \
    for (int kt_ = 0; kt_ < nk; ++kt_)                                                        \
      ISSUE_OP(As[sl_ * NKP + kt_], BM, Ab, M, K, lda, af_, mi_, kt_ * BK)                    \
    PS_ISSUE_RES(mi_, sl_)                                                                    \
  }
#if RES_STAGE
#define PS_RSTAGED(mi) (res_ok && (mi) + BM <= M && ((obase + (size_t)(mi) * N + n0) * RES_BYTES) % 16 == 0)
#define PS_ISSUE_RES(mi, sl)                                                                  \
  if (PS_RSTAGED(mi)) {                                                                       \
    const size_t rt_ = obase + (size_t)(mi) * N + n0;                                         \
    TC_UNROLL for (int it_ = 0; it_ < BM * RCPR / NT; ++it_) {                                \
      const int idx_ = tid + it_ * NT, r_ = idx_ / RCPR, c_ = idx_ - r_ * RCPR;              \
      CP_ASYNC(&Rring[(sl) * BM * (RCPR + 1) + r_ * (RCPR + 1) + c_],                         \
               (__global const uint4*)(res + (rt_ + (size_t)r_ * N) * RES_BYTES) + c_);       \
    }                                                                                         \
  }
#else
#define PS_ISSUE_RES(mi, sl)
#endif
  // The column tile's B with the first row tile's copies (group 0), then STAGES - 2 more tiles.
  for (int kt = 0; kt < nk; ++kt) ISSUE_OP(Bs[kt], BN, Bb, N, K, ldb, bfull, n0, kt * BK)
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < ntiles) PS_ISSUE(s)
    CP_COMMIT();
  }
  for (int i = 0; i < ntiles; ++i) {
    // Tile i's group has landed (at most STAGES - 2 younger ones pending), and every thread is
    // past tile i - 1's epilogue: its ring slot and the staging are free again.
    CP_WAIT(STAGES - 2);
    WG_PROXY_FENCE();
    barrier(CLK_LOCAL_MEM_FENCE);
    if (i + STAGES - 1 < ntiles) PS_ISSUE(i + STAGES - 1)
    CP_COMMIT();
    const int m0 = (mfirst + i * q_) * BM, slot = i % STAGES;
    TC_UNROLL for (int i_ = 0; i_ < TM; ++i_) TC_UNROLL for (int j_ = 0; j_ < TN; ++j_)
        TC_UNROLL for (int q2_ = 0; q2_ < 4; ++q2_) acc[i_][j_][q2_] = 0;
    for (int kt = 0; kt < nk; ++kt) TILE_MMA(As[slot * NKP + kt], Bs[kt]);
    WG_DRAIN();
#if RES_STAGE
    const bool rstaged = PS_RSTAGED(m0);
    __local uint4* Rs = Rring + slot * BM * (RCPR + 1);
#endif
#include "tc_mm_epilogue.clh"
  }
#else  // !PERSIST
  const int m0 = (gid % mtiles) * BM, n0 = (gid / mtiles) * BN;
#if RES_STAGE
  // The block's residual tile (BM rows of BN elements, RES_BYTES each), copied by cp.async in
  // the first operand tiles' group when it is whole and its rows are 16-byte aligned; else the
  // epilogue reads the residual from global memory. The output may alias the residual: each
  // block reads its own tile before writing it.
  __local uint4 Rs[BM * (RCPR + 1)];
  const size_t rtile = obase + (size_t)m0 * N + n0;
  const bool rstaged = has_res && m0 + BM <= M && n0 + BN <= N && (N * RES_BYTES) % 16 == 0 &&
                       (rtile * RES_BYTES) % 16 == 0;
  if (rstaged) {
    TC_UNROLL for (int it_ = 0; it_ < BM * RCPR / NT; ++it_) {
      const int idx_ = tid + it_ * NT, r_ = idx_ / RCPR, c_ = idx_ - r_ * RCPR;
      CP_ASYNC(&Rs[r_ * (RCPR + 1) + c_],
               (__global const uint4*)(res + (rtile + (size_t)r_ * N) * RES_BYTES) + c_);
    }
  }
#endif
#if STAGES
  // Tile kt into ring slot s (ISSUE_OP).
  const bool afull = avec && m0 + BM <= M, bfull = bvec && n0 + BN <= N;
#define ISSUE(kt, s)                                                       \
  {                                                                        \
    ISSUE_OP(As[s], BM, Ab, M, K, lda, afull, m0, (klo + (kt)) * BK)         \
    ISSUE_OP(Bs[s], BN, Bb, N, K, ldb, bfull, n0, (klo + (kt)) * BK)         \
  }
  for (int s = 0; s < STAGES - 1 - LAG; ++s) {
    if (s < nk) ISSUE(s, s);
    CP_COMMIT();
  }
  for (int kt = 0; kt < nk; ++kt) {
    CP_WAIT(STAGES - 2 - LAG);
    WG_PROXY_FENCE();
    barrier(CLK_LOCAL_MEM_FENCE);
    const int nx = kt + STAGES - 1 - LAG;
    if (nx < nk) ISSUE(nx, nx % STAGES);
    CP_COMMIT();
    const int cur = kt % STAGES;
    TILE_MMA(As[cur], Bs[cur]);
  }
  WG_DRAIN();
#else
  uint4 ra[KM_IT(BM)], rb[KM_IT(BN)];
#define LOAD_A(k0) KM_LOAD(ra, BM, Ab, M, K, lda, avec, m0, k0)
#define STORE_A(buf) KM_STORE(As[buf], ra, BM)
#define LOAD_B(k0) KM_LOAD(rb, BN, Bb, N, K, ldb, bvec, n0, k0)
#define STORE_B(buf) KM_STORE(Bs[buf], rb, BN)
  LOAD_A(klo * BK);
  LOAD_B(klo * BK);
  STORE_A(0);
  STORE_B(0);
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int kt = 0; kt < nk; ++kt) {
    const int cur = kt & 1;
    if (kt + 1 < nk) {
      LOAD_A((klo + kt + 1) * BK);
      LOAD_B((klo + kt + 1) * BK);
    }
    TILE_MMA(As[cur], Bs[cur]);
    if (kt + 1 < nk) {
      STORE_A(cur ^ 1);
      STORE_B(cur ^ 1);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
#endif
  SPLIT_FIXUP(gid + bat * get_num_groups(0))

#include "tc_mm_epilogue.clh"
#endif  // PERSIST
}
#endif  // PINGPONG

// out[b] (C x R) = in[b] (R x C)^T for `batch` row-major matrices (grid dim 2): puts MatMul
// operands stored MN-major into the K-major layout tc_matmul reads.
__kernel __attribute__((reqd_work_group_size(32, 8, 1))) void tc_transpose(
    __global const elem_t* in, __global elem_t* out, long out_off, int R, int C) {
  __local elem_t tile[32][33];
  const int c0 = get_group_id(0) * 32, r0 = get_group_id(1) * 32;
  const int tx = get_local_id(0), ty = get_local_id(1);
  const size_t base = (size_t)get_group_id(2) * R * C;
  out += out_off;
  for (int j = ty; j < 32; j += 8) {
    const int r = r0 + j, c = c0 + tx;
    if (r < R && c < C) tile[j][tx] = in[base + (size_t)r * C + c];
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int j = ty; j < 32; j += 8) {
    const int c = c0 + j, r = r0 + tx;
    if (r < R && c < C) out[base + (size_t)c * R + r] = tile[tx][j];
  }
}

#else  // TC_CONV

#include "tc_conv.clh"

#endif
