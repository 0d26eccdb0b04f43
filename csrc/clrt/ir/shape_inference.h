// Output shapes and dtypes of each layer kind, given input dims and any host-known input values.
// Used by the parser (static propagation), the builder and the runtime (per input shape).
#pragma once

#include <vector>

#include "clrt/core/types.h"
#include "clrt/ir/network.h"

namespace clrt::ir {

struct TensorInfo {
  DataType dtype = DataType::kFLOAT;
  Dims dims;
  const HostTensor* value = nullptr;  // known on the host (constants, shape tensors), else null
};

// Returns (dtype, dims) of every output. Unknown dims stay -1 when inputs are dynamic.
// Throws Error(kValue) naming the layer when the inputs are inconsistent.
std::vector<std::pair<DataType, Dims>> inferLayer(const Layer& layer,
                                                  const std::vector<TensorInfo>& inputs);

// Computes a layer's outputs on the host when every input is host-known; used for constant
// folding and for shape tensors at runtime. Supports the shape-subgraph kinds (SHAPE, GATHER,
// CAST, CONCATENATION, SLICE, SQUEEZE, UNSQUEEZE, RESHAPE, FLATTEN, TRANSPOSE, ELEMENTWISE,
// UNARY, CONSTANT, IDENTITY, RANGE, CONSTANT_OF_SHAPE, EXPAND, WHERE, REDUCE, SPLIT) on
// INT64 and FLOAT values. Returns false when the kind cannot be evaluated on the host.
// Inputs carry dims always and a value when host-known (SHAPE needs only the dims).
bool evalOnHost(const Layer& layer, const std::vector<TensorInfo>& inputs,
                std::vector<HostTensor>& outputs);

// Whether evalOnHost handles this kind at all.
bool canEvalOnHost(LayerKind k);
// Whether evalOnHost handles this layer of `net` (kind, mode and output dtypes): the runtime
// places a layer on the host only then, so a layer of constants the host cannot compute (a
// ScatterND building an attention mask, a Cast to DOUBLE) runs on the device instead.
bool canEvalOnHost(const Layer& layer, const Network& net);

// Data-dependent kinds (NON_ZERO, NMS, UNIQUE; ir/data_dependent.cc): inferLayer gives -1 for
// the dims their values decide. boundDataDependent replaces those -1s with upper bounds (what the
// builder times and the arena is planned at); evalDataDependent computes the outputs from the
// inputs' values (every input present, absent optional ones as empty tensors).
bool isDataDependent(LayerKind k);
void boundDataDependent(const Layer& layer, const std::vector<TensorInfo>& inputs,
                        std::vector<std::pair<DataType, Dims>>& outputs);
std::vector<HostTensor> evalDataDependent(const Layer& layer,
                                          const std::vector<HostTensor>& inputs);

// Input positions of a kind whose values decide output shapes (Reshape shape, Slice starts...).
std::vector<int> shapeOperands(LayerKind k);
// Sets Tensor::is_shape_tensor on the INT32/INT64 0-D/1-D network inputs that reach a shape
// operand through host-evaluable layers (shape_tensors.cc); clears it on the others.
void markShapeTensors(Network& net);

}  // namespace clrt::ir
