// The import context handed to every op importer, and the importer registry.
#pragma once

#include <onnx/onnx_pb.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "clrt/core/error.h"
#include "clrt/ir/network.h"

namespace clrt::onnx {

// Converts an ONNX TensorProto (raw or typed fields, or external data under `dir`) to a host
// tensor. Throws kParse naming the tensor.
HostTensor tensorFromProto(const ::onnx::TensorProto& t, const std::string& dir);
DataType dtypeFromOnnx(int onnxType, const std::string& what);  // throws kParse

class ImportContext {
 public:
  ImportContext(ir::Network& net, int opset, std::map<std::string, HostTensor>& constants,
                std::map<std::string, int>& tensors)
      : net_(net), opset_(opset), constants_(constants), tensors_(tensors) {}

  void begin(const ::onnx::NodeProto& node, int index);
  const ::onnx::NodeProto& node() const { return *node_; }
  int opset() const { return opset_; }
  int numInputs() const;                    // counting trailing empty names out
  bool hasInput(int i) const;               // present and non-empty
  int input(int i);                         // tensor id; materialises constants; kParse if absent
  const HostTensor* constant(int i) const;  // value when input i is a known constant
  const HostTensor& requireConstant(int i, const char* what) const;  // kParse when not constant
  int numOutputs() const;                                            // non-empty output names
  bool outputUsed(int i) const;

  int64_t attrInt(const std::string& name, int64_t def) const;
  float attrFloat(const std::string& name, float def) const;
  std::string attrString(const std::string& name, const std::string& def) const;
  std::vector<int64_t> attrInts(const std::string& name, std::vector<int64_t> def = {}) const;
  bool hasAttr(const std::string& name) const;
  const ::onnx::AttributeProto* attr(const std::string& name) const;

  // Adds a layer whose outputs are the node's outputs (or fresh internal tensors when
  // `internal`), infers their shapes right away, and records the ONNX node.
  ir::Layer& add(ir::LayerKind kind, const std::vector<int>& inputs, bool internal = false,
                 int nOutputs = -1);
  int output(const ir::Layer& l, int i = 0) const { return l.outputs.at(i); }
  // A node output defined as a known constant (Constant nodes): no layer is created.
  void defineConstant(int outputIndex, HostTensor value);
  // Dims/dtype of a tensor, with shapes of earlier layers of this node already inferred.
  const ir::Tensor& tensor(int id) {
    flush();
    return net_.tensors.at(id);
  }
  void flush();  // infers shapes of layers added since the last flush
  ir::Network& net() { return net_; }
  [[noreturn]] void unsupported(const std::string& why) const {
    fail(ErrorKind::kUnsupported, why);
  }

 private:
  ir::Network& net_;
  int opset_;
  std::map<std::string, HostTensor>& constants_;
  std::map<std::string, int>& tensors_;
  const ::onnx::NodeProto* node_ = nullptr;
  int index_ = 0;
  std::string layerName_;
  int sub_ = 0;
  std::vector<int> pending_;
  void inferOne(int li);
};

using Importer = std::function<void(ImportContext&)>;

// op type -> (since version, importer); the largest since <= opset wins.
std::map<std::string, std::vector<std::pair<int, Importer>>>& importerTable();
const Importer* findImporter(const std::string& op, int opset);

// Family registrations (importers/*.cc).
void registerActivationImporters();
void registerElementwiseImporters();
void registerNnImporters();
void registerShapeImporters();

}  // namespace clrt::onnx
