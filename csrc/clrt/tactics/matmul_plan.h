// The batch-broadcast plan of one NumPy matmul (1-D promotion, trans_a/trans_b, broadcast batch
// dims), shared by every MatMul tactic.
#pragma once

#include <string>
#include <vector>

#include "clrt/core/types.h"

namespace clrt::tactics {

// The shapes of one product, from the operand dims. op(A) is M x K, op(B) is K x N; batch dims
// are NumPy-broadcast, size-1 ones dropped and neighbours merged when contiguous for both
// operands (the kernels' batch_offsets, kernels/prelude.clh, walks bdims / a_bs / b_bs).
struct MatPlan {
  int64_t M = 1, N = 1, K = 1;
  bool ta = false, tb = false;  // false for a promoted 1-D operand
  int64_t lda = 1, ldb = 1;     // stored row lengths (row-major leading dims)
  int64_t a_sm = 0, a_sk = 0, b_sk = 0, b_sn = 0;
  std::vector<int64_t> bdims, a_bs, b_bs;
  int64_t batch = 1;
  Dims out;
};

// Throws Error(kRuntime) naming `layer` when the operands do not multiply or broadcast.
MatPlan planOf(Dims da, Dims db, bool ta, bool tb, const std::string& layer);

// Checks one run of a planned product, naming `layer`: the output has the plan's shape, a bias
// (bias_n >= 0) has N values, a residual (res != nullptr) has the output's shape, and every
// count fits the kernels' int arguments. Returns false when the product is empty.
bool checkRun(const MatPlan& p, const std::string& layer, const Dims& a, const Dims& b,
              const Dims& out, int64_t bias_n, const Dims* res);

}  // namespace clrt::tactics
