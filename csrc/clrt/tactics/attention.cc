// ATTENTION tactics (layers made by passes/fuse_attention.cc):
// - attention.rows runs kernels/attention.cl, one work-item per query row with keys and values
//   staged in local memory (FP32 or FP16 storage, float arithmetic), on any device;
// - attention.tc_fp16 runs kernels/tc_attention.cl, the scores and the probabilities' product
//   with V on tensor cores (mma.sync, FP16 storage, FP32 softmax and accumulation), where
//   tc::available says (sm_80+, or CLRT_TC_EMULATE=1), for heads of 32 or 64 with k as rows;
//   attention.tc_fp16_flash runs kernels/tc_flash.cl on the same layers (q fragments, scores and
//   probabilities in registers, key tiles by cp.async, V's fragments by ldmatrix.trans).
// Head sizes are build options, so a model compiles one program per (head sizes, storage);
// sequence lengths and leading dims arrive per run.
#include <optional>

#include "clrt/tactics/compute_common.h"
#include "clrt/tactics/strided.h"
#include "clrt/tactics/tensorcore_common.h"

namespace clrt::tactics {
namespace {

using L = ir::LayerKind;

constexpr int64_t kRowsPerGroup = 32;  // QB of attention.cl
constexpr int64_t kKeysPerTile = 32;   // KT

bool hasBias(const ir::Layer& l) { return l.inputs.size() > 3 && l.inputs[3] >= 0; }

// Element offsets and strides of one run's operands (attention.clh AttnStrides, same layout):
// q (row i, column d), k (key j, column d), v (key j, column d), out (row i, column d), bias
// (row i, key j), each from its operand's start (`*o`) plus its lead offset.
struct AttnStrides {
  cl_int qo, qi, qd, ko, kj, kd, vo, vj, vd, oo, oi, od, bi, bj;
};

// One run's shapes, checked against what the kernel was built for; lead offsets of q, k, v (lp)
// and of out and the bias read as broadcast to [lead..., sq, skv] (op).
struct Run {
  int64_t sq = 0, skv = 0, nl = 0;
  cl_mem bias = nullptr;  // q's buffer when there is no bias (any valid buffer)
  IndexPack lp, op;
  AttnStrides s{};
};

// An operand as the kernels read it: logical dims, element strides and offset in its buffer.
struct Operand {
  Dims dims;
  std::vector<int64_t> strides;
  int64_t offset = 0;
};

class AttentionKernel : public Kernel {
 protected:
  AttentionKernel(const ir::Layer& l, ocl::Device& dev, const std::string& file,
                  const std::string& options, int64_t hd, int64_t hdv)
      : st_(floatStorage(l).value_or(DataType::kFLOAT)),
        outDt_(outputDtype(l, 0, st_)),
        biasDt_(hasBias(l) ? inputDtype(l, 3) : DataType::kFLOAT),
        k_(dev, file,
           storageOption(st_) + options + (biasDt_ == DataType::kHALF ? " -DBIAS_HALF=1" : "")),
        layer_(l.name),
        oStrides_(l.attrs.ints("o_strides")),
        hd_(hd),
        hdv_(hdv),
        scale_(static_cast<float>(l.attrs.f("scale", 1.0))),
        transK_(l.attrs.i("trans_k", 1) != 0),
        guard_(static_cast<int>(l.attrs.i("nan_to_zero", 0))),
        bias_(hasBias(l)) {
    CLRT_CHECK(guard_ >= 0 && guard_ <= 2 && (guard_ != 2 || bias_), kEngineFormat,
               "attention layer '", l.name, "': nan_to_zero ", guard_,
               " is not 0, 1 or 2 (2 with a bias)");
    // The views of q, k and v the layer reads (static shapes), checked once against their
    // sources' sizes.
    const char* const names[] = {"q", "k", "v"};
    for (int i = 0; i < 3; ++i) {
      const std::string n = names[i];
      if (!l.attrs.has(n + "_strides")) continue;
      const std::vector<int64_t> src = l.attrs.ints(n + "_src"), d = l.attrs.ints(n + "_dims");
      View& w = views_[i].emplace();
      w.src.assign(src.begin(), src.end());
      w.op.dims.assign(d.begin(), d.end());
      w.op.strides = l.attrs.ints(n + "_strides");
      w.op.offset = l.attrs.i(n + "_offset", 0);
      checkInside(w.op, volume(w.src), "attention layer '" + l.name + "' " + n);
    }
  }

