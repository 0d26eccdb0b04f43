// Builder, IBuilderConfig, IOptimizationProfile and IHostMemory (builds release the GIL).
#include "clrt/builder/builder.h"
#include "clrt/ocl/device.h"
#include "clrt/python/builder_py.h"
#include "clrt/runtime/engine.h"
#include "clrt/tactics/tactic_filter.h"

namespace clrt::python {
namespace {

using builder::BuilderFlag;

enum class MemoryPoolType : int32_t {
  kWORKSPACE = 0,
  kDLA_MANAGED_SRAM = 1,
  kDLA_LOCAL_DRAM = 2,
  kDLA_GLOBAL_DRAM = 3,
  kTACTIC_DRAM = 4,
  kTACTIC_SHARED_MEMORY = 5,
};
enum class CreationFlag : int32_t { kEXPLICIT_BATCH = 0, kSTRONGLY_TYPED = 1 };

struct Profile {
  plan::Profile p;
};

// The record as plain Python data (clrt.CalibrationReport wraps it); None before a calibration.
py::object calibrationRecord(const Config& c) {
  const builder::CalibrationRecord* r = c.calibration.get();
  if (!r || r->tensors.empty()) return py::none();
  py::list tensors;
  for (const auto& t : r->tensors) {
    py::dict d;
    d["name"] = t.name;
    d["absmax"] = t.absmax;
    d["hist"] = py::array_t<uint64_t>(static_cast<py::ssize_t>(t.hist.size()), t.hist.data());
    d["threshold"] = t.threshold;
    d["amax"] = t.amax;
    d["chosen_by"] = t.chosen_by;
    py::list trials;
    for (size_t i = 0; i < t.trial_amax.size(); ++i)
      trials.append(py::make_tuple(t.trial_amax[i], t.trial_error[i], bool(t.trial_complete[i])));
    d["trials"] = trials;
    tensors.append(d);
  }
  py::dict out;
  out["algorithm"] = r->algorithm;
  out["batches"] = r->batches;
  out["batch_size"] = r->batch_size;
  out["from_cache"] = r->from_cache;
  out["refine_seconds"] = r->refine_seconds;
  out["refine_passes"] = r->refine_passes;
  out["tensors"] = tensors;
  return out;
}

struct TimingCacheHandle {  // ITimingCache: shared with every config it is set on
  std::shared_ptr<builder::TimingCache> c;
};

void setShape(Profile& pr, const std::string& input, const py::object& lo, const py::object& opt,
              const py::object& hi) {
  const std::string what = "optimization profile for input '" + input + "'";
  plan::ShapeRange r{toDims(lo, what + " min"), toDims(opt, what + " opt"),
                     toDims(hi, what + " max")};
  CLRT_CHECK(r.min.size() == r.opt.size() && r.opt.size() == r.max.size(), kValue, what, ": min ",
             dimsToString(r.min), ", opt ", dimsToString(r.opt), ", max ", dimsToString(r.max),
             " must have the same rank");
  for (size_t i = 0; i < r.min.size(); ++i)
    CLRT_CHECK(r.min[i] >= 0 && r.min[i] <= r.opt[i] && r.opt[i] <= r.max[i], kValue, what,
               ": dim ", i, " must satisfy 0 <= min <= opt <= max; got min ", dimsToString(r.min),
               ", opt ", dimsToString(r.opt), ", max ", dimsToString(r.max));
  pr.p.shapes[input] = std::move(r);
}

// TensorRT's set_shape_input: the values of a shape-tensor input (a scalar or a 1-D list).
// Integers stay exact; a list with other numbers (FLOAT shape inputs: Resize scales, roi) is
// kept as doubles.
void setShapeInput(Profile& pr, const std::string& input, const py::object& lo,
                   const py::object& opt, const py::object& hi) {
  const std::string what = "optimization profile for shape input '" + input + "'";
  py::module_ np = py::module_::import("numpy");
  auto flat = [&](const py::object& o) { return np.attr("asarray")(o).attr("reshape")(-1); };
  const py::object a[] = {flat(lo), flat(opt), flat(hi)};
  bool integral = true;
  for (const auto& x : a)
    integral = integral && (x.attr("dtype").attr("kind").cast<std::string>() != "f" ||
                            np.attr("all")(np.attr("equal")(x, np.attr("floor")(x))).cast<bool>());
  plan::ValueRange r;
  for (int k = 0; k < 3; ++k) {
    if (integral)
      (k == 0   ? r.min
       : k == 1 ? r.opt
                : r.max) =
          a[k].attr("astype")("int64").attr("tolist")().cast<std::vector<int64_t>>();
    else
      (k == 0   ? r.fmin
       : k == 1 ? r.fopt
                : r.fmax) =
          a[k].attr("astype")("float64").attr("tolist")().cast<std::vector<double>>();
  }
  const size_t n = r.size();
  CLRT_CHECK(
      integral ? r.opt.size() == n && r.max.size() == n : r.fopt.size() == n && r.fmax.size() == n,
      kValue, what, ": min ", r.text(0), ", opt ", r.text(1), ", max ", r.text(2),
      " must have the same number of values");
  for (size_t i = 0; i < n; ++i)
    CLRT_CHECK(r.at(0, i) <= r.at(1, i) && r.at(1, i) <= r.at(2, i), kValue, what, ": value ", i,
               " must satisfy min <= opt <= max; got min ", r.text(0), ", opt ", r.text(1),
               ", max ", r.text(2));
  pr.p.values[input] = std::move(r);
}

}  // namespace

py::list valueLists(const plan::ValueRange& r) {
  py::list out;
  if (r.real())
    for (const auto* v : {&r.fmin, &r.fopt, &r.fmax}) out.append(py::cast(*v));
  else
    for (const auto* v : {&r.min, &r.opt, &r.max}) out.append(py::cast(*v));
  return out;
}

namespace {

// Errors surfacing during a build are build failures, whatever layer of the core noticed them.
template <typename F>
auto buildStep(F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kValue || e.kind() == ErrorKind::kRuntime ||
        e.kind() == ErrorKind::kParse)
      fail(ErrorKind::kBuild, e.what());
    throw;
  }
}

