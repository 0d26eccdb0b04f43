// ATTENTION tactics (layers made by passes/fuse_attention.cc):
// - attention.rows runs kernels/attention.cl, one work-item per query row with keys and values
//   staged in local memory (FP32 or FP16 storage, float arithmetic), on any device;
// - attention.tc_fp16 runs kernels/tc_attention.cl, the scores and the probabilities' product
//   with V on tensor cores (mma.sync, FP16 storage, FP32 softmax and accumulation), where
//   tc::available says (sm_80+, or CLRT_TC_EMULATE=1), for heads of 32 or 64 with k as rows.
// Head sizes are build options, so a model compiles one program per (head sizes, storage);
// sequence lengths and leading dims arrive per run.
#include "clrt/tactics/compute_common.h"
#include "clrt/tactics/strided.h"
#include "clrt/tactics/tensorcore_common.h"

namespace clrt::tactics {
namespace {

using L = ir::LayerKind;

constexpr int64_t kRowsPerGroup = 32;  // QB of attention.cl
constexpr int64_t kKeysPerTile = 32;   // KT

bool hasBias(const ir::Layer& l) { return l.inputs.size() > 3 && l.inputs[3] >= 0; }

// One run's shapes, checked against what the kernel was built for, and the bias read as
// broadcast to [lead..., sq, skv].
struct Run {
  int64_t sq = 0, skv = 0, nl = 0;
  cl_mem bias = nullptr;  // q's buffer when there is no bias (any valid buffer)
  IndexPack bp;
  cl_int bsi = 0, bsj = 0;
};

class AttentionKernel : public Kernel {
 protected:
  AttentionKernel(const ir::Layer& l, ocl::Device& dev, const std::string& file,
                  const std::string& options, int64_t hd, int64_t hdv)
      : st_(floatStorage(l).value_or(DataType::kFLOAT)),
        k_(dev, file, storageOption(st_) + options),
        layer_(l.name),
        hd_(hd),
        hdv_(hdv),
        scale_(static_cast<float>(l.attrs.f("scale", 1.0))),
        transK_(l.attrs.i("trans_k", 1) != 0),
        nanToZero_(l.attrs.i("nan_to_zero", 0) != 0),
        bias_(hasBias(l)) {}

  // False when there is nothing to compute.
  bool prepare(const ExecArgs& a, Run* run) {
    const std::string what = "attention layer '" + layer_ + "'";
    const DeviceTensor &q = a.inputs.at(0), &k = a.inputs.at(1), &v = a.inputs.at(2);
    const DeviceTensor& y = a.outputs.at(0);
    for (const DeviceTensor* t : {&q, &k, &v, &y}) requireStorage(*t, st_, layer_, "a tensor");
    const size_t r = q.dims.size();
    CLRT_CHECK(r >= 2 && k.dims.size() == r && v.dims.size() == r, kRuntime, what,
               ": q, k and v must share one rank >= 2, got ", dimsToString(q.dims), ", ",
               dimsToString(k.dims), ", ", dimsToString(v.dims));
    const int64_t sq = q.dims[r - 2], skv = v.dims[r - 2];
    const int64_t kd = transK_ ? k.dims[r - 1] : k.dims[r - 2];
    const int64_t kn = transK_ ? k.dims[r - 2] : k.dims[r - 1];
    bool ok = q.dims[r - 1] == hd_ && kd == hd_ && v.dims[r - 1] == hdv_ && kn == skv;
    for (size_t i = 0; i + 2 < r; ++i) ok = ok && k.dims[i] == q.dims[i] && v.dims[i] == q.dims[i];
    CLRT_CHECK(ok, kRuntime, what, ": built for heads of ", hd_, " (q, k) and ", hdv_,
               " (v) with shared leading dims, got q ", dimsToString(q.dims), ", k ",
               dimsToString(k.dims), ", v ", dimsToString(v.dims));
    const Dims lead(q.dims.begin(), q.dims.end() - 2);
    run->sq = sq, run->skv = skv, run->nl = volume(lead);
    for (const DeviceTensor* t : {&q, &k, &v, &y}) checkIndexable(volume(t->dims), what);
    if (run->nl == 0 || sq == 0 || hdv_ == 0) return false;
    // Strides of the bias over the lead dims for the kernel's pack_offset, and of the last two.
    run->bias = q.buf;
    if (bias_) {
      const DeviceTensor& b = a.inputs.at(3);
      requireStorage(b, st_, layer_, "the bias");
      checkIndexable(volume(b.dims), what);
      Dims scores = lead;
      scores.push_back(sq);
      scores.push_back(skv);
      CLRT_CHECK(b.dims.size() <= r && broadcastShapes(scores, b.dims, what) == scores, kRuntime,
                 what, ": the bias ", dimsToString(b.dims), " does not broadcast to the scores ",
                 dimsToString(scores));
      const std::vector<int64_t> st = broadcastStrides(b.dims, scores);
      run->bp = packIndex(lead, {std::vector<int64_t>(st.begin(), st.end() - 2)}, what);
      run->bsi = static_cast<cl_int>(st[r - 2]);
      run->bsj = static_cast<cl_int>(st[r - 1]);
      run->bias = b.buf;
    }
    return true;
  }

