// TensorRT's network-API enums and their mapping to the ir attribute strings clrt implements.
#include <cstring>
#include <utility>

#include "clrt/python/bindings.h"

namespace clrt::python {
namespace {

// TensorRT 10's LayerType numbering.
enum class LayerType : int32_t {};

constexpr std::pair<const char*, int32_t> kLayerTypes[] = {
    {"CONVOLUTION", 0},
    {"CAST", 1},
    {"ACTIVATION", 2},
    {"POOLING", 3},
    {"LRN", 4},
    {"SCALE", 5},
    {"SOFTMAX", 6},
    {"DECONVOLUTION", 7},
    {"CONCATENATION", 8},
    {"ELEMENTWISE", 9},
    {"PLUGIN", 10},
    {"UNARY", 11},
    {"PADDING", 12},
    {"SHUFFLE", 13},
    {"REDUCE", 14},
    {"TOPK", 15},
    {"GATHER", 16},
    {"MATRIX_MULTIPLY", 17},
    {"RAGGED_SOFTMAX", 18},
    {"CONSTANT", 19},
    {"IDENTITY", 20},
    {"PLUGIN_V2", 21},
    {"SLICE", 22},
    {"SHAPE", 23},
    {"PARAMETRIC_RELU", 24},
    {"RESIZE", 25},
    {"TRIP_LIMIT", 26},
    {"RECURRENCE", 27},
    {"ITERATOR", 28},
    {"LOOP_OUTPUT", 29},
    {"SELECT", 30},
    {"FILL", 31},
    {"QUANTIZE", 32},
    {"DEQUANTIZE", 33},
    {"CONDITION", 34},
    {"CONDITIONAL_INPUT", 35},
    {"CONDITIONAL_OUTPUT", 36},
    {"SCATTER", 37},
    {"EINSUM", 38},
    {"ASSERTION", 39},
    {"ONE_HOT", 40},
    {"NON_ZERO", 41},
    {"GRID_SAMPLE", 42},
    {"NMS", 43},
    {"REVERSE_SEQUENCE", 44},
    {"NORMALIZATION", 45},
    {"PLUGIN_V3", 46},
    {"SQUEEZE", 47},
    {"UNSQUEEZE", 48},
    {"CUMULATIVE", 49},
};

struct ActivationName {
  ActivationType type;
  const char* trt;
  const char* attr;  // nullptr: clrt has no kernel for it
};
constexpr ActivationName kActivations[] = {
    {ActivationType::kRELU, "RELU", "RELU"},
    {ActivationType::kSIGMOID, "SIGMOID", "SIGMOID"},
    {ActivationType::kTANH, "TANH", "TANH"},
    {ActivationType::kLEAKY_RELU, "LEAKY_RELU", "LEAKY_RELU"},
    {ActivationType::kELU, "ELU", "ELU"},
    {ActivationType::kSELU, "SELU", "SELU"},
    {ActivationType::kSOFTSIGN, "SOFTSIGN", nullptr},
    {ActivationType::kSOFTPLUS, "SOFTPLUS", "SOFTPLUS"},
    {ActivationType::kCLIP, "CLIP", "CLIP"},
    {ActivationType::kHARD_SIGMOID, "HARD_SIGMOID", "HARD_SIGMOID"},
    {ActivationType::kSCALED_TANH, "SCALED_TANH", nullptr},
    {ActivationType::kTHRESHOLDED_RELU, "THRESHOLDED_RELU", nullptr},
    {ActivationType::kGELU_ERF, "GELU_ERF", "GELU_ERF"},
    {ActivationType::kGELU_TANH, "GELU_TANH", "GELU_TANH"},
};

struct ElementwiseName {
  ElementWiseOperation op;
  const char* trt;
  const char* attr;
};
constexpr ElementwiseName kElementwise[] = {
    {ElementWiseOperation::kSUM, "SUM", "SUM"},
    {ElementWiseOperation::kPROD, "PROD", "PROD"},
    {ElementWiseOperation::kMAX, "MAX", "MAX"},
    {ElementWiseOperation::kMIN, "MIN", "MIN"},
    {ElementWiseOperation::kSUB, "SUB", "SUB"},
    {ElementWiseOperation::kDIV, "DIV", "DIV"},
    {ElementWiseOperation::kPOW, "POW", "POW"},
    {ElementWiseOperation::kFLOOR_DIV, "FLOOR_DIV", nullptr},
    {ElementWiseOperation::kAND, "AND", "AND"},
    {ElementWiseOperation::kOR, "OR", "OR"},
    {ElementWiseOperation::kXOR, "XOR", "XOR"},
    {ElementWiseOperation::kEQUAL, "EQUAL", "EQUAL"},
    {ElementWiseOperation::kGREATER, "GREATER", "GREATER"},
    {ElementWiseOperation::kLESS, "LESS", "LESS"},
};

template <typename Table>
std::string supportedList(const Table& table) {
  std::string s;
  for (const auto& e : table)
    if (e.attr) s += (s.empty() ? "" : ", ") + std::string(e.trt);
  return s;
}

}  // namespace

std::string activationAttr(ActivationType t) {
  for (const auto& e : kActivations)
    if (e.type == t) {
      CLRT_CHECK(e.attr, kUnsupported, "ActivationType.", e.trt,
                 " is not implemented by clrt; supported: ", supportedList(kActivations));
      return e.attr;
    }
  fail(ErrorKind::kValue, str("unknown ActivationType ", static_cast<int>(t)));
}

ActivationType activationFromAttr(const std::string& s) {
  for (const auto& e : kActivations)
    if (e.attr && s == e.attr) return e.type;
  fail(ErrorKind::kUnsupported, str("activation '", s, "' has no TensorRT ActivationType"));
}

std::string elementwiseAttr(ElementWiseOperation op) {
  for (const auto& e : kElementwise)
    if (e.op == op) {
      CLRT_CHECK(e.attr, kUnsupported, "ElementWiseOperation.", e.trt,
                 " is not implemented by clrt; supported: ", supportedList(kElementwise));
      return e.attr;
    }
  fail(ErrorKind::kValue, str("unknown ElementWiseOperation ", static_cast<int>(op)));
}

ElementWiseOperation elementwiseFromAttr(const std::string& s) {
  for (const auto& e : kElementwise)
    if (e.attr && s == e.attr) return e.op;
  fail(ErrorKind::kUnsupported,
       str("elementwise op '", s, "' has no TensorRT ElementWiseOperation"));
}

std::string poolingAttr(PoolingType t) {
  if (t == PoolingType::kMAX) return "MAX";
  if (t == PoolingType::kAVERAGE) return "AVERAGE";
  fail(ErrorKind::kUnsupported,
       "PoolingType.MAX_AVERAGE_BLEND is not implemented by clrt; supported: MAX, AVERAGE");
}

py::object layerTypeOf(ir::LayerKind k) {
  const char* name = ir::trtLayerTypeName(k);
  for (const auto& [n, v] : kLayerTypes)
    if (std::strcmp(n, name) == 0) return py::cast(static_cast<LayerType>(v));
  fail(ErrorKind::kValue, str("layer kind ", ir::layerKindName(k), " has no TensorRT LayerType"));
}

void bindNetworkEnums(py::module_& m) {
  py::enum_<LayerType> lt(m, "LayerType", "TensorRT's layer types (ILayer.type).");
  for (const auto& [n, v] : kLayerTypes) lt.value(n, static_cast<LayerType>(v));

  py::enum_<ActivationType> act(m, "ActivationType",
                                "Activation functions; SELU, SOFTSIGN, SCALED_TANH and "
                                "THRESHOLDED_RELU raise clrt.UnsupportedError when used.");
  for (const auto& e : kActivations) act.value(e.trt, e.type);

  py::enum_<ElementWiseOperation> ew(m, "ElementWiseOperation",
                                     "Binary operations; FLOOR_DIV and XOR raise "
                                     "clrt.UnsupportedError when used.");
  for (const auto& e : kElementwise) ew.value(e.trt, e.op);

  py::enum_<PoolingType>(m, "PoolingType")
      .value("MAX", PoolingType::kMAX)
      .value("AVERAGE", PoolingType::kAVERAGE)
      .value("MAX_AVERAGE_BLEND", PoolingType::kMAX_AVERAGE_BLEND);
  py::enum_<MatrixOperation>(m, "MatrixOperation")
      .value("NONE", MatrixOperation::kNONE)
      .value("TRANSPOSE", MatrixOperation::kTRANSPOSE)
      .value("VECTOR", MatrixOperation::kVECTOR);
  py::enum_<PaddingMode>(m, "PaddingMode")
      .value("EXPLICIT_ROUND_DOWN", PaddingMode::kEXPLICIT_ROUND_DOWN)
      .value("EXPLICIT_ROUND_UP", PaddingMode::kEXPLICIT_ROUND_UP)
      .value("SAME_UPPER", PaddingMode::kSAME_UPPER)
      .value("SAME_LOWER", PaddingMode::kSAME_LOWER);
  py::enum_<ScaleMode>(m, "ScaleMode")
      .value("UNIFORM", ScaleMode::kUNIFORM)
      .value("CHANNEL", ScaleMode::kCHANNEL)
      .value("ELEMENTWISE", ScaleMode::kELEMENTWISE);
}

}  // namespace clrt::python
