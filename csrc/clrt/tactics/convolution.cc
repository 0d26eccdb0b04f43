// Convolution tactics: direct (any group/stride/dilation/pads), depthwise, narrow 1x1 8 output
// channels a work-item (conv.1x1_k8), 1x1 over few pixels a work-group per 8 output channels
// (conv.1x1_wg), im2col + CLBlast SGEMM
// and 1x1 as one CLBlast SGEMM, each with the fused y = act(conv + bias + residual) epilogue.
// Direct and depthwise also run FP16 layers (half activations, float weights and arithmetic);
// the CLBlast ones are FP32 only (CLBlast's half GEMM needs cl_khr_fp16).
#include <mutex>
#include <optional>
#include <tuple>

#include "clrt/ir/limits.h"
#include "clrt/tactics/compute_common.h"

namespace clrt::tactics {
namespace {

constexpr const char* kFile = "conv.cl";
// Tunables of conv.cl, passed to it as build options: output channels per direct work-item
// (CONV_KB: its float16 accumulators fix it at 16) and output columns per direct/depthwise
// work-item (CONV_PB).
constexpr int64_t kKB = 16;
constexpr int64_t kPB = 8;
const std::string kTunables = str(" -DCONV_KB=", kKB, " -DCONV_PB=", kPB);

// What a conv layer is, read once from its weights and attrs.
struct ConvSpec : ConvGeom {
  DataType st = DataType::kFLOAT;  // activation storage: FLOAT, or HALF for an FP16 layer
};

// False when the layer is outside what every conv tactic handles (FP32/FP16, 1-D/2-D, known act).
bool readSpec(const ir::Layer& l, ConvSpec* s) {
  const std::optional<DataType> st = floatStorage(l);
  if (!st || !readConvGeom(l, s)) return false;
  s->st = *st;
  return true;
}

ConvSpec specOf(const ir::Layer& l) {
  ConvSpec s;
  CLRT_CHECK(readSpec(l, &s), kBuild, "convolution layer '", l.name,
             "' has weights/attributes no conv tactic supports");
  return s;
}

// x is [N,C,H,W], or [N,C,W] with a [K,C/g,kw] or [K,C/g,1,kw] kernel.
bool rankFits(const ConvSpec& s, size_t rank) { return convRankFits(s.win, rank); }

// The layer-independent part of eligibility, shared by every conv tactic.
bool convEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, ConvSpec* s) {
  if (!readSpec(l, s) || in.empty() || !storedAs(l, in, 0, s->st)) return false;
  if (outputDtype(l, 0, s->st) != s->st) return false;
  if (!rankFits(*s, in[0].dims.size())) return false;
  const int64_t C = in[0].dims[1];
  if (C >= 0 && C != s->Cg * s->G) return false;
  if (in.size() > 1 && !in[1].dims.empty() && !storedAs(l, in, 1, s->st)) return false;
  return true;
}

// The sizes of one run, checked against the layer.
struct ConvRun : ConvShape {
  cl_mem x = nullptr, res = nullptr, y = nullptr;
};

ConvRun runOf(const ConvSpec& s, const ExecArgs& a) {
  CLRT_CHECK(!a.inputs.empty() && !a.outputs.empty(), kRuntime, "conv layer '", s.layer,
             "' got no input/output tensors");
  const DeviceTensor& x = a.inputs[0];
  const DeviceTensor& y = a.outputs[0];
  requireStorage(x, s.st, s.layer, "input");
  requireStorage(y, s.st, s.layer, "output");
  ConvRun r;
  static_cast<ConvShape&>(r) = convShape(x.dims, y.dims, s.K, s.Cg, s.G, s.win, s.layer);
  r.x = x.buf;
  r.y = y.buf;
  if (a.inputs.size() > 1 && a.inputs[1].buf) {
    requireStorage(a.inputs[1], s.st, s.layer, "residual");
    CLRT_CHECK(a.inputs[1].dims == y.dims, kRuntime, "conv layer '", s.layer, "': residual ",
               dimsToString(a.inputs[1].dims), " must have the output shape ",
               dimsToString(y.dims));
    r.res = a.inputs[1].buf;
  }
  return r;
}

// Shared state of the conv kernels: spec, the conv.cl program's kernels, bias and launch width.
class ConvKernelBase : public Kernel {
 public:
  ConvKernelBase(const ir::Layer& l, ocl::Device& dev)
      : s_(specOf(l)),
        opts_(s_.ep.options() + storageOption(s_.st) + kTunables),
        wg0_(dev.info().is_gpu ? 64 : 8) {}

