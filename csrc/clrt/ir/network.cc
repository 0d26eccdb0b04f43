// Network graph operations: kind names, building, ordering, compaction and shape propagation.
#include "clrt/ir/network.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <tuple>
#include <unordered_set>

#include "clrt/core/error.h"
#include "clrt/ir/limits.h"
#include "clrt/ir/shape_inference.h"

namespace clrt::ir {

namespace {

struct KindNames {
  LayerKind kind;
  const char* name;
  const char* trt;  // TensorRT LayerType the Python API reports
};

constexpr KindNames kKinds[] = {
    {LayerKind::kCONVOLUTION, "CONVOLUTION", "CONVOLUTION"},
    {LayerKind::kACTIVATION, "ACTIVATION", "ACTIVATION"},
    {LayerKind::kUNARY, "UNARY", "UNARY"},
    {LayerKind::kELEMENTWISE, "ELEMENTWISE", "ELEMENTWISE"},
    {LayerKind::kPOOLING, "POOLING", "POOLING"},
    {LayerKind::kMATRIX_MULTIPLY, "MATRIX_MULTIPLY", "MATRIX_MULTIPLY"},
    {LayerKind::kSOFTMAX, "SOFTMAX", "SOFTMAX"},
    {LayerKind::kLOG_SOFTMAX, "LOG_SOFTMAX", "SOFTMAX"},
    {LayerKind::kCONCATENATION, "CONCATENATION", "CONCATENATION"},
    {LayerKind::kSHUFFLE, "SHUFFLE", "SHUFFLE"},
    {LayerKind::kRESHAPE, "RESHAPE", "SHUFFLE"},
    {LayerKind::kTRANSPOSE, "TRANSPOSE", "SHUFFLE"},
    {LayerKind::kFLATTEN, "FLATTEN", "SHUFFLE"},
    {LayerKind::kSQUEEZE, "SQUEEZE", "SHUFFLE"},
    {LayerKind::kUNSQUEEZE, "UNSQUEEZE", "SHUFFLE"},
    {LayerKind::kCONSTANT, "CONSTANT", "CONSTANT"},
    {LayerKind::kREDUCE, "REDUCE", "REDUCE"},
    {LayerKind::kNORMALIZATION, "NORMALIZATION", "NORMALIZATION"},
    {LayerKind::kSLICE, "SLICE", "SLICE"},
    {LayerKind::kGATHER, "GATHER", "GATHER"},
    {LayerKind::kSHAPE, "SHAPE", "SHAPE"},
    {LayerKind::kCAST, "CAST", "CAST"},
    {LayerKind::kIDENTITY, "IDENTITY", "IDENTITY"},
    {LayerKind::kSPLIT, "SPLIT", "SLICE"},
    {LayerKind::kRANGE, "RANGE", "FILL"},
    {LayerKind::kCONSTANT_OF_SHAPE, "CONSTANT_OF_SHAPE", "FILL"},
    {LayerKind::kEXPAND, "EXPAND", "SLICE"},  // TensorRT expands with a stride-0 slice
    {LayerKind::kWHERE, "WHERE", "SELECT"},
    {LayerKind::kSCALE, "SCALE", "SCALE"},
    {LayerKind::kREFORMAT, "REFORMAT", "REFORMAT"},
    {LayerKind::kQUANTIZE, "QUANTIZE", "QUANTIZE"},
    {LayerKind::kDEQUANTIZE, "DEQUANTIZE", "DEQUANTIZE"},
    {LayerKind::kSCATTER, "SCATTER", "SCATTER"},
    {LayerKind::kRESIZE, "RESIZE", "RESIZE"},
    {LayerKind::kPADDING, "PADDING", "PADDING"},
    {LayerKind::kDECONVOLUTION, "DECONVOLUTION", "DECONVOLUTION"},
    {LayerKind::kGRID_SAMPLE, "GRID_SAMPLE", "GRID_SAMPLE"},
    {LayerKind::kCUMULATIVE, "CUMULATIVE", "CUMULATIVE"},
    {LayerKind::kTOPK, "TOPK", "TOPK"},
    {LayerKind::kNON_ZERO, "NON_ZERO", "NON_ZERO"},
    {LayerKind::kNMS, "NMS", "NMS"},
    {LayerKind::kUNIQUE, "UNIQUE", "PLUGIN_V2"},  // TensorRT has no Unique layer
    // TensorRT has no RoiAlign layer either (its ROIAlign_TRT plugin implements the op).
    {LayerKind::kROI_ALIGN, "ROI_ALIGN", "PLUGIN_V2"},
    // A fusion of MatMul, Softmax and MatMul layers, as TensorRT's fused multi-head attention.
    {LayerKind::kATTENTION, "ATTENTION", "PLUGIN_V2"},
    {LayerKind::kTRIP_LIMIT, "TRIP_LIMIT", "TRIP_LIMIT"},
    {LayerKind::kRECURRENCE, "RECURRENCE", "RECURRENCE"},
    {LayerKind::kITERATOR, "ITERATOR", "ITERATOR"},
    {LayerKind::kLOOP_OUTPUT, "LOOP_OUTPUT", "LOOP_OUTPUT"},
    {LayerKind::kCONDITION, "CONDITION", "CONDITION"},
    {LayerKind::kIF_INPUT, "IF_INPUT", "CONDITIONAL_INPUT"},
    {LayerKind::kIF_OUTPUT, "IF_OUTPUT", "CONDITIONAL_OUTPUT"},
};

const KindNames* lookup(LayerKind k) {
  for (const auto& e : kKinds)
    if (e.kind == k) return &e;
  return nullptr;
}

}  // namespace

const char* layerKindName(LayerKind k) {
  const KindNames* e = lookup(k);
  return e ? e->name : "UNKNOWN";
}

LayerKind layerKindFromName(const std::string& s) {
  for (const auto& e : kKinds)
    if (s == e.name) return e.kind;
  fail(ErrorKind::kValue, str("unknown layer kind '", s, "'"));
}

const char* trtLayerTypeName(LayerKind k) {
  const KindNames* e = lookup(k);
  return e ? e->trt : "UNKNOWN";
}

int Network::addInput(const std::string& name, DataType t, const Dims& dims) {
  CLRT_CHECK(!name.empty(), kValue, "network input needs a non-empty name");
  CLRT_CHECK(findTensor(name) < 0, kValue, "network input '", name,
             "': a tensor with this name already exists");
  Tensor tensor;
  tensor.name = name;
  tensor.dtype = t;
  tensor.dims = dims;
  tensor.is_input = true;
  tensors.push_back(std::move(tensor));
  const int id = static_cast<int>(tensors.size()) - 1;
  indexTensor(id);
  inputs.push_back(id);
  return id;
}

std::string Network::namedDimMismatch(const std::map<int, Dims>& dims) const {
  std::map<std::string, std::tuple<int, size_t, int64_t>> first;  // name -> (tensor, dim, value)
  for (int t : inputs) {
    const Tensor& in = tensors[static_cast<size_t>(t)];
    auto it = dims.find(t);
    if (it == dims.end()) continue;
    for (size_t i = 0; i < in.dim_names.size() && i < it->second.size(); ++i) {
      const std::string& n = in.dim_names[i];
      if (n.empty()) continue;
      const int64_t v = it->second[i];
      auto [f, fresh] = first.emplace(n, std::make_tuple(t, i, v));
      if (fresh || std::get<2>(f->second) == v) continue;
      const auto& [t0, i0, v0] = f->second;
      return str("input '", tensors[static_cast<size_t>(t0)].name, "' dim ", i0, " is ", v0,
                 " and input '", in.name, "' dim ", i, " is ", v, ", both named '", n, "'");
    }
  }
  return "";
}

int Network::addLayer(LayerKind kind, const std::string& name, const std::vector<int>& ins,
                      int nOutputs, const std::vector<std::string>& outputNames) {
  CLRT_CHECK(nOutputs >= 0, kValue, "layer '", name, "': negative output count ", nOutputs);
  for (int t : ins)
    CLRT_CHECK(t >= -1 && t < static_cast<int>(tensors.size()), kValue, "layer '", name,
               "': input tensor id ", t, " does not exist (network has ", tensors.size(),
               " tensors)");
  Layer layer;
  layer.kind = kind;
  layer.name = name.empty() ? uniqueLayerName(layerKindName(kind)) : name;
  layer.inputs = ins;
  const int id = static_cast<int>(layers.size());
  for (int i = 0; i < nOutputs; ++i) {
    Tensor t;
    const bool given = i < static_cast<int>(outputNames.size()) && !outputNames[i].empty();
    if (given) {
      // An explicit name is what users look tensors up by: renaming it silently would hide bugs.
      CLRT_CHECK(findTensor(outputNames[i]) < 0, kValue, "layer '", layer.name, "': output name '",
                 outputNames[i], "' is already used by another tensor");
      t.name = outputNames[i];
    } else {
      t.name = uniqueTensorName(str(layer.name, "_output_", i));
    }
    t.producer = id;
    tensors.push_back(std::move(t));
    layer.outputs.push_back(static_cast<int>(tensors.size()) - 1);
    indexTensor(layer.outputs.back());
  }
  layers.push_back(std::move(layer));
  indexLayer(id);
  return id;
}

void Network::markOutput(int tensor) {
  CLRT_CHECK(tensor >= 0 && tensor < static_cast<int>(tensors.size()), kValue,
             "markOutput: tensor id ", tensor, " does not exist");
  if (std::find(outputs.begin(), outputs.end(), tensor) == outputs.end()) outputs.push_back(tensor);
  tensors[tensor].is_output = true;
}

void Network::unmarkOutput(int tensor) {
  CLRT_CHECK(tensor >= 0 && tensor < static_cast<int>(tensors.size()), kValue,
             "unmarkOutput: tensor id ", tensor, " does not exist");
  CLRT_CHECK(tensors[tensor].is_output, kValue, "unmarkOutput: tensor '", tensors[tensor].name,
             "' is not a network output");
  outputs.erase(std::remove(outputs.begin(), outputs.end(), tensor), outputs.end());
  tensors[tensor].is_output = false;
}

int Network::findTensor(const std::string& name) const {
  if (index_) {
    auto it = index_->tensors.find(name);
    return it == index_->tensors.end() ? -1 : it->second;
  }
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].name == name) return static_cast<int>(i);
  return -1;
}

