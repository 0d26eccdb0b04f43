// Sampling importers: GridSample (kGRID_SAMPLE).
#include "clrt/onnx/importer.h"

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

}  // namespace

void registerSamplingImporters() { registerImporter("GridSample", {16, 20, 22}, importGridSample); }

}  // namespace clrt::onnx
