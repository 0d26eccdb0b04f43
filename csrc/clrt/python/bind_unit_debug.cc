// clrt._clrt._debug: device-free views of the graph passes and of the engine file format, so
// tests/unit can check each pass on a tiny network and the plan's round trip and refusals
// without an OpenCL device.
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "clrt/builder/internal.h"
#include "clrt/core/version.h"
#include "clrt/ocl/fault.h"
#include "clrt/passes/passes.h"
#include "clrt/plan/plan.h"
#include "clrt/python/bindings.h"
#include "clrt/runtime/host_io.h"
#include "clrt/tactics/tactic.h"

namespace clrt::python {
namespace {

py::object attrValue(const ir::AttrValue& v) {
  return std::visit([](const auto& x) { return py::object(py::cast(x)); }, v);
}

// _debug.refine_precisions: the problem from Python lists (see its docstring).
std::vector<DataType> refinePrecisionsFromPy(const py::list& layers, const py::list& tensors,
                                             double fixedMs, double msPerByte) {
  builder::detail::PrecisionProblem p;
  for (const auto& item : layers) {
    const auto d = item.cast<py::dict>();
    p.layers.push_back({d["ms"].cast<std::map<DataType, double>>(), d["prec"].cast<DataType>()});
  }
  for (const auto& item : tensors) {
    const auto d = item.cast<py::dict>();
    builder::detail::PrecisionProblem::Tensor t;
    t.elems = d["elems"].cast<int64_t>();
    t.producer = d.contains("producer") ? d["producer"].cast<int>() : -1;
    t.src = d.contains("src") ? d["src"].cast<DataType>() : DataType::kFLOAT;
    t.int8_ok = d.contains("int8_ok") ? d["int8_ok"].cast<bool>() : true;
    t.keep_int8 = d.contains("keep_int8") && d["keep_int8"].cast<bool>();
    if (d.contains("consumers")) t.consumers = d["consumers"].cast<std::vector<int>>();
    if (d.contains("fixed")) t.fixed = d["fixed"].cast<std::vector<DataType>>();
    for (int c : t.consumers)
      CLRT_CHECK(c >= 0 && static_cast<size_t>(c) < p.layers.size(), kValue, "consumer ", c,
                 " is not a layer index");
    CLRT_CHECK(t.producer < static_cast<int>(p.layers.size()), kValue, "producer ", t.producer,
               " is not a layer index");
    p.tensors.push_back(std::move(t));
  }
  return builder::detail::refinePrecisions(p, {fixedMs, msPerByte});
}

py::str tensorName(const ir::Network& net, int t) {
  return pyText(t < 0 ? std::string() : net.tensors[static_cast<size_t>(t)].name);
}

// {"layers": [{name, kind, inputs, outputs, attrs, weights, onnx_nodes}], "ranges": {tensor:
// (lo, hi)}, "explicit_quantization": bool}; live layers only, in the network's order.
py::dict describe(const ir::Network& net) {
  py::list layers;
  for (const ir::Layer& l : net.layers) {
    if (l.dead) continue;
    py::dict d;
    d["name"] = pyText(l.name);
    d["kind"] = ir::layerKindName(l.kind);
    py::list ins, outs, weights, nodes;
    for (int t : l.inputs) ins.append(tensorName(net, t));
    for (int t : l.outputs) outs.append(tensorName(net, t));
    for (const auto& kv : l.weights) weights.append(pyText(kv.first));
    for (const auto& n : l.onnx_nodes) nodes.append(pyText(n));
    py::dict attrs;
    for (const auto& kv : l.attrs.all()) attrs[pyText(kv.first)] = attrValue(kv.second);
    d["inputs"] = ins;
    d["outputs"] = outs;
    d["attrs"] = attrs;
    d["weights"] = weights;
    d["onnx_nodes"] = nodes;
    layers.append(d);
  }
  py::dict ranges;
  for (const ir::Tensor& t : net.tensors)
    if (t.dynamic_range)
      ranges[pyText(t.name)] = py::make_tuple(t.dynamic_range->first, t.dynamic_range->second);
  py::dict out;
  out["layers"] = layers;
  out["ranges"] = ranges;
  out["explicit_quantization"] = net.explicit_quantization;
  return out;
}

// Runs on a copy: the network object is left as it was. `names` None: the builder's whole
// pipeline (passes::optimize); else each named pass once, in the order given, then compact().
py::dict optimizeDebug(const NetworkState& network, const std::optional<py::list>& names) {
  ir::Network net = *network.net;
  if (!names) {
    passes::optimize(net, nullptr);
    return describe(net);
  }
  for (const auto& n : *names) {
    const std::string name = py::str(n);
    const auto& all = passes::pipeline();
    auto it =
        std::find_if(all.begin(), all.end(), [&](const passes::Pass& p) { return name == p.name; });
    if (it == all.end()) {
      std::string known;
      for (const auto& p : all) known += (known.empty() ? "" : ", ") + std::string(p.name);
      fail(ErrorKind::kValue, str("_optimize: no pass '", name, "'; the passes are ", known));
    }
    it->run(net);
    if (it->run == passes::foldConstants) net.inferShapes();
  }
  net.compact();
  return describe(net);
}

// An engine file holding the network as it is (no tactics, no binaries, no profiles): the
// format's round trip and refusals need no device.
py::bytes planOf(const NetworkState& network, const std::string& clrtVersion) {
  plan::EngineDesc d;
  d.net = *network.net;
  d.tactics.assign(d.net.layers.size(), "");
  d.on_host.assign(d.net.layers.size(), 0);
  d.clrt_version = clrtVersion;
  d.device_name = "none";
  d.device_fingerprint = "none";
  d.name = network.name;
  const std::vector<uint8_t> bytes = plan::serialize(d);
  return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// What plan::deserialize reads back (the checks before a device is involved).
py::dict readPlan(const py::bytes& data) {
  const std::string s = data;
  const plan::EngineDesc d =
      plan::deserialize(reinterpret_cast<const uint8_t*>(s.data()), s.size(), true);
  py::dict out = describe(d.net);
  out["clrt_version"] = pyText(d.clrt_version);
  out["device_name"] = pyText(d.device_name);
  out["name"] = pyText(d.name);
  py::list ins, outs;
  for (int t : d.net.inputs) ins.append(tensorName(d.net, t));
  for (int t : d.net.outputs) outs.append(tensorName(d.net, t));
  out["network_inputs"] = ins;
  out["network_outputs"] = outs;
  return out;
}

}  // namespace

void bind_unit_debug(py::module_& m) {
  py::module_ d = m.def_submodule("_debug", "Device-free internals for tests/unit.");
  using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;
  d.def(
      "host_quantize",
      [](const Floats& x, float inv) {
        py::array_t<int8_t> q(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
        runtime::quantizeAsKernel(x.data(), q.mutable_data(), static_cast<size_t>(x.size()), inv);
        return q;
      },
      py::arg("x"), py::arg("inv"),
      "int8 array of x * inv quantized as infer() does it for an INT8 upload (HostIO).");
  d.def(
      "host_halves",
      [](const Floats& x) {
        py::array_t<uint16_t> h(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
        runtime::toHalves(x.data(), h.mutable_data(), static_cast<size_t>(x.size()));
        return h;
      },
      py::arg("x"), "uint16 array of x's half bits as infer() converts them for a HALF upload.");
  d.def(
      "half_uploads", [] { return runtime::narrowUploadCount(DataType::kHALF); },
      "How many infer() uploads in this process sent a FLOAT input as HALF (HostIO).");
  d.def(
      "int8_uploads", [] { return runtime::narrowUploadCount(DataType::kINT8); },
      "How many infer() uploads in this process sent a FLOAT input as INT8 (HostIO).");
  d.def(
      "host_blocks_made", [] { return runtime::HostBlocks::made(); },
      "How many host blocks infer()'s output pools allocated in this process (HostBlocks): "
      "[page-locked, ordinary].");
  d.def("optimize", &optimizeDebug, py::arg("network"), py::arg("passes") = py::none(),
        "The network after the graph passes (all, to a fixed point, when passes is None) as "
        "{'layers': [...], 'ranges': {...}, 'explicit_quantization': bool}; the network itself "
        "is not changed.");
  d.def(
      "pass_names",
      [] {
        py::list out;
        for (const auto& p : passes::pipeline()) out.append(p.name);
        return out;
      },
      "The pipeline's passes in the order optimize() runs them.");
  d.def(
      "untimed_order",
      [](const std::string& kind, bool gpu) {
        ocl::DeviceInfo dev;
        dev.is_gpu = gpu;
        std::vector<const tactics::Tactic*> ts = tactics::tacticsFor(ir::layerKindFromName(kind));
        std::stable_sort(ts.begin(), ts.end(), [&](const auto* a, const auto* b) {
          return a->untimedPriority(dev) < b->untimedPriority(dev);
        });
        py::list out;
        for (const auto* t : ts) out.append(t->name());
        return out;
      },
      py::arg("kind"), py::arg("gpu"),
      "The tactics of a layer kind (TensorRT's name, e.g. 'CONVOLUTION') in the order an "
      "untimed build (builder_optimization_level 0) prefers them on a GPU or not, before "
      "eligibility.");
  d.def(
      "kernel_source", [](const std::string& file) { return ocl::kernelSource(file); },
      py::arg("file"),
      "The source of an OpenCL program file (e.g. 'tc_gemm.cl') as the driver is given it: the "
      "kernel prelude in front, its #include lines expanded. For benchmarks/compile_threads.cc.");
  d.def(
      "retarget_wgmma",
      [](const py::bytes& ptx) -> py::object {
        const std::string s = ptx;
        std::vector<uint8_t> bin(s.begin(), s.end());
        if (!ocl::retargetWgmma(bin)) return py::none();
        return py::bytes(reinterpret_cast<const char*>(bin.data()), bin.size());
      },
      py::arg("ptx"),
      "What the build makes of a TC_WGMMA program's PTX on NVIDIA (ocl::retargetWgmma): the "
      "'//WG:' markers removed and the target made sm_90a (a NUL after it, as a binary); None "
      "for PTX that is not for sm_90 or has no marker.");
  d.def("fail_programs", &ocl::setProgramFault, py::arg("pattern"),
        "From now on every OpenCL program whose 'file [options]' contains pattern fails to build "
        "(clrt.DeviceError, as a real compiler refusal); '' turns this off. For tests of what "
        "the builder does when a tactic's program does not build on a device.");
  d.def("fp16_fallback_layer", &builder::detail::fallbackLayer, py::arg("errors"),
        "The FP16 check's fallback choice among (own error, inputs' error) pairs of FP16 layers "
        "(relative L2 to FP32): the index of the layer it keeps in FP32 when a network output "
        "is far from FP32 and no layer is out of proportion.");
  d.def("refine_precisions", &refinePrecisionsFromPy, py::arg("layers"), py::arg("tensors"),
        py::arg("fixed_ms"), py::arg("ms_per_byte"),
        "The builder's whole-network precision refinement on a made-up problem: layers "
        "[{'ms': {DataType: ms}, 'prec': DataType}] (fewer than two timed precisions: fixed), "
        "tensors [{'elems', 'producer' (layer index, -1), 'src', 'int8_ok', 'keep_int8', "
        "'consumers' (layer indices), 'fixed' (other readers' DataTypes)}], a reformat costing "
        "fixed_ms + ms_per_byte per byte read and written. Returns each layer's precision.");
  d.def("plan_of", &planOf, py::arg("network"), py::arg("clrt_version") = kVersion,
        "An engine file of the network as it is, with no tactics or program binaries.");
  d.def("read_plan", &readPlan, py::arg("data"),
        "The engine file's fields as plan/ reads them; clrt.EngineFormatError when refused.");
}

}  // namespace clrt::python
