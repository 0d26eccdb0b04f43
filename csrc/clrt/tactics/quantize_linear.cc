// QUANTIZE / DEQUANTIZE tactics (ONNX QuantizeLinear/DequantizeLinear left after Q/DQ folding):
// FLOAT -> INT8/UINT8 and INT8/UINT8/INT32 -> FLOAT, per-tensor or per-axis, kernels/quantize.cl.
#include "clrt/tactics/strided.h"

namespace clrt::tactics {
namespace {

constexpr const char* kFile = "quantize.cl";

bool isQuantType(DataType t) { return t == DataType::kINT8 || t == DataType::kUINT8; }

// Channels and inner size of the scale over x: per-tensor (1 value) or along attrs "axis".
struct Axis {
  cl_int channels = 1, inner = 1;
};

Axis axisOf(const ir::Layer& l, const Dims& x, int64_t nScale) {
  if (nScale == 1) return {};
  const int64_t axis =
      normalizeAxis(l.attrs.i("axis", 1), static_cast<int64_t>(x.size()), "layer '" + l.name + "'");
  CLRT_CHECK(x[axis] == nScale, kRuntime, ir::layerKindName(l.kind), " layer '", l.name,
             "': ", nScale, " scale values for dimension ", axis, " of input ", dimsToString(x));
  int64_t inner = 1;
  for (size_t k = static_cast<size_t>(axis) + 1; k < x.size(); ++k) inner *= x[k];
  checkIndexable(inner, "layer '" + l.name + "'");
  return {static_cast<cl_int>(nScale), static_cast<cl_int>(inner)};
}

class QdqKernel : public Kernel {
 public:
  QdqKernel(ocl::Device& dev, const ir::Layer& l) : k_(dev, kFile), layer_(l) {}
  void enqueue(const ExecArgs& args) override {
    const DeviceTensor &x = args.inputs.at(0), &s = args.inputs.at(1), &y = args.outputs.at(0);
    const DeviceTensor zp = args.inputs.size() > 2 ? args.inputs[2] : DeviceTensor{};
    const int64_t n = volume(x.dims);
    checkIndexable(n, "layer '" + layer_.name + "'");
    if (n == 0) return;
    const int64_t nScale = volume(s.dims);
    CLRT_CHECK(s.dtype == DataType::kFLOAT && s.buf, kRuntime, "layer '", layer_.name,
               "': scale must be a FLOAT tensor");
    CLRT_CHECK(!zp.buf || volume(zp.dims) == nScale, kRuntime, "layer '", layer_.name,
               "': zero point has ", volume(zp.dims), " values, scale has ", nScale);
    const Axis a = axisOf(layer_, x.dims, nScale);
    const bool q = layer_.kind == ir::LayerKind::kQUANTIZE;
    const DataType qt = q ? y.dtype : x.dtype;
    CLRT_CHECK(!zp.buf || zp.dtype == qt, kRuntime, "layer '", layer_.name, "': zero point is ",
               dtypeName(zp.dtype), ", expected ", dtypeName(qt));
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel k = k_.get(q ? "quantize_linear" : "dequantize_linear");
    // Without a zero point the kernel ignores its buffer; the scale stands in for a valid one.
    ocl::setArgs(k, x.buf, s.buf, zp.buf ? zp.buf : s.buf, y.buf, static_cast<cl_int>(n), a.inner,
                 a.channels, cl_int{zp.buf ? 1 : 0}, static_cast<cl_int>(qt));
    ocl::launch(args.queue, k, {gsize(n)});
  }

 private:
  KernelCache k_;
  ir::Layer layer_;
};

// Scale FLOAT with 1 or x.dims[axis] values; zero point absent or of the integer type `qt`.
bool paramsEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, DataType qt) {
  if (in.size() < 2 || in[1].dtype != DataType::kFLOAT) return false;
  const int64_t ns = volume(in[1].dims);
  if (ns != 1) {
    const int64_t rank = static_cast<int64_t>(in[0].dims.size());
    int64_t axis = l.attrs.i("axis", 1);
    if (in[1].dims.size() != 1 || axis < -rank || axis >= rank) return false;
    axis = axis < 0 ? axis + rank : axis;
    if (in[0].dims[axis] >= 0 && ns >= 0 && in[0].dims[axis] != ns) return false;
  }
  const bool zp = in.size() > 2 && l.inputs.size() > 2 && l.inputs[2] >= 0;
  return !zp || (in[2].dtype == qt && volume(in[2].dims) == ns);
}

bool quantizeEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                      const ocl::DeviceInfo&) {
  if (in.empty() || in[0].dtype != DataType::kFLOAT) return false;
  const bool zp = in.size() > 2 && l.inputs.size() > 2 && l.inputs[2] >= 0;
  const DataType qt =
      zp ? in[2].dtype : static_cast<DataType>(l.attrs.i("to", int(DataType::kINT8)));
  return isQuantType(qt) && paramsEligible(l, in, qt);
}

bool dequantizeEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                        const ocl::DeviceInfo&) {
  if (in.empty()) return false;
  const DataType qt = in[0].dtype;
  return (isQuantType(qt) || qt == DataType::kINT32) && paramsEligible(l, in, qt);
}

}  // namespace

void registerQdqTactics() {
  using L = ir::LayerKind;
  auto make = [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
    return std::make_unique<QdqKernel>(dev, l);
  };
  registerTactic(std::make_unique<FnTactic>("qdq.quantize", L::kQUANTIZE, quantizeEligible, make));
  registerTactic(
      std::make_unique<FnTactic>("qdq.dequantize", L::kDEQUANTIZE, dequantizeEligible, make));
}

}  // namespace clrt::tactics
