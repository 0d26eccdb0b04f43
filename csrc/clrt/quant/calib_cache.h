// TensorRT's calibration cache text: a `TRT-<version>-<Algo>` header, then `name: <hex>` lines
// holding the big-endian bits of each tensor's float32 INT8 scale (amax / 127).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

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

// The Legacy calibrator's histogram cache (clrt's own text; TensorRT's is not documented): a
// `CLRT-HISTOGRAM-1 2048` header, then per tensor one line `<range hex>\t<bin>=<count>,...\t<name>`
// with the big-endian bits of the float32 range (max |x|) the 2048 bins cover and the non-zero
// bins. Lets a user try other quantiles without running the calibration data again.
struct TensorHistogram {
  float range = 0.0f;
  std::vector<uint64_t> counts;  // 2048
};
std::string formatHistogramCache(const std::map<std::string, TensorHistogram>& hists);
// Throws Error(kValue) naming the line for a bad header or entry (bin out of range, repeated
// bin or name, negative or non-finite range, a name with a line break).
std::map<std::string, TensorHistogram> parseHistogramCache(const std::string& text);

}  // namespace clrt::quant
