// Helpers shared by the graph passes: fusion eligibility, per-channel constants, rewiring, notes.
#include "clrt/passes/pass_util.h"

#include <algorithm>

namespace clrt::passes::detail {

using ir::Layer;
using ir::LayerKind;
using ir::Network;

namespace {
thread_local ILogger* tPassLogger = nullptr;
thread_local bool tPassLoggerActive = false;
}  // namespace

ScopedPassLogger::ScopedPassLogger(ILogger* logger)
    : prev_(tPassLogger), prevActive_(tPassLoggerActive) {
  tPassLogger = logger;
  tPassLoggerActive = true;
}

ScopedPassLogger::~ScopedPassLogger() {
  tPassLogger = prev_;
  tPassLoggerActive = prevActive_;
}

void note(const std::string& msg) {
  // Without a pipeline around us (a pass called alone) there is nobody to tell.
  if (tPassLoggerActive) logMessage(tPassLogger, Severity::kVERBOSE, msg);
}

void warn(const std::string& msg) {
  if (tPassLoggerActive) logMessage(tPassLogger, Severity::kWARNING, msg);
}

bool hasConstraint(const Layer& l) {
  if (l.precision) return true;
  return std::any_of(l.output_types.begin(), l.output_types.end(),
                     [](const std::optional<DataType>& t) { return t.has_value(); });
}

bool sameConstraints(const Layer& a, const Layer& b) {
  if (!hasConstraint(a) && !hasConstraint(b)) return true;
  if (a.precision != b.precision) return false;
  // A missing entry and an unset one mean the same: no output type asked for.
  auto typeAt = [](const Layer& l, size_t i) -> int {
    return i < l.output_types.size() && l.output_types[i] ? static_cast<int>(*l.output_types[i])
                                                          : -1;
  };
  size_t n = std::max(a.output_types.size(), b.output_types.size());
  for (size_t i = 0; i < n; ++i)
    if (typeAt(a, i) != typeAt(b, i)) return false;
  return true;
}

bool mergeableConstraints(const Layer& gone, const Layer& keeps) {
  if (gone.precision && keeps.precision && *gone.precision != *keeps.precision) return false;
  return std::none_of(gone.output_types.begin(), gone.output_types.end(),
                      [](const std::optional<DataType>& t) { return t.has_value(); });
}

void mergeConstraints(Layer& into, const Layer& from) {
  if (!into.precision) into.precision = from.precision;
}

std::vector<int> liveConsumers(const Network& net, const Consumers& cons, int t) {
  std::vector<int> out;
  if (t < 0 || t >= static_cast<int>(cons.size())) return out;
  for (int l : cons[t])
    if (!net.layers[l].dead && std::find(out.begin(), out.end(), l) == out.end()) out.push_back(l);
  return out;
}

const HostTensor* constantValue(const Network& net, int t) {
  if (t < 0) return nullptr;
  int p = net.tensors[t].producer;
  if (p < 0) return nullptr;
  const Layer& l = net.layers[p];
  if (l.dead || l.kind != LayerKind::kCONSTANT) return nullptr;
  auto it = l.weights.find("value");
  return it == l.weights.end() ? nullptr : &it->second;
}

std::optional<float> scalarConst(const Network& net, int t, size_t rank) {
  const HostTensor* v = constantValue(net, t);
  if (!v || v->numel() != 1 || v->dims.size() > rank) return std::nullopt;
  if (v->dtype != DataType::kFLOAT && v->dtype != DataType::kHALF) return std::nullopt;
  return v->asFloats()[0];
}

std::vector<int64_t> resolvedPerm(std::vector<int64_t> perm, size_t rank) {
  if (perm.empty())
    for (size_t k = rank; k-- > 0;) perm.push_back(static_cast<int64_t>(k));
  if (perm.size() != rank) return {};
  std::vector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(p)]) return {};
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}

bool isConvOrMatmul(const Layer& l) {
  return l.kind == LayerKind::kCONVOLUTION || l.kind == LayerKind::kMATRIX_MULTIPLY;
}

bool hasResidual(const Layer& l) {
  if (l.attrs.i("has_residual", 0) != 0) return true;
  return l.kind == LayerKind::kCONVOLUTION && l.inputs.size() > 1 && l.inputs[1] >= 0;
}

bool hasActivation(const Layer& l) { return !l.attrs.s("act", "").empty(); }

// Fusing `user` (reading the explicitly quantized tensor t) into t's producer skips t's rounding.
// That changes nothing only for a RELU, or a CLIP to [0 or below -amax, amax or above], whose
// output is quantized with the same symmetric range: rounding to a grid symmetric about 0 commutes
// with clamping at 0 and at the grid's ends. (foldQdq's clamp for a one-signed range is such a
// CLIP.)
static bool exactAcrossQdq(const Network& net, int t, int user) {
  const Layer& u = net.layers[user];
  const ir::Tensor& in = net.tensors[t];
  if (u.kind != LayerKind::kACTIVATION || u.outputs.size() != 1 || !in.dynamic_range) return false;
  const ir::Tensor& out = net.tensors[u.outputs[0]];
  if (!out.qdq_point || !out.dynamic_range || *in.dynamic_range != *out.dynamic_range) return false;
  const std::string type = u.attrs.s("type");
  if (type == "RELU") return true;
  if (type != "CLIP") return false;
  const double amax = in.dynamic_range->second;
  const double lo = u.attrs.f("alpha"), hi = u.attrs.f("beta");
  return (lo == 0.0 || lo <= -amax) && (hi == 0.0 || hi >= amax);
}

