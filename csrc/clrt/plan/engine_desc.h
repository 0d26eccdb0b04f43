// What an engine is, independent of the device objects: the optimized network, the tactic
// chosen per layer, optimization profiles, device fingerprint and program binaries.
// plan/ turns it into bytes and back; runtime/ turns it into kernels.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "clrt/core/types.h"
#include "clrt/ir/network.h"

namespace clrt::plan {

struct ShapeRange {
  Dims min, opt, max;
};

// Values of a shape-tensor input (TensorRT's set_shape_input): elementwise min <= opt <= max.
struct ValueRange {
  std::vector<int64_t> min, opt, max;
};

// One optimization profile: a range per input that has dynamic dims, and a value range per
// shape-tensor input.
struct Profile {
  std::map<std::string, ShapeRange> shapes;
  std::map<std::string, ValueRange> values;
};

struct EngineDesc {
  ir::Network net;                   // optimized, compacted; layers in execution order
  std::vector<std::string> tactics;  // per layer: chosen tactic name; "" for host layers
  std::vector<uint8_t> on_host;      // per layer: 1 when evaluated on the host (shape math)
  std::vector<Profile> profiles;     // empty when every input is static
  std::string device_fingerprint;    // ocl::DeviceInfo::fingerprint() of the build device
  std::string device_name;
  std::string clrt_version;
  std::map<std::string, std::vector<uint8_t>> program_binaries;  // program key -> binary
  uint64_t peak_activation_bytes = 0;  // activation arena at the largest profile shapes
  uint64_t workspace_bytes = 0;        // tactic workspace at the largest profile shapes
  std::string name;                    // the network's name
  int32_t profiling_verbosity = 0;     // ProfilingVerbosity: 0 layer names, 1 none, 2 detailed
};

}  // namespace clrt::plan
