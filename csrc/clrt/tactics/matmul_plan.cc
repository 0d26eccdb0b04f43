// The matmul batch-broadcast planner (matmul_plan.h).
#include "clrt/tactics/matmul_plan.h"

#include <algorithm>

#include "clrt/core/error.h"
#include "clrt/tactics/compute_common.h"

namespace clrt::tactics {

MatPlan planOf(Dims da, Dims db, bool ta, bool tb, const std::string& layer) {
  CLRT_CHECK(!da.empty() && !db.empty(), kRuntime, "matmul layer '", layer,
             "': operands must have rank >= 1, got ", dimsToString(da), " and ", dimsToString(db));
  MatPlan p;
  const bool a1 = da.size() == 1, b1 = db.size() == 1;
  if (a1) da = {1, da[0]}, ta = false;
  if (b1) db = {db[0], 1}, tb = false;
  const int64_t ra = da[da.size() - 2], ca = da.back(), rb = db[db.size() - 2], cb = db.back();
  p.ta = ta, p.tb = tb;
  p.M = ta ? ca : ra;
  p.K = ta ? ra : ca;
  const int64_t Kb = tb ? cb : rb;
  p.N = tb ? rb : cb;
  CLRT_CHECK(p.K == Kb, kRuntime, "matmul layer '", layer, "': inner dims differ (", p.K, " vs ",
             Kb, ") for operands ", dimsToString(da), " and ", dimsToString(db));
  p.lda = ca, p.ldb = cb;
  p.a_sm = ta ? 1 : ca, p.a_sk = ta ? ca : 1;
  p.b_sk = tb ? 1 : cb, p.b_sn = tb ? cb : 1;

  const size_t nb = std::max(da.size(), db.size()) - 2;
  Dims ba(nb, 1), bb(nb, 1);
  std::copy(da.begin(), da.end() - 2, ba.begin() + (nb - (da.size() - 2)));
  std::copy(db.begin(), db.end() - 2, bb.begin() + (nb - (db.size() - 2)));
  std::vector<int64_t> sa(nb, 0), sb(nb, 0);
  int64_t acc_a = ra * ca, acc_b = rb * cb;
  for (size_t k = nb; k-- > 0;) {
    CLRT_CHECK(ba[k] == bb[k] || ba[k] == 1 || bb[k] == 1, kRuntime, "matmul layer '", layer,
               "': batch dims of ", dimsToString(da), " and ", dimsToString(db),
               " do not broadcast");
    sa[k] = ba[k] == 1 ? 0 : acc_a;
    sb[k] = bb[k] == 1 ? 0 : acc_b;
    acc_a *= ba[k];
    acc_b *= bb[k];
  }
  for (size_t k = 0; k < nb; ++k) {
    const int64_t d = std::max(ba[k], bb[k]);
    p.out.push_back(d);
    p.batch *= d;
    if (d == 1) continue;
    if (!p.bdims.empty() && p.a_bs.back() == sa[k] * d && p.b_bs.back() == sb[k] * d) {
      p.bdims.back() *= d;
      p.a_bs.back() = sa[k];
      p.b_bs.back() = sb[k];
    } else {
      p.bdims.push_back(d);
      p.a_bs.push_back(sa[k]);
      p.b_bs.push_back(sb[k]);
    }
  }
  if (!a1) p.out.push_back(p.M);
  if (!b1) p.out.push_back(p.N);
  return p;
}

bool checkRun(const MatPlan& p, const std::string& layer, const Dims& a, const Dims& b,
              const Dims& out, int64_t bias_n, const Dims* res) {
  CLRT_CHECK(out == p.out, kRuntime, "matmul layer '", layer, "': output ", dimsToString(out),
             " should be ", dimsToString(p.out), " for ", dimsToString(a), " x ", dimsToString(b));
  CLRT_CHECK(bias_n < 0 || bias_n == p.N, kRuntime, "matmul layer '", layer, "': bias of ", bias_n,
             " values for ", p.N, " output columns");
  CLRT_CHECK(!res || *res == out, kRuntime, "matmul layer '", layer, "': residual ",
             dimsToString(res ? *res : Dims{}), " must have the output shape ", dimsToString(out));
  const int64_t total = p.batch * p.M * p.N;
  kint(total, layer);
  kint(volume(a), layer);
  kint(volume(b), layer);
  return total != 0;
}

}  // namespace clrt::tactics
