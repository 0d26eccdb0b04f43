// Sampling tactics (kernels/sampling.cl; FP32 and FP16 storage): GRID_SAMPLE, 2 or 3 spatial
// dims, and ROI_ALIGN. Shapes arrive per run.
#include <cmath>

#include "clrt/tactics/compute_common.h"
#include "clrt/tactics/run_errors.h"
#include "clrt/tactics/strided.h"

namespace clrt::tactics {
namespace {

using L = ir::LayerKind;

constexpr int kMaxGridRank = 3;

// Same layout as GridPack in sampling.cl.
struct GridPack {
  cl_int rank = 0;
  cl_int channels = 0;
  cl_int in[kMaxGridRank] = {};
  cl_int out[kMaxGridRank] = {};
};

int code(const std::vector<std::string>& names, const std::string& v) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == v) return static_cast<int>(i);
  return -1;
}

const std::vector<std::string> kModes = {"NEAREST", "LINEAR", "CUBIC"};
const std::vector<std::string> kPaddings = {"ZEROS", "BORDER", "REFLECTION"};

// The element count of a sampling layer's output y, after checking that x, the second operand
// and y are indexable; a non-empty output needs a non-empty input (`verb`: "sample" ...).
int64_t outputSize(const DeviceTensor& x, const DeviceTensor& second, const DeviceTensor& y,
                   const std::string& what, const char* verb) {
  checkIndexable(volume(x.dims), what);
  checkIndexable(volume(second.dims), what);
  const int64_t n = volume(y.dims);
  checkIndexable(n, what);
  CLRT_CHECK(n == 0 || volume(x.dims) > 0, kValue, what, ": cannot ", verb, " the empty input ",
             dimsToString(x.dims));
  return n;
}

class GridSampleKernel : public Kernel {
 public:
  GridSampleKernel(const ir::Layer& l, ocl::Device& dev)
      : st_(floatStorage(l).value_or(DataType::kFLOAT)),
        k_(dev, "sampling.cl", storageOption(st_)),
        layer_(l.name),
        mode_(code(kModes, l.attrs.s("mode", "LINEAR"))),
        padding_(code(kPaddings, l.attrs.s("padding", "ZEROS"))),
        align_(l.attrs.i("align_corners", 0) != 0) {
    CLRT_CHECK(mode_ >= 0 && padding_ >= 0, kBuild, "grid sample layer '", l.name, "': mode '",
               l.attrs.s("mode", ""), "' or padding '", l.attrs.s("padding", ""),
               "' is not one this tactic runs");
  }
  void enqueue(const ExecArgs& a) override {
    const DeviceTensor &x = a.inputs.at(0), &g = a.inputs.at(1), &y = a.outputs.at(0);
    requireStorage(x, st_, layer_, "input");
    requireStorage(g, st_, layer_, "grid");
    requireStorage(y, st_, layer_, "output");
    const std::string what = "grid sample layer '" + layer_ + "'";
    const size_t r = x.dims.size() - 2;
    CLRT_CHECK(x.dims.size() >= 4 && r <= kMaxGridRank && g.dims.size() == x.dims.size() &&
                   y.dims.size() == x.dims.size() && g.dims.back() == static_cast<int64_t>(r),
               kRuntime, what, ": input ", dimsToString(x.dims), ", grid ", dimsToString(g.dims),
               " and output ", dimsToString(y.dims), " do not fit");
    const int64_t n = outputSize(x, g, y, what, "sample");
    if (n == 0) return;
    GridPack p;
    p.rank = static_cast<cl_int>(r);
    p.channels = static_cast<cl_int>(x.dims[1]);
    for (size_t d = 0; d < r; ++d) {
      p.in[d] = static_cast<cl_int>(x.dims[2 + d]);
      p.out[d] = static_cast<cl_int>(y.dims[2 + d]);
    }
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get("grid_sample");
    ocl::setArgs(k, x.buf, g.buf, y.buf, static_cast<cl_int>(n), p, cl_int{mode_}, cl_int{padding_},
                 cl_int{align_ ? 1 : 0});
    ocl::launch(a.queue, k, {gsize(n)});
  }

 private:
  DataType st_;
  KernelCache k_;
  std::string layer_;
  int mode_, padding_;
  bool align_;
};

bool gridSampleEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                        const ocl::DeviceInfo&) {
  const std::optional<DataType> st = floatStorage(l);
  if (!st || in.size() != 2 || !storedAs(l, in, 0, *st) || !storedAs(l, in, 1, *st)) return false;
  const size_t rank = in[0].dims.size();
  const int mode = code(kModes, l.attrs.s("mode", "LINEAR"));
  return outputDtype(l, 0, *st) == *st && (rank == 4 || rank == 5) && mode >= 0 &&
         (mode != 2 || rank == 4) && code(kPaddings, l.attrs.s("padding", "ZEROS")) >= 0;
}

// Same layout as RoiPack in sampling.cl.
struct RoiPack {
  cl_int batch = 0, channels = 0, height = 0, width = 0;
  cl_int out_h = 1, out_w = 1;
  cl_int sampling = 0, max_grid = static_cast<cl_int>(ir::kMaxRoiGrid);
  cl_int half_pixel = 1, max_mode = 0;
  cl_float scale = 1.0f;
};

const std::vector<std::string> kRoiModes = {"AVG", "MAX"};
const std::vector<std::string> kRoiCoords = {"output_half_pixel", "half_pixel"};

bool isRoiDtype(DataType t) { return t == DataType::kFLOAT || t == DataType::kHALF; }
bool isBatchIndexDtype(DataType t) { return t == DataType::kINT32 || t == DataType::kINT64; }

