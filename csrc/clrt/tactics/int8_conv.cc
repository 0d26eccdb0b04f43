// INT8 convolution tactics: conv.int8_direct (any group, float-exact sums: the CPU's fast path),
// conv.int8_depthwise, and conv.int8_gemm (GPUs: implicit GEMM on local-memory tiles, PTX dp4a
// on NVIDIA). Weights are quantized per output channel when instantiated; every tactic runs the
// fused epilogue y = act(acc * s_x * s_w[k] + bias[k] + residual) stored FLOAT, HALF or INT8.
#include <mutex>
#include <tuple>

#include "clrt/tactics/int8_common.h"

namespace clrt::tactics {
namespace {

using int8::Io;

constexpr const char* kFile = "int8_conv.cl";
// Tunables of int8_conv.cl, passed to it as build options (tunables()): products summed exactly
// in float before moving to int32 (EXACT_TAPS), output channels (CONV_KB, fixed by float16
// accumulators) and columns (CONV_PB) per direct work-item, the implicit GEMM's work-group side
// (GEMM_WG), outputs per work-item side (GEMM_R) and int8 quads per K step (GEMM_TQ).
constexpr int64_t kExactTaps = 1024;
constexpr int64_t kKB = 16;
constexpr int64_t kPB = 8;
constexpr size_t kGemmWG = 16;
constexpr int64_t kGemmR = 4;
constexpr int64_t kGemmTile = kGemmWG * kGemmR;  // GEMM_TM = GEMM_TN
constexpr int64_t kGemmTQ = 8;
std::string tunables(const Epilogue& ep) {
  return ep.options() + str(" -DEXACT_TAPS=", kExactTaps, " -DCONV_KB=", kKB, " -DCONV_PB=", kPB,
                            " -DGEMM_WG=", kGemmWG, " -DGEMM_R=", kGemmR, " -DGEMM_TQ=", kGemmTQ);
}

struct Spec {
  std::string layer;
  int64_t K = 0, Cg = 0, G = 1;
  Window2d win;
  Epilogue ep;
  bool has_bias = false;
  float s_in = 0.0f;
};

bool readSpec(const ir::Layer& l, Spec* s) {
  const std::optional<ir::ConvParams> p = ir::convParams(l);
  if (!p) return false;
  s->layer = l.name;
  s->K = p->K, s->Cg = p->Cg, s->G = p->G;
  s->win = p->win;
  s->ep = Epilogue(p->ep);
  s->has_bias = p->has_bias;
  s->s_in = inputScale(l, 0);
  return true;
}

Spec specOf(const ir::Layer& l) {
  Spec s;
  CLRT_CHECK(readSpec(l, &s) && s.s_in > 0.0f, kBuild, "INT8 convolution layer '", l.name,
             "' has weights/attributes/scales no INT8 conv tactic supports");
  return s;
}

bool rankFits(const Spec& s, size_t rank) { return convRankFits(s.win, rank); }

bool convEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, Spec* s) {
  if (!int8::int8Layer(l, in) || !readSpec(l, s) || !int8::residualOk(l, in, 1)) return false;
  if (!rankFits(*s, in[0].dims.size())) return false;
  const int64_t C = in[0].dims[1];
  return C < 0 || C == s->Cg * s->G;
}

struct Run : ConvShape {
  cl_mem x = nullptr;
  Io res, y;
};

Run runOf(const ir::Layer& l, const Spec& s, const ExecArgs& a) {
  CLRT_CHECK(!a.inputs.empty() && !a.outputs.empty(), kRuntime, "conv layer '", s.layer,
             "' got no input/output tensors");
  const DeviceTensor& x = a.inputs[0];
  const DeviceTensor& y = a.outputs[0];
  requireStorage(x, DataType::kINT8, s.layer, "input");
  Run r;
  static_cast<ConvShape&>(r) = convShape(x.dims, y.dims, s.K, s.Cg, s.G, s.win, s.layer);
  r.x = x.buf;
  r.y = int8::writeIo(l, a, 0);
  r.res = int8::readIo(l, a, 1, "residual");
  if (r.res.buf)
    CLRT_CHECK(a.inputs[1].dims == y.dims, kRuntime, "conv layer '", s.layer, "': residual ",
               dimsToString(a.inputs[1].dims), " must have the output shape ",
               dimsToString(y.dims));
  return r;
}

// Quantized weights [K][Cg*kh*kw], per-channel dequantize factors s_in * s_w[k] and the bias.
struct QuantConv {
  QuantRows w;
  std::vector<float> mult, bias;
};

QuantConv quantizeConv(const ir::Layer& l, const Spec& s) {
  const int64_t taps = s.Cg * s.win.kh * s.win.kw;
  QuantConv qc;
  qc.w = quantizeRows(l.weights.at("kernel").asFloats(), s.K, taps, l.name);
  qc.mult.resize(static_cast<size_t>(s.K));
  for (int64_t k = 0; k < s.K; ++k) qc.mult[k] = s.s_in * qc.w.scale[k];
  qc.bias = s.has_bias ? l.weights.at("bias").asFloats()
                       : std::vector<float>(static_cast<size_t>(s.K), 0.0f);
  return qc;
}

class Int8ConvBase : public Kernel {
 public:
  Int8ConvBase(const ir::Layer& l, ocl::Device& dev)
      : l_(int8::attrsOf(l)), s_(specOf(l)), wg0_(dev.info().is_gpu ? 64 : 8) {}

