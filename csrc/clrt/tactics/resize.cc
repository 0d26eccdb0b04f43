// Resampling tactics: RESIZE (kernels/resize.cl; FP32 and FP16 storage) and PADDING
// (kernels/pad.cl; any element size, so FP32, FP16 and integer tensors alike). Shapes arrive
// per run; the per-dim geometry is packed into one struct argument.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "clrt/ir/resample_params.h"
#include "clrt/tactics/compute_common.h"
#include "clrt/tactics/strided.h"

namespace clrt::tactics {
namespace {

using L = ir::LayerKind;

// A run's inputs as shape inference sees them: dtypes, dims and host-known values (shape
// operands computed at run time).
std::vector<ir::TensorInfo> runInfos(const ExecArgs& a) {
  std::vector<ir::TensorInfo> in(a.inputs.size());
  for (size_t i = 0; i < in.size(); ++i) {
    in[i].dtype = a.inputs[i].dtype;
    in[i].dims = a.inputs[i].dims;
    in[i].value = i < a.input_values.size() ? a.input_values[i] : nullptr;
  }
  return in;
}

// Same layout as ResizePack in resize.cl.
struct ResizePack {
  cl_int rank = 0;
  cl_int in[kMaxKernelRank] = {};
  cl_int out[kMaxKernelRank] = {};
  cl_float scale[kMaxKernelRank] = {};
  cl_float outw[kMaxKernelRank] = {};
  cl_float roi0[kMaxKernelRank] = {};
  cl_float roi1[kMaxKernelRank] = {};
};

// Same layout as PadPack in pad.cl.
struct PadPack {
  cl_int rank = 0;
  cl_int in[kMaxKernelRank] = {};
  cl_int out[kMaxKernelRank] = {};
  cl_int begin[kMaxKernelRank] = {};
  cl_int crop[kMaxKernelRank] = {};
  cl_int len[kMaxKernelRank] = {};
};

int code(const std::vector<std::string>& names, const std::string& v) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == v) return static_cast<int>(i);
  return -1;
}

const std::vector<std::string> kModes = {"NEAREST", "LINEAR", "CUBIC"};
const std::vector<std::string> kCoords = {
    "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
    "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
const std::vector<std::string> kNearest = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                           "ceil", "simple"};
const std::vector<std::string> kPadModes = {"constant", "reflect", "edge", "wrap"};

struct ResizeSpec {
  std::string layer;
  int mode = 0, coord = 0, nearest = 0;
  float cubic_a = -0.75f, extrapolation = 0.0f;
  int exclude_outside = 0, antialias = 0;
  std::vector<double> scales, roi;
  std::vector<int64_t> sizes;
  DataType st = DataType::kFLOAT;
};

bool readResize(const ir::Layer& l, ResizeSpec* s) {
  s->layer = l.name;
  const std::optional<DataType> st = floatStorage(l);
  if (!st) return false;
  s->st = *st;
  s->mode = code(kModes, l.attrs.s("mode", "NEAREST"));
  s->coord = code(kCoords, l.attrs.s("coord", "half_pixel"));
  s->nearest = code(kNearest, l.attrs.s("nearest_mode", "round_prefer_floor"));
  s->cubic_a = static_cast<float>(l.attrs.f("cubic_a", -0.75));
  s->extrapolation = static_cast<float>(l.attrs.f("extrapolation", 0.0));
  s->exclude_outside = l.attrs.i("exclude_outside", 0) != 0;
  s->antialias = l.attrs.i("antialias", 0) != 0;
  s->scales = l.attrs.floats("scales");
  s->sizes = l.attrs.ints("sizes");
  s->roi = l.attrs.floats("roi");
  // tf_crop_and_resize reads roi from the attrs or, computed at run time, from input 1.
  const bool roi = !s->roi.empty() || (l.inputs.size() > 1 && l.inputs[1] >= 0);
  return s->mode >= 0 && s->coord >= 0 && s->nearest >= 0 && (s->coord != 6 || roi);
}

