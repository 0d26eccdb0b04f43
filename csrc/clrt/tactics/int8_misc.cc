// INT8 tactics besides conv/matmul: "pool.int8" (windowed and global MAX/AVERAGE),
// "eltwise.int8_add" (SUM of two INT8 tensors, NumPy broadcasting, per-input scales) and
// "concat.int8" (each input requantized to the output's scale). Outputs FLOAT, HALF or INT8.
#include <mutex>
#include <tuple>

#include "clrt/tactics/int8_common.h"
#include "clrt/tactics/strided.h"

namespace clrt::tactics {
namespace {

using int8::Io;

constexpr const char* kFile = "int8_misc.cl";
// The global pooling reduction's work-group size (GPOOL_WG of int8_misc.cl, a power of two),
// passed as a build option to the whole program.
constexpr size_t kReduceWG = 128;
const std::string kTunables = str("-DGPOOL_WG=", kReduceWG);

// ---- pool.int8 ----
class PoolKernel : public Kernel {
 public:
  PoolKernel(const ir::Layer& l, ocl::Device& dev)
      : l_(int8::attrsOf(l)),
        gpu_(dev.info().is_gpu),
        cu_(dev.info().compute_units),
        forced_parts_(gpoolPartsOverride()),
        s_in_(inputScale(l, 0)),
        hwc_in_(channelsLastIn(l, 0)),
        hwc_out_(channelsLastOut(l, 0)) {
    const std::optional<ir::PoolParams> p = ir::poolParams(l);
    CLRT_CHECK(p && s_in_ > 0.0f, kBuild, "INT8 pooling layer '", l.name,
               "' has attributes/scales pool.int8 does not support");
    s_ = *p;
    if (s_.global) {
      loop_ = ocl::KernelHandle(dev.kernel(kFile, kTunables, "gpool_i8_loop"));
      reduce_ = ocl::KernelHandle(
          dev.kernel(kFile, kTunables, hwc_in_ ? "gpool_i8_hwc" : "gpool_i8_reduce"));
      if (hwc_in_) {
        global8_ = ocl::KernelHandle(dev.kernel(kFile, kTunables, "gpool_i8_hwc8"));
        global8end_ = ocl::KernelHandle(dev.kernel(kFile, kTunables, "gpool_i8_hwc8_end"));
      }
    } else if (hwc_in_) {
      window_ = ocl::KernelHandle(dev.kernel(kFile, kTunables, "pool_i8_hwc"));
      window4_ = ocl::KernelHandle(dev.kernel(kFile, kTunables, "pool_i8_hwc4"));
      if (hwc_out_) window16_ = ocl::KernelHandle(dev.kernel(kFile, kTunables, "pool_i8_hwc16"));
    } else {
      window_ = ocl::KernelHandle(dev.kernel(kFile, kTunables, "pool_i8"));
      // CPUs, NCHW out: a work-item per output row.
      if (!gpu_ && !hwc_out_)
        rows_ = ocl::KernelHandle(dev.kernel(kFile, kTunables, "pool_i8_rows"));
    }
  }

