// Helpers shared by the convolution, matmul and pooling tactics: the fused epilogue's build
// option, 2-D window geometry (auto_pad resolved per run), launch sizes and CLBlast status checks.
#pragma once

#include <clblast.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "clrt/core/kernel_codes.h"
#include "clrt/ir/layer_params.h"
#include "clrt/ir/limits.h"
#include "clrt/tactics/tactic.h"

namespace clrt::tactics {

// Channels-last global pooling (global_pool_hwc, gpool_i8_hwc): work-groups of
// GPOOL_HWC_LANES = 32 channels x GPOOL_HWC_ROWS = 8 rows (kernels/window.clh), one per image
// and chunk of 32 channels of x's [N, C, ...] dims.
constexpr size_t kGpoolHwcWG = 256;
// With `octets` (C a multiple of 8: global_pool_hwc8, gpool_i8_hwc8), work-groups of
// min(C / 8, 32) channel octets x rows instead, `parts` of them per image and octet chunk.
inline size_t gpoolHwcGlobalSize(const Dims& x, bool octets = false, int64_t parts = 1) {
  const int64_t lanes = octets ? std::min<int64_t>(x[1] / 8, 32) : 32;
  const int64_t units = octets ? x[1] / 8 : x[1];
  return static_cast<size_t>(x[0] * ((units + lanes - 1) / lanes) * parts) * kGpoolHwcWG;
}
// How many parts global_pool_hwc8 / gpool_i8_hwc8 split each image's positions into: one work-
// group per image and octet chunk leaves most of a GPU idle where the batch is small next to
// the compute units (EfficientNet-B0's first squeeze-and-excitation pool at batch 64: 64
// work-groups of 3136 positions, ~0.5 TB/s on the H200), so parts fill about kGpoolWaves
// work-groups a compute unit, each work-item still reading at least 4 positions. A second
// kernel (..._end) then combines the parts from the workspace (gpoolHwc8Workspace bytes).
// `forced` > 0 (CLRT_GPOOL_PARTS, for tests on CPU devices) sets the count instead.
inline constexpr int64_t kGpoolWaves = 4;
inline int64_t gpoolHwc8Parts(const Dims& x, int computeUnits, int forced) {
  const int64_t N = x[0], C = x[1];
  if (N <= 0 || C <= 0) return 1;
  const int64_t HW = volume(x) / (N * C);
  if (forced > 0) return std::max<int64_t>(1, std::min<int64_t>(forced, HW));
  const int64_t lanes = std::min<int64_t>(C / 8, 32),
                rows = static_cast<int64_t>(kGpoolHwcWG) / lanes;
  const int64_t groups = N * ((C / 8 + lanes - 1) / lanes);
  const int64_t want = (kGpoolWaves * computeUnits + groups - 1) / groups;
  return std::max<int64_t>(1, std::min(want, HW / (4 * rows)));
}
inline size_t gpoolHwc8Workspace(const Dims& x, int64_t parts) {
  return parts > 1 ? static_cast<size_t>(2 * x[0] * parts * x[1]) * 4 : 0;
}
// The same for a channels-last global pooling layer's input dims (none unless C % 8 == 0).
inline size_t gpoolHwc8Workspace(const std::vector<Dims>& in, int computeUnits, int forced) {
  if (in.empty() || in[0].size() < 3 || in[0][1] % 8) return 0;
  return gpoolHwc8Workspace(in[0], gpoolHwc8Parts(in[0], computeUnits, forced));
}
// CLRT_GPOOL_PARTS as a number (0 when unset): read once per kernel, when it is made.
inline int gpoolPartsOverride() {
  const char* e = std::getenv("CLRT_GPOOL_PARTS");
  return e ? std::atoi(e) : 0;
}
// Channels-last depthwise convolutions with C a multiple of kDepthwiseVec (conv_depthwise_hwc8,
// conv_i8_depthwise_hwc8; also the pooling's pool2d_hwc8): a work-item per kDepthwiseVec
// channels of an output pixel, the channel octet fastest, in work-groups of kDepthwiseWg along
// dim 0; dim 1 is image * OH + output row.
inline constexpr int64_t kDepthwiseVec = 8;
inline constexpr size_t kDepthwiseWg = 64;
inline std::vector<size_t> depthwiseVecGrid(int64_t C, int64_t OW, int64_t NOH) {
  const size_t n = static_cast<size_t>(C / kDepthwiseVec * OW);
  return {(n + kDepthwiseWg - 1) / kDepthwiseWg * kDepthwiseWg, static_cast<size_t>(NOH)};
}
// Whether depthwise layer l (C channels) runs the kDepthwiseVec-channel kernels: its input,
// output and any residual channels last, C a multiple of kDepthwiseVec.
inline bool depthwiseVec(const ir::Layer& l, int64_t C) {
  const bool res = l.inputs.size() > 1 && l.inputs[1] >= 0;
  return channelsLastIn(l, 0) && channelsLastOut(l, 0) && (!res || channelsLastIn(l, 1)) &&
         C % kDepthwiseVec == 0;
}
// Depthwise weights [C][1][kh][kw] (C * taps floats) as [taps][C], for per-tap vector loads.
inline std::vector<float> tapMajor(const std::vector<float>& w, int64_t C) {
  const size_t c = static_cast<size_t>(C), taps = w.size() / c;
  std::vector<float> t(w.size());
  for (size_t k = 0; k < c; ++k)
    for (size_t r = 0; r < taps; ++r) t[r * c + k] = w[k * taps + r];
  return t;
}

// The fused epilogue (ir/layer_params.h) and the build option ACT of its program.
// Build options of the program: one program per file and activation, never per shape.
inline std::string epilogueOptions(const ir::EpilogueParams& e) {
  return "-DACT=" + std::to_string(e.act);
}
// The epilogue as the kernels run it. No activation, RELU and CLIP are one program: CLIP's
// clamp with its bounds as run-time arguments (-inf/inf, 0/inf, or the clip's own), the same
// values bit for bit (NaN passes through all three), so that a network's plain, ReLU and
// ReLU6 layers share a program instead of compiling one each (each costs about a second on
// NVIDIA's compiler; ResNet-50 has both plain and ReLU convolutions of every tile).
inline ir::EpilogueParams kernelEpilogue(const ir::EpilogueParams& e) {
  static const int relu = findActivation("RELU")->code, clip = findActivation("CLIP")->code;
  constexpr float inf = std::numeric_limits<float>::infinity();
  ir::EpilogueParams k = e;
  if (e.act == 0) k = {clip, -inf, inf};
  if (e.act == relu) k = {clip, 0.0f, inf};
  return k;
}
// Whether the epilogue leaves values as they are (no activation, or a clamp to +-inf).
inline bool identityEpilogue(const ir::EpilogueParams& e) {
  static const int clip = findActivation("CLIP")->code;
  constexpr float inf = std::numeric_limits<float>::infinity();
  return e.act == 0 || (e.act == clip && e.alpha == -inf && e.beta == inf);
}
struct Epilogue : ir::EpilogueParams {
  Epilogue() = default;
  explicit Epilogue(const ir::EpilogueParams& p) : ir::EpilogueParams(kernelEpilogue(p)) {}
  std::string options() const { return epilogueOptions(*this); }
};

using ir::Window2d;

struct Pads {
  int64_t t = 0, l = 0, b = 0, r = 0;
};

// {begin, end} pads of one axis under SAME_UPPER (`upper`: the extra pad goes at the end) or
// SAME_LOWER, from the run's input and output sizes.
inline std::pair<int64_t, int64_t> samePads(int64_t in, int64_t out, int64_t s, int64_t k,
                                            int64_t d, bool upper) {
  const int64_t total = std::max<int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in);
  const int64_t begin = upper ? total / 2 : total - total / 2;
  return {begin, total - begin};
}

