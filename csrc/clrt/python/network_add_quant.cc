// INetworkDefinition.add_quantize / add_dequantize / add_scatter and their layer classes, as the
// ir's kQUANTIZE / kDEQUANTIZE (ONNX QuantizeLinear / DequantizeLinear: x, scale, optional zero
// point; explicit quantization) and kSCATTER (ScatterElements / ScatterND without reduction).
// TensorRT's axis -1 is per-tensor quantization: the ir layer then has no "axis" attr.
#include "clrt/python/bindings.h"

namespace clrt::python {

enum class ScatterMode : int32_t { kELEMENT = 0, kND };  // values as TensorRT's

namespace {

using K = ir::LayerKind;

std::string what(const LayerHandle& h, const char* prop) {
  return str("layer '", h.get().name, "' ", prop);
}

bool quantType(DataType t) { return t == DataType::kINT8 || t == DataType::kUINT8; }

// The scale: FLOAT, one value (per-tensor, axis -1) or 1-D with one per element of x's `axis`
// (with axis -1 a 1-D scale waits for the axis to be set).
void checkScale(const ir::Network& net, const std::string& w, int x, int scale, int64_t axis) {
  const ir::Tensor &xt = net.tensors[x], &st = net.tensors[scale];
  CLRT_CHECK(st.dtype == DataType::kFLOAT, kValue, w, ": scale '", st.name, "' is ",
             dtypeName(st.dtype), "; clrt's scales are FLOAT");
  const bool one = st.dims.empty() || (st.dims.size() == 1 && st.dims[0] == 1);
  if (axis < 0) {  // per-tensor, or per-channel once axis is set (as TensorRT lets one add it)
    CLRT_CHECK(st.dims.size() <= 1, kValue, w, ": scale '", st.name, "' has dims ",
               dimsToString(st.dims), "; expected one value, or one per channel of the axis");
    return;
  }
  const int64_t r = static_cast<int64_t>(xt.dims.size());
  CLRT_CHECK(axis < r, kValue, w, ": axis ", axis, " is out of range for input '", xt.name, "' ",
             dimsToString(xt.dims));
  CLRT_CHECK(one || (st.dims.size() == 1 &&
                     (st.dims[0] < 0 || xt.dims[axis] < 0 || st.dims[0] == xt.dims[axis])),
             kValue, w, ": scale '", st.name, "' has dims ", dimsToString(st.dims),
             "; expected one value or ", xt.dims[axis], " (input '", xt.name, "' dim ", axis, ")");
}

int64_t axisOf(const ir::Layer& l) { return l.attrs.has("axis") ? l.attrs.i("axis") : -1; }

// Checks the layer's scale and zero point against `axis` and sets it (-1: no attr).
void setAxis(const LayerHandle& h, int64_t axis) {
  CLRT_CHECK(axis >= -1, kValue, what(h, "axis"), ": ", axis, " must be >= 0, or -1 (per-tensor)");
  const ir::Layer& l = h.get();
  checkScale(h.net(), what(h, "axis"), l.inputs[0], l.inputs[1], axis);
  edit(h, [&](ir::Layer& m) {
    if (axis < 0)
      m.attrs.erase("axis");
    else
      m.attrs.set("axis", axis);
  });
}

// set_input: 0 the data, 1 the scale, 2 the zero point (of the quantized type, the scale's count).
void setQdqInput(const LayerHandle& h, int64_t i, const TensorHandle& t) {
  const std::string w = what(h, "set_input");
  const int id = tensorIn(h.state, t, w);
  CLRT_CHECK(i >= 0 && i <= 2, kValue, w, ": index ", i,
             " is out of range; 0 is the input, 1 the scale, 2 the zero point");
  const ir::Layer& l = h.get();
  const ir::Network& net = h.net();
  if (i == 1) checkScale(net, w, l.inputs[0], id, axisOf(l));
  if (i == 2) {
    const ir::Tensor &z = net.tensors[id], &s = net.tensors[l.inputs[1]];
    const DataType q = l.kind == K::kQUANTIZE
                           ? static_cast<DataType>(l.attrs.i("to", int(DataType::kINT8)))
                           : net.tensors[l.inputs[0]].dtype;
    CLRT_CHECK(z.dtype == q && volume(z.dims) == volume(s.dims), kValue, w, ": zero point '",
               z.name, "' is ", dtypeName(z.dtype), " ", dimsToString(z.dims), "; expected ",
               dtypeName(q), " with the scale's ", volume(s.dims), " value(s)");
  }
  edit(h, [&](ir::Layer& m) {
    if (m.inputs.size() <= static_cast<size_t>(i)) m.inputs.resize(i + 1, -1);
    m.inputs[i] = id;
  });
}

py::object addQdq(const NetPtr& s, K kind, const TensorHandle& input, const TensorHandle& scale,
                  const py::object& outputType) {
  const bool q = kind == K::kQUANTIZE;
  const char* w = q ? "add_quantize" : "add_dequantize";
  const int x = tensorIn(s, input, w), sc = tensorIn(s, scale, w);
  const ir::Tensor& xt = s->net->tensors[x];
  DataType to = q ? DataType::kINT8 : DataType::kFLOAT;
  if (!outputType.is_none()) to = outputType.cast<DataType>();
  if (q) {
    CLRT_CHECK(xt.dtype == DataType::kFLOAT, kValue, w, ": input '", xt.name, "' is ",
               dtypeName(xt.dtype), "; clrt quantizes FLOAT tensors");
    CLRT_CHECK(quantType(to), kUnsupported, w, ": output_type ", dtypeName(to),
               " is not implemented by clrt's QuantizeLinear (INT8 and UINT8 are)");
  } else {
    CLRT_CHECK(quantType(xt.dtype) || xt.dtype == DataType::kINT32, kValue, w, ": input '", xt.name,
               "' is ", dtypeName(xt.dtype), "; clrt dequantizes INT8, UINT8 or INT32");
    CLRT_CHECK(to == DataType::kFLOAT, kUnsupported, w, ": output_type ", dtypeName(to),
               " is not implemented by clrt's DequantizeLinear (FLOAT is)");
  }
  checkScale(*s->net, w, x, sc, -1);
  s->net->explicit_quantization = true;  // ranges come from the Q/DQ layers, as in TensorRT
  int id;
  ir::Layer& l = newLayer(s, kind, q ? "Quantize" : "Dequantize", {x, sc}, &id);
  if (q) l.attrs.set("to", static_cast<int64_t>(to));
  return finish(s, id);
}

// Dims of a scatter's operands, as ONNX ScatterElements / ScatterND need them.
void checkScatter(const ir::Network& net, int d, int i, int u, ScatterMode mode, int64_t axis,
                  const std::string& w) {
  const ir::Tensor &dt = net.tensors[d], &it = net.tensors[i], &ut = net.tensors[u];
  CLRT_CHECK(it.dtype == DataType::kINT32 || it.dtype == DataType::kINT64, kValue, w, ": indices '",
             it.name, "' are ", dtypeName(it.dtype), "; expected INT32 or INT64");
  CLRT_CHECK(ut.dtype == dt.dtype, kValue, w, ": updates '", ut.name, "' are ", dtypeName(ut.dtype),
             ", data '", dt.name, "' ", dtypeName(dt.dtype));
  const Dims &dd = dt.dims, &id = it.dims, &ud = ut.dims;
  const size_t r = dd.size();
  if (mode == ScatterMode::kELEMENT) {
    CLRT_CHECK(id.size() == r && ud == id, kValue, w, ": ScatterMode.ELEMENT needs indices '",
               it.name, "' ", dimsToString(id), " and updates '", ut.name, "' ", dimsToString(ud),
               " of one shape and data '", dt.name, "' ", dimsToString(dd), "'s rank");
    CLRT_CHECK(axis >= 0 && axis < static_cast<int64_t>(r), kValue, w, ": axis ", axis,
               " is out of range for data '", dt.name, "' ", dimsToString(dd));
    return;
  }
  CLRT_CHECK(mode == ScatterMode::kND, kValue, w, ": unknown ScatterMode ", int(mode));
  const int64_t k = id.empty() ? -1 : id.back();
  bool fits = k >= 1 && k <= static_cast<int64_t>(r);
  Dims want;
  if (fits) {
    want.assign(id.begin(), id.end() - 1);
    want.insert(want.end(), dd.begin() + k, dd.end());
  }
  CLRT_CHECK(fits && ud == want, kValue, w, ": ScatterMode.ND needs indices '", it.name, "' ",
             dimsToString(id), " of [..., k] with static 1 <= k <= ", r, " and updates '", ut.name,
             "' ", dimsToString(ud), " of indices[:-1] + data[k:] (data '", dt.name, "' ",
             dimsToString(dd), ")");
}

}  // namespace

void bindQuantLayers(py::module_& m) {
  py::enum_<ScatterMode>(m, "ScatterMode")
      .value("ELEMENT", ScatterMode::kELEMENT)
      .value("ND", ScatterMode::kND);
  py::class_<QuantizeLayer, LayerHandle>(m, "IQuantizeLayer")
      .def_property(
          "axis", [](const QuantizeLayer& h) { return axisOf(h.get()); }, &setAxis,
          "The scale's axis in the input; -1 (the default) is one scale for the tensor.")
      .def_property(
          "to_type",
          [](const QuantizeLayer& h) {
            return static_cast<DataType>(h.get().attrs.i("to", int(DataType::kINT8)));
          },
          [](const QuantizeLayer& h, DataType t) {
            CLRT_CHECK(quantType(t), kUnsupported, what(h, "to_type"), ": ", dtypeName(t),
                       " is not implemented by clrt's QuantizeLinear (INT8 and UINT8 are)");
            const ir::Layer& l = h.get();
            const int zp = l.inputs.size() > 2 ? l.inputs[2] : -1;
            CLRT_CHECK(zp < 0 || h.net().tensors[zp].dtype == t, kValue, what(h, "to_type"),
                       ": the zero point is ", dtypeName(h.net().tensors[zp].dtype),
                       "; the output takes its type");
            edit(h, [&](ir::Layer& m) { m.attrs.set("to", static_cast<int64_t>(t)); });
          })
      .def("set_input", &setQdqInput, py::arg("index"), py::arg("tensor"),
           "0 the input, 1 the scale, 2 the zero point (INT8/UINT8 as to_type, the scale's "
           "count).");
  py::class_<DequantizeLayer, LayerHandle>(m, "IDequantizeLayer")
      .def_property(
          "axis", [](const DequantizeLayer& h) { return axisOf(h.get()); }, &setAxis,
          "The scale's axis in the input; -1 (the default) is one scale for the tensor.")
      .def_property(
          "to_type", [](const DequantizeLayer&) { return DataType::kFLOAT; },
          [](const DequantizeLayer& h, DataType t) {
            CLRT_CHECK(t == DataType::kFLOAT, kUnsupported, what(h, "to_type"), ": ", dtypeName(t),
                       " is not implemented by clrt's DequantizeLinear (FLOAT is)");
          })
      .def("set_input", &setQdqInput, py::arg("index"), py::arg("tensor"),
           "0 the input, 1 the scale, 2 the zero point (the input's type, the scale's count).");
  py::class_<ScatterLayer, LayerHandle>(m, "IScatterLayer")
      .def_property(
          "mode",
          [](const ScatterLayer& h) {
            return h.get().attrs.s("mode") == "ND" ? ScatterMode::kND : ScatterMode::kELEMENT;
          },
          [](const ScatterLayer& h, ScatterMode mode) {
            const ir::Layer& l = h.get();
            checkScatter(h.net(), l.inputs[0], l.inputs[1], l.inputs[2], mode, l.attrs.i("axis", 0),
                         what(h, "mode"));
            edit(h, [&](ir::Layer& m) {
              m.attrs.set("mode", mode == ScatterMode::kND ? "ND" : "ELEMENT");
            });
          })
      .def_property(
          "axis", [](const ScatterLayer& h) { return h.get().attrs.i("axis", 0); },
          [](const ScatterLayer& h, int64_t axis) {
            const ir::Layer& l = h.get();
            if (l.attrs.s("mode") != "ND")
              checkScatter(h.net(), l.inputs[0], l.inputs[1], l.inputs[2], ScatterMode::kELEMENT,
                           axis, what(h, "axis"));
            edit(h, [&](ir::Layer& m) { m.attrs.set("axis", axis); });
          },
          "ScatterMode.ELEMENT's axis (ignored by ND).");
}

void bindQuantAdders(py::class_<NetworkState, NetPtr>& cls) {
  cls.def(
         "add_quantize",
         [](const NetPtr& s, const TensorHandle& input, const TensorHandle& scale,
            const py::object& outputType) {
           return addQdq(s, K::kQUANTIZE, input, scale, outputType);
         },
         py::arg("input"), py::arg("scale"), py::arg("output_type") = py::none(),
         "QuantizeLinear: round(x / scale) saturated to output_type (INT8 by default, or UINT8); "
         "per-tensor until axis is set, zero point through set_input(2, tensor).")
      .def(
          "add_dequantize",
          [](const NetPtr& s, const TensorHandle& input, const TensorHandle& scale,
             const py::object& outputType) {
            return addQdq(s, K::kDEQUANTIZE, input, scale, outputType);
          },
          py::arg("input"), py::arg("scale"), py::arg("output_type") = py::none(),
          "DequantizeLinear: (x - zero point) * scale as FLOAT; per-tensor until axis is set.")
      .def(
          "add_scatter",
          [](const NetPtr& s, const TensorHandle& data, const TensorHandle& indices,
             const TensorHandle& updates, ScatterMode mode) {
            const int d = tensorIn(s, data, "add_scatter"), i = tensorIn(s, indices, "add_scatter"),
                      u = tensorIn(s, updates, "add_scatter");
            checkScatter(*s->net, d, i, u, mode, 0, "add_scatter");
            int id;
            ir::Layer& l = newLayer(s, K::kSCATTER, "Scatter", {d, i, u}, &id);
            l.attrs.set("mode", mode == ScatterMode::kND ? "ND" : "ELEMENT");
            l.attrs.set("axis", int64_t{0});
            l.attrs.set("reduction", "none");
            return finish(s, id);
          },
          py::arg("data"), py::arg("indices"), py::arg("updates"), py::arg("mode"),
          "Scatter (ONNX ScatterElements with axis 0 until set, or ScatterND): data with the "
          "updates written at the indices.");
}

}  // namespace clrt::python
