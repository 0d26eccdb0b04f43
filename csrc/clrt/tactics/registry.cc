// The tactic registry: built-in families register once, lookups by kind and by name.
#include <algorithm>
#include <map>
#include <mutex>

#include "clrt/tactics/tactic.h"

namespace clrt::tactics {
namespace {

std::vector<std::unique_ptr<Tactic>>& all() {
  static std::vector<std::unique_ptr<Tactic>> v;
  return v;
}

void ensureBuiltins() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerConvolutionTactics();
    registerMatMulTactics();
    registerPoolingTactics();
    registerPointwiseTactics();
    registerNormalizationTactics();
    registerMovementTactics();
  });
}

}  // namespace

void registerTactic(std::unique_ptr<Tactic> t) { all().push_back(std::move(t)); }

std::vector<const Tactic*> tacticsFor(ir::LayerKind kind) {
  ensureBuiltins();
  std::vector<const Tactic*> out;
  for (auto& t : all())
    if (t->kind() == kind) out.push_back(t.get());
  std::stable_sort(out.begin(), out.end(),
                   [](const Tactic* a, const Tactic* b) { return a->priority() < b->priority(); });
  return out;
}

const Tactic* findTactic(const std::string& name) {
  ensureBuiltins();
  for (auto& t : all())
    if (t->name() == name) return t.get();
  return nullptr;
}

cl_mem uploadWeights(ocl::Device& dev, const HostTensor& t) {
  HostTensor f = t.castTo(DataType::kFLOAT);
  const size_t bytes = std::max<size_t>(f.bytes.size(), 4);
  cl_mem m = dev.alloc(bytes);
  if (!f.bytes.empty())
    dev.write(dev.queue(), m, 0, f.bytes.size(), f.bytes.data(), /*blocking=*/true);
  return m;
}

}  // namespace clrt::tactics
