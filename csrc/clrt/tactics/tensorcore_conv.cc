// conv.tc_fp16 / conv.tc_int8 / conv.tc_tf32: implicit-GEMM convolution on NVIDIA tensor cores
// (tc_conv of kernels/tc_gemm.cl), one GEMM per group (group 1, and grouped convolutions that are
// not depthwise), any kernel size/stride/dilation/pads, fused epilogue.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <mutex>
#include <tuple>

#include "clrt/tactics/tensorcore_common.h"

namespace clrt::tactics::tc {
namespace {

struct Spec {
  std::string layer;
  int64_t K = 0, C = 0, R = 1, S = 1;  // K: output channels of all groups; C: of one group
  int64_t G = 1;
  Window2d win;
  Epilogue ep;
  bool has_bias = false;
  Mma mma = Mma::kF16;
  DataType in_dt = DataType::kHALF, res_dt = DataType::kHALF, out_dt = DataType::kHALF;
  float in_scale = 0, res_scale = 0, out_scale = 0;
};

// Grouped convolutions whose groups make GEMMs of at least this many output channels and
// reduction length: below, the 16-row mma tiles and 64-long padded reductions are mostly zeros
// (depthwise layers have their own kernels).
constexpr int64_t kMinGroupRows = 16, kMinGroupReduction = 32;

// False when the layer is outside what tc_conv runs (group 1 or groups big enough, 1-D/2-D,
// known activation, the storage dtypes/scales of its precision).
bool readSpec(const ir::Layer& l, Mma mma, Spec* s) {
  const std::optional<ir::ConvParams> p = ir::convParams(l);
  if (!p || p->G < 1 || p->K % p->G != 0) return false;
  if (p->G > 1 &&
      (p->K / p->G < kMinGroupRows || p->Cg * p->win.kh * p->win.kw < kMinGroupReduction))
    return false;
  const bool int8 = mma == Mma::kS8;
  s->layer = l.name;
  s->mma = mma;
  s->K = p->K;
  s->C = p->Cg;
  s->G = p->G;
  s->win = p->win;
  s->R = p->win.kh;
  s->S = p->win.kw;
  s->ep = Epilogue(p->ep);
  s->has_bias = p->has_bias;
  const DataType st = precisionOf(mma);
  s->in_dt = inputDtype(l, 0, st);
  s->res_dt = inputDtype(l, 1, st);
  s->out_dt = outputDtype(l, 0, int8 ? DataType::kFLOAT : st);
  s->in_scale = inputScale(l, 0);
  s->res_scale = inputScale(l, 1);
  s->out_scale = outputScale(l, 0);
  if (s->in_dt != st || dtCode(s->out_dt) < 0 || dtCode(s->res_dt) < 0) return false;
  if (int8 && !(s->in_scale > 0)) return false;
  if (s->out_dt == DataType::kINT8 && !(s->out_scale > 0)) return false;
  const bool has_res = l.inputs.size() > 1 && l.inputs[1] >= 0;
  if (has_res && s->res_dt == DataType::kINT8 && !(s->res_scale > 0)) return false;
  // FP16 layers write half, FP32 layers float, or INT8 where the builder narrows their output
  // (the contract); INT8 layers may dequantize.
  if (!int8 && s->out_dt != st && s->out_dt != DataType::kINT8) return false;
  return true;
}

// Block tiles (output channels x pixels), each a tactic the builder times per layer:
// 64 x 128 in 4 warps of 64 x 32 (the default: on an H100, ResNet-50 batch 32, as fast as
// 128 x 128 on the large layers and up to 2x faster on the rest); 64 x 64 in 4 warps of 32 x 32
// (H200, ResNet-50 FP32 batch 64 with TF32: 14.6 ms against 17.4 with 64 x 128 alone, the
// small late layers filling the GPU better); 128 x 256 in 8 warps of 64 x 64 (16.6 ms there:
// the wide early layers).
// Each tactic also names the tc_matmul tile its channels-last 1x1 convolutions run on (the GEMM
// form below), so that timing picks that tile per layer too. H200, INT8 output, ResNet-50
// batch 64 shapes (benchmarks/tc_gemm_harness.cc, RESULTS.md): 128 x 128 with 128-byte rows
// and 3 stages (kGemmTile) for deep reductions; 64-byte rows for K = 64 (layer1's conv3 with
// its residual: 0.148 ms against 0.230, half of kGemmTile's 128-deep tile being zeros there);
// 128 x 64 in two warps when there are 64 output channels (layer1's conv1: 0.059 ms against
// 0.116).
struct Tile {
  const char* suffix;
  Config cfg;
  Config gemm;
  bool s2d = false;      // the space-to-depth form of a stride-2 layer over few channels (S2d)
  bool persist = false;  // 1x1 layers of short reductions only, on the persistent GEMM (Persist)
};
// Hopper warpgroup tiles (Config::wgmma): 128 x 256 (two warpgroups) and 64 x 128 (one, for
// 64-channel layers), 1x1 layers on kWgTile64x128 / kWgTile64 (short reductions: more blocks
// an SM). They need tc_conv's cp.async ring (a channels-last input whose C fills 64-byte
// segments); other layers run on the default tile.
constexpr Tile kTiles[] = {{"", Config{64, 128, 1, 4}, kGemmTile},
                           {"_64x64", Config{64, 64, 2, 2}, Config{128, 64, 2, 1, 4, 2}},
                           {"_128x256", Config{128, 256, 2, 4}, Config{128, 128, 2, 2, 4, 3}},
                           {"_wg", kWgTile, kWgTile64x128},
                           {"_wg64", Config{64, 128, 4, 1, 8, 4, true}, kWgTile64},
                           {"_s2d", Config{64, 128, 1, 4}, kGemmTile, true},
                           {"_s2d_wg", Config{64, 128, 4, 1, 8, 4, true}, kWgTile64, true},
                           {"_wgp", kWgTile, kWgTile64x128, false, true},
                           {"_wgpp", kWgTile, kPingPongTile}};

// The persistent form of a channels-last 1x1 layer's GEMM (tc_matmul PERSIST): a few blocks an
// SM, each holding one column tile's weights (the whole reduction) in local memory and walking
// its row tiles with the next tiles' pixels (and residual) copied ahead into a ring, for
// reductions of at most kPersistMaxBytes (ResNet-50's layer1 and layer2 1x1 layers in INT8),
// where a block per tile waits for memory, multiplies once and writes, its loads idle meanwhile.
constexpr int64_t kPersistMaxBytes = 256;
// Local memory a block may take so that two share an SM (Hopper: 228 KiB, 1 KiB per block kept).
constexpr int64_t kPersistLocalBytes = 113 << 10;
constexpr int kPersistBlocksPerCu = 2;

// A 1x1 layer's persistent GEMM: the tile (64 x 128 in one warpgroup, no multiply in flight),
// its k-tiles held (NKP), ring stages and epilogue rows a pass, chosen to fit
// kPersistLocalBytes; nkp 0 where none fits.
struct Persist {
  Config cfg;
  int nkp = 0, ep_rows = 0;
};
Persist persistForm(const Config& base, int64_t C, Mma mma, DataType res_dt, bool has_res) {
  Persist f;
  f.cfg = base;
  f.cfg.wg_async = false;
  const int64_t kb = C * elemBytes(mma);
  if (kb > kPersistMaxBytes) return f;
  f.cfg.kch = kb <= 64 ? 4 : 8;
  const int64_t row = f.cfg.kch * 16, nkp = (kb + row - 1) / row;
  const int64_t bm = f.cfg.bm, bn = f.cfg.bn;
  // Each ring slot's residual tile (rows padded by 16 bytes, as tc_gemm.cl's RROW).
  const int64_t res_stage = has_res ? bm * (bn * static_cast<int64_t>(dtypeSize(res_dt)) + 16) : 0;
  const std::pair<int, int> order[] = {{4, 1}, {3, 1}, {4, 2}, {3, 2}, {2, 1},
                                       {4, 4}, {3, 4}, {2, 2}, {2, 4}};
  for (const auto& [stages, div] : order) {
    const int64_t ep = bm / div;
    const int64_t bytes =
        nkp * bn * row + stages * (nkp * bm * row + res_stage) + ep * (bn + 4) * 4 + 1024;
    if (bytes <= kPersistLocalBytes) {
      f.cfg.stages = stages;
      f.nkp = static_cast<int>(nkp);
      f.ep_rows = static_cast<int>(ep);
      return f;
    }
  }
  return f;
}

// Whether the builder offers the persistent form unasked: on Hopper unless CLRT_TC_PERSIST=0 (a
// tactic filter that names it runs it either way). H100, INT8 output, against the tiles the
// other tactics run (benchmarks/RESULTS.md, session 35): 50176 x 512 x 128 + residual 0.0604 ms
// against 0.0698, 12544 x 1024 x 256 + residual 0.0391 against 0.0407, 200704 x 256 x 64 +
// residual 0.1097 against 0.1112; ResNet-50 INT8 at batch 64 2.84 ms with it offered, 2.90
// without (bench_torch.py, the same machine).
bool persistOffered() {
  const char* v = std::getenv("CLRT_TC_PERSIST");
  return !(v && *v == '0');
}

// Whether `s` is a 1x1 convolution of one group, stride 1 and no pads: a GEMM over pixels when
// its tensors are channels last.
bool plain1x1(const Spec& s) {
  const Window2d& w = s.win;
  return s.R == 1 && s.S == 1 && s.G == 1 && w.sh == 1 && w.sw == 1 &&
         std::all_of(std::begin(w.pads), std::end(w.pads), [](int64_t v) { return v == 0; });
}

// Whether `s` is a 1x1 layer the persistent GEMM may run: FP16 or INT8, plain1x1, a reduction
// of at most kPersistMaxBytes.
bool persistFits(const Spec& s) {
  return s.mma != Mma::kTF32 && plain1x1(s) && s.C * elemBytes(s.mma) <= kPersistMaxBytes;
}

// Whether `s` is a 1x1 layer the ping-pong GEMM may run: FP16 or INT8, plain1x1, pixel rows of
// whole 16-byte chunks (its copies).
bool pingpongFits(const Spec& s) {
  return s.mma != Mma::kTF32 && plain1x1(s) && (s.C * elemBytes(s.mma)) % 16 == 0;
}

// A stride-2 convolution over few input channels (a stem: 7 x 7 / 2 over 3) in its
// space-to-depth form: the input folded 2 x 2 into 4 * C channels (zero padded to whole 16-byte
// chunks, Cp) by tc_s2d_pack into the workspace, channels last with the pads built in, then
// convolved with stride 1 and no pads by a kernel of ceil((k + pad parity) / 2) taps a side
// whose weights are the original ones rearranged (zeros where a folded tap has none). The
// gather then copies whole 16-byte chunks through tc_conv's ring (CRUN chunks a tap), where the
// direct form walks 3-channel taps an element at a time.
struct S2d {
  bool on = false;
  int64_t C = 0, Cp = 0, R = 0, S = 0;  // the layer's C; the folded C, rows and columns of taps
  int64_t at = 0, al = 0;               // the top and left pads' parity: the taps' shift
  int64_t pt2 = 0, pl2 = 0;             // the pads rounded up to even
};

// Whether `s` (the layer's spec) has a space-to-depth form: one group, stride 2 x 2, no dilation,
// pads known at build time, at most 4 input channels, a kernel of at least 3 x 3.
bool s2dFits(const Spec& s) {
  const Window2d& w = s.win;
  return s.G == 1 && w.sh == 2 && w.sw == 2 && w.dh == 1 && w.dw == 1 &&
         (w.auto_pad == "NOTSET" || w.auto_pad == "VALID") && s.C <= 4 && s.R >= 3 && s.S >= 3;
}

S2d s2dForm(const Spec& s) {
  S2d f;
  f.on = true;
  const bool valid = s.win.auto_pad == "VALID";
  const int64_t pt = valid ? 0 : s.win.pads[0], pl = valid ? 0 : s.win.pads[1];
  f.C = s.C;
  f.Cp = roundUp(4 * s.C, 16 / elemBytes(s.mma));
  f.at = pt & 1;
  f.al = pl & 1;
  f.pt2 = pt + f.at;
  f.pl2 = pl + f.al;
  f.R = (s.R + f.at + 1) / 2;
  f.S = (s.S + f.al + 1) / 2;
  return f;
}

// Chunks of a run in the ring for `f`'s folded channels (tc_gemm.cl CRUN): the largest of 4, 2
// and 1 that divides the chunks of one tap.
int s2dRunChunks(const S2d& f, Mma mma) {
  const int64_t cc = f.Cp * elemBytes(mma) / 16;
  return cc % 4 == 0 ? 4 : cc % 2 == 0 ? 2 : 1;
}

constexpr int kStages = 3;

// 16-byte chunks per staged row of tc_conv's cp.async ring (-DKCH): 4 (64-byte rows, two
// k-steps per barrier), or 8 on tiles whose three 128-byte-row stages stay within 72 KiB of
// local memory (64 x 128, 64 x 64), with CLRT_TC_CONV_KCH=8, to compare on one device.
int ringRowChunks(const Config& c) {
  const char* v = std::getenv("CLRT_TC_CONV_KCH");
  const bool wide = v && std::strcmp(v, "8") == 0 && c.bm + c.bn <= 192;
  return wide ? 8 : 4;
}

// How channels-last 1x1 convolutions run, CLRT_TC_CONV_GEMM (to compare on one device): "0"
// as tc_conv, "small" through tc_matmul on kSmallGemmTile, else on the tactic's GEMM tile.
enum class GemmForm { kOff, kBig, kSmall };
GemmForm gemmForm() {
  const char* v = std::getenv("CLRT_TC_CONV_GEMM");
  if (v && std::strcmp(v, "0") == 0) return GemmForm::kOff;
  if (v && std::strcmp(v, "small") == 0) return GemmForm::kSmall;
  return GemmForm::kBig;
}

// Whether tc_conv's ring gathers its input through L1 (cp.async.ca, CONV_CA) instead of L2
// alone (.cg): the windows of neighbouring pixels overlap (a 3 x 3 layer reads each input pixel
// 9 times), and L1 serves the repeats where the tile's ring leaves it room, up to 64 KiB of
// rings. H100, ResNet-50 INT8 at batch 64 (benchmarks/RESULTS.md): the space-to-depth stem
// 0.235 -> 0.166 ms and layer1's 3 x 3 layers 0.081 -> 0.062 on the 64 x 128 mma.sync tile
// (36 KiB), but the 128 x 256 warpgroup tile's 3 x 3 layers (192 KiB of rings) 5-10% slower.
// CLRT_TC_CONV_CA=0 / 1 forces it off / on, to compare on one device.
bool gatherThroughL1(const Config& c) {
  const char* v = std::getenv("CLRT_TC_CONV_CA");
  if (v && (*v == '0' || *v == '1')) return *v == '1';
  return c.stages * (c.bm + c.bn) * c.kch * 16 <= (64 << 10);
}

class TcConvKernel : public Kernel {
 public:
  TcConvKernel(const ir::Layer& l, ocl::Device& dev, Mma mma, const Config& tile,
               const Config& gemm_tile, bool s2d, bool persist) {
    CLRT_CHECK(readSpec(l, mma, &s_), kBuild, "convolution layer '", l.name,
               "' has weights/attributes conv.tc_", suffix(mma), " does not support");
    const std::vector<float> w = l.weights.at("kernel").asFloats();
    std::vector<float> wt;
    if (s2d) {
      CLRT_CHECK(s2dFits(s_), kBuild, "convolution layer '", l.name,
                 "' has no space-to-depth form (one group, stride 2, at most 4 channels)");
      s2d_ = s2dForm(s_);
      wt = s2dWeights(w);
      // From here on the layer is the folded one: stride 1, no pads, over the packed image.
      s_.C = s2d_.Cp;
      s_.R = s2d_.R;
      s_.S = s2d_.S;
      s_.win = Window2d{s2d_.R, s2d_.S, 1, 1, 1, 1, {0, 0, 0, 0}, "NOTSET"};
    }
    cfg_ = runTile(tile, dev.info());
    split_ = splitPolicy(dev.info());
    pp_blocks_ = pingpongBlocks(dev.info());
    // A channels-last input whose channels fill 64-byte segments is staged by cp.async in a
    // 3-tile ring (rows of ringRowChunks) instead of gathered through registers; so is the
    // space-to-depth form's packed image, in runs of fewer chunks where a tap has fewer.
    const bool ring = s2d_.on || (channelsLastIn(l, 0) && s_.C % (64 / elemBytes(mma)) == 0);
    if (cfg_.wgmma && !(ring && (s2d_.on || s_.C % cfg_.gatherRun(mma) == 0)))
      cfg_ = runTile(kTiles[0].cfg, dev.info());  // the warpgroup tiles read the ring only
    if (ring && !cfg_.wgmma) {
      cfg_.stages = kStages;
      cfg_.kch = ringRowChunks(cfg_);
    }
    ktot_ = s_.C * s_.R * s_.S;
    // Whole k-tiles of weights (zeros past Ktot): 64 elements, or a 128-byte INT8 row's 128.
    kpad_ = roundUp(ktot_, std::max<int64_t>(64, cfg_.kch * 16 / elemBytes(mma)));
    const int64_t kg = s_.K / s_.G, mrows = roundUp(kg, cfg_.bm);
    // Weights as [K][(r * S + s) * C + c]: the kernel's tap-major reduction order; each group's
    // rows then packed as its own zero-padded [mrows][kpad] matrix.
    if (!s2d_.on) {
      wt.assign(static_cast<size_t>(s_.K * ktot_), 0.0f);
      for (int64_t m = 0; m < s_.K; ++m)
        for (int64_t c = 0; c < s_.C; ++c)
          for (int64_t rs = 0; rs < s_.R * s_.S; ++rs)
            wt[static_cast<size_t>(m * ktot_ + rs * s_.C + c)] =
                w[static_cast<size_t>((m * s_.C + c) * s_.R * s_.S + rs)];
    }
    std::vector<float> scales;
    weights_ = ocl::MemHandle(
        upload(dev, packWeights(mma, wt, kg, ktot_, mrows, kpad_, l.name, &scales, s_.G)));
    if (mma == Mma::kS8) svec_ = ocl::MemHandle(uploadFloats(dev, scales));
    if (s_.has_bias) bias_ = ocl::MemHandle(uploadWeights(dev, l.weights.at("bias")));
    // A 1x1 convolution (stride 1, no padding, one group) from and to channels-last tensors is
    // the GEMM Y[pixel][K] = X[pixel][C] * W[K][C]^T: tc_matmul's kernel and tile run it, with
    // these packed weights as B ([K][Kpad], rows past K never read).
    const Window2d& win = s_.win;
    gemm_ = plain1x1(s_) && channelsLastIn(l, 0) && channelsLastOut(l, 0) &&
            (l.inputs.size() < 2 || l.inputs[1] < 0 || channelsLastIn(l, 1));
    const GemmForm form = gemmForm();
    gemm_ = gemm_ && form != GemmForm::kOff;
    if (gemm_) {
      gcfg_ = runTile(form == GemmForm::kSmall ? kSmallGemmTile : gemm_tile, dev.info());
      // A reduction of at most 64 bytes (layer1's conv3 and downsample in ResNet-50 INT8: 64
      // channels) on a warpgroup tile: 64-byte rows, not 128-byte ones half zeros, which also
      // stages the residual (mmEpilogueOption). H100, 200704 x 256 x 64 with the INT8 residual:
      // 0.113 ms on the 64 x 128 tile against 0.127 on the best mma.sync one (RESULTS.md).
      if (gcfg_.wgmma && !gcfg_.pingpong && s_.C * elemBytes(mma) <= 64) gcfg_.kch = 4;
      // A reduction of at most four k-tiles on a 3-tile warpgroup ring: no multiply left in
      // flight, so that the prologue issues two k-tiles, not one (a short reduction waits for
      // memory at nearly every k-tile). H200, ResNet-50 INT8 at batch 64: its 1x1 layers of up
      // to 512 channels 0.002-0.005 ms faster each (200704 x 128 x 256: 0.0686 -> 0.0642 ms),
      // longer ones (layer3's conv1, 1024 channels) slower (RESULTS.md).
      const int64_t gbk = gcfg_.kch * 16 / elemBytes(mma);  // elements of a k-tile
      if (gcfg_.wgmma && !gcfg_.pingpong && gcfg_.stages == 3 && (s_.C + gbk - 1) / gbk <= 4)
        gcfg_.wg_async = false;
      const bool has_res = l.inputs.size() > 1 && l.inputs[1] >= 0;
      std::string extra = mmEpilogueOption(gcfg_, has_res);
      if (persist && gcfg_.wgmma) {
        // At most 64 output channels: 64 x 64 tiles, not 64 x 128 ones half empty. H100,
        // layer1's conv1 (200704 x 64 x 256, INT8 output): 0.0342 ms against 0.0594 on
        // 64 x 128 and 0.0474 on kWgTile64 (benchmarks/RESULTS.md, session 35).
        Config base = gcfg_;
        if (s_.K <= 64) base.bn = 64;
        const Persist f = persistForm(base, s_.C, mma, s_.res_dt, has_res);
        if (f.nkp > 0) {
          gcfg_ = f.cfg;
          persist_ = true;
          // The residual always staged: each tile's copied ahead with its pixels.
          extra = str("-DPERSIST=1 -DNKP=", f.nkp, " -DEP_ROWS=", f.ep_rows,
                      has_res ? " -DRES_STAGE=1" : "");
        }
      }
      const std::string gopts = options(dev.info(), mma, /*conv=*/false, gcfg_, s_.ep,
                                        dtCode(s_.out_dt), dtCode(s_.res_dt), extra);
      k_ = ocl::KernelHandle(dev.kernel(kFile, gopts, "tc_matmul"));
      return;
    }
    // (The space-to-depth form's ring reads whole chunks whatever its C: CRUN, not CALIGN.)
    const bool calign = s2d_.on || s_.C % cfg_.gatherRun(mma) == 0;
    const bool in_hwc = s2d_.on || channelsLastIn(l, 0);
    // A channels-last input of one group with dilation 1 along W: the gather walks each kernel
    // row's S * C consecutive elements (a stem's 7x7 over 3 channels).
    const bool rows = !calign && !s2d_.on && channelsLastIn(l, 0) && s_.G == 1 && win.dw == 1;
    // Without a residual, RES_HWC follows the output's layout: the program is then the one
    // the same tile's residual layers build (a residual has the output's layout in every
    // channels-last network), one compile instead of two.
    const bool res_hwc =
        l.inputs.size() > 1 && l.inputs[1] >= 0 ? channelsLastIn(l, 1) : channelsLastOut(l, 0);
    const std::string opts = options(
        dev.info(), mma, /*conv=*/true, cfg_, s_.ep, dtCode(s_.out_dt), dtCode(s_.res_dt),
        str("-DCALIGN=", calign ? 1 : 0, " -DIN_HWC=", int{in_hwc}, " -DRES_HWC=", int{res_hwc},
            " -DOUT_HWC=", int{channelsLastOut(l, 0)}, rows ? " -DHWC_ROWS=1" : "",
            cfg_.stages && gatherThroughL1(cfg_) ? " -DCONV_CA=1" : "",
            s2d_.on ? str(" -DS2D_PACK=1 -DS2D_SRC_HWC=", int{channelsLastIn(l, 0)},
                          " -DCRUN=", s2dRunChunks(s2d_, mma))
                    : std::string()));
    k_ = ocl::KernelHandle(dev.kernel(kFile, opts, "tc_conv"));
    if (s2d_.on) pack_ = ocl::KernelHandle(dev.kernel(kFile, opts, "tc_s2d_pack"));
  }

