// The builder: validate, optimize the graph, place layers (host / device), choose a tactic per
// device layer by timing the eligible ones at the profile's opt shapes, plan memory, collect
// the program binaries.
#include "clrt/builder/builder.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

#include "clrt/passes/passes.h"
#include "clrt/plan/plan.h"
#include "clrt/runtime/shape_resolver.h"
#include "clrt/tactics/tactic.h"

#ifndef CLRT_VERSION
#define CLRT_VERSION "0.0.0"
#endif

namespace clrt::builder {
namespace {

using ir::LayerKind;

// Every input with dynamic dims needs a range in every profile; static inputs must agree.
void checkProfiles(const ir::Network& net, const BuilderConfig& cfg) {
  for (int t : net.inputs) {
    const ir::Tensor& in = net.tensors[t];
    if (isStatic(in.dims)) continue;
    CLRT_CHECK(!cfg.profiles.empty(), kBuild, "input '", in.name, "' has dynamic dims ",
               dimsToString(in.dims),
               ": add an optimization profile (profile = builder.create_optimization_profile(); "
               "profile.set_shape('",
               in.name, "', min, opt, max); config.add_optimization_profile(profile))");
  }
  for (size_t p = 0; p < cfg.profiles.size(); ++p) {
    for (int t : net.inputs) {
      const ir::Tensor& in = net.tensors[t];
      auto it = cfg.profiles[p].shapes.find(in.name);
      if (it == cfg.profiles[p].shapes.end()) {
        CLRT_CHECK(isStatic(in.dims), kBuild, "optimization profile ", p,
                   " has no shape for dynamic input '", in.name, "' ", dimsToString(in.dims),
                   "; call profile.set_shape('", in.name, "', min, opt, max)");
        continue;
      }
      for (const Dims* d : {&it->second.min, &it->second.opt, &it->second.max}) {
        bool ok = d->size() == in.dims.size();
        for (size_t i = 0; ok && i < d->size(); ++i)
          ok = (*d)[i] >= 0 && (in.dims[i] < 0 || in.dims[i] == (*d)[i]);
        CLRT_CHECK(ok, kBuild, "optimization profile ", p, ": shape ", dimsToString(*d),
                   " for input '", in.name, "' does not match its dims ", dimsToString(in.dims));
      }
      for (size_t i = 0; i < in.dims.size(); ++i)
        CLRT_CHECK(it->second.min[i] <= it->second.opt[i] && it->second.opt[i] <= it->second.max[i],
                   kBuild, "optimization profile ", p, " for input '", in.name,
                   "': need min <= opt <= max, got ", dimsToString(it->second.min), " ",
                   dimsToString(it->second.opt), " ", dimsToString(it->second.max));
    }
  }
}

// Layers reordered into execution (topological) order, ids renumbered.
ir::Network inExecutionOrder(const ir::Network& net) {
  const std::vector<int> order = net.topoOrder();
  std::vector<int> newIndex(net.layers.size(), -1);
  ir::Network out;
  out.tensors = net.tensors;
  out.inputs = net.inputs;
  out.outputs = net.outputs;
  for (size_t i = 0; i < order.size(); ++i) {
    newIndex[order[i]] = static_cast<int>(i);
    out.layers.push_back(net.layers[order[i]]);
  }
  for (auto& t : out.tensors)
    if (t.producer >= 0) t.producer = newIndex[t.producer];
  return out;
}

struct TimingBuffers {
  std::vector<ocl::MemHandle> owned;
  std::vector<tactics::DeviceTensor> inputs, outputs;
  std::vector<const HostTensor*> values;
};

}  // namespace

bool Builder::platformHasFastFp16() const { return false; }  // FP16 kernels arrive later
bool Builder::platformHasFastInt8() const { return false; }  // INT8 kernels arrive later

runtime::EngineDesc Builder::build(const ir::Network& network, const BuilderConfig& config) {
  CLRT_CHECK(!network.outputs.empty(), kBuild,
             "network has no outputs: mark at least one with network.mark_output(tensor)");
  checkProfiles(network, config);
  for (auto f : {BuilderFlag::kFP16, BuilderFlag::kINT8})
    if (config.getFlag(f))
      logf(logger_, Severity::kWARNING, "BuilderFlag.", f == BuilderFlag::kFP16 ? "FP16" : "INT8",
           " is set, but this clrt builds FP32 kernels only; building FP32");

  ir::Network net = network;
  net.inferShapes();
  passes::optimize(net, logger_);
  net = inExecutionOrder(net);

  runtime::EngineDesc desc;
  const size_t nl = net.layers.size();
  desc.on_host.assign(nl, 0);
  desc.tactics.assign(nl, "");
  std::vector<bool> hostKnown(net.tensors.size(), false);
  for (size_t li = 0; li < nl; ++li) {
    const auto& l = net.layers[li];
    bool host = l.kind == LayerKind::kCONSTANT || l.kind == LayerKind::kSHAPE;
    if (!host && ir::canEvalOnHost(l.kind)) {
      host = true;
      for (int t : l.inputs)
        if (t >= 0 && !hostKnown[t]) host = false;
    }
    desc.on_host[li] = host;
    for (int t : l.outputs) hostKnown[t] = host;
  }

  const size_t nprof = std::max<size_t>(config.profiles.size(), 1);
  std::vector<runtime::ResolvedShapes> optShapes, maxShapes;
  for (size_t p = 0; p < nprof; ++p) {
    optShapes.push_back(runtime::resolveShapes(
        net, desc.on_host, runtime::profileInputDims(net, config.profiles, p, 1)));
    maxShapes.push_back(runtime::resolveShapes(
        net, desc.on_host, runtime::profileInputDims(net, config.profiles, p, 2)));
    runtime::resolveShapes(net, desc.on_host,
                           runtime::profileInputDims(net, config.profiles, p, 0));  // validates min
  }

  ocl::Device& dev = *dev_;
  std::mt19937 rng(1234);
  uint64_t workspace = 0;
  for (size_t li = 0; li < nl; ++li) {
    if (desc.on_host[li]) continue;
    const auto& l = net.layers[li];
    std::vector<ir::TensorInfo> infos;
    for (int t : l.inputs) {
      ir::TensorInfo ti;
      if (t >= 0) {
        ti.dtype = net.tensors[t].dtype;
        ti.dims = net.tensors[t].dims;
        ti.value = hostKnown[t] && optShapes[0].values[t] && isStatic(net.tensors[t].dims)
                       ? &*optShapes[0].values[t]
                       : nullptr;
      }
      infos.push_back(ti);
    }
    auto dimsAt = [&](const runtime::ResolvedShapes& r, std::vector<Dims>& in,
                      std::vector<Dims>& out) {
      for (int t : l.inputs) in.push_back(t >= 0 ? r.dims[t] : Dims{});
      for (int t : l.outputs) out.push_back(r.dims[t]);
    };
    struct Candidate {
      const tactics::Tactic* tactic;
      std::unique_ptr<tactics::Kernel> kernel;
      uint64_t ws;
    };
    std::vector<Candidate> cands;
    std::string rejected;
    for (const tactics::Tactic* tac : tactics::tacticsFor(l.kind)) {
      if (!tac->eligible(l, infos, dev.info())) continue;
      auto k = tac->instantiate(l, dev);
      uint64_t ws = 0;
      for (auto& r : maxShapes) {
        std::vector<Dims> in, out;
        dimsAt(r, in, out);
        ws = std::max<uint64_t>(ws, k->workspaceSize(in, out));
      }
      if (ws > config.workspace_limit) {
        rejected += str(" ", tac->name(), " needs ", ws, " bytes of workspace;");
        continue;
      }
      cands.push_back({tac, std::move(k), ws});
    }
    CLRT_CHECK(!cands.empty(), kBuild, "no implementation for layer '", l.name, "' (",
               ir::layerKindName(l.kind), ") on ", dev.info().name,
               rejected.empty() ? std::string(": no tactic supports its inputs")
                                : str(" within the workspace limit of ", config.workspace_limit,
                                      " bytes:", rejected,
                                      " raise it with "
                                      "config.set_memory_pool_limit(MemoryPoolType.WORKSPACE, n)"));
    size_t best = 0;
    if (cands.size() > 1 && config.optimization_level > 0) {
      // Time every candidate on random data at the first profile's opt shapes.
      const auto& r = optShapes[0];
      TimingBuffers tb;
      auto make = [&](int t) -> tactics::DeviceTensor {
        const size_t bytes =
            std::max<size_t>(volume(r.dims[t]) * dtypeSize(net.tensors[t].dtype), 4);
        ocl::MemHandle m(dev.alloc(bytes));
        std::vector<uint8_t> fill(bytes, 0);
        if (net.tensors[t].dtype == DataType::kFLOAT) {
          std::uniform_real_distribution<float> u(-1.f, 1.f);
          for (size_t i = 0; i + 4 <= bytes; i += 4) {
            float v = u(rng);
            std::memcpy(&fill[i], &v, 4);
          }
        }
        if (r.values[t])
          std::memcpy(fill.data(), r.values[t]->bytes.data(),
                      std::min(bytes, r.values[t]->bytes.size()));
        dev.write(dev.queue(), m.get(), 0, bytes, fill.data(), true);
        tactics::DeviceTensor d{m.get(), r.dims[t], net.tensors[t].dtype};
        tb.owned.push_back(std::move(m));
        return d;
      };
      for (int t : l.inputs) {
        tb.inputs.push_back(t >= 0 ? make(t) : tactics::DeviceTensor{});
        tb.values.push_back(t >= 0 && r.values[t] ? &*r.values[t] : nullptr);
      }
      for (int t : l.outputs) tb.outputs.push_back(make(t));
      const int reps = config.optimization_level >= 4 ? 10 : 3;
      double bestMs = 1e30;
      for (size_t c = 0; c < cands.size(); ++c) {
        std::vector<Dims> in, out;
        dimsAt(r, in, out);
        const size_t ws = cands[c].kernel->workspaceSize(in, out);
        ocl::MemHandle wsBuf(ws ? dev.alloc(ws) : nullptr);
        tactics::ExecArgs a{dev.queue(), tb.inputs, tb.values, tb.outputs, wsBuf.get()};
        cands[c].kernel->enqueue(a);  // warm-up (first-run compilation, caches)
        clFinish(dev.queue());
        std::vector<double> times;
        for (int i = 0; i < reps; ++i) {
          auto t0 = std::chrono::steady_clock::now();
          cands[c].kernel->enqueue(a);
          clFinish(dev.queue());
          times.push_back(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                  .count());
        }
        std::sort(times.begin(), times.end());
        const double ms = times[times.size() / 2];
        logf(logger_, Severity::kVERBOSE, "layer '", l.name, "': tactic ", cands[c].tactic->name(),
             " ", ms, " ms");
        if (ms < bestMs) bestMs = ms, best = c;
      }
    }
    desc.tactics[li] = cands[best].tactic->name();
    workspace = std::max(workspace, cands[best].ws);
    logf(logger_, Severity::kVERBOSE, "layer '", l.name, "' (", ir::layerKindName(l.kind),
         "): chose ", desc.tactics[li], " of ", cands.size(), " eligible");
  }

  const uint64_t align = dev.info().arena_alignment;
  uint64_t peak = 0;
  for (auto& r : maxShapes)
    peak = std::max(peak, runtime::planMemory(net, desc.on_host, r.dims, align).arena_bytes);
  CLRT_CHECK(peak + workspace <= config.workspace_limit, kBuild, "the engine needs ", peak,
             " bytes of activation memory and ", workspace,
             " bytes of scratch at the largest profile shapes, over the workspace limit of ",
             config.workspace_limit,
             " bytes; raise it with config.set_memory_pool_limit(MemoryPoolType.WORKSPACE, n) "
             "or lower the profile's max shapes");

  // Instantiate the chosen tactics once more under a recorder: their programs go in the plan.
  {
    ocl::ProgramRecorder rec;
    for (size_t li = 0; li < nl; ++li)
      if (!desc.on_host[li])
        tactics::findTactic(desc.tactics[li])->instantiate(net.layers[li], dev);
    desc.program_binaries = dev.programBinaries(rec.keys());
  }
  desc.net = std::move(net);
  desc.profiles = config.profiles;
  desc.device_fingerprint = dev.info().fingerprint();
  desc.device_name = dev.info().name;
  desc.clrt_version = CLRT_VERSION;
  desc.peak_activation_bytes = peak;
  desc.workspace_bytes = workspace;
  logf(logger_, Severity::kINFO, "built engine: ", nl, " layers, ", peak, " bytes of activations, ",
       workspace, " bytes of scratch");
  return desc;
}

std::vector<uint8_t> Builder::buildSerialized(const ir::Network& network,
                                              const BuilderConfig& config) {
  return plan::serialize(build(network, config));
}

}  // namespace clrt::builder