void bindEnums(py::module_& m) {
  py::enum_<BuilderFlag> flags(m, "BuilderFlag", "Builder options (TensorRT's numbering).");
  flags.value("FP16", BuilderFlag::kFP16)
      .value("INT8", BuilderFlag::kINT8)
      .value("DEBUG", BuilderFlag::kDEBUG)
      .value("GPU_FALLBACK", BuilderFlag::kGPU_FALLBACK)
      .value("REFIT", BuilderFlag::kREFIT)
      .value("DISABLE_TIMING_CACHE", BuilderFlag::kDISABLE_TIMING_CACHE)
      .value("TF32", BuilderFlag::kTF32)
      .value("SPARSE_WEIGHTS", BuilderFlag::kSPARSE_WEIGHTS)
      .value("SAFETY_SCOPE", BuilderFlag::kSAFETY_SCOPE)
      .value("OBEY_PRECISION_CONSTRAINTS", BuilderFlag::kOBEY_PRECISION_CONSTRAINTS)
      .value("PREFER_PRECISION_CONSTRAINTS", BuilderFlag::kPREFER_PRECISION_CONSTRAINTS)
      .value("DIRECT_IO", BuilderFlag::kDIRECT_IO)
      .value("REJECT_EMPTY_ALGORITHMS", BuilderFlag::kREJECT_EMPTY_ALGORITHMS)
      .value("VERSION_COMPATIBLE", BuilderFlag::kVERSION_COMPATIBLE)
      .value("EXCLUDE_LEAN_RUNTIME", BuilderFlag::kEXCLUDE_LEAN_RUNTIME)
      .value("FP8", BuilderFlag::kFP8)
      .value("ERROR_ON_TIMING_CACHE_MISS", BuilderFlag::kERROR_ON_TIMING_CACHE_MISS)
      .value("BF16", BuilderFlag::kBF16)
      .value("DISABLE_COMPILATION_CACHE", BuilderFlag::kDISABLE_COMPILATION_CACHE)
      .value("STRIP_PLAN", BuilderFlag::kSTRIP_PLAN)
      .value("REFIT_IDENTICAL", BuilderFlag::kREFIT_IDENTICAL)
      .value("WEIGHT_STREAMING", BuilderFlag::kWEIGHT_STREAMING)
      .value("INT4", BuilderFlag::kINT4)
      .value("REFIT_INDIVIDUAL", BuilderFlag::kREFIT_INDIVIDUAL)
      .value("STRICT_NANS", BuilderFlag::kSTRICT_NANS)
      .value("MONITOR_MEMORY", BuilderFlag::kMONITOR_MEMORY)
      .value("EDITABLE_TIMING_CACHE", BuilderFlag::kEDITABLE_TIMING_CACHE);
  py::enum_<MemoryPoolType>(m, "MemoryPoolType")
      .value("WORKSPACE", MemoryPoolType::kWORKSPACE)
      .value("DLA_MANAGED_SRAM", MemoryPoolType::kDLA_MANAGED_SRAM)
      .value("DLA_LOCAL_DRAM", MemoryPoolType::kDLA_LOCAL_DRAM)
      .value("DLA_GLOBAL_DRAM", MemoryPoolType::kDLA_GLOBAL_DRAM)
      .value("TACTIC_DRAM", MemoryPoolType::kTACTIC_DRAM)
      .value("TACTIC_SHARED_MEMORY", MemoryPoolType::kTACTIC_SHARED_MEMORY);
  py::enum_<CreationFlag>(m, "NetworkDefinitionCreationFlag",
                          "EXPLICIT_BATCH is implied (TensorRT 10); STRONGLY_TYPED is stored.")
      .value("EXPLICIT_BATCH", CreationFlag::kEXPLICIT_BATCH)
      .value("STRONGLY_TYPED", CreationFlag::kSTRONGLY_TYPED);
  py::enum_<ProfilingVerbosity>(m, "ProfilingVerbosity")
      .value("LAYER_NAMES_ONLY", ProfilingVerbosity::kLAYER_NAMES_ONLY)
      .value("NONE", ProfilingVerbosity::kNONE)
      .value("DETAILED", ProfilingVerbosity::kDETAILED);
  py::enum_<DeviceType>(m, "DeviceType", "Accepted and ignored: clrt runs on one OpenCL device.")
      .value("GPU", DeviceType::kGPU)
      .value("DLA", DeviceType::kDLA);
}