 protected:
  cl_int i(int64_t v) const { return kint(v, s_.layer); }
  ir::Layer l_;
  Spec s_;
  size_t wg0_;
  std::mutex mu_;  // kernel arguments are per cl_kernel: one enqueue at a time
  ocl::KernelHandle k_;
  ocl::MemHandle w_, mult_, bias_, taps_;
};

// ---- conv.int8_direct ----
class DirectConv : public Int8ConvBase {
 public:
  DirectConv(const ir::Layer& l, ocl::Device& dev) : Int8ConvBase(l, dev) {
    // The quantized weights are stored as floats: the kernel sums their products exactly in
    // float FMAs (int8_conv.cl). Packed [G][Kg/KB][Cg][kh][kw][KB] for its 16-channel loads.
    const QuantConv qc = quantizeConv(l, s_);
    const int64_t Kg = s_.K / s_.G, nkb = (Kg + kKB - 1) / kKB,
                  taps = s_.Cg * s_.win.kh * s_.win.kw;
    std::vector<float> wp(static_cast<size_t>(s_.G * nkb * taps * kKB), 0.0f);
    std::vector<float> mp(static_cast<size_t>(s_.G * nkb * kKB), 0.0f), bp(mp.size(), 0.0f);
    for (int64_t g = 0; g < s_.G; ++g)
      for (int64_t k = 0; k < Kg; ++k) {
        const int64_t blk = g * nkb + k / kKB, kk = k % kKB, kc = g * Kg + k;
        for (int64_t t = 0; t < taps; ++t) wp[(blk * taps + t) * kKB + kk] = qc.w.q[kc * taps + t];
        mp[blk * kKB + kk] = qc.mult[kc];
        bp[blk * kKB + kk] = qc.bias[kc];
      }
    w_ = ocl::MemHandle(int8::uploadFloats(dev, wp));
    mult_ = ocl::MemHandle(int8::uploadFloats(dev, mp));
    bias_ = ocl::MemHandle(int8::uploadFloats(dev, bp));
    k_ = ocl::KernelHandle(dev.kernel(kFile, tunables(s_.ep), "conv_i8_direct"));
    cchunk_ = std::max<int64_t>(1, kExactTaps / (s_.win.kh * s_.win.kw));
  }
  void enqueue(const ExecArgs& a) override {
    const Run r = runOf(l_, s_, a);
    if (r.N * s_.K * r.OH * r.OW == 0) return;
    const Window2d& w = s_.win;
    const int64_t nkb = (s_.K / s_.G + kKB - 1) / kKB, nowb = (r.OW + kPB - 1) / kPB;
    std::lock_guard<std::mutex> lock(mu_);
    ocl::setArgs(k_.get(), r.x, w_.get(), mult_.get(), bias_.get(), r.res.buf, r.y.buf, i(r.N),
                 i(r.C), i(r.H), i(r.W), i(s_.K), i(r.OH), i(r.OW), i(s_.G), i(w.kh), i(w.kw),
                 i(w.sh), i(w.sw), i(w.dh), i(w.dw), i(r.p.t), i(r.p.l), i(cchunk_), r.res.dt,
                 r.res.scale, r.y.dt, r.y.scale, s_.ep.alpha, s_.ep.beta);
    ocl::launch(a.queue, k_.get(), {gsize(i(r.OH * nowb)), gsize(s_.G * nkb), gsize(r.N)},
                {wg0_, 1, 1});
  }

