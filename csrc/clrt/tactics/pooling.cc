// Pooling tactic: windowed MAX/AVERAGE/LP over 1 to 3 spatial dims (pads, strides, dilations,
// count_include_pad; ceil_mode arrives through the output dims; 1-D layers may carry the 2-D form
// with H = 1) and global MAX/AVERAGE over any spatial rank. FP32 and FP16 layers (half storage,
// float arithmetic).
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
  bool is_max = true, is_lp = false, global = false, count_include_pad = false;
  float p = 2.0f;                                         // LP's norm
  std::vector<int64_t> window, strides, dilations, pads;  // pads: begins then ends
  std::string auto_pad = "NOTSET";
  DataType st = DataType::kFLOAT;  // activation storage: FLOAT, or HALF for an FP16 layer
};

bool readSpec(const ir::Layer& l, PoolSpec* s) {
  s->layer = l.name;
  const std::optional<DataType> st = floatStorage(l);
  const std::optional<ir::PoolParams> p = ir::poolParams(l);
  if (!st || !p) return false;
  s->st = *st;
  s->is_max = p->is_max, s->is_lp = p->is_lp, s->global = p->global;
  s->count_include_pad = p->count_include_pad, s->p = p->p;
  if (s->global) return true;
  s->window = p->window, s->strides = p->strides, s->dilations = p->dilations, s->pads = p->pads;
  s->auto_pad = p->win.auto_pad;
  return true;
}

// Whether the window fits an input of `rank`: one entry per spatial dim, or the 2-D form
// {1, k} of a 1-D layer.
bool rankFits(const PoolSpec& s, size_t rank) {
  if (rank < 3) return false;
  if (s.global) return true;
  const size_t n = s.window.size();
  return rank - 2 == n || (rank == 3 && n == 2 && s.window[0] == 1);
}

class PoolKernel : public Kernel {
 public:
  PoolKernel(const ir::Layer& l, ocl::Device& dev)
      : gpu_(dev.info().is_gpu),
        cu_(dev.info().compute_units),
        forced_parts_(gpoolPartsOverride()),
        hwc_in_(channelsLastIn(l, 0)),
        hwc_out_(channelsLastOut(l, 0)) {
    CLRT_CHECK(readSpec(l, &s_), kBuild, "pooling layer '", l.name,
               "' has attributes the pooling tactic does not support");
    const std::string opts = storageOption(s_.st) + str(" -DGPOOL_WG=", kReduceWG);
    if (s_.global) {
      loop_ = ocl::KernelHandle(dev.kernel(kFile, opts, "global_pool_loop"));
      reduce_ = ocl::KernelHandle(
          dev.kernel(kFile, opts, hwc_in_ ? "global_pool_hwc" : "global_pool_reduce"));
      if (hwc_in_) {
        global8_ = ocl::KernelHandle(dev.kernel(kFile, opts, "global_pool_hwc8"));
        global8end_ = ocl::KernelHandle(dev.kernel(kFile, opts, "global_pool_hwc8_end"));
      }
    } else {
      window_ = ocl::KernelHandle(dev.kernel(kFile, opts, "pool3d"));
      // CPUs, NCHW in and out, 1-D / 2-D windows: a work-item per output row.
      if (!gpu_ && !hwc_in_ && !hwc_out_ && s_.window.size() <= 2)
        rows_ = ocl::KernelHandle(dev.kernel(kFile, opts, "pool2d_rows"));
      // Channels last in and out, 2-D MAX/AVERAGE: 8 channels a work-item when C % 8 == 0.
      if (hwc_in_ && hwc_out_ && !s_.is_lp && s_.window.size() == 2)
        window8_ = ocl::KernelHandle(dev.kernel(kFile, opts, "pool2d_hwc8"));
    }
  }

