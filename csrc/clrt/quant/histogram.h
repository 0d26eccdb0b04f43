// Per-tensor calibration statistics (running max|x| and |x| histograms) accumulated on the device.
#pragma once

#include <cstdint>
#include <vector>

#include "clrt/ocl/device.h"

namespace clrt::quant {

constexpr int kHistogramBins = 2048;

// Statistics of float32 device tensors, one slot per tensor, accumulated over batches. Every
// enqueue call and the reads that follow must use one in-order queue (or the caller finishes the
// other queues first): the device counters are read and reset on the queue passed to the reads.
class DeviceStats {
 public:
  DeviceStats(ocl::Device& dev, size_t nslots);
  DeviceStats(const DeviceStats&) = delete;
  DeviceStats& operator=(const DeviceStats&) = delete;

  // Running max(|x|) of n floats of buf into slot (max across calls). NaN is ignored.
  void enqueueAbsMax(cl_command_queue q, cl_mem buf, size_t n, size_t slot);
  std::vector<float> absMax(cl_command_queue q);  // blocking read, per slot

  // Adds |x| counts of n floats into the slot's 2048 bins over [0, range]:
  // bin = min((int)(|x| * (2048 / range)), 2047) in float32 arithmetic; range <= 0 puts everything
  // in bin 0; NaN is ignored. The bin depends only on the element, so counts are independent of
  // batch size and order.
  void enqueueHistogram(cl_command_queue q, cl_mem buf, size_t n, size_t slot, float range);
  // Blocking: the per-slot counts accumulated so far. The device's 32-bit counters are added into
  // host 64-bit totals and reset here (and before they could overflow), so calling it after every
  // batch is fine.
  std::vector<std::vector<uint64_t>> histograms(cl_command_queue q);

  // In place on n floats of buf: round to the 255 levels of symmetric INT8 over [-amax, amax]
  // and back (x = clamp(rint(x / s), -127, 127) * s with s = amax / 127); amax must be > 0.
  void enqueueFakeQuant(cl_command_queue q, cl_mem buf, size_t n, float amax);

 private:
  void flush(cl_command_queue q);  // device counters -> host totals, device counters zeroed
  void checkSlot(size_t slot, const char* what) const;

  ocl::Device& dev_;
  size_t nslots_;
  size_t wg_ = 1;      // work-group size the program was built for (a power of two)
  size_t groups_ = 1;  // most work-groups one launch uses
  // Each work-item reads one contiguous run (CPU caches) rather than a grid stride (GPU
  // coalescing); the counts are the same either way.
  bool contiguous_ = false;
  ocl::MemHandle absmax_;  // nslots uint: float bits of max|x| (ordered like the floats, >= 0)
  ocl::MemHandle hist_;    // nslots * 2048 uint counters
  ocl::KernelHandle kAbsMax_, kHist_, kFakeQuant_;
  std::vector<std::vector<uint64_t>> host_;  // flushed totals
  std::vector<uint64_t> pending_;            // counts added on the device since the last flush
};

}  // namespace clrt::quant
