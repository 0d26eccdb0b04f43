// Builder and IBuilderConfig's C++ state, shared by their bindings (bind_builder.cc) and the
// TensorRT 10 config settings bound apart (bind_builder_settings.cc).
#pragma once

#include <map>

#include "clrt/builder/builder.h"
#include "clrt/python/bindings.h"

namespace clrt::python {

enum class ProfilingVerbosity : int32_t { kLAYER_NAMES_ONLY = 0, kNONE = 1, kDETAILED = 2 };
enum class DeviceType : int32_t { kGPU = 0, kDLA = 1 };

struct Config {
  builder::BuilderConfig cfg;
  uint64_t device_mem = 0;            // reported as the workspace limit while unlimited
  std::map<int32_t, uint64_t> pools;  // limits of the pools other than WORKSPACE (stored only)
  ProfilingVerbosity verbosity = ProfilingVerbosity::kLAYER_NAMES_ONLY;
  py::object int8_calibrator = py::none();  // an IInt8Calibrator, used when INT8 is set
  DeviceType device_type = DeviceType::kGPU;
  int32_t dla_core = -1;
  int32_t avg_timing_iterations = 1;
  std::string device;                        // timingCacheDevice() of the builder's device
  py::object progress_monitor = py::none();  // a trt.IProgressMonitor, or None
  int32_t max_aux_streams = -1;              // stored only (a maximum; clrt uses one queue)
  // What the last build's calibration found (each build starts a fresh record).
  mutable std::shared_ptr<builder::CalibrationRecord> calibration;
};

// The device is opened on first use, not at construction: networks, profiles and parsing need
// none, so they work (and are tested) on a machine without OpenCL.
struct Builder {
  py::object logger;
  std::unique_ptr<builder::Builder> impl_;
  int networks = 0;
  int32_t max_threads = 1;  // stored only: clrt's builder runs on the calling thread
  builder::Builder& impl() {
    if (!impl_)
      impl_ = std::make_unique<builder::Builder>(loggerOf(logger), ocl::Device::getDefault());
    return *impl_;
  }
};

// IBuilderConfig's TensorRT 10 settings that clrt honors or refuses by name, and their enums
// (bind_builder_settings.cc); bind_builder calls the first before binding IBuilderConfig.
void bindBuilderSettingEnums(py::module_& m);
void bindConfigSettings(py::class_<Config>& cls);

}  // namespace clrt::python
