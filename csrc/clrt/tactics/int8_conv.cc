// INT8 convolution tactics: conv.int8_direct (any group, float-exact sums: the CPU's fast path),
// conv.int8_depthwise, and conv.int8_gemm (GPUs: implicit GEMM on local-memory tiles, PTX dp4a
// on NVIDIA). Weights are quantized per output channel when instantiated; every tactic runs the
// fused epilogue y = act(acc * s_x * s_w[k] + bias[k] + residual) stored FLOAT, HALF or INT8.
#include <mutex>
#include <tuple>

#include "clrt/tactics/int8_conv_common.h"

namespace clrt::tactics {
namespace {

using int8::ConvRun;
using int8::Int8ConvBase;
using int8::kExactTaps;
using int8::kGemmTile;
using int8::kGemmTQ;
using int8::kGemmWG;
using int8::kKB;
using int8::kPB;
using int8::QuantConv;
using int8::tunables;

constexpr const char* kFile = "int8_conv.cl";

// ---- conv.int8_direct ----
class DirectConv : public Int8ConvBase {
 public:
  DirectConv(const ir::Layer& l, ocl::Device& dev) : Int8ConvBase(l, dev) {
    uploadBlocked(dev, int8::quantizeConv(l, s_));
    k_ = ocl::KernelHandle(dev.kernel(kFile, tunables(s_.ep), "conv_i8_direct"));
    pad_ = ocl::KernelHandle(dev.kernel(kFile, tunables(s_.ep), "conv_i8_pad"));
    cchunk_ = std::max<int64_t>(1, kExactTaps / (s_.win.kh * s_.win.kw));
    padded_ = {s_.win, kPB, false, dev.info().is_gpu};
  }
  size_t workspaceSize(const std::vector<Dims>& in, const std::vector<Dims>& out) const override {
    return padded_.workspaceSize(in, out);
  }
  void enqueue(const ExecArgs& a) override {
    const ConvRun r = int8::runOf(l_, s_, a);
    if (r.N * s_.K * r.OH * r.OW == 0) return;
    const Window2d& w = s_.win;
    const int64_t nkb = (s_.K / s_.G + kKB - 1) / kKB, nowb = (r.OW + kPB - 1) / kPB;
    std::lock_guard<std::mutex> lock(mu_);
    padded_.run(
        a.queue, pad_.get(), r, r.x, a.workspace, s_.layer,
        [&](cl_mem src, int64_t n0, int64_t images, int64_t Hp, int64_t Wp) {
          ocl::setArgs(k_.get(), src, w_.get(), mult_.get(), bias_.get(), r.res.buf, r.y.buf, i(n0),
                       i(r.C), i(Hp), i(Wp), i(s_.K), i(r.OH), i(r.OW), i(s_.G), i(w.kh), i(w.kw),
                       i(w.sh), i(w.sw), i(w.dh), i(w.dw), i(cchunk_), r.res.dt, r.res.scale,
                       r.y.dt, r.y.scale, s_.ep.alpha, s_.ep.beta);
          ocl::launch(a.queue, k_.get(),
                      {gsize(i(r.OH * nowb)), gsize(s_.G * nkb), gsize(i(images))}, {wg0_, 1, 1});
        });
  }

