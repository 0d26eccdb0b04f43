// INT8 tactics (registration): the conv, matmul and pooling/eltwise/concat families.
#include "clrt/tactics/int8_common.h"

namespace clrt::tactics {
void registerInt8Tactics() {
  registerInt8ConvTactics();
  registerInt8GemmTactics();
  registerInt8MiscTactics();
}
}  // namespace clrt::tactics
