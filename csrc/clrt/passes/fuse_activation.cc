// fuseActivation: conv/matmul + a pointwise activation becomes the layer's epilogue (attrs act,
// act_alpha, act_beta), so the activation never touches memory on its own; the GELU and SiLU
// subgraphs of exporters are first collapsed into the one activation they compute.
#include <cmath>
#include <optional>

#include "clrt/core/kernel_codes.h"
#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

using ir::Layer;
using ir::LayerKind;
using ir::Network;

namespace {

// Every activation of the table (core/kernel_codes.h) is implemented by every conv/matmul
// epilogue (the build option ACT).
bool epilogueSupports(const std::string& type) { return findActivation(type) != nullptr; }

// ---- GELU written out as x * 0.5 * (1 + erf(x / sqrt(2))) (PyTorch, BERT exports) ----------

// The scalar value of a constant tensor of at most `rank` dims, if it is one.
std::optional<float> scalarConst(const Network& net, int t, size_t rank) {
  const HostTensor* v = detail::constantValue(net, t);
  if (!v || v->numel() != 1 || v->dims.size() > rank) return std::nullopt;
  if (v->dtype != DataType::kFLOAT && v->dtype != DataType::kHALF) return std::nullopt;
  return v->asFloats()[0];
}

bool near(float v, double want) { return std::fabs(v - want) <= 1e-3 * std::fabs(want); }

// The single live reader of t when t is no network output, else -1.
int onlyReader(const Network& net, const detail::Consumers& cons, int t) {
  if (net.tensors[t].is_output) return -1;
  std::vector<int> r = detail::liveConsumers(net, cons, t);
  if (r.size() != 1) return -1;
  if (net.tensors[t].debug) {
    detail::note(str("'", net.layers[r[0]].name, "' left unfused with its producer: '",
                     net.tensors[t].name, "' is a debug tensor (mark_debug)"));
    return -1;
  }
  return r[0];
}

// ELEMENTWISE `op` layer reading `t` and a scalar constant near `want`; returns the layer.
int scalarOp(const Network& net, const detail::Consumers& cons, int t, const char* op,
             double want) {
  int u = onlyReader(net, cons, t);
  if (u < 0) return -1;
  const Layer& l = net.layers[u];
  if (l.kind != LayerKind::kELEMENTWISE || l.attrs.s("op") != op || l.inputs.size() != 2) return -1;
  const size_t rank = net.tensors[t].dims.size();
  for (int slot = 0; slot < 2; ++slot) {
    auto c = l.inputs[slot] == t ? scalarConst(net, l.inputs[1 - slot], rank) : std::nullopt;
    if (c && near(*c, want)) return u;
  }
  return -1;
}

// Whether `l` is PROD(t, 0.5) in either operand order.
bool isHalfOf(const Network& net, const Layer& l, int t) {
  if (l.dead || l.kind != LayerKind::kELEMENTWISE || l.attrs.s("op") != "PROD") return false;
  if (l.inputs.size() != 2) return false;
  const size_t rank = net.tensors[t].dims.size();
  for (int slot = 0; slot < 2; ++slot) {
    auto c = l.inputs[slot] == t ? scalarConst(net, l.inputs[1 - slot], rank) : std::nullopt;
    if (c && near(*c, 0.5)) return true;
  }
  return false;
}

// The x of `d` = x / sqrt(2) or x * (1 / sqrt(2)), else -1.
int geluInput(const Network& net, const Layer& d) {
  if (d.dead || d.kind != LayerKind::kELEMENTWISE || d.inputs.size() != 2) return -1;
  const std::string op = d.attrs.s("op");
  for (int slot = 0; slot < 2; ++slot) {
    const int x = d.inputs[slot];
    if (x < 0) continue;
    auto c = scalarConst(net, d.inputs[1 - slot], net.tensors[x].dims.size());
    if (!c) continue;
    if (op == "DIV" && slot == 0 && near(*c, std::sqrt(2.0))) return x;
    if (op == "PROD" && near(*c, std::sqrt(0.5))) return x;
  }
  return -1;
}

// Starting from an ERF layer, matches the GELU subgraph and rewrites its last layer into one
// ACTIVATION GELU_ERF reading x; the rest of the subgraph is marked dead.
bool collapseGelu(Network& net, const detail::Consumers& cons, int erf) {
  const Layer& e = net.layers[erf];
  if (e.attrs.s("op") != "ERF" || e.inputs.size() != 1 || e.outputs.size() != 1) return false;
  const int scaled = e.inputs[0];
  const int pre = scaled >= 0 ? net.tensors[scaled].producer : -1;
  if (pre < 0) return false;
  const int x = geluInput(net, net.layers[pre]);
  if (x < 0) return false;
  if (onlyReader(net, cons, scaled) != erf) return false;
  int add = scalarOp(net, cons, e.outputs[0], "SUM", 1.0);
  if (add < 0) return false;
  std::vector<int> absorbed = {pre, erf, add};
  int last = -1;
  int m = onlyReader(net, cons, net.layers[add].outputs[0]);
  if (m < 0 || net.layers[m].kind != LayerKind::kELEMENTWISE ||
      net.layers[m].attrs.s("op") != "PROD")
    return false;
  const Layer& ml = net.layers[m];
  if (ml.inputs.size() != 2) return false;
  int other = ml.inputs[0] == net.layers[add].outputs[0] ? ml.inputs[1] : ml.inputs[0];
  if (other == x) {  // (x * (1 + erf)) * 0.5
    last = scalarOp(net, cons, ml.outputs[0], "PROD", 0.5);
    absorbed.push_back(m);
  } else if (int h = other >= 0 ? net.tensors[other].producer : -1;
             h >= 0 && isHalfOf(net, net.layers[h], x) && onlyReader(net, cons, other) == m) {
    last = m;  // (x * 0.5) * (1 + erf)
    absorbed.push_back(h);
  } else if (isHalfOf(net, ml, net.layers[add].outputs[0])) {  // x * ((1 + erf) * 0.5)
    absorbed.push_back(m);
    last = onlyReader(net, cons, ml.outputs[0]);
    if (last >= 0) {
      const Layer& p = net.layers[last];
      bool ok = p.kind == LayerKind::kELEMENTWISE && p.attrs.s("op") == "PROD" &&
                p.inputs.size() == 2 &&
                ((p.inputs[0] == x && p.inputs[1] == ml.outputs[0]) ||
                 (p.inputs[1] == x && p.inputs[0] == ml.outputs[0]));
      if (!ok) last = -1;
    }
  }
  if (last < 0) return false;
  Layer& out = net.layers[last];
  const int y = out.outputs[0];
  if (net.tensors[x].dims != net.tensors[y].dims || net.tensors[x].dtype != net.tensors[y].dtype)
    return false;
  for (int a : absorbed)
    if (!detail::mergeableConstraints(net.layers[a], out)) return false;
  for (int a : absorbed) detail::mergeConstraints(out, net.layers[a]);
  std::vector<std::string> nodes;
  for (int a : absorbed) {
    Layer& l = net.layers[a];
    nodes.insert(nodes.end(), l.onnx_nodes.begin(), l.onnx_nodes.end());
    l.dead = true;
  }
  nodes.insert(nodes.end(), out.onnx_nodes.begin(), out.onnx_nodes.end());
  out.kind = LayerKind::kACTIVATION;
  out.inputs = {x};
  out.attrs = ir::Attrs();
  out.attrs.set("type", "GELU_ERF");
  out.onnx_nodes = std::move(nodes);
  detail::note(str("fuseActivation: collapsed the erf GELU subgraph ending at '", out.name,
                   "' into ACTIVATION GELU_ERF"));
  return true;
}

// ---- SiLU written out as x * sigmoid(x) (PyTorch's nn.SiLU below opset 24) ----------------

// Starting from an ACTIVATION SIGMOID layer on x whose only reader is PROD(x, sigmoid(x)) (either
// operand order), rewrites the PROD into one ACTIVATION SWISH (alpha 1) reading x; the sigmoid
// is marked dead. x then has one reader left, which fuseAt can take into x's conv or matmul.
bool collapseSilu(Network& net, const detail::Consumers& cons, int sig) {
  const Layer& s = net.layers[sig];
  if (s.attrs.s("type") != "SIGMOID" || s.inputs.size() != 1 || s.outputs.size() != 1) return false;
  const int x = s.inputs[0], sx = s.outputs[0];
  if (x < 0) return false;
  const int m = onlyReader(net, cons, sx);
  if (m < 0) return false;
  Layer& out = net.layers[m];
  if (out.kind != LayerKind::kELEMENTWISE || out.attrs.s("op") != "PROD" ||
      out.inputs.size() != 2 || out.outputs.size() != 1)
    return false;
  if (!((out.inputs[0] == x && out.inputs[1] == sx) || (out.inputs[1] == x && out.inputs[0] == sx)))
    return false;
  const int y = out.outputs[0];
  if (net.tensors[x].dims != net.tensors[y].dims || net.tensors[x].dtype != net.tensors[y].dtype)
    return false;
  if (!detail::mergeableConstraints(s, out)) return false;
  detail::mergeConstraints(out, s);
  std::vector<std::string> nodes = s.onnx_nodes;
  nodes.insert(nodes.end(), out.onnx_nodes.begin(), out.onnx_nodes.end());
  net.layers[sig].dead = true;
  out.kind = LayerKind::kACTIVATION;
  out.inputs = {x};
  out.attrs = ir::Attrs();
  out.attrs.set("type", "SWISH");
  out.attrs.set("alpha", 1.0);
  out.onnx_nodes = std::move(nodes);
  detail::note(str("fuseActivation: collapsed x * sigmoid(x) ending at '", out.name,
                   "' into ACTIVATION SWISH"));
  return true;
}

bool fuseAt(Network& net, const detail::Consumers& cons, int u) {
  const Layer& act = net.layers[u];
  if (act.inputs.size() != 1 || act.outputs.size() != 1) return false;
  const std::string type = act.attrs.s("type");
  if (!epilogueSupports(type)) return false;
  int h = detail::fusionHost(net, cons, act.inputs[0], u);
  if (h < 0) return false;
  Layer& host = net.layers[h];
  if (detail::hasActivation(host)) return false;
  if (net.tensors[act.inputs[0]].dtype != net.tensors[act.outputs[0]].dtype) return false;
  host.attrs.set("act", type);
  if (act.attrs.has("alpha")) host.attrs.set("act_alpha", act.attrs.f("alpha"));
  if (act.attrs.has("beta")) host.attrs.set("act_beta", act.attrs.f("beta"));
  detail::note(str("fuseActivation: fused ACTIVATION ", type, " '", act.name, "' into ",
                   ir::layerKindName(host.kind), " '", host.name, "'"));
  detail::absorb(net, h, u);
  return true;
}

}  // namespace

bool fuseActivation(Network& net) {
  bool changed = false;
  detail::Consumers cons = net.consumers();
  for (int u : net.topoOrder()) {
    if (net.layers[u].dead) continue;
    const LayerKind k = net.layers[u].kind;
    if ((k == LayerKind::kUNARY && collapseGelu(net, cons, u)) ||
        (k == LayerKind::kACTIVATION && collapseSilu(net, cons, u))) {
      changed = true;
      cons = net.consumers();
    }
  }
  for (int u : net.topoOrder()) {
    if (net.layers[u].dead || net.layers[u].kind != LayerKind::kACTIVATION) continue;
    if (fuseAt(net, cons, u)) {
      changed = true;
      cons = net.consumers();
    }
  }
  return changed;
}

}  // namespace clrt::passes
