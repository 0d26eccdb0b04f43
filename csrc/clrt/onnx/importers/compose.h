// Builders for composite importers: each adds one internal layer to the node being imported and
// returns its output tensor id (ids only: a layer reference dies with the next layer added).
#pragma once

#include <utility>
#include <vector>

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

}  // namespace clrt::onnx::compose
