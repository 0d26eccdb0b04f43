// The builder's CalibratorSource over a Python IInt8Calibrator: GIL per call, validated batches
// (NumPy arrays or mem_alloc pointers), caches, and user exceptions kept for chaining.
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <utility>

#include "clrt/builder/cancel.h"
#include "clrt/python/calibrator_py.h"
#include "clrt/runtime/engine.h"

namespace clrt::python {
namespace {

using quant::CalibrationAlgo;

// The exception of the failing calibrator call, until the build's binding takes it. Read and
// written with the GIL held; the mutex guards builds on several threads.
std::mutex g_pending_mu;
PyObject* g_pending = nullptr;      // owned reference
PyObject* g_build_error = nullptr;  // clrt.BuildError (borrowed from the module)

void setPending(py::object exc) {
  std::lock_guard<std::mutex> lock(g_pending_mu);
  Py_XDECREF(g_pending);
  g_pending = exc.release().ptr();
}

std::string typeName(py::handle obj) { return py::str(py::type::of(obj).attr("__name__")); }

std::string safeRepr(py::handle obj) {
  try {
    std::string s = py::repr(obj);
    return s.size() > 80 ? s.substr(0, 77) + "..." : s;
  } catch (py::error_already_set&) {
    return "<" + typeName(obj) + " object>";
  }
}

std::string namesList(const std::vector<std::string>& names) {
  std::string s = "[";
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", '" : "'") + names[i] + "'";
  return s + "]";
}

// Keeps the user's exception (with its traceback) and reports the call as a build failure.
[[noreturn]] void failFromPython(py::error_already_set& e, const char* method) {
  py::object value = e.value();
  if (e.trace() && !e.trace().is_none()) PyException_SetTraceback(value.ptr(), e.trace().ptr());
  std::string msg;
  try {
    msg = py::str(value);
  } catch (py::error_already_set&) {
    msg = "<unprintable message>";
  }
  const std::string type = py::str(py::type::of(value).attr("__name__"));
  setPending(std::move(value));
  fail(ErrorKind::kBuild,
       str("calibrator.", method, " raised ", type, msg.empty() ? "" : ": ", msg));
}

// builder::checkCancel's check during builds (installed at import): a pending signal (Ctrl-C)
// runs its Python handler here; the exception it raises (KeyboardInterrupt) becomes the pending
// one, which the build's binding re-raises as it is.
void checkSignals() {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() == 0) return;
  py::error_already_set e;
  const std::string type = py::str(py::type::of(e.value()).attr("__name__"));
  setPending(e.value());
  fail(ErrorKind::kBuild, str("build interrupted (", type, ")"));
}

template <typename F>
auto guarded(const char* method, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (py::error_already_set& e) {
    failFromPython(e, method);
  }
}

// None, or an empty cache, means "no cache"; str is taken as UTF-8 (TensorRT's caches are text).
std::optional<std::string> cacheBytes(const py::object& r, const char* method) {
  if (r.is_none()) return std::nullopt;
  std::string s;
  if (py::isinstance<py::str>(r)) {
    s = r.cast<std::string>();
  } else if (PyObject_CheckBuffer(r.ptr())) {
    BufferView view(r, false, str("calibrator.", method, "() result"));
    s.assign(static_cast<const char*>(view.data()), view.size());
  } else {
    fail(ErrorKind::kValue,
         str("calibrator.", method, "() must return bytes (or None), got ", typeName(r)));
  }
  if (s.empty()) return std::nullopt;
  return s;
}

double unitFraction(const py::object& r, const char* method) {
  double v = std::numeric_limits<double>::quiet_NaN();
  if (!PyBool_Check(r.ptr()) && PyNumber_Check(r.ptr()) && !py::isinstance<py::str>(r)) {
    PyObject* f = PyNumber_Float(r.ptr());
    if (f) {
      v = PyFloat_AsDouble(f);
      Py_DECREF(f);
    } else {
      PyErr_Clear();
    }
  }
  CLRT_CHECK(std::isfinite(v) && v > 0.0 && v <= 1.0, kValue, "calibrator.", method,
             "() must return a float in (0, 1], got ", safeRepr(r));
  return v;
}

