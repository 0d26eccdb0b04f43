// Placeholder registration; replaced by the quant bindings.
#include "clrt/python/bindings.h"

namespace clrt::python {
void bind_quant(py::module_& m) { (void)m; }
}  // namespace clrt::python
