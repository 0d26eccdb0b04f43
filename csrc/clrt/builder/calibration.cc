// INT8 ranges: the calibrator's cache, or a calibration run of the FP32 network over the
// calibrator's batches with statistics computed on the device, then each tensor's threshold by
// the calibrator's algorithm. Batches are kept on the host so histograms use ranges fixed over
// all data: the result does not depend on batch size or order.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iterator>
#include <random>
#include <set>

#include "clrt/builder/calib_internal.h"
#include "clrt/builder/cancel.h"
#include "clrt/builder/internal.h"
#include "clrt/builder/progress.h"
#include "clrt/quant/algorithms.h"
#include "clrt/quant/calib_cache.h"
#include "clrt/quant/histogram.h"
#include "clrt/runtime/engine.h"

namespace clrt::builder::detail {

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
// read FLOAT; I/O stays LINEAR whatever allowed_formats says. Tensor and layer indices stay
// those of `s` (the observer relies on them).
std::shared_ptr<runtime::Engine> statsEngine(const Shaped& s, const std::map<int, Dims>& shapes,
                                             std::shared_ptr<ocl::Device> dev, ILogger* logger) {
  BuilderConfig c;
  c.optimization_level = 0;
  plan::Profile p;
  for (auto& [t, d] : shapes)
    if (!isStatic(s.net.tensors[t].dims)) p.shapes[s.net.tensors[t].name] = {d, d, d};
  if (!p.shapes.empty()) c.profiles.push_back(p);
  ir::Network net = s.net;
  for (auto& t : net.tensors) {
    if ((t.is_input || t.is_output) && t.dtype == DataType::kHALF) t.dtype = DataType::kFLOAT;
    t.allowed_formats = ir::kAllTrtFormats;  // LINEAR I/O: batches come in logical order
  }
  Shaped cs = shape(net, c.profiles);
  return runtime::Engine::create(assemble(std::move(cs), c, dev, logger), dev, logger);
}

const Batch& widenHalf(const Batch& b, Batch& scratch) {
  bool half = false;
  for (const auto& [name, h] : b) half = half || h.dtype == DataType::kHALF;
  if (!half) return b;
  scratch = b;
  for (auto& [name, h] : scratch)
    if (h.dtype == DataType::kHALF) h = h.castTo(DataType::kFLOAT);
  return scratch;
}

void fakeQuantHost(HostTensor& h, float amax) {
  const float scale = amax / 127.0f;
  float* v = h.f32();
  for (int64_t i = 0; i < h.numel(); ++i)
    v[i] = std::clamp(std::nearbyint(v[i] / scale), -127.0f, 127.0f) * scale;
}

namespace {

// Tensor names for a warning: the first 20 quoted, then ", ...".
struct NameList {
  int count = 0;
  std::string text;
  void add(const std::string& name) {
    if (count++ < 20) text += (text.empty() ? "'" : ", '") + name + "'";
  }
  std::string str() const { return count > 20 ? text + ", ..." : text; }
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

// Appends one batch's network outputs, as floats, to out.outputs; past 1 GiB in all (where
// refinement is skipped) it keeps none, and stops.
void keepFloatOutputs(const Shaped& s, std::map<std::string, HostTensor>& y, Stats& out,
                      uint64_t& kept) {
  if (kept == ~uint64_t{0}) return;
  std::vector<HostTensor> v;
  for (int t : s.net.outputs) {
    HostTensor& h = y.at(s.net.tensors[t].name);
    v.push_back(h.dtype == DataType::kFLOAT ? std::move(h) : h.castTo(DataType::kFLOAT));
    kept += v.back().bytes.size();
  }
  if (kept > (uint64_t{1} << 30)) {
    out.outputs.clear();
    kept = ~uint64_t{0};
    return;
  }
  out.outputs.push_back(std::move(v));
}

// Runs the batches through `engine`, observing every target tensor: |x| max in a first pass,
// then (when asked) histograms over [0, that max] in a second. With `keepOutputs`, the last
// pass's network outputs go to Stats::outputs (range refinement's reference: the observers only
// read, so they are the bytes of a plain FP32 run), unless they exceed 1 GiB.
Stats runStats(const Shaped& s, runtime::Engine& engine, const std::vector<Batch>& batches,
               const std::vector<int>& targets, bool histograms, bool keepOutputs,
               ILogger* logger) {
  ocl::Device& dev = engine.device();
  auto ctx = engine.createExecutionContext();
  std::vector<int> slot(s.net.tensors.size(), -1);
  for (size_t i = 0; i < targets.size(); ++i) slot[targets[i]] = static_cast<int>(i);
  quant::DeviceStats stats(dev, targets.size());
  Stats out;
  uint64_t kept = 0;
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
    Phase phase(pass == 0 ? "Calibration: ranges" : "Calibration: histograms",
                static_cast<int32_t>(batches.size()));
    for (size_t b = 0; b < batches.size(); ++b) {
      checkCancel();
      seen.assign(s.net.tensors.size(), 0);
      Batch scratch;
      auto y = ctx->infer(widenHalf(batches[b], scratch));
      if (pass == 1) out.hist = stats.histograms(ctx->queue());
      if (keepOutputs && pass + 1 == (histograms ? 2 : 1)) keepFloatOutputs(s, y, out, kept);
      logf(logger, Severity::kINFO, "calibration ", pass == 0 ? "ranges" : "histograms", ": batch ",
           b + 1, " of ", batches.size(), " done");
      phase.step();
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
// calibrator's batch size, other dynamic dims the first profile's opt shape; with a calibration
// profile, every dynamic dim takes its opt shape.
std::map<int, Dims> calibrationShapes(const Shaped& s, const BuilderConfig& config, int batch) {
  std::map<int, Dims> shapes;
  const plan::Profile* calib = config.calibration_profile ? &*config.calibration_profile : nullptr;
  for (int t : s.net.inputs) {
    Dims d = s.net.tensors[t].dims;
    const std::string& name = s.net.tensors[t].name;
    for (size_t i = 0; i < d.size(); ++i) {
      if (d[i] >= 0) continue;
      if (calib) {
        auto it = calib->shapes.find(name);
        CLRT_CHECK(it != calib->shapes.end() && i < it->second.opt.size(), kBuild,
                   "calibration: input '", name, "' has dynamic dim ", i,
                   " and the calibration profile gives it no shape");
        d[i] = it->second.opt[i];
        continue;
      }
      if (i == 0) {
        d[i] = batch;
        continue;
      }
      const plan::ShapeRange* r = nullptr;
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

// Every batch the calibrator gives, converted to the inputs' dtypes.
std::vector<Batch> readBatches(const Shaped& s, quant::CalibratorSource& src,
                               const std::map<int, Dims>& shapes, int bs, ILogger* logger) {
  std::vector<std::string> names;
  std::vector<Dims> expected;
  std::vector<DataType> dtypes;
  for (int t : s.net.inputs) {
    names.push_back(s.net.tensors[t].name);
    expected.push_back(shapes.at(t));
    const DataType dt = s.net.tensors[t].dtype;
    dtypes.push_back(dt == DataType::kHALF ? DataType::kFLOAT : dt);
  }
  std::vector<Batch> batches;
  for (;;) {
    std::vector<HostTensor> got;
    if (!src.getBatch(names, expected, dtypes, got)) break;
    CLRT_CHECK(got.size() == names.size(), kBuild, "calibrator returned ", got.size(),
               " arrays for ", names.size(), " inputs");
    Batch b;
    for (size_t i = 0; i < names.size(); ++i) {
      if (got[i].dtype == DataType::kFLOAT) {
        const auto* v = reinterpret_cast<const float*>(got[i].bytes.data());
        const size_t n = got[i].bytes.size() / 4;
        const size_t bad =
            static_cast<size_t>(std::count_if(v, v + n, [](float x) { return !std::isfinite(x); }));
        CLRT_CHECK(bad == 0, kValue, "calibration input '", names[i], "', batch ",
                   batches.size() + 1, ": ", bad, " of ", n,
                   " values are NaN or Inf; calibration data must be finite (ranges are "
                   "taken from it)");
      }
      const DataType want = s.net.tensors[s.net.inputs[i]].dtype;
      b[names[i]] = got[i].dtype == want ? std::move(got[i]) : got[i].castTo(want);
    }
    batches.push_back(std::move(b));
    logf(logger, Severity::kINFO, "calibration: batch ", batches.size(), " read (", bs,
         " samples)");
  }
  CLRT_CHECK(!batches.empty(), kBuild,
             "calibration: the calibrator's get_batch returned no data (None on the first call)");
  return batches;
}

// The Legacy calibrator's histogram cache, when read_histogram_cache gives one that covers every
// target: its ranges and histograms in `st`. A cache missing targets is warned and not used.
bool statsFromHistogramCache(const Shaped& s, quant::CalibratorSource& src,
                             const std::vector<int>& targets, Stats& st, ILogger* logger) {
  const auto text = src.readHistogramCache();
  if (!text || text->empty()) return false;
  const auto hists = quant::parseHistogramCache(*text);
  Stats out;
  NameList missing;
  for (int t : targets) {
    auto it = hists.find(s.net.tensors[t].name);
    if (it == hists.end()) {
      missing.add(s.net.tensors[t].name);
      continue;
    }
    out.absmax.push_back(it->second.range);
    out.hist.push_back(it->second.counts);
  }
  if (missing.count) {
    logf(logger, Severity::kWARNING, "histogram cache: ", missing.count,
         " network tensor(s) have no histogram (", missing.str(),
         "); calibrating on the calibrator's data instead");
    return false;
  }
  st = std::move(out);
  logf(logger, Severity::kINFO, "histogram cache: ", targets.size(),
       " tensor histograms read; calibration data skipped");
  return true;
}

std::map<int, float> runCalibration(const Shaped& s, const BuilderConfig& config,
                                    quant::CalibratorSource& src, std::shared_ptr<ocl::Device> dev,
                                    ILogger* logger, std::map<int, float>* absmaxOut) {
  const int bs = src.batchSize();
  CLRT_CHECK(bs > 0, kBuild, "calibrator.get_batch_size() returned ", bs,
             "; it must be a positive batch size");
  const std::map<int, Dims> shapes = calibrationShapes(s, config, bs);
  const quant::CalibrationAlgo algo = src.algorithm();
  const bool legacy = algo == quant::CalibrationAlgo::kLEGACY_CALIBRATION;
  const std::vector<int> targets = rangeTargets(s);
  if (legacy && src.regressionCutoff() != 1.0)
    logf(logger, Severity::kWARNING, "calibration: get_regression_cutoff() returned ",
         src.regressionCutoff(),
         "; clrt's Legacy calibration takes the get_quantile() percentile only (TensorRT's "
         "regression is not documented), so the cutoff is not used");
  Stats st;
  std::vector<Batch> batches;
  std::shared_ptr<runtime::Engine> engine;
  // Two steps: the statistics (a pass or two over the data), then the thresholds (with range
  // refinement's passes when it runs).
  Phase phase("Calibration", 2);
  if (!legacy || !statsFromHistogramCache(s, src, targets, st, logger)) {
    batches = readBatches(s, src, shapes, bs, logger);
    engine = statsEngine(s, shapes, dev, logger);
    const bool refine =
        config.refine_int8_ranges && (algo == quant::CalibrationAlgo::kENTROPY_CALIBRATION_2 ||
                                      algo == quant::CalibrationAlgo::kENTROPY_CALIBRATION);
    st = runStats(s, *engine, batches, targets, algo != quant::CalibrationAlgo::kMINMAX_CALIBRATION,
                  refine, logger);
    if (legacy) {
      std::map<std::string, quant::TensorHistogram> hists;
      for (size_t i = 0; i < targets.size(); ++i)
        hists[s.net.tensors[targets[i]].name] = {st.absmax[i], st.hist[i]};
      src.writeHistogramCache(quant::formatHistogramCache(hists));
    }
  }
  phase.step();
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
  const std::map<int, float> thresholds = amax;
  const bool entropy = algo == quant::CalibrationAlgo::kENTROPY_CALIBRATION_2 ||
                       algo == quant::CalibrationAlgo::kENTROPY_CALIBRATION;
  RefineResult refined;
  if (entropy && config.refine_int8_ranges && engine)
    refineRanges(s, *engine, batches, targets, st, amax, logger, &refined);
  phase.step();
  if (CalibrationRecord* rec = config.calibration_record.get()) {
    rec->algorithm = quant::algoCacheName(algo);
    rec->batches = static_cast<int>(batches.size());
    rec->batch_size = bs;
    rec->refine_seconds = refined.seconds;
    rec->refine_passes = refined.passes;
    for (size_t i = 0; i < targets.size(); ++i) {
      const int t = targets[i];
      TensorCalibration tc;
      tc.name = s.net.tensors[t].name;
      tc.absmax = st.absmax[i];
      if (i < st.hist.size()) tc.hist = st.hist[i];
      if (auto it = thresholds.find(t); it != thresholds.end()) tc.threshold = it->second;
      if (auto it = amax.find(t); it != amax.end()) tc.amax = it->second;
      tc.chosen_by = tc.amax != tc.threshold ? "refinement" : rec->algorithm;
      if (auto it = refined.trials.find(t); it != refined.trials.end())
        for (const RangeTrial& r : it->second) {
          tc.trial_amax.push_back(r.amax);
          tc.trial_error.push_back(r.error);
          tc.trial_complete.push_back(r.complete);
        }
      rec->tensors.push_back(std::move(tc));
    }
  }
  logf(logger, Severity::kINFO, "calibration done: ", batches.size(), " batches, ", amax.size(),
       " tensor ranges (", quant::algoCacheName(algo), ")");
  return amax;
}

// Ranges from a cache's text; names the network lacks, and targets the cache lacks, are warned.
std::map<int, float> fromCache(const Shaped& s, const ir::Network& original,
                               const std::string& text, ILogger* logger, CalibrationRecord* rec) {
  const quant::CalibrationCache cache = quant::parseCalibrationCache(text);
  std::map<std::string, int> byName;
  for (size_t t = 0; t < s.net.tensors.size(); ++t)
    byName[s.net.tensors[t].name] = static_cast<int>(t);
  std::set<std::string> originalNames;
  for (const auto& t : original.tensors) originalNames.insert(t.name);
  std::map<int, float> amax;
  NameList unknown;
  for (const auto& [name, scale] : cache.scales) {
    auto it = byName.find(name);
    if (it != byName.end()) {
      if (scale > 0.0f && std::isfinite(scale)) amax[it->second] = scale * 127.0f;
    } else if (!originalNames.count(name)) {
      unknown.add(name);
    }
  }
  if (unknown.count)
    logf(logger, Severity::kWARNING, "calibration cache: ", unknown.count,
         " tensor name(s) not in the network: ", unknown.str());
  NameList missing;
  for (int t : rangeTargets(s))
    if (!cache.scales.count(s.net.tensors[t].name) && !s.net.tensors[t].dynamic_range)
      missing.add(s.net.tensors[t].name);
  if (missing.count)
    logf(logger, Severity::kWARNING, "calibration cache: ", missing.count,
         " network tensor(s) have no entry (their layers stay in higher precision): ",
         missing.str());
  logf(logger, Severity::kINFO, "calibration cache (", cache.algo, "): ", amax.size(),
       " tensor ranges read; calibration skipped");
  if (rec) {
    rec->algorithm = cache.algo;
    rec->from_cache = true;
    for (auto& [t, a] : amax) {
      TensorCalibration tc;
      tc.name = s.net.tensors[t].name;
      tc.threshold = tc.amax = a;
      tc.chosen_by = "cache";
      rec->tensors.push_back(std::move(tc));
    }
  }
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
      amax = fromCache(s, original, *cached, logger, config.calibration_record.get());
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
      if (a <= 0.0f) continue;
      amax[static_cast<int>(t)] = a;
      if (CalibrationRecord* rec = config.calibration_record.get()) {
        auto it = std::find_if(
            rec->tensors.begin(), rec->tensors.end(),
            [&](const TensorCalibration& c) { return c.name == s.net.tensors[t].name; });
        if (it == rec->tensors.end()) {
          rec->tensors.emplace_back();
          it = std::prev(rec->tensors.end());
          it->name = s.net.tensors[t].name;
        }
        it->amax = a;
        it->chosen_by = "dynamic_range";
      }
    }
  return amax;
}

}  // namespace clrt::builder::detail
