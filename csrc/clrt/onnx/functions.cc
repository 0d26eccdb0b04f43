// Model-local functions (ModelProto.functions): each call is replaced by the function's body
// before the import, as onnxruntime does when it inlines them. So is a default-domain node that
// no importer takes, where ONNX defines the operator by a function body (schema_functions.cc,
// e.g. AffineGrid). The body's values get names
// prefixed by the call (so two calls never share a value), its formal inputs and outputs become
// the call's, attribute references take the call's attribute or the function's default, and calls
// inside a body (or inside an If/Loop/Scan graph) are expanded in turn.
#include "clrt/onnx/functions.h"

#include <google/protobuf/unknown_field_set.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "clrt/core/error.h"
#include "clrt/onnx/importer.h"

namespace clrt::onnx {

namespace {

using Graph = ::onnx::GraphProto;
using Node = ::onnx::NodeProto;
using Function = ::onnx::FunctionProto;

constexpr int kMaxDepth = 64;  // nested calls; deeper is a recursive function
// Nodes the expanded bodies may hold together: functions calling each other several times each
// grow exponentially with the nesting.
constexpr int64_t kMaxNodes = int64_t{1} << 18;

std::string domainOf(const std::string& d) { return d == "ai.onnx" ? std::string() : d; }

// Fields newer than the protobuf schema clrt is built with (onnx 1.12) arrive as unknown fields:
// FunctionProto.attribute_proto (11: attributes with defaults) and .overload (13),
// NodeProto.overload (8). Calls `f(field, bytes)` for each length-delimited one.
void forEachUnknown(const google::protobuf::UnknownFieldSet& unknown,
                    const std::function<void(int, const std::string&)>& f) {
  for (int i = 0; i < unknown.field_count(); ++i) {
    const google::protobuf::UnknownField& u = unknown.field(i);
    if (u.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED)
      f(u.number(), u.length_delimited());
  }
}

std::string nodeOverload(const Node& n) {
  std::string o;
  forEachUnknown(n.unknown_fields(), [&](int field, const std::string& b) {
    if (field == 8) o = b;
  });
  return o;
}

std::string fromHex(const char* hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out;
  for (; hex[0] && hex[1]; hex += 2)
    out.push_back(static_cast<char>(nibble(hex[0]) * 16 + nibble(hex[1])));
  return out;
}

struct Fn {
  const Function* f = nullptr;
  std::map<std::string, ::onnx::AttributeProto> defaults;  // by attribute name
};
using Key = std::tuple<std::string, std::string, std::string>;  // domain, name, overload

// Every value name defined in g and its nested graphs (node outputs, graph inputs, initializers).
void definedNames(const Graph& g, std::set<std::string>& out) {
  for (const auto& v : g.input()) out.insert(v.name());
  for (const auto& t : g.initializer()) out.insert(t.name());
  for (const auto& n : g.node()) {
    for (const auto& o : n.output())
      if (!o.empty()) out.insert(o);
    for (const auto& a : n.attribute()) {
      if (a.has_g()) definedNames(a.g(), out);
      for (const auto& sg : a.graphs()) definedNames(sg, out);
    }
  }
}

class Inliner {
 public:
  Inliner(const ::onnx::ModelProto& m, int opset) : opset_(opset) {
    for (const auto& f : m.functions()) {
      std::string overload;
      Fn fn = describe(f, &overload);
      fns_[{domainOf(f.domain()), f.name(), overload}] = fn;
    }
  }

