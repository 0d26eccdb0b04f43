// ImportContext: inputs, constants, attributes and layer creation for one ONNX node at a time.
#include <cstring>
#include <fstream>

#include "clrt/ir/shape_inference.h"
#include "clrt/onnx/importer.h"

namespace clrt::onnx {

DataType dtypeFromOnnx(int t, const std::string& what) {
  switch (t) {
    case ::onnx::TensorProto::FLOAT:
      return DataType::kFLOAT;
    case ::onnx::TensorProto::FLOAT16:
      return DataType::kHALF;
    case ::onnx::TensorProto::DOUBLE:
      return DataType::kFLOAT;  // narrowed on read
    case ::onnx::TensorProto::INT8:
      return DataType::kINT8;
    case ::onnx::TensorProto::UINT8:
      return DataType::kUINT8;
    case ::onnx::TensorProto::INT32:
      return DataType::kINT32;
    case ::onnx::TensorProto::INT64:
      return DataType::kINT64;
    case ::onnx::TensorProto::BOOL:
      return DataType::kBOOL;
    default:
      fail(ErrorKind::kParse, str(what, ": ONNX data type ", t, " is not supported"));
  }
}

namespace {

std::string externalBytes(const ::onnx::TensorProto& t, const std::string& dir) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (auto& kv : t.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset")
      offset = std::stoll(kv.value());
    else if (kv.key() == "length")
      length = std::stoll(kv.value());
  }
  CLRT_CHECK(!location.empty() && location[0] != '/' && location.find("..") == std::string::npos,
             kParse, "initializer '", t.name(), "': external data location '", location,
             "' must be a relative path inside the model's folder");
  const std::string path = (dir.empty() ? std::string(".") : dir) + "/" + location;
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  CLRT_CHECK(f.good(), kFile, "initializer '", t.name(), "': external data file '", path,
             "' cannot be opened");
  const int64_t size = static_cast<int64_t>(f.tellg());
  if (length < 0) length = size - offset;
  CLRT_CHECK(offset >= 0 && length >= 0 && offset + length <= size, kParse, "initializer '",
             t.name(), "': external data file '", path, "' has ", size, " bytes, need ",
             offset + length);
  std::string buf(static_cast<size_t>(length), '\0');
  f.seekg(offset);
  f.read(buf.data(), length);
  return buf;
}

}  // namespace

HostTensor tensorFromProto(const ::onnx::TensorProto& t, const std::string& dir) {
  const std::string what = "tensor '" + t.name() + "'";
  const DataType dt = dtypeFromOnnx(t.data_type(), what);
  Dims dims(t.dims().begin(), t.dims().end());
  for (auto d : dims) CLRT_CHECK(d >= 0, kParse, what, ": negative dim ", d);
  HostTensor h(dt, dims);
  const int64_t n = h.numel();
  const bool isDouble = t.data_type() == ::onnx::TensorProto::DOUBLE;
  std::string raw;
  if (t.data_location() == ::onnx::TensorProto::EXTERNAL)
    raw = externalBytes(t, dir);
  else if (t.has_raw_data())
    raw = t.raw_data();
  if (!raw.empty() || (n == 0)) {
    const size_t elem = isDouble ? 8 : dtypeSize(dt);
    CLRT_CHECK(raw.size() == static_cast<size_t>(n) * elem, kParse, what, ": ", raw.size(),
               " bytes of data for shape ", dimsToString(dims), " (", n, " elements of ", elem,
               " bytes)");
    if (isDouble) {
      for (int64_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, raw.data() + 8 * i, 8);
        h.f32()[i] = static_cast<float>(v);
      }
    } else if (n) {
      std::memcpy(h.bytes.data(), raw.data(), raw.size());
    }
    return h;
  }
  auto need = [&](int have) {
    CLRT_CHECK(have == n, kParse, what, ": ", have, " values for shape ", dimsToString(dims));
  };
  switch (t.data_type()) {
    case ::onnx::TensorProto::FLOAT:
      need(t.float_data_size());
      for (int64_t i = 0; i < n; ++i) h.f32()[i] = t.float_data(static_cast<int>(i));
      break;
    case ::onnx::TensorProto::DOUBLE:
      need(t.double_data_size());
      for (int64_t i = 0; i < n; ++i)
        h.f32()[i] = static_cast<float>(t.double_data(static_cast<int>(i)));
      break;
    case ::onnx::TensorProto::INT64:
      need(t.int64_data_size());
      for (int64_t i = 0; i < n; ++i) h.i64()[i] = t.int64_data(static_cast<int>(i));
      break;
    default: {
      // INT32, INT8, UINT8, BOOL and FLOAT16 (bits) live in int32_data.
      need(t.int32_data_size());
      for (int64_t i = 0; i < n; ++i) {
        const int32_t v = t.int32_data(static_cast<int>(i));
        if (dt == DataType::kINT32)
          std::memcpy(h.bytes.data() + 4 * i, &v, 4);
        else if (dt == DataType::kHALF) {
          const uint16_t b = static_cast<uint16_t>(v);
          std::memcpy(h.bytes.data() + 2 * i, &b, 2);
        } else
          h.bytes[i] = static_cast<uint8_t>(v);
      }
    }
  }
  return h;
}

void ImportContext::begin(const ::onnx::NodeProto& node, int index) {
  node_ = &node;
  index_ = index;
  sub_ = 0;
  layerName_ = node.name().empty() ? str(node.op_type(), "_", index) : node.name();
}

int ImportContext::numInputs() const {
  int n = node_->input_size();
  while (n > 0 && node_->input(n - 1).empty()) --n;
  return n;
}

bool ImportContext::hasInput(int i) const {
  return i < node_->input_size() && !node_->input(i).empty();
}

