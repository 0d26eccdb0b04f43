// The FP16 check: after an FP16 build, every FP16 layer's outputs are compared with FP32 on the
// build-time data, and a layer whose error is out of proportion to its inputs' stays FP32 with a
// warning; a network output still far from FP32 (cosine < 0.99) is never shipped silently.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "clrt/builder/internal.h"
#include "clrt/quant/histogram.h"
#include "clrt/runtime/engine.h"

namespace clrt::builder::detail {
namespace {

using Batch = std::map<std::string, HostTensor>;
using ir::LayerKind;

bool isReal(DataType t) { return t == DataType::kFLOAT || t == DataType::kHALF; }

// A layer's own FP16 error is "out of proportion" when its output error (relative L2 to FP32)
// is above kLayerErr and kGrowth times its inputs' error: FP16 storage alone gives ~3e-4 per
// rounding, so a layer that turns inputs off by 0.1% into outputs off by 2% loses precision
// itself (overflow, cancellation, long sums) rather than passing on its inputs' rounding.
constexpr double kLayerErr = 0.02;
constexpr double kGrowth = 10.0;
constexpr double kMinCosine = 0.99;  // a network output below this is reported
constexpr int kRounds = 4;           // reassignments at most (each fixes the worst layers)

// The smallest dim of `d` in [from, from + n); 0 when that range leaves d.
int64_t minDim(const Dims& d, int64_t from, int64_t n) {
  if (from < 0 || n < 0 || from + n > static_cast<int64_t>(d.size())) return 0;
  int64_t m = std::numeric_limits<int64_t>::max();
  for (int64_t k = from; k < from + n; ++k) m = std::min(m, d[k]);
  return n == 0 ? 0 : m;
}

// For each integer network input read as Gather/Scatter indices (directly or through data
// movement), the smallest axis size they index at the opt shapes; 0 when the input indexes
// nothing; -1 when it is an integer divisor (DIV, MOD), which must not be 0.
std::map<int, int64_t> indexRanges(const Shaped& s) {
  std::map<int, int64_t> out;
  std::map<int, int> origin;  // tensor -> the integer network input it carries
  for (int t : s.net.inputs)
    if (!isReal(s.net.tensors[t].dtype)) origin[t] = t, out[t] = 0;
  for (size_t li = 0; li < s.net.layers.size(); ++li) {
    const auto& l = s.net.layers[li];
    if (s.on_host[li] || l.inputs.empty()) continue;
    const bool indexed = l.kind == LayerKind::kGATHER || l.kind == LayerKind::kSCATTER;
    if (indexed && l.inputs.size() > 1 && origin.count(l.inputs[1])) {
      const Dims& d = s.opt[0].dims[l.inputs[0]];
      const Dims& idx = s.opt[0].dims[l.inputs[1]];
      const int64_t axis = l.attrs.i("axis", 0);
      const int64_t ax = axis < 0 ? axis + static_cast<int64_t>(d.size()) : axis;
      // ND modes: each index row addresses dims [batch_dims, batch_dims + K).
      const int64_t len = l.attrs.s("mode") == "ND"
                              ? minDim(d, l.attrs.i("batch_dims", 0), idx.empty() ? -1 : idx.back())
                              : minDim(d, ax, 1);
      if (len > 0) {
        int64_t& r = out[origin[l.inputs[1]]];
        r = r <= 0 ? len : std::min(r, len);
      }
    }
    const std::string op = l.kind == LayerKind::kELEMENTWISE ? l.attrs.s("op") : "";
    if ((op == "DIV" || op == "MOD" || op == "FMOD") && l.inputs.size() > 1 &&
        origin.count(l.inputs[1]) && out[origin[l.inputs[1]]] == 0)
      out[origin[l.inputs[1]]] = -1;
    if (isPassthrough(l.kind) || l.kind == LayerKind::kCAST)
      if (l.inputs[0] >= 0 && origin.count(l.inputs[0]))
        for (int t : l.outputs) origin[t] = origin[l.inputs[0]];
  }
  return out;
}

Batch buildTimeBatch(const Shaped& s) {
  Batch b;
  std::mt19937 rng(4321);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  const std::map<int, int64_t> ranges = indexRanges(s);
  for (int t : s.net.inputs) {
    const Dims d = s.opt[0].dims[t];
    const DataType dt = s.net.tensors[t].dtype;
    std::vector<float> v(static_cast<size_t>(volume(d)));
    if (isReal(dt)) {
      for (auto& x : v) x = u(rng);
    } else if (auto it = ranges.find(t); it != ranges.end() && it->second > 0) {
      // Below 2^24, so exact in float.
      std::uniform_int_distribution<int64_t> ids(0, std::min<int64_t>(it->second, 1 << 24) - 1);
      for (auto& x : v) x = static_cast<float>(ids(rng));
    } else if (it != ranges.end() && it->second < 0) {
      std::fill(v.begin(), v.end(), 1.0f);  // a divisor: 0 would fail the run
    }
    // HALF inputs are fed as FLOAT (statsEngine widens them; the FP16 engine takes FLOAT too).
    b[s.net.tensors[t].name] =
        HostTensor::fromFloats(d, v).castTo(dt == DataType::kHALF ? DataType::kFLOAT : dt);
  }
  return b;
}

// What the FP16 check keeps of a tensor: whole rows of its outermost dimension (the batch, in
// every format: LINEAR and channels-last both keep it outermost), about kSampleElems elements
// and at least one row. Both runs keep the same rows, so errors and cosines compare like with
// like; a network at batch 64 no longer copies and converts every activation of every image
// (ResNet-50: 2.8 GB, 11 s of a 12 s warm-cache build on the H200).
constexpr int64_t kSampleElems = int64_t{1} << 18;

Dims sampleDims(const Dims& d) {
  if (d.empty() || d[0] <= 1) return d;
  const int64_t row = volume(d) / d[0];
  if (row <= 0) return d;
  Dims s = d;
  s[0] = std::clamp<int64_t>((kSampleElems + row - 1) / row, 1, d[0]);
  return s;
}

// Device-side max |x| of float tensors while capture() runs (the FP16 overflow check needs the
// whole tensor, not the sample).
struct AbsMaxProbe {
  quant::DeviceStats& stats;
  const std::vector<int>& slot;  // tensor -> DeviceStats slot, -1 when not wanted
  std::vector<char> seen;
  std::vector<float> absmax = {};  // per slot, read before the context (and its queue) goes
};

// One run of `engine` on `b`, keeping every float/half output of every device layer as floats
// (the leading rows sampleDims keeps); with `probe`, also each wanted FLOAT tensor's max |x|
// over all of it, on the device.
std::map<std::string, std::vector<float>> capture(runtime::Engine& engine, const Batch& b,
                                                  AbsMaxProbe* probe = nullptr) {
  const auto& net = engine.desc().net;
  std::map<int, HostTensor> raw;
  auto ctx = engine.createExecutionContext();
  cl_command_queue queue = nullptr;  // the context's, as the observer sees it
  if (probe) probe->seen.assign(net.tensors.size(), 0);
  ctx->setLayerObserver([&](int li, const tactics::ExecArgs& a) {
    const auto& l = net.layers[li];
    if (probe) {
      queue = a.queue;
      auto observe = [&](int t, const tactics::DeviceTensor& d) {
        if (t < 0 || probe->slot[t] < 0 || probe->seen[t] || !d.buf || d.dtype != DataType::kFLOAT)
          return;
        probe->seen[t] = 1;
        probe->stats.enqueueAbsMax(a.queue, d.buf, static_cast<size_t>(volume(d.dims)),
                                   static_cast<size_t>(probe->slot[t]));
      };
      for (size_t i = 0; i < l.inputs.size() && i < a.inputs.size(); ++i)
        observe(l.inputs[i], a.inputs[i]);
      for (size_t i = 0; i < l.outputs.size() && i < a.outputs.size(); ++i)
        observe(l.outputs[i], a.outputs[i]);
    }
    for (size_t i = 0; i < l.outputs.size(); ++i) {
      const auto& d = a.outputs[i];
      if (!d.buf || (d.dtype != DataType::kFLOAT && d.dtype != DataType::kHALF)) continue;
      HostTensor h(d.dtype, sampleDims(d.dims));
      if (h.bytes.empty()) continue;
      // Read now: the buffers are reused by later layers. The queue is in order, so the read
      // runs before them; the host buffer's storage does not move when the map grows.
      auto& slot = raw[l.outputs[i]] = std::move(h);
      ocl::check(clEnqueueReadBuffer(a.queue, d.buf, CL_FALSE, 0, slot.bytes.size(),
                                     slot.bytes.data(), 0, nullptr, nullptr),
                 "clEnqueueReadBuffer");
    }
  });
  Batch in;  // the batch in this engine's input dtypes (HALF inputs of an FP16 engine) and formats
  for (int t : net.inputs) {
    const HostTensor& h = b.at(net.tensors[t].name);
    in[net.tensors[t].name] =
        tactics::formatted(h.dtype == net.tensors[t].dtype ? h : h.castTo(net.tensors[t].dtype),
                           net.tensors[t].format);
  }
  ctx->infer(in);
  ctx->synchronize();
  if (probe && queue) probe->absmax = probe->stats.absMax(queue);
  std::map<std::string, std::vector<float>> out;
  for (auto& [t, h] : raw)
    out[net.tensors[t].name] = tactics::linearized(std::move(h), net.tensors[t].format).asFloats();
  return out;
}

// ||a - b|| / ||b||; infinite when a is not finite where b is.
double relErr(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (!std::isfinite(a[i]) && std::isfinite(b[i])) return INFINITY;
    if (!std::isfinite(b[i])) continue;
    const double e = double(a[i]) - b[i];
    num += e * e;
    den += double(b[i]) * b[i];
  }
  return num == 0 ? 0.0 : std::sqrt(num / std::max(den, 1e-30));
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) {
      if (std::isfinite(a[i]) != std::isfinite(b[i])) return 0.0;
      continue;
    }
    ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
  }
  if (aa == 0 && bb == 0) return 1.0;
  return aa == 0 || bb == 0 ? 0.0 : ab / std::sqrt(aa * bb);
}

