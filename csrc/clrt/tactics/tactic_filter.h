// The tactic allow/deny filter: which registered tactics the builder may choose. Set by the
// builder config's tactic_filter, else the environment variable CLRT_TACTICS.
#pragma once

#include <string>
#include <vector>

#include "clrt/tactics/tactic.h"

namespace clrt::tactics {

// A comma-separated list of patterns over tactic names ('*' and '?' globs): "conv.tc_int8"
// allows, "-gemm.*" denies. A tactic is denied when a deny pattern matches it; otherwise, when
// allow patterns name some tactic of its layer kind, it must match one of them (so
// "conv.direct" forces convolutions onto conv.direct and leaves other kinds alone). Every
// pattern must match a registered tactic (a typo is an error, not a silent no-op).
class TacticFilter {
 public:
  TacticFilter() = default;
  // Throws Error(kValue) naming `origin` and the pattern for an empty or unknown pattern.
  static TacticFilter parse(const std::string& spec, const std::string& origin);
  // The config's filter when set, else CLRT_TACTICS, else none.
  static TacticFilter fromConfigOrEnv(const std::string& config_spec);

  bool allows(const Tactic& t) const;
  // Whether an allow pattern matches `t` (it is asked for by name, not only let through).
  bool names(const Tactic& t) const;
  bool empty() const { return allow_.empty() && deny_.empty(); }
  // The filter as given and where it came from, for messages.
  const std::string& text() const { return text_; }

 private:
  std::vector<std::string> allow_, deny_;
  std::string text_;
};

}  // namespace clrt::tactics
