// Core bindings: exceptions (clrt::Error translated by kind), DataType, ILogger/Logger, version.
#include <cstdio>

#include "clrt/core/version.h"
#include "clrt/python/bindings.h"

namespace clrt::python {
namespace {

const char* severityName(Severity s) {
  static const char* names[] = {"INTERNAL_ERROR", "ERROR", "WARNING", "INFO", "VERBOSE"};
  const int i = static_cast<int>(s);
  return i >= 0 && i < 5 ? names[i] : "UNKNOWN";
}

// trt.Logger: prints "[clrt] SEVERITY: msg" to stderr at or above min_severity.
class StderrLogger : public ILogger {
 public:
  explicit StderrLogger(Severity min) : min_severity(min) {}
  void log(Severity s, const std::string& msg) override {
    if (static_cast<int>(s) > static_cast<int>(min_severity)) return;
    std::fprintf(stderr, "[clrt] %s: %s\n", severityName(s), msg.c_str());
    std::fflush(stderr);
  }
  Severity min_severity;
};

bool finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing();
#else
  return _Py_IsFinalizing();
#endif
}

// Calls a Python override of log(); false when there is none (or Python is shutting down). The
// core may log from any thread with the GIL released, so the GIL is taken here; a Python
// exception must not unwind into the core, so it is printed and dropped.
template <typename Base>
bool callPythonLog(const Base* self, Severity s, const std::string& msg) {
  if (!Py_IsInitialized() || finalizing()) return false;
  py::gil_scoped_acquire gil;
  try {
    py::function override = py::get_override(self, "log");
    if (!override) return false;
    override(s, pyText(msg));
  } catch (py::error_already_set& e) {
    try {  // through sys.stderr, where the traceback goes too
      py::module_::import("sys").attr("stderr").attr("write")(
          "[clrt] exception in the Python logger's log() (ignored):\n");
      py::module_::import("traceback").attr("print_exception")(e.type(), e.value(), e.trace());
    } catch (...) {
      PyErr_Clear();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "[clrt] Python logger failed (ignored): %s\n", e.what());
  }
  return true;
}

// Trampolines: Python subclasses override log(); without an override, ILogger behaves like no
// logger (WARNING and worse to stderr) and Logger keeps its min_severity filter.
class PyILogger : public ILogger {
 public:
  void log(Severity s, const std::string& msg) override {
    if (!callPythonLog<ILogger>(this, s, msg)) logMessage(nullptr, s, msg);
  }
};

class PyStderrLogger : public StderrLogger {
 public:
  using StderrLogger::StderrLogger;
  void log(Severity s, const std::string& msg) override {
    if (!callPythonLog<StderrLogger>(this, s, msg)) StderrLogger::log(s, msg);
  }
};

PyObject* g_parse_error = nullptr;
PyObject* g_build_error = nullptr;
PyObject* g_engine_format_error = nullptr;
PyObject* g_device_error = nullptr;
PyObject* g_unsupported_error = nullptr;

PyObject* newException(py::module_& m, const char* name, PyObject* base, const char* doc) {
  const std::string full = std::string("clrt.") + name;
  PyObject* e = PyErr_NewExceptionWithDoc(full.c_str(), doc, base, nullptr);
  if (!e) throw py::error_already_set();
  m.attr(name) = py::handle(e);  // the module holds a reference; `e` is never released
  return e;
}

PyObject* pythonTypeOf(ErrorKind k) {
  switch (k) {
    case ErrorKind::kValue:
      return PyExc_ValueError;
    case ErrorKind::kParse:
      return g_parse_error;
    case ErrorKind::kBuild:
      return g_build_error;
    case ErrorKind::kRuntime:
      return PyExc_RuntimeError;
    case ErrorKind::kEngineFormat:
      return g_engine_format_error;
    case ErrorKind::kDevice:
      return g_device_error;
    case ErrorKind::kUnsupported:
      return g_unsupported_error;
    case ErrorKind::kFile:
      return PyExc_FileNotFoundError;
  }
  return PyExc_RuntimeError;
}

void bindExceptions(py::module_& m) {
  g_parse_error =
      newException(m, "ParseError", PyExc_ValueError, "An ONNX model cannot be read or imported.");
  g_build_error = newException(m, "BuildError", PyExc_RuntimeError,
                               "The builder cannot produce an engine (TensorRT returns None; "
                               "clrt raises with the reason).");
  g_engine_format_error = newException(
      m, "EngineFormatError", PyExc_ValueError,
      "A serialized engine is truncated, corrupted, from another version or for another device.");
  g_device_error = newException(m, "DeviceError", PyExc_RuntimeError, "OpenCL reported an error.");
  g_unsupported_error = newException(m, "UnsupportedError", PyExc_NotImplementedError,
                                     "A feature clrt does not implement.");
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetObject(pythonTypeOf(e.kind()), pyText(e.what()).ptr());
      // A build stopped by an exception in a Python calibrator: chain it (raise ... from it);
      // Ctrl-C and sys.exit() (BaseException, not Exception) are raised as they are.
      if (e.kind() == ErrorKind::kBuild) {
        py::object cause = takePendingCalibratorError();
        if (!cause.is_none() && !PyErr_GivenExceptionMatches(cause.ptr(), PyExc_Exception)) {
          PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(cause.ptr())), cause.ptr());
        } else if (!cause.is_none()) {
          PyObject *type, *value, *tb;
          PyErr_Fetch(&type, &value, &tb);
          PyErr_NormalizeException(&type, &value, &tb);
          PyException_SetCause(value, cause.release().ptr());  // steals the reference
          PyErr_Restore(type, value, tb);
        }
      }
    }
  });
}

