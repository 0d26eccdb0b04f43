// The C++ face of TensorRT's IInt8*Calibrator classes, shared by their bindings (trampolines in
// bind_calibrator.cc) and the builder's adapter over them (bind_calibrator_source.cc).
#pragma once

#include "clrt/python/bindings.h"
#include "clrt/quant/calibrator.h"

namespace clrt::python {

// Every method returns what Python gave (the adapter validates it, naming the method) and must be
// called with the GIL held. The trampolines call the Python overrides; a Python exception
// propagates as py::error_already_set.
class Calibrator {
 public:
  virtual ~Calibrator() = default;
  virtual py::object getAlgorithm() = 0;  // a CalibrationAlgoType
  virtual py::object getBatchSize() = 0;  // a positive int
  // None or an empty sequence when done, else one array or device pointer per name.
  virtual py::object getBatch(const py::list& names) = 0;
  virtual py::object readCalibrationCache() = 0;  // bytes-like, str or None
  virtual void writeCalibrationCache(const py::bytes& cache) = 0;
};

template <quant::CalibrationAlgo A>
class AlgoCalibrator : public Calibrator {
 public:
  py::object getAlgorithm() override { return py::cast(A); }
};

using EntropyCalibrator2 = AlgoCalibrator<quant::CalibrationAlgo::kENTROPY_CALIBRATION_2>;
using EntropyCalibrator = AlgoCalibrator<quant::CalibrationAlgo::kENTROPY_CALIBRATION>;
using MinMaxCalibrator = AlgoCalibrator<quant::CalibrationAlgo::kMINMAX_CALIBRATION>;

class LegacyCalibrator : public AlgoCalibrator<quant::CalibrationAlgo::kLEGACY_CALIBRATION> {
 public:
  virtual py::object getQuantile() = 0;          // a float in (0, 1]
  virtual py::object getRegressionCutoff() = 0;  // a float in (0, 1]
  virtual py::object readHistogramCache() = 0;
  virtual void writeHistogramCache(const py::bytes& cache) = 0;
};

// True once the pybind11 base __init__ has run for every C++ base of `self` (a Python subclass
// whose __init__ skipped it has no C++ object behind it).
bool calibratorInitialized(py::handle self);
// "<Class>.__init__ did not call the base class __init__: ..." for such an object.
std::string missingBaseInitMessage(py::handle cls);

// Keeps clrt.BuildError for raiseChainedBuildError (bind_core has made it by then).
void bindCalibratorSource(py::module_& m);

}  // namespace clrt::python
