// Activation and unary importers: Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish,
// Elu, Softplus, Gelu, Erf, Sqrt, Exp, Log, Abs, Neg, Reciprocal, Floor, Ceil, Not, Sin, Cos.
#include <limits>

#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

void activation(ImportContext& c, const char* type, double alpha, double beta) {
  auto& l = c.add(LayerKind::kACTIVATION, {c.input(0)});
  l.attrs.set("type", type);
  l.attrs.set("alpha", alpha);
  l.attrs.set("beta", beta);
}

void reg(const char* op, int since, Importer f) { importerTable()[op].push_back({since, f}); }

void regActivation(const char* op, const char* type, const char* alphaAttr, double alphaDef,
                   const char* betaAttr, double betaDef) {
  reg(op, 1, [=](ImportContext& c) {
    activation(c, type, alphaAttr ? c.attrFloat(alphaAttr, static_cast<float>(alphaDef)) : alphaDef,
               betaAttr ? c.attrFloat(betaAttr, static_cast<float>(betaDef)) : betaDef);
  });
}

void regUnary(const char* op, const char* unary) {
  reg(op, 1,
      [=](ImportContext& c) { c.add(LayerKind::kUNARY, {c.input(0)}).attrs.set("op", unary); });
}

float scalarOf(const HostTensor& t, const char* what) {
  CLRT_CHECK(t.numel() == 1, kParse, what, " must be a scalar, got shape ", dimsToString(t.dims));
  return t.asFloats()[0];
}

}  // namespace

void registerActivationImporters() {
  regActivation("Relu", "RELU", nullptr, 0, nullptr, 0);
  regActivation("LeakyRelu", "LEAKY_RELU", "alpha", 0.01, nullptr, 0);
  regActivation("Sigmoid", "SIGMOID", nullptr, 0, nullptr, 0);
  regActivation("Tanh", "TANH", nullptr, 0, nullptr, 0);
  regActivation("HardSigmoid", "HARD_SIGMOID", "alpha", 0.2, "beta", 0.5);
  regActivation("HardSwish", "HARD_SWISH", nullptr, 1.0 / 6.0, nullptr, 0.5);
  regActivation("Elu", "ELU", "alpha", 1.0, nullptr, 0);
  regActivation("Softplus", "SOFTPLUS", nullptr, 0, nullptr, 0);
  reg("Gelu", 20, [](ImportContext& c) {
    const std::string approx = c.attrString("approximate", "none");
    CLRT_CHECK(approx == "none" || approx == "tanh", kParse,
               "approximate must be 'none' or "
               "'tanh', got '",
               approx, "'");
    activation(c, approx == "tanh" ? "GELU_TANH" : "GELU_ERF", 0, 0);
  });
  reg("Clip", 1, [](ImportContext& c) {
    activation(c, "CLIP", c.attrFloat("min", -std::numeric_limits<float>::infinity()),
               c.attrFloat("max", std::numeric_limits<float>::infinity()));
  });
  reg("Clip", 11, [](ImportContext& c) {
    const double lo = c.hasInput(1) ? scalarOf(c.requireConstant(1, "Clip min"), "Clip min")
                                    : -std::numeric_limits<double>::infinity();
    const double hi = c.hasInput(2) ? scalarOf(c.requireConstant(2, "Clip max"), "Clip max")
                                    : std::numeric_limits<double>::infinity();
    activation(c, "CLIP", lo, hi);
  });
  const std::pair<const char*, const char*> unary[] = {
      {"Erf", "ERF"},   {"Sqrt", "SQRT"}, {"Exp", "EXP"},          {"Log", "LOG"},
      {"Abs", "ABS"},   {"Neg", "NEG"},   {"Reciprocal", "RECIP"}, {"Floor", "FLOOR"},
      {"Ceil", "CEIL"}, {"Not", "NOT"},   {"Sin", "SIN"},          {"Cos", "COS"}};
  for (auto& [op, u] : unary) regUnary(op, u);
}

}  // namespace clrt::onnx
