// Cooperative cancellation of the builder's long loops (calibration passes, range refinement):
// the Python bindings install a check of pending signals, so Ctrl-C stops a build within a batch
// instead of after calibration has finished.
#pragma once

namespace clrt::builder {

// Throws (any exception) to cancel the build; called from the building thread.
using CancelCheck = void (*)();
void setCancelCheck(CancelCheck check);
// Runs the installed check; nothing when none is installed.
void checkCancel();

}  // namespace clrt::builder
