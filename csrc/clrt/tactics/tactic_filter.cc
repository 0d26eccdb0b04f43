// The tactic allow/deny filter (tactic_filter.h).
#include "clrt/tactics/tactic_filter.h"

#include <cstdlib>

namespace clrt::tactics {
namespace {

// Glob match: '*' any run, '?' one character.
bool globMatch(const char* p, const char* s) {
  for (; *p; ++p, ++s) {
    if (*p == '*') {
      for (;; ++s) {
        if (globMatch(p + 1, s)) return true;
        if (!*s) return false;
      }
    }
    if (!*s || (*p != '?' && *p != *s)) return false;
  }
  return !*s;
}

bool anyMatch(const std::vector<std::string>& pats, const std::string& name) {
  for (const auto& p : pats)
    if (globMatch(p.c_str(), name.c_str())) return true;
  return false;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

}  // namespace

TacticFilter TacticFilter::parse(const std::string& spec, const std::string& origin) {
  TacticFilter f;
  if (trim(spec).empty()) return f;
  f.text_ = str("'", spec, "' (", origin, ")");
  const std::vector<const Tactic*> known = allTactics();
  size_t pos = 0;
  while (pos <= spec.size()) {
    const size_t end = std::min(spec.find(',', pos), spec.size());
    std::string pat = trim(spec.substr(pos, end - pos));
    pos = end + 1;
    const bool deny = !pat.empty() && pat[0] == '-';
    if (deny) pat = trim(pat.substr(1));
    CLRT_CHECK(!pat.empty(), kValue, origin, ": empty pattern in tactic filter '", spec, "'");
    bool matched = false;
    for (const Tactic* t : known) matched = matched || globMatch(pat.c_str(), t->name().c_str());
    if (!matched) {
      std::string names;
      for (const Tactic* t : known) names += (names.empty() ? "" : ", ") + t->name();
      fail(ErrorKind::kValue, str(origin, ": tactic filter pattern '", pat,
                                  "' matches no registered tactic (registered: ", names, ")"));
    }
    (deny ? f.deny_ : f.allow_).push_back(pat);
  }
  return f;
}

TacticFilter TacticFilter::fromConfigOrEnv(const std::string& config_spec) {
  if (!trim(config_spec).empty()) return parse(config_spec, "config.tactic_filter");
  const char* env = std::getenv("CLRT_TACTICS");
  return env ? parse(env, "CLRT_TACTICS") : TacticFilter{};
}

bool TacticFilter::names(const Tactic& t) const { return anyMatch(allow_, t.name()); }

bool TacticFilter::allows(const Tactic& t) const {
  const std::string name = t.name();
  if (anyMatch(deny_, name)) return false;
  if (allow_.empty() || anyMatch(allow_, name)) return true;
  // The allow list restricts only the kinds it names a tactic of.
  for (const Tactic* other : tacticsFor(t.kind()))
    if (anyMatch(allow_, other->name())) return false;
  return true;
}

}  // namespace clrt::tactics
