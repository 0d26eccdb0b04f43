// Typed layer classes (IActivationLayer, IShuffleLayer, ...): TensorRT's properties read from and
// written to the ir::Layer attrs/weights, re-inferring shapes after each edit. Convolution and
// pooling are in bind_window_layers.cc.
#include <algorithm>
#include <limits>
#include <numeric>

#include "clrt/python/bindings.h"

namespace clrt::python {

void bindNetworkEnums(py::module_& m);  // network_enums.cc
void bindWindowLayers(py::module_& m);  // bind_window_layers.cc
void bindMoreLayers(py::module_& m);    // network_add_more.cc

int64_t inputRank(const LayerHandle& h, size_t i) {
  const ir::Layer& l = h.get();
  if (l.inputs.size() <= i || l.inputs[i] < 0) return -1;
  return static_cast<int64_t>(h.net().tensors[l.inputs[i]].dims.size());
}

Dims checkedDims(const py::object& v, const LayerHandle& h, const char* what, size_t n,
                 int64_t min) {
  const std::string name = str("layer '", h.get().name, "' ", what);
  Dims d = toDims(v, name);
  CLRT_CHECK(n == 0 || d.size() == n, kValue, name, ": expected ", n, " values, got ",
             dimsToString(d));
  for (int64_t x : d)
    CLRT_CHECK(x >= min, kValue, name, ": values must be >= ", min, ", got ", dimsToString(d));
  return d;
}

HostTensor& weightOf(ir::Layer& l, const char* key) {
  auto it = l.weights.find(key);
  CLRT_CHECK(it != l.weights.end(), kValue, "layer '", l.name, "' has no '", key, "' weights");
  return it->second;
}

py::array weightArray(const ir::Layer& l, const char* key) {
  auto it = l.weights.find(key);
  if (it == l.weights.end()) return py::array(py::dtype("float32"), std::vector<py::ssize_t>{0});
  return toArray(it->second);  // a copy: edits go through the setter
}

namespace {

// alpha/beta of an activation; parsed layers may leave them out (the importers' ONNX defaults).
double activationParam(const ir::Layer& l, const char* key) {
  const std::string t = l.attrs.s("type");
  const double inf = std::numeric_limits<float>::infinity();
  const bool alpha = key[0] == 'a';
  double def = 0;
  if (t == "LEAKY_RELU" && alpha) def = 0.01;
  if (t == "ELU" && alpha) def = 1.0;
  if (t == "CLIP") def = alpha ? -inf : inf;
  if (t == "HARD_SIGMOID") def = alpha ? 0.2 : 0.5;
  if (t == "SOFTPLUS") def = 1.0;
  return l.attrs.f(key, def);
}

void setActivationParam(const ActivationLayer& h, const char* key, double v) {
  CLRT_CHECK(h.get().attrs.s("type") != "SOFTPLUS" || v == 1.0, kUnsupported, "layer '",
             h.get().name, "': clrt's SOFTPLUS is log(1 + exp(x)); ", key, " must be 1");
  edit(h, [&](ir::Layer& l) { l.attrs.set(key, v); });
}

void bindActivation(py::module_& m) {
  py::class_<ActivationLayer, LayerHandle>(m, "IActivationLayer")
      .def_property(
          "type",
          [](const ActivationLayer& h) -> py::object {
            if (!h.subtype) return layerTypeOf(h.get().kind);
            return py::cast(activationFromAttr(h.get().attrs.s("type")));
          },
          [](const ActivationLayer& h, ActivationType t) {
            const std::string a = activationAttr(t);
            edit(h, [&](ir::Layer& l) {
              l.attrs.set("type", a);
              if (a == "SOFTPLUS") {  // fixed at 1: see setActivationParam
                l.attrs.set("alpha", 1.0);
                l.attrs.set("beta", 1.0);
              }
            });
          })
      .def_property(
          "alpha", [](const ActivationLayer& h) { return activationParam(h.get(), "alpha"); },
          [](const ActivationLayer& h, double v) { setActivationParam(h, "alpha", v); })
      .def_property(
          "beta", [](const ActivationLayer& h) { return activationParam(h.get(), "beta"); },
          [](const ActivationLayer& h, double v) { setActivationParam(h, "beta", v); });
}

void bindElementwise(py::module_& m) {
  py::class_<ElementWiseLayer, LayerHandle>(m, "IElementWiseLayer")
      .def_property(
          "op",
          [](const ElementWiseLayer& h) { return elementwiseFromAttr(h.get().attrs.s("op")); },
          [](const ElementWiseLayer& h, ElementWiseOperation op) {
            const std::string a = elementwiseAttr(op);
            edit(h, [&](ir::Layer& l) { l.attrs.set("op", a); });
          });
}

// Rank of matmul operand i: input tensor, or the "kernel" weights standing for operand 1.
int64_t operandRank(const LayerHandle& h, size_t i) {
  const ir::Layer& l = h.get();
  auto k = l.weights.find("kernel");
  if (i == 1 && k != l.weights.end()) return static_cast<int64_t>(k->second.dims.size());
  return inputRank(h, i);
}

void bindMatmulOp(py::class_<MatrixMultiplyLayer, LayerHandle>& cls, const char* prop, size_t i) {
  const char* key = i == 0 ? "trans_a" : "trans_b";
  cls.def_property(
      prop,
      [key, i](const MatrixMultiplyLayer& h) {
        if (h.get().attrs.i(key, 0)) return MatrixOperation::kTRANSPOSE;
        return operandRank(h, i) == 1 ? MatrixOperation::kVECTOR : MatrixOperation::kNONE;
      },
      [key, i, prop](const MatrixMultiplyLayer& h, MatrixOperation op) {
        CLRT_CHECK(op != MatrixOperation::kVECTOR || operandRank(h, i) == 1, kUnsupported,
                   "layer '", h.get().name, "' ", prop,
                   ": MatrixOperation.VECTOR is supported for 1-D operands only");
        edit(h, [&](ir::Layer& l) { l.attrs.set(key, op == MatrixOperation::kTRANSPOSE); });
      });
}

int64_t axisBits(const LayerHandle& h, const char* key) {
  const int64_t r = inputRank(h);
  int64_t a = h.get().attrs.i(key, -1);
  if (a < 0 && r > 0) a += r;
  return a < 0 ? 0 : int64_t{1} << a;
}

void bindSoftmaxConcat(py::module_& m) {
  py::class_<SoftMaxLayer, LayerHandle>(m, "ISoftMaxLayer")
      .def_property(
          "axes", [](const SoftMaxLayer& h) { return axisBits(h, "axis"); },
          [](const SoftMaxLayer& h, int64_t bits) {
            CLRT_CHECK(bits > 0 && (bits & (bits - 1)) == 0, kValue, "layer '", h.get().name,
                       "': axes must have exactly one bit set (softmax over one axis), got ", bits);
            int64_t axis = 0;
            while (!((bits >> axis) & 1)) ++axis;
            const int64_t r = inputRank(h);
            CLRT_CHECK(r < 0 || axis < r, kValue, "layer '", h.get().name, "': axes bit ", axis,
                       " is beyond the input rank ", r);
            edit(h, [&](ir::Layer& l) { l.attrs.set("axis", axis); });
          },
          "Bit mask with one bit: the softmax axis. Default (TensorRT 10): axis max(0, rank - 3).");
  py::class_<ConcatenationLayer, LayerHandle>(m, "IConcatenationLayer")
      .def_property(
          "axis", [](const ConcatenationLayer& h) { return h.get().attrs.i("axis", 0); },
          [](const ConcatenationLayer& h, int64_t axis) {
            const int64_t r = inputRank(h);
            if (r > 0) normalizeAxis(axis, r, "layer '" + h.get().name + "' axis");
            edit(h, [&](ir::Layer& l) { l.attrs.set("axis", axis); });
          },
          "Concatenation axis. Default (TensorRT 10): max(0, rank - 3).");
}

Dims checkedPerm(const py::object& v, const ShuffleLayer& h, const char* what) {
  Dims p = checkedDims(v, h, what, 0, 0);
  Dims sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i)
    CLRT_CHECK(sorted[i] == static_cast<int64_t>(i), kValue, "layer '", h.get().name, "' ", what,
               ": ", dimsToString(p), " is not a permutation");
  return p;
}

py::tuple permOrIdentity(const ir::Layer& l, const char* key, int64_t rank) {
  Dims p = l.attrs.ints(key);
  if (p.empty() && rank > 0) {
    p.resize(rank);
    std::iota(p.begin(), p.end(), 0);
  }
  return toTuple(p);
}

void bindShuffle(py::module_& m) {
  py::class_<ShuffleLayer, LayerHandle>(m, "IShuffleLayer")
      .def_property(
          "first_transpose",
          [](const ShuffleLayer& h) {
            return permOrIdentity(h.get(), "first_transpose", inputRank(h));
          },
          [](const ShuffleLayer& h, const py::object& v) {
            Dims p = checkedPerm(v, h, "first_transpose");
            edit(h, [&](ir::Layer& l) { l.attrs.set("first_transpose", p); });
          })
      .def_property(
          "reshape_dims",
          [](const ShuffleLayer& h) -> py::object {
            const ir::Layer& l = h.get();
            if (!l.attrs.i("has_reshape", 0)) return py::none();
            return toTuple(l.attrs.ints("reshape_dims"));
          },
          [](const ShuffleLayer& h, const py::object& v) {
            if (v.is_none()) {
              edit(h, [](ir::Layer& l) {
                l.attrs.set("has_reshape", false);
                l.attrs.erase("reshape_dims");
              });
              return;
            }
            Dims d = checkedDims(v, h, "reshape_dims", 0, -1);
            CLRT_CHECK(std::count(d.begin(), d.end(), -1) <= 1, kValue, "layer '", h.get().name,
                       "' reshape_dims ", dimsToString(d), ": at most one -1");
            edit(h, [&](ir::Layer& l) {
              l.attrs.set("has_reshape", true);
              l.attrs.set("reshape_dims", d);
            });
          },
          "Reshape dims (0 copies the input dim when zero_is_placeholder, -1 is inferred), or "
          "None for no reshape.")
      .def_property(
          "second_transpose",
          [](const ShuffleLayer& h) {
            const ir::Layer& l = h.get();
            const int t = l.outputs.empty() ? -1 : l.outputs[0];
            const int64_t r = t < 0 ? -1 : static_cast<int64_t>(h.net().tensors[t].dims.size());
            return permOrIdentity(l, "second_transpose", r);
          },
          [](const ShuffleLayer& h, const py::object& v) {
            Dims p = checkedPerm(v, h, "second_transpose");
            edit(h, [&](ir::Layer& l) { l.attrs.set("second_transpose", p); });
          })
      .def_property(
          "zero_is_placeholder",
          [](const ShuffleLayer& h) { return h.get().attrs.i("zero_is_placeholder", 1) != 0; },
          [](const ShuffleLayer& h, bool z) {
            edit(h, [&](ir::Layer& l) { l.attrs.set("zero_is_placeholder", z); });
          });
}

void bindConstant(py::module_& m) {
  py::class_<ConstantLayer, LayerHandle>(m, "IConstantLayer")
      .def_property(
          "weights", [](const ConstantLayer& h) { return weightArray(h.get(), "value"); },
          [](const ConstantLayer& h, const py::object& w) {
            HostTensor t = toHostTensor(w, "layer '" + h.get().name + "' weights", false);
            const Dims shape = weightOf(h.get(), "value").dims;
            CLRT_CHECK(t.numel() == volume(shape), kValue, "layer '", h.get().name,
                       "': weights hold ", t.numel(), " values, shape ", dimsToString(shape),
                       " needs ", volume(shape));
            t.dims = shape;
            edit(h, [&](ir::Layer& l) { l.weights["value"] = std::move(t); });
          })
      .def_property(
          "shape", [](const ConstantLayer& h) { return toTuple(weightOf(h.get(), "value").dims); },
          [](const ConstantLayer& h, const py::object& v) {
            Dims d = checkedDims(v, h, "shape", 0, 0);
            const int64_t n = weightOf(h.get(), "value").numel();
            CLRT_CHECK(volume(d) == n, kValue, "layer '", h.get().name, "': shape ",
                       dimsToString(d), " does not hold the ", n, " weight values");
            edit(h, [&](ir::Layer& l) { weightOf(l, "value").dims = d; });
          });
}

void bindScale(py::module_& m) {
  auto setter = [](const char* key) {
    return [key](const ScaleLayer& h, const py::object& w) {
      HostTensor t = toHostTensor(w, str("layer '", h.get().name, "' ", key), true);
      const ir::Layer& l = h.get();
      HostTensor sc = key[1] == 'c' ? t : l.weights.at("scale");
      HostTensor sh = key[1] == 'h'              ? t
                      : l.weights.count("shift") ? l.weights.at("shift")
                                                 : HostTensor{};
      edit(h, [&](ir::Layer& layer) { fitScaleWeights(h.net(), layer, sc, sh); });
    };
  };
  py::class_<ScaleLayer, LayerHandle>(m, "IScaleLayer")
      .def_property_readonly("mode",
                             [](const ScaleLayer& h) {
                               return weightOf(h.get(), "scale").numel() == 1 ? ScaleMode::kUNIFORM
                                                                              : ScaleMode::kCHANNEL;
                             })
      .def_property(
          "scale", [](const ScaleLayer& h) { return weightArray(h.get(), "scale"); },
          setter("scale"))
      .def_property(
          "shift", [](const ScaleLayer& h) { return weightArray(h.get(), "shift"); },
          setter("shift"))
      .def_property_readonly(
          "power", [](const ScaleLayer& h) { return weightArray(h.get(), "power"); },
          "Always empty: clrt's scale has power 1.")
      .def_property(
          "channel_axis", [](const ScaleLayer& h) { return h.get().attrs.i("channel_axis", 1); },
          [](const ScaleLayer& h, int64_t a) {
            edit(h, [&](ir::Layer& l) { l.attrs.set("channel_axis", a); });
          });
}
}  // namespace