  // The layer's weights ([K][C][kh][kw]) in the space-to-depth form's reduction order:
  // [K][(r2 * S2 + s2) * Cp + (py * 2 + px) * C + c] holds tap (2 * r2 + py - at,
  // 2 * s2 + px - al) of channel c, zero where that tap lies outside the kernel and for the
  // channels past 4 * C.
  std::vector<float> s2dWeights(const std::vector<float>& w) const {
    const S2d& f = s2d_;
    const int64_t kh = s_.R, kw = s_.S, ktot = f.Cp * f.R * f.S;
    std::vector<float> wt(static_cast<size_t>(s_.K * ktot), 0.0f);
    for (int64_t m = 0; m < s_.K; ++m)
      for (int64_t r2 = 0; r2 < f.R; ++r2)
        for (int64_t s2 = 0; s2 < f.S; ++s2)
          for (int64_t q = 0; q < 4; ++q)
            for (int64_t c = 0; c < f.C; ++c) {
              const int64_t r = 2 * r2 + q / 2 - f.at, sx = 2 * s2 + q % 2 - f.al;
              if (r < 0 || r >= kh || sx < 0 || sx >= kw) continue;
              wt[static_cast<size_t>(m * ktot + (r2 * f.S + s2) * f.Cp + q * f.C + c)] =
                  w[static_cast<size_t>(((m * f.C + c) * kh + r) * kw + sx)];
            }
    return wt;
  }