// Pads for one run: explicit ones, or SAME_* computed from the runtime input and output sizes.
inline Pads resolvePads(const Window2d& w, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  if (w.auto_pad == "VALID") return {};
  if (w.auto_pad == "NOTSET") return {w.pads[0], w.pads[1], w.pads[2], w.pads[3]};
  const bool upper = w.auto_pad == "SAME_UPPER";
  Pads p;
  std::tie(p.t, p.b) = samePads(H, OH, w.sh, w.kh, w.dh, upper);
  std::tie(p.l, p.r) = samePads(W, OW, w.sw, w.kw, w.dw, upper);
  return p;
}

// {H, W} of an [N, C, H, W] or [N, C, W] tensor.
inline std::pair<int64_t, int64_t> spatialHW(const Dims& d) {
  if (d.size() == 4) return {d[2], d[3]};
  if (d.size() == 3) return {1, d[2]};
  return {-1, -1};
}

// A dimension or element count as a kernel int; refuses what 32-bit indexing cannot reach.
inline cl_int kint(int64_t v, const std::string& layer) {
  CLRT_CHECK(v >= 0 && v < INT_MAX, kUnsupported, "layer '", layer, "': size ", v,
             " exceeds the 2^31-1 the OpenCL kernels index");
  return static_cast<cl_int>(v);
}

