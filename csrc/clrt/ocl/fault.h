// A test seam: program builds that fail on purpose, so tests can check what the builder does
// when a tactic's OpenCL program does not build on a device (older GPUs, driver quirks).
#pragma once

#include <string>

namespace clrt::ocl {

// From now on, Device::program fails (ErrorKind::kDevice, as a real build failure) for every
// program whose "file [options]" contains `pattern`; an empty pattern turns this off.
// Exposed to tests as clrt._clrt._debug.fail_programs.
void setProgramFault(const std::string& pattern);

}  // namespace clrt::ocl
