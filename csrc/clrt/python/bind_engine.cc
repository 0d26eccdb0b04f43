// Runtime, ICudaEngine and IExecutionContext (TensorRT 10 names, TRT 8 aliases deprecated).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <type_traits>

#include "clrt/builder/builder.h"
#include "clrt/ocl/device.h"
#include "clrt/onnx/parser.h"
#include "clrt/python/bindings.h"
#include "clrt/python/context.h"
#include "clrt/runtime/engine.h"

namespace clrt::python {

// TensorRT's ExecutionContextAllocationStrategy (its values): STATIC and ON_PROFILE_CHANGE make
// contexts that allocate their own activations (clrt sizes them for each run's shapes either
// way), USER_MANAGED ones that use the memory given with set_device_memory.
enum class ExecutionContextAllocationStrategy {
  kSTATIC = 0,
  kON_PROFILE_CHANGE = 1,
  kUSER_MANAGED = 2
};

// [min, opt, max] of a shape input's profile values as lists (bind_builder.cc, next to
// set_shape_input, which makes them).
py::list valueLists(const plan::ValueRange& r);

namespace {

using runtime::TensorIOMode;

// DOUBLE inputs are computed in float32 (the parser warns): a finite value beyond float32's
// range would become an infinity silently, so it is refused instead.
void checkFloatRange(const std::string& name, const py::array& v) {
  const double* p = static_cast<const double*>(v.data());
  for (py::ssize_t i = 0; i < v.size(); ++i)
    if (std::isfinite(p[i]) && std::fabs(p[i]) > std::numeric_limits<float>::max())
      fail(ErrorKind::kValue,
           str("infer: input '", name, "' is DOUBLE and holds ", p[i], " at flat index ", i,
               ", beyond float32's range; clrt computes DOUBLE tensors in FLOAT (float32)"));
}

// The engine keeps its logger alive: contexts log through the engine's pointer to it.
struct Engine {
  std::shared_ptr<runtime::Engine> e;
  py::object logger;
  std::string name;
};

// execute_v2's per-layer step under debug_sync: wait for the layer, then log it through the
// engine's logger (which takes the GIL itself).
runtime::ExecutionContext::LayerObserver syncEachLayer(Context& c) {
  ILogger* log = loggerOf(c.engine.cast<Engine&>().logger);
  const runtime::Engine& e = c.ctx->engine();
  return [log, &e](int li, const tactics::ExecArgs& a) {
    ocl::check(clFinish(a.queue), "clFinish (debug_sync)");
    const auto& d = e.desc();
    logf(log, Severity::kINFO, "debug_sync: layer '", d.net.layers[static_cast<size_t>(li)].name,
         "' (", d.tactics[static_cast<size_t>(li)], ") finished");
  };
}

struct Runtime {
  py::object logger;
  bool rebuild_programs = false;
};

const std::string& ioName(const runtime::Engine& e, int64_t i) {
  if (i < 0 || i >= e.numIOTensors())
    throw py::index_error(str("I/O tensor index ", i, " out of range [0, ", e.numIOTensors(), ")"));
  return e.ioName(static_cast<int>(i));
}

py::list shapeRange(const plan::ShapeRange& r) {
  py::list out;
  for (const Dims* d : {&r.min, &r.opt, &r.max}) out.append(toTuple(*d));
  return out;
}

std::string inputList(const runtime::Engine& e) {
  std::string s;
  for (int i = 0; i < e.numIOTensors(); ++i)
    if (e.ioMode(e.ioName(i)) == TensorIOMode::kINPUT)
      s += (s.empty() ? "'" : ", '") + e.ioName(i) + "'";
  return s;
}

// Whether I/O tensor `name` is stored channels last (its allowed_formats asked for HWC): infer()
// then takes and returns arrays of shape (N, H, W, C) (rank 3: (N, W, C)), the memory order.
bool ioHwc(const runtime::Engine& e, const std::string& name) {
  return e.ioFormat(name) == ir::TensorFormat::kHWC;
}
// Logical dims [N, C, ...spatial] <-> the channels-last array shape [N, ...spatial, C].
Dims hwcShape(Dims d) {
  if (d.size() >= 3) std::rotate(d.begin() + 1, d.begin() + 2, d.end());
  return d;
}
Dims logicalOfHwc(Dims d) {
  if (d.size() >= 3) std::rotate(d.begin() + 1, d.end() - 1, d.end());
  return d;
}

// infer(): names checked first, then each array converted to the tensor's dtype.
py::dict infer(Context& c, const py::dict& feeds, bool debug) {
  const runtime::Engine& e = c.ctx->engine();
  std::map<std::string, runtime::HostView> inputs;
  std::vector<py::array> held;  // the arrays the views point into, alive while the GIL is off
  for (auto item : feeds) {
    const std::string name = py::str(item.first);
    CLRT_CHECK(e.ioMode(name) == TensorIOMode::kINPUT, kValue, "infer: '", name,
               "' is not an input of this engine; inputs are ", inputList(e));
  }
  py::module_ np = py::module_::import("numpy");
  for (int i = 0; i < e.numIOTensors(); ++i) {
    const std::string& name = e.ioName(i);
    if (e.ioMode(name) != TensorIOMode::kINPUT) continue;
    CLRT_CHECK(feeds.contains(name), kValue, "infer: missing input '", name, "'; inputs are ",
               inputList(e));
    const DataType want = e.ioDtype(name);
    const py::object given = feeds[py::str(name)];
    py::array a = np.attr("asarray")(given);
    // An array (or NumPy scalar) must come in the input's dtype, as onnxruntime requires: a
    // silent conversion would hide a float64 or int64 array fed to a narrower input. Python
    // numbers and lists have no dtype and are converted when they fit.
    if (py::isinstance<py::array>(given) || py::isinstance(given, np.attr("generic"))) {
      const py::dtype w = numpyDtype(want);
      CLRT_CHECK(a.dtype().kind() == w.kind() && a.dtype().itemsize() == w.itemsize(), kValue,
                 "infer: input '", name, "' has dtype ", std::string(py::str(a.dtype())),
                 ", but the engine's input is ", dtypeName(want), " (",
                 std::string(py::str(numpyDtype(want))), "); convert it first, e.g. x.astype(np.",
                 std::string(py::str(numpyDtype(want))), ")");
    } else {
      const char kind = a.dtype().kind();
      const bool ok = kind == 'b' || ((kind == 'i' || kind == 'u') && want != DataType::kBOOL) ||
                      (kind == 'f' && isFloatDtype(want));
      CLRT_CHECK(ok, kValue, "infer: input '", name, "' has dtype ",
                 std::string(py::str(a.dtype())), ", which does not convert to the engine's ",
                 dtypeName(want));
    }
    held.push_back(contiguous(a, numpyDtype(want)));
    const py::array& v = held.back();
    if (want == DataType::kDOUBLE) checkFloatRange(name, v);
    Dims dims(v.shape(), v.shape() + v.ndim());
    if (ioHwc(e, name)) {
      const Dims expect = hwcShape(e.ioShape(name));
      bool fits = dims.size() == expect.size();
      for (size_t k = 0; fits && k < dims.size(); ++k) fits = expect[k] < 0 || expect[k] == dims[k];
      CLRT_CHECK(fits, kValue, "infer: input '", name,
                 "' is stored channels last (its allowed_formats ask for HWC): give it as an ",
                 "array of shape ", dimsToString(expect), " ([N, H, W, C]); got ",
                 dimsToString(dims));
      dims = logicalOfHwc(dims);
    }
    inputs[name] = runtime::HostView{want, dims, v.data(), static_cast<size_t>(v.nbytes())};
  }
  std::map<std::string, runtime::HostOutput> outputs;
  DebugValues marked;
  runWithDebug(
      c,
      [&] {
        py::gil_scoped_release release;
        outputs = c.ctx->inferPooled(inputs);
      },
      debug ? &marked : nullptr);
  py::dict out;
  for (int i = 0; i < e.numIOTensors(); ++i) {
    auto it = outputs.find(e.ioName(i));
    if (it == outputs.end()) continue;
    if (ioHwc(e, e.ioName(i))) it->second.dims = hwcShape(it->second.dims);  // bytes are NHWC
    out[pyText(e.ioKey(i))] = toArray(std::move(it->second));
  }
  return debug ? inferDebugValues(c, std::move(marked), out) : out;
}

void bindEngineLegacy(py::class_<Engine>& cls);

// The network tensor an engine tensor holds: itself, or through the builder's REFORMATs (x_INT8
// is x quantized) the tensor they convert.
std::string rangeName(const ir::Network& net, int t) {
  for (int hops = 0; hops < 8; ++hops) {
    const int p = net.tensors[t].producer;
    if (p < 0 || net.layers[p].kind != ir::LayerKind::kREFORMAT || net.layers[p].inputs.empty() ||
        net.layers[p].inputs[0] < 0)
      break;
    t = net.layers[p].inputs[0];
  }
  return net.tensors[t].name;
}

// New INT8 ranges (network tensor name -> amax) into a refitted engine: the scales every layer
// reading or writing the tensor, or a REFORMAT's copy of it, keeps (the runtime derives its
// multipliers from them when it loads).
// Calls f(network tensor name, scale) for every INT8 input and output of every layer; in a
// non-const network a scale f changes is stored back.
template <typename Net, typename F>
void forEachInt8Scale(Net& net, F&& f) {
  for (auto& l : net.layers)
    for (const char* side : {"in_scales", "out_scales"}) {
      const auto& ts = side[0] == 'i' ? l.inputs : l.outputs;
      std::vector<double> scales = l.attrs.floats(side);
      bool changed = false;
      for (size_t i = 0; i < scales.size() && i < ts.size(); ++i) {
        if (!(scales[i] > 0) || ts[i] < 0) continue;
        const double before = scales[i];
        f(rangeName(net, ts[i]), scales[i]);
        changed = changed || scales[i] != before;
      }
      if constexpr (!std::is_const_v<Net>) {
        if (changed) l.attrs.set(side, scales);
      } else {
        (void)changed;
      }
    }
}

void setInt8Ranges(ir::Network& net, const std::map<std::string, double>& amax) {
  if (amax.empty()) return;
  forEachInt8Scale(net, [&](const std::string& name, double& scale) {
    auto it = amax.find(name);
    if (it != amax.end()) scale = it->second / 127.0;
  });
  for (size_t t = 0; t < net.tensors.size(); ++t) {
    auto it = amax.find(rangeName(net, static_cast<int>(t)));
    if (it != amax.end() && net.tensors[t].dynamic_range)
      net.tensors[t].dynamic_range = {static_cast<float>(-it->second),
                                      static_cast<float>(it->second)};
  }
}

// What clrt.Refitter (python/clrt/_refit.py) calls: the refittable weights, and the refit itself,
// which builds a new engine from the refitted description (programs reused, weights packed
// anew) and puts it in this ICudaEngine's place; contexts made before stop with an error.
void bindRefit(py::class_<Engine>& cls) {
  cls.def(
         "_refit_weights",
         [](const Engine& x) {
           py::list out;
           for (const ir::Layer& l : x.e->desc().refit_source.layers)
             for (const auto& [key, w] : l.weights)
               out.append(py::make_tuple(pyText(l.name), key, toTuple(w.dims), w.dtype));
           return out;
         },
         "(layer name, weights key, dims, DataType) of every weights tensor a refit can set.")
      .def(
          "_refit_weights_value",
          [](const Engine& x, const std::string& layer, const std::string& key) {
            for (const ir::Layer& l : x.e->desc().refit_source.layers)
              if (l.name == layer && l.weights.count(key)) return toArray(l.weights.at(key));
            fail(ErrorKind::kValue, str("no weights '", key, "' on layer '", layer, "'"));
          },
          py::arg("layer"), py::arg("key"))
      .def(
          "_refit_named",
          [](const Engine& x) {
            py::list out;
            if (!x.e->desc().refit_onnx.empty())
              for (const auto& i : onnx::floatInitializers(x.e->desc().refit_onnx))
                out.append(py::make_tuple(pyText(i.name), toTuple(i.dims), i.onnx_type));
            return out;
          },
          "(initializer name, dims, ONNX dtype) of the float initializers of the ONNX model the "
          "engine was parsed from (empty for network-API builds).")
      .def(
          "_refit_ranges",
          [](const Engine& x) {
            std::map<std::string, double> amax;
            forEachInt8Scale(x.e->desc().net, [&](const std::string& name, double& scale) {
              amax[name] = scale * 127.0;
            });
            py::list out;
            for (const auto& [name, a] : amax) out.append(py::make_tuple(pyText(name), a));
            return out;
          },
          "(tensor name, amax) of every INT8 tensor of the engine (scale = amax / 127).")
      .def(
          "_refit",
          [](Engine& x, const py::list& updates, const py::list& named, const py::dict& ranges) {
            const plan::EngineDesc& old = x.e->desc();
            ir::Network source = old.refit_source;
            std::string model = old.refit_onnx;
            ILogger* log = loggerOf(x.logger);
            if (!named.empty()) {
              CLRT_CHECK(!model.empty(), kValue,
                         "refit: the engine's network was not parsed from ONNX, so it has no "
                         "named weights; use set_weights(layer_name, role, weights)");
              std::map<std::string, std::string> values;
              for (py::handle u : named) {
                auto t = u.cast<py::tuple>();
                BufferView view(t[1], false, "refit weights");
                values[t[0].cast<std::string>()] =
                    std::string(static_cast<const char*>(view.data()), view.size());
              }
              py::gil_scoped_release release;
              model = onnx::replaceInitializers(model, values);
              ir::Network parsed;
              onnx::OnnxParser parser(parsed, log);
              if (!parser.parse(model.data(), model.size(), old.refit_onnx_dir))
                fail(ErrorKind::kValue,
                     str("refit: the ONNX model with the new weights does not parse: ",
                         parser.errors().empty() ? "" : parser.errors().front().toString()));
              builder::takeWeights(source, parsed);
            }
            for (py::handle u : updates) {
              auto t = u.cast<py::tuple>();
              const auto layer = t[0].cast<std::string>(), key = t[1].cast<std::string>();
              const int li = source.findLayer(layer);
              CLRT_CHECK(li >= 0 && source.layers[li].weights.count(key), kValue,
                         "refit: no weights '", key, "' on layer '", layer, "'");
              HostTensor& w = source.layers[li].weights.at(key);
              BufferView view(t[2], false, "refit weights");
              CLRT_CHECK(view.size() == w.bytes.size(), kValue, "refit: layer '", layer,
                         "' weights '", key, "' take ", w.bytes.size(), " bytes, got ",
                         view.size());
              std::memcpy(w.bytes.data(), view.data(), view.size());
            }
            std::map<std::string, double> amax;  // tensor name -> new amax
            for (auto [k, v] : ranges) amax[k.cast<std::string>()] = v.cast<double>();
            std::shared_ptr<runtime::Engine> fresh;
            {
              py::gil_scoped_release release;
              plan::EngineDesc desc = builder::refitDesc(old, std::move(source), log);
              desc.refit_onnx = std::move(model);
              setInt8Ranges(desc.net, amax);
              fresh = runtime::Engine::create(std::move(desc), x.e->devicePtr(), log);
            }
            x.e->supersede();
            x.e = std::move(fresh);
          },
          py::arg("updates"), py::arg("named"), py::arg("ranges") = py::dict(),
          "updates: [(layer name, weights key, C-contiguous buffer of the weights' dtype)]; "
          "named: [(initializer name, buffer of the initializer's dtype)]; ranges: {INT8 tensor "
          "name: amax}.");
}

// A context of the engine `self` (kept alive by it); `userManaged`: USER_MANAGED.
Context contextOf(const py::object& self, bool userManaged) {
  Context c;
  c.ctx = self.cast<Engine&>().e->createExecutionContext(userManaged);
  c.engine = self;
  return c;
}

void bindEngine(py::module_& m) {
  py::class_<Engine> cls(m, "ICudaEngine", "A built engine: I/O tensor queries and contexts.");
  bindRefit(cls);
  cls.def_property_readonly("num_io_tensors", [](const Engine& x) { return x.e->numIOTensors(); })
      .def(
          "get_tensor_name", [](const Engine& x, int64_t i) { return pyText(ioName(*x.e, i)); },
          py::arg("index"), "Inputs first (network order), then outputs.")
      .def(
          "get_tensor_mode", [](const Engine& x, const std::string& n) { return x.e->ioMode(n); },
          py::arg("name"))
      .def(
          "get_tensor_shape",
          [](const Engine& x, const std::string& n) { return toTuple(x.e->ioShape(n)); },
          py::arg("name"), "Build-time dims; -1 for dynamic ones.")
      .def(
          "get_tensor_dtype", [](const Engine& x, const std::string& n) { return x.e->ioDtype(n); },
          py::arg("name"))
      .def(
          "get_tensor_profile_shape",
          [](const Engine& x, const std::string& n, int p) {
            return shapeRange(x.e->profileShape(n, p));
          },
          py::arg("name"), py::arg("profile_index"), "[min, opt, max] of an input.")
      .def(
          "get_tensor_profile_values",
          [](const Engine& x, const std::string& n, int p) {
            const auto& profiles = x.e->desc().profiles;
            CLRT_CHECK(p >= 0 && p < static_cast<int>(profiles.size()), kValue,
                       "optimization profile ", p, " out of range [0, ", profiles.size(), ")");
            auto it = profiles[p].values.find(n);
            CLRT_CHECK(it != profiles[p].values.end(), kValue, "'", n,
                       "' is not a shape-tensor input of profile ", p);
            return valueLists(it->second);
          },
          py::arg("name"), py::arg("profile_index"),
          "[min, opt, max] values of a shape-tensor input.")
      .def_property_readonly("num_optimization_profiles",
                             [](const Engine& x) { return std::max(x.e->numProfiles(), 1); })
      .def_property_readonly("num_layers", [](const Engine& x) { return x.e->numLayers(); })
      .def_property_readonly(
          "device_memory_size",
          [](const Engine& x) {
            uint64_t most = 0;
            for (int p = 0; p < std::max(x.e->numProfiles(), 1); ++p)
              most = std::max(most, x.e->deviceMemoryForProfile(p));
            return most;
          },
          "Device memory a context needs at most (activations and workspace, at the largest "
          "profile's max shapes): what a USER_MANAGED context is to be given.")
      .def_property_readonly("peak_activation_bytes",
                             [](const Engine& x) { return x.e->peakActivationBytes(); })
      .def_readonly("name", &Engine::name)
      .def_property_readonly("has_implicit_batch_dimension", [](const Engine&) { return false; })
      .def(
          "create_execution_context",
          [](const py::object& self, ExecutionContextAllocationStrategy strategy) {
            return contextOf(self, strategy == ExecutionContextAllocationStrategy::kUSER_MANAGED);
          },
          py::arg("strategy") = ExecutionContextAllocationStrategy::kSTATIC,
          "A context with its own shapes and buffers (several may run one engine). STATIC and "
          "ON_PROFILE_CHANGE: it allocates its activations itself, for the shapes each run has; "
          "USER_MANAGED: they go in the memory given with set_device_memory.")
      .def(
          "create_execution_context_without_device_memory",
          [](const py::object& self) { return contextOf(self, true); },
          "A context whose activations go in the device memory given with set_device_memory "
          "(ExecutionContextAllocationStrategy.USER_MANAGED).")
      .def(
          "get_device_memory_size_for_profile",
          [](const Engine& x, int p) { return x.e->deviceMemoryForProfile(p); },
          py::arg("profile_index"),
          "Bytes of device memory a USER_MANAGED context needs at the profile's max shapes.")
      .def(
          "get_device_memory_size_for_profile_v2",
          [](const Engine& x, int p) { return x.e->deviceMemoryForProfile(p); },
          py::arg("profile_index"), "get_device_memory_size_for_profile.")
      .def(
          "create_engine_inspector", [](const Engine& x) { return makeInspector(x.e); },
          "An IEngineInspector: per-layer precision, tactic and tensor types (see "
          "IBuilderConfig.profiling_verbosity).")
      .def("serialize",
           [](const Engine& x) {
             HostMemory h;
             py::gil_scoped_release release;
             h.bytes = x.e->serialize();
             return h;
           })
      .def("__enter__", [](const py::object& self) { return self; })
      .def("__exit__", [](const py::object&, const py::args&) { return false; })
      .def("__repr__", [](const Engine& x) {
        return str("<clrt.ICudaEngine '", x.name, "': ", x.e->numIOTensors(), " I/O tensors, ",
                   x.e->numLayers(), " layers>");
      });
  bindEngineLegacy(cls);
}

// A TensorRT 8 binding: an I/O index or a tensor name.
std::string bindingName(const runtime::Engine& e, const py::object& binding) {
  if (py::isinstance<py::str>(binding)) {
    const std::string n = binding.cast<std::string>();
    e.ioTensorId(n);  // ValueError naming the I/O tensors when unknown
    return n;
  }
  return ioName(e, binding.cast<int64_t>());
}

// TensorRT 8's binding API (deprecated there too): indices or names, a DeprecationWarning each.
void bindEngineLegacy(py::class_<Engine>& cls) {
  auto warn = [](const char* old, const char* now) {
    warnDeprecated(str(old, " is deprecated (TensorRT 8 binding API); use ", now));
  };
  cls.def_property_readonly("num_bindings",
                            [warn](const Engine& x) {
                              warn("num_bindings", "num_io_tensors");
                              return x.e->numIOTensors();
                            })
      .def_property_readonly("max_batch_size",
                             [warn](const Engine&) {
                               warn("max_batch_size", "explicit batch dims");
                               return 1;
                             })
      .def(
          "get_binding_name",
          [warn](const Engine& x, int64_t i) {
            warn("get_binding_name", "get_tensor_name");
            return ioName(*x.e, i);
          },
          py::arg("index"))
      .def(
          "get_binding_index",
          [warn](const Engine& x, const std::string& n) {
            warn("get_binding_index", "tensor names");
            for (int i = 0; i < x.e->numIOTensors(); ++i)
              if (x.e->ioName(i) == n) return i;
            return -1;
          },
          py::arg("name"))
      .def(
          "binding_is_input",
          [warn](const Engine& x, const py::object& b) {
            warn("binding_is_input", "get_tensor_mode");
            return x.e->ioMode(bindingName(*x.e, b)) == TensorIOMode::kINPUT;
          },
          py::arg("binding"))
      .def(
          "get_binding_shape",
          [warn](const Engine& x, const py::object& b) {
            warn("get_binding_shape", "get_tensor_shape");
            return toTuple(x.e->ioShape(bindingName(*x.e, b)));
          },
          py::arg("binding"))
      .def(
          "get_binding_dtype",
          [warn](const Engine& x, const py::object& b) {
            warn("get_binding_dtype", "get_tensor_dtype");
            return x.e->ioDtype(bindingName(*x.e, b));
          },
          py::arg("binding"))
      .def(
          "get_profile_shape",
          [warn](const Engine& x, int p, const py::object& b) {
            warn("get_profile_shape", "get_tensor_profile_shape");
            return shapeRange(x.e->profileShape(bindingName(*x.e, b), p));
          },
          py::arg("profile_index"), py::arg("binding"))
      .def("__len__",
           [warn](const Engine& x) {
             warn("len(engine)", "num_io_tensors");
             return x.e->numIOTensors();
           })
      .def("__getitem__",
           [warn](const Engine& x, int64_t i) {
             warn("engine[i]", "get_tensor_name(i)");
             return ioName(*x.e, i);
           })
      .def("__iter__", [warn](const Engine& x) {
        warn("iterating an engine", "get_tensor_name(i) for i in range(num_io_tensors)");
        py::list names;
        for (int i = 0; i < x.e->numIOTensors(); ++i) names.append(x.e->ioName(i));
        return py::iter(names);
      });
}

void bindContextShapes(py::class_<Context>& cls) {
  cls.def(
         "set_input_shape",
         [](Context& c, const std::string& n, const py::object& shape) {
           const Dims d = toDims(shape, "set_input_shape '" + n + "'");
           py::gil_scoped_release release;  // the context may be busy on another thread
           c.ctx->setInputShape(n, d);
           return true;
         },
         py::arg("name"), py::arg("shape"),
         "True; raises ValueError naming the input and the allowed range (TensorRT returns False).")
      .def(
          "get_tensor_shape",
          [](Context& c, const std::string& n) {
            Dims d;
            {
              py::gil_scoped_release release;
              d = c.ctx->getTensorShape(n);
            }
            return toTuple(d);
          },
          py::arg("name"))
      .def(
          "set_binding_shape",
          [](Context& c, int64_t i, const py::object& shape) {
            warnDeprecated("set_binding_shape is deprecated; use set_input_shape");
            const std::string n = ioName(c.ctx->engine(), i);
            const Dims d = toDims(shape, "set_binding_shape '" + n + "'");
            py::gil_scoped_release release;
            c.ctx->setInputShape(n, d);
            return true;
          },
          py::arg("binding"), py::arg("shape"))
      .def(
          "get_binding_shape",
          [](Context& c, int64_t i) {
            warnDeprecated("get_binding_shape is deprecated; use get_tensor_shape");
            return toTuple(c.ctx->getTensorShape(ioName(c.ctx->engine(), i)));
          },
          py::arg("binding"))
      .def_property_readonly("all_input_dimensions_specified",
                             [](const Context& c) {
                               py::gil_scoped_release release;
                               return c.ctx->allInputShapesSpecified();
                             })
      .def_property_readonly("all_input_shapes_specified",
                             [](const Context& c) {
                               py::gil_scoped_release release;
                               return c.ctx->allInputShapesSpecified();
                             })
      .def_property_readonly("all_shape_inputs_specified", [](const Context&) { return true; })
      .def_property_readonly("all_binding_shapes_specified",
                             [](const Context& c) {
                               warnDeprecated(
                                   "all_binding_shapes_specified is deprecated; use "
                                   "all_input_dimensions_specified");
                               return c.ctx->allInputShapesSpecified();
                             })
      .def(
          "set_optimization_profile_async",
          [](Context& c, int index, uintptr_t) {
            c.ctx->setOptimizationProfile(index);
            return true;
          },
          py::arg("profile_index"), py::arg("stream_handle") = 0,
          py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("active_optimization_profile",
                             [](const Context& c) { return c.ctx->optimizationProfile(); });
}

void bindContextExecution(py::class_<Context>& cls) {
  cls.def(
         "set_device_memory",
         [](Context& c, const py::object& ptr, uint64_t size) {
           const uintptr_t p = devicePointer(ptr, "set_device_memory");
           py::gil_scoped_release release;
           c.ctx->setDeviceMemory(p, size);
         },
         py::arg("memory"), py::arg("size"),
         "A USER_MANAGED context's device memory: a clrt.mem_alloc pointer of which the first "
         "`size` bytes hold the activations (at least update_device_memory_size_for_shapes()).")
      .def_property(
          "device_memory", [](const Context& c) { return c.ctx->deviceMemory(); },
          [](Context& c, const py::object& ptr) {
            const uintptr_t p = devicePointer(ptr, "device_memory");
            py::gil_scoped_release release;
            c.ctx->setDeviceMemory(p, 0);
          },
          "A USER_MANAGED context's device memory (the whole allocation).")
      .def(
          "get_max_output_size",
          [](const Context& c, const std::string& name) {
            py::gil_scoped_release release;
            return c.ctx->engine().maxOutputBytes(name, c.ctx->optimizationProfile());
          },
          py::arg("name"),
          "The most bytes output `name` can take under the active profile (its max shapes; a "
          "data-dependent dim at its upper bound, as for an IOutputAllocator); -1 for a name "
          "that is no output.")
      .def(
          "update_device_memory_size_for_shapes",
          [](Context& c) {
            py::gil_scoped_release release;
            return c.ctx->deviceMemoryForShapes();
          },
          "Bytes of device memory a USER_MANAGED context needs at its current input shapes.")
      .def(
          "set_tensor_address",
          [](Context& c, const std::string& n, const py::object& ptr) {
            const uintptr_t p = devicePointer(ptr, "set_tensor_address '" + n + "'");
            py::gil_scoped_release release;
            c.ctx->setTensorAddress(n, p);
            return true;
          },
          py::arg("name"), py::arg("memory"), "A pointer from clrt.mem_alloc (int or allocation).")
      .def(
          "get_tensor_address",
          [](const Context& c, const std::string& n) { return c.ctx->getTensorAddress(n); },
          py::arg("name"))
      .def(
          "execute_v2",
          [](Context& c, const py::sequence& bindings) {
            std::vector<uintptr_t> bufs;
            for (py::handle b : bindings)
              bufs.push_back(devicePointer(b, str("execute_v2 bindings[", bufs.size(), "]")));
            runWithDebug(
                c,
                [&] {
                  py::gil_scoped_release release;
                  c.ctx->execute(bufs);
                },
                nullptr, c.debug_sync ? syncEachLayer(c) : nullptr);
            return true;
          },
          py::arg("bindings"),
          "One pointer per I/O tensor (I/O order); runs and waits. With debug_sync, each layer "
          "is waited for and logged (INFO) as it finishes.")
      .def_property(
          "debug_sync", [](const Context& c) { return c.debug_sync; },
          [](Context& c, bool on) { c.debug_sync = on; },
          "When True, execute_v2 waits for each layer to finish and logs it (INFO, the engine's "
          "logger: layer, tactic), so a failing kernel is the one after the last line; no "
          "effect on execute_async_v3 (as in TensorRT).")
      .def(
          "execute_async_v3",
          [](Context& c, uintptr_t) {
            runWithDebug(c, [&] {
              py::gil_scoped_release release;
              c.ctx->enqueue();
            });
            return true;
          },
          py::arg("stream_handle") = 0,
          "Enqueues on the context's queue; memcpy_dtoh and Stream.synchronize() wait for it.")
      .def(
          "execute_async_v2",
          [](Context& c, const py::sequence& bindings, uintptr_t) {
            warnDeprecated("execute_async_v2 is deprecated; use execute_async_v3");
            const runtime::Engine& e = c.ctx->engine();
            CLRT_CHECK(static_cast<int>(py::len(bindings)) == e.numIOTensors(), kValue,
                       "execute_async_v2 expects ", e.numIOTensors(), " buffers, got ",
                       py::len(bindings));
            std::vector<uintptr_t> bufs;
            for (int i = 0; i < e.numIOTensors(); ++i)
              bufs.push_back(devicePointer(bindings[i], str("execute_async_v2 bindings[", i, "]")));
            runWithDebug(c, [&] {
              py::gil_scoped_release release;
              for (int i = 0; i < e.numIOTensors(); ++i)
                c.ctx->setTensorAddress(e.ioName(i), bufs[i]);
              c.ctx->enqueue();
            });
            return true;
          },
          py::arg("bindings"), py::arg("stream_handle") = 0)
      .def("infer", &infer, py::arg("feeds"), py::arg("debug") = false,
           "clrt's convenience: {input name: array} -> {output name: array}. Inputs are "
           "converted to the tensor dtypes; unknown or missing names raise ValueError. "
           "debug=True adds every debug tensor (network.mark_debug), whatever its debug state; "
           "INT8 ones as float32 (scaled by their dynamic range).")
      .def_property(
          "profiling", [](const Context& c) { return c.profiling; },
          [](Context& c, bool on) {
            py::gil_scoped_release release;
            c.ctx->setProfiling(on);
            c.profiling = on;
          },
          "clrt extension: time each layer (layer_times) on the next runs.")
      .def_property_readonly(
          "layer_times",
          [](const Context& c) {
            std::vector<std::pair<std::string, double>> t;
            {
              py::gil_scoped_release release;
              t = c.ctx->layerTimes();
            }
            return t;
          },
          "[(layer name, milliseconds)] of the last run with profiling on.");
}

void bindContext(py::module_& m) {
  py::class_<Context> cls(m, "IExecutionContext", "Shapes, buffers and execution for an engine.");
  cls.def_readonly("engine", &Context::engine).def_readwrite("name", &Context::name);
  bindContextShapes(cls);
  bindContextExecution(cls);
  bindContextDebug(cls);
  bindContextOutputAllocator(cls);
  cls.def("__enter__", [](const py::object& self) { return self; })
      .def("__exit__", [](const py::object&, const py::args&) { return false; });
}

}  // namespace

py::object wrapEngine(std::shared_ptr<runtime::Engine> engine, py::object logger,
                      std::string name) {
  if (name.empty()) name = engine->desc().name;
  return py::cast(Engine{std::move(engine), std::move(logger), std::move(name)});
}

std::shared_ptr<runtime::Engine> engineOf(const py::handle& engine) {
  return engine.cast<const Engine&>().e;
}

void bind_engine(py::module_& m) {
  py::enum_<ExecutionContextAllocationStrategy>(m, "ExecutionContextAllocationStrategy")
      .value("STATIC", ExecutionContextAllocationStrategy::kSTATIC)
      .value("ON_PROFILE_CHANGE", ExecutionContextAllocationStrategy::kON_PROFILE_CHANGE)
      .value("USER_MANAGED", ExecutionContextAllocationStrategy::kUSER_MANAGED);
  py::enum_<TensorIOMode>(m, "TensorIOMode")
      .value("NONE", TensorIOMode::kNONE)
      .value("INPUT", TensorIOMode::kINPUT)
      .value("OUTPUT", TensorIOMode::kOUTPUT);
  bindEngine(m);
  bindContext(m);
  py::class_<Runtime>(m, "Runtime", "Deserializes engines for the default OpenCL device.")
      .def(py::init([](const py::object& logger) {
             loggerOf(logger);  // type check
             return Runtime{logger};
           }),
           py::arg("logger"))
      .def_readonly("logger", &Runtime::logger)
      .def_readwrite(
          "rebuild_programs", &Runtime::rebuild_programs,
          "False (default): engines load the OpenCL program binaries stored in the file, which "
          "the driver runs as they are. True: every program is built from the OpenCL C source in "
          "this clrt (or taken from this machine's kernel cache) and the stored binaries are "
          "ignored; use it for engine files from sources you do not trust. Loading is then as "
          "slow as the first build of those kernels.")
      .def(
          "deserialize_cuda_engine",
          [](const Runtime& r, const py::object& data) {
            BufferView view(data, false, "deserialize_cuda_engine");
            ILogger* log = loggerOf(r.logger);
            std::shared_ptr<runtime::Engine> e;
            {
              py::gil_scoped_release release;
              e = runtime::Engine::deserialize(static_cast<const uint8_t*>(view.data()),
                                               view.size(), ocl::Device::getDefault(), log,
                                               r.rebuild_programs);
            }
            return wrapEngine(std::move(e), r.logger, "");
          },
          py::arg("serialized_engine"),
          "bytes, bytearray, memoryview, IHostMemory or a uint8 array. Raises "
          "clrt.EngineFormatError for damaged files or files built for another device.")
      .def("__enter__", [](const py::object& self) { return self; })
      .def("__exit__", [](const py::object&, const py::args&) { return false; });
}

}  // namespace clrt::python
