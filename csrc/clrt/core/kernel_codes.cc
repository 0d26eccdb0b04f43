// The activation table and the generated OpenCL defines of it and of the dtype codes.
#include "clrt/core/kernel_codes.h"

#include <limits>

#include "clrt/core/error.h"
#include "clrt/core/types.h"

namespace clrt {

const std::vector<ActivationInfo>& activationTable() {
  // NaN semantics are onnxruntime's: a NaN input gives NaN (fmax/fmin alone would turn it into
  // the bound), a NaN Clip bound is no bound. Codes are stable: never renumber a row.
  constexpr double inf = std::numeric_limits<float>::infinity();
  static const std::vector<ActivationInfo> t = {
      {"RELU", 1, 0, 0, "select(fmax((x), 0.0f), (x), isnan(x))"},
      {"LEAKY_RELU", 2, 0.01, 0, "select((a) * (x), (x), (x) >= 0.0f)"},
      {"CLIP", 3, -inf, inf, "select(fmin(fmax((x), (a)), (b)), (x), isnan(x))"},
      {"SIGMOID", 4, 0, 0, "(1.0f / (1.0f + exp(-(x))))"},
      {"TANH", 5, 0, 0, "tanh(x)"},
      {"HARD_SIGMOID", 6, 0.2, 0.5,
       "select(fmin(fmax((a) * (x) + (b), 0.0f), 1.0f), (x), isnan(x))"},
      {"HARD_SWISH", 7, 1.0 / 6.0, 0.5, "((x) * fmin(fmax((a) * (x) + (b), 0.0f), 1.0f))"},
      {"GELU_ERF", 8, 0, 0, "(0.5f * (x) * (1.0f + erf((x) * 0.70710678118654752f)))"},
      {"ELU", 9, 1.0, 0, "select((a) * (exp(x) - 1.0f), (x), (x) >= 0.0f)"},
      {"SOFTPLUS", 10, 0, 0, "select(log1p(exp(x)), (x), (x) > 20.0f)"},
      {"GELU_TANH", 11, 0, 0,
       "(0.5f * (x) * (1.0f + tanh(0.79788456080286536f * ((x) + 0.044715f * (x) * (x) * "
       "(x)))))"},
      {"SELU", 12, 1.67326319217681884765625, 1.05070102214813232421875,
       "((b) * select((a) * (exp(x) - 1.0f), (x), (x) > 0.0f))"},
      {"THRESHOLDED_RELU", 13, 1.0, 0, "select(0.0f, (x), (x) > (a))"},
      // a = lambd, b = bias.
      {"SHRINK", 14, 0.5, 0, "select(select(0.0f, (x) - (b), (x) > (a)), (x) + (b), (x) < -(a))"},
      {"CELU", 15, 1.0, 0, "(fmax((x), 0.0f) + fmin(0.0f, (a) * (exp((x) / (a)) - 1.0f)))"},
      // softplus(x) = x past 20, as SOFTPLUS does.
      {"MISH", 16, 0, 0, "((x) * tanh(select(log1p(exp(x)), (x), (x) > 20.0f)))"},
      {"SWISH", 17, 1.0, 0, "((x) / (1.0f + exp(-(a) * (x))))"},
  };
  return t;
}

const ActivationInfo* findActivation(const std::string& name) {
  for (const ActivationInfo& a : activationTable())
    if (name == a.name) return &a;
  return nullptr;
}

const std::string& kernelCodeDefines() {
  static const std::string s = [] {
    std::string o = "// Generated from core/kernel_codes.cc: dtype and activation codes.\n";
    for (int d = 0; d <= static_cast<int>(DataType::kINT64); ++d)
      o += str("#define DT_", dtypeName(static_cast<DataType>(d)), " ", d, "\n");
    std::string cases = "#define ACT_CASES(x, a, b)";
    for (const ActivationInfo& a : activationTable()) {
      o += str("#define ACT_", a.name, " ", a.code, "\n");
      o += str("#define ACT", a.code, "(x, a, b) ", a.formula, "\n");
      cases += str(" case ", a.code, ": return ACT", a.code, "(x, a, b);");
    }
    return o + cases + "\n";
  }();
  return s;
}

}  // namespace clrt
