// MatMul tactics (NumPy matmul semantics: batched, broadcast batch dims, 1-D promotion,
// trans_a/trans_b): CLBlast SGEMM variants and a portable local-memory tiled kernel, both with
// the fused y = act(a @ b + bias + residual) epilogue. The tiled kernel also runs FP16 layers
// (half operands, float arithmetic); CLBlast runs FP32 only (its half GEMM needs cl_khr_fp16).
#include <mutex>

#include "clrt/tactics/compute_common.h"
#include "clrt/tactics/matmul_plan.h"

namespace clrt::tactics {
namespace {

constexpr const char* kFile = "gemm.cl";
// Tunables of gemm.cl's tiled GEMM, passed to it as build options: work-group sides (GEMM_WGN =
// GEMM_WGM), rows per work-item (GEMM_RM; columns are 16: float16 accumulators) and the K step
// (GEMM_TK).
constexpr size_t kWG = 8;
constexpr int64_t kRM = 8;
constexpr int64_t kTK = 16;
constexpr int64_t kTileN = kWG * 16;   // GEMM_TN
constexpr int64_t kTileM = kWG * kRM;  // GEMM_TM
const std::string kTunables =
    str(" -DGEMM_WGN=", kWG, " -DGEMM_WGM=", kWG, " -DGEMM_RM=", kRM, " -DGEMM_TK=", kTK);
constexpr size_t kMaxBatchDims = 8;
constexpr int64_t kRowsN = 16;     // columns per gemm_rows work-item
constexpr int64_t kRowsMaxM = 16;  // below this many rows gemm_tiled's 64-row tiles waste most

struct MatSpec : ir::MatMulParams {
  std::string layer;
  DataType st = DataType::kFLOAT;  // operand storage: FLOAT, or HALF for an FP16 layer
};

bool readSpec(const ir::Layer& l, MatSpec* s) {
  s->layer = l.name;
  const std::optional<DataType> st = floatStorage(l);
  const std::optional<ir::MatMulParams> p = ir::matMulParams(l);
  if (!st || !p) return false;
  s->st = *st;
  static_cast<ir::MatMulParams&>(*s) = *p;
  s->ep = kernelEpilogue(s->ep);
  return true;
}

bool matEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, MatSpec* s) {
  if (!readSpec(l, s) || in.empty()) return false;
  for (size_t i = 0; i < in.size(); ++i)
    if (!in[i].dims.empty() && !storedAs(l, in, i, s->st)) return false;
  if (outputDtype(l, 0, s->st) != s->st) return false;
  if (in[0].dims.empty()) return false;
  if (!s->b_weights && (in.size() < 2 || in[1].dims.empty())) return false;
  return true;
}

// One MatMul layer on the device: `use_blas` picks CLBlast, else the tiled kernel.
class MatMulKernel : public Kernel {
 public:
  MatMulKernel(const ir::Layer& l, ocl::Device& dev, bool use_blas) : blas_(use_blas) {
    CLRT_CHECK(readSpec(l, &s_), kBuild, "matmul layer '", l.name,
               "' has inputs/attributes no matmul tactic supports");
    CLRT_CHECK(!blas_ || s_.st == DataType::kFLOAT, kBuild, "matmul layer '", l.name,
               "': the CLBlast tactic runs FP32 layers only");
    // A weight b operand is stored like the activations (the kernels read both operands alike).
    if (s_.b_weights) {
      const HostTensor& w = l.weights.at("kernel");
      if (s_.st == DataType::kHALF) {
        const HostTensor h = w.castTo(DataType::kHALF);
        b_ = ocl::MemHandle(dev.alloc(std::max<size_t>(h.bytes.size(), 4)));
        if (!h.bytes.empty())
          dev.write(dev.queue(), b_.get(), 0, h.bytes.size(), h.bytes.data(), /*blocking=*/true);
      } else {
        b_ = ocl::MemHandle(uploadWeights(dev, w));
      }
    }
    if (s_.has_bias) bias_ = ocl::MemHandle(uploadWeights(dev, l.weights.at("bias")));
    const std::string opts = epilogueOptions(s_.ep) + storageOption(s_.st) + kTunables;
    tiled_ = ocl::KernelHandle(dev.kernel(kFile, opts, "gemm_tiled"));
    rows_ = ocl::KernelHandle(dev.kernel(kFile, opts, "gemm_rows"));
    if (blas_) epi_ = ocl::KernelHandle(dev.kernel(kFile, opts, "bias_act"));
  }

