// Along-one-axis tactics from kernels/scan.cl: CUMULATIVE (CumSum / CumProd) and TOPK, on FP32
// or FP16 storage and INT32 / INT64 values. Shapes arrive per run.
#include "clrt/tactics/compute_common.h"
#include "clrt/tactics/run_errors.h"
#include "clrt/tactics/strided.h"

namespace clrt::tactics {
namespace {

using L = ir::LayerKind;

bool isInt(DataType t) { return t == DataType::kINT32 || t == DataType::kINT64; }

// The tensor as [outer, len, inner] around `axis`, checked for 32-bit indexing.
struct Lines {
  int64_t outer = 1, len = 1, inner = 1;
};
Lines linesOf(const Dims& d, int64_t axis, const std::string& what) {
  checkIndexable(volume(d), what);
  Lines l;
  for (int64_t i = 0; i < static_cast<int64_t>(d.size()); ++i)
    (i < axis ? l.outer : i == axis ? l.len : l.inner) *= d[i];
  return l;
}

// The kernel of a family for the tensor's dtype: "<base>_f" (float storage), "_i", "_l".
std::string kernelFor(const char* base, DataType t) {
  return std::string(base) + (t == DataType::kINT32 ? "_i" : t == DataType::kINT64 ? "_l" : "_f");
}

class CumulativeKernel : public Kernel {
 public:
  CumulativeKernel(const ir::Layer& l, ocl::Device& dev)
      : st_(floatStorage(l).value_or(DataType::kFLOAT)),
        k_(dev, "scan.cl", storageOption(st_)),
        layer_(l.name),
        axis_(l.attrs.i("axis", 0)),
        prod_(l.attrs.s("op") == "PROD"),
        exclusive_(l.attrs.i("exclusive", 0) != 0),
        reverse_(l.attrs.i("reverse", 0) != 0) {}
  void enqueue(const ExecArgs& a) override {
    const DeviceTensor &x = a.inputs.at(0), &y = a.outputs.at(0);
    const std::string what = "CUMULATIVE layer '" + layer_ + "'";
    if (!isInt(x.dtype)) {
      requireStorage(x, st_, layer_, "input");
      requireStorage(y, st_, layer_, "output");
    }
    CLRT_CHECK(x.dtype == y.dtype && x.dims == y.dims, kRuntime, what, ": output ",
               dimsToString(y.dims), " does not match input ", dimsToString(x.dims));
    if (a.inputs.size() > 1 && a.inputs[1].buf) return enqueueRuntimeAxis(a, what);
    const int64_t axis = normalizeAxis(axis_, static_cast<int64_t>(x.dims.size()), what + " axis");
    const Lines ln = linesOf(x.dims, axis, what);
    const int64_t lines = ln.outer * ln.inner;
    if (lines == 0 || ln.len == 0) return;
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get(kernelFor("cumulative", x.dtype).c_str());
    ocl::setArgs(k, x.buf, y.buf, static_cast<cl_int>(lines), static_cast<cl_int>(ln.len),
                 static_cast<cl_int>(ln.inner), cl_int{prod_ ? 1 : 0}, cl_int{exclusive_ ? 1 : 0},
                 cl_int{reverse_ ? 1 : 0});
    ocl::launch(a.queue, k, {gsize(lines)});
  }
  bool reportsRunErrors() const override { return true; }

 private:
  // The axis is input 1, read by the kernel: the lines are found on the device.
  void enqueueRuntimeAxis(const ExecArgs& a, const std::string& what) {
    const DeviceTensor &x = a.inputs.at(0), &ax = a.inputs.at(1), &y = a.outputs.at(0);
    CLRT_CHECK(x.dims.size() >= 1 && x.dims.size() <= 8 && volume(ax.dims) == 1 && isInt(ax.dtype),
               kRuntime, what, ": input ", dimsToString(x.dims), " (rank 1 to 8) and axis ",
               dimsToString(ax.dims), " ", dtypeName(ax.dtype), " (one INT32 or INT64 value)");
    const int64_t n = volume(x.dims);
    checkIndexable(n, what);
    if (n == 0) return;
    cl_int8 dims = {};
    for (size_t d = 0; d < x.dims.size(); ++d) dims.s[d] = static_cast<cl_int>(x.dims[d]);
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get(kernelFor("cumulative_rt", x.dtype).c_str());
    ocl::setArgs(k, x.buf, y.buf, static_cast<cl_int>(n), static_cast<cl_int>(x.dims.size()), dims,
                 ax.buf, cl_int{ax.dtype == DataType::kINT64}, cl_int{prod_ ? 1 : 0},
                 cl_int{exclusive_ ? 1 : 0}, cl_int{reverse_ ? 1 : 0}, a.errors,
                 cl_int{runErrorTag(a.layer)});
    ocl::launch(a.queue, k, {gsize(n)});
  }

