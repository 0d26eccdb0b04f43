// matmul.tc_fp16 / matmul.tc_int8 / matmul.tc_tf32: MatMul on NVIDIA tensor cores (tc_matmul of
// kernels/tc_gemm.cl): constant 2-D weights (packed once) or activation x activation, NumPy
// batching/broadcasting, trans_a/trans_b, fused epilogue.
#include <algorithm>
#include <mutex>

#include "clrt/tactics/matmul_plan.h"
#include "clrt/tactics/tensorcore_common.h"

namespace clrt::tactics::tc {
namespace {

constexpr size_t kMaxBatchDims = 8;
constexpr int64_t kMaxBatch = 65535;  // the grid's second dimension

struct Spec : ir::MatMulParams {
  std::string layer;
  Mma mma = Mma::kF16;
  DataType in_dt = DataType::kHALF, res_dt = DataType::kHALF, out_dt = DataType::kHALF;
  float a_scale = 0, b_scale = 0, res_scale = 0, out_scale = 0;
  size_t res_index = 0;
};

bool readSpec(const ir::Layer& l, Mma mma, Spec* s) {
  const std::optional<ir::MatMulParams> p = ir::matMulParams(l);
  if (!p) return false;
  const bool int8 = mma == Mma::kS8;
  s->layer = l.name;
  static_cast<ir::MatMulParams&>(*s) = *p;
  s->ep = kernelEpilogue(s->ep);
  s->mma = mma;
  // Constant weights are packed as one [N][K] matrix: 2-D only.
  if (s->b_weights && s->b_dims.size() != 2) return false;
  const DataType st = precisionOf(mma);
  s->res_index = l.inputs.size() - 1;
  s->in_dt = inputDtype(l, 0, st);
  s->res_dt = s->has_res ? inputDtype(l, s->res_index, st) : st;
  s->out_dt = outputDtype(l, 0, int8 ? DataType::kFLOAT : st);
  s->a_scale = inputScale(l, 0);
  s->b_scale = s->b_weights ? 0.0f : inputScale(l, 1);
  s->res_scale = s->has_res ? inputScale(l, s->res_index) : 0.0f;
  s->out_scale = outputScale(l, 0);
  if (s->in_dt != st || (!s->b_weights && inputDtype(l, 1, st) != st)) return false;
  if (dtCode(s->out_dt) < 0 || dtCode(s->res_dt) < 0) return false;
  if (int8 && (!(s->a_scale > 0) || (!s->b_weights && !(s->b_scale > 0)))) return false;
  if (s->out_dt == DataType::kINT8 && !(s->out_scale > 0)) return false;
  if (s->has_res && s->res_dt == DataType::kINT8 && !(s->res_scale > 0)) return false;
  if (!int8 && s->out_dt != st) return false;
  return true;
}

// Operands stored MN-major (A with trans_a, an activation B without trans_b) are transposed
// into the workspace first: A^T at offset 0, B^T after it at this alignment.
constexpr int64_t kWsAlign = 256;

class TcMatMulKernel : public Kernel {
 public:
  TcMatMulKernel(const ir::Layer& l, ocl::Device& dev, Mma mma, const Config& tile) {
    CLRT_CHECK(readSpec(l, mma, &s_), kBuild, "matmul layer '", l.name,
               "' has inputs/attributes matmul.tc_", suffix(mma), " does not support");
    cfg_ = runTile(tile, dev.info());
    split_ = splitPolicy(dev.info());
    pp_blocks_ = pingpongBlocks(dev.info());
    if (s_.b_weights) {
      // B as [N][Kpad] (K contiguous), zero padded; INT8 per output column (row of B^T).
      const std::vector<float> w = l.weights.at("kernel").asFloats();
      const int64_t r = s_.b_dims[0], c = s_.b_dims[1];
      wk_ = s_.tb ? c : r;
      wn_ = s_.tb ? r : c;
      std::vector<float> bt(static_cast<size_t>(wn_ * wk_));
      for (int64_t n = 0; n < wn_; ++n)
        for (int64_t k = 0; k < wk_; ++k)
          bt[static_cast<size_t>(n * wk_ + k)] =
              s_.tb ? w[static_cast<size_t>(n * c + k)] : w[static_cast<size_t>(k * c + n)];
      wkpad_ = roundUp(wk_, 64);
      const int64_t npad = roundUp(wn_, cfg_.bn);
      std::vector<float> sw;
      b_ = ocl::MemHandle(upload(dev, packWeights(mma, bt, wn_, wk_, npad, wkpad_, l.name, &sw)));
      if (mma == Mma::kS8) svec_ = ocl::MemHandle(uploadFloats(dev, sw));
    }
    if (s_.has_bias) bias_ = ocl::MemHandle(uploadWeights(dev, l.weights.at("bias")));
    // res_dt is the precision's storage type without a residual, as in the tensor-core 1x1
    // convolutions' GEMM: a MatMul and a 1x1 convolution of one tile share the program.
    const std::string opts =
        options(dev.info(), mma, /*conv=*/false, cfg_, s_.ep, dtCode(s_.out_dt), dtCode(s_.res_dt),
                mmEpilogueOption(cfg_, s_.has_res));
    k_ = ocl::KernelHandle(dev.kernel(kFile, opts, "tc_matmul"));
    if (s_.ta || (!s_.b_weights && !s_.tb))
      tr_ = ocl::KernelHandle(dev.kernel(kFile, opts, "tc_transpose"));
  }

