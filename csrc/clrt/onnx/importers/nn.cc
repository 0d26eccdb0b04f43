// Neural-network importers: Conv, BatchNormalization, pooling, Gemm, MatMul, Softmax,
// LogSoftmax, LayerNormalization and the Reduce family.
#include <cmath>

#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;

void reg(const char* op, int since, Importer f) { importerTable()[op].push_back({since, f}); }

// Spatial attrs shared by Conv and pooling: window rank from the kernel, ONNX pads order.
void spatialAttrs(ImportContext& c, ir::Layer& l, size_t rank) {
  CLRT_CHECK(rank == 1 || rank == 2, kUnsupported, rank,
             "-D windows are not supported (1-D and 2-D are)");
  l.attrs.set("strides", c.attrInts("strides", std::vector<int64_t>(rank, 1)));
  l.attrs.set("dilations", c.attrInts("dilations", std::vector<int64_t>(rank, 1)));
  l.attrs.set("pads", c.attrInts("pads", std::vector<int64_t>(2 * rank, 0)));
  l.attrs.set("auto_pad", c.attrString("auto_pad", "NOTSET"));
}

void conv(ImportContext& c) {
  const HostTensor& w = c.requireConstant(1, "Conv weight W");
  const int x = c.input(0);
  auto& l = c.add(LayerKind::kCONVOLUTION, {x});
  l.weights["kernel"] = w.castTo(DataType::kFLOAT);
  if (c.hasInput(2))
    l.weights["bias"] = c.requireConstant(2, "Conv bias B").castTo(DataType::kFLOAT);
  l.attrs.set("group", c.attrInt("group", 1));
  CLRT_CHECK(w.dims.size() >= 3, kParse, "weight W must have rank >= 3, got ",
             dimsToString(w.dims));
  spatialAttrs(c, l, w.dims.size() - 2);
}

void batchNorm(ImportContext& c) {
  CLRT_CHECK(c.numOutputs() <= 1, kUnsupported,
             "training-mode outputs (running mean/var) are not supported");
  auto g = c.requireConstant(1, "scale").asFloats(), b = c.requireConstant(2, "B").asFloats();
  auto m = c.requireConstant(3, "mean").asFloats(), v = c.requireConstant(4, "var").asFloats();
  const size_t n = g.size();
  CLRT_CHECK(b.size() == n && m.size() == n && v.size() == n, kParse,
             "scale, B, mean and var must have the same length");
  const float eps = c.attrFloat("epsilon", 1e-5f);
  std::vector<float> scale(n), shift(n);
  for (size_t i = 0; i < n; ++i) {
    scale[i] = g[i] / std::sqrt(v[i] + eps);
    shift[i] = b[i] - m[i] * scale[i];
  }
  auto& l = c.add(LayerKind::kSCALE, {c.input(0)});
  l.weights["scale"] = HostTensor::fromFloats({int64_t(n)}, scale);
  l.weights["shift"] = HostTensor::fromFloats({int64_t(n)}, shift);
  l.attrs.set("channel_axis", int64_t{1});
}

void pool(ImportContext& c, const char* type) {
  CLRT_CHECK(c.numOutputs() <= 1, kUnsupported, "the Indices output is not supported");
  const auto k = c.attrInts("kernel_shape");
  CLRT_CHECK(!k.empty(), kParse, "kernel_shape is required");
  auto& l = c.add(LayerKind::kPOOLING, {c.input(0)});
  l.attrs.set("type", type);
  l.attrs.set("window", k);
  spatialAttrs(c, l, k.size());
  l.attrs.set("ceil_mode", c.attrInt("ceil_mode", 0));
  l.attrs.set("count_include_pad", c.attrInt("count_include_pad", 0));
}

void globalPool(ImportContext& c, const char* type) {
  auto& l = c.add(LayerKind::kPOOLING, {c.input(0)});
  l.attrs.set("type", type);
  l.attrs.set("global", int64_t{1});
}

void gemm(ImportContext& c) {
  const float alpha = c.attrFloat("alpha", 1.f), beta = c.attrFloat("beta", 1.f);
  const bool tA = c.attrInt("transA", 0), tB = c.attrInt("transB", 0);
  std::vector<int> ins{c.input(0)};
  HostTensor kernel;
  int64_t N = -1;
  if (const HostTensor* b = c.constant(1)) {
    kernel = b->castTo(DataType::kFLOAT);
    CLRT_CHECK(kernel.dims.size() == 2, kParse, "B must be 2-D, got ", dimsToString(kernel.dims));
    for (int64_t i = 0; i < kernel.numel(); ++i) kernel.f32()[i] *= alpha;
    N = tB ? kernel.dims[0] : kernel.dims[1];
  } else {
    CLRT_CHECK(alpha == 1.f, kUnsupported, "alpha != 1 with a non-constant B");
    ins.push_back(c.input(1));
  }
  const HostTensor* C = c.hasInput(2) ? c.constant(2) : nullptr;
  const bool cAsBias = C && N >= 0 && (C->numel() == 1 || (C->numel() == N && C->dims.back() == N));
  auto& l = c.add(LayerKind::kMATRIX_MULTIPLY, ins, c.hasInput(2) && !cAsBias);
  l.attrs.set("trans_a", int64_t{tA});
  l.attrs.set("trans_b", int64_t{tB});
  if (!kernel.empty()) l.weights["kernel"] = kernel;
  if (cAsBias) {
    auto v = C->asFloats();
    std::vector<float> bias(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) bias[i] = beta * v[v.size() == 1 ? 0 : i];
    l.weights["bias"] = HostTensor::fromFloats({N}, bias);
    return;
  }
  if (!c.hasInput(2)) return;
  const int mm = l.outputs[0];
  int cin = c.input(2);
  if (beta != 1.f) {
    CLRT_CHECK(C, kUnsupported, "beta != 1 with a non-constant C");
    HostTensor scaled = C->castTo(DataType::kFLOAT);
    for (int64_t i = 0; i < scaled.numel(); ++i) scaled.f32()[i] *= beta;
    auto& k = c.add(LayerKind::kCONSTANT, {}, true);
    k.weights["value"] = scaled;
    cin = k.outputs[0];
  }
  c.add(LayerKind::kELEMENTWISE, {mm, cin}).attrs.set("op", "SUM");
}

