// 3-D window tactics from kernels/window3d.cl: "conv.direct3d" (CONVOLUTION with a 3-D kernel,
// fused epilogue) and "deconv.direct" (DECONVOLUTION, ONNX ConvTranspose, 1 to 3 spatial dims).
// FP32 and FP16 storage; weights and arithmetic stay float.
#include "clrt/tactics/compute_common.h"

namespace clrt::tactics {
namespace {

constexpr const char* kFile = "window3d.cl";

// A conv or deconv layer's geometry, read from its kernel weights and attrs.
struct Spec {
  std::string layer;
  bool transposed = false;
  // W (and B) read from layer inputs: 1 (and 2) for DECONVOLUTION, 2 (and 3) for CONVOLUTION,
  // whose input 1 is the residual.
  bool w_input = false;
  size_t wi = 1;
  int64_t C = 0, K = 0, G = 1;
  size_t nsp = 0;
  Dims kernel;
  std::vector<int64_t> strides, dilations, pads;
  std::string auto_pad = "NOTSET";
  Epilogue ep;
  DataType st = DataType::kFLOAT;
};

bool readSpec(const ir::Layer& l, bool transposed, Spec* s) {
  s->layer = l.name;
  s->transposed = transposed;
  const std::optional<DataType> st = floatStorage(l);
  auto w = l.weights.find("kernel");
  s->w_input = w == l.weights.end();
  s->wi = transposed ? 1 : 2;
  const Dims kd = s->w_input             ? l.attrs.ints("kernel_shape")
                  : w != l.weights.end() ? w->second.dims
                                         : Dims{};
  if (!st || kd.size() < 3 || kd.size() > 5) return false;
  s->st = *st;
  s->nsp = kd.size() - 2;
  s->G = l.attrs.i("group", 1);
  if (s->G < 1) return false;
  s->C = transposed ? kd[0] : kd[1] * s->G;
  s->K = transposed ? kd[1] * s->G : kd[0];
  s->kernel.assign(kd.begin() + 2, kd.end());
  const std::optional<ir::WindowNd> win = ir::windowNd(l.attrs, s->nsp);
  if (!win) return false;
  s->strides = win->strides, s->dilations = win->dilations, s->pads = win->pads;
  s->auto_pad = win->auto_pad;
  const std::optional<ir::EpilogueParams> ep = ir::epilogueParams(l.attrs);
  if (!ep || (transposed && ep->act != 0)) return false;
  s->ep = Epilogue(*ep);
  for (size_t i = 0; i < s->nsp; ++i)
    if (s->strides[i] < 1 || s->dilations[i] < 1) return false;
  auto b = l.weights.find("bias");
  return s->C % s->G == 0 && s->K % s->G == 0 &&
         (b == l.weights.end() || b->second.numel() == s->K) && ir::knownAutoPad(s->auto_pad);
}

bool eligibleFor(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, bool transposed,
                 Spec* s) {
  if (!readSpec(l, transposed, s) || in.empty() || !storedAs(l, in, 0, s->st)) return false;
  if (outputDtype(l, 0, s->st) != s->st || in[0].dims.size() != s->nsp + 2) return false;
  if (s->w_input) {  // the kernel reads W and B as float
    Dims kd = {transposed ? s->C : s->K, transposed ? s->K / s->G : s->C / s->G};
    kd.insert(kd.end(), s->kernel.begin(), s->kernel.end());
    const size_t wi = s->wi;
    if (in.size() <= wi || in[wi].dims != kd || inputDtype(l, wi, in[wi].dtype) != DataType::kFLOAT)
      return false;
    if (in.size() > wi + 1 && l.inputs.size() > wi + 1 && l.inputs[wi + 1] >= 0 &&
        (inputDtype(l, wi + 1, in[wi + 1].dtype) != DataType::kFLOAT ||
         volume(in[wi + 1].dims) != s->K))
      return false;
  }
  if (!transposed && in.size() > 1 && l.inputs.size() > 1 && l.inputs[1] >= 0 &&
      !storedAs(l, in, 1, s->st)) {
    return false;
  }
  return in[0].dims[1] < 0 || in[0].dims[1] == s->C;
}

class WindowKernel : public Kernel {
 public:
  WindowKernel(const ir::Layer& l, ocl::Device& dev, bool transposed) {
    CLRT_CHECK(readSpec(l, transposed, &s_), kBuild, "layer '", l.name,
               "' has weights/attributes the direct 3-D window tactic does not support");
    const std::string opts = storageOption(s_.st) + " " + s_.ep.options();
    k_ = ocl::KernelHandle(
        dev.kernel(kFile, opts, transposed ? "deconv3d_direct" : "conv3d_direct"));
    if (!s_.w_input) w_ = ocl::MemHandle(uploadWeights(dev, l.weights.at("kernel")));
    auto b = l.weights.find("bias");
    b_ = ocl::MemHandle(uploadWeights(
        dev, b != l.weights.end() ? b->second
                                  : HostTensor::fromFloats({s_.K}, std::vector<float>(s_.K, 0))));
  }
  void enqueue(const ExecArgs& a) override {
    const DeviceTensor& x = a.inputs.at(0);
    const DeviceTensor& y = a.outputs.at(0);
    requireStorage(x, s_.st, s_.layer, "input");
    requireStorage(y, s_.st, s_.layer, "output");
    const size_t nsp = s_.nsp;
    CLRT_CHECK(x.dims.size() == nsp + 2 && y.dims.size() == nsp + 2 && x.dims[1] == s_.C &&
                   y.dims[1] == s_.K && y.dims[0] == x.dims[0],
               kRuntime, "layer '", s_.layer, "': input ", dimsToString(x.dims), " and output ",
               dimsToString(y.dims), " do not fit a kernel of ", s_.C, " input and ", s_.K,
               " output channels");
    cl_mem res = nullptr, w = w_.get(), bias = b_.get();
    if (s_.w_input) {
      const size_t wi = s_.wi;
      CLRT_CHECK(a.inputs.size() > wi && a.inputs[wi].buf &&
                     a.inputs[wi].dtype == DataType::kFLOAT &&
                     volume(a.inputs[wi].dims) == s_.C * (s_.K / s_.G) * volume(s_.kernel),
                 kRuntime, "layer '", s_.layer, "': weight input must be FLOAT of ",
                 s_.C * (s_.K / s_.G) * volume(s_.kernel), " elements");
      w = a.inputs[wi].buf;
      if (a.inputs.size() > wi + 1 && a.inputs[wi + 1].buf) {
        CLRT_CHECK(
            a.inputs[wi + 1].dtype == DataType::kFLOAT && volume(a.inputs[wi + 1].dims) == s_.K,
            kRuntime, "layer '", s_.layer, "': bias input must be FLOAT of ", s_.K, " elements");
        bias = a.inputs[wi + 1].buf;
      }
    }
    if (!s_.transposed && a.inputs.size() > 1 && a.inputs[1].buf) {
      requireStorage(a.inputs[1], s_.st, s_.layer, "residual");
      CLRT_CHECK(a.inputs[1].dims == y.dims, kRuntime, "layer '", s_.layer, "': residual ",
                 dimsToString(a.inputs[1].dims), " must have the output shape ",
                 dimsToString(y.dims));
      res = a.inputs[1].buf;
    }
    kint(volume(x.dims), s_.layer);
    const int64_t n = volume(y.dims);
    kint(n, s_.layer);
    if (n == 0) return;
    WinPack g;
    const size_t off = 3 - nsp;
    // The kernels read no end pads (a transposed conv's may be negative: extra output).
    for (size_t i = 0; i < nsp; ++i) {
      setWinAxis(&g, off + i, x.dims[2 + i], y.dims[2 + i], s_.kernel[i], s_.strides[i],
                 s_.dilations[i], s_.pads[i], 0, s_.auto_pad, s_.layer);
    }
    const cl_int N = static_cast<cl_int>(n), C = kint(s_.C, s_.layer), K = kint(s_.K, s_.layer),
                 G = kint(s_.G, s_.layer);
    std::lock_guard<std::mutex> lock(mu_);
    if (s_.transposed)
      ocl::setArgs(k_.get(), x.buf, w, bias, y.buf, N, C, K, G, g);
    else
      ocl::setArgs(k_.get(), x.buf, w, bias, res ? res : x.buf, y.buf, N, C, K, G,
                   cl_int{res != nullptr}, s_.ep.alpha, s_.ep.beta, g);
    ocl::launch(a.queue, k_.get(), {gsize(n)}, {});
  }