  size_t workspaceSize(const std::vector<Dims>& in, const std::vector<Dims>& out) const override {
    (void)out;
    int64_t a = 0, b = 0;
    transposedBytes(in.empty() ? Dims{} : in[0], in.size() > 1 && !s_.b_weights ? in[1] : Dims{},
                    &a, &b);
    if (a > 0 || b > 0) return static_cast<size_t>(b > 0 ? roundUp(a, kWsAlign) + b : a);
    if (in.empty() || (!s_.b_weights && in.size() < 2)) return 0;
    // No transposes: the workspace holds the split-K accumulators, if any.
    const MatPlan p = planOf(in[0], s_.b_weights ? s_.b_dims : in[1], s_.ta, s_.tb, s_.layer);
    const Launch l = launchOf(p);
    return static_cast<size_t>(splitBytes(l.tiles, l.ks, cfg_));
  }

  void enqueue(const ExecArgs& a) override {
    CLRT_CHECK(!a.inputs.empty() && !a.outputs.empty(), kRuntime, "matmul layer '", s_.layer,
               "' got no input/output tensors");
    const DeviceTensor& A = a.inputs[0];
    const DeviceTensor& Y = a.outputs[0];
    check(A, s_.in_dt, "input a");
    check(Y, s_.out_dt, "output");
    cl_mem bbuf = b_.get();
    Dims bd = s_.b_dims;
    if (!s_.b_weights) {
      CLRT_CHECK(a.inputs.size() > 1, kRuntime, "matmul layer '", s_.layer, "' needs input b");
      check(a.inputs[1], s_.in_dt, "input b");
      bbuf = a.inputs[1].buf;
      bd = a.inputs[1].dims;
    }
    MatPlan p = planOf(A.dims, bd, s_.ta, s_.tb, s_.layer);
    cl_mem res = nullptr;
    if (s_.has_res) {
      check(a.inputs[s_.res_index], s_.res_dt, "residual");
      res = a.inputs[s_.res_index].buf;
    }
    if (!checkRun(p, s_.layer, A.dims, bd, Y.dims, s_.has_bias ? s_.bias_n : -1,
                  s_.has_res ? &a.inputs[s_.res_index].dims : nullptr))
      return;
    const int64_t esz = elemBytes(s_.mma);
    std::lock_guard<std::mutex> lock(mu_);
    // Transposes (volumes, batch strides and matrix sizes are unchanged by them).
    int64_t abytes = 0, bbytes = 0;
    transposedBytes(A.dims, s_.b_weights ? Dims{} : bd, &abytes, &bbytes);
    const int64_t need = bbytes > 0 ? roundUp(abytes, kWsAlign) + bbytes : abytes;
    CLRT_CHECK(need == 0 || (a.workspace && bufferBytes(a.workspace) >= static_cast<size_t>(need)),
               kRuntime, "matmul layer '", s_.layer, "': needs ", need,
               " bytes of workspace for its transposed operands, got ", bufferBytes(a.workspace));
    cl_mem abuf = A.buf;
    cl_long aoff = 0, boff = 0;
    int64_t lda = p.lda, ldb = p.ldb;
    if (abytes > 0) {  // A stored [.., K, M]
      transpose(a.queue, A.buf, a.workspace, 0, p.K, p.M, abytes / esz / (p.K * p.M));
      abuf = a.workspace;
      lda = p.K;
    }
    if (bbytes > 0) {  // B stored [.., K, N]
      boff = roundUp(abytes, kWsAlign) / esz;
      transpose(a.queue, bbuf, a.workspace, boff, p.K, p.N, bbytes / esz / (p.K * p.N));
      bbuf = a.workspace;
      ldb = p.K;
    } else if (!s_.b_weights && bd.size() == 1) {
      ldb = p.K;  // a vector: already K-major
    }
    if (s_.b_weights) {
      // Packed [N][Kpad]: K-major, shared by every batch.
      ldb = wkpad_;
      for (auto& v : p.b_bs) v = 0;
      if (oneGemm(p)) {
        p.M *= p.batch;
        p.batch = 1;
        p.bdims.clear(), p.a_bs.clear(), p.b_bs.clear();
      }
    }
    CLRT_CHECK(p.bdims.size() <= kMaxBatchDims && p.batch <= kMaxBatch, kUnsupported,
               "matmul layer '", s_.layer, "': ", p.batch, " products over ", p.bdims.size(),
               " batch dims exceed the ", kMaxBatch, " / ", kMaxBatchDims, " matmul.tc_* launches");
    // Whole-tile vector loads need 16-byte rows and batch strides.
    auto vecOk = [&](int64_t ld, const std::vector<int64_t>& bs, int64_t off) {
      bool ok = (ld * esz) % 16 == 0 && (off * esz) % 16 == 0;
      for (int64_t v : bs) ok = ok && (v * esz) % 16 == 0;
      return ok;
    };
    const cl_int avec = vecOk(lda, p.a_bs, aoff);
    const cl_int bvec = s_.b_weights ? 1 : vecOk(ldb, p.b_bs, boff);
    // The ping-pong block copies whole 16-byte chunks only (eligible() checks K for it).
    CLRT_CHECK(!cfg_.pingpong || (avec && bvec), kRuntime, "matmul layer '", s_.layer,
               "': matmul.tc_", suffix(s_.mma), "_pp needs operand rows of a multiple of 16 bytes",
               " (K = ", p.K, ")");
    cl_int8 dims{};
    cl_long8 abs{}, bbs{};
    for (size_t k = 0; k < p.bdims.size(); ++k) {
      dims.s[k] = kint(p.bdims[k], s_.layer);
      abs.s[k] = p.a_bs[k];
      bbs.s[k] = p.b_bs[k];
    }
    const int64_t mt = (p.M + cfg_.bm - 1) / cfg_.bm, nt = (p.N + cfg_.bn - 1) / cfg_.bn;
    kint(mt * nt * cfg_.threads(), s_.layer);
    const float scale = s_.mma == Mma::kS8 ? s_.a_scale * (s_.b_weights ? 1.0f : s_.b_scale) : 1.0f;
    const float inv_os = s_.out_scale > 0 ? 1.0f / s_.out_scale : 1.0f;
    auto i = [&](int64_t v) { return kint(v, s_.layer); };
    // Split-K where no operand went through the workspace (p is folded: launchOf takes it as is).
    Launch sl = launchOf(p);
    if (need > 0) sl.ks = 1;
    const SplitBuffers sb = splitBuffers(a, sl.tiles, &sl.ks, cfg_, counters_);
    ocl::setArgs(k_.get(), abuf, bbuf, aoff, boff, bias_.get(), svec_.get(), res, Y.buf, i(p.M),
                 i(p.N), i(p.K), i(lda), i(ldb), avec, bvec, i(mt), dims, abs, bbs,
                 static_cast<cl_int>(p.bdims.size()), cl_int{s_.has_bias},
                 cl_int{svec_.get() != nullptr}, cl_int{res != nullptr}, scale, s_.res_scale,
                 inv_os, s_.ep.alpha, s_.ep.beta, cl_int{sl.ks}, sb.ws, sb.counters);
    // A ping-pong block walks tiles gid, gid + blocks, ...: one block per compute unit at most.
    const int64_t blocks = cfg_.pingpong ? std::min<int64_t>(mt * nt, pp_blocks_) : mt * nt;
    const size_t nthr = static_cast<size_t>(cfg_.blockThreads());
    ocl::launch(a.queue, k_.get(),
                {static_cast<size_t>(blocks) * nthr, gsize(p.batch), static_cast<size_t>(sl.ks)},
                {nthr, 1, 1});
  }

