// Spectral importers: DFT (17, 20), STFT (17) and MelWeightMatrix (17). DFT is a MATRIX_MULTIPLY
// of the signal (its axis moved last) with constant cosine and sine matrices; STFT is a strided
// 1-D CONVOLUTION whose kernels are the window times those matrices' rows; MelWeightMatrix is a
// constant computed here. Lengths must be known when the model is imported.
#include <cmath>
#include <vector>

#include "clrt/onnx/importer.h"
#include "clrt/onnx/importers/compose.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;
using namespace compose;

constexpr int64_t kMaxLength = int64_t{1} << 14;  // a transform's length
constexpr int64_t kMaxMatrix = int64_t{1} << 24;  // elements of one transform matrix

// A one-value integer constant (a length, a count or a rate).
int64_t oneInt(ImportContext& c, int i, const char* what) {
  const std::vector<int64_t> v = c.constInts(i, what);
  if (v.size() != 1) reject(ErrorKind::kParse, str(what, " must hold one value"));
  return v[0];
}

int64_t knownLength(ImportContext& c, int i, const char* what) {
  const int64_t n = oneInt(c, i, what);
  if (n < 1 || n > kMaxLength)
    reject(ErrorKind::kUnsupported,
           str(what, " is ", n, "; clrt computes transforms of 1 to ", kMaxLength, " points"));
  return n;
}

// The transform matrices [n_in, n_out] of one output part (re or im) from one input part, as
// sum over j of x[j] * m[j][k]. Forward: e^{-i theta}; inverse: e^{+i theta} / L; theta =
// 2 pi j k / L. `real_out` (the inverse of a one-sided spectrum): x[k] = sum over the M bins j of
// w_j (Re X_j cos - Im X_j sin) / L, w_j = 2 except the DC bin and, for even L, the last.
struct Parts {
  HostTensor rr, ir, ri, ii;  // input part -> output part: re->re, im->re, re->im, im->im
};

Parts dftMatrices(int64_t L, int64_t nIn, int64_t nOut, bool inverse, bool realOut) {
  Parts p;
  for (HostTensor* t : {&p.rr, &p.ir, &p.ri, &p.ii}) *t = HostTensor(DataType::kFLOAT, {nIn, nOut});
  const double scale = inverse ? 1.0 / static_cast<double>(L) : 1.0;
  for (int64_t j = 0; j < nIn; ++j)
    for (int64_t k = 0; k < nOut; ++k) {
      // j * k mod L keeps the angle small (exact phase for long transforms).
      const double theta = 2.0 * M_PI * static_cast<double>((j * k) % L) / static_cast<double>(L);
      const double c = std::cos(theta) * scale, s = std::sin(theta) * scale;
      const int64_t at = j * nOut + k;
      if (realOut) {
        const double w = (j == 0 || (L % 2 == 0 && j == L / 2)) ? 1.0 : 2.0;
        p.rr.f32()[at] = static_cast<float>(w * c);
        p.ir.f32()[at] = static_cast<float>(-w * s);
      } else if (inverse) {
        p.rr.f32()[at] = static_cast<float>(c), p.ir.f32()[at] = static_cast<float>(-s);
        p.ri.f32()[at] = static_cast<float>(s), p.ii.f32()[at] = static_cast<float>(c);
      } else {
        p.rr.f32()[at] = static_cast<float>(c), p.ir.f32()[at] = static_cast<float>(s);
        p.ri.f32()[at] = static_cast<float>(-s), p.ii.f32()[at] = static_cast<float>(c);
      }
    }
  return p;
}

int matmulConst(ImportContext& c, int x, HostTensor m) {
  ir::Layer& l = c.addInternal(LayerKind::kMATRIX_MULTIPLY, {x});
  l.weights["kernel"] = std::move(m);
  return l.outputs[0];
}