  size_t workspaceSize(const std::vector<Dims>& in, const std::vector<Dims>& out) const override {
    if (in.empty() || out.empty()) return 0;
    if (s2d_.on) return packedBytes(out[0]);
    const Launch l = launchOf(out[0]);
    return static_cast<size_t>(splitBytes(l.tiles, l.ks, gemm_ ? gcfg_ : cfg_));
  }

  // The space-to-depth form's packed image for output dims `y`: [N][OH + R2 - 1][OW + S2 - 1][Cp].
  size_t packedBytes(const Dims& y) const {
    if (y.size() != 4) return 0;
    const auto [OH, OW] = spatialHW(y);
    return static_cast<size_t>(y[0] * (OH + s2d_.R - 1) * (OW + s2d_.S - 1) * s2d_.Cp *
                               elemBytes(s_.mma));
  }

  void enqueue(const ExecArgs& a) override {
    CLRT_CHECK(!a.inputs.empty() && !a.outputs.empty(), kRuntime, "conv layer '", s_.layer,
               "' got no input/output tensors");
    const DeviceTensor& x = a.inputs[0];
    const DeviceTensor& y = a.outputs[0];
    check(x, s_.in_dt, "input");
    check(y, s_.out_dt, "output");
    const bool rank_ok = x.dims.size() == 4 || (x.dims.size() == 3 && s_.R == 1);
    CLRT_CHECK(rank_ok && y.dims.size() == x.dims.size(), kRuntime, "conv layer '", s_.layer,
               "': input ", dimsToString(x.dims), " and output ", dimsToString(y.dims),
               " must both be [N,C,H,W], or [N,C,W] for a 1-D kernel");
    const int64_t N = x.dims[0], C = x.dims[1];
    auto [H, W] = spatialHW(x.dims);
    const auto [OH, OW] = spatialHW(y.dims);
    const int64_t want_c = s2d_.on ? s2d_.C : s_.C * s_.G;
    CLRT_CHECK(C == want_c && y.dims[0] == N && y.dims[1] == s_.K, kRuntime, "conv layer '",
               s_.layer, "': input ", dimsToString(x.dims), " / output ", dimsToString(y.dims),
               " do not match ", s_.K, " filters of ", want_c, " channels in ", s_.G, " groups");
    cl_mem res = nullptr;
    if (a.inputs.size() > 1 && a.inputs[1].buf) {
      check(a.inputs[1], s_.res_dt, "residual");
      CLRT_CHECK(a.inputs[1].dims == y.dims, kRuntime, "conv layer '", s_.layer, "': residual ",
                 dimsToString(a.inputs[1].dims), " must have the output shape ",
                 dimsToString(y.dims));
      res = a.inputs[1].buf;
    }
    kint(volume(x.dims), s_.layer);
    kint(volume(y.dims), s_.layer);
    const int64_t NP = N * OH * OW;
    if (NP * s_.K == 0) return;
    const Pads p = resolvePads(s_.win, H, W, OH, OW);
    const Window2d& w = s_.win;
    const int64_t kg = s_.K / s_.G;
    const int64_t mt = (kg + cfg_.bm - 1) / cfg_.bm, nt = (NP + cfg_.bn - 1) / cfg_.bn;
    kint(mt * nt * cfg_.threads(), s_.layer);
    const float scale = s_.mma == Mma::kS8 ? s_.in_scale : 1.0f;
    const float inv_os = s_.out_scale > 0 ? 1.0f / s_.out_scale : 1.0f;
    auto i = [&](int64_t v) { return kint(v, s_.layer); };
    Launch sl = launchOf(y.dims);
    const SplitBuffers sb = splitBuffers(a, sl.tiles, &sl.ks, gemm_ ? gcfg_ : cfg_, counters_);
    std::lock_guard<std::mutex> lock(mu_);
    if (gemm_) {
      CLRT_CHECK(OH == H && OW == W, kRuntime, "conv layer '", s_.layer, "': input ",
                 dimsToString(x.dims), " and output ", dimsToString(y.dims),
                 " must have the same spatial size (1x1, stride 1, no padding)");
      const int64_t gm = (NP + gcfg_.bm - 1) / gcfg_.bm, gn = (s_.K + gcfg_.bn - 1) / gcfg_.bn;
      kint(gm * gn * gcfg_.threads(), s_.layer);
      // The persistent form: a whole number of blocks per column tile (tc_matmul PERSIST), at
      // most one per row tile; the ping-pong one: a block per compute unit, at most one a tile.
      int64_t blocks =
          persist_
              ? std::clamp<int64_t>(split_.compute_units * kPersistBlocksPerCu / gn, 1, gm) * gn
              : gm * gn;
      if (gcfg_.pingpong) blocks = std::min<int64_t>(gm * gn, pp_blocks_);
      const cl_int avec = (s_.C * elemBytes(s_.mma)) % 16 == 0;
      CLRT_CHECK(avec || !gcfg_.pingpong, kRuntime, "conv layer '", s_.layer, "': conv.tc_",
                 suffix(s_.mma), "_wgpp needs pixel rows of a multiple of 16 bytes (", s_.C,
                 " channels)");
      ocl::setArgs(k_.get(), x.buf, weights_.get(), cl_long{0}, cl_long{0}, bias_.get(),
                   svec_.get(), res, y.buf, i(NP), i(s_.K), i(s_.C), i(s_.C), i(kpad_), avec,
                   cl_int{1}, i(gm), cl_int8{}, cl_long8{}, cl_long8{}, cl_int{0},
                   cl_int{s_.has_bias}, cl_int{svec_.get() != nullptr}, cl_int{res != nullptr},
                   scale, s_.res_scale, inv_os, s_.ep.alpha, s_.ep.beta, cl_int{sl.ks}, sb.ws,
                   sb.counters);
      const size_t nthr = static_cast<size_t>(gcfg_.blockThreads());
      ocl::launch(a.queue, k_.get(),
                  {static_cast<size_t>(blocks) * nthr, 1, static_cast<size_t>(sl.ks)},
                  {nthr, 1, 1});
      return;
    }
    cl_mem xin = x.buf;
    if (s2d_.on) {
      // Fold the input into the workspace, then convolve that: H and W become the packed
      // image's (its pads built in: `p` is zero).
      CLRT_CHECK(
          x.dims.size() == 4 && a.workspace && bufferBytes(a.workspace) >= packedBytes(y.dims),
          kRuntime, "conv layer '", s_.layer, "': the space-to-depth form needs a ",
          packedBytes(y.dims), "-byte workspace for input ", dimsToString(x.dims));
      const int64_t Hs = OH + s2d_.R - 1, Ws = OW + s2d_.S - 1;
      kint(N * Hs * Ws * s2d_.Cp, s_.layer);
      ocl::setArgs(pack_.get(), x.buf, a.workspace, i(N), i(s2d_.C), i(H), i(W), i(Hs), i(Ws),
                   i(s2d_.Cp), i(s2d_.pt2), i(s2d_.pl2));
      ocl::launch(a.queue, pack_.get(), {static_cast<size_t>(N * Hs * Ws)}, {256});
      xin = a.workspace;
      H = Hs;
      W = Ws;
    }
    ocl::setArgs(k_.get(), xin, weights_.get(), bias_.get(), svec_.get(), res, y.buf, i(N), i(s_.C),
                 i(H), i(W), i(kg), i(OH), i(OW), i(s_.S), i(w.sh), i(w.sw), i(w.dh), i(w.dw),
                 i(p.t), i(p.l), i(ktot_), i(kpad_), i(mt), cl_int{s_.has_bias},
                 cl_int{svec_.get() != nullptr}, cl_int{res != nullptr}, scale, s_.res_scale,
                 inv_os, s_.ep.alpha, s_.ep.beta, i(s_.G), cl_int{sl.ks}, sb.ws, sb.counters);
    const size_t nthr = static_cast<size_t>(cfg_.threads());
    ocl::launch(a.queue, k_.get(),
                {static_cast<size_t>(mt * nt) * nthr, gsize(s_.G), static_cast<size_t>(sl.ks)},
                {nthr, 1, 1});
  }