  void enqueue(const ExecArgs& a) override {
    CLRT_CHECK(!a.inputs.empty() && !a.outputs.empty(), kRuntime, "pooling layer '", s_.layer,
               "' got no input/output tensors");
    const DeviceTensor& x = a.inputs[0];
    const DeviceTensor& y = a.outputs[0];
    requireStorage(x, s_.st, s_.layer, "input");
    requireStorage(y, s_.st, s_.layer, "output");
    CLRT_CHECK(rankFits(s_, x.dims.size()) && y.dims.size() == x.dims.size() &&
                   y.dims[0] == x.dims[0] && y.dims[1] == x.dims[1],
               kRuntime, "pooling layer '", s_.layer, "': input ", dimsToString(x.dims),
               " and output ", dimsToString(y.dims), " must be [N, C, ...spatial] alike with ",
               s_.window.size(), " window dims");
    const cl_int NC = kint(x.dims[0] * x.dims[1], s_.layer), C = kint(x.dims[1], s_.layer);
    kint(volume(x.dims), s_.layer);
    const int64_t n = volume(y.dims);
    kint(n, s_.layer);
    if (n == 0) return;
    const cl_int is_max = s_.is_max ? 1 : 0;
    std::lock_guard<std::mutex> lock(mu_);
    if (s_.global) {
      CLRT_CHECK(n == NC, kRuntime, "global pooling layer '", s_.layer, "': output ",
                 dimsToString(y.dims), " must be 1 in every spatial dim");
      const cl_int HW = kint(volume(x.dims) / std::max<int64_t>(NC, 1), s_.layer);
      const cl_int N = kint(x.dims[0], s_.layer);
      if (hwc_in_ && C % kDepthwiseVec == 0) {  // work-groups of channel octets x rows, parts
        const int64_t P = gpoolHwc8Parts(x.dims, cu_, forced_parts_);
        CLRT_CHECK(P == 1 || bufferBytes(a.workspace) >= gpoolHwc8Workspace(x.dims, P), kRuntime,
                   "global pooling layer '", s_.layer, "': workspace too small for ", P, " parts");
        ocl::setArgs(global8_.get(), x.buf, y.buf, N, C, HW, is_max, kint(P, s_.layer),
                     a.workspace);
        ocl::launch(a.queue, global8_.get(), {gpoolHwcGlobalSize(x.dims, true, P)}, {kGpoolHwcWG});
        if (P > 1) {
          ocl::setArgs(global8end_.get(), a.workspace, y.buf, N, C, HW, is_max, kint(P, s_.layer));
          ocl::launch(a.queue, global8end_.get(), {gsize(NC / kDepthwiseVec)}, {});
        }
      } else if (hwc_in_) {  // work-groups of channels x rows
        ocl::setArgs(reduce_.get(), x.buf, y.buf, N, C, HW, is_max);
        ocl::launch(a.queue, reduce_.get(), {gpoolHwcGlobalSize(x.dims)}, {kGpoolHwcWG});
      } else if (gpu_ && HW > 64) {
        // A work-group per (n, c) pays off only where many work-items run at once.
        ocl::setArgs(reduce_.get(), x.buf, y.buf, NC, HW, is_max);
        ocl::launch(a.queue, reduce_.get(), {static_cast<size_t>(NC) * kReduceWG}, {kReduceWG});
      } else {
        ocl::setArgs(loop_.get(), x.buf, y.buf, NC, HW, is_max);
        ocl::launch(a.queue, loop_.get(), {gsize(NC)}, {});
      }
      return;
    }
    const size_t nw = s_.window.size(), nsp = x.dims.size() - 2;
    WinPack g;
    for (size_t i = 0; i < nw; ++i) {
      const size_t j = 3 - nw + i;  // pack slot
      // The tensor dim of window entry i: a 1-D layer's 2-D form has no H in the tensor.
      const int64_t dimIdx = static_cast<int64_t>(i) - static_cast<int64_t>(nw - nsp);
      const int64_t in = dimIdx < 0 ? 1 : x.dims[2 + dimIdx];
      const int64_t out = dimIdx < 0 ? 1 : y.dims[2 + dimIdx];
      setWinAxis(&g, j, in, out, s_.window[i], s_.strides[i], s_.dilations[i], s_.pads[i],
                 s_.pads[nw + i], s_.auto_pad, s_.layer);
    }
    if (window8_.get() && x.dims.size() == 4 && C % kDepthwiseVec == 0) {
      const cl_int NOH = kint(y.dims[0] * y.dims[2], s_.layer);
      ocl::setArgs(window8_.get(), x.buf, y.buf, g, is_max, cl_int{s_.count_include_pad}, C, NOH);
      ocl::launch(a.queue, window8_.get(), depthwiseVecGrid(C, y.dims[3], NOH), {kDepthwiseWg, 1});
      return;
    }
    const cl_int type = s_.is_lp ? 2 : is_max;
    if (rows_.get()) {
      const cl_int rows = kint(NC * int64_t{g.out[1]}, s_.layer);
      ocl::setArgs(rows_.get(), x.buf, y.buf, rows, g, type, cl_int{s_.count_include_pad}, s_.p);
      ocl::launch(a.queue, rows_.get(), {gsize(rows)}, {});
      return;
    }
    ocl::setArgs(window_.get(), x.buf, y.buf, static_cast<cl_int>(n), g, type,
                 cl_int{s_.count_include_pad}, s_.p, C, cl_int{hwc_in_}, cl_int{hwc_out_});
    ocl::launch(a.queue, window_.get(), {gsize(n)}, {});
  }

  size_t workspaceSize(const std::vector<Dims>& in, const std::vector<Dims>&) const override {
    return s_.global && hwc_in_ ? gpoolHwc8Workspace(in, cu_, forced_parts_) : 0;
  }

 private:
  PoolSpec s_;
  bool gpu_;
  int cu_, forced_parts_;  // compute units; CLRT_GPOOL_PARTS (gpoolHwc8Parts)
  bool hwc_in_, hwc_out_;  // input / output stored channels last (builder/layouts.cc)
  std::mutex mu_;          // kernel arguments are per cl_kernel: one enqueue at a time
  ocl::KernelHandle window_, window8_, rows_, loop_, reduce_, global8_, global8end_;
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
    return rankFits(s, in[0].dims.size());
  }
  std::unique_ptr<Kernel> instantiate(const ir::Layer& l, ocl::Device& dev) const override {
    return std::make_unique<PoolKernel>(l, dev);
  }
  std::vector<DataType> precisions() const override { return {DataType::kFLOAT, DataType::kHALF}; }
  // Input and output either way: NCHW or channels last.
  bool channelsLast(const ir::Layer& l, int i) const override {
    (void)l;
    (void)i;
    return true;
  }
};

}  // namespace

void registerPoolingTactics() { registerTactic(std::make_unique<PoolTactic>()); }

}  // namespace clrt::tactics