 protected:
  cl_kernel make(ocl::Device& dev, const char* name) { return dev.kernel(kFile, opts_, name); }
  // y = act(y + bias[k] + res) in place after a GEMM wrote y; nothing to do without any of them.
  void epilogue(cl_command_queue q, const ConvRun& r) {
    if (!s_.has_bias && !r.res && identityEpilogue(s_.ep)) return;
    const cl_int P = kint(r.OH * r.OW, s_.layer), NK = kint(r.N * s_.K, s_.layer);
    ocl::setArgs(epi_.get(), r.y, bias_.get(), r.res, P, NK, kint(s_.K, s_.layer), cl_int{0},
                 cl_int{s_.has_bias}, cl_int{r.res != nullptr}, s_.ep.alpha, s_.ep.beta);
    ocl::launch(q, epi_.get(), {gsize(P), gsize(NK)}, {});
  }
  cl_int i(int64_t v) const { return kint(v, s_.layer); }
  // Runs a direct/depthwise kernel k with these arguments: a work-item per CONV_PB output
  // columns of a row, by `channelItems`, by image.
  template <typename... A>
  void launchBlocks(cl_command_queue q, cl_kernel k, const ConvRun& r, int64_t channelItems,
                    const A&... args) {
    std::lock_guard<std::mutex> lock(mu_);
    ocl::setArgs(k, args...);
    const int64_t nowb = (r.OW + kPB - 1) / kPB;
    ocl::launch(q, k, {gsize(i(r.OH * nowb)), gsize(channelItems), gsize(r.N)}, {wg0_, 1, 1});
  }

  ConvSpec s_;
  std::string opts_;
  size_t wg0_;
  std::mutex mu_;  // kernel arguments are per cl_kernel: one enqueue at a time
  ocl::KernelHandle epi_;
  ocl::MemHandle weights_, bias_;
};

// ---- conv.direct ----
class DirectConv : public ConvKernelBase {
 public:
  DirectConv(const ir::Layer& l, ocl::Device& dev) : ConvKernelBase(l, dev) {
    // Pack weights as [G][Kg/KB][Cg][kh][kw][KB] (zero padded) for conv_direct's vector loads.
    const std::vector<float> w = l.weights.at("kernel").asFloats();
    const int64_t Kg = s_.K / s_.G, nkb = (Kg + kKB - 1) / kKB,
                  taps = s_.Cg * s_.win.kh * s_.win.kw;
    std::vector<float> wp(static_cast<size_t>(s_.G * nkb * taps * kKB), 0.0f);
    std::vector<float> bp(static_cast<size_t>(s_.G * nkb * kKB), 0.0f);
    std::vector<float> b = s_.has_bias ? l.weights.at("bias").asFloats() : std::vector<float>();
    for (int64_t g = 0; g < s_.G; ++g)
      for (int64_t k = 0; k < Kg; ++k) {
        const int64_t blk = g * nkb + k / kKB, kk = k % kKB, src = (g * Kg + k) * taps;
        for (int64_t t = 0; t < taps; ++t) wp[(blk * taps + t) * kKB + kk] = w[src + t];
        if (!b.empty()) bp[blk * kKB + kk] = b[g * Kg + k];
      }
    weights_ = ocl::MemHandle(uploadWeights(dev, HostTensor::fromFloats({int64_t(wp.size())}, wp)));
    bias_ = ocl::MemHandle(uploadWeights(dev, HostTensor::fromFloats({int64_t(bp.size())}, bp)));
    k_ = ocl::KernelHandle(make(dev, "conv_direct"));
    pad_ = ocl::KernelHandle(make(dev, "conv_pad"));
    nkb_ = nkb;
    padded_ = {s_.win, kPB, s_.st == DataType::kFLOAT, dev.info().is_gpu};
  }
  size_t workspaceSize(const std::vector<Dims>& in, const std::vector<Dims>& out) const override {
    return padded_.workspaceSize(in, out);
  }
  void enqueue(const ExecArgs& a) override {
    const ConvRun r = runOf(s_, a);
    if (r.N * s_.K * r.OH * r.OW == 0) return;
    const Window2d& w = s_.win;
    const int64_t nowb = (r.OW + kPB - 1) / kPB;
    std::lock_guard<std::mutex> lock(mu_);
    padded_.run(a.queue, pad_.get(), r, r.x, a.workspace, s_.layer,
                [&](cl_mem src, int64_t n0, int64_t images, int64_t Hp, int64_t Wp) {
                  ocl::setArgs(k_.get(), src, weights_.get(), bias_.get(), r.res, r.y, i(n0),
                               i(r.C), i(Hp), i(Wp), i(s_.K), i(r.OH), i(r.OW), i(s_.G), i(w.kh),
                               i(w.kw), i(w.sh), i(w.sw), i(w.dh), i(w.dw),
                               cl_int{r.res != nullptr}, s_.ep.alpha, s_.ep.beta);
                  ocl::launch(a.queue, k_.get(),
                              {gsize(i(r.OH * nowb)), gsize(s_.G * nkb_), gsize(i(images))},
                              {wg0_, 1, 1});
                });
  }

