// OpenCL devices: enumeration, default choice, context/queue, buffers, launches.
#include "clrt/ocl/device.h"

#include <clblast.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <utility>

namespace clrt::ocl {

const char* clErrorName(cl_int err) {
  static const std::pair<cl_int, const char*> names[] = {
      {CL_SUCCESS, "CL_SUCCESS"},
      {CL_DEVICE_NOT_FOUND, "CL_DEVICE_NOT_FOUND"},
      {CL_DEVICE_NOT_AVAILABLE, "CL_DEVICE_NOT_AVAILABLE"},
      {CL_COMPILER_NOT_AVAILABLE, "CL_COMPILER_NOT_AVAILABLE"},
      {CL_MEM_OBJECT_ALLOCATION_FAILURE, "CL_MEM_OBJECT_ALLOCATION_FAILURE"},
      {CL_OUT_OF_RESOURCES, "CL_OUT_OF_RESOURCES"},
      {CL_OUT_OF_HOST_MEMORY, "CL_OUT_OF_HOST_MEMORY"},
      {CL_PROFILING_INFO_NOT_AVAILABLE, "CL_PROFILING_INFO_NOT_AVAILABLE"},
      {CL_MEM_COPY_OVERLAP, "CL_MEM_COPY_OVERLAP"},
      {CL_BUILD_PROGRAM_FAILURE, "CL_BUILD_PROGRAM_FAILURE"},
      {CL_MAP_FAILURE, "CL_MAP_FAILURE"},
      {CL_MISALIGNED_SUB_BUFFER_OFFSET, "CL_MISALIGNED_SUB_BUFFER_OFFSET"},
      {CL_INVALID_VALUE, "CL_INVALID_VALUE"},
      {CL_INVALID_DEVICE_TYPE, "CL_INVALID_DEVICE_TYPE"},
      {CL_INVALID_PLATFORM, "CL_INVALID_PLATFORM"},
      {CL_INVALID_DEVICE, "CL_INVALID_DEVICE"},
      {CL_INVALID_CONTEXT, "CL_INVALID_CONTEXT"},
      {CL_INVALID_QUEUE_PROPERTIES, "CL_INVALID_QUEUE_PROPERTIES"},
      {CL_INVALID_COMMAND_QUEUE, "CL_INVALID_COMMAND_QUEUE"},
      {CL_INVALID_HOST_PTR, "CL_INVALID_HOST_PTR"},
      {CL_INVALID_MEM_OBJECT, "CL_INVALID_MEM_OBJECT"},
      {CL_INVALID_BINARY, "CL_INVALID_BINARY"},
      {CL_INVALID_BUILD_OPTIONS, "CL_INVALID_BUILD_OPTIONS"},
      {CL_INVALID_PROGRAM, "CL_INVALID_PROGRAM"},
      {CL_INVALID_PROGRAM_EXECUTABLE, "CL_INVALID_PROGRAM_EXECUTABLE"},
      {CL_INVALID_KERNEL_NAME, "CL_INVALID_KERNEL_NAME"},
      {CL_INVALID_KERNEL, "CL_INVALID_KERNEL"},
      {CL_INVALID_ARG_INDEX, "CL_INVALID_ARG_INDEX"},
      {CL_INVALID_ARG_VALUE, "CL_INVALID_ARG_VALUE"},
      {CL_INVALID_ARG_SIZE, "CL_INVALID_ARG_SIZE"},
      {CL_INVALID_KERNEL_ARGS, "CL_INVALID_KERNEL_ARGS"},
      {CL_INVALID_WORK_DIMENSION, "CL_INVALID_WORK_DIMENSION"},
      {CL_INVALID_WORK_GROUP_SIZE, "CL_INVALID_WORK_GROUP_SIZE"},
      {CL_INVALID_WORK_ITEM_SIZE, "CL_INVALID_WORK_ITEM_SIZE"},
      {CL_INVALID_GLOBAL_OFFSET, "CL_INVALID_GLOBAL_OFFSET"},
      {CL_INVALID_EVENT_WAIT_LIST, "CL_INVALID_EVENT_WAIT_LIST"},
      {CL_INVALID_EVENT, "CL_INVALID_EVENT"},
      {CL_INVALID_OPERATION, "CL_INVALID_OPERATION"},
      {CL_INVALID_BUFFER_SIZE, "CL_INVALID_BUFFER_SIZE"},
      {CL_INVALID_GLOBAL_WORK_SIZE, "CL_INVALID_GLOBAL_WORK_SIZE"},
  };
  for (auto& [code, name] : names)
    if (code == err) return name;
  return "CL_UNKNOWN_ERROR";
}

void check(cl_int err, const char* what) {
  if (err != CL_SUCCESS)
    fail(ErrorKind::kDevice, str("OpenCL error ", clErrorName(err), " (", err, ") in ", what));
}

namespace {

std::string deviceString(cl_device_id d, cl_device_info p) {
  size_t n = 0;
  if (clGetDeviceInfo(d, p, 0, nullptr, &n) != CL_SUCCESS || n == 0) return "";
  std::string s(n, '\0');
  clGetDeviceInfo(d, p, n, s.data(), nullptr);
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
  return s;
}

template <typename T>
T deviceValue(cl_device_id d, cl_device_info p) {
  T v{};
  clGetDeviceInfo(d, p, sizeof(T), &v, nullptr);
  return v;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Entry {
  DeviceInfo info;
  cl_device_id id;
  cl_platform_id platform;
};

const std::vector<Entry>& enumerate() {
  static std::vector<Entry> entries = [] {
    std::vector<Entry> out;
    cl_uint np = 0;
    if (clGetPlatformIDs(0, nullptr, &np) != CL_SUCCESS || np == 0) return out;
    std::vector<cl_platform_id> plats(np);
    clGetPlatformIDs(np, plats.data(), nullptr);
    for (auto p : plats) {
      cl_uint nd = 0;
      if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, nullptr, &nd) != CL_SUCCESS || nd == 0) continue;
      std::vector<cl_device_id> devs(nd);
      clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, nd, devs.data(), nullptr);
      size_t n = 0;
      clGetPlatformInfo(p, CL_PLATFORM_NAME, 0, nullptr, &n);
      std::string pname(n, '\0');
      clGetPlatformInfo(p, CL_PLATFORM_NAME, n, pname.data(), nullptr);
      while (!pname.empty() && pname.back() == '\0') pname.pop_back();
      for (auto d : devs) {
        DeviceInfo info;
        info.index = static_cast<int>(out.size());
        info.name = deviceString(d, CL_DEVICE_NAME);
        info.vendor = deviceString(d, CL_DEVICE_VENDOR);
        info.version = deviceString(d, CL_DEVICE_VERSION);
        info.driver = deviceString(d, CL_DRIVER_VERSION);
        info.platform = pname;
        info.extensions = deviceString(d, CL_DEVICE_EXTENSIONS);
        info.is_gpu = (deviceValue<cl_device_type>(d, CL_DEVICE_TYPE) & CL_DEVICE_TYPE_GPU) != 0;
        info.is_nvidia = lower(info.vendor).find("nvidia") != std::string::npos;
        info.global_mem = deviceValue<cl_ulong>(d, CL_DEVICE_GLOBAL_MEM_SIZE);
        info.max_alloc = deviceValue<cl_ulong>(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
        info.local_mem = deviceValue<cl_ulong>(d, CL_DEVICE_LOCAL_MEM_SIZE);
        info.max_work_group = deviceValue<size_t>(d, CL_DEVICE_MAX_WORK_GROUP_SIZE);
        info.compute_units = static_cast<int>(deviceValue<cl_uint>(d, CL_DEVICE_MAX_COMPUTE_UNITS));
        info.arena_alignment =
            std::max<uint64_t>(256, deviceValue<cl_uint>(d, CL_DEVICE_MEM_BASE_ADDR_ALIGN) / 8);
        info.has_fp16 = info.extensions.find("cl_khr_fp16") != std::string::npos;
        if (info.extensions.find("cl_nv_device_attribute_query") != std::string::npos) {
          constexpr cl_device_info kMajor = 0x4000, kMinor = 0x4001;  // ..._COMPUTE_CAPABILITY_*_NV
          info.compute_capability = static_cast<int>(deviceValue<cl_uint>(d, kMajor) * 10 +
                                                     deviceValue<cl_uint>(d, kMinor));
        }
        out.push_back({info, d, p});
      }
    }
    return out;
  }();
  return entries;
}

std::mutex g_mu;
int g_default = -2;  // -2: not chosen yet

}  // namespace

