// Placeholder registration; replaced by the calibrator bindings.
#include "clrt/python/bindings.h"

namespace clrt::python {
void bind_calibrator(py::module_& m) { (void)m; }
}  // namespace clrt::python
