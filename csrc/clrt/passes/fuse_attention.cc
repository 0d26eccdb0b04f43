// fuseAttention: the scaled dot-product attention that exporters write as layers,
//   MatMul(q, k^T) [* or / a scalar] [+ bias] -> Softmax(last axis) [-> Where(IsNaN(p), 0, p)]
//   -> MatMul(p, v),
// becomes one ATTENTION layer (ir/network.h), whose kernels keep the [Sq, Skv] scores of a head
// on chip instead of writing them, the softmax and the probabilities to memory in three more
// launches (tactics/attention.cc). Scalar multiplies of q or k feeding only the first MatMul (the
// sqrt(scale) PyTorch's exporter puts on both, also behind k's transpose) join the scale. The
// scores, the probabilities and the tensors in between must be read by nothing else and be
// neither outputs, debug tensors nor Q/DQ points. A dynamic range set on one of them (trtexec's
// placeholder ranges set one on every tensor, as do INT8 scripts that range the whole network)
// goes unused: the fused kernel keeps scores and probabilities on chip in FP32 / FP16, and a
// VERBOSE note names those tensors (before, a range kept the layers apart: ViT-B/16 with
// clrtexec --int8 ran 2.7x slower than calibrated). q, k and v must have one
// rank (their leading dims broadcast, and may be known only at run time), with head sizes known
// and at most ir::kMaxAttentionHead.
//
// Then the copies around it go where the shapes are static: q, k and v read through the
// transposes, constant-index gathers, reshapes and (un)squeezes that cut them out of a packed
// projection (PyTorch's in_proj split, the heads' transposes) as strided views of its output
// (attrs <x>_dims, <x>_strides, <x>_offset, <x>_src; ranges on the tensors between go unused,
// the source keeps its own), and a transpose of the result (heads back
// together) becomes the strides it is written with (o_strides, o_dims). Separate projections of
// one input feeding q, k and v (Hugging Face's query, key and value) then become one MatMul whose
// packed output the views read (pack_projections.cc). Movement layers left without readers go with
// removeDeadLayers.
// CLRT_FUSE_ATTENTION=0 leaves the layers apart (for comparisons), as does the builder for an
// FP32-only build on a tensor-core GPU (builder.cc: its MatMuls then run as TF32 GEMMs, while
// the fused kernel's tensor-core path is FP16).
#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

