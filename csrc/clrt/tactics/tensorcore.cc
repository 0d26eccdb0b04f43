// NVIDIA tensor-core tactics (inline-PTX mma.sync, kernels/tc_gemm.cl): registration and the
// helpers the convolution and matmul families share.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "clrt/tactics/tensorcore_common.h"

namespace clrt::tactics {
namespace tc {

bool emulated(const ocl::DeviceInfo& dev) {
  if (dev.is_nvidia) return false;
  const char* e = std::getenv("CLRT_TC_EMULATE");
  return e && *e && *e != '0';
}

DataType precisionOf(Mma m) {
  return m == Mma::kS8 ? DataType::kINT8 : m == Mma::kTF32 ? DataType::kFLOAT : DataType::kHALF;
}
int elemBytes(Mma m) { return m == Mma::kS8 ? 1 : m == Mma::kTF32 ? 4 : 2; }
const char* suffix(Mma m) { return m == Mma::kS8 ? "int8" : m == Mma::kTF32 ? "tf32" : "fp16"; }

Config runTile(const Config& c0, const ocl::DeviceInfo& dev) {
  Config c = c0;
  // CLRT_TC_WG_STAGES=N: warpgroup tiles' rings of at least N k-tiles, to compare on one device.
  if (const char* st = std::getenv("CLRT_TC_WG_STAGES"); st && c.wgmma)
    c.stages = std::max(c.stages, std::clamp(std::atoi(st), 3, 6));
  if (!emulated(dev)) return c;
  const char* e = std::getenv("CLRT_TC_EMULATE");
  return std::strcmp(e, "tiles") == 0 ? c : c.emulation();
}

SplitPolicy splitPolicy(const ocl::DeviceInfo& dev) {
  const char* e = std::getenv("CLRT_TC_SPLITK");
  return {std::max(dev.compute_units, 1), e && *e ? std::max(std::atoi(e), 1) : 0};
}

int splitK(int64_t tiles, int64_t nk, const SplitPolicy& p) {
  int64_t ks = p.forced;
  if (ks == 0)
    ks = tiles < p.compute_units
             ? std::min<int64_t>({p.compute_units / std::max<int64_t>(tiles, 1), nk / 2, 16})
             : 1;
  return static_cast<int>(std::clamp<int64_t>(ks, 1, std::max<int64_t>(nk, 1)));
}

uint64_t splitBytes(int64_t tiles, int ks, const Config& c) {
  if (ks <= 1) return 0;
  const int64_t acc = (c.bm / c.warps_m / 16) * (c.bn / c.warps_n / 8) * 4;
  return static_cast<uint64_t>(tiles * ks * acc * c.threads()) * 4;
}

cl_mem SplitCounters::get(cl_command_queue q, int64_t tiles) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = byQueue_.find(q);
  if (it != byQueue_.end() && it->second.n >= tiles) return it->second.buf.get();
  // A queue made per run (a new stream each call) would leave an entry each: past a few
  // queues, start over. A dropped buffer lives on until the launches that use it have run.
  if (it == byQueue_.end() && byQueue_.size() >= 8) byQueue_.clear();
  Entry& f = byQueue_[q];
  cl_context ctx = nullptr;
  ocl::check(clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof ctx, &ctx, nullptr),
             "clGetCommandQueueInfo (split-K counters)");
  const int64_t n = roundUp(std::max<int64_t>(tiles, 1), 64);
  cl_int err = CL_SUCCESS;
  ocl::MemHandle buf(
      clCreateBuffer(ctx, CL_MEM_READ_WRITE, static_cast<size_t>(n) * 4, nullptr, &err));
  ocl::check(err, "clCreateBuffer (split-K counters)");
  const cl_uint zero = 0;
  ocl::check(clEnqueueFillBuffer(q, buf.get(), &zero, sizeof zero, 0, static_cast<size_t>(n) * 4, 0,
                                 nullptr, nullptr),
             "clEnqueueFillBuffer (split-K counters)");
  f.buf = std::move(buf);
  f.n = n;
  return f.buf.get();
}

SplitBuffers splitBuffers(const ExecArgs& a, int64_t tiles, int* ks, const Config& c,
                          SplitCounters& counters) {
  if (*ks > 1 && !(a.workspace && bufferBytes(a.workspace) >= splitBytes(tiles, *ks, c))) *ks = 1;
  if (*ks <= 1) return {};
  return {a.workspace, counters.get(a.queue, tiles)};
}

int dtCode(DataType t) {
  switch (t) {
    case DataType::kFLOAT:
      return 0;
    case DataType::kHALF:
      return 1;
    case DataType::kINT8:
      return 2;
    default:
      return -1;
  }
}