  // Input `t` as operand `i` (q, k, v): the view of it the layer reads, or the tensor itself.
  Operand operand(const DeviceTensor& t, int i, const std::string& what) const {
    if (!views_[i]) return {t.dims, stridesOf(t.dims), 0};
    CLRT_CHECK(t.dims == views_[i]->src, kRuntime, what, ": ", "qkv"[i], " is a view of a ",
               dimsToString(views_[i]->src), " tensor, got ", dimsToString(t.dims));
    return views_[i]->op;
  }

  // Every element a view addresses lies in a buffer of `n` elements (an edited engine file
  // cannot make the kernel read or write outside it).
  static void checkInside(const Operand& o, int64_t n, const std::string& what) {
    CLRT_CHECK(o.strides.size() == o.dims.size(), kEngineFormat, what, ": ", o.dims.size(),
               " dims with ", o.strides.size(), " strides");
    int64_t hi = o.offset, lo = o.offset;
    for (size_t k = 0; k < o.dims.size(); ++k) {
      const int64_t span = (o.dims[k] - 1) * o.strides[k];
      (span > 0 ? hi : lo) += span;
    }
    CLRT_CHECK(volume(o.dims) == 0 || (lo >= 0 && hi < n), kEngineFormat, what,
               ": a view reaching elements ", lo, " to ", hi, " of a buffer of ", n);
  }

  // False when there is nothing to compute.
  bool prepare(const ExecArgs& a, Run* run) {
    const std::string what = "attention layer '" + layer_ + "'";
    const DeviceTensor &qt = a.inputs.at(0), &kt = a.inputs.at(1), &vt = a.inputs.at(2);
    const DeviceTensor& y = a.outputs.at(0);
    for (const DeviceTensor* t : {&qt, &kt, &vt, &y}) {
      requireStorage(*t, t == &y ? outDt_ : st_, layer_, t == &y ? "the output" : "a tensor");
      checkIndexable(volume(t->dims), what);
    }
    const Operand q = operand(qt, 0, what), k = operand(kt, 1, what), v = operand(vt, 2, what);
    const size_t r = q.dims.size();
    CLRT_CHECK(r >= 2 && k.dims.size() == r && v.dims.size() == r, kRuntime, what,
               ": q, k and v must share one rank >= 2, got ", dimsToString(q.dims), ", ",
               dimsToString(k.dims), ", ", dimsToString(v.dims));
    const int64_t sq = q.dims[r - 2], skv = v.dims[r - 2];
    const size_t kdA = transK_ ? r - 1 : r - 2, kjA = transK_ ? r - 2 : r - 1;
    const bool ok =
        q.dims[r - 1] == hd_ && k.dims[kdA] == hd_ && v.dims[r - 1] == hdv_ && k.dims[kjA] == skv;
    CLRT_CHECK(ok, kRuntime, what, ": built for heads of ", hd_, " (q, k) and ", hdv_,
               " (v), got q ", dimsToString(q.dims), ", k ", dimsToString(k.dims), ", v ",
               dimsToString(v.dims));
    // The leading dims broadcast (NumPy) as the MatMuls the layer replaced broadcast them.
    auto leadDims = [&](const Operand& x) { return Dims(x.dims.begin(), x.dims.end() - 2); };
    const Dims lead =
        broadcastShapes(broadcastShapes(leadDims(q), leadDims(k), what), leadDims(v), what);
    // The result: written contiguously, or transposed into the output (o_strides).
    Operand o;
    o.dims = lead;
    o.dims.push_back(sq);
    o.dims.push_back(hdv_);
    o.strides = oStrides_.empty() ? stridesOf(o.dims) : oStrides_;
    checkInside(o, volume(y.dims), what + " output");
    run->sq = sq, run->skv = skv, run->nl = volume(lead);
    if (run->nl == 0 || sq == 0 || hdv_ == 0) return false;
    // An operand's strides over the lead dims, 0 along the dims it is broadcast over.
    auto leadOf = [&](const Operand& x) {
      std::vector<int64_t> st(x.strides.begin(), x.strides.begin() + (r - 2));
      for (size_t i = 0; i + 2 < r; ++i)
        if (x.dims[i] == 1 && lead[i] != 1) st[i] = 0;
      return st;
    };
    std::vector<int64_t> biasLead(r - 2, 0);
    run->bias = qt.buf;
    AttnStrides& s = run->s;
    if (bias_) {
      const DeviceTensor& b = a.inputs.at(3);
      requireStorage(b, biasDt_, layer_, "the bias");
      checkIndexable(volume(b.dims), what);
      Dims scores = lead;
      scores.push_back(sq);
      scores.push_back(skv);
      CLRT_CHECK(b.dims.size() <= r && broadcastShapes(scores, b.dims, what) == scores, kRuntime,
                 what, ": the bias ", dimsToString(b.dims), " does not broadcast to the scores ",
                 dimsToString(scores));
      const std::vector<int64_t> st = broadcastStrides(b.dims, scores);
      biasLead.assign(st.begin(), st.end() - 2);
      s.bi = static_cast<cl_int>(st[r - 2]);
      s.bj = static_cast<cl_int>(st[r - 1]);
      run->bias = b.buf;
    }
    run->lp = packIndex(lead, {leadOf(q), leadOf(k), leadOf(v)}, what);
    run->op = packIndex(lead, {leadOf(o), biasLead}, what);
    auto i32 = [](int64_t x) { return static_cast<cl_int>(x); };
    s.qo = i32(q.offset), s.qi = i32(q.strides[r - 2]), s.qd = i32(q.strides[r - 1]);
    s.ko = i32(k.offset), s.kj = i32(k.strides[kjA]), s.kd = i32(k.strides[kdA]);
    s.vo = i32(v.offset), s.vj = i32(v.strides[r - 2]), s.vd = i32(v.strides[r - 1]);
    s.oo = 0, s.oi = i32(o.strides[r - 2]), s.od = i32(o.strides[r - 1]);
    return true;
  }