int Network::findLayer(const std::string& name) const {
  if (index_) {
    auto it = index_->layers.find(name);
    return it == index_->layers.end() ? -1 : it->second;
  }
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].name == name) return static_cast<int>(i);
  return -1;
}

std::vector<std::vector<int>> Network::consumers() const {
  std::vector<std::vector<int>> out(tensors.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    if (layers[l].dead) continue;
    for (int t : layers[l].inputs) {
      if (t < 0 || t >= static_cast<int>(tensors.size())) continue;
      auto& c = out[t];
      // A layer reading a tensor twice (x * x) is still one consumer.
      if (c.empty() || c.back() != static_cast<int>(l)) c.push_back(static_cast<int>(l));
    }
  }
  return out;
}

std::vector<int> Network::topoOrder() const {
  const int n = static_cast<int>(layers.size());
  std::vector<int> indeg(n, 0);
  std::vector<std::vector<int>> succ(n);
  for (int l = 0; l < n; ++l) {
    if (layers[l].dead) continue;
    std::unordered_set<int> seen;
    const bool recurrence = layers[l].kind == LayerKind::kRECURRENCE;
    for (size_t i = 0; i < layers[l].inputs.size(); ++i) {
      const int t = layers[l].inputs[i];
      if (t < 0 || t >= static_cast<int>(tensors.size()) || (recurrence && i > 0)) continue;
      const int p = tensors[t].producer;
      if (p < 0 || p >= n || layers[p].dead || !seen.insert(p).second) continue;
      succ[p].push_back(l);
      ++indeg[l];
    }
  }
  // Smallest index first keeps the order close to insertion order (stable, deterministic).
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  int live = 0;
  for (int l = 0; l < n; ++l) {
    if (layers[l].dead) continue;
    ++live;
    if (indeg[l] == 0) ready.push(l);
  }
  std::vector<int> order;
  order.reserve(live);
  while (!ready.empty()) {
    const int l = ready.top();
    ready.pop();
    order.push_back(l);
    for (int s : succ[l])
      if (--indeg[s] == 0) ready.push(s);
  }
  if (static_cast<int>(order.size()) != live) {
    for (int l = 0; l < n; ++l)
      if (!layers[l].dead && indeg[l] > 0)
        fail(ErrorKind::kBuild, str("network has a cycle through layer '", layers[l].name, "' (",
                                    layerKindName(layers[l].kind), ")"));
  }
  return order;
}

