// The one per-row (per output channel) INT8 weight quantizer of every INT8 tactic (the portable
// int8_* and the tensor-core ones): s[r] = max|w_r| / 127, q = clamp(rint(w / s[r]), -127, 127).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace clrt::tactics {

// `rows` rows of `cols` contiguous floats, quantized symmetrically per row. A row of zeros gets
// scale 0 (its products are 0; only the bias remains). A non-finite weight has no INT8 value:
// Error(kBuild) naming `layer` and the output channel (row).
struct QuantRows {
  std::vector<int8_t> q;     // rows x cols
  std::vector<float> scale;  // per row
};
QuantRows quantizeRows(const std::vector<float>& w, int64_t rows, int64_t cols,
                       const std::string& layer);

}  // namespace clrt::tactics
