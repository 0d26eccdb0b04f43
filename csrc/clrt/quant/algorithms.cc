// Threshold searches over |x| histograms: KL-divergence (entropy) calibration and percentile.
#include "clrt/quant/algorithms.h"

#include <cmath>
#include <limits>

#include "clrt/core/error.h"
#include "clrt/quant/histogram.h"

namespace clrt::quant {
namespace {

constexpr int kLevels = 128;  // positive INT8 levels the candidate distribution is quantized to
// Candidates whose divergence is within kTieRel * |min| + kTieAbs of the minimum count as equal,
// and the smallest threshold among them wins: rounding (here vs. a reference implementation, or
// one summation order vs. another) must not decide between equally good thresholds.
constexpr double kTieRel = 1e-9, kTieAbs = 1e-12;

void checkInput(const std::vector<uint64_t>& hist, double range, const char* what) {
  CLRT_CHECK(hist.size() == static_cast<size_t>(kHistogramBins), kValue, what, ": histogram has ",
             hist.size(), " bins, expected ", kHistogramBins);
  CLRT_CHECK(std::isfinite(range) && range >= 0.0, kValue, what, ": range ", range,
             " must be finite and >= 0");
}

// KL(P || Q) for threshold bin i, as in Migacz, "8-bit Inference with TensorRT" (GTC 2017):
// P = bins[0, i) with every count at or beyond bin i (the clipped outliers) added to P[i-1].
// Q = bins[0, i) merged into 128 groups of i/128 bins (the last group also takes the remainder)
// and expanded back: each group's total spread evenly over the group's bins where P is nonzero;
// where P is zero, Q is zero. Both are normalized. Terms with P = 0 add nothing; P > 0 with
// Q = 0 (only possible when the outliers land in a group whose bins are all empty) makes the
// divergence infinite, so such a threshold is never chosen.
// With c = P counts (sum T), Q_g = group total / nonzero bins and S = sum of Q, the sum
// sum_k (c_k/T) log((c_k/T) / (Q_g/S)) is evaluated as (1/T) sum_k (c_k log c_k - c_k log Q_g)
// + log(S/T), so the 2048 c log c values are computed once and each group needs one log.
double divergence(const std::vector<uint64_t>& bins, const std::vector<double>& clogc, int i,
                  uint64_t total, uint64_t outliers) {
  const int m = i / kLevels;
  const uint64_t last = bins[i - 1] + outliers;  // P[i-1]
  double acc = 0.0, qsum = 0.0;
  for (int j = 0; j < kLevels; ++j) {
    const int start = j * m, stop = j == kLevels - 1 ? i : start + m;
    uint64_t sum = 0, psum = 0;
    int nonzero = 0;
    double plogp = 0.0;
    for (int k = start; k < stop; ++k) {
      sum += bins[k];
      if (k == i - 1) {
        if (last == 0) continue;
        psum += last;
        plogp += static_cast<double>(last) * std::log(static_cast<double>(last));
      } else {
        if (bins[k] == 0) continue;
        psum += bins[k];
        plogp += clogc[k];
      }
      ++nonzero;
    }
    if (nonzero == 0) continue;
    if (sum == 0) return std::numeric_limits<double>::infinity();
    acc += plogp - static_cast<double>(psum) * std::log(static_cast<double>(sum) / nonzero);
    qsum += static_cast<double>(sum);
  }
  const double t = static_cast<double>(total);
  return acc / t + std::log(qsum / t);
}

}  // namespace

float entropyAmax(const std::vector<uint64_t>& counts, double range, int version) {
  checkInput(counts, range, "entropy calibration");
  CLRT_CHECK(version == 1 || version == 2, kValue, "entropy calibration: version ", version,
             " must be 1 (EntropyCalibration) or 2 (EntropyCalibration2)");
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0 || range == 0.0) return 0.0f;
  // Zero-bin rule: bin 0 holds the exact zeros (ReLU outputs, padding) besides the small values.
  // That spike says nothing about where to clip, yet it dominates the divergence of every
  // candidate and drags the threshold far into the bulk (a ReLU network lost ~20 points of
  // accuracy with it). Bin 0 is replaced by bin 1's count, as NVIDIA's pytorch-quantization does,
  // unless bin 0 is all there is.
  std::vector<uint64_t> hist = counts;
  if (total > hist[0]) {
    total = total - hist[0] + hist[1];
    hist[0] = hist[1];
  }
  const double width = range / kHistogramBins;

  // Candidates i in [128, 2048) as in the published pseudocode; outliers = counts in bins >= i.
  std::vector<double> clogc(kHistogramBins, 0.0);
  for (int k = 0; k < kHistogramBins; ++k)
    if (hist[k]) clogc[k] = static_cast<double>(hist[k]) * std::log(static_cast<double>(hist[k]));
  std::vector<double> kl(kHistogramBins, std::numeric_limits<double>::infinity());
  uint64_t outliers = hist[kHistogramBins - 1];
  for (int i = kHistogramBins - 1; i >= kLevels; --i) {
    kl[i] = divergence(hist, clogc, i, total, outliers);
    outliers += hist[i - 1];
  }
  double best = std::numeric_limits<double>::infinity();
  for (int i = kLevels; i < kHistogramBins; ++i) best = std::min(best, kl[i]);
  // Every candidate infinite: all counts sit in the last bin, so nothing may be clipped.
  if (!std::isfinite(best)) return static_cast<float>(range);
  int chosen = kLevels;
  while (kl[chosen] > best + kTieRel * std::abs(best) + kTieAbs) ++chosen;
  // Version 2 puts the threshold at the chosen bin's middle, as the published description does.
  // TensorRT has not published how its legacy EntropyCalibration differs; clrt runs the same
  // search and puts the threshold at the bin's lower edge i * width. This is clrt's choice, not a
  // reproduction of TensorRT's version 1.
  const double amax = (version == 2 ? chosen + 0.5 : chosen) * width;
  return static_cast<float>(amax);
}

float percentileAmax(const std::vector<uint64_t>& hist, double range, double percentile) {
  checkInput(hist, range, "percentile calibration");
  CLRT_CHECK(std::isfinite(percentile) && percentile >= 0.0 && percentile <= 100.0, kValue,
             "percentile calibration: percentile ", percentile, " must be within [0, 100]");
  uint64_t total = 0;
  for (uint64_t c : hist) total += c;
  if (total == 0 || range == 0.0) return 0.0f;
  const double width = range / kHistogramBins;
  const double target = static_cast<double>(total) * (percentile / 100.0);
  uint64_t below = 0;  // counts in the bins before k
  for (int k = 0; k < kHistogramBins; ++k) {
    const uint64_t c = hist[k];
    if (c != 0 && static_cast<double>(below + c) >= target) {
      // Linear inside the bin: the fraction of the bin's counts still needed to reach the target.
      const double frac = std::min(
          1.0, std::max(0.0, (target - static_cast<double>(below)) / static_cast<double>(c)));
      return static_cast<float>((k + frac) * width);
    }
    below += c;
  }
  return static_cast<float>(range);  // not reached: the last nonzero bin meets any target
}

}  // namespace clrt::quant