namespace {

using ir::LayerKind;

// Live readers of t that are used themselves (an output watched or read): a layer another
// pass left without readers (removeDeadLayers drops it at the end of the round) does not count.
std::vector<int> usedReaders(const ir::Network& net, const detail::Consumers& cons, int t) {
  std::vector<int> used;
  for (int l : detail::liveConsumers(net, cons, t))
    for (int o : net.layers[l].outputs)
      if (o >= 0 && (net.tensors[o].is_output || net.tensors[o].debug ||
                     !detail::liveConsumers(net, cons, o).empty())) {
        used.push_back(l);
        break;
      }
  return used;
}

// A tensor that disappears into the fused layer: `readers` used readers, nothing outside
// watches it (a dynamic range does not count: see the top).
bool internal(const ir::Network& net, const detail::Consumers& cons, int t, size_t readers = 1) {
  const ir::Tensor& x = net.tensors[t];
  return !x.is_output && !x.debug && !x.qdq_point && usedReaders(net, cons, t).size() == readers;
}

// The names of the ranged output tensors of layers `gone` (about to disappear), comma-separated.
std::string rangedOutputs(const ir::Network& net, const std::vector<int>& gone) {
  std::string names;
  for (int g : gone)
    for (int t : net.layers[g].outputs)
      if (t >= 0 && net.tensors[t].dynamic_range)
        names += (names.empty() ? "'" : ", '") + net.tensors[t].name + "'";
  return names;
}

int producer(const ir::Network& net, int t) {
  if (t < 0) return -1;
  const int p = net.tensors[t].producer;
  return p >= 0 && !net.layers[p].dead ? p : -1;
}

// The scalar constant c of y = x * c, c * x or x / c, a single-output ELEMENTWISE layer
// without constraints; sets *x and returns the factor (1/c for a divide), else 0.
double scalarFactor(const ir::Network& net, int layer, int* x) {
  if (layer < 0) return 0;
  const ir::Layer& e = net.layers[layer];
  if (e.kind != LayerKind::kELEMENTWISE || e.inputs.size() != 2 || e.outputs.size() != 1 ||
      detail::hasConstraint(e))
    return 0;
  const std::string op = e.attrs.s("op");
  for (int slot = 0; slot < 2; ++slot) {
    if (op != "PROD" && !(op == "DIV" && slot == 0)) continue;
    const int u = e.inputs[slot], c = e.inputs[1 - slot];
    const std::optional<float> v =
        u >= 0 ? detail::scalarConst(net, c, net.tensors[u].dims.size()) : std::nullopt;
    if (!v || !std::isfinite(*v) || *v == 0) continue;
    const double f = *v;
    *x = u;
    return op == "DIV" ? 1.0 / f : f;
  }
  return 0;
}

// A MatMul of an activation by weights, row by row (rows of the product depend on the same rows
// of the input only), with no residual to move along: what a row permutation commutes with.
bool rowWiseMatmul(const ir::Layer& l) {
  return detail::rowWiseMatmul(l) && !detail::hasResidual(l);
}

bool isMatmulOfTwo(const ir::Layer& l) {
  return l.kind == LayerKind::kMATRIX_MULTIPLY && l.inputs.size() == 2 && l.inputs[0] >= 0 &&
         l.inputs[1] >= 0 && l.outputs.size() == 1 && l.weights.empty() &&
         l.attrs.i("trans_a", 0) == 0 && !detail::hasActivation(l) && !detail::hasResidual(l);
}

// What one match found: the layers that go, the fused layer's inputs and attributes.
struct Match {
  std::vector<int> gone;  // layers merged into `keep`
  int keep = -1;          // the second MatMul, which becomes the ATTENTION layer
  int q = -1, k = -1, v = -1, bias = -1;
  double scale = 1;
  bool transK = true;
  int guard = 0;  // nan_to_zero: 1 PyTorch's NaN guard, 2 ONNX Attention's masked-row guard
};

// Whether constant tensor t holds one float value equal to v, of rank at most `rank`.
bool scalarIs(const ir::Network& net, int t, float v, size_t rank) {
  const std::optional<float> c = detail::scalarConst(net, t, rank);
  return c && *c == v;
}

// ONNX Attention's guard as clrt imports it (onnx/importers/attention.cc): Where(ReduceMax(bias,
// last axis) == -inf, 0, p), zeros for a row whose every key the bias masks. Its output, else -1.
int maskedRowGuard(const ir::Network& net, const detail::Consumers& cons, int p, Match* m) {
  const std::vector<int> readers = usedReaders(net, cons, p);
  if (m->bias < 0 || readers.size() != 1) return -1;
  const ir::Layer& w = net.layers[readers[0]];
  const size_t rank = net.tensors[p].dims.size();
  if (w.kind != LayerKind::kWHERE || w.inputs.size() != 3 || w.inputs[2] != p ||
      !scalarIs(net, w.inputs[1], 0.0f, rank))
    return -1;
  const int eq = producer(net, w.inputs[0]);
  if (eq < 0 || !internal(net, cons, w.inputs[0])) return -1;
  const ir::Layer& e = net.layers[eq];
  if (e.kind != LayerKind::kELEMENTWISE || e.attrs.s("op") != "EQUAL" || e.inputs.size() != 2 ||
      !scalarIs(net, e.inputs[1], -INFINITY, rank))
    return -1;
  const int mx = producer(net, e.inputs[0]);
  if (mx < 0 || !internal(net, cons, e.inputs[0])) return -1;
  const ir::Layer& r = net.layers[mx];
  const int64_t brank = static_cast<int64_t>(net.tensors[m->bias].dims.size());
  const std::vector<int64_t> axes = r.attrs.ints("axes");
  if (r.kind != LayerKind::kREDUCE || r.attrs.s("op") != "MAX" || r.inputs.size() != 1 ||
      r.inputs[0] != m->bias || r.attrs.i("keepdims", 1) != 1 || axes.size() != 1 ||
      (axes[0] != brank - 1 && axes[0] != -1))
    return -1;
  m->gone.insert(m->gone.end(), {readers[0], eq, mx});
  m->guard = 2;
  return w.outputs[0];
}

// The Where(IsNaN(p), 0, p) PyTorch writes after the softmax: its output, else -1 (p read by
// exactly the IsNaN and the Where).
int nanGuard(const ir::Network& net, const detail::Consumers& cons, int p, Match* m) {
  const std::vector<int> readers = usedReaders(net, cons, p);
  if (readers.size() != 2 || !internal(net, cons, p, 2)) return -1;
  int isnan = -1, where = -1;
  for (int r : readers) {
    const ir::Layer& l = net.layers[r];
    if (l.kind == LayerKind::kUNARY && l.attrs.s("op") == "ISNAN" && l.inputs.size() == 1)
      isnan = r;
    else if (l.kind == LayerKind::kWHERE && l.inputs.size() == 3 && l.outputs.size() == 1)
      where = r;
  }
  if (isnan < 0 || where < 0) return -1;
  const ir::Layer &u = net.layers[isnan], &w = net.layers[where];
  const int cond = u.outputs.at(0);
  if (w.inputs[0] != cond || w.inputs[2] != p || !internal(net, cons, cond) ||
      !scalarIs(net, w.inputs[1], 0.0f, net.tensors[p].dims.size()))
    return -1;
  m->gone.push_back(isnan);
  m->gone.push_back(where);
  m->guard = 1;
  return w.outputs[0];
}

// A scalar multiply producing t, read by nothing else, joins the scale. Returns what the fused
// layer (or the transpose in front of it) reads instead.
int unscaled(ir::Network& net, const detail::Consumers& cons, int t, Match* m) {
  int x = -1;
  const int p = producer(net, t);
  if (p >= 0 && internal(net, cons, t)) {
    const double f = scalarFactor(net, p, &x);
    if (f != 0) {
      m->gone.push_back(p);
      m->scale *= f;
      return x;
    }
  }
  return t;
}

// ---- Strided views: a tensor as element (idx) = source[offset + sum_k idx_k * stride_k].
// Between a view's source and its tensor a dim may be a product of dims with unrelated strides
// (PyTorch's [S, B*H, d] of a [S, B, 3*H*d] projection): each dim is kept as its atoms, outer
// first, and must be one atom (or atoms that merge) at the end.
struct Atom {
  int64_t size, stride;
};
struct View {
  std::vector<std::vector<Atom>> dims;
  int64_t offset = 0;
};

View contiguousView(const Dims& d) {
  View v;
  const std::vector<int64_t> st = stridesOf(d);
  for (size_t k = 0; k < d.size(); ++k) v.dims.push_back({{d[k], st[k]}});
  return v;
}

using detail::staticDims;

// The view regrouped as `out` (same element order: RESHAPE, FLATTEN, SQUEEZE, UNSQUEEZE). An
// atom split across two dims must divide evenly.
bool regroup(View* v, const Dims& out) {
  std::vector<Atom> atoms;
  for (const auto& d : v->dims)
    for (const Atom& a : d)
      if (a.size != 1) atoms.push_back(a);
  View r;
  r.offset = v->offset;
  size_t next = 0;
  for (int64_t n : out) {
    std::vector<Atom> dim;
    int64_t need = n;
    while (need > 1) {
      if (next >= atoms.size()) return false;
      Atom& a = atoms[next];
      if (a.size <= need) {
        if (need % a.size != 0) return false;
        need /= a.size;
        dim.push_back(a);
        ++next;
      } else {
        if (a.size % need != 0) return false;
        dim.push_back({need, a.stride * (a.size / need)});
        a.size /= need;
        need = 1;
      }
    }
    r.dims.push_back(dim);
  }
  if (next != atoms.size()) return false;
  *v = std::move(r);
  return true;
}

// The view of layer l's output `y` given the view of its input 0; false where it is no view.
bool viewThrough(const ir::Network& net, const ir::Layer& l, int y, View* v) {
  const Dims& out = net.tensors[y].dims;
  switch (l.kind) {
    case LayerKind::kRESHAPE:
    case LayerKind::kFLATTEN:
    case LayerKind::kSQUEEZE:
    case LayerKind::kUNSQUEEZE:
      return regroup(v, out);
    case LayerKind::kTRANSPOSE: {
      const std::vector<int64_t> perm = detail::resolvedPerm(l.attrs.ints("perm"), v->dims.size());
      if (perm.empty() && !v->dims.empty()) return false;
      View t;
      t.offset = v->offset;
      for (int64_t p : perm) t.dims.push_back(v->dims[static_cast<size_t>(p)]);
      *v = std::move(t);
      return true;
    }
    case LayerKind::kGATHER: {
      if (l.attrs.s("mode", "DEFAULT") != "DEFAULT" || l.inputs.size() != 2) return false;
      const HostTensor* idx = detail::constantValue(net, l.inputs[1]);
      const int64_t r = static_cast<int64_t>(v->dims.size());
      int64_t axis = l.attrs.i("axis", 0);
      axis = axis < 0 ? axis + r : axis;
      if (!idx || idx->numel() != 1 || idx->dims.size() > 1 || axis < 0 || axis >= r) return false;
      auto& dim = v->dims[static_cast<size_t>(axis)];
      int64_t n = 1;
      for (const Atom& a : dim) n *= a.size;
      int64_t c = idx->asInt64()[0];
      c = c < 0 ? c + n : c;
      if (c < 0 || c >= n) return false;
      for (size_t k = dim.size(); k-- > 0;) {  // the index in the atoms' mixed radix
        v->offset += c % dim[k].size * dim[k].stride;
        c /= dim[k].size;
      }
      if (idx->dims.empty())
        v->dims.erase(v->dims.begin() + axis);
      else
        dim = {{1, 0}};
      return true;
    }
    case LayerKind::kSPLIT: {  // output o: a slice along the axis, one atom wide
      const std::vector<int64_t> sizes = l.attrs.ints("split");
      const int64_t r = static_cast<int64_t>(v->dims.size());
      int64_t axis = l.attrs.i("axis", 0);
      axis = axis < 0 ? axis + r : axis;
      const auto o = std::find(l.outputs.begin(), l.outputs.end(), y) - l.outputs.begin();
      if (l.inputs.size() != 1 || sizes.size() != l.outputs.size() || axis < 0 || axis >= r ||
          o >= static_cast<ptrdiff_t>(sizes.size()))
        return false;
      std::vector<Atom> dim;
      for (const Atom& a : v->dims[static_cast<size_t>(axis)])
        if (a.size != 1) dim.push_back(a);
      if (dim.size() != 1) return false;
      int64_t start = 0;
      for (ptrdiff_t i = 0; i < o; ++i) start += sizes[static_cast<size_t>(i)];
      if (start + sizes[static_cast<size_t>(o)] > dim[0].size) return false;
      v->offset += start * dim[0].stride;
      v->dims[static_cast<size_t>(axis)] = {{sizes[static_cast<size_t>(o)], dim[0].stride}};
      return true;
    }
    default:
      return false;
  }
}

// Each dim's atoms merged into one stride (size-1 dims stride 0), else false.
bool strides(const View& v, std::vector<int64_t>* st) {
  st->clear();
  for (const auto& dim : v.dims) {
    int64_t size = 1, stride = 0;
    for (const Atom& a : dim) {
      if (a.size == 1) continue;
      if (size == 1) {
        size = a.size, stride = a.stride;
      } else if (stride == a.size * a.stride) {
        size *= a.size, stride = a.stride;
      } else {
        return false;
      }
    }
    st->push_back(stride);
  }
  return true;
}

// A movement layer a view may look through: it only moves elements, nobody watches its output
// and it has no precision constraint.
bool viewable(const ir::Network& net, int layer) {
  if (layer < 0) return false;
  const ir::Layer& l = net.layers[layer];
  const bool kind = l.kind == LayerKind::kRESHAPE || l.kind == LayerKind::kFLATTEN ||
                    l.kind == LayerKind::kSQUEEZE || l.kind == LayerKind::kUNSQUEEZE ||
                    l.kind == LayerKind::kTRANSPOSE || l.kind == LayerKind::kGATHER ||
                    l.kind == LayerKind::kSPLIT;
  if (!kind || l.outputs.empty() || (l.outputs.size() != 1 && l.kind != LayerKind::kSPLIT) ||
      l.inputs.empty() || l.inputs[0] < 0 || detail::hasConstraint(l))
    return false;
  // (A dynamic range on the tensors it moves does not count: a view's values are its source's,
  // whose range holds for them, and the ones that disappear go unused, as at the top.)
  const ir::Tensor& x = net.tensors[l.inputs[0]];
  if (!staticDims(x.dims) || x.qdq_point ||
      (x.dtype != DataType::kFLOAT && x.dtype != DataType::kHALF))
    return false;
  for (int o : l.outputs) {
    if (o < 0) return false;
    const ir::Tensor& y = net.tensors[o];
    if (!staticDims(y.dims) || y.debug || y.qdq_point || x.dtype != y.dtype) return false;
  }
  return true;
}

// The movement layers a view of tensor t may look through, nearest first.
std::vector<int> chainOf(const ir::Network& net, int t) {
  std::vector<int> chain;
  for (int u = t; viewable(net, producer(net, u)) && chain.size() < 16;) {
    chain.push_back(producer(net, u));
    u = net.layers[chain.back()].inputs[0];
  }
  return chain;
}

// The strides of tensor t read through `chain` (nearest first) from a source laid out as `v`,
// or false.
bool composeView(const ir::Network& net, const std::vector<int>& chain, int t, View v,
                 std::vector<int64_t>* st, int64_t* offset) {
  for (size_t k = chain.size(); k-- > 0;) {
    const int y = k == 0 ? t : net.layers[chain[k - 1]].inputs[0];
    if (!viewThrough(net, net.layers[chain[k]], y, &v)) return false;
  }
  if (!regroup(&v, net.tensors[t].dims) || !strides(v, st)) return false;
  *offset = v.offset;
  return true;
}

// torchvision's in_proj: q, k and v all cut out of P = MatMul(Transpose(Y), W) by movement
// layers read by nothing else, the transpose moving rows only (its last axis stays). As the
// MatMul works row by row, P = Transpose(MatMul(Y, W)): the transpose moves below the MatMul,
// where the views of q, k and v take it in, and the [B, S, E] -> [S, B, E] copy goes. Only done
// when all three views compose through it. True when moved.
bool hoistRowTranspose(ir::Network& net, ir::Layer& a) {
  if (a.attrs.has("q_strides") || a.attrs.has("k_strides") || a.attrs.has("v_strides"))
    return false;
  std::vector<std::vector<int>> chains;
  std::set<int> members;
  int src = -1;
  for (int slot = 0; slot < 3; ++slot) {
    const int t = a.inputs[static_cast<size_t>(slot)];
    if (t < 0 || !staticDims(net.tensors[t].dims)) return false;
    chains.push_back(chainOf(net, t));
    if (chains.back().empty()) return false;
    const int s0 = net.layers[chains.back().back()].inputs[0];
    if (src >= 0 && s0 != src) return false;
    src = s0;
    members.insert(chains.back().begin(), chains.back().end());
  }
  const int mi = producer(net, src);
  if (mi < 0) return false;
  const ir::Layer& m = net.layers[mi];
  if (!rowWiseMatmul(m)) return false;
  const int x = m.inputs[0], ti = producer(net, x);
  const size_t r = net.tensors[src].dims.size();
  if (ti < 0 || net.layers[ti].kind != LayerKind::kTRANSPOSE || !viewable(net, ti) ||
      net.tensors[x].dims.size() != r)
    return false;
  const detail::Consumers cons = net.consumers();
  if (!internal(net, cons, x) || net.tensors[src].is_output || net.tensors[src].debug ||
      net.tensors[src].qdq_point)
    return false;
  const std::vector<int64_t> perm = detail::resolvedPerm(net.layers[ti].attrs.ints("perm"), r);
  if (perm.size() != r || perm.back() != static_cast<int64_t>(r) - 1) return false;
  // Nothing else reads P or what the chains make of it: after the views, they all go.
  for (int t : {src}) {
    for (int c : usedReaders(net, cons, t))
      if (!members.count(c)) return false;
  }
  for (int l : members)
    for (int o : net.layers[l].outputs)
      for (int c : usedReaders(net, cons, o))
        if (!members.count(c) && &net.layers[c] != &a) return false;
  // Dry run: P' = MatMul(Y) laid out contiguously, P its transpose, each chain from there.
  Dims moved = net.tensors[net.layers[ti].inputs[0]].dims;
  moved.back() = net.tensors[src].dims.back();
  View base = contiguousView(moved);
  if (!viewThrough(net, net.layers[ti], src, &base)) return false;
  for (int slot = 0; slot < 3; ++slot) {
    std::vector<int64_t> st;
    int64_t off = 0;
    if (!composeView(net, chains[static_cast<size_t>(slot)], a.inputs[static_cast<size_t>(slot)],
                     base, &st, &off))
      return false;
  }
  // MatMul(Y) -> P' -> the transpose -> P.
  ir::Tensor pt;
  pt.name = net.uniqueTensorName(net.tensors[src].name + "_rows");
  pt.dtype = net.tensors[src].dtype;
  pt.dims = moved;
  pt.producer = mi;
  // A transpose moves values only: P' holds P's and Y x's, so their ranges carry over (the
  // MatMul keeps an input range for INT8 where only x had one).
  pt.dynamic_range = net.tensors[src].dynamic_range;
  net.tensors.push_back(pt);
  {
    ir::Tensor& y = net.tensors[net.layers[ti].inputs[0]];
    if (!y.dynamic_range) y.dynamic_range = net.tensors[x].dynamic_range;
  }
  const int p2 = static_cast<int>(net.tensors.size()) - 1;
  ir::Layer& mm = net.layers[mi];
  ir::Layer& tr = net.layers[ti];
  mm.inputs[0] = tr.inputs[0];
  mm.outputs[0] = p2;
  tr.inputs[0] = p2;
  tr.outputs[0] = src;
  net.tensors[src].producer = ti;
  detail::note(str("fuseAttention: '", tr.name, "' moved below '", mm.name,
                   "', into the views of '", a.name, "'"));
  return true;
}

// Input `slot` of ATTENTION layer a read through the movement layers that make it, as far back
// as the composition stays a strided view. True when it changed.
bool viewInput(ir::Network& net, ir::Layer& a, int slot) {
  static const char* const kNames[] = {"q", "k", "v"};
  const std::string n = kNames[slot];
  if (a.attrs.has(n + "_strides")) return false;  // one fold per input
  const int t = a.inputs[static_cast<size_t>(slot)];
  if (t < 0 || !staticDims(net.tensors[t].dims)) return false;
  // The chain back from t, nearest first; then the farthest source whose view composes.
  const std::vector<int> chain = chainOf(net, t);
  for (size_t len = chain.size(); len > 0; --len) {
    const int src = net.layers[chain[len - 1]].inputs[0];
    std::vector<int64_t> st;
    int64_t off = 0;
    const std::vector<int> part(chain.begin(), chain.begin() + static_cast<ptrdiff_t>(len));
    if (!composeView(net, part, t, contiguousView(net.tensors[src].dims), &st, &off)) continue;
    a.attrs.set(n + "_dims", net.tensors[t].dims);
    a.attrs.set(n + "_strides", st);
    a.attrs.set(n + "_offset", off);
    a.attrs.set(n + "_src", net.tensors[src].dims);
    a.inputs[static_cast<size_t>(slot)] = src;
    detail::note(str("fuseAttention: '", a.name, "' reads ", n, " through ", len,
                     " movement layer(s) as a view of '", net.tensors[src].name, "'"));
    return true;
  }
  return false;
}

// The ATTENTION layer writes its result where a TRANSPOSE reading it alone would put it.
bool viewOutput(ir::Network& net, const detail::Consumers& cons, ir::Layer& a) {
  if (a.attrs.has("o_strides")) return false;
  const int y = a.outputs[0];
  if (!internal(net, cons, y) || !staticDims(net.tensors[y].dims)) return false;
  const int ti = usedReaders(net, cons, y)[0];
  ir::Layer& tr = net.layers[ti];
  if (tr.kind != LayerKind::kTRANSPOSE || tr.outputs.size() != 1 || detail::hasConstraint(tr) ||
      !detail::mergeableConstraints(tr, a))
    return false;
  const size_t r = net.tensors[y].dims.size();
  const std::vector<int64_t> perm = detail::resolvedPerm(tr.attrs.ints("perm"), r);
  if (perm.size() != r) return false;
  const int z = tr.outputs[0];
  const std::vector<int64_t> zs = stridesOf(net.tensors[z].dims);
  std::vector<int64_t> st(r, 0);
  for (size_t k = 0; k < r; ++k) st[static_cast<size_t>(perm[k])] = zs[k];
  a.attrs.set("o_strides", st);
  a.attrs.set("o_dims", net.tensors[z].dims);
  a.outputs[0] = z;
  net.tensors[z].producer = static_cast<int>(&a - net.layers.data());
  a.onnx_nodes.insert(a.onnx_nodes.end(), tr.onnx_nodes.begin(), tr.onnx_nodes.end());
  tr.dead = true;
  detail::note(
      str("fuseAttention: '", a.name, "' writes its result as '", tr.name, "' transposes it"));
  return true;
}

// torchvision's out_proj after the heads came back together: z (this layer's result, written
// as o_dims) -> Reshape [M, K] -> MatMul(W) -> Reshape [r0, r1, ..., N] -> Transpose of the row
// dims (last axis kept), each read by the next alone. The MatMul works row by row, so the layer
// writes its rows in the transposed order, the MatMul reads them as [rows..., K] and writes the
// transpose's output itself: the transpose and the last reshape go, and a residual Add after it
// meets the MatMul (fuseResidualAdd). True when rewritten.
bool sinkRowTranspose(ir::Network& net, const detail::Consumers& cons, ir::Layer& a) {
  if (!a.attrs.has("o_strides")) return false;
  auto next = [&](int t, LayerKind kind) -> int {
    if (t < 0 || !internal(net, cons, t) || !staticDims(net.tensors[t].dims)) return -1;
    const int l = usedReaders(net, cons, t)[0];
    const ir::Layer& x = net.layers[l];
    return x.kind == kind && x.outputs.size() == 1 && !x.inputs.empty() && x.inputs[0] == t &&
                   !detail::hasConstraint(x) && staticDims(net.tensors[x.outputs[0]].dims)
               ? l
               : -1;
  };
  const int z = a.outputs[0];
  const int flat = next(z, LayerKind::kRESHAPE);
  const int mi = flat < 0 ? -1 : next(net.layers[flat].outputs[0], LayerKind::kMATRIX_MULTIPLY);
  const int unflat = mi < 0 ? -1 : next(net.layers[mi].outputs[0], LayerKind::kRESHAPE);
  const int ti = unflat < 0 ? -1 : next(net.layers[unflat].outputs[0], LayerKind::kTRANSPOSE);
  if (ti < 0) return false;
  const ir::Layer& m = net.layers[mi];
  if (!rowWiseMatmul(m)) return false;
  const Dims zd = net.tensors[z].dims, fd = net.tensors[m.inputs[0]].dims;
  const Dims gd = net.tensors[m.outputs[0]].dims,
             ud = net.tensors[net.layers[unflat].outputs[0]].dims;
  const size_t nr = ud.size() - 1;
  const std::vector<int64_t> perm = detail::resolvedPerm(net.layers[ti].attrs.ints("perm"), nr + 1);
  if (fd.size() != 2 || gd.size() != 2 || nr < 1 || zd.size() <= nr || perm.size() != nr + 1 ||
      perm.back() != static_cast<int64_t>(nr) || net.layers[flat].inputs.size() > 2)
    return false;
  int64_t k = 1;
  for (size_t i = 0; i < zd.size(); ++i) {
    if (i < nr && zd[i] != ud[i]) return false;  // the rows of z are the rows of the product
    if (i >= nr) k *= zd[i];
  }
  if (k != fd[1]) return false;
  // z' holds z's row dims in the transpose's order; sigma: z dim -> z' dim.
  Dims zn = zd;
  std::vector<size_t> sigma(zd.size());
  for (size_t i = 0; i < zd.size(); ++i) sigma[i] = i;
  for (size_t i = 0; i < nr; ++i) {
    zn[i] = zd[static_cast<size_t>(perm[i])];
    sigma[static_cast<size_t>(perm[i])] = i;
  }
  const std::vector<int64_t> zs = stridesOf(zd), zns = stridesOf(zn);
  std::vector<int64_t> st = a.attrs.ints("o_strides");
  for (int64_t& x : st) {  // each logical dim of size > 1 steps along one dim of z
    size_t i = 0;
    while (i < zd.size() && !(zd[i] > 1 && zs[i] == x)) ++i;
    x = i < zd.size() ? zns[sigma[i]] : 0;
  }
  Dims rows(zn.begin(), zn.begin() + static_cast<ptrdiff_t>(nr));
  rows.push_back(k);
  ir::Layer& reshape = net.layers[flat];
  ir::Layer& mm = net.layers[mi];
  ir::Layer& tail = net.layers[unflat];
  ir::Layer& tr = net.layers[ti];
  a.attrs.set("o_strides", st);
  a.attrs.set("o_dims", zn);
  net.tensors[z].dims = zn;
  reshape.inputs = {z};
  reshape.attrs = ir::Attrs();
  reshape.attrs.set("shape", rows);
  net.tensors[reshape.outputs[0]].dims = rows;
  const int w = tr.outputs[0];
  mm.outputs[0] = w;
  net.tensors[w].producer = mi;
  for (const ir::Layer* gone : {&tail, &tr})
    mm.onnx_nodes.insert(mm.onnx_nodes.end(), gone->onnx_nodes.begin(), gone->onnx_nodes.end());
  tail.dead = tr.dead = true;
  detail::note(str("fuseAttention: '", a.name, "' writes its rows in the order of '", tr.name,
                   "', which goes with '", tail.name, "': '", mm.name, "' writes ",
                   dimsToString(net.tensors[w].dims)));
  return true;
}

bool staticHead(const Dims& d) { return !d.empty() && d.back() > 0; }

// Matches the pattern ending at softmax layer `si`; fills *m without changing the network.
bool match(const ir::Network& net, const detail::Consumers& cons, int si, Match* m) {
  const ir::Layer& sm = net.layers[si];
  if (sm.kind != LayerKind::kSOFTMAX || sm.inputs.size() != 1 || sm.outputs.size() != 1)
    return false;
  const int x = sm.inputs[0];
  const size_t rank = net.tensors[x].dims.size();
  const int64_t axis = sm.attrs.i("axis", -1);
  if (rank < 2 || (axis != -1 && axis != static_cast<int64_t>(rank) - 1)) return false;
  // Backwards from the scores: [+ bias], [* scalar], MatMul.
  int t = x;
  int p = producer(net, t);
  if (p >= 0 && internal(net, cons, t) && net.layers[p].kind == LayerKind::kELEMENTWISE &&
      net.layers[p].attrs.s("op") == "SUM" && net.layers[p].inputs.size() == 2 &&
      !detail::hasConstraint(net.layers[p])) {
    const ir::Layer& add = net.layers[p];
    for (int slot = 0; slot < 2 && m->bias < 0; ++slot) {
      const int a = add.inputs[slot], b = add.inputs[1 - slot];
      if (a < 0 || b < 0) continue;
      const int ap = producer(net, a);
      if (ap < 0) continue;
      const ir::Layer& al = net.layers[ap];
      int dummy = -1;
      if (b != a && (isMatmulOfTwo(al) || scalarFactor(net, ap, &dummy) != 0)) {
        const DataType bt = net.tensors[b].dtype;
        if (bt != DataType::kFLOAT && bt != DataType::kHALF) continue;
        if (net.tensors[b].dims.size() > rank) continue;
        m->bias = b;
        m->gone.push_back(p);
        t = a;
      }
    }
    if (m->bias < 0) return false;
    p = producer(net, t);
  }
  int u = -1;
  if (p >= 0 && internal(net, cons, t)) {
    const double f = scalarFactor(net, p, &u);
    if (f != 0) {
      m->scale *= f;
      m->gone.push_back(p);
      t = u;
      p = producer(net, t);
    }
  }
  if (p < 0 || !internal(net, cons, t) || !isMatmulOfTwo(net.layers[p]) ||
      net.tensors[t].dims != net.tensors[x].dims)  // a bias that broadcasts the scores wider
    return false;
  const int mm1 = p;
  m->gone.push_back(mm1);
  m->transK = net.layers[mm1].attrs.i("trans_b", 0) != 0;
  // Forwards from the probabilities: [Where(IsNaN)], MatMul(p, v).
  int probs = sm.outputs[0];
  if (const int g = nanGuard(net, cons, probs, m); g >= 0)
    probs = g;
  else if (const int h = maskedRowGuard(net, cons, probs, m); h >= 0)
    probs = h;
  if (!internal(net, cons, probs)) return false;
  const int mm2 = usedReaders(net, cons, probs)[0];
  const ir::Layer& pv = net.layers[mm2];
  if (!isMatmulOfTwo(pv) || pv.inputs[0] != probs || pv.attrs.i("trans_b", 0) != 0) return false;
  m->gone.push_back(si);
  m->keep = mm2;
  m->v = pv.inputs[1];
  m->q = net.layers[mm1].inputs[0];
  m->k = net.layers[mm1].inputs[1];
  // One rank (leading dims broadcast as the MatMuls broadcast them), head sizes static and
  // small enough for the kernels, float data.
  const Dims &qd = net.tensors[m->q].dims, &kd = net.tensors[m->k].dims,
             &vd = net.tensors[m->v].dims;
  if (qd.size() != rank || kd.size() != rank || vd.size() != rank || !staticHead(qd) ||
      !staticHead(vd) || qd.back() > ir::kMaxAttentionHead || vd.back() > ir::kMaxAttentionHead)
    return false;
  for (int in : {m->q, m->k, m->v}) {
    const DataType d = net.tensors[in].dtype;
    if (d != DataType::kFLOAT && d != DataType::kHALF) return false;
  }
  // Every member's constraint holds in the fused layer: one set precision among them, and no
  // output type asked of a tensor that disappears.
  std::optional<DataType> precision = pv.precision;
  for (int g : m->gone) {
    const ir::Layer& l = net.layers[g];
    if (!detail::mergeableConstraints(l, pv) ||
        (precision && l.precision && *l.precision != *precision))
      return false;
    if (!precision) precision = l.precision;
  }
  return true;
}

}  // namespace

