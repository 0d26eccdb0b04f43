// clrt._clrt._quant: the calibration algorithms, cache format and device statistics, exposed so
// tests can check them against NumPy references.
#include <cmath>
#include <optional>

#include "clrt/ocl/device.h"
#include "clrt/python/bindings.h"
#include "clrt/quant/algorithms.h"
#include "clrt/quant/calib_cache.h"
#include "clrt/quant/histogram.h"

namespace clrt::python {
namespace {

// A 1-D array of non-negative integer counts as uint64.
std::vector<uint64_t> countsOf(const py::handle& obj, const char* what) {
  py::array a = py::module_::import("numpy").attr("asarray")(obj);
  const char kind = a.dtype().kind();
  CLRT_CHECK(kind == 'u' || kind == 'i', kValue, what, ": histogram must hold integer counts, got ",
             std::string(py::str(a.dtype())));
  CLRT_CHECK(a.ndim() == 1, kValue, what, ": histogram must be 1-D, got ", a.ndim(), " dimensions");
  std::vector<uint64_t> out(static_cast<size_t>(a.size()));
  if (kind == 'i') {
    auto v = contiguous(a, py::dtype::of<int64_t>()).cast<py::array_t<int64_t>>();
    for (size_t i = 0; i < out.size(); ++i) {
      CLRT_CHECK(v.data()[i] >= 0, kValue, what, ": histogram bin ", i, " is negative (",
                 v.data()[i], ")");
      out[i] = static_cast<uint64_t>(v.data()[i]);
    }
  } else {
    auto v = contiguous(a, py::dtype::of<uint64_t>()).cast<py::array_t<uint64_t>>();
    std::copy(v.data(), v.data() + out.size(), out.begin());
  }
  return out;
}

quant::CalibrationAlgo algoOf(int v) {
  CLRT_CHECK(v >= 0 && v <= 3, kValue, "calibration algorithm ", v,
             " unknown (expected a CalibrationAlgoType value 0..3)");
  return static_cast<quant::CalibrationAlgo>(v);
}

// Uploads each array as one batch and runs DeviceStats over them all: max |x| first, then the
// histogram over [0, range] (range None: that max), read back after every batch.
py::tuple deviceStats(const py::list& arrays, std::optional<float> range) {
  CLRT_CHECK(!range || (std::isfinite(*range) && *range >= 0.0f), kValue, "device_stats: range ",
             *range, " must be finite and >= 0");
  std::vector<py::array_t<float>> data;
  for (const auto& a : arrays)
    data.push_back(contiguous(a, py::dtype::of<float>()).cast<py::array_t<float>>());
  auto dev = ocl::Device::getDefault();
  float absmax = 0.0f;
  std::vector<uint64_t> hist;
  {
    py::gil_scoped_release release;
    cl_command_queue q = dev->queue();
    std::vector<ocl::MemHandle> bufs;
    for (const auto& a : data) {
      const size_t bytes = static_cast<size_t>(a.size()) * sizeof(float);
      bufs.emplace_back(dev->alloc(std::max<size_t>(bytes, sizeof(float))));
      dev->write(q, bufs.back().get(), 0, bytes, a.data(), true);
    }
    quant::DeviceStats stats(*dev, 1);
    for (size_t i = 0; i < data.size(); ++i)
      stats.enqueueAbsMax(q, bufs[i].get(), static_cast<size_t>(data[i].size()), 0);
    absmax = stats.absMax(q)[0];
    const float r = range ? *range : absmax;
    hist.assign(quant::kHistogramBins, 0);
    for (size_t i = 0; i < data.size(); ++i) {
      stats.enqueueHistogram(q, bufs[i].get(), static_cast<size_t>(data[i].size()), 0, r);
      hist = stats.histograms(q)[0];
    }
  }
  py::array_t<uint64_t> h(static_cast<py::ssize_t>(hist.size()));
  std::copy(hist.begin(), hist.end(), h.mutable_data());
  return py::make_tuple(absmax, h);
}

}  // namespace

void bind_quant(py::module_& m) {
  py::module_ q = m.def_submodule("_quant", "INT8 calibration internals, for tests.");
  q.attr("HISTOGRAM_BINS") = quant::kHistogramBins;
  q.def(
      "entropy_amax",
      [](const py::object& hist, double range, int version) {
        return quant::entropyAmax(countsOf(hist, "entropy_amax"), range, version);
      },
      py::arg("hist"), py::arg("range"), py::arg("version") = 2,
      "amax by the KL-divergence search over a 2048-bin |x| histogram on [0, range].");
  q.def(
      "percentile_amax",
      [](const py::object& hist, double range, double percentile) {
        return quant::percentileAmax(countsOf(hist, "percentile_amax"), range, percentile);
      },
      py::arg("hist"), py::arg("range"), py::arg("percentile"),
      "The smallest amax with `percentile` percent of the counts at or below it.");
  q.def(
      "format_cache",
      [](int algo, const std::map<std::string, float>& scales) {
        return quant::formatCalibrationCache(algoOf(algo), scales);
      },
      py::arg("algo"), py::arg("scales"), "Calibration cache text for {tensor name: scale}.");
  q.def(
      "parse_cache",
      [](const std::string& text) {
        quant::CalibrationCache c = quant::parseCalibrationCache(text);
        return py::make_tuple(c.header_version, c.algo, c.scales);
      },
      py::arg("text"), "(header version, algorithm name, {tensor name: scale}) of a cache's text.");
  q.def(
      "algo_cache_name", [](int algo) { return quant::algoCacheName(algoOf(algo)); },
      py::arg("algo"));
  q.def("device_stats", &deviceStats, py::arg("arrays"), py::arg("range") = py::none(),
        "(max |x|, uint64 histogram) of float32 arrays, each uploaded as one batch to the "
        "current device; range None uses that max.");
}

}  // namespace clrt::python
