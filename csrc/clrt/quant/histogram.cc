// DeviceStats: launches of kernels/calib.cl and the host-side 64-bit totals of its counters.
#include "clrt/quant/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace clrt::quant {
namespace {

constexpr char kFile[] = "calib.cl";
// Elements one histogram launch covers at most: per-launch counts stay far below 2^32.
constexpr size_t kChunk = size_t(1) << 30;

size_t kernelMaxGroup(cl_kernel k, cl_device_id dev) {
  size_t v = 0;
  ocl::check(clGetKernelWorkGroupInfo(k, dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof v, &v, nullptr),
             "clGetKernelWorkGroupInfo");
  return v;
}

void fillZero(cl_command_queue q, cl_mem buf, size_t bytes) {
  const cl_uint zero = 0;
  ocl::check(clEnqueueFillBuffer(q, buf, &zero, sizeof zero, 0, bytes, 0, nullptr, nullptr),
             "clEnqueueFillBuffer (calibration statistics)");
}

// Kernels read n floats from buf: refuse a buffer smaller than that.
void checkBuffer(cl_mem buf, size_t n, const char* what) {
  CLRT_CHECK(buf != nullptr, kValue, what, ": null buffer for ", n, " floats");
  size_t bytes = 0;
  ocl::check(clGetMemObjectInfo(buf, CL_MEM_SIZE, sizeof bytes, &bytes, nullptr),
             "clGetMemObjectInfo");
  CLRT_CHECK(n <= bytes / sizeof(float), kValue, what, ": buffer of ", bytes,
             " bytes is smaller than the ", n, " floats asked for");
}

}  // namespace

DeviceStats::DeviceStats(ocl::Device& dev, size_t nslots)
    : dev_(dev), nslots_(nslots), host_(nslots), pending_(nslots, 0) {
  // The kernels' local arrays are sized by WG, so the program is rebuilt smaller if the
  // compiled kernels cannot run groups that large.
  size_t wg = 1;
  while (wg * 2 <= std::min<size_t>(256, std::max<size_t>(dev.info().max_work_group, 1))) wg *= 2;
  for (;;) {
    const std::string opts = str("-DWG=", wg, " -DCALIB_BINS=", kHistogramBins);
    kAbsMax_ = ocl::KernelHandle(dev.kernel(kFile, opts, "calib_absmax"));
    kHist_ = ocl::KernelHandle(dev.kernel(kFile, opts, "calib_hist"));
    kFakeQuant_ = ocl::KernelHandle(dev.kernel(kFile, opts, "calib_fake_quant"));
    const size_t fit =
        std::min(kernelMaxGroup(kAbsMax_.get(), dev.id()), kernelMaxGroup(kHist_.get(), dev.id()));
    if (fit >= wg || wg == 1) break;
    wg /= 2;
  }
  wg_ = wg;
  contiguous_ = !dev.info().is_gpu;
  groups_ = std::max<size_t>(1, static_cast<size_t>(std::max(dev.info().compute_units, 1)) * 4);
  for (auto& h : host_) h.assign(kHistogramBins, 0);
  if (nslots_ == 0) return;
  absmax_ = ocl::MemHandle(dev.alloc(nslots_ * sizeof(cl_uint)));
  hist_ = ocl::MemHandle(dev.alloc(nslots_ * kHistogramBins * sizeof(cl_uint)));
  fillZero(dev.queue(), absmax_.get(), nslots_ * sizeof(cl_uint));
  fillZero(dev.queue(), hist_.get(), nslots_ * kHistogramBins * sizeof(cl_uint));
  ocl::check(clFinish(dev.queue()), "clFinish (calibration statistics)");
}

void DeviceStats::checkSlot(size_t slot, const char* what) const {
  CLRT_CHECK(slot < nslots_, kValue, what, ": slot ", slot, " out of range (", nslots_,
             " tensors)");
}

