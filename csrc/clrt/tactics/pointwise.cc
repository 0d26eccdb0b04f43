// Pointwise tactics: ACTIVATION, UNARY, ELEMENTWISE (broadcasting), SCALE, CAST, IDENTITY and
// WHERE, all served by the program built from kernels/pointwise.cl: the FP32 one, or for FP16
// layers its STORAGE_HALF variant (half storage, float arithmetic).
#include <algorithm>
#include <cmath>

#include "clrt/core/kernel_codes.h"
#include "clrt/tactics/compute_common.h"
#include "clrt/tactics/run_errors.h"
#include "clrt/tactics/strided.h"

namespace clrt::tactics {
namespace {

constexpr const char* kFile = "pointwise.cl";

int codeOf(const std::map<std::string, int>& table, const std::string& key) {
  auto it = table.find(key);
  return it == table.end() ? -1 : it->second;
}

// Codes of unary_op() in pointwise.cl past the activations (core/kernel_codes.h: 1..19).
const std::map<std::string, int>& unaryCodes() {
  static const std::map<std::string, int> m = {
      {"EXP", 20},   {"LOG", 21},        {"SQRT", 22},  {"RECIP", 23},    {"ABS", 24},
      {"NEG", 25},   {"ERF", 26},        {"SIN", 27},   {"COS", 28},      {"FLOOR", 29},
      {"CEIL", 30},  {"NOT", 31},        {"TAN", 32},   {"ASIN", 33},     {"ACOS", 34},
      {"ATAN", 35},  {"SINH", 36},       {"COSH", 37},  {"ASINH", 38},    {"ACOSH", 39},
      {"ATANH", 40}, {"SIGN", 41},       {"ROUND", 42}, {"SOFTSIGN", 43}, {"ISNAN", 44},
      {"ISINF", 45}, {"BITWISE_NOT", 46}};
  return m;
}
const std::map<std::string, int>& binaryCodes() {
  static const std::map<std::string, int> m = {{"SUM", 0},
                                               {"SUB", 1},
                                               {"PROD", 2},
                                               {"DIV", 3},
                                               {"POW", 4},
                                               {"MAX", 5},
                                               {"MIN", 6},
                                               {"EQUAL", 7},
                                               {"GREATER", 8},
                                               {"LESS", 9},
                                               {"AND", 10},
                                               {"OR", 11},
                                               {"MOD", 12},
                                               {"FMOD", 13},
                                               {"XOR", 14},
                                               {"GREATER_OR_EQUAL", 15},
                                               {"LESS_OR_EQUAL", 16},
                                               {"SHIFT_LEFT", 17},
                                               {"SHIFT_RIGHT", 18},
                                               {"BITWISE_AND", 19},
                                               {"BITWISE_OR", 20},
                                               {"BITWISE_XOR", 21}};
  return m;
}

bool isCompare(int code) { return (code >= 7 && code <= 9) || code == 15 || code == 16; }
bool isLogic(int code) { return code == 10 || code == 11 || code == 14; }
bool isShift(int code) { return code == 17 || code == 18; }
bool isBitwise(int code) { return code >= 19 && code <= 21; }

bool isInt(DataType t) { return t == DataType::kINT32 || t == DataType::kINT64; }
bool rankOk(const std::vector<ir::TensorInfo>& in) {
  for (auto& t : in)
    if (t.dims.size() > static_cast<size_t>(kMaxKernelRank)) return false;
  return true;
}

// Float-valued input i is stored as the layer precision says (FLOAT, or HALF for FP16).
bool floatOk(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, size_t i) {
  const std::optional<DataType> st = floatStorage(l);
  return st && storedAs(l, in, i, *st);
}

// The float storage of a layer the float kernels run (eligibility refused the others).
DataType storageOf(const ir::Layer& l) { return floatStorage(l).value_or(DataType::kFLOAT); }

cl_int count(const Dims& d, const std::string& layer) {
  const int64_t n = volume(d);
  checkIndexable(n, "layer '" + layer + "'");
  return static_cast<cl_int>(n);
}

// y = f(x) for ACTIVATION and UNARY: float ops through unary_f, integer ABS/NEG, bool NOT.
class UnaryKernel : public Kernel {
 public:
  UnaryKernel(ocl::Device& dev, const ir::Layer& l, int op, float a, float b)
      : st_(storageOf(l)),
        k_(dev, kFile, storageOption(st_)),
        layer_(l.name),
        op_(op),
        a_(a),
        b_(b) {}
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor& x = args.inputs.at(0);
    const cl_int n = count(x.dims, layer_);
    if (n == 0) return;
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = nullptr;
    if (op_ == 31) {
      k = k_.get("not_b");
      ocl::setArgs(k, x.buf, args.outputs[0].buf, n);
    } else if (op_ == 44 || op_ == 45) {
      requireStorage(x, st_, layer_, "input");
      k = k_.get("isclass_f");
      ocl::setArgs(k, x.buf, args.outputs[0].buf, n, cl_int{op_}, cl_int{a_ != 0.0f},
                   cl_int{b_ != 0.0f});
    } else if (!isInt(x.dtype)) {
      requireStorage(x, st_, layer_, "input");
      requireStorage(args.outputs[0], st_, layer_, "output");
      k = k_.get("unary_f");
      ocl::setArgs(k, x.buf, args.outputs[0].buf, n, cl_int{op_}, a_, b_);
    } else {
      k = k_.get(x.dtype == DataType::kINT32 ? "unary_i" : "unary_l");
      ocl::setArgs(k, x.buf, args.outputs[0].buf, n, cl_int{op_});
    }
    ocl::launch(args.queue, k, {gsize(n)});
  }

