// Per-row INT8 weight quantization (weight_quant.h).
#include "clrt/tactics/weight_quant.h"

#include <algorithm>
#include <cmath>

#include "clrt/core/error.h"

namespace clrt::tactics {

QuantRows quantizeRows(const std::vector<float>& w, int64_t rows, int64_t cols,
                       const std::string& layer) {
  QuantRows r;
  r.q.assign(static_cast<size_t>(rows * cols), 0);
  r.scale.assign(static_cast<size_t>(rows), 0.0f);
  for (int64_t k = 0; k < rows; ++k) {
    const float* src = w.data() + k * cols;
    float amax = 0.0f;
    for (int64_t i = 0; i < cols; ++i) {
      CLRT_CHECK(std::isfinite(src[i]), kBuild, "INT8 layer '", layer, "': weight ", i,
                 " of output channel ", k, " is ", src[i],
                 "; INT8 weights must be finite (quantized per output channel)");
      amax = std::max(amax, std::fabs(src[i]));
    }
    if (!(amax > 0.0f)) continue;
    const float s = amax / 127.0f;
    r.scale[k] = s;
    for (int64_t i = 0; i < cols; ++i) {
      const float v = std::nearbyint(src[i] / s);
      r.q[k * cols + i] = static_cast<int8_t>(std::min(127.0f, std::max(-127.0f, v)));
    }
  }
  return r;
}

}  // namespace clrt::tactics
