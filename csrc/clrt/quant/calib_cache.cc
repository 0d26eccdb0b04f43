// Calibration cache text in TensorRT's format, and the header's algorithm names.
#include "clrt/quant/calib_cache.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

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

// The 8 lowercase hex digits of a float's bits (big-endian reading order).
std::string floatBitsHex(float v) {
  uint32_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(bits));
  return hex;
}

// The text's lines (split at '\n', a trailing '\r' dropped), numbered from 1 by position.
std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    pos = end + 1;
  }
  return lines;
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
    out += name + ": " + floatBitsHex(scale) + "\n";
  }
  return out;
}

CalibrationCache parseCalibrationCache(const std::string& text) {
  CalibrationCache cache;
  bool header = false;
  const std::vector<std::string> lines = splitLines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t lineNo = i + 1;
    const std::string line = trim(lines[i]);
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

namespace {
constexpr char kHistogramHeader[] = "CLRT-HISTOGRAM-1 2048";
constexpr int kBins = 2048;
}  // namespace

std::string formatHistogramCache(const std::map<std::string, TensorHistogram>& hists) {
  std::string out = std::string(kHistogramHeader) + "\n";
  for (const auto& [name, h] : hists) {
    CLRT_CHECK(name.find_first_of("\r\n") == std::string::npos, kValue,
               "histogram cache: tensor name with a line break: ", quoted(name));
    CLRT_CHECK(h.range >= 0.0f && std::isfinite(h.range), kValue, "histogram cache: tensor '", name,
               "' has range ", h.range);
    CLRT_CHECK(h.counts.size() == kBins, kValue, "histogram cache: tensor '", name, "' has ",
               h.counts.size(), " bins, not ", kBins);
    out += floatBitsHex(h.range) + "\t";
    bool first = true;
    for (int b = 0; b < kBins; ++b)
      if (h.counts[b]) {
        out += (first ? "" : ",") + std::to_string(b) + "=" + std::to_string(h.counts[b]);
        first = false;
      }
    out += "\t" + name + "\n";
  }
  return out;
}

std::map<std::string, TensorHistogram> parseHistogramCache(const std::string& text) {
  std::map<std::string, TensorHistogram> out;
  bool header = false;
  const std::vector<std::string> lines = splitLines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t lineNo = i + 1;
    const std::string& line = lines[i];
    if (trim(line).empty()) continue;
    if (!header) {
      CLRT_CHECK(trim(line) == kHistogramHeader, kValue, "histogram cache line ", lineNo, ": ",
                 quoted(line), " is not the header '", kHistogramHeader, "'");
      header = true;
      continue;
    }
    const size_t t1 = line.find('\t');
    const size_t t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    CLRT_CHECK(t2 != std::string::npos && t2 + 1 < line.size(), kValue, "histogram cache line ",
               lineNo, ": ", quoted(line), " is not '<range hex>\\t<bin>=<count>,...\\t<name>'");
    const std::string hex = line.substr(0, t1), bins = line.substr(t1 + 1, t2 - t1 - 1);
    const std::string name = line.substr(t2 + 1);
    TensorHistogram h;
    h.counts.assign(kBins, 0);
    char* stop = nullptr;
    const unsigned long bits = std::strtoul(hex.c_str(), &stop, 16);
    CLRT_CHECK(hex.size() == 8 && stop && *stop == '\0', kValue, "histogram cache line ", lineNo,
               ": range '", hex, "' is not 8 hex digits");
    const uint32_t b32 = static_cast<uint32_t>(bits);
    std::memcpy(&h.range, &b32, 4);
    CLRT_CHECK(h.range >= 0.0f && std::isfinite(h.range), kValue, "histogram cache line ", lineNo,
               ": range ", h.range, " is not a finite non-negative float");
    std::vector<char> seen(kBins, 0);
    size_t p = 0;
    while (p < bins.size()) {
      size_t comma = bins.find(',', p);
      if (comma == std::string::npos) comma = bins.size();
      const std::string item = bins.substr(p, comma - p);
      p = comma + 1;
      const size_t eq = item.find('=');
      char* e1 = nullptr;
      char* e2 = nullptr;
      const std::string bs = eq == std::string::npos ? item : item.substr(0, eq);
      const std::string cs = eq == std::string::npos ? "" : item.substr(eq + 1);
      const long bin = std::strtol(bs.c_str(), &e1, 10);
      const unsigned long long count = std::strtoull(cs.c_str(), &e2, 10);
      const bool ok = !bs.empty() && !cs.empty() && *e1 == '\0' && *e2 == '\0' &&
                      bs.find_first_not_of("0123456789") == std::string::npos &&
                      cs.find_first_not_of("0123456789") == std::string::npos && bin < kBins &&
                      cs.size() <= 15;  // counts below 10^15: sums stay exact in double
      CLRT_CHECK(ok, kValue, "histogram cache line ", lineNo, ": bin entry ", quoted(item),
                 " is not '<bin 0..2047>=<count>'");
      CLRT_CHECK(!seen[bin], kValue, "histogram cache line ", lineNo, ": bin ", bin, " repeated");
      seen[bin] = 1;
      h.counts[bin] = count;
    }
    CLRT_CHECK(!out.count(name), kValue, "histogram cache line ", lineNo, ": tensor '", name,
               "' repeated");
    out[name] = std::move(h);
  }
  CLRT_CHECK(header, kValue, "histogram cache: empty (no '", kHistogramHeader, "' header)");
  return out;
}

}  // namespace clrt::quant