void DeviceStats::enqueueAbsMax(cl_command_queue q, cl_mem buf, size_t n, size_t slot) {
  checkSlot(slot, "calibration absmax");
  if (n == 0) return;
  checkBuffer(buf, n, "calibration absmax");
  const size_t groups = std::min(groups_, (n + wg_ * 8 - 1) / (wg_ * 8));
  const size_t items = groups * wg_;
  const cl_ulong per = contiguous_ ? (n + items - 1) / items : 0;
  ocl::setArgs(kAbsMax_.get(), buf, static_cast<cl_ulong>(n), absmax_.get(),
               static_cast<cl_ulong>(slot), per);
  ocl::launch(q, kAbsMax_.get(), {groups * wg_}, {wg_});
}

std::vector<float> DeviceStats::absMax(cl_command_queue q) {
  std::vector<cl_uint> bits(nslots_);
  if (nslots_) dev_.read(q, absmax_.get(), 0, nslots_ * sizeof(cl_uint), bits.data());
  std::vector<float> out(nslots_);
  for (size_t i = 0; i < nslots_; ++i) std::memcpy(&out[i], &bits[i], sizeof(float));
  return out;
}

void DeviceStats::enqueueHistogram(cl_command_queue q, cl_mem buf, size_t n, size_t slot,
                                   float range) {
  checkSlot(slot, "calibration histogram");
  CLRT_CHECK(!std::isnan(range), kValue, "calibration histogram: range of slot ", slot, " is NaN");
  if (n == 0) return;
  checkBuffer(buf, n, "calibration histogram");
  // The same float32 scale for every element of every batch: counts depend only on the data.
  const float scale = range > 0.0f ? 2048.0f / range : 0.0f;
  for (size_t off = 0; off < n; off += kChunk) {
    const size_t len = std::min(kChunk, n - off);
    if (pending_[slot] + len > std::numeric_limits<cl_uint>::max()) flush(q);
    pending_[slot] += len;
    const size_t groups = std::min(groups_, (len + wg_ * 8 - 1) / (wg_ * 8));
    ocl::setArgs(kHist_.get(), buf, static_cast<cl_ulong>(off), static_cast<cl_uint>(len), scale,
                 hist_.get(), static_cast<cl_ulong>(slot * kHistogramBins),
                 static_cast<cl_uint>(contiguous_ ? (len + groups * wg_ - 1) / (groups * wg_) : 0));
    ocl::launch(q, kHist_.get(), {groups * wg_}, {wg_});
  }
}

void DeviceStats::enqueueFakeQuant(cl_command_queue q, cl_mem buf, size_t n, float amax) {
  CLRT_CHECK(amax > 0.0f && std::isfinite(amax), kValue, "calibration fake quantization: amax ",
             amax, " is not a positive finite range");
  if (n == 0) return;
  checkBuffer(buf, n, "calibration fake quantization");
  const size_t groups = std::min(groups_, (n + wg_ - 1) / wg_);
  ocl::setArgs(kFakeQuant_.get(), buf, static_cast<cl_ulong>(n), amax / 127.0f);
  ocl::launch(q, kFakeQuant_.get(), {groups * wg_}, {wg_});
}

void DeviceStats::flush(cl_command_queue q) {
  if (nslots_ == 0) return;
  std::vector<cl_uint> counts(nslots_ * kHistogramBins);
  dev_.read(q, hist_.get(), 0, counts.size() * sizeof(cl_uint), counts.data());
  fillZero(q, hist_.get(), counts.size() * sizeof(cl_uint));
  for (size_t s = 0; s < nslots_; ++s)
    for (int b = 0; b < kHistogramBins; ++b) host_[s][b] += counts[s * kHistogramBins + b];
  std::fill(pending_.begin(), pending_.end(), 0);
}

std::vector<std::vector<uint64_t>> DeviceStats::histograms(cl_command_queue q) {
  flush(q);
  return host_;
}

}  // namespace clrt::quant