  // Expands the calls in g; what cannot be expanded is left out and listed in `errors`.
  void expand(Graph& g, int depth) {
    google::protobuf::RepeatedPtrField<Node> out;
    for (auto& n : *g.mutable_node()) {
      forEachSubgraph(n, [&](Graph& sg) { expand(sg, depth); });
      auto it = fns_.find({domainOf(n.domain()), n.op_type(), nodeOverload(n)});
      const Fn* fn = it != fns_.end() ? &it->second : schemaBody(n);
      if (!fn) {
        *out.Add() = std::move(n);
        continue;
      }
      if (depth >= kMaxDepth) {
        errors.push_back(str("function '", n.op_type(), "' (called by node '", n.name(),
                             "') calls functions nested deeper than ", kMaxDepth,
                             ": is it recursive?"));
        continue;
      }
      if (nodes_ + fn->f->node_size() > kMaxNodes) {
        if (!tooLarge_)
          errors.push_back(str("the model's functions expand to more than ", kMaxNodes,
                               " nodes (first refused: the call of '", n.op_type(), "' by node '",
                               n.name(), "'); clrt expands each call into its body"));
        tooLarge_ = true;
        continue;
      }
      nodes_ += fn->f->node_size();
      Graph body = instantiate(*fn, n);
      expand(body, depth + 1);
      for (auto& b : *body.mutable_node()) *out.Add() = std::move(b);
      ++inlined;
    }
    g.mutable_node()->Swap(&out);
  }

  std::vector<std::string> errors;
  int inlined = 0;

 private:
  std::map<Key, Fn> fns_;
  std::map<std::string, std::unique_ptr<Function>> schemaBodies_;  // by op, for this opset
  std::map<std::string, Fn> schemaFns_;
  std::set<std::string> prefixes_;
  int opset_;
  int calls_ = 0;
  int64_t nodes_ = 0;
  bool tooLarge_ = false;

  // A function's parameters' defaults (FunctionProto.attribute_proto) and overload.
  static Fn describe(const Function& f, std::string* overload = nullptr) {
    Fn fn{&f, {}};
    forEachUnknown(f.unknown_fields(), [&](int field, const std::string& b) {
      if (field == 11) {
        ::onnx::AttributeProto a;
        if (a.ParseFromString(b)) fn.defaults[a.name()] = a;
      } else if (field == 13 && overload) {
        *overload = b;
      }
    });
    return fn;
  }

  // ONNX's own function body for a default-domain node no importer takes at this opset: of the
  // schema the opset selects, the body written for the newest opset up to the model's.
  const Fn* schemaBody(const Node& n) {
    if (!domainOf(n.domain()).empty() || findImporter(n.op_type(), opset_)) return nullptr;
    const std::string& op = n.op_type();
    if (auto it = schemaFns_.find(op); it != schemaFns_.end()) return &it->second;
    const int since = schemaVersion(op, opset_);
    const SchemaFunction* best = nullptr;
    for (const SchemaFunction& sf : schemaFunctions())
      if (op == sf.op && sf.since == since && sf.opset <= opset_ &&
          (!best || sf.opset > best->opset))
        best = &sf;
    if (!since || !best) return nullptr;
    auto f = std::make_unique<Function>();
    if (!f->ParseFromString(fromHex(best->hex))) return nullptr;
    Fn fn = describe(*f);
    schemaBodies_[op] = std::move(f);
    return &(schemaFns_[op] = fn);
  }

  // The body of fn for call n: its own values prefixed, formals bound to the call's values,
  // attribute references resolved.
  Graph instantiate(const Fn& fn, const Node& n) {
    const Function& f = *fn.f;
    const std::string what =
        str("node '", n.name(), "' (", n.op_type(), ", a model-local function)");
    // The body is imported at the model's opset: where the function imports another one, each
    // of its ai.onnx operators must mean the same at both (the same schema version).
    for (const auto& o : f.opset_import()) {
      if (!domainOf(o.domain()).empty() || o.version() == opset_) continue;
      for (const auto& b : f.node())
        if (domainOf(b.domain()).empty() &&
            schemaVersion(b.op_type(), static_cast<int>(o.version())) !=
                schemaVersion(b.op_type(), opset_))
          errors.push_back(str(what, ": the function imports ai.onnx opset ", o.version(),
                               " and the model opset ", opset_, ", where ", b.op_type(),
                               " differs; clrt imports a function's body at the model's opset"));
    }
    if (n.input_size() > f.input_size() || n.output_size() > f.output_size())
      errors.push_back(str(what, ": ", n.input_size(), " inputs and ", n.output_size(),
                           " outputs given; the function has ", f.input_size(), " and ",
                           f.output_size()));
    std::string prefix = n.name().empty() ? f.name() : n.name();
    if (!prefixes_.insert(prefix).second) {
      prefix += str("_", calls_);
      prefixes_.insert(prefix);
    }
    ++calls_;
    Graph body;
    for (const auto& b : f.node()) *body.add_node() = b;
    std::set<std::string> own;
    definedNames(body, own);
    std::map<std::string, std::string> to;
    for (const auto& name : own) to[name] = prefix + "/" + name;
    for (int i = 0; i < f.input_size(); ++i)
      to[f.input(i)] = i < n.input_size() ? n.input(i) : std::string();
    for (int i = 0; i < f.output_size(); ++i)
      if (i < n.output_size() && !n.output(i).empty()) to[f.output(i)] = n.output(i);
    std::map<std::string, const ::onnx::AttributeProto*> given;
    for (const auto& a : n.attribute()) given[a.name()] = &a;
    renameValues(body, to);
    bindNodes(body, given, fn, prefix);
    return body;
  }

