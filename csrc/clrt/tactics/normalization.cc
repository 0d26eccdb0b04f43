// Normalization tactics: SOFTMAX / LOG_SOFTMAX over any axis, LayerNorm (kNORMALIZATION),
// REDUCE over any set of axes and its ARGMAX / ARGMIN over one, from the program of
// kernels/normalization.cl: the FP32 one, or for FP16 layers its STORAGE_HALF variant (half
// storage, float accumulation).
#include <algorithm>
#include <set>

#include "clrt/tactics/compute_common.h"
#include "clrt/tactics/strided.h"

namespace clrt::tactics {
namespace {

constexpr const char* kFile = "normalization.cl";
// The largest work-group of the reductions (WG_MAX of normalization.cl: their local arrays),
// passed as a build option. LN_SHFL (NVIDIA): layernorm_vec sums a row's items with warp
// shuffles (inline PTX) instead of local memory and barriers.
constexpr size_t kWgMax = 256;
std::string programOptions(DataType st, const ocl::DeviceInfo& dev) {
  return storageOption(st) + str(" -DWG_MAX=", kWgMax) + (dev.is_nvidia ? " -DLN_SHFL=1" : "");
}

// Largest power of two <= min(n, kWgMax, what the kernel allows on the device).
size_t groupSize(cl_kernel k, cl_device_id dev, int64_t n) {
  size_t maxWg = kWgMax;
  size_t kwg = 0;
  if (clGetKernelWorkGroupInfo(k, dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof kwg, &kwg, nullptr) ==
          CL_SUCCESS &&
      kwg > 0)
    maxWg = std::min(maxWg, kwg);
  size_t p = 1;
  while (p * 2 <= maxWg && static_cast<int64_t>(p * 2) <= n) p *= 2;
  return p;
}

int64_t prod(const Dims& d, size_t from, size_t to) {
  int64_t n = 1;
  for (size_t k = from; k < to; ++k) n *= d[k];
  return n;
}

// The float storage of a layer these kernels run (eligibility refused the others).
DataType storageOf(const ir::Layer& l) { return floatStorage(l).value_or(DataType::kFLOAT); }

// Every float input and output of a run is stored as the layer was built for.
void checkStorage(const ExecArgs& args, DataType st, const std::string& layer) {
  requireStorage(args.inputs.at(0), st, layer, "input");
  for (const DeviceTensor& y : args.outputs)
    if (y.buf) requireStorage(y, st, layer, "output");
}

cl_int toInt(int64_t v, const std::string& layer) {
  checkIndexable(v, "layer '" + layer + "'");
  return static_cast<cl_int>(v);
}

// What the softmax, LayerNorm and reduce kernels share: the program variant of the layer's float
// storage and the two launch shapes (the caller holds k_'s mutex).
class RowKernel : public Kernel {
 protected:
  RowKernel(ocl::Device& dev, const ir::Layer& l)
      : st_(storageOf(l)),
        k_(dev, kFile, programOptions(st_, dev.info())),
        dev_(dev.id()),
        layer_(l.name) {}
  // A work-group of up to `len` work-items per each of `groups` rows.
  template <typename... A>
  void launchGroups(cl_command_queue q, const char* name, int64_t groups, int64_t len,
                    const A&... args) {
    cl_kernel k = k_.get(name);
    const size_t wg = groupSize(k, dev_, len);
    ocl::setArgs(k, args...);
    ocl::launch(q, k, {static_cast<size_t>(groups) * wg}, {wg});
  }
  // The largest work-group (a power of two, <= kWgMax) the device allows for kernel `name`.
  size_t maxGroup(const char* name) { return groupSize(k_.get(name), dev_, kWgMax); }
  // A work-item each of n.
  template <typename... A>
  void launchItems(cl_command_queue q, const char* name, int64_t n, const A&... args) {
    cl_kernel k = k_.get(name);
    ocl::setArgs(k, args...);
    ocl::launch(q, k, {gsize(n)});
  }