void bindHostMemoryAndProfile(py::module_& m) {
  py::class_<HostMemory>(m, "IHostMemory", py::buffer_protocol(),
                         "Serialized engine bytes: bytes(plan), memoryview(plan), len(plan).")
      .def_buffer([](HostMemory& h) {
        static uint8_t empty = 0;
        uint8_t* p = h.bytes.empty() ? &empty : h.bytes.data();
        return py::buffer_info(p, 1, "B", 1, {static_cast<py::ssize_t>(h.bytes.size())}, {1}, true);
      })
      .def_property_readonly("nbytes", [](const HostMemory& h) { return h.bytes.size(); })
      .def_property_readonly("dtype", [](const HostMemory&) { return DataType::kUINT8; })
      .def("__len__", [](const HostMemory& h) { return h.bytes.size(); })
      .def("__enter__", [](const py::object& self) { return self; })
      .def("__exit__", [](const py::object&, const py::args&) { return false; });

  py::class_<Profile>(m, "IOptimizationProfile", "Shape ranges for dynamic network inputs.")
      .def("set_shape", &setShape, py::arg("input"), py::arg("min"), py::arg("opt"), py::arg("max"),
           "Range for one input; ValueError unless 0 <= min <= opt <= max.")
      .def(
          "get_shape",
          [](const Profile& pr, const std::string& input) {
            auto it = pr.p.shapes.find(input);
            CLRT_CHECK(it != pr.p.shapes.end(), kValue, "optimization profile has no shapes for '",
                       input, "'");
            py::list out;
            for (const Dims* d : {&it->second.min, &it->second.opt, &it->second.max})
              out.append(toTuple(*d));
            return out;
          },
          py::arg("input"), "[min, opt, max].")
      .def("set_shape_input", &setShapeInput, py::arg("input"), py::arg("min"), py::arg("opt"),
           py::arg("max"),
           "Value range of a shape-tensor input (ITensor.is_shape_tensor); min == max folds "
           "the values into the engine.")
      .def(
          "get_shape_input",
          [](const Profile& pr, const std::string& input) {
            auto it = pr.p.values.find(input);
            CLRT_CHECK(it != pr.p.values.end(), kValue, "optimization profile has no values for '",
                       input, "'");
            return valueLists(it->second);
          },
          py::arg("input"), "[min, opt, max] values.")
      .def("__bool__",
           [](const Profile& pr) { return !pr.p.shapes.empty() || !pr.p.values.empty(); })
      .def("__repr__", [](const Profile& pr) {
        std::string s = "<clrt.IOptimizationProfile";
        for (const auto& [k, r] : pr.p.shapes)
          s += str(" '", k, "': ", dimsToString(r.min), "..", dimsToString(r.max));
        return s + ">";
      });
}