 private:
  int64_t cchunk_ = 1;
};

// ---- conv.int8_depthwise ----
class DepthwiseConv : public Int8ConvBase {
 public:
  DepthwiseConv(const ir::Layer& l, ocl::Device& dev) : Int8ConvBase(l, dev) {
    const QuantConv qc = quantizeConv(l, s_);
    w_ = ocl::MemHandle(int8::uploadFloats(dev, std::vector<float>(qc.w.q.begin(), qc.w.q.end())));
    mult_ = ocl::MemHandle(int8::uploadFloats(dev, qc.mult));
    bias_ = ocl::MemHandle(int8::uploadFloats(dev, qc.bias));
    k_ = ocl::KernelHandle(dev.kernel(kFile, tunables(s_.ep), "conv_i8_depthwise"));
  }
  void enqueue(const ExecArgs& a) override {
    const Run r = runOf(l_, s_, a);
    if (r.N * s_.K * r.OH * r.OW == 0) return;
    const Window2d& w = s_.win;
    const int64_t nowb = (r.OW + kPB - 1) / kPB;
    std::lock_guard<std::mutex> lock(mu_);
    ocl::setArgs(k_.get(), r.x, w_.get(), mult_.get(), bias_.get(), r.res.buf, r.y.buf, i(r.N),
                 i(r.C), i(r.H), i(r.W), i(r.OH), i(r.OW), i(w.kh), i(w.kw), i(w.sh), i(w.sw),
                 i(w.dh), i(w.dw), i(r.p.t), i(r.p.l), r.res.dt, r.res.scale, r.y.dt, r.y.scale,
                 s_.ep.alpha, s_.ep.beta);
    ocl::launch(a.queue, k_.get(), {gsize(i(r.OH * nowb)), gsize(r.C), gsize(r.N)}, {wg0_, 1, 1});
  }
};

// ---- conv.int8_gemm ----
class GemmConv : public Int8ConvBase {
 public:
  GemmConv(const ir::Layer& l, ocl::Device& dev) : Int8ConvBase(l, dev) {
    const QuantConv qc = quantizeConv(l, s_);
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
    const Run r = runOf(l_, s_, a);
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
enum class Variant { kDirect, kDepthwise, kGemm };

class Int8ConvTactic : public Tactic {
 public:
  Int8ConvTactic(const char* name, Variant v, int prio) : name_(name), v_(v), prio_(prio) {}
  std::string name() const override { return name_; }
  ir::LayerKind kind() const override { return ir::LayerKind::kCONVOLUTION; }
  bool eligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                const ocl::DeviceInfo&) const override {
    Spec s;
    if (!convEligible(l, in, &s)) return false;
    const int64_t taps2d = s.win.kh * s.win.kw;
    switch (v_) {
      case Variant::kDirect:
        return taps2d <= kExactTaps;
      case Variant::kDepthwise:
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
    switch (v_) {
      case Variant::kDirect:
        return std::make_unique<DirectConv>(l, dev);
      case Variant::kDepthwise:
        return std::make_unique<DepthwiseConv>(l, dev);
      case Variant::kGemm:
        break;
    }
    return std::make_unique<GemmConv>(l, dev);
  }
  int priority() const override { return prio_; }
  std::vector<DataType> precisions() const override { return {DataType::kINT8}; }

 private:
  const char* name_;
  Variant v_;
  int prio_;
};

}  // namespace

void registerInt8ConvTactics() {
  registerTactic(std::make_unique<Int8ConvTactic>("conv.int8_depthwise", Variant::kDepthwise, 0));
  registerTactic(std::make_unique<Int8ConvTactic>("conv.int8_direct", Variant::kDirect, 1));
  registerTactic(std::make_unique<Int8ConvTactic>("conv.int8_gemm", Variant::kGemm, 2));
}

}  // namespace clrt::tactics