  void enqueue(const ExecArgs& a) override {
    const std::string& name = l_.name;
    CLRT_CHECK(!a.inputs.empty() && !a.outputs.empty(), kRuntime, "pooling layer '", name,
               "' got no input/output tensors");
    const DeviceTensor& x = a.inputs[0];
    const Dims& yd = a.outputs[0].dims;
    requireStorage(x, DataType::kINT8, name, "input");
    const Io y = int8::writeIo(l_, a, 0);
    CLRT_CHECK((x.dims.size() == 3 || x.dims.size() == 4) && yd.size() == x.dims.size() &&
                   yd[0] == x.dims[0] && yd[1] == x.dims[1],
               kRuntime, "pooling layer '", name, "': input ", dimsToString(x.dims), " and output ",
               dimsToString(yd), " must be [N, C, (H,) W] alike");
    const auto [H, W] = spatialHW(x.dims);
    const auto [OH, OW] = spatialHW(yd);
    const cl_int NC = kint(x.dims[0] * x.dims[1], name), C = kint(x.dims[1], name);
    kint(volume(x.dims), name);
    kint(volume(yd), name);
    if (volume(yd) == 0) return;
    const cl_int is_max = s_.is_max ? 1 : 0;
    std::lock_guard<std::mutex> lock(mu_);
    if (s_.global) {
      CLRT_CHECK(OH == 1 && OW == 1, kRuntime, "global pooling layer '", name, "': output ",
                 dimsToString(yd), " must be 1 in every spatial dim");
      const cl_int HW = kint(H * W, name);
      const cl_int N = kint(x.dims[0], name);
      if (hwc_in_ && C % kDepthwiseVec == 0) {  // pooling.cc's octets x rows, in parts
        const int64_t P = gpoolHwc8Parts(x.dims, cu_, forced_parts_);
        CLRT_CHECK(P == 1 || bufferBytes(a.workspace) >= gpoolHwc8Workspace(x.dims, P), kRuntime,
                   "global pooling layer '", name, "': workspace too small for ", P, " parts");
        ocl::setArgs(global8_.get(), x.buf, y.buf, N, C, HW, is_max, s_in_, y.dt, y.scale,
                     kint(P, name), a.workspace);
        ocl::launch(a.queue, global8_.get(), {gpoolHwcGlobalSize(x.dims, true, P)}, {kGpoolHwcWG});
        if (P > 1) {
          ocl::setArgs(global8end_.get(), a.workspace, y.buf, N, C, HW, is_max, s_in_, y.dt,
                       y.scale, kint(P, name));
          ocl::launch(a.queue, global8end_.get(), {gsize(NC / kDepthwiseVec)}, {});
        }
      } else if (hwc_in_) {  // work-groups of channels x rows (pooling.cl's)
        ocl::setArgs(reduce_.get(), x.buf, y.buf, N, C, HW, is_max, s_in_, y.dt, y.scale);
        ocl::launch(a.queue, reduce_.get(), {gpoolHwcGlobalSize(x.dims)}, {kGpoolHwcWG});
      } else if (gpu_ && HW > 64) {  // one work-group per (n, c) row
        ocl::setArgs(reduce_.get(), x.buf, y.buf, NC, HW, is_max, s_in_, y.dt, y.scale);
        ocl::launch(a.queue, reduce_.get(), {static_cast<size_t>(NC) * kReduceWG}, {kReduceWG});
      } else {
        ocl::setArgs(loop_.get(), x.buf, y.buf, NC, HW, is_max, s_in_, y.dt, y.scale);
        ocl::launch(a.queue, loop_.get(), {gsize(NC)}, {});
      }
      return;
    }
    const Window2d& w = s_.win;
    const Pads p = resolvePads(w, H, W, OH, OW);
    auto i = [&](int64_t v) { return kint(v, name); };
    if (window16_.get() && y.dt == static_cast<cl_int>(DataType::kINT8) && C % 16 == 0) {
      // Work-groups of all channel groups (up to 16) x output columns: 64 work-items.
      const size_t cg = static_cast<size_t>(C / 16), lc = std::min<size_t>(cg, 16);
      ocl::setArgs(window16_.get(), x.buf, y.buf, C, i(H), i(W), i(OH), i(OW), i(x.dims[0] * OH),
                   i(w.kh), i(w.kw), i(w.sh), i(w.sw), i(w.dh), i(w.dw), i(p.t), i(p.l), i(p.b),
                   i(p.r), is_max, cl_int{s_.count_include_pad}, s_in_, y.scale);
      ocl::launch(a.queue, window16_.get(), {cg, gsize(OW), gsize(x.dims[0] * OH)},
                  {lc, 64 / lc, 1});
      return;
    }
    if (hwc_in_) {
      const bool vec = C % 4 == 0;
      cl_kernel k = vec ? window4_.get() : window_.get();
      ocl::setArgs(k, x.buf, y.buf, C, i(H), i(W), i(OH), i(OW), i(x.dims[0] * OH), i(w.kh),
                   i(w.kw), i(w.sh), i(w.sw), i(w.dh), i(w.dw), i(p.t), i(p.l), i(p.b), i(p.r),
                   is_max, cl_int{s_.count_include_pad}, s_in_, y.dt, y.scale, cl_int{hwc_out_});
      ocl::launch(a.queue, k, {gsize(vec ? C / 4 : C), gsize(OW), gsize(x.dims[0] * OH)}, {});
      return;
    }
    if (rows_.get()) {
      const cl_int rows = i(int64_t{NC} * OH);
      ocl::setArgs(rows_.get(), x.buf, y.buf, rows, i(H), i(W), i(OH), i(OW), i(w.kh), i(w.kw),
                   i(w.sh), i(w.sw), i(w.dh), i(w.dw), i(p.t), i(p.l), i(p.b), i(p.r), is_max,
                   cl_int{s_.count_include_pad}, s_in_, y.dt, y.scale);
      ocl::launch(a.queue, rows_.get(), {gsize(rows)}, {});
      return;
    }
    ocl::setArgs(window_.get(), x.buf, y.buf, NC, i(H), i(W), i(OH), i(OW), i(w.kh), i(w.kw),
                 i(w.sh), i(w.sw), i(w.dh), i(w.dw), i(p.t), i(p.l), i(p.b), i(p.r), is_max,
                 cl_int{s_.count_include_pad}, s_in_, y.dt, y.scale, C, cl_int{hwc_out_});
    ocl::launch(a.queue, window_.get(), {gsize(OW), gsize(OH), gsize(NC)}, {});
  }

