// Builders for composite importers: each adds one internal layer to the node being imported and
// returns its output tensor id (ids only: a layer reference dies with the next layer added).
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "clrt/ir/einsum.h"
#include "clrt/onnx/importer.h"

namespace clrt::onnx::compose {

inline int binary(ImportContext& c, const char* op, int a, int b) {
  ir::Layer& l = c.addInternal(ir::LayerKind::kELEMENTWISE, {a, b});
  l.attrs.set("op", op);
  return l.outputs[0];
}

// A one-input layer with one ints attribute (shape, perm, axes).
inline int withAttr(ImportContext& c, ir::LayerKind kind, int x, const char* key,
                    std::vector<int64_t> v) {
  ir::Layer& l = c.addInternal(kind, {x});
  l.attrs.set(key, std::move(v));
  return l.outputs[0];
}

// x[start:end:step] along `axis`.
inline int slice(ImportContext& c, int x, int64_t axis, int64_t start, int64_t end,
                 int64_t step = 1) {
  ir::Layer& l = c.addInternal(ir::LayerKind::kSLICE, {x});
  l.attrs.set("starts", std::vector<int64_t>{start});
  l.attrs.set("ends", std::vector<int64_t>{end});
  l.attrs.set("axes", std::vector<int64_t>{axis});
  l.attrs.set("steps", std::vector<int64_t>{step});
  return l.outputs[0];
}

// The emit of an ir lowering (ir/einsum.h, ir/one_hot.h): layers internal to the node.
inline ir::EinsumEmit emitter(ImportContext& c) {
  return [&c](ir::LayerKind kind, const std::vector<int>& ins,
              const std::function<void(ir::Layer&)>& set) {
    ir::Layer& l = c.addInternal(kind, ins);
    if (set) set(l);
    return l.outputs[0];
  };
}

inline int concat(ImportContext& c, const std::vector<int>& xs, int64_t axis) {
  ir::Layer& l = c.addInternal(ir::LayerKind::kCONCATENATION, xs);
  l.attrs.set("axis", axis);
  return l.outputs[0];
}

inline int floatScalar(ImportContext& c, float v) {
  return c.constantTensor(HostTensor::fromFloats({}, {v}));
}

inline int int64Scalar(ImportContext& c, int64_t v) {
  return c.constantTensor(HostTensor::scalarInt64(v));
}

// The value range of an integer quantized type; false for the float ones (FP8, FP4).
inline bool integerRange(DataType t, double& lo, double& hi) {
  switch (t) {
    case DataType::kINT8:
      lo = -128, hi = 127;
      return true;
    case DataType::kUINT8:
      lo = 0, hi = 255;
      return true;
    case DataType::kINT16:
      lo = -32768, hi = 32767;
      return true;
    case DataType::kUINT16:
      lo = 0, hi = 65535;
      return true;
    case DataType::kINT4:
      lo = -8, hi = 7;
      return true;
    case DataType::kUINT4:
      lo = 0, hi = 15;
      return true;
    case DataType::kINT2:
      lo = -2, hi = 1;
      return true;
    case DataType::kUINT2:
      lo = 0, hi = 3;
      return true;
    default:
      return false;
  }
}

// round(x) half to even (ONNX's), + zp (a FLOAT tensor, or -1), saturated to the integer type t:
// the node's output `output`, held in t's compute dtype with t recorded as its ONNX dtype.
inline void quantizedOutput(ImportContext& c, int x, int zp, DataType t, int output = 0) {
  double lo = 0, hi = 0;
  integerRange(t, lo, hi);
  ir::Layer& r = c.addInternal(ir::LayerKind::kUNARY, {x});
  r.attrs.set("op", "ROUND");
  int q = r.outputs[0];
  if (zp >= 0) q = binary(c, "SUM", q, zp);
  ir::Layer& clip = c.addInternal(ir::LayerKind::kACTIVATION, {q});
  clip.attrs.set("type", "CLIP");
  clip.attrs.set("alpha", lo);
  clip.attrs.set("beta", hi);
  const int clipped = clip.outputs[0];
  const DataType wide = computeDtype(t);
  c.addMapped(ir::LayerKind::kCAST, {clipped}, {output})
      .attrs.set("to", static_cast<int64_t>(wide));
  if (wide != t) c.setLogicalDtype(output, t);
}

}  // namespace clrt::onnx::compose
