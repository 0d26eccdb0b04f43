// The timing cache: measured milliseconds per (layer signature, tactic) for one device, so
// identical layers are timed once per build and later builds reuse earlier timings
// (TensorRT's ITimingCache: create, serialize, combine, reset). It also carries the OpenCL
// program binaries of the engines built with it, so that a build from a warm cache on another
// machine with the same device and driver compiles nothing it already chose.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace clrt::builder {

class TimingCache {
 public:
  using Programs = std::map<std::string, std::vector<uint8_t>>;  // program key -> binary
  // `device`: the fingerprint (device and clrt version) the timings are valid for; empty until
  // the first build stamps it.
  explicit TimingCache(std::string device = "") : device_(std::move(device)) {}
  // Reads serialize()'s bytes; throws kValue naming what is wrong with them.
  static std::shared_ptr<TimingCache> deserialize(const uint8_t* data, size_t size);
  std::vector<uint8_t> serialize() const;

  std::optional<double> lookup(const std::string& key, const std::string& tactic) const;
  void insert(const std::string& key, const std::string& tactic, double ms);
  // Adds `other`'s entries this cache lacks; false (nothing added) when the devices differ and
  // `ignoreMismatch` is false.
  bool combine(const TimingCache& other, bool ignoreMismatch);
  void reset();
  size_t size() const;  // (signature, tactic) entries
  // Program binaries by program key (ocl::Device::programKey): added after each build, read at
  // the start of the next (only on the cache's device).
  void addPrograms(const Programs& programs);
  std::shared_ptr<const Programs> programs() const;
  size_t programCount() const;
  std::string device() const;
  // Stamps an unstamped cache; true when the cache is (now) for `device`.
  bool claim(const std::string& device);

 private:
  mutable std::mutex mu_;
  std::string device_;
  std::map<std::string, std::map<std::string, double>> entries_;
  // Copied on write, so a build reads a snapshot while another adds.
  std::shared_ptr<const Programs> programs_ = std::make_shared<Programs>();
};

}  // namespace clrt::builder