void Network::compact() {
  const int nt = static_cast<int>(tensors.size());
  std::vector<char> keepT(nt, 0);
  for (int t : inputs)
    if (t >= 0 && t < nt) keepT[t] = 1;
  for (int t : outputs)
    if (t >= 0 && t < nt) keepT[t] = 1;
  for (int t = 0; t < nt; ++t)
    if (tensors[t].is_input || tensors[t].is_output) keepT[t] = 1;
  int nl = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    if (layers[l].dead) continue;
    ++nl;
    for (int t : layers[l].inputs)
      if (t >= 0 && t < nt) keepT[t] = 1;
    for (int t : layers[l].outputs)
      if (t >= 0 && t < nt) keepT[t] = 1;
  }
  std::vector<int> tensorMap(nt, -1);
  std::vector<Tensor> newTensors;
  for (int t = 0; t < nt; ++t) {
    if (!keepT[t]) continue;
    tensorMap[t] = static_cast<int>(newTensors.size());
    Tensor tensor = std::move(tensors[t]);
    tensor.producer = -1;  // re-derived below from the live layers' outputs
    newTensors.push_back(std::move(tensor));
  }
  auto remap = [&](std::vector<int>& ids, bool dropMissing) {
    std::vector<int> out;
    for (int t : ids) {
      const int m = (t >= 0 && t < nt) ? tensorMap[t] : -1;
      if (m >= 0 || !dropMissing) out.push_back(m);
    }
    ids = std::move(out);
  };
  std::vector<Layer> newLayers;
  newLayers.reserve(nl);
  for (auto& layer : layers) {
    if (layer.dead) continue;
    remap(layer.inputs, false);  // -1 marks an absent optional input: position matters
    remap(layer.outputs, true);
    newLayers.push_back(std::move(layer));
  }
  // Producers follow the outputs lists, so a tensor a pass took away from a layer is orphaned.
  for (size_t l = 0; l < newLayers.size(); ++l)
    for (int t : newLayers[l].outputs) newTensors[t].producer = static_cast<int>(l);
  remap(inputs, true);
  remap(outputs, true);
  tensors = std::move(newTensors);
  layers = std::move(newLayers);
  if (index_) indexNames(true);
}