  DataType st_;  // float storage (FLOAT/HALF): picks the program variant
  KernelCache k_;
  cl_device_id dev_;
  std::string layer_;
};

class SoftmaxKernel : public RowKernel {
 public:
  SoftmaxKernel(ocl::Device& dev, const ir::Layer& l, bool log)
      : RowKernel(dev, l), axis_(l.attrs.i("axis", -1)), log_(log) {}
  void enqueue(const ExecArgs& args) override {
    checkStorage(args, st_, layer_);
    const DeviceTensor &x = args.inputs.at(0), &y = args.outputs.at(0);
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    if (volume(x.dims) == 0) return;
    const size_t axis = static_cast<size_t>(
        rank == 0 ? 0 : normalizeAxis(axis_, rank, "softmax layer '" + layer_ + "' axis"));
    const int64_t outer = prod(x.dims, 0, axis);
    const int64_t len = rank == 0 ? 1 : x.dims[axis];
    const int64_t inner = rank == 0 ? 1 : prod(x.dims, axis + 1, x.dims.size());
    toInt(outer * len * inner, layer_);
    std::lock_guard<std::mutex> lock(k_.mutex());
    // A work-group per row pays off for long rows; otherwise one work-item per column.
    if (inner == 1 && len >= 64)
      launchGroups(args.queue, "softmax_rows", outer, len, x.buf, y.buf, static_cast<cl_int>(len),
                   cl_int{log_});
    else
      launchItems(args.queue, "softmax_cols", outer * inner, x.buf, y.buf,
                  static_cast<cl_int>(outer), static_cast<cl_int>(len), static_cast<cl_int>(inner),
                  cl_int{log_});
  }

 private:
  int64_t axis_;
  int log_;
};

// Scale/bias dims without leading 1s must be the trailing normalized dims: they then repeat
// every numel values along a row.
bool weightFits(const Dims& w, const Dims& x, size_t axis) {
  size_t first = 0;
  while (first < w.size() && w[first] == 1) ++first;
  const size_t n = w.size() - first;
  if (n > x.size() - axis) return false;
  for (size_t k = 0; k < n; ++k)
    if (w[first + k] != x[x.size() - n + k]) return false;
  return true;
}

// LayerNorm writing INT8 (a narrowed output, builder/precision.cc narrowOutput) runs on
// layernorm_vec only: rows of whole 16-byte vectors of at most 8192 values (T <= 256 items a
// row), the scale and bias not repeating along the row. `len`: the normalized values a row.
bool quantizedRowsFit(int64_t len, DataType st, const Dims& scale, const Dims* bias) {
  const int64_t vec = st == DataType::kHALF ? 8 : 4;
  return len > 0 && len % vec == 0 && len <= 8192 && volume(scale) == len &&
         (!bias || volume(*bias) == len);
}

class LayerNormKernel : public RowKernel {
 public:
  LayerNormKernel(ocl::Device& dev, const ir::Layer& l)
      : RowKernel(dev, l),
        axis_(l.attrs.i("axis", -1)),
        eps_(static_cast<float>(l.attrs.f("epsilon", 1e-5))),
        q8_(outputDtype(l, 0, st_) == DataType::kINT8) {
    if (q8_) {
      const float sc = outputScale(l, 0);
      CLRT_CHECK(sc > 0, kBuild, "NORMALIZATION layer '", l.name,
                 "' writes INT8 but has no output scale");
      invQ_ = 1.0f / sc;
    }
    auto sc = l.weights.find("scale"), bi = l.weights.find("bias");
    CLRT_CHECK(sc != l.weights.end(), kBuild, "NORMALIZATION layer '", l.name,
               "' has no 'scale' weights");
    scaleDims_ = sc->second.dims;
    scale_ = ocl::MemHandle(uploadWeights(dev, sc->second));
    if (bi != l.weights.end()) {
      biasDims_ = bi->second.dims;
      hasBias_ = true;
      bias_ = ocl::MemHandle(uploadWeights(dev, bi->second));
    }
  }
  void enqueue(const ExecArgs& args) override {
    requireStorage(args.inputs.at(0), st_, layer_, "input");
    for (size_t i = 0; i < args.outputs.size(); ++i)
      if (args.outputs[i].buf)
        requireStorage(args.outputs[i], i == 0 && q8_ ? DataType::kINT8 : st_, layer_, "output");
    const DeviceTensor &x = args.inputs.at(0), &y = args.outputs.at(0);
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    CLRT_CHECK(rank > 0, kRuntime, "NORMALIZATION layer '", layer_,
               "' needs a tensor, got a scalar");
    const size_t axis = static_cast<size_t>(
        normalizeAxis(axis_, rank, "NORMALIZATION layer '" + layer_ + "' axis"));
    const int64_t rows = prod(x.dims, 0, axis), len = prod(x.dims, axis, x.dims.size());
    toInt(rows * len, layer_);
    if (rows * len == 0) return;
    CLRT_CHECK(
        weightFits(scaleDims_, x.dims, axis) && (!hasBias_ || weightFits(biasDims_, x.dims, axis)),
        kRuntime, "NORMALIZATION layer '", layer_, "': scale ", dimsToString(scaleDims_),
        hasBias_ ? " / bias " + dimsToString(biasDims_) : std::string(),
        " do not broadcast to the normalized dims of input ", dimsToString(x.dims), " from axis ",
        axis);
    const cl_int sn = static_cast<cl_int>(std::max<int64_t>(volume(scaleDims_), 1));
    const cl_int bn = hasBias_ ? static_cast<cl_int>(std::max<int64_t>(volume(biasDims_), 1)) : 0;
    // Optional Mean / InvStdDev outputs (ONNX LayerNormalization), one value per row.
    cl_mem mean = y.buf, rstd = y.buf;
    cl_int stats = 0;
    if (args.outputs.size() > 1 && args.outputs[1].buf) mean = args.outputs[1].buf, stats |= 1;
    if (args.outputs.size() > 2 && args.outputs[2].buf) rstd = args.outputs[2].buf, stats |= 2;
    cl_mem bias = hasBias_ ? bias_.get() : scale_.get();
    std::lock_guard<std::mutex> lock(k_.mutex());
    if (vecLaunch(args.queue, x.buf, bias, y.buf, mean, rstd, rows, len, sn, bn, stats)) return;
    CLRT_CHECK(!q8_, kRuntime, "NORMALIZATION layer '", layer_, "' writes INT8, which needs ",
               "rows of whole ", st_ == DataType::kHALF ? 8 : 4, "-value vectors of at most 8192 ",
               "values and a work-group of 256 items; got ", rows, " rows of ", len);
    if (len >= 32)
      launchGroups(args.queue, "layernorm_rows", rows, len, x.buf, scale_.get(), bias, y.buf, mean,
                   rstd, static_cast<cl_int>(len), sn, bn, eps_, stats);
    else
      launchItems(args.queue, "layernorm_small", rows, x.buf, scale_.get(), bias, y.buf, mean, rstd,
                  static_cast<cl_int>(rows), static_cast<cl_int>(len), sn, bn, eps_, stats);
  }

