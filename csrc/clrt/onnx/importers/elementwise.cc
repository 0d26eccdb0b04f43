// Elementwise importers: binary ops with NumPy broadcasting (kELEMENTWISE) including Mod and
// BitShift and the Bitwise ops, variadic Sum/Max/Min folded pairwise and Mean, and unary math
// (kUNARY).
#include <limits>
#include <tuple>

#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

bool isUint64(ImportContext& c, int i) { return c.logicalDtype(i) == DataType::kUINT64; }

// Family helper: a two-input op. UINT64 operands of an order comparison compare unsigned.
Importer binary(const char* op) {
  return [=](ImportContext& c) {
    if (c.numInputs() != 2) reject(ErrorKind::kParse, str("needs 2 inputs, got ", c.numInputs()));
    int a = c.input(0), b = c.input(1);
    const std::string o = op;
    const bool order =
        o == "GREATER" || o == "LESS" || o == "GREATER_OR_EQUAL" || o == "LESS_OR_EQUAL";
    if (order && isUint64(c, 0) && isUint64(c, 1)) {
      a = c.unsignedOrder(a);
      b = c.unsignedOrder(b);
    }
    c.add(LayerKind::kELEMENTWISE, {a, b}).attrs.set("op", op);
  };
}

// Versions before 7: without `broadcast` the shapes are equal; with it B matches a contiguous run
// of A's dims, the trailing ones (NumPy's alignment) unless `axis` says where the run starts. B
// gets trailing 1-dims so that NumPy broadcasting lines it up at `axis`.
Importer legacyBinary(const char* op) {
  return [=](ImportContext& c) {
    if (c.numInputs() != 2) reject(ErrorKind::kParse, str("needs 2 inputs, got ", c.numInputs()));
    int b = c.input(1);
    if (c.attrInt("broadcast", 0) != 0 && c.hasAttr("axis")) {
      const int64_t ra = static_cast<int64_t>(c.inputDims(0).size());
      const int64_t rb = static_cast<int64_t>(c.inputDims(1).size());
      const int64_t axis = normalizeAxis(c.attrInt("axis", 0), ra, "attribute 'axis'");
      if (axis + rb > ra)
        reject(ErrorKind::kParse,
               str("B of rank ", rb, " does not fit A of rank ", ra, " from axis ", axis));
      std::vector<int64_t> axes;
      for (int64_t i = rb; i < ra - axis; ++i) axes.push_back(i);
      if (!axes.empty()) {
        ir::Layer& u = c.addInternal(LayerKind::kUNSQUEEZE, {b});
        u.attrs.set("axes", axes);
        b = u.outputs[0];
      }
    }
    c.add(LayerKind::kELEMENTWISE, {c.input(0), b}).attrs.set("op", op);
  };
}

// Family helper: Sum/Max/Min take 1..n inputs; ((a op b) op c) ..., the last layer writes the
// node's output. UINT64 Max/Min run on the sign-flipped bits, flipped back at the end.
Importer variadic(const char* op) {
  return [=](ImportContext& c) {
    const int n = c.numInputs();
    if (n < 1) reject(ErrorKind::kParse, "needs at least 1 input");
    if (n == 1) {
      c.add(LayerKind::kIDENTITY, {c.input(0)});
      return;
    }
    bool flip = std::string(op) != "SUM";
    for (int i = 0; i < n; ++i) flip = flip && isUint64(c, i);
    auto in = [&](int i) { return flip ? c.unsignedOrder(c.input(i)) : c.input(i); };
    int acc = in(0);
    for (int i = 1; i < n; ++i) {
      const std::vector<int> ins{acc, in(i)};
      ir::Layer& l = i + 1 < n || flip ? c.addInternal(LayerKind::kELEMENTWISE, ins)
                                       : c.add(LayerKind::kELEMENTWISE, ins);
      l.attrs.set("op", op);
      acc = l.outputs[0];
    }
    if (flip) {
      const int top =
          c.constantTensor(HostTensor::scalarInt64(std::numeric_limits<int64_t>::min()));
      c.add(LayerKind::kELEMENTWISE, {acc, top}).attrs.set("op", "BITWISE_XOR");
    }
  };
}