// A device pointer: int, NumPy integer, DeviceAllocation, or an object with __int__ (pycuda's
// DeviceAllocation). nullopt for arrays and anything else array-like.
std::optional<uintptr_t> asPointer(const py::handle& item, const std::string& what) {
  PyObject* p = item.ptr();
  if (py::isinstance<py::array>(item) || PyFloat_Check(p) || PyBool_Check(p)) return std::nullopt;
  PyObject* as_int = nullptr;
  if (PyIndex_Check(p))
    as_int = PyNumber_Index(p);
  else if (!py::hasattr(item, "__array__") && !PyObject_CheckBuffer(p) &&
           py::hasattr(item, "__int__"))
    as_int = PyNumber_Long(p);
  else
    return std::nullopt;
  if (!as_int) {
    PyErr_Clear();
    fail(ErrorKind::kValue, str(what, ": ", safeRepr(item), " is not a device pointer"));
  }
  py::int_ v = py::reinterpret_steal<py::int_>(as_int);
  try {
    return v.cast<uintptr_t>();
  } catch (py::cast_error&) {
    fail(ErrorKind::kValue, str(what, ": ", safeRepr(item), " is not a device pointer"));
  }
}

// One get_batch item as the batch of input `name`, shaped exactly `dims`, in the input's dtype
// `dt` (float32 for float inputs; integer ids stay integers).
HostTensor batchTensor(const py::handle& item, const std::string& name, const Dims& dims,
                       DataType dt) {
  const std::string what = str("calibration input '", name, "'");
  CLRT_CHECK(isStatic(dims), kBuild, what, ": no static calibration shape, got ",
             dimsToString(dims));
  HostTensor t(dt, dims);
  const std::string want = std::string(py::str(numpyDtype(dt)));
  const size_t bytes = t.bytes.size();
  if (std::optional<uintptr_t> ptr = asPointer(item, what)) {
    size_t have = 0;
    try {
      runtime::lookupAllocation(*ptr, &have);
    } catch (const Error& e) {
      fail(ErrorKind::kValue, str(what, ": ", e.what()));
    }
    CLRT_CHECK(have >= bytes, kValue, what, ": expected shape ", dimsToString(dims), " ", want,
               " (", bytes, " bytes), but the device allocation holds ", have, " bytes");
    py::gil_scoped_release release;
    runtime::memcpyDtoH(t.bytes.data(), *ptr, bytes);
    return t;
  }
  py::array a;
  try {
    a = py::module_::import("numpy").attr("asarray")(item);
  } catch (py::error_already_set&) {
    fail(ErrorKind::kValue, str(what,
                                ": expected a NumPy array or a device pointer (int from "
                                "trt.mem_alloc), got ",
                                typeName(item)));
  }
  Dims got(a.shape(), a.shape() + a.ndim());
  const char kind = a.dtype().kind();
  const bool isFloat = dt == DataType::kFLOAT;
  // Floats for float inputs; integers (or bools) for integer inputs, and only when every value
  // survives the conversion to the input's dtype.
  bool ok = got == dims && (isFloat ? kind == 'f' : (kind == 'i' || kind == 'u' || kind == 'b'));
  py::array conv;
  if (ok) {
    conv = contiguous(a, numpyDtype(dt));
    if (!isFloat && !a.dtype().is(conv.dtype()))
      ok = py::module_::import("numpy").attr("array_equal")(conv, a).cast<bool>();
  }
  if (!ok)
    fail(ErrorKind::kValue, str(what, ": expected shape ", dimsToString(dims), " ", want, ", got ",
                                dimsToString(got), " ", std::string(py::str(a.dtype())),
                                got == dims && !isFloat && (kind == 'i' || kind == 'u')
                                    ? str(" with values outside ", want, "'s range")
                                    : std::string()));
  if (bytes) std::memcpy(t.bytes.data(), conv.data(), bytes);
  return t;
}

