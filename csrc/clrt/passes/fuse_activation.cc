// fuseActivation: conv/matmul + a pointwise activation becomes the layer's epilogue (attrs act,
// act_alpha, act_beta), so the activation never touches memory on its own; the GELU (erf and
// tanh) and SiLU subgraphs of exporters are first collapsed into the one activation they compute.
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
    auto c =
        l.inputs[slot] == t ? detail::scalarConst(net, l.inputs[1 - slot], rank) : std::nullopt;
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
    auto c =
        l.inputs[slot] == t ? detail::scalarConst(net, l.inputs[1 - slot], rank) : std::nullopt;
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
    auto c = detail::scalarConst(net, d.inputs[1 - slot], net.tensors[x].dims.size());
    if (!c) continue;
    if (op == "DIV" && slot == 0 && near(*c, std::sqrt(2.0))) return x;
    if (op == "PROD" && near(*c, std::sqrt(0.5))) return x;
  }
  return -1;
}

// The end of both GELU subgraphs: `add` = 1 + erf(..) or 1 + tanh(..), then times x and 0.5 in
// any of the three orders exporters write. Rewrites the last layer into one ACTIVATION `type`
// reading x and marks `absorbed`, `add` and the products dead.
bool finishGelu(Network& net, const detail::Consumers& cons, int x, int add,
                std::vector<int> absorbed, const char* type) {
  absorbed.push_back(add);
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
  out.attrs.set("type", type);
  out.onnx_nodes = std::move(nodes);
  detail::note(str("fuseActivation: collapsed the ", type, " subgraph ending at '", out.name,
                   "' into ACTIVATION ", type));
  return true;
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
  const int add = scalarOp(net, cons, e.outputs[0], "SUM", 1.0);
  if (add < 0) return false;
  return finishGelu(net, cons, x, add, {pre, erf}, "GELU_ERF");
}

// The operand of ELEMENTWISE layer `l` (op `op`) other than a scalar constant near `want`, or -1.
int scalarOperand(const Network& net, int l, const char* op, double want) {
  if (l < 0) return -1;
  const Layer& e = net.layers[l];
  if (e.dead || e.kind != LayerKind::kELEMENTWISE || e.attrs.s("op") != op || e.inputs.size() != 2)
    return -1;
  for (int slot = 0; slot < 2; ++slot) {
    const int x = e.inputs[slot];
    if (x < 0) continue;
    auto c = detail::scalarConst(net, e.inputs[1 - slot], net.tensors[x].dims.size());
    if (c && near(*c, want)) return x;
  }
  return -1;
}