 private:
  // The k-tile length of the run tile (tc_gemm.cl BK).
  int64_t bk() const { return int64_t{cfg_.kch} * (16 / elemBytes(s_.mma)); }
  // Packed weights and A's rows contiguous across the batch: one GEMM of batch * M rows.
  bool oneGemm(const MatPlan& p) const {
    return s_.b_weights && p.bdims.size() == 1 && !p.ta && p.a_bs[0] == p.M * p.K;
  }
  struct Launch {
    int64_t tiles = 0;
    int ks = 1;
  };
  // The blocks of the launch for plan `p` (before oneGemm's folding, or after it) and its
  // split-K splits.
  Launch launchOf(const MatPlan& p) const {
    const int64_t m = oneGemm(p) ? p.M * p.batch : p.M, batch = oneGemm(p) ? 1 : p.batch;
    Launch l;
    l.tiles = ((m + cfg_.bm - 1) / cfg_.bm) * ((p.N + cfg_.bn - 1) / cfg_.bn) * batch;
    // (A ping-pong block walks several tiles: no split-K.)
    l.ks = cfg_.pingpong ? 1 : splitK(l.tiles, (p.K + bk() - 1) / bk(), split_);
    return l;
  }

  // Bytes of A and B (dims as given) that go through tc_transpose: A when trans_a, B when it is
  // an activation of rank >= 2 without trans_b; 0 otherwise.
  void transposedBytes(const Dims& ad, const Dims& bd, int64_t* a, int64_t* b) const {
    const int64_t esz = elemBytes(s_.mma);
    *a = s_.ta && ad.size() >= 2 && isStatic(ad) ? volume(ad) * esz : 0;
    *b = !s_.b_weights && !s_.tb && bd.size() >= 2 && isStatic(bd) ? volume(bd) * esz : 0;
  }
  // out[off + ...] = per-matrix transposes of `count` row-major R x C matrices of `in`.
  void transpose(cl_command_queue q, cl_mem in, cl_mem out, cl_long off, int64_t R, int64_t C,
                 int64_t count) {
    if (count == 0 || R * C == 0) return;
    CLRT_CHECK(count <= kMaxBatch, kUnsupported, "matmul layer '", s_.layer, "': ", count,
               " matrices to transpose exceed the ", kMaxBatch, " a launch takes");
    ocl::setArgs(tr_.get(), in, out, off, kint(R, s_.layer), kint(C, s_.layer));
    ocl::launch(q, tr_.get(), {gsize((C + 31) / 32 * 32), gsize((R + 31) / 32 * 8), gsize(count)},
                {32, 8, 1});
  }