struct Finding {
  std::string layer;
  double err, inErr;
  std::vector<std::string> tensors;  // the layer's data inputs and float outputs, by name
};

struct Check {
  std::vector<Finding> culprits;                        // out of proportion
  std::vector<Finding> fp16Layers;                      // every measured FP16 layer
  std::vector<std::pair<std::string, double>> outputs;  // network output -> cosine
  // Some device layer runs INT8: the outputs' distance to FP32 then includes quantization error
  // (on build-time data that is not the calibration data), which no FP16 layer is to blame for.
  bool int8 = false;
};

Check check(const plan::EngineDesc& desc, const Fp32Reference& ref,
            std::shared_ptr<ocl::Device> dev, ILogger* logger) {
  auto engine = runtime::Engine::create(desc, dev, logger);
  const auto got = capture(*engine, ref.batch);
  const auto& net = desc.net;
  std::map<int, double> memo;
  // A tensor's error; tensors FP32 has no twin of (REFORMAT outputs) carry their source's.
  std::function<double(int)> errOf = [&](int t) -> double {
    if (auto it = memo.find(t); it != memo.end()) return it->second;
    double e = 0;
    const std::string& name = net.tensors[t].name;
    auto r = ref.values.find(name);
    auto g = got.find(name);
    if (r != ref.values.end() && g != got.end()) {
      e = relErr(g->second, r->second);
    } else if (const int p = net.tensors[t].producer; p >= 0) {
      for (int i : net.layers[p].inputs)
        if (i >= 0) e = std::max(e, errOf(i));
    }
    return memo[t] = e;
  };
  Check c;
  for (size_t li = 0; li < net.layers.size(); ++li) {
    const auto& l = net.layers[li];
    if (desc.on_host[li] || isPassthrough(l.kind)) continue;
    c.int8 = c.int8 || tactics::layerPrecision(l) == DataType::kINT8;
    if (tactics::layerPrecision(l) != DataType::kHALF) continue;
    Finding f{l.name, 0, 0, {}};
    for (int t : l.inputs)
      if (t >= 0 && isReal(net.tensors[t].dtype)) {
        f.inErr = std::max(f.inErr, errOf(t));
        f.tensors.push_back(net.tensors[t].name);
      }
    for (int t : l.outputs)
      if (isReal(net.tensors[t].dtype)) {
        f.err = std::max(f.err, errOf(t));
        f.tensors.push_back(net.tensors[t].name);
      }
    if (f.err > kLayerErr && f.err > kGrowth * f.inErr) c.culprits.push_back(f);
    c.fp16Layers.push_back(std::move(f));
  }
  for (int t : net.outputs) {
    const std::string& name = net.tensors[t].name;
    auto r = ref.values.find(name);
    auto g = got.find(name);
    if (r != ref.values.end() && g != got.end())
      c.outputs.push_back({name, cosine(g->second, r->second)});
  }
  return c;
}

}  // namespace

