// Tactics: implementations of a layer kind on a device, chosen by timing on the real shapes.
// Adding a faster kernel touches only its tactic file and its .cl file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "clrt/core/types.h"
#include "clrt/ir/network.h"
#include "clrt/ir/shape_inference.h"
#include "clrt/ocl/device.h"

namespace clrt::tactics {

// A tensor in device memory. `buf` is a whole buffer or a sub-buffer; data starts at offset 0,
// dense row-major, `dims` fully known at enqueue time.
struct DeviceTensor {
  cl_mem buf = nullptr;  // null for an absent optional input
  Dims dims;
  DataType dtype = DataType::kFLOAT;
  // kHWC: the elements lie channels last (ir::TensorFormat); only tactics that declare they
  // read/write it (Tactic::channelsLast) ever see such a tensor.
  ir::TensorFormat format = ir::TensorFormat::kLINEAR;
};

struct ExecArgs {
  cl_command_queue queue = nullptr;
  std::vector<DeviceTensor> inputs;             // one per layer input (buf null if absent)
  std::vector<const HostTensor*> input_values;  // host-known value of each input, else null
  std::vector<DeviceTensor> outputs;
  cl_mem workspace = nullptr;  // at least workspaceSize() bytes, may be null when 0
  // The run's error record (tactics/run_errors.h) and this layer's index in the network; the
  // record is set whenever some kernel of the engine reportsRunErrors().
  cl_mem errors = nullptr;
  int layer = -1;
  // Set by the execution context for a data-dependent kernel (Kernel::dataDependent): it gets
  // the dims the outputs actually have. `outputs` carry the dims the buffers were sized for
  // (an upper bound); null when the caller does not need them (tactic timing).
  std::vector<Dims>* actual_dims = nullptr;
};

// A tactic instantiated for one layer on one device. Owns its device weights and cl_kernels.
// enqueue() must not block; it only enqueues on args.queue. It must work for every input
// shape the layer can see at runtime (shapes arrive in ExecArgs), not only the build shapes.
class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual size_t workspaceSize(const std::vector<Dims>& inputDims,
                               const std::vector<Dims>& outputDims) const {
    (void)inputDims;
    (void)outputDims;
    return 0;
  }
  // workspaceSize for layer l (the layer this kernel was instantiated for) where the network's
  // tensors have dims `tensorDims` (a missing optional input: empty dims).
  size_t workspaceAt(const ir::Layer& l, const std::vector<Dims>& tensorDims) const {
    std::vector<Dims> in, out;
    for (int t : l.inputs) in.push_back(t >= 0 ? tensorDims[t] : Dims{});
    for (int t : l.outputs) out.push_back(tensorDims[t]);
    return workspaceSize(in, out);
  }
  virtual void enqueue(const ExecArgs& args) = 0;
  // Whether enqueue() may write args.errors (a check only the device can make, on values it
  // computes); the context then clears and reads the record around each run.
  virtual bool reportsRunErrors() const { return false; }
  // Whether enqueue() computes output sizes from the values (NON_ZERO, NMS, UNIQUE): it then
  // waits for the queue, computes, writes the outputs and reports their dims (actual_dims).
  virtual bool dataDependent() const { return false; }
};

class Tactic {
 public:
  virtual ~Tactic() = default;
  // Unique and stable: it is stored in engine files ("conv.direct", "conv.im2col_clblast").
  virtual std::string name() const = 0;
  virtual ir::LayerKind kind() const = 0;
  // Whether this tactic can run `layer` for inputs like these (dims may hold -1 for dynamic
  // dims; values are set for host-known inputs) on `dev`.
  virtual bool eligible(const ir::Layer& layer, const std::vector<ir::TensorInfo>& inputs,
                        const ocl::DeviceInfo& dev) const = 0;
  // Uploads weights, creates kernels. Programs come from dev.program()/dev.kernel().
  virtual std::unique_ptr<Kernel> instantiate(const ir::Layer& layer, ocl::Device& dev) const = 0;
  // Order among eligible tactics when the builder does not time them (lower = preferred).
  virtual int priority() const { return 0; }
  // The same order on `dev`: where a family's best untimed choice depends on the kind of device.
  virtual int untimedPriority(const ocl::DeviceInfo& dev) const {
    (void)dev;
    return priority();
  }
  // False where the tactic runs correctly but is never the fastest on `dev` (the builder then
  // offers it a layer only when the tactic filter names it: tests still run it there).
  virtual bool worthOffering(const ocl::DeviceInfo& dev) const {
    (void)dev;
    return true;
  }
  // The layer precisions (attrs "precision", see ir/network.h) this tactic implements. The
  // builder only offers a layer to tactics listing its precision; eligible() still checks the
  // input dtypes and the other attrs.
  virtual std::vector<DataType> precisions() const { return {DataType::kFLOAT}; }
  // True for an FP32 tactic that multiplies with TF32's 10-bit mantissa (tensor cores): the
  // builder offers it FP32 layers only while BuilderFlag::kTF32 is set.
  virtual bool tf32() const { return false; }
  // True for a block-tile variant of a family whose default tile is another tactic
  // (conv.tc_fp16_64x64 beside conv.tc_fp16): each is its own program to compile. Where the
  // builder times a precision only to weigh it against a narrower one (FP32 beside FP16, at
  // builder_optimization_level 3 or less), it times the default tile alone.
  virtual bool tileVariant() const { return false; }
  // True for a tactic whose FP16/FP32 layers may write an INT8 output at its out_scales (the
  // builder narrows a precision boundary, builder/precision.cc narrowOutput): the builder offers
  // such a layer to these tactics only, as the others write their precision's own type.
  virtual bool quantizesOutput() const { return false; }
  // Whether the tactic's kernels for `layer` can read input `i` (i >= 0) or write output -1 - i
  // (i < 0) stored channels last (TensorFormat kHWC): the builder gives a tensor that format
  // when its producer and every consumer can (builder/layouts.cc) and records it in the layer's
  // attrs (channelsLastIn/Out below), which instantiate() reads.
  virtual bool channelsLast(const ir::Layer& layer, int i) const {
    (void)layer;
    (void)i;
    return false;
  }
};