void fitScaleWeights(const ir::Network& net, ir::Layer& l, HostTensor scale, HostTensor shift) {
  int64_t n = -1;
  if (!l.inputs.empty() && l.inputs[0] >= 0) {
    const Dims& x = net.tensors[l.inputs[0]].dims;
    if (!x.empty()) {
      const int64_t axis =
          normalizeAxis(l.attrs.i("channel_axis", 1), static_cast<int64_t>(x.size()),
                        "layer '" + l.name + "' channel_axis");
      n = x[axis];
    }
  }
  if (n <= 0) n = std::max<int64_t>({scale.numel(), shift.numel(), 1});
  auto fit = [&](HostTensor& t, const char* key, float fill) {
    if (t.numel() == 0 || (t.numel() == 1 && n != 1))
      t = HostTensor::fromFloats({n}, std::vector<float>(n, t.numel() ? t.f32()[0] : fill));
    CLRT_CHECK(t.numel() == n, kValue, "layer '", l.name, "': ", key, " has ", t.numel(),
               " values for ", n, " channels");
    t.dims = {n};
  };
  fit(scale, "scale", 1.0f);
  fit(shift, "shift", 0.0f);
  l.weights["scale"] = std::move(scale);
  l.weights["shift"] = std::move(shift);
}

py::object wrapLayer(const NetPtr& s, int id, bool subtype) {
  using K = ir::LayerKind;
  LayerHandle h{s, id, subtype};
  if (py::object c = wrapComposite(h); !c.is_none()) return c;
  if (py::object c = wrapControlFlow(h); !c.is_none()) return c;
  switch (h.get().kind) {
    case K::kCONVOLUTION:
      return py::cast(ConvolutionLayer{h});
    case K::kDECONVOLUTION:
      return py::cast(DeconvolutionLayer{h});
    case K::kRESIZE:
      return py::cast(ResizeLayer{h});
    case K::kACTIVATION:
      return py::cast(ActivationLayer{h});
    case K::kELEMENTWISE:
      return py::cast(ElementWiseLayer{h});
    case K::kPOOLING:
      return py::cast(PoolingLayer{h});
    case K::kMATRIX_MULTIPLY:
      return py::cast(MatrixMultiplyLayer{h});
    case K::kSOFTMAX:
      return py::cast(SoftMaxLayer{h});
    case K::kCONCATENATION:
      return py::cast(ConcatenationLayer{h});
    case K::kSHUFFLE:
      return py::cast(ShuffleLayer{h});
    case K::kCONSTANT:
      return py::cast(ConstantLayer{h});
    case K::kSCALE:
      return py::cast(ScaleLayer{h});
    case K::kUNARY:
      return py::cast(UnaryLayer{h});
    case K::kREDUCE:
      return py::cast(ReduceLayer{h});
    case K::kSLICE:
    case K::kEXPAND:  // TensorRT's broadcast is a stride-0 slice (add_slice makes one)
      return py::cast(SliceLayer{h});
    case K::kGATHER:
      return py::cast(GatherLayer{h});
    case K::kTOPK:
      return py::cast(TopKLayer{h});
    case K::kWHERE:
      return py::cast(SelectLayer{h});
    case K::kPADDING:
      return py::cast(PaddingLayer{h});
    case K::kSHAPE:
      return py::cast(ShapeLayer{h});
    case K::kNON_ZERO:
      return py::cast(NonZeroLayer{h});
    case K::kGRID_SAMPLE:
      return py::cast(GridSampleLayer{h});
    case K::kQUANTIZE:
      return py::cast(QuantizeLayer{h});
    case K::kDEQUANTIZE:
      return py::cast(DequantizeLayer{h});
    case K::kSCATTER:
      return py::cast(ScatterLayer{h});
    default:
      return py::cast(h);
  }
}

void bind_layers(py::module_& m) {
  bindNetworkEnums(m);
  bindWindowLayers(m);
  bindActivation(m);
  bindElementwise(m);
  py::class_<MatrixMultiplyLayer, LayerHandle> mm(m, "IMatrixMultiplyLayer");
  bindMatmulOp(mm, "op0", 0);
  bindMatmulOp(mm, "op1", 1);
  bindSoftmaxConcat(m);
  bindShuffle(m);
  bindConstant(m);
  bindScale(m);
  bindMoreLayers(m);
  bindQuantLayers(m);
  bindCompositeLayers(m);
  bindControlFlowLayers(m);
}

}  // namespace clrt::python