size_t fallbackLayer(const std::vector<std::pair<double, double>>& err_in) {
  // FP16's unit roundoff: what storing an exact value in FP16 costs at most.
  static constexpr double kHalfRounding = 1.0 / 2048;
  auto growth = [](const std::pair<double, double>& e) {
    return e.first / std::max(e.second, kHalfRounding);
  };
  size_t best = 0;
  for (size_t i = 1; i < err_in.size(); ++i)
    if (growth(err_in[i]) > growth(err_in[best])) best = i;
  return best;
}

Fp32Reference fp32Reference(const Shaped& s, std::shared_ptr<ocl::Device> dev, ILogger* logger,
                            std::map<int, float>* absmax) {
  Fp32Reference ref;
  ref.batch = buildTimeBatch(s);
  std::map<int, Dims> shapes;
  for (int t : s.net.inputs) shapes[t] = s.opt[0].dims[t];
  auto engine = statsEngine(s, shapes, dev, logger);
  if (!absmax) {
    ref.values = capture(*engine, ref.batch);
    return ref;
  }
  const std::vector<int> targets = rangeTargets(s);
  std::vector<int> slot(s.net.tensors.size(), -1);
  for (size_t i = 0; i < targets.size(); ++i) slot[targets[i]] = static_cast<int>(i);
  quant::DeviceStats stats(*dev, targets.size());
  AbsMaxProbe probe{stats, slot, {}};
  ref.values = capture(*engine, ref.batch, &probe);
  const std::vector<float>& m = probe.absmax;
  for (size_t i = 0; i < targets.size(); ++i) {
    const int t = targets[i];
    const auto& x = s.net.tensors[t];
    if (probe.seen[t] && i < m.size()) {
      (*absmax)[t] = m[i];
    } else if (x.is_input) {  // not read on the device as FLOAT: from the host batch
      float v = 0;
      for (float e : ref.batch.at(x.name).asFloats())
        v = std::isnan(e) ? v : std::max(v, std::fabs(e));
      (*absmax)[t] = v;
    }
  }
  return ref;
}