  void enqueue(const ExecArgs& a) override {
    CLRT_CHECK(!a.inputs.empty() && !a.outputs.empty(), kRuntime, "matmul layer '", s_.layer,
               "' got no input/output tensors");
    const DeviceTensor& A = a.inputs[0];
    requireStorage(A, s_.st, s_.layer, "input a");
    requireStorage(a.outputs[0], s_.st, s_.layer, "output");
    cl_mem bbuf = b_.get();
    Dims bd = s_.b_dims;
    if (!s_.b_weights) {
      CLRT_CHECK(a.inputs.size() > 1, kRuntime, "matmul layer '", s_.layer, "' needs input b");
      requireStorage(a.inputs[1], s_.st, s_.layer, "input b");
      bbuf = a.inputs[1].buf;
      bd = a.inputs[1].dims;
    }
    const MatPlan p = planOf(A.dims, bd, s_.ta, s_.tb, s_.layer);
    cl_mem res = nullptr;
    if (s_.has_res) {
      requireStorage(a.inputs.back(), s_.st, s_.layer, "residual");
      res = a.inputs.back().buf;
    }
    if (!checkRun(p, s_.layer, A.dims, bd, a.outputs[0].dims, s_.has_bias ? s_.bias_n : -1,
                  s_.has_res ? &a.inputs.back().dims : nullptr))
      return;
    std::lock_guard<std::mutex> lock(mu_);
    if (blas_ && p.K > 0) {
      runBlas(a.queue, p, A.buf, bbuf, a.outputs[0].buf);
      epilogue(a.queue, p, a.outputs[0].buf, res);
    } else {
      runPortable(a.queue, p, A.buf, bbuf, a.outputs[0].buf, res);
    }
  }

 private:
  void runPortable(cl_command_queue q, const MatPlan& p, cl_mem A, cl_mem B, cl_mem C, cl_mem res) {
    CLRT_CHECK(p.bdims.size() <= kMaxBatchDims, kUnsupported, "matmul layer '", s_.layer,
               "': more than ", kMaxBatchDims, " independent batch dims");
    cl_int8 dims{};
    cl_long8 abs{}, bbs{};
    for (size_t k = 0; k < p.bdims.size(); ++k) {
      dims.s[k] = kint(p.bdims[k], s_.layer);
      abs.s[k] = p.a_bs[k];
      bbs.s[k] = p.b_bs[k];
    }
    const cl_int nbd = static_cast<cl_int>(p.bdims.size());
    const bool rows = p.M < kRowsMaxM;
    cl_kernel k = rows ? rows_.get() : tiled_.get();
    ocl::setArgs(k, A, B, bias_.get(), res, C, kint(p.M, s_.layer), kint(p.N, s_.layer),
                 kint(p.K, s_.layer), cl_long{p.a_sm}, cl_long{p.a_sk}, cl_long{p.b_sk},
                 cl_long{p.b_sn}, dims, abs, bbs, nbd, cl_int{s_.has_bias}, cl_int{res != nullptr},
                 s_.ep.alpha, s_.ep.beta);
    if (rows) {
      ocl::launch(q, k, {gsize((p.N + kRowsN - 1) / kRowsN), gsize(p.M), gsize(p.batch)}, {});
      return;
    }
    const size_t gx = static_cast<size_t>((p.N + kTileN - 1) / kTileN) * kWG;
    const size_t gy = static_cast<size_t>((p.M + kTileM - 1) / kTileM) * kWG;
    ocl::launch(q, k, {gx, gy, gsize(p.batch)}, {kWG, kWG, 1});
  }

