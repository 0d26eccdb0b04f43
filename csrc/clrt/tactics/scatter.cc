// Index-addressed tactics from kernels/scatter.cl: SCATTER (ScatterElements / ScatterND, with
// an optional reduction) and GATHER in mode ND (GatherND), moving elements of any size;
// reductions need FLOAT, INT32 or INT64 values.
#include "clrt/tactics/compute_common.h"
#include "clrt/tactics/run_errors.h"
#include "clrt/tactics/strided.h"

namespace clrt::tactics {
namespace {

constexpr const char* kFile = "scatter.cl";

int reductionCode(const std::string& r) {
  return r == "add" ? 1 : r == "mul" ? 2 : r == "max" ? 3 : r == "min" ? 4 : r == "none" ? 0 : -1;
}

const char* bySize(size_t es, const char* base) {
  static const std::map<std::string, std::vector<std::string>> names = {
      {"scatter", {"scatter_1", "scatter_2", "scatter_4", "scatter_8"}},
      {"gather_nd", {"gather_nd_1", "gather_nd_2", "gather_nd_4", "gather_nd_8"}}};
  const auto& v = names.at(base);
  return (es == 1 ? v[0] : es == 2 ? v[1] : es == 4 ? v[2] : v[3]).c_str();
}

// The K indexed dims of data from `first` (their sizes and element strides), packed as is: an
// ND index row addresses them one by one, so none may be dropped or merged.
IndexPack indexedDims(const Dims& data, size_t first, int64_t K, const std::string& what) {
  CLRT_CHECK(K >= 0 && first + K <= data.size() && K <= kMaxKernelRank, kRuntime, what,
             ": index rows of ", K, " values do not address data ", dimsToString(data));
  const std::vector<int64_t> st = stridesOf(data);
  IndexPack p;
  p.rank = static_cast<cl_int>(K);
  for (int64_t j = 0; j < K; ++j) {
    p.dims[j] = static_cast<cl_int>(data[first + j]);
    p.s[0][j] = static_cast<cl_int>(st[first + j]);
  }
  return p;
}

class ScatterKernel : public Kernel {
 public:
  ScatterKernel(ocl::Device& dev, const ir::Layer& l)
      : k_(dev, kFile),
        layer_(l.name),
        nd_(l.attrs.s("mode") == "ND"),
        axis_(l.attrs.i("axis", 0)),
        reduction_(reductionCode(l.attrs.s("reduction", "none"))) {}
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor &x = args.inputs.at(0), &idx = args.inputs.at(1);
    const DeviceTensor &upd = args.inputs.at(2), &y = args.outputs.at(0);
    const std::string what = "SCATTER layer '" + layer_ + "'";
    const int64_t n = volume(upd.dims);
    checkIndexable(volume(x.dims), what);
    copyBytes(args.queue, x.buf, 0, y.buf, 0, volume(x.dims) * dtypeSize(x.dtype));
    if (n == 0) return;
    IndexPack p;
    int64_t inner = 1, axisLen = 0, astride = 0;
    if (nd_) {
      CLRT_CHECK(!idx.dims.empty(), kRuntime, what, ": indices must have rank >= 1");
      const int64_t K = idx.dims.back();
      p = indexedDims(x.dims, 0, K, what);
      inner = volume(Dims(x.dims.begin() + K, x.dims.end()));
      CLRT_CHECK(n == volume(Dims(idx.dims.begin(), idx.dims.end() - 1)) * inner, kRuntime, what,
                 ": updates ", dimsToString(upd.dims), " do not match indices ",
                 dimsToString(idx.dims), " and data ", dimsToString(x.dims));
    } else {
      const int64_t rank = static_cast<int64_t>(x.dims.size());
      const size_t axis = static_cast<size_t>(normalizeAxis(axis_, rank, what + " axis"));
      CLRT_CHECK(idx.dims == upd.dims && idx.dims.size() == x.dims.size(), kRuntime, what,
                 ": indices ", dimsToString(idx.dims), " and updates ", dimsToString(upd.dims),
                 " must have one shape, of the rank of data ", dimsToString(x.dims));
      std::vector<int64_t> st = stridesOf(x.dims);
      axisLen = x.dims[axis];
      astride = st[axis];
      st[axis] = 0;
      p = packIndex(upd.dims, {st}, what);
    }
    checkIndexable(n, what);
    const char* name = reduction_ == 0               ? bySize(dtypeSize(x.dtype), "scatter")
                       : x.dtype == DataType::kFLOAT ? "scatter_f"
                       : x.dtype == DataType::kINT32 ? "scatter_i"
                                                     : "scatter_l";
    // A reduction combines duplicate indices in update order: one work-item applies them all.
    const cl_int serial = reduction_ != 0;
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get(name);
    ocl::setArgs(k, y.buf, idx.buf, upd.buf, static_cast<cl_int>(n), cl_int{nd_ ? 1 : 0}, p,
                 static_cast<cl_int>(inner), static_cast<cl_int>(axisLen),
                 static_cast<cl_int>(astride), cl_int{idx.dtype == DataType::kINT64},
                 cl_int{reduction_}, serial, args.errors, cl_int{runErrorTag(args.layer)});
    ocl::launch(args.queue, k, {serial ? size_t{1} : gsize(n)});
  }
  bool reportsRunErrors() const override { return true; }

