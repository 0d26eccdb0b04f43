// Data-dependent kinds (NON_ZERO, NMS, UNIQUE) run on the host: the kernel waits for the queue,
// reads its inputs back, computes them with ir::evalDataDependent and writes the outputs. Their
// sizes are what the values give; the context resolves the layers after them from those dims.
// These ops sit at the end of detectors (a few thousand boxes), where one synchronization costs
// less than a device kernel's prefix sums and a count read back would anyway.
#include "clrt/core/error.h"
#include "clrt/tactics/strided.h"

namespace clrt::tactics {
namespace {

using L = ir::LayerKind;

class HostDataDependentKernel : public Kernel {
 public:
  explicit HostDataDependentKernel(const ir::Layer& l) : layer_(l) { layer_.weights.clear(); }
  bool dataDependent() const override { return true; }

  void enqueue(const ExecArgs& a) override {
    ocl::check(clFinish(a.queue), "clFinish");
    std::vector<HostTensor> in;
    for (size_t i = 0; i < a.inputs.size(); ++i) {
      if (i < a.input_values.size() && a.input_values[i]) {
        in.push_back(*a.input_values[i]);
        continue;
      }
      const DeviceTensor& t = a.inputs[i];
      if (!t.buf) {
        in.emplace_back();  // absent optional input
        continue;
      }
      HostTensor h(t.dtype, t.dims);
      if (!h.bytes.empty())
        ocl::check(clEnqueueReadBuffer(a.queue, t.buf, CL_TRUE, 0, h.bytes.size(), h.bytes.data(),
                                       0, nullptr, nullptr),
                   "clEnqueueReadBuffer");
      in.push_back(std::move(h));
    }
    std::vector<HostTensor> outs = ir::evalDataDependent(layer_, in);
    CLRT_CHECK(outs.size() == a.outputs.size(), kRuntime, "layer '", layer_.name, "' (",
               ir::layerKindName(layer_.kind), ") computed ", outs.size(), " outputs, it has ",
               a.outputs.size());
    std::vector<Dims> dims;
    for (size_t o = 0; o < outs.size(); ++o) {
      const DeviceTensor& t = a.outputs[o];
      HostTensor v = outs[o].dtype == t.dtype ? std::move(outs[o]) : outs[o].castTo(t.dtype);
      size_t have = 0;
      if (t.buf) clGetMemObjectInfo(t.buf, CL_MEM_SIZE, sizeof have, &have, nullptr);
      // The buffers were sized at an upper bound of these dims; never write past one.
      CLRT_CHECK(v.bytes.size() <= have && v.dims.size() == t.dims.size(), kRuntime, "layer '",
                 layer_.name, "' (", ir::layerKindName(layer_.kind), "): output ", o, " is ",
                 dimsToString(v.dims), " (", v.bytes.size(),
                 " bytes) but its buffer was sized for ", dimsToString(t.dims), " (", have,
                 " bytes); this is a bug in clrt's bound");
      if (!v.bytes.empty())
        ocl::check(clEnqueueWriteBuffer(a.queue, t.buf, CL_TRUE, 0, v.bytes.size(), v.bytes.data(),
                                        0, nullptr, nullptr),
                   "clEnqueueWriteBuffer");
      dims.push_back(v.dims);
    }
    if (a.actual_dims) *a.actual_dims = std::move(dims);
  }

 private:
  ir::Layer layer_;
};

}  // namespace

void registerDataDependentTactics() {
  const std::pair<const char*, L> kinds[] = {
      {"host.non_zero", L::kNON_ZERO}, {"host.nms", L::kNMS}, {"host.unique", L::kUNIQUE}};
  for (const auto& [name, k] : kinds)
    registerTactic(std::make_unique<FnTactic>(
        name, k,
        [](const ir::Layer&, const std::vector<ir::TensorInfo>&, const ocl::DeviceInfo&) {
          return true;  // any dtype: the host reads each input as what it is stored as
        },
        [](const ir::Layer& l, ocl::Device&) -> std::unique_ptr<Kernel> {
          return std::make_unique<HostDataDependentKernel>(l);
        },
        std::vector<DataType>{DataType::kFLOAT, DataType::kHALF}));
}

}  // namespace clrt::tactics
