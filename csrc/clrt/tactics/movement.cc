// Movement tactics: reshape-like copies, TRANSPOSE / SHUFFLE, CONCATENATION, SLICE, SPLIT,
// GATHER, EXPAND, CONSTANT, RANGE and CONSTANT_OF_SHAPE, from kernels/movement.cl. Output dims
// always come from ExecArgs; only slice starts/steps are computed here (ONNX clamping).
// The copies move elements of any size, so besides FP32 they run FP16 and INT8 layers as is.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

#include "clrt/ir/limits.h"
#include "clrt/tactics/run_errors.h"
#include "clrt/tactics/strided.h"

namespace clrt::tactics {
namespace {

constexpr const char* kFile = "movement.cl";

const char* copyKernelName(size_t elemSize) {
  switch (elemSize) {
    case 1:
      return "copy_1";
    case 2:
      return "copy_2";
    case 4:
      return "copy_4";
    case 8:
      return "copy_8";
    default:
      fail(ErrorKind::kUnsupported, str("no copy kernel for ", elemSize, "-byte elements"));
  }
}

bool elemSizeOk(DataType t) {
  const size_t s = dtypeSize(t);
  return s == 1 || s == 2 || s == 4 || s == 8;
}

bool rankOk(const std::vector<ir::TensorInfo>& in) {
  for (auto& t : in)
    if (t.dims.size() > static_cast<size_t>(kMaxKernelRank)) return false;
  return true;
}

// Movement kernels share this: a kernel cache plus the strided copy
// dst[dbase + idx . dst] = src[sbase + idx . src] over `dims`, in elements.
class MoveKernel : public Kernel {
 public:
  MoveKernel(ocl::Device& dev, std::string layer) : k_(dev, kFile), layer_(std::move(layer)) {}

 protected:
  void stridedCopy(cl_command_queue q, cl_mem src, cl_mem dst, DataType t, const Dims& dims,
                   const std::vector<int64_t>& srcStrides, const std::vector<int64_t>& dstStrides,
                   int64_t sbase = 0, int64_t dbase = 0) {
    const int64_t n = volume(dims);
    const std::string what = "layer '" + layer_ + "'";
    checkIndexable(n, what);
    if (n == 0) return;
    const IndexPack p = packIndex(dims, {srcStrides, dstStrides}, what);
    const size_t es = dtypeSize(t);
    if (p.rank == 1 && p.s[0][0] == 1 && p.s[1][0] == 1) {  // contiguous: a plain buffer copy
      copyBytes(q, src, sbase * es, dst, dbase * es, n * es);
      return;
    }
    checkIndexable(sbase, what);
    checkIndexable(dbase, what);
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get(copyKernelName(es));
    ocl::setArgs(k, src, dst, static_cast<cl_int>(n), p, static_cast<cl_int>(sbase),
                 static_cast<cl_int>(dbase));
    ocl::launch(q, k, {gsize(n)});
  }
  // Copies x viewed with dims `in` into y, permuted: y dim k is x dim perm[k].
  void permute(cl_command_queue q, cl_mem x, cl_mem y, DataType t, const Dims& in,
               const std::vector<int64_t>& perm) {
    CLRT_CHECK(perm.size() == in.size(), kRuntime, "layer '", layer_, "': permutation of ",
               perm.size(), " axes for a tensor of rank ", in.size());
    const std::vector<int64_t> st = stridesOf(in);
    Dims out(in.size());
    std::vector<int64_t> srcSt(in.size());
    for (size_t k = 0; k < in.size(); ++k) {
      CLRT_CHECK(perm[k] >= 0 && perm[k] < static_cast<int64_t>(in.size()), kRuntime, "layer '",
                 layer_, "': permutation entry ", perm[k], " out of range");
      out[k] = in[perm[k]];
      srcSt[k] = st[perm[k]];
    }
    stridedCopy(q, x, y, t, out, srcSt, stridesOf(out));
  }