// The layer attrs that say which of a layer's inputs and outputs are stored channels last
// (bit i of "hwc_inputs" / "hwc_outputs"), set by the builder's layout choice.
bool channelsLastIn(const ir::Layer& l, size_t i);
bool channelsLastOut(const ir::Layer& l, size_t i);
// `h` as read from a device tensor of format `f` (dims logical), in row-major order: a kHWC
// tensor's elements moved from [N][H][W][C] to [N][C][H][W] (rank 3: [N][W][C] to [N][C][W]).
// What anything that looks at an intermediate tensor's values by position reads them through.
HostTensor linearized(HostTensor h, ir::TensorFormat f);
// The inverse: row-major `h` laid out as a device tensor of format `f` stores it (what a
// channels-last network input is fed).
HostTensor formatted(HostTensor h, ir::TensorFormat f);

// A tactic of a family told apart by a variant code (the conv families): each registration gives
// its name, its variant and its priority.
template <ir::LayerKind K, typename V>
class VariantTactic : public Tactic {
 public:
  VariantTactic(const char* name, V v, int prio) : name_(name), v_(v), prio_(prio) {}
  std::string name() const override { return name_; }
  ir::LayerKind kind() const override { return K; }
  int priority() const override { return prio_; }

 protected:
  const char* name_;
  V v_;
  int prio_;
};

// Readers of the precision contract attrs (ir/network.h), with their FP32 defaults.
DataType layerPrecision(const ir::Layer& l);
DataType inputDtype(const ir::Layer& l, size_t i, DataType def = DataType::kFLOAT);
DataType outputDtype(const ir::Layer& l, size_t i, DataType def = DataType::kFLOAT);
float inputScale(const ir::Layer& l, size_t i);   // 0 when absent
float outputScale(const ir::Layer& l, size_t i);  // 0 when absent

void registerTactic(std::unique_ptr<Tactic> t);
// A tactic that registers itself from its own file, with nothing to add anywhere else:
//   const TacticRegistrar kReg([]() -> std::unique_ptr<Tactic> { return std::make_unique<My>(); });
// at namespace scope. The registry creates these after the built-in families, in name order
// (clrt_core is an object library, so such a file is linked although nothing refers to it).
struct TacticRegistrar {
  explicit TacticRegistrar(std::unique_ptr<Tactic> (*make)());
};
// Eligible-or-not tactics of a kind, in priority order. Registers the built-ins on first use.
std::vector<const Tactic*> tacticsFor(ir::LayerKind kind);
const Tactic* findTactic(const std::string& name);  // nullptr if unknown
std::vector<const Tactic*> allTactics();            // every kind, in registration order

// Built-in tactic families, one per tactics/<family>.cc; called once by the registry.
void registerConvolutionTactics();  // tactics/convolution.cc
void registerMatMulTactics();       // tactics/matmul.cc
void registerPoolingTactics();      // tactics/pooling.cc
void registerPointwiseTactics();    // tactics/pointwise.cc: ACTIVATION, UNARY, ELEMENTWISE, SCALE,
                                    // CAST, IDENTITY, WHERE
void registerNormalizationTactics();  // tactics/normalization.cc: SOFTMAX, LOG_SOFTMAX,
                                      // NORMALIZATION, REDUCE
void registerMovementTactics();       // tactics/movement.cc: SHUFFLE, RESHAPE, TRANSPOSE, FLATTEN,
                                      // SQUEEZE, UNSQUEEZE, CONCATENATION, SLICE, GATHER, SPLIT,
                                      // EXPAND, CONSTANT (device copy of a value)
void registerInt8Tactics();           // tactics/int8_*.cc: INT8 CONVOLUTION, MATRIX_MULTIPLY,
                                      // POOLING, ELEMENTWISE (SUM), CONCATENATION
void registerReformatTactics();       // tactics/reformat.cc: REFORMAT
void registerQdqTactics();            // tactics/quantize_linear.cc: QUANTIZE, DEQUANTIZE
void registerTensorCoreTactics();     // tactics/tensorcore.cc: NVIDIA mma.sync FP16/INT8 kernels
void registerResizeTactics();         // tactics/resize.cc: RESIZE, PADDING
void registerWindow3dTactics();       // tactics/window3d.cc: 3-D CONVOLUTION, DECONVOLUTION
void registerScatterTactics();        // tactics/scatter.cc: SCATTER, GATHER (mode ND)
void registerSamplingTactics();       // tactics/sampling.cc: GRID_SAMPLE, ROI_ALIGN
void registerScanTactics();           // tactics/scan.cc: CUMULATIVE, TOPK
void registerDataDependentTactics();  // tactics/data_dependent.cc: NON_ZERO, NMS, UNIQUE (host)

// Helpers shared by tactics.
cl_mem uploadWeights(ocl::Device& dev, const HostTensor& t);  // float32 copy on the device
inline size_t gsize(int64_t n) { return static_cast<size_t>(n < 1 ? 1 : n); }

}  // namespace clrt::tactics
