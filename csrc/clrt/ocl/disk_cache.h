// clrt's kernel cache on disk (~/.cache/clrt, CLRT_CACHE_DIR): where it is, and whole-file reads
// and atomic writes of its entries. The entry format is in device.h (encode/decodeCacheEntry).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace clrt::ocl::detail {

// "" when the disk cache is off (CLRT_DISABLE_DISK_CACHE) or no home directory is known.
std::string cacheDir();
// False when the file is missing or unreadable (an empty file reads as empty).
bool readFile(const std::string& path, std::vector<uint8_t>& out);
// Writes dir/name through a temporary file and a rename, so readers never see half an entry;
// creates dir. Failures are ignored: the cache is an optimization.
void writeFileAtomic(const std::string& dir, const std::string& name,
                     const std::vector<uint8_t>& data);
void removeFile(const std::string& path);

}  // namespace clrt::ocl::detail