void importDft(ImportContext& c) {
  const bool v17 = schemaVersion("DFT", c.opset()) < 20;
  const Dims xd = c.inputDims(0);
  const int64_t r = static_cast<int64_t>(xd.size());
  if (r < 2 || (xd.back() != 1 && xd.back() != 2))
    reject(ErrorKind::kParse, str("input ", dimsToString(xd),
                                  " must end in a dim of 1 (real) or 2 (real, imaginary)"));
  int64_t axis = v17 ? c.attrInt("axis", 1) : -2;
  if (!v17 && c.hasInput(2)) axis = c.constInts(2, "DFT axis").at(0);
  axis = normalizeAxis(axis, r, "the DFT axis");
  if (axis == r - 1)
    reject(ErrorKind::kParse, "the DFT axis must not be the last (real, imaginary) dim");
  const int64_t n = xd[axis];
  if (n < 1)
    reject(ErrorKind::kUnsupported, str("the DFT axis must have a static length, input "
                                        "is ",
                                        dimsToString(xd)));
  const bool inverse = c.attrFlag("inverse", 0), onesided = c.attrFlag("onesided", 0);
  const bool realOut = inverse && onesided;
  const bool complexIn = xd.back() == 2;
  if (onesided && !inverse && complexIn)
    reject(ErrorKind::kParse, "onesided forward DFT needs a real input (last dim 1)");
  int64_t L = realOut ? 2 * (n - 1) : n;
  if (c.hasInput(1)) L = knownLength(c, 1, "dft_length");
  if (L < 1 || L > kMaxLength || n > kMaxLength)
    reject(ErrorKind::kUnsupported,
           str("a DFT of ", L, " points over an axis of ", n, ": clrt computes 1 to ", kMaxLength));
  // Input bins the transform reads (the signal cropped or zero-padded to them) and outputs.
  const int64_t nIn = realOut ? L / 2 + 1 : L;
  const int64_t nOut = (onesided && !inverse) ? L / 2 + 1 : L;
  if (nIn * nOut > kMaxMatrix)
    reject(ErrorKind::kUnsupported,
           str("a DFT of ", L, " points: its ", nIn, " x ", nOut,
               " matrices pass clrt's limit of 2^24 elements (about 4,096 points)"));
  const Parts m = dftMatrices(L, nIn, nOut, inverse, realOut);

  // Each part of x with the transform axis last: [..., n] -> cropped or padded to [..., nIn].
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < r - 1; ++d)
    if (d != axis) perm.push_back(d);
  perm.push_back(axis);
  auto part = [&](int64_t which) {
    int t = slice(c, c.input(0), r - 1, which, which + 1);
    t = withAttr(c, LayerKind::kSQUEEZE, t, "axes", {r - 1});
    if (axis != r - 2) t = withAttr(c, LayerKind::kTRANSPOSE, t, "perm", perm);
    if (n > nIn) return slice(c, t, r - 2, 0, nIn);
    if (n < nIn) {
      std::vector<int64_t> pads(static_cast<size_t>(2 * (r - 1)), 0);
      pads.back() = nIn - n;
      ir::Layer& p = c.addInternal(LayerKind::kPADDING, {t});
      p.attrs.set("pads", pads);
      p.attrs.set("mode", "constant");
      p.attrs.set("value", 0.0);
      return p.outputs[0];
    }
    return t;
  };
  const int re = part(0), im = complexIn ? part(1) : -1;
  auto combine = [&](const HostTensor& fromRe, const HostTensor& fromIm) {
    const int a = matmulConst(c, re, fromRe);
    return im < 0 ? a : binary(c, "SUM", a, matmulConst(c, im, fromIm));
  };
  std::vector<int> outs{combine(m.rr, m.ir)};
  if (!realOut) outs.push_back(combine(m.ri, m.ii));
  for (int& o : outs) o = withAttr(c, LayerKind::kUNSQUEEZE, o, "axes", {r - 1});
  int y = outs.size() == 1 ? outs[0] : concat(c, outs, r - 1);
  // Back to the input's order: the transform axis at `axis`, the (re, im) dim last.
  std::vector<int64_t> back(static_cast<size_t>(r));
  for (int64_t d = 0; d < r - 1; ++d) back[perm[d]] = d;
  back[r - 1] = r - 1;
  if (axis != r - 2)
    c.add(LayerKind::kTRANSPOSE, {y}).attrs.set("perm", back);
  else
    c.add(LayerKind::kIDENTITY, {y});
}