  KernelCache k_;
  std::string layer_;
};

// RESHAPE, FLATTEN, SQUEEZE, UNSQUEEZE: dense data is unchanged, so a byte copy.
class CopyKernel : public MoveKernel {
 public:
  using MoveKernel::MoveKernel;
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor &x = args.inputs.at(0), &y = args.outputs.at(0);
    CLRT_CHECK(volume(x.dims) == volume(y.dims), kRuntime, "layer '", layer_, "': input ",
               dimsToString(x.dims), " and output ", dimsToString(y.dims), " differ in size");
    // Nothing to move for a view (the memory plan gave the output its input's buffer).
    copyBytes(args.queue, x.buf, 0, y.buf, 0, volume(x.dims) * dtypeSize(x.dtype));
  }
};

std::vector<int64_t> reversedAxes(size_t rank) {
  std::vector<int64_t> p(rank);
  std::iota(p.rbegin(), p.rend(), 0);
  return p;
}

bool isIdentity(const std::vector<int64_t>& perm) {
  for (size_t k = 0; k < perm.size(); ++k)
    if (perm[k] != static_cast<int64_t>(k)) return false;
  return true;
}

class TransposeKernel : public MoveKernel {
 public:
  TransposeKernel(ocl::Device& dev, const ir::Layer& l)
      : MoveKernel(dev, l.name), perm_(l.attrs.ints("perm")) {}
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor &x = args.inputs.at(0), &y = args.outputs.at(0);
    permute(args.queue, x.buf, y.buf, x.dtype, x.dims,
            perm_.empty() ? reversedAxes(x.dims.size()) : perm_);
  }

 private:
  std::vector<int64_t> perm_;
};

// TensorRT's shuffle: transpose, reshape, transpose. The reshaped dims are the output dims
// seen through the inverse of the second permutation, so nothing is recomputed.
class ShuffleKernel : public MoveKernel {
 public:
  ShuffleKernel(ocl::Device& dev, const ir::Layer& l)
      : MoveKernel(dev, l.name),
        first_(l.attrs.ints("first_transpose")),
        second_(l.attrs.ints("second_transpose")) {
    if (isIdentity(first_)) first_.clear();
    if (isIdentity(second_)) second_.clear();
  }
  size_t workspaceSize(const std::vector<Dims>& in, const std::vector<Dims>&) const override {
    // Both transposes need the middle result somewhere; 8 bytes covers every dtype.
    if (first_.empty() || second_.empty() || in.empty()) return 0;
    return isStatic(in[0]) ? ir::hostBytes(in[0], DataType::kINT64) : 0;
  }
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor &x = args.inputs.at(0), &y = args.outputs.at(0);
    CLRT_CHECK(volume(x.dims) == volume(y.dims), kRuntime, "SHUFFLE layer '", layer_, "': input ",
               dimsToString(x.dims), " and output ", dimsToString(y.dims), " differ in size");
    if (first_.empty() && second_.empty()) {
      copyBytes(args.queue, x.buf, 0, y.buf, 0, volume(x.dims) * dtypeSize(x.dtype));
      return;
    }
    Dims mid = y.dims;  // the reshaped dims
    if (!second_.empty()) {
      CLRT_CHECK(second_.size() == y.dims.size(), kRuntime, "SHUFFLE layer '", layer_,
                 "': second_transpose has ", second_.size(), " axes, output rank is ",
                 y.dims.size());
      for (size_t k = 0; k < second_.size(); ++k) mid.at(second_[k]) = y.dims[k];
    }
    if (second_.empty()) return permute(args.queue, x.buf, y.buf, x.dtype, x.dims, first_);
    if (first_.empty()) return permute(args.queue, x.buf, y.buf, x.dtype, mid, second_);
    CLRT_CHECK(args.workspace, kRuntime, "SHUFFLE layer '", layer_, "' needs a workspace");
    permute(args.queue, x.buf, args.workspace, x.dtype, x.dims, first_);
    permute(args.queue, args.workspace, y.buf, x.dtype, mid, second_);
  }

 private:
  std::vector<int64_t> first_, second_;
};

