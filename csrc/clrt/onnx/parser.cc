// OnnxParser: reads the model, checks and imports every node into a scratch network that is
// handed over only when nothing failed; every problem is reported, each naming its node.
#include "clrt/onnx/parser.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>

#include "clrt/ir/shape_inference.h"
#include "clrt/onnx/functions.h"
#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

// Any opset: an operator version no importer implements is refused by name, node by node.
constexpr int kMinOpset = 1;

void ensureRegistered() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerActivationImporters();
    registerConvImporters();
    registerElementwiseImporters();
    registerMatmulImporters();
    registerReduceImporters();
    registerShapeImporters();
    registerQuantizeImporters();
    registerResizeImporters();
    registerCompositeImporters();
    registerAttentionImporters();
    registerRotaryImporters();
    registerCausalConvImporters();
    registerLinearAttentionImporters();
    registerRecurrentImporters();
    registerControlFlowImporters();
    registerSequenceImporters();
    registerSamplingImporters();
    registerScanImporters();
    registerSpectralImporters();
    registerDataDependentImporters();
  });
}

std::string dirOf(const std::string& path) {
  const auto p = path.find_last_of('/');
  if (p == std::string::npos) return "";
  return p == 0 ? "/" : path.substr(0, p);
}

bool defaultDomain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// A remedy for node errors that did not come with their own.
std::string hintFor(ErrorKind k, int opset) {
  switch (k) {
    case ErrorKind::kUnsupported:
      return "clrt does not import this form of the operator; rewrite or simplify the node "
             "(e.g. with onnxsim)";
    case ErrorKind::kValue:
      return "the input shapes do not fit the node; check the model with "
             "onnx.checker.check_model(model, full_check=True)";
    case ErrorKind::kFile:
      return "external data files must sit in the model's folder";
    default:
      return str("the node does not follow the ONNX spec for opset ", opset,
                 "; check the model with onnx.checker.check_model");
  }
}

const char* kIoTypes =
    "FLOAT, FLOAT16, BFLOAT16, DOUBLE, the FLOAT8 types, FLOAT4E2M1, INT8, UINT8, INT16, UINT16, "
    "INT32, UINT32, INT64, UINT64, INT4, UINT4, INT2, UINT2 or BOOL";

// Network inputs are tensors of known rank and one of kIoTypes.
DataType inputType(const ::onnx::ValueInfoProto& in) {
  const auto& type = in.type();
  const char* kind = type.has_sequence_type()   ? "a sequence"
                     : type.has_optional_type() ? "an optional"
                     : type.has_map_type()      ? "a map"
                                                : "not a tensor";
  CLRT_CHECK(type.has_tensor_type(), kUnsupported, "graph input '", in.name(), "' is ", kind,
             ": engine inputs are tensors");
  const int t = in.type().tensor_type().elem_type();
  try {
    return ioDtypeFromOnnx(t, "");
  } catch (const Error&) {
    fail(ErrorKind::kUnsupported, str("graph input '", in.name(), "' has type ", onnxTypeName(t),
                                      "; network inputs must be ", kIoTypes));
  }
}

Dims inputDims(const ::onnx::ValueInfoProto& in) {
  const auto& tt = in.type().tensor_type();
  CLRT_CHECK(tt.has_shape(), kUnsupported, "graph input '", in.name(),
             "' has no shape: clrt needs at least its rank");
  Dims dims;
  for (const auto& d : tt.shape().dim())
    dims.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : -1);
  return dims;
}

// A graph input's dim_params (TensorRT's parser names the input's dims after them): "" where a
// dim has none; empty when no dim has one.
std::vector<std::string> inputDimNames(const ::onnx::ValueInfoProto& in) {
  std::vector<std::string> names;
  bool any = false;
  for (const auto& d : in.type().tensor_type().shape().dim()) {
    names.push_back(d.has_dim_param() ? d.dim_param() : "");
    any = any || !names.back().empty();
  }
  return any ? names : std::vector<std::string>{};
}

std::string initializerHint(ErrorKind k) {
  if (k == ErrorKind::kFile)
    return "external data files must sit in the model's folder (parse(bytes) reads them relative "
           "to model_dir)";
  if (k == ErrorKind::kUnsupported) return "store the initializer as a supported type";
  return "re-save the model with onnx.save (external data files must lie inside the model's "
         "folder)";
}

std::string versionList(const std::vector<int>& vs) {
  std::string out;
  for (int v : vs) out += (out.empty() ? "" : ", ") + std::to_string(v);
  return out;
}

