// Grid sampling tactic: GRID_SAMPLE (kernels/sampling.cl; FP32 and FP16 storage), 2 or 3
// spatial dims. Shapes arrive per run.
#include "clrt/tactics/compute_common.h"
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
    checkIndexable(volume(x.dims), what);
    checkIndexable(volume(g.dims), what);
    const int64_t n = volume(y.dims);
    checkIndexable(n, what);
    if (n == 0) return;
    CLRT_CHECK(volume(x.dims) > 0, kValue, what, ": cannot sample the empty input ",
               dimsToString(x.dims));
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

}  // namespace

void registerSamplingTactics() {
  registerTactic(std::make_unique<FnTactic>(
      "grid_sample.nd", L::kGRID_SAMPLE, gridSampleEligible,
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        return std::make_unique<GridSampleKernel>(l, dev);
      },
      std::vector<DataType>{DataType::kFLOAT, DataType::kHALF}));
}

}  // namespace clrt::tactics
