// Logger interface (TensorRT's ILogger severities) and the process-wide sink used by the core.
#pragma once

#include <memory>
#include <string>

#include "clrt/core/error.h"

namespace clrt {

enum class Severity : int32_t {
  kINTERNAL_ERROR = 0,
  kERROR = 1,
  kWARNING = 2,
  kINFO = 3,
  kVERBOSE = 4,
};

class ILogger {
 public:
  virtual ~ILogger() = default;
  virtual void log(Severity severity, const std::string& msg) = 0;
};

// The logger a builder/runtime/parser was given; nullptr logs WARNING and worse to stderr.
// Thread-safe; the Python logger trampoline re-takes the GIL itself.
void logMessage(ILogger* logger, Severity s, const std::string& msg);

template <typename... Args>
void logf(ILogger* logger, Severity s, const Args&... args) {
  logMessage(logger, s, str(args...));
}

}  // namespace clrt
