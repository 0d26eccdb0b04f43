// The clrt._clrt extension module: each area's bindings, in dependency order.
#include "clrt/python/bindings.h"

namespace clrt::python {
// bind_debug.cc: _infer_debug, every layer's outputs of one run (clrt.accuracy); after
// bind_engine. Declared here, not in bindings.h, which every binding file includes.
void bind_debug(py::module_& m);
// bind_unit_debug.cc: clrt._clrt._debug, device-free views of the passes and the plan format.
void bind_unit_debug(py::module_& m);
}  // namespace clrt::python

PYBIND11_MODULE(_clrt, m) {
  m.doc() =
      "clrt core bindings; import the clrt package, which re-exports them with TensorRT's names.";
  clrt::python::bind_core(m);
  clrt::python::bind_network(m);
  clrt::python::bind_parser(m);
  clrt::python::bind_builder(m);
  clrt::python::bind_progress(m);
  clrt::python::bind_engine(m);
  clrt::python::bind_memory(m);
  clrt::python::bind_calibrator(m);
  clrt::python::bind_quant(m);
  clrt::python::bind_inspector(m);
  clrt::python::bind_compat(m);
  clrt::python::bind_debug(m);
  clrt::python::bind_unit_debug(m);
}