 private:
  DataType st_;  // float storage (FLOAT/HALF): picks the program variant
  KernelCache k_;
  std::string layer_;
  int op_;
  float a_, b_;
};

class BinaryKernel : public Kernel {
 public:
  BinaryKernel(ocl::Device& dev, const ir::Layer& l, int op)
      : st_(storageOf(l)),
        k_(dev, kFile, storageOption(st_)),
        layer_(l.name),
        op_(op),
        hwc_{channelsLastIn(l, 0), channelsLastIn(l, 1), channelsLastOut(l, 0)},
        gpu_(dev.info().is_gpu) {}
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor &a = args.inputs.at(0), &b = args.inputs.at(1);
    const DeviceTensor& y = args.outputs.at(0);
    const cl_int n = count(y.dims, layer_);
    if (n == 0) return;
    const int64_t na = volume(a.dims), nb = volume(b.dims);
    cl_int mode = 3;
    IndexPack p;
    // Flat indexing (modes 0-2) where an operand is a scalar or stored as y is, shape included.
    auto same = [&](bool hwc, const Dims& d, int64_t v) {
      return v == 1 || (hwc == hwc_[2] && (!hwc || d == y.dims));
    };
    const bool sameA = same(hwc_[0], a.dims, na), sameB = same(hwc_[1], b.dims, nb);
    // One value per image and channel: (N or 1, C, 1, ...) at y's rank, stored alike in
    // either layout.
    const Dims& yd = y.dims;
    auto gate = [&](const Dims& d) {
      if (d.size() != yd.size() || d.size() < 3 || d[1] != yd[1] || (d[0] != 1 && d[0] != yd[0]))
        return false;
      return std::all_of(d.begin() + 2, d.end(), [](int64_t v) { return v == 1; });
    };
    // y's trailing dims after leading 1s (right-aligned): element i reads element i % count.
    auto repeats = [&](const Dims& d) {
      if (d.size() > yd.size()) return false;
      size_t k = 0;
      while (k < d.size() && d[k] == 1) ++k;
      return k < d.size() && std::equal(d.begin() + k, d.end(), yd.end() - (d.size() - k));
    };
    if (na == n && nb == n && sameA && sameB) {
      mode = 0;
    } else if (na == n && nb == 1 && sameA) {
      mode = 1;
    } else if (na == 1 && nb == n && sameB) {
      mode = 2;
    } else if (na == n && sameA && !hwc_[1] && !hwc_[2] && repeats(b.dims)) {
      mode = 6;
      p.dims[0] = static_cast<cl_int>(nb);
    } else if (nb == n && sameB && !hwc_[0] && !hwc_[2] && repeats(a.dims)) {
      mode = 7;
      p.dims[0] = static_cast<cl_int>(na);
    } else if ((na == n && sameA && gate(b.dims)) || (nb == n && sameB && gate(a.dims))) {
      mode = na == n && sameA && gate(b.dims) ? 4 : 5;
      const Dims& g = mode == 4 ? b.dims : a.dims;
      p.rank = 4;
      p.dims[0] = static_cast<cl_int>(yd[1]);
      p.dims[1] = static_cast<cl_int>(n / (yd[0] * yd[1]));
      p.dims[2] = hwc_[2] ? 1 : 0;
      p.dims[3] = g[0] == 1 ? 0 : static_cast<cl_int>(yd[1]);
    } else {
      p = layoutIndex(a.dims, b.dims, y.dims);
    }
    const bool compare = isCompare(op_) && a.dtype != DataType::kBOOL;
    const char* name = nullptr;
    bool wide = false;  // binary_f8 (below)
    switch (a.dtype) {
      case DataType::kFLOAT:
      case DataType::kHALF:
        requireStorage(a, st_, layer_, "input a");
        requireStorage(b, st_, layer_, "input b");
        if (!compare) requireStorage(y, st_, layer_, "output");
        // Float ops 8 elements a work-item where every 8-element group of y reads 8
        // consecutive elements (or one) of each operand: binary_f8.
        wide = !compare && n % 8 == 0 &&
               (mode <= 2 || ((mode == 4 || mode == 5) && p.dims[(p.dims[2] ? 0 : 1)] % 8 == 0) ||
                (mode >= 6 && p.dims[0] % 8 == 0));
        name = compare ? "compare_f" : wide ? "binary_f8" : "binary_f";
        break;
      case DataType::kINT32:
        name = compare ? "compare_i" : "binary_i";
        break;
      case DataType::kINT64:
        name = compare ? "compare_l" : "binary_l";
        break;
      case DataType::kBOOL:
        name = "binary_b";
        break;
      default:
        fail(ErrorKind::kUnsupported,
             str("layer '", layer_, "': elementwise on ", dtypeName(a.dtype), " is not supported"));
    }
    std::lock_guard<std::mutex> lock(k_.mutex());
    if (!gpu_ && !wide && !compare && (mode == 4 || mode == 5) && !hwc_[2] &&
        (a.dtype == DataType::kFLOAT || a.dtype == DataType::kHALF)) {
      // CPUs, y NCHW under a per-channel gate: a work-item per (image, channel) plane.
      cl_kernel kp = k_.get("binary_f_planes");
      const cl_int planes = kint(yd[0] * yd[1], layer_);
      ocl::setArgs(kp, a.buf, b.buf, y.buf, planes, p.dims[1], cl_int{op_}, mode, p);
      ocl::launch(args.queue, kp, {gsize(planes)});
      return;
    }
    cl_kernel k = k_.get(name);
    // binary_i/_l/_b take the run's error record (integer division by zero).
    const bool recorded = !compare && a.dtype != DataType::kFLOAT && a.dtype != DataType::kHALF;
    if (recorded)
      ocl::setArgs(k, a.buf, b.buf, y.buf, n, cl_int{op_}, mode, p, args.errors,
                   cl_int{runErrorTag(args.layer)});
    else
      ocl::setArgs(k, a.buf, b.buf, y.buf, n, cl_int{op_}, mode, p);
    if (wide)  // work-groups of 128 (the grid padded: binary_f8 checks its range)
      ocl::launch(args.queue, k, {gsize((n / 8 + 127) / 128 * 128)}, {128});
    else
      ocl::launch(args.queue, k, {gsize(n)});
  }
  // Integer DIV and MOD check their divisors on the device.
  bool reportsRunErrors() const override { return op_ == 3 || op_ == 12 || op_ == 13; }

