// The builder's stages, shared by its files: placement, tactic choice by timing, precision
// assignment (with REFORMAT insertion), calibration and the final assembly of an EngineDesc.
#pragma once

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "clrt/builder/builder.h"
#include "clrt/runtime/shape_resolver.h"
#include "clrt/tactics/tactic.h"

namespace clrt::builder::detail {

// Layers reordered into execution (topological) order, ids renumbered.
ir::Network inExecutionOrder(const ir::Network& net);

// The network with its placement and the shapes at every profile's opt and max corners.
struct Shaped {
  ir::Network net;
  std::vector<uint8_t> on_host;
  std::vector<runtime::ResolvedShapes> opt, max;  // per profile (one when there are none)
  std::vector<bool> fp16_unsafe;  // per tensor: values beyond FP16's range on build-time data
};
Shaped shape(ir::Network net, const std::vector<runtime::Profile>& profiles);

// A tactic chosen for one device layer as it is attributed now (attrs + the tensors' dtypes in
// the network). `tactic` is null when none is eligible; `why` then says what was rejected.
struct Choice {
  const tactics::Tactic* tactic = nullptr;
  uint64_t workspace = 0;
  double ms = -1.0;  // measured time at the opt shapes, -1 when not timed
  std::string why;
};
struct TimingEnv {
  ocl::Device& dev;
  const BuilderConfig& config;
  ILogger* logger;
  std::mt19937 rng{1234};
  bool time = true;          // false: take the preferred eligible tactic
  bool time_single = false;  // time a lone candidate too (to compare precisions)
};
// `inDt`/`outDt`: the storage dtype of each input/output for this choice (the network's
// tensors may still hold other dtypes while precisions are being decided).
Choice chooseTactic(const Shaped& s, int li, const std::vector<DataType>& inDt,
                    const std::vector<DataType>& outDt, TimingEnv& env);

// Kinds that move data without arithmetic: they run in whatever dtype their data input has,
// and an INT8 output keeps the input's scale.
bool isPassthrough(ir::LayerKind k);
// Layers whose inputs at these positions are data (subject to precision); shape/index inputs
// keep their dtype.
bool isDataInput(const ir::Layer& l, size_t input, const ir::Network& net);

// Decides every device layer's precision (flags, constraints, scales, timing), writes the
// precision attrs, sets the tensors' storage dtypes and inserts REFORMAT layers. `amax` holds
// the INT8 ranges per tensor id; s.fp16_unsafe the tensors whose values overflow FP16.
void assignPrecisions(Shaped& s, const std::map<int, float>& amax, TimingEnv& env);

// Per-tensor ranges for INT8: the calibrator's (cache or a calibration run over `s.net` in
// FP32), overridden by the tensors' own dynamic ranges. Returns amax per tensor id; fills
// `absmax` (plain max |x| seen, for the FP16 overflow check) when data was run.
std::map<int, float> calibrate(const Shaped& s, const ir::Network& original,
                               const BuilderConfig& config, std::shared_ptr<ocl::Device> dev,
                               ILogger* logger, std::map<int, float>* absmax);
// max |x| per device float tensor over one run of uniform [-1, 1] inputs at the opt shapes
// (the FP16 overflow check when no calibration data is given).
std::map<int, float> probeAbsMax(const Shaped& s, std::shared_ptr<ocl::Device> dev,
                                 ILogger* logger);

// Tactics for every device layer (timed when the optimization level allows), memory plan,
// program binaries: the EngineDesc.
runtime::EngineDesc assemble(Shaped s, const BuilderConfig& config,
                             std::shared_ptr<ocl::Device> dev, ILogger* logger);

}  // namespace clrt::builder::detail
