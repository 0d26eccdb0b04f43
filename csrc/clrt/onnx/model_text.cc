// Model text that is not UTF-8: names and string attributes rewritten with \xNN escapes on read.
#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

// Length of the well-formed UTF-8 sequence at s[i] (as Python's strict decoder accepts it:
// no overlong forms, no surrogates, nothing above U+10FFFF), or 0.
size_t utf8Sequence(const std::string& s, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  return n;
}

// Escapes `s` in place when it is not UTF-8; true when it changed.
bool escape(std::string* s) {
  size_t i = 0;
  while (i < s->size()) {
    const size_t n = utf8Sequence(*s, i);
    if (!n) break;
    i += n;
  }
  if (i == s->size()) return false;
  *s = escapeUtf8(*s);
  return true;
}

int escapeGraph(::onnx::GraphProto& g, int depth);

int escapeNode(::onnx::NodeProto& n, int depth) {
  int changed = escape(n.mutable_name()) + escape(n.mutable_op_type()) + escape(n.mutable_domain());
  for (auto& s : *n.mutable_input()) changed += escape(&s);
  for (auto& s : *n.mutable_output()) changed += escape(&s);
  for (auto& a : *n.mutable_attribute()) {
    changed += escape(a.mutable_name()) + escape(a.mutable_s());
    for (auto& s : *a.mutable_strings()) changed += escape(&s);
    if (a.has_t()) changed += escape(a.mutable_t()->mutable_name());
    // Subgraphs (If/Loop bodies) are not imported, but their names can reach error messages.
    if (a.has_g() && depth < 8) changed += escapeGraph(*a.mutable_g(), depth + 1);
  }
  return changed;
}

int escapeGraph(::onnx::GraphProto& g, int depth) {
  int changed = escape(g.mutable_name());
  for (auto& n : *g.mutable_node()) changed += escapeNode(n, depth);
  for (auto& t : *g.mutable_initializer()) changed += escape(t.mutable_name());
  for (auto* list : {g.mutable_input(), g.mutable_output(), g.mutable_value_info()})
    for (auto& v : *list) changed += escape(v.mutable_name());
  return changed;
}

}  // namespace

std::string escapeUtf8(const std::string& s) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8Sequence(s, i);
    if (n) {
      out.append(s, i, n);
      i += n;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(s[i++]);
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

int escapeModelText(::onnx::ModelProto& model) {
  int changed = escape(model.mutable_producer_name()) + escape(model.mutable_producer_version());
  for (auto& o : *model.mutable_opset_import()) changed += escape(o.mutable_domain());
  return changed + escapeGraph(*model.mutable_graph(), 0);
}

}  // namespace clrt::onnx