plan::EngineDesc guardFp16(plan::EngineDesc desc, const Shaped& pre,
                           const std::map<int, float>& amax, const Fp32Reference& ref,
                           const BuilderConfig& config, std::shared_ptr<ocl::Device> dev,
                           ILogger* logger) {
  std::map<std::string, int> preId;
  for (size_t t = 0; t < pre.net.tensors.size(); ++t)
    preId[pre.net.tensors[t].name] = static_cast<int>(t);
  // Tensors a layer with a user precision constraint reads or writes stay as they are: the
  // user's choice wins (and under OBEY_PRECISION_CONSTRAINTS moving them would fail the build).
  std::vector<bool> pinned(pre.net.tensors.size(), false);
  for (const auto& l : pre.net.layers)
    if (l.precision)
      for (const auto* v : {&l.inputs, &l.outputs})
        for (int t : *v)
          if (t >= 0) pinned[t] = true;
  std::vector<bool> lossy(pre.net.tensors.size(), false);
  Check c;
  for (int round = 0;; ++round) {
    bool anyHalf = false;
    for (size_t li = 0; li < desc.net.layers.size(); ++li)
      anyHalf = anyHalf || (!desc.on_host[li] &&
                            tactics::layerPrecision(desc.net.layers[li]) == DataType::kHALF);
    if (!anyHalf) return desc;
    c = check(desc, ref, dev, logger);
    bool worse = false;
    for (auto& [name, cos] : c.outputs) worse = worse || !(cos >= kMinCosine);
    // An output far from FP32 with no layer out of proportion: the layer whose own error grew
    // most is the one to keep. Not in an engine with INT8 layers: there the distance is mostly
    // theirs, and moving FP16 layers to FP32 one after another (ResNet-50's INT8 + FP16 build:
    // a different layer each round, each reassignment re-timed) would not bring it back.
    if (worse && !c.int8 && c.culprits.empty() && !c.fp16Layers.empty()) {
      std::vector<std::pair<double, double>> errs;
      for (const Finding& f : c.fp16Layers) errs.push_back({f.err, f.inErr});
      c.culprits.push_back(c.fp16Layers[fallbackLayer(errs)]);
    }
    if (round == kRounds) break;  // the output check below reports what is left
    bool marked = false;
    for (const Finding& f : c.culprits) {
      bool free = true;
      for (const std::string& n : f.tensors)
        if (auto it = preId.find(n); it != preId.end() && pinned[it->second]) free = false;
      if (!free) {
        logf(logger, Severity::kWARNING, "layer '", f.layer, "': in FP16 its output differs from ",
             "FP32 by ", f.err, " (relative L2 on the build-time data; its inputs by ", f.inErr,
             "); a precision constraint keeps it and its neighbours as set");
        continue;
      }
      logf(logger, Severity::kWARNING, "layer '", f.layer,
           "' stays FP32: in FP16 its output differs from FP32 by ", f.err,
           " (relative L2 on the build-time data; its inputs by ", f.inErr, ")");
      for (const std::string& n : f.tensors)
        if (auto it = preId.find(n); it != preId.end() && !lossy[it->second])
          lossy[it->second] = marked = true;
    }
    if (!marked) break;
    Shaped s = pre;
    s.fp16_lossy = lossy;
    TimingEnv env{*dev, config, logger};
    assignPrecisions(s, amax, env);
    desc = assemble(std::move(s), config, dev, logger);
  }
  for (auto& [name, cos] : c.outputs)
    if (!(cos >= kMinCosine) && c.int8)
      logf(logger, Severity::kINFO, "engine output '", name, "' has cosine ", cos,
           " to FP32 on the build-time data (uniform [-1, 1] inputs, not the calibration data); "
           "with INT8 layers that includes their quantization error. Judge INT8 accuracy on real "
           "data: clrt.accuracy.compare() finds the first divergent layer, sensitivity() ranks "
           "them");
    else if (!(cos >= kMinCosine))
      logf(logger, Severity::kWARNING, "FP16 engine output '", name, "' has cosine ", cos,
           " to FP32 on the build-time data (below ", kMinCosine,
           "); keep more layers in FP32 (layer.precision = trt.float32 with "
           "OBEY_PRECISION_CONSTRAINTS) or build without FP16");
  return desc;
}

}  // namespace clrt::builder::detail
