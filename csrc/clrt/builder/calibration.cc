// INT8 ranges: the calibrator's cache, or a calibration run of the FP32 network over the
// calibrator's batches with statistics computed on the device, then each tensor's threshold by
// the calibrator's algorithm. Batches are kept on the host so histograms use ranges fixed over
// all data: the result does not depend on batch size or order.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>

#include "clrt/builder/internal.h"
#include "clrt/quant/algorithms.h"
#include "clrt/quant/calib_cache.h"
#include "clrt/quant/histogram.h"
#include "clrt/runtime/engine.h"

namespace clrt::builder::detail {
namespace {

using Batch = std::map<std::string, HostTensor>;

// Float tensors the device writes (or the user feeds): the ones that get INT8 ranges.
std::vector<int> rangeTargets(const Shaped& s) {
  std::vector<int> out;
  for (size_t t = 0; t < s.net.tensors.size(); ++t) {
    const auto& x = s.net.tensors[t];
    if (x.dtype != DataType::kFLOAT) continue;
    if (x.producer < 0 ? x.is_input : !s.on_host[x.producer]) out.push_back(static_cast<int>(t));
  }
  return out;
}

// An FP32 engine of the optimized network at exactly these input shapes. HALF network inputs
// and outputs become FLOAT (runStats widens such batches): the engine runs FP32 layers only, which
// read FLOAT. Tensor and layer indices stay those of `s` (the observer relies on them).
std::shared_ptr<runtime::Engine> statsEngine(const Shaped& s, const std::map<int, Dims>& shapes,
                                             std::shared_ptr<ocl::Device> dev, ILogger* logger) {
  BuilderConfig c;
  c.optimization_level = 0;
  runtime::Profile p;
  for (auto& [t, d] : shapes)
    if (!isStatic(s.net.tensors[t].dims)) p.shapes[s.net.tensors[t].name] = {d, d, d};
  if (!p.shapes.empty()) c.profiles.push_back(p);
  ir::Network net = s.net;
  for (auto& t : net.tensors)
    if ((t.is_input || t.is_output) && t.dtype == DataType::kHALF) t.dtype = DataType::kFLOAT;
  Shaped cs = shape(net, c.profiles);
  return runtime::Engine::create(assemble(std::move(cs), c, dev, logger), dev, logger);
}

struct Stats {
  std::vector<float> absmax;                // per target
  std::vector<std::vector<uint64_t>> hist;  // per target, when histograms were collected
};

// Rounds a positive max |x| up to 10 significant mantissa bits (a relative grid of 2^-10).
// The FP32 network's activations differ by an ulp or two between batch sizes (kernels vectorize
// and tile differently), so an exact max would move the scales with the batch size; on the grid
// they stay put unless a max sits within an ulp of a grid point.
float roundUpRange(float m) {
  if (!(m > 0.0f) || !std::isfinite(m)) return m;
  uint32_t bits;
  std::memcpy(&bits, &m, 4);
  constexpr uint32_t kDrop = (1u << 13) - 1;  // the 13 low mantissa bits of 23
  if (bits & kDrop) bits = (bits | kDrop) + 1;
  float r;
  std::memcpy(&r, &bits, 4);
  return std::isfinite(r) ? r : m;
}

// The batch with HALF inputs as FLOAT (statsEngine's inputs); the batch itself when it has none.
const Batch& widenHalf(const Batch& b, Batch& scratch) {
  bool half = false;
  for (const auto& [name, h] : b) half = half || h.dtype == DataType::kHALF;
  if (!half) return b;
  scratch = b;
  for (auto& [name, h] : scratch)
    if (h.dtype == DataType::kHALF) h = h.castTo(DataType::kFLOAT);
  return scratch;
}

// Runs the batches through `engine`, observing every target tensor: |x| max in a first pass,
// then (when asked) histograms over [0, that max] in a second.
Stats runStats(const Shaped& s, runtime::Engine& engine, const std::vector<Batch>& batches,
               const std::vector<int>& targets, bool histograms, ILogger* logger) {
  ocl::Device& dev = engine.device();
  auto ctx = engine.createExecutionContext();
  std::vector<int> slot(s.net.tensors.size(), -1);
  for (size_t i = 0; i < targets.size(); ++i) slot[targets[i]] = static_cast<int>(i);
  quant::DeviceStats stats(dev, targets.size());
  Stats out;
  for (int pass = 0; pass < (histograms ? 2 : 1); ++pass) {
    std::vector<char> seen;
    ctx->setLayerObserver([&](int li, const tactics::ExecArgs& a) {
      const auto& l = s.net.layers[li];
      auto observe = [&](int t, const tactics::DeviceTensor& d) {
        if (t < 0 || slot[t] < 0 || seen[t] || !d.buf || d.dtype != DataType::kFLOAT) return;
        seen[t] = 1;
        const size_t n = static_cast<size_t>(volume(d.dims));
        if (pass == 0)
          stats.enqueueAbsMax(a.queue, d.buf, n, slot[t]);
        else
          stats.enqueueHistogram(a.queue, d.buf, n, slot[t], out.absmax[slot[t]]);
      };
      for (size_t i = 0; i < l.inputs.size(); ++i) observe(l.inputs[i], a.inputs[i]);
      for (size_t i = 0; i < l.outputs.size(); ++i) observe(l.outputs[i], a.outputs[i]);
    });
    for (size_t b = 0; b < batches.size(); ++b) {
      seen.assign(s.net.tensors.size(), 0);
      Batch scratch;
      ctx->infer(widenHalf(batches[b], scratch));
      if (pass == 1) out.hist = stats.histograms(ctx->queue());
      logf(logger, Severity::kINFO, "calibration ", pass == 0 ? "ranges" : "histograms", ": batch ",
           b + 1, " of ", batches.size(), " done");
    }
    if (pass == 0) {
      out.absmax = stats.absMax(ctx->queue());
      for (float& m : out.absmax) m = roundUpRange(m);
    }
  }
  ctx->setLayerObserver(nullptr);
  return out;
}

// The expected shape of each input for calibration batches: dynamic batch dims take the
// calibrator's batch size, other dynamic dims the first profile's opt shape.
std::map<int, Dims> calibrationShapes(const Shaped& s, const BuilderConfig& config, int batch) {
  std::map<int, Dims> shapes;
  for (int t : s.net.inputs) {
    Dims d = s.net.tensors[t].dims;
    const std::string& name = s.net.tensors[t].name;
    for (size_t i = 0; i < d.size(); ++i) {
      if (d[i] >= 0) continue;
      if (i == 0) {
        d[i] = batch;
        continue;
      }
      const runtime::ShapeRange* r = nullptr;
      if (!config.profiles.empty()) {
        auto it = config.profiles[0].shapes.find(name);
        if (it != config.profiles[0].shapes.end()) r = &it->second;
      }
      CLRT_CHECK(r && i < r->opt.size(), kBuild, "calibration: input '", name, "' has dynamic dim ",
                 i, " and no optimization profile gives it a size");
      d[i] = r->opt[i];
    }
    shapes[t] = d;
  }
  return shapes;
}

std::map<int, float> runCalibration(const Shaped& s, const BuilderConfig& config,
                                    quant::CalibratorSource& src, std::shared_ptr<ocl::Device> dev,
                                    ILogger* logger, std::map<int, float>* absmaxOut) {
  const int bs = src.batchSize();
  CLRT_CHECK(bs > 0, kBuild, "calibrator.get_batch_size() returned ", bs,
             "; it must be a positive batch size");
  const std::map<int, Dims> shapes = calibrationShapes(s, config, bs);
  std::vector<std::string> names;
  std::vector<Dims> expected;
  for (int t : s.net.inputs) {
    names.push_back(s.net.tensors[t].name);
    expected.push_back(shapes.at(t));
  }
  std::vector<Batch> batches;
  for (;;) {
    std::vector<HostTensor> got;
    if (!src.getBatch(names, expected, got)) break;
    CLRT_CHECK(got.size() == names.size(), kBuild, "calibrator returned ", got.size(),
               " arrays for ", names.size(), " inputs");
    Batch b;
    for (size_t i = 0; i < names.size(); ++i) {
      const DataType want = s.net.tensors[s.net.inputs[i]].dtype;
      b[names[i]] = got[i].dtype == want ? std::move(got[i]) : got[i].castTo(want);
    }
    batches.push_back(std::move(b));
    logf(logger, Severity::kINFO, "calibration: batch ", batches.size(), " read (", bs,
         " samples)");
  }
  CLRT_CHECK(!batches.empty(), kBuild,
             "calibration: the calibrator's get_batch returned no data (None on the first call)");
  const quant::CalibrationAlgo algo = src.algorithm();
  const bool hist = algo != quant::CalibrationAlgo::kMINMAX_CALIBRATION;
  const std::vector<int> targets = rangeTargets(s);
  auto engine = statsEngine(s, shapes, dev, logger);
  const Stats st = runStats(s, *engine, batches, targets, hist, logger);
  std::map<int, float> amax;
  for (size_t i = 0; i < targets.size(); ++i) {
    const float m = st.absmax[i];
    if (absmaxOut) (*absmaxOut)[targets[i]] = m;
    if (!(m > 0.0f) || !std::isfinite(m)) continue;  // all zeros (or inf): no usable range
    float a = m;
    switch (algo) {
      case quant::CalibrationAlgo::kENTROPY_CALIBRATION_2:
        a = quant::entropyAmax(st.hist[i], m, 2);
        break;
      case quant::CalibrationAlgo::kENTROPY_CALIBRATION:
        a = quant::entropyAmax(st.hist[i], m, 1);
        break;
      case quant::CalibrationAlgo::kLEGACY_CALIBRATION:
        a = quant::percentileAmax(st.hist[i], m, src.quantile() * 100.0);
        break;
      case quant::CalibrationAlgo::kMINMAX_CALIBRATION:
        break;
    }
    if (a > 0.0f) amax[targets[i]] = a;
  }
  logf(logger, Severity::kINFO, "calibration done: ", batches.size(), " batches, ", amax.size(),
       " tensor ranges (", quant::algoCacheName(algo), ")");
  return amax;
}

// Ranges from a cache's text; names the network lacks, and targets the cache lacks, are warned.
std::map<int, float> fromCache(const Shaped& s, const ir::Network& original,
                               const std::string& text, ILogger* logger) {
  const quant::CalibrationCache cache = quant::parseCalibrationCache(text);
  std::map<std::string, int> byName;
  for (size_t t = 0; t < s.net.tensors.size(); ++t)
    byName[s.net.tensors[t].name] = static_cast<int>(t);
  std::set<std::string> originalNames;
  for (const auto& t : original.tensors) originalNames.insert(t.name);
  std::map<int, float> amax;
  std::string unknown;
  int nUnknown = 0;
  for (const auto& [name, scale] : cache.scales) {
    auto it = byName.find(name);
    if (it != byName.end()) {
      if (scale > 0.0f && std::isfinite(scale)) amax[it->second] = scale * 127.0f;
    } else if (!originalNames.count(name)) {
      if (nUnknown++ < 20) unknown += (unknown.empty() ? "'" : ", '") + name + "'";
    }
  }
  if (nUnknown)
    logf(logger, Severity::kWARNING, "calibration cache: ", nUnknown,
         " tensor name(s) not in the network: ", unknown, nUnknown > 20 ? ", ..." : "");
  std::string missing;
  int nMissing = 0;
  for (int t : rangeTargets(s))
    if (!cache.scales.count(s.net.tensors[t].name) && !s.net.tensors[t].dynamic_range)
      if (nMissing++ < 20) missing += (missing.empty() ? "'" : ", '") + s.net.tensors[t].name + "'";
  if (nMissing)
    logf(logger, Severity::kWARNING, "calibration cache: ", nMissing,
         " network tensor(s) have no entry (their layers stay in higher precision): ", missing,
         nMissing > 20 ? ", ..." : "");
  logf(logger, Severity::kINFO, "calibration cache (", cache.algo, "): ", amax.size(),
       " tensor ranges read; calibration skipped");
  return amax;
}

}  // namespace

std::map<int, float> calibrate(const Shaped& s, const ir::Network& original,
                               const BuilderConfig& config, std::shared_ptr<ocl::Device> dev,
                               ILogger* logger, std::map<int, float>* absmax) {
  std::map<int, float> amax;
  if (quant::CalibratorSource* src = config.calibrator) {
    const auto cached = src->readCalibrationCache();
    if (cached && !cached->empty()) {
      amax = fromCache(s, original, *cached, logger);
    } else {
      amax = runCalibration(s, config, *src, dev, logger, absmax);
      std::map<std::string, float> scales;
      for (auto& [t, a] : amax) scales[s.net.tensors[t].name] = a / 127.0f;
      src->writeCalibrationCache(quant::formatCalibrationCache(src->algorithm(), scales));
    }
  }
  // Ranges set on the network (set_dynamic_range, Q/DQ scales) override calibration.
  for (size_t t = 0; t < s.net.tensors.size(); ++t)
    if (const auto& r = s.net.tensors[t].dynamic_range) {
      const float a = std::max(std::abs(r->first), std::abs(r->second));
      if (a > 0.0f) amax[static_cast<int>(t)] = a;
    }
  return amax;
}

std::map<int, float> probeAbsMax(const Shaped& s, std::shared_ptr<ocl::Device> dev,
                                 ILogger* logger) {
  std::map<int, Dims> shapes;
  Batch b;
  std::mt19937 rng(4321);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int t : s.net.inputs) {
    shapes[t] = s.opt[0].dims[t];
    const DataType dt = s.net.tensors[t].dtype;
    std::vector<float> v(static_cast<size_t>(volume(shapes[t])));
    const bool real = dt == DataType::kFLOAT || dt == DataType::kHALF;
    for (auto& x : v) x = real ? u(rng) : 0.0f;
    b[s.net.tensors[t].name] = HostTensor::fromFloats(shapes[t], v).castTo(dt);
  }
  const std::vector<int> targets = rangeTargets(s);
  auto engine = statsEngine(s, shapes, dev, logger);
  const Stats st = runStats(s, *engine, {b}, targets, false, logger);
  std::map<int, float> out;
  for (size_t i = 0; i < targets.size(); ++i) out[targets[i]] = st.absmax[i];
  return out;
}

}  // namespace clrt::builder::detail
