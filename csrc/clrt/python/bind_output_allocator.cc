// TensorRT's IOutputAllocator on the execution context: set_output_allocator /
// get_output_allocator. The allocator is any object with reallocate_output(_async) and
// notify_shape (clrt.IOutputAllocator, in _trt_api.py, is the base class to subclass).
#include "clrt/python/context.h"

namespace clrt::python {
namespace {

// Calls the Python allocator from the run (which holds no GIL). The Context keeps the object
// alive (output_allocators) for as long as the execution context can call it.
class PyOutputAllocator : public runtime::OutputAllocator {
 public:
  explicit PyOutputAllocator(py::handle obj) : obj_(obj) {}
  uintptr_t reallocate(const std::string& name, uintptr_t current, uint64_t size,
                       uint64_t alignment, cl_command_queue queue) override {
    py::gil_scoped_acquire gil;
    py::object r;
    if (py::hasattr(obj_, "reallocate_output_async"))
      r = obj_.attr("reallocate_output_async")(name, current, size, alignment,
                                               reinterpret_cast<uintptr_t>(queue));
    else
      r = obj_.attr("reallocate_output")(name, current, size, alignment);
    if (r.is_none()) return 0;
    return devicePointer(r, "the output allocator's memory for '" + name + "'");
  }
  void notifyShape(const std::string& name, const Dims& dims) override {
    py::gil_scoped_acquire gil;
    obj_.attr("notify_shape")(name, toTuple(dims));
  }

 private:
  py::handle obj_;
};

}  // namespace

void bindContextOutputAllocator(py::class_<Context>& cls) {
  cls.def(
         "set_output_allocator",
         [](Context& c, const std::string& name, const py::object& alloc) {
           CLRT_CHECK(alloc.is_none() || (py::hasattr(alloc, "notify_shape") &&
                                          (py::hasattr(alloc, "reallocate_output") ||
                                           py::hasattr(alloc, "reallocate_output_async"))),
                      kValue, "set_output_allocator('", name,
                      "'): expected a trt.IOutputAllocator (reallocate_output and notify_shape), "
                      "got ",
                      std::string(py::str(py::type::of(alloc).attr("__name__"))));
           std::shared_ptr<runtime::OutputAllocator> a;
           if (!alloc.is_none()) a = std::make_shared<PyOutputAllocator>(alloc);
           {
             py::gil_scoped_release release;
             c.ctx->setOutputAllocator(name, std::move(a));
           }
           if (alloc.is_none())
             c.output_allocators.erase(name);
           else
             c.output_allocators[name] = alloc;
           return true;
         },
         py::arg("name"), py::arg("output_allocator"),
         "After each run, output_allocator.reallocate_output(name, memory, size, alignment) "
         "(or reallocate_output_async(..., stream)) gives memory for the output at its actual "
         "size (a clrt.mem_alloc pointer) and notify_shape(name, shape) tells its shape.")
      .def(
          "get_output_allocator",
          [](const Context& c, const std::string& name) -> py::object {
            auto it = c.output_allocators.find(name);
            return it == c.output_allocators.end() ? py::none() : it->second;
          },
          py::arg("name"));
}

}  // namespace clrt::python
