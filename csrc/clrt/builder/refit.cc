// Refit: new weights into a built engine without choosing tactics again. The engine keeps the
// network as its graph passes received it (EngineDesc::refit_source); a refit replays the passes
// and shape resolution over that network with the new weights, so folded weights (batch norm
// into convolutions, constant subgraphs) come out as a fresh build would compute them, and each
// of the engine's layers takes the weights of its namesake. Everything else the build decided
// (tactics, precisions, layouts, INT8 ranges, program binaries) stays; the runtime then packs
// the weights for each kernel as it does when loading an engine.
#include <map>
#include <string>
#include <utility>

#include "clrt/builder/builder.h"
#include "clrt/builder/internal.h"
#include "clrt/passes/passes.h"

namespace clrt::builder {
namespace {

class Quiet : public ILogger {
 public:
  void log(Severity, const std::string&) override {}
};

}  // namespace

void takeWeights(ir::Network& source, const ir::Network& parsed) {
  for (const ir::Layer& p : parsed.layers) {
    if (p.dead || p.weights.empty()) continue;
    const int si = source.findLayer(p.name);
    CLRT_CHECK(si >= 0, kValue, "refit: layer '", p.name,
               "' of the ONNX model is not in the engine's network (was the engine built from "
               "this model?)");
    ir::Layer& s = source.layers[si];
    for (const auto& [key, w] : p.weights) {
      auto it = s.weights.find(key);
      CLRT_CHECK(it != s.weights.end() && it->second.dims == w.dims && it->second.dtype == w.dtype,
                 kValue, "refit: layer '", p.name, "' weights '", key, "' are ", dtypeName(w.dtype),
                 " ", dimsToString(w.dims),
                 " from the ONNX model but not so in the engine's network");
      it->second = w;
    }
  }
}

plan::EngineDesc refitDesc(const plan::EngineDesc& desc, ir::Network source, ILogger* logger) {
  CLRT_CHECK(desc.refittable, kValue,
             "the engine is not refittable: build it with BuilderFlag.REFIT (config.set_flag)");
  ir::Network net = source;
  net.inferShapes();
  passes::PassOptions options;
  options.fuse_attention = desc.refit_fuse_attention;
  Quiet quiet;  // the passes' VERBOSE notes were given at build time
  passes::optimize(net, &quiet, options);
  const detail::Shaped s = detail::shape(std::move(net), desc.profiles);

  std::map<std::string, const ir::Layer*> replayed;
  for (const ir::Layer& l : s.net.layers)
    if (!l.dead) replayed[l.name] = &l;
  plan::EngineDesc out = desc;
  int updated = 0;
  for (ir::Layer& l : out.net.layers) {
    if (l.weights.empty()) continue;
    auto it = replayed.find(l.name);
    CLRT_CHECK(it != replayed.end(), kValue, "refit: the engine's layer '", l.name,
               "' has no counterpart when the graph passes run over the new weights (they "
               "changed the optimized graph); rebuild the engine with these weights");
    const ir::Layer& r = *it->second;
    for (auto& [key, w] : l.weights) {
      auto rw = r.weights.find(key);
      CLRT_CHECK(rw != r.weights.end() && rw->second.dims == w.dims && rw->second.dtype == w.dtype,
                 kValue, "refit: layer '", l.name, "' weights '", key, "' are ", dtypeName(w.dtype),
                 " ", dimsToString(w.dims), " in the engine but ",
                 rw == r.weights.end() ? std::string("absent")
                                       : std::string(dtypeName(rw->second.dtype)) + " " +
                                             dimsToString(rw->second.dims),
                 " with the new weights; rebuild the engine with these weights");
      if (rw->second.bytes != w.bytes) {
        w = rw->second;
        ++updated;
      }
    }
  }
  logf(logger, Severity::kVERBOSE, "refit: ", updated, " weight tensors of ", out.net.layers.size(),
       " layers changed");
  out.refit_source = std::move(source);
  return out;
}

}  // namespace clrt::builder
