// Internal declarations shared by the pybind11 binding files of clrt._clrt.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "clrt/builder/progress.h"
#include "clrt/core/error.h"
#include "clrt/core/logger.h"
#include "clrt/core/types.h"
#include "clrt/ir/network.h"
#include "clrt/quant/calibrator.h"

namespace clrt::runtime {
class Engine;
struct HostOutput;
}  // namespace clrt::runtime

namespace clrt::python {

namespace py = pybind11;

// One per area; module.cc calls them in this order (later areas use earlier classes).
void bind_core(py::module_& m);
void bind_network(py::module_& m);
void bind_layers(py::module_& m);  // typed layer classes; called by bind_network
void bind_parser(py::module_& m);
void bind_builder(py::module_& m);
void bind_engine(py::module_& m);
void bind_memory(py::module_& m);
void bind_calibrator(py::module_& m);  // IInt8*Calibrator classes (trampolines)
// The builder's view of a Python IInt8Calibrator (bind_calibrator.cc); throws kValue naming the
// type when `calibrator` is not one. Its calls take the GIL themselves.
std::unique_ptr<quant::CalibratorSource> makeCalibratorSource(const py::object& calibrator);
// The Python exception a calibrator method raised during the last build (None if none), cleared.
py::object takePendingCalibratorError();
// Keeps `exc` (raised by Python code the builder called: a calibrator or progress monitor
// method, a signal handler) as the one the build's error chains to. Needs the GIL.
void setPendingBuildError(py::object exc);
// Raises `e` to Python: clrt.BuildError chained (`raise ... from original`) to the pending
// calibrator exception when there is one (KeyboardInterrupt/SystemExit re-raised as they are),
// else `e` as its own kind. Needs the GIL.
[[noreturn]] void raiseChainedBuildError(const Error& e);
// IProgressMonitor (bind_progress.cc), and the builder's view of a Python one (None gives null):
// its calls take the GIL; an exception a method raises stops the build and is chained to it.
void bind_progress(py::module_& m);
std::unique_ptr<builder::ProgressMonitor> makeProgressMonitor(const py::object& monitor);
void bind_quant(py::module_& m);      // clrt._clrt._quant: calibration algorithms (for tests)
void bind_inspector(py::module_& m);  // IEngineInspector, LayerInformationFormat
// An IEngineInspector over `engine` (bind_inspector.cc).
py::object makeInspector(std::shared_ptr<runtime::Engine> engine);

// TensorFormat/TensorLocation, and the engine and ITensor queries with one answer on OpenCL
// (bind_compat.cc); after bind_engine.
void bind_compat(py::module_& m);
// The engine inside an ICudaEngine object (bind_engine.cc); TypeError for other objects.
std::shared_ptr<runtime::Engine> engineOf(const py::handle& engine);

// Emits a DeprecationWarning pointing at the caller (raises when warnings are errors).
void warnDeprecated(const std::string& msg);

// The C++ logger inside a Python logger object (None gives nullptr: WARNING+ to stderr).
// Objects that are not clrt.ILogger instances raise TypeError.
ILogger* loggerOf(const py::object& logger);

// --- Conversions -------------------------------------------------------------------------------

// Text from a model, an engine file or the core as a Python str: bytes that are not UTF-8 become
// \xNN escapes (errors='backslashreplace') instead of a UnicodeDecodeError.
py::str pyText(const std::string& s);

// A sequence of ints (tuple, list, numpy array) as Dims; ValueError naming `what` otherwise.
Dims toDims(const py::handle& obj, const std::string& what);
py::tuple toTuple(const std::vector<int64_t>& d);

py::dtype numpyDtype(DataType t);  // UnsupportedError for types NumPy lacks (FP8, BF16)
DataType dataTypeOf(const py::dtype& d, const std::string& what);
// np.asarray(obj, dt, order="C"): C-contiguous, keeping 0-d arrays 0-d.
py::array contiguous(const py::handle& obj, const py::dtype& dt);
// Any array-like (ndarray, clrt.Weights, list) as a dense HostTensor; None gives an empty one
// (dims {0}).
// float32: converted to FLOAT (weights of conv/matmul/scale); else the array's own dtype
// (float64 narrowed to FLOAT, as TensorRT has no double).
HostTensor toHostTensor(const py::handle& obj, const std::string& what, bool float32);
// The tensor as an ndarray that owns its bytes (moved, not copied).
py::array toArray(HostTensor t);
// A NumPy array over an infer() output's pooled block, which it keeps until the array goes.
py::array toArray(runtime::HostOutput o);
// A device pointer argument: an int, a NumPy integer, or an object with __index__/__int__
// (DeviceAllocation, pycuda's). ValueError naming `what` and the value for anything else
// (floats, negative numbers, None, strings).
uintptr_t devicePointer(const py::handle& obj, const std::string& what);

// A C-contiguous view of any buffer-protocol object, held while the GIL is released.
class BufferView {
 public:
  BufferView(const py::handle& obj, bool writable, const std::string& what);
  ~BufferView();
  BufferView(const BufferView&) = delete;
  BufferView& operator=(const BufferView&) = delete;
  void* data() const { return view_.buf; }
  size_t size() const { return static_cast<size_t>(view_.len); }