std::string unsupportedReason(const ::onnx::NodeProto& n, int opset) {
  if (!defaultDomain(n.domain()))
    return str("unsupported operator ", n.domain(), ".", n.op_type(), " (domain '", n.domain(),
               "' is not imported; clrt reads the default ai.onnx domain)");
  const std::vector<int> vs = importedVersions(n.op_type());
  const int v = schemaVersion(n.op_type(), opset);
  if (v == 0 && !schemaVersions().count(n.op_type()))
    return str("unknown operator ", n.op_type(), " (not an ai.onnx operator)");
  if (v == 0)
    return str("operator ", n.op_type(), " is not defined at opset ", opset, " (ONNX adds it at ",
               schemaVersions().at(n.op_type()).front(), ")");
  if (!vs.empty())
    return str("unsupported operator version ", n.op_type(), "-", v, " (selected by opset ", opset,
               "; clrt imports ", n.op_type(), " versions ", versionList(vs), ")");
  return str("unsupported operator ", n.op_type(), " (opset ", opset, ")");
}

std::string unsupportedHint(const ::onnx::NodeProto& n, int opset) {
  if (!defaultDomain(n.domain()))
    return "export without custom/contrib operators (e.g. onnxruntime's optimizer adds them)";
  if (!importedVersions(n.op_type()).empty())
    return "convert the model to an opset that selects one of those versions with "
           "onnx.version_converter.convert_version";
  return "OnnxParser.supported_operators() lists what clrt imports; replace " + n.op_type() +
         " with supported operators";
}

}  // namespace

std::string ParserError::toString() const {
  std::ostringstream os;
  if (node_index >= 0)
    os << "node " << node_index << " (" << (node_name.empty() ? "<unnamed>" : node_name) << ", op "
       << op_type << "): ";
  os << reason;
  if (!hint.empty()) os << ". Hint: " << hint;
  return os.str();
}

std::vector<std::string> OnnxParser::supportedOps() {
  ensureRegistered();
  std::vector<std::string> ops;
  for (const auto& [op, v] : importerTable()) ops.push_back(op);
  for (const std::string& op : functionBodyOps()) ops.push_back(op);  // no importer: disjoint
  std::sort(ops.begin(), ops.end());
  return ops;
}

bool OnnxParser::supportsOperator(const std::string& op) {
  ensureRegistered();
  const auto& body = functionBodyOps();
  return importerTable().count(op) != 0 || std::count(body.begin(), body.end(), op) != 0;
}

bool OnnxParser::supportsModel(const void* data, size_t size, const std::string& model_dir,
                               NodeRuns& runs) {
  const size_t before = errors_.size();
  const bool ok = parse(data, size, model_dir);
  runs.clear();
  if (nodes_ < 0) return ok;
  std::set<int> failed;
  for (size_t i = before; i < errors_.size(); ++i)
    if (errors_[i].node_index >= 0) failed.insert(errors_[i].node_index);
  if (!ok && failed.empty()) return ok;  // a model-level problem (opset, bytes): nothing imports
  std::vector<int> run;
  for (int i = 0; i < nodes_; ++i) {
    if (!failed.count(i)) {
      run.push_back(i);
      continue;
    }
    if (!run.empty()) runs.emplace_back(std::move(run), true);
    run.clear();
  }
  if (!run.empty()) runs.emplace_back(std::move(run), true);
  return ok;
}

bool OnnxParser::parseFromFile(const std::string& path) {
  std::error_code ec;
  std::ifstream f;
  if (std::filesystem::is_regular_file(path, ec)) f.open(path, std::ios::binary);
  if (!f.is_open()) {
    errors_.push_back({-1, "", "",
                       "cannot open ONNX file '" + path + "': it does not exist or is not a file",
                       "check the path (relative paths start at the current directory)"});
    logf(logger_, Severity::kERROR, errors_.back().toString());
    return false;
  }
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return parse(bytes.data(), bytes.size(), dirOf(path));
}

namespace {

// One parse: the scratch network, the import context and what has failed so far.
class GraphImport {
 public:
  GraphImport(const ::onnx::GraphProto& g, int opset, const std::string& dir,
              std::function<void(ParserError)> report)
      : g_(g), opset_(opset), dir_(dir), ctx_(net, opset, dir), report_(std::move(report)) {
    net.indexNames(true);
  }

  ir::Network net;
  std::vector<std::string> unsupported;
  int errors = 0;

  void values();   // initializers and graph inputs
  void nodes();    // every node checked and imported; failures do not stop the walk
  void outputs();  // graph outputs marked in order, then whole-network shape inference
  // DOUBLE graph inputs, initializers and outputs, each named once.
  std::vector<std::string> doubles() const {
    std::vector<std::string> v;
    for (const auto& n : ctx_.doubles)
      if (std::find(v.begin(), v.end(), n) == v.end()) v.push_back(n);
    return v;
  }