 private:
  ocl::KernelHandle k_, pad_;
  int64_t nkb_ = 1;
  PaddedConvInput padded_;
};

// ---- conv.depthwise and conv.depthwise_w4 (`quad`: four output columns a work-item where the
// 8-channel kernel runs; otherwise the same kernels) ----
class DepthwiseConv : public ConvKernelBase {
 public:
  DepthwiseConv(const ir::Layer& l, ocl::Device& dev, bool quad)
      : ConvKernelBase(l, dev),
        quad_(quad),
        in_hwc_(channelsLastIn(l, 0)),
        res_hwc_(channelsLastIn(l, 1)),
        out_hwc_(channelsLastOut(l, 0)) {
    weights_ = ocl::MemHandle(uploadWeights(dev, l.weights.at("kernel")));
    bias_ = ocl::MemHandle(uploadWeights(
        dev, s_.has_bias ? l.weights.at("bias")
                         : HostTensor::fromFloats({s_.K}, std::vector<float>(s_.K, 0.0f))));
    hwc_ = in_hwc_ || res_hwc_ || out_hwc_;
    vec_ = depthwiseVec(l, s_.K);
    if (vec_) {  // weights as [kh * kw][C] for the 8-channel kernel's vector loads
      weights_ = ocl::MemHandle(uploadWeights(
          dev, HostTensor::fromFloats({s_.K * s_.win.kh * s_.win.kw},
                                      tapMajor(l.weights.at("kernel").asFloats(), s_.K))));
      k_ = ocl::KernelHandle(make(dev, quad_ ? "conv_depthwise_hwc8x4" : "conv_depthwise_hwc8"));
      return;
    }
    if (!hwc_ && !dev.info().is_gpu) {  // CPUs: over a zero-padded copy (PaddedConvInput)
      k_ = ocl::KernelHandle(make(dev, "conv_depthwise_padded"));
      pad_ = ocl::KernelHandle(make(dev, "conv_pad"));
      padded_ = PaddedConvInput{s_.win, kPB, s_.st == DataType::kFLOAT};
      return;
    }
    k_ = ocl::KernelHandle(make(dev, hwc_ ? "conv_depthwise_hwc" : "conv_depthwise"));
  }
  size_t workspaceSize(const std::vector<Dims>& in, const std::vector<Dims>& out) const override {
    return padded_ ? padded_->workspaceSize(in, out) : 0;
  }
  void enqueue(const ExecArgs& a) override {
    const ConvRun r = runOf(s_, a);
    if (r.N * s_.K * r.OH * r.OW == 0) return;
    const Window2d& w = s_.win;
    if (vec_) {  // a work-item per 8 channels of an output pixel (of four: quad_)
      std::lock_guard<std::mutex> lock(mu_);
      ocl::setArgs(k_.get(), r.x, weights_.get(), bias_.get(), r.res, r.y, i(r.C), i(r.H), i(r.W),
                   i(r.OH), i(r.OW), i(r.N * r.OH), i(w.kh), i(w.kw), i(w.sh), i(w.sw), i(w.dh),
                   i(w.dw), i(r.p.t), i(r.p.l), cl_int{r.res != nullptr}, s_.ep.alpha, s_.ep.beta);
      const int64_t cols = quad_ ? (r.OW + 3) / 4 : r.OW;
      ocl::launch(a.queue, k_.get(), depthwiseVecGrid(r.C, cols, i(r.N * r.OH)), {kDepthwiseWg, 1});
      return;
    }
    if (hwc_) {  // a work-item per output, the channel fastest
      std::lock_guard<std::mutex> lock(mu_);
      ocl::setArgs(k_.get(), r.x, weights_.get(), bias_.get(), r.res, r.y, i(r.C), i(r.H), i(r.W),
                   i(r.OH), i(r.OW), i(r.N * r.OH), i(w.kh), i(w.kw), i(w.sh), i(w.sw), i(w.dh),
                   i(w.dw), i(r.p.t), i(r.p.l), cl_int{r.res != nullptr}, cl_int{in_hwc_},
                   cl_int{res_hwc_}, cl_int{out_hwc_}, s_.ep.alpha, s_.ep.beta);
      ocl::launch(a.queue, k_.get(), {gsize(r.C), gsize(r.OW), gsize(i(r.N * r.OH))}, {});
      return;
    }
    if (padded_) {
      const int64_t nowb = (r.OW + kPB - 1) / kPB;
      std::lock_guard<std::mutex> lock(mu_);
      padded_->run(
          a.queue, pad_.get(), r, r.x, a.workspace, s_.layer,
          [&](cl_mem src, int64_t n0, int64_t images, int64_t Hp, int64_t Wp) {
            ocl::setArgs(k_.get(), src, weights_.get(), bias_.get(), r.res, r.y, i(n0), i(r.C),
                         i(Hp), i(Wp), i(r.OH), i(r.OW), i(w.kh), i(w.kw), i(w.sh), i(w.sw),
                         i(w.dh), i(w.dw), cl_int{r.res != nullptr}, s_.ep.alpha, s_.ep.beta);
            ocl::launch(a.queue, k_.get(), {gsize(i(r.OH * nowb)), gsize(r.C), gsize(i(images))},
                        {wg0_, 1, 1});
          });
      return;
    }
    launchBlocks(a.queue, k_.get(), r, r.C, r.x, weights_.get(), bias_.get(), r.res, r.y, i(r.N),
                 i(r.C), i(r.H), i(r.W), i(r.OH), i(r.OW), i(w.kh), i(w.kw), i(w.sh), i(w.sw),
                 i(w.dh), i(w.dw), i(r.p.t), i(r.p.l), cl_int{r.res != nullptr}, s_.ep.alpha,
                 s_.ep.beta);
  }