void bindConfig(py::module_& m) {
  py::class_<Config> cls(m, "IBuilderConfig", "Build options: flags, memory limits, profiles.");
  cls.def_property(
         "flags", [](const Config& c) { return c.cfg.flags; },
         [](Config& c, uint64_t f) { c.cfg.flags = f; }, "Bit mask of BuilderFlag values.")
      .def(
          "set_flag", [](Config& c, BuilderFlag f) { c.cfg.setFlag(f, true); }, py::arg("flag"))
      .def(
          "clear_flag", [](Config& c, BuilderFlag f) { c.cfg.setFlag(f, false); }, py::arg("flag"))
      .def(
          "get_flag", [](const Config& c, BuilderFlag f) { return c.cfg.getFlag(f); },
          py::arg("flag"))
      .def(
          "set_memory_pool_limit",
          [](Config& c, MemoryPoolType pool, uint64_t bytes) {
            if (pool == MemoryPoolType::kWORKSPACE)
              c.cfg.workspace_limit = bytes;
            else
              c.pools[static_cast<int32_t>(pool)] = bytes;
          },
          py::arg("pool"), py::arg("pool_size"),
          "WORKSPACE bounds the tactics' scratch memory; other pools are stored only.")
      .def(
          "get_memory_pool_limit",
          [](const Config& c, MemoryPoolType pool) -> uint64_t {
            if (pool != MemoryPoolType::kWORKSPACE) {
              auto it = c.pools.find(static_cast<int32_t>(pool));
              return it == c.pools.end() ? 0 : it->second;
            }
            const bool unlimited = c.cfg.workspace_limit == std::numeric_limits<uint64_t>::max();
            return unlimited && c.device_mem ? c.device_mem : c.cfg.workspace_limit;
          },
          py::arg("pool"))
      .def_property(
          "max_workspace_size",
          [](const Config& c) {
            warnDeprecated("max_workspace_size is deprecated; use get_memory_pool_limit()");
            return c.cfg.workspace_limit;
          },
          [](Config& c, uint64_t bytes) {
            warnDeprecated("max_workspace_size is deprecated; use set_memory_pool_limit()");
            c.cfg.workspace_limit = bytes;
          })
      .def_property(
          "builder_optimization_level", [](const Config& c) { return c.cfg.optimization_level; },
          [](Config& c, int level) {
            CLRT_CHECK(level >= 0 && level <= 5, kValue,
                       "builder_optimization_level must be in [0, 5], got ", level);
            c.cfg.optimization_level = level;
          },
          "0 takes each layer's preferred tactic untimed; higher levels time the candidates.")
      .def_property(
          "tactic_filter", [](const Config& c) { return c.cfg.tactic_filter; },
          [](Config& c, const std::string& spec) {
            tactics::TacticFilter::parse(spec, "config.tactic_filter");  // refuses typos now
            c.cfg.tactic_filter = spec;
          },
          "Comma-separated tactic name globs the builder may choose ('conv.tc_int8'), '-' "
          "denies ('-conv.*_clblast'); '' leaves the choice to CLRT_TACTICS, else all.")
      .def(
          "add_optimization_profile",
          [](Config& c, const Profile& pr) {
            CLRT_CHECK(!pr.p.shapes.empty() || !pr.p.values.empty(), kValue,
                       "add_optimization_profile: the profile sets no shapes (use set_shape)");
            c.cfg.profiles.push_back(pr.p);
            return static_cast<int>(c.cfg.profiles.size()) - 1;
          },
          py::arg("profile"), "Adds a copy of the profile; returns its index.")
      .def_property_readonly("num_optimization_profiles",
                             [](const Config& c) { return c.cfg.profiles.size(); })
      .def(
          "set_calibration_profile",
          [](Config& c, const Profile& pr) {
            CLRT_CHECK(!pr.p.shapes.empty(), kValue,
                       "set_calibration_profile: the profile sets no shapes (use set_shape)");
            c.cfg.calibration_profile = pr.p;
            return true;
          },
          py::arg("profile"),
          "INT8 calibration runs at this profile's opt shapes (a copy is kept).")
      .def(
          "get_calibration_profile",
          [](const Config& c) {
            return c.cfg.calibration_profile ? py::cast(Profile{*c.cfg.calibration_profile})
                                             : py::object(py::none());
          },
          "The calibration profile, or None.")
      .def_property(
          "profiling_verbosity", [](const Config& c) { return c.verbosity; },
          [](Config& c, ProfilingVerbosity v) { c.verbosity = v; })
      .def_readwrite("int8_calibrator", &Config::int8_calibrator,
                     "The IInt8Calibrator subclass that feeds INT8 calibration.")
      .def_property_readonly("_calibration_record", &calibrationRecord,
                             "What the last build's INT8 calibration found, as plain data "
                             "(clrt.CalibrationReport reads it), or None.")
      .def_property(
          "refine_int8_ranges", [](const Config& c) { return c.cfg.refine_int8_ranges; },
          [](Config& c, bool on) { c.cfg.refine_int8_ranges = on; },
          "clrt's own (default True): after an entropy calibrator's KL search, each tensor's "
          "range is chosen among the KL threshold, the 99.99th percentile and the max by the "
          "error it causes in the network's outputs on the calibration data. False keeps the KL "
          "thresholds as TensorRT computes them.")
      .def(
          "create_timing_cache",
          [](const Config& c, const py::object& data) {
            BufferView view(data, false, "create_timing_cache");
            if (!view.size())
              return TimingCacheHandle{std::make_shared<builder::TimingCache>(c.device)};
            return TimingCacheHandle{builder::TimingCache::deserialize(
                static_cast<const uint8_t*>(view.data()), view.size())};
          },
          py::arg("serialized_timing_cache") = py::bytes(),
          "An ITimingCache from serialize()'s bytes (empty bytes: a new cache for this "
          "builder's device). Raises ValueError on damaged bytes.")
      .def(
          "set_timing_cache",
          [](Config& c, const TimingCacheHandle& t, bool ignoreMismatch) {
            const std::string d = t.c->device();
            if (!ignoreMismatch && !d.empty() && d != c.device) return false;
            c.cfg.timing_cache = t.c;
            return true;
          },
          py::arg("cache"), py::arg("ignore_mismatch") = false,
          "Builds read and extend this cache. False (not set) when it was made on another "
          "device or clrt version, unless ignore_mismatch.")
      .def(
          "get_timing_cache",
          [](const Config& c) {
            return c.cfg.timing_cache ? py::cast(TimingCacheHandle{c.cfg.timing_cache})
                                      : py::object(py::none());
          },
          "The cache set with set_timing_cache, or None.")
      .def_property(
          "progress_monitor", [](const Config& c) { return c.progress_monitor; },
          [](Config& c, const py::object& m) {
            makeProgressMonitor(m);  // refuses what is not an IProgressMonitor now
            c.progress_monitor = m;
          },
          "A trt.IProgressMonitor told of each build phase (calibration batches, range "
          "refinement, precision selection, tactic timing); False from step_complete cancels.")
      .def_readwrite("default_device_type", &Config::device_type)
      .def_readwrite("DLA_core", &Config::dla_core)
      .def_readwrite("avg_timing_iterations", &Config::avg_timing_iterations)
      .def("__enter__", [](const py::object& self) { return self; })
      .def("__exit__", [](const py::object&, const py::args&) { return false; });
  bindConfigSettings(cls);
}

