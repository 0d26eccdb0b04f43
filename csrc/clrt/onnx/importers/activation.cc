// Activation importers (kACTIVATION): Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid,
// HardSwish, Elu, Selu, Softplus, Gelu, ThresholdedRelu, Shrink, Celu, Mish, Swish; PRelu from
// elementwise layers.
#include <limits>

#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void addActivation(ImportContext& c, const char* type, double alpha, double beta) {
  ir::Layer& l = c.add(ir::LayerKind::kACTIVATION, {c.input(0)});
  l.attrs.set("type", type);
  l.attrs.set("alpha", alpha);
  l.attrs.set("beta", beta);
}

// Family helper: an activation whose alpha/beta are optional float attributes with ONNX's
// defaults (a null attribute name means the parameter is fixed at its default).
Importer activation(const char* type, const char* alphaAttr, double alpha, const char* betaAttr,
                    double beta) {
  return [=](ImportContext& c) {
    addActivation(c, type, alphaAttr ? c.attrFloat(alphaAttr, static_cast<float>(alpha)) : alpha,
                  betaAttr ? c.attrFloat(betaAttr, static_cast<float>(beta)) : beta);
  };
}

// Clip before opset 11: bounds are attributes.
void importClip6(ImportContext& c) {
  addActivation(c, "CLIP", c.attrFloat("min", -std::numeric_limits<float>::infinity()),
                c.attrFloat("max", std::numeric_limits<float>::infinity()));
}

// Clip from opset 11: bounds are optional inputs; a missing one is unbounded. Bounds computed at
// run time become elementwise MAX then MIN (min > max gives max, as ONNX specifies).
void importClip11(ImportContext& c) {
  // No bounds: the identity, for every dtype (the CLIP activation runs float ones only).
  if (!c.hasInput(1) && !c.hasInput(2)) return void(c.add(ir::LayerKind::kIDENTITY, {c.input(0)}));
  const bool lowIn = c.hasInput(1) && !c.constant(1), highIn = c.hasInput(2) && !c.constant(2);
  if (lowIn || highIn) {
    int y = c.input(0);
    const int hasHigh = c.hasInput(2);
    if (c.hasInput(1)) {
      ir::Layer& l = hasHigh ? c.addInternal(ir::LayerKind::kELEMENTWISE, {y, c.input(1)})
                             : c.add(ir::LayerKind::kELEMENTWISE, {y, c.input(1)});
      l.attrs.set("op", "MAX");
      y = l.outputs[0];
    }
    if (hasHigh) c.add(ir::LayerKind::kELEMENTWISE, {y, c.input(2)}).attrs.set("op", "MIN");
    return;
  }
  const double lo = c.hasInput(1) ? c.constScalar(1, "Clip min") : -kInf;
  const double hi = c.hasInput(2) ? c.constScalar(2, "Clip max") : kInf;
  addActivation(c, "CLIP", lo, hi);
}

void importGelu(ImportContext& c) {
  const std::string approx = c.attrString("approximate", "none");
  if (approx != "none" && approx != "tanh")
    reject(ErrorKind::kParse,
           "attribute 'approximate' must be 'none' or 'tanh', got '" + approx + "'");
  addActivation(c, approx == "tanh" ? "GELU_TANH" : "GELU_ERF", 0, 0);
}

// PRelu: y = x < 0 ? x * slope : x (a WHERE, so x's NaN and zeros pass unchanged). Before
// version 7 a 1-D slope of C values is per channel (axis 1); from 7 it broadcasts as NumPy.
void importPRelu(ImportContext& c) {
  using ir::LayerKind;
  const int x = c.input(0);
  int slope = c.input(1);
  const Dims xd = c.inputDims(0), sd = c.inputDims(1);
  if (schemaVersion("PRelu", c.opset()) < 7 && sd.size() == 1 && xd.size() > 2 && sd[0] != 1) {
    std::vector<int64_t> axes;
    for (size_t k = 1; k + 1 < xd.size(); ++k) axes.push_back(static_cast<int64_t>(k));
    ir::Layer& u = c.addInternal(LayerKind::kUNSQUEEZE, {slope});
    u.attrs.set("axes", axes);
    slope = u.outputs[0];
  }
  const DataType t = c.net().tensors[x].dtype;
  const int zero = c.constantTensor(HostTensor::fromFloats({}, {0.0f}).castTo(t));
  // Layer references die with the next layer added: keep tensor ids only.
  ir::Layer& neg = c.addInternal(LayerKind::kELEMENTWISE, {x, zero});
  neg.attrs.set("op", "LESS");
  const int isNeg = neg.outputs[0];
  ir::Layer& scaled = c.addInternal(LayerKind::kELEMENTWISE, {x, slope});
  scaled.attrs.set("op", "PROD");
  c.add(LayerKind::kWHERE, {isNeg, scaled.outputs[0], x});
}

}  // namespace

void registerActivationImporters() {
  registerImporter("Relu", {6, 13, 14}, activation("RELU", nullptr, 0, nullptr, 0));
  registerImporter("LeakyRelu", {6, 16}, activation("LEAKY_RELU", "alpha", 0.01, nullptr, 0));
  registerImporter("Sigmoid", {6, 13}, activation("SIGMOID", nullptr, 0, nullptr, 0));
  registerImporter("Tanh", {6, 13}, activation("TANH", nullptr, 0, nullptr, 0));
  registerImporter("HardSigmoid", {6, 22}, activation("HARD_SIGMOID", "alpha", 0.2, "beta", 0.5));
  registerImporter("HardSwish", {14, 22},
                   activation("HARD_SWISH", nullptr, 1.0 / 6.0, nullptr, 0.5));
  registerImporter("Elu", {6, 22}, activation("ELU", "alpha", 1.0, nullptr, 0));
  registerImporter("Softplus", {1, 22}, activation("SOFTPLUS", nullptr, 0, nullptr, 0));
  // 1 and 6 differ in consumed_inputs only. beta carries gamma.
  registerImporter(
      "Selu", {1, 6, 22},
      activation("SELU", "alpha", 1.67326319217681884765625, "gamma", 1.05070102214813232421875));
  registerImporter("Gelu", {20}, importGelu);
  registerImporter("ThresholdedRelu", {10, 22},
                   activation("THRESHOLDED_RELU", "alpha", 1.0, nullptr, 0));
  registerImporter("Shrink", {9}, activation("SHRINK", "lambd", 0.5, "bias", 0.0));
  registerImporter("Celu", {12, 28}, activation("CELU", "alpha", 1.0, nullptr, 0));
  registerImporter("Mish", {18, 22}, activation("MISH", nullptr, 0, nullptr, 0));
  registerImporter("Swish", {24}, activation("SWISH", "alpha", 1.0, nullptr, 0));
  registerImporter("Clip", {6}, importClip6);
  registerImporter("Clip", {11, 12, 13}, importClip11);
  // 1 and 6 differ in consumed_inputs only; 9 and 16 add dtypes.
  registerImporter("PRelu", {1, 6, 7, 9, 16}, importPRelu);
}

}  // namespace clrt::onnx