int fusionHost(const Network& net, const Consumers& cons, int t, int user) {
  if (t < 0) return -1;
  const ir::Tensor& tensor = net.tensors[t];
  if (tensor.is_output || tensor.is_input) return -1;
  int p = tensor.producer;
  if (p < 0 || p == user) return -1;
  const Layer& host = net.layers[p];
  if (host.dead || !isConvOrMatmul(host)) return -1;
  if (host.outputs.size() != 1 || host.outputs[0] != t) return -1;
  std::vector<int> readers = liveConsumers(net, cons, t);
  if (readers.size() != 1 || readers[0] != user) return -1;
  if (tensor.debug) {
    note(str("layer '", host.name, "' and '", net.layers[user].name, "' left unfused: '",
             tensor.name, "' between them is a debug tensor (mark_debug)"));
    return -1;
  }
  if (tensor.qdq_point && !exactAcrossQdq(net, t, user)) {
    note(str("layer '", host.name, "' and '", net.layers[user].name, "' left unfused: the model ",
             "quantizes '", tensor.name, "' between them (Q/DQ), and the fused layer would not"));
    return -1;
  }
  if (!mergeableConstraints(host, net.layers[user])) {
    note(str("layer '", host.name, "' and '", net.layers[user].name,
             "' left unfused: their precision constraints differ"));
    return -1;
  }
  return p;
}

bool staticDims(const Dims& d) {
  return std::all_of(d.begin(), d.end(), [](int64_t x) { return x > 0; });
}

bool rowWiseMatmul(const Layer& l) {
  auto k = l.weights.find("kernel");
  return l.kind == LayerKind::kMATRIX_MULTIPLY && k != l.weights.end() &&
         k->second.dims.size() == 2 && l.inputs.size() == 1 && l.outputs.size() == 1 &&
         l.attrs.i("trans_a", 0) == 0;
}

static const HostTensor* weight(const Layer& l, const char* name) {
  auto it = l.weights.find(name);
  return it == l.weights.end() ? nullptr : &it->second;
}

int64_t outputChannels(const Network& net, const Layer& l) {
  const HostTensor* k = weight(l, "kernel");
  if (l.kind == LayerKind::kCONVOLUTION) return k && !k->dims.empty() ? k->dims[0] : -1;
  if (l.kind != LayerKind::kMATRIX_MULTIPLY) return -1;
  if (k) {
    // The bias runs along the last output dim, which is N only for a 2-D kernel.
    if (k->dims.size() != 2) return -1;
    return l.attrs.i("trans_b", 0) ? k->dims[0] : k->dims[1];
  }
  // Without a kernel, N is the last dim of a >= 2-D b operand.
  if (l.inputs.size() < 2 || l.inputs[1] < 0) return -1;
  const Dims& b = net.tensors[l.inputs[1]].dims;
  if (b.size() < 2) return -1;
  int64_t n = l.attrs.i("trans_b", 0) ? b[b.size() - 2] : b.back();
  const Dims& out = net.tensors[l.outputs[0]].dims;
  return !out.empty() && out.back() == n ? n : -1;
}

int64_t channelAxis(const Network& net, const Layer& l) {
  if (l.kind == LayerKind::kCONVOLUTION) return 1;
  return static_cast<int64_t>(net.tensors[l.outputs[0]].dims.size()) - 1;
}

std::optional<std::vector<float>> perChannel(const HostTensor& c, int64_t outRank, int64_t chAxis,
                                             int64_t channels) {
  if (c.dtype != DataType::kFLOAT && c.dtype != DataType::kHALF) return std::nullopt;
  int64_t r = static_cast<int64_t>(c.dims.size());
  if (channels <= 0 || r > outRank || chAxis < 0 || chAxis >= outRank) return std::nullopt;
  for (int64_t j = 0; j < r; ++j) {
    int64_t axis = outRank - r + j;
    if (c.dims[j] == 1) continue;
    if (axis == chAxis && c.dims[j] == channels) continue;
    return std::nullopt;
  }
  std::vector<float> v = c.asFloats();
  if (v.size() == 1) return std::vector<float>(static_cast<size_t>(channels), v[0]);
  if (static_cast<int64_t>(v.size()) != channels) return std::nullopt;
  return v;
}

