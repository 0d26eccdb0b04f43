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

// Factories of self-registered tactics (TacticRegistrar), filled during static initialization.
std::vector<std::unique_ptr<Tactic> (*)()>& selfRegistered() {
  static std::vector<std::unique_ptr<Tactic> (*)()> v;
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
    registerScatterTactics();
    registerInt8Tactics();
    registerReformatTactics();
    registerQdqTactics();
    registerTensorCoreTactics();
    registerResizeTactics();
    registerWindow3dTactics();
    registerSamplingTactics();
    registerScanTactics();
    registerDataDependentTactics();
    // Name order: static initialization order across files is unspecified.
    std::vector<std::unique_ptr<Tactic>> own;
    for (auto make : selfRegistered()) own.push_back(make());
    std::sort(own.begin(), own.end(),
              [](const auto& a, const auto& b) { return a->name() < b->name(); });
    for (auto& t : own) registerTactic(std::move(t));
  });
}

}  // namespace

void registerTactic(std::unique_ptr<Tactic> t) { all().push_back(std::move(t)); }

TacticRegistrar::TacticRegistrar(std::unique_ptr<Tactic> (*make)()) {
  selfRegistered().push_back(make);
}

std::vector<const Tactic*> tacticsFor(ir::LayerKind kind) {
  ensureBuiltins();
  std::vector<const Tactic*> out;
  for (auto& t : all())
    if (t->kind() == kind) out.push_back(t.get());
  std::stable_sort(out.begin(), out.end(),
                   [](const Tactic* a, const Tactic* b) { return a->priority() < b->priority(); });
  return out;
}

std::vector<const Tactic*> allTactics() {
  ensureBuiltins();
  std::vector<const Tactic*> out;
  for (auto& t : all()) out.push_back(t.get());
  return out;
}

const Tactic* findTactic(const std::string& name) {
  ensureBuiltins();
  for (auto& t : all())
    if (t->name() == name) return t.get();
  return nullptr;
}

DataType layerPrecision(const ir::Layer& l) {
  return static_cast<DataType>(l.attrs.i("precision", static_cast<int64_t>(DataType::kFLOAT)));
}

namespace {
DataType listDtype(const std::vector<int64_t>& v, size_t i, DataType def) {
  return i < v.size() && v[i] >= 0 ? static_cast<DataType>(v[i]) : def;
}
float listScale(const std::vector<double>& v, size_t i) {
  return i < v.size() ? static_cast<float>(v[i]) : 0.0f;
}
}  // namespace

DataType inputDtype(const ir::Layer& l, size_t i, DataType def) {
  return listDtype(l.attrs.ints("in_dtypes"), i, def);
}
DataType outputDtype(const ir::Layer& l, size_t i, DataType def) {
  return listDtype(l.attrs.ints("out_dtypes"), i, def);
}
float inputScale(const ir::Layer& l, size_t i) { return listScale(l.attrs.floats("in_scales"), i); }
float outputScale(const ir::Layer& l, size_t i) {
  return listScale(l.attrs.floats("out_scales"), i);
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