  size_t workspaceSize(const std::vector<Dims>& in, const std::vector<Dims>&) const override {
    return s_.global && hwc_in_ ? gpoolHwc8Workspace(in, cu_, forced_parts_) : 0;
  }

 private:
  ir::Layer l_;
  ir::PoolParams s_;
  bool gpu_;
  int cu_, forced_parts_;  // compute units; CLRT_GPOOL_PARTS (gpoolHwc8Parts)
  float s_in_;
  bool hwc_in_, hwc_out_;  // input / output stored channels last (builder/layouts.cc)
  std::mutex mu_;          // kernel arguments are per cl_kernel: one enqueue at a time
  ocl::KernelHandle window_, window4_, window16_, rows_, loop_, reduce_, global8_, global8end_;
};

bool poolEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                  const ocl::DeviceInfo&) {
  if (!int8::int8Layer(l, in)) return false;
  const std::optional<ir::PoolParams> p = ir::poolParams(l);
  // pool_i8 runs 1-D/2-D MAX/AVERAGE windows (win) only.
  return p && !p->is_lp && p->window.size() <= 2 &&
         (in[0].dims.size() == 3 || in[0].dims.size() == 4);
}

// ---- eltwise.int8_add ----
class AddKernel : public Kernel {
 public:
  AddKernel(const ir::Layer& l, ocl::Device& dev) : l_(int8::attrsOf(l)) {
    k_ = ocl::KernelHandle(dev.kernel(kFile, kTunables, "add_i8"));
  }
  void enqueue(const ExecArgs& a) override {
    const std::string& name = l_.name;
    CLRT_CHECK(a.inputs.size() == 2 && !a.outputs.empty(), kRuntime, "elementwise layer '", name,
               "' needs two inputs and an output");
    const DeviceTensor& A = a.inputs[0];
    const DeviceTensor& B = a.inputs[1];
    requireStorage(A, DataType::kINT8, name, "input a");
    requireStorage(B, DataType::kINT8, name, "input b");
    const Io y = int8::writeIo(l_, a, 0);
    const Dims& yd = a.outputs[0].dims;
    CLRT_CHECK(broadcastShapes(A.dims, B.dims, "elementwise layer '" + name + "'") == yd, kRuntime,
               "elementwise layer '", name, "': output ", dimsToString(yd),
               " is not the broadcast of ", dimsToString(A.dims), " and ", dimsToString(B.dims));
    const int64_t n = volume(yd);
    checkIndexable(n, "elementwise layer '" + name + "'");
    if (n == 0) return;
    const bool dense = A.dims == yd && B.dims == yd;
    IndexPack p;
    if (!dense)
      p = packIndex(yd, {broadcastStrides(A.dims, yd), broadcastStrides(B.dims, yd)},
                    "elementwise layer '" + name + "'");
    std::lock_guard<std::mutex> lock(mu_);
    ocl::setArgs(k_.get(), A.buf, B.buf, y.buf, static_cast<cl_int>(n), p, cl_int{!dense},
                 inputScale(l_, 0), inputScale(l_, 1), y.dt, y.scale);
    ocl::launch(a.queue, k_.get(), {gsize(n)}, {});
  }

