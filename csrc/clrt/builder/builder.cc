// The builder: validate, optimize the graph, place layers (host / device), calibrate, assign
// precisions, choose a tactic per device layer by timing the eligible ones at the profile's opt
// shapes, plan memory, collect the program binaries.
#include "clrt/builder/builder.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "clrt/builder/internal.h"
#include "clrt/builder/progress.h"
#include "clrt/core/version.h"
#include "clrt/ir/limits.h"
#include "clrt/ir/shape_inference.h"
#include "clrt/passes/passes.h"
#include "clrt/plan/plan.h"

namespace clrt::builder {
namespace {

using ir::LayerKind;

// The first layer reading `t` at a shape operand, for messages: "Reshape 'n3' shape".
std::string shapeConsumer(const ir::Network& net, int t) {
  for (const auto& l : net.layers)
    for (int k : ir::shapeOperands(l.kind))
      if (k < static_cast<int>(l.inputs.size()) && l.inputs[k] == t)
        return str(ir::layerKindName(l.kind), " '", l.name, "' operand ", k, " comes");
  return "shapes come";
}

// Every shape-tensor input needs values in every profile: count matching its dims, and
// min <= opt <= max elementwise.
void checkShapeInputs(const ir::Network& net, const BuilderConfig& cfg) {
  for (int t : net.inputs) {
    const ir::Tensor& in = net.tensors[t];
    if (!in.is_shape_tensor) continue;
    const std::string hint = str("give it a profile with profile.set_shape_input('", in.name,
                                 "', min, opt, max); config.add_optimization_profile(profile)");
    CLRT_CHECK(!cfg.profiles.empty(), kBuild, shapeConsumer(net, t), " from input '", in.name,
               "' at run time: ", hint);
    for (size_t p = 0; p < cfg.profiles.size(); ++p) {
      auto it = cfg.profiles[p].values.find(in.name);
      CLRT_CHECK(it != cfg.profiles[p].values.end(), kBuild, "optimization profile ", p,
                 " has no values for shape input '", in.name, "' (", shapeConsumer(net, t),
                 " from it at run time): ", hint);
      const auto& v = it->second;
      CLRT_CHECK(!v.real() || in.dtype == DataType::kFLOAT, kBuild, "optimization profile ", p,
                 ": shape input '", in.name, "' is ", dtypeName(in.dtype),
                 "; its values must be integers, got ", v.text(0), " ", v.text(1), " ", v.text(2));
      const int64_t n = in.dims.empty() ? 1 : in.dims[0];
      const size_t sizes[] = {v.real() ? v.fmin.size() : v.min.size(),
                              v.real() ? v.fopt.size() : v.opt.size(),
                              v.real() ? v.fmax.size() : v.max.size()};
      for (size_t c : sizes)
        CLRT_CHECK(sizes[0] == c && (n < 0 || static_cast<int64_t>(c) == n), kBuild,
                   "optimization profile ", p, ": shape input '", in.name, "' ",
                   dimsToString(in.dims), " needs ", n, " values, got ", c);
      for (size_t i = 0; i < v.size(); ++i)
        CLRT_CHECK(v.at(0, i) <= v.at(1, i) && v.at(1, i) <= v.at(2, i), kBuild,
                   "optimization profile ", p, " for shape input '", in.name,
                   "': need min <= opt <= max, got ", v.text(0), " ", v.text(1), " ", v.text(2));
    }
  }
}

// ITensor.allowed_formats of network I/O: clrt stores it LINEAR or (HWC only allowed) channels
// last, for rank-3/4 FLOAT, HALF or INT8 tensors. `shaped`: the dims and dtypes are final (the
// second call, after shape inference); the first checks the masks alone.
void checkIoFormats(const ir::Network& net, bool shaped) {
  std::vector<int> io = net.inputs;
  io.insert(io.end(), net.outputs.begin(), net.outputs.end());
  for (int t : io) {
    const ir::Tensor& x = net.tensors[t];
    const char* what = x.is_input ? "input" : "output";
    CLRT_CHECK(x.allowed_formats & (ir::kTrtLinearBit | ir::kTrtHwcBit), kBuild, "network ", what,
               " '", x.name, "' has allowed_formats ", x.allowed_formats,
               ", which allows neither TensorFormat.LINEAR (bit 0) nor TensorFormat.HWC (bit 8): "
               "clrt stores network inputs and outputs in one of those two");
    if (!shaped || !ir::requestsHwc(x)) continue;
    CLRT_CHECK(x.dims.size() == 3 || x.dims.size() == 4, kBuild, "network ", what, " '", x.name,
               "' allows only TensorFormat.HWC but has dims ", dimsToString(x.dims),
               "; channels-last storage needs [N, C, H, W] or [N, C, W]");
    CLRT_CHECK(
        x.dtype == DataType::kFLOAT || x.dtype == DataType::kHALF || x.dtype == DataType::kINT8,
        kBuild, "network ", what, " '", x.name, "' allows only TensorFormat.HWC but is ",
        dtypeName(x.dtype), "; channels-last I/O is FLOAT, HALF or INT8");
    CLRT_CHECK(!x.is_shape_tensor, kBuild, "network ", what, " '", x.name,
               "' is a shape tensor, which is LINEAR only; its allowed_formats ask for HWC");
  }
}

// A shape input with one value in every profile is a build-time constant: its consumers read a
// CONSTANT layer, so that folding and the importers' constant paths apply. The input stays an
// engine input (the caller still passes it; the context checks it against the profile).
void foldFixedShapeInputs(ir::Network& net, const BuilderConfig& cfg) {
  for (int t : std::vector<int>(net.inputs)) {
    const ir::Tensor& in = net.tensors[t];
    if (!in.is_shape_tensor || cfg.profiles.empty()) continue;
    const auto& first = cfg.profiles[0].values.at(in.name);
    bool fixed = true;
    for (const auto& p : cfg.profiles) {
      const auto& v = p.values.at(in.name);
      fixed = fixed && v.min == first.min && v.max == first.min && v.opt == first.min &&
              v.fmin == first.fmin && v.fmax == first.fmin && v.fopt == first.fmin;
    }
    if (!fixed) continue;
    const Dims d = in.dims.empty() ? Dims{} : Dims{static_cast<int64_t>(first.size())};
    const DataType dt = in.dtype;
    const std::string name = net.uniqueTensorName(in.name + "_value");
    const int li = net.addLayer(LayerKind::kCONSTANT, net.uniqueLayerName(name), {}, 1, {name});
    net.layers[li].weights["value"] = first.tensor(0, d, dt);
    const int c = net.layers[li].outputs[0];
    net.tensors[c].dtype = dt;
    net.tensors[c].dims = d;
    for (auto& l : net.layers)
      if (static_cast<int>(&l - net.layers.data()) != li)
        for (int& x : l.inputs)
          if (x == t) x = c;
  }
}

// Every input with dynamic dims needs a range in every profile; static inputs must agree.
void checkProfiles(const ir::Network& net, const BuilderConfig& cfg) {
  checkShapeInputs(net, cfg);
  for (int t : net.inputs) {
    const ir::Tensor& in = net.tensors[t];
    if (isStatic(in.dims)) continue;
    CLRT_CHECK(!cfg.profiles.empty(), kBuild, "input '", in.name, "' has dynamic dims ",
               dimsToString(in.dims),
               ": add an optimization profile (profile = builder.create_optimization_profile(); "
               "profile.set_shape('",
               in.name, "', min, opt, max); config.add_optimization_profile(profile))");
  }
  for (size_t p = 0; p < cfg.profiles.size(); ++p) {
    // A shape for a tensor that is no input would be written into the engine, which then fails
    // to load: say so at build time, naming the inputs there are.
    for (const auto& [name, range] : cfg.profiles[p].shapes) {
      bool isInput = false;
      std::string inputs;
      for (int t : net.inputs) {
        isInput = isInput || net.tensors[t].name == name;
        inputs += (inputs.empty() ? "'" : ", '") + net.tensors[t].name + "'";
      }
      CLRT_CHECK(isInput, kBuild, "optimization profile ", p, " sets shapes for '", name,
                 "', which is not an input of the network (its inputs: ", inputs, ")");
    }
    for (int t : net.inputs) {
      const ir::Tensor& in = net.tensors[t];
      auto it = cfg.profiles[p].shapes.find(in.name);
      if (it == cfg.profiles[p].shapes.end()) {
        CLRT_CHECK(isStatic(in.dims), kBuild, "optimization profile ", p,
                   " has no shape for dynamic input '", in.name, "' ", dimsToString(in.dims),
                   "; call profile.set_shape('", in.name, "', min, opt, max)");
        continue;
      }
      for (const Dims* d : {&it->second.min, &it->second.opt, &it->second.max}) {
        bool ok = d->size() == in.dims.size();
        for (size_t i = 0; ok && i < d->size(); ++i)
          ok = (*d)[i] >= 0 && (in.dims[i] < 0 || in.dims[i] == (*d)[i]);
        CLRT_CHECK(ok, kBuild, "optimization profile ", p, ": shape ", dimsToString(*d),
                   " for input '", in.name, "' does not match its dims ", dimsToString(in.dims));
      }
      for (size_t i = 0; i < in.dims.size(); ++i)
        CLRT_CHECK(it->second.min[i] <= it->second.opt[i] && it->second.opt[i] <= it->second.max[i],
                   kBuild, "optimization profile ", p, " for input '", in.name,
                   "': need min <= opt <= max, got ", dimsToString(it->second.min), " ",
                   dimsToString(it->second.opt), " ", dimsToString(it->second.max));
    }
  }
  // Dims that share a name (ITensor.set_dimension_name, the ONNX dim_param) agree in the
  // declared dims and at each corner of every profile.
  const char* corners[] = {"min", "opt", "max"};
  for (size_t p = 0; p < std::max<size_t>(cfg.profiles.size(), 1); ++p)
    for (int c = 0; c < 3; ++c) {
      std::map<int, Dims> dims;
      for (int t : net.inputs) {
        const ir::Tensor& in = net.tensors[t];
        const plan::ShapeRange* r = nullptr;
        if (!cfg.profiles.empty()) {
          auto it = cfg.profiles[p].shapes.find(in.name);
          if (it != cfg.profiles[p].shapes.end()) r = &it->second;
        }
        if (r)
          dims[t] = c == 0 ? r->min : c == 1 ? r->opt : r->max;
        else if (isStatic(in.dims))
          dims[t] = in.dims;
      }
      const std::string m = net.namedDimMismatch(dims);
      CLRT_CHECK(m.empty(), kBuild,
                 cfg.profiles.empty()
                     ? std::string("the network's input dims")
                     : str("optimization profile ", p, "'s ", corners[c], " shapes"),
                 ": ", m,
                 "; dims that share a name (ITensor.set_dimension_name, an ONNX dim_param) must "
                 "be equal");
    }
}

// Before anything runs on the device (calibration, FP16 probing, tactic timing): a model whose
// activations cannot fit the WORKSPACE pool limit or the device fails here, naming its largest
// tensor, instead of allocating it (a 200-byte model can ask for a 2^31-element tensor).
void checkActivationMemory(const detail::Shaped& s, const BuilderConfig& cfg,
                           const ocl::Device& dev) {
  const uint64_t devMem = dev.info().global_mem ? dev.info().global_mem : UINT64_MAX;
  const uint64_t limit = std::min(cfg.workspace_limit, devMem);
  const char* what = cfg.workspace_limit <= devMem ? "the workspace limit" : "the device's memory";
  for (const auto& r : s.max) {
    for (size_t li = 0; li < s.net.layers.size(); ++li) {
      if (s.on_host[li]) continue;
      const ir::Layer& l = s.net.layers[li];
      for (int t : l.outputs) {
        const uint64_t bytes = ir::hostBytes(r.dims[t], s.net.tensors[t].dtype);
        CLRT_CHECK(bytes <= limit, kBuild, "layer '", l.name, "' (", ir::layerKindName(l.kind),
                   "): its output '", s.net.tensors[t].name, "' ", dimsToString(r.dims[t]), " ",
                   dtypeName(s.net.tensors[t].dtype), " needs ",
                   bytes == UINT64_MAX ? std::string("more than 2^64") : std::to_string(bytes),
                   " bytes, over ", what, " of ", limit,
                   " bytes; raise config.set_memory_pool_limit(MemoryPoolType.WORKSPACE, n) or "
                   "lower the profile's max shapes");
      }
    }
    const uint64_t peak =
        runtime::planMemory(s.net, s.on_host, r.dims, dev.info().arena_alignment).arena_bytes;
    CLRT_CHECK(peak <= limit, kBuild, "the engine needs ", peak,
               " bytes of activation memory at the largest profile shapes, over ", what, " of ",
               limit,
               " bytes; raise config.set_memory_pool_limit(MemoryPoolType.WORKSPACE, n) or lower "
               "the profile's max shapes");
  }
}

bool anyPrecisionConstraint(const ir::Network& net) {
  for (const auto& l : net.layers) {
    if (l.precision) return true;
    for (const auto& t : l.output_types)
      if (t) return true;
  }
  return false;
}

// The wall time of each build phase (lap), and at the end one line: the phases, then what
// tactic selection spent (detail::BuildStats) and the device's program compiles in between.
class BuildTimes {
 public:
  explicit BuildTimes(ocl::Device& dev)
      : dev_(dev),
        start_(Clock::now()),
        last_(start_),
        compiles_(dev.compileCount()),
        compile_s_(dev.compileSeconds()),
        loads_(dev.cacheLoads()) {}
  void lap(const char* phase) {
    const Clock::time_point now = Clock::now();
    laps_.emplace_back(phase, std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }
  std::string report(const detail::BuildStats& st) const {
    auto sec = [](double s) { return str(std::round(s * 10.0) / 10.0, " s"); };
    std::string r =
        str("build time ", sec(std::chrono::duration<double>(Clock::now() - start_).count()), ":");
    for (size_t i = 0; i < laps_.size(); ++i)
      r += str(i ? ", " : " ", laps_[i].first, " ", sec(laps_[i].second));
    r += str("; tactics: ", st.timed, " timed (", sec(st.timing_s), ") and ", st.cached,
             " from the timing cache, kernels made in ", sec(st.instantiate_s), " (",
             sec(st.ahead_s), " ahead of the choices, on several threads)",
             ", timing buffers filled in ", sec(st.buffers_s),
             "; OpenCL programs: ", dev_.compileCount() - compiles_, " compiled (",
             sec(dev_.compileSeconds() - compile_s_), "), ", dev_.cacheLoads() - loads_,
             " from the kernel cache");
    return r;
  }

 private:
  using Clock = std::chrono::steady_clock;
  ocl::Device& dev_;
  Clock::time_point start_, last_;
  int compiles_;
  double compile_s_;
  int loads_;
  std::vector<std::pair<const char*, double>> laps_;
};

}  // namespace

namespace detail {

ir::Network inExecutionOrder(const ir::Network& net) {
  const std::vector<int> order = net.topoOrder();
  std::vector<int> newIndex(net.layers.size(), -1);
  ir::Network out;
  out.tensors = net.tensors;
  out.inputs = net.inputs;
  out.outputs = net.outputs;
  out.explicit_quantization = net.explicit_quantization;
  for (size_t i = 0; i < order.size(); ++i) {
    newIndex[order[i]] = static_cast<int>(i);
    out.layers.push_back(net.layers[order[i]]);
  }
  for (auto& t : out.tensors)
    if (t.producer >= 0) t.producer = newIndex[t.producer];
  return out;
}

namespace {

// The shapes and host values of s.net at profile p's min (corner 0), opt (1) or max (2).
runtime::ResolvedShapes resolvedAt(const Shaped& s, const std::vector<plan::Profile>& profiles,
                                   size_t p, int corner) {
  return runtime::resolveShapes(s.net, s.on_host,
                                runtime::profileInputDims(s.net, profiles, p, corner),
                                runtime::profileInputValues(s.net, profiles, p, corner));
}

}  // namespace

Shaped shape(ir::Network net, const std::vector<plan::Profile>& profiles) {
  Shaped s;
  s.net = inExecutionOrder(net);
  s.on_host = runtime::placeLayers(s.net);
  const size_t nprof = std::max<size_t>(profiles.size(), 1);
  for (size_t p = 0; p < nprof; ++p) {
    s.opt.push_back(resolvedAt(s, profiles, p, 1));
    s.max.push_back(resolvedAt(s, profiles, p, 2));
    resolvedAt(s, profiles, p, 0);  // validates min
  }
  return s;
}

plan::EngineDesc assemble(Shaped s, const BuilderConfig& config, std::shared_ptr<ocl::Device> devp,
                          ILogger* logger) {
  ocl::Device& dev = *devp;
  plan::EngineDesc desc;
  size_t nl = s.net.layers.size();  // fewer after dropIdentityIoReformats
  desc.on_host = s.on_host;
  desc.tactics.assign(nl, "");
  TimingEnv env{dev, config, logger};
  uint64_t workspace = 0;
  Phase phase("Tactic timing",
              static_cast<int32_t>(std::count(s.on_host.begin(), s.on_host.end(), uint8_t{0})));
  auto dtypesOf = [&](const ir::Layer& l, std::vector<DataType>& inDt,
                      std::vector<DataType>& outDt) {
    for (int t : l.inputs) inDt.push_back(t >= 0 ? s.net.tensors[t].dtype : DataType::kFLOAT);
    for (int t : l.outputs) outDt.push_back(s.net.tensors[t].dtype);
  };
  {
    std::vector<AheadChoice> ahead;
    for (size_t li = 0; li < nl; ++li) {
      if (s.on_host[li]) continue;
      AheadChoice a;
      a.li = static_cast<int>(li);
      a.layer = s.net.layers[li];
      dtypesOf(a.layer, a.inDt, a.outDt);
      ahead.push_back(std::move(a));
    }
    compileAhead(s, ahead, env);
  }
  for (size_t li = 0; li < nl; ++li) {
    if (s.on_host[li]) continue;
    const auto& l = s.net.layers[li];
    std::vector<DataType> inDt, outDt;
    dtypesOf(l, inDt, outDt);
    const Choice c = chooseTactic(s, static_cast<int>(li), inDt, outDt, env);
    const DataType prec = tactics::layerPrecision(l);
    CLRT_CHECK(
        c.tactic, kBuild, "no implementation for layer '", l.name, "' (", ir::layerKindName(l.kind),
        ", ", dtypeName(prec), ") on ", dev.info().name,
        c.why.find("workspace") == std::string::npos
            ? ":" + c.why
            : str(" within the workspace limit of ", config.workspace_limit, " bytes:", c.why,
                  " raise it with "
                  "config.set_memory_pool_limit(MemoryPoolType.WORKSPACE, n)"));
    desc.tactics[li] = c.tactic->name();
    workspace = std::max(workspace, c.workspace);
    logf(logger, Severity::kVERBOSE, "layer '", l.name, "' (", ir::layerKindName(l.kind), ", ",
         dtypeName(prec), "): chose ", desc.tactics[li]);
    phase.step();
  }

  chooseLayouts(s.net, s.on_host, desc.tactics, dev.info().is_gpu, logger);
  if (const int n = dropIdentityIoReformats(s.net, s.on_host, desc.tactics)) {
    desc.on_host = s.on_host;
    nl = s.net.layers.size();
    for (size_t p = 0; p < s.max.size(); ++p)  // the tensors were renumbered
      s.max[p] = resolvedAt(s, config.profiles, p, 2);
    logf(logger, Severity::kVERBOSE, "layouts: ", n,
         " channels-last network I/O tensor(s) read or written in place, without a REFORMAT");
  }

  // Instantiate the chosen tactics once more under a recorder: their programs go in the plan,
  // and what they need of the workspace at the largest profile shapes counts too (the layouts
  // chosen since they were timed can change it: a depthwise layer left NCHW on a CPU reads a
  // padded copy, channels last it does not).
  {
    ocl::ProgramRecorder rec;
    for (size_t li = 0; li < nl; ++li) {
      if (s.on_host[li]) continue;
      const ir::Layer& l = s.net.layers[li];
      const auto k = tactics::findTactic(desc.tactics[li])->instantiate(l, dev);
      for (const auto& r : s.max)
        workspace = std::max<uint64_t>(workspace, k->workspaceAt(l, r.dims));
    }
    desc.program_binaries = dev.programBinaries(rec.keys());
  }

  const uint64_t align = dev.info().arena_alignment;
  uint64_t peak = 0;
  for (auto& r : s.max)
    peak = std::max(peak, runtime::planMemory(s.net, s.on_host, r.dims, align).arena_bytes);
  CLRT_CHECK(peak + workspace <= config.workspace_limit, kBuild, "the engine needs ", peak,
             " bytes of activation memory and ", workspace,
             " bytes of scratch at the largest profile shapes, over the workspace limit of ",
             config.workspace_limit,
             " bytes; raise it with config.set_memory_pool_limit(MemoryPoolType.WORKSPACE, n) "
             "or lower the profile's max shapes");

  desc.net = std::move(s.net);
  desc.profiles = config.profiles;
  desc.device_fingerprint = dev.info().fingerprint();
  desc.device_name = dev.info().name;
  desc.clrt_version = kVersion;
  desc.peak_activation_bytes = peak;
  desc.workspace_bytes = workspace;
  desc.name = config.network_name;
  desc.profiling_verbosity = config.profiling_verbosity;
  logf(logger, Severity::kINFO, "built engine: ", nl, " layers, ", peak, " bytes of activations, ",
       workspace, " bytes of scratch");
  return desc;
}

}  // namespace detail

bool Builder::platformHasFastFp16() const {
  // Half storage halves memory traffic everywhere; arithmetic is faster only with tensor cores.
  return dev_->info().is_nvidia;
}
bool Builder::platformHasFastInt8() const { return true; }
bool Builder::platformHasTf32() const { return dev_->info().compute_capability >= 80; }

namespace {

// NVIDIA_TF32_OVERRIDE=0, the switch cuBLAS and cuDNN read, turns TF32 off for every build in
// the process as it does for them, whatever the configs say (e.g. to check FP32 numerics).
BuilderConfig withEnvironment(const BuilderConfig& config, ILogger* logger) {
  BuilderConfig c = config;
  const char* e = std::getenv("NVIDIA_TF32_OVERRIDE");
  if (e && std::string(e) == "0" && c.getFlag(BuilderFlag::kTF32)) {
    c.setFlag(BuilderFlag::kTF32, false);
    logf(logger, Severity::kINFO,
         "NVIDIA_TF32_OVERRIDE=0: BuilderFlag.TF32 is off for this build (FP32 layers keep FP32 "
         "products)");
  }
  return c;
}

}  // namespace

plan::EngineDesc Builder::build(const ir::Network& network, const BuilderConfig& userConfig) {
  const BuilderConfig config = withEnvironment(userConfig, logger_);
  ocl::ProgramLogScope programLog(logger_);  // e.g. a damaged kernel-cache entry, rebuilt
  // The user's timing cache, when it was made on this device: its program binaries stand in for
  // compiling those programs, and this build's engine adds its own.
  const std::string cacheDevice = timingCacheDevice(dev_->info());
  auto ownCache = [&] {
    return config.timing_cache && !config.getFlag(BuilderFlag::kDISABLE_TIMING_CACHE) &&
           config.timing_cache->device() == cacheDevice;
  };
  const auto cachedPrograms = ownCache() ? config.timing_cache->programs()
                                         : std::make_shared<const TimingCache::Programs>();
  ocl::ProgramBinaryScope cachedBinaries(*cachedPrograms);
  ScopedProgress progress(config.progress);
  CLRT_CHECK(!network.outputs.empty(), kBuild,
             "network has no outputs: mark at least one with network.mark_output(tensor)");
  ir::Network marked = network;
  passes::lowerControlFlow(marked);
  ir::markShapeTensors(marked);
  checkProfiles(marked, config);
  const bool int8 = config.getFlag(BuilderFlag::kINT8);
  const bool fp16 = config.getFlag(BuilderFlag::kFP16);
  if (anyPrecisionConstraint(network) &&
      !config.getFlag(BuilderFlag::kOBEY_PRECISION_CONSTRAINTS) &&
      !config.getFlag(BuilderFlag::kPREFER_PRECISION_CONSTRAINTS))
    logf(logger_, Severity::kWARNING,
         "layer precisions or output types are set but neither "
         "BuilderFlag.OBEY_PRECISION_CONSTRAINTS nor PREFER_PRECISION_CONSTRAINTS is; clrt "
         "treats them as preferred (PREFER) rather than ignoring them");

  // Steps: graph optimization, calibration (INT8 ranges), precisions, tactics and assembly.
  Phase phase("Building engine", 4);
  // Where the time goes, reported at INFO when the build ends (BuildTimes).
  detail::buildStats() = {};
  BuildTimes times(*dev_);
  ir::Network net = std::move(marked);
  checkIoFormats(net, /*shaped=*/false);
  // The I/O asked to be channels last, by name: the passes may rebuild the tensors that carry it.
  std::set<std::string> hwcIo;
  for (const ir::Tensor& x : net.tensors)
    if (ir::requestsHwc(x)) hwcIo.insert(x.name);
  foldFixedShapeInputs(net, config);
  passes::castBoundaryInputs(net);
  net.inferShapes();
  // On tensor cores with TF32 allowed (the default) an FP32 attention's two products run as
  // TF32 GEMMs, and the fused kernel's tensor-core path is FP16: an FP32-only build there keeps
  // the layers apart. Without TF32 both ways run on CUDA cores, where the fused kernel saves
  // the score tensor's round trip (benchmarks/RESULTS.md).
  passes::PassOptions passOptions;
  passOptions.fuse_attention = dev_->info().compute_capability < 80 ||
                               config.getFlag(BuilderFlag::kFP16) ||
                               !config.getFlag(BuilderFlag::kTF32);
  if (!passOptions.fuse_attention)
    logf(logger_, Severity::kVERBOSE,
         "attention stays unfused: FP32 on tensor cores runs its MatMuls as TF32 GEMMs (set "
         "BuilderFlag.FP16 for the fused FP16 kernel)");
  // A refittable engine keeps the network as the passes receive it: a refit replays them over
  // the new weights (refit.cc). TensorRT's STRIP_PLAN leaves weights out of the plan; clrt keeps
  // them (the engine runs without a refit) and says so.
  const bool refittable =
      config.getFlag(BuilderFlag::kREFIT) || config.getFlag(BuilderFlag::kREFIT_INDIVIDUAL) ||
      config.getFlag(BuilderFlag::kREFIT_IDENTICAL) || config.getFlag(BuilderFlag::kSTRIP_PLAN);
  std::optional<ir::Network> refitSource;
  if (refittable) refitSource = net;
  if (config.getFlag(BuilderFlag::kSTRIP_PLAN))
    logf(logger_, Severity::kWARNING,
         "BuilderFlag.STRIP_PLAN: clrt keeps the weights in the plan (it is not smaller), and the "
         "engine is refittable as with BuilderFlag.REFIT");
  passes::optimize(net, logger_, passOptions);
  times.lap("graph passes");
  phase.step();
  detail::Shaped s = detail::shape(std::move(net), config.profiles);
  for (auto* io : {&s.net.inputs, &s.net.outputs})
    for (int t : *io)
      if (hwcIo.count(s.net.tensors[t].name)) s.net.tensors[t].allowed_formats = ir::kTrtHwcBit;
  checkIoFormats(s.net, /*shaped=*/true);
  checkActivationMemory(s, config, *dev_);

  // The programs calibration and the FP32 reference run (no engine holds them): a timing cache
  // keeps them with the engine's, so that a build from it compiles neither.
  std::optional<ocl::ProgramRecorder> prep(std::in_place);
  std::map<int, float> amax, absmax;
  const bool explicitQ = passes::isExplicitlyQuantized(s.net);
  if (explicitQ && config.calibrator)
    logf(logger_, Severity::kWARNING,
         "the network is explicitly quantized (Q/DQ nodes): its scales are used and the "
         "calibrator set on the config is ignored");
  if (int8 || explicitQ || anyPrecisionConstraint(s.net)) {
    BuilderConfig calib = config;
    if (explicitQ) calib.calibrator = nullptr;
    amax = detail::calibrate(s, network, calib, dev_, logger_, &absmax);
  }
  times.lap("calibration");
  phase.step();
  s.fp16_unsafe.assign(s.net.tensors.size(), false);
  detail::Fp32Reference ref;
  if (fp16) {
    ref = detail::fp32Reference(s, dev_, logger_, absmax.empty() ? &absmax : nullptr);
    for (auto& [t, m] : absmax)
      if (!(m < 65504.0f)) s.fp16_unsafe[t] = true;
    times.lap("FP32 reference");
  }
  const std::vector<std::string> prepKeys = prep->keys();
  prep.reset();
  BuilderConfig cfg = config;
  if (explicitQ) cfg.setFlag(BuilderFlag::kINT8, true);
  // One cache for the whole build, so a layer timed while choosing precisions, and every layer
  // identical to it, is not timed again; the user's cache when one is set.
  if (!cfg.timing_cache || cfg.getFlag(BuilderFlag::kDISABLE_TIMING_CACHE))
    cfg.timing_cache = std::make_shared<TimingCache>();
  cfg.timing_cache->claim(timingCacheDevice(dev_->info()));
  detail::TimingEnv env{*dev_, cfg, logger_};
  if (int8 && amax.empty())
    logf(logger_, Severity::kWARNING,
         "BuilderFlag.INT8 is set but there are no INT8 ranges (no calibrator, calibration "
         "cache, set_dynamic_range or Q/DQ scales): every layer stays in higher precision");
  const detail::Shaped pre = fp16 ? s : detail::Shaped{};
  detail::assignPrecisions(s, amax, env);
  times.lap("precisions and tactics");
  phase.step();
  plan::EngineDesc desc = detail::assemble(std::move(s), cfg, dev_, logger_);
  times.lap("assembly");
  if (fp16) {
    desc = detail::guardFp16(std::move(desc), pre, amax, ref, cfg, dev_, logger_);
    times.lap("FP16 check");
  }
  phase.step();
  if (refitSource) {
    desc.refittable = true;
    desc.refit_fuse_attention = passOptions.fuse_attention;
    if (refitSource->onnx_model) {
      desc.refit_onnx = *refitSource->onnx_model;
      desc.refit_onnx_dir = refitSource->onnx_dir;
    }
    desc.refit_source = std::move(*refitSource);
  }
  if (ownCache()) {  // claimed for this device by now if it was new
    std::vector<std::string> keys = prepKeys;
    keys.insert(keys.end(), env.chosen_programs.begin(), env.chosen_programs.end());
    TimingCache::Programs programs = dev_->programBinaries(keys);
    programs.insert(desc.program_binaries.begin(), desc.program_binaries.end());
    config.timing_cache->addPrograms(programs);
  }
  logf(logger_, Severity::kINFO, times.report(detail::buildStats()));
  return desc;
}

std::string timingCacheDevice(const ocl::DeviceInfo& d) {
  // "device times": tactics are timed by markers (tactic_select.cc medianMs), not by the host
  // clock as before, so caches holding the old measurements do not mix with the new.
  return d.fingerprint() + "|clrt " + CLRT_VERSION + "|device times";
}

std::vector<uint8_t> Builder::buildSerialized(const ir::Network& network,
                                              const BuilderConfig& config) {
  return plan::serialize(build(network, config));
}

}  // namespace clrt::builder