std::string DeviceInfo::fingerprint() const {
  return platform + "|" + vendor + "|" + name + "|" + version + "|" + driver;
}

std::vector<DeviceInfo> getDevices() {
  std::vector<DeviceInfo> v;
  for (auto& e : enumerate()) v.push_back(e.info);
  return v;
}

int Device::resolve(const std::string& spec) {
  const auto& all = enumerate();
  CLRT_CHECK(!all.empty(), kDevice,
             "no OpenCL device found (is an ICD installed? e.g. pocl-opencl-icd on Debian)");
  if (!spec.empty() && std::all_of(spec.begin(), spec.end(), ::isdigit)) {
    const int i = std::atoi(spec.c_str());
    CLRT_CHECK(i >= 0 && i < static_cast<int>(all.size()), kValue, "device index ", i,
               " out of range: ", all.size(), " OpenCL device(s) present");
    return i;
  }
  const std::string want = lower(spec);
  for (auto& e : all)
    if (lower(e.info.name + " " + e.info.vendor + " " + e.info.platform).find(want) !=
        std::string::npos)
      return e.info.index;
  std::string names;
  for (auto& e : all)
    names += str("\n  ", e.info.index, ": ", e.info.name, " (", e.info.platform, ")");
  fail(ErrorKind::kValue, str("no OpenCL device matches '", spec, "'; devices:", names));
}

