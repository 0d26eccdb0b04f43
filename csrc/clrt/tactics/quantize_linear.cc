// QUANTIZE / DEQUANTIZE tactics (ONNX QuantizeLinear/DequantizeLinear left after Q/DQ folding).
#include "clrt/tactics/tactic.h"

namespace clrt::tactics {
void registerQdqTactics() {}
}  // namespace clrt::tactics