void Network::inferShapes() {
  // Host-known values: constants, plus small shape subgraphs folded on the way so that
  // Shape -> Gather -> Concat -> Reshape chains give static dims.
  std::vector<const HostTensor*> known(tensors.size(), nullptr);
  std::vector<std::unique_ptr<HostTensor>> folded;
  for (int l : topoOrder()) {
    Layer& layer = layers[l];
    std::vector<TensorInfo> infos;
    infos.reserve(layer.inputs.size());
    bool allKnown = true;
    for (int t : layer.inputs) {
      TensorInfo info;
      if (t >= 0 && t < static_cast<int>(tensors.size())) {
        info.dtype = tensors[t].dtype;
        info.dims = tensors[t].dims;
        info.value = known[t];
        if (!info.value && layer.kind != LayerKind::kSHAPE) allKnown = false;
        if (info.value && info.value->numel() > kShapeFoldElements) allKnown = false;
      }
      infos.push_back(info);
    }
    auto results = inferLayer(layer, infos);
    CLRT_CHECK(results.size() == layer.outputs.size(), kBuild, "layer '", layer.name, "' (",
               layerKindName(layer.kind), "): shape inference gave ", results.size(),
               " outputs, the layer has ", layer.outputs.size());
    for (size_t i = 0; i < results.size(); ++i) {
      const int t = layer.outputs[i];
      if (t < 0 || t >= static_cast<int>(tensors.size())) continue;
      tensors[t].dtype = results[i].first;
      tensors[t].dims = results[i].second;
    }
    if (layer.kind == LayerKind::kCONSTANT) {
      auto it = layer.weights.find("value");
      if (it != layer.weights.end() && !layer.outputs.empty() && layer.outputs[0] >= 0)
        known[layer.outputs[0]] = &it->second;
      continue;
    }
    if (!allKnown || !canEvalOnHost(layer.kind)) continue;
    bool smallOut = true;
    for (auto& r : results)
      smallOut =
          smallOut && smallStatic(r.second) && hostBytes(r.second, r.first) <= hostTensorLimit();
    if (!smallOut) continue;
    std::vector<HostTensor> outs;
    if (!evalOnHost(layer, infos, outs) || outs.size() != layer.outputs.size()) continue;
    for (size_t i = 0; i < outs.size(); ++i) {
      const int t = layer.outputs[i];
      if (t < 0 || t >= static_cast<int>(tensors.size())) continue;
      folded.push_back(std::make_unique<HostTensor>(std::move(outs[i])));
      known[t] = folded.back().get();
    }
  }
}

void Network::indexNames(bool on) {
  index_.reset();
  if (!on) return;
  index_.emplace();
  for (size_t t = 0; t < tensors.size(); ++t) indexTensor(static_cast<int>(t));
  for (size_t l = 0; l < layers.size(); ++l) indexLayer(static_cast<int>(l));
}

// The first tensor/layer of a name wins, as in the scans.
void Network::indexTensor(int t) {
  if (index_) index_->tensors.emplace(tensors[t].name, t);
}

void Network::indexLayer(int l) {
  if (index_) index_->layers.emplace(layers[l].name, l);
}

void Network::renameTensor(int tensor, const std::string& name) {
  CLRT_CHECK(tensor >= 0 && tensor < static_cast<int>(tensors.size()), kValue,
             "renameTensor: tensor id ", tensor, " does not exist");
  if (index_) {
    auto it = index_->tensors.find(tensors[tensor].name);
    if (it != index_->tensors.end() && it->second == tensor) index_->tensors.erase(it);
  }
  tensors[tensor].name = name;
  indexTensor(tensor);
}

std::string Network::uniqueTensorName(const std::string& base) const {
  if (findTensor(base) < 0) return base;
  for (int i = 1;; ++i) {
    std::string s = str(base, "_", i);
    if (findTensor(s) < 0) return s;
  }
}

std::string Network::uniqueLayerName(const std::string& base) const {
  if (findLayer(base) < 0) return base;
  for (int i = 1;; ++i) {
    std::string s = str(base, "_", i);
    if (findLayer(s) < 0) return s;
  }
}

}  // namespace clrt::ir
