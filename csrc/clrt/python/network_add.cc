// INetworkDefinition.add_*: TensorRT's layer constructors mapped to ir layer kinds and attrs (per
// the layer kind table in ir/network.h), each new layer's output shape inferred on the spot.
#include <algorithm>
#include <numeric>

#include "clrt/python/bindings.h"

namespace clrt::python {

using K = ir::LayerKind;

ir::Layer& newLayer(const NetPtr& s, K kind, const char* cls, const std::vector<int>& inputs,
                    int* id, int nOutputs) {
  ir::Network& net = *s->net;
  std::string name = str("(Unnamed Layer* ", net.layers.size(), ") [", cls, "]");
  if (net.findLayer(name) >= 0) name = net.uniqueLayerName(name);
  *id = net.addLayer(kind, name, inputs, nOutputs);
  return net.layers[*id];
}

py::object finish(const NetPtr& s, int id) {
  commitNewLayer(*s->net, id);
  return wrapLayer(s, id, true);
}

namespace {

Dims windowShape(const py::object& v, const char* what) {
  Dims d = toDims(v, what);
  CLRT_CHECK(!d.empty() && d.size() <= 3, kValue, what, ": expected 1 to 3 spatial dims, got ",
             dimsToString(d));
  for (int64_t x : d)
    CLRT_CHECK(x >= 1, kValue, what, ": sizes must be >= 1, got ", dimsToString(d));
  return d;
}

// The spatial rank a window layer needs from its input (N, C, *spatial).
void checkWindowInput(const ir::Tensor& x, size_t nsp, const char* what) {
  CLRT_CHECK(x.dims.size() == nsp + 2, kValue, what, ": input '", x.name, "' has shape ",
             dimsToString(x.dims), "; a ", nsp, "-D window needs rank ", nsp + 2, " (N, C, ...)");
}

void setWindowAttrs(ir::Layer& l, size_t nsp) {
  l.attrs.set("strides", Dims(nsp, 1));
  l.attrs.set("pads", Dims(2 * nsp, 0));
}

int64_t defaultAxis(const ir::Network& net, int t) {
  return std::max<int64_t>(0, static_cast<int64_t>(net.tensors[t].dims.size()) - 3);
}

int operandRank(const ir::Network& net, int t) {
  return static_cast<int>(net.tensors[t].dims.size());
}

void checkMatrixOp(const ir::Network& net, int t, MatrixOperation op, const char* which) {
  CLRT_CHECK(op != MatrixOperation::kVECTOR || operandRank(net, t) == 1, kUnsupported,
             "add_matrix_multiply ", which,
             ": MatrixOperation.VECTOR is supported for 1-D operands "
             "only; tensor '",
             net.tensors[t].name, "' has shape ", dimsToString(net.tensors[t].dims));
}

py::object addConvolution(const NetPtr& s, const TensorHandle& input, int64_t k,
                          const py::object& kernelShape, const py::object& kernel,
                          const py::object& bias) {
  const char* what = "add_convolution_nd";
  const int x = tensorIn(s, input, what);
  const Dims ks = windowShape(kernelShape, "add_convolution_nd kernel_shape");
  CLRT_CHECK(k >= 1, kValue, what, ": num_output_maps must be >= 1, got ", k);
  checkWindowInput(s->net->tensors[x], ks.size(), what);
  HostTensor w = toHostTensor(kernel, "add_convolution_nd kernel", true);
  const int64_t per = k * std::accumulate(ks.begin(), ks.end(), int64_t{1}, std::multiplies<>());
  CLRT_CHECK(w.numel() > 0 && w.numel() % per == 0, kValue, what, ": kernel holds ", w.numel(),
             " values, not a multiple of num_output_maps (", k, ") x kernel_shape ",
             dimsToString(ks), " = ", per);
  const int64_t cPerGroup = w.numel() / per;
  w.dims = {k, cPerGroup};
  w.dims.insert(w.dims.end(), ks.begin(), ks.end());
  HostTensor b = toHostTensor(bias, "add_convolution_nd bias", true);
  CLRT_CHECK(b.numel() == 0 || b.numel() == k, kValue, what, ": bias holds ", b.numel(),
             " values for ", k, " output maps");
  // A kernel made for C/g input channels implies g groups (depthwise: num_groups = C later).
  const int64_t c = s->net->tensors[x].dims[1];
  const int64_t group = (c > 0 && c % cPerGroup == 0) ? c / cPerGroup : 1;
  int id;
  ir::Layer& l = newLayer(s, K::kCONVOLUTION, "Convolution", {x}, &id);
  l.weights["kernel"] = std::move(w);
  if (b.numel()) {
    b.dims = {k};
    l.weights["bias"] = std::move(b);
  }
  setWindowAttrs(l, ks.size());
  l.attrs.set("dilations", Dims(ks.size(), 1));
  l.attrs.set("group", group);
  return finish(s, id);
}

// TensorRT's deconvolution (ONNX ConvTranspose): weights [C, K/groups, *kernel_shape], groups
// implied by their count as for add_convolution_nd; strides 1, no padding until set on the layer.
py::object addDeconvolution(const NetPtr& s, const TensorHandle& input, int64_t k,
                            const py::object& kernelShape, const py::object& kernel,
                            const py::object& bias) {
  const char* what = "add_deconvolution_nd";
  const int x = tensorIn(s, input, what);
  const Dims ks = windowShape(kernelShape, "add_deconvolution_nd kernel_shape");
  CLRT_CHECK(k >= 1, kValue, what, ": num_output_maps must be >= 1, got ", k);
  checkWindowInput(s->net->tensors[x], ks.size(), what);
  const int64_t c = s->net->tensors[x].dims[1];
  CLRT_CHECK(c > 0, kValue, what, ": the input's channel dim must be known, got ",
             dimsToString(s->net->tensors[x].dims));
  HostTensor w = toHostTensor(kernel, "add_deconvolution_nd kernel", true);
  const int64_t per = std::accumulate(ks.begin(), ks.end(), int64_t{1}, std::multiplies<>());
  // C x (K / groups) x kernel values: K / groups output maps per group.
  const int64_t kPerGroup = per > 0 && w.numel() % (c * per) == 0 ? w.numel() / (c * per) : 0;
  CLRT_CHECK(kPerGroup > 0 && k % kPerGroup == 0 && c % (k / kPerGroup) == 0, kValue, what,
             ": kernel holds ", w.numel(), " values; expected input channels (", c,
             ") x num_output_maps (", k, ") / groups x kernel_shape ", dimsToString(ks),
             " for a number of groups dividing both");
  const int64_t group = k / kPerGroup;
  w.dims = {c, kPerGroup};
  w.dims.insert(w.dims.end(), ks.begin(), ks.end());
  HostTensor b = toHostTensor(bias, "add_deconvolution_nd bias", true);
  CLRT_CHECK(b.numel() == 0 || b.numel() == k, kValue, what, ": bias holds ", b.numel(),
             " values for ", k, " output maps");
  int id;
  ir::Layer& l = newLayer(s, K::kDECONVOLUTION, "Deconvolution", {x}, &id);
  l.weights["kernel"] = std::move(w);
  if (b.numel()) {
    b.dims = {k};
    l.weights["bias"] = std::move(b);
  }
  setWindowAttrs(l, ks.size());
  l.attrs.set("dilations", Dims(ks.size(), 1));
  l.attrs.set("output_padding", Dims(ks.size(), 0));
  l.attrs.set("group", group);
  return finish(s, id);
}

py::object addPooling(const NetPtr& s, const TensorHandle& input, PoolingType type,
                      const py::object& window) {
  const int x = tensorIn(s, input, "add_pooling_nd");
  const std::string t = poolingAttr(type);
  const Dims ws = windowShape(window, "add_pooling_nd window_size");
  checkWindowInput(s->net->tensors[x], ws.size(), "add_pooling_nd");
  int id;
  ir::Layer& l = newLayer(s, K::kPOOLING, "Pooling", {x}, &id);
  l.attrs.set("type", t);
  l.attrs.set("window", ws);
  setWindowAttrs(l, ws.size());
  l.attrs.set("count_include_pad", false);  // TensorRT: average_count_excludes_padding = True
  return finish(s, id);
}

py::object addScale(const NetPtr& s, const TensorHandle& input, ScaleMode mode,
                    const py::object& shift, const py::object& scale, const py::object& power,
                    int64_t channelAxis) {
  const int x = tensorIn(s, input, "add_scale");
  CLRT_CHECK(mode != ScaleMode::kELEMENTWISE, kUnsupported,
             "add_scale: ScaleMode.ELEMENTWISE is not implemented by clrt (UNIFORM and CHANNEL "
             "are); use add_elementwise with a constant");
  HostTensor p = toHostTensor(power, "add_scale power", true);
  for (int64_t i = 0; i < p.numel(); ++i)
    CLRT_CHECK(p.f32()[i] == 1.0f, kUnsupported, "add_scale: clrt's scale has power 1; got power ",
               p.f32()[i]);
  HostTensor sc = toHostTensor(scale, "add_scale scale", true);
  HostTensor sh = toHostTensor(shift, "add_scale shift", true);
  CLRT_CHECK(mode != ScaleMode::kUNIFORM || (sc.numel() <= 1 && sh.numel() <= 1), kValue,
             "add_scale: ScaleMode.UNIFORM takes one scale and one shift value");
  ir::Layer probe;  // the weights are fitted before the layer exists, so a failure leaves no trace
  probe.name = "add_scale";
  probe.inputs = {x};
  probe.attrs.set("channel_axis", channelAxis);
  fitScaleWeights(*s->net, probe, std::move(sc), std::move(sh));
  int id;
  ir::Layer& l = newLayer(s, K::kSCALE, "Scale", {x}, &id);
  l.attrs = probe.attrs;
  l.weights = std::move(probe.weights);
  return finish(s, id);
}

}  // namespace

void bindMoreAdders(py::class_<NetworkState, NetPtr>& cls);  // network_add_more.cc

void bindNetworkAdders(py::class_<NetworkState, NetPtr>& cls) {
  cls.def(
         "add_input",
         [](const NetPtr& s, const std::string& name, DataType dtype, const py::object& shape) {
           Dims d = toDims(shape, "add_input '" + name + "' shape");
           for (int64_t x : d)
             CLRT_CHECK(x >= -1, kValue, "add_input '", name,
                        "': dims must be >= 0 or -1 (dynamic), got ", dimsToString(d));
           return wrapTensor(s, s->net->addInput(name, dtype, d));
         },
         py::arg("name"), py::arg("dtype"), py::arg("shape"),
         "A network input; -1 marks a dynamic dim (give it an optimization profile).")
      .def("add_convolution_nd", &addConvolution, py::arg("input"), py::arg("num_output_maps"),
           py::arg("kernel_shape"), py::arg("kernel"), py::arg("bias") = py::none(),
           "Convolution with weights [K, C/groups, *kernel_shape] (float32 copy). A kernel sized "
           "for C/g input channels sets num_groups = g.")
      .def("add_deconvolution_nd", &addDeconvolution, py::arg("input"), py::arg("num_output_maps"),
           py::arg("kernel_shape"), py::arg("kernel"), py::arg("bias") = py::none(),
           "Deconvolution (transposed convolution) with weights [C, K/groups, *kernel_shape] "
           "(float32 copy); set stride_nd / padding_nd on the layer.")
      .def(
          "add_activation",
          [](const NetPtr& s, const TensorHandle& input, ActivationType type) {
            const int x = tensorIn(s, input, "add_activation");
            const std::string t = activationAttr(type);
            const double param = t == "SOFTPLUS" ? 1.0 : 0.0;  // TensorRT's defaults are 0
            int id;
            ir::Layer& l = newLayer(s, K::kACTIVATION, "Activation", {x}, &id);
            l.attrs.set("type", t);
            l.attrs.set("alpha", param);
            l.attrs.set("beta", param);
            return finish(s, id);
          },
          py::arg("input"), py::arg("type"))
      .def(
          "add_elementwise",
          [](const NetPtr& s, const TensorHandle& a, const TensorHandle& b,
             ElementWiseOperation op) {
            const int x = tensorIn(s, a, "add_elementwise"), y = tensorIn(s, b, "add_elementwise");
            const std::string o = elementwiseAttr(op);
            int id;
            ir::Layer& l = newLayer(s, K::kELEMENTWISE, "ElementWise", {x, y}, &id);
            l.attrs.set("op", o);
            return finish(s, id);
          },
          py::arg("input1"), py::arg("input2"), py::arg("op"))
      .def("add_pooling_nd", &addPooling, py::arg("input"), py::arg("type"), py::arg("window_size"))
      .def(
          "add_matrix_multiply",
          [](const NetPtr& s, const TensorHandle& a, MatrixOperation op0, const TensorHandle& b,
             MatrixOperation op1) {
            const int x = tensorIn(s, a, "add_matrix_multiply");
            const int y = tensorIn(s, b, "add_matrix_multiply");
            checkMatrixOp(*s->net, x, op0, "op0");
            checkMatrixOp(*s->net, y, op1, "op1");
            int id;
            ir::Layer& l = newLayer(s, K::kMATRIX_MULTIPLY, "Matrix Multiply", {x, y}, &id);
            l.attrs.set("trans_a", op0 == MatrixOperation::kTRANSPOSE);
            l.attrs.set("trans_b", op1 == MatrixOperation::kTRANSPOSE);
            return finish(s, id);
          },
          py::arg("input0"), py::arg("op0"), py::arg("input1"), py::arg("op1"))
      .def(
          "add_softmax",
          [](const NetPtr& s, const TensorHandle& input) {
            const int x = tensorIn(s, input, "add_softmax");
            int id;
            ir::Layer& l = newLayer(s, K::kSOFTMAX, "Softmax", {x}, &id);
            l.attrs.set("axis", defaultAxis(*s->net, x));
            return finish(s, id);
          },
          py::arg("input"), "Softmax over axis max(0, rank - 3) (TensorRT 10's default); set axes.")
      .def(
          "add_concatenation",
          [](const NetPtr& s, const std::vector<TensorHandle>& inputs) {
            CLRT_CHECK(!inputs.empty(), kValue, "add_concatenation: needs at least one input");
            std::vector<int> ids;
            for (const auto& t : inputs) ids.push_back(tensorIn(s, t, "add_concatenation"));
            int id;
            ir::Layer& l = newLayer(s, K::kCONCATENATION, "Concatenation", ids, &id);
            l.attrs.set("axis", defaultAxis(*s->net, ids[0]));
            return finish(s, id);
          },
          py::arg("inputs"), "Concatenation along axis max(0, rank - 3) (TensorRT 10's default).")
      .def(
          "add_shuffle",
          [](const NetPtr& s, const TensorHandle& input) {
            const int x = tensorIn(s, input, "add_shuffle");
            int id;
            newLayer(s, K::kSHUFFLE, "Shuffle", {x}, &id);
            return finish(s, id);
          },
          py::arg("input"))
      .def(
          "add_constant",
          [](const NetPtr& s, const py::object& shape, const py::object& weights) {
            Dims d = toDims(shape, "add_constant shape");
            for (int64_t x : d)
              CLRT_CHECK(x >= 0, kValue, "add_constant: shape ", dimsToString(d),
                         " must be static (dims >= 0)");
            HostTensor v = toHostTensor(weights, "add_constant weights", false);
            CLRT_CHECK(v.numel() == volume(d), kValue, "add_constant: weights hold ", v.numel(),
                       " values, shape ", dimsToString(d), " needs ", volume(d));
            v.dims = d;
            int id;
            ir::Layer& l = newLayer(s, K::kCONSTANT, "Constant", {}, &id);
            l.weights["value"] = std::move(v);
            return finish(s, id);
          },
          py::arg("shape"), py::arg("weights"),
          "A constant of any dtype (float64 stored as float32).")
      .def(
          "add_scale",
          [](const NetPtr& s, const TensorHandle& input, ScaleMode mode, const py::object& shift,
             const py::object& scale,
             const py::object& power) { return addScale(s, input, mode, shift, scale, power, 1); },
          py::arg("input"), py::arg("mode"), py::arg("shift") = py::none(),
          py::arg("scale") = py::none(), py::arg("power") = py::none(),
          "y = x * scale + shift per channel (axis 1) or uniform; power must be empty or 1.")
      .def("add_scale_nd", &addScale, py::arg("input"), py::arg("mode"),
           py::arg("shift") = py::none(), py::arg("scale") = py::none(),
           py::arg("power") = py::none(), py::arg("channel_axis") = 1)
      .def(
          "add_identity",
          [](const NetPtr& s, const TensorHandle& input) {
            const int x = tensorIn(s, input, "add_identity");
            int id;
            newLayer(s, K::kIDENTITY, "Identity", {x}, &id);
            return finish(s, id);
          },
          py::arg("input"))
      .def(
          "add_cast",
          [](const NetPtr& s, const TensorHandle& input, DataType to) {
            const int x = tensorIn(s, input, "add_cast");
            int id;
            ir::Layer& l = newLayer(s, K::kCAST, "Cast", {x}, &id);
            l.attrs.set("to", static_cast<int64_t>(to));
            return finish(s, id);
          },
          py::arg("input"), py::arg("to_type"));
  bindMoreAdders(cls);
  bindResizeAdder(cls);
  bindQuantAdders(cls);
  bindCompositeAdders(cls);
  bindControlFlowAdders(cls);
}

}  // namespace clrt::python
