// The builder: network + config -> optimized, tactic-timed EngineDesc (and plan bytes).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "clrt/builder/progress.h"
#include "clrt/builder/timing_cache.h"
#include "clrt/core/logger.h"
#include "clrt/ir/network.h"
#include "clrt/ocl/device.h"
#include "clrt/plan/engine_desc.h"
#include "clrt/quant/calibrator.h"

namespace clrt::builder {

// TensorRT's BuilderFlag numbering.
enum class BuilderFlag : int32_t {
  kFP16 = 0,
  kINT8 = 1,
  kDEBUG = 2,
  kGPU_FALLBACK = 3,
  kREFIT = 5,
  kDISABLE_TIMING_CACHE = 6,
  kTF32 = 7,
  kSPARSE_WEIGHTS = 8,
  kSAFETY_SCOPE = 9,
  kOBEY_PRECISION_CONSTRAINTS = 10,
  kPREFER_PRECISION_CONSTRAINTS = 11,
  kDIRECT_IO = 12,
  kREJECT_EMPTY_ALGORITHMS = 13,
  kVERSION_COMPATIBLE = 14,
  kEXCLUDE_LEAN_RUNTIME = 15,
  kFP8 = 16,
  kERROR_ON_TIMING_CACHE_MISS = 17,
  kBF16 = 18,
  kDISABLE_COMPILATION_CACHE = 19,
  kSTRIP_PLAN = 20,
  kREFIT_IDENTICAL = 21,
  kWEIGHT_STREAMING = 22,
  kINT4 = 23,
  // Later TensorRT 10 flags (clrt's own numbering continues). REFIT_INDIVIDUAL: refittable as
  // REFIT. STRICT_NANS: clrt's graph passes simplify no arithmetic (no 0*x = 0, x-x = 0, x/x =
  // 1), so NaNs propagate either way. MONITOR_MEMORY: accepted (nothing to monitor).
  // EDITABLE_TIMING_CACHE: clrt's timing cache always decides a tactic it holds a timing for.
  kREFIT_INDIVIDUAL = 24,
  kSTRICT_NANS = 25,
  kMONITOR_MEMORY = 26,
  kEDITABLE_TIMING_CACHE = 27,
};

// What INT8 calibration found, per tensor (BuilderConfig::calibration_record; the Python
// calibration report).
struct TensorCalibration {
  std::string name;
  float absmax = 0.0f;         // max |x| over the calibration data (0 when not run)
  std::vector<uint64_t> hist;  // |x| counts in 2048 equal bins over [0, absmax]; may be empty
  float threshold = 0.0f;      // the calibrator algorithm's range
  float amax = 0.0f;           // the range the build uses
  std::string chosen_by;  // the algorithm's cache name, "refinement", "cache" or "dynamic_range"
  // Range refinement's candidates (KL first) and the network output error each gave; a
  // candidate dropped early has complete false and a lower bound as its error.
  std::vector<float> trial_amax;
  std::vector<double> trial_error;
  std::vector<uint8_t> trial_complete;
};
struct CalibrationRecord {
  std::string algorithm;  // the cache header's word (EntropyCalibration2, ...)
  int batches = 0, batch_size = 0;
  bool from_cache = false;
  double refine_seconds = 0.0, refine_passes = 0.0;
  std::vector<TensorCalibration> tensors;
};

struct BuilderConfig {
  // bit i = BuilderFlag i; TF32 is on by default, as in TensorRT (FP32 layers may then take
  // TF32 tensor-core tactics; clear_flag(TF32) keeps their products FP32).
  uint64_t flags = uint64_t{1} << static_cast<int>(BuilderFlag::kTF32);
  uint64_t workspace_limit = std::numeric_limits<uint64_t>::max();
  int optimization_level = 3;  // 0: no timing, take each kind's preferred tactic
  std::vector<plan::Profile> profiles;
  // set_calibration_profile: when set, calibration batches take every dynamic dim from its opt
  // shapes (TensorRT's rule) instead of the batch size and the first profile.
  std::optional<plan::Profile> calibration_profile;
  // INT8: the calibrator (not owned; may be null: ranges then come from the network's tensors'
  // dynamic ranges or Q/DQ scales).
  quant::CalibratorSource* calibrator = nullptr;
  // Entropy calibration: let the network's output error pick each tensor's range among the KL
  // threshold, the 99.99th percentile and the max (calibration.cc, refineRanges). clrt's own.
  bool refine_int8_ranges = true;
  // Filled by the build's calibration when set (shared with the caller).
  std::shared_ptr<CalibrationRecord> calibration_record;
  int32_t profiling_verbosity = 0;  // ProfilingVerbosity, kept in the engine for the inspector
  std::string network_name;         // kept in the engine (ICudaEngine.name)
  // Timings of earlier builds to reuse (set_timing_cache); null: each build keeps its own, so
  // identical layers are still timed once. DISABLE_TIMING_CACHE ignores this one.
  std::shared_ptr<TimingCache> timing_cache;
  // config.progress_monitor (not owned; may be null): told of each phase and step of the build.
  ProgressMonitor* progress = nullptr;
  // Tactic allow/deny patterns (tactics/tactic_filter.h); empty: the CLRT_TACTICS variable.
  std::string tactic_filter;
  bool getFlag(BuilderFlag f) const { return (flags >> static_cast<int>(f)) & 1u; }
  void setFlag(BuilderFlag f, bool on) {
    const uint64_t bit = uint64_t{1} << static_cast<int>(f);
    flags = on ? (flags | bit) : (flags & ~bit);
  }
};

// What a timing cache's timings are valid for: the device's fingerprint and clrt's version.
std::string timingCacheDevice(const ocl::DeviceInfo& d);

// Refit (TensorRT's IRefitter): `desc` (a refittable engine) with the weights that replaying its
// graph passes over `source` (its refit_source with new weights) gives each of its layers. The
// tactics, precisions, INT8 ranges and programs stay. Throws kValue naming the layer when the new
// weights change the optimized graph (a layer appears, goes, or changes its weights' shapes).
plan::EngineDesc refitDesc(const plan::EngineDesc& desc, ir::Network source, ILogger* logger);
// The weights of `parsed` (the engine's ONNX model parsed again with new initializer values)
// into the engine's refit source, layer by layer name; kValue when a layer or its weights do not
// match (another model).
void takeWeights(ir::Network& source, const ir::Network& parsed);

class Builder {
 public:
  Builder(ILogger* logger, std::shared_ptr<ocl::Device> dev)
      : logger_(logger), dev_(std::move(dev)) {}
  // Throws Error(kBuild) naming the layer/tensor on any failure (missing profile for a dynamic
  // input, no tactic fits the workspace limit, no outputs, ...).
  plan::EngineDesc build(const ir::Network& network, const BuilderConfig& config);
  std::vector<uint8_t> buildSerialized(const ir::Network& network, const BuilderConfig& config);
  bool platformHasFastFp16() const;
  bool platformHasFastInt8() const;
  bool platformHasTf32() const;  // TF32 tensor-core tactics can run here (sm_80 or later)
  std::shared_ptr<ocl::Device> device() const { return dev_; }

 private:
  ILogger* logger_;
  std::shared_ptr<ocl::Device> dev_;
};

}  // namespace clrt::builder