// A window over [.., D, H, W]: same layout as WinPack in kernels/window.clh, {D, H, W} per
// field, lower ranks padded in front.
struct WinPack {
  cl_int in[3] = {1, 1, 1};
  cl_int out[3] = {1, 1, 1};
  cl_int k[3] = {1, 1, 1};
  cl_int s[3] = {1, 1, 1};
  cl_int d[3] = {1, 1, 1};
  cl_int pb[3] = {0, 0, 0};  // begin pads
  cl_int pe[3] = {0, 0, 0};  // end pads
};

// Slot j of g: one axis of a run's window; pads pb, pe unless auto_pad (VALID, SAME_*) sets them.
inline void setWinAxis(WinPack* g, size_t j, int64_t in, int64_t out, int64_t k, int64_t s,
                       int64_t d, int64_t pb, int64_t pe, const std::string& auto_pad,
                       const std::string& layer) {
  if (auto_pad == "VALID") pb = pe = 0;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER")
    std::tie(pb, pe) = samePads(in, out, s, k, d, auto_pad == "SAME_UPPER");
  g->in[j] = kint(in, layer);
  g->out[j] = kint(out, layer);
  g->k[j] = kint(k, layer);
  g->s[j] = kint(s, layer);
  g->d[j] = kint(d, layer);
  g->pb[j] = kint(pb, layer);
  g->pe[j] = kint(pe, layer);
}

// A conv layer as the conv tactics read it (ir::ConvParams, the epilogue with its build option).
struct ConvGeom {
  std::string layer;
  int64_t K = 0, Cg = 0, G = 1;
  Window2d win;
  Epilogue ep;
  bool has_bias = false;
};
// False when ir::convParams refuses the layer.
inline bool readConvGeom(const ir::Layer& l, ConvGeom* g) {
  const std::optional<ir::ConvParams> p = ir::convParams(l);
  if (!p) return false;
  g->layer = l.name;
  g->K = p->K, g->Cg = p->Cg, g->G = p->G;
  g->win = p->win;
  g->ep = Epilogue(p->ep);
  g->has_bias = p->has_bias;
  return true;
}

// A 1x1 window of stride 1 with no padding (every auto_pad mode gives none there): a GEMM
// over the channels.
inline bool isPlain1x1(const Window2d& w) {
  const bool unpadded = w.auto_pad != "NOTSET" ||
                        (w.pads[0] == 0 && w.pads[1] == 0 && w.pads[2] == 0 && w.pads[3] == 0);
  return w.kh == 1 && w.kw == 1 && w.sh == 1 && w.sw == 1 && unpadded;
}

// The sizes of one convolution run from its input/output dims ([N,C,H,W], or [N,C,W] for a
// 1-D kernel), checked against K filters of Cg channels in G groups; pads resolved.
struct ConvShape {
  int64_t N = 0, C = 0, H = 0, W = 0, OH = 0, OW = 0;
  Pads p;
};
inline bool convRankFits(const Window2d& win, size_t rank) {
  return rank == 4 || (rank == 3 && win.kh == 1);
}
inline ConvShape convShape(const Dims& x, const Dims& y, int64_t K, int64_t Cg, int64_t G,
                           const Window2d& win, const std::string& layer) {
  CLRT_CHECK(convRankFits(win, x.size()) && y.size() == x.size(), kRuntime, "conv layer '", layer,
             "': input ", dimsToString(x), " and output ", dimsToString(y),
             " must both be [N,C,H,W], or [N,C,W] for a 1-D kernel");
  ConvShape r;
  r.N = x[0];
  r.C = x[1];
  std::tie(r.H, r.W) = spatialHW(x);
  std::tie(r.OH, r.OW) = spatialHW(y);
  CLRT_CHECK(r.C == Cg * G && y[0] == r.N && y[1] == K, kRuntime, "conv layer '", layer,
             "': input ", dimsToString(x), " / output ", dimsToString(y), " do not match ", K,
             " filters of ", Cg, " channels in ", G, " groups");
  r.p = resolvePads(win, r.H, r.W, r.OH, r.OW);
  kint(volume(x), layer);
  kint(volume(y), layer);
  return r;
}

