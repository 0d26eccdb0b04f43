// TensorRT's INT8 calibrator classes for Python subclasses: CalibrationAlgoType, IInt8Calibrator
// and its Entropy2/Entropy/MinMax/Legacy variants, with trampolines to the Python overrides.
#include <pybind11/eval.h>

#include <optional>
#include <type_traits>

#include "clrt/python/calibrator_py.h"

namespace clrt::python {
namespace {

using quant::CalibrationAlgo;

std::string typeName(py::handle obj) { return py::str(py::type::of(obj).attr("__name__")); }

// TensorRT declares these pure virtual; calling one that a subclass left out raises this.
[[noreturn]] void notImplemented(py::handle self, const char* signature) {
  PyErr_SetString(PyExc_NotImplementedError, str(typeName(self), " does not define ", signature,
                                                 ", which every INT8 calibrator must implement")
                                                 .c_str());
  throw py::error_already_set();
}

// Tutorials write read_calibration_cache(self, length) and write_calibration_cache(self, cache,
// length) (TensorRT's C++ signatures) as well as the Python ones without `length`: call `f` with
// `args` when its signature accepts them, else with `extra` appended. Only the arity is decided
// here; exceptions from the call itself reach the caller unchanged.
py::object callFlexible(const py::function& f, const py::tuple& args, const py::object& extra) {
  bool plain = true;
  try {
    py::object sig = py::module_::import("inspect").attr("signature")(f);
    try {
      sig.attr("bind")(*args);
    } catch (py::error_already_set& e) {
      if (!e.matches(PyExc_TypeError)) throw;
      py::list longer(args);
      longer.append(extra);
      try {
        sig.attr("bind")(*longer);
        plain = false;
      } catch (py::error_already_set& e2) {
        if (!e2.matches(PyExc_TypeError)) throw;  // neither fits: the plain call reports it
      }
    }
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_ValueError) && !e.matches(PyExc_TypeError)) throw;  // no signature
  }
  if (plain) return f(*args);
  py::list longer(args);
  longer.append(extra);
  return f(*longer);
}

// Trampolines: each method calls the Python override when the subclass defines one, else the
// base behaviour (TensorRT's pure virtuals raise NotImplementedError naming the class).
template <typename B>
class PyCalibrator : public B {
 public:
  py::object getAlgorithm() override {
    if (py::function f = pyOverride("get_algorithm")) return f();
    if constexpr (std::is_same_v<B, Calibrator>)
      notImplemented(self(), "get_algorithm(self)");
    else
      return B::getAlgorithm();
  }
  py::object getBatchSize() override {
    if (py::function f = pyOverride("get_batch_size")) return f();
    notImplemented(self(), "get_batch_size(self)");
  }
  py::object getBatch(const py::list& names) override {
    if (py::function f = pyOverride("get_batch")) return f(names);
    notImplemented(self(), "get_batch(self, names)");
  }
  py::object readCalibrationCache() override {
    if (py::function f = pyOverride("read_calibration_cache"))
      return callFlexible(f, py::make_tuple(), py::int_(0));
    return py::none();
  }
  // The cache reaches Python as a memoryview of its bytes, as TensorRT passes a buffer
  // (Polygraphy's calibrator calls cache.tobytes()); f.write(cache) and bytes(cache) take it as
  // they take bytes.
  void writeCalibrationCache(const py::bytes& cache) override {
    if (py::function f = pyOverride("write_calibration_cache"))
      callFlexible(f, py::make_tuple(py::memoryview(cache)), py::int_(py::len(cache)));
  }

 protected:
  py::function pyOverride(const char* name) const {
    return py::get_override(static_cast<const B*>(this), name);
  }
  py::handle self() const {
    return py::detail::get_object_handle(static_cast<const B*>(this),
                                         py::detail::get_type_info(typeid(B)));
  }
};

class PyLegacyCalibrator : public PyCalibrator<LegacyCalibrator> {
 public:
  py::object getQuantile() override {
    if (py::function f = pyOverride("get_quantile")) return f();
    return py::float_(0.9999);
  }
  py::object getRegressionCutoff() override {
    if (py::function f = pyOverride("get_regression_cutoff")) return f();
    return py::float_(1.0);
  }
  py::object readHistogramCache() override {
    if (py::function f = pyOverride("read_histogram_cache"))
      return callFlexible(f, py::make_tuple(), py::int_(0));
    return py::none();
  }
  void writeHistogramCache(const py::bytes& cache) override {
    if (py::function f = pyOverride("write_histogram_cache"))
      callFlexible(f, py::make_tuple(cache), py::int_(py::len(cache)));
  }
};

// Python's object.__init_subclass__ rejects keyword arguments; so does this one.
void checkNoClassKeywords(const py::handle& cls, const py::kwargs& kw) {
  if (kw.size() != 0)
    throw py::type_error(str(std::string(py::str(cls.attr("__name__"))),
                             ".__init_subclass__() takes no keyword arguments"));
}

