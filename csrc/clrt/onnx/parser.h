// ONNX ModelProto -> ir::Network. One importer per op (onnx/importers/*.cc), every node checked
// before anything is built, all problems reported together.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "clrt/core/logger.h"
#include "clrt/ir/network.h"

namespace clrt::onnx {

struct ParserError {
  int node_index = -1;    // -1 for model-level problems (bad bytes, opset, missing file)
  std::string node_name;  // may be empty
  std::string op_type;
  std::string reason;
  std::string hint;  // a remedy, when one exists
  // "node 12 (Conv_12, op Conv): <reason>. Hint: <hint>"
  std::string toString() const;
};

// Refit by name: the float initializers of a serialized model (name, dims, dtype), and the model
// with some initializers' values replaced (raw little-endian bytes of the initializer's dtype and
// size; kValue naming the initializer otherwise).
struct InitializerInfo {
  std::string name;
  Dims dims;
  int onnx_type = 0;  // TensorProto.DataType: FLOAT, FLOAT16, DOUBLE or BFLOAT16
};
std::vector<InitializerInfo> floatInitializers(const std::string& model);
std::string replaceInitializers(const std::string& model,
                                const std::map<std::string, std::string>& values);

class OnnxParser {
 public:
  OnnxParser(ir::Network& network, ILogger* logger) : net_(network), logger_(logger) {}
  // model_dir resolves external-data files; empty means the current directory.
  // Returns false and records errors when anything fails; the network is then left unchanged.
  bool parse(const void* data, size_t size, const std::string& model_dir = "");
  bool parseFromFile(const std::string& path);
  // TensorRT's supports_model: parse() (the network receives the model when it is supported),
  // and the graph's nodes in runs of consecutive nodes that import (index lists, each with true:
  // it imported), the nodes that failed left out. No runs when the failure names no node.
  using NodeRuns = std::vector<std::pair<std::vector<int>, bool>>;
  bool supportsModel(const void* data, size_t size, const std::string& model_dir, NodeRuns& runs);
  const std::vector<ParserError>& errors() const { return errors_; }
  void clearErrors() { errors_.clear(); }
  // The op types clrt can import (for the support matrix and supports_operator()).
  static std::vector<std::string> supportedOps();
  static bool supportsOperator(const std::string& op_type);

 private:
  ir::Network& net_;
  ILogger* logger_;
  std::vector<ParserError> errors_;
  int nodes_ = -1;  // the last parse()'s graph nodes; -1 when its bytes were no model
};

}  // namespace clrt::onnx