 private:
  // The broadcast index of a, b and y, each in its layout (NCHW or channels last): the axes
  // walked in y's memory order, so that y's element i is the i-th one stored.
  IndexPack layoutIndex(const Dims& ad, const Dims& bd, const Dims& yd) const {
    auto strides = [&](const Dims& d, bool hwc) {
      std::vector<int64_t> s = broadcastStrides(d, yd);
      if (!hwc) return s;
      const std::vector<int64_t> own = channelsLastStrides(d);
      const size_t off = yd.size() - d.size();
      for (size_t k = 0; k < d.size(); ++k)
        s[off + k] = (d[k] == 1 && yd[off + k] != 1) ? 0 : own[k];
      return s;
    };
    const std::vector<int64_t> sa = strides(ad, hwc_[0]), sb = strides(bd, hwc_[1]);
    const std::vector<int64_t> sy = hwc_[2] ? channelsLastStrides(yd) : stridesOf(yd);
    std::vector<size_t> order(yd.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(), [&](size_t u, size_t v) { return sy[u] > sy[v]; });
    Dims d;
    std::vector<int64_t> pa, pb;
    for (size_t k : order) d.push_back(yd[k]), pa.push_back(sa[k]), pb.push_back(sb[k]);
    return packIndex(d, {pa, pb}, "layer '" + layer_ + "'");
  }