// pybind11 reports a subclass __init__ that skipped the base __init__ as
// "IInt8EntropyCalibrator2.__init__() must be called when overriding __init__", naming the base.
// Wrapping each subclass's own __init__ names the user's class and the fix instead. The wrapper is
// a Python function (functools.wraps keeps the user's name, docstring and signature): a
// cpp_function named __init__ would be taken by pybind11 for an old-style placement-new
// constructor, which debug builds of pybind11 >= 3 warn about (an error under pytest's -W error).
py::object checkedInitFactory() {
  // Built once and kept for the life of the process (no destructor runs after finalization).
  static const py::object* factory = [] {
    py::dict scope;
    py::exec(R"(
import functools
def make(own, check):
    @functools.wraps(own)
    def __init__(self, *args, **kwargs):
        own(self, *args, **kwargs)
        check(self)
    return __init__
)",
             scope);
    return new py::object(scope["make"]);
  }();
  return *factory;
}

void wrapSubclassInit(const py::handle& cls, const py::kwargs& kw) {
  checkNoClassKeywords(cls, kw);
  py::object own = cls.attr("__dict__").attr("get")("__init__");
  if (own.is_none()) return;  // inherits an __init__ that is already checked (or the base's)
  const std::string message = missingBaseInitMessage(cls);
  py::cpp_function check([message](py::handle self) {
    if (!calibratorInitialized(self)) throw py::type_error(message);
  });
  py::setattr(cls, "__init__", checkedInitFactory()(own, check));
}

void bindAlgoType(py::module_& m) {
  py::enum_<CalibrationAlgo>(m, "CalibrationAlgoType",
                             "INT8 calibration algorithms (TensorRT's values).")
      .value("LEGACY_CALIBRATION", CalibrationAlgo::kLEGACY_CALIBRATION)
      .value("ENTROPY_CALIBRATION", CalibrationAlgo::kENTROPY_CALIBRATION)
      .value("ENTROPY_CALIBRATION_2", CalibrationAlgo::kENTROPY_CALIBRATION_2)
      .value("MINMAX_CALIBRATION", CalibrationAlgo::kMINMAX_CALIBRATION);
}

void bindBase(py::module_& m) {
  py::class_<Calibrator, PyCalibrator<Calibrator>> base(
      m, "IInt8Calibrator",
      "Base of the INT8 calibrators. Subclass one of IInt8EntropyCalibrator2, "
      "IInt8EntropyCalibrator, IInt8MinMaxCalibrator or IInt8LegacyCalibrator, call its __init__ "
      "(super().__init__()), and define get_batch_size(self), get_batch(self, names), "
      "read_calibration_cache(self) and write_calibration_cache(self, cache).");
  base.def(py::init_alias<>())
      .def(
          "get_algorithm",
          [](py::handle self) -> py::object { notImplemented(self, "get_algorithm(self)"); },
          "The CalibrationAlgoType (each subclass returns its own).")
      .def(
          "get_batch_size",
          [](py::handle self) -> py::object { notImplemented(self, "get_batch_size(self)"); },
          "The batch size of the calibration batches (a positive int).")
      .def(
          "get_batch",
          [](py::handle self, const py::object&) -> py::object {
            notImplemented(self, "get_batch(self, names)");
          },
          py::arg("names"),
          "One batch: a list with one float32 NumPy array or device pointer (trt.mem_alloc) per "
          "name, in order, shaped as the input at the calibration shape; None when done.")
      .def(
          "read_calibration_cache", [](py::handle, const py::object&) { return py::none(); },
          py::arg("length") = 0,
          "The cache written by an earlier build (bytes), or None to calibrate; `length` is "
          "TensorRT's C++ out-parameter, ignored.")
      .def(
          "write_calibration_cache", [](py::handle, const py::object&, const py::object&) {},
          py::arg("cache"), py::arg("length") = 0,
          "Receives the calibration cache (bytes) to store for later builds.");
  py::object classmethod = py::module_::import("builtins").attr("classmethod");
  base.attr("__init_subclass__") =
      classmethod(py::cpp_function(&wrapSubclassInit, py::name("__init_subclass__")));
}

template <CalibrationAlgo A>
void bindAlgoClass(py::module_& m, const char* name, const char* doc) {
  py::class_<AlgoCalibrator<A>, Calibrator, PyCalibrator<AlgoCalibrator<A>>>(m, name, doc)
      .def(py::init_alias<>())
      .def("get_algorithm", [](py::handle) { return A; });
}

void bindLegacy(py::module_& m) {
  py::class_<LegacyCalibrator, Calibrator, PyLegacyCalibrator>(
      m, "IInt8LegacyCalibrator",
      "Percentile calibration (LEGACY_CALIBRATION): the range covers get_quantile() of the "
      "|x| histogram.")
      .def(py::init_alias<>())
      .def("get_algorithm", [](py::handle) { return CalibrationAlgo::kLEGACY_CALIBRATION; })
      .def(
          "get_quantile", [](py::handle) { return 0.9999; },
          "The fraction of |x| the range covers, in (0, 1]; 0.9999 unless overridden.")
      .def(
          "get_regression_cutoff", [](py::handle) { return 1.0; },
          "The fraction of the histogram fitted, in (0, 1]; 1.0 unless overridden.")
      .def(
          "read_histogram_cache", [](py::handle, const py::object&) { return py::none(); },
          py::arg("length") = 0, "The histogram cache of an earlier build (bytes), or None.")
      .def(
          "write_histogram_cache", [](py::handle, const py::object&, const py::object&) {},
          py::arg("cache"), py::arg("length") = 0, "Receives the histogram cache (bytes).");
}