// ---- GELU's tanh approximation written out (Hugging Face's GPT-2 "gelu_new", PyTorch's
// gelu(approximate="tanh") below opset 20): 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 *
// x^3))). Starting from the ACTIVATION TANH layer; the cube as Pow(x, 3).
bool collapseGeluTanh(Network& net, const detail::Consumers& cons, int th) {
  const Layer& t = net.layers[th];
  if (t.attrs.s("type") != "TANH" || t.inputs.size() != 1 || t.outputs.size() != 1) return false;
  const int u = t.inputs[0];
  const int pu = u >= 0 ? net.tensors[u].producer : -1;
  const int v = scalarOperand(net, pu, "PROD", std::sqrt(2.0 / M_PI));
  if (v < 0 || onlyReader(net, cons, u) != th) return false;
  const int pv = net.tensors[v].producer;
  if (pv < 0 || onlyReader(net, cons, v) != pu) return false;
  const Layer& sum = net.layers[pv];
  if (sum.dead || sum.kind != LayerKind::kELEMENTWISE || sum.attrs.s("op") != "SUM" ||
      sum.inputs.size() != 2)
    return false;
  for (int slot = 0; slot < 2; ++slot) {
    const int x = sum.inputs[slot], w = sum.inputs[1 - slot];
    if (x < 0 || w < 0) continue;
    const int pw = net.tensors[w].producer;
    const int cube = scalarOperand(net, pw, "PROD", 0.044715);
    if (cube < 0 || onlyReader(net, cons, w) != pv) continue;
    const int pc = net.tensors[cube].producer;
    if (scalarOperand(net, pc, "POW", 3.0) != x || net.layers[pc].inputs[0] != x ||
        onlyReader(net, cons, cube) != pw)
      continue;
    const int add = scalarOp(net, cons, t.outputs[0], "SUM", 1.0);
    if (add < 0) return false;
    return finishGelu(net, cons, x, add, {pc, pw, pv, pu, th}, "GELU_TANH");
  }
  return false;
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

// The host's epilogue applies ACTIVATION layer `act`.
void setEpilogue(Layer& host, const Layer& act) {
  host.attrs.set("act", act.attrs.s("type"));
  if (act.attrs.has("alpha")) host.attrs.set("act_alpha", act.attrs.f("alpha"));
  if (act.attrs.has("beta")) host.attrs.set("act_beta", act.attrs.f("beta"));
}

// conv/matmul -> RESHAPE -> activation (Hugging Face's Conv1D: addmm on [B * S, K], then viewed
// as [B, S, N]): an elementwise activation commutes with the reshape, so it joins the epilogue
// and the reshape writes the activation's output. True when fused.
bool fuseThroughReshape(Network& net, const detail::Consumers& cons, int u) {
  const Layer& act = net.layers[u];
  const std::string type = act.attrs.s("type");
  const int t = act.inputs[0], r = t >= 0 ? net.tensors[t].producer : -1;
  if (r < 0 || net.layers[r].dead || net.layers[r].kind != LayerKind::kRESHAPE ||
      net.layers[r].outputs.size() != 1 || detail::hasConstraint(net.layers[r]) ||
      onlyReader(net, cons, t) != u || net.tensors[t].qdq_point)
    return false;
  const int y = net.layers[r].inputs.empty() ? -1 : net.layers[r].inputs[0];
  const int h = y >= 0 ? detail::fusionHost(net, cons, y, r) : -1;
  if (h < 0 || detail::hasActivation(net.layers[h]) || net.tensors[y].qdq_point ||
      !detail::mergeableConstraints(act, net.layers[h]) ||
      net.tensors[y].dtype != net.tensors[act.outputs[0]].dtype)
    return false;
  Layer& host = net.layers[h];
  setEpilogue(host, act);
  detail::mergeConstraints(host, act);
  host.onnx_nodes.insert(host.onnx_nodes.end(), act.onnx_nodes.begin(), act.onnx_nodes.end());
  const int z = act.outputs[0];
  net.layers[r].outputs[0] = z;
  net.tensors[z].producer = r;
  // y now holds the activation's values before the reshape: z's range is its range (one set on
  // the pre-activation t goes unused, as where the activation follows the host directly).
  net.tensors[y].dynamic_range = net.tensors[z].dynamic_range;
  net.layers[u].dead = true;
  detail::note(str("fuseActivation: fused ACTIVATION ", type, " '", net.layers[u].name, "' into ",
                   ir::layerKindName(host.kind), " '", host.name, "' through reshape '",
                   net.layers[r].name, "'"));
  return true;
}

bool fuseAt(Network& net, const detail::Consumers& cons, int u) {
  const Layer& act = net.layers[u];
  if (act.inputs.size() != 1 || act.outputs.size() != 1) return false;
  const std::string type = act.attrs.s("type");
  if (!epilogueSupports(type)) return false;
  int h = detail::fusionHost(net, cons, act.inputs[0], u);
  if (h < 0) return fuseThroughReshape(net, cons, u);
  Layer& host = net.layers[h];
  if (detail::hasActivation(host)) return false;
  if (net.tensors[act.inputs[0]].dtype != net.tensors[act.outputs[0]].dtype) return false;
  setEpilogue(host, act);
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
        (k == LayerKind::kACTIVATION &&
         (collapseSilu(net, cons, u) || collapseGeluTanh(net, cons, u)))) {
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
