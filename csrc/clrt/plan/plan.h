// The engine file: magic, format version, clrt version, device fingerprint, network with
// weights, chosen tactics, profiles, OpenCL program binaries, and a checksum over it all.
#pragma once

#include <cstdint>
#include <vector>

#include "clrt/plan/engine_desc.h"

namespace clrt::plan {

// 3: each program binary carries its own checksum. 4: tensors carry onnx_name, the shape-tensor
// and debug flags; profiles carry shape-input values. 6: tensors carry their memory format.
// 7: activations in separate buffers (runtime/shape_resolver.cc planMemory), so the peak
// activation bytes an engine records changed meaning. 8: reshapes share their input's buffer
// (planMemory's views), which changed it again. 9: the ATTENTION layer kind
// (passes/fuse_attention.cc). 10: refittable engines carry the network the passes received, and
// the ONNX model it was parsed from. 11: tensors carry their dimension names.
inline constexpr uint32_t kFormatVersion = 11;

std::vector<uint8_t> serialize(const EngineDesc& desc);

// Throws Error(kEngineFormat) saying which: not a clrt engine (bad magic), unsupported format
// version, truncated (expected N bytes at offset X, have Y), checksum mismatch (corrupted), or
// a malformed field (naming it). Never reads out of bounds, whatever the bytes. Fields are checked
// one by one here; runtime/engine_check.cc checks them against each other.
// With `programBinaries` false the stored binaries are skipped unchecked and left out of the
// result (the programs are then built from source).
EngineDesc deserialize(const uint8_t* data, size_t size, bool programBinaries = true);

}  // namespace clrt::plan