bool pingpongOffered(bool conv) {
  const char* v = std::getenv("CLRT_TC_PINGPONG");
  return conv ? v && *v == '1' : !(v && *v == '0');
}

int64_t pingpongBlocks(const ocl::DeviceInfo& dev) {
  const char* e = std::getenv("CLRT_TC_PP_BLOCKS");
  return e && std::atoi(e) > 0 ? std::atoi(e) : std::max(dev.compute_units, 1);
}

std::string mmEpilogueOption(const Config& c, bool has_res) {
  if (c.pingpong) return "";  // options() gives it EP_REG, its consumers' epilogue
  const char* reg = std::getenv("CLRT_TC_EP_REG");
  if (reg && std::string(reg) == "1" && (c.bn / c.warps_n / 8) % 4 == 0) return "-DEP_REG=1";
  const char* env = std::getenv("CLRT_TC_RES_STAGE");
  if (env && std::string(env) == "0") return "";
  const bool every = env && std::string(env) == "all";  // every ring tile, to compare
  return has_res && (c.kch == 4 || every) && c.stages >= 2 ? "-DRES_STAGE=1" : "";
}

std::string options(const ocl::DeviceInfo& dev, Mma mma, bool conv, const Config& c,
                    const ir::EpilogueParams& ep, int out_dt, int res_dt,
                    const std::string& extra) {
  std::string o =
      epilogueOptions(ep) +
      str(" -DTC_INT8=", mma == Mma::kS8 ? 1 : 0, " -DTC_TF32=", mma == Mma::kTF32 ? 1 : 0,
          " -DTC_CONV=", conv ? 1 : 0, " -DBM=", c.bm, " -DBN=", c.bn, " -DWARPS_M=", c.warps_m,
          " -DWARPS_N=", c.warps_n, " -DKCH=", c.kch, " -DSTAGES=", c.stages, " -DOUT_DT=", out_dt,
          " -DRES_DT=", std::max(res_dt, 0));
  if (c.wgmma) {
    // CLRT_TC_WG_ASYNC=0: each k-tile's multiply waited for before the next is issued (the
    // ring's prologue then issues one more tile), to compare on one device.
    const char* a = std::getenv("CLRT_TC_WG_ASYNC");
    // The ping-pong block's consumers always keep one group in flight and write from registers.
    if (c.pingpong)
      o += " -DTC_WGMMA=1 -DWG_ASYNC=1 -DEP_REG=1 -DPINGPONG=1";
    else
      o += (a && *a == '0') || !c.wg_async ? " -DTC_WGMMA=1" : " -DTC_WGMMA=1 -DWG_ASYNC=1";
  }
  if (!extra.empty()) o += " " + extra;
  if (!dev.is_nvidia) o += " -DTC_EMULATE=1";
  return o;
}

std::vector<uint8_t> packWeights(Mma m, const std::vector<float>& w, int64_t rows, int64_t cols,
                                 int64_t prow, int64_t pcol, const std::string& layer,
                                 std::vector<float>* scales, int64_t groups) {
  const size_t esz = static_cast<size_t>(elemBytes(m));
  std::vector<uint8_t> out(static_cast<size_t>(groups * prow * pcol) * esz, 0);
  // Row r of the input (group r / rows) lands at this padded row of the output.
  auto dstRow = [&](int64_t r) { return r / rows * prow + r % rows; };
  if (m == Mma::kS8) {
    const QuantRows q = quantizeRows(w, groups * rows, cols, layer);
    for (int64_t r = 0; r < groups * rows; ++r)
      std::memcpy(&out[static_cast<size_t>(dstRow(r) * pcol)], &q.q[static_cast<size_t>(r * cols)],
                  static_cast<size_t>(cols));
    *scales = q.scale;
    return out;
  }
  for (int64_t r = 0; r < groups * rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const float v = w[static_cast<size_t>(r * cols + c)];
      uint8_t* dst = &out[static_cast<size_t>(dstRow(r) * pcol + c) * esz];
      if (m == Mma::kTF32) {
        std::memcpy(dst, &v, 4);
      } else {
        const uint16_t h = floatToHalf(v);
        std::memcpy(dst, &h, 2);
      }
    }
  return out;
}

cl_mem upload(ocl::Device& dev, const std::vector<uint8_t>& bytes) {
  cl_mem m = dev.alloc(std::max<size_t>(bytes.size(), 4));
  if (!bytes.empty()) dev.write(dev.queue(), m, 0, bytes.size(), bytes.data(), /*blocking=*/true);
  return m;
}

cl_mem uploadFloats(ocl::Device& dev, const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(float));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return upload(dev, b);
}

}  // namespace tc

void registerTensorCoreTactics() {
  tc::registerConv();
  tc::registerMatMul();
}

}  // namespace clrt::tactics
