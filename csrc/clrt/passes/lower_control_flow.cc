// lowerControlFlow: the network API's loops and conditionals (ir/network.h, "Control flow") in
// plain layers, before the builder does anything else.
//
// A conditional becomes WHERE layers: both branches run and each output takes the taken branch's
// value. A condition known on the host picks its branch here (the other is left dead).
//
// A loop is unrolled: its body (the layers reached from its recurrences and iterators, up to its
// outputs, trip limits and the recurrences' back edges) is copied once per iteration, each copy
// reading the previous one's recurrence values and its own slice of every iterator. The trip
// count comes from the COUNT limit, which must be known on the host; a WHILE limit's condition is
// computed on the host after each copy, so it must depend only on constants, static shapes and
// recurrences of such values (a counter). Loops inside loops unroll inner first.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "clrt/ir/host_values.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {
namespace {

using ir::Layer;
using ir::LayerKind;
using ir::Network;

// The unrolled copies of a loop's body are layers like any other: this bounds what one loop
// may add (as the ONNX importer bounds Loop and Scan).
constexpr int64_t kMaxIterations = 1024;

bool isLoopBoundary(LayerKind k) {
  return k == LayerKind::kTRIP_LIMIT || k == LayerKind::kRECURRENCE || k == LayerKind::kITERATOR ||
         k == LayerKind::kLOOP_OUTPUT;
}

std::string loopName(const Layer& l) {
  return str("loop '", l.attrs.s("loop_name", str(l.attrs.i("loop", -1))), "'");
}

[[noreturn]] void loopFail(const Layer& l, const std::string& why) {
  fail(ErrorKind::kBuild, str(loopName(l), " (layer '", l.name, "'): ", why));
}

// Conditionals: CONDITION layers give each id's condition; outputs select with it, or take the
// branch a condition known on the host picks (the other is then dead).
void lowerConditionals(Network& net) {
  ir::HostValues values(net);
  std::map<int64_t, int> condition;  // conditional id -> condition tensor
  for (Layer& l : net.layers) {
    if (l.dead || l.kind != LayerKind::kCONDITION) continue;
    const int64_t id = l.attrs.i("conditional", -1);
    if (condition.count(id))
      fail(ErrorKind::kBuild, str("conditional '", l.attrs.s("conditional_name"),
                                  "' has two conditions (set_condition was called twice?)"));
    condition[id] = l.inputs.empty() ? -1 : l.inputs[0];
    l.dead = true;
  }
  for (Layer& l : net.layers) {
    if (l.dead) continue;
    if (l.kind == LayerKind::kIF_INPUT) {
      l.kind = LayerKind::kIDENTITY;
      l.attrs = {};
    } else if (l.kind == LayerKind::kIF_OUTPUT) {
      auto it = condition.find(l.attrs.i("conditional", -1));
      if (it == condition.end() || it->second < 0)
        fail(ErrorKind::kBuild,
             str("conditional '", l.attrs.s("conditional_name"), "' (output layer '", l.name,
                 "') has no condition: call IIfConditional.set_condition(tensor)"));
      const HostTensor* known = values.value(it->second);
      if (known && known->numel() == 1) {
        l.kind = LayerKind::kIDENTITY;
        l.inputs = {l.inputs.at(known->asInt64()[0] != 0 ? 0 : 1)};
      } else {
        l.kind = LayerKind::kWHERE;
        l.inputs = {it->second, l.inputs.at(0), l.inputs.at(1)};
      }
      l.attrs = {};
    }
  }
}

struct Loop {
  int64_t id = -1;
  std::vector<int> limits, recurrences, iterators, outputs;  // layer ids
  std::vector<int> body;                                     // layer ids, producers first
  std::set<int> inBody;
  // Reached from the loop's values but feeding none of its boundary layers, in order: dropped,
  // or an error when they lead to a network output (a value leaving the loop the wrong way).
  std::vector<int> stray;
  bool blocked = false;  // its body holds another loop's boundary: unroll that one first
  int any = -1;          // a boundary layer (each carries the loop's name), for messages
};

// The boundary layers of every loop not yet unrolled, by loop id.
std::map<int64_t, Loop> collectLoops(const Network& net) {
  std::map<int64_t, Loop> loops;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& l = net.layers[i];
    if (l.dead || !isLoopBoundary(l.kind)) continue;
    Loop& loop = loops[l.attrs.i("loop", -1)];
    loop.id = l.attrs.i("loop", -1);
    const int id = static_cast<int>(i);
    if (loop.any < 0) loop.any = id;
    switch (l.kind) {
      case LayerKind::kTRIP_LIMIT:
        loop.limits.push_back(id);
        break;
      case LayerKind::kRECURRENCE:
        loop.recurrences.push_back(id);
        break;
      case LayerKind::kITERATOR:
        loop.iterators.push_back(id);
        break;
      default:
        loop.outputs.push_back(id);
    }
  }
  return loops;
}