// The test hook: one build's worth of adapter calls, with the GIL released around them as in a
// build. Returns what the builder would have seen.
py::dict smoke(const py::object& calibrator, const std::vector<std::string>& names,
               const py::sequence& shapes, int max_batches, const py::object& write_cache) {
  std::vector<Dims> dims;
  for (py::handle s : shapes) dims.push_back(toDims(s, "_calib_source_smoke shape"));
  std::optional<std::string> to_write;
  if (!write_cache.is_none()) to_write = write_cache.cast<std::string>();
  try {
    std::unique_ptr<quant::CalibratorSource> src = makeCalibratorSource(calibrator);
    CLRT_CHECK(src, kValue, "_calib_source_smoke: the calibrator is None");
    int batch_size = 0;
    CalibrationAlgo algo{};
    std::optional<std::string> cache, histogram;
    std::vector<std::vector<HostTensor>> batches;
    double quantile = 0, cutoff = 0;
    {
      py::gil_scoped_release release;
      batch_size = src->batchSize();
      algo = src->algorithm();
      cache = src->readCalibrationCache();
      histogram = src->readHistogramCache();
      std::vector<HostTensor> batch;
      while (
          !cache && (max_batches < 0 || static_cast<int>(batches.size()) < max_batches) &&
          src->getBatch(names, dims, std::vector<DataType>(names.size(), DataType::kFLOAT), batch))
        batches.push_back(std::move(batch));
      quantile = src->quantile();
      cutoff = src->regressionCutoff();
      if (to_write) {
        src->writeCalibrationCache(*to_write);
        src->writeHistogramCache(*to_write);
      }
    }
    py::dict out;
    out["batch_size"] = batch_size;
    out["algorithm"] = algo;
    out["cache"] = cache ? py::object(py::bytes(*cache)) : py::object(py::none());
    out["histogram_cache"] = histogram ? py::object(py::bytes(*histogram)) : py::object(py::none());
    out["quantile"] = quantile;
    out["regression_cutoff"] = cutoff;
    py::list pyBatches;
    for (auto& b : batches) {
      py::list arrays;
      for (HostTensor& t : b) arrays.append(toArray(std::move(t)));
      pyBatches.append(arrays);
    }
    out["batches"] = pyBatches;
    return out;
  } catch (const Error& e) {
    raiseChainedBuildError(e);
  }
}

}  // namespace

bool calibratorInitialized(py::handle self) {
  py::detail::values_and_holders vhs(self.ptr());
  for (const auto& vh : vhs)
    if (!vh.holder_constructed() && !vhs.is_redundant_value_and_holder(vh)) return false;
  return true;
}

std::string missingBaseInitMessage(py::handle cls) {
  // The nearest clrt class in the MRO is the one whose __init__ must run.
  std::string base = "IInt8Calibrator";
  for (py::handle t : cls.attr("__mro__")) {
    const std::string module = py::str(t.attr("__module__"));
    if (module == "_clrt" || module == "clrt._clrt") {
      base = py::str(t.attr("__name__"));
      break;
    }
  }
  const std::string name = py::str(cls.attr("__name__"));
  return str(name,
             ".__init__ did not call the base class __init__: add super().__init__() (or trt.",
             base, ".__init__(self)) to ", name, ".__init__ before using it as a calibrator");
}

void bind_calibrator(py::module_& m) {
  bindAlgoType(m);
  bindBase(m);
  bindAlgoClass<CalibrationAlgo::kENTROPY_CALIBRATION_2>(
      m, "IInt8EntropyCalibrator2",
      "Entropy calibration (ENTROPY_CALIBRATION_2, TensorRT's recommended default): the range "
      "minimising the KL divergence of the quantized |x| histogram.");
  bindAlgoClass<CalibrationAlgo::kENTROPY_CALIBRATION>(
      m, "IInt8EntropyCalibrator", "Entropy calibration, legacy variant (ENTROPY_CALIBRATION).");
  bindAlgoClass<CalibrationAlgo::kMINMAX_CALIBRATION>(
      m, "IInt8MinMaxCalibrator", "The range is the largest |x| seen (MINMAX_CALIBRATION).");
  bindLegacy(m);
  bindCalibratorSource(m);
  m.def("_calib_source_smoke", &smoke, py::arg("calibrator"), py::arg("names"), py::arg("shapes"),
        py::arg("max_batches") = -1, py::arg("write_cache") = py::none(),
        "Test hook: drives the builder's adapter over a calibrator once (batch size, algorithm, "
        "caches, batches until None or max_batches) with the GIL released, as a build does.");
}

}  // namespace clrt::python
