// OnnxParser and ParserError: ONNX bytes or files into an INetworkDefinition (GIL released).
#include <filesystem>

#include "clrt/onnx/parser.h"
#include "clrt/python/bindings.h"

namespace clrt::python {
namespace {

// TensorRT's nvonnxparser::ErrorCode numbering.
enum class ErrorCode : int32_t {
  kSUCCESS = 0,
  kINTERNAL_ERROR = 1,
  kMEM_ALLOC_FAILED = 2,
  kMODEL_DESERIALIZE_FAILED = 3,
  kINVALID_VALUE = 4,
  kINVALID_GRAPH = 5,
  kINVALID_NODE = 6,
  kUNSUPPORTED_GRAPH = 7,
  kUNSUPPORTED_NODE = 8,
  kUNSUPPORTED_NODE_ATTR = 9,
  kUNSUPPORTED_NODE_INPUT = 10,
  kUNSUPPORTED_NODE_DATATYPE = 11,
  kUNSUPPORTED_NODE_DYNAMIC = 12,
  kUNSUPPORTED_NODE_SHAPE = 13,
  kREFIT_FAILED = 14,
};

// TensorRT 10.0's OnnxParserFlag: NATIVE_INSTANCENORM, on by default, is how clrt always imports
// InstanceNormalization (its own NORMALIZATION layers); the plugin path it turns off does not
// exist here.
enum class OnnxParserFlag : int32_t { kNATIVE_INSTANCENORM = 0 };
constexpr uint32_t kParserFlags = 1u << static_cast<int>(OnnxParserFlag::kNATIVE_INSTANCENORM);

void refuseWithoutNativeInstanceNorm(const char* what) {
  fail(ErrorKind::kUnsupported,
       str("OnnxParser.", what,
           ": OnnxParserFlag.NATIVE_INSTANCENORM cannot be turned off; clrt imports "
           "InstanceNormalization with its own layers and has no plugin to use instead"));
}

ErrorCode codeOf(const onnx::ParserError& e) {
  if (e.node_index < 0) return ErrorCode::kMODEL_DESERIALIZE_FAILED;
  if (!e.op_type.empty() && !onnx::OnnxParser::supportsOperator(e.op_type))
    return ErrorCode::kUNSUPPORTED_NODE;
  return ErrorCode::kINVALID_NODE;
}

// The parser keeps the network (and the logger it reports to) alive.
struct Parser {
  NetPtr network;
  py::object logger;
  std::unique_ptr<onnx::OnnxParser> impl;
};

std::string pathString(const py::object& path) {
  return py::module_::import("os").attr("fspath")(path).cast<std::string>();
}

// The directory of external data: `path` is the model file or its folder (none: the cwd).
std::string modelDir(const py::object& path) {
  if (path.is_none()) return {};
  std::filesystem::path f(pathString(path));
  return std::filesystem::is_directory(f) ? f.string() : f.parent_path().string();
}

bool parseBytes(Parser& p, const py::object& model, const py::object& path) {
  const std::string dir = modelDir(path);
  BufferView view(model, false, "OnnxParser.parse model");
  py::gil_scoped_release release;
  return p.impl->parse(view.data(), view.size(), dir);
}

py::tuple supportsModel(Parser& p, const py::object& model, const py::object& path) {
  const std::string dir = modelDir(path);
  BufferView view(model, false, "OnnxParser.supports_model model");
  onnx::OnnxParser::NodeRuns runs;
  bool ok;
  {
    py::gil_scoped_release release;
    ok = p.impl->supportsModel(view.data(), view.size(), dir, runs);
  }
  py::list groups;
  for (const auto& [nodes, good] : runs) groups.append(py::make_tuple(py::cast(nodes), good));
  return py::make_tuple(ok, groups);
}

}  // namespace

void bind_parser(py::module_& m) {
  py::enum_<ErrorCode>(m, "ErrorCode", "TensorRT's ONNX parser error codes.")
      .value("SUCCESS", ErrorCode::kSUCCESS)
      .value("INTERNAL_ERROR", ErrorCode::kINTERNAL_ERROR)
      .value("MEM_ALLOC_FAILED", ErrorCode::kMEM_ALLOC_FAILED)
      .value("MODEL_DESERIALIZE_FAILED", ErrorCode::kMODEL_DESERIALIZE_FAILED)
      .value("INVALID_VALUE", ErrorCode::kINVALID_VALUE)
      .value("INVALID_GRAPH", ErrorCode::kINVALID_GRAPH)
      .value("INVALID_NODE", ErrorCode::kINVALID_NODE)
      .value("UNSUPPORTED_GRAPH", ErrorCode::kUNSUPPORTED_GRAPH)
      .value("UNSUPPORTED_NODE", ErrorCode::kUNSUPPORTED_NODE)
      .value("UNSUPPORTED_NODE_ATTR", ErrorCode::kUNSUPPORTED_NODE_ATTR)
      .value("UNSUPPORTED_NODE_INPUT", ErrorCode::kUNSUPPORTED_NODE_INPUT)
      .value("UNSUPPORTED_NODE_DATATYPE", ErrorCode::kUNSUPPORTED_NODE_DATATYPE)
      .value("UNSUPPORTED_NODE_DYNAMIC", ErrorCode::kUNSUPPORTED_NODE_DYNAMIC)
      .value("UNSUPPORTED_NODE_SHAPE", ErrorCode::kUNSUPPORTED_NODE_SHAPE)
      .value("REFIT_FAILED", ErrorCode::kREFIT_FAILED);

  py::enum_<OnnxParserFlag>(m, "OnnxParserFlag",
                            "NATIVE_INSTANCENORM: always on in clrt (turning it off raises "
                            "clrt.UnsupportedError).")
      .value("NATIVE_INSTANCENORM", OnnxParserFlag::kNATIVE_INSTANCENORM);

  using E = onnx::ParserError;
  py::class_<E>(m, "ParserError", "One problem found by the parser, naming the node.")
      .def("code", &codeOf)
      .def("desc",
           [](const E& e) {
             return pyText(e.hint.empty() ? e.reason : e.reason + ". Hint: " + e.hint);
           })
      .def(
          "node", [](const E& e) { return e.node_index; }, "Node index, -1 for the model.")
      .def("node_name", [](const E& e) { return pyText(e.node_name); })
      .def("node_operator", [](const E& e) { return pyText(e.op_type); })
      .def("hint", [](const E& e) { return pyText(e.hint); })
      .def("file", [](const E&) { return std::string(); })
      .def("line", [](const E&) { return 0; })
      .def("func", [](const E&) { return std::string(); })
      .def("__str__", [](const E& e) { return pyText(e.toString()); })
      .def("__repr__",
           [](const E& e) { return pyText("<clrt.ParserError " + e.toString() + ">"); });

  py::class_<Parser>(m, "OnnxParser", "Imports ONNX models into a network (TensorRT's OnnxParser).")
      .def(py::init([](const NetPtr& network, const py::object& logger) {
             ILogger* log = loggerOf(logger);
             return Parser{network, logger, std::make_unique<onnx::OnnxParser>(*network->net, log)};
           }),
           py::arg("network"), py::arg("logger"))
      .def("parse", &parseBytes, py::arg("model"), py::arg("path") = py::none(),
           "Parses serialized ONNX bytes; `path` (the model file or its folder) locates "
           "external data. False on failure, with get_error(i) saying why.")
      .def("supports_model", &supportsModel, py::arg("model"), py::arg("path") = py::none(),
           "(supported, [(node indices, True), ...]): parses the model as parse() does, and "
           "groups the graph's nodes into runs of consecutive nodes that import; the nodes "
           "that failed (get_error(i) says why) are left out.")
      .def(
          "parse_from_file",
          [](Parser& p, const py::object& path) {
            const std::string f = pathString(path);
            py::gil_scoped_release release;
            return p.impl->parseFromFile(f);
          },
          py::arg("model"))
      .def_property_readonly("num_errors", [](const Parser& p) { return p.impl->errors().size(); })
      .def(
          "get_error",
          [](const Parser& p, int64_t i) {
            const auto& errs = p.impl->errors();
            if (i < 0 || i >= static_cast<int64_t>(errs.size()))
              throw py::index_error(str("error index ", i, " out of range [0, ", errs.size(), ")"));
            return errs[i];
          },
          py::arg("index"))
      .def("clear_errors", [](Parser& p) { p.impl->clearErrors(); })
      .def_static("supports_operator", &onnx::OnnxParser::supportsOperator, py::arg("op_type"))
      .def_static("supported_operators", &onnx::OnnxParser::supportedOps,
                  "clrt's list: every ONNX op type the parser imports.")
      .def_property(
          "flags", [](const Parser&) { return kParserFlags; },
          [](Parser&, uint32_t f) {
            if (!(f & kParserFlags)) refuseWithoutNativeInstanceNorm("flags");
            CLRT_CHECK(f == kParserFlags, kValue, "OnnxParser.flags: ", f,
                       " sets bits of no OnnxParserFlag (NATIVE_INSTANCENORM is bit 0)");
          },
          "Bit mask of OnnxParserFlag values: always NATIVE_INSTANCENORM (1).")
      .def(
          "set_flag", [](Parser&, OnnxParserFlag) {}, py::arg("flag"),
          "NATIVE_INSTANCENORM is already on (clrt's only import of InstanceNormalization).")
      .def(
          "clear_flag",
          [](Parser&, OnnxParserFlag) { refuseWithoutNativeInstanceNorm("clear_flag"); },
          py::arg("flag"), "Raises clrt.UnsupportedError: NATIVE_INSTANCENORM stays on.")
      .def(
          "get_flag", [](const Parser&, OnnxParserFlag) { return true; }, py::arg("flag"))
      .def("__enter__", [](const py::object& self) { return self; })
      .def("__exit__", [](const py::object&, const py::args&) { return false; });
}

}  // namespace clrt::python
