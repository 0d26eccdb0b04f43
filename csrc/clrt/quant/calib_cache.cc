// Calibration cache text in TensorRT's format, and the header's algorithm names.
#include "clrt/quant/calib_cache.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "clrt/core/error.h"

namespace clrt::quant {
namespace {

constexpr char kVersion[] = "100300";
constexpr const char* kWhitespace = " \t\r\n\f\v";

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(kWhitespace);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(kWhitespace) - b + 1);
}

bool isAlgoName(const std::string& s) {
  for (auto a : {CalibrationAlgo::kLEGACY_CALIBRATION, CalibrationAlgo::kENTROPY_CALIBRATION,
                 CalibrationAlgo::kENTROPY_CALIBRATION_2, CalibrationAlgo::kMINMAX_CALIBRATION})
    if (s == algoCacheName(a)) return true;
  return false;
}

// Shortened for messages: a corrupted cache may hold one huge line.
std::string quoted(const std::string& line) {
  return "'" + (line.size() > 80 ? line.substr(0, 80) + "..." : line) + "'";
}

}  // namespace

const char* algoCacheName(CalibrationAlgo a) {
  switch (a) {
    case CalibrationAlgo::kLEGACY_CALIBRATION:
      return "LegacyCalibration";
    case CalibrationAlgo::kENTROPY_CALIBRATION:
      return "EntropyCalibration";
    case CalibrationAlgo::kENTROPY_CALIBRATION_2:
      return "EntropyCalibration2";
    case CalibrationAlgo::kMINMAX_CALIBRATION:
      return "MinMaxCalibration";
  }
  fail(ErrorKind::kValue,
       str("unknown CalibrationAlgoType value ", static_cast<int>(a), " (expected 0..3)"));
}

std::string formatCalibrationCache(CalibrationAlgo algo,
                                   const std::map<std::string, float>& scales) {
  std::string out = str("TRT-", kVersion, "-", algoCacheName(algo), "\n");
  for (const auto& [name, scale] : scales) {
    CLRT_CHECK(name.find_first_of("\r\n") == std::string::npos && !trim(name).empty(), kValue,
               "calibration cache: tensor name ", quoted(name),
               " cannot be written (empty or holds a line break)");
    CLRT_CHECK(std::isfinite(scale) && scale >= 0.0f, kValue, "calibration cache: tensor '", name,
               "' has scale ", scale, "; expected a finite value >= 0");
    uint32_t bits = 0;
    std::memcpy(&bits, &scale, sizeof bits);
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(bits));
    out += name + ": " + hex + "\n";
  }
  return out;
}

CalibrationCache parseCalibrationCache(const std::string& text) {
  CalibrationCache cache;
  bool header = false;
  size_t pos = 0;
  for (int lineNo = 1; pos < text.size(); ++lineNo) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string raw = text.substr(pos, end - pos);
    pos = end + 1;
    const std::string line = trim(raw);
    if (line.empty()) continue;
    if (!header) {
      // TRT-<digits>-<Algo>
      const size_t dash = line.find('-', 4);
      const std::string version = dash == std::string::npos ? "" : line.substr(4, dash - 4);
      const std::string algo = dash == std::string::npos ? "" : line.substr(dash + 1);
      const bool ok = line.compare(0, 4, "TRT-") == 0 && !version.empty() &&
                      version.find_first_not_of("0123456789") == std::string::npos &&
                      isAlgoName(algo);
      CLRT_CHECK(ok, kValue, "calibration cache line ", lineNo, ": bad header ", quoted(line),
                 "; expected TRT-<version>-<algorithm> with algorithm EntropyCalibration2, "
                 "EntropyCalibration, MinMaxCalibration or LegacyCalibration");
      cache.header_version = version;
      cache.algo = algo;
      header = true;
      continue;
    }
    const size_t colon = line.rfind(':');
    const std::string name = colon == std::string::npos ? "" : trim(line.substr(0, colon));
    const std::string hex = colon == std::string::npos ? "" : trim(line.substr(colon + 1));
    CLRT_CHECK(!name.empty() && !hex.empty() && hex.size() <= 8 &&
                   hex.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos,
               kValue, "calibration cache line ", lineNo, ": bad entry ", quoted(line),
               "; expected '<tensor name>: <1 to 8 hex digits>'");
    const uint32_t bits = static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
    float scale = 0.0f;
    std::memcpy(&scale, &bits, sizeof scale);
    CLRT_CHECK(std::isfinite(scale) && scale >= 0.0f, kValue, "calibration cache line ", lineNo,
               ": tensor '", name, "' has scale ", scale, " (bits ", hex,
               "); expected a finite value >= 0");
    CLRT_CHECK(cache.scales.emplace(name, scale).second, kValue, "calibration cache line ", lineNo,
               ": tensor '", name, "' appears twice");
  }
  CLRT_CHECK(header, kValue,
             "calibration cache line 1: missing header TRT-<version>-<algorithm> (empty cache)");
  return cache;
}

}  // namespace clrt::quant
