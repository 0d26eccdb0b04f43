// REFORMAT tactic "reformat.convert": FLOAT/HALF/INT8 -> FLOAT/HALF/INT8 per the layer's
// in_dtypes/out_dtypes, quantizing with out_scales[0], dequantizing with in_scales[0], or
// requantizing INT8 -> INT8 between two scales, and between layouts (NCHW, channels last) when
// the builder stores one side HWC. Same dtype, scale and layout: a buffer copy.
#include <mutex>

#include "clrt/tactics/int8_common.h"
#include "clrt/tactics/strided.h"

namespace clrt::tactics {
namespace {

constexpr const char* kFile = "reformat.cl";
// Up to this many channels a change of layout runs convert_layout_few (a work-item per
// position) instead of 32 x 32 tiles, which such a tensor would leave mostly empty.
constexpr int64_t kFewChannels = 16;

DataType inDt(const ir::Layer& l, DataType def) { return inputDtype(l, 0, def); }
DataType outDt(const ir::Layer& l, DataType def) { return outputDtype(l, 0, def); }

class ConvertKernel : public Kernel {
 public:
  ConvertKernel(const ir::Layer& l, ocl::Device& dev)
      : l_(int8::attrsOf(l)), hwc_in_(channelsLastIn(l, 0)), hwc_out_(channelsLastOut(l, 0)) {
    k_ = ocl::KernelHandle(
        dev.kernel(kFile, "", hwc_in_ != hwc_out_ ? "convert_layout_tiled" : "convert_any"));
    if (hwc_in_ == hwc_out_)
      k8_ = ocl::KernelHandle(dev.kernel(kFile, "", "convert_any8"));
    else
      few_ = ocl::KernelHandle(dev.kernel(kFile, "", "convert_layout_few"));
  }
  void enqueue(const ExecArgs& a) override {
    const std::string& name = l_.name;
    CLRT_CHECK(!a.inputs.empty() && !a.outputs.empty(), kRuntime, "reformat layer '", name,
               "' got no input/output tensors");
    const DeviceTensor& x = a.inputs[0];
    const DeviceTensor& y = a.outputs[0];
    const int8::Io in = int8::readIo(l_, a, 0, "input");
    const int8::Io out = int8::writeIo(l_, a, 0);
    CLRT_CHECK(in.buf != nullptr, kRuntime, "reformat layer '", name, "': input has no buffer");
    CLRT_CHECK(volume(x.dims) == volume(y.dims), kRuntime, "reformat layer '", name, "': input ",
               dimsToString(x.dims), " and output ", dimsToString(y.dims), " differ in size");
    const int64_t n = volume(y.dims);
    checkIndexable(n, "reformat layer '" + name + "'");
    if (n == 0) return;
    const bool sameScale = x.dtype != DataType::kINT8 || inputScale(l_, 0) == outputScale(l_, 0);
    std::lock_guard<std::mutex> lock(mu_);
    if (hwc_in_ != hwc_out_) {  // one of the two channels last (a rank 3 or 4 tensor)
      CLRT_CHECK(x.dims == y.dims && (x.dims.size() == 3 || x.dims.size() == 4), kRuntime,
                 "reformat layer '", name, "': a change of layout needs input and output of one ",
                 "[N, C, (H,) W] shape, got ", dimsToString(x.dims), " and ", dimsToString(y.dims));
      // Each image is transposed between [C][S] and [S][C]: position by position for few
      // channels, else through 32 x 32 tiles.
      const int64_t N = x.dims[0], C = x.dims[1], S = C > 0 ? n / (N * C) : 0;
      if (C <= kFewChannels) {
        ocl::setArgs(few_.get(), in.buf, out.buf, in.dt, in.scale, out.dt, out.scale, kint(C, name),
                     kint(S, name), kint(N * S, name), cl_int{hwc_in_});
        ocl::launch(a.queue, few_.get(), {gsize(N * S)}, {});
        return;
      }
      const int64_t R = hwc_in_ ? S : C, Q = hwc_in_ ? C : S;
      ocl::setArgs(k_.get(), in.buf, out.buf, in.dt, in.scale, out.dt, out.scale, kint(C, name),
                   kint(S, name), cl_int{hwc_in_});
      ocl::launch(a.queue, k_.get(),
                  {static_cast<size_t>((Q + 31) / 32 * 32), static_cast<size_t>((R + 31) / 32 * 8),
                   static_cast<size_t>(N)},
                  {32, 8, 1});
      return;
    }
    if (x.dtype == y.dtype && sameScale) {
      copyBytes(a.queue, x.buf, 0, y.buf, 0, static_cast<size_t>(n) * dtypeSize(x.dtype));
      return;
    }
    if (n % 8 == 0) {  // 8 elements a work-item, aligned vector accesses
      ocl::setArgs(k8_.get(), in.buf, out.buf, static_cast<cl_int>(n / 8), in.dt, in.scale, out.dt,
                   out.scale);
      ocl::launch(a.queue, k8_.get(), {gsize(n / 8)}, {});
      return;
    }
    ocl::setArgs(k_.get(), in.buf, out.buf, static_cast<cl_int>(n), in.dt, in.scale, out.dt,
                 out.scale);
    ocl::launch(a.queue, k_.get(), {gsize(n)}, {});
  }

 private:
  ir::Layer l_;
  bool hwc_in_, hwc_out_;     // input / output stored channels last (builder/layouts.cc)
  std::mutex mu_;             // kernel arguments are per cl_kernel: one enqueue at a time
  ocl::KernelHandle k_, k8_;  // k8_: convert_any8, for a same-layout conversion of 8k elements
  ocl::KernelHandle few_;     // convert_layout_few, for a change of layout of few channels
};

bool convertEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                     const ocl::DeviceInfo&) {
  if (in.empty() || l.outputs.empty()) return false;
  const DataType i = inDt(l, in[0].dtype), o = outDt(l, DataType::kFLOAT);
  if (!int8::epilogueDtype(i) || !int8::epilogueDtype(o)) return false;
  if (i == DataType::kINT8 && !(inputScale(l, 0) > 0.0f)) return false;
  if (o == DataType::kINT8 && !(outputScale(l, 0) > 0.0f)) return false;
  return true;
}

}  // namespace

void registerReformatTactics() {
  auto convert = std::make_unique<FnTactic>(
      "reformat.convert", ir::LayerKind::kREFORMAT, convertEligible,
      [](const ir::Layer& l, ocl::Device& dev) { return std::make_unique<ConvertKernel>(l, dev); },
      std::vector<DataType>{DataType::kFLOAT, DataType::kHALF, DataType::kINT8});
  // Input and output either way: a network input's conversion (always LINEAR in) can then hand
  // the first convolution channels-last data.
  convert->setChannelsLast([](const ir::Layer&, int) { return true; });
  registerTactic(std::move(convert));
}

}  // namespace clrt::tactics
