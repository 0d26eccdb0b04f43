// Engine: checks the device and the plan, instantiates each layer's tactic, uploads constants.
#include "clrt/runtime/engine.h"

#include <algorithm>
#include <optional>

#include "clrt/plan/byte_io.h"
#include "clrt/plan/plan.h"
#include "clrt/runtime/engine_check.h"
#include "clrt/runtime/shape_resolver.h"

namespace clrt::runtime {

namespace {

// Shapes must be consistent at every profile corner before any kernel sees them.
void checkCorners(const EngineDesc& desc) {
  const auto& net = desc.net;
  CLRT_CHECK(desc.tactics.size() == net.layers.size() && desc.on_host.size() == net.layers.size(),
             kEngineFormat, "engine file malformed: ", desc.tactics.size(), " tactics and ",
             desc.on_host.size(), " placement flags for ", net.layers.size(), " layers");
  try {
    const size_t np = std::max<size_t>(desc.profiles.size(), 1);
    for (size_t p = 0; p < np; ++p)
      for (int corner = 0; corner < 3; ++corner)
        resolveShapes(net, desc.on_host, profileInputDims(net, desc.profiles, p, corner),
                      profileInputValues(net, desc.profiles, p, corner));
  } catch (const Error& err) {
    fail(ErrorKind::kEngineFormat, str("engine file malformed: ", err.what()));
  }
}

// The scratch the chosen kernels need at the largest profile shapes, as the builder stored it.
uint64_t workspaceNeeded(const EngineDesc& desc,
                         const std::vector<std::unique_ptr<tactics::Kernel>>& kernels) {
  const auto& net = desc.net;
  uint64_t ws = 0;
  for (size_t p = 0; p < std::max<size_t>(desc.profiles.size(), 1); ++p) {
    const ResolvedShapes r =
        resolveShapes(net, desc.on_host, profileInputDims(net, desc.profiles, p, 2),
                      profileInputValues(net, desc.profiles, p, 2));
    for (size_t li = 0; li < net.layers.size(); ++li) {
      if (kernels[li])
        ws = std::max<uint64_t>(ws, kernels[li]->workspaceAt(net.layers[li], r.dims));
    }
  }
  return ws;
}

}  // namespace

std::shared_ptr<Engine> Engine::create(EngineDesc desc, std::shared_ptr<ocl::Device> dev,
                                       ILogger* logger, const LoadOptions& load) {
  const std::string here = dev->info().fingerprint();
  CLRT_CHECK(desc.device_fingerprint == here, kEngineFormat,
             "engine was built for another device: '", plan::printable(desc.device_name), "' [",
             plan::printable(desc.device_fingerprint), "], this device is '", dev->info().name,
             "' [", here, "]; rebuild the engine on this device");
  if (load.from_file)
    checkEngineDesc(desc, dev->info());
  else
    checkCorners(desc);
  const auto& net = desc.net;
  std::shared_ptr<Engine> e(new Engine());
  e->dev_ = std::move(dev);
  e->logger_ = logger;
  for (int t : net.inputs) e->io_.push_back(t);
  for (int t : net.outputs) e->io_.push_back(t);

  ocl::ProgramLogScope logScope(logger);
  ocl::ProgramRecorder recorder;
  std::optional<ocl::ProgramBinaryScope> binaries;
  if (!load.rebuild_programs) binaries.emplace(desc.program_binaries);
  std::vector<bool> hostTensor(net.tensors.size(), false);
  e->kernels_.resize(net.layers.size());
  for (size_t li = 0; li < net.layers.size(); ++li) {
    const auto& l = net.layers[li];
    if (desc.on_host[li]) {
      for (int t : l.outputs) hostTensor[t] = true;
      continue;
    }
    const tactics::Tactic* tac = tactics::findTactic(desc.tactics[li]);
    CLRT_CHECK(tac, kEngineFormat, "engine uses tactic '", plan::printable(desc.tactics[li]),
               "' for layer '", plan::printable(l.name),
               "', which this clrt does not have (engine from another version?)");
    try {
      e->kernels_[li] = tac->instantiate(l, *e->dev_);
    } catch (const Error& err) {
      if (!load.from_file || err.kind() == ErrorKind::kDevice) throw;
      fail(ErrorKind::kEngineFormat,
           str("engine file malformed: layer ", li, " '", plan::printable(l.name),
               "': ", plan::printableText(err.what())));
    }
    e->reports_run_errors_ = e->reports_run_errors_ || e->kernels_[li]->reportsRunErrors();
    for (int t : l.inputs) {
      if (t < 0 || !hostTensor[t] || e->const_bufs_.count(t)) continue;
      const int p = net.tensors[t].producer;
      if (p >= 0 && net.layers[p].kind == ir::LayerKind::kCONSTANT) {
        auto vit = net.layers[p].weights.find("value");
        CLRT_CHECK(vit != net.layers[p].weights.end(), kEngineFormat,
                   "engine file malformed: constant layer '", net.layers[p].name, "' has no value");
        const HostTensor& v = vit->second;
        ocl::MemHandle m(e->dev_->alloc(std::max<size_t>(v.bytes.size(), 4)));
        e->dev_->write(e->dev_->queue(), m.get(), 0, v.bytes.size(), v.bytes.data(), true);
        e->const_bufs_[t] = std::move(m);
      }
    }
  }
  // (Split-K's workspace depends on CLRT_TC_SPLITK where it is set: the same setting must be
  // used to build and to load.)
  if (load.from_file && workspaceNeeded(desc, e->kernels_) != desc.workspace_bytes)
    fail(ErrorKind::kEngineFormat,
         str("engine file malformed: workspace bytes: ", desc.workspace_bytes,
             ", but the engine's kernels need ", workspaceNeeded(desc, e->kernels_),
             " (or it was built with another CLRT_TC_SPLITK setting than this process has)"));
  // The fresh binaries replace the stored ones, so serialize() writes a file whose programs
  // were built here.
  if (load.rebuild_programs) desc.program_binaries = e->dev_->programBinaries(recorder.keys());
  e->desc_ = std::move(desc);
  return e;
}

std::shared_ptr<Engine> Engine::deserialize(const uint8_t* data, size_t size,
                                            std::shared_ptr<ocl::Device> dev, ILogger* logger,
                                            bool rebuildPrograms) {
  LoadOptions load;
  load.from_file = true;
  load.rebuild_programs = rebuildPrograms;
  return create(plan::deserialize(data, size, !rebuildPrograms), std::move(dev), logger, load);
}

std::vector<uint8_t> Engine::serialize() const { return plan::serialize(desc_); }

const std::string& Engine::ioName(int i) const {
  CLRT_CHECK(i >= 0 && i < numIOTensors(), kValue, "I/O tensor index ", i, " out of range [0, ",
             numIOTensors(), ")");
  return desc_.net.tensors[io_[i]].name;
}

const std::string& Engine::ioKey(int i) const {
  ioName(i);  // range check
  const ir::Tensor& t = desc_.net.tensors[io_[static_cast<size_t>(i)]];
  return t.onnx_name.empty() ? t.name : t.onnx_name;
}

int Engine::ioTensorId(const std::string& name) const {
  for (int t : io_)
    if (desc_.net.tensors[t].name == name) return t;
  std::string names;
  for (int t : io_) names += (names.empty() ? "'" : ", '") + desc_.net.tensors[t].name + "'";
  fail(ErrorKind::kValue,
       str("engine has no input or output tensor named '", name, "'; its I/O tensors are ", names));
}

TensorIOMode Engine::ioMode(const std::string& name) const {
  for (int t : desc_.net.inputs)
    if (desc_.net.tensors[t].name == name) return TensorIOMode::kINPUT;
  for (int t : desc_.net.outputs)
    if (desc_.net.tensors[t].name == name) return TensorIOMode::kOUTPUT;
  return TensorIOMode::kNONE;
}

Dims Engine::ioShape(const std::string& name) const {
  return desc_.net.tensors[ioTensorId(name)].dims;
}

DataType Engine::ioDtype(const std::string& name) const {
  return desc_.net.tensors[ioTensorId(name)].dtype;
}

ir::TensorFormat Engine::ioFormat(const std::string& name) const {
  return desc_.net.tensors[ioTensorId(name)].format;
}

ShapeRange Engine::profileShape(const std::string& input, int profile) const {
  CLRT_CHECK(ioMode(input) == TensorIOMode::kINPUT, kValue, "'", input,
             "' is not an input of this engine");
  if (desc_.profiles.empty()) {
    const Dims d = ioShape(input);
    CLRT_CHECK(profile == 0, kValue, "profile ", profile, " out of range: engine has no profiles");
    return {d, d, d};
  }
  CLRT_CHECK(profile >= 0 && profile < numProfiles(), kValue, "profile ", profile,
             " out of range [0, ", numProfiles(), ")");
  auto it = desc_.profiles[profile].shapes.find(input);
  if (it == desc_.profiles[profile].shapes.end()) {
    const Dims d = ioShape(input);
    return {d, d, d};
  }
  return it->second;
}

std::unique_ptr<ExecutionContext> Engine::createExecutionContext(bool userManaged) {
  return std::make_unique<ExecutionContext>(shared_from_this(), userManaged);
}

ResolvedShapes Engine::resolvedAtMax(int p) const {
  CLRT_CHECK(p >= 0 && p < std::max(numProfiles(), 1), kValue, "optimization profile ", p,
             " does not exist; the engine has ", std::max(numProfiles(), 1));
  const auto& net = desc_.net;
  return resolveShapes(net, desc_.on_host, profileInputDims(net, desc_.profiles, p, 2),
                       profileInputValues(net, desc_.profiles, p, 2));
}

uint64_t Engine::deviceMemoryForProfile(int p) const {
  return deviceMemoryAt(resolvedAtMax(p).dims);
}

int64_t Engine::maxOutputBytes(const std::string& name, int p) const {
  if (ioMode(name) != TensorIOMode::kOUTPUT) return -1;
  const int t = ioTensorId(name);
  return static_cast<int64_t>(volume(resolvedAtMax(p).dims[t]) *
                              dtypeSize(desc_.net.tensors[t].dtype));
}

uint64_t Engine::deviceMemoryAt(const std::vector<Dims>& dims) const {
  const auto& net = desc_.net;
  const uint64_t align = device().info().arena_alignment;
  uint64_t ws = 0;
  for (size_t li = 0; li < net.layers.size(); ++li)
    if (!desc_.on_host[li])
      ws = std::max<uint64_t>(ws, kernel(static_cast<int>(li))->workspaceAt(net.layers[li], dims));
  return blockLayout(planMemory(net, desc_.on_host, dims, align), ws, align).total;
}

cl_mem Engine::constantBuffer(int tensor) const {
  auto it = const_bufs_.find(tensor);
  return it == const_bufs_.end() ? nullptr : it->second.get();
}

}  // namespace clrt::runtime
