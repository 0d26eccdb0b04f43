// Elementwise importers: binary ops with NumPy broadcasting (kELEMENTWISE), variadic Sum/Max/Min
// folded pairwise, and unary math (kUNARY).
#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

// Family helper: a two-input op.
Importer binary(const char* op) {
  return [=](ImportContext& c) {
    if (c.numInputs() != 2) reject(ErrorKind::kParse, str("needs 2 inputs, got ", c.numInputs()));
    c.add(LayerKind::kELEMENTWISE, {c.input(0), c.input(1)}).attrs.set("op", op);
  };
}

// Family helper: Sum/Max/Min take 1..n inputs; ((a op b) op c) ..., the last layer writes the
// node's output.
Importer variadic(const char* op) {
  return [=](ImportContext& c) {
    const int n = c.numInputs();
    if (n < 1) reject(ErrorKind::kParse, "needs at least 1 input");
    if (n == 1) {
      c.add(LayerKind::kIDENTITY, {c.input(0)});
      return;
    }
    int acc = c.input(0);
    for (int i = 1; i < n; ++i) {
      const std::vector<int> ins{acc, c.input(i)};
      ir::Layer& l = i + 1 < n ? c.addInternal(LayerKind::kELEMENTWISE, ins)
                               : c.add(LayerKind::kELEMENTWISE, ins);
      l.attrs.set("op", op);
      acc = l.outputs[0];
    }
  };
}

// Family helper: a one-input math op.
Importer unary(const char* op) {
  return [=](ImportContext& c) { c.add(LayerKind::kUNARY, {c.input(0)}).attrs.set("op", op); };
}

}  // namespace

void registerElementwiseImporters() {
  const std::pair<const char*, const char*> binaries[] = {
      {"Add", "SUM"},     {"Sub", "SUB"},         {"Mul", "PROD"},  {"Div", "DIV"}, {"Pow", "POW"},
      {"Equal", "EQUAL"}, {"Greater", "GREATER"}, {"Less", "LESS"}, {"And", "AND"}, {"Or", "OR"}};
  for (const auto& [op, ew] : binaries) registerImporter(op, 1, binary(ew));
  registerImporter("Sum", 1, variadic("SUM"));
  registerImporter("Max", 1, variadic("MAX"));
  registerImporter("Min", 1, variadic("MIN"));
  const std::pair<const char*, const char*> unaries[] = {
      {"Sqrt", "SQRT"}, {"Exp", "EXP"},          {"Log", "LOG"},     {"Abs", "ABS"},
      {"Neg", "NEG"},   {"Reciprocal", "RECIP"}, {"Floor", "FLOOR"}, {"Ceil", "CEIL"},
      {"Erf", "ERF"},   {"Not", "NOT"},          {"Sin", "SIN"},     {"Cos", "COS"}};
  for (const auto& [op, u] : unaries) registerImporter(op, 1, unary(u));
}

}  // namespace clrt::onnx
