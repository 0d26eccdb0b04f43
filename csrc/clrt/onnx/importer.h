// The import context handed to every op importer, the importer registry and TensorProto reading.
#pragma once

#include <onnx/onnx_pb.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "clrt/core/error.h"
#include "clrt/ir/network.h"

namespace clrt::onnx {

// A node-level failure with a remedy: the parser files the reason and the hint separately.
class ImportError : public Error {
 public:
  ImportError(ErrorKind kind, const std::string& reason, std::string hint)
      : Error(kind, reason), hint_(std::move(hint)) {}
  const std::string& hint() const { return hint_; }

 private:
  std::string hint_;
};

[[noreturn]] inline void reject(ErrorKind kind, const std::string& reason,
                                const std::string& hint = "") {
  throw ImportError(kind, reason, hint);
}

// Converts an ONNX TensorProto (raw or typed fields, or external data under `dir`) to a host
// tensor; DOUBLE is narrowed to FLOAT. Throws kParse/kFile/kUnsupported naming the tensor.
HostTensor tensorFromProto(const ::onnx::TensorProto& t, const std::string& dir);
// Host tensors: FLOAT, FLOAT16, DOUBLE (read as FLOAT), INT8/16/32/64, UINT8/16/32/64, BOOL;
// else kUnsupported naming the ONNX type.
DataType dtypeFromOnnx(int onnxType, const std::string& what);
// Engine inputs/outputs and Cast targets: the same types, DOUBLE as DOUBLE.
DataType ioDtypeFromOnnx(int onnxType, const std::string& what);
std::string onnxTypeName(int onnxType);  // "FLOAT", "STRING", "INT4", or "type 42"

// Bytes that are not UTF-8 written as \xNN, as Python's errors='backslashreplace' shows them.
std::string escapeUtf8(const std::string& s);
// Every name and string attribute of the model escaped so (external data locations are file
// names and stay as they are): names then reach Python, logs and engines as valid text and are
// looked up in the form Python shows them. Returns how many strings changed.
int escapeModelText(::onnx::ModelProto& model);

class ImportContext {
 public:
  ImportContext(ir::Network& net, int opset, std::string modelDir)
      : net_(net), opset_(opset), modelDir_(std::move(modelDir)) {}

  // ---- graph setup (the parser) ----
  // A host-known value (initializer or Constant output); `origin` names it in onnx_nodes.
  void addConstant(const std::string& name, HostTensor value, const std::string& origin);
  // A graph input of any boundary dtype; layers read it converted to computeDtype(t).
  // `dim_names`: the graph input's dim_params ("" where a dim has none; empty: none at all).
  void addInput(const std::string& name, DataType t, const Dims& dims,
                const std::vector<std::string>& dim_names = {});
  void reserveName(const std::string& name) { reserved_.insert(name); }  // internal names avoid
  void markConsumed(const std::string& name) { consumed_.insert(name); }
  bool defined(const std::string& name) const;
  // The tensor to mark as the network output `name`; inserts an IDENTITY layer when the value
  // is a graph input, an initializer/constant or already an output.
  // `declared` (an ONNX type, 0 for none) is the engine output's dtype: a CAST converts to it.
  int graphOutput(const std::string& name, int declared = 0);

  // ---- one node at a time ----
  void begin(const ::onnx::NodeProto& node, int index);
  void finish();   // infers the node's shapes; every node output must be defined by now
  void abandon();  // forgets the node's outputs, so that nodes reading them are skipped

  const ::onnx::NodeProto& node() const { return *node_; }
  const std::string& label() const { return label_; }  // node name, or "<op>_<index>"
  int opset() const { return opset_; }
  const std::string& modelDir() const { return modelDir_; }

  // Inputs: `i` counts ONNX inputs; absent optional inputs have empty names.
  int numInputs() const;                    // trailing empty names not counted
  bool hasInput(int i) const;               // present and non-empty
  int input(int i);                         // tensor id; materialises constants; kParse if absent
  Dims inputDims(int i);                    // dims (rank always known; -1 dims dynamic)
  const HostTensor* constant(int i) const;  // value when input i is known on the host
  const HostTensor& requireConstant(int i, const std::string& what) const;  // else kUnsupported
  std::vector<int64_t> constInts(int i, const std::string& what) const;     // requireConstant
  float constScalar(int i, const std::string& what) const;                  // one-element constant

  // Outputs.
  int numOutputs() const;        // trailing empty names not counted
  bool hasOutput(int i) const;   // present and non-empty
  bool outputUsed(int i) const;  // read by a later node or a graph output