class PySource : public quant::CalibratorSource {
 public:
  PySource(py::object obj, Calibrator* c)
      : obj_(std::move(obj)), calib_(c), legacy_(dynamic_cast<LegacyCalibrator*>(c)) {}
  ~PySource() override {
    if (!Py_IsInitialized()) {
      (void)obj_.release();  // the interpreter is gone: nothing left to release into
      return;
    }
    py::gil_scoped_acquire gil;
    obj_ = py::object();
  }

  int batchSize() override {
    py::gil_scoped_acquire gil;
    py::object r = guarded("get_batch_size", [&] { return calib_->getBatchSize(); });
    if (!PyBool_Check(r.ptr()) && PyIndex_Check(r.ptr())) {
      const auto v = py::reinterpret_steal<py::int_>(PyNumber_Index(r.ptr()));
      if (v) {
        const long long n = PyLong_AsLongLong(v.ptr());
        if (!PyErr_Occurred() && n > 0 && n <= std::numeric_limits<int>::max())
          return static_cast<int>(n);
      }
      PyErr_Clear();
    }
    fail(ErrorKind::kValue,
         str("calibrator.get_batch_size() must return a positive int, got ", safeRepr(r)));
  }

  CalibrationAlgo algorithm() override {
    py::gil_scoped_acquire gil;
    py::object r = guarded("get_algorithm", [&] { return calib_->getAlgorithm(); });
    try {
      const auto a = r.cast<CalibrationAlgo>();  // a CalibrationAlgoType member
      if (static_cast<int>(a) >= 0 && static_cast<int>(a) <= 3) return a;
    } catch (py::cast_error&) {
    }
    if (!PyBool_Check(r.ptr()) && PyIndex_Check(r.ptr())) {
      const auto v = py::reinterpret_steal<py::int_>(PyNumber_Index(r.ptr()));
      const long long n = v ? PyLong_AsLongLong(v.ptr()) : -1;
      PyErr_Clear();
      if (n >= 0 && n <= 3) return static_cast<CalibrationAlgo>(n);
    }
    fail(
        ErrorKind::kValue,
        str("calibrator.get_algorithm() must return a trt.CalibrationAlgoType, got ", safeRepr(r)));
  }

  bool getBatch(const std::vector<std::string>& names, const std::vector<Dims>& expected,
                const std::vector<DataType>& dtypes, std::vector<HostTensor>& out) override {
    CLRT_CHECK(names.size() == expected.size(), kBuild, "calibration: ", names.size(),
               " input names for ", expected.size(), " shapes");
    py::gil_scoped_acquire gil;
    py::list pyNames;
    for (const std::string& n : names) pyNames.append(n);
    py::object r = guarded("get_batch", [&] { return calib_->getBatch(pyNames); });
    if (r.is_none()) return false;
    const bool text = py::isinstance<py::str>(r) || py::isinstance<py::bytes>(r);
    if (text || py::isinstance<py::array>(r) || !PySequence_Check(r.ptr()))
      fail(ErrorKind::kValue,
           str("calibrator.get_batch() must return a list with one NumPy array or device "
               "pointer per input of ",
               namesList(names), " (None when done), got ", typeName(r)));
    py::sequence seq = py::reinterpret_borrow<py::sequence>(r);
    const size_t n = py::len(seq);
    if (n == 0) return false;
    CLRT_CHECK(n == names.size(), kValue, "calibrator.get_batch() returned ", n, " item",
               n == 1 ? "" : "s", " for the ", names.size(), " input", names.size() == 1 ? "" : "s",
               " ", namesList(names), ": return one array or device pointer per name, in order");
    std::vector<HostTensor> batch;
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i)
      batch.push_back(batchTensor(seq[i], names[i], expected[i], dtypes[i]));
    out = std::move(batch);
    return true;
  }

  std::optional<std::string> readCalibrationCache() override {
    py::gil_scoped_acquire gil;
    py::object r =
        guarded("read_calibration_cache", [&] { return calib_->readCalibrationCache(); });
    return cacheBytes(r, "read_calibration_cache");
  }

  void writeCalibrationCache(const std::string& bytes) override {
    py::gil_scoped_acquire gil;
    guarded("write_calibration_cache", [&] { calib_->writeCalibrationCache(py::bytes(bytes)); });
  }

  double quantile() override {
    if (!legacy_) return CalibratorSource::quantile();
    py::gil_scoped_acquire gil;
    return unitFraction(guarded("get_quantile", [&] { return legacy_->getQuantile(); }),
                        "get_quantile");
  }

  double regressionCutoff() override {
    if (!legacy_) return CalibratorSource::regressionCutoff();
    py::gil_scoped_acquire gil;
    return unitFraction(
        guarded("get_regression_cutoff", [&] { return legacy_->getRegressionCutoff(); }),
        "get_regression_cutoff");
  }

  std::optional<std::string> readHistogramCache() override {
    if (!legacy_) return std::nullopt;
    py::gil_scoped_acquire gil;
    py::object r = guarded("read_histogram_cache", [&] { return legacy_->readHistogramCache(); });
    return cacheBytes(r, "read_histogram_cache");
  }

  void writeHistogramCache(const std::string& bytes) override {
    if (!legacy_) return;
    py::gil_scoped_acquire gil;
    guarded("write_histogram_cache", [&] { legacy_->writeHistogramCache(py::bytes(bytes)); });
  }

 private:
  py::object obj_;  // keeps the Python object (and so *calib_) alive
  Calibrator* calib_;
  LegacyCalibrator* legacy_;
};

}  // namespace