class ConcatKernel : public MoveKernel {
 public:
  ConcatKernel(ocl::Device& dev, const ir::Layer& l)
      : MoveKernel(dev, l.name), axis_(l.attrs.i("axis", 0)) {}
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor& y = args.outputs.at(0);
    const int64_t rank = static_cast<int64_t>(y.dims.size());
    const size_t axis = static_cast<size_t>(
        normalizeAxis(axis_, rank, "CONCATENATION layer '" + layer_ + "' axis"));
    const std::vector<int64_t> yst = stridesOf(y.dims);
    int64_t offset = 0;
    for (const DeviceTensor& x : args.inputs) {
      CLRT_CHECK(x.dims.size() == y.dims.size(), kRuntime, "CONCATENATION layer '", layer_,
                 "': input ", dimsToString(x.dims), " and output ", dimsToString(y.dims),
                 " differ in rank");
      stridedCopy(args.queue, x.buf, y.buf, y.dtype, x.dims, stridesOf(x.dims), yst, 0,
                  offset * yst[axis]);
      offset += x.dims[axis];
    }
    CLRT_CHECK(offset == y.dims[axis], kRuntime, "CONCATENATION layer '", layer_, "': inputs add ",
               "up to ", offset, " along axis ", axis, ", output has ", y.dims[axis]);
  }

 private:
  int64_t axis_;
};

class SplitKernel : public MoveKernel {
 public:
  SplitKernel(ocl::Device& dev, const ir::Layer& l)
      : MoveKernel(dev, l.name), axis_(l.attrs.i("axis", 0)) {}
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor& x = args.inputs.at(0);
    const size_t axis = static_cast<size_t>(normalizeAxis(
        axis_, static_cast<int64_t>(x.dims.size()), "SPLIT layer '" + layer_ + "' axis"));
    const std::vector<int64_t> xst = stridesOf(x.dims);
    int64_t offset = 0;
    for (const DeviceTensor& y : args.outputs) {
      CLRT_CHECK(y.dims.size() == x.dims.size() && offset + y.dims[axis] <= x.dims[axis], kRuntime,
                 "SPLIT layer '", layer_, "': output ", dimsToString(y.dims),
                 " does not fit input ", dimsToString(x.dims), " at offset ", offset);
      stridedCopy(args.queue, x.buf, y.buf, x.dtype, y.dims, xst, stridesOf(y.dims),
                  offset * xst[axis]);
      offset += y.dims[axis];
    }
  }

 private:
  int64_t axis_;
};

// Per input dim: first element read and step (ONNX Slice semantics, clamped to the dims).
struct SliceWindow {
  std::vector<int64_t> start, step;
};

SliceWindow sliceWindow(const std::string& layer, const ir::Attrs& attrs, const ExecArgs& args) {
  const Dims& d = args.inputs.at(0).dims;
  const int64_t rank = static_cast<int64_t>(d.size());
  // Inputs 1..4 (starts, ends, axes, steps) override the attrs when present.
  auto param = [&](size_t idx, const char* attr) -> std::vector<int64_t> {
    if (idx < args.inputs.size() && args.inputs[idx].buf) {
      CLRT_CHECK(idx < args.input_values.size() && args.input_values[idx], kRuntime,
                 "SLICE layer '", layer, "': input ", idx, " (", attr,
                 ") must be known on the host");
      return args.input_values[idx]->asInt64();
    }
    return attrs.ints(attr);
  };
  const std::vector<int64_t> starts = param(1, "starts"), ends = param(2, "ends");
  std::vector<int64_t> axes = param(3, "axes"), steps = param(4, "steps");
  if (axes.empty()) {
    axes.resize(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  CLRT_CHECK(
      ends.size() == starts.size() && axes.size() == starts.size() && steps.size() == starts.size(),
      kRuntime, "SLICE layer '", layer, "': starts, ends, axes and steps differ in length");
  SliceWindow w{std::vector<int64_t>(d.size(), 0), std::vector<int64_t>(d.size(), 1)};
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t a = normalizeAxis(axes[i], rank, "SLICE layer '" + layer + "' axes");
    const int64_t dim = d[a], step = steps[i];
    CLRT_CHECK(step != 0, kRuntime, "SLICE layer '", layer, "': step 0 on axis ", a);
    int64_t s = starts[i];
    if (s < 0) s += dim;
    s = step > 0 ? std::clamp<int64_t>(s, 0, dim) : std::clamp<int64_t>(s, 0, dim - 1);
    w.start[a] = s;
    w.step[a] = step;
  }
  return w;
}

class SliceKernel : public MoveKernel {
 public:
  SliceKernel(ocl::Device& dev, const ir::Layer& l) : MoveKernel(dev, l.name), attrs_(l.attrs) {}
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor &x = args.inputs.at(0), &y = args.outputs.at(0);
    CLRT_CHECK(x.dims.size() == y.dims.size(), kRuntime, "SLICE layer '", layer_,
               "': input and output ranks differ");
    if (volume(y.dims) == 0) return;
    const SliceWindow w = sliceWindow(layer_, attrs_, args);
    const std::vector<int64_t> xst = stridesOf(x.dims);
    std::vector<int64_t> st(x.dims.size());
    int64_t base = 0;
    for (size_t k = 0; k < x.dims.size(); ++k) {
      // The last element read must lie inside the input (guards a runtime/shape mismatch).
      const int64_t last = w.start[k] + (y.dims[k] - 1) * w.step[k];
      CLRT_CHECK(last >= 0 && last < x.dims[k] && w.start[k] < x.dims[k], kRuntime, "SLICE layer '",
                 layer_, "': output ", dimsToString(y.dims), " does not fit input ",
                 dimsToString(x.dims), " on axis ", k);
      st[k] = xst[k] * w.step[k];
      base += w.start[k] * xst[k];
    }
    stridedCopy(args.queue, x.buf, y.buf, x.dtype, y.dims, st, stridesOf(y.dims), base);
  }

 private:
  ir::Attrs attrs_;  // the parameters that are not inputs
};

