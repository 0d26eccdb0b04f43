// Binary elementwise importers with NumPy broadcasting; variadic Sum/Max/Min folded pairwise.
#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

void regBinary(const char* op, const char* ew, bool variadic) {
  importerTable()[op].push_back(
      {1, [=](ImportContext& c) {
         const int n = c.numInputs();
         CLRT_CHECK(n >= (variadic ? 1 : 2), kParse, "needs ",
                    variadic ? "at least 1 input" : "2 inputs");
         if (n == 1) {
           c.add(ir::LayerKind::kIDENTITY, {c.input(0)});
           return;
         }
         int acc = c.input(0);
         for (int i = 1; i < n; ++i) {
           auto& l = c.add(ir::LayerKind::kELEMENTWISE, {acc, c.input(i)}, i + 1 < n);
           l.attrs.set("op", ew);
           acc = l.outputs[0];
         }
       }});
}

}  // namespace

void registerElementwiseImporters() {
  regBinary("Add", "SUM", false);
  regBinary("Sub", "SUB", false);
  regBinary("Mul", "PROD", false);
  regBinary("Div", "DIV", false);
  regBinary("Pow", "POW", false);
  regBinary("Equal", "EQUAL", false);
  regBinary("Greater", "GREATER", false);
  regBinary("Less", "LESS", false);
  regBinary("And", "AND", false);
  regBinary("Or", "OR", false);
  regBinary("Sum", "SUM", true);
  regBinary("Max", "MAX", true);
  regBinary("Min", "MIN", true);
}

}  // namespace clrt::onnx
