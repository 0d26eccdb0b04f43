// trt.IProgressMonitor (TensorRT 10) and the builder's view of a Python monitor
// (config.progress_monitor): phase_start / step_complete / phase_finish; False cancels the build.
#include <optional>
#include <string>

#include "clrt/python/bindings.h"

namespace clrt::python {
namespace {

// The Python base class; subclasses override all three methods.
class Monitor {
 public:
  virtual ~Monitor() = default;
  virtual void phaseStart(const std::string& phase, const std::optional<std::string>& parent,
                          int32_t steps) {
    (void)phase, (void)parent, (void)steps;
  }
  virtual bool stepComplete(const std::string& phase, int32_t step) {
    (void)phase, (void)step;
    return true;
  }
  virtual void phaseFinish(const std::string& phase) { (void)phase; }
};

class PyMonitor : public Monitor {
 public:
  void phaseStart(const std::string& phase, const std::optional<std::string>& parent,
                  int32_t steps) override {
    PYBIND11_OVERRIDE_NAME(void, Monitor, "phase_start", phaseStart, phase, parent, steps);
  }
  bool stepComplete(const std::string& phase, int32_t step) override {
    PYBIND11_OVERRIDE_NAME(bool, Monitor, "step_complete", stepComplete, phase, step);
  }
  void phaseFinish(const std::string& phase) override {
    PYBIND11_OVERRIDE_NAME(void, Monitor, "phase_finish", phaseFinish, phase);
  }
};

// Calls the Python object's methods with the GIL (builds release it). An exception a method
// raises is kept for the build's binding, which raises BuildError chained to it (Ctrl-C as it
// is).
class Adapter : public builder::ProgressMonitor {
 public:
  explicit Adapter(py::object obj) : obj_(std::move(obj)) {}
  ~Adapter() override {
    py::gil_scoped_acquire gil;
    obj_ = py::object();
  }
  void phaseStart(const std::string& phase, const std::string& parent, int32_t steps) override {
    call("phase_start", [&] {
      const py::object p = parent.empty() ? py::object(py::none()) : py::object(pyText(parent));
      obj_.attr("phase_start")(pyText(phase), p, steps);
    });
  }
  bool stepComplete(const std::string& phase, int32_t step) override {
    bool go = true;
    call("step_complete",
         [&] { go = py::bool_(obj_.attr("step_complete")(pyText(phase), step)).cast<bool>(); });
    return go;
  }
  // Called from Phase's destructor, which cannot throw: an exception is reported the way Python
  // reports one raised in __del__ (sys.unraisablehook) and the build goes on.
  void phaseFinish(const std::string& phase) override {
    py::gil_scoped_acquire gil;
    try {
      obj_.attr("phase_finish")(pyText(phase));
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable(obj_.attr("phase_finish"));
    }
  }

 private:
  template <typename F>
  void call(const char* method, F&& f) {
    py::gil_scoped_acquire gil;
    try {
      f();
    } catch (py::error_already_set& e) {
      const std::string type = py::str(py::type::of(e.value()).attr("__name__"));
      setPendingBuildError(e.value());
      fail(ErrorKind::kBuild, str("progress_monitor.", method, " raised ", type));
    }
  }
  py::object obj_;
};

}  // namespace

std::unique_ptr<builder::ProgressMonitor> makeProgressMonitor(const py::object& monitor) {
  if (monitor.is_none()) return nullptr;
  CLRT_CHECK(py::isinstance(monitor, py::type::of<Monitor>()), kValue,
             "config.progress_monitor must be an instance of a trt.IProgressMonitor subclass, "
             "got ",
             std::string(py::str(py::type::of(monitor).attr("__name__"))));
  return std::make_unique<Adapter>(monitor);
}

void bind_progress(py::module_& m) {
  py::class_<Monitor, PyMonitor>(
      m, "IProgressMonitor",
      "Subclass and assign to config.progress_monitor: the builder calls phase_start(phase_name, "
      "parent_phase, num_steps), step_complete(phase_name, step) -> bool (False cancels the "
      "build: build_serialized_network returns None) and phase_finish(phase_name).")
      .def(py::init<>())
      .def("phase_start", &Monitor::phaseStart, py::arg("phase_name"), py::arg("parent_phase"),
           py::arg("num_steps"))
      .def("step_complete", &Monitor::stepComplete, py::arg("phase_name"), py::arg("step"))
      .def("phase_finish", &Monitor::phaseFinish, py::arg("phase_name"));
}

}  // namespace clrt::python