 private:
  bool quad_;
  bool in_hwc_, res_hwc_, out_hwc_, hwc_ = false;  // channels-last tensors (builder/layouts.cc)
  bool vec_ = false;  // all channels last and C a multiple of 8: conv_depthwise_hwc8(x4)
  ocl::KernelHandle k_, pad_;
  std::optional<PaddedConvInput> padded_;  // CPUs, NCHW: conv_depthwise_padded
};

// ---- conv.1x1_k8 and conv.1x1_wg (1x1, stride 1, unpadded, group 1) ----
// conv.1x1_k8: 8 output channels of one pixel a work-item (conv1x1_k8), C a multiple of 8; a
// work-group's work-items share their 8 output channels (the same weights) over 64 pixels; K a
// multiple of 8.
// conv.1x1_wg: a work-group per 8 output channels of one pixel, the channels split among its
// work-items (conv1x1_wg), for layers of few pixels and many channels; any K (the last octet's
// weights padded with zeros): squeeze-and-excitation reductions have 4-48 outputs, most not a
// multiple of 8. Either layout each.
constexpr int64_t kK8 = 8;
constexpr size_t kK8Wg = 64;
constexpr size_t kWg1 = 64;  // conv1x1_wg's CONV_WG1
// The largest C * K each is offered for, and conv.1x1_wg's most pixels (N * H * W) and fewest
// input channels: beyond, a tensor-core or CLBlast GEMM's reuse wins (and with fewer channels
// than work-items conv.1x1_k8 does), so timing it would only lengthen the build.
constexpr int64_t kK8MaxWeights = int64_t{512} * 1024;
constexpr int64_t kWgMaxWeights = int64_t{4} << 20;
constexpr int64_t kWgMaxPixels = 4096;

bool plainPointwise(const ConvSpec& s) { return s.G == 1 && isPlain1x1(s.win); }
bool pointwise8Fits(const ConvSpec& s, int64_t C) {
  return plainPointwise(s) && s.K % kK8 == 0 && C % kK8 == 0 && C * s.K <= kK8MaxWeights;
}
bool pointwiseWgFits(const ConvSpec& s, int64_t C, const Dims& x) {
  if (!plainPointwise(s) || C < static_cast<int64_t>(kWg1) || C * s.K > kWgMaxWeights) return false;
  int64_t pixels = 1;
  for (size_t d = 0; d < x.size(); ++d)
    if (d != 1) pixels = x[d] < 0 ? kWgMaxPixels + 1 : pixels * x[d];
  return pixels <= kWgMaxPixels;
}

class PointwiseConv : public ConvKernelBase {
 public:
  PointwiseConv(const ir::Layer& l, ocl::Device& dev, bool wg)
      : ConvKernelBase(l, dev),
        wg_(wg),
        in_hwc_(channelsLastIn(l, 0)),
        res_hwc_(channelsLastIn(l, 1)),
        out_hwc_(channelsLastOut(l, 0)) {
    const int64_t C = s_.Cg, K = s_.K;
    CLRT_CHECK(wg ? plainPointwise(s_) : pointwise8Fits(s_, C), kBuild, "conv layer '", s_.layer,
               "': conv.1x1_", wg ? "wg" : "k8",
               " needs a 1x1, stride 1, unpadded convolution of one group",
               wg ? "" : " with input and output channels a multiple of 8");
    // Weights [K][C] as [K8 / 8][C][8] (K8: K rounded up to 8, zeros past K), for one aligned
    // 8-wide load per input channel; the bias likewise padded.
    const int64_t K8 = (K + kK8 - 1) / kK8 * kK8;
    const std::vector<float> w = l.weights.at("kernel").asFloats();
    std::vector<float> wp(static_cast<size_t>(K8 * C), 0.0f), bias(static_cast<size_t>(K8), 0.0f);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t c = 0; c < C; ++c) wp[((k / kK8) * C + c) * kK8 + k % kK8] = w[k * C + c];
    if (s_.has_bias) {
      const std::vector<float> b = l.weights.at("bias").asFloats();
      std::copy(b.begin(), b.end(), bias.begin());
    }
    weights_ = ocl::MemHandle(uploadWeights(dev, HostTensor::fromFloats({K8 * C}, wp)));
    bias_ = ocl::MemHandle(uploadWeights(dev, HostTensor::fromFloats({K8}, bias)));
    k_ = ocl::KernelHandle(make(dev, wg ? "conv1x1_wg" : "conv1x1_k8"));
  }
  void enqueue(const ExecArgs& a) override {
    const ConvRun r = runOf(s_, a);
    if (r.N * s_.K * r.OH * r.OW == 0) return;
    const int64_t S = r.H * r.W, octets = (s_.K + kK8 - 1) / kK8 * r.N * S;
    std::lock_guard<std::mutex> lock(mu_);
    if (wg_) {  // a work-group per octet
      ocl::setArgs(k_.get(), r.x, weights_.get(), bias_.get(), r.res, r.y, i(r.C), i(s_.K), i(S),
                   cl_int{r.res != nullptr}, cl_int{in_hwc_}, cl_int{res_hwc_}, cl_int{out_hwc_},
                   s_.ep.alpha, s_.ep.beta);
      ocl::launch(a.queue, k_.get(), {gsize(i(octets)) * kWg1}, {kWg1});
      return;
    }
    ocl::setArgs(k_.get(), r.x, weights_.get(), bias_.get(), r.res, r.y, i(r.C), i(s_.K), i(S),
                 i(r.N * S), cl_int{r.res != nullptr}, cl_int{in_hwc_}, cl_int{res_hwc_},
                 cl_int{out_hwc_}, s_.ep.alpha, s_.ep.beta);
    ocl::launch(a.queue, k_.get(),
                {(gsize(i(r.N * S)) + kK8Wg - 1) / kK8Wg * kK8Wg, gsize(s_.K / kK8)}, {kK8Wg, 1});
  }