class ExpandKernel : public MoveKernel {
 public:
  using MoveKernel::MoveKernel;
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor &x = args.inputs.at(0), &y = args.outputs.at(0);
    CLRT_CHECK(x.dims.size() <= y.dims.size(), kRuntime, "EXPAND layer '", layer_, "': input ",
               dimsToString(x.dims), " has more dims than output ", dimsToString(y.dims));
    stridedCopy(args.queue, x.buf, y.buf, x.dtype, y.dims, broadcastStrides(x.dims, y.dims),
                stridesOf(y.dims));
  }
};

class GatherKernel : public MoveKernel {
 public:
  GatherKernel(ocl::Device& dev, const ir::Layer& l)
      : MoveKernel(dev, l.name),
        axis_(l.attrs.i("axis", 0)),
        elements_(l.attrs.s("mode") == "ELEMENT") {}
  void enqueue(const ExecArgs& args) override {
    if (elements_) return enqueueElements(args);
    const DeviceTensor &x = args.inputs.at(0), &idx = args.inputs.at(1), &y = args.outputs.at(0);
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    const size_t axis =
        static_cast<size_t>(normalizeAxis(axis_, rank, "GATHER layer '" + layer_ + "' axis"));
    const int64_t axisLen = x.dims[axis], nidx = volume(idx.dims);
    int64_t outer = 1, inner = 1;
    for (size_t k = 0; k < axis; ++k) outer *= x.dims[k];
    for (size_t k = axis + 1; k < x.dims.size(); ++k) inner *= x.dims[k];
    const int64_t n = outer * nidx * inner;
    CLRT_CHECK(n == volume(y.dims), kRuntime, "GATHER layer '", layer_, "': output ",
               dimsToString(y.dims), " does not match data ", dimsToString(x.dims), " and indices ",
               dimsToString(idx.dims));
    checkIndexable(volume(x.dims), "GATHER layer '" + layer_ + "'");
    checkIndexable(n, "GATHER layer '" + layer_ + "'");
    if (n == 0) return;
    if (args.input_values.size() > 1 && args.input_values[1]) {
      for (int64_t v : args.input_values[1]->asInt64())
        CLRT_CHECK(v >= -axisLen && v < axisLen, kValue, "GATHER layer '", layer_, "': index ", v,
                   " out of range for axis ", axis, " of size ", axisLen);
    }
    CLRT_CHECK(axisLen > 0, kValue, "GATHER layer '", layer_, "': gathering from an empty axis");
    const size_t es = dtypeSize(x.dtype);
    const char* name = es == 1   ? "gather_1"
                       : es == 2 ? "gather_2"
                       : es == 4 ? "gather_4"
                                 : "gather_8";
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get(name);
    ocl::setArgs(k, x.buf, idx.buf, y.buf, static_cast<cl_int>(n), static_cast<cl_int>(axisLen),
                 static_cast<cl_int>(nidx), static_cast<cl_int>(inner),
                 cl_int{idx.dtype == DataType::kINT64}, args.errors,
                 cl_int{runErrorTag(args.layer)});
    ocl::launch(args.queue, k, {gsize(n)});
  }
  // Indices computed on the device are range-checked there.
  bool reportsRunErrors() const override { return true; }