 private:
  ir::Layer l_;
  std::mutex mu_;
  ocl::KernelHandle k_;
};

bool addEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                 const ocl::DeviceInfo&) {
  if (l.attrs.s("op") != "SUM" || in.size() != 2) return false;
  if (!int8::int8Layer(l, in) || !int8::int8Input(l, in, 1)) return false;
  return in[0].dims.size() <= static_cast<size_t>(kMaxKernelRank) &&
         in[1].dims.size() <= static_cast<size_t>(kMaxKernelRank);
}

// ---- concat.int8 ----
class ConcatKernel : public Kernel {
 public:
  ConcatKernel(const ir::Layer& l, ocl::Device& dev)
      : l_(int8::attrsOf(l)), axis_(l.attrs.i("axis", 0)) {
    k_ = ocl::KernelHandle(dev.kernel(kFile, kTunables, "concat_i8"));
  }
  void enqueue(const ExecArgs& a) override {
    const std::string& name = l_.name;
    CLRT_CHECK(!a.inputs.empty() && !a.outputs.empty(), kRuntime, "concatenation layer '", name,
               "' got no input/output tensors");
    const Io y = int8::writeIo(l_, a, 0);
    const Dims& yd = a.outputs[0].dims;
    const int64_t rank = static_cast<int64_t>(yd.size());
    const size_t axis =
        static_cast<size_t>(normalizeAxis(axis_, rank, "CONCATENATION layer '" + name + "' axis"));
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= yd[d];
    for (size_t d = axis + 1; d < yd.size(); ++d) inner *= yd[d];
    kint(volume(yd), name);
    int64_t offset = 0;
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < a.inputs.size(); ++i) {
      const DeviceTensor& x = a.inputs[i];
      requireStorage(x, DataType::kINT8, name, "input");
      bool fits = x.dims.size() == yd.size() && offset + x.dims[axis] <= yd[axis];
      for (size_t d = 0; fits && d < yd.size(); ++d) fits = d == axis || x.dims[d] == yd[d];
      CLRT_CHECK(fits, kRuntime, "concatenation layer '", name, "': input ", dimsToString(x.dims),
                 " does not fit output ", dimsToString(yd), " at offset ", offset, " of axis ",
                 axis);
      const int64_t chunk = x.dims[axis] * inner;
      if (chunk * outer > 0) {
        ocl::setArgs(k_.get(), x.buf, y.buf, kint(outer, name), kint(chunk, name),
                     kint(yd[axis] * inner, name), kint(offset * inner, name), inputScale(l_, i),
                     y.dt, y.scale);
        ocl::launch(a.queue, k_.get(), {gsize(chunk), gsize(outer)}, {});
      }
      offset += x.dims[axis];
    }
    CLRT_CHECK(offset == yd[axis], kRuntime, "concatenation layer '", name, "': inputs add up to ",
               offset, " along axis ", axis, ", output has ", yd[axis]);
  }

 private:
  ir::Layer l_;
  int64_t axis_;
  std::mutex mu_;
  ocl::KernelHandle k_;
};

bool concatEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                    const ocl::DeviceInfo&) {
  if (!int8::int8Layer(l, in)) return false;
  for (size_t i = 1; i < in.size(); ++i)
    if (!int8::int8Input(l, in, i)) return false;
  return !in[0].dims.empty();
}

template <typename K>
FnTactic::MakeFn make() {
  return [](const ir::Layer& l, ocl::Device& dev) { return std::make_unique<K>(l, dev); };
}

}  // namespace

void registerInt8MiscTactics() {
  using L = ir::LayerKind;
  const std::vector<DataType> int8{DataType::kINT8};
  auto pool =
      std::make_unique<FnTactic>("pool.int8", L::kPOOLING, poolEligible, make<PoolKernel>(), int8);
  // Input and output either way: NCHW or channels last.
  pool->setChannelsLast([](const ir::Layer&, int) { return true; });
  registerTactic(std::move(pool));
  registerTactic(std::make_unique<FnTactic>("eltwise.int8_add", L::kELEMENTWISE, addEligible,
                                            make<AddKernel>(), int8));
  registerTactic(std::make_unique<FnTactic>("concat.int8", L::kCONCATENATION, concatEligible,
                                            make<ConcatKernel>(), int8));
}

}  // namespace clrt::tactics