 private:
  Spec s_;
  std::mutex mu_;  // kernel arguments are per cl_kernel: one enqueue at a time
  ocl::KernelHandle k_;
  ocl::MemHandle w_, b_;
};

class WindowTactic : public Tactic {
 public:
  explicit WindowTactic(bool transposed) : transposed_(transposed) {}
  std::string name() const override { return transposed_ ? "deconv.direct" : "conv.direct3d"; }
  ir::LayerKind kind() const override {
    return transposed_ ? ir::LayerKind::kDECONVOLUTION : ir::LayerKind::kCONVOLUTION;
  }
  // The 2-D conv tactics keep 1-D/2-D convolutions; this one takes the 3-D ones and those whose
  // weight is an input (the others need it at build time).
  bool eligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                const ocl::DeviceInfo&) const override {
    Spec s;
    return eligibleFor(l, in, transposed_, &s) && (transposed_ || s.nsp == 3 || s.w_input);
  }
  std::unique_ptr<Kernel> instantiate(const ir::Layer& l, ocl::Device& dev) const override {
    return std::make_unique<WindowKernel>(l, dev, transposed_);
  }
  std::vector<DataType> precisions() const override { return {DataType::kFLOAT, DataType::kHALF}; }

 private:
  bool transposed_;
};

}  // namespace

void registerWindow3dTactics() {
  registerTactic(std::make_unique<WindowTactic>(false));
  registerTactic(std::make_unique<WindowTactic>(true));
}

}  // namespace clrt::tactics
