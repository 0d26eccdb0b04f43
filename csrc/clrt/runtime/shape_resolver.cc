// Shape resolution over the execution order, and lifetime-based arena planning.
#include "clrt/runtime/shape_resolver.h"

#include <algorithm>

#include "clrt/core/error.h"
#include "clrt/ir/limits.h"
#include "clrt/ir/shape_inference.h"

namespace clrt::runtime {

namespace {

// The shape operand of `l` whose value is not known here, and the network input it comes from.
[[noreturn]] void unresolved(const ir::Network& net, const ResolvedShapes& r, const ir::Layer& l,
                             size_t o, const Dims& got) {
  std::string what = str("layer '", l.name, "' (", ir::layerKindName(l.kind), "): output ", o,
                         " shape ", dimsToString(got), " could not be resolved at runtime");
  for (int k : ir::shapeOperands(l.kind)) {
    if (k >= static_cast<int>(l.inputs.size()) || l.inputs[k] < 0 || r.values[l.inputs[k]])
      continue;
    const ir::Tensor& t = net.tensors[l.inputs[k]];
    what += str(": its operand ", k, " ('", t.name, "') is computed on the device at run time");
    if (t.is_input)
      what += str("; input '", t.name, "' is ", dtypeName(t.dtype), " ", dimsToString(t.dims),
                  ", and only INT32/INT64/FLOAT inputs of rank 0 or 1 can be shape inputs (values "
                  "given with profile.set_shape_input)");
    else
      what += "; clrt needs shape operands that come from constants, shapes or shape inputs";
    break;
  }
  fail(ErrorKind::kValue, what);
}

}  // namespace

std::vector<uint8_t> placeLayers(const ir::Network& net) {
  std::vector<uint8_t> onHost(net.layers.size(), 0);
  std::vector<bool> hostKnown(net.tensors.size(), false);
  for (int t : net.inputs) hostKnown[t] = net.tensors[t].is_shape_tensor;
  for (size_t li = 0; li < net.layers.size(); ++li) {
    const auto& l = net.layers[li];
    bool host = l.kind == ir::LayerKind::kCONSTANT || l.kind == ir::LayerKind::kSHAPE;
    if (!host && ir::canEvalOnHost(l, net)) {
      host = true;
      for (int t : l.inputs)
        if (t >= 0 && !hostKnown[t]) host = false;
    }
    onHost[li] = host;
    for (int t : l.outputs) hostKnown[t] = host;
  }
  return onHost;
}

ResolvedShapes resolveShapes(const ir::Network& net, const std::vector<uint8_t>& on_host,
                             const std::map<int, Dims>& input_dims,
                             const std::map<int, HostTensor>& input_values) {
  ResolvedShapes r;
  r.dims.resize(net.tensors.size());
  r.values.resize(net.tensors.size());
  r.dtypes.resize(net.tensors.size(), DataType::kFLOAT);
  for (int id : net.inputs) {
    r.dtypes[id] = net.tensors[id].dtype;
    auto it = input_dims.find(id);
    r.dims[id] = it != input_dims.end() ? it->second : net.tensors[id].dims;
    CLRT_CHECK(isStatic(r.dims[id]), kValue, "input '", net.tensors[id].name,
               "' has no shape set: its dims are ", dimsToString(r.dims[id]),
               "; call context.set_input_shape()");
    if (!net.tensors[id].is_shape_tensor) continue;
    auto v = input_values.find(id);
    CLRT_CHECK(v != input_values.end(), kValue, "shape input '", net.tensors[id].name,
               "' has no values: give the profile its range with profile.set_shape_input('",
               net.tensors[id].name,
               "', min, opt, max) and pass them at run time (infer(), or "
               "set_tensor_address)");
    CLRT_CHECK(v->second.dims == r.dims[id], kValue, "shape input '", net.tensors[id].name,
               "': its values have shape ", dimsToString(v->second.dims), ", the input is ",
               dimsToString(r.dims[id]));
    r.values[id] = v->second.castTo(r.dtypes[id]);
  }
  resolveFrom(net, on_host, r, 0);
  return r;
}

void resolveFrom(const ir::Network& net, const std::vector<uint8_t>& on_host, ResolvedShapes& r,
                 size_t begin, size_t end) {
  uint64_t computed = 0;  // bytes of computed host outputs; the model's own constants not counted
  for (size_t li = begin; li < std::min(end, net.layers.size()); ++li) {
    const ir::Layer& l = net.layers[li];
    std::vector<ir::TensorInfo> in;
    for (int t : l.inputs) {
      ir::TensorInfo ti;
      if (t >= 0) {
        ti.dtype = net.tensors[t].dtype;
        ti.dims = r.dims[t];
        ti.value = r.values[t] ? &*r.values[t] : nullptr;
      }
      in.push_back(ti);
    }
    if (on_host[li]) {
      std::vector<HostTensor> outs;
      if (l.kind == ir::LayerKind::kCONSTANT) {
        auto it = l.weights.find("value");
        CLRT_CHECK(it != l.weights.end(), kValue, "constant layer '", l.name, "' has no value");
        outs.push_back(it->second);
      } else {
        CLRT_CHECK(ir::evalOnHost(l, in, outs) && outs.size() == l.outputs.size(), kValue,
                   "layer '", l.name, "' (", ir::layerKindName(l.kind),
                   ") could not be evaluated on the host for these input shapes");
        for (const HostTensor& o : outs) {
          ir::checkHostMemory(l, o.dims, o.dtype, computed, ir::hostMemoryLimit());
          computed += o.bytes.size();
        }
      }
      for (size_t o = 0; o < l.outputs.size(); ++o) {
        r.dims[l.outputs[o]] = outs[o].dims;
        r.dtypes[l.outputs[o]] = outs[o].dtype;
        r.values[l.outputs[o]] = std::move(outs[o]);
      }
      continue;
    }
    auto outs = ir::inferLayer(l, in);
    ir::boundDataDependent(l, in, outs);  // the run's own dims come after the layer ran
    CLRT_CHECK(outs.size() == l.outputs.size(), kValue, "layer '", l.name, "' (",
               ir::layerKindName(l.kind), ") has ", l.outputs.size(), " outputs, its kind gives ",
               outs.size());
    for (size_t o = 0; o < l.outputs.size(); ++o) {
      if (!isStatic(outs[o].second)) unresolved(net, r, l, o, outs[o].second);
      r.dims[l.outputs[o]] = outs[o].second;
      r.dtypes[l.outputs[o]] = outs[o].first;
    }
  }
}

std::map<int, Dims> profileInputDims(const ir::Network& net, const std::vector<Profile>& profiles,
                                     size_t p, int corner) {
  std::map<int, Dims> m;
  for (int t : net.inputs) {
    Dims d = net.tensors[t].dims;
    if (p < profiles.size()) {
      auto it = profiles[p].shapes.find(net.tensors[t].name);
      if (it != profiles[p].shapes.end())
        d = corner == 0 ? it->second.min : corner == 1 ? it->second.opt : it->second.max;
    }
    m[t] = d;
  }
  return m;
}

std::map<int, HostTensor> profileInputValues(const ir::Network& net,
                                             const std::vector<Profile>& profiles, size_t p,
                                             int corner) {
  std::map<int, HostTensor> m;
  if (p >= profiles.size()) return m;
  for (int t : net.inputs) {
    auto it = profiles[p].values.find(net.tensors[t].name);
    if (it == profiles[p].values.end()) continue;
    const size_t n = it->second.size();
    Dims d = net.tensors[t].dims.empty() && n == 1 ? Dims{} : Dims{int64_t(n)};
    m[t] = it->second.tensor(corner, d, net.tensors[t].dtype);
  }
  return m;
}

namespace {

// The output of layer li when it is a view of its input: a RESHAPE, FLATTEN, SQUEEZE or
// UNSQUEEZE from one activation (a tensor with a buffer: `first` >= 0) to another, both
// row-major in one dtype, else -1.
int viewOutput(const ir::Network& net, const std::vector<uint8_t>& on_host,
               const std::vector<Dims>& dims, const std::vector<int>& first, int li) {
  const ir::Layer& l = net.layers[li];
  using K = ir::LayerKind;
  if (on_host[li] || l.inputs.empty() || l.outputs.size() != 1 ||
      (l.kind != K::kRESHAPE && l.kind != K::kFLATTEN && l.kind != K::kSQUEEZE &&
       l.kind != K::kUNSQUEEZE))
    return -1;
  const int in = l.inputs[0], out = l.outputs[0];
  if (in < 0 || first[in] < 0 || first[out] < 0) return -1;
  const ir::Tensor &x = net.tensors[in], &y = net.tensors[out];
  if (x.dtype != y.dtype || x.format != ir::TensorFormat::kLINEAR ||
      y.format != ir::TensorFormat::kLINEAR || volume(dims[in]) != volume(dims[out]))
    return -1;
  return out;
}

}  // namespace

MemoryPlan planMemory(const ir::Network& net, const std::vector<uint8_t>& on_host,
                      const std::vector<Dims>& dims, uint64_t alignment) {
  MemoryPlan plan;
  plan.slot.assign(net.tensors.size(), -1);
  const int n = static_cast<int>(net.layers.size());
  std::vector<int> first(net.tensors.size(), -1), last(net.tensors.size(), -1);
  for (int li = 0; li < n; ++li) {
    const auto& l = net.layers[li];
    if (on_host[li]) continue;
    for (int t : l.outputs)
      if (!net.tensors[t].is_output) first[t] = li, last[t] = li;
  }
  for (int li = 0; li < n; ++li)
    for (int t : net.layers[li].inputs)
      if (t >= 0 && first[t] >= 0) last[t] = std::max(last[t], li);

  // A reshape of an activation (row-major bytes unchanged) is a view: its output shares the
  // input's buffer (root[t]: the tensor whose buffer t uses), and the copy kernel finds its
  // source and destination the same and does nothing. A tensor group lives from the first
  // member's start to the last member's end.
  std::vector<int> root(net.tensors.size());
  for (size_t t = 0; t < root.size(); ++t) root[t] = static_cast<int>(t);
  for (int li = 0; li < n; ++li)
    if (const int out = viewOutput(net, on_host, dims, first, li); out >= 0) {
      const int in = root[net.layers[li].inputs[0]];
      root[out] = in;
      first[in] = std::min(first[in], first[out]);
      last[in] = std::max(last[in], last[out]);
    }
  std::vector<std::vector<int>> members(net.tensors.size());
  for (size_t t = 0; t < root.size(); ++t)
    if (first[t] >= 0) members[root[t]].push_back(static_cast<int>(t));

  struct Item {
    int tensor;
    uint64_t bytes;
  };
  std::vector<Item> items;
  for (size_t t = 0; t < net.tensors.size(); ++t) {
    if (first[t] < 0 || root[t] != static_cast<int>(t)) continue;
    uint64_t bytes = static_cast<uint64_t>(std::max<int64_t>(volume(dims[t]), 1)) *
                     dtypeSize(net.tensors[t].dtype);
    bytes = (bytes + alignment - 1) / alignment * alignment;
    items.push_back({static_cast<int>(t), bytes});
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return a.bytes > b.bytes; });
  std::vector<std::vector<int>> users;  // per buffer: its tensors
  for (const Item& it : items) {
    auto free = [&](size_t b) {
      for (int u : users[b])
        if (!(last[u] < first[it.tensor] || last[it.tensor] < first[u])) return false;
      return true;
    };
    // Largest first, so every buffer already fits; take the smallest free one.
    int best = -1;
    for (size_t b = 0; b < users.size(); ++b)
      if ((best < 0 || plan.slot_bytes[b] < plan.slot_bytes[best]) && free(b))
        best = static_cast<int>(b);
    if (best < 0) {
      best = static_cast<int>(users.size());
      users.emplace_back();
      plan.slot_bytes.push_back(it.bytes);
      plan.arena_bytes += it.bytes;
    }
    users[best].push_back(it.tensor);
    for (int t : members[it.tensor]) plan.slot[t] = best;
  }
  return plan;
}

BlockLayout blockLayout(const MemoryPlan& plan, uint64_t workspace, uint64_t alignment) {
  BlockLayout b;
  uint64_t off = 0;
  auto place = [&](uint64_t bytes) {
    off = (off + alignment - 1) / alignment * alignment;
    const uint64_t at = off;
    off += std::max<uint64_t>(bytes, 4);
    return at;
  };
  for (uint64_t bytes : plan.slot_bytes) b.slot_offset.push_back(place(bytes));
  if (workspace) b.workspace_offset = place(workspace);
  b.total = off;
  return b;
}

}  // namespace clrt::runtime
