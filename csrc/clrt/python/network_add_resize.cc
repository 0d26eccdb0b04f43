// INetworkDefinition.add_resize and IResizeLayer: TensorRT's resize in the terms of the ir's
// kRESIZE (ONNX Resize attrs, ir/network.h). The output is given by `shape` (attr sizes), `scales`
// (attr scales) or, after set_input(1, t), a tensor known on the host: INT32/INT64 sizes or FLOAT
// scales (inputs 3 and 2 of the ONNX layout). A parsed Resize / Upsample reads back as the same
// class; ONNX coordinate modes TensorRT has no name for read as the nearest one
// (half_pixel_symmetric and tf_half_pixel_for_nn as HALF_PIXEL, tf_crop_and_resize as
// ALIGN_CORNERS).
#include <cmath>

#include "clrt/python/bindings.h"

namespace clrt::python {

// TensorRT's resize enums (values as TensorRT's).
enum class ResizeCoordinateTransformation : int32_t {
  kALIGN_CORNERS = 0,
  kASYMMETRIC,
  kHALF_PIXEL
};
enum class ResizeSelector : int32_t { kFORMULA = 0, kUPPER };
enum class ResizeRoundMode : int32_t { kHALF_UP = 0, kHALF_DOWN, kFLOOR, kCEIL };

namespace {

using K = ir::LayerKind;

std::string what(const LayerHandle& h, const char* prop) {
  return str("layer '", h.get().name, "' ", prop);
}

// ONNX's pytorch_half_pixel is TensorRT's HALF_PIXEL with ResizeSelector.UPPER: a single output
// pixel reads input coordinate 0 instead of the formula's.
constexpr const char* kPytorch = "pytorch_half_pixel";

ResizeCoordinateTransformation coordOf(const ir::Layer& l) {
  const std::string c = l.attrs.s("coord", "half_pixel");
  if (c == "align_corners" || c == "tf_crop_and_resize")
    return ResizeCoordinateTransformation::kALIGN_CORNERS;
  if (c == "asymmetric") return ResizeCoordinateTransformation::kASYMMETRIC;
  return ResizeCoordinateTransformation::kHALF_PIXEL;
}

void setCoord(const ResizeLayer& h, ResizeCoordinateTransformation c) {
  std::string v;
  switch (c) {
    case ResizeCoordinateTransformation::kALIGN_CORNERS:
      v = "align_corners";
      break;
    case ResizeCoordinateTransformation::kASYMMETRIC:
      v = "asymmetric";
      break;
    case ResizeCoordinateTransformation::kHALF_PIXEL:
      // Keeps the UPPER selector already set (ONNX pytorch_half_pixel).
      v = h.get().attrs.s("coord") == kPytorch ? kPytorch : "half_pixel";
      break;
    default:
      fail(ErrorKind::kValue,
           str(what(h, "coordinate_transformation"), ": unknown value ", static_cast<int>(c)));
  }
  edit(h, [&](ir::Layer& l) { l.attrs.set("coord", v); });
}

void setSelector(const ResizeLayer& h, ResizeSelector s) {
  const std::string c = h.get().attrs.s("coord", "half_pixel");
  if (s == ResizeSelector::kFORMULA) {
    if (c == kPytorch) edit(h, [&](ir::Layer& l) { l.attrs.set("coord", "half_pixel"); });
    return;
  }
  CLRT_CHECK(s == ResizeSelector::kUPPER, kValue, what(h, "selector_for_single_pixel"),
             ": unknown value ", static_cast<int>(s));
  CLRT_CHECK(coordOf(h.get()) == ResizeCoordinateTransformation::kHALF_PIXEL, kUnsupported,
             what(h, "selector_for_single_pixel"),
             ": ResizeSelector.UPPER is implemented with coordinate_transformation HALF_PIXEL "
             "(ONNX pytorch_half_pixel); set that first. Under ALIGN_CORNERS and ASYMMETRIC a "
             "single output pixel reads the first input pixel with FORMULA already");
  CLRT_CHECK(c == "half_pixel" || c == kPytorch, kUnsupported, what(h, "selector_for_single_pixel"),
             ": the layer's ONNX coordinate mode '", c, "' has no UPPER form");
  edit(h, [&](ir::Layer& l) { l.attrs.set("coord", kPytorch); });
}

constexpr const char* kRounding[] = {"round_prefer_ceil", "round_prefer_floor", "floor", "ceil"};

ResizeRoundMode roundingOf(const ir::Layer& l) {
  const std::string n = l.attrs.s("nearest_mode", "round_prefer_floor");
  if (n == "simple") return ResizeRoundMode::kFLOOR;
  for (int i = 0; i < 4; ++i)
    if (n == kRounding[i]) return static_cast<ResizeRoundMode>(i);
  return ResizeRoundMode::kHALF_DOWN;
}

// The output given by attrs: drops run-time sizes/scales inputs (index >= 1).
void keepDataInputOnly(ir::Layer& l) {
  l.inputs.resize(1);
  l.attrs.erase("axes");
  l.attrs.erase("policy");
}

void setShape(const ResizeLayer& h, const py::object& v) {
  const Dims d = toDims(v, what(h, "shape"));
  const int64_t r = inputRank(h);
  CLRT_CHECK(r < 0 || static_cast<int64_t>(d.size()) == r, kValue, what(h, "shape"), ": ",
             dimsToString(d), " has ", d.size(), " dims; the input has rank ", r);
  for (int64_t x : d)
    CLRT_CHECK(x >= 0, kValue, what(h, "shape"), ": ", dimsToString(d),
               " must be >= 0 (a shape known at run time goes through set_input(1, tensor))");
  edit(h, [&](ir::Layer& l) {
    keepDataInputOnly(l);
    l.attrs.erase("scales");
    l.attrs.set("sizes", d);
  });
}

void setScales(const ResizeLayer& h, const std::vector<double>& v) {
  const int64_t r = inputRank(h);
  CLRT_CHECK(r < 0 || static_cast<int64_t>(v.size()) == r, kValue, what(h, "scales"), ": ",
             v.size(), " values; the input has rank ", r, " (one scale per dim)");
  for (double s : v)
    CLRT_CHECK(s > 0 && std::isfinite(s), kValue, what(h, "scales"), ": ", s,
               " must be positive and finite");
  edit(h, [&](ir::Layer& l) {
    keepDataInputOnly(l);
    l.attrs.erase("sizes");
    l.attrs.set("scales", v);
  });
}

// set_input(1, t): the output dims (INT32/INT64) or the scales (FLOAT) as a 1-D tensor of one
// value per dim, read on the host when the layer runs (ONNX Resize's sizes / scales inputs).
void setResizeInput(const ResizeLayer& h, int64_t i, const TensorHandle& t) {
  const int id = tensorIn(h.state, t, what(h, "set_input"));
  CLRT_CHECK(i == 0 || i == 1, kValue, what(h, "set_input"), ": index ", i,
             " is out of range; 0 is the data, 1 the output shape or scales");
  if (i == 0) {
    edit(h, [&](ir::Layer& l) { l.inputs[0] = id; });
    return;
  }
  const ir::Tensor& s = h.net().tensors[id];
  const bool sizes = s.dtype == DataType::kINT32 || s.dtype == DataType::kINT64;
  CLRT_CHECK(sizes || s.dtype == DataType::kFLOAT, kValue, what(h, "set_input"), ": tensor '",
             s.name, "' is ", dtypeName(s.dtype),
             "; input 1 is the output shape (INT32/INT64) or the scales (FLOAT)");
  const int64_t r = inputRank(h);
  CLRT_CHECK(s.dims.size() == 1 && (s.dims[0] < 0 || r < 0 || s.dims[0] == r), kValue,
             what(h, "set_input"), ": tensor '", s.name, "' has dims ", dimsToString(s.dims),
             "; input 1 must be 1-D with one value per input dim (", r, ")");
  edit(h, [&](ir::Layer& l) {
    keepDataInputOnly(l);
    l.attrs.erase("sizes");
    l.attrs.erase("scales");
    // ONNX's layout: x, roi, scales, sizes.
    l.inputs =
        sizes ? std::vector<int>{l.inputs[0], -1, -1, id} : std::vector<int>{l.inputs[0], -1, id};
  });
}

}  // namespace

void bindResize(py::module_& m) {
  py::enum_<InterpolationMode>(m, "InterpolationMode")
      .value("NEAREST", InterpolationMode::kNEAREST)
      .value("LINEAR", InterpolationMode::kLINEAR)
      .value("CUBIC", InterpolationMode::kCUBIC);
  m.attr("ResizeMode") = m.attr("InterpolationMode");  // TensorRT 8's name, kept by TensorRT 10
  py::enum_<ResizeCoordinateTransformation>(m, "ResizeCoordinateTransformation")
      .value("ALIGN_CORNERS", ResizeCoordinateTransformation::kALIGN_CORNERS)
      .value("ASYMMETRIC", ResizeCoordinateTransformation::kASYMMETRIC)
      .value("HALF_PIXEL", ResizeCoordinateTransformation::kHALF_PIXEL);
  py::enum_<ResizeSelector>(m, "ResizeSelector")
      .value("FORMULA", ResizeSelector::kFORMULA)
      .value("UPPER", ResizeSelector::kUPPER);
  py::enum_<ResizeRoundMode>(m, "ResizeRoundMode")
      .value("HALF_UP", ResizeRoundMode::kHALF_UP)
      .value("HALF_DOWN", ResizeRoundMode::kHALF_DOWN)
      .value("FLOOR", ResizeRoundMode::kFLOOR)
      .value("CEIL", ResizeRoundMode::kCEIL);
  py::class_<ResizeLayer, LayerHandle>(m, "IResizeLayer")
      .def_property(
          "shape",
          [](const ResizeLayer& h) {
            const ir::Layer& l = h.get();
            return toTuple(l.outputs.empty() ? Dims{} : h.net().tensors[l.outputs[0]].dims);
          },
          &setShape, "The output dims (setting them clears scales and a shape tensor input).")
      .def_property(
          "scales",
          [](const ResizeLayer& h) {
            py::list out;
            for (double v : h.get().attrs.floats("scales")) out.append(v);
            return out;
          },
          &setScales,
          "One scale per dim, output = floor(input * scale); empty when the shape is given.")
      .def_property(
          "resize_mode",
          [](const ResizeLayer& h) {
            const std::string mode = h.get().attrs.s("mode", "NEAREST");
            return mode == "LINEAR"  ? InterpolationMode::kLINEAR
                   : mode == "CUBIC" ? InterpolationMode::kCUBIC
                                     : InterpolationMode::kNEAREST;
          },
          [](const ResizeLayer& h, InterpolationMode m) {
            CLRT_CHECK(m == InterpolationMode::kNEAREST || m == InterpolationMode::kLINEAR ||
                           m == InterpolationMode::kCUBIC,
                       kValue, what(h, "resize_mode"), ": unknown value ", static_cast<int>(m));
            edit(h, [&](ir::Layer& l) {
              l.attrs.set("mode", std::string(m == InterpolationMode::kNEAREST  ? "NEAREST"
                                              : m == InterpolationMode::kLINEAR ? "LINEAR"
                                                                                : "CUBIC"));
            });
          })
      .def_property(
          "coordinate_transformation", [](const ResizeLayer& h) { return coordOf(h.get()); },
          &setCoord)
      .def_property(
          "selector_for_single_pixel",
          [](const ResizeLayer& h) {
            return h.get().attrs.s("coord") == kPytorch ? ResizeSelector::kUPPER
                                                        : ResizeSelector::kFORMULA;
          },
          &setSelector,
          "UPPER needs coordinate_transformation HALF_PIXEL (ONNX pytorch_half_pixel).")
      .def_property(
          "nearest_rounding", [](const ResizeLayer& h) { return roundingOf(h.get()); },
          [](const ResizeLayer& h, ResizeRoundMode m) {
            const int v = static_cast<int>(m);
            CLRT_CHECK(v >= 0 && v < 4, kValue, what(h, "nearest_rounding"), ": unknown value ", v);
            edit(h, [&](ir::Layer& l) { l.attrs.set("nearest_mode", kRounding[v]); });
          })
      .def_property(
          "cubic_coeff", [](const ResizeLayer& h) { return h.get().attrs.f("cubic_a", -0.75); },
          [](const ResizeLayer& h, double a) {
            CLRT_CHECK(std::isfinite(a), kValue, what(h, "cubic_coeff"), ": ", a,
                       " must be finite");
            edit(h, [&](ir::Layer& l) { l.attrs.set("cubic_a", a); });
          })
      .def_property(
          "exclude_outside",
          [](const ResizeLayer& h) { return h.get().attrs.i("exclude_outside", 0) != 0; },
          [](const ResizeLayer& h, bool v) {
            edit(h, [&](ir::Layer& l) { l.attrs.set("exclude_outside", int64_t{v}); });
          })
      .def("set_input", &setResizeInput, py::arg("index"), py::arg("tensor"),
           "0 replaces the data; 1 gives the output shape (1-D INT32/INT64) or the scales (1-D "
           "FLOAT) as a tensor known on the host (a constant or a shape computation), replacing "
           "the shape / scales properties.");
}

void bindResizeAdder(py::class_<NetworkState, NetPtr>& cls) {
  cls.def(
      "add_resize",
      [](const NetPtr& s, const TensorHandle& input) {
        const int x = tensorIn(s, input, "add_resize");
        const Dims d = s->net->tensors[x].dims;  // a copy: newLayer grows the tensors
        CLRT_CHECK(!d.empty(), kValue, "add_resize: input '", s->net->tensors[x].name,
                   "' is a scalar; resize needs rank >= 1");
        int id;
        ir::Layer& l = newLayer(s, K::kRESIZE, "Resize", {x}, &id);
        // TensorRT's defaults; the output keeps the input's dims until shape or scales are set.
        l.attrs.set("mode", "NEAREST");
        l.attrs.set("coord", "asymmetric");
        l.attrs.set("nearest_mode", "floor");
        l.attrs.set("cubic_a", -0.75);
        l.attrs.set("exclude_outside", int64_t{0});
        l.attrs.set("extrapolation", 0.0);
        l.attrs.set("antialias", int64_t{0});
        if (isStatic(d))
          l.attrs.set("sizes", d);
        else
          l.attrs.set("scales", std::vector<double>(d.size(), 1.0));
        return finish(s, id);
      },
      py::arg("input"),
      "Resize (ONNX Resize): NEAREST, ASYMMETRIC, FLOOR rounding and the input's dims until "
      "shape, scales or set_input(1, tensor) and the modes are set on the layer.");
}

}  // namespace clrt::python