// x in the layer's storage; rois FLOAT or HALF (they stay out of FP16 storage, builder
// precision.cc isDataInput); batch indices INT32/INT64, range-checked on the device.
class RoiAlignKernel : public Kernel {
 public:
  RoiAlignKernel(const ir::Layer& l, ocl::Device& dev)
      : st_(floatStorage(l).value_or(DataType::kFLOAT)),
        k_(dev, "sampling.cl", storageOption(st_)),
        layer_(l.name) {
    const int mode = code(kRoiModes, l.attrs.s("mode", "AVG"));
    const int coord = code(kRoiCoords, l.attrs.s("coord", "half_pixel"));
    const int64_t oh = l.attrs.i("output_height", 1), ow = l.attrs.i("output_width", 1);
    const int64_t sr = l.attrs.i("sampling_ratio", 0);
    const double scale = l.attrs.f("spatial_scale", 1.0);
    CLRT_CHECK(mode >= 0 && coord >= 0 && oh >= 1 && ow >= 1 && oh * ow < INT_MAX && sr >= 0 &&
                   sr <= ir::kMaxRoiGrid && std::isfinite(scale),
               kBuild, "roi align layer '", l.name, "': mode '", l.attrs.s("mode", ""),
               "', coord '", l.attrs.s("coord", ""), "', output ", oh, " x ", ow,
               ", sampling_ratio ", sr, " or spatial_scale ", scale,
               " is not one this tactic runs");
    p_.out_h = static_cast<cl_int>(oh);
    p_.out_w = static_cast<cl_int>(ow);
    p_.sampling = static_cast<cl_int>(sr);
    p_.half_pixel = coord;
    p_.max_mode = mode;
    p_.scale = static_cast<cl_float>(scale);
  }
  void enqueue(const ExecArgs& a) override {
    const DeviceTensor &x = a.inputs.at(0), &rois = a.inputs.at(1), &bi = a.inputs.at(2);
    const DeviceTensor& y = a.outputs.at(0);
    const std::string what = "roi align layer '" + layer_ + "'";
    requireStorage(x, st_, layer_, "input");
    requireStorage(y, st_, layer_, "output");
    CLRT_CHECK(isRoiDtype(rois.dtype) && isBatchIndexDtype(bi.dtype), kUnsupported, what,
               ": rois are ", dtypeName(rois.dtype), " and batch indices ", dtypeName(bi.dtype),
               "; this tactic reads FLOAT or HALF rois and INT32 or INT64 indices");
    CLRT_CHECK(x.dims.size() == 4 && rois.dims.size() == 2 && rois.dims[1] == 4 &&
                   bi.dims.size() == 1 && bi.dims[0] == rois.dims[0] && y.dims.size() == 4 &&
                   y.dims[0] == rois.dims[0] && y.dims[1] == x.dims[1] && y.dims[2] == p_.out_h &&
                   y.dims[3] == p_.out_w,
               kRuntime, what, ": input ", dimsToString(x.dims), ", rois ", dimsToString(rois.dims),
               ", batch indices ", dimsToString(bi.dims), " and output ", dimsToString(y.dims),
               " do not fit");
    const int64_t n = outputSize(x, rois, y, what, "pool rois from");
    if (n == 0) return;
    RoiPack p = p_;
    p.batch = static_cast<cl_int>(x.dims[0]);
    p.channels = static_cast<cl_int>(x.dims[1]);
    p.height = static_cast<cl_int>(x.dims[2]);
    p.width = static_cast<cl_int>(x.dims[3]);
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get("roi_align");
    ocl::setArgs(k, x.buf, rois.buf, static_cast<cl_int>(rois.dtype), bi.buf,
                 cl_int{bi.dtype == DataType::kINT64}, y.buf, static_cast<cl_int>(n), p, a.errors,
                 cl_int{runErrorTag(a.layer)});
    ocl::launch(a.queue, k, {gsize(n)});
  }
  // Batch indices and adaptive grids are checked on the device.
  bool reportsRunErrors() const override { return true; }

 private:
  DataType st_;
  KernelCache k_;
  std::string layer_;
  RoiPack p_;
};

bool roiAlignEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                      const ocl::DeviceInfo&) {
  const std::optional<DataType> st = floatStorage(l);
  if (!st || in.size() != 3 || !storedAs(l, in, 0, *st)) return false;
  return isRoiDtype(inputDtype(l, 1, in[1].dtype)) &&
         isBatchIndexDtype(inputDtype(l, 2, in[2].dtype)) && outputDtype(l, 0, *st) == *st &&
         in[0].dims.size() == 4 && code(kRoiModes, l.attrs.s("mode", "AVG")) >= 0 &&
         code(kRoiCoords, l.attrs.s("coord", "half_pixel")) >= 0;
}

}  // namespace

void registerSamplingTactics() {
  registerTactic(std::make_unique<FnTactic>(
      "grid_sample.nd", L::kGRID_SAMPLE, gridSampleEligible,
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        return std::make_unique<GridSampleKernel>(l, dev);
      },
      std::vector<DataType>{DataType::kFLOAT, DataType::kHALF}));
  registerTactic(std::make_unique<FnTactic>(
      "roi_align.direct", L::kROI_ALIGN, roiAlignEligible,
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        return std::make_unique<RoiAlignKernel>(l, dev);
      },
      std::vector<DataType>{DataType::kFLOAT, DataType::kHALF}));
}

}  // namespace clrt::tactics