  DataType st_;  // float storage (FLOAT/HALF): picks the program variant
  KernelCache k_;
  std::string layer_;
  int op_;
  bool hwc_[3];  // a, b, y stored channels last (builder/layouts.cc)
  bool gpu_;
};

class ScaleKernel : public Kernel {
 public:
  ScaleKernel(ocl::Device& dev, const ir::Layer& l)
      : st_(storageOf(l)),
        k_(dev, kFile, storageOption(st_)),
        layer_(l.name),
        axis_(l.attrs.i("channel_axis", 1)) {
    auto sc = l.weights.find("scale"), sh = l.weights.find("shift");
    CLRT_CHECK(sc != l.weights.end(), kBuild, "SCALE layer '", l.name, "' has no 'scale' weights");
    channels_ = sc->second.numel();
    scale_ = ocl::MemHandle(uploadWeights(dev, sc->second));
    if (sh != l.weights.end()) {
      CLRT_CHECK(sh->second.numel() == channels_, kBuild, "SCALE layer '", l.name, "': shift has ",
                 sh->second.numel(), " values, scale has ", channels_);
      shift_ = ocl::MemHandle(uploadWeights(dev, sh->second));
    } else {
      shift_ = ocl::MemHandle(uploadWeights(
          dev, HostTensor::fromFloats({channels_}, std::vector<float>(channels_, 0.0f))));
    }
  }
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor& x = args.inputs.at(0);
    requireStorage(x, st_, layer_, "input");
    requireStorage(args.outputs.at(0), st_, layer_, "output");
    const cl_int n = count(x.dims, layer_);
    if (n == 0) return;
    const int64_t axis = normalizeAxis(axis_, static_cast<int64_t>(x.dims.size()),
                                       "SCALE layer '" + layer_ + "' channel_axis");
    CLRT_CHECK(channels_ == 1 || channels_ == x.dims[axis], kRuntime, "SCALE layer '", layer_,
               "': ", channels_, " scale values for ", x.dims[axis], " channels of input ",
               dimsToString(x.dims));
    int64_t inner = 1;
    for (size_t k = axis + 1; k < x.dims.size(); ++k) inner *= x.dims[k];
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get("scale_f");
    ocl::setArgs(k, x.buf, scale_.get(), shift_.get(), args.outputs[0].buf, n,
                 static_cast<cl_int>(inner), static_cast<cl_int>(channels_));
    ocl::launch(args.queue, k, {gsize(n)});
  }

 private:
  DataType st_;  // float storage (FLOAT/HALF): picks the program variant
  KernelCache k_;
  std::string layer_;
  int64_t axis_, channels_ = 0;
  ocl::MemHandle scale_, shift_;
};

// cast_any's mode: bit 0 saturates narrow floats; bits 1-2 are E8M0's rounding.
cl_int kernelCastMode(const ir::Layer& l) {
  const CastMode m = clrt::castMode(l.attrs.i("saturate", 1) != 0, l.attrs.s("round_mode", "up"));
  return static_cast<cl_int>((m.saturate ? 1 : 0) | (static_cast<int>(m.round) << 1));
}