  // Attributes; a present attribute of the wrong type is a kParse error naming it.
  bool hasAttr(const std::string& name) const { return attr(name) != nullptr; }
  const ::onnx::AttributeProto* attr(const std::string& name) const;
  int64_t attrInt(const std::string& name, int64_t def) const;
  float attrFloat(const std::string& name, float def) const;
  std::string attrString(const std::string& name, const std::string& def) const;
  std::vector<int64_t> attrInts(const std::string& name, std::vector<int64_t> def = {}) const;
  int64_t requireAttrInt(const std::string& name) const;
  // A 0/1 switch (keepdims, ceil_mode, ...); any other value is a kParse error naming it.
  int64_t attrFlag(const std::string& name, int64_t def) const;

  // Adds a layer whose outputs are the node's outputs (all of them unless nOutputs >= 0) and
  // records the node in onnx_nodes; shapes are inferred at the next add/inputDims/finish.
  ir::Layer& add(ir::LayerKind kind, const std::vector<int>& inputs, int nOutputs = -1);
  // A layer whose output k is the node's output nodeOutputs[k], or a fresh internal tensor where
  // that is -1 or the node leaves the output out (a multi-layer node's outputs come from
  // several layers).
  ir::Layer& addMapped(ir::LayerKind kind, const std::vector<int>& inputs,
                       const std::vector<int>& nodeOutputs);
  // The same with fresh internal output tensors (helper layers of a multi-layer node).
  ir::Layer& addInternal(ir::LayerKind kind, const std::vector<int>& inputs, int nOutputs = 1);
  int constantTensor(HostTensor value);  // an internal CONSTANT layer; its output tensor id
  // A node output defined as a known constant (Constant nodes): no layer until it is read.
  void defineConstant(int outputIndex, HostTensor value);
  ir::Network& net() { return net_; }

  // ---- subgraphs (onnx/subgraph.cc): If branches, Loop and Scan bodies ----
  // A value crossing a subgraph boundary: a tensor id (-1 when only host-known) and its value
  // when known on the host.
  struct Value {
    int tensor = -1;
    std::optional<HostTensor> constant;
  };
  // Imports the nodes of `g` into the network as part of the current node. `inputs` bind g's
  // inputs in order; other names resolve to the enclosing graphs' values; g's own names are
  // renamed where they would clash (a body imported once per iteration). Returns g's outputs.
  // Errors name `what` (e.g. "then_branch", "body iteration 3") and the inner node; `tag` (e.g.
  // "it3") keeps the layer and value names of repeated imports distinct.
  std::vector<Value> importSubgraph(const ::onnx::GraphProto& g, const std::vector<Value>& inputs,
                                    const std::string& what, const std::string& tag = "");
  // Defines node output i as v: a constant, or an IDENTITY layer of its tensor.
  void defineOutput(int i, const Value& v);
  int tensorOf(const Value& v);  // v's tensor, materialising a constant
  Dims tensorDims(int tensor);   // after inferring the pending layers' shapes
  // Marks the outer-scope names that `node`'s subgraphs read as consumed (the parser's pass
  // over the main graph).
  void markSubgraphReads(const ::onnx::NodeProto& node);

  // Sequence values (importers/sequence.cc): import-time lists of tensors, never engine I/O.
  bool isSequence(int i) const;                   // input i names a sequence
  const std::vector<int>& sequence(int i) const;  // its elements; kUnsupported if not a sequence
  void defineSequence(int outputIndex, std::vector<int> elements);

  // Dtypes (onnx/dtypes.cc). Tensors hold compute dtypes (core/types.h computeDtype); the ONNX
  // dtype of a value computed in a wider one is its "logical" dtype.
  DataType logicalDtype(int i);  // of input i: its ONNX dtype as far as clrt knows it
  void setLogicalDtype(int outputIndex, DataType t);
  int castTensor(int tensor, DataType t);  // an internal CAST's output (tensor if already t)
  // A UINT64 value held as INT64 with its top bit flipped: signed order of the result is the
  // unsigned order of the value (and flipping again gives the value back).
  int unsignedOrder(int tensor);
  // The ONNX names of DOUBLE graph inputs, outputs and initializers (computed in FLOAT).
  std::vector<std::string> doubles;