// Mean: the variadic sum divided by the input count (in the inputs' dtype).
void importMean(ImportContext& c) {
  const int n = c.numInputs();
  if (n < 1) reject(ErrorKind::kParse, "needs at least 1 input");
  int acc = c.input(0);
  for (int i = 1; i < n; ++i) {
    ir::Layer& l = c.addInternal(LayerKind::kELEMENTWISE, {acc, c.input(i)});
    l.attrs.set("op", "SUM");
    acc = l.outputs[0];
  }
  const DataType t = c.net().tensors[c.input(0)].dtype;  // acc's is not inferred yet
  const int count = c.constantTensor(HostTensor::fromFloats({}, {float(n)}).castTo(t));
  c.add(LayerKind::kELEMENTWISE, {acc, count}).attrs.set("op", "DIV");
}

// Mod: fmod=0 takes the divisor's sign (floor), fmod=1 the dividend's (C fmod).
void importMod(ImportContext& c) {
  if (c.numInputs() != 2) reject(ErrorKind::kParse, str("needs 2 inputs, got ", c.numInputs()));
  const bool fmod = c.attrFlag("fmod", 0) != 0;
  const DataType t = c.net().tensors[c.input(0)].dtype;
  if (!fmod && schemaVersion("Mod", c.opset()) < 28 &&
      (t == DataType::kFLOAT || t == DataType::kHALF))
    reject(ErrorKind::kParse, "fmod must be 1 for floating-point inputs before opset 28");
  const char* op = fmod ? "FMOD" : "MOD";
  c.add(LayerKind::kELEMENTWISE, {c.input(0), c.input(1)}).attrs.set("op", op);
}

void importBitShift(ImportContext& c) {
  if (c.numInputs() != 2) reject(ErrorKind::kParse, str("needs 2 inputs, got ", c.numInputs()));
  const std::string dir = c.attrString("direction", "");
  if (dir != "LEFT" && dir != "RIGHT")
    reject(ErrorKind::kParse, str("attribute 'direction' must be LEFT or RIGHT, got '", dir, "'"));
  if (dir == "LEFT" || !isUint64(c, 0)) {
    c.add(LayerKind::kELEMENTWISE, {c.input(0), c.input(1)})
        .attrs.set("op", dir == "LEFT" ? "SHIFT_LEFT" : "SHIFT_RIGHT");
    return;
  }
  // UINT64 held as INT64 shifts right arithmetically: the n copied-in top bits are masked off,
  // mask = ~((-1 << (63 - n)) << 1) (two shifts: no shift by 64 when n is 0).
  auto op2 = [&](const char* op, int a, int b) {
    ir::Layer& l = c.addInternal(LayerKind::kELEMENTWISE, {a, b});
    l.attrs.set("op", op);
    return l.outputs[0];
  };
  auto i64 = [&](int64_t v) { return c.constantTensor(HostTensor::scalarInt64(v)); };
  const int n = c.input(1);
  const int high = op2("SHIFT_LEFT", op2("SHIFT_LEFT", i64(-1), op2("SUB", i64(63), n)), i64(1));
  ir::Layer& inv = c.addInternal(LayerKind::kUNARY, {high});
  inv.attrs.set("op", "BITWISE_NOT");
  const int mask = inv.outputs[0];
  const int shifted = op2("SHIFT_RIGHT", c.input(0), n);
  c.add(LayerKind::kELEMENTWISE, {shifted, mask}).attrs.set("op", "BITWISE_AND");
}

void importIsInf(ImportContext& c) {
  ir::Layer& l = c.add(LayerKind::kUNARY, {c.input(0)});
  l.attrs.set("op", "ISINF");
  l.attrs.set("detect_positive", c.attrFlag("detect_positive", 1));
  l.attrs.set("detect_negative", c.attrFlag("detect_negative", 1));
}

// Pow whose exponent has another dtype than the base (FLOAT base, integer exponent or the
// reverse): computed in the base's float dtype, or FLOAT for an integer base, whose result is
// cast back (ONNX types the output as the base).
void importPow(ImportContext& c) {
  int x = c.input(0), y = c.input(1);
  // A UINT64 exponent converts to float from its unsigned bits.
  if (isUint64(c, 1)) y = c.castTensor(y, DataType::kUINT64);
  const DataType tx = c.net().tensors[x].dtype, ty = c.net().tensors[y].dtype;
  if (tx == ty) return void(c.add(LayerKind::kELEMENTWISE, {x, y}).attrs.set("op", "POW"));
  const bool floatBase = tx == DataType::kFLOAT || tx == DataType::kHALF;
  const DataType t = floatBase ? tx : DataType::kFLOAT;
  if (tx != t) x = c.castTensor(x, t);
  if (ty != t) y = c.castTensor(y, t);
  if (floatBase) return void(c.add(LayerKind::kELEMENTWISE, {x, y}).attrs.set("op", "POW"));
  ir::Layer& p = c.addInternal(LayerKind::kELEMENTWISE, {x, y});
  p.attrs.set("op", "POW");
  const int r = p.outputs[0];
  c.add(LayerKind::kCAST, {r}).attrs.set("to", static_cast<int64_t>(tx));
}