std::shared_ptr<Device> Device::open(int index) {
  // Leaked on purpose: releasing OpenCL objects from static destructors at exit crashes some
  // drivers (NVIDIA's is unloaded first).
  static auto& opened = *new std::map<int, std::shared_ptr<Device>>();
  // CLBlast keeps programs in static caches; releasing them after the driver's own teardown
  // crashes NVIDIA's OpenCL at exit, so empty them while the driver is still alive.
  static const bool clearAtExit = (std::atexit([] { clblast::ClearCache(); }), true);
  (void)clearAtExit;
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = opened.find(index);
  if (it != opened.end()) return it->second;
  const auto& all = enumerate();
  CLRT_CHECK(index >= 0 && index < static_cast<int>(all.size()), kValue, "device index ", index,
             " out of range: ", all.size(), " OpenCL device(s) present");
  std::shared_ptr<Device> d(new Device());
  d->info_ = all[index].info;
  d->dev_ = all[index].id;
  cl_int err = CL_SUCCESS;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                   reinterpret_cast<cl_context_properties>(all[index].platform), 0};
  d->ctx_ = clCreateContext(props, 1, &d->dev_, nullptr, nullptr, &err);
  check(err, "clCreateContext");
  d->queue_ = d->createQueue();
  opened[index] = d;
  return d;
}

std::shared_ptr<Device> Device::getDefault() {
  int idx;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_default == -2) {
      const char* env = std::getenv("CLRT_DEVICE");
      g_default = -1;
      if (env && *env) {
        g_default = -3;  // resolved below, outside the lock
      }
    }
    idx = g_default;
  }
  if (idx == -3) {
    idx = resolve(std::getenv("CLRT_DEVICE"));
    std::lock_guard<std::mutex> lock(g_mu);
    g_default = idx;
  } else if (idx == -1) {
    const auto& all = enumerate();
    CLRT_CHECK(!all.empty(), kDevice,
               "no OpenCL device found (is an ICD installed? e.g. pocl-opencl-icd on Debian)");
    idx = 0;
    for (auto& e : all)
      if (e.info.is_gpu) {
        idx = e.info.index;
        break;
      }
    std::lock_guard<std::mutex> lock(g_mu);
    g_default = idx;
  }
  return open(idx);
}

