// OneHot lowering (one_hot.h).
#include "clrt/ir/one_hot.h"

#include <vector>

namespace clrt::ir {

int lowerOneHot(int indices, int depth, int values, int64_t rank, int64_t axis,
                const EinsumEmit& emit, const std::function<int(int64_t)>& scalar) {
  auto binary = [&](const char* op, int a, int b) {
    return emit(LayerKind::kELEMENTWISE, {a, b}, [&](Layer& l) { l.attrs.set("op", op); });
  };
  auto pick = [&](int64_t k) {  // values[k], kept 1-D
    return emit(LayerKind::kSLICE, {values}, [&](Layer& l) {
      l.attrs.set("starts", std::vector<int64_t>{k});
      l.attrs.set("ends", std::vector<int64_t>{k + 1});
      l.attrs.set("axes", std::vector<int64_t>{0});
      l.attrs.set("steps", std::vector<int64_t>{1});
    });
  };
  const int zero = scalar(0), one = scalar(1);
  const int wrapped =
      emit(LayerKind::kWHERE,
           {binary("LESS", indices, zero), binary("SUM", indices, depth), indices}, {});
  const int positions = emit(LayerKind::kRANGE, {zero, depth, one}, {});
  std::vector<int64_t> along(static_cast<size_t>(rank), 1);
  along[static_cast<size_t>(axis)] = -1;
  const int laid =
      emit(LayerKind::kRESHAPE, {positions}, [&](Layer& l) { l.attrs.set("shape", along); });
  const int u = emit(LayerKind::kUNSQUEEZE, {wrapped},
                     [&](Layer& l) { l.attrs.set("axes", std::vector<int64_t>{axis}); });
  const int hit = binary("EQUAL", u, laid);
  const int on = pick(1), off = pick(0);
  return emit(LayerKind::kWHERE, {hit, on, off}, {});
}

}  // namespace clrt::ir
