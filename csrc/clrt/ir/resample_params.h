// Geometry of the resampling kinds (RESIZE, PADDING) from their attrs or, where ONNX computes
// them at run time, from their host-known shape operands: one reader for shape inference and
// the tactics.
#pragma once

#include <vector>

#include "clrt/ir/shape_inference.h"

namespace clrt::ir {

// RESIZE's geometry over every dim: scales (empty when sizes decide alone), sizes (empty when
// scales decide) and roi (starts then ends; empty unless tf_crop_and_resize). From the attrs,
// or, when computed at run time, from inputs 1 (roi), 2 (scales) and 3 (sizes) in ONNX's
// layout over attr axes, with attr policy (keep_aspect_ratio_policy). False while those values
// are not known on the host; throws Error(kValue) naming the layer when they do not fit.
struct ResizeGeometry {
  std::vector<double> scales, roi;
  std::vector<int64_t> sizes;
};
bool resizeGeometry(const Layer& layer, const std::vector<TensorInfo>& inputs, ResizeGeometry* g);

// PADDING's pads over every dim (begins then ends): the "pads" attr, or, when they are computed
// at run time, input 1 (ONNX pads) over input 2 (ONNX axes, optional). False while those
// values are not known on the host; throws Error(kValue) naming the layer when they do not fit
// rank `rank`.
bool paddingPads(const Layer& layer, const std::vector<TensorInfo>& inputs, size_t rank,
                 std::vector<int64_t>* pads);

}  // namespace clrt::ir