// STFT of signal [batch, length, 1 or 2]: frames of frame_length every frame_step samples,
// each multiplied by the window and transformed: one 1-D CONVOLUTION with stride frame_step whose
// 2K output channels are the real and imaginary bins (kernels: window x cosine / sine rows).
void importStft(ImportContext& c) {
  const Dims xd = c.inputDims(0);
  if (xd.size() != 3 || (xd[2] != 1 && xd[2] != 2) || xd[1] < 1)
    reject(ErrorKind::kUnsupported, str("signal ", dimsToString(xd),
                                        " must be [batch, length, 1 or 2] with a static length"));
  const int64_t step = knownLength(c, 1, "frame_step");
  std::vector<float> window;
  if (c.hasInput(2)) {
    const HostTensor& w = c.requireConstant(2, "STFT window");
    if (w.dims.size() != 1) reject(ErrorKind::kParse, "window must be 1-D");
    window = w.asFloats();
  }
  int64_t L = c.hasInput(3) ? knownLength(c, 3, "frame_length")
                            : (window.empty() ? xd[1] : static_cast<int64_t>(window.size()));
  if (!window.empty() && static_cast<int64_t>(window.size()) != L)
    reject(ErrorKind::kParse, str("window has ", window.size(), " values but frame_length is ", L));
  if (window.empty()) window.assign(static_cast<size_t>(L), 1.0f);
  if (L > xd[1] || L > kMaxLength)
    reject(ErrorKind::kUnsupported,
           str("frame_length ", L, " for a signal of ", xd[1], " samples: frames must fit"));
  const bool onesided = c.attrFlag("onesided", 1);
  const int64_t K = onesided ? L / 2 + 1 : L, C = xd[2];
  if (L * K > kMaxMatrix)
    reject(ErrorKind::kUnsupported,
           str("frame_length ", L, ": the transform's ", L, " x ", K,
               " matrix passes clrt's limit of 2^24 elements (about 4,096 points)"));
  const Parts m = dftMatrices(L, L, K, false, false);
  // kernel [2K, C, 1, L]: out channel k (re) and K + k (im); in channel 0 re, 1 im.
  HostTensor kernel(DataType::kFLOAT, {2 * K, C, 1, L});
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < L; ++j) {
      const float w = window[j];
      const int64_t at = j * K + k;
      kernel.f32()[(k * C + 0) * L + j] = w * m.rr.f32()[at];
      kernel.f32()[((K + k) * C + 0) * L + j] = w * m.ri.f32()[at];
      if (C == 2) {
        kernel.f32()[(k * C + 1) * L + j] = w * m.ir.f32()[at];
        kernel.f32()[((K + k) * C + 1) * L + j] = w * m.ii.f32()[at];
      }
    }
  const int x = withAttr(c, LayerKind::kTRANSPOSE, c.input(0), "perm", {0, 2, 1});  // [B, C, len]
  ir::Layer& conv = c.addInternal(LayerKind::kCONVOLUTION, {x});
  conv.weights["kernel"] = std::move(kernel);
  conv.attrs.set("group", int64_t{1});
  conv.attrs.set("strides", std::vector<int64_t>{1, step});
  conv.attrs.set("dilations", std::vector<int64_t>{1, 1});
  conv.attrs.set("pads", std::vector<int64_t>{0, 0, 0, 0});
  conv.attrs.set("auto_pad", "NOTSET");
  const int y = conv.outputs[0];  // [B, 2K, frames]
  const int split = withAttr(c, LayerKind::kRESHAPE, y, "shape", {0, 2, K, -1});
  c.add(LayerKind::kTRANSPOSE, {split}).attrs.set("perm", std::vector<int64_t>{0, 3, 2, 1});
}