  // Names the body's nodes after the call and resolves their attribute references (the
  // call's attribute, else the function's default, else none: the node's own default applies),
  // in nested graphs too. The values are renamed by renameValues.
  void bindNodes(Graph& g, const std::map<std::string, const ::onnx::AttributeProto*>& given,
                 const Fn& fn, const std::string& prefix) {
    int i = 0;
    for (auto& n : *g.mutable_node()) {
      n.set_name(prefix + "/" + (n.name().empty() ? str(n.op_type(), "_", i) : n.name()));
      ++i;
      google::protobuf::RepeatedPtrField<::onnx::AttributeProto> attrs;
      for (auto& a : *n.mutable_attribute()) {
        if (a.ref_attr_name().empty()) {
          if (a.has_g()) bindNodes(*a.mutable_g(), given, fn, prefix);
          for (auto& sg : *a.mutable_graphs()) bindNodes(sg, given, fn, prefix);
          *attrs.Add() = std::move(a);
          continue;
        }
        const ::onnx::AttributeProto* src = nullptr;
        if (auto it = given.find(a.ref_attr_name()); it != given.end()) src = it->second;
        if (!src)
          if (auto it = fn.defaults.find(a.ref_attr_name()); it != fn.defaults.end())
            src = &it->second;
        if (!src) continue;
        ::onnx::AttributeProto r = *src;
        r.set_name(a.name());
        *attrs.Add() = std::move(r);
      }
      n.mutable_attribute()->Swap(&attrs);
    }
  }
};

}  // namespace

int inlineFunctions(::onnx::ModelProto& model, int opset, std::vector<std::string>& errors) {
  Inliner in(model, opset);
  in.expand(*model.mutable_graph(), 0);
  errors = std::move(in.errors);
  return in.inlined;
}

const std::vector<std::string>& functionBodyOps() {
  static const std::vector<std::string> ops = [] {
    // op -> the default-domain operators of its bodies (every version, nested graphs included).
    std::map<std::string, std::set<std::string>> uses;
    for (const SchemaFunction& sf : schemaFunctions()) {
      if (!importedVersions(sf.op).empty()) continue;
      Function f;
      if (!f.ParseFromString(fromHex(sf.hex))) continue;
      std::set<std::string>& u = uses[sf.op];
      std::function<void(const Node&)> visit = [&](const Node& n) {
        if (domainOf(n.domain()).empty()) u.insert(n.op_type());
        Node copy = n;
        forEachSubgraph(copy, [&](Graph& g) {
          for (const Node& m : g.node()) visit(m);
        });
      };
      for (const Node& n : f.node()) visit(n);
    }
    // Listed once every operator of its bodies is imported or listed (bodies may call bodies).
    std::set<std::string> listed;
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& [op, u] : uses)
        if (!listed.count(op) && std::all_of(u.begin(), u.end(), [&](const std::string& b) {
              return !importedVersions(b).empty() || listed.count(b);
            }))
          grew = listed.insert(op).second;
    }
    return std::vector<std::string>(listed.begin(), listed.end());
  }();
  return ops;
}

}  // namespace clrt::onnx