// The body: the layers reached from the loop's recurrences and iterators (stopping at its own
// boundary) from which its boundary layers are reached.
void findBody(const Network& net, const std::vector<std::vector<int>>& consumers,
              const std::vector<int>& order, Loop& loop) {
  std::vector<int> work;
  for (int r : loop.recurrences) work.push_back(r);
  for (int r : loop.iterators) work.push_back(r);
  std::set<int> seen(work.begin(), work.end()), reached;
  while (!work.empty()) {
    const int l = work.back();
    work.pop_back();
    for (int t : net.layers[l].outputs) {
      if (t < 0) continue;
      for (int c : consumers[t]) {
        const Layer& cl = net.layers[c];
        if (isLoopBoundary(cl.kind)) {
          if (cl.attrs.i("loop", -1) != loop.id) loop.blocked = true;
          continue;
        }
        if (seen.insert(c).second) {
          reached.insert(c);
          work.push_back(c);
        }
      }
    }
  }
  auto sink = [&](int l, size_t i) {
    const auto& ins = net.layers[l].inputs;
    if (i < ins.size() && ins[i] >= 0) work.push_back(ins[i]);
  };
  for (int l : loop.recurrences) sink(l, 1);
  for (int l : loop.outputs) sink(l, 0);
  for (int l : loop.limits) sink(l, 0);
  while (!work.empty()) {
    const int p = net.tensors[work.back()].producer;
    work.pop_back();
    if (p < 0 || !reached.count(p) || !loop.inBody.insert(p).second) continue;
    for (int t : net.layers[p].inputs)
      if (t >= 0) work.push_back(t);
  }
  for (int l : order) {
    if (loop.inBody.count(l))
      loop.body.push_back(l);
    else if (reached.count(l))
      loop.stray.push_back(l);
  }
}

// A slice of an iterator's input for one iteration: x[..., index, ...] along axis.
// `it` is a copy: adding layers moves net.layers.
int iterationSlice(Network& net, const Layer it, int64_t index, const std::string& suffix) {
  const int x = it.inputs.at(0);
  const int64_t axis = it.attrs.i("axis", 0);
  const int64_t r = static_cast<int64_t>(net.tensors[x].dims.size());
  const int64_t ax = axis < 0 ? axis + r : axis;
  const int s = net.addLayer(LayerKind::kSLICE, net.uniqueLayerName(it.name + suffix), {x});
  net.layers[s].attrs.set("starts", std::vector<int64_t>{index});
  net.layers[s].attrs.set("ends", std::vector<int64_t>{index + 1});
  net.layers[s].attrs.set("axes", std::vector<int64_t>{ax});
  Dims d = net.tensors[x].dims;
  net.tensors[net.layers[s].outputs[0]].dtype = net.tensors[x].dtype;
  d[ax] = 1;
  net.tensors[net.layers[s].outputs[0]].dims = d;
  const int q =
      net.addLayer(LayerKind::kSQUEEZE, net.uniqueLayerName(it.name + suffix + " squeeze"),
                   {net.layers[s].outputs[0]});
  net.layers[q].attrs.set("axes", std::vector<int64_t>{ax});
  const int out = net.layers[q].outputs[0];
  d.erase(d.begin() + ax);
  net.tensors[out].dtype = net.tensors[x].dtype;
  net.tensors[out].dims = d;
  return out;
}