 private:
  KernelCache k_;
  std::string layer_;
  bool nd_;
  int64_t axis_;
  int reduction_;
};

// GatherND: output = indices.dims[:-1] + data.dims[batch_dims + K:].
class GatherNdKernel : public Kernel {
 public:
  GatherNdKernel(ocl::Device& dev, const ir::Layer& l)
      : k_(dev, kFile), layer_(l.name), batch_(l.attrs.i("batch_dims", 0)) {}
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor &x = args.inputs.at(0), &idx = args.inputs.at(1), &y = args.outputs.at(0);
    const std::string what = "GATHER layer '" + layer_ + "'";
    const int64_t n = volume(y.dims);
    checkIndexable(volume(x.dims), what);
    checkIndexable(n, what);
    if (n == 0) return;
    CLRT_CHECK(!idx.dims.empty() && batch_ >= 0 && batch_ < static_cast<int64_t>(idx.dims.size()),
               kRuntime, what, ": indices ", dimsToString(idx.dims), " with batch_dims ", batch_);
    const int64_t K = idx.dims.back();
    const size_t b = static_cast<size_t>(batch_);
    const IndexPack p = indexedDims(x.dims, b, K, what);
    const int64_t inner = volume(Dims(x.dims.begin() + b + K, x.dims.end()));
    const int64_t rowsPerBatch = volume(Dims(idx.dims.begin() + b, idx.dims.end() - 1));
    const int64_t bstride = volume(Dims(x.dims.begin() + b, x.dims.end()));
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get(bySize(dtypeSize(x.dtype), "gather_nd"));
    ocl::setArgs(k, x.buf, idx.buf, y.buf, static_cast<cl_int>(n), p, static_cast<cl_int>(inner),
                 static_cast<cl_int>(std::max<int64_t>(rowsPerBatch, 1)),
                 static_cast<cl_int>(bstride), cl_int{idx.dtype == DataType::kINT64}, args.errors,
                 cl_int{runErrorTag(args.layer)});
    ocl::launch(args.queue, k, {gsize(n)});
  }
  bool reportsRunErrors() const override { return true; }

 private:
  KernelCache k_;
  std::string layer_;
  int64_t batch_;
};

bool elemSizeOk(DataType t) {
  const size_t s = dtypeSize(t);
  return s == 1 || s == 2 || s == 4 || s == 8;
}
bool intTensor(const ir::TensorInfo& t) {
  return t.dtype == DataType::kINT64 || t.dtype == DataType::kINT32;
}

}  // namespace

void registerScatterTactics() {
  using L = ir::LayerKind;
  registerTactic(std::make_unique<FnTactic>(
      "scatter.index", L::kSCATTER,
      [](const ir::Layer& l, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo&) {
        if (in.size() != 3 || !intTensor(in[1]) || in[0].dtype != in[2].dtype ||
            !elemSizeOk(in[0].dtype) || in[0].dims.size() > static_cast<size_t>(kMaxKernelRank) ||
            layerPrecision(l) != DataType::kFLOAT)
          return false;
        const int r = reductionCode(l.attrs.s("reduction", "none"));
        return r == 0 || (r > 0 && (in[0].dtype == DataType::kFLOAT || intTensor(in[0])));
      },
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        return std::make_unique<ScatterKernel>(dev, l);
      }));
  registerTactic(std::make_unique<FnTactic>(
      "gather.nd", L::kGATHER,
      [](const ir::Layer& l, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo&) {
        return l.attrs.s("mode") == "ND" && in.size() == 2 && intTensor(in[1]) &&
               elemSizeOk(in[0].dtype);
      },
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        return std::make_unique<GatherNdKernel>(dev, l);
      },
      // GATHER passes its data's precision through; elements move as bytes.
      std::vector<DataType>{DataType::kFLOAT, DataType::kHALF, DataType::kINT8}));
}

}  // namespace clrt::tactics