  DataType st_;
  DataType outDt_;   // st_, or INT8 where the layer's output is narrowed (tc_flash's q8)
  DataType biasDt_;  // the bias keeps its own dtype (FLOAT or HALF)
  KernelCache k_;
  std::string layer_;
  // A view of q, k or v: the source tensor's dims and how the operand lies in it.
  struct View {
    Dims src;
    Operand op;
  };
  std::optional<View> views_[3];
  std::vector<int64_t> oStrides_;  // the result written transposed (empty: contiguous)
  int64_t hd_, hdv_;
  float scale_;
  bool transK_;
  int guard_;  // nan_to_zero: 0, 1 (NaN rows to zero) or 2 (rows the bias masks to zero)
  bool bias_;
};

class AttentionRows : public AttentionKernel {
 public:
  AttentionRows(const ir::Layer& l, ocl::Device& dev, int64_t hd, int64_t hdv)
      : AttentionKernel(
            l, dev, "attention.cl",
            str(" -DHD=", hd, " -DHDV=", hdv, " -DQB=", kRowsPerGroup, " -DKT=", kKeysPerTile), hd,
            hdv) {}

  void enqueue(const ExecArgs& a) override {
    Run run;
    if (!prepare(a, &run)) return;
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel kern = k_.get("attention_rows");
    ocl::setArgs(kern, a.inputs[0].buf, a.inputs[1].buf, a.inputs[2].buf, run.bias,
                 a.outputs[0].buf, static_cast<cl_int>(run.sq), static_cast<cl_int>(run.skv),
                 scale_, cl_int{bias_}, run.lp, run.op, run.s, cl_int{guard_});
    const size_t groups = static_cast<size_t>((run.sq + kRowsPerGroup - 1) / kRowsPerGroup);
    ocl::launch(a.queue, kern, {groups * kRowsPerGroup, static_cast<size_t>(run.nl)},
                {static_cast<size_t>(kRowsPerGroup), 1});
  }
};

// The tensor-core kernels: tc_attention.cl's (plain or PREFETCH) and tc_flash.cl's.
enum class TcKernel { kPlain, kPrefetch, kFlash };

// Warps per work-group (16 query rows each); one when emulated, where PoCL runs each
// work-item's emulated mma loops. tc_flash: 8 (H100, ViT-B/16's 768 heads of 197 x 64,
// benchmarks/tc_attention_harness.cc: 0.104 ms against 0.122 with 4, once warps past the last
// row stopped multiplying; 0.153 against 0.140 before).
int tcWarps(const ocl::DeviceInfo& dev, TcKernel k) {
  return tc::emulated(dev) ? 1 : k == TcKernel::kFlash ? 8 : 4;
}

class AttentionTc : public AttentionKernel {
 public:
  AttentionTc(const ir::Layer& l, ocl::Device& dev, int64_t hd, TcKernel which)
      : AttentionKernel(l, dev, which == TcKernel::kFlash ? "tc_flash.cl" : "tc_attention.cl",
                        str(" -DHD=", hd, " -DWARPS=", tcWarps(dev.info(), which),
                            tc::emulated(dev.info()) ? " -DTC_EMULATE=1" : "",
                            which == TcKernel::kPrefetch ? " -DPREFETCH=1" : ""),
                        hd, hd),
        warps_(tcWarps(dev.info(), which)),
        kernel_(which == TcKernel::kFlash ? "tc_flash" : "tc_attention"),
        flash_(which == TcKernel::kFlash) {
    CLRT_CHECK(st_ == DataType::kHALF && transK_, kBuild, "attention layer '", layer_,
               "': the tensor-core tactic runs FP16 with k as rows");
    CLRT_CHECK(outDt_ == st_ || (flash_ && outDt_ == DataType::kINT8 && outputScale(l, 0) > 0),
               kBuild, "attention layer '", layer_, "': ", name(), " writes HALF",
               flash_ ? ", or INT8 at a positive scale," : "", " not ", dtypeName(outDt_));
    if (outDt_ == DataType::kINT8) invQ_ = 1.0f / outputScale(l, 0);
  }