 private:
  int64_t axis_;
  bool elements_;  // GatherElements: one index per output element

  void enqueueElements(const ExecArgs& args) {
    const DeviceTensor &x = args.inputs.at(0), &idx = args.inputs.at(1), &y = args.outputs.at(0);
    const std::string what = "GATHER layer '" + layer_ + "'";
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    const size_t axis = static_cast<size_t>(normalizeAxis(axis_, rank, what + " axis"));
    CLRT_CHECK(idx.dims.size() == x.dims.size() && idx.dims == y.dims, kRuntime, what, ": indices ",
               dimsToString(idx.dims), " must have the rank of data ", dimsToString(x.dims),
               " and the output's dims ", dimsToString(y.dims));
    const int64_t n = volume(idx.dims), axisLen = x.dims[axis];
    checkIndexable(volume(x.dims), what);
    checkIndexable(n, what);
    if (n == 0) return;
    CLRT_CHECK(axisLen > 0, kValue, what, ": gathering from an empty axis");
    std::vector<int64_t> st = stridesOf(x.dims);
    const int64_t astride = st[axis];
    st[axis] = 0;
    const IndexPack p = packIndex(idx.dims, {st}, what);
    const size_t es = dtypeSize(x.dtype);
    const char* name = es == 1   ? "gather_el_1"
                       : es == 2 ? "gather_el_2"
                       : es == 4 ? "gather_el_4"
                                 : "gather_el_8";
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get(name);
    ocl::setArgs(k, x.buf, idx.buf, y.buf, static_cast<cl_int>(n), p, static_cast<cl_int>(axisLen),
                 static_cast<cl_int>(astride), cl_int{idx.dtype == DataType::kINT64}, args.errors,
                 cl_int{runErrorTag(args.layer)});
    ocl::launch(args.queue, k, {gsize(n)});
  }
};

// CONSTANT: the value is uploaded once (its own dtype) and copied out at each run.
class ConstantKernel : public Kernel {
 public:
  ConstantKernel(ocl::Device& dev, const ir::Layer& l) : layer_(l.name) {
    auto it = l.weights.find("value");
    CLRT_CHECK(it != l.weights.end(), kBuild, "CONSTANT layer '", l.name, "' has no 'value'");
    bytes_ = it->second.bytes.size();
    buf_ = ocl::MemHandle(dev.alloc(std::max<size_t>(bytes_, 4)));
    dev.write(dev.queue(), buf_.get(), 0, bytes_, it->second.bytes.data(), /*blocking=*/true);
  }
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor& y = args.outputs.at(0);
    const size_t want = volume(y.dims) * dtypeSize(y.dtype);
    CLRT_CHECK(want == bytes_, kRuntime, "CONSTANT layer '", layer_, "': output ",
               dimsToString(y.dims), " needs ", want, " bytes, the value has ", bytes_);
    copyBytes(args.queue, buf_.get(), 0, y.buf, 0, bytes_);
  }

 private:
  std::string layer_;
  size_t bytes_ = 0;
  ocl::MemHandle buf_;
};

