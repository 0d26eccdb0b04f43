// Pooling tactic: windowed MAX/AVERAGE (pads, strides, dilations, count_include_pad; ceil_mode
// arrives through the output dims) and global MAX/AVERAGE, over [N,C,H,W] or [N,C,W] as H=1.
// FP32 and FP16 layers (half storage, float arithmetic).
#include <mutex>
#include <tuple>

#include "clrt/tactics/compute_common.h"

namespace clrt::tactics {
namespace {

constexpr const char* kFile = "pooling.cl";
// The global pooling reduction's work-group size (GPOOL_WG of pooling.cl, a power of two),
// passed as a build option.
constexpr size_t kReduceWG = 128;

struct PoolSpec {
  std::string layer;
  bool is_max = true, global = false, count_include_pad = false;
  Window2d win;
  DataType st = DataType::kFLOAT;  // activation storage: FLOAT, or HALF for an FP16 layer
};

bool readSpec(const ir::Layer& l, PoolSpec* s) {
  s->layer = l.name;
  const std::optional<DataType> st = floatStorage(l);
  const std::optional<ir::PoolParams> p = ir::poolParams(l);
  if (!st || !p) return false;
  s->st = *st;
  s->is_max = p->is_max, s->global = p->global, s->count_include_pad = p->count_include_pad;
  s->win = p->win;
  return true;
}

class PoolKernel : public Kernel {
 public:
  PoolKernel(const ir::Layer& l, ocl::Device& dev) : gpu_(dev.info().is_gpu) {
    CLRT_CHECK(readSpec(l, &s_), kBuild, "pooling layer '", l.name,
               "' has attributes the pooling tactic does not support");
    const std::string opts = storageOption(s_.st) + str(" -DGPOOL_WG=", kReduceWG);
    if (s_.global) {
      loop_ = ocl::KernelHandle(dev.kernel(kFile, opts, "global_pool_loop"));
      reduce_ = ocl::KernelHandle(dev.kernel(kFile, opts, "global_pool_reduce"));
    } else {
      window_ = ocl::KernelHandle(dev.kernel(kFile, opts, "pool2d"));
    }
  }

  void enqueue(const ExecArgs& a) override {
    CLRT_CHECK(!a.inputs.empty() && !a.outputs.empty(), kRuntime, "pooling layer '", s_.layer,
               "' got no input/output tensors");
    const DeviceTensor& x = a.inputs[0];
    const DeviceTensor& y = a.outputs[0];
    requireStorage(x, s_.st, s_.layer, "input");
    requireStorage(y, s_.st, s_.layer, "output");
    CLRT_CHECK((x.dims.size() == 3 || x.dims.size() == 4) && y.dims.size() == x.dims.size() &&
                   y.dims[0] == x.dims[0] && y.dims[1] == x.dims[1],
               kRuntime, "pooling layer '", s_.layer, "': input ", dimsToString(x.dims),
               " and output ", dimsToString(y.dims), " must be [N, C, (H,) W] alike");
    const auto [H, W] = spatialHW(x.dims);
    const auto [OH, OW] = spatialHW(y.dims);
    const cl_int NC = kint(x.dims[0] * x.dims[1], s_.layer);
    kint(volume(x.dims), s_.layer);
    kint(volume(y.dims), s_.layer);
    if (volume(y.dims) == 0) return;
    const cl_int is_max = s_.is_max ? 1 : 0;
    std::lock_guard<std::mutex> lock(mu_);
    if (s_.global) {
      CLRT_CHECK(OH == 1 && OW == 1, kRuntime, "global pooling layer '", s_.layer, "': output ",
                 dimsToString(y.dims), " must be 1 in every spatial dim");
      const cl_int HW = kint(H * W, s_.layer);
      // A work-group per (n, c) pays off only where many work-items run at once.
      if (gpu_ && HW > 64) {
        ocl::setArgs(reduce_.get(), x.buf, y.buf, NC, HW, is_max);
        ocl::launch(a.queue, reduce_.get(), {static_cast<size_t>(NC) * kReduceWG}, {kReduceWG});
      } else {
        ocl::setArgs(loop_.get(), x.buf, y.buf, NC, HW, is_max);
        ocl::launch(a.queue, loop_.get(), {gsize(NC)}, {});
      }
      return;
    }
    const Window2d& w = s_.win;
    const Pads p = resolvePads(w, H, W, OH, OW);
    auto i = [&](int64_t v) { return kint(v, s_.layer); };
    ocl::setArgs(window_.get(), x.buf, y.buf, NC, i(H), i(W), i(OH), i(OW), i(w.kh), i(w.kw),
                 i(w.sh), i(w.sw), i(w.dh), i(w.dw), i(p.t), i(p.l), i(p.b), i(p.r), is_max,
                 cl_int{s_.count_include_pad});
    ocl::launch(a.queue, window_.get(), {gsize(OW), gsize(OH), gsize(NC)}, {});
  }

 private:
  PoolSpec s_;
  bool gpu_;
  std::mutex mu_;  // kernel arguments are per cl_kernel: one enqueue at a time
  ocl::KernelHandle window_, loop_, reduce_;
};

class PoolTactic : public Tactic {
 public:
  std::string name() const override { return "pool.direct"; }
  ir::LayerKind kind() const override { return ir::LayerKind::kPOOLING; }
  bool eligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                const ocl::DeviceInfo&) const override {
    PoolSpec s;
    if (!readSpec(l, &s) || in.empty() || !storedAs(l, in, 0, s.st)) return false;
    if (outputDtype(l, 0, s.st) != s.st) return false;
    return in[0].dims.size() == 3 || in[0].dims.size() == 4;
  }
  std::unique_ptr<Kernel> instantiate(const ir::Layer& l, ocl::Device& dev) const override {
    return std::make_unique<PoolKernel>(l, dev);
  }
  std::vector<DataType> precisions() const override { return {DataType::kFLOAT, DataType::kHALF}; }
};

}  // namespace

void registerPoolingTactics() { registerTactic(std::make_unique<PoolTactic>()); }

}  // namespace clrt::tactics
