// conv.int8_1x1: INT8 1x1 convolutions of stride 1 with no padding (any group), as a GEMM over
// the channels with the pixels of an image taken as one row (kernels/int8_conv1x1.cl). Beside
// conv.int8_direct it avoids the row-edge handling that small maps pay there.
#include "clrt/tactics/int8_conv_common.h"

namespace clrt::tactics {
namespace {

using int8::ConvRun;
using int8::ConvSpec;

class Conv1x1 : public int8::Int8ConvBase {
 public:
  Conv1x1(const ir::Layer& l, ocl::Device& dev) : Int8ConvBase(l, dev) {
    uploadBlocked(dev, int8::quantizeConv(l, s_));
    k_ = ocl::KernelHandle(dev.kernel("int8_conv1x1.cl", int8::tunables(s_.ep), "conv_i8_1x1"));
  }
  void enqueue(const ExecArgs& a) override {
    const ConvRun r = int8::runOf(l_, s_, a);
    CLRT_CHECK(r.OH == r.H && r.OW == r.W && r.p.t == 0 && r.p.l == 0, kRuntime, "conv layer '",
               s_.layer, "': the 1x1 tactic needs output ", r.H, "x", r.W, " (no padding), got ",
               r.OH, "x", r.OW);
    const int64_t P = r.H * r.W;
    if (r.N * s_.K * P == 0) return;
    const int64_t nkb = (s_.K / s_.G + int8::kKB - 1) / int8::kKB;
    std::lock_guard<std::mutex> lock(mu_);
    ocl::setArgs(k_.get(), r.x, w_.get(), mult_.get(), bias_.get(), r.res.buf, r.y.buf, i(r.N),
                 i(r.C), i(s_.K), i(P), i(s_.G), r.res.dt, r.res.scale, r.y.dt, r.y.scale,
                 s_.ep.alpha, s_.ep.beta);
    ocl::launch(a.queue, k_.get(),
                {gsize(i((P + int8::kPB - 1) / int8::kPB)), gsize(s_.G * nkb), gsize(r.N)},
                {wg0_, 1, 1});
  }
};

class Conv1x1Tactic : public Tactic {
 public:
  std::string name() const override { return "conv.int8_1x1"; }
  ir::LayerKind kind() const override { return ir::LayerKind::kCONVOLUTION; }
  bool eligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                const ocl::DeviceInfo&) const override {
    ConvSpec s;
    return int8::convEligible(l, in, &s) && isPlain1x1(s.win);
  }
  std::unique_ptr<Kernel> instantiate(const ir::Layer& l, ocl::Device& dev) const override {
    return std::make_unique<Conv1x1>(l, dev);
  }
  // After conv.int8_direct (1): which is faster depends on the map size, timing decides.
  int priority() const override { return 1; }
  std::vector<DataType> precisions() const override { return {DataType::kINT8}; }
};

const TacticRegistrar kRegister([]() -> std::unique_ptr<Tactic> {
  return std::make_unique<Conv1x1Tactic>();
});

}  // namespace
}  // namespace clrt::tactics
