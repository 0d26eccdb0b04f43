// optimize: the ordered list of graph passes, run to a fixed point, then the network compacted.
#include <cstdlib>

#include "clrt/passes/pass_util.h"
#include "clrt/passes/passes.h"

namespace clrt::passes {

using ir::Network;

// Folding first exposes static shapes and dead shape subgraphs (and turns weight Q/DQ into
// float weights before foldQdq looks at activation pairs); Q/DQ pairs go before the fusions,
// which need the layers they sit between to be adjacent; a MatMul of rows regrouped by reshapes
// reads and writes the unreshaped tensors before any fusion looks for its neighbours; attention
// fuses after the transposes of k became trans_b and before a bias or residual fusion takes its
// mask Add, and reads its operands as views once the projections producing them hold their biases;
// BatchNorm and bias folding must see the conv before an activation or residual joins its epilogue
// (a scale cannot pass either); dead layers go last so each round starts from a clean graph.
const std::vector<Pass>& pipeline() {
  static const std::vector<Pass> passes = {
      {"foldConstants", foldConstants},
      {"foldQdq", foldQdq},
      {"removeIdentities", removeIdentities},
      {"foldTransposeIntoMatmul", foldTransposeIntoMatmul},
      {"foldReshapesAroundMatmul", foldReshapesAroundMatmul},
      {"fuseAttention", fuseAttention},
      {"foldBatchNorm", foldBatchNorm},
      {"fuseBias", fuseBias},
      {"fuseResidualAdd", fuseResidualAdd},
      {"fuseActivation", fuseActivation},
      {"attentionViews", attentionViews},
      {"removeDeadLayers", removeDeadLayers},
  };
  return passes;
}

namespace {

thread_local bool tFuseAttention = true;  // the running optimize()'s PassOptions

// Every pass shrinks the graph or turns a layer into a constant, so a handful of rounds
// reaches the fixed point; the cap only guards against a pass that keeps reporting changes.
constexpr int kMaxRounds = 64;

size_t liveLayers(const Network& net) {
  size_t n = 0;
  for (const auto& l : net.layers) n += l.dead ? 0 : 1;
  return n;
}

// Fusions may give a layer an input produced later in index order (a residual branch, a
// constant split off a folded layer); layers are put back in topological order so that
// whoever walks them by index sees producers first. Dead layers are dropped here.
void sortTopologically(Network& net) {
  std::vector<int> order = net.topoOrder();
  std::vector<ir::Layer> sorted;
  sorted.reserve(order.size());
  for (int u : order) sorted.push_back(std::move(net.layers[u]));
  net.layers = std::move(sorted);
  for (auto& t : net.tensors) t.producer = -1;
  for (size_t j = 0; j < net.layers.size(); ++j)
    for (int out : net.layers[j].outputs)
      if (out >= 0) net.tensors[out].producer = static_cast<int>(j);
}

}  // namespace

bool attentionFusionEnabled() {
  const char* e = std::getenv("CLRT_FUSE_ATTENTION");
  if (e && *e == '0') return false;
  if (e && *e == '1') return true;  // also where the builder would not (benchmarks)
  return tFuseAttention;
}

void optimize(Network& net, ILogger* logger, const PassOptions& options) {
  detail::ScopedPassLogger scoped(logger);
  struct Restore {
    bool saved = tFuseAttention;
    ~Restore() { tFuseAttention = saved; }
  } restore;
  tFuseAttention = options.fuse_attention;
  const size_t before = liveLayers(net);
  int round = 0;
  bool changed = true;
  // attentionViews waits for a round in which no other pass changed anything: it reads q, k and
  // v through the movement layers that make them, once for good, so the scales, identities and
  // fusions around them must have settled first.
  bool settled = false;
  for (; changed && round < kMaxRounds; ++round) {
    changed = false;
    bool others = false;
    for (const Pass& pass : pipeline()) {
      const bool late = pass.run == attentionViews;
      if (late && !settled) continue;
      const size_t live = liveLayers(net);
      if (!pass.run(net)) continue;
      changed = true;
      others = others || !late;
      logf(logger, Severity::kVERBOSE, "optimize: round ", round + 1, ": ", pass.name,
           " changed the network (", live, " -> ", liveLayers(net), " live layers)");
      // Folded values make more dims static, which the next passes match on.
      if (pass.run == foldConstants) net.inferShapes();
    }
    if (!settled && !others) {  // one more round, with the late pass
      settled = true;
      changed = true;
    }
  }
  if (changed)
    logf(logger, Severity::kWARNING, "optimize: graph passes still changing the network after ",
         kMaxRounds, " rounds; stopping there");
  sortTopologically(net);
  net.compact();
  logf(logger, Severity::kVERBOSE, "optimize: ", before, " layers -> ", net.layers.size(),
       " layers after ", round, " round(s)");
}

}  // namespace clrt::passes
