// Data-dependent shapes in the execution context: a run is split at the layers whose output sizes
// the values decide (NON_ZERO, NMS, UNIQUE). Before the run every tensor has its upper-bound
// dims (the arena is planned at them); after such a layer ran, the layers after it are resolved
// again from its actual dims, host shape math included (Shape -> Gather -> Min -> TopK's k).
// Tensors downstream live in the arena while they fit their slot, in buffers of the context's own
// (grown, kept between runs) when not, and network outputs always in the context's own buffers:
// infer() reads them there, enqueue() copies them to the allocator's or the user's memory.
#include <algorithm>

#include "clrt/core/error.h"
#include "clrt/ir/shape_inference.h"
#include "clrt/runtime/context_state.h"
#include "clrt/runtime/engine.h"

namespace clrt::runtime {

std::vector<uint8_t> dataDependentTensors(const ir::Network& net) {
  std::vector<uint8_t> dd(net.tensors.size(), 0);
  for (const auto& l : net.layers) {  // execution order: producers first
    bool hit = ir::isDataDependent(l.kind);
    for (int t : l.inputs) hit = hit || (t >= 0 && dd[t]);
    if (hit)
      for (int t : l.outputs) dd[t] = 1;
  }
  return dd;
}

namespace {

uint64_t bytesOf(const ResolvedShapes& r, const ir::Network& net, int t) {
  if (r.values[t]) return r.values[t]->bytes.size();
  return static_cast<uint64_t>(std::max<int64_t>(volume(r.dims[t]), 0)) *
         dtypeSize(net.tensors[t].dtype);
}

}  // namespace

// Outputs of data-dependent dims, and outputs with an allocator (whose memory is asked for once
// the size is known, as TensorRT does).
bool ExecutionContext::staged(int t) const {
  const auto& tensor = engine_->desc().net.tensors[t];
  return tensor.is_output && (data_dependent_[t] || allocators_.count(tensor.name));
}

void ExecutionContext::fitDataDependent(int from) {
  const auto& desc = engine_->desc();
  const auto& net = desc.net;
  Resolved& r = *resolved_;
  if (from == 0) r.redirect.assign(net.tensors.size(), nullptr);
  for (size_t t = 0; t < net.tensors.size(); ++t) {
    const int p = net.tensors[t].producer;
    if (p < from) continue;  // written already: it stays where it is
    r.redirect[t] = nullptr;
    const bool output = staged(static_cast<int>(t));
    if (!data_dependent_[t] && !output) continue;
    if (!output && (p < 0 || desc.on_host[p] || net.tensors[t].is_output))
      continue;  // a host value, or an output that is not staged  // a host value: no device buffer
    const uint64_t need = bytesOf(r.shapes, net, static_cast<int>(t));
    if (!output) {
      const uint64_t slot = static_cast<uint64_t>(std::max<int64_t>(volume(r.bound.dims[t]), 0)) *
                            dtypeSize(net.tensors[t].dtype);
      if (need <= slot) continue;  // fits its arena slot (the common case: the bound holds)
    }
    auto& own = r.own[static_cast<int>(t)];
    if (!own.first.get() || own.second < need) {
      own.first = ocl::MemHandle(engine_->device().alloc(std::max<uint64_t>(need, 4)));
      own.second = need;
    }
    r.redirect[t] = own.first.get();
  }
}

void ExecutionContext::afterDataDependent(int li, std::vector<Dims> dims) {
  const auto& desc = engine_->desc();
  const auto& net = desc.net;
  const ir::Layer& l = net.layers[li];
  CLRT_CHECK(dims.size() == l.outputs.size(), kRuntime, "layer '", l.name,
             "' reported the dims of ", dims.size(), " outputs, it has ", l.outputs.size());
  Resolved& r = *resolved_;
  for (size_t o = 0; o < dims.size(); ++o) r.shapes.dims[l.outputs[o]] = std::move(dims[o]);
  // Only up to the next device data-dependent layer: past it, this run's actual dims would meet
  // that layer's upper bound (a TopK's k = min(1000, its count) from the bound against a tensor
  // of this count), which need not be consistent. That layer resolves the rest when it has run.
  size_t end = static_cast<size_t>(li) + 1;
  auto stops = [&](size_t lj) {
    const tactics::Kernel* k = desc.on_host[lj] ? nullptr : engine_->kernel(static_cast<int>(lj));
    return k && k->dataDependent();
  };
  while (end < net.layers.size() && !stops(end)) ++end;
  resolveFrom(net, desc.on_host, r.shapes, static_cast<size_t>(li) + 1, end + 1);
  fitDataDependent(li + 1);
  // Host values read by later device layers (a run-time k, reshape dims) and their scratch.
  ocl::Device& dev = engine_->device();
  size_t ws = 0;
  for (size_t lj = static_cast<size_t>(li) + 1; lj < std::min(end + 1, net.layers.size()); ++lj) {
    if (desc.on_host[lj]) continue;
    const auto& m = net.layers[lj];
    ws = std::max(ws, engine_->kernel(static_cast<int>(lj))->workspaceAt(m, r.shapes.dims));
    for (int t : m.inputs) {
      if (t < 0 || !data_dependent_[t] || !r.shapes.values[t] || engine_->constantBuffer(t))
        continue;
      const HostTensor& v = *r.shapes.values[t];
      auto& slot = r.host_copies[t];
      size_t have = 0;
      if (slot.get()) clGetMemObjectInfo(slot.get(), CL_MEM_SIZE, sizeof have, &have, nullptr);
      if (have < v.bytes.size())
        slot = ocl::MemHandle(dev.alloc(std::max<size_t>(v.bytes.size(), 4)));
      if (!v.bytes.empty()) dev.write(queue_, slot.get(), 0, v.bytes.size(), v.bytes.data(), true);
    }
  }
  if (ws > r.workspace_bytes) {  // the queue is idle here: the old scratch is no longer read
    r.workspace = ocl::MemHandle(dev.alloc(ws));
    r.workspace_bytes = ws;
  }
}

void ExecutionContext::deliverOutputs(cl_command_queue q, const std::vector<cl_mem>& io) {
  const auto& net = engine_->desc().net;
  for (int t : net.outputs) {
    if (!staged(t)) continue;
    const std::string& name = net.tensors[t].name;
    const Dims& dims = resolved_->shapes.dims[t];
    const uint64_t bytes = volume(dims) * dtypeSize(net.tensors[t].dtype);
    cl_mem dst = nullptr;
    size_t have = 0;
    auto alloc = allocators_.find(name);
    if (alloc != allocators_.end()) {
      const uintptr_t cur = allocated_.count(name) ? allocated_[name] : 0;
      const uintptr_t ptr = alloc->second->reallocate(name, cur, std::max<uint64_t>(bytes, 1),
                                                      engine_->device().info().arena_alignment, q);
      CLRT_CHECK(ptr != 0, kValue, "the output allocator of '", name, "' returned no memory for ",
                 bytes, " bytes (shape ", dimsToString(dims), ")");
      dst = lookupAllocation(ptr, &have);
      allocated_[name] = ptr;
    } else {
      dst = io[t];
      clGetMemObjectInfo(dst, CL_MEM_SIZE, sizeof have, &have, nullptr);
    }
    CLRT_CHECK(have >= bytes, kValue, "output '", name, "' is ", dimsToString(dims), " (", bytes,
               " bytes) after this run, its ",
               alloc != allocators_.end() ? "allocator's memory" : "buffer", " holds ", have,
               " bytes");
    if (bytes)
      ocl::check(
          clEnqueueCopyBuffer(q, resolved_->redirect[t], dst, 0, 0, bytes, 0, nullptr, nullptr),
          "clEnqueueCopyBuffer");
    if (alloc != allocators_.end()) alloc->second->notifyShape(name, dims);
  }
}

void ExecutionContext::setOutputAllocator(const std::string& name,
                                          std::shared_ptr<OutputAllocator> a) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  CLRT_CHECK(engine_->ioMode(name) == TensorIOMode::kOUTPUT, kValue, "'", name,
             "' is not an output of this engine; set_output_allocator takes output names");
  allocated_.erase(name);
  if (a)
    allocators_[name] = std::move(a);
  else
    allocators_.erase(name);
}

std::shared_ptr<OutputAllocator> ExecutionContext::outputAllocator(const std::string& name) const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto it = allocators_.find(name);
  return it == allocators_.end() ? nullptr : it->second;
}

}  // namespace clrt::runtime