 private:
  // The blocks of one launch at output dims `y` and its split-K splits (tc_gemm.cl SPLIT_FIXUP):
  // the GEMM form's tiles over pixels x output channels, or tc_conv's over channels x pixels of
  // every group; the reduction in k-tiles of the tile's BK.
  struct Launch {
    int64_t tiles = 0;
    int ks = 1;
  };
  Launch launchOf(const Dims& y) const {
    if (y.size() < 3) return {};
    const auto [OH, OW] = spatialHW(y);
    const int64_t NP = y[0] * OH * OW;
    const int epc = 16 / elemBytes(s_.mma);
    Launch l;
    int64_t nk = 0;
    if (gemm_) {
      l.tiles = ((NP + gcfg_.bm - 1) / gcfg_.bm) * ((s_.K + gcfg_.bn - 1) / gcfg_.bn);
      const int64_t bk = gcfg_.kch * epc;
      nk = (s_.C + bk - 1) / bk;
    } else {
      const int64_t kg = s_.K / s_.G, bk = cfg_.kch * epc;
      l.tiles = ((kg + cfg_.bm - 1) / cfg_.bm) * ((NP + cfg_.bn - 1) / cfg_.bn) * s_.G;
      nk = ((cfg_.stages ? ktot_ : kpad_) + bk - 1) / bk;
    }
    // The space-to-depth form's workspace holds the packed image, and the persistent and
    // ping-pong forms' blocks each walk several tiles: no split-K.
    l.ks = s2d_.on || persist_ || (gemm_ && gcfg_.pingpong) ? 1 : splitK(l.tiles, nk, split_);
    return l;
  }