 private:
  ocl::KernelHandle pad_;
  int64_t cchunk_ = 1;
  PaddedConvInput padded_;
};

// ---- conv.int8_depthwise and conv.int8_depthwise_w4 (`quad`: four output columns a
// work-item where the 8-channel kernel runs; otherwise the same kernels) ----
class DepthwiseConv : public Int8ConvBase {
 public:
  DepthwiseConv(const ir::Layer& l, ocl::Device& dev, bool quad)
      : Int8ConvBase(l, dev),
        quad_(quad),
        in_hwc_(channelsLastIn(l, 0)),
        res_hwc_(channelsLastIn(l, 1)),
        out_hwc_(channelsLastOut(l, 0)) {
    const QuantConv qc = int8::quantizeConv(l, s_);
    std::vector<float> wq(qc.w.q.begin(), qc.w.q.end());
    hwc_ = in_hwc_ || res_hwc_ || out_hwc_;
    vec_ = depthwiseVec(l, s_.K);
    // The 8-channel kernel reads the weights as [kh * kw][C] (vector loads per tap).
    w_ = ocl::MemHandle(int8::uploadFloats(dev, vec_ ? tapMajor(wq, s_.K) : wq));
    mult_ = ocl::MemHandle(int8::uploadFloats(dev, qc.mult));
    bias_ = ocl::MemHandle(int8::uploadFloats(dev, qc.bias));
    k_ = ocl::KernelHandle(
        dev.kernel(kFile, tunables(s_.ep),
                   vec_   ? (quad_ ? "conv_i8_depthwise_hwc8x4" : "conv_i8_depthwise_hwc8")
                   : hwc_ ? "conv_i8_depthwise_hwc"
                          : "conv_i8_depthwise"));
  }
  void enqueue(const ExecArgs& a) override {
    const ConvRun r = int8::runOf(l_, s_, a);
    if (r.N * s_.K * r.OH * r.OW == 0) return;
    const Window2d& w = s_.win;
    std::lock_guard<std::mutex> lock(mu_);
    if (vec_) {  // a work-item per 8 channels of an output pixel (of four: quad_)
      ocl::setArgs(k_.get(), r.x, w_.get(), mult_.get(), bias_.get(), r.res.buf, r.y.buf, i(r.C),
                   i(r.H), i(r.W), i(r.OH), i(r.OW), i(r.N * r.OH), i(w.kh), i(w.kw), i(w.sh),
                   i(w.sw), i(w.dh), i(w.dw), i(r.p.t), i(r.p.l), r.res.dt, r.res.scale, r.y.dt,
                   r.y.scale, s_.ep.alpha, s_.ep.beta);
      const int64_t cols = quad_ ? (r.OW + 3) / 4 : r.OW;
      ocl::launch(a.queue, k_.get(), depthwiseVecGrid(r.C, cols, i(r.N * r.OH)), {kDepthwiseWg, 1});
      return;
    }
    if (hwc_) {  // a work-item per output, the channel fastest
      ocl::setArgs(k_.get(), r.x, w_.get(), mult_.get(), bias_.get(), r.res.buf, r.y.buf, i(r.C),
                   i(r.H), i(r.W), i(r.OH), i(r.OW), i(r.N * r.OH), i(w.kh), i(w.kw), i(w.sh),
                   i(w.sw), i(w.dh), i(w.dw), i(r.p.t), i(r.p.l), r.res.dt, r.res.scale, r.y.dt,
                   r.y.scale, s_.ep.alpha, s_.ep.beta, cl_int{in_hwc_}, cl_int{res_hwc_},
                   cl_int{out_hwc_});
      ocl::launch(a.queue, k_.get(), {gsize(r.C), gsize(r.OW), gsize(i(r.N * r.OH))}, {});
      return;
    }
    ocl::setArgs(k_.get(), r.x, w_.get(), mult_.get(), bias_.get(), r.res.buf, r.y.buf, i(r.N),
                 i(r.C), i(r.H), i(r.W), i(r.OH), i(r.OW), i(w.kh), i(w.kw), i(w.sh), i(w.sw),
                 i(w.dh), i(w.dw), i(r.p.t), i(r.p.l), r.res.dt, r.res.scale, r.y.dt, r.y.scale,
                 s_.ep.alpha, s_.ep.beta);
    const int64_t nowb = (r.OW + kPB - 1) / kPB;
    ocl::launch(a.queue, k_.get(), {gsize(i(r.OH * nowb)), gsize(r.C), gsize(r.N)}, {wg0_, 1, 1});
  }

