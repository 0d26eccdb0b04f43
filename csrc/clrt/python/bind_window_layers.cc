// IConvolutionLayer and IPoolingLayer: window sizes, strides, paddings and weights mapped onto the
// ir attrs (strides, dilations, pads = {begins..., ends...}, auto_pad, group, window).
#include <algorithm>
#include <numeric>

#include "clrt/python/bindings.h"

namespace clrt::python {
namespace {

size_t spatial(const LayerHandle& h, size_t fallback) {
  const int64_t r = inputRank(h);
  return r >= 3 ? static_cast<size_t>(r - 2) : fallback;
}

// An attr holding one value per spatial dim (1-D layers may hold the 2-D form, H first).
Dims spatialAttr(const ir::Layer& l, const char* key, size_t n, int64_t def) {
  Dims v = l.attrs.ints(key);
  if (v.empty()) return Dims(n, def);
  if (n == 1 && v.size() == 2) return {v[1]};
  return v;
}

// "pads" as (begin, end); ONNX order {begins..., ends...}; {t, l, b, r} on 1-D layers.
std::pair<Dims, Dims> padsOf(const ir::Layer& l, size_t n) {
  Dims v = l.attrs.ints("pads");
  if (v.size() == 2 * n) return {Dims(v.begin(), v.begin() + n), Dims(v.begin() + n, v.end())};
  if (n == 1 && v.size() == 4) return {{v[1]}, {v[3]}};
  return {Dims(n, 0), Dims(n, 0)};
}

void setPads(ir::Layer& l, const Dims& begin, const Dims& end) {
  Dims v = begin;
  v.insert(v.end(), end.begin(), end.end());
  l.attrs.set("pads", v);
}

PaddingMode paddingModeOf(const ir::Layer& l) {
  const std::string a = l.attrs.s("auto_pad", "NOTSET");
  if (a == "SAME_UPPER") return PaddingMode::kSAME_UPPER;
  if (a == "SAME_LOWER") return PaddingMode::kSAME_LOWER;
  return l.attrs.i("ceil_mode", 0) ? PaddingMode::kEXPLICIT_ROUND_UP
                                   : PaddingMode::kEXPLICIT_ROUND_DOWN;
}

void setPaddingMode(ir::Layer& l, PaddingMode m, bool pooling) {
  CLRT_CHECK(pooling || m != PaddingMode::kEXPLICIT_ROUND_UP, kUnsupported, "layer '", l.name,
             "': PaddingMode.EXPLICIT_ROUND_UP is supported for pooling only");
  l.attrs.set("auto_pad", m == PaddingMode::kSAME_UPPER   ? "SAME_UPPER"
                          : m == PaddingMode::kSAME_LOWER ? "SAME_LOWER"
                                                          : "NOTSET");
  if (pooling) l.attrs.set("ceil_mode", m == PaddingMode::kEXPLICIT_ROUND_UP);
}

// Window-layer properties shared by convolution and pooling: stride and paddings.
template <typename Cls>
void bindWindowProps(Cls& cls, size_t (*nsp)(const LayerHandle&)) {
  cls.def_property(
         "stride_nd",
         [nsp](const LayerHandle& h) {
           return toTuple(spatialAttr(h.get(), "strides", nsp(h), 1));
         },
         [nsp](const LayerHandle& h, const py::object& v) {
           Dims d = checkedDims(v, h, "stride_nd", nsp(h), 1);
           edit(h, [&](ir::Layer& l) { l.attrs.set("strides", d); });
         })
      .def_property(
          "padding_nd",
          [nsp](const LayerHandle& h) { return toTuple(padsOf(h.get(), nsp(h)).first); },
          [nsp](const LayerHandle& h, const py::object& v) {
            Dims d = checkedDims(v, h, "padding_nd", nsp(h), 0);
            edit(h, [&](ir::Layer& l) { setPads(l, d, d); });
          },
          "Symmetric padding; reads the pre-padding when asymmetric.")
      .def_property(
          "pre_padding",
          [nsp](const LayerHandle& h) { return toTuple(padsOf(h.get(), nsp(h)).first); },
          [nsp](const LayerHandle& h, const py::object& v) {
            Dims d = checkedDims(v, h, "pre_padding", nsp(h), 0);
            edit(h, [&](ir::Layer& l) { setPads(l, d, padsOf(l, nsp(h)).second); });
          })
      .def_property(
          "post_padding",
          [nsp](const LayerHandle& h) { return toTuple(padsOf(h.get(), nsp(h)).second); },
          [nsp](const LayerHandle& h, const py::object& v) {
            Dims d = checkedDims(v, h, "post_padding", nsp(h), 0);
            edit(h, [&](ir::Layer& l) { setPads(l, padsOf(l, nsp(h)).first, d); });
          });
}

size_t convSpatial(const LayerHandle& h) {
  const ir::Layer& l = h.get();
  auto it = l.weights.find("kernel");
  return spatial(h, it == l.weights.end() ? 2 : std::max<size_t>(it->second.dims.size(), 3) - 2);
}

Dims convKernelSize(const LayerHandle& h) {
  const Dims& kd = weightOf(h.get(), "kernel").dims;
  const size_t n = convSpatial(h);
  if (n == 1 && kd.size() == 4 && kd[2] == 1) return {kd[3]};
  return kd.size() >= 2 ? Dims(kd.begin() + 2, kd.end()) : Dims{};
}

// Gives the kernel the dims [K, C/group, *ks], from its element count.
void shapeKernel(ir::Layer& l, HostTensor& kernel, int64_t k, const Dims& ks) {
  const int64_t per = k * std::accumulate(ks.begin(), ks.end(), int64_t{1}, std::multiplies<>());
  const int64_t n = kernel.numel();
  CLRT_CHECK(per > 0 && n > 0 && n % per == 0, kValue, "convolution '", l.name, "': kernel holds ",
             n, " values, not a multiple of num_output_maps (", k, ") x kernel size ",
             dimsToString(ks), " = ", per);
  kernel.dims = {k, n / per};
  kernel.dims.insert(kernel.dims.end(), ks.begin(), ks.end());
}

void bindConvolution(py::module_& m) {
  py::class_<ConvolutionLayer, LayerHandle> cls(m, "IConvolutionLayer");
  bindWindowProps(cls, convSpatial);
  cls.def_property(
         "num_output_maps",
         [](const ConvolutionLayer& h) { return weightOf(h.get(), "kernel").dims.at(0); },
         [](const ConvolutionLayer& h, int64_t k) {
           Dims ks = convKernelSize(h);
           edit(h, [&](ir::Layer& l) { shapeKernel(l, weightOf(l, "kernel"), k, ks); });
         })
      .def_property(
          "kernel_size_nd", [](const ConvolutionLayer& h) { return toTuple(convKernelSize(h)); },
          [](const ConvolutionLayer& h, const py::object& v) {
            Dims ks = checkedDims(v, h, "kernel_size_nd", 0, 1);
            edit(h, [&](ir::Layer& l) {
              HostTensor& kernel = weightOf(l, "kernel");
              shapeKernel(l, kernel, kernel.dims.at(0), ks);
            });
          })
      .def_property(
          "dilation_nd",
          [](const ConvolutionLayer& h) {
            return toTuple(spatialAttr(h.get(), "dilations", convSpatial(h), 1));
          },
          [](const ConvolutionLayer& h, const py::object& v) {
            Dims d = checkedDims(v, h, "dilation_nd", convSpatial(h), 1);
            edit(h, [&](ir::Layer& l) { l.attrs.set("dilations", d); });
          })
      .def_property(
          "num_groups", [](const ConvolutionLayer& h) { return h.get().attrs.i("group", 1); },
          [](const ConvolutionLayer& h, int64_t g) {
            CLRT_CHECK(g >= 1, kValue, "layer '", h.get().name, "': num_groups must be >= 1");
            edit(h, [&](ir::Layer& l) { l.attrs.set("group", g); });
          })
      .def_property(
          "padding_mode", [](const ConvolutionLayer& h) { return paddingModeOf(h.get()); },
          [](const ConvolutionLayer& h, PaddingMode pm) {
            edit(h, [&](ir::Layer& l) { setPaddingMode(l, pm, false); });
          })
      .def_property(
          "kernel", [](const ConvolutionLayer& h) { return weightArray(h.get(), "kernel"); },
          [](const ConvolutionLayer& h, const py::object& w) {
            HostTensor t = toHostTensor(w, "layer '" + h.get().name + "' kernel", true);
            const int64_t k = weightOf(h.get(), "kernel").dims.at(0);
            Dims ks = convKernelSize(h);
            shapeKernel(h.get(), t, k, ks);
            edit(h, [&](ir::Layer& l) { l.weights["kernel"] = std::move(t); });
          },
          "Weights [K, C/groups, *kernel_size] as float32 (a copy).")
      .def_property(
          "bias", [](const ConvolutionLayer& h) { return weightArray(h.get(), "bias"); },
          [](const ConvolutionLayer& h, const py::object& w) {
            HostTensor t = toHostTensor(w, "layer '" + h.get().name + "' bias", true);
            const int64_t k = weightOf(h.get(), "kernel").dims.at(0);
            CLRT_CHECK(t.numel() == 0 || t.numel() == k, kValue, "layer '", h.get().name,
                       "': bias has ", t.numel(), " values for ", k, " output maps");
            t.dims = {t.numel()};
            edit(h, [&](ir::Layer& l) {
              if (t.numel() == 0)
                l.weights.erase("bias");
              else
                l.weights["bias"] = std::move(t);
            });
          });
}

// A deconvolution's kernel [C, K/group, *kernel]: its weights, or attr kernel_shape when W is
// computed at run time.
Dims deconvKernelDims(const LayerHandle& h) {
  const ir::Layer& l = h.get();
  auto it = l.weights.find("kernel");
  return it != l.weights.end() ? it->second.dims : l.attrs.ints("kernel_shape");
}

size_t deconvSpatial(const LayerHandle& h) {
  return spatial(h, std::max<size_t>(deconvKernelDims(h).size(), 3) - 2);
}

// TensorRT's IDeconvolutionLayer (ONNX ConvTranspose), for reading what the parser made (tools
// such as Polygraphy list every layer's properties): strides and paddings can be set as on a
// convolution; the kernel, groups and output maps are read-only (add_deconvolution_nd sets them
// when it makes the layer).
void bindDeconvolution(py::module_& m) {
  py::class_<DeconvolutionLayer, LayerHandle> cls(m, "IDeconvolutionLayer");
  bindWindowProps(cls, deconvSpatial);
  cls.def_property_readonly("num_output_maps",
                            [](const DeconvolutionLayer& h) {
                              const Dims kd = deconvKernelDims(h);
                              return kd.size() >= 2 ? kd[1] * h.get().attrs.i("group", 1) : 0;
                            })
      .def_property_readonly(
          "kernel_size_nd",
          [](const DeconvolutionLayer& h) {
            const Dims kd = deconvKernelDims(h);
            return toTuple(kd.size() >= 2 ? Dims(kd.begin() + 2, kd.end()) : Dims{});
          })
      .def_property_readonly(
          "dilation_nd",
          [](const DeconvolutionLayer& h) {
            return toTuple(spatialAttr(h.get(), "dilations", deconvSpatial(h), 1));
          })
      .def_property_readonly(
          "num_groups", [](const DeconvolutionLayer& h) { return h.get().attrs.i("group", 1); })
      .def_property_readonly(
          "kernel", [](const DeconvolutionLayer& h) { return weightArray(h.get(), "kernel"); },
          "Weights [C, K/groups, *kernel_size] as float32 (a copy; empty when computed).")
      .def_property_readonly(
          "bias", [](const DeconvolutionLayer& h) { return weightArray(h.get(), "bias"); });
}

size_t poolSpatial(const LayerHandle& h) {
  return spatial(h, std::max<size_t>(h.get().attrs.ints("window").size(), 1));
}

void bindPooling(py::module_& m) {
  py::class_<PoolingLayer, LayerHandle> cls(m, "IPoolingLayer");
  bindWindowProps(cls, poolSpatial);
  cls.def_property(
         "type",
         [](const PoolingLayer& h) -> py::object {
           if (!h.subtype) return layerTypeOf(h.get().kind);  // see LayerHandle::subtype
           return py::cast(h.get().attrs.s("type") == "MAX" ? PoolingType::kMAX
                                                            : PoolingType::kAVERAGE);
         },
         [](const PoolingLayer& h, PoolingType t) {
           const std::string a = poolingAttr(t);
           edit(h, [&](ir::Layer& l) { l.attrs.set("type", a); });
         })
      .def_property(
          "window_size_nd",
          [](const PoolingLayer& h) {
            const ir::Layer& l = h.get();
            if (l.attrs.i("global", 0) && inputRank(h) >= 3) {
              const Dims& x = h.net().tensors[l.inputs[0]].dims;
              return toTuple(Dims(x.begin() + 2, x.end()));
            }
            return toTuple(spatialAttr(l, "window", poolSpatial(h), 1));
          },
          [](const PoolingLayer& h, const py::object& v) {
            Dims d = checkedDims(v, h, "window_size_nd", poolSpatial(h), 1);
            edit(h, [&](ir::Layer& l) {
              l.attrs.set("window", d);
              l.attrs.erase("global");
            });
          })
      .def_property(
          "padding_mode", [](const PoolingLayer& h) { return paddingModeOf(h.get()); },
          [](const PoolingLayer& h, PaddingMode pm) {
            edit(h, [&](ir::Layer& l) { setPaddingMode(l, pm, true); });
          })
      .def_property(
          "average_count_excludes_padding",
          [](const PoolingLayer& h) { return h.get().attrs.i("count_include_pad", 0) == 0; },
          [](const PoolingLayer& h, bool excl) {
            edit(h, [&](ir::Layer& l) { l.attrs.set("count_include_pad", !excl); });
          },
          "Average pooling divides by the count of non-padding values (default True).");
}

// TensorRT's IGridSampleLayer (add_grid_sample, or a parsed GridSample): ONNX GridSample's attrs
// in TensorRT's terms. SampleMode is bound with the slice layer (network_add_more.cc).
void bindGridSample(py::module_& m) {
  // sample_mode FILL pads with zeros, CLAMP with the border, REFLECT reflects (ONNX's zeros /
  // border / reflection).
  py::class_<GridSampleLayer, LayerHandle>(m, "IGridSampleLayer")
      .def_property(
          "interpolation_mode",
          [](const GridSampleLayer& h) {
            const std::string mode = h.get().attrs.s("mode", "LINEAR");
            return mode == "NEAREST" ? InterpolationMode::kNEAREST
                   : mode == "CUBIC" ? InterpolationMode::kCUBIC
                                     : InterpolationMode::kLINEAR;
          },
          [](const GridSampleLayer& h, InterpolationMode m) {
            edit(h, [&](ir::Layer& l) {
              l.attrs.set("mode", std::string(m == InterpolationMode::kNEAREST ? "NEAREST"
                                              : m == InterpolationMode::kCUBIC ? "CUBIC"
                                                                               : "LINEAR"));
            });
          })
      .def_property(
          "align_corners",
          [](const GridSampleLayer& h) { return h.get().attrs.i("align_corners", 0) != 0; },
          [](const GridSampleLayer& h, bool v) {
            edit(h, [&](ir::Layer& l) { l.attrs.set("align_corners", int64_t{v}); });
          })
      .def_property(
          "sample_mode",
          [](const GridSampleLayer& h) {
            const std::string p = h.get().attrs.s("padding", "ZEROS");
            return p == "BORDER"       ? SampleMode::kCLAMP
                   : p == "REFLECTION" ? SampleMode::kREFLECT
                                       : SampleMode::kFILL;
          },
          [](const GridSampleLayer& h, SampleMode m) {
            CLRT_CHECK(
                m == SampleMode::kFILL || m == SampleMode::kCLAMP || m == SampleMode::kREFLECT,
                kUnsupported, str("layer '", h.get().name, "' sample_mode"),
                ": clrt's grid sampling takes FILL (zeros), CLAMP (border) or REFLECT");
            edit(h, [&](ir::Layer& l) {
              l.attrs.set("padding", std::string(m == SampleMode::kCLAMP     ? "BORDER"
                                                 : m == SampleMode::kREFLECT ? "REFLECTION"
                                                                             : "ZEROS"));
            });
          });
}

}  // namespace

void bindWindowLayers(py::module_& m) {
  bindConvolution(m);
  bindDeconvolution(m);
  bindResize(m);
  bindGridSample(m);
  bindPooling(m);
}

}  // namespace clrt::python