  DataType st_;
  KernelCache k_;
  std::string layer_;
  int64_t hd_, hdv_;
  float scale_;
  bool transK_, nanToZero_, bias_;
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
                 scale_, cl_int{transK_}, cl_int{bias_}, run.bp, run.bsi, run.bsj,
                 cl_int{nanToZero_});
    const size_t groups = static_cast<size_t>((run.sq + kRowsPerGroup - 1) / kRowsPerGroup);
    ocl::launch(a.queue, kern, {groups * kRowsPerGroup, static_cast<size_t>(run.nl)},
                {static_cast<size_t>(kRowsPerGroup), 1});
  }
};

// Warps per work-group of tc_attention (16 query rows each); one when emulated, where PoCL
// runs each work-item's emulated mma loops.
int tcWarps(const ocl::DeviceInfo& dev) { return tc::emulated(dev) ? 1 : 4; }

class AttentionTc : public AttentionKernel {
 public:
  AttentionTc(const ir::Layer& l, ocl::Device& dev, int64_t hd)
      : AttentionKernel(l, dev, "tc_attention.cl",
                        str(" -DHD=", hd, " -DWARPS=", tcWarps(dev.info()),
                            tc::emulated(dev.info()) ? " -DTC_EMULATE=1" : ""),
                        hd, hd),
        warps_(tcWarps(dev.info())) {
    CLRT_CHECK(st_ == DataType::kHALF && transK_, kBuild, "attention layer '", layer_,
               "': the tensor-core tactic runs FP16 with k as rows");
  }

  void enqueue(const ExecArgs& a) override {
    Run run;
    if (!prepare(a, &run)) return;
    std::lock_guard<std::mutex> lock(k_.mutex());
    cl_kernel kern = k_.get("tc_attention");
    ocl::setArgs(kern, a.inputs[0].buf, a.inputs[1].buf, a.inputs[2].buf, run.bias,
                 a.outputs[0].buf, static_cast<cl_int>(run.sq), static_cast<cl_int>(run.skv),
                 scale_, cl_int{bias_}, run.bp, run.bsi, run.bsj, cl_int{nanToZero_});
    const int64_t rows = 16 * warps_, threads = 32 * warps_;
    const size_t groups = static_cast<size_t>((run.sq + rows - 1) / rows);
    ocl::launch(a.queue, kern, {groups * static_cast<size_t>(threads), static_cast<size_t>(run.nl)},
                {static_cast<size_t>(threads), 1});
  }

 private:
  int warps_;
};

namespace attention {
bool eligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, const ocl::DeviceInfo&) {
  const std::optional<DataType> st = floatStorage(l);
  if (!st || in.size() < 3 || outputDtype(l, 0, *st) != *st) return false;
  for (size_t i = 0; i < in.size() && i < 4; ++i)
    if ((i < 3 || hasBias(l)) && !storedAs(l, in, i, *st)) return false;
  const Dims &q = in[0].dims, &v = in[2].dims;
  return q.size() >= 2 && v.size() == q.size() && q.back() > 0 && v.back() > 0 &&
         q.back() <= ir::kMaxAttentionHead && v.back() <= ir::kMaxAttentionHead;
}
}  // namespace attention

// The head sizes the engine was built for (the fusion records q's and v's static last dims).
std::pair<int64_t, int64_t> heads(const ir::Layer& l) {
  const int64_t hd = l.attrs.i("head_q", 0), hdv = l.attrs.i("head_v", 0);
  CLRT_CHECK(hd > 0 && hdv > 0 && hd <= ir::kMaxAttentionHead && hdv <= ir::kMaxAttentionHead,
             kBuild, "attention layer '", l.name, "': head sizes ", hd, " and ", hdv,
             " must be in [1, ", ir::kMaxAttentionHead, "]");
  return {hd, hdv};
}

class TcTactic : public Tactic {
 public:
  std::string name() const override { return "attention.tc_fp16"; }
  ir::LayerKind kind() const override { return L::kATTENTION; }
  bool eligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in,
                const ocl::DeviceInfo& dev) const override {
    const int64_t hd = l.attrs.i("head_q", 0);
    return tc::available(dev) && floatStorage(l) == DataType::kHALF &&
           attention::eligible(l, in, dev) && l.attrs.i("trans_k", 1) != 0 &&
           (hd == 32 || hd == 64) && l.attrs.i("head_v", 0) == hd;
  }
  std::unique_ptr<Kernel> instantiate(const ir::Layer& l, ocl::Device& dev) const override {
    return std::make_unique<AttentionTc>(l, dev, heads(l).first);
  }
  std::vector<DataType> precisions() const override { return {DataType::kHALF}; }
  int untimedPriority(const ocl::DeviceInfo& dev) const override {
    return tc::untimedOrder(0, dev);
  }
};

const TacticRegistrar kRows([]() -> std::unique_ptr<Tactic> {
  return std::make_unique<FnTactic>(
      "attention.rows", L::kATTENTION, attention::eligible,
      [](const ir::Layer& l, ocl::Device& dev) -> std::unique_ptr<Kernel> {
        const auto [hd, hdv] = heads(l);
        return std::make_unique<AttentionRows>(l, dev, hd, hdv);
      },
      std::vector<DataType>{DataType::kFLOAT, DataType::kHALF});
});
const TacticRegistrar kTc([]() -> std::unique_ptr<Tactic> { return std::make_unique<TcTactic>(); });

}  // namespace
}  // namespace clrt::tactics