void Device::setDefault(int index) {
  open(index);  // validates
  std::lock_guard<std::mutex> lock(g_mu);
  g_default = index;
}

Device::~Device() {
  for (auto& [k, p] : programs_) clReleaseProgram(p);
  if (queue_) clReleaseCommandQueue(queue_);
  if (ctx_) clReleaseContext(ctx_);
}

cl_command_queue Device::createQueue() const {
  cl_int err = CL_SUCCESS;
  cl_command_queue q = clCreateCommandQueue(ctx_, dev_, CL_QUEUE_PROFILING_ENABLE, &err);
  check(err, "clCreateCommandQueue");
  return q;
}

void Device::attachQueue(cl_command_queue q) {
  std::lock_guard<std::mutex> lock(queues_mu_);
  attached_.push_back(q);
}

void Device::detachQueue(cl_command_queue q) {
  std::lock_guard<std::mutex> lock(queues_mu_);
  attached_.erase(std::remove(attached_.begin(), attached_.end(), q), attached_.end());
}

cl_int Device::finishAll() {
  std::lock_guard<std::mutex> lock(queues_mu_);
  cl_int err = clFinish(queue_);
  for (cl_command_queue q : attached_) {
    const cl_int e = clFinish(q);
    if (err == CL_SUCCESS) err = e;
  }
  return err;
}

cl_mem Device::alloc(size_t bytes) const {
  CLRT_CHECK(bytes <= info_.max_alloc, kDevice, "cannot allocate ", bytes, " bytes on ", info_.name,
             ": the device's largest allocation is ", info_.max_alloc, " bytes");
  cl_int err = CL_SUCCESS;
  cl_mem m = clCreateBuffer(ctx_, CL_MEM_READ_WRITE, std::max<size_t>(bytes, 4), nullptr, &err);
  if (err != CL_SUCCESS)
    fail(ErrorKind::kDevice,
         str("allocating ", bytes, " bytes on ", info_.name, " failed: ", clErrorName(err)));
  return m;
}

void Device::write(cl_command_queue q, cl_mem buf, size_t offset, size_t bytes, const void* src,
                   bool blocking) const {
  if (bytes == 0) return;
  check(clEnqueueWriteBuffer(q, buf, blocking ? CL_TRUE : CL_FALSE, offset, bytes, src, 0, nullptr,
                             nullptr),
        "clEnqueueWriteBuffer");
}

void Device::read(cl_command_queue q, cl_mem buf, size_t offset, size_t bytes, void* dst) const {
  if (bytes == 0) return;
  check(clEnqueueReadBuffer(q, buf, CL_TRUE, offset, bytes, dst, 0, nullptr, nullptr),
        "clEnqueueReadBuffer");
}

MemHandle& MemHandle::operator=(MemHandle&& o) noexcept {
  if (this != &o) {
    if (m) clReleaseMemObject(m);
    m = o.m;
    o.m = nullptr;
  }
  return *this;
}
MemHandle::~MemHandle() {
  if (m) clReleaseMemObject(m);
}
KernelHandle& KernelHandle::operator=(KernelHandle&& o) noexcept {
  if (this != &o) {
    if (k) clReleaseKernel(k);
    k = o.k;
    o.k = nullptr;
  }
  return *this;
}
KernelHandle::~KernelHandle() {
  if (k) clReleaseKernel(k);
}

void launch(cl_command_queue q, cl_kernel k, std::vector<size_t> global, std::vector<size_t> local,
            cl_event* ev) {
  for (size_t i = 0; i < global.size(); ++i) {
    if (global[i] == 0) global[i] = 1;
    if (!local.empty() && local[i] > 0)
      global[i] = (global[i] + local[i] - 1) / local[i] * local[i];
  }
  check(clEnqueueNDRangeKernel(q, k, static_cast<cl_uint>(global.size()), nullptr, global.data(),
                               local.empty() ? nullptr : local.data(), 0, nullptr, ev),
        "clEnqueueNDRangeKernel");
}

}  // namespace clrt::ocl