// CAST, and IDENTITY (a copy, or a cast when the builder gave the output another type).
class CastKernel : public Kernel {
 public:
  CastKernel(ocl::Device& dev, std::string layer, bool bitcast = false, cl_int mode = 1)
      : k_(dev, kFile), layer_(std::move(layer)), bitcast_(bitcast), mode_(mode) {}
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor &x = args.inputs.at(0), &y = args.outputs.at(0);
    const cl_int n = count(x.dims, layer_);
    CLRT_CHECK(!bitcast_ || dtypeSize(x.dtype) == dtypeSize(y.dtype), kRuntime, "layer '", layer_,
               "': bit cast from ", dtypeName(x.dtype), " to ", dtypeName(y.dtype),
               " changes the element size");
    if (x.dtype == y.dtype || bitcast_) {
      copyBytes(args.queue, x.buf, 0, y.buf, 0, static_cast<size_t>(n) * dtypeSize(x.dtype));
      return;
    }
    if (n == 0) return;
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get("cast_any");
    ocl::setArgs(k, x.buf, y.buf, n, static_cast<cl_int>(x.dtype), static_cast<cl_int>(y.dtype),
                 mode_);
    ocl::launch(args.queue, k, {gsize(n)});
  }

 private:
  KernelCache k_;
  std::string layer_;
  bool bitcast_;
  cl_int mode_;
};

class WhereKernel : public Kernel {
 public:
  WhereKernel(ocl::Device& dev, std::string layer) : k_(dev, kFile), layer_(std::move(layer)) {}
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor &c = args.inputs.at(0), &a = args.inputs.at(1), &b = args.inputs.at(2);
    const DeviceTensor& y = args.outputs.at(0);
    const cl_int n = count(y.dims, layer_);
    if (n == 0) return;
    const IndexPack p =
        packIndex(y.dims,
                  {broadcastStrides(c.dims, y.dims), broadcastStrides(a.dims, y.dims),
                   broadcastStrides(b.dims, y.dims)},
                  "WHERE layer '" + layer_ + "'");
    const size_t es = dtypeSize(y.dtype);
    const char* name = es == 1 ? "where_1" : es == 2 ? "where_2" : es == 4 ? "where_4" : "where_8";
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get(name);
    ocl::setArgs(k, c.buf, a.buf, b.buf, y.buf, n, p);
    ocl::launch(args.queue, k, {gsize(n)});
  }

 private:
  KernelCache k_;
  std::string layer_;
};

bool activationEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                        const ocl::DeviceInfo&) {
  return in.size() == 1 && floatOk(l, in, 0) && findActivation(l.attrs.s("type")) != nullptr;
}

bool unaryEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                   const ocl::DeviceInfo&) {
  if (in.size() != 1) return false;
  const std::string op = l.attrs.s("op");
  const int code = codeOf(unaryCodes(), op);
  if (code < 0) return false;
  if (op == "NOT") return in[0].dtype == DataType::kBOOL;
  if (op == "ABS" || op == "NEG" || op == "SIGN") return floatOk(l, in, 0) || isInt(in[0].dtype);
  if (op == "BITWISE_NOT") return isInt(in[0].dtype);
  return floatOk(l, in, 0);
}

bool elementwiseEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                         const ocl::DeviceInfo&) {
  if (in.size() != 2 || in[0].dtype != in[1].dtype || !rankOk(in)) return false;
  const int code = codeOf(binaryCodes(), l.attrs.s("op"));
  const DataType t = in[0].dtype;
  if (code < 0) return false;
  if (isLogic(code) || t == DataType::kBOOL)
    return t == DataType::kBOOL && (isLogic(code) || code == 7);
  if (isShift(code) || isBitwise(code)) return isInt(t);
  return (floatOk(l, in, 0) && floatOk(l, in, 1)) || isInt(t);
}

bool scaleEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                   const ocl::DeviceInfo&) {
  return in.size() == 1 && floatOk(l, in, 0) && l.weights.count("scale");
}

bool castEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                  const ocl::DeviceInfo&) {
  return in.size() == 1 && validDtype(l.attrs.i("to", -1));
}