// CONSTANT_OF_SHAPE: fills the output with the one-element "value" weight (default float 0).
class FillKernel : public Kernel {
 public:
  explicit FillKernel(const ir::Layer& l) : layer_(l.name) {
    auto it = l.weights.find("value");
    if (it != l.weights.end()) {
      CLRT_CHECK(it->second.numel() == 1, kBuild, "CONSTANT_OF_SHAPE layer '", l.name,
                 "': value must hold one element, it has ", it->second.numel());
      pattern_ = it->second.bytes;
    } else {
      pattern_.assign(4, 0);
    }
  }
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor& y = args.outputs.at(0);
    const size_t bytes = volume(y.dims) * dtypeSize(y.dtype);
    CLRT_CHECK(pattern_.size() == dtypeSize(y.dtype), kRuntime, "CONSTANT_OF_SHAPE layer '", layer_,
               "': value has ", pattern_.size(), " bytes per element, output is ",
               dtypeName(y.dtype));
    if (bytes == 0) return;
    ocl::check(clEnqueueFillBuffer(args.queue, y.buf, pattern_.data(), pattern_.size(), 0, bytes, 0,
                                   nullptr, nullptr),
               "clEnqueueFillBuffer");
  }

 private:
  std::string layer_;
  std::vector<uint8_t> pattern_;
};

class RangeKernel : public MoveKernel {
 public:
  using MoveKernel::MoveKernel;
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor& y = args.outputs.at(0);
    const int64_t n = volume(y.dims);
    checkIndexable(n, "RANGE layer '" + layer_ + "'");
    if (n == 0) return;
    const char* name = y.dtype == DataType::kFLOAT   ? "range_f"
                       : y.dtype == DataType::kINT32 ? "range_i"
                                                     : "range_l";
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get(name);
    ocl::setArgs(k, args.inputs.at(0).buf, args.inputs.at(2).buf, y.buf, static_cast<cl_int>(n));
    ocl::launch(args.queue, k, {gsize(n)});
  }
};

template <typename K>
FnTactic::MakeFn make() {
  return [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
    if constexpr (std::is_constructible_v<K, ocl::Device&, const ir::Layer&>)
      return std::make_unique<K>(dev, l);
    else
      return std::make_unique<K>(dev, l.name);
  };
}

bool anyTensor(const ir::Layer&, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo&) {
  return !in.empty() && elemSizeOk(in[0].dtype) && rankOk(in);
}

bool intTensor(const ir::TensorInfo& t) {
  return t.dtype == DataType::kINT64 || t.dtype == DataType::kINT32;
}

// Under an FP16 or INT8 precision, the data inputs (the first `ndata`) and every output must be
// stored as that precision says, and an INT8 copy must keep its scale: moving bytes cannot
// rescale. FP32 layers move whatever they get, as before precisions existed.
bool storageFits(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, size_t ndata) {
  const DataType p = layerPrecision(l);
  if (p == DataType::kFLOAT) return true;
  if (p != DataType::kHALF && p != DataType::kINT8) return false;
  if (in.empty()) return false;
  const float s0 = inputScale(l, 0);
  auto sameScale = [](float a, float b) {
    return a <= 0.0f || b <= 0.0f || std::fabs(a - b) <= 1e-6f * std::max(a, b);
  };
  for (size_t i = 0; i < std::min(ndata, in.size()); ++i) {
    if (inputDtype(l, i, in[i].dtype) != p) return false;
    if (p == DataType::kINT8 && !sameScale(inputScale(l, i), s0)) return false;
  }
  for (size_t j = 0; j < l.outputs.size(); ++j) {
    if (outputDtype(l, j, p) != p) return false;
    if (p == DataType::kINT8 && !sameScale(outputScale(l, j), s0)) return false;
  }
  return true;
}

// Eligibility `e` plus storageFits over the first `ndata` inputs (SIZE_MAX: all).
FnTactic::EligibleFn fitting(FnTactic::EligibleFn e, size_t ndata = 1) {
  return [e = std::move(e), ndata](const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                                   const ocl::DeviceInfo& d) {
    return storageFits(l, in, ndata) && e(l, in, d);
  };
}

}  // namespace

