// TensorRT API that scripts and Polygraphy query but that has one answer on OpenCL: tensor
// formats and locations (and SeekPosition for the Python IStreamReaderV2), the engine's
// refittable/profiling_verbosity, ITensor's shape-tensor flags. Added to the classes the other
// binding files define.
#include <algorithm>
#include <set>

#include "clrt/ir/shape_inference.h"
#include "clrt/python/bindings.h"
#include "clrt/runtime/engine.h"

namespace clrt::python {
namespace {

// TensorRT 10's values. clrt's kernels read and write every I/O tensor row-major (LINEAR).
enum class TensorFormat : int32_t {
  kLINEAR = 0,
  kCHW2 = 1,
  kHWC8 = 2,
  kCHW4 = 3,
  kCHW16 = 4,
  kCHW32 = 5,
  kDHWC8 = 6,
  kCDHW32 = 7,
  kHWC = 8,
  kDLA_LINEAR = 9,
  kDLA_HWC4 = 10,
  kHWC16 = 11,
  kDHWC = 12,
};
enum class TensorLocation : int32_t { kDEVICE = 0, kHOST = 1 };
enum class SeekPosition : int32_t { kSET = 0, kCUR = 1, kEND = 2 };  // IStreamReaderV2.seek

// Adds a method (or, with `property`, a read-only property) to a class bound elsewhere.
template <typename F, typename... Extra>
void addMethod(const py::object& cls, const char* name, F&& f, const Extra&... extra) {
  py::setattr(cls, name,
              py::cpp_function(std::forward<F>(f), py::name(name), py::is_method(cls), extra...));
}
template <typename F>
void addProperty(const py::object& cls, const char* name, F&& f, const char* doc) {
  py::cpp_function get(std::forward<F>(f), py::is_method(cls));
  py::setattr(cls, name,
              py::module_::import("builtins").attr("property")(get, py::none(), py::none(), doc));
}

// The I/O tensor `name` of the engine (kValue naming the I/O tensors when it is not one).
const std::string& ioTensor(const runtime::Engine& e, const std::string& name) {
  e.ioTensorId(name);
  return name;
}

// TensorRT's wording, e.g. "Row major linear FP32 format (kLINEAR)".
std::string formatDesc(const runtime::Engine& e, const std::string& name) {
  const DataType dt = e.ioDtype(ioTensor(e, name));
  const char* type = dt == DataType::kFLOAT  ? "FP32"
                     : dt == DataType::kHALF ? "FP16"
                     : dt == DataType::kBOOL ? "Bool"
                                             : dtypeName(dt);
  if (e.ioFormat(name) == ir::TensorFormat::kHWC)
    return str("Channel last (NHWC) ", type, " format (kHWC)");
  return str("Row major linear ", type, " format (kLINEAR)");
}

bool isIntegerVector(const ir::Tensor& t) {
  return (t.dtype == DataType::kINT32 || t.dtype == DataType::kINT64) && t.dims.size() <= 1;
}

// TensorRT's shape tensors: rank-0/1 integer tensors computed from Shape layers and constants
// (shape arithmetic, evaluated on the host). clrt takes no shape-tensor network inputs.
std::set<int> shapeTensors(ir::Network& net) {
  std::set<int> out;
  ir::markShapeTensors(net);  // inputs whose values decide shapes (the network may have changed)
  for (int t : net.inputs)
    if (net.tensors[t].is_shape_tensor) out.insert(t);
  for (const ir::Layer& l : net.layers) {
    if (l.dead) continue;
    bool fromShapes = l.kind == ir::LayerKind::kSHAPE;
    if (!fromShapes && l.kind != ir::LayerKind::kCONSTANT) {
      bool anyShape = false, allShapeOrConst = true;
      for (int in : l.inputs) {
        if (in < 0) continue;
        const ir::Tensor& t = net.tensors[in];
        const bool isConst =
            t.producer >= 0 && net.layers[t.producer].kind == ir::LayerKind::kCONSTANT;
        anyShape = anyShape || out.count(in);
        allShapeOrConst = allShapeOrConst && (out.count(in) || isConst);
      }
      fromShapes = anyShape && allShapeOrConst;
    }
    if (!fromShapes) continue;
    for (int o : l.outputs)
      if (o >= 0 && isIntegerVector(net.tensors[o])) out.insert(o);
  }
  return out;
}

// Execution tensors are those a device layer reads or the network outputs; a shape tensor is
// also one when a layer other than shape arithmetic consumes it.
bool isExecutionTensor(const TensorHandle& h) {
  ir::Network& net = h.net();
  const std::set<int> shapes = shapeTensors(net);
  if (!shapes.count(h.id)) return true;
  if (net.tensors[h.id].is_output) return true;
  for (const ir::Layer& l : net.layers) {
    if (l.dead) continue;
    // Reads at a shape operand (Reshape's shape, Reduce's axes...) happen on the host.
    const std::vector<int> shapeOps = ir::shapeOperands(l.kind);
    bool reads = false;
    for (size_t k = 0; k < l.inputs.size(); ++k)
      reads = reads || (l.inputs[k] == h.id &&
                        std::find(shapeOps.begin(), shapeOps.end(), int(k)) == shapeOps.end());
    if (!reads) continue;
    bool shapeMath = !l.outputs.empty();
    for (int o : l.outputs) shapeMath = shapeMath && shapes.count(o);
    if (!shapeMath) return true;
  }
  return false;
}

}  // namespace

void bind_compat(py::module_& m) {
  py::enum_<TensorFormat>(m, "TensorFormat",
                          "TensorRT's tensor layouts; clrt stores I/O tensors LINEAR or HWC.")
      .value("LINEAR", TensorFormat::kLINEAR)
      .value("CHW2", TensorFormat::kCHW2)
      .value("HWC8", TensorFormat::kHWC8)
      .value("CHW4", TensorFormat::kCHW4)
      .value("CHW16", TensorFormat::kCHW16)
      .value("CHW32", TensorFormat::kCHW32)
      .value("DHWC8", TensorFormat::kDHWC8)
      .value("CDHW32", TensorFormat::kCDHW32)
      .value("HWC", TensorFormat::kHWC)
      .value("DLA_LINEAR", TensorFormat::kDLA_LINEAR)
      .value("DLA_HWC4", TensorFormat::kDLA_HWC4)
      .value("HWC16", TensorFormat::kHWC16)
      .value("DHWC", TensorFormat::kDHWC);
  py::enum_<TensorLocation>(m, "TensorLocation")
      .value("DEVICE", TensorLocation::kDEVICE)
      .value("HOST", TensorLocation::kHOST);
  py::enum_<SeekPosition>(m, "SeekPosition")
      .value("SET", SeekPosition::kSET)
      .value("CUR", SeekPosition::kCUR)
      .value("END", SeekPosition::kEND);

  const py::object engine = m.attr("ICudaEngine");
  addMethod(
      engine, "get_tensor_format",
      [](const py::object& self, const std::string& name) {
        return engineOf(self)->ioFormat(name) == ir::TensorFormat::kHWC ? TensorFormat::kHWC
                                                                        : TensorFormat::kLINEAR;
      },
      py::arg("name"),
      py::doc("LINEAR (row major), or HWC where the tensor's allowed_formats asked for it."));
  addMethod(
      engine, "get_tensor_format_desc",
      [](const py::object& self, const std::string& name) {
        return formatDesc(*engineOf(self), name);
      },
      py::arg("name"));
  addMethod(
      engine, "get_tensor_location",
      [](const py::object& self, const std::string& name) {
        ioTensor(*engineOf(self), name);
        return TensorLocation::kDEVICE;
      },
      py::arg("name"), py::doc("DEVICE: clrt engines read and write I/O tensors on the device."));
  addMethod(
      engine, "get_tensor_vectorized_dim",
      [](const py::object& self, const std::string& name) {
        ioTensor(*engineOf(self), name);
        return -1;
      },
      py::arg("name"), py::doc("-1: LINEAR tensors are not vectorized."));
  addMethod(
      engine, "get_tensor_components_per_element",
      [](const py::object& self, const std::string& name) {
        ioTensor(*engineOf(self), name);
        return 1;
      },
      py::arg("name"));
  addMethod(
      engine, "is_shape_inference_io",
      [](const py::object& self, const std::string& name) {
        const auto& e = *engineOf(self);
        ioTensor(e, name);
        const auto& t = e.desc().net.tensors[e.ioTensorId(name)];
        return t.is_input && t.is_shape_tensor;
      },
      py::arg("name"), py::doc("True for shape-tensor inputs (values read on the host)."));
  addProperty(
      engine, "profiling_verbosity",
      [m](const py::object& self) {
        return m.attr("ProfilingVerbosity")(engineOf(self)->desc().profiling_verbosity);
      },
      "The builder config's profiling_verbosity when the engine was built.");
  // TensorRT 10's engine has no len(); `if not engine:` (Polygraphy's loaders) must not reach
  // the deprecated TensorRT 8 __len__.
  addMethod(engine, "__bool__", [](const py::object&) { return true; });
  addProperty(
      engine, "refittable",
      [](const py::object& self) { return engineOf(self)->desc().refittable; },
      "True when built with BuilderFlag.REFIT (or REFIT_IDENTICAL, STRIP_PLAN): clrt.Refitter "
      "can set new weights.");

  const py::object tensor = m.attr("ITensor");
  addProperty(
      tensor, "is_shape_tensor",
      [](const TensorHandle& h) {
        h.get();
        return shapeTensors(h.net()).count(h.id) > 0;
      },
      "True for rank-0/1 integer tensors computed from Shape layers or inputs whose values "
      "decide shapes (give those values with profile.set_shape_input).");
  addProperty(
      tensor, "is_execution_tensor", [](const TensorHandle& h) { return isExecutionTensor(h); },
      "True unless the tensor is a shape tensor read only by shape arithmetic.");
  addProperty(
      tensor, "location", [](const TensorHandle&) { return TensorLocation::kDEVICE; }, "DEVICE.");
}

}  // namespace clrt::python