  void enqueue(const ExecArgs& a) override {
    Run run;
    if (!prepare(a, &run)) return;
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel kern = k_.get(kernel_);
    const AttnStrides& s = run.s;
    // 16-byte rows of q, k and v (their columns contiguous, every start a multiple of 8 halves).
    bool rows16 = s.qd == 1 && s.kd == 1 && s.vd == 1;
    for (cl_int x : {s.qo, s.qi, s.ko, s.kj, s.vo, s.vj}) rows16 = rows16 && x % 8 == 0;
    for (int o = 0; o < 3; ++o)
      for (int d = 0; d < run.lp.rank; ++d) rows16 = rows16 && run.lp.s[o][d] % 8 == 0;
    CLRT_CHECK(rows16, kRuntime, "attention layer '", layer_,
               "': the tensor-core tactic reads q, k and v in 16-byte rows");
    ocl::setArgs(kern, a.inputs[0].buf, a.inputs[1].buf, a.inputs[2].buf, run.bias,
                 a.outputs[0].buf, static_cast<cl_int>(run.sq), static_cast<cl_int>(run.skv),
                 scale_, cl_int{bias_}, run.lp, run.op, s, cl_int{guard_});
    if (flash_) {  // tc_flash's two more: its q8 and 1 / the output scale
      const cl_int q8 = outDt_ == DataType::kINT8;
      ocl::check(clSetKernelArg(kern, 13, sizeof q8, &q8), "clSetKernelArg");
      ocl::check(clSetKernelArg(kern, 14, sizeof invQ_, &invQ_), "clSetKernelArg");
    }
    const int64_t rows = 16 * warps_, threads = 32 * warps_;
    const size_t groups = static_cast<size_t>((run.sq + rows - 1) / rows);
    ocl::launch(a.queue, kern, {groups * static_cast<size_t>(threads), static_cast<size_t>(run.nl)},
                {static_cast<size_t>(threads), 1});
  }