  void check(const DeviceTensor& t, DataType want, const char* what) const {
    CLRT_CHECK(t.buf != nullptr, kRuntime, "matmul layer '", s_.layer, "': ", what,
               " has no device buffer");
    CLRT_CHECK(t.dtype == want, kRuntime, "matmul layer '", s_.layer, "': ", what, " is ",
               dtypeName(t.dtype), ", built for ", dtypeName(want));
  }

  Spec s_;
  Config cfg_;
  int64_t wk_ = 0, wn_ = 0, wkpad_ = 0;
  std::mutex mu_;  // kernel arguments are per cl_kernel: one enqueue at a time
  SplitCounters counters_;
  ocl::MemHandle b_, bias_, svec_;
  SplitPolicy split_;
  int64_t pp_blocks_ = 1;
  ocl::KernelHandle k_, tr_;
};

// Block tiles, each a tactic the builder times per layer: kGemmTile (the default), and
// kSmallGemmTile for products too small to fill the GPU with 128 x 128 blocks.
struct Tile {
  const char* suffix;
  Config cfg;
};
constexpr Tile kTiles[] = {{"", kGemmTile},        {"_64x64", kSmallGemmTile},
                           {"_wg", kWgTile},       {"_wg64x128", kWgTile64x128},
                           {"_pp", kPingPongTile}, {"_pp256", kPingPongTile256}};

class TcMatMulTactic : public Tactic {
 public:
  TcMatMulTactic(Mma mma, const Tile& tile) : mma_(mma), tile_(tile) {}
  std::string name() const override { return str("matmul.tc_", suffix(mma_), tile_.suffix); }
  ir::LayerKind kind() const override { return ir::LayerKind::kMATRIX_MULTIPLY; }
  std::vector<DataType> precisions() const override { return {precisionOf(mma_)}; }
  bool tf32() const override { return mma_ == Mma::kTF32; }
  bool tileVariant() const override { return *tile_.suffix != 0; }
  bool worthOffering(const ocl::DeviceInfo& dev) const override {
    return tc::worthOffering(tile_.cfg, dev) &&
           (!tile_.cfg.pingpong || pingpongOffered(/*conv=*/false));
  }
  bool eligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                const ocl::DeviceInfo& dev) const override {
    Spec s;
    if (!available(tile_.cfg, dev) || !readSpec(l, mma_, &s) || in.empty() || in[0].dims.empty())
      return false;
    if (in[0].dtype != s.in_dt) return false;
    if (!s.b_weights && (in.size() < 2 || in[1].dims.empty() || in[1].dtype != s.in_dt))
      return false;
    if (s.has_res && in[s.res_index].dtype != s.res_dt) return false;
    const size_t rb = s.b_weights ? s.b_dims.size() : in[1].dims.size();
    if (tile_.cfg.pingpong) {
      // Its copies are whole 16-byte chunks: rows of K elements must fill them. (The
      // transposed operands' workspace rows are K long as well.)
      const Dims& ad = in[0].dims;
      const int64_t k = s.ta && ad.size() >= 2 ? ad[ad.size() - 2] : ad.back();
      if (k <= 0 || (k * elemBytes(mma_)) % 16 != 0) return false;
    }
    return std::max(in[0].dims.size(), rb) <= kMaxBatchDims + 2;
  }
  std::unique_ptr<Kernel> instantiate(const ir::Layer& l, ocl::Device& dev) const override {
    return std::make_unique<TcMatMulKernel>(l, dev, mma_, tile_.cfg);
  }
  // The default tile ahead of the portable kernels when the builder does not time; the small
  // tile after them (matmul.tiled 0, matmul.clblast 1) on every device, as it is only worth
  // taking where timing picks it.
  int priority() const override { return *tile_.suffix ? 2 : -1; }
  int untimedPriority(const ocl::DeviceInfo& dev) const override {
    return *tile_.suffix ? priority() : untimedOrder(priority(), dev);
  }

 private:
  Mma mma_;
  Tile tile_;
};

}  // namespace

void registerMatMul() {
  for (Mma m : {Mma::kF16, Mma::kS8, Mma::kTF32})
    for (const Tile& t : kTiles)
      if (!t.cfg.pingpong || m != Mma::kTF32)  // ping-pong: FP16 and INT8 (as the harness)
        registerTactic(std::make_unique<TcMatMulTactic>(m, t));
}

}  // namespace clrt::tactics::tc
