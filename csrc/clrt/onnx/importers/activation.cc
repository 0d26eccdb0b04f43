// Activation importers (kACTIVATION): Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid,
// HardSwish, Elu, Softplus, Gelu.
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
  registerImporter("Gelu", {20}, importGelu);
  registerImporter("Clip", {6}, importClip6);
  registerImporter("Clip", {11, 12, 13}, importClip11);
}

}  // namespace clrt::onnx
