// Engine: checks the device, instantiates each layer's tactic from the plan, uploads constants.
#include "clrt/runtime/engine.h"

#include "clrt/plan/plan.h"
#include "clrt/runtime/shape_resolver.h"

namespace clrt::runtime {

std::shared_ptr<Engine> Engine::create(EngineDesc desc, std::shared_ptr<ocl::Device> dev,
                                       ILogger* logger) {
  const std::string here = dev->info().fingerprint();
  CLRT_CHECK(desc.device_fingerprint == here, kEngineFormat,
             "engine was built for another device: '", desc.device_name, "' [",
             desc.device_fingerprint, "], this device is '", dev->info().name, "' [", here,
             "]; rebuild the engine on this device");
  const auto& net = desc.net;
  CLRT_CHECK(desc.tactics.size() == net.layers.size() && desc.on_host.size() == net.layers.size(),
             kEngineFormat, "engine file malformed: ", desc.tactics.size(), " tactics and ",
             desc.on_host.size(), " placement flags for ", net.layers.size(), " layers");
  // Shapes must be consistent at every profile corner before any kernel sees them: a damaged
  // or hostile file fails here instead of reaching the device with bad sizes.
  try {
    const size_t np = std::max<size_t>(desc.profiles.size(), 1);
    for (size_t p = 0; p < np; ++p)
      for (int corner = 0; corner < 3; ++corner)
        resolveShapes(net, desc.on_host, profileInputDims(net, desc.profiles, p, corner));
  } catch (const Error& err) {
    fail(ErrorKind::kEngineFormat, str("engine file malformed: ", err.what()));
  }
  std::shared_ptr<Engine> e(new Engine());
  e->dev_ = std::move(dev);
  e->logger_ = logger;
  e->dev_->addProgramBinaries(desc.program_binaries);
  for (int t : net.inputs) e->io_.push_back(t);
  for (int t : net.outputs) e->io_.push_back(t);

  std::vector<bool> hostTensor(net.tensors.size(), false);
  e->kernels_.resize(net.layers.size());
  for (size_t li = 0; li < net.layers.size(); ++li) {
    const auto& l = net.layers[li];
    if (desc.on_host[li]) {
      for (int t : l.outputs) hostTensor[t] = true;
      continue;
    }
    const tactics::Tactic* tac = tactics::findTactic(desc.tactics[li]);
    CLRT_CHECK(tac, kEngineFormat, "engine uses tactic '", desc.tactics[li], "' for layer '",
               l.name, "', which this clrt does not have (engine from another version?)");
    e->kernels_[li] = tac->instantiate(l, *e->dev_);
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
  e->desc_ = std::move(desc);
  return e;
}

std::shared_ptr<Engine> Engine::deserialize(const uint8_t* data, size_t size,
                                            std::shared_ptr<ocl::Device> dev, ILogger* logger) {
  return create(plan::deserialize(data, size), std::move(dev), logger);
}

std::vector<uint8_t> Engine::serialize() const { return plan::serialize(desc_); }

const std::string& Engine::ioName(int i) const {
  CLRT_CHECK(i >= 0 && i < numIOTensors(), kValue, "I/O tensor index ", i, " out of range [0, ",
             numIOTensors(), ")");
  return desc_.net.tensors[io_[i]].name;
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

std::unique_ptr<ExecutionContext> Engine::createExecutionContext() {
  return std::make_unique<ExecutionContext>(shared_from_this());
}

cl_mem Engine::constantBuffer(int tensor) const {
  auto it = const_bufs_.find(tensor);
  return it == const_bufs_.end() ? nullptr : it->second.get();
}

}  // namespace clrt::runtime