  void check(const DeviceTensor& t, DataType want, const char* what) const {
    CLRT_CHECK(t.buf != nullptr, kRuntime, "conv layer '", s_.layer, "': ", what,
               " has no device buffer");
    CLRT_CHECK(t.dtype == want, kRuntime, "conv layer '", s_.layer, "': ", what, " is ",
               dtypeName(t.dtype), ", built for ", dtypeName(want));
  }

  Spec s_;
  Config cfg_, gcfg_;
  bool gemm_ = false;     // a channels-last 1x1 convolution run by tc_matmul (gcfg_)
  bool persist_ = false;  // ... in its persistent form (persistForm)
  S2d s2d_;               // the space-to-depth form (pack_ folds the input first)
  int64_t ktot_ = 0, kpad_ = 0;
  SplitPolicy split_;
  int64_t pp_blocks_ = 1;  // a ping-pong GEMM's blocks (pingpongBlocks)
  std::mutex mu_;          // kernel arguments are per cl_kernel: one enqueue at a time
  SplitCounters counters_;
  ocl::MemHandle weights_, bias_, svec_;
  ocl::KernelHandle k_, pack_;
};

class TcConvTactic : public Tactic {
 public:
  TcConvTactic(Mma mma, const Tile& tile) : mma_(mma), tile_(tile) {}
  std::string name() const override { return str("conv.tc_", suffix(mma_), tile_.suffix); }
  ir::LayerKind kind() const override { return ir::LayerKind::kCONVOLUTION; }
  std::vector<DataType> precisions() const override { return {precisionOf(mma_)}; }
  bool tf32() const override { return mma_ == Mma::kTF32; }
  bool tileVariant() const override { return *tile_.suffix != 0; }
  bool quantizesOutput() const override { return true; }
  bool worthOffering(const ocl::DeviceInfo& dev) const override {
    return tc::worthOffering(tile_.cfg, dev) && (!tile_.persist || persistOffered()) &&
           (!tile_.gemm.pingpong || pingpongOffered(/*conv=*/true));
  }
  bool eligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                const ocl::DeviceInfo& dev) const override {
    Spec s;
    if (!available(tile_.cfg, dev) || !readSpec(l, mma_, &s) || in.empty()) return false;
    if (in[0].dtype != s.in_dt) return false;
    if (tile_.s2d && !(s2dFits(s) && in[0].dims.size() == 4)) return false;
    if (tile_.persist && !persistFits(s)) return false;
    if (tile_.gemm.pingpong && !pingpongFits(s)) return false;
    const size_t rank = in[0].dims.size();
    if (rank != 4 && !(rank == 3 && s.R == 1)) return false;
    if (in[0].dims[1] >= 0 && in[0].dims[1] != s.C * s.G) return false;
    if (in.size() > 1 && !in[1].dims.empty() && in[1].dtype != s.res_dt) return false;
    return true;
  }
  std::unique_ptr<Kernel> instantiate(const ir::Layer& l, ocl::Device& dev) const override {
    return std::make_unique<TcConvKernel>(l, dev, mma_, tile_.cfg, tile_.gemm, tile_.s2d,
                                          tile_.persist);
  }
  // The input, the residual and the output, each either way (IN_HWC, RES_HWC, OUT_HWC).
  bool channelsLast(const ir::Layer& l, int i) const override {
    (void)l;
    return i == 0 || i == 1 || i == -1;
  }
  // The default tile ahead of the other tiles and the portable kernels when the builder does
  // not time (on a GPU also ahead of the CLBlast ones, which untimedPriority moves up there).
  int priority() const override { return *tile_.suffix ? 0 : -1; }
  int untimedPriority(const ocl::DeviceInfo& dev) const override {
    return untimedOrder(priority(), dev);
  }

 private:
  Mma mma_;
  Tile tile_;
};

}  // namespace

void registerConv() {
  for (Mma m : {Mma::kF16, Mma::kS8, Mma::kTF32})
    for (const Tile& t : kTiles)
      // The persistent and ping-pong forms: FP16 and INT8 (persistFits, pingpongFits).
      if (!((t.persist || t.gemm.pingpong) && m == Mma::kTF32))
        registerTactic(std::make_unique<TcConvTactic>(m, t));
}

}  // namespace clrt::tactics::tc
