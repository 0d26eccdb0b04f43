// The kernel cache on disk: directory choice, entry encoding with a length and a checksum, and
// whole-file reads and atomic writes.
#include "clrt/ocl/disk_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "clrt/core/checksum.h"
#include "clrt/ocl/device.h"

namespace clrt::ocl {

namespace {
constexpr char kEntryMagic[8] = {'C', 'L', 'R', 'T', 'K', 'C', '1', '\0'};
constexpr size_t kEntryHeader = 8 + 8 + 8;  // magic, binary length, checksum
}  // namespace

std::vector<uint8_t> encodeCacheEntry(const std::vector<uint8_t>& binary) {
  std::vector<uint8_t> out(kEntryHeader + binary.size());
  const uint64_t n = binary.size(), sum = checksum64(binary.data(), binary.size());
  std::memcpy(out.data(), kEntryMagic, 8);
  std::memcpy(out.data() + 8, &n, 8);
  std::memcpy(out.data() + 16, &sum, 8);
  if (!binary.empty()) std::memcpy(out.data() + kEntryHeader, binary.data(), binary.size());
  return out;
}

std::vector<uint8_t> decodeCacheEntry(const std::vector<uint8_t>& entry, std::string* why) {
  if (entry.size() < kEntryHeader) {
    *why = str("truncated: ", entry.size(), " bytes, the header alone is ", kEntryHeader);
    return {};
  }
  if (std::memcmp(entry.data(), kEntryMagic, 8) != 0) {
    *why = "not a clrt kernel-cache entry (bad magic)";
    return {};
  }
  uint64_t n, sum;
  std::memcpy(&n, entry.data() + 8, 8);
  std::memcpy(&sum, entry.data() + 16, 8);
  const uint64_t have = entry.size() - kEntryHeader;
  if (n != have || n == 0) {
    *why = str(n > have ? "truncated" : "malformed", ": header says ", n, " bytes of binary, ",
               have, " present");
    return {};
  }
  const uint64_t got = checksum64(entry.data() + kEntryHeader, have);
  if (got != sum) {
    *why = "corrupted: checksum mismatch";
    return {};
  }
  return std::vector<uint8_t>(entry.begin() + kEntryHeader, entry.end());
}

namespace detail {

std::string cacheDir() {
  if (const char* off = std::getenv("CLRT_DISABLE_DISK_CACHE"); off && *off && *off != '0')
    return "";
  if (const char* d = std::getenv("CLRT_CACHE_DIR"); d && *d) return d;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  if (xdg && *xdg) return std::string(xdg) + "/clrt";
  if (home && *home) return std::string(home) + "/.cache/clrt";
  return "";
}

bool readFile(const std::string& path, std::vector<uint8_t>& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return !f.bad();
}

void writeFileAtomic(const std::string& dir, const std::string& name,
                     const std::vector<uint8_t>& data) {
  if (dir.empty()) return;
  for (size_t i = 1; i <= dir.size(); ++i)
    if (i == dir.size() || dir[i] == '/') ::mkdir(dir.substr(0, i).c_str(), 0755);
  // Unique per process and call: two threads may write the same entry at once.
  static std::atomic<unsigned> serial{0};
  const std::string tmp =
      str(dir, "/", name, ".tmp", ::getpid(), "_", serial.fetch_add(1, std::memory_order_relaxed));
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) return;
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!f) {
      f.close();
      std::remove(tmp.c_str());
      return;
    }
  }
  std::rename(tmp.c_str(), (dir + "/" + name).c_str());
}

void removeFile(const std::string& path) { std::remove(path.c_str()); }

}  // namespace detail
}  // namespace clrt::ocl