void setPendingBuildError(py::object exc) { setPending(std::move(exc)); }

py::object takePendingCalibratorError() {
  std::lock_guard<std::mutex> lock(g_pending_mu);
  if (!g_pending) return py::none();
  return py::reinterpret_steal<py::object>(std::exchange(g_pending, nullptr));
}

[[noreturn]] void raiseChainedBuildError(const Error& e) {
  py::object cause = takePendingCalibratorError();
  if (cause.is_none() || !g_build_error) throw e;
  if (!PyErr_GivenExceptionMatches(cause.ptr(), PyExc_Exception)) {  // Ctrl-C, sys.exit()
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(cause.ptr())), cause.ptr());
    throw py::error_already_set();
  }
  PyErr_SetObject(g_build_error, pyText(e.what()).ptr());
  PyObject *type = nullptr, *value = nullptr, *trace = nullptr;
  PyErr_Fetch(&type, &value, &trace);
  PyErr_NormalizeException(&type, &value, &trace);
  PyException_SetCause(value, cause.release().ptr());  // steals; sets __suppress_context__
  PyErr_Restore(type, value, trace);
  throw py::error_already_set();
}

std::unique_ptr<quant::CalibratorSource> makeCalibratorSource(const py::object& calibrator) {
  py::gil_scoped_acquire gil;
  takePendingCalibratorError();  // a stale one from an earlier build must not chain to this one
  builder::setCancelCheck(&checkSignals);
  if (calibrator.is_none()) return nullptr;
  py::object base = py::type::of<Calibrator>();
  if (!py::isinstance(calibrator, base)) {
    const bool is_class =
        PyType_Check(calibrator.ptr()) && PyObject_IsSubclass(calibrator.ptr(), base.ptr()) == 1;
    fail(ErrorKind::kValue,
         is_class
             ? str("config.int8_calibrator is the class ",
                   std::string(py::str(calibrator.attr("__name__"))), "; assign an instance of it")
             : str("config.int8_calibrator must be an instance of a trt.IInt8Calibrator "
                   "subclass (e.g. class MyCalibrator(trt.IInt8EntropyCalibrator2)), got ",
                   typeName(calibrator)));
  }
  if (!calibratorInitialized(calibrator))
    fail(ErrorKind::kValue, missingBaseInitMessage(py::type::of(calibrator)));
  return std::make_unique<PySource>(calibrator, calibrator.cast<Calibrator*>());
}

void bindCalibratorSource(py::module_& m) {
  g_build_error = m.attr("BuildError").ptr();  // the module keeps it alive
  builder::setCancelCheck(&checkSignals);
}

}  // namespace clrt::python