bool fuseAttention(ir::Network& net) {
  if (!attentionFusionEnabled()) return false;
  bool changed = false;
  for (size_t si = 0; si < net.layers.size(); ++si) {
    if (net.layers[si].dead || net.layers[si].kind != LayerKind::kSOFTMAX) continue;
    const detail::Consumers cons = net.consumers();
    Match m;
    if (!match(net, cons, static_cast<int>(si), &m)) continue;
    const std::string ranged = rangedOutputs(net, m.gone);
    ir::Layer& a = net.layers[m.keep];
    for (int g : m.gone) {
      ir::Layer& l = net.layers[g];
      detail::mergeConstraints(a, l);
      a.onnx_nodes.insert(a.onnx_nodes.end(), l.onnx_nodes.begin(), l.onnx_nodes.end());
      l.dead = true;
    }
    a.kind = LayerKind::kATTENTION;
    a.inputs = {m.q, m.k, m.v, m.bias};
    a.attrs = ir::Attrs();
    a.attrs.set("scale", m.scale);
    a.attrs.set("trans_k", int64_t{m.transK});
    a.attrs.set("nan_to_zero", int64_t{m.guard});
    a.attrs.set("head_q", net.tensors[m.q].dims.back());
    a.attrs.set("head_v", net.tensors[m.v].dims.back());
    detail::note(str("fuseAttention: ", m.gone.size() + 1, " layers became ATTENTION '", a.name,
                     "' (scale ", m.scale, m.bias >= 0 ? ", with a bias" : "",
                     m.guard == 1   ? ", NaN rows to zero"
                     : m.guard == 2 ? ", masked rows to zero"
                                    : "",
                     ")"));
    if (!ranged.empty())
      detail::note(str("fuseAttention: the dynamic ranges of ", ranged, " go unused: ATTENTION '",
                       a.name, "' keeps them on chip in FP32 / FP16"));
    changed = true;
  }
  // Scalar multiplies of q and k (possibly behind a transpose only the layer reads) join the
  // scale; in a later round than the fusion when the transpose folding left a reader behind.
  for (ir::Layer& a : net.layers) {
    if (a.dead || a.kind != LayerKind::kATTENTION) continue;
    const detail::Consumers cons = net.consumers();
    Match m;
    for (int slot = 0; slot < 2; ++slot) {  // q and k, either possibly behind a transpose
      const int t = a.inputs[static_cast<size_t>(slot)], tp = producer(net, t);
      if (tp >= 0 && net.layers[tp].kind == LayerKind::kTRANSPOSE && internal(net, cons, t) &&
          !net.layers[tp].inputs.empty() && net.layers[tp].inputs[0] >= 0 &&
          !detail::hasConstraint(net.layers[tp]))
        net.layers[tp].inputs[0] = unscaled(net, cons, net.layers[tp].inputs[0], &m);
      else
        a.inputs[static_cast<size_t>(slot)] = unscaled(net, cons, t, &m);
    }
    if (m.gone.empty()) continue;
    const std::string ranged = rangedOutputs(net, m.gone);
    for (int g : m.gone) {
      a.onnx_nodes.insert(a.onnx_nodes.end(), net.layers[g].onnx_nodes.begin(),
                          net.layers[g].onnx_nodes.end());
      net.layers[g].dead = true;
    }
    a.attrs.set("scale", a.attrs.f("scale", 1.0) * m.scale);
    detail::note(str("fuseAttention: ", m.gone.size(), " scalar multiplies of q or k joined the ",
                     "scale of '", a.name, "'",
                     ranged.empty() ? "" : str(" (the dynamic ranges of ", ranged, " go unused)")));
    changed = true;
  }
  return changed;
}

bool attentionViews(ir::Network& net) {
  bool changed = false;
  for (size_t ai = 0; ai < net.layers.size(); ++ai) {
    if (net.layers[ai].dead || net.layers[ai].kind != LayerKind::kATTENTION) continue;
    changed = hoistRowTranspose(net, net.layers[ai]) || changed;
    for (int slot = 0; slot < 3; ++slot) changed = viewInput(net, net.layers[ai], slot) || changed;
    changed = detail::packProjections(net, ai) || changed;
    const detail::Consumers cons = net.consumers();
    if (viewOutput(net, cons, net.layers[ai])) {
      changed = true;
    } else {
      changed = sinkRowTranspose(net, cons, net.layers[ai]) || changed;
    }
  }
  return changed;
}

}  // namespace clrt::passes
