// IBuilderConfig settings of TensorRT 10 that select what kind of engine is built: clrt honors
// the values it builds (STANDARD engines, for the building device, on one queue) and refuses the
// others with clrt.UnsupportedError naming the setting and the value, so that a script asking
// for a safety, DLA, hardware-compatible or cross-platform engine learns that it did not get one.
#include "clrt/python/builder_py.h"

namespace clrt::python {
namespace {

// TensorRT 10.0's values.
enum class EngineCapability : int32_t { kSTANDARD = 0, kSAFETY = 1, kDLA_STANDALONE = 2 };
enum class TacticSource : int32_t {
  kCUBLAS = 0,
  kCUBLAS_LT = 1,
  kCUDNN = 2,
  kEDGE_MASK_CONVOLUTIONS = 3,
  kJIT_CONVOLUTIONS = 4,
};
enum class PreviewFeature : int32_t { kPROFILE_SHARING_0806 = 0, kALIASED_PLUGIN_IO_10_03 = 1 };
enum class HardwareCompatibilityLevel : int32_t { kNONE = 0, kAMPERE_PLUS = 1 };
enum class RuntimePlatform : int32_t { kSAME_AS_BUILD = 0, kWINDOWS_AMD64 = 1 };
enum class QuantizationFlag : int32_t { kCALIBRATE_BEFORE_FUSION = 0 };

// "EngineCapability.SAFETY": the Python name of an enum value.
template <typename E>
std::string nameOf(E v) {
  return py::str(py::cast(v)).cast<std::string>();
}

}  // namespace

void bindBuilderSettingEnums(py::module_& m) {
  py::enum_<EngineCapability>(m, "EngineCapability",
                              "clrt builds STANDARD engines; SAFETY and DLA_STANDALONE are "
                              "refused (no safety runtime, no DLA).")
      .value("STANDARD", EngineCapability::kSTANDARD)
      .value("SAFETY", EngineCapability::kSAFETY)
      .value("DLA_STANDALONE", EngineCapability::kDLA_STANDALONE);
  py::enum_<TacticSource>(m, "TacticSource",
                          "NVIDIA's tactic libraries and kernel families; clrt uses none of them "
                          "(its tactics are its own OpenCL kernels and CLBlast).")
      .value("CUBLAS", TacticSource::kCUBLAS)
      .value("CUBLAS_LT", TacticSource::kCUBLAS_LT)
      .value("CUDNN", TacticSource::kCUDNN)
      .value("EDGE_MASK_CONVOLUTIONS", TacticSource::kEDGE_MASK_CONVOLUTIONS)
      .value("JIT_CONVOLUTIONS", TacticSource::kJIT_CONVOLUTIONS);
  py::enum_<PreviewFeature>(m, "PreviewFeature",
                            "PROFILE_SHARING_0806 is always on (as in TensorRT 10); "
                            "ALIASED_PLUGIN_IO_10_03 always off (no plugins).")
      .value("PROFILE_SHARING_0806", PreviewFeature::kPROFILE_SHARING_0806)
      .value("ALIASED_PLUGIN_IO_10_03", PreviewFeature::kALIASED_PLUGIN_IO_10_03);
  py::enum_<HardwareCompatibilityLevel>(m, "HardwareCompatibilityLevel",
                                        "clrt engines run on the device they were built for "
                                        "(NONE); AMPERE_PLUS is refused.")
      .value("NONE", HardwareCompatibilityLevel::kNONE)
      .value("AMPERE_PLUS", HardwareCompatibilityLevel::kAMPERE_PLUS);
  py::enum_<RuntimePlatform>(m, "RuntimePlatform",
                             "clrt engines run where they were built (SAME_AS_BUILD); "
                             "WINDOWS_AMD64 is refused.")
      .value("SAME_AS_BUILD", RuntimePlatform::kSAME_AS_BUILD)
      .value("WINDOWS_AMD64", RuntimePlatform::kWINDOWS_AMD64);
  py::enum_<QuantizationFlag>(m, "QuantizationFlag",
                              "CALIBRATE_BEFORE_FUSION cannot be set: clrt calibrates the tensors "
                              "of the optimized (fused) network.")
      .value("CALIBRATE_BEFORE_FUSION", QuantizationFlag::kCALIBRATE_BEFORE_FUSION);
}

void bindConfigSettings(py::class_<Config>& cls) {
  cls.def_property(
         "engine_capability", [](const Config&) { return EngineCapability::kSTANDARD; },
         [](Config&, EngineCapability v) {
           CLRT_CHECK(v == EngineCapability::kSTANDARD, kUnsupported,
                      "IBuilderConfig.engine_capability: ", nameOf(v),
                      " is not supported; clrt builds STANDARD engines only (no safety runtime, "
                      "no DLA)");
         },
         "STANDARD, the only kind clrt builds; SAFETY and DLA_STANDALONE raise "
         "clrt.UnsupportedError.")
      .def(
          "get_tactic_sources", [](const Config&) { return uint32_t{0}; },
          "0: the build uses none of TacticSource's NVIDIA libraries or kernel families (clrt's "
          "tactics are its own OpenCL kernels and CLBlast; config.tactic_filter selects among "
          "them). set_tactic_sources is not offered.")
      .def(
          "set_preview_feature",
          [](Config&, PreviewFeature f, bool on) {
            const bool always = f == PreviewFeature::kPROFILE_SHARING_0806;
            CLRT_CHECK(on == always, kUnsupported,
                       "IBuilderConfig.set_preview_feature: ", nameOf(f), " cannot be turned ",
                       on ? "on" : "off", " in clrt (",
                       always ? "execution contexts always share optimization profiles, as in "
                                "TensorRT 10"
                              : "plugins are not offered",
                       ")");
          },
          py::arg("feature"), py::arg("enable"),
          "PROFILE_SHARING_0806 is always on and ALIASED_PLUGIN_IO_10_03 always off; asking for "
          "the other state raises clrt.UnsupportedError.")
      .def(
          "get_preview_feature",
          [](const Config&, PreviewFeature f) {
            return f == PreviewFeature::kPROFILE_SHARING_0806;
          },
          py::arg("feature"))
      .def_property(
          "hardware_compatibility_level",
          [](const Config&) { return HardwareCompatibilityLevel::kNONE; },
          [](Config&, HardwareCompatibilityLevel v) {
            CLRT_CHECK(v == HardwareCompatibilityLevel::kNONE, kUnsupported,
                       "IBuilderConfig.hardware_compatibility_level: ", nameOf(v),
                       " is not supported; a clrt engine holds kernels for the device it was "
                       "built on and runs only there (NONE)");
          },
          "NONE: engines run on the device they were built for; AMPERE_PLUS raises "
          "clrt.UnsupportedError.")
      .def_property(
          "max_aux_streams", [](const Config& c) { return c.max_aux_streams; },
          [](Config& c, int32_t n) {
            CLRT_CHECK(n >= -1, kValue, "IBuilderConfig.max_aux_streams: ", n,
                       " must be >= 0, or -1 (TensorRT's heuristic)");
            c.max_aux_streams = n;
          },
          "The most auxiliary streams the engine may use (-1: TensorRT's heuristic, the "
          "default). A maximum, and clrt engines use none (every layer runs on the context's "
          "one OpenCL queue), so every value is met; stored only.")
      .def_property(
          "runtime_platform", [](const Config&) { return RuntimePlatform::kSAME_AS_BUILD; },
          [](Config&, RuntimePlatform v) {
            CLRT_CHECK(v == RuntimePlatform::kSAME_AS_BUILD, kUnsupported,
                       "IBuilderConfig.runtime_platform: ", nameOf(v),
                       " is not supported; clrt engines run on the platform and device they "
                       "were built on (SAME_AS_BUILD)");
          },
          "SAME_AS_BUILD; WINDOWS_AMD64 raises clrt.UnsupportedError.")
      .def(
          "set_quantization_flag",
          [](Config&, QuantizationFlag f) {
            fail(ErrorKind::kUnsupported,
                 str("IBuilderConfig.set_quantization_flag: ", nameOf(f),
                     " is not supported; clrt calibrates the tensors of the optimized (fused) "
                     "network"));
          },
          py::arg("flag"), "Raises clrt.UnsupportedError: no quantization flag can be set.")
      .def(
          "clear_quantization_flag", [](Config&, QuantizationFlag) {}, py::arg("flag"),
          "Accepted: no quantization flag is ever set.")
      .def(
          "get_quantization_flag", [](const Config&, QuantizationFlag) { return false; },
          py::arg("flag"), "False: clrt calibrates after fusion.")
      .def(
          "reset",
          [](Config& c) {
            Config fresh;
            fresh.device_mem = c.device_mem;
            fresh.device = c.device;
            c = std::move(fresh);
          },
          "Every setting back to what create_builder_config gives (flags, memory limits, "
          "profiles, calibrator, timing cache, progress monitor, ...).");
}

}  // namespace clrt::python