 private:
  struct Const {
    HostTensor value;
    std::string origin;
  };
  ir::Network& net_;
  int opset_;
  std::string modelDir_;
  std::map<std::string, Const> constants_;
  std::map<std::string, int> tensors_;  // ONNX value name -> tensor id
  std::set<std::string> reserved_, consumed_;
  std::map<int, HostTensor> folded_;  // tensor id -> value computed on the host while importing
  const ::onnx::NodeProto* node_ = nullptr;
  int index_ = 0;
  std::string label_;
  int sub_ = 0;
  std::vector<int> pending_;
  std::map<std::string, DataType> logical_;  // ONNX name -> dtype where the tensor's is wider
  std::map<std::string, int> narrowed_;      // ONNX name -> its value cast back to logical_
  std::map<std::string, std::vector<int>> sequences_;  // ONNX name -> element tensors

  ir::Layer& addLayer(ir::LayerKind kind, const std::vector<int>& inputs,
                      std::vector<std::string> names);
  int materialize(const std::string& name, const std::string& tensorName);
  std::string internalName(const std::string& base) const;
  const HostTensor* valueOf(int tensor) const;
  void flush();
  void inferOne(int layer);
  void checkInputDtypes();    // before a node: what its inputs' compute dtypes cannot do exactly
  void settleOutputDtypes();  // after a node: its outputs' logical dtypes, wrapped where needed
  bool keepsNarrowInputs() const;  // Q/DQ-style ops that read INT8/UINT8 as they are
  int widenConstant(const std::string& name);
  [[noreturn]] void badAttr(const std::string& name, const char* expected) const;
};

using Importer = std::function<void(ImportContext&)>;

// ONNX versions each operator: a model's opset selects the schema with the largest since-version
// <= opset. Importers are registered for the exact schema versions whose semantics they
// implement, so a later change (an attribute turned input, a new default) is never imported with
// the old meaning.
const std::map<std::string, std::vector<int>>& schemaVersions();  // schemas.cc (generated)
int maxKnownOpset();  // the newest opset the schema table knows
// Calls f on each graph attribute of n (If branches, Loop and Scan bodies) (subgraph.cc).
void forEachSubgraph(::onnx::NodeProto& n, const std::function<void(::onnx::GraphProto&)>& f);
// Renames the values of g (node inputs and outputs, graph inputs, outputs and initializers, and
// the same in nested graphs) by `to` (subgraph.cc).
void renameValues(::onnx::GraphProto& g, const std::map<std::string, std::string>& to);

// A function body ONNX defines for an operator (schema_functions.cc, generated): `since` is the
// schema's since-version, `opset` the ai.onnx opset the body is written for, `hex` a serialized
// FunctionProto in hex digits.
struct SchemaFunction {
  const char* op;
  int since;
  int opset;
  const char* hex;
};
const std::vector<SchemaFunction>& schemaFunctions();
// The since-version of `op`'s schema at `opset`; 0 when the op is not defined there (unknown, or
// introduced later).
int schemaVersion(const std::string& op, int opset);

// op type -> (schema version, importer).
std::map<std::string, std::vector<std::pair<int, Importer>>>& importerTable();
void registerImporter(const std::string& op, const std::vector<int>& versions, Importer f);
const Importer* findImporter(const std::string& op, int opset);
std::vector<int> importedVersions(const std::string& op);  // ascending; empty if none

// Family registrations (importers/*.cc); the parser calls each once.
void registerActivationImporters();
void registerConvImporters();
void registerElementwiseImporters();
void registerMatmulImporters();
void registerReduceImporters();
void registerShapeImporters();
void registerResizeImporters();     // importers/resize.cc: Resize, Upsample, Pad
void registerCompositeImporters();  // importers/composite.cc: LpNormalization, ... EyeLike
void registerQuantizeImporters();   // importers/quantize.cc: QuantizeLinear, DequantizeLinear
void registerSamplingImporters();   // importers/sampling.cc: GridSample, DeformConv
void registerScanImporters();       // importers/scan.cc: CumSum, CumProd, TopK
void registerSpectralImporters();   // importers/spectral.cc: DFT, STFT, MelWeightMatrix
// importers/data_dependent.cc: NonZero, NonMaxSuppression, Unique, Compress
void registerDataDependentImporters();

// Transformer-block operators, each a composite of existing layers.
void registerAttentionImporters();        // importers/attention.cc: Attention
void registerRotaryImporters();           // importers/rotary.cc: RotaryEmbedding
void registerCausalConvImporters();       // importers/causal_conv.cc: CausalConvWithState
void registerLinearAttentionImporters();  // importers/linear_attention.cc: LinearAttention
// importers/recurrent.cc: RNN, GRU, LSTM; importers/control_flow.cc: If, Loop, Scan;
// importers/sequence.cc: SequenceConstruct, SplitToSequence, ConcatFromSequence, ...
void registerRecurrentImporters();
void registerControlFlowImporters();
void registerSequenceImporters();

}  // namespace clrt::onnx