// The core config of a build: the Python-side settings, and the calibrator adapter (owned by
// `holder`) when INT8 is on — TensorRT ignores a calibrator without the flag.
builder::BuilderConfig coreConfig(const Config& config, const NetworkState& network,
                                  std::unique_ptr<quant::CalibratorSource>& holder,
                                  std::unique_ptr<builder::ProgressMonitor>& monitor) {
  builder::BuilderConfig cfg = config.cfg;
  monitor = makeProgressMonitor(config.progress_monitor);
  cfg.progress = monitor.get();
  cfg.profiling_verbosity = static_cast<int32_t>(config.verbosity);
  cfg.network_name = network.name;
  config.calibration = std::make_shared<builder::CalibrationRecord>();
  cfg.calibration_record = config.calibration;
  takePendingCalibratorError();  // a stale one from an earlier build must not chain here
  if (cfg.getFlag(BuilderFlag::kINT8) && !config.int8_calibrator.is_none()) {
    holder = makeCalibratorSource(config.int8_calibrator);
    cfg.calibrator = holder.get();
  }
  return cfg;
}

// A build its progress monitor cancelled (step_complete returned False) returns None, as in
// TensorRT, with the reason logged as an error; other failures raise.
template <typename F>
py::object buildOrNone(const Builder& b, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    if (!builder::buildCancelled()) throw;
    logf(loggerOf(b.logger), Severity::kERROR, e.what());
    return py::none();
  }
}

