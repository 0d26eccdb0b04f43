// ExecutionContext's partial re-execution: staging inputs without running, running a range of
// layers, and saving/restoring the tensors a run needs to resume at a layer.
#include <mutex>

#include "clrt/runtime/context_state.h"
#include "clrt/runtime/engine.h"
#include "clrt/runtime/host_io.h"

namespace clrt::runtime {

cl_mem Snapshot::buffer(int tensor) const {
  auto it = tensors.find(tensor);
  return it == tensors.end() ? nullptr : it->second.first.get();
}

void ExecutionContext::load(const std::map<std::string, HostTensor>& inputs) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::map<std::string, HostView> views;
  for (auto& [name, h] : inputs)
    views[name] = HostView{h.dtype, h.dims, h.bytes.data(), h.bytes.size()};
  finishingOnError(queue_, [&] {
    stageInputs(views);
    host_io_->finish();  // the caller's arrays may go as soon as this returns
  });
}

void ExecutionContext::runLayers(int begin, int end) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const int n = engine_->numLayers();
  if (end < 0) end = n;
  CLRT_CHECK(resolved_ && !infer_io_.empty(), kValue,
             "runLayers: no inputs staged on this context; call load() (or infer()) first");
  CLRT_CHECK(begin >= 0 && begin <= end && end <= n, kValue, "runLayers: layer range [", begin,
             ", ", end, ") is not within the engine's ", n, " layers");
  enqueueLayers(queue_, infer_io_, begin, end);
}

uint64_t ExecutionContext::tensorBytes(int t) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  CLRT_CHECK(resolved_ && t >= 0 && t < static_cast<int>(resolved_->shapes.dims.size()), kValue,
             "tensorBytes: tensor id ", t, " has no shape on this context; call load() first");
  return static_cast<uint64_t>(volume(resolved_->shapes.dims[t])) *
         dtypeSize(engine_->desc().net.tensors[t].dtype);
}

std::vector<int> ExecutionContext::liveAt(int layer) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const auto& desc = engine_->desc();
  const auto& net = desc.net;
  const int n = static_cast<int>(net.layers.size());
  CLRT_CHECK(resolved_ && !infer_io_.empty(), kValue,
             "liveAt: no inputs staged on this context; call load() (or infer()) first");
  CLRT_CHECK(layer >= 0 && layer <= n, kValue, "liveAt: layer ", layer,
             " is not within the engine's ", n, " layers");
  // Constants and host-known values are the engine's or the shapes' own: a resumed run finds
  // them where they were.
  auto onDevice = [&](int t) {
    return !engine_->constantBuffer(t) && !resolved_->shapes.values[t] &&
           !net.tensors[t].is_shape_tensor;
  };
  std::vector<char> live(net.tensors.size(), 0);
  for (int li = layer; li < n; ++li) {
    if (desc.on_host[li]) continue;
    for (int t : net.layers[li].inputs)
      if (t >= 0 && net.tensors[t].producer < layer && onDevice(t)) live[t] = 1;
  }
  for (int t : net.outputs)
    if (net.tensors[t].producer < layer && onDevice(t)) live[t] = 1;
  std::vector<int> out;
  for (size_t t = 0; t < live.size(); ++t)
    if (live[t]) out.push_back(static_cast<int>(t));
  return out;
}

uint64_t ExecutionContext::liveBytes(int layer) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  uint64_t bytes = 0;
  for (int t : liveAt(layer)) bytes += tensorBytes(t);
  return bytes;
}

Snapshot ExecutionContext::capture(int layer) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Snapshot s;
  s.layer = layer;
  for (int t : liveAt(layer)) {
    const uint64_t bytes = tensorBytes(t);
    ocl::MemHandle copy(engine_->device().alloc(std::max<uint64_t>(bytes, 4)));
    if (bytes)
      ocl::check(clEnqueueCopyBuffer(queue_, bufferOf(t, infer_io_), copy.get(), 0, 0, bytes, 0,
                                     nullptr, nullptr),
                 "clEnqueueCopyBuffer");
    s.bytes += bytes;
    s.tensors[t] = {std::move(copy), bytes};
  }
  return s;
}

void ExecutionContext::restore(const Snapshot& s) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  CLRT_CHECK(resolved_ && !infer_io_.empty(), kValue,
             "restore: no inputs staged on this context; call load() (or infer()) first");
  const auto& net = engine_->desc().net;
  for (const auto& [t, saved] : s.tensors) {
    CLRT_CHECK(tensorBytes(t) == saved.second, kValue, "restore: tensor '", net.tensors[t].name,
               "' takes ", tensorBytes(t), " bytes at the current shapes and the snapshot (layer ",
               s.layer, ") holds ", saved.second, "; restore at the shapes it was captured at");
    if (saved.second)
      ocl::check(clEnqueueCopyBuffer(queue_, saved.first.get(), bufferOf(t, infer_io_), 0, 0,
                                     saved.second, 0, nullptr, nullptr),
                 "clEnqueueCopyBuffer");
  }
}

cl_mem ExecutionContext::tensorBuffer(int tensor) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  CLRT_CHECK(resolved_ && !infer_io_.empty(), kValue,
             "tensorBuffer: no inputs staged on this context; call load() (or infer()) first");
  CLRT_CHECK(tensor >= 0 && tensor < static_cast<int>(infer_io_.size()), kValue,
             "tensorBuffer: tensor id ", tensor, " is not in the engine");
  return bufferOf(tensor, infer_io_);
}

std::map<std::string, HostTensor> ExecutionContext::outputs() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  CLRT_CHECK(resolved_ && !infer_io_.empty(), kValue,
             "outputs: no inputs staged on this context; call load() (or infer()) first");
  auto out = finishingOnError(queue_, [&] { return downloadOutputs(); });
  errors_.raisePending();
  return out;
}

}  // namespace clrt::runtime