 private:
  int64_t axis_;
  float eps_;
  bool q8_;  // output 0 INT8 at 1 / invQ_ (layernorm_vec's q8)
  float invQ_ = 1.0f;
  Dims scaleDims_, biasDims_;
  bool hasBias_ = false;
  ocl::MemHandle scale_, bias_;
  int64_t vecWgMax_ = 0;  // layernorm_vec's largest work-group on the device (0: not asked yet)

  // layernorm_vec where it applies: rows of whole vectors (4 floats or 8 halves: 16 bytes, so
  // every row starts aligned) that fit the registers of at most kWgMax items (32 values each),
  // and scale / bias that do not repeat along the row. T items per row: up to a warp's 32 with
  // at least 2 vectors each where the row has them (H100, 65536 rows of 64 halves: 9.8 us at
  // T = 4, 12.6 at 8), more where the row needs them; rows fill work-groups of up to kWgMax
  // items, at least 32 (whole warps, for LN_SHFL).
  bool vecLaunch(cl_command_queue q, cl_mem x, cl_mem bias, cl_mem y, cl_mem mean, cl_mem rstd,
                 int64_t rows, int64_t len, cl_int sn, cl_int bn, cl_int stats) {
    // LN_VEC and LN_VEC * LN_NV of normalization.cl.
    const int64_t vec = st_ == DataType::kHALF ? 8 : 4, perItem = 32;
    if (len % vec != 0 || sn != len || (bn != 0 && bn != len)) return false;
    const int64_t nvec = len / vec;
    int64_t T = 1;
    while (T < 32 && T * 2 < nvec) T *= 2;
    while (T * (perItem / vec) < nvec) T *= 2;
    if (!vecWgMax_) vecWgMax_ = static_cast<int64_t>(maxGroup("layernorm_vec"));  // asked once
    const int64_t wgMax = vecWgMax_;
    if (T > wgMax || wgMax < 32) return false;
    int64_t wg = T;
    while (wg < wgMax && wg < T * rows) wg *= 2;
    wg = std::max<int64_t>(wg, 32);
    const int64_t perGroup = wg / T, groups = (rows + perGroup - 1) / perGroup;
    cl_kernel k = k_.get("layernorm_vec");
    ocl::setArgs(k, x, scale_.get(), bias, y, mean, rstd, static_cast<cl_int>(rows),
                 static_cast<cl_int>(len), static_cast<cl_int>(T), cl_int{bn != 0}, eps_, stats,
                 cl_int{q8_}, invQ_);
    ocl::launch(q, k, {static_cast<size_t>(groups * wg)}, {static_cast<size_t>(wg)});
    return true;
  }
};

// Codes of the reduce kernels in normalization.cl.
int reduceCode(const std::string& op) {
  static const std::map<std::string, int> m = {
      {"SUM", 0},        {"MEAN", 1}, {"MAX", 2}, {"MIN", 3},     {"PROD", 4},
      {"SUM_SQUARE", 5}, {"L2", 6},   {"L1", 7},  {"LOG_SUM", 8}, {"LOG_SUM_EXP", 9}};
  auto it = m.find(op);
  return it == m.end() ? -1 : it->second;
}

class ReduceKernel : public RowKernel {
 public:
  ReduceKernel(ocl::Device& dev, const ir::Layer& l, int op)
      : RowKernel(dev, l),
        op_(op),
        axes_(l.attrs.ints("axes")),
        noopEmpty_(l.attrs.i("noop_with_empty_axes", 0) != 0) {}
  void enqueue(const ExecArgs& args) override {
    checkStorage(args, st_, layer_);
    const DeviceTensor &x = args.inputs.at(0), &y = args.outputs.at(0);
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    std::vector<int64_t> axes = axes_;
    if (args.inputs.size() > 1 && args.inputs[1].buf) {  // opset 18: axes as an input
      CLRT_CHECK(args.input_values.size() > 1 && args.input_values[1], kRuntime, "REDUCE layer '",
                 layer_, "': the axes input must be known on the host");
      axes = args.input_values[1]->asInt64();
    }
    std::set<int64_t> reduced;
    for (int64_t a : axes)
      reduced.insert(normalizeAxis(a, rank, "REDUCE layer '" + layer_ + "' axes"));
    if (axes.empty() && noopEmpty_) {
      copyBytes(args.queue, x.buf, 0, y.buf, 0, volume(x.dims) * dtypeSize(x.dtype));
      return;
    }
    if (axes.empty())
      for (int64_t a = 0; a < rank; ++a) reduced.insert(a);
    const std::vector<int64_t> st = stridesOf(x.dims);
    Dims keptDims, redDims;
    std::vector<int64_t> keptSt, redSt;
    for (int64_t a = 0; a < rank; ++a) {
      (reduced.count(a) ? redDims : keptDims).push_back(x.dims[a]);
      (reduced.count(a) ? redSt : keptSt).push_back(st[a]);
    }
    toInt(volume(x.dims), layer_);
    const int64_t nout = volume(keptDims), count = volume(redDims);
    if (nout == 0) return;
    const std::string what = "REDUCE layer '" + layer_ + "'";
    const IndexPack outp = packIndex(keptDims, {keptSt}, what);
    const IndexPack redp = packIndex(redDims, {redSt}, what);
    std::lock_guard<std::mutex> lock(k_.mutex());
    // Few outputs over many positions: a work-group each; else a work-item each.
    if (count >= 256 && nout <= 2048)
      launchGroups(args.queue, "reduce_group", nout, count, x.buf, y.buf, outp, redp,
                   static_cast<cl_int>(count), cl_int{op_});
    else
      launchItems(args.queue, "reduce_item", nout, x.buf, y.buf, static_cast<cl_int>(nout), outp,
                  redp, static_cast<cl_int>(count), cl_int{op_});
  }