int ImportContext::input(int i) {
  CLRT_CHECK(hasInput(i), kParse, "input ", i, " is required");
  const std::string& name = node_->input(i);
  if (auto it = tensors_.find(name); it != tensors_.end()) return it->second;
  auto c = constants_.find(name);
  CLRT_CHECK(c != constants_.end(), kParse, "input '", name, "' is not produced by any node");
  // Materialise the constant as a CONSTANT layer the first time a node reads it as a tensor.
  const int li = net_.addLayer(ir::LayerKind::kCONSTANT, net_.uniqueLayerName(name), {}, 1, {name});
  ir::Layer& l = net_.layers[li];
  l.weights["value"] = c->second;
  l.onnx_nodes.push_back(name);
  ir::Tensor& t = net_.tensors[l.outputs[0]];
  t.dtype = c->second.dtype;
  t.dims = c->second.dims;
  tensors_[name] = l.outputs[0];
  return l.outputs[0];
}

const HostTensor* ImportContext::constant(int i) const {
  if (!hasInput(i)) return nullptr;
  auto it = constants_.find(node_->input(i));
  return it == constants_.end() ? nullptr : &it->second;
}

const HostTensor& ImportContext::requireConstant(int i, const char* what) const {
  const HostTensor* c = constant(i);
  CLRT_CHECK(c, kUnsupported, what, " (input ", i, ", '", hasInput(i) ? node_->input(i) : "",
             "') must be a constant (an initializer or Constant node)");
  return *c;
}

int ImportContext::numOutputs() const {
  int n = node_->output_size();
  while (n > 0 && node_->output(n - 1).empty()) --n;
  return n;
}

bool ImportContext::outputUsed(int i) const {
  return i < node_->output_size() && !node_->output(i).empty();
}

const ::onnx::AttributeProto* ImportContext::attr(const std::string& name) const {
  for (auto& a : node_->attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
bool ImportContext::hasAttr(const std::string& name) const { return attr(name) != nullptr; }
int64_t ImportContext::attrInt(const std::string& name, int64_t def) const {
  auto a = attr(name);
  return a ? a->i() : def;
}
float ImportContext::attrFloat(const std::string& name, float def) const {
  auto a = attr(name);
  return a ? a->f() : def;
}
std::string ImportContext::attrString(const std::string& name, const std::string& def) const {
  auto a = attr(name);
  return a ? a->s() : def;
}
std::vector<int64_t> ImportContext::attrInts(const std::string& name,
                                             std::vector<int64_t> def) const {
  auto a = attr(name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : def;
}

ir::Layer& ImportContext::add(ir::LayerKind kind, const std::vector<int>& inputs, bool internal,
                              int nOutputs) {
  flush();
  std::vector<std::string> names;
  if (!internal) {
    const int n = nOutputs < 0 ? std::max(numOutputs(), 1) : nOutputs;
    for (int i = 0; i < n; ++i) {
      std::string nm = i < node_->output_size() ? node_->output(i) : "";
      names.push_back(nm.empty() ? net_.uniqueTensorName(str(layerName_, "_out", i)) : nm);
    }
  } else {
    const int n = nOutputs < 0 ? 1 : nOutputs;
    for (int i = 0; i < n; ++i)
      names.push_back(net_.uniqueTensorName(str(layerName_, "_t", sub_, "_", i)));
  }
  const std::string lname =
      net_.uniqueLayerName(sub_ == 0 ? layerName_ : str(layerName_, "_", sub_));
  ++sub_;
  const int li = net_.addLayer(kind, lname, inputs, static_cast<int>(names.size()), names);
  ir::Layer& l = net_.layers[li];
  l.onnx_nodes.push_back(layerName_);
  for (size_t i = 0; i < names.size(); ++i) tensors_[names[i]] = l.outputs[i];
  pending_.push_back(li);
  return l;
}

// Shapes of layers added so far (their attrs are set by now): later importers may need them,
// and errors then name the node that made the layer.
void ImportContext::flush() {
  for (int li : pending_) inferOne(li);
  pending_.clear();
}

void ImportContext::inferOne(int li) {
  ir::Layer& l = net_.layers[li];
  std::vector<ir::TensorInfo> infos;
  for (int t : l.inputs) {
    ir::TensorInfo ti;
    if (t >= 0) {
      ti.dtype = net_.tensors[t].dtype;
      ti.dims = net_.tensors[t].dims;
      const int p = net_.tensors[t].producer;
      if (p >= 0 && net_.layers[p].kind == ir::LayerKind::kCONSTANT)
        ti.value = &net_.layers[p].weights.at("value");
    }
    infos.push_back(ti);
  }
  auto outs = ir::inferLayer(l, infos);
  for (size_t i = 0; i < l.outputs.size() && i < outs.size(); ++i) {
    net_.tensors[l.outputs[i]].dtype = outs[i].first;
    net_.tensors[l.outputs[i]].dims = outs[i].second;
  }
}

void ImportContext::defineConstant(int outputIndex, HostTensor value) {
  constants_[node_->output(outputIndex)] = std::move(value);
}

std::map<std::string, std::vector<std::pair<int, Importer>>>& importerTable() {
  static std::map<std::string, std::vector<std::pair<int, Importer>>> t;
  return t;
}

const Importer* findImporter(const std::string& op, int opset) {
  auto& t = importerTable();
  auto it = t.find(op);
  if (it == t.end()) return nullptr;
  const Importer* best = nullptr;
  int bestSince = -1;
  for (auto& [since, imp] : it->second)
    if (since <= opset && since > bestSince) best = &imp, bestSince = since;
  return best;
}

}  // namespace clrt::onnx