void registerMovementTactics() {
  using L = ir::LayerKind;
  auto reg = [](const char* name, L kind, FnTactic::EligibleFn e, FnTactic::MakeFn m) {
    registerTactic(std::make_unique<FnTactic>(name, kind, std::move(e), std::move(m)));
  };
  // Element copies of any size: FP32, FP16 and INT8 layers alike (see storageFits).
  auto regAny = [](const char* name, L kind, FnTactic::EligibleFn e, FnTactic::MakeFn m,
                   size_t ndata = 1) {
    registerTactic(std::make_unique<FnTactic>(
        name, kind, fitting(std::move(e), ndata), std::move(m),
        std::vector<DataType>{DataType::kFLOAT, DataType::kHALF, DataType::kINT8}));
  };
  // Plain byte copies: any dtype, any rank.
  auto copyEligible = [](const ir::Layer&, const std::vector<ir::TensorInfo>& in,
                         const ocl::DeviceInfo&) { return !in.empty(); };
  regAny("reshape.copy", L::kRESHAPE, copyEligible, make<CopyKernel>());
  regAny("flatten.copy", L::kFLATTEN, copyEligible, make<CopyKernel>());
  regAny("squeeze.copy", L::kSQUEEZE, copyEligible, make<CopyKernel>());
  regAny("unsqueeze.copy", L::kUNSQUEEZE, copyEligible, make<CopyKernel>());
  // A permutation must match the input rank.
  auto permFits = [](const ir::Layer& l, const char* attr, const std::vector<ir::TensorInfo>& in) {
    const auto perm = l.attrs.ints(attr);
    return perm.empty() || (!in.empty() && perm.size() == in[0].dims.size());
  };
  regAny(
      "transpose.strided", L::kTRANSPOSE,
      [permFits](const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                 const ocl::DeviceInfo& d) {
        return permFits(l, "perm", in) && anyTensor(l, in, d);
      },
      make<TransposeKernel>());
  regAny(
      "shuffle.strided", L::kSHUFFLE,
      [permFits](const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                 const ocl::DeviceInfo& d) {
        return permFits(l, "first_transpose", in) && anyTensor(l, in, d);
      },
      make<ShuffleKernel>());
  regAny("expand.strided", L::kEXPAND, anyTensor, make<ExpandKernel>());
  regAny("split.strided", L::kSPLIT, anyTensor, make<SplitKernel>());
  regAny(
      "slice.strided", L::kSLICE,
      [](const ir::Layer& l, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo& d) {
        // starts/ends/axes/steps inputs must be integers whose values the host will know.
        for (size_t i = 1; i < in.size() && i < l.inputs.size(); ++i)
          if (l.inputs[i] >= 0 && !intTensor(in[i])) return false;
        return anyTensor(l, in, d);
      },
      make<SliceKernel>());
  regAny(
      "concat.strided", L::kCONCATENATION,
      [](const ir::Layer& l, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo& d) {
        for (auto& t : in)
          if (t.dtype != in[0].dtype) return false;
        return anyTensor(l, in, d);
      },
      make<ConcatKernel>(), SIZE_MAX);
  regAny(
      "gather.index", L::kGATHER,
      [](const ir::Layer& l, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo& d) {
        return in.size() == 2 && intTensor(in[1]) && !in[0].dims.empty() &&
               l.attrs.s("mode") != "ND" && anyTensor(l, in, d);
      },
      make<GatherKernel>());
  reg(
      "constant.upload", L::kCONSTANT,
      [](const ir::Layer& l, const std::vector<ir::TensorInfo>&, const ocl::DeviceInfo&) {
        return l.weights.count("value") != 0;
      },
      make<ConstantKernel>());
  reg(
      "constant_of_shape.fill", L::kCONSTANT_OF_SHAPE,
      [](const ir::Layer& l, const std::vector<ir::TensorInfo>&, const ocl::DeviceInfo&) {
        auto it = l.weights.find("value");
        return it == l.weights.end() || (it->second.numel() == 1 && elemSizeOk(it->second.dtype));
      },
      [](const ir::Layer& l, ocl::Device&) -> std::unique_ptr<Kernel> {
        return std::make_unique<FillKernel>(l);
      });
  reg(
      "range.linear", L::kRANGE,
      [](const ir::Layer&, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo&) {
        if (in.size() != 3) return false;
        for (auto& t : in)
          if (t.dtype != in[0].dtype) return false;
        return in[0].dtype == DataType::kFLOAT || intTensor(in[0]);
      },
      make<RangeKernel>());
}

}  // namespace clrt::tactics