 private:
  bool wg_;                          // conv1x1_wg, else conv1x1_k8
  bool in_hwc_, res_hwc_, out_hwc_;  // channels-last tensors (builder/layouts.cc)
  ocl::KernelHandle k_;
};

// ---- conv.im2col_clblast and conv.1x1_clblast (group 1) ----
// Per image: (im2col into the workspace, unless 1x1) then y[n] = W [K x CKK] * col [CKK x P].
class GemmConv : public ConvKernelBase {
 public:
  GemmConv(const ir::Layer& l, ocl::Device& dev, bool im2col)
      : ConvKernelBase(l, dev), im2col_(im2col) {
    CLRT_CHECK(s_.st == DataType::kFLOAT, kBuild, "conv layer '", s_.layer,
               "': the CLBlast tactics run FP32 layers only");
    weights_ = ocl::MemHandle(uploadWeights(dev, l.weights.at("kernel")));
    if (s_.has_bias) bias_ = ocl::MemHandle(uploadWeights(dev, l.weights.at("bias")));
    // The bias + activation after CLBlast is gemm.cl's (matmul's CLBlast tactic runs it too).
    epi_ = ocl::KernelHandle(dev.kernel("gemm.cl", s_.ep.options(), "bias_act"));
    if (im2col_) k_ = ocl::KernelHandle(make(dev, "im2col"));
  }
  size_t workspaceSize(const std::vector<Dims>& in, const std::vector<Dims>& out) const override {
    if (!im2col_ || in.empty() || out.empty()) return 0;
    const auto [OH, OW] = spatialHW(out[0]);
    if (in[0].size() < 2 || in[0][1] < 0 || OH < 0 || OW < 0) return 0;
    // Saturates instead of overflowing: a huge figure just makes the tactic ineligible.
    return ir::hostBytes({in[0][1], s_.win.kh, s_.win.kw, OH, OW}, DataType::kFLOAT);
  }
  void enqueue(const ExecArgs& a) override {
    const ConvRun r = runOf(s_, a);
    if (r.N * s_.K * r.OH * r.OW == 0) return;
    const Window2d& w = s_.win;
    const int64_t P = r.OH * r.OW, CKK = r.C * w.kh * w.kw;
    std::lock_guard<std::mutex> lock(mu_);
    cl_command_queue q = a.queue;
    if (im2col_) {
      const size_t need = static_cast<size_t>(CKK * P) * sizeof(float);
      CLRT_CHECK(a.workspace && bufferBytes(a.workspace) >= need, kRuntime, "conv layer '",
                 s_.layer, "': im2col needs ", need, " bytes of workspace, got ",
                 bufferBytes(a.workspace));
      kint(CKK * P, s_.layer);
    } else {
      CLRT_CHECK(w.kh == 1 && w.kw == 1 && w.sh == 1 && w.sw == 1 && r.p.t == 0 && r.p.l == 0 &&
                     r.p.b == 0 && r.p.r == 0 && r.OH == r.H && r.OW == r.W,
                 kRuntime, "conv layer '", s_.layer,
                 "': conv.1x1_clblast needs a 1x1, stride 1, "
                 "unpadded convolution");
    }
    for (int64_t n = 0; n < r.N; ++n) {
      cl_mem b = r.x;
      size_t boff = static_cast<size_t>(n * r.C * r.H * r.W);
      if (im2col_) {
        ocl::setArgs(k_.get(), r.x, cl_long{n * r.C * r.H * r.W}, a.workspace, i(r.C), i(r.H),
                     i(r.W), i(r.OH), i(r.OW), i(w.kh), i(w.kw), i(w.sh), i(w.sw), i(w.dh), i(w.dw),
                     i(r.p.t), i(r.p.l));
        ocl::launch(q, k_.get(), {gsize(P), gsize(CKK)}, {});
        b = a.workspace;
        boff = 0;
      }
      callBlas(s_.layer, "SGEMM", [&] {
        return clblast::Gemm(clblast::Layout::kRowMajor, clblast::Transpose::kNo,
                             clblast::Transpose::kNo, s_.K, P, CKK, 1.0f, weights_.get(), 0, CKK, b,
                             boff, P, 0.0f, r.y, static_cast<size_t>(n * s_.K * P), P, &q);
      });
    }
    epilogue(q, r);
  }

