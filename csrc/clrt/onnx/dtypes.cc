// ImportContext's dtypes at the engine boundary: graph inputs and outputs keep their ONNX dtype
// while layers compute in computeDtype(); values of a narrower ONNX dtype are wrapped back to
// it after each op whose results can leave its range, so that every value is ONNX's.
#include <algorithm>
#include <initializer_list>
#include <limits>

#include "clrt/onnx/importer.h"

namespace clrt::onnx {

using ir::LayerKind;

namespace {

bool isOneOf(const std::string& op, std::initializer_list<const char*> ops) {
  return std::any_of(ops.begin(), ops.end(), [&](const char* o) { return op == o; });
}

// Ops whose outputs hold only values found in their inputs (or in-range constants): no wrap.
bool keepsValues(const std::string& op) {
  return isOneOf(op, {"Identity",
                      "Reshape",
                      "Flatten",
                      "Transpose",
                      "Squeeze",
                      "Unsqueeze",
                      "Concat",
                      "Split",
                      "Slice",
                      "Gather",
                      "GatherElements",
                      "GatherND",
                      "Expand",
                      "Tile",
                      "Pad",
                      "Where",
                      "Max",
                      "Min",
                      "Relu",
                      "Clip",
                      "Dropout",
                      "ScatterND",
                      "ScatterElements",
                      "TopK",
                      "ReduceMax",
                      "ReduceMin",
                      "MaxPool",
                      "DepthToSpace",
                      "SpaceToDepth",
                      "Trilu",
                      "Compress",
                      "ReverseSequence",
                      "Unique",
                      "Sign",
                      "BitwiseAnd",
                      "BitwiseOr",
                      "BitwiseXor",
                      "Resize",
                      "Upsample",
                      "Shape",
                      "Size"});
}

// Ops a UINT64 value computed as INT64 gives exactly: the bits are the same and the op never
// reads them as a signed number.
bool exactOnUint64(const std::string& op) {
  if (isOneOf(op, {"Add", "Sub", "Mul", "Sum", "BitwiseNot", "Equal", "Cast", "CastLike",
                   "ReduceSum", "CumSum"}))
    return true;
  return keepsValues(op) && !isOneOf(op, {"Max", "Min", "Relu", "Clip", "TopK", "ReduceMax",
                                          "ReduceMin", "MaxPool", "Sign", "Resize", "Upsample"});
}

// Ops with index outputs (never the input's dtype) and ops whose outputs take a dtype attribute.
bool outputFollowsInput(const ::onnx::NodeProto& n, int outputIndex) {
  if (isOneOf(n.op_type(), {"Shape", "Size", "ArgMax", "ArgMin", "NonZero", "NonMaxSuppression",
                            "Cast", "CastLike", "MatMulInteger", "ConvInteger", "QuantizeLinear",
                            "DequantizeLinear", "DynamicQuantizeLinear"}))
    return false;
  if (outputIndex > 0 && isOneOf(n.op_type(), {"TopK", "Unique", "MaxPool"})) return false;
  for (const auto& a : n.attribute())
    if (a.name() == "dtype" || a.name() == "to" || a.name() == "output_dtype") return false;
  return true;
}

// The input whose ONNX dtype the outputs have.
int typeInput(const std::string& op) {
  if (op == "Where") return 1;
  if (op == "OneHot") return 2;
  return 0;
}

// Values of these dtypes can leave the range of the dtype in their wider compute dtype. HALF
// values stay in float32 from op to op, rounded to HALF only where they leave the engine or
// are cast: onnxruntime's CPU provider computes HALF ops in float32 and drops the casts between
// them alike, so chains match it bit for bit.
bool needsWrap(DataType logical) {
  return logical != DataType::kDOUBLE && logical != DataType::kUINT64 && logical != DataType::kHALF;
}

}  // namespace

void ImportContext::addInput(const std::string& name, DataType t, const Dims& dims,
                             const std::vector<std::string>& dim_names) {
  const DataType c = computeDtype(t);
  const int in = net_.addInput(name, t, dims);
  net_.tensors[in].dim_names = dim_names;
  if (c == t) {
    tensors_[name] = in;
    return;
  }
  const int li = net_.addLayer(LayerKind::kCAST, net_.uniqueLayerName(name + "_to_compute"), {in},
                               1, {internalName(name + "_" + dtypeName(c))});
  ir::Layer& l = net_.layers[li];
  l.attrs.set("to", static_cast<int64_t>(c));
  l.onnx_nodes.push_back(name);
  net_.tensors[l.outputs[0]].dtype = c;
  net_.tensors[l.outputs[0]].dims = dims;
  tensors_[name] = l.outputs[0];
  logical_[name] = t;
  if (t == DataType::kDOUBLE) doubles.push_back(name);
}

// A narrow-typed constant read as a tensor: the layer holds it in its compute dtype, its ONNX
// one recorded. The host value keeps its ONNX dtype for importers that read it as a constant
// (a DequantizeLinear sharing an INT8 initializer with a Gather folds it as INT8).
int ImportContext::widenConstant(const std::string& name) {
  Const& c = constants_.at(name);
  const HostTensor onnxValue = c.value;
  c.value = onnxValue.castTo(computeDtype(onnxValue.dtype));
  const int id = materialize(name, name);
  c.value = onnxValue;
  logical_[name] = onnxValue.dtype;
  return id;
}

bool ImportContext::keepsNarrowInputs() const {
  const std::string& op = node_->op_type();
  return op == "QuantizeLinear" || op == "DequantizeLinear" || op == "DynamicQuantizeLinear" ||
         op.find("Integer") != std::string::npos || op.rfind("QLinear", 0) == 0;
}

DataType ImportContext::logicalDtype(int i) {
  const std::string& name = node_->input(i);
  if (auto it = logical_.find(name); it != logical_.end()) return it->second;
  if (const HostTensor* v = constant(i)) return v->dtype;
  return net_.tensors[input(i)].dtype;
}

void ImportContext::setLogicalDtype(int outputIndex, DataType t) {
  if (hasOutput(outputIndex)) logical_[node_->output(outputIndex)] = t;
}

int ImportContext::castTensor(int tensor, DataType t) {
  if (net_.tensors[tensor].dtype == t) return tensor;  // already there: no CAST layer
  ir::Layer& l = addInternal(LayerKind::kCAST, {tensor});
  l.attrs.set("to", static_cast<int64_t>(t));
  // Known now: importers read an input's dtype before shape inference reaches the layer.
  net_.tensors[l.outputs[0]].dtype = t;
  return l.outputs[0];
}

namespace {
// Ops whose importers compute UINT64 inputs as unsigned: comparisons, Max, Min and TopK on the
// sign-flipped bits (unsigned order is the signed order of x ^ 2^63), BitShift RIGHT with the
// sign-extended bits masked off, Pow's exponent converted from its unsigned bits.
bool importsUint64(const std::string& op, int inputIndex) {
  if (op == "Pow") return inputIndex == 1;
  return isOneOf(
      op, {"Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Max", "Min", "BitShift", "TopK"});
}
}  // namespace

int ImportContext::unsignedOrder(int tensor) {
  ir::Layer& l = addInternal(
      LayerKind::kELEMENTWISE,
      {tensor, constantTensor(HostTensor::scalarInt64(std::numeric_limits<int64_t>::min()))});
  l.attrs.set("op", "BITWISE_XOR");
  return l.outputs[0];
}

void ImportContext::checkInputDtypes() {
  const std::string& op = node_->op_type();
  if (exactOnUint64(op) || keepsNarrowInputs()) return;
  for (int i = 0; i < node_->input_size(); ++i) {
    const std::string& in = node_->input(i);
    auto it = logical_.find(in);
    if (it != logical_.end() && it->second == DataType::kUINT64 && !importsUint64(op, i))
      reject(ErrorKind::kUnsupported,
             str("input '", in, "' is UINT64, which clrt computes as INT64; ", op,
                 " would differ from ONNX for values of 2^63 and above"),
             "clrt runs UINT64 through data movement, Add, Sub, Mul, bitwise ops and shifts, "
             "comparisons, Max, Min, TopK and Cast; use INT64 (or a narrower type) for " +
                 op);
  }
}

void ImportContext::settleOutputDtypes() {
  const std::string& op = node_->op_type();
  const int from = typeInput(op);
  if (from >= node_->input_size()) return;
  auto src = logical_.find(node_->input(from));
  if (src == logical_.end()) return;
  const DataType logical = src->second;
  for (int i = 0; i < node_->output_size(); ++i) {
    const std::string& o = node_->output(i);
    auto t = tensors_.find(o);
    if (o.empty() || t == tensors_.end() || !outputFollowsInput(*node_, i)) continue;
    const DataType d = net_.tensors[t->second].dtype;
    if (d != computeDtype(logical)) continue;
    logical_[o] = logical;
    if (keepsValues(op) || !needsWrap(logical)) continue;
    // The value computed wide, narrowed to the ONNX dtype and widened again under its name.
    net_.renameTensor(t->second, internalName(o + "_" + dtypeName(d)));
    const int narrow = castTensor(t->second, logical);
    ir::Layer& back = addLayer(LayerKind::kCAST, {narrow}, {o});
    back.attrs.set("to", static_cast<int64_t>(d));
    t->second = back.outputs[0];
  }
  flush();
}

int ImportContext::graphOutput(const std::string& name, int declared) {
  auto it = tensors_.find(name);
  int t = it == tensors_.end() ? -1 : it->second;
  const bool isConst = constants_.count(name) != 0;
  CLRT_CHECK(!sequences_.count(name), kUnsupported, "graph output '", name,
             "' is a sequence: engine outputs are tensors");
  CLRT_CHECK(t >= 0 || isConst, kParse, "graph output '", name, "' is not produced by any node");
  // The value's ONNX dtype as imported; a declared type computed alike (INT16 for INT32, ...)
  // takes its place. A declaration that contradicts the graph (onnxruntime refuses such
  // models) does not convert values.
  DataType want = t >= 0 ? net_.tensors[t].dtype : constants_.at(name).value.dtype;
  if (auto l = logical_.find(name); l != logical_.end()) want = l->second;
  if (declared != 0) {
    try {
      const DataType d = ioDtypeFromOnnx(declared, "");
      if (computeDtype(d) == computeDtype(want)) want = d;
    } catch (const Error&) {
    }
  }
  if (want == DataType::kDOUBLE) doubles.push_back(name);
  if (t < 0) {
    t = materialize(name, internalName(name + "_value"));
  } else if (net_.tensors[t].producer >= 0 &&
             net_.layers[net_.tensors[t].producer].kind == LayerKind::kCONSTANT &&
             !net_.tensors[t].is_output) {
    // The output keeps its ONNX name; the constant feeding it takes an internal one.
    net_.renameTensor(t, internalName(name + "_value"));
  } else if (!net_.tensors[t].is_input && !net_.tensors[t].is_output) {
    if (net_.tensors[t].dtype == want) return t;
    net_.renameTensor(t, internalName(name + "_" + dtypeName(net_.tensors[t].dtype)));
  }
  // An engine output must be computed by a layer: copy inputs, constants and repeated outputs,
  // converting to the output's dtype on the way.
  const bool keepName = net_.findTensor(name) < 0;
  const std::string out = keepName ? name : internalName(name + "_copy");
  const bool cast = net_.tensors[t].dtype != want;
  const int li = net_.addLayer(cast ? LayerKind::kCAST : LayerKind::kIDENTITY,
                               net_.uniqueLayerName(out), {t}, 1, {out});
  ir::Layer& l = net_.layers[li];
  if (cast) l.attrs.set("to", static_cast<int64_t>(want));
  // A narrow float's values are the type's already (infinities, E8M0's 2^-127 included): kept
  // exactly, neither saturated nor rounded up.
  if (cast && isNarrowFloat(want)) {
    l.attrs.set("saturate", int64_t{0});
    if (want == DataType::kE8M0) l.attrs.set("round_mode", std::string("down"));
  }
  l.onnx_nodes.push_back(name);
  net_.tensors[l.outputs[0]].dtype = want;
  net_.tensors[l.outputs[0]].dims = net_.tensors[t].dims;
  // A graph output that is also a graph input: infer() returns it under its ONNX name.
  if (const int holder = net_.findTensor(name); holder >= 0 && net_.tensors[holder].is_input)
    net_.tensors[l.outputs[0]].onnx_name = name;
  return l.outputs[0];
}

}  // namespace clrt::onnx