  DataType st_;
  KernelCache k_;
  std::string layer_;
  int64_t axis_;
  bool prod_, exclusive_, reverse_;
};

class TopKKernel : public Kernel {
 public:
  TopKKernel(const ir::Layer& l, ocl::Device& dev)
      : st_(floatStorage(l).value_or(DataType::kFLOAT)),
        k_(dev, "scan.cl", storageOption(st_)),
        layer_(l.name),
        axis_(l.attrs.i("axis", -1)),
        largest_(l.attrs.i("largest", 1) != 0),
        maxGroup_(dev.info().max_work_group),
        localMem_(dev.info().local_mem) {}
  void enqueue(const ExecArgs& a) override {
    const DeviceTensor &x = a.inputs.at(0), &y = a.outputs.at(0), &idx = a.outputs.at(1);
    const std::string what = "TOPK layer '" + layer_ + "'";
    if (!isInt(x.dtype)) {
      requireStorage(x, st_, layer_, "input");
      requireStorage(y, st_, layer_, "values");
    }
    const int64_t axis = normalizeAxis(axis_, static_cast<int64_t>(x.dims.size()), what + " axis");
    CLRT_CHECK(x.dtype == y.dtype && idx.dtype == DataType::kINT64 && y.dims == idx.dims &&
                   y.dims.size() == x.dims.size() && y.dims[axis] <= x.dims[axis],
               kRuntime, what, ": outputs ", dimsToString(y.dims), " and ", dimsToString(idx.dims),
               " do not fit input ", dimsToString(x.dims));
    const Lines ln = linesOf(x.dims, axis, what);
    checkIndexable(volume(y.dims), what);
    const int64_t lines = ln.outer * ln.inner, k = y.dims[axis];
    if (lines == 0 || k == 0) return;
    std::lock_guard<std::mutex> lock(k_.mutex());
    if (!isInt(x.dtype) && k * ln.len >= kGroupWork) {
      int64_t kpad = 1;
      while (kpad < k) kpad *= 2;
      const uint64_t local = static_cast<uint64_t>(kpad) * 8 + kGroupLocalBase;
      if (maxGroup_ >= kGroupSize && local <= localMem_) {
        // One work-group per line: radix select, then a sort of the k chosen (scan.cl).
        cl_kernel kern = k_.get("topk_group_f");
        ocl::setArgs(kern, x.buf, y.buf, idx.buf, static_cast<cl_int>(ln.len),
                     static_cast<cl_int>(ln.inner), static_cast<cl_int>(k),
                     static_cast<cl_int>(kpad), cl_int{largest_ ? 1 : 0});
        ocl::check(clSetKernelArg(kern, 8, static_cast<size_t>(kpad) * 4, nullptr),
                   "clSetKernelArg");
        ocl::check(clSetKernelArg(kern, 9, static_cast<size_t>(kpad) * 4, nullptr),
                   "clSetKernelArg");
        ocl::launch(a.queue, kern, {static_cast<size_t>(lines) * kGroupSize}, {kGroupSize});
        return;
      }
    }
    cl_kernel kern = k_.get(kernelFor("topk", x.dtype).c_str());
    ocl::setArgs(kern, x.buf, y.buf, idx.buf, static_cast<cl_int>(lines),
                 static_cast<cl_int>(ln.len), static_cast<cl_int>(ln.inner), static_cast<cl_int>(k),
                 cl_int{largest_ ? 1 : 0});
    ocl::launch(a.queue, kern, {gsize(lines)});
  }

 private:
  DataType st_;
  // Float lines where the selection would take k * len >= kGroupWork steps go to a work-group of
  // kGroupSize (TOPK_WG in scan.cl) per line, when the device allows it and its local memory holds
  // k rounded up to a power of two keys and indices besides kGroupLocalBase bytes. The selection
  // is one work-item per line walking it k times: torchvision's FCOS takes the top 1000 of 145,000
  // scores, minutes on a GPU.
  static constexpr int64_t kGroupWork = int64_t{1} << 16;
  static constexpr size_t kGroupSize = 256;
  static constexpr uint64_t kGroupLocalBase = 4096;
  KernelCache k_;
  std::string layer_;
  int64_t axis_;
  bool largest_;
  size_t maxGroup_;
  uint64_t localMem_;
};

// Float values stored as the layer precision says, or INT32 / INT64 ones; `extra`: an optional
// INT32 / INT64 input 1 (CUMULATIVE's run-time axis, TOPK's run-time k).
bool valuesOk(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, bool extra = false) {
  if (in.size() != 1 && !(extra && in.size() == 2 && isInt(in[1].dtype))) return false;
  if (isInt(in[0].dtype)) return true;
  const std::optional<DataType> st = floatStorage(l);
  return st && storedAs(l, in, 0, *st) && outputDtype(l, 0, *st) == *st;
}

template <typename K>
FnTactic::MakeFn make() {
  return [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
    return std::make_unique<K>(l, dev);
  };
}

}  // namespace

void registerScanTactics() {
  const std::vector<DataType> fp = {DataType::kFLOAT, DataType::kHALF};
  registerTactic(std::make_unique<FnTactic>(
      "cumulative.line", L::kCUMULATIVE,
      [](const ir::Layer& l, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo&) {
        const std::string op = l.attrs.s("op", "");
        return valuesOk(l, in, true) && (op == "SUM" || op == "PROD");
      },
      make<CumulativeKernel>(), fp));
  registerTactic(std::make_unique<FnTactic>(
      "topk.select", L::kTOPK,
      [](const ir::Layer& l, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo&) {
        // A run-time k (input 1) reaches the kernel as the output dims.
        return valuesOk(l, in, true);
      },
      make<TopKKernel>(), fp));
}

}  // namespace clrt::tactics
