// Host memory limits for computed values: the configured budget and the checks against it.
#include "clrt/ir/limits.h"

#include <cstdlib>
#include <string>

#include "clrt/core/error.h"
#include "clrt/ir/network.h"

namespace clrt::ir {

uint64_t hostMemoryLimit() {
  static const uint64_t limit = [] {
    const char* env = std::getenv("CLRT_HOST_MEMORY_LIMIT");
    if (env && *env) {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(env, &end, 10);
      if (end && *end == '\0' && v > 0) return static_cast<uint64_t>(v);
    }
    return uint64_t{1} << 30;
  }();
  return limit;
}

bool smallStatic(const Dims& d) {
  int64_t n = 1;
  for (int64_t x : d) {
    if (x < 0 || (x > 0 && n > kShapeFoldElements / x)) return false;
    n *= x;
  }
  return true;
}

uint64_t hostBytes(const Dims& dims, DataType t) {
  uint64_t n = dtypeSize(t);
  for (int64_t d : dims) {
    if (d <= 0) return d == 0 ? 0 : UINT64_MAX;
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return UINT64_MAX;
  }
  return n;
}

void checkHostMemory(const Layer& layer, const Dims& dims, DataType t, uint64_t held,
                     uint64_t limit) {
  const uint64_t bytes = hostBytes(dims, t);
  if (bytes <= limit && held <= limit - bytes) return;
  const std::string size =
      bytes == UINT64_MAX ? std::string("more than 2^64") : std::to_string(bytes);
  fail(ErrorKind::kBuild,
       str("layer '", layer.name, "' (", layerKindName(layer.kind), "): its output ",
           dimsToString(dims), " ", dtypeName(t), " would take ", size, " bytes of host memory",
           held ? str(" on top of ", held, " bytes already computed") : std::string(),
           ", over clrt's limit of ", limit,
           " bytes for values it computes on the host (constant folding, shape tensors); "
           "CLRT_HOST_MEMORY_LIMIT=<bytes> changes the limit (default 1 GiB, a quarter of it per "
           "tensor)"));
}

}  // namespace clrt::ir