// The build option that makes float division correctly rounded, where the device offers it
// (CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT): source coordinates are quotients, and a nearest pick
// at a coordinate that is exactly a half or an integer takes the neighbour when the division is
// an ulp off, which OpenCL otherwise allows (NVIDIA: sizes 2 -> 7, (3 + 0.5) / 3.5 - 0.5 above
// 0.5 picked row 1 for row 0). resize.cl's div_rn falls back on double division without it.
std::string exactDivision(ocl::Device& dev) {
  cl_device_fp_config fp = 0;
  if (clGetDeviceInfo(dev.id(), CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, nullptr) != CL_SUCCESS)
    return "";
  return (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0
             ? " -cl-fp32-correctly-rounded-divide-sqrt -DEXACT_DIV=1"
             : "";
}

class ResizeKernel : public Kernel {
 public:
  ResizeKernel(const ir::Layer& l, ocl::Device& dev)
      : k_(dev, "resize.cl",
           storageOption(floatStorage(l).value_or(DataType::kFLOAT)) + exactDivision(dev)),
        l_(l) {
    CLRT_CHECK(readResize(l, &s_), kBuild, "resize layer '", l.name,
               "' has attributes the resize tactic does not support");
  }
  void enqueue(const ExecArgs& a) override {
    const DeviceTensor& x = a.inputs.at(0);
    const DeviceTensor& y = a.outputs.at(0);
    requireStorage(x, s_.st, s_.layer, "input");
    requireStorage(y, s_.st, s_.layer, "output");
    const size_t r = x.dims.size();
    CLRT_CHECK(y.dims.size() == r && r <= static_cast<size_t>(kMaxKernelRank), kRuntime,
               "resize layer '", s_.layer, "': input ", dimsToString(x.dims), " and output ",
               dimsToString(y.dims), " must have one rank <= ", kMaxKernelRank);
    const std::string what = "resize layer '" + s_.layer + "'";
    checkIndexable(volume(x.dims), what);
    const int64_t n = volume(y.dims);
    checkIndexable(n, what);
    if (n == 0) return;
    CLRT_CHECK(volume(x.dims) > 0, kValue, what, ": cannot resize the empty input ",
               dimsToString(x.dims), " to ", dimsToString(y.dims));
    ir::ResizeGeometry g;  // scales/sizes/roi from the attrs or the run's host values
    CLRT_CHECK(ir::resizeGeometry(l_, runInfos(a), &g), kRuntime, what,
               ": its scales, sizes or roi are computed on the device; they must be known on the "
               "host");
    CLRT_CHECK(
        (g.scales.empty() || g.scales.size() == r) && (g.roi.empty() || g.roi.size() == 2 * r),
        kRuntime, what, ": scales or roi do not fit rank ", r);
    ResizePack p;
    p.rank = static_cast<cl_int>(r);
    for (size_t d = 0; d < r; ++d) {
      p.in[d] = static_cast<cl_int>(x.dims[d]);
      p.out[d] = static_cast<cl_int>(y.dims[d]);
      // sizes: the transform's scale is out / in; scales: the given one, and the length the
      // transform sees is in * scale (not its floor).
      const bool given = !g.scales.empty();
      const double sc = given ? g.scales.at(d) : double(y.dims[d]) / double(x.dims[d]);
      p.scale[d] = static_cast<float>(sc);
      p.outw[d] = static_cast<float>(given ? sc * double(x.dims[d]) : double(y.dims[d]));
      p.roi0[d] = g.roi.size() == 2 * r ? static_cast<float>(g.roi[d]) : 0.0f;
      p.roi1[d] = g.roi.size() == 2 * r ? static_cast<float>(g.roi[r + d]) : 1.0f;
    }
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get("resize_nd");
    ocl::setArgs(k, x.buf, y.buf, static_cast<cl_int>(n), p, cl_int{s_.mode}, cl_int{s_.coord},
                 cl_int{s_.nearest}, s_.cubic_a, cl_int{s_.exclude_outside}, cl_int{s_.antialias},
                 s_.extrapolation);
    ocl::launch(a.queue, k, {gsize(n)});
  }

 private:
  ResizeSpec s_;
  KernelCache k_;
  ir::Layer l_;  // scales/sizes/roi: its attrs, or its inputs when computed at run time
};

bool resizeEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                    const ocl::DeviceInfo&) {
  ResizeSpec s;
  if (!readResize(l, &s) || in.empty() || !storedAs(l, in, 0, s.st)) return false;
  const size_t r = in[0].dims.size();
  return outputDtype(l, 0, s.st) == s.st && r <= size_t(kMaxKernelRank) &&
         (s.scales.empty() || s.scales.size() == r) && (s.roi.empty() || s.roi.size() == 2 * r);
}

const char* padKernelName(size_t es) {
  switch (es) {
    case 1:
      return "pad_1";
    case 2:
      return "pad_2";
    case 4:
      return "pad_4";
    default:
      return "pad_8";
  }
}

