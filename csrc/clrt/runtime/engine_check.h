// Cross-field validation of an engine read from a file: every field against every other, so a
// file edited and resealed (its checksum recomputed) is refused naming the field instead of
// crashing or running a network other than the one built.
#pragma once

#include <cstddef>

#include "clrt/ocl/device.h"
#include "clrt/plan/engine_desc.h"

namespace clrt::runtime {

// The engine types live in plan/ (which must not include runtime/).
using plan::EngineDesc;

// Throws Error(kEngineFormat) "engine file malformed: <field>: <why>". Checks: I/O lists against
// the tensors' flags; producers, layer outputs and execution order (no tensor read before it is
// written, none written twice); each layer's attrs and weights (layer_contract.cc); host
// placement; tactics (known, of the layer's kind and precision, eligible for its tensors);
// profiles; dims and dtypes against shape inference at every profile corner; the activation
// arena size. `dev` must be the device the fingerprint names.
void checkEngineDesc(const EngineDesc& desc, const ocl::DeviceInfo& dev);

// One layer's attribute and weight names/types and its precision-contract attrs.
void checkLayerContract(const ir::Network& net, size_t layer);

}  // namespace clrt::runtime