 private:
  std::string name() const {
    return flash_ ? "attention.tc_fp16_flash" : "the tensor-core attention";
  }
  int warps_;
  const char* kernel_;
  bool flash_;
  float invQ_ = 1.0f;  // 1 / the output scale where it is INT8
};

// The head sizes the engine was built for (the fusion records q's and v's static last dims; q,
// k and v may be views of larger tensors), when the kernels take them.
bool headsInRange(const ir::Layer& l) {
  const int64_t hd = l.attrs.i("head_q", 0), hdv = l.attrs.i("head_v", 0);
  return hd > 0 && hdv > 0 && hd <= ir::kMaxAttentionHead && hdv <= ir::kMaxAttentionHead;
}

// What both tactics need: float storage of q, k, v and the output (or an INT8 output where
// `int8Out`), a FLOAT or HALF bias.
bool servesLayer(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo&,
                 bool int8Out = false) {
  const std::optional<DataType> st = floatStorage(l);
  if (!st || in.size() < 3) return false;
  const DataType o = outputDtype(l, 0, *st);
  if (o != *st && !(int8Out && o == DataType::kINT8 && outputScale(l, 0) > 0)) return false;
  for (size_t i = 0; i < 3; ++i)
    if (!storedAs(l, in, i, *st)) return false;
  if (hasBias(l)) {  // read in its own dtype
    const DataType b = in.size() > 3 ? inputDtype(l, 3, in[3].dtype) : DataType::kBOOL;
    if (b != DataType::kFLOAT && b != DataType::kHALF) return false;
  }
  return headsInRange(l);
}

std::pair<int64_t, int64_t> heads(const ir::Layer& l) {
  const int64_t hd = l.attrs.i("head_q", 0), hdv = l.attrs.i("head_v", 0);
  CLRT_CHECK(headsInRange(l), kBuild, "attention layer '", l.name, "': head sizes ", hd, " and ",
             hdv, " must be in [1, ", ir::kMaxAttentionHead, "]");
  return {hd, hdv};
}

// Whether q, k and v are read as rows of contiguous halves starting at multiples of 8 (16-byte
// loads): their own tensors, or views whose last stride is 1 and whose others and offset are
// multiples of 8.
bool rows16(const ir::Layer& l) {
  for (const char* n : {"q", "k", "v"}) {
    const std::string x = n;
    if (!l.attrs.has(x + "_strides")) continue;
    const std::vector<int64_t> st = l.attrs.ints(x + "_strides");
    if (st.empty() || st.back() != 1 || l.attrs.i(x + "_offset", 0) % 8 != 0) return false;
    for (size_t k = 0; k + 1 < st.size(); ++k)
      if (st[k] % 8 != 0) return false;
  }
  return true;
}

// attention.tc_fp16; attention.tc_fp16_prefetch, the same kernel loading each key tile while
// the one before it is multiplied (tc_attention.cl PREFETCH), at the cost of the tile's
// registers; attention.tc_fp16_flash (tc_flash.cl). Timing picks per layer.
class TcTactic : public Tactic {
 public:
  explicit TcTactic(TcKernel which) : which_(which) {}
  std::string name() const override {
    switch (which_) {
      case TcKernel::kPrefetch:
        return "attention.tc_fp16_prefetch";
      case TcKernel::kFlash:
        return "attention.tc_fp16_flash";
      default:
        return "attention.tc_fp16";
    }
  }
  ir::LayerKind kind() const override { return L::kATTENTION; }
  bool eligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                const ocl::DeviceInfo& dev) const override {
    const int64_t hd = l.attrs.i("head_q", 0);
    return tc::available(dev) && floatStorage(l) == DataType::kHALF &&
           servesLayer(l, in, dev, which_ == TcKernel::kFlash) && l.attrs.i("trans_k", 1) != 0 &&
           (hd == 32 || hd == 64) && l.attrs.i("head_v", 0) == hd && rows16(l);
  }
  std::unique_ptr<Kernel> instantiate(const ir::Layer& l, ocl::Device& dev) const override {
    return std::make_unique<AttentionTc>(l, dev, heads(l).first, which_);
  }
  std::vector<DataType> precisions() const override { return {DataType::kHALF}; }
  // tc_flash writes INT8 for an INT8 reader (its q8: ViT's out_proj in INT8 reads the heads'
  // output without a REFORMAT between).
  bool quantizesOutput() const override { return which_ == TcKernel::kFlash; }
  // Untimed, the plain kernel first (the others are not measured better everywhere).
  int priority() const override { return static_cast<int>(which_); }
  int untimedPriority(const ocl::DeviceInfo& dev) const override {
    return tc::untimedOrder(priority(), dev);
  }

 private:
  TcKernel which_;
};

const TacticRegistrar kRows([]() -> std::unique_ptr<Tactic> {
  return std::make_unique<FnTactic>(
      "attention.rows", L::kATTENTION,
      [](const ir::Layer& l, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo& dev) {
        return servesLayer(l, in, dev);
      },
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        const auto [hd, hdv] = heads(l);
        return std::make_unique<AttentionRows>(l, dev, hd, hdv);
      },
      std::vector<DataType>{DataType::kFLOAT, DataType::kHALF});
});
const TacticRegistrar kTc([]() -> std::unique_ptr<Tactic> {
  return std::make_unique<TcTactic>(TcKernel::kPlain);
});
const TacticRegistrar kTcPrefetch([]() -> std::unique_ptr<Tactic> {
  return std::make_unique<TcTactic>(TcKernel::kPrefetch);
});
const TacticRegistrar kTcFlash([]() -> std::unique_ptr<Tactic> {
  return std::make_unique<TcTactic>(TcKernel::kFlash);
});

}  // namespace
}  // namespace clrt::tactics