  void runBlas(cl_command_queue q, const MatPlan& p, cl_mem A, cl_mem B, cl_mem C) {
    using clblast::Layout, clblast::Transpose;
    const Transpose ta = p.ta ? Transpose::kYes : Transpose::kNo;
    const Transpose tb = p.tb ? Transpose::kYes : Transpose::kNo;
    const size_t M = p.M, N = p.N, K = p.K, lda = p.lda, ldb = p.ldb;
    const size_t nbd = p.bdims.size();
    if (nbd == 0) {
      callBlas(s_.layer, "SGEMM", [&] {
        return clblast::Gemm(Layout::kRowMajor, ta, tb, M, N, K, 1.0f, A, 0, lda, B, 0, ldb, 0.0f,
                             C, 0, N, &q);
      });
    } else if (nbd == 1 && p.b_bs[0] == 0 && !p.ta && p.a_bs[0] == p.M * p.K) {
      // b shared by every batch and A's rows contiguous: one GEMM of batch*M rows.
      callBlas(s_.layer, "SGEMM", [&] {
        return clblast::Gemm(Layout::kRowMajor, ta, tb, M * p.batch, N, K, 1.0f, A, 0, lda, B, 0,
                             ldb, 0.0f, C, 0, N, &q);
      });
    } else if (nbd == 1) {
      callBlas(s_.layer, "SGEMMSTRIDEDBATCHED", [&] {
        return clblast::GemmStridedBatched(Layout::kRowMajor, ta, tb, M, N, K, 1.0f, A, 0, lda,
                                           p.a_bs[0], B, 0, ldb, p.b_bs[0], 0.0f, C, 0, N, M * N,
                                           p.batch, &q);
      });
    } else {
      // Broadcast patterns no single stride describes: per-batch offsets.
      const size_t nbat = p.batch;
      std::vector<size_t> ao(nbat), bo(nbat), co(nbat);
      std::vector<float> alphas(nbat, 1.0f), betas(nbat, 0.0f);
      for (size_t b = 0; b < nbat; ++b) {
        size_t rem = b, aoff = 0, boff = 0;
        for (size_t k = nbd; k-- > 0;) {
          const size_t i = rem % p.bdims[k];
          rem /= p.bdims[k];
          aoff += i * p.a_bs[k];
          boff += i * p.b_bs[k];
        }
        ao[b] = aoff, bo[b] = boff, co[b] = b * M * N;
      }
      callBlas(s_.layer, "SGEMMBATCHED", [&] {
        return clblast::GemmBatched(Layout::kRowMajor, ta, tb, M, N, K, alphas.data(), A, ao.data(),
                                    lda, B, bo.data(), ldb, betas.data(), C, co.data(), N, nbat,
                                    &q);
      });
    }
  }

  // y = act(y + bias[n] + res) in place after CLBlast; nothing to do without any of them.
  void epilogue(cl_command_queue q, const MatPlan& p, cl_mem C, cl_mem res) {
    if (!s_.has_bias && !res && identityEpilogue(s_.ep)) return;
    const cl_int inner = kint(p.N, s_.layer), outer = kint(p.batch * p.M, s_.layer);
    ocl::setArgs(epi_.get(), C, bias_.get(), res, inner, outer, inner, cl_int{1},
                 cl_int{s_.has_bias}, cl_int{res != nullptr}, s_.ep.alpha, s_.ep.beta);
    ocl::launch(q, epi_.get(), {gsize(inner), gsize(outer)}, {});
  }

  MatSpec s_;
  bool blas_;
  std::mutex mu_;  // kernel arguments are per cl_kernel: one enqueue at a time
  ocl::MemHandle b_, bias_;
  ocl::KernelHandle tiled_, rows_, epi_;
};

class MatMulTactic : public Tactic {
 public:
  MatMulTactic(std::string name, bool blas, int prio)
      : name_(std::move(name)), blas_(blas), prio_(prio) {}
  std::string name() const override { return name_; }
  ir::LayerKind kind() const override { return ir::LayerKind::kMATRIX_MULTIPLY; }
  bool eligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                const ocl::DeviceInfo&) const override {
    MatSpec s;
    if (!matEligible(l, in, &s)) return false;
    if (blas_) return s.st == DataType::kFLOAT;
    // The tiled kernel takes at most kMaxBatchDims batch dims (after merging).
    const size_t rb = s.b_weights ? s.b_dims.size() : in[1].dims.size();
    return std::max(in[0].dims.size(), rb) <= kMaxBatchDims + 2;
  }
  std::unique_ptr<Kernel> instantiate(const ir::Layer& l, ocl::Device& dev) const override {
    return std::make_unique<MatMulKernel>(l, dev, blas_);
  }
  int priority() const override { return prio_; }
  std::vector<DataType> precisions() const override {
    if (blas_) return {DataType::kFLOAT};
    return {DataType::kFLOAT, DataType::kHALF};
  }

 private:
  std::string name_;
  bool blas_;
  int prio_;
};

}  // namespace

void registerMatMulTactics() {
  // Without timing, the portable kernel: it has the few-rows path CLBlast lacks.
  registerTactic(std::make_unique<MatMulTactic>("matmul.tiled", false, 0));
  registerTactic(std::make_unique<MatMulTactic>("matmul.clblast", true, 1));
}

}  // namespace clrt::tactics
