// The engine inspector's text: what the builder decided per layer (type, precision, tactic,
// tensors with their types and INT8 ranges, the ONNX nodes a layer holds), as JSON or one line
// per layer. How much is shown follows the engine's ProfilingVerbosity, as in TensorRT: DETAILED
// shows everything, LAYER_NAMES_ONLY (the default) the layer names, NONE nothing per layer.
#pragma once

#include <cstddef>
#include <string>

#include "clrt/runtime/engine.h"

namespace clrt::runtime {

// Layer i (execution order; the caller checks the range) as JSON or as one line.
std::string inspectLayer(const Engine& engine, size_t i, bool json);
// Every layer, then the I/O tensor names.
std::string inspectEngine(const Engine& engine, bool json);

}  // namespace clrt::runtime
