// OnnxParser: reads the model, checks every node, imports into a scratch network and hands it
// over only when no node failed; every problem is reported, each naming its node.
#include "clrt/onnx/parser.h"

#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

void ensureRegistered() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerActivationImporters();
    registerElementwiseImporters();
    registerNnImporters();
    registerShapeImporters();
  });
}

std::string dirOf(const std::string& path) {
  const auto p = path.find_last_of('/');
  return p == std::string::npos ? "" : path.substr(0, p);
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
  for (auto& [op, v] : importerTable()) ops.push_back(op);
  return ops;
}

bool OnnxParser::supportsOperator(const std::string& op) {
  ensureRegistered();
  return importerTable().count(op) != 0;
}

bool OnnxParser::parseFromFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    errors_.push_back({-1, "", "", "cannot open ONNX file '" + path + "'",
                       "check the path; it is relative to the current directory"});
    logf(logger_, Severity::kERROR, errors_.back().toString());
    return false;
  }
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return parse(bytes.data(), bytes.size(), dirOf(path));
}

bool OnnxParser::parse(const void* data, size_t size, const std::string& model_dir) {
  ensureRegistered();
  const size_t before = errors_.size();
  auto modelError = [&](const std::string& reason, const std::string& hint = "") {
    errors_.push_back({-1, "", "", reason, hint});
    logf(logger_, Severity::kERROR, errors_.back().toString());
    return false;
  };
  ::onnx::ModelProto model;
  if (size == 0 || size > static_cast<size_t>(INT32_MAX) ||
      !model.ParseFromArray(data, static_cast<int>(size)))
    return modelError(str("cannot read the model: ", size,
                          " bytes are not a valid ONNX "
                          "ModelProto (truncated or not an ONNX file)"));
  int opset = -1;
  for (auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = static_cast<int>(o.version());
  if (opset < 0) return modelError("the model imports no default-domain (ai.onnx) opset");
  if (opset < 11 || opset > 21)
    return modelError(str("opset ", opset, " is not supported (clrt reads opsets 11 to 21)"),
                      "convert the model with onnx.version_converter");
  const auto& g = model.graph();

  ir::Network scratch;
  std::map<std::string, HostTensor> constants;
  std::map<std::string, int> tensors;
  std::set<std::string> inits;
  for (auto& init : g.initializer()) {
    try {
      constants[init.name()] = tensorFromProto(init, model_dir);
      inits.insert(init.name());
    } catch (const Error& e) {
      modelError(e.what());
    }
  }
  for (auto& in : g.input()) {
    if (inits.count(in.name())) continue;
    try {
      CLRT_CHECK(in.type().has_tensor_type(), kParse, "graph input '", in.name(),
                 "' is not a tensor");
      const auto& tt = in.type().tensor_type();
      const DataType dt = dtypeFromOnnx(tt.elem_type(), "graph input '" + in.name() + "'");
      Dims dims;
      for (auto& d : tt.shape().dim()) dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
      tensors[in.name()] = scratch.addInput(in.name(), dt, dims);
    } catch (const Error& e) {
      modelError(e.what());
    }
  }

  // Every unsupported op first, all at once.
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    const bool known = (n.domain().empty() || n.domain() == "ai.onnx") &&
                       findImporter(n.op_type(), opset) != nullptr;
    if (!known)
      errors_.push_back({i, n.name(), n.op_type(),
                         str("unsupported operator ", n.domain().empty() ? "" : n.domain() + ".",
                             n.op_type(), " (opset ", opset, ")"),
                         "docs/operators.md lists what clrt imports"});
  }
  if (errors_.size() == before) {
    ImportContext ctx(scratch, opset, constants, tensors);
    for (int i = 0; i < g.node_size(); ++i) {
      const auto& n = g.node(i);
      bool inputsOk = true;
      for (auto& in : n.input())
        if (!in.empty() && !tensors.count(in) && !constants.count(in)) inputsOk = false;
      if (!inputsOk && errors_.size() > before) continue;  // fallout of an earlier error
      try {
        CLRT_CHECK(inputsOk, kParse,
                   "an input is not produced by any earlier node, initializer "
                   "or graph input (the graph must be topologically sorted)");
        ctx.begin(n, i);
        (*findImporter(n.op_type(), opset))(ctx);
        ctx.flush();
      } catch (const Error& e) {
        errors_.push_back({i, n.name(), n.op_type(), e.what(), ""});
      } catch (const std::exception& e) {
        errors_.push_back({i, n.name(), n.op_type(), e.what(), ""});
      }
    }
    for (auto& out : g.output()) {
      if (errors_.size() > before) break;
      try {
        int t = -1;
        if (auto it = tensors.find(out.name()); it != tensors.end()) t = it->second;
        CLRT_CHECK(t >= 0 || constants.count(out.name()), kParse, "graph output '", out.name(),
                   "' is not produced by any node");
        if (t < 0) {
          // A constant output: materialise it as a CONSTANT layer under its own name.
          ::onnx::NodeProto node;
          node.add_input(out.name());
          ctx.begin(node, g.node_size());
          t = ctx.input(0);
        } else if (scratch.tensors[t].is_input || scratch.tensors[t].is_output) {
          const int li = scratch.addLayer(ir::LayerKind::kIDENTITY,
                                          scratch.uniqueLayerName(out.name() + "_copy"), {t}, 1,
                                          {scratch.uniqueTensorName(out.name() + "_copy")});
          t = scratch.layers[li].outputs[0];
        }
        scratch.markOutput(t);
      } catch (const Error& e) {
        modelError(e.what());
      }
    }
  }
  if (errors_.size() == before) {
    try {
      scratch.inferShapes();
    } catch (const Error& e) {
      modelError(e.what());
    }
  }
  if (errors_.size() != before) {
    for (size_t i = before; i < errors_.size(); ++i)
      logf(logger_, Severity::kERROR, errors_[i].toString());
    return false;
  }
  net_ = std::move(scratch);
  logf(logger_, Severity::kINFO, "parsed ONNX model: opset ", opset, ", ", g.node_size(),
       " nodes -> ", net_.layers.size(), " layers");
  return true;
}

}  // namespace clrt::onnx