// The bytes of a device buffer (to check a workspace before writing into it).
inline size_t bufferBytes(cl_mem m) {
  size_t n = 0;
  if (m) ocl::check(clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof n, &n, nullptr), "CL_MEM_SIZE");
  return n;
}

// conv.direct and conv.int8_direct read a zero-padded float copy of their input (conv.cl's
// conv_pad, int8_conv.cl's conv_i8_pad) from the workspace, as many images at a time as fit
// kChunkBytes (at least one): the copy stays small and, on CPUs, in cache. Each padded plane
// holds every input the work-items' taps reach: rows() x cols() floats from (-pad top, -pad
// left). `pb`: output columns a work-item computes (CONV_PB).
struct PaddedConvInput {
  static constexpr uint64_t kChunkBytes = uint64_t{32} << 20;
  Window2d win;
  int64_t pb = 8;
  // FLOAT input: where the padded copy would equal the input (no pads, and the taps reach
  // exactly its rows and columns: 1x1 stride-1 layers whose width is a multiple of pb), the conv
  // reads the input itself. The workspace is still asked for: at the largest profile shapes it
  // then covers any smaller shape, in place or not (a plan's workspace is sized there).
  bool float_input = false;
  bool gpu = false;  // conv_pad's work-items: a padded column each on GPUs, a whole row on CPUs

  int64_t rows(int64_t OH) const { return (OH - 1) * win.sh + (win.kh - 1) * win.dh + 1; }
  int64_t cols(int64_t OW) const {
    return ((OW + pb - 1) / pb * pb - 1) * win.sw + (win.kw - 1) * win.dw + 1;
  }
  uint64_t imageBytes(int64_t C, int64_t OH, int64_t OW) const {
    return ir::hostBytes({C, rows(OH), cols(OW)}, DataType::kFLOAT);
  }
  static int64_t imagesPerChunk(uint64_t img) {
    return static_cast<int64_t>(std::max<uint64_t>(1, kChunkBytes / std::max<uint64_t>(img, 1)));
  }
  bool inPlace(int64_t H, int64_t W, int64_t OH, int64_t OW) const {
    if (!float_input || rows(OH) != H || cols(OW) != W) return false;
    const Pads p = resolvePads(win, H, W, OH, OW);
    return p.t == 0 && p.l == 0;
  }
  // The workspace for input dims in[0] and output dims out[0]: 0 while they are unknown.
  size_t workspaceSize(const std::vector<Dims>& in, const std::vector<Dims>& out) const {
    if (in.empty() || out.empty() || in[0].size() < 2 || in[0][0] < 0 || in[0][1] < 0) return 0;
    const auto [OH, OW] = spatialHW(out[0]);
    if (OH < 0 || OW < 0) return 0;
    const uint64_t img = imageBytes(in[0][1], OH, OW);
    return static_cast<size_t>(
        img * std::clamp<int64_t>(imagesPerChunk(img), 1, std::max<int64_t>(in[0][0], 1)));
  }
  // Pads the images of run r (input x) chunk by chunk into workspace ws with `pad` (arguments x,
  // ws, C, H, W, Hp, Wp, pt, pl, n0, cpi) and calls conv(ws, n0, images, Hp, Wp) after each: its
  // launch reads them. In place (inPlace): one conv(x, 0, N, H, W).
  template <typename Conv>
  void run(cl_command_queue q, cl_kernel pad, const ConvShape& r, cl_mem x, cl_mem ws,
           const std::string& layer, Conv&& conv) const {
    if (inPlace(r.H, r.W, r.OH, r.OW)) {
      conv(x, int64_t{0}, r.N, r.H, r.W);
      return;
    }
    const uint64_t img = imageBytes(r.C, r.OH, r.OW);
    const size_t have = ws ? bufferBytes(ws) : 0;
    CLRT_CHECK(have >= img, kRuntime, "conv layer '", layer, "': the direct conv needs ", img,
               " bytes of workspace per image, got ", have);
    const int64_t Hp = rows(r.OH), Wp = cols(r.OW), cpi = gpu ? 1 : Wp;
    kint(r.C * Hp * Wp, layer);
    const int64_t chunk = std::min<int64_t>({r.N, imagesPerChunk(img), int64_t(have / img)});
    for (int64_t n0 = 0; n0 < r.N; n0 += chunk) {
      const int64_t images = std::min(chunk, r.N - n0);
      ocl::setArgs(pad, x, ws, kint(r.C, layer), kint(r.H, layer), kint(r.W, layer),
                   kint(Hp, layer), kint(Wp, layer), kint(r.p.t, layer), kint(r.p.l, layer),
                   kint(n0, layer), kint(cpi, layer));
      ocl::launch(
          q, pad,
          {gsize(kint(Hp * ((Wp + cpi - 1) / cpi), layer)), gsize(kint(images * r.C, layer))}, {});
      conv(ws, n0, images, Hp, Wp);
    }
  }
};

