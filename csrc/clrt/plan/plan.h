// The engine file: magic, format version, clrt version, device fingerprint, network with
// weights, chosen tactics, profiles, OpenCL program binaries, and a checksum over it all.
#pragma once

#include <cstdint>
#include <vector>

#include "clrt/runtime/engine_desc.h"

namespace clrt::plan {

inline constexpr uint32_t kFormatVersion = 2;

std::vector<uint8_t> serialize(const runtime::EngineDesc& desc);

// Throws Error(kEngineFormat) saying which: not a clrt engine (bad magic), unsupported format
// version, truncated (expected N bytes at offset X, have Y), checksum mismatch (corrupted), or
// a malformed field (naming it). Never reads out of bounds, whatever the bytes.
runtime::EngineDesc deserialize(const uint8_t* data, size_t size);

}  // namespace clrt::plan
