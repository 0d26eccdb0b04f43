// Sampling importers: GridSample (kGRID_SAMPLE), DeformConv (GridSample and MatMul layers),
// RoiAlign (kROI_ALIGN).
#include <cmath>

#include "clrt/ir/limits.h"
#include "clrt/onnx/importer.h"
#include "clrt/onnx/importers/compose.h"

namespace clrt::onnx {
namespace {

// Version 16 spells the modes bilinear / bicubic and samples 4-D inputs only; 20 renames them
// linear / cubic and adds 3-D (5-D inputs) for nearest and linear.
void importGridSample(ImportContext& c) {
  const bool v16 = schemaVersion("GridSample", c.opset()) < 20;
  const std::string m = c.attrString("mode", v16 ? "bilinear" : "linear");
  const std::string mode = m == "nearest"                       ? "NEAREST"
                           : m == (v16 ? "bilinear" : "linear") ? "LINEAR"
                           : m == (v16 ? "bicubic" : "cubic")   ? "CUBIC"
                                                                : "";
  if (mode.empty())
    reject(ErrorKind::kParse, "attribute 'mode' is '" + m + "'; expected nearest, " +
                                  (v16 ? "bilinear or bicubic" : "linear or cubic"));
  const std::string pm = c.attrString("padding_mode", "zeros");
  const std::string padding = pm == "zeros"        ? "ZEROS"
                              : pm == "border"     ? "BORDER"
                              : pm == "reflection" ? "REFLECTION"
                                                   : "";
  if (padding.empty())
    reject(ErrorKind::kParse,
           "attribute 'padding_mode' is '" + pm + "'; expected zeros, border or reflection");
  const size_t rank = c.inputDims(0).size();
  if (rank != 4 && !(rank == 5 && !v16))
    reject(ErrorKind::kUnsupported, str("input X has rank ", rank, "; GridSample-", v16 ? 16 : 20,
                                        " samples ", v16 ? "4-D inputs" : "4-D or 5-D inputs"));
  if (rank == 5 && mode == "CUBIC")
    reject(ErrorKind::kUnsupported, "mode 'cubic' samples 4-D inputs only; X is 5-D");
  ir::Layer& l = c.add(ir::LayerKind::kGRID_SAMPLE, {c.input(0), c.input(1)});
  l.attrs.set("mode", mode);
  l.attrs.set("padding", padding);
  l.attrs.set("align_corners", c.attrFlag("align_corners", 0));
}

// Kernel sizes, strides, dilations, pads and image sizes above this are refused (their products
// must not overflow).
constexpr int64_t kMaxExtent = int64_t{1} << 24;

// DeformConv (2-D) as the ONNX reference computes it: every input channel is sampled bilinearly
// (zeros outside, the corners' grid as GridSample's align_corners=1) at each kernel tap moved by
// its offset, scaled by the mask, and the samples are contracted with the weights per group:
//   cols[n, c, k, i, j] = X[n, c] at (i*sh - pt + kh*dh + dy, j*sw - pl + kw*dw + dx), k = (kh, kw)
//   y[n, o, i, j] = sum over c in o's group, k of W[o, c, k] * mask[n, og(c), k, i, j] * cols
// One GridSample per offset group over a grid of [N, K*oH, oW, 2], then one batched MatMul.
void importDeformConv(ImportContext& c) {
  using namespace compose;
  using L = ir::LayerKind;
  const Dims xd = c.inputDims(0), wd = c.inputDims(1), od = c.inputDims(2);
  if (xd.size() != 4 || wd.size() != 4 || od.size() != 4)
    reject(ErrorKind::kUnsupported,
           str("X ", dimsToString(xd), ", W ", dimsToString(wd), " and offset ", dimsToString(od),
               ": clrt's DeformConv takes 4-D X, W and offset (2 spatial dims)"));
  for (size_t i = 1; i < 4; ++i)
    if (xd[i] < 0 || wd[i] < 0 || (i >= 2 && od[i] < 0))
      reject(ErrorKind::kUnsupported,
             str("X ", dimsToString(xd), ", W ", dimsToString(wd), " and offset ", dimsToString(od),
                 " need known channel and spatial dims (the batch may vary)"),
             "give the model static image sizes (onnxsim --overwrite-input-shape)");
  const int64_t C = xd[1], H = xd[2], W = xd[3], oc = wd[0] < 0 ? -1 : wd[0];
  const int64_t g = c.attrInt("group", 1), og = c.attrInt("offset_group", 1);
  const std::vector<int64_t> ks = c.attrInts("kernel_shape", {wd[2], wd[3]});
  const std::vector<int64_t> st = c.attrInts("strides", {1, 1});
  const std::vector<int64_t> dl = c.attrInts("dilations", {1, 1});
  const std::vector<int64_t> pd = c.attrInts("pads", {0, 0, 0, 0});
  if (ks.size() != 2 || st.size() != 2 || dl.size() != 2 || pd.size() != 4 || ks[0] != wd[2] ||
      ks[1] != wd[3] || g < 1 || og < 1 || oc < 0 || C % g || C % og || oc % g || wd[1] * g != C)
    reject(
        ErrorKind::kParse,
        str("X ", dimsToString(xd), ", W ", dimsToString(wd), ", group ", g, ", offset_group ", og,
            ": expected W [M, C/group, kH, kW] with M and C multiples "
            "of group, C of offset_group, and 2 kernel/stride/dilation values, 4 pads"));
  for (const auto* v : {&ks, &st, &dl, &pd})
    for (int64_t e : *v)
      if (e < 0 || e > kMaxExtent || H > kMaxExtent || W > kMaxExtent || C > kMaxExtent ||
          ks[0] > 4096 || ks[1] > 4096)
        reject(ErrorKind::kUnsupported,
               str("X ", dimsToString(xd), ", kernel ", dimsToString(ks), ", strides ",
                   dimsToString(st), ", dilations ", dimsToString(dl), ", pads ", dimsToString(pd),
                   ": sizes beyond ", kMaxExtent, " are not supported"));
  if (st[0] < 1 || st[1] < 1 || dl[0] < 1 || dl[1] < 1 || ks[0] < 1 || ks[1] < 1)
    reject(ErrorKind::kParse, str("kernel ", dimsToString(ks), ", strides ", dimsToString(st),
                                  " and dilations ", dimsToString(dl), " must be at least 1"));
  if (H < 2 || W < 2)
    reject(ErrorKind::kUnsupported, str("X ", dimsToString(xd),
                                        ": the ONNX reference divides by H-1 and W-1; clrt's "
                                        "DeformConv takes H and W of at least 2"));
  const int64_t K = ks[0] * ks[1];
  if (H + pd[0] + pd[2] < (ks[0] - 1) * dl[0] + 1 || W + pd[1] + pd[3] < (ks[1] - 1) * dl[1] + 1)
    reject(ErrorKind::kParse,
           str("the dilated kernel ", dimsToString(ks), " (dilations ", dimsToString(dl),
               ") does not fit X ", dimsToString(xd), " padded by ", dimsToString(pd)));
  const int64_t oH = (H + pd[0] + pd[2] - ((ks[0] - 1) * dl[0] + 1)) / st[0] + 1;
  const int64_t oW = (W + pd[1] + pd[3] - ((ks[1] - 1) * dl[1] + 1)) / st[1] + 1;
  if (od[1] != og * K * 2 || od[2] != oH || od[3] != oW)
    reject(ErrorKind::kParse, str("offset is ", dimsToString(od), "; expected [N, ", og * K * 2,
                                  ", ", oH, ", ", oW, "] (offset_group * kH * kW * 2 channels)"));
  if (c.hasInput(4)) {
    const Dims md = c.inputDims(4);
    if (md.size() != 4 || md[1] != og * K || md[2] != oH || md[3] != oW)
      reject(ErrorKind::kParse,
             str("mask is ", dimsToString(md), "; expected [N, ", og * K, ", ", oH, ", ", oW, "]"));
  }
  const Dims gridDims = {1, 1, K, oH, oW, 2};
  if (ir::hostBytes(gridDims, DataType::kFLOAT) > ir::hostTensorLimit())
    reject(ErrorKind::kUnsupported,
           str("the sampling grid ", dimsToString(gridDims), " exceeds the host memory limit (",
               ir::hostTensorLimit(), " bytes; CLRT_HOST_MEMORY_LIMIT sets 4x it)"));
  // Sampling positions (y, x) in pixels, then as GridSample's (x, y) in [-1, 1].
  std::vector<float> base(static_cast<size_t>(K * oH * oW * 2));
  for (int64_t kh = 0; kh < ks[0]; ++kh)
    for (int64_t kw = 0; kw < ks[1]; ++kw)
      for (int64_t i = 0; i < oH; ++i)
        for (int64_t j = 0; j < oW; ++j) {
          const size_t at = static_cast<size_t>((((kh * ks[1] + kw) * oH + i) * oW + j) * 2);
          base[at] = static_cast<float>(i * st[0] - pd[0] + kh * dl[0]);
          base[at + 1] = static_cast<float>(j * st[1] - pd[1] + kw * dl[1]);
        }
  const int off = withAttr(c, L::kRESHAPE, c.input(2), "shape", {0, og, K, 2, oH, oW});
  const int offT = withAttr(c, L::kTRANSPOSE, off, "perm", {0, 1, 2, 4, 5, 3});
  const int pos = binary(c, "SUM", offT, c.constantTensor(HostTensor::fromFloats(gridDims, base)));
  const int xy = concat(c, {slice(c, pos, 5, 1, 2), slice(c, pos, 5, 0, 1)}, 5);
  const int scaled =
      binary(c, "PROD", xy,
             c.constantTensor(HostTensor::fromFloats(
                 {2}, {2.0f / static_cast<float>(W - 1), 2.0f / static_cast<float>(H - 1)})));
  const int grid = binary(c, "SUB", scaled, floatScalar(c, 1.0f));
  const int x = c.input(0);
  std::vector<int> parts;
  for (int64_t q = 0; q < og; ++q) {
    const int gq = withAttr(c, L::kRESHAPE, og == 1 ? grid : slice(c, grid, 1, q, q + 1), "shape",
                            {0, K * oH, oW, 2});
    const int xq = og == 1 ? x : slice(c, x, 1, q * (C / og), (q + 1) * (C / og));
    ir::Layer& gs = c.addInternal(L::kGRID_SAMPLE, {xq, gq});
    gs.attrs.set("mode", "LINEAR");
    gs.attrs.set("padding", "ZEROS");
    gs.attrs.set("align_corners", int64_t{1});
    parts.push_back(gs.outputs[0]);
  }
  int cols = parts.size() == 1 ? parts[0] : concat(c, parts, 1);  // [N, C, K*oH, oW]
  if (c.hasInput(4)) {
    cols = withAttr(c, L::kRESHAPE, cols, "shape", {0, og, C / og, K, oH * oW});
    const int m = withAttr(c, L::kRESHAPE, c.input(4), "shape", {0, og, 1, K, oH * oW});
    cols = binary(c, "PROD", cols, m);
  }
  cols = withAttr(c, L::kRESHAPE, cols, "shape", {0, g, (C / g) * K, oH * oW});
  const int w = withAttr(c, L::kRESHAPE, c.input(1), "shape", {g, oc / g, (C / g) * K});
  const int y = c.addInternal(L::kMATRIX_MULTIPLY, {w, cols}).outputs[0];  // [N, g, M/g, oH*oW]
  if (!c.hasInput(3)) {
    c.addMapped(L::kRESHAPE, {y}, {0}).attrs.set("shape", std::vector<int64_t>{0, oc, oH, oW});
    return;
  }
  const int yr = withAttr(c, L::kRESHAPE, y, "shape", {0, oc, oH, oW});
  const int b = withAttr(c, L::kRESHAPE, c.input(3), "shape", {1, oc, 1, 1});
  c.addMapped(L::kELEMENTWISE, {yr, b}, {0}).attrs.set("op", "SUM");
}

// RoiAlign 10 has no coordinate_transformation_mode and behaves as output_half_pixel; 16 adds
// it (half_pixel by default); 22 only widens the dtypes. Rois are [R, 4] (x1, y1, x2, y2) in
// the input's pixels times spatial_scale; batch_indices [R] pick the image, checked at run
// time (onnxruntime fails the run too).
void importRoiAlign(ImportContext& c) {
  const bool v10 = schemaVersion("RoiAlign", c.opset()) < 16;
  std::string coord = "output_half_pixel";
  if (v10 && c.hasAttr("coordinate_transformation_mode"))  // onnxruntime refuses the model too
    reject(ErrorKind::kParse,
           "attribute 'coordinate_transformation_mode' is not part of RoiAlign-10 (ONNX adds it "
           "in RoiAlign-16, selected by opset 16 and later)");
  if (!v10) {
    coord = c.attrString("coordinate_transformation_mode", "half_pixel");
    if (coord != "half_pixel" && coord != "output_half_pixel")
      reject(ErrorKind::kParse, "attribute 'coordinate_transformation_mode' is '" + coord +
                                    "'; expected half_pixel or output_half_pixel");
  }
  const std::string m = c.attrString("mode", "avg");
  if (m != "avg" && m != "max")
    reject(ErrorKind::kParse, "attribute 'mode' is '" + m + "'; expected avg or max");
  const int64_t oh = c.attrInt("output_height", 1), ow = c.attrInt("output_width", 1);
  if (oh < 1 || ow < 1)
    reject(ErrorKind::kParse, str("output_height ", oh, " and output_width ", ow,
                                  ": expected positive sizes of the pooled output"));
  if (oh > kMaxExtent || ow > kMaxExtent || oh * ow > kMaxExtent)
    reject(ErrorKind::kUnsupported, str("output_height ", oh, " x output_width ", ow,
                                        ": clrt pools at most ", kMaxExtent, " bins per roi"));
  const int64_t sr = c.attrInt("sampling_ratio", 0);
  if (sr < 0)
    reject(ErrorKind::kParse, str("attribute 'sampling_ratio' is ", sr,
                                  "; expected 0 (adaptive) or a positive sample count"));
  if (sr > ir::kMaxRoiGrid)
    reject(ErrorKind::kUnsupported,
           str("attribute 'sampling_ratio' is ", sr, "; clrt takes at most ", ir::kMaxRoiGrid,
               " samples per bin side"));
  const float scale = c.attrFloat("spatial_scale", 1.0f);
  if (!std::isfinite(scale))
    reject(ErrorKind::kUnsupported,
           str("attribute 'spatial_scale' is ", scale, "; clrt takes a finite scale"));
  const Dims xd = c.inputDims(0), rd = c.inputDims(1), bd = c.inputDims(2);
  if (xd.size() != 4 || rd.size() != 2 || bd.size() != 1 || (rd[1] >= 0 && rd[1] != 4))
    reject(ErrorKind::kParse,
           str("X ", dimsToString(xd), ", rois ", dimsToString(rd), " and batch_indices ",
               dimsToString(bd), ": expected X [N, C, H, W], rois [R, 4] and batch_indices [R]"));
  ir::Layer& l = c.add(ir::LayerKind::kROI_ALIGN, {c.input(0), c.input(1), c.input(2)});
  l.attrs.set("mode", m == "max" ? "MAX" : "AVG");
  l.attrs.set("coord", coord);
  l.attrs.set("output_height", oh);
  l.attrs.set("output_width", ow);
  l.attrs.set("sampling_ratio", sr);
  l.attrs.set("spatial_scale", static_cast<double>(scale));
}

}  // namespace

void registerSamplingImporters() {
  registerImporter("GridSample", {16, 20, 22}, importGridSample);
  registerImporter("DeformConv", {19, 22}, importDeformConv);  // 22 adds dtypes
  registerImporter("RoiAlign", {10, 16, 22}, importRoiAlign);  // 22 adds dtypes
}

}  // namespace clrt::onnx