// One value known on the host (a trip count, a length, a condition), or nullopt.
std::optional<int64_t> hostScalar(ir::HostValues& values, int t) {
  const HostTensor* v = values.value(t);
  if (!v || v->numel() != 1) return std::nullopt;
  return v->asInt64()[0];
}

void unroll(Network& net, Loop& loop) {
  const Layer& first = net.layers[loop.any];
  const std::string name = loopName(first);
  ir::HostValues values(net);
  std::optional<int64_t> count;
  int whileCond = -1;
  for (int l : loop.limits) {
    const Layer& lim = net.layers[l];
    if (lim.attrs.s("kind") == "COUNT") {
      if (count) loopFail(lim, "the loop has two COUNT trip limits");
      count = hostScalar(values, lim.inputs.at(0));
      if (!count)
        loopFail(lim, str("the trip count (tensor '", net.tensors[lim.inputs[0]].name,
                          "') is not known when the engine is built: clrt unrolls loops, so the "
                          "count must come from constants or static shapes"));
      if (*count < 0) loopFail(lim, str("the trip count is negative (", *count, ")"));
      if (*count > kMaxIterations)
        loopFail(lim, str("the trip count ", *count, " is over the ", kMaxIterations,
                          " iterations clrt unrolls (each adds a copy of the loop's body)"));
    } else {
      if (whileCond >= 0) loopFail(lim, "the loop has two WHILE trip limits");
      whileCond = lim.inputs.at(0);
    }
  }
  if (loop.limits.empty())
    loopFail(
        first,
        "the loop has no trip limit: call ILoop.add_trip_limit(tensor, TripLimit.COUNT or WHILE)");
  for (int r : loop.recurrences) {
    const Layer& rec = net.layers[r];
    if (rec.inputs.size() < 2 || rec.inputs[1] < 0)
      loopFail(rec,
               "the recurrence has no next value: call set_input(1, tensor) on it before building");
    const ir::Tensor& init = net.tensors[rec.inputs[0]];
    const ir::Tensor& next = net.tensors[rec.inputs[1]];
    if (init.dtype != next.dtype || init.dims != next.dims)
      loopFail(rec,
               str("the next value (tensor '", next.name, "', ", dtypeName(next.dtype), " ",
                   dimsToString(next.dims), ") must have the initial value's dtype and shape (",
                   dtypeName(init.dtype), " ", dimsToString(init.dims), ")"));
  }

  // Values must leave the loop through its outputs only.
  std::set<int> inside;  // tensors defined by the loop
  for (int l : loop.body)
    for (int t : net.layers[l].outputs) inside.insert(t);
  for (int l : loop.recurrences) inside.insert(net.layers[l].outputs[0]);
  for (int l : loop.iterators) inside.insert(net.layers[l].outputs[0]);
  for (int t : inside)
    if (net.tensors[t].is_output)
      fail(ErrorKind::kBuild, str(name, ": tensor '", net.tensors[t].name,
                                  "' is defined inside the loop and cannot be a network output; "
                                  "mark an ILoopOutputLayer's output instead"));
  bool strayOutput = false;
  for (int l : loop.stray)
    for (int t : net.layers[l].outputs) strayOutput = strayOutput || net.tensors[t].is_output;
  if (strayOutput)
    for (int l : loop.stray)
      for (int t : net.layers[l].inputs)
        if (inside.count(t))
          fail(ErrorKind::kBuild,
               str(name, ": layer '", net.layers[l].name, "' reads tensor '", net.tensors[t].name,
                   "', which is defined inside the loop, and leads to a network output; values "
                   "leave a loop through ILoop.add_loop_output only"));
  for (int l : loop.stray) net.layers[l].dead = true;  // feeds nothing: as TensorRT, dropped

  std::map<int, int> current;  // recurrence output -> its value in this iteration
  for (int r : loop.recurrences) current[net.layers[r].outputs[0]] = net.layers[r].inputs[0];
  std::vector<std::vector<int>> collected(loop.outputs.size());
  const int64_t cap = count ? *count : kMaxIterations + 1;
  int64_t n = 0;
  for (; n < cap; ++n) {
    if (n == kMaxIterations)
      fail(ErrorKind::kBuild, str(name, ": the WHILE condition still holds after ", kMaxIterations,
                                  " iterations (clrt unrolls at most ", kMaxIterations, ")"));
    const std::string suffix = str(" [iteration ", n, "]");
    const size_t layersBefore = net.layers.size();
    std::map<int, int> m = current;
    auto valueOf = [&](int t) {
      if (t < 0) return t;
      auto it = m.find(t);
      return it == m.end() ? t : it->second;  // a value from outside: the same every iteration
    };
    for (int l : loop.iterators) {
      const Layer& it = net.layers[l];
      const Dims& d = net.tensors[it.inputs[0]].dims;
      const int64_t r = static_cast<int64_t>(d.size());
      int64_t ax = it.attrs.i("axis", 0);
      ax = ax < 0 ? ax + r : ax;
      const int64_t len = ax >= 0 && ax < r ? d[ax] : -1;
      if (len < 0) loopFail(it, "the iterated axis must have a static length");
      int64_t index = n;
      if (it.attrs.i("reverse", 0)) {
        if (!count) loopFail(it, "a reverse iterator needs a COUNT trip limit");
        index = *count - 1 - n;
      }
      if (index >= len)
        loopFail(it, str("iteration ", n, " reads index ", index, " of an axis of length ", len));
      const int itOut = it.outputs[0];
      m[itOut] = iterationSlice(net, it, index, suffix);  // `it` is dangling after this
    }
    for (int l : loop.body) {
      std::vector<int> ins;
      for (int t : net.layers[l].inputs) ins.push_back(valueOf(t));
      std::vector<std::string> names;
      for (int t : net.layers[l].outputs)
        names.push_back(t < 0 ? "" : net.uniqueTensorName(net.tensors[t].name + suffix));
      const int c =
          net.addLayer(net.layers[l].kind, net.uniqueLayerName(net.layers[l].name + suffix), ins,
                       static_cast<int>(names.size()), names);
      const Layer& src = net.layers[l];
      Layer& copy = net.layers[c];
      copy.attrs = src.attrs;
      copy.weights = src.weights;
      copy.onnx_nodes = src.onnx_nodes;
      copy.precision = src.precision;
      copy.output_types = src.output_types;
      copy.exact_float = src.exact_float;
      for (size_t k = 0; k < src.outputs.size(); ++k) {
        if (src.outputs[k] < 0) continue;
        const ir::Tensor& from = net.tensors[src.outputs[k]];
        ir::Tensor& to = net.tensors[copy.outputs[k]];
        to.dtype = from.dtype;
        to.dims = from.dims;
        to.dynamic_range = from.dynamic_range;
        to.qdq_point = from.qdq_point;
        to.debug = from.debug;
        m[src.outputs[k]] = copy.outputs[k];
      }
    }
    if (whileCond >= 0) {
      const std::optional<int64_t> go = hostScalar(values, valueOf(whileCond));
      if (!go)
        fail(ErrorKind::kBuild,
             str(name, ": the WHILE condition (tensor '", net.tensors[whileCond].name,
                 "') is not known when the engine is built: clrt unrolls loops, so it must "
                 "follow from constants, static shapes and recurrences of them"));
      if (!*go) {
        for (size_t l = layersBefore; l < net.layers.size(); ++l) net.layers[l].dead = true;
        break;
      }
    }
    for (size_t k = 0; k < loop.outputs.size(); ++k)
      collected[k].push_back(valueOf(net.layers[loop.outputs[k]].inputs.at(0)));
    for (int r : loop.recurrences)
      current[net.layers[r].outputs[0]] = valueOf(net.layers[r].inputs[1]);
  }

  for (size_t k = 0; k < loop.outputs.size(); ++k) {
    const Layer out = net.layers[loop.outputs[k]];  // a copy: adding layers moves net.layers
    const std::string kind = out.attrs.s("kind");
    const int x = out.inputs.at(0);
    if (kind == "LAST_VALUE") {
      int v = collected[k].empty() ? -1 : collected[k].back();
      if (v < 0 && current.count(x)) v = current[x];  // no iteration ran: the initial value
      if (v < 0) loopFail(out, "the loop ran no iteration, so a LAST_VALUE output has no value");
      Layer& o = net.layers[loop.outputs[k]];
      o.kind = LayerKind::kIDENTITY;
      o.inputs = {v};
      o.attrs = {};
      continue;
    }
    if (out.inputs.size() < 2 || out.inputs[1] < 0)
      loopFail(out, str("a ", kind, " output needs its length: call set_input(1, tensor)"));
    const std::optional<int64_t> len = hostScalar(values, out.inputs[1]);
    if (!len) loopFail(out, "the output length (input 1) is not known when the engine is built");
    if (*len < n)
      loopFail(out, str("the output length ", *len, " is less than the ", n, " iterations run"));
    Dims d = net.tensors[x].dims;
    const int64_t r = static_cast<int64_t>(d.size());
    int64_t axis = out.attrs.i("axis", 0);
    axis = axis < 0 ? axis + r + 1 : axis;
    std::vector<int> parts;
    std::vector<int> vals = collected[k];
    if (kind == "REVERSE") std::reverse(vals.begin(), vals.end());
    for (size_t i = 0; i < vals.size(); ++i) {
      const int u =
          net.addLayer(LayerKind::kUNSQUEEZE,
                       net.uniqueLayerName(str(out.name, " [iteration ", i, "]")), {vals[i]});
      net.layers[u].attrs.set("axes", std::vector<int64_t>{axis});
      parts.push_back(net.layers[u].outputs[0]);
    }
    if (*len > n) {  // the rest of the length: zeros (TensorRT leaves it unspecified)
      for (int64_t v : d)
        if (v < 0) loopFail(out, "an output longer than the trip count needs static dims");
      Dims z = d;
      z.insert(z.begin() + axis, *len - n);
      const int c =
          net.addLayer(LayerKind::kCONSTANT, net.uniqueLayerName(out.name + " padding"), {});
      net.layers[c].weights["value"] = HostTensor(net.tensors[x].dtype, z);
      parts.push_back(net.layers[c].outputs[0]);
    }
    Layer& o = net.layers[loop.outputs[k]];
    o.kind = LayerKind::kCONCATENATION;
    o.inputs = parts;
    o.attrs = {};
    o.attrs.set("axis", axis);
  }
  for (int l : loop.body) net.layers[l].dead = true;
  for (int l : loop.recurrences) net.layers[l].dead = true;
  for (int l : loop.iterators) net.layers[l].dead = true;
  for (int l : loop.limits) net.layers[l].dead = true;
}

}  // namespace

bool lowerControlFlow(Network& net) {
  bool any = false;
  for (const Layer& l : net.layers)
    any = any || (!l.dead && (isLoopBoundary(l.kind) || l.kind == LayerKind::kCONDITION ||
                              l.kind == LayerKind::kIF_INPUT || l.kind == LayerKind::kIF_OUTPUT));
  if (!any) return false;
  lowerConditionals(net);
  net.indexNames(true);
  struct Unindex {
    Network& net;
    ~Unindex() { net.indexNames(false); }
  } unindex{net};
  for (;;) {
    std::map<int64_t, Loop> loops = collectLoops(net);
    if (loops.empty()) break;
    const auto consumers = net.consumers();
    const std::vector<int> order = net.topoOrder();
    Loop* next = nullptr;
    for (auto& [id, loop] : loops) {
      findBody(net, consumers, order, loop);
      if (!loop.blocked) {
        next = &loop;
        break;
      }
    }
    if (!next) {
      loopFail(net.layers[loops.begin()->second.any],
               "its body and another loop's reach each other's boundary layers; a loop inside "
               "another must take its values only through its own boundary layers");
    }
    unroll(net, *next);
    net.compact();
  }
  net.compact();
  return true;
}

}  // namespace clrt::passes
