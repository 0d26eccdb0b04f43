// The codes shared by C++ and the OpenCL kernels, written once: the activation table (name,
// code, ONNX parameter defaults, OpenCL formula) and the storage dtype codes. The kernels see
// them as the generated defines of kernelCodeDefines(), prepended to every program.
#pragma once

#include <string>
#include <vector>

namespace clrt {

// One activation every kernel that applies activations implements: pointwise.cl's unary_f and
// every conv/GEMM/INT8/tensor-core epilogue (build option ACT=code). The formula is OpenCL C
// over x (float or floatN) and the parameters a (alpha) and b (beta).
struct ActivationInfo {
  const char* name;    // ir attrs "type" / "act" ("RELU", ...)
  int code;            // ACT_<name> in the kernels; 0 is "no activation"
  double alpha, beta;  // ONNX's defaults where the importer leaves a parameter out
  const char* formula;
};

const std::vector<ActivationInfo>& activationTable();
// The row of `name`, or nullptr when the kernels do not implement it.
const ActivationInfo* findActivation(const std::string& name);

// OpenCL defines of the table and of DataType's codes: DT_<dtype> (DT_FLOAT 0, DT_HALF 1,
// DT_INT8 2, ...), ACT_<name> <code>, ACT<code>(x, a, b) <formula> and ACT_CASES(x, a, b) (a
// `case` per activation returning its value, for a switch over a run-time code).
const std::string& kernelCodeDefines();

}  // namespace clrt