 private:
  bool im2col_;
  ocl::KernelHandle k_;
};

// ---- tactics ----
// Priorities (used when the builder does not time): the portable kernels first. On PoCL the
// direct kernel runs 2-4x faster than im2col + CLBlast; on GPUs timing picks CLBlast (the H200,
// YOLOv8s-style at 320x320: 62 of 63 convolutions), so there untimed builds take CLBlast first
// (the FP32 engine of INT8 calibration among them: direct convolutions cost it 34 of 42 ms).
enum class Variant { kDirect, kDepthwise, kDepthwiseW4, kIm2col, k1x1, kPointwise8, kPointwiseWg };

class ConvTactic : public VariantTactic<ir::LayerKind::kCONVOLUTION, Variant> {
 public:
  using VariantTactic::VariantTactic;
  bool eligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                const ocl::DeviceInfo&) const override {
    ConvSpec s;
    if (!convEligible(l, in, &s)) return false;
    switch (v_) {
      case Variant::kDirect:
        return true;
      case Variant::kDepthwise:
      case Variant::kDepthwiseW4:
        return s.Cg == 1 && s.K == s.G;
      case Variant::kIm2col:
        return s.G == 1 && s.st == DataType::kFLOAT;
      case Variant::k1x1:
        return s.G == 1 && s.st == DataType::kFLOAT && isPlain1x1(s.win);
      case Variant::kPointwise8:
        return pointwise8Fits(s, s.Cg);
      case Variant::kPointwiseWg:
        return pointwiseWgFits(s, s.Cg, in[0].dims);
    }
    return false;
  }
  std::unique_ptr<Kernel> instantiate(const ir::Layer& l, ocl::Device& dev) const override {
    if (v_ == Variant::kDirect) return std::make_unique<DirectConv>(l, dev);
    if (v_ == Variant::kDepthwise || v_ == Variant::kDepthwiseW4)
      return std::make_unique<DepthwiseConv>(l, dev, v_ == Variant::kDepthwiseW4);
    if (v_ == Variant::kPointwise8 || v_ == Variant::kPointwiseWg)
      return std::make_unique<PointwiseConv>(l, dev, v_ == Variant::kPointwiseWg);
    return std::make_unique<GemmConv>(l, dev, /*im2col=*/v_ == Variant::kIm2col);
  }
  int untimedPriority(const ocl::DeviceInfo& dev) const override {
    if (dev.is_gpu && (v_ == Variant::kIm2col || v_ == Variant::k1x1)) return prio_ - 4;
    return prio_;
  }
  // The depthwise, 1x1_k8 and 1x1_wg kernels read their input and residual and write their
  // output either way.
  bool channelsLast(const ir::Layer& l, int i) const override {
    (void)l;
    return (v_ == Variant::kDepthwise || v_ == Variant::kDepthwiseW4 ||
            v_ == Variant::kPointwise8 || v_ == Variant::kPointwiseWg) &&
           (i == 0 || i == 1 || i == -1);
  }
  // The CLBlast tactics run FP32 only.
  std::vector<DataType> precisions() const override {
    if (v_ == Variant::kIm2col || v_ == Variant::k1x1) return {DataType::kFLOAT};
    return {DataType::kFLOAT, DataType::kHALF};
  }
};

}  // namespace

void registerConvolutionTactics() {
  registerTactic(std::make_unique<ConvTactic>("conv.direct", Variant::kDirect, 1));
  registerTactic(std::make_unique<ConvTactic>("conv.depthwise", Variant::kDepthwise, 0));
  registerTactic(std::make_unique<ConvTactic>("conv.depthwise_w4", Variant::kDepthwiseW4, 1));
  registerTactic(std::make_unique<ConvTactic>("conv.im2col_clblast", Variant::kIm2col, 3));
  registerTactic(std::make_unique<ConvTactic>("conv.1x1_clblast", Variant::k1x1, 2));
  registerTactic(std::make_unique<ConvTactic>("conv.1x1_k8", Variant::kPointwise8, 2));
  registerTactic(std::make_unique<ConvTactic>("conv.1x1_wg", Variant::kPointwiseWg, 2));
}

}  // namespace clrt::tactics
