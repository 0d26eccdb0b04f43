// INetworkDefinition, ITensor and ILayer: (network, index) handles over an ir::Network.
#include <algorithm>
#include <functional>

#include "clrt/python/bindings.h"

namespace clrt::python {

void bindNetworkAdders(py::class_<NetworkState, NetPtr>& cls);  // network_add.cc

ir::Tensor& TensorHandle::get() const {
  CLRT_CHECK(state && id >= 0 && id < static_cast<int>(state->net->tensors.size()), kValue,
             "tensor handle ", id, " no longer refers to a tensor of its network");
  return state->net->tensors[id];
}

ir::Layer& LayerHandle::get() const {
  CLRT_CHECK(state && id >= 0 && id < static_cast<int>(state->net->layers.size()), kValue,
             "layer handle ", id, " no longer refers to a layer of its network");
  return state->net->layers[id];
}

py::object wrapTensor(const NetPtr& state, int id) {
  if (id < 0) return py::none();
  return py::cast(TensorHandle{state, id});
}

int tensorIn(const NetPtr& state, const TensorHandle& t, const std::string& what) {
  CLRT_CHECK(t.state == state, kValue, what, ": tensor '", t.get().name,
             "' belongs to another network");
  t.get();  // validates the index
  return t.id;
}

namespace {

// Index into a list of `n` items; negative counts from the end when `negative` (__getitem__).
int checkIndex(int64_t i, size_t n, const char* what, bool negative = false) {
  if (negative && i < 0) i += static_cast<int64_t>(n);
  if (i < 0 || i >= static_cast<int64_t>(n))
    throw py::index_error(str(what, " index ", i, " out of range [0, ", n, ")"));
  return static_cast<int>(i);
}

void bindTensor(py::module_& m) {
  py::class_<TensorHandle>(m, "ITensor", "A tensor of a network: a handle (network, index).")
      .def_property(
          "name", [](const TensorHandle& t) { return pyText(t.get().name); },
          [](const TensorHandle& t, const std::string& name) {
            ir::Tensor& tensor = t.get();
            CLRT_CHECK(!name.empty(), kValue, "tensor '", tensor.name, "': name must not be empty");
            const int other = t.net().findTensor(name);
            CLRT_CHECK(other < 0 || other == t.id, kValue, "cannot rename tensor '", tensor.name,
                       "' to '", name, "': another tensor has that name");
            tensor.name = name;
          })
      .def_property(
          "shape", [](const TensorHandle& t) { return toTuple(t.get().dims); },
          [](const TensorHandle& t, const py::object& shape) {
            ir::Tensor& tensor = t.get();
            CLRT_CHECK(tensor.is_input, kValue, "tensor '", tensor.name,
                       "': only network inputs' shapes can be set; others are inferred");
            Dims d = toDims(shape, "shape of input '" + tensor.name + "'");
            for (int64_t x : d)
              CLRT_CHECK(x >= -1, kValue, "shape of input '", tensor.name, "': ", dimsToString(d),
                         "; dims must be >= 0, or -1 for dynamic");
            tensor.dims = std::move(d);
            refreshShapes(t.net(), -1, {t.id});
          },
          "Dimensions; -1 marks a dynamic dimension. Settable for network inputs.")
      .def_property(
          "dtype", [](const TensorHandle& t) { return t.get().dtype; },
          [](const TensorHandle& t, DataType dt) {
            ir::Tensor& tensor = t.get();
            if (tensor.dtype == dt) return;
            CLRT_CHECK(tensor.is_input, kUnsupported, "tensor '", tensor.name,
                       "': only network inputs' dtypes can be set; clrt infers the others");
            tensor.dtype = dt;
            refreshShapes(t.net(), -1, {t.id});
          })
      .def_property_readonly("is_network_input",
                             [](const TensorHandle& t) { return t.get().is_input; })
      .def_property_readonly("is_network_output",
                             [](const TensorHandle& t) { return t.get().is_output; })
      .def_property(
          "allowed_formats", [](const TensorHandle& t) { return t.get().allowed_formats; },
          [](const TensorHandle& t, int64_t mask) {
            CLRT_CHECK(mask >= 0 && mask <= static_cast<int64_t>(ir::kAllTrtFormats), kValue,
                       "allowed_formats of '", t.get().name,
                       "' must be a mask of TensorFormat bits (1 << int(trt.TensorFormat.X) | "
                       "...), 0 to ",
                       ir::kAllTrtFormats, "; got ", mask);
            t.get().allowed_formats = static_cast<uint32_t>(mask);
          },
          "Bit i: TensorFormat value i allowed (default: all). clrt stores a network input or "
          "output LINEAR while bit 0 is set, else HWC (bit 8; rank 3/4 FLOAT, HALF or INT8), "
          "which infer() takes and returns as (N, H, W, C) arrays.")
      .def(
          "set_dimension_name",
          [](const TensorHandle& t, int64_t index, const std::string& name) {
            ir::Tensor& x = t.get();
            CLRT_CHECK(x.is_input, kValue, "set_dimension_name: '", x.name,
                       "' is not a network input (dimension names are for inputs)");
            if (index < 0 || index >= static_cast<int64_t>(x.dims.size()))
              throw py::index_error(str("set_dimension_name: dimension ", index, " of '", x.name,
                                        "' ", dimsToString(x.dims), " out of range [0, ",
                                        x.dims.size(), ")"));
            x.dim_names.resize(x.dims.size());
            x.dim_names[static_cast<size_t>(index)] = name;
          },
          py::arg("index"), py::arg("name"),
          "Names dimension `index` of this network input: dims of the network's inputs that "
          "share a name must be equal, in every optimization profile (checked at build time) "
          "and at run time (a clear error otherwise). The ONNX parser names them after the "
          "model's dim_params.")
      .def(
          "get_dimension_name",
          [](const TensorHandle& t, int64_t index) -> py::object {
            const ir::Tensor& x = t.get();
            if (index < 0 || index >= static_cast<int64_t>(x.dims.size()))
              throw py::index_error(str("get_dimension_name: dimension ", index, " of '", x.name,
                                        "' ", dimsToString(x.dims), " out of range [0, ",
                                        x.dims.size(), ")"));
            const size_t i = static_cast<size_t>(index);
            if (i >= x.dim_names.size() || x.dim_names[i].empty()) return py::none();
            return pyText(x.dim_names[i]);
          },
          py::arg("index"), "The name set_dimension_name gave dimension `index`, or None.")
      .def_property(
          "dynamic_range",
          [](const TensorHandle& t) -> py::object {
            const auto& r = t.get().dynamic_range;
            if (!r) return py::none();
            return py::make_tuple(r->first, r->second);
          },
          [](const TensorHandle& t, const py::object& r) {
            if (r.is_none()) {
              t.get().dynamic_range.reset();
              return;
            }
            auto p = r.cast<std::pair<float, float>>();
            CLRT_CHECK(p.first <= p.second, kValue, "tensor '", t.get().name,
                       "': dynamic range min ", p.first, " > max ", p.second);
            t.get().dynamic_range = p;
          },
          "(min, max) for INT8, or None. Stored for the INT8 builder.")
      .def(
          "set_dynamic_range",
          [](const TensorHandle& t, float lo, float hi) {
            CLRT_CHECK(lo <= hi, kValue, "tensor '", t.get().name, "': dynamic range min ", lo,
                       " > max ", hi);
            t.get().dynamic_range = std::make_pair(lo, hi);
            return true;
          },
          py::arg("min"), py::arg("max"))
      .def("reset_dynamic_range", [](const TensorHandle& t) { t.get().dynamic_range.reset(); })
      .def("__eq__",
           [](const TensorHandle& a, const py::object& b) {
             if (!py::isinstance<TensorHandle>(b)) return false;
             const auto& o = b.cast<const TensorHandle&>();
             return a.state == o.state && a.id == o.id;
           })
      .def("__hash__",
           [](const TensorHandle& t) {
             return std::hash<const void*>()(t.state.get()) ^ std::hash<int>()(t.id);
           })
      .def("__repr__", [](const TensorHandle& t) {
        const ir::Tensor& x = t.get();
        return str("<clrt.ITensor '", x.name, "' ", dimsToString(x.dims), " ", dtypeName(x.dtype),
                   ">");
      });
}

void bindLayerBase(py::module_& m) {
  py::class_<LayerHandle>(m, "ILayer", "A layer of a network: a handle (network, index).")
      .def_property(
          "name", [](const LayerHandle& l) { return pyText(l.get().name); },
          [](const LayerHandle& l, const std::string& name) {
            CLRT_CHECK(!name.empty(), kValue, "layer '", l.get().name, "': name must not be empty");
            l.get().name = name;
          })
      .def_property_readonly("type", [](const LayerHandle& l) { return layerTypeOf(l.get().kind); })
      .def_property_readonly("num_inputs",
                             [](const LayerHandle& l) { return l.get().inputs.size(); })
      .def_property_readonly("num_outputs",
                             [](const LayerHandle& l) { return l.get().outputs.size(); })
      .def(
          "get_input",
          [](const LayerHandle& l, int64_t i) {
            const auto& ins = l.get().inputs;
            return wrapTensor(l.state, ins[checkIndex(i, ins.size(), "input")]);
          },
          py::arg("index"), "The input tensor, or None for an absent optional input.")
      .def(
          "get_output",
          [](const LayerHandle& l, int64_t i) {
            const auto& outs = l.get().outputs;
            return wrapTensor(l.state, outs[checkIndex(i, outs.size(), "output")]);
          },
          py::arg("index"))
      .def(
          "set_input",
          [](const LayerHandle& l, int64_t i, const TensorHandle& t) {
            ir::Layer& layer = l.get();
            const int id = tensorIn(l.state, t, "layer '" + layer.name + "' set_input");
            const int at = checkIndex(i, layer.inputs.size() + 1, "input");
            if (at == static_cast<int>(layer.inputs.size()))
              layer.inputs.push_back(id);  // appending: e.g. a shuffle's shape tensor
            else
              layer.inputs[at] = id;
            refreshShapes(l.net(), l.id);
          },
          py::arg("index"), py::arg("tensor"),
          "Replaces input `index`; index == num_inputs appends (a shuffle's reshape tensor).")
      .def_property(
          "precision",
          [](const LayerHandle& l) { return l.get().precision.value_or(DataType::kFLOAT); },
          [](const LayerHandle& l, DataType t) { l.get().precision = t; },
          "Requested compute precision: the builder obeys it under "
          "BuilderFlag.OBEY_PRECISION_CONSTRAINTS and prefers it otherwise.")
      .def_property_readonly("precision_is_set",
                             [](const LayerHandle& l) { return l.get().precision.has_value(); })
      .def("reset_precision", [](const LayerHandle& l) { l.get().precision.reset(); })
      .def(
          "set_output_type",
          [](const LayerHandle& l, int64_t i, DataType t) {
            ir::Layer& layer = l.get();
            const int at = checkIndex(i, layer.outputs.size(), "output");
            layer.output_types.resize(layer.outputs.size());
            layer.output_types[at] = t;
          },
          py::arg("index"), py::arg("dtype"))
      .def(
          "get_output_type",
          [](const LayerHandle& l, int64_t i) {
            ir::Layer& layer = l.get();
            const int at = checkIndex(i, layer.outputs.size(), "output");
            if (at < static_cast<int>(layer.output_types.size()) && layer.output_types[at])
              return *layer.output_types[at];
            return l.net().tensors[layer.outputs[at]].dtype;
          },
          py::arg("index"))
      .def(
          "output_type_is_set",
          [](const LayerHandle& l, int64_t i) {
            ir::Layer& layer = l.get();
            const int at = checkIndex(i, layer.outputs.size(), "output");
            return at < static_cast<int>(layer.output_types.size()) &&
                   layer.output_types[at].has_value();
          },
          py::arg("index"))
      .def(
          "reset_output_type",
          [](const LayerHandle& l, int64_t i) {
            ir::Layer& layer = l.get();
            const int at = checkIndex(i, layer.outputs.size(), "output");
            if (at < static_cast<int>(layer.output_types.size())) layer.output_types[at].reset();
          },
          py::arg("index"))
      .def("__eq__",
           [](const LayerHandle& a, const py::object& b) {
             if (!py::isinstance<LayerHandle>(b)) return false;
             const auto& o = b.cast<const LayerHandle&>();
             return a.state == o.state && a.id == o.id;
           })
      .def("__hash__",
           [](const LayerHandle& l) {
             return std::hash<const void*>()(l.state.get()) ^ std::hash<int>()(l.id);
           })
      .def("__repr__", [](const LayerHandle& l) {
        const ir::Layer& x = l.get();
        return str("<clrt.ILayer '", x.name, "' ", ir::layerKindName(x.kind), ">");
      });
}

py::list layerList(const NetPtr& s) {
  py::list out;
  for (size_t i = 0; i < s->net->layers.size(); ++i) out.append(wrapLayer(s, static_cast<int>(i)));
  return out;
}

void bindNetwork(py::module_& m) {
  py::class_<NetworkState, NetPtr> cls(m, "INetworkDefinition",
                                       "A network built layer by layer or by the OnnxParser.");
  cls.def_readwrite("name", &NetworkState::name)
      .def_property_readonly("flags", [](const NetworkState& s) { return s.flags; })
      .def(
          "get_flag", [](const NetworkState& s, int flag) { return ((s.flags >> flag) & 1u) != 0; },
          py::arg("flag"))
      .def_property_readonly("has_implicit_batch_dimension",
                             [](const NetworkState&) { return false; })
      .def_property_readonly("num_layers",
                             [](const NetworkState& s) { return s.net->layers.size(); })
      .def_property_readonly("num_inputs",
                             [](const NetworkState& s) { return s.net->inputs.size(); })
      .def_property_readonly("num_outputs",
                             [](const NetworkState& s) { return s.net->outputs.size(); })
      .def(
          "get_layer",
          [](const NetPtr& s, int64_t i) {
            return wrapLayer(s, checkIndex(i, s->net->layers.size(), "layer"));
          },
          py::arg("index"))
      .def(
          "get_input",
          [](const NetPtr& s, int64_t i) {
            return wrapTensor(s, s->net->inputs[checkIndex(i, s->net->inputs.size(), "input")]);
          },
          py::arg("index"))
      .def(
          "get_output",
          [](const NetPtr& s, int64_t i) {
            return wrapTensor(s, s->net->outputs[checkIndex(i, s->net->outputs.size(), "output")]);
          },
          py::arg("index"))
      .def(
          "mark_output",
          [](const NetPtr& s, const TensorHandle& t) {
            s->net->markOutput(tensorIn(s, t, "mark_output"));
          },
          py::arg("tensor"))
      .def(
          "unmark_output",
          [](const NetPtr& s, const TensorHandle& t) {
            s->net->unmarkOutput(tensorIn(s, t, "unmark_output"));
          },
          py::arg("tensor"))
      .def(
          "mark_debug",
          [](const NetPtr& s, const TensorHandle& t) {
            s->net->tensors[tensorIn(s, t, "mark_debug")].debug = true;
            return true;
          },
          py::arg("tensor"),
          "Keeps the tensor materialized through fusion; execution contexts hand its value to "
          "their debug listener (set_debug_listener) and to infer(feeds, debug=True).")
      .def(
          "unmark_debug",
          [](const NetPtr& s, const TensorHandle& t) {
            s->net->tensors[tensorIn(s, t, "unmark_debug")].debug = false;
            return true;
          },
          py::arg("tensor"))
      .def(
          "is_debug_tensor",
          [](const NetPtr& s, const TensorHandle& t) {
            return s->net->tensors[tensorIn(s, t, "is_debug_tensor")].debug;
          },
          py::arg("tensor"))
      .def("__len__", [](const NetworkState& s) { return s.net->layers.size(); })
      .def("__getitem__",
           [](const NetPtr& s, int64_t i) {
             return wrapLayer(s, checkIndex(i, s->net->layers.size(), "layer", true));
           })
      .def("__iter__", [](const NetPtr& s) { return py::iter(layerList(s)); })
      .def("__enter__", [](const py::object& self) { return self; })
      .def("__exit__", [](const py::object&, const py::args&) { return false; })
      .def("__repr__", [](const NetworkState& s) {
        return str("<clrt.INetworkDefinition '", s.name, "': ", s.net->layers.size(), " layers, ",
                   s.net->inputs.size(), " inputs, ", s.net->outputs.size(), " outputs>");
      });
  bindNetworkAdders(cls);
}

}  // namespace

void bind_network(py::module_& m) {
  bindTensor(m);
  bindLayerBase(m);
  bind_layers(m);
  bindNetwork(m);
}

}  // namespace clrt::python