 private:
  int op_;
  std::vector<int64_t> axes_;
  bool noopEmpty_;
};

// ARGMAX / ARGMIN over one axis to INT64 indices.
class ArgReduceKernel : public Kernel {
 public:
  ArgReduceKernel(ocl::Device& dev, const ir::Layer& l)
      : st_(storageOf(l)),
        k_(dev, kFile, storageOption(st_)),
        layer_(l.name),
        op_(l.attrs.s("op") == "ARGMIN" ? 1 : 0),
        last_(l.attrs.i("select_last_index", 0) != 0 ? 1 : 0) {
    const auto axes = l.attrs.ints("axes");
    CLRT_CHECK(axes.size() == 1, kBuild, "REDUCE layer '", l.name, "': ", l.attrs.s("op"),
               " needs one axis, got ", axes.size());
    axis_ = axes[0];
  }
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor &x = args.inputs.at(0), &y = args.outputs.at(0);
    requireStorage(x, st_, layer_, "input");
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    CLRT_CHECK(rank > 0, kRuntime, "REDUCE layer '", layer_, "' needs a tensor, got a scalar");
    const size_t axis =
        static_cast<size_t>(normalizeAxis(axis_, rank, "REDUCE layer '" + layer_ + "' axes"));
    const int64_t len = x.dims[axis], inner = prod(x.dims, axis + 1, x.dims.size());
    const int64_t n = prod(x.dims, 0, axis) * inner;
    toInt(volume(x.dims), layer_);
    if (n == 0) return;
    CLRT_CHECK(len > 0, kValue, "REDUCE layer '", layer_, "': ", op_ ? "ARGMIN" : "ARGMAX",
               " over an empty axis of input ", dimsToString(x.dims));
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get("arg_reduce");
    ocl::setArgs(k, x.buf, y.buf, static_cast<cl_int>(n), static_cast<cl_int>(len),
                 static_cast<cl_int>(inner), cl_int{op_}, cl_int{last_});
    ocl::launch(args.queue, k, {gsize(n)});
  }