// Runs one CLBlast call under a process-wide lock: CLBlast's kernel database and program caches
// are shared by every thread, and two builds timing GEMMs at once corrupted them (ASan: heap
// use-after-free inside CLBlast). The calls only enqueue, so the lock is held briefly.
inline std::mutex& blasMutex() {
  static std::mutex mu;
  return mu;
}
template <typename Call>
void callBlas(const std::string& layer, const char* routine, Call&& call) {
  clblast::StatusCode s;
  {
    std::lock_guard<std::mutex> lock(blasMutex());
    s = call();
  }
  CLRT_CHECK(s == clblast::StatusCode::kSuccess, kDevice, "layer '", layer, "': CLBlast ", routine,
             " failed with status ", static_cast<int>(s));
}

inline bool isFloat(const ir::TensorInfo& t) { return t.dtype == DataType::kFLOAT; }

inline void requireFloat(const DeviceTensor& t, const std::string& layer, const char* what) {
  CLRT_CHECK(t.dtype == DataType::kFLOAT, kUnsupported, "layer '", layer, "': ", what, " is ",
             dtypeName(t.dtype), "; this tactic runs FLOAT only");
  CLRT_CHECK(t.buf != nullptr, kRuntime, "layer '", layer, "': ", what, " has no device buffer");
}

// ---- Float storage under the precision contract (ir/network.h) ----
// The storage of a layer's float activations: HALF for an FP16 layer (half storage, float
// arithmetic), FLOAT for an FP32 one; nullopt for a precision these kernels do not run (INT8).
inline std::optional<DataType> floatStorage(const ir::Layer& l) {
  const DataType p = layerPrecision(l);
  if (p == DataType::kFLOAT || p == DataType::kHALF) return p;
  return std::nullopt;
}

// Whether input i is stored as `st`: the builder's in_dtypes when set, else the tensor's dtype.
inline bool storedAs(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, size_t i,
                     DataType st) {
  return i < in.size() && inputDtype(l, i, in[i].dtype) == st;
}

// The build option of a .cl file's half-storage variant ("" keeps the FP32 program).
inline std::string storageOption(DataType st) {
  return st == DataType::kHALF ? " -DSTORAGE_HALF" : "";
}

inline void requireStorage(const DeviceTensor& t, DataType st, const std::string& layer,
                           const char* what) {
  CLRT_CHECK(t.dtype == st, kUnsupported, "layer '", layer, "': ", what, " is ", dtypeName(t.dtype),
             "; this tactic was built for ", dtypeName(st), " storage");
  CLRT_CHECK(t.buf != nullptr, kRuntime, "layer '", layer, "': ", what, " has no device buffer");
}

}  // namespace clrt::tactics
