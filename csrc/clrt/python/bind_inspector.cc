// Placeholder registration; replaced by the inspector bindings.
#include "clrt/python/bindings.h"

namespace clrt::python {
void bind_inspector(py::module_& m) { (void)m; }
}  // namespace clrt::python
