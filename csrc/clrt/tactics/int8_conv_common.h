// The INT8 convolution tactics' shared part (tactics/int8_conv.cc and any further INT8 conv
// tactic file): the layer's spec, eligibility, the run's shapes and I/O, per-channel weight
// quantization, and a kernel base holding them. A new INT8 conv tactic is its own file using
// these plus its .cl, registered there with a TacticRegistrar.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "clrt/tactics/int8_common.h"

namespace clrt::tactics::int8 {

// Tunables of int8_conv.cl, passed to it as build options (tunables()): products summed exactly
// in float before moving to int32 (EXACT_TAPS), output channels (CONV_KB, fixed by float16
// accumulators) and columns (CONV_PB) per direct work-item, the implicit GEMM's work-group side
// (GEMM_WG), outputs per work-item side (GEMM_R) and int8 quads per K step (GEMM_TQ).
constexpr int64_t kExactTaps = 1024;
constexpr int64_t kKB = 16;
constexpr int64_t kPB = 8;
constexpr size_t kGemmWG = 16;
constexpr int64_t kGemmR = 4;
constexpr int64_t kGemmTile = kGemmWG * kGemmR;  // I8_TM = I8_TN (int8_tile.clh)
constexpr int64_t kGemmTQ = 8;
inline std::string tunables(const Epilogue& ep) {
  return ep.options() + str(" -DEXACT_TAPS=", kExactTaps, " -DCONV_KB=", kKB, " -DCONV_PB=", kPB,
                            " -DGEMM_WG=", kGemmWG, " -DGEMM_R=", kGemmR, " -DGEMM_TQ=", kGemmTQ);
}

struct ConvSpec : ConvGeom {
  float s_in = 0.0f;  // the input's scale
};

inline bool readSpec(const ir::Layer& l, ConvSpec* s) {
  if (!readConvGeom(l, s)) return false;
  s->s_in = inputScale(l, 0);
  return true;
}

inline ConvSpec specOf(const ir::Layer& l) {
  ConvSpec s;
  CLRT_CHECK(readSpec(l, &s) && s.s_in > 0.0f, kBuild, "INT8 convolution layer '", l.name,
             "' has weights/attributes/scales no INT8 conv tactic supports");
  return s;
}

inline bool rankFits(const ConvSpec& s, size_t rank) { return convRankFits(s.win, rank); }

inline bool convEligible(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, ConvSpec* s) {
  if (!int8Layer(l, in) || !readSpec(l, s) || !residualOk(l, in, 1)) return false;
  if (!rankFits(*s, in[0].dims.size())) return false;
  const int64_t C = in[0].dims[1];
  return C < 0 || C == s->Cg * s->G;
}

struct ConvRun : ConvShape {
  cl_mem x = nullptr;
  Io res, y;
};

inline ConvRun runOf(const ir::Layer& l, const ConvSpec& s, const ExecArgs& a) {
  CLRT_CHECK(!a.inputs.empty() && !a.outputs.empty(), kRuntime, "conv layer '", s.layer,
             "' got no input/output tensors");
  const DeviceTensor& x = a.inputs[0];
  const DeviceTensor& y = a.outputs[0];
  requireStorage(x, DataType::kINT8, s.layer, "input");
  ConvRun r;
  static_cast<ConvShape&>(r) = convShape(x.dims, y.dims, s.K, s.Cg, s.G, s.win, s.layer);
  r.x = x.buf;
  r.y = writeIo(l, a, 0);
  r.res = readIo(l, a, 1, "residual");
  if (r.res.buf)
    CLRT_CHECK(a.inputs[1].dims == y.dims, kRuntime, "conv layer '", s.layer, "': residual ",
               dimsToString(a.inputs[1].dims), " must have the output shape ",
               dimsToString(y.dims));
  return r;
}

// Quantized weights [K][Cg*kh*kw], per-channel dequantize factors s_in * s_w[k] and the bias.
struct QuantConv {
  QuantRows w;
  std::vector<float> mult, bias;
};

inline QuantConv quantizeConv(const ir::Layer& l, const ConvSpec& s) {
  const int64_t taps = s.Cg * s.win.kh * s.win.kw;
  QuantConv qc;
  qc.w = quantizeRows(l.weights.at("kernel").asFloats(), s.K, taps, l.name);
  qc.mult.resize(static_cast<size_t>(s.K));
  for (int64_t k = 0; k < s.K; ++k) qc.mult[k] = s.s_in * qc.w.scale[k];
  qc.bias = s.has_bias ? l.weights.at("bias").asFloats()
                       : std::vector<float>(static_cast<size_t>(s.K), 0.0f);
  return qc;
}

class Int8ConvBase : public Kernel {
 public:
  Int8ConvBase(const ir::Layer& l, ocl::Device& dev)
      : l_(attrsOf(l)), s_(specOf(l)), wg0_(dev.info().is_gpu ? 64 : 8) {}

 protected:
  cl_int i(int64_t v) const { return kint(v, s_.layer); }
  // w_, mult_, bias_ for the register-blocked kernels (conv_i8_direct and kin): the quantized
  // weights as floats (their products sum exactly in float FMAs), packed
  // [G][Kg/KB][Cg][kh][kw][KB] (zero padded) for one 16-channel load per tap; mult and bias
  // packed [G][Kg/KB][KB] alike.
  void uploadBlocked(ocl::Device& dev, const QuantConv& qc) {
    const int64_t Kg = s_.K / s_.G, nkb = (Kg + kKB - 1) / kKB,
                  taps = s_.Cg * s_.win.kh * s_.win.kw;
    std::vector<float> wp(static_cast<size_t>(s_.G * nkb * taps * kKB), 0.0f);
    std::vector<float> mp(static_cast<size_t>(s_.G * nkb * kKB), 0.0f), bp(mp.size(), 0.0f);
    for (int64_t g = 0; g < s_.G; ++g)
      for (int64_t k = 0; k < Kg; ++k) {
        const int64_t blk = g * nkb + k / kKB, kk = k % kKB, kc = g * Kg + k;
        for (int64_t t = 0; t < taps; ++t) wp[(blk * taps + t) * kKB + kk] = qc.w.q[kc * taps + t];
        mp[blk * kKB + kk] = qc.mult[kc];
        bp[blk * kKB + kk] = qc.bias[kc];
      }
    w_ = ocl::MemHandle(uploadFloats(dev, wp));
    mult_ = ocl::MemHandle(uploadFloats(dev, mp));
    bias_ = ocl::MemHandle(uploadFloats(dev, bp));
  }
  ir::Layer l_;
  ConvSpec s_;
  size_t wg0_;
  std::mutex mu_;  // kernel arguments are per cl_kernel: one enqueue at a time
  ocl::KernelHandle k_;
  ocl::MemHandle w_, mult_, bias_, taps_;
};

}  // namespace clrt::tactics::int8