 private:
  const ::onnx::GraphProto& g_;
  int opset_;
  std::string dir_;
  ImportContext ctx_;
  std::function<void(ParserError)> report_;
  std::set<std::string> poisoned_;  // values of failed nodes/initializers: readers are skipped
  std::set<std::string> assigned_;  // values defined so far (ONNX assigns each value once)

  void modelError(const std::string& reason, const std::string& hint) {
    ++errors;
    report_({-1, "", "", reason, hint});
  }
  void node(int i);
};

void GraphImport::values() {
  for (const auto& n : g_.node()) {
    for (const auto& o : n.output())
      if (!o.empty()) ctx_.reserveName(o);
    for (const auto& i : n.input())
      if (!i.empty()) ctx_.markConsumed(i);
    ctx_.markSubgraphReads(n);
  }
  for (const auto& o : g_.output()) {
    ctx_.reserveName(o.name());
    ctx_.markConsumed(o.name());
  }
  for (const auto& init : g_.initializer()) {
    ctx_.reserveName(init.name());
    assigned_.insert(init.name());
    if (init.data_type() == ::onnx::TensorProto::DOUBLE) ctx_.doubles.push_back(init.name());
    try {
      ctx_.addConstant(init.name(), tensorFromProto(init, dir_), init.name());
    } catch (const Error& e) {
      poisoned_.insert(init.name());
      modelError(str("initializer ", e.what()), initializerHint(e.kind()));
    }
  }
  for (const auto& in : g_.input()) {
    ctx_.reserveName(in.name());
    if (!assigned_.insert(in.name()).second) continue;  // an initializer listed as an input
    try {
      const DataType t = inputType(in);  // the type first: a sequence has no shape either
      ctx_.addInput(in.name(), t, inputDims(in), inputDimNames(in));
    } catch (const Error& e) {
      poisoned_.insert(in.name());
      modelError(e.what(), str("network inputs need a rank and a type among ", kIoTypes));
    }
  }
}

void GraphImport::nodes() {
  for (int i = 0; i < g_.node_size(); ++i) {
    node(i);
    for (const auto& o : g_.node(i).output())
      if (!o.empty()) assigned_.insert(o);
  }
}

void GraphImport::node(int i) {
  const auto& n = g_.node(i);
  auto nodeError = [&](const std::string& reason, const std::string& hint) {
    ++errors;
    report_({i, n.name(), n.op_type(), reason, hint});
    for (const auto& o : n.output())
      if (!o.empty() && !ctx_.defined(o)) poisoned_.insert(o);
  };
  const Importer* imp = defaultDomain(n.domain()) ? findImporter(n.op_type(), opset_) : nullptr;
  if (!imp) {
    unsupported.push_back(n.op_type());
    return nodeError(unsupportedReason(n, opset_), unsupportedHint(n, opset_));
  }
  std::set<std::string> outs;
  for (const auto& o : n.output())
    if (!o.empty() && (assigned_.count(o) || !outs.insert(o).second))
      return nodeError(str("output '", o,
                           "' is already defined by a graph input, an initializer or another "
                           "output"),
                       "an ONNX graph assigns every value exactly once");
  std::string missing;
  for (const auto& in : n.input()) {
    if (in.empty() || ctx_.defined(in)) continue;
    if (poisoned_.count(in)) {  // an earlier error covers this node: no second report
      for (const auto& o : n.output())
        if (!o.empty()) poisoned_.insert(o);
      return;
    }
    if (missing.empty()) missing = in;
  }
  if (!missing.empty())
    return nodeError(str("input '", missing,
                         "' is not produced by any earlier node, initializer or graph input"),
                     "the graph must be topologically sorted (onnxsim or onnx.compose can fix it)");
  try {
    ctx_.begin(n, i);
    (*imp)(ctx_);
    ctx_.finish();
  } catch (const ImportError& e) {
    ctx_.abandon();
    nodeError(e.what(), e.hint().empty() ? hintFor(e.kind(), opset_) : e.hint());
  } catch (const Error& e) {
    ctx_.abandon();
    nodeError(e.what(), hintFor(e.kind(), opset_));
  } catch (const std::exception& e) {
    ctx_.abandon();
    nodeError(str("internal error while importing: ", e.what()), "please report this model");
  }
}

void GraphImport::outputs() {
  if (g_.output_size() == 0)
    modelError("the graph declares no outputs", "an engine needs at least one output");
  for (const auto& out : g_.output()) {
    try {
      const int declared = out.type().has_tensor_type() ? out.type().tensor_type().elem_type() : 0;
      net.markOutput(ctx_.graphOutput(out.name(), declared));
    } catch (const Error& e) {
      modelError(e.what(),
                 "every graph output must be computed by a node, or be a graph input or an "
                 "initializer");
    }
  }
  if (errors) return;
  try {
    net.inferShapes();
    ir::markShapeTensors(net);
  } catch (const Error& e) {
    modelError(e.what(), hintFor(e.kind(), opset_));
  }
}

}  // namespace

