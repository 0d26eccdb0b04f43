// INT8 tactics (registration). Filled in by the INT8 kernels work.
#include "clrt/tactics/tactic.h"

namespace clrt::tactics {
void registerInt8Tactics() {}
}  // namespace clrt::tactics
