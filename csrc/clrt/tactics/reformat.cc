// REFORMAT tactics. Filled in by the INT8 kernels work.
#include "clrt/tactics/tactic.h"

namespace clrt::tactics {
void registerReformatTactics() {}
}  // namespace clrt::tactics
