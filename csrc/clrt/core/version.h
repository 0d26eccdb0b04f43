// clrt's version: CMakeLists.txt reads it from pyproject.toml (or scikit-build-core's
// SKBUILD_PROJECT_VERSION) and defines CLRT_VERSION; C++ reads it only through kVersion.
#pragma once

#ifndef CLRT_VERSION
#error "CLRT_VERSION is defined by CMakeLists.txt from pyproject.toml's version"
#endif

namespace clrt {

inline constexpr const char* kVersion = CLRT_VERSION;

}  // namespace clrt