void bindDataType(py::module_& m) {
  py::enum_<DataType>(m, "DataType", "Element types; values as TensorRT's DataType.")
      .value("FLOAT", DataType::kFLOAT)
      .value("HALF", DataType::kHALF)
      .value("INT8", DataType::kINT8)
      .value("INT32", DataType::kINT32)
      .value("BOOL", DataType::kBOOL)
      .value("UINT8", DataType::kUINT8)
      .value("FP8", DataType::kFP8)
      .value("BF16", DataType::kBF16)
      .value("INT64", DataType::kINT64)
      .value("INT4", DataType::kINT4)
      .value("FP4", DataType::kFP4)
      .value("E8M0", DataType::kE8M0)
      // clrt's own (TensorRT has none): engine I/O types computed in a wider one inside.
      .value("INT16", DataType::kINT16)
      .value("UINT16", DataType::kUINT16)
      .value("UINT32", DataType::kUINT32)
      .value("UINT64", DataType::kUINT64)
      .value("DOUBLE", DataType::kDOUBLE)
      .value("UINT4", DataType::kUINT4)
      .value("INT2", DataType::kINT2)
      .value("UINT2", DataType::kUINT2)
      .value("FP8E5M2", DataType::kFP8E5M2)
      .value("FP8E4M3FNUZ", DataType::kFP8E4M3FNUZ)
      .value("FP8E5M2FNUZ", DataType::kFP8E5M2FNUZ)
      .def_property_readonly(
          "itemsize", [](DataType t) { return dtypeSize(t); }, "Bytes per element.");
}

void bindLoggers(py::module_& m) {
  py::class_<ILogger, PyILogger> ilogger(m, "ILogger",
                                         "Logger interface: subclass it and override "
                                         "log(self, severity, msg). Call ILogger.__init__.");
  // py::arithmetic: loggers written for TensorRT filter with `severity <= self.min_severity`.
  py::enum_<Severity>(ilogger, "Severity", "Message severities, most severe first.",
                      py::arithmetic())
      .value("INTERNAL_ERROR", Severity::kINTERNAL_ERROR)
      .value("ERROR", Severity::kERROR)
      .value("WARNING", Severity::kWARNING)
      .value("INFO", Severity::kINFO)
      .value("VERBOSE", Severity::kVERBOSE)
      .export_values();
  ilogger.def(py::init<>())
      .def("log", &ILogger::log, py::arg("severity"), py::arg("msg"),
           "Called by clrt for every message (from any thread; exceptions are printed and "
           "ignored).");

  py::class_<StderrLogger, ILogger, PyStderrLogger>(
      m, "Logger", "Prints '[clrt] SEVERITY: msg' to stderr for messages at or above min_severity.")
      .def(py::init<Severity>(), py::arg("min_severity") = Severity::kWARNING)
      .def_readwrite("min_severity", &StderrLogger::min_severity)
      .def("log", &StderrLogger::log, py::arg("severity"), py::arg("msg"));
}

}  // namespace

ILogger* loggerOf(const py::object& logger) {
  if (logger.is_none()) return nullptr;
  if (!py::isinstance<ILogger>(logger))
    throw py::type_error("expected a clrt.ILogger (e.g. clrt.Logger()), got " +
                         std::string(py::str(py::type::of(logger).attr("__name__"))));
  return logger.cast<ILogger*>();
}

void bind_core(py::module_& m) {
  m.attr("__version__") = kVersion;
  bindExceptions(m);
  bindDataType(m);
  bindLoggers(m);
}

}  // namespace clrt::python