bool OnnxParser::parse(const void* data, size_t size, const std::string& model_dir) {
  ensureRegistered();
  auto report = [this](ParserError e) {
    logf(logger_, Severity::kERROR, e.toString());
    errors_.push_back(std::move(e));
  };
  auto modelError = [&](const std::string& reason, const std::string& hint) {
    report({-1, "", "", reason, hint});
    return false;
  };
  nodes_ = -1;
  try {
    ::onnx::ModelProto model;
    if (size == 0 || !data || size > static_cast<size_t>(INT32_MAX) ||
        !model.ParseFromArray(data, static_cast<int>(size)))
      return modelError(
          str("cannot read the model: ", size,
              " bytes are not a valid ONNX ModelProto (truncated or not an ONNX file)"),
          size > static_cast<size_t>(INT32_MAX)
              ? "models over 2 GB must keep their weights in external data files"
              : "check that the bytes are a complete .onnx file (onnx.load reads it)");
    nodes_ = model.graph().node_size();
    if (const int n = escapeModelText(model))
      logf(logger_, Severity::kWARNING, n,
           " name(s) or string attribute(s) of the model are not valid UTF-8; their other bytes "
           "are written as \\xNN (as Python's errors='backslashreplace' shows them)");
    int opset = -1;
    for (const auto& o : model.opset_import())
      if (defaultDomain(o.domain())) opset = static_cast<int>(o.version());
    if (opset < 0)
      return modelError("the model imports no default-domain (ai.onnx) opset",
                        "is this an ONNX model? onnx.checker.check_model says more");
    if (opset < kMinOpset || opset > maxKnownOpset())
      return modelError(str("opset ", opset, " is not supported (clrt reads opsets ", kMinOpset,
                            " to ", maxKnownOpset(), ")"),
                        "convert the model with onnx.version_converter.convert_version");
    std::vector<std::string> fnErrors;
    if (const int calls = inlineFunctions(model, opset, fnErrors))
      logf(logger_, Severity::kVERBOSE, "expanded ", calls,
           " call(s) of the model's local functions or of ONNX function bodies");
    for (const auto& e : fnErrors)
      report(
          {-1, "", "", e, "onnx.inliner.inline_local_functions(model) shows the expanded model"});
    if (!fnErrors.empty()) return false;
    GraphImport gi(model.graph(), opset, model_dir, report);
    gi.values();
    gi.nodes();
    if (!gi.errors) gi.outputs();
    if (gi.errors) {
      std::string ops;
      for (const auto& op : gi.unsupported) ops += (ops.empty() ? "" : ", ") + op;
      logf(logger_, Severity::kINFO, "ONNX parse failed with ", gi.errors, " error(s)",
           ops.empty() ? "" : "; unsupported operators: " + ops, "; the network is left unchanged");
      return false;
    }
    if (!gi.doubles().empty()) {
      std::string names;
      for (const auto& n : gi.doubles()) names += (names.empty() ? "'" : ", '") + n + "'";
      logf(logger_, Severity::kWARNING, "DOUBLE tensors ", names,
           " are computed in FLOAT (float32): their values carry float32's precision and "
           "range; engine inputs and outputs stay DOUBLE");
    }
    gi.net.indexNames(false);  // the user's network is edited directly from here on
    net_ = std::move(gi.net);
    net_.onnx_model = std::make_shared<const std::string>(static_cast<const char*>(data), size);
    net_.onnx_dir = model_dir;
    for (int t : net_.outputs)
      if (!net_.tensors[t].onnx_name.empty())
        logf(logger_, Severity::kINFO, "graph output '", net_.tensors[t].onnx_name,
             "' is also a graph input: the engine's output tensor is named '", net_.tensors[t].name,
             "' (engine I/O names are unique); infer() returns it as '", net_.tensors[t].onnx_name,
             "'");
    logf(logger_, Severity::kINFO, "parsed ONNX model (opset ", opset,
         model.producer_name().empty() ? "" : ", from " + model.producer_name(),
         "): ", model.graph().node_size(), " nodes -> ", net_.layers.size(), " layers, ",
         net_.inputs.size(), " inputs, ", net_.outputs.size(), " outputs");
    return true;
  } catch (const std::exception& e) {
    return modelError(str("internal error while parsing: ", e.what()), "please report this model");
  }
}

}  // namespace clrt::onnx
