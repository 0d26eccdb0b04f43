// pycuda stand-ins (mem_alloc, memcpy_htod/dtoh, Stream) and OpenCL device selection.
#include "clrt/ocl/device.h"
#include "clrt/python/bindings.h"
#include "clrt/runtime/engine.h"
#include "clrt/runtime/host_io.h"

namespace clrt::python {
namespace {

// Like pycuda's DeviceAllocation: int(alloc) is the pointer execute_v2 and set_tensor_address
// take. Freed by free(), by leaving a `with` block, or when garbage collected.
class DeviceAllocation {
 public:
  DeviceAllocation(uintptr_t ptr, size_t size) : ptr_(ptr), size_(size) {}
  DeviceAllocation(const DeviceAllocation&) = delete;
  DeviceAllocation& operator=(const DeviceAllocation&) = delete;
  ~DeviceAllocation() {
    try {
      free();
    } catch (...) {  // a destructor must not throw; the table entry is gone either way
    }
  }
  void free() {
    if (live_) {
      live_ = false;
      runtime::memFree(ptr_);
    }
  }
  uintptr_t ptr() const { return ptr_; }
  size_t size() const { return size_; }
  bool live() const { return live_; }

 private:
  uintptr_t ptr_;
  size_t size_;
  bool live_ = true;
};

void htod(const py::object& dst, const py::object& src) {
  const uintptr_t p = devicePointer(dst, "memcpy_htod dst");
  BufferView view(src, false, "memcpy_htod src");
  py::gil_scoped_release release;
  runtime::memcpyHtoD(p, view.data(), view.size());
}

void dtoh(const py::object& dst, const py::object& src) {
  const uintptr_t p = devicePointer(src, "memcpy_dtoh src");
  BufferView view(dst, true, "memcpy_dtoh dst");
  py::gil_scoped_release release;
  runtime::memcpyDtoH(view.data(), p, view.size());
}

std::string describe(const ocl::DeviceInfo& d) {
  const int cc = d.compute_capability;
  return str(d.name, " (", d.vendor, "; ", d.version, "; driver ", d.driver,
             cc > 0 ? str("; compute capability ", cc / 10, ".", cc % 10) : std::string(), ")");
}

void bindMemory(py::module_& m) {
  py::class_<DeviceAllocation>(m, "DeviceAllocation", "Device memory from mem_alloc.")
      .def("__int__", &DeviceAllocation::ptr)
      .def("__index__", &DeviceAllocation::ptr)
      .def_property_readonly("size", &DeviceAllocation::size)
      .def("free", &DeviceAllocation::free, "Releases the memory now (later uses raise).")
      .def("__enter__", [](const py::object& self) { return self; })
      .def("__exit__",
           [](DeviceAllocation& a, const py::args&) {
             a.free();
             return false;
           })
      .def("__repr__", [](const DeviceAllocation& a) {
        return str("<clrt.DeviceAllocation 0x", std::hex, a.ptr(), std::dec, ", ", a.size(),
                   " bytes", a.live() ? "" : ", freed", ">");
      });
  m.def(
      "mem_alloc",
      [](size_t nbytes) {
        // OpenCL has no empty buffers: zero-byte requests get one byte.
        const uintptr_t p =
            runtime::memAlloc(ocl::Device::getDefault(), std::max<size_t>(nbytes, 1));
        return std::make_unique<DeviceAllocation>(p, nbytes);
      },
      py::arg("nbytes"), "Allocates device memory on the default OpenCL device.");
  m.def(
      "_pagelocked_bytes",
      [](size_t nbytes) {
        auto dev = ocl::Device::getDefault();
        if (!dev->info().is_gpu)  // a CPU device reads any host memory at memory speed
          return py::array_t<uint8_t>(static_cast<py::ssize_t>(nbytes));
        auto* block = new runtime::PinnedHost(dev, nbytes);
        py::capsule owner(block, [](void* p) { delete static_cast<runtime::PinnedHost*>(p); });
        return py::array_t<uint8_t>({static_cast<py::ssize_t>(nbytes)}, {1},
                                    static_cast<uint8_t*>(block->data()), owner);
      },
      py::arg("nbytes"),
      "A uint8 array of page-locked host memory on the default device (GPUs; ordinary memory "
      "on CPU devices): what trt.pagelocked_empty views.");
  m.def("memcpy_htod", &htod, py::arg("dest"), py::arg("src"),
        "Copies a C-contiguous array or buffer to device memory (ValueError if it does not fit).");
  m.def("memcpy_dtoh", &dtoh, py::arg("dest"), py::arg("src"),
        "Fills a writable C-contiguous array from device memory.");
  m.def(
      "memcpy_htod_async",
      [](const py::object& d, const py::object& s, const py::object&) { htod(d, s); },
      py::arg("dest"), py::arg("src"), py::arg("stream") = py::none(),
      "Same as memcpy_htod (the copy is done when it returns).");
  m.def(
      "memcpy_dtoh_async",
      [](const py::object& d, const py::object& s, const py::object&) { dtoh(d, s); },
      py::arg("dest"), py::arg("src"), py::arg("stream") = py::none(),
      "Same as memcpy_dtoh; it waits for work enqueued before it on every context's queue.");

  m.def(
      "memcpy_dtod",
      [](const py::object& d, const py::object& s, size_t size) {
        const uintptr_t dp = devicePointer(d, "memcpy_dtod dest");
        const uintptr_t sp = devicePointer(s, "memcpy_dtod src");
        py::gil_scoped_release release;
        runtime::memcpyDtoD(dp, sp, size);
      },
      py::arg("dest"), py::arg("src"), py::arg("size"),
      "Copies size bytes between two allocations (ValueError if either holds fewer).");
  m.def(
      "memset_d8",
      [](const py::object& d, int value, size_t count) {
        CLRT_CHECK(value >= 0 && value <= 255, kValue, "memset_d8: data ", value,
                   " is not a byte value (0-255)");
        const uintptr_t p = devicePointer(d, "memset_d8 dest");
        py::gil_scoped_release release;
        runtime::memsetD8(p, static_cast<uint8_t>(value), count);
      },
      py::arg("dest"), py::arg("data"), py::arg("count"),
      "Sets the first count bytes of an allocation to data (ValueError if it holds fewer).");

  m.def(
      "_is_device_pointer",
      [](uintptr_t ptr) {
        try {
          runtime::lookupAllocation(ptr);
          return true;
        } catch (const Error&) {
          return false;
        }
      },
      py::arg("ptr"), "Whether ptr is a live allocation from mem_alloc (cudaMemcpyDefault).");

  struct Stream {};
  py::class_<Stream>(m, "Stream", "pycuda's Stream: synchronize() waits for every context's queue.")
      .def(py::init<>())
      .def_property_readonly("handle", [](const Stream&) { return 0; })
      .def("synchronize",
           [](const Stream&) {
             auto dev = ocl::Device::getDefault();
             py::gil_scoped_release release;
             ocl::check(dev->finishAll(), "clFinish");
           })
      .def("is_done", [](const Stream&) {
        auto dev = ocl::Device::getDefault();
        py::gil_scoped_release release;
        ocl::check(dev->finishAll(), "clFinish");
        return true;
      });
}

void bindDevices(py::module_& m) {
  using D = ocl::DeviceInfo;
  py::class_<D>(m, "Device", "An OpenCL device as clrt sees it.")
      .def_readonly("index", &D::index)
      .def_readonly("name", &D::name)
      .def_readonly("vendor", &D::vendor)
      .def_readonly("version", &D::version)
      .def_readonly("driver", &D::driver)
      .def_readonly("platform", &D::platform)
      .def_readonly("is_gpu", &D::is_gpu)
      .def_readonly("global_mem", &D::global_mem)
      .def_readonly("max_alloc", &D::max_alloc)
      .def_readonly("local_mem", &D::local_mem)
      .def_readonly("compute_units", &D::compute_units)
      .def_readonly("has_fp16", &D::has_fp16)
      .def_readonly("compute_capability", &D::compute_capability,
                    "NVIDIA's compute capability as major * 10 + minor; 0 elsewhere.")
      .def_property_readonly("fingerprint", &D::fingerprint)
      .def("__str__", &describe)
      .def("__repr__",
           [](const D& d) { return str("<clrt.Device ", d.index, ": ", describe(d), ">"); });
  m.def("get_devices", &ocl::getDevices, "Every OpenCL device on every platform, in clrt's order.");
  m.def(
      "set_device",
      [](const py::object& spec) {
        const int index = py::isinstance<py::str>(spec)
                              ? ocl::Device::resolve(spec.cast<std::string>())
                              : spec.cast<int>();
        ocl::Device::setDefault(index);
        return ocl::Device::getDefault()->info();
      },
      py::arg("device"),
      "Makes a device (index, or case-insensitive name substring) the default for Builders, "
      "Runtimes and mem_alloc created afterwards. Returns it.");
  m.def(
      "current_device", [] { return ocl::Device::getDefault()->info(); },
      "The default device: set_device's, else CLRT_DEVICE's, else the first GPU, else the first.");
  m.def(
      "compile_count", [] { return ocl::Device::getDefault()->compileCount(); },
      "OpenCL programs compiled on the default device in this process (cache misses).");
}

}  // namespace

uintptr_t devicePointer(const py::handle& obj, const std::string& what) {
  PyObject* p = obj.ptr();
  auto refuse = [&](const char* why) {
    fail(ErrorKind::kValue, str(what,
                                ": expected a device pointer (an int from clrt.mem_alloc or "
                                "a DeviceAllocation), got ",
                                std::string(py::repr(obj)), " (", why, ")"));
  };
  if (PyFloat_Check(p) || PyBool_Check(p) || obj.is_none() || PyUnicode_Check(p) ||
      PyBytes_Check(p))
    refuse(py::str(py::type::of(obj).attr("__name__")).cast<std::string>().c_str());
  PyObject* as_int = PyIndex_Check(p) ? PyNumber_Index(p) : PyNumber_Long(p);
  if (!as_int) {
    PyErr_Clear();
    refuse("not an integer");
  }
  auto v = py::reinterpret_steal<py::int_>(as_int);
  int overflow = 0;
  const long long n = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  if (overflow || n < 0) {
    PyErr_Clear();
    refuse(overflow > 0 ? "too large" : "negative");
  }
  return static_cast<uintptr_t>(n);
}

void bind_memory(py::module_& m) {
  bindMemory(m);
  bindDevices(m);
}

}  // namespace clrt::python