 private:
  DataType st_;  // float storage (FLOAT/HALF): picks the program variant
  KernelCache k_;
  std::string layer_;
  int op_, last_;
  int64_t axis_ = 0;
};

// Input 0 is stored as the layer precision says (FLOAT, or HALF for FP16).
bool floatInput(const ir::Layer& l, const std::vector<ir::TensorInfo>& in) {
  const std::optional<DataType> st = floatStorage(l);
  return st && storedAs(l, in, 0, *st) && outputDtype(l, 0, *st) == *st;
}

}  // namespace

void registerNormalizationTactics() {
  using L = ir::LayerKind;
  const std::vector<DataType> kFloatHalf = {DataType::kFLOAT, DataType::kHALF};
  auto softmaxEligible = [](const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                            const ocl::DeviceInfo&) { return in.size() == 1 && floatInput(l, in); };
  registerTactic(std::make_unique<FnTactic>(
      "softmax.axis", L::kSOFTMAX, softmaxEligible,
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        return std::make_unique<SoftmaxKernel>(dev, l, false);
      },
      kFloatHalf));
  registerTactic(std::make_unique<FnTactic>(
      "log_softmax.axis", L::kLOG_SOFTMAX, softmaxEligible,
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        return std::make_unique<SoftmaxKernel>(dev, l, true);
      },
      kFloatHalf));
  auto layernorm = std::make_unique<FnTactic>(
      "layernorm.rows", L::kNORMALIZATION,
      [](const ir::Layer& l, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo&) {
        if (in.size() != 1 || in[0].dims.empty() || !l.weights.count("scale")) return false;
        if (floatInput(l, in)) return true;
        const std::optional<DataType> st = floatStorage(l);
        if (!st || !storedAs(l, in, 0, *st) || outputDtype(l, 0, *st) != DataType::kINT8)
          return false;
        // An INT8 output: layernorm_vec's rows, known when the build runs.
        const Dims& d = in[0].dims;
        const int64_t rank = static_cast<int64_t>(d.size()), a = l.attrs.i("axis", -1);
        if (a < -rank || a >= rank) return false;
        int64_t len = 1;
        for (int64_t k = a < 0 ? a + rank : a; k < rank && len > 0; ++k)
          len = d[k] > 0 ? len * d[k] : -1;
        const auto bias = l.weights.find("bias");
        return len > 0 && quantizedRowsFit(len, *st, l.weights.at("scale").dims,
                                           bias == l.weights.end() ? nullptr : &bias->second.dims);
      },
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        return std::make_unique<LayerNormKernel>(dev, l);
      },
      kFloatHalf);
  layernorm->setQuantizesOutput(true);  // layernorm_vec's q8
  registerTactic(std::move(layernorm));
  registerTactic(std::make_unique<FnTactic>(
      "reduce.axes", L::kREDUCE,
      [](const ir::Layer& l, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo&) {
        if (in.empty() || !floatInput(l, in) || reduceCode(l.attrs.s("op")) < 0 ||
            in[0].dims.size() > static_cast<size_t>(kMaxKernelRank))
          return false;
        // An axes input must have an integer type (its value is needed on the host).
        return in.size() == 1 || in[1].dtype == DataType::kINT64 || in[1].dtype == DataType::kINT32;
      },
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        const int op = reduceCode(l.attrs.s("op"));
        CLRT_CHECK(op >= 0, kBuild, "REDUCE layer '", l.name, "': unknown op '", l.attrs.s("op"),
                   "'");
        return std::make_unique<ReduceKernel>(dev, l, op);
      },
      kFloatHalf));
  registerTactic(std::make_unique<FnTactic>(
      "argreduce.axis", L::kREDUCE,
      [](const ir::Layer& l, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo&) {
        const std::string op = l.attrs.s("op");
        const std::optional<DataType> st = floatStorage(l);
        return in.size() == 1 && (op == "ARGMAX" || op == "ARGMIN") && st &&
               storedAs(l, in, 0, *st) && !in[0].dims.empty() && l.attrs.ints("axes").size() == 1;
      },
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        return std::make_unique<ArgReduceKernel>(dev, l);
      },
      kFloatHalf));
}

}  // namespace clrt::tactics
