// The builder's stages, shared by its files: placement, tactic choice by timing, precision
// assignment (with REFORMAT insertion), calibration and the final assembly of an EngineDesc.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "clrt/builder/builder.h"
#include "clrt/runtime/shape_resolver.h"
#include "clrt/tactics/tactic.h"
#include "clrt/tactics/tactic_filter.h"

namespace clrt::runtime {
class Engine;
}

namespace clrt::builder::detail {

// Layers reordered into execution (topological) order, ids renumbered.
ir::Network inExecutionOrder(const ir::Network& net);

// The network with its placement and the shapes at every profile's opt and max corners.
struct Shaped {
  ir::Network net;
  std::vector<uint8_t> on_host;
  std::vector<runtime::ResolvedShapes> opt, max;  // per profile (one when there are none)
  std::vector<bool> fp16_unsafe;  // per tensor: values beyond FP16's range on build-time data
  std::vector<bool> fp16_lossy;   // per tensor: FP16 storage made a layer's error out of
                                  // proportion (guardFp16); empty when none
};
Shaped shape(ir::Network net, const std::vector<plan::Profile>& profiles);

// A tactic chosen for one device layer as it is attributed now (attrs + the tensors' dtypes in
// the network). `tactic` is null when none is eligible; `why` then says what was rejected.
struct Choice {
  const tactics::Tactic* tactic = nullptr;
  uint64_t workspace = 0;
  double ms = -1.0;  // measured time at the opt shapes, -1 when not timed
  std::string why;
};
// What a REFORMAT costs on a device: fixed_ms (launch and a small kernel's latency) plus
// ms_per_byte for each byte read and written.
struct ReformatCost {
  double fixed_ms = 0, ms_per_byte = 0;
  double ms(int64_t elems, DataType from, DataType to) const {
    return fixed_ms + ms_per_byte * static_cast<double>(elems) *
                          static_cast<double>(dtypeSize(from) + dtypeSize(to));
  }
};

// Where a build's tactic selection spends its time, for Builder::build's report: tactic
// timings taken and answered by the timing cache, and seconds making candidates' kernels
// (programs, weights), filling timing buffers and timing. This thread's (a build runs on one
// thread); Builder::build resets it.
struct BuildStats {
  int timed = 0, cached = 0;
  double instantiate_s = 0, buffers_s = 0, timing_s = 0, ahead_s = 0;
};
BuildStats& buildStats();

struct TimingEnv {
  ocl::Device& dev;
  const BuilderConfig& config;
  ILogger* logger;
  std::mt19937 rng{1234};
  bool time = true;          // false: take the preferred eligible tactic
  bool time_single = false;  // time a lone candidate too (to compare precisions)
  // Time each tactic family's default tile only (Tactic::tileVariant): the precision is timed
  // just to weigh it against a narrower one that the build also allows (FP32 beside FP16).
  bool default_tiles = false;
  int timed = 0, reused = 0;  // tactic measurements taken / answered by config.timing_cache
  std::optional<ReformatCost> reformat = std::nullopt;  // reformatCost's measurement, once made
  // Timing inputs: one device buffer of random values per dtype, grown to the largest input
  // timed so far and read by every layer's timing (tactic_select.cc noiseBuffer). Filling each
  // layer's inputs on the host and uploading them took 11.8 s of ResNet-50's batch-64 build.
  struct Noise {
    ocl::MemHandle buf;
    size_t bytes = 0;
  };
  std::map<DataType, Noise> noise = {};
  tactics::TacticFilter filter = tactics::TacticFilter::fromConfigOrEnv(config.tactic_filter);
  // The programs of every tactic chooseTactic chose (for any precision tried): what a build
  // from a warm timing cache instantiates, so the cache keeps their binaries.
  std::set<std::string> chosen_programs = {};
};
// `inDt`/`outDt`: the storage dtype of each input/output for this choice (the network's
// tensors may still hold other dtypes while precisions are being decided).
Choice chooseTactic(const Shaped& s, int li, const std::vector<DataType>& inDt,
                    const std::vector<DataType>& outDt, TimingEnv& env);

// One choice chooseTactic will be asked for, known before it is: layer `li` as it will be then
// (`layer`: its precision attrs set) with these dtypes, under these TimingEnv settings.
struct AheadChoice {
  int li = 0;
  ir::Layer layer;
  std::vector<DataType> inDt, outDt;
  bool time = true, time_single = false, default_tiles = false;
};
// Instantiates, on several threads at once, what chooseTactic will instantiate for each choice
// (every eligible candidate of a timed choice the timing cache cannot answer, else the one it
// would pick), the kernels then dropped: their programs are built by then, so the choices,
// made one after another, find them in the device's cache. Programs compile concurrently only
// where the device's compiler allows (PoCL threads; NVIDIA's driver builds one at a time per
// process, so there through compile worker processes). Choices with identical signatures count
// once. Errors are left for the choice itself to meet and report. CLRT_BUILD_THREADS=0: none.
void compileAhead(const Shaped& s, const std::vector<AheadChoice>& choices, TimingEnv& env);

// What a REFORMAT costs on env.dev: reformat.convert FLOAT -> HALF timed on 256K and 8M
// elements (once per device and process), the difference giving the cost per byte and the
// small one the fixed cost. What a precision choice that puts a layer in another type than its
// producer or consumers adds (builder/precision.cc).
ReformatCost reformatCost(TimingEnv& env);

// The precision choice as a whole network (builder/precision_refine.cc): each layer's own
// time in each precision it was timed in, and the stored tensors between layers, whose
// reformats a choice implies.
struct PrecisionProblem {
  struct Layer {
    std::map<DataType, double> ms;     // timed precisions -> the layer's time; fewer than 2: fixed
    DataType prec = DataType::kFLOAT;  // the choice to start from
  };
  // One stored tensor (with the passthrough layers that reshape or slice it): who writes it,
  // who reads it.
  struct Tensor {
    int64_t elems = 0;
    int producer = -1;  // index into layers; -1: stored as `src`
    DataType src = DataType::kFLOAT;
    bool int8_ok = true;          // has an INT8 range (else an INT8 producer writes FLOAT)
    bool keep_int8 = false;       // an explicit quantization point: INT8 whoever reads it
    std::vector<int> consumers;   // layers reading it as data
    std::vector<DataType> fixed;  // what its other readers take (network output, other kinds)
  };
  std::vector<Layer> layers;
  std::vector<Tensor> tensors;
};
// The estimate the choice minimises: the movable layers' times plus every reformat the choice
// implies (an INT8 producer whose readers do not all take INT8 writes FLOAT, as chooseDtypes
// stores it, which costs its 3 extra bytes an element).
double precisionCost(const PrecisionProblem& p, const std::vector<DataType>& prec,
                     const ReformatCost& cost);
// From each layer's starting precision, moves a layer, or the connected layers sharing its
// precision that can all take the other one, to another timed precision while the estimate
// falls (the greedy choice, made in execution order, counts only its inputs' reformats: a
// chain that started in FP16 stays there even where INT8 with one reformat is faster). Returns
// the precisions; `moves` (optional) receives one line per accepted move.
std::vector<DataType> refinePrecisions(const PrecisionProblem& p, const ReformatCost& cost,
                                       std::vector<std::string>* moves = nullptr);

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
// Float tensors the device writes (or the user feeds): the ones that get INT8 ranges and the
// FP16 overflow check.
std::vector<int> rangeTargets(const Shaped& s);
// An FP32 engine of `s` at exactly these input shapes (calibration, the FP16 check).
std::shared_ptr<runtime::Engine> statsEngine(const Shaped& s, const std::map<int, Dims>& shapes,
                                             std::shared_ptr<ocl::Device> dev, ILogger* logger);

// The FP16 check (builder/fp16_guard.cc). The build-time data: one batch at the first profile's
// opt shapes, floats uniform in [-1, 1], integer inputs that index a Gather uniform over the
// gathered axis (other integers 0), and every device float tensor's value in FP32 on it: its
// leading rows of the outermost dimension, about 256K values (fp16_guard.cc sampleDims).
struct Fp32Reference {
  std::map<std::string, HostTensor> batch;
  std::map<std::string, std::vector<float>> values;  // by tensor name, sampled
};
// Runs `s` in FP32 on the build-time data; fills `absmax` (max |x| per rangeTargets tensor over
// all of it, taken on the device: the FP16 overflow check) when it is not null.
Fp32Reference fp32Reference(const Shaped& s, std::shared_ptr<ocl::Device> dev, ILogger* logger,
                            std::map<int, float>* absmax);
// Runs the FP16 engine `desc` on the reference's data and compares every FP16 layer's outputs
// with FP32. A layer whose error is out of proportion to its inputs' is kept in FP32 (with a
// WARNING naming it and the error): its data tensors are marked in `pre` (the network before
// precision assignment) and precisions and tactics are assigned again. Warns when a network
// output's cosine to FP32 stays below 0.99. Returns the engine to ship.
// The FP16 check's fallback, when a network output is far from FP32 and no layer's error is out
// of proportion: of the FP16 layers' (own error, inputs' error) pairs, the index of the one whose
// error grew most, the inputs' error floored at FP16's own rounding (2^-11). Without the floor a
// layer reading exact inputs (the first convolution) always "grew" most from its storage rounding
// alone (ResNet-50: /conv1/Conv kept FP32 at 2.1e-4).
size_t fallbackLayer(const std::vector<std::pair<double, double>>& err_in);

plan::EngineDesc guardFp16(plan::EngineDesc desc, const Shaped& pre,
                           const std::map<int, float>& amax, const Fp32Reference& ref,
                           const BuilderConfig& config, std::shared_ptr<ocl::Device> dev,
                           ILogger* logger);

// Memory formats (builder/layouts.cc): on GPUs (`gpu`; CLRT_CHANNELS_LAST overrides) every
// tensor whose producer and readers all have tactics that take it channels last becomes
// TensorFormat::kHWC, and the layers' hwc_inputs / hwc_outputs attrs say so; all others kLINEAR
// (network I/O whose allowed_formats ask for HWC on any device). Returns how many are kHWC.
int chooseLayouts(ir::Network& net, const std::vector<uint8_t>& on_host,
                  const std::vector<std::string>& tacticNames, bool gpu, ILogger* logger);
// After chooseLayouts: a channels-last network input or output whose neighbour reads or writes
// it channels last in its own dtype needs no REFORMAT (assignPrecisions put one beside it, the
// layout not yet known): the neighbour takes the network tensor itself and the REFORMAT goes,
// with its entries of on_host and tactics (the network compacted). Returns how many went.
int dropIdentityIoReformats(ir::Network& net, std::vector<uint8_t>& on_host,
                            std::vector<std::string>& tactics);
// Layer `l` of `net` as tactic `tac` would run it if every tensor of it that can be stored channels
// last were (the tactic takes that slot HWC; the tensor has rank 3 or 4, a device producer and
// is no network input or output): what tactic choice instantiates and times, so that a tactic
// is timed in the layout it will most likely run in (chooseLayouts decides once all tactics are
// known). nullopt when that is no tensor and the layer has no hwc attrs: the layer as it is.
std::optional<ir::Layer> timedLayout(const ir::Network& net, const std::vector<uint8_t>& on_host,
                                     const ir::Layer& l, const tactics::Tactic& tac, bool gpu);

// Tactics for every device layer (timed when the optimization level allows), memory plan,
// program binaries: the EngineDesc.
plan::EngineDesc assemble(Shaped s, const BuilderConfig& config, std::shared_ptr<ocl::Device> dev,
                          ILogger* logger);

}  // namespace clrt::builder::detail