py::object buildSerialized(Builder& b, const NetworkState& network, const Config& config) {
  std::unique_ptr<quant::CalibratorSource> calibrator;
  std::unique_ptr<builder::ProgressMonitor> monitor;
  const builder::BuilderConfig cfg = coreConfig(config, network, calibrator, monitor);
  std::shared_ptr<ir::Network> net = network.net;
  builder::Builder& core = b.impl();  // opens the device (first use) while the GIL is held
  return buildOrNone(b, [&] {
    HostMemory out;
    {
      py::gil_scoped_release release;
      out.bytes = buildStep([&] { return core.buildSerialized(*net, cfg); });
    }
    return py::cast(std::move(out));
  });
}

// The engine of a build, in memory (build_engine_with_config and the deprecated build_engine).
py::object buildEngine(Builder& b, const NetworkState& network, const Config& config) {
  std::unique_ptr<quant::CalibratorSource> calibrator;
  std::unique_ptr<builder::ProgressMonitor> monitor;
  const builder::BuilderConfig cfg = coreConfig(config, network, calibrator, monitor);
  std::shared_ptr<ir::Network> net = network.net;
  ILogger* log = loggerOf(b.logger);
  builder::Builder& core = b.impl();
  return buildOrNone(b, [&] {
    std::shared_ptr<runtime::Engine> engine;
    {
      py::gil_scoped_release release;
      engine = buildStep(
          [&] { return runtime::Engine::create(core.build(*net, cfg), core.device(), log); });
    }
    return wrapEngine(engine, b.logger, network.name);
  });
}

