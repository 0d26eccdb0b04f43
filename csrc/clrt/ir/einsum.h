// Einsum lowered onto ir layers (one or two operands: transposes, reshapes, diagonal gathers,
// sums and one batched MATRIX_MULTIPLY), shared by the ONNX importer (Einsum) and the network
// API (INetworkDefinition.add_einsum), so that both build the same layers.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "clrt/ir/network.h"

namespace clrt::ir {

// Adds one single-output layer of `kind` reading `inputs`; `set` (may be empty) fills in its
// attrs and weights. Returns the output tensor id.
using EinsumEmit = std::function<int(LayerKind kind, const std::vector<int>& inputs,
                                     const std::function<void(Layer&)>& set)>;

struct EinsumOperand {
  int tensor;
  Dims dims;  // must be static
};

// The equation with its spaces removed (what add_einsum's layer reports back).
std::string einsumEquation(const std::string& equation);

// Emits the layers computing `equation` over `operands` and returns the result tensor (an
// operand's own tensor when the equation changes nothing). Throws Error: kParse for an equation
// that does not fit the operands, kUnsupported for what the lowering lacks (more than two
// operands, dynamic dims, a label spanning dims of different sizes).
int lowerEinsum(const std::string& equation, const std::vector<EinsumOperand>& operands,
                const EinsumEmit& emit);

}  // namespace clrt::ir
