// INT8 thresholds (amax) from a histogram of |x|: TensorRT's entropy (KL divergence) search and
// a percentile. MinMax calibration needs none: its amax is the tensor's max |x|.
#pragma once

#include <cstdint>
#include <vector>

namespace clrt::quant {

// `hist` holds kHistogramBins (2048) counts of |x| over [0, range]; both functions throw
// Error(kValue) for another length, a negative or non-finite range, or a bad parameter, and return
// 0 for an empty histogram or range 0.

// EntropyCalibration2 (version 2) or the legacy EntropyCalibration (version 1): the threshold
// whose 128-level quantization of the distribution loses the least information (algorithms.cc).
float entropyAmax(const std::vector<uint64_t>& hist, double range, int version);

// The smallest amax with `percentile` percent of the counts at or below it (0..100), counts
// taken as spread uniformly inside each bin.
float percentileAmax(const std::vector<uint64_t>& hist, double range, double percentile);

}  // namespace clrt::quant