// Family helper: a one-input math op.
Importer unary(const char* op) {
  return [=](ImportContext& c) { c.add(LayerKind::kUNARY, {c.input(0)}).attrs.set("op", op); };
}

}  // namespace

void registerElementwiseImporters() {
  // Version 7 replaced the legacy broadcast/axis attributes with NumPy broadcasting; the later
  // versions add dtypes.
  const std::vector<int> arith{7, 13, 14}, compare{7, 9, 13};
  const std::tuple<const char*, const char*, std::vector<int>> binaries[] = {
      {"Add", "SUM", arith},
      {"Sub", "SUB", arith},
      {"Mul", "PROD", arith},
      {"Div", "DIV", arith},
      {"Equal", "EQUAL", {7, 11, 13, 19}},
      {"Greater", "GREATER", compare},
      {"Less", "LESS", compare},
      {"And", "AND", {7}},
      {"Or", "OR", {7}},
      {"Xor", "XOR", {7}}};
  for (const auto& [op, ew, vs] : binaries) registerImporter(op, vs, binary(ew));
  registerImporter("Pow", {7, 12, 13, 15}, importPow);
  registerImporter("Pow", {1}, legacyBinary("POW"));
  for (const auto& [op, ew, vs] : binaries)  // Add/Sub/Mul/Div 6; the others 1
    registerImporter(op, {vs == arith ? 6 : 1}, legacyBinary(ew));
  registerImporter("GreaterOrEqual", {12, 16}, binary("GREATER_OR_EQUAL"));
  registerImporter("LessOrEqual", {12, 16}, binary("LESS_OR_EQUAL"));
  // 13 and 28 add dtypes; 28 defines the float cases of fmod=0 as the integer ones.
  registerImporter("Mod", {10, 13, 28}, importMod);
  registerImporter("BitShift", {11, 28}, importBitShift);  // 28: signed types
  // Integers only; narrow types run widened (sign or zero extension commutes with the bitwise
  // ops, and NOT's result is wrapped back to the ONNX type by the importer context).
  registerImporter("BitwiseAnd", {18}, binary("BITWISE_AND"));
  registerImporter("BitwiseOr", {18}, binary("BITWISE_OR"));
  registerImporter("BitwiseXor", {18}, binary("BITWISE_XOR"));
  registerImporter("BitwiseNot", {18}, unary("BITWISE_NOT"));
  registerImporter("Mean", {6, 8, 13}, importMean);
  // Version 6 requires equal shapes (a case of the broadcasting import); 8 broadcasts.
  registerImporter("Sum", {6, 8, 13}, variadic("SUM"));
  registerImporter("Max", {6, 8, 12, 13}, variadic("MAX"));
  registerImporter("Min", {6, 8, 12, 13}, variadic("MIN"));
  const std::vector<int> math{6, 13}, trig{7, 22}, hyp{9, 22};
  const std::tuple<const char*, const char*, std::vector<int>> unaries[] = {
      {"Sqrt", "SQRT", math},         {"Exp", "EXP", math},
      {"Log", "LOG", math},           {"Abs", "ABS", math},
      {"Neg", "NEG", math},           {"Reciprocal", "RECIP", math},
      {"Floor", "FLOOR", math},       {"Ceil", "CEIL", math},
      {"Erf", "ERF", {9, 13}},        {"Not", "NOT", {1}},
      {"Sin", "SIN", trig},           {"Cos", "COS", trig},
      {"Tan", "TAN", trig},           {"Asin", "ASIN", trig},
      {"Acos", "ACOS", trig},         {"Atan", "ATAN", trig},
      {"Sinh", "SINH", hyp},          {"Cosh", "COSH", hyp},
      {"Asinh", "ASINH", hyp},        {"Acosh", "ACOSH", hyp},
      {"Atanh", "ATANH", hyp},        {"Sign", "SIGN", {9, 13}},
      {"Round", "ROUND", {11, 22}},   {"Softsign", "SOFTSIGN", {1, 22}},
      {"IsNaN", "ISNAN", {9, 13, 20}}};
  for (const auto& [op, u, vs] : unaries) registerImporter(op, vs, unary(u));
  registerImporter("IsInf", {10, 20}, importIsInf);
}

}  // namespace clrt::onnx
