// TensorRT's calibration cache text: a `TRT-<version>-<Algo>` header, then `name: <hex>` lines
// holding the big-endian bits of each tensor's float32 INT8 scale (amax / 127).
#pragma once

#include <map>
#include <string>

#include "clrt/quant/calibrator.h"

namespace clrt::quant {

struct CalibrationCache {
  std::string header_version;  // "100300"
  std::string algo;            // "EntropyCalibration2", ... (algoCacheName)
  std::map<std::string, float> scales;
};

// The cache text for these per-tensor scales, header version 100300, lines sorted by name.
// Throws Error(kValue) for a name holding a line break or a negative or non-finite scale.
std::string formatCalibrationCache(CalibrationAlgo algo,
                                   const std::map<std::string, float>& scales);

// Reads a cache: accepts 1-8 hex digits (either case), names containing ':' (split at the last
// one), surrounding whitespace, CRLF line ends and blank lines. Throws Error(kValue) naming the
// line number and content for a bad header, a bad entry, a repeated name, or a negative or
// non-finite scale.
CalibrationCache parseCalibrationCache(const std::string& text);

}  // namespace clrt::quant
