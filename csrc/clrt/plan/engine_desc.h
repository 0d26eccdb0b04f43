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
// Integers in min/opt/max; values that are not all integers (FLOAT shape inputs: Resize scales
// and roi) in fmin/fopt/fmax instead, the integer lists then empty.
struct ValueRange {
  std::vector<int64_t> min, opt, max;
  std::vector<double> fmin, fopt, fmax;
  bool real() const { return !fmin.empty() || !fopt.empty() || !fmax.empty(); }
  size_t size() const { return real() ? fmin.size() : min.size(); }
  // Value i at corner 0 (min), 1 (opt) or 2 (max), either representation.
  double at(int corner, size_t i) const {
    if (real()) return (corner == 0 ? fmin : corner == 1 ? fopt : fmax).at(i);
    return static_cast<double>((corner == 0 ? min : corner == 1 ? opt : max).at(i));
  }
  // The values at one corner as a tensor of dtype t and dims d.
  HostTensor tensor(int corner, const Dims& d, DataType t) const {
    if (!real())
      return HostTensor::fromInt64(d, corner == 0 ? min : corner == 1 ? opt : max).castTo(t);
    const auto& v = corner == 0 ? fmin : corner == 1 ? fopt : fmax;
    return HostTensor::fromFloats(d, std::vector<float>(v.begin(), v.end())).castTo(t);
  }
  std::string text(int corner) const;  // "[1, 2]" or "[0.5, 2]"
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
  // BuilderFlag.REFIT: the network as the graph passes received it (weights as given), and the
  // pass options, so that a refit replays the passes over new weights (builder/refit.cc).
  // When the network was parsed from ONNX, that model and its external data's directory: a refit
  // by initializer name parses it again with the new values.
  bool refittable = false;
  bool refit_fuse_attention = false;
  ir::Network refit_source;
  std::string refit_onnx, refit_onnx_dir;
};

}  // namespace clrt::plan