void matmul(ImportContext& c) {
  if (const HostTensor* b = c.constant(1)) {
    auto& l = c.add(LayerKind::kMATRIX_MULTIPLY, {c.input(0)});
    l.weights["kernel"] = b->castTo(DataType::kFLOAT);
    return;
  }
  c.add(LayerKind::kMATRIX_MULTIPLY, {c.input(0), c.input(1)});
}

void softmax(ImportContext& c, LayerKind kind, bool legacy) {
  const int x = c.input(0);
  const int64_t rank = static_cast<int64_t>(c.tensor(x).dims.size());
  int64_t axis = c.attrInt("axis", legacy ? 1 : -1);
  axis = normalizeAxis(axis, rank, "Softmax");
  if (!legacy || axis == rank - 1) {
    c.add(kind, {x}).attrs.set("axis", axis);
    return;
  }
  // Before opset 13 the input is flattened to 2-D at `axis`, normalised per row, reshaped back.
  auto& f = c.add(LayerKind::kFLATTEN, {x}, true);
  f.attrs.set("axis", axis);
  const int flat = f.outputs[0];
  auto& s = c.add(kind, {flat}, true);
  s.attrs.set("axis", int64_t{1});
  const int sm = s.outputs[0];
  const int shape = c.add(LayerKind::kSHAPE, {x}, true).outputs[0];
  c.add(LayerKind::kRESHAPE, {sm, shape});
}

void layerNorm(ImportContext& c) {
  CLRT_CHECK(c.numOutputs() <= 1, kUnsupported, "the Mean and InvStdDev outputs are not supported");
  auto& l = c.add(LayerKind::kNORMALIZATION, {c.input(0)});
  l.weights["scale"] = c.requireConstant(1, "LayerNormalization Scale").castTo(DataType::kFLOAT);
  if (c.hasInput(2))
    l.weights["bias"] = c.requireConstant(2, "LayerNormalization B").castTo(DataType::kFLOAT);
  l.attrs.set("axis", c.attrInt("axis", -1));
  l.attrs.set("epsilon", static_cast<double>(c.attrFloat("epsilon", 1e-5f)));
}

// Reduce ops take axes as an attribute up to `inputSince`, then as an optional input.
void regReduce(const char* op, const char* kind, int inputSince) {
  auto imp = [=](ImportContext& c, bool axesInput) {
    std::vector<int64_t> axes;
    if (axesInput) {
      if (c.hasInput(1)) axes = c.requireConstant(1, "axes").asInt64();
    } else {
      axes = c.attrInts("axes");
    }
    auto& l = c.add(LayerKind::kREDUCE, {c.input(0)});
    l.attrs.set("op", kind);
    l.attrs.set("axes", axes);
    l.attrs.set("keepdims", c.attrInt("keepdims", 1));
    l.attrs.set("noop_with_empty_axes", c.attrInt("noop_with_empty_axes", 0));
  };
  reg(op, 1, [=](ImportContext& c) { imp(c, false); });
  reg(op, inputSince, [=](ImportContext& c) { imp(c, true); });
}

}  // namespace

void registerNnImporters() {
  reg("Conv", 1, conv);
  reg("BatchNormalization", 1, batchNorm);
  reg("MaxPool", 1, [](ImportContext& c) { pool(c, "MAX"); });
  reg("AveragePool", 1, [](ImportContext& c) { pool(c, "AVERAGE"); });
  reg("GlobalAveragePool", 1, [](ImportContext& c) { globalPool(c, "AVERAGE"); });
  reg("GlobalMaxPool", 1, [](ImportContext& c) { globalPool(c, "MAX"); });
  reg("Gemm", 1, gemm);
  reg("MatMul", 1, matmul);
  reg("Softmax", 1, [](ImportContext& c) { softmax(c, LayerKind::kSOFTMAX, true); });
  reg("Softmax", 13, [](ImportContext& c) { softmax(c, LayerKind::kSOFTMAX, false); });
  reg("LogSoftmax", 1, [](ImportContext& c) { softmax(c, LayerKind::kLOG_SOFTMAX, true); });
  reg("LogSoftmax", 13, [](ImportContext& c) { softmax(c, LayerKind::kLOG_SOFTMAX, false); });
  reg("LayerNormalization", 17, layerNorm);
  regReduce("ReduceMean", "MEAN", 18);
  regReduce("ReduceSum", "SUM", 13);
  regReduce("ReduceMax", "MAX", 18);
  regReduce("ReduceMin", "MIN", 18);
  regReduce("ReduceProd", "PROD", 18);
  regReduce("ReduceL2", "L2", 18);
  regReduce("ReduceSumSquare", "SUM_SQUARE", 18);
}

}  // namespace clrt::onnx
