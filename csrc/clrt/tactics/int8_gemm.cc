// INT8 MatMul tactic "matmul.int8": A (INT8 activations, any batch dims, trans_a) times constant
// weights "kernel" (2-D, trans_b), quantized per output column; bias, residual and activation
// fused. Few rows (or a CPU): the float-exact rows kernel; else the tiled GEMM (dp4a on NVIDIA).
// Activation x activation products have no INT8 tactic (the builder keeps them in float).
#include <mutex>

#include "clrt/tactics/int8_common.h"

namespace clrt::tactics {
namespace {

using int8::Io;

constexpr const char* kFile = "int8_gemm.cl";
constexpr int64_t kRowsN = 16;     // columns per gemm_i8_rows work-item
constexpr int64_t kRowsMaxM = 16;  // below this many rows the tiles waste most of their work
// Tunables of int8_gemm.cl's tiled GEMM, passed to it as build options: work-group side
// (GEMM_WG), outputs per work-item side (GEMM_R), int8 quads per K step (GEMM_TQ); and the
// products summed exactly in float before moving to int32 (EXACT_TAPS).
constexpr size_t kWG = 16;
constexpr int64_t kR = 4;
constexpr int64_t kTile = kWG * kR;  // I8_TM = I8_TN (int8_tile.clh)
constexpr int64_t kTQ = 8;
constexpr int64_t kExactTaps = 1024;
const std::string kTunables =
    str(" -DGEMM_WG=", kWG, " -DGEMM_R=", kR, " -DGEMM_TQ=", kTQ, " -DEXACT_TAPS=", kExactTaps);

struct Spec {
  std::string layer;
  bool ta = false, tb = false, has_bias = false, has_res = false;
  int64_t K = 0, N = 0;
  Epilogue ep;
  float s_in = 0.0f;
};

bool readSpec(const ir::Layer& l, Spec* s) {
  const std::optional<ir::MatMulParams> p = ir::matMulParams(l);
  if (!p || !p->b_weights || p->b_dims.size() != 2) return false;
  s->layer = l.name;
  s->ta = p->ta, s->tb = p->tb;
  s->K = s->tb ? p->b_dims[1] : p->b_dims[0];
  s->N = s->tb ? p->b_dims[0] : p->b_dims[1];
  s->has_bias = p->has_bias;
  if (s->has_bias && p->bias_n != s->N) return false;
  s->has_res = p->has_res;
  s->ep = Epilogue(p->ep);
  s->s_in = inputScale(l, 0);
  return true;
}

bool eligibleMat(const ir::Layer& l, const std::vector<ir::TensorInfo>& in) {
  Spec s;
  if (!int8::int8Layer(l, in) || !readSpec(l, &s) || in[0].dims.empty()) return false;
  if (s.has_res && !int8::residualOk(l, in, l.inputs.size() - 1)) return false;
  const Dims& a = in[0].dims;
  const int64_t K = a.size() == 1 ? a[0] : (s.ta ? a[a.size() - 2] : a.back());
  return K < 0 || K == s.K;
}

class MatMulKernel : public Kernel {
 public:
  MatMulKernel(const ir::Layer& l, ocl::Device& dev) : l_(int8::attrsOf(l)) {
    CLRT_CHECK(readSpec(l, &s_) && s_.s_in > 0.0f, kBuild, "INT8 matmul layer '", l.name,
               "' has weights/attributes/scales matmul.int8 does not support");
    // op(B) as [N][K] rows, quantized per output column n.
    const std::vector<float> b = l.weights.at("kernel").asFloats();
    const int64_t K = s_.K, N = s_.N;
    std::vector<float> bt(static_cast<size_t>(N * K));
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) bt[n * K + k] = s_.tb ? b[n * K + k] : b[k * N + n];
    const QuantRows q = quantizeRows(bt, N, K, l.name);
    // Per-column factors, padded for the rows kernel's 16-wide loads.
    npRows_ = int8::roundUp(N, kRowsN);
    std::vector<float> mult(static_cast<size_t>(npRows_), 0.0f), bias(mult.size(), 0.0f);
    const std::vector<float> b0 = s_.has_bias ? l.weights.at("bias").asFloats() : bias;
    for (int64_t n = 0; n < N; ++n) mult[n] = s_.s_in * q.scale[n], bias[n] = b0[n];
    mult_ = ocl::MemHandle(int8::uploadFloats(dev, mult));
    bias_ = ocl::MemHandle(int8::uploadFloats(dev, bias));
    // Rows kernel: quantized values as floats, [K][Np].
    std::vector<float> wf(static_cast<size_t>(K * npRows_), 0.0f);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) wf[k * npRows_ + n] = q.q[n * K + k];
    wf_ = ocl::MemHandle(int8::uploadFloats(dev, wf));
    const std::string opts =
        s_.ep.options() + kTunables + (dev.info().is_nvidia ? " -DUSE_DP4A" : "");
    rows_ = ocl::KernelHandle(dev.kernel(kFile, opts, "gemm_i8_rows"));
    // Tiled kernel (GPUs): quads [Kq][Np], byte e of quad q = k 4q+e.
    tiled_ok_ = dev.info().is_gpu;
    if (tiled_ok_) {
      npTiled_ = int8::roundUp(N, kTile);
      kq_ = int8::roundUp(K, 4 * kTQ) / 4;
      std::vector<int8_t> wq(static_cast<size_t>(kq_ * npTiled_ * 4), 0);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) wq[((k / 4) * npTiled_ + n) * 4 + k % 4] = q.q[n * K + k];
      wq_ = ocl::MemHandle(int8::uploadRaw(dev, wq));
      tiled_ = ocl::KernelHandle(dev.kernel(kFile, opts, "gemm_i8_tiled"));
    }
  }

  void enqueue(const ExecArgs& a) override {
    CLRT_CHECK(!a.inputs.empty() && !a.outputs.empty(), kRuntime, "matmul layer '", s_.layer,
               "' got no input/output tensors");
    const DeviceTensor& A = a.inputs[0];
    requireStorage(A, DataType::kINT8, s_.layer, "input a");
    const Io y = int8::writeIo(l_, a, 0);
    const Io res = s_.has_res ? int8::readIo(l_, a, a.inputs.size() - 1, "residual") : Io{};
    // Output dims: A's batch dims, then M (unless A is 1-D), then N.
    Dims out;
    int64_t M = 1, K = 0;
    const Dims& ad = A.dims;
    CLRT_CHECK(!ad.empty(), kRuntime, "matmul layer '", s_.layer, "': input a has rank 0");
    if (ad.size() == 1) {
      K = ad[0];
    } else {
      M = s_.ta ? ad.back() : ad[ad.size() - 2];
      K = s_.ta ? ad[ad.size() - 2] : ad.back();
      out.assign(ad.begin(), ad.end() - 2);
      out.push_back(M);
    }
    out.push_back(s_.N);
    CLRT_CHECK(K == s_.K && a.outputs[0].dims == out, kRuntime, "matmul layer '", s_.layer,
               "': input a ", dimsToString(ad), " and output ", dimsToString(a.outputs[0].dims),
               " do not fit ", s_.K, "x", s_.N, " weights (expected output ", dimsToString(out),
               ")");
    if (res.buf)
      CLRT_CHECK(a.inputs.back().dims == out, kRuntime, "matmul layer '", s_.layer, "': residual ",
                 dimsToString(a.inputs.back().dims), " must have the output shape ",
                 dimsToString(out));
    const int64_t total = volume(out), rows = s_.N > 0 ? total / s_.N : 0;
    kint(volume(ad), s_.layer);
    kint(total + kTile * s_.N, s_.layer);
    if (total == 0) return;
    auto i = [&](int64_t v) { return kint(v, s_.layer); };
    std::lock_guard<std::mutex> lock(mu_);
    if (!tiled_ok_ || rows < kRowsMaxM) {
      ocl::setArgs(rows_.get(), A.buf, wf_.get(), mult_.get(), bias_.get(), res.buf, y.buf, i(rows),
                   i(M), i(s_.N), i(K), i(npRows_), cl_int{s_.ta}, res.dt, res.scale, y.dt, y.scale,
                   s_.ep.alpha, s_.ep.beta);
      ocl::launch(a.queue, rows_.get(), {gsize(npRows_ / kRowsN), gsize(rows)}, {});
      return;
    }
    ocl::setArgs(tiled_.get(), A.buf, wq_.get(), mult_.get(), bias_.get(), res.buf, y.buf, i(rows),
                 i(M), i(s_.N), i(K), i(npTiled_), i(kq_), cl_int{s_.ta}, res.dt, res.scale, y.dt,
                 y.scale, s_.ep.alpha, s_.ep.beta);
    const size_t gx = static_cast<size_t>((rows + kTile - 1) / kTile) * kWG;
    const size_t gy = static_cast<size_t>(npTiled_ / kTile) * kWG;
    ocl::launch(a.queue, tiled_.get(), {gx, gy}, {kWG, kWG});
  }

 private:
  ir::Layer l_;
  Spec s_;
  bool tiled_ok_ = false;
  int64_t npRows_ = 0, npTiled_ = 0, kq_ = 0;
  std::mutex mu_;  // kernel arguments are per cl_kernel: one enqueue at a time
  ocl::MemHandle wf_, wq_, mult_, bias_;
  ocl::KernelHandle rows_, tiled_;
};

class MatMulInt8Tactic : public Tactic {
 public:
  std::string name() const override { return "matmul.int8"; }
  ir::LayerKind kind() const override { return ir::LayerKind::kMATRIX_MULTIPLY; }
  bool eligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                const ocl::DeviceInfo&) const override {
    return eligibleMat(l, in);
  }
  std::unique_ptr<Kernel> instantiate(const ir::Layer& l, ocl::Device& dev) const override {
    return std::make_unique<MatMulKernel>(l, dev);
  }
  std::vector<DataType> precisions() const override { return {DataType::kINT8}; }
};

}  // namespace

void registerInt8GemmTactics() { registerTactic(std::make_unique<MatMulInt8Tactic>()); }

}  // namespace clrt::tactics