void bindBuilder(py::module_& m) {
  py::class_<Builder>(m, "Builder", "Builds engines for the default OpenCL device.")
      .def(py::init([](const py::object& logger) {
             loggerOf(logger);  // TypeError now for an object that is not a logger
             return Builder{logger, nullptr};
           }),
           py::arg("logger"))
      .def_readonly("logger", &Builder::logger)
      .def(
          "create_network",
          [](Builder& b, uint32_t flags) {
            auto s = std::make_shared<NetworkState>();
            s->flags = flags;
            s->name = str("Unnamed Network ", b.networks++);
            return s;
          },
          py::arg("flags") = 0)
      .def("create_builder_config",
           [](Builder& b) {
             Config c;
             c.device_mem = b.impl().device()->info().global_mem;
             c.device = builder::timingCacheDevice(b.impl().device()->info());
             return c;
           })
      .def("create_optimization_profile", [](const Builder&) { return Profile{}; })
      .def("build_serialized_network", &buildSerialized, py::arg("network"), py::arg("config"),
           "The engine as IHostMemory. Raises clrt.BuildError with the reason on failure "
           "(TensorRT returns None).")
      .def(
          "build_engine",
          [](Builder& b, const NetworkState& network, const Config& config) {
            warnDeprecated(
                "Builder.build_engine is deprecated (TensorRT 8); use "
                "build_serialized_network and Runtime.deserialize_cuda_engine");
            return buildEngine(b, network, config);
          },
          py::arg("network"), py::arg("config"))
      .def("build_engine_with_config", &buildEngine, py::arg("network"), py::arg("config"),
           "The engine as an ICudaEngine (TensorRT 10), the one build_serialized_network and "
           "Runtime.deserialize_cuda_engine give. Raises clrt.BuildError with the reason on "
           "failure; None when a progress monitor cancels.")
      .def(
          "is_network_supported",
          [](Builder& b, const NetworkState& network, const Config& config) {
            std::unique_ptr<quant::CalibratorSource> calibrator;
            std::unique_ptr<builder::ProgressMonitor> monitor;
            const builder::BuilderConfig cfg = coreConfig(config, network, calibrator, monitor);
            std::shared_ptr<ir::Network> net = network.net;
            builder::Builder& core = b.impl();
            try {
              py::gil_scoped_release release;
              core.build(*net, cfg);
              return true;
            } catch (const Error& e) {
              // An exception of the calibrator or monitor (or Ctrl-C), or a cancelled build,
              // says nothing of the network: raised as build_serialized_network raises it.
              py::object cause = takePendingCalibratorError();
              if (!cause.is_none()) setPendingBuildError(cause);
              if (!cause.is_none() || builder::buildCancelled()) fail(ErrorKind::kBuild, e.what());
              logf(loggerOf(b.logger), Severity::kERROR, str("is_network_supported: ", e.what()));
              return false;
            }
          },
          py::arg("network"), py::arg("config"),
          "Whether build_serialized_network would succeed with this config, found by running "
          "that build and discarding the engine: as costly as a build, with its effects (an "
          "INT8 calibrator is read, a set timing cache gains the timings, a progress monitor "
          "is told). False logs the reason as an ERROR; a build stopped by the calibrator or "
          "progress monitor (an exception, a cancel) raises clrt.BuildError instead.")
      .def_property(
          "max_threads", [](const Builder& b) { return b.max_threads; },
          [](Builder& b, int32_t n) {
            CLRT_CHECK(n >= 1, kValue, "Builder.max_threads: ", n, " must be >= 1");
            b.max_threads = n;
          },
          "The most threads the builder may use (TensorRT: a limit, default 1). Stored only: "
          "clrt's builder runs on the calling thread whatever the value, so it changes nothing.")
      .def(
          "reset", [](Builder& b) { b.max_threads = 1; },
          "Restores the builder's settings to their defaults (max_threads, its only one; "
          "networks and configs it created are not touched).")
      .def_property_readonly("platform_has_fast_fp16",
                             [](Builder& b) { return b.impl().platformHasFastFp16(); })
      .def_property_readonly("platform_has_fast_int8",
                             [](Builder& b) { return b.impl().platformHasFastInt8(); })
      .def_property_readonly("platform_has_tf32",
                             [](Builder& b) { return b.impl().platformHasTf32(); })
      .def_property_readonly("num_DLA_cores", [](const Builder&) { return 0; })
      .def("__enter__", [](const py::object& self) { return self; })
      .def("__exit__", [](const py::object&, const py::args&) { return false; });
}

}  // namespace

void bindTimingCache(py::module_& m) {
  py::class_<TimingCacheHandle>(m, "ITimingCache",
                                "Tactic timings per layer signature, reused across builds.")
      .def(
          "serialize",
          [](const TimingCacheHandle& t) {
            HostMemory h;
            h.bytes = t.c->serialize();
            return h;
          },
          "The cache as IHostMemory (write it to a file; create_timing_cache reads it back).")
      .def(
          "combine",
          [](TimingCacheHandle& t, const TimingCacheHandle& other, bool ignoreMismatch) {
            return t.c->combine(*other.c, ignoreMismatch);
          },
          py::arg("input_cache"), py::arg("ignore_mismatch"),
          "Adds the other cache's entries; False when it is for another device or clrt version.")
      .def("reset", [](TimingCacheHandle& t) { return t.c->reset(), true; })
      .def_property_readonly(
          "num_entries", [](const TimingCacheHandle& t) { return t.c->size(); },
          "clrt's own: the number of (layer signature, tactic) timings held.")
      .def_property_readonly(
          "num_programs", [](const TimingCacheHandle& t) { return t.c->programCount(); },
          "clrt's own: the compiled OpenCL programs held (those of the engines built with it), "
          "which a build on the same device and driver loads instead of compiling.")
      .def_property_readonly(
          "device", [](const TimingCacheHandle& t) { return t.c->device(); },
          "clrt's own: the device and clrt version the timings were measured with.")
      .def("__repr__", [](const TimingCacheHandle& t) {
        return str("<clrt.ITimingCache: ", t.c->size(), " timings>");
      });
}

void bind_builder(py::module_& m) {
  bindEnums(m);
  bindBuilderSettingEnums(m);
  bindTimingCache(m);
  bindHostMemoryAndProfile(m);
  bindConfig(m);
  bindBuilder(m);
}

}  // namespace clrt::python