bool foldAffine(Layer& host, const std::vector<float>& scale, const std::vector<float>& shift) {
  const int64_t k = static_cast<int64_t>(shift.size());
  if (k <= 0 || (!scale.empty() && static_cast<int64_t>(scale.size()) != k)) return false;
  // A conv whose weight (and bias) are inputs computed at run time has nothing to fold into.
  if (host.kind == LayerKind::kCONVOLUTION && !host.weights.count("kernel")) return false;
  std::vector<float> bias(static_cast<size_t>(k), 0.f);
  if (const HostTensor* b = weight(host, "bias")) {
    if (b->numel() != k) return false;
    bias = b->asFloats();
  }
  if (!scale.empty()) {
    auto it = host.weights.find("kernel");
    if (it == host.weights.end() || it->second.dtype != DataType::kFLOAT) return false;
    HostTensor& w = it->second;
    const int64_t n = w.numel();
    float* p = w.f32();
    if (host.kind == LayerKind::kCONVOLUTION) {
      if (w.dims.empty() || w.dims[0] != k) return false;
      const int64_t row = n / k;  // one output channel's filter is contiguous
      for (int64_t c = 0; c < k; ++c)
        for (int64_t i = 0; i < row; ++i) p[c * row + i] *= scale[c];
    } else {
      if (w.dims.size() != 2) return false;
      if (host.attrs.i("trans_b", 0)) {  // [N, K]: one row per output channel
        if (w.dims[0] != k) return false;
        for (int64_t c = 0; c < k; ++c)
          for (int64_t i = 0; i < w.dims[1]; ++i) p[c * w.dims[1] + i] *= scale[c];
      } else {  // [K, N]: one column per output channel
        if (w.dims[1] != k) return false;
        for (int64_t r = 0; r < w.dims[0]; ++r)
          for (int64_t c = 0; c < k; ++c) p[r * k + c] *= scale[c];
      }
    }
    for (int64_t c = 0; c < k; ++c) bias[c] *= scale[c];
  }
  for (int64_t c = 0; c < k; ++c) bias[c] += shift[c];
  host.weights["bias"] = HostTensor::fromFloats({k}, bias);
  return true;
}

bool foldElementwiseConstant(Network& net, const Consumers& cons, int user, bool allowScale,
                             const char* pass) {
  const Layer& ew = net.layers[user];
  if (ew.dead || ew.kind != LayerKind::kELEMENTWISE || ew.inputs.size() != 2) return false;
  if (ew.outputs.size() != 1) return false;
  const std::string op = ew.attrs.s("op");
  const bool isScale = op == "PROD" || op == "DIV";
  if (op != "SUM" && op != "SUB" && !(allowScale && isScale)) return false;
  const bool commutes = op == "SUM" || op == "PROD";
  for (int slot = 0; slot < (commutes ? 2 : 1); ++slot) {
    int x = ew.inputs[slot];
    const HostTensor* c = constantValue(net, ew.inputs[1 - slot]);
    int h = fusionHost(net, cons, x, user);
    if (!c || h < 0) continue;
    Layer& host = net.layers[h];
    if (hasActivation(host) || (isScale && hasResidual(host))) continue;
    const int64_t outRank = static_cast<int64_t>(net.tensors[x].dims.size());
    const int64_t k = outputChannels(net, host);
    std::optional<std::vector<float>> v = perChannel(*c, outRank, channelAxis(net, host), k);
    if (!v) continue;
    std::vector<float> scale, shift(static_cast<size_t>(k), 0.f);
    if (op == "SUM") shift = *v;
    if (op == "SUB")
      for (int64_t i = 0; i < k; ++i) shift[i] = -(*v)[i];
    if (op == "PROD") scale = *v;
    if (op == "DIV") {
      if (std::any_of(v->begin(), v->end(), [](float f) { return f == 0.f; })) continue;
      for (float f : *v) scale.push_back(1.f / f);
    }
    if (!foldAffine(host, scale, shift)) continue;
    note(str(pass, ": folded ELEMENTWISE ", op, " '", ew.name, "' into ",
             ir::layerKindName(host.kind), " '", host.name, "'"));
    absorb(net, h, user);
    return true;
  }
  return false;
}

void absorb(Network& net, int host, int victim) {
  Layer& v = net.layers[victim];
  Layer& h = net.layers[host];
  int out = v.outputs[0];
  net.tensors[h.outputs[0]].producer = -1;  // orphaned; compact() drops it
  h.outputs[0] = out;
  net.tensors[out].producer = host;
  h.onnx_nodes.insert(h.onnx_nodes.end(), v.onnx_nodes.begin(), v.onnx_nodes.end());
  mergeConstraints(h, v);
  h.output_types = v.output_types;
  v.dead = true;
}

void replaceUses(Network& net, int from, int to) {
  for (Layer& l : net.layers) {
    if (l.dead) continue;
    for (int& in : l.inputs)
      if (in == from) in = to;
  }
}

bool dependsOnLayer(const Network& net, int t, int layer) {
  std::vector<char> seen(net.layers.size(), 0);
  std::vector<int> stack{t};
  while (!stack.empty()) {
    int cur = stack.back();
    stack.pop_back();
    if (cur < 0) continue;
    int p = net.tensors[cur].producer;
    if (p < 0 || seen[p]) continue;
    if (p == layer) return true;
    seen[p] = 1;
    for (int in : net.layers[p].inputs) stack.push_back(in);
  }
  return false;
}

}  // namespace clrt::passes::detail