class PadKernel : public Kernel {
 public:
  PadKernel(const ir::Layer& l, ocl::Device& dev)
      : k_(dev, "pad.cl"),
        layer_(l.name),
        l_(l),
        mode_(code(kPadModes, l.attrs.s("mode", "constant"))),
        value_(l.attrs.f("value", 0.0)) {
    CLRT_CHECK(mode_ >= 0, kBuild, "pad layer '", l.name, "': unknown mode '",
               l.attrs.s("mode", ""), "'");
  }
  void enqueue(const ExecArgs& a) override {
    const DeviceTensor& x = a.inputs.at(0);
    const DeviceTensor& y = a.outputs.at(0);
    const std::string what = "pad layer '" + layer_ + "'";
    const size_t r = x.dims.size();
    std::vector<int64_t> pads_;
    CLRT_CHECK(ir::paddingPads(l_, runInfos(a), r, &pads_), kRuntime, what,
               ": its pads are computed on the device; they must be known on the host");
    CLRT_CHECK(x.buf && y.buf && x.dtype == y.dtype && y.dims.size() == r &&
                   pads_.size() == 2 * r && r <= static_cast<size_t>(kMaxKernelRank),
               kRuntime, what, ": input ", dimsToString(x.dims), " ", dtypeName(x.dtype),
               " and output ", dimsToString(y.dims), " ", dtypeName(y.dtype), " do not fit pads ",
               dimsToString(pads_));
    checkIndexable(volume(x.dims), what);
    const int64_t n = volume(y.dims);
    checkIndexable(n, what);
    if (n == 0) return;
    CLRT_CHECK(mode_ == 0 || volume(x.dims) > 0, kValue, what, ": mode '", kPadModes[mode_],
               "' cannot pad the empty input ", dimsToString(x.dims));
    PadPack p;
    p.rank = static_cast<cl_int>(r);
    for (size_t d = 0; d < r; ++d) {
      p.in[d] = static_cast<cl_int>(x.dims[d]);
      p.out[d] = static_cast<cl_int>(y.dims[d]);
      p.begin[d] = static_cast<cl_int>(std::max<int64_t>(pads_[d], 0));
      p.crop[d] = static_cast<cl_int>(std::max<int64_t>(-pads_[d], 0));
      p.len[d] = static_cast<cl_int>(x.dims[d] + std::min<int64_t>(pads_[d], 0) +
                                     std::min<int64_t>(pads_[r + d], 0));
      CLRT_CHECK(mode_ == 0 || p.len[d] > 0 || y.dims[d] == 0, kValue, what, ": mode '",
                 kPadModes[mode_], "' cannot pad dim ", d, " cropped to nothing");
    }
    // The constant in the tensor's own encoding, passed as raw bits of the element size.
    const HostTensor v = HostTensor::fromFloats({1}, {static_cast<float>(value_)}).castTo(x.dtype);
    const size_t es = dtypeSize(x.dtype);
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get(padKernelName(es));
    ocl::setArgs(k, x.buf, y.buf, static_cast<cl_int>(n), p, cl_int{mode_});
    ocl::check(clSetKernelArg(k, 5, es, v.bytes.data()), "clSetKernelArg(pad value)");
    ocl::launch(a.queue, k, {gsize(n)});
  }

 private:
  KernelCache k_;
  std::string layer_;
  ir::Layer l_;  // pads come from its attrs or, computed at run time, from its inputs
  int mode_;
  double value_;
};

bool padEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                 const ocl::DeviceInfo&) {
  if (in.empty() || code(kPadModes, l.attrs.s("mode", "constant")) < 0) return false;
  const DataType t = inputDtype(l, 0, in[0].dtype);
  const size_t es = dtypeSize(t);
  if (es != 1 && es != 2 && es != 4 && es != 8) return false;
  if (t == DataType::kINT8 || outputDtype(l, 0, t) != t) return false;  // no scales to carry
  std::vector<int64_t> pads;
  const bool known = ir::paddingPads(l, in, in[0].dims.size(), &pads);
  return in[0].dims.size() <= size_t(kMaxKernelRank) &&
         (!known || pads.size() == 2 * in[0].dims.size());
}

template <typename K>
FnTactic::MakeFn make() {
  return [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
    return std::make_unique<K>(l, dev);
  };
}

}  // namespace

void registerResizeTactics() {
  const std::vector<DataType> fp = {DataType::kFLOAT, DataType::kHALF};
  registerTactic(std::make_unique<FnTactic>("resize.nd", L::kRESIZE, resizeEligible,
                                            make<ResizeKernel>(), fp));
  registerTactic(
      std::make_unique<FnTactic>("pad.nd", L::kPADDING, padEligible, make<PadKernel>(), fp));
}

}  // namespace clrt::tactics