bool identityEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                      const ocl::DeviceInfo&) {
  // A plain copy handles any dtype; a differing output type goes through cast_any.
  if (in.size() != 1) return false;
  if (layerPrecision(l) == DataType::kINT8) {
    // An INT8 identity is a byte copy: it cannot change the scale.
    const float si = inputScale(l, 0), so = outputScale(l, 0);
    return inputDtype(l, 0, in[0].dtype) == DataType::kINT8 &&
           outputDtype(l, 0, DataType::kINT8) == DataType::kINT8 &&
           (si <= 0.0f || so <= 0.0f || std::fabs(si - so) <= 1e-6f * std::max(si, so));
  }
  return true;
}

bool whereEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                   const ocl::DeviceInfo&) {
  if (in.size() != 3 || in[0].dtype != DataType::kBOOL || in[1].dtype != in[2].dtype || !rankOk(in))
    return false;
  // Float values must be stored as the layer precision says; any other type is a byte select.
  if (layerPrecision(l) == DataType::kHALF && !(floatOk(l, in, 1) && floatOk(l, in, 2)))
    return false;
  const size_t es = dtypeSize(in[1].dtype);
  return es == 1 || es == 2 || es == 4 || es == 8;
}

}  // namespace

void registerPointwiseTactics() {
  using L = ir::LayerKind;
  const std::vector<DataType> kFloatHalf = {DataType::kFLOAT, DataType::kHALF};
  registerTactic(std::make_unique<FnTactic>(
      "activation.pointwise", L::kACTIVATION, activationEligible,
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        const std::string type = l.attrs.s("type");
        const ActivationInfo* act = findActivation(type);
        CLRT_CHECK(act, kBuild, "ACTIVATION layer '", l.name, "': unknown type '", type, "'");
        const auto a = static_cast<float>(l.attrs.f("alpha", act->alpha));
        const auto b = static_cast<float>(l.attrs.f("beta", act->beta));
        return std::make_unique<UnaryKernel>(dev, l, act->code, a, b);
      },
      kFloatHalf));
  registerTactic(std::make_unique<FnTactic>(
      "unary.pointwise", L::kUNARY, unaryEligible,
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        const int code = codeOf(unaryCodes(), l.attrs.s("op"));
        CLRT_CHECK(code > 0, kBuild, "UNARY layer '", l.name, "': unknown op '", l.attrs.s("op"),
                   "'");
        // ISINF: which infinities count (ONNX detect_positive / detect_negative).
        const float pos = static_cast<float>(l.attrs.i("detect_positive", 1));
        const float neg = static_cast<float>(l.attrs.i("detect_negative", 1));
        return std::make_unique<UnaryKernel>(dev, l, code, pos, neg);
      },
      kFloatHalf));
  auto binary = std::make_unique<FnTactic>(
      "elementwise.broadcast", L::kELEMENTWISE, elementwiseEligible,
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        const int code = codeOf(binaryCodes(), l.attrs.s("op"));
        CLRT_CHECK(code >= 0, kBuild, "ELEMENTWISE layer '", l.name, "': unknown op '",
                   l.attrs.s("op"), "'");
        return std::make_unique<BinaryKernel>(dev, l, code);
      },
      kFloatHalf);
  // Both operands and the output either way: each is indexed through its own strides.
  binary->setChannelsLast([](const ir::Layer&, int i) { return i == 0 || i == 1 || i == -1; });
  registerTactic(std::move(binary));
  registerTactic(std::make_unique<FnTactic>(
      "scale.per_channel", L::kSCALE, scaleEligible,
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        return std::make_unique<ScaleKernel>(dev, l);
      },
      kFloatHalf));
  registerTactic(std::make_unique<FnTactic>(
      "cast.pointwise", L::kCAST, castEligible,
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        return std::make_unique<CastKernel>(dev, l.name, l.attrs.i("bitcast", 0) != 0,
                                            kernelCastMode(l));
      }));
  registerTactic(std::make_unique<FnTactic>(
      "identity.copy", L::kIDENTITY, identityEligible,
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        return std::make_unique<CastKernel>(dev, l.name);
      },
      std::vector<DataType>{DataType::kFLOAT, DataType::kHALF, DataType::kINT8}));
  registerTactic(std::make_unique<FnTactic>(
      "where.broadcast", L::kWHERE, whereEligible,
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        return std::make_unique<WhereKernel>(dev, l.name);
      },
      kFloatHalf));
}

}  // namespace clrt::tactics