 private:
  Py_buffer view_{};
};

// IHostMemory: serialized engine bytes, exposed through the buffer protocol.
struct HostMemory {
  std::vector<uint8_t> bytes;
};

// An ICudaEngine object holding the engine and the logger it reports to (bind_engine.cc).
py::object wrapEngine(std::shared_ptr<runtime::Engine> engine, py::object logger, std::string name);

// --- Network handles ---------------------------------------------------------------------------

// INetworkDefinition's state. Layers and tensors are (network, index) handles into it, so they
// keep the network alive and stay valid as the network grows.
struct NetworkState {
  std::shared_ptr<ir::Network> net = std::make_shared<ir::Network>();
  std::string name = "Unnamed Network 0";
  uint32_t flags = 0;  // NetworkDefinitionCreationFlag bits
  // Layers that add_* built from several ir layers (network_add_composite.cc): the last one's id
  // -> the TensorRT LayerType name they stand for ("ONE_HOT"), so get_layer and add_* return
  // that layer's class.
  std::map<int, std::string> composites;
  // Loops and conditionals (add_loop, add_if_conditional; network_control_flow.cc): id -> name.
  std::map<int64_t, std::string> constructs;
};
using NetPtr = std::shared_ptr<NetworkState>;

struct TensorHandle {
  NetPtr state;
  int id = -1;
  ir::Network& net() const { return *state->net; }
  ir::Tensor& get() const;  // ValueError when the network no longer has this tensor
};

struct LayerHandle {
  NetPtr state;
  int id = -1;
  // As in TensorRT, where add_* returns the subclass and get_layer the base ILayer: `type` of an
  // activation/pooling layer from add_* is its ActivationType/PoolingType, from get_layer(i) the
  // LayerType (the object is still of the subclass, so its other properties are there).
  bool subtype = false;
  ir::Network& net() const { return *state->net; }
  ir::Layer& get() const;
};

// One C++ type per typed Python layer class (IConvolutionLayer, ...).
struct ConvolutionLayer : LayerHandle {};
struct DeconvolutionLayer : LayerHandle {};
struct ResizeLayer : LayerHandle {};
struct ActivationLayer : LayerHandle {};
struct ElementWiseLayer : LayerHandle {};
struct PoolingLayer : LayerHandle {};
struct MatrixMultiplyLayer : LayerHandle {};
struct SoftMaxLayer : LayerHandle {};
struct ConcatenationLayer : LayerHandle {};
struct ShuffleLayer : LayerHandle {};
struct ConstantLayer : LayerHandle {};
struct ScaleLayer : LayerHandle {};
struct UnaryLayer : LayerHandle {};
struct ReduceLayer : LayerHandle {};
struct SliceLayer : LayerHandle {};
struct GatherLayer : LayerHandle {};
struct TopKLayer : LayerHandle {};
struct SelectLayer : LayerHandle {};
struct PaddingLayer : LayerHandle {};
struct ShapeLayer : LayerHandle {};
struct NonZeroLayer : LayerHandle {};
struct GridSampleLayer : LayerHandle {};
struct QuantizeLayer : LayerHandle {};
struct DequantizeLayer : LayerHandle {};
struct ScatterLayer : LayerHandle {};
struct OneHotLayer : LayerHandle {};
struct NormalizationLayer : LayerHandle {};

// TensorRT enums bound in one file and read by layers of another (their values as TensorRT's).
enum class InterpolationMode : int32_t { kNEAREST = 0, kLINEAR, kCUBIC };  // bind_window_layers
enum class SampleMode : int32_t { kSTRICT_BOUNDS = 0, kWRAP, kCLAMP, kFILL, kREFLECT };  // add_more

// Layer classes and add_* calls of one area each, called by bind_layers / bindNetworkAdders.
void bindResize(py::module_& m);                                  // network_add_resize.cc
void bindResizeAdder(py::class_<NetworkState, NetPtr>& cls);      // network_add_resize.cc
void bindQuantLayers(py::module_& m);                             // network_add_quant.cc
void bindQuantAdders(py::class_<NetworkState, NetPtr>& cls);      // network_add_quant.cc
void bindCompositeLayers(py::module_& m);                         // network_add_composite.cc
void bindCompositeAdders(py::class_<NetworkState, NetPtr>& cls);  // network_add_composite.cc
// The class of a composite's last layer (network_add_composite.cc); None when `h` is not one.
py::object wrapComposite(const LayerHandle& h);
void bindControlFlowLayers(py::module_& m);                         // network_control_flow.cc
void bindControlFlowAdders(py::class_<NetworkState, NetPtr>& cls);  // network_control_flow.cc
// The class of a loop or conditional boundary layer; None when `h` is not one.
py::object wrapControlFlow(const LayerHandle& h);

py::object wrapTensor(const NetPtr& state, int id);  // None for -1 (absent optional input)
// The Python class of the layer's kind; `subtype` as in LayerHandle.
py::object wrapLayer(const NetPtr& state, int id, bool subtype = false);

// Checks that a tensor argument belongs to this network (ValueError naming `what` otherwise).
int tensorIn(const NetPtr& state, const TensorHandle& t, const std::string& what);

// INetworkDefinition.add_* helpers (network_add.cc). A new layer with `nOutputs` outputs, named as
// TensorRT names unnamed layers: "(Unnamed Layer* 3) [Convolution]"; its id in *id.
ir::Layer& newLayer(const NetPtr& s, ir::LayerKind kind, const char* cls,
                    const std::vector<int>& inputs, int* id, int nOutputs = 1);
// Infers the new layer (removing it again on failure) and returns its typed Python object.
py::object finish(const NetPtr& s, int id);

// --- Shape upkeep (network_shapes.cc) ----------------------------------------------------------

// Infers the just-added last layer from its inputs; on failure removes it (and its outputs)
// again and throws ValueError with the shape rule's message.
void commitNewLayer(ir::Network& net, int layer);
// Re-infers `layer` (when >= 0) and every layer downstream of it or of `tensors`. Lenient, as in
// TensorRT: a layer left inconsistent mid-edit keeps its old output dims and the builder reports
// it; it never throws.
void refreshShapes(ir::Network& net, int layer, const std::vector<int>& tensors = {});

// Helpers of the typed layer classes (bind_layers.cc, bind_window_layers.cc).
// Applies an edit to the layer, then re-infers its outputs and everything downstream.
template <typename F>
void edit(const LayerHandle& h, F&& change) {
  change(h.get());
  refreshShapes(h.net(), h.id);
}
int64_t inputRank(const LayerHandle& h, size_t input = 0);  // -1 when the input is absent
// A property value as Dims: `n` values (any when 0), each >= min; ValueError naming the layer.
Dims checkedDims(const py::object& v, const LayerHandle& h, const char* what, size_t n,
                 int64_t min);
HostTensor& weightOf(ir::Layer& l, const char* key);         // ValueError when absent
py::array weightArray(const ir::Layer& l, const char* key);  // a copy; empty float32 if absent

// Sets a SCALE layer's "scale"/"shift" to one float per channel (channel count from the input
// when known): empty ones become 1 / 0, single values are repeated. ValueError otherwise.
void fitScaleWeights(const ir::Network& net, ir::Layer& layer, HostTensor scale, HostTensor shift);

// --- TensorRT's network-API enums (values as TensorRT 10) --------------------------------------

enum class ActivationType : int32_t {
  kRELU = 0,
  kSIGMOID = 1,
  kTANH = 2,
  kLEAKY_RELU = 3,
  kELU = 4,
  kSELU = 5,
  kSOFTSIGN = 6,
  kSOFTPLUS = 7,
  kCLIP = 8,
  kHARD_SIGMOID = 9,
  kSCALED_TANH = 10,
  kTHRESHOLDED_RELU = 11,
  kGELU_ERF = 12,
  kGELU_TANH = 13,
};
enum class ElementWiseOperation : int32_t {
  kSUM = 0,
  kPROD = 1,
  kMAX = 2,
  kMIN = 3,
  kSUB = 4,
  kDIV = 5,
  kPOW = 6,
  kFLOOR_DIV = 7,
  kAND = 8,
  kOR = 9,
  kXOR = 10,
  kEQUAL = 11,
  kGREATER = 12,
  kLESS = 13,
};
enum class PoolingType : int32_t { kMAX = 0, kAVERAGE = 1, kMAX_AVERAGE_BLEND = 2 };
enum class MatrixOperation : int32_t { kNONE = 0, kTRANSPOSE = 1, kVECTOR = 2 };
enum class PaddingMode : int32_t {
  kEXPLICIT_ROUND_DOWN = 0,
  kEXPLICIT_ROUND_UP = 1,
  kSAME_UPPER = 2,
  kSAME_LOWER = 3,
};
enum class ScaleMode : int32_t { kUNIFORM = 0, kCHANNEL = 1, kELEMENTWISE = 2 };

// The ir attribute strings of the enums clrt implements; UnsupportedError for the others
// (naming the value and listing what is supported).
std::string activationAttr(ActivationType t);
ActivationType activationFromAttr(const std::string& s);
std::string elementwiseAttr(ElementWiseOperation op);
ElementWiseOperation elementwiseFromAttr(const std::string& s);
std::string poolingAttr(PoolingType t);

// TensorRT's LayerType value for a layer kind (ir::trtLayerTypeName), as the Python enum member.
py::object layerTypeOf(ir::LayerKind k);

}  // namespace clrt::python
