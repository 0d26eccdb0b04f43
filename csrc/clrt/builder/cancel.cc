// The installed cancellation check (cancel.h).
#include "clrt/builder/cancel.h"

#include <atomic>

namespace clrt::builder {
namespace {
std::atomic<CancelCheck> g_check{nullptr};
}  // namespace

void setCancelCheck(CancelCheck check) { g_check.store(check); }

void checkCancel() {
  if (CancelCheck check = g_check.load()) check();
}

}  // namespace clrt::builder
