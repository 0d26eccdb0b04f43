// Integer products (MatMulInteger, ConvInteger) computed exactly with FLOAT layers: an operand of
// 8-bit integers minus its zero point is split into base-16 digits until every partial sum of
// every digit product stays below 2^24, where FLOAT holds integers exactly; the digit products
// are cast to INT32 and combined there.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "clrt/onnx/importer.h"

namespace clrt::onnx {

// An operand of integers held in FLOAT: a tensor, or a host value (a constant weight, which the
// product may keep as layer weights), and a bound on its magnitude.
struct IntegerOperand {
  int tensor = -1;
  std::optional<HostTensor> host;
  double maxAbs = 0;
};

// Input `i` (8-bit integers) minus zero point input `zp` (absent: 0) in FLOAT. `zpShape`, when
// not empty, reshapes a 1-D zero point (one per row or per output channel) so that it broadcasts
// against the input. A host-known input and zero point stay on the host.
IntegerOperand centredOperand(ImportContext& c, int i, int zp, const Dims& zpShape = {});

// sum over the products of a's and b's digits, each product(a_digit, b_digit) a FLOAT tensor of
// integers from K multiply-adds: the id of an INT32 tensor holding it. Refuses (naming `what`)
// when even 4-bit digits could not keep K products exact.
int exactIntegerProduct(
    ImportContext& c, const IntegerOperand& a, const IntegerOperand& b, int64_t K,
    const std::string& what,
    const std::function<int(const IntegerOperand&, const IntegerOperand&)>& product);

// (A - a_zero_point) @ (B - b_zero_point) as an INT32 tensor, exact: A, B and their zero points
// are inputs ai, bi, azp, bzp (absent zero point: -1); a_zero_point may hold one value per row
// of A, b_zero_point one per column of B. `what` names the op in messages. (MatMulInteger,
// QLinearMatMul; matmul.cc.)
int integerMatMul(ImportContext& c, int ai, int azp, int bi, int bzp, const char* what);

}  // namespace clrt::onnx