 private:
  bool quad_;
  bool in_hwc_, res_hwc_, out_hwc_, hwc_ = false;  // channels-last tensors (builder/layouts.cc)
  bool vec_ = false;  // all channels last and C a multiple of 8: conv_i8_depthwise_hwc8(x4)
};

// ---- conv.int8_gemm ----
class GemmConv : public Int8ConvBase {
 public:
  GemmConv(const ir::Layer& l, ocl::Device& dev) : Int8ConvBase(l, dev) {
    const QuantConv qc = int8::quantizeConv(l, s_);
    const Window2d& w = s_.win;
    const int64_t Kg = s_.K / s_.G, taps = s_.Cg * w.kh * w.kw;
    kgp_ = int8::roundUp(Kg, kGemmTile);
    rq_ = int8::roundUp(taps, 4 * kGemmTQ) / 4;
    // Quads [G][Rq][Kgp]: byte e of quad q holds tap 4q+e (little-endian, as the kernel packs).
    std::vector<int8_t> wq(static_cast<size_t>(s_.G * rq_ * kgp_ * 4), 0);
    for (int64_t g = 0; g < s_.G; ++g)
      for (int64_t k = 0; k < Kg; ++k)
        for (int64_t t = 0; t < taps; ++t)
          wq[((g * rq_ + t / 4) * kgp_ + k) * 4 + t % 4] = qc.w.q[(g * Kg + k) * taps + t];
    std::vector<cl_int4> tab(static_cast<size_t>(rq_ * 4));
    for (int64_t t = 0; t < rq_ * 4; ++t) {
      const bool ok = t < taps;
      const int64_t c = ok ? t / (w.kh * w.kw) : 0, kr = ok ? (t / w.kw) % w.kh : 0,
                    ks = ok ? t % w.kw : 0;
      tab[t] = cl_int4{{i(c), i(kr * w.dh), i(ks * w.dw), cl_int{ok}}};
    }
    w_ = ocl::MemHandle(int8::uploadRaw(dev, wq));
    taps_ = ocl::MemHandle(int8::uploadRaw(dev, tab));
    mult_ = ocl::MemHandle(int8::uploadFloats(dev, qc.mult));
    bias_ = ocl::MemHandle(int8::uploadFloats(dev, qc.bias));
    const std::string opts = tunables(s_.ep) + (dev.info().is_nvidia ? " -DUSE_DP4A" : "");
    k_ = ocl::KernelHandle(dev.kernel(kFile, opts, "conv_i8_gemm"));
  }
  void enqueue(const ExecArgs& a) override {
    const ConvRun r = int8::runOf(l_, s_, a);
    if (r.N * s_.K * r.OH * r.OW == 0) return;
    const int64_t NP = r.N * r.OH * r.OW;
    i(NP + kGemmTile);
    std::lock_guard<std::mutex> lock(mu_);
    ocl::setArgs(k_.get(), r.x, w_.get(), taps_.get(), mult_.get(), bias_.get(), r.res.buf, r.y.buf,
                 i(r.N), i(r.C), i(r.H), i(r.W), i(s_.K), i(r.OH), i(r.OW), i(s_.G), i(kgp_),
                 i(rq_), i(s_.win.sh), i(s_.win.sw), i(r.p.t), i(r.p.l), r.res.dt, r.res.scale,
                 r.y.dt, r.y.scale, s_.ep.alpha, s_.ep.beta);
    const size_t gx = static_cast<size_t>((NP + kGemmTile - 1) / kGemmTile) * kGemmWG;
    const size_t gy = static_cast<size_t>(kgp_ / kGemmTile) * kGemmWG;
    ocl::launch(a.queue, k_.get(), {gx, gy, gsize(s_.G)}, {kGemmWG, kGemmWG, 1});
  }

 private:
  int64_t kgp_ = 0, rq_ = 0;
};

// ---- tactics ----
enum class Variant { kDirect, kDepthwise, kDepthwiseW4, kGemm };

class Int8ConvTactic : public VariantTactic<ir::LayerKind::kCONVOLUTION, Variant> {
 public:
  using VariantTactic::VariantTactic;
  bool eligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                const ocl::DeviceInfo&) const override {
    int8::ConvSpec s;
    if (!int8::convEligible(l, in, &s)) return false;
    const int64_t taps2d = s.win.kh * s.win.kw;
    switch (v_) {
      case Variant::kDirect:
        return taps2d <= kExactTaps;
      case Variant::kDepthwise:
      case Variant::kDepthwiseW4:
        return taps2d <= kExactTaps && s.Cg == 1 && s.K == s.G;
      case Variant::kGemm:
        return true;
    }
    return false;
  }
  // On CPUs the float-exact direct kernel is ~10x faster: timing the GEMM would only slow
  // builds down.
  bool worthOffering(const ocl::DeviceInfo& dev) const override {
    return v_ != Variant::kGemm || dev.is_gpu;
  }
  std::unique_ptr<Kernel> instantiate(const ir::Layer& l, ocl::Device& dev) const override {
    if (v_ == Variant::kDirect) return std::make_unique<DirectConv>(l, dev);
    if (v_ == Variant::kDepthwise || v_ == Variant::kDepthwiseW4)
      return std::make_unique<DepthwiseConv>(l, dev, v_ == Variant::kDepthwiseW4);
    return std::make_unique<GemmConv>(l, dev);
  }
  std::vector<DataType> precisions() const override { return {DataType::kINT8}; }
  // The depthwise kernel reads its input and residual and writes its output either way.
  bool channelsLast(const ir::Layer& l, int i) const override {
    (void)l;
    return (v_ == Variant::kDepthwise || v_ == Variant::kDepthwiseW4) &&
           (i == 0 || i == 1 || i == -1);
  }
};

}  // namespace

void registerInt8ConvTactics() {
  registerTactic(std::make_unique<Int8ConvTactic>("conv.int8_depthwise", Variant::kDepthwise, 0));
  registerTactic(
      std::make_unique<Int8ConvTactic>("conv.int8_depthwise_w4", Variant::kDepthwiseW4, 1));
  registerTactic(std::make_unique<Int8ConvTactic>("conv.int8_direct", Variant::kDirect, 1));
  registerTactic(std::make_unique<Int8ConvTactic>("conv.int8_gemm", Variant::kGemm, 2));
}

}  // namespace clrt::tactics
