// NVIDIA tensor-core tactics (inline-PTX mma.sync). Filled in by the tensor-core work.
#include "clrt/tactics/tactic.h"

namespace clrt::tactics {
void registerTensorCoreTactics() {}
}  // namespace clrt::tactics
