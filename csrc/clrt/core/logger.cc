// Routes core log messages to the caller's logger, or to stderr when there is none.
#include "clrt/core/logger.h"

#include <cstdio>
#include <mutex>

namespace clrt {

void logMessage(ILogger* logger, Severity s, const std::string& msg) {
  if (logger) {
    logger->log(s, msg);
    return;
  }
  if (s > Severity::kWARNING) return;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  static const char* names[] = {"INTERNAL_ERROR", "ERROR", "WARNING", "INFO", "VERBOSE"};
  std::fprintf(stderr, "[clrt] %s: %s\n", names[static_cast<int>(s)], msg.c_str());
}

}  // namespace clrt