// MelWeightMatrix [dft_length / 2 + 1, num_mel_bins]: triangular filters with peaks of 1 at bins
// equally spaced on the mel scale (mel(f) = 2595 log10(1 + f / 700)), computed as ONNX's reference
// computes them; every input must be a constant.
void importMelWeightMatrix(ImportContext& c) {
  const int64_t mels = oneInt(c, 0, "num_mel_bins"), L = oneInt(c, 1, "dft_length");
  const int64_t rate = oneInt(c, 2, "sample_rate");
  const double lo = c.constScalar(3, "lower_edge_hertz"), hi = c.constScalar(4, "upper_edge_hertz");
  if (mels < 1 || mels > kMaxLength || L < 1 || L > kMaxLength || rate < 1 || !(lo < hi))
    reject(ErrorKind::kParse,
           str("num_mel_bins ", mels, ", dft_length ", L, ", sample_rate ", rate, " and edges ", lo,
               " to ", hi, ": expected positive counts up to ", kMaxLength, " and lower < upper"));
  const int64_t bins = L / 2 + 1;
  if (bins * mels > kMaxMatrix)
    reject(ErrorKind::kUnsupported, str("a ", bins, " x ", mels,
                                        " MelWeightMatrix passes clrt's "
                                        "limit of 2^24 elements"));
  auto mel = [](double f) { return 2595.0 * std::log1p(f / 700.0) / std::log(10.0); };
  const double lowMel = mel(lo), step = (mel(hi) - lowMel) / static_cast<double>(mels + 2);
  std::vector<int64_t> edge(static_cast<size_t>(mels + 2));
  for (int64_t i = 0; i < mels + 2; ++i) {
    const double f =
        700.0 * std::expm1((static_cast<double>(i) * step + lowMel) / 2595.0 * std::log(10.0));
    edge[i] = static_cast<int64_t>(
        std::floor(static_cast<double>(L + 1) * f / static_cast<double>(rate)));
  }
  std::vector<float> w(static_cast<size_t>(bins * mels), 0.0f);
  auto set = [&](int64_t j, int64_t i, double v) {
    if (j < 0 || j >= bins)
      reject(ErrorKind::kParse, str("upper_edge_hertz ", hi,
                                    " lies above the Nyquist frequency "
                                    "of sample_rate ",
                                    rate, " (filter bin ", j, " of ", bins, ")"));
    w[j * mels + i] = static_cast<float>(v);
  };
  for (int64_t i = 0; i < mels; ++i) {
    const int64_t a = edge[i], b = edge[i + 1], e = edge[i + 2];
    if (b == a)
      set(b, i, 1.0);
    else
      for (int64_t j = a; j <= b; ++j)
        set(j, i, static_cast<double>(j - a) / static_cast<double>(b - a));
    if (e > b)
      for (int64_t j = b; j < e; ++j)
        set(j, i, static_cast<double>(e - j) / static_cast<double>(e - b));
  }
  HostTensor out = HostTensor::fromFloats({bins, mels}, w);
  const int64_t dt = c.attrInt("output_datatype", ::onnx::TensorProto::FLOAT);
  c.defineConstant(0, out.castTo(dtypeFromOnnx(static_cast<int>(dt), "output_datatype")));
}

}  // namespace

void registerSpectralImporters() {
  registerImporter("DFT", {17, 20}, importDft);
  registerImporter("STFT", {17}, importStft);
  registerImporter("MelWeightMatrix", {17}, importMelWeightMatrix);
}

}  // namespace clrt::onnx
