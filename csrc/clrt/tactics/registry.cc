// The tactic registry: built-in families register once, lookups by kind and by name.
#include <algorithm>
#include <cstring>
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
bool channelsLastIn(const ir::Layer& l, size_t i) {
  return i < 63 && ((l.attrs.i("hwc_inputs", 0) >> i) & 1) != 0;
}
bool channelsLastOut(const ir::Layer& l, size_t i) {
  return i < 63 && ((l.attrs.i("hwc_outputs", 0) >> i) & 1) != 0;
}

namespace {
// h's elements between row-major [N][C][P] and channels-last [N][P][C] order (P: the spatial
// positions), either way.
HostTensor permuteHwc(HostTensor h, bool toLinear) {
  CLRT_CHECK(h.dims.size() == 3 || h.dims.size() == 4, kRuntime, "a channels-last tensor of ",
             "shape ", dimsToString(h.dims), " (rank 3 or 4 expected)");
  const int64_t n = h.dims[0], c = h.dims[1];
  const int64_t hw = h.dims.size() == 4 ? h.dims[2] * h.dims[3] : h.dims[2];
  const size_t es = dtypeSize(h.dtype);
  std::vector<uint8_t> out(h.bytes.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t k = 0; k < c; ++k) {
        const size_t lin = static_cast<size_t>((b * c + k) * hw + p) * es;
        const size_t hwc = static_cast<size_t>((b * hw + p) * c + k) * es;
        std::memcpy(&out[toLinear ? lin : hwc], &h.bytes[toLinear ? hwc : lin], es);
      }
  h.bytes = std::move(out);
  return h;
}
}  // namespace

HostTensor linearized(HostTensor h, ir::TensorFormat f) {
  if (f == ir::TensorFormat::kLINEAR || h.bytes.empty()) return h;
  return permuteHwc(std::move(h), /*toLinear=*/true);
}

HostTensor formatted(HostTensor h, ir::TensorFormat f) {
  if (f == ir::TensorFormat::kLINEAR || h.bytes.empty()) return h;
  return permuteHwc(std::move(h), /*toLinear=*/false);
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
