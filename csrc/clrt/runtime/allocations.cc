// Device buffers handed to Python as integers (trt.mem_alloc), validated on every use.
#include <map>
#include <mutex>

#include "clrt/runtime/engine.h"

namespace clrt::runtime {
namespace {

struct Allocation {
  std::shared_ptr<ocl::Device> dev;
  ocl::MemHandle mem;
  size_t bytes;
  uint64_t serial;  // distinguishes a new allocation that the driver gave a freed one's handle
};

uint64_t g_next_serial = 1;

std::mutex g_mu;
std::map<uintptr_t, Allocation>& table() {
  static auto* t = new std::map<uintptr_t, Allocation>();  // never destroyed: outlives devices
  return *t;
}

Allocation& find(uintptr_t ptr) {
  auto it = table().find(ptr);
  CLRT_CHECK(it != table().end(), kValue, "0x", std::hex, ptr,
             " is not a live device allocation from clrt.mem_alloc()");
  return it->second;
}

}  // namespace

uintptr_t memAlloc(std::shared_ptr<ocl::Device> dev, size_t bytes) {
  cl_mem m = dev->alloc(bytes);
  const auto ptr = reinterpret_cast<uintptr_t>(m);
  std::lock_guard<std::mutex> lock(g_mu);
  table()[ptr] = Allocation{std::move(dev), ocl::MemHandle(m), bytes, g_next_serial++};
  return ptr;
}

void memFree(uintptr_t ptr) {
  std::lock_guard<std::mutex> lock(g_mu);
  find(ptr);
  table().erase(ptr);
}

cl_mem lookupAllocation(uintptr_t ptr, size_t* size) {
  std::lock_guard<std::mutex> lock(g_mu);
  Allocation& a = find(ptr);
  if (size) *size = a.bytes;
  return a.mem.get();
}

AllocationRef retainAllocation(uintptr_t ptr) {
  std::lock_guard<std::mutex> lock(g_mu);
  Allocation& a = find(ptr);
  ocl::check(clRetainMemObject(a.mem.get()), "clRetainMemObject");
  return AllocationRef{ocl::MemHandle(a.mem.get()), a.bytes, a.serial};
}

bool allocationLive(uintptr_t ptr, uint64_t serial) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = table().find(ptr);
  return it != table().end() && it->second.serial == serial;
}

namespace {

// The device and buffer of a live allocation that holds at least `bytes`; `what` names the call.
std::pair<std::shared_ptr<ocl::Device>, cl_mem> checkedCopyTarget(uintptr_t ptr, size_t bytes,
                                                                  const char* what) {
  std::lock_guard<std::mutex> lock(g_mu);
  Allocation& a = find(ptr);
  CLRT_CHECK(bytes <= a.bytes, kValue, what, ": copying ", bytes, " bytes with an allocation of ",
             a.bytes);
  return {a.dev, a.mem.get()};
}

}  // namespace

void memcpyHtoD(uintptr_t dst, const void* src, size_t bytes) {
  auto [dev, m] = checkedCopyTarget(dst, bytes, "memcpy_htod");
  // Runs enqueued on the contexts' queues may still read or write it.
  ocl::check(dev->finishAll(), "clFinish");
  dev->write(dev->queue(), m, 0, bytes, src, true);
}

void memcpyDtoH(void* dst, uintptr_t src, size_t bytes) {
  auto [dev, m] = checkedCopyTarget(src, bytes, "memcpy_dtoh");
  // Runs enqueued on the contexts' queues (execute_async_v3) end first.
  ocl::check(dev->finishAll(), "clFinish");
  dev->read(dev->queue(), m, 0, bytes, dst);
}

void memcpyDtoD(uintptr_t dst, uintptr_t src, size_t bytes) {
  auto [dev, d] = checkedCopyTarget(dst, bytes, "memcpy_dtod dest");
  auto [src_dev, s] = checkedCopyTarget(src, bytes, "memcpy_dtod src");
  CLRT_CHECK(dev == src_dev, kValue,
             "memcpy_dtod: the two allocations belong to different OpenCL devices");
  if (bytes == 0) return;
  ocl::check(dev->finishAll(), "clFinish");
  ocl::check(clEnqueueCopyBuffer(dev->queue(), s, d, 0, 0, bytes, 0, nullptr, nullptr),
             "clEnqueueCopyBuffer");
  ocl::check(clFinish(dev->queue()), "clFinish");
}

void memsetD8(uintptr_t dst, uint8_t value, size_t bytes) {
  auto [dev, m] = checkedCopyTarget(dst, bytes, "memset_d8");
  if (bytes == 0) return;
  ocl::check(dev->finishAll(), "clFinish");
  ocl::check(clEnqueueFillBuffer(dev->queue(), m, &value, 1, 0, bytes, 0, nullptr, nullptr),
             "clEnqueueFillBuffer");
  ocl::check(clFinish(dev->queue()), "clFinish");
}

}  // namespace clrt::runtime
