// ImportContext: inputs, constants, attributes and layer creation for one ONNX node at a time;
// the importer registry.
#include <algorithm>
#include <stdexcept>

#include "clrt/ir/limits.h"
#include "clrt/ir/shape_inference.h"
#include "clrt/onnx/importer.h"

namespace clrt::onnx {

using ir::LayerKind;
using AP = ::onnx::AttributeProto;

namespace {
const char* kFoldHint =
    "fold constants first (onnxsim, or onnxruntime with graph optimizations saving the "
    "optimized model) so that this input becomes an initializer";
using ir::kShapeFoldElements;
using ir::smallStatic;
}  // namespace

// ---- graph setup ----

void ImportContext::addConstant(const std::string& name, HostTensor value,
                                const std::string& origin) {
  constants_[name] = Const{std::move(value), origin};
}

bool ImportContext::defined(const std::string& name) const {
  return tensors_.count(name) != 0 || constants_.count(name) != 0 || sequences_.count(name) != 0;
}

// ---- per node ----

void ImportContext::begin(const ::onnx::NodeProto& node, int index) {
  node_ = &node;
  index_ = index;
  sub_ = 0;
  pending_.clear();
  label_ = node.name().empty() ? str(node.op_type(), "_", index) : node.name();
  checkInputDtypes();
}

void ImportContext::finish() {
  flush();
  settleOutputDtypes();
  for (int i = 0; i < node_->output_size(); ++i) {
    const std::string& o = node_->output(i);
    if (!o.empty() && consumed_.count(o))
      CLRT_CHECK(defined(o), kUnsupported, "output ", i, " ('", o,
                 "') is not produced by clrt's import of ", node_->op_type());
  }
}

void ImportContext::abandon() {
  pending_.clear();
  for (const auto& o : node_->output()) {
    tensors_.erase(o);
    constants_.erase(o);
    sequences_.erase(o);
    logical_.erase(o);
  }
}

int ImportContext::numInputs() const {
  int n = node_->input_size();
  while (n > 0 && node_->input(n - 1).empty()) --n;
  return n;
}

bool ImportContext::hasInput(int i) const {
  return i >= 0 && i < node_->input_size() && !node_->input(i).empty();
}

int ImportContext::input(int i) {
  if (!hasInput(i))
    reject(ErrorKind::kParse, str("input ", i, " is required but absent"),
           "the node does not follow the ONNX operator spec");
  const std::string& name = node_->input(i);
  const bool narrow = keepsNarrowInputs();
  if (auto it = tensors_.find(name); it != tensors_.end()) {
    auto l = logical_.find(name);
    if (!narrow || l == logical_.end() ||
        (l->second != DataType::kINT8 && l->second != DataType::kUINT8))
      return it->second;
    auto n = narrowed_.find(name);
    if (n == narrowed_.end()) n = narrowed_.emplace(name, castTensor(it->second, l->second)).first;
    return n->second;
  }
  if (sequences_.count(name))
    reject(ErrorKind::kUnsupported, str("input ", i, " ('", name, "') is a sequence; ",
                                        node_->op_type(), " reads a tensor"));
  CLRT_CHECK(constants_.count(name), kParse, "input '", name, "' is not produced by any node");
  const DataType t = constants_.at(name).value.dtype;
  if (computeDtype(t) != t && t != DataType::kDOUBLE &&
      !(narrow && (t == DataType::kINT8 || t == DataType::kUINT8)))
    return widenConstant(name);
  return materialize(name, name);
}

// A constant read as a tensor becomes a CONSTANT layer, once, under its ONNX name.
int ImportContext::materialize(const std::string& name, const std::string& tensorName) {
  const Const& c = constants_.at(name);
  const int li =
      net_.addLayer(LayerKind::kCONSTANT, net_.uniqueLayerName(c.origin), {}, 1, {tensorName});
  ir::Layer& l = net_.layers[li];
  l.weights["value"] = c.value;
  l.onnx_nodes.push_back(c.origin);
  ir::Tensor& t = net_.tensors[l.outputs[0]];
  t.dtype = c.value.dtype;
  t.dims = c.value.dims;
  tensors_[name] = l.outputs[0];
  return l.outputs[0];
}

Dims ImportContext::inputDims(int i) {
  const int t = input(i);
  flush();
  return net_.tensors[t].dims;
}

// Initializers and Constant outputs, and values earlier layers computed on the host (a shape
// subgraph over static dims, a Cast of a constant): all are fixed for every run.
const HostTensor* ImportContext::constant(int i) const {
  if (!hasInput(i)) return nullptr;
  const std::string& name = node_->input(i);
  if (auto it = constants_.find(name); it != constants_.end()) return &it->second.value;
  auto t = tensors_.find(name);
  if (t == tensors_.end()) return nullptr;
  auto f = folded_.find(t->second);
  return f == folded_.end() ? nullptr : &f->second;
}

const HostTensor& ImportContext::requireConstant(int i, const std::string& what) const {
  const HostTensor* c = constant(i);
  if (!c)
    reject(ErrorKind::kUnsupported,
           str(what, " (input ", i, hasInput(i) ? ", '" + node_->input(i) + "'" : "",
               ") must be a constant (an initializer or a Constant node output)"),
           kFoldHint);
  return *c;
}

std::vector<int64_t> ImportContext::constInts(int i, const std::string& what) const {
  return requireConstant(i, what).asInt64();
}

float ImportContext::constScalar(int i, const std::string& what) const {
  const HostTensor& t = requireConstant(i, what);
  CLRT_CHECK(t.numel() == 1, kParse, what, " must hold one value, got shape ",
             dimsToString(t.dims));
  return t.asFloats()[0];
}

int ImportContext::numOutputs() const {
  int n = node_->output_size();
  while (n > 0 && node_->output(n - 1).empty()) --n;
  return n;
}

bool ImportContext::hasOutput(int i) const {
  return i >= 0 && i < node_->output_size() && !node_->output(i).empty();
}

bool ImportContext::outputUsed(int i) const {
  return hasOutput(i) && consumed_.count(node_->output(i)) != 0;
}

// ---- attributes ----

const AP* ImportContext::attr(const std::string& name) const {
  for (const auto& a : node_->attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

void ImportContext::badAttr(const std::string& name, const char* expected) const {
  reject(ErrorKind::kParse, str("attribute '", name, "' must be ", expected),
         "the node does not follow the ONNX operator spec");
}

int64_t ImportContext::attrInt(const std::string& name, int64_t def) const {
  const AP* a = attr(name);
  if (!a) return def;
  if (a->type() != AP::INT && a->type() != AP::UNDEFINED) badAttr(name, "an int");
  return a->i();
}

int64_t ImportContext::requireAttrInt(const std::string& name) const {
  if (!hasAttr(name))
    reject(ErrorKind::kParse, str("required attribute '", name, "' is missing"),
           "the node does not follow the ONNX operator spec");
  return attrInt(name, 0);
}

int64_t ImportContext::attrFlag(const std::string& name, int64_t def) const {
  const int64_t v = attrInt(name, def);
  if (v != 0 && v != 1)
    reject(ErrorKind::kParse, str("attribute '", name, "' must be 0 or 1, got ", v),
           "the node does not follow the ONNX operator spec");
  return v;
}

float ImportContext::attrFloat(const std::string& name, float def) const {
  const AP* a = attr(name);
  if (!a) return def;
  if (a->type() == AP::INT) return static_cast<float>(a->i());
  if (a->type() != AP::FLOAT && a->type() != AP::UNDEFINED) badAttr(name, "a float");
  return a->f();
}

std::string ImportContext::attrString(const std::string& name, const std::string& def) const {
  const AP* a = attr(name);
  if (!a) return def;
  if (a->type() != AP::STRING && a->type() != AP::UNDEFINED) badAttr(name, "a string");
  return a->s();
}

std::vector<int64_t> ImportContext::attrInts(const std::string& name,
                                             std::vector<int64_t> def) const {
  const AP* a = attr(name);
  if (!a) return def;
  if (a->type() != AP::INTS && a->type() != AP::UNDEFINED) badAttr(name, "a list of ints");
  return {a->ints().begin(), a->ints().end()};
}

// ---- layers ----

std::string ImportContext::internalName(const std::string& base) const {
  std::string s = base;
  for (int i = 1; reserved_.count(s) || net_.findTensor(s) >= 0; ++i) s = str(base, "_", i);
  return s;
}

ir::Layer& ImportContext::addLayer(LayerKind kind, const std::vector<int>& inputs,
                                   std::vector<std::string> names) {
  flush();
  const std::string lname = net_.uniqueLayerName(sub_ == 0 ? label_ : str(label_, "_", sub_));
  ++sub_;
  const int li = net_.addLayer(kind, lname, inputs, static_cast<int>(names.size()), names);
  net_.layers[li].onnx_nodes.push_back(label_);
  pending_.push_back(li);
  return net_.layers[li];
}

ir::Layer& ImportContext::add(LayerKind kind, const std::vector<int>& inputs, int nOutputs) {
  const int n = nOutputs < 0 ? std::max(numOutputs(), 1) : nOutputs;
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i)
    names.push_back(hasOutput(i) ? node_->output(i) : internalName(str(label_, "_out", i)));
  ir::Layer& l = addLayer(kind, inputs, names);
  for (int i = 0; i < n; ++i)
    if (hasOutput(i)) tensors_[node_->output(i)] = l.outputs[i];
  return l;
}

ir::Layer& ImportContext::addMapped(LayerKind kind, const std::vector<int>& inputs,
                                    const std::vector<int>& nodeOutputs) {
  std::vector<std::string> names;
  for (size_t k = 0; k < nodeOutputs.size(); ++k) {
    const int i = nodeOutputs[k];
    names.push_back(i >= 0 && hasOutput(i) ? node_->output(i)
                                           : internalName(str(label_, "_t", sub_, "_", k)));
  }
  ir::Layer& l = addLayer(kind, inputs, names);
  for (size_t k = 0; k < nodeOutputs.size(); ++k)
    if (nodeOutputs[k] >= 0 && hasOutput(nodeOutputs[k]))
      tensors_[node_->output(nodeOutputs[k])] = l.outputs[k];
  return l;
}

ir::Layer& ImportContext::addInternal(LayerKind kind, const std::vector<int>& inputs,
                                      int nOutputs) {
  std::vector<std::string> names;
  for (int i = 0; i < nOutputs; ++i) names.push_back(internalName(str(label_, "_t", sub_, "_", i)));
  return addLayer(kind, inputs, names);
}

int ImportContext::constantTensor(HostTensor value) {
  ir::Layer& l = addInternal(LayerKind::kCONSTANT, {});
  l.weights["value"] = std::move(value);
  return l.outputs[0];
}

void ImportContext::defineConstant(int outputIndex, HostTensor value) {
  if (hasOutput(outputIndex)) constants_[node_->output(outputIndex)] = {std::move(value), label_};
}

bool ImportContext::isSequence(int i) const {
  return hasInput(i) && sequences_.count(node_->input(i)) != 0;
}

const std::vector<int>& ImportContext::sequence(int i) const {
  if (!isSequence(i))
    reject(ErrorKind::kUnsupported,
           str("input ", i, hasInput(i) ? " ('" + node_->input(i) + "')" : "",
               " must be a sequence built in the model (SequenceConstruct, SplitToSequence, ...)"));
  return sequences_.at(node_->input(i));
}

void ImportContext::defineSequence(int outputIndex, std::vector<int> elements) {
  if (hasOutput(outputIndex)) sequences_[node_->output(outputIndex)] = std::move(elements);
}

const HostTensor* ImportContext::valueOf(int t) const {
  if (t < 0) return nullptr;
  const int p = net_.tensors[t].producer;
  if (p >= 0 && net_.layers[p].kind == LayerKind::kCONSTANT) {
    auto it = net_.layers[p].weights.find("value");
    if (it != net_.layers[p].weights.end()) return &it->second;
  }
  auto it = folded_.find(t);
  return it == folded_.end() ? nullptr : &it->second;
}

// Shapes of the layers added so far (their attrs are set by now): later importers need them,
// and errors then name the node that made the layer. Small shape subgraphs are evaluated on the
// host on the way so that Shape -> Gather -> Concat -> Reshape chains keep static dims.
void ImportContext::flush() {
  std::vector<int> todo;
  todo.swap(pending_);
  for (int li : todo) inferOne(li);
}

void ImportContext::inferOne(int li) {
  const ir::Layer& l = net_.layers[li];
  std::vector<ir::TensorInfo> infos;
  bool allKnown = true;
  for (int t : l.inputs) {
    ir::TensorInfo ti;
    if (t >= 0) {
      ti.dtype = net_.tensors[t].dtype;
      ti.dims = net_.tensors[t].dims;
      ti.value = valueOf(t);
      if (!ti.value && l.kind != LayerKind::kSHAPE) allKnown = false;
      if (ti.value && ti.value->numel() > kShapeFoldElements) allKnown = false;
    }
    infos.push_back(ti);
  }
  const auto outs = ir::inferLayer(l, infos);
  CLRT_CHECK(outs.size() == l.outputs.size(), kParse, "layer '", l.name, "' (",
             ir::layerKindName(l.kind), "): shape inference gave ", outs.size(), " outputs for ",
             l.outputs.size());
  bool small = true;
  for (size_t i = 0; i < outs.size(); ++i) {
    net_.tensors[l.outputs[i]].dtype = outs[i].first;
    net_.tensors[l.outputs[i]].dims = outs[i].second;
    small = small && smallStatic(outs[i].second) &&
            ir::hostBytes(outs[i].second, outs[i].first) <= ir::hostTensorLimit();
  }
  if (!allKnown || !small || l.kind == LayerKind::kCONSTANT || !ir::canEvalOnHost(l.kind)) return;
  std::vector<HostTensor> values;
  if (!ir::evalOnHost(l, infos, values) || values.size() != l.outputs.size()) return;
  for (size_t i = 0; i < values.size(); ++i) folded_[l.outputs[i]] = std::move(values[i]);
}

// ---- registry ----

std::map<std::string, std::vector<std::pair<int, Importer>>>& importerTable() {
  static std::map<std::string, std::vector<std::pair<int, Importer>>> t;
  return t;
}

int schemaVersion(const std::string& op, int opset) {
  auto it = schemaVersions().find(op);
  if (it == schemaVersions().end()) return 0;
  int v = 0;
  for (int since : it->second)
    if (since <= opset) v = since;
  return v;
}

void registerImporter(const std::string& op, const std::vector<int>& versions, Importer f) {
  for (int v : versions) {
    if (schemaVersion(op, v) != v)  // a registration bug, caught by any parse in the tests
      throw std::logic_error(
          str("importer for ", op, " version ", v, ": ONNX defines no such schema version"));
    importerTable()[op].push_back({v, f});
  }
}

const Importer* findImporter(const std::string& op, int opset) {
  auto it = importerTable().find(op);
  const int v = schemaVersion(op, opset);
  if (it == importerTable().end() || v == 0) return nullptr;
  for (const auto& [version, imp] : it->second)
    if (version == v) return &imp;
  return nullptr;
}

std::vector<int> importedVersions(const std::string& op) {
  std::vector<int> vs;
  auto it = importerTable().find(op);
  if (it != importerTable().end())
    for (const auto& e : it->second) vs.push_back(e.first);
  std::sort(vs.begin(), vs.end());
  return vs;
}

}  // namespace clrt::onnx
