// Subgraph import (If branches, Loop and Scan bodies): a GraphProto's nodes imported into the
// enclosing network, its inputs bound to given values, outer-scope names resolved through the
// enclosing import context, its own names renamed where they would clash.
#include <functional>

#include "clrt/onnx/importer.h"

namespace clrt::onnx {

namespace {

using Graph = ::onnx::GraphProto;
using AP = ::onnx::AttributeProto;

// Every read of a value in g and the graphs nested in it, and g's outputs.
void forEachRead(const Graph& g, const std::function<void(const std::string&)>& f) {
  for (const auto& n : g.node()) {
    for (const auto& i : n.input())
      if (!i.empty()) f(i);
    for (const auto& a : n.attribute()) {
      if (a.has_g()) forEachRead(a.g(), f);
      for (const auto& sg : a.graphs()) forEachRead(sg, f);
    }
  }
  for (const auto& o : g.output()) f(o.name());
}

}  // namespace

void forEachSubgraph(::onnx::NodeProto& n, const std::function<void(Graph&)>& f) {
  for (auto& a : *n.mutable_attribute()) {
    if (a.has_g()) f(*a.mutable_g());
    for (auto& g : *a.mutable_graphs()) f(g);
  }
}

// Renames the values of g (and its reads in nested graphs) by `to`.
void renameValues(Graph& g, const std::map<std::string, std::string>& to) {
  auto fix = [&](std::string* s) {
    auto it = to.find(*s);
    if (it != to.end()) *s = it->second;
  };
  for (auto& n : *g.mutable_node()) {
    for (auto& i : *n.mutable_input()) fix(&i);
    for (auto& o : *n.mutable_output()) fix(&o);
    forEachSubgraph(n, [&](Graph& sg) { renameValues(sg, to); });
  }
  for (auto& v : *g.mutable_input()) fix(v.mutable_name());
  for (auto& v : *g.mutable_output()) fix(v.mutable_name());
  for (auto& t : *g.mutable_initializer()) fix(t.mutable_name());
}

void ImportContext::markSubgraphReads(const ::onnx::NodeProto& node) {
  for (const auto& a : node.attribute()) {
    if (a.has_g()) forEachRead(a.g(), [&](const std::string& s) { markConsumed(s); });
    for (const auto& g : a.graphs()) forEachRead(g, [&](const std::string& s) { markConsumed(s); });
  }
}

std::vector<ImportContext::Value> ImportContext::importSubgraph(const Graph& graph,
                                                                const std::vector<Value>& inputs,
                                                                const std::string& what,
                                                                const std::string& tag) {
  CLRT_CHECK(static_cast<int>(inputs.size()) == graph.input_size(), kParse, what, " has ",
             graph.input_size(), " inputs, the operator binds ", inputs.size());
  flush();
  Graph g = graph;
  std::map<std::string, std::string> to;
  auto local = [&](const std::string& name) {
    if (name.empty() || to.count(name)) return;
    auto taken = [&](const std::string& v) {
      return reserved_.count(v) || defined(v) || net_.findTensor(v) >= 0;
    };
    std::string s = name;
    if (taken(s) && !tag.empty()) s = str(name, "_", tag);
    for (int k = 1; taken(s); ++k) s = str(name, "_", tag, tag.empty() ? "" : "_", k);
    to[name] = s;
    reserved_.insert(s);
  };
  for (const auto& v : g.input()) local(v.name());
  for (const auto& t : g.initializer()) local(t.name());
  for (const auto& n : g.node())
    for (const auto& o : n.output()) local(o);
  renameValues(g, to);
  forEachRead(g, [&](const std::string& s) { markConsumed(s); });
  for (int k = 0; k < g.input_size(); ++k) {
    const std::string& name = g.input(k).name();
    if (inputs[k].constant)
      constants_[name] = {*inputs[k].constant, label_};
    else
      tensors_[name] = inputs[k].tensor;
  }
  for (const auto& init : g.initializer())
    constants_[init.name()] = {tensorFromProto(init, modelDir_), init.name()};

  // The enclosing node's state, restored however the inner nodes end (pending layers of a
  // failed inner node are dropped by the parser's abandon()).
  struct Saved {
    ImportContext& c;
    const ::onnx::NodeProto* node;
    int index, sub;
    std::string label;
    ~Saved() {
      c.node_ = node;
      c.index_ = index;
      c.sub_ = sub;
      c.label_ = label;
    }
  } saved{*this, node_, index_, sub_, label_};
  const std::string outer = label_;
  for (int j = 0; j < g.node_size(); ++j) {
    const auto& n = g.node(j);
    const std::string inner = n.name().empty() ? str(n.op_type(), "_", j) : n.name();
    auto where = [&] { return str(what, " node ", j, " (", inner, ", op ", n.op_type(), "): "); };
    const bool known = n.domain().empty() || n.domain() == "ai.onnx";
    const Importer* imp = known ? findImporter(n.op_type(), opset_) : nullptr;
    if (!imp)
      reject(ErrorKind::kUnsupported,
             where() + str("unsupported operator ", known ? std::string() : n.domain() + ".",
                           n.op_type(), " (opset ", opset_, ")"));
    try {
      begin(n, j);
      label_ = tag.empty() ? str(outer, "/", inner) : str(outer, "/", tag, "/", inner);
      (*imp)(*this);
      finish();
    } catch (const ImportError& e) {
      throw ImportError(e.kind(), where() + e.what(), e.hint());
    } catch (const Error& e) {
      throw ImportError(e.kind(), where() + e.what(), "");
    }
  }
  std::vector<Value> outs;
  for (const auto& o : g.output()) {
    Value v;
    if (auto it = constants_.find(o.name()); it != constants_.end()) {
      v.constant = it->second.value;
    } else {
      auto t = tensors_.find(o.name());
      if (sequences_.count(o.name()))
        reject(ErrorKind::kUnsupported,
               str(what, " output '", o.name(),
                   "' is a sequence: clrt passes tensors out of subgraphs"));
      CLRT_CHECK(t != tensors_.end(), kParse, what, " output '", o.name(),
                 "' is not produced by any of its nodes or the enclosing graph");
      v.tensor = t->second;
      if (const HostTensor* f = valueOf(t->second)) v.constant = *f;
    }
    outs.push_back(std::move(v));
  }
  return outs;
}

int ImportContext::tensorOf(const Value& v) {
  return v.tensor >= 0 ? v.tensor : constantTensor(*v.constant);
}

Dims ImportContext::tensorDims(int tensor) {
  flush();
  return net_.tensors[tensor].dims;
}

void ImportContext::defineOutput(int i, const Value& v) {
  if (!hasOutput(i)) return;
  if (v.constant && v.tensor < 0)
    defineConstant(i, *v.constant);
  else
    addMapped(ir::LayerKind::kIDENTITY, {v.tensor}, {i});
}

}  // namespace clrt::onnx
