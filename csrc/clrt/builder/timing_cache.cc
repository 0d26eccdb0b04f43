// Timing cache storage and its file format: "CLRTTIM\0", u32 version, u64 checksum of the rest,
// the device string, then per layer signature its (tactic, ms) pairs; from version 2, then the
// program binaries (key, bytes).
#include "clrt/builder/timing_cache.h"

#include <cstring>

#include "clrt/core/error.h"
#include "clrt/plan/byte_io.h"

namespace clrt::builder {
namespace {

constexpr char kMagic[8] = {'C', 'L', 'R', 'T', 'T', 'I', 'M', '\0'};
constexpr uint32_t kVersion = 2;  // 1: no program binaries (still read)
constexpr size_t kHeader = 8 + 4 + 8;

}  // namespace

std::vector<uint8_t> TimingCache::serialize() const {
  std::lock_guard<std::mutex> lock(mu_);
  plan::Writer w;
  w.raw(kMagic, 8);
  w.u32(kVersion);
  w.u64(0);  // checksum, patched below
  w.string(device_);
  w.u64(entries_.size());
  for (const auto& [key, tactics] : entries_) {
    w.string(key);
    w.u64(tactics.size());
    for (const auto& [name, ms] : tactics) {
      w.string(name);
      w.f64(ms);
    }
  }
  w.u64(programs_->size());
  for (const auto& [key, bin] : *programs_) {
    w.string(key);
    w.bytes(bin);
  }
  std::vector<uint8_t>& b = w.buffer();
  w.patchU64(12, checksum64(b.data() + kHeader, b.size() - kHeader));
  return b;
}

std::shared_ptr<TimingCache> TimingCache::deserialize(const uint8_t* data, size_t size) {
  CLRT_CHECK(size >= kHeader && std::memcmp(data, kMagic, 8) == 0, kValue, "timing cache: ", size,
             " bytes are not a clrt timing cache (no CLRTTIM header)");
  uint32_t version;
  uint64_t sum;
  std::memcpy(&version, data + 8, 4);
  std::memcpy(&sum, data + 12, 8);
  CLRT_CHECK(version == 1 || version == kVersion, kValue, "timing cache format version ", version,
             ", this clrt reads 1 to ", kVersion, "; delete the cache file to rebuild it");
  CLRT_CHECK(checksum64(data + kHeader, size - kHeader) == sum, kValue,
             "timing cache: checksum mismatch (the file is damaged or was edited); delete it to "
             "rebuild it");
  try {
    plan::Reader r(data + kHeader, size - kHeader, kHeader);
    auto c = std::make_shared<TimingCache>(r.string("device"));
    const size_t n = r.count("signature count", 16);
    for (size_t i = 0; i < n; ++i) {
      const std::string key = r.string("signature");
      const size_t m = r.count("tactic count", 16);
      for (size_t j = 0; j < m; ++j) {
        const std::string tactic = r.string("tactic name");
        const double ms = r.f64("time");
        CLRT_CHECK(ms >= 0 && ms < 1e9, kValue, "timing cache: tactic '", plan::printable(tactic),
                   "' has time ", ms, " ms");
        c->entries_[key][tactic] = ms;
      }
    }
    if (version >= 2) {
      auto programs = std::make_shared<Programs>();
      const size_t np = r.count("program count", 16);
      for (size_t i = 0; i < np; ++i) {
        std::string key = r.string("program key");
        (*programs)[std::move(key)] = r.bytes("program binary");
      }
      c->programs_ = std::move(programs);
    }
    CLRT_CHECK(r.remaining() == 0, kValue, "timing cache: ", r.remaining(),
               " bytes after the last entry");
    return c;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kEngineFormat) throw;
    std::string why = e.what();
    const std::string prefix = "engine file malformed: ";
    if (why.rfind(prefix, 0) == 0) why = why.substr(prefix.size());
    fail(ErrorKind::kValue, "timing cache malformed: " + why);
  }
}

std::optional<double> TimingCache::lookup(const std::string& key, const std::string& tactic) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  auto jt = it->second.find(tactic);
  if (jt == it->second.end()) return std::nullopt;
  return jt->second;
}

void TimingCache::insert(const std::string& key, const std::string& tactic, double ms) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_[key][tactic] = ms;
}

bool TimingCache::combine(const TimingCache& other, bool ignoreMismatch) {
  if (&other == this) return true;
  std::scoped_lock lock(mu_, other.mu_);
  if (!ignoreMismatch && !device_.empty() && !other.device_.empty() && device_ != other.device_)
    return false;
  if (device_.empty()) device_ = other.device_;
  for (const auto& [key, tactics] : other.entries_)
    for (const auto& [name, ms] : tactics) entries_[key].emplace(name, ms);
  // Another device's binaries would not load here (or worse, would): only the same device's.
  if (device_ == other.device_ && !other.programs_->empty()) {
    auto merged = std::make_shared<Programs>(*programs_);
    for (const auto& [key, bin] : *other.programs_) merged->emplace(key, bin);
    programs_ = std::move(merged);
  }
  return true;
}

void TimingCache::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.clear();
  programs_ = std::make_shared<Programs>();
}

void TimingCache::addPrograms(const Programs& programs) {
  std::lock_guard<std::mutex> lock(mu_);
  auto merged = std::make_shared<Programs>(*programs_);
  for (const auto& [key, bin] : programs) (*merged)[key] = bin;
  programs_ = std::move(merged);
}

std::shared_ptr<const TimingCache::Programs> TimingCache::programs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return programs_;
}

size_t TimingCache::programCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return programs_->size();
}

size_t TimingCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [key, tactics] : entries_) n += tactics.size();
  return n;
}

std::string TimingCache::device() const {
  std::lock_guard<std::mutex> lock(mu_);
  return device_;
}

bool TimingCache::claim(const std::string& device) {
  std::lock_guard<std::mutex> lock(mu_);
  if (device_.empty()) device_ = device;
  return device_ == device;
}

}  // namespace clrt::builder
