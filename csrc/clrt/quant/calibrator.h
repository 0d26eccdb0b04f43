// What the builder needs from an INT8 calibrator: batches, the algorithm and its parameters, and
// the caches. python/ implements it over TensorRT-style Python calibrator objects.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "clrt/core/types.h"

namespace clrt::quant {

// TensorRT's CalibrationAlgoType numbering.
enum class CalibrationAlgo : int32_t {
  kLEGACY_CALIBRATION = 0,
  kENTROPY_CALIBRATION = 1,
  kENTROPY_CALIBRATION_2 = 2,
  kMINMAX_CALIBRATION = 3,
};

// The cache header's algorithm word: "EntropyCalibration2", "MinMaxCalibration", ...
const char* algoCacheName(CalibrationAlgo a);

class CalibratorSource {
 public:
  virtual ~CalibratorSource() = default;
  virtual int batchSize() = 0;
  virtual CalibrationAlgo algorithm() = 0;
  // One batch per name, shaped `expected[i]` with dtype `dtypes[i]` (kFLOAT for every float
  // input: HALF inputs are fed as float32), in `out` (same order). Returns false when the
  // calibrator has no more data. Throws Error(kValue) naming the input on a wrong count, shape or
  // dtype; an exception raised by user code propagates (chained) to the build's caller.
  virtual bool getBatch(const std::vector<std::string>& names, const std::vector<Dims>& expected,
                        const std::vector<DataType>& dtypes, std::vector<HostTensor>& out) = 0;
  virtual std::optional<std::string> readCalibrationCache() = 0;
  virtual void writeCalibrationCache(const std::string& bytes) = 0;
  // Legacy calibrator only.
  virtual double quantile() { return 0.9999; }
  virtual double regressionCutoff() { return 1.0; }
  virtual std::optional<std::string> readHistogramCache() { return std::nullopt; }
  virtual void writeHistogramCache(const std::string& bytes) { (void)bytes; }
};

}  // namespace clrt::quant
