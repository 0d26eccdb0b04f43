// Tactic choice for one device layer: the eligible tactics within the workspace limit, timed on
// random data at the first profile's opt shapes (median of a few runs around clFinish), each in
// the layout it would run in were its neighbours to store their tensors channels last
// (timedLayout). Only what the choice needs is instantiated (built, weights packed and
// uploaded): untimed, the preferred tactic (the next when it does not build or fit); timed with
// every candidate's time in the timing cache, the fastest; otherwise every candidate.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>
#include <type_traits>
#include <variant>

#include "clrt/builder/internal.h"
#include "clrt/core/checksum.h"
#include "clrt/ocl/compile_workers.h"
#include "clrt/runtime/layer_marks.h"

namespace clrt::builder::detail {
namespace {

// Random contents for a timing buffer in its storage dtype (finite values only: NaN/Inf would
// send some CPUs down slow paths and skew the timing): FLOAT and HALF uniform in [-1, 1), INT8
// in [-127, 127], other types zeros. A splitmix64 stream seeded from `rng`: ResNet-50's timing
// buffers at batch 64 hold up to 51M elements each, which std::uniform_*_distribution over
// mt19937 took about a second apiece to fill.
std::vector<uint8_t> randomFill(DataType t, size_t bytes, std::mt19937& rng) {
  std::vector<uint8_t> fill(bytes, 0);
  uint64_t state = (static_cast<uint64_t>(rng()) << 32) | rng();
  auto next = [&state] {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  // 24 random bits -> [-1, 1).
  auto unit = [](uint64_t bits) {
    return static_cast<float>(bits & 0xffffff) * (2.0f / 16777216.0f) - 1.0f;
  };
  if (t == DataType::kFLOAT) {
    for (size_t i = 0; i + 4 <= bytes; i += 4) {
      const float v = unit(next());
      std::memcpy(&fill[i], &v, 4);
    }
  } else if (t == DataType::kHALF) {
    for (size_t i = 0; i + 2 <= bytes; i += 2) {
      const uint16_t h = floatToHalf(unit(next()));
      std::memcpy(&fill[i], &h, 2);
    }
  } else if (t == DataType::kINT8) {
    for (size_t i = 0; i < bytes; i += 8) {
      uint64_t r = next();
      for (size_t k = i; k < std::min(bytes, i + 8); ++k, r >>= 8)
        fill[k] = static_cast<uint8_t>(r & 0xff) == 0x80 ? 0x81 : static_cast<uint8_t>(r & 0xff);
    }
  }
  return fill;
}

// env's buffer of random `dt` values of at least `bytes` bytes, shared by every timing input of
// that dtype (read only). Grown by half again at least, so a network's growing inputs refill it
// a few times, not once per layer. Growing releases the old buffer: a layer's inputs take their
// buffers after it has grown to the largest of them.
cl_mem noiseBuffer(TimingEnv& env, DataType dt, size_t bytes) {
  TimingEnv::Noise& n = env.noise[dt];
  if (n.bytes < bytes) {
    const size_t want = std::max(bytes, n.bytes + n.bytes / 2);
    const std::vector<uint8_t> fill = randomFill(dt, want, env.rng);
    n.buf = ocl::MemHandle(env.dev.alloc(want));
    n.bytes = want;
    env.dev.write(env.dev.queue(), n.buf.get(), 0, want, fill.data(), true);
  }
  return n.buf.get();
}

// The median of `reps` runs of `k` on `a`, after one warm-up run (first-run compilation,
// caches): the runs enqueued back to back with a marker after each, each timed from the marker
// before it completing to its own (runtime::LayerMarks), as an engine runs its layers; where the
// queue's markers carry no times, by the host clock around a clFinish per run. The host clock
// adds a launch and a round trip to every run (on the H200 tens of microseconds, as long as a
// small layer itself), which flattened the differences between small layers' tactics.
double medianMs(tactics::Kernel& k, const tactics::ExecArgs& a, int reps) {
  const auto start = std::chrono::steady_clock::now();
  k.enqueue(a);
  clFinish(a.queue);
  std::vector<double> times;
  thread_local runtime::LayerMarks marks;
  if (marks.usable(a.queue)) {
    marks.start(a.queue);
    for (int i = 0; i < reps; ++i) {
      k.enqueue(a);
      marks.mark(a.queue, "");
    }
    for (const auto& [unused, ms] : marks.collect()) times.push_back(ms);
  } else {
    for (int i = 0; i < reps; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      k.enqueue(a);
      clFinish(a.queue);
      times.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  std::sort(times.begin(), times.end());
  buildStats().timing_s +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return times[times.size() / 2];
}

// What decides a tactic's time: kind, attributes, weight shapes, precision and I/O dtypes and
// shapes at the opt profile (and host-known input values) — not the layer's name or weights'
// values, so identical layers share their timings.
std::string layerSignature(const ir::Layer& l, DataType prec, const std::vector<Dims>& in,
                           const std::vector<DataType>& inDt,
                           const std::vector<const HostTensor*>& values,
                           const std::vector<Dims>& out, const std::vector<DataType>& outDt) {
  std::ostringstream o;
  o.precision(17);
  o << ir::layerKindName(l.kind) << '|' << dtypeName(prec);
  for (const auto& [k, v] : l.attrs.all()) {
    o << '|' << k << '=';
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::vector<int64_t>> ||
                        std::is_same_v<T, std::vector<double>>) {
            for (const auto& e : x) o << e << ',';
          } else {
            o << x;
          }
        },
        v);
  }
  for (const auto& [name, w] : l.weights)
    o << "|w:" << name << ':' << dtypeName(w.dtype) << dimsToString(w.dims);
  for (size_t i = 0; i < in.size(); ++i) {
    o << "|in:" << dtypeName(inDt[i]) << dimsToString(in[i]);
    if (values[i]) o << "=#" << checksum64(values[i]->bytes.data(), values[i]->bytes.size());
  }
  for (size_t i = 0; i < out.size(); ++i)
    o << "|out:" << dtypeName(outDt[i]) << dimsToString(out[i]);
  return o.str();
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Why a layer has no tactic left once the filter applies: its dtypes, the eligible tactics the
// filter excluded and every tactic of its kind.
std::string filterRefusal(const ir::Layer& l, const std::vector<DataType>& inDt,
                          const std::vector<DataType>& outDt,
                          const std::vector<std::string>& excluded,
                          const tactics::TacticFilter& f) {
  std::vector<std::string> ins, outs, all;
  for (DataType d : inDt) ins.push_back(dtypeName(d));
  for (DataType d : outDt) outs.push_back(dtypeName(d));
  for (const tactics::Tactic* t : tactics::tacticsFor(l.kind)) all.push_back(t->name());
  return str(" the tactic filter ", f.text(), " excludes its eligible tactics ", joined(excluded),
             " (inputs ", joined(ins), "; outputs ", joined(outs), "; tactics of ",
             ir::layerKindName(l.kind), ": ", joined(all), ");");
}

// Whether builds make candidates on several threads (CLRT_BUILD_THREADS=0: one after another).
bool buildThreads() {
  static const bool on = [] {
    const char* v = std::getenv("CLRT_BUILD_THREADS");
    return !(v && *v == '0');
  }();
  return on;
}

// Threads for compileAhead: on NVIDIA as many as compile worker processes (its driver builds
// one program at a time per process; with no workers, two keep one building while the other
// packs weights), elsewhere one a core.
size_t compileAheadThreads(const ocl::DeviceInfo& info) {
  if (!buildThreads()) return 1;
  if (info.is_nvidia)
    return static_cast<size_t>(std::max(2, ocl::detail::compileWorkerCount(true)));
  return std::max(1u, std::thread::hardware_concurrency());
}

// Every eligible tactic's time for signature `key` in `cache`, in their order; empty when the
// cache lacks one of them (or there is no cache).
std::vector<double> allCached(const TimingCache* cache, const std::string& key,
                              const std::vector<const tactics::Tactic*>& eligible) {
  std::vector<double> hits;
  if (!cache) return hits;
  for (const tactics::Tactic* tac : eligible) {
    const auto hit = cache->lookup(key, tac->name());
    if (!hit) return {};
    hits.push_back(*hit);
  }
  return hits;
}

size_t fastest(const std::vector<double>& ms) {
  return static_cast<size_t>(std::min_element(ms.begin(), ms.end()) - ms.begin());
}

// work() on the calling thread and on up to `threads` - 1 more (as many as can be started),
// returning when all have.
void runOnThreads(size_t threads, const std::function<void()>& work) {
  std::vector<std::thread> pool;
  try {
    while (pool.size() + 1 < threads) pool.emplace_back(work);
  } catch (const std::system_error&) {  // no more threads: those there are take the rest
  }
  work();
  for (auto& t : pool) t.join();
}

// A candidate's kernel for `layer` (in the layout it is timed in), made on any thread with the
// build thread's program scopes: its program keys, and the kDevice error that makes the tactic
// ineligible here (an OpenCL program this device's compiler refuses: an older GPU, a driver
// quirk); other errors (bad weights, ...) still fail the build, from `error`.
struct Made {
  std::unique_ptr<tactics::Kernel> kernel;
  std::vector<std::string> programs;
  std::string refused;  // the kDevice error's message
  std::exception_ptr error;
};
Made makeKernel(const tactics::Tactic& tac, const ir::Layer& layer, ocl::Device& dev,
                const ocl::ProgramScopes& scopes) {
  Made m;
  ocl::AdoptProgramScopes adopt(scopes);
  ocl::ProgramRecorder programs;
  try {
    m.kernel = tac.instantiate(layer, dev);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kDevice)
      m.refused = e.what();
    else
      m.error = std::current_exception();
  } catch (...) {
    m.error = std::current_exception();
  }
  m.programs = programs.keys();
  return m;
}

// What the tactics see of layer l's inputs: dtypes (this choice's), dims and host-known values.
std::vector<ir::TensorInfo> inputInfos(const Shaped& s, const ir::Layer& l,
                                       const std::vector<DataType>& inDt) {
  const ir::Network& net = s.net;
  const auto& r = s.opt[0];
  std::vector<ir::TensorInfo> infos;
  for (size_t i = 0; i < l.inputs.size(); ++i) {
    const int t = l.inputs[i];
    ir::TensorInfo ti;
    if (t >= 0) {
      ti.dtype = inDt[i];
      ti.dims = net.tensors[t].dims;
      const bool known = net.tensors[t].producer < 0 ? false : s.on_host[net.tensors[t].producer];
      ti.value = known && r.values[t] && isStatic(net.tensors[t].dims) ? &*r.values[t] : nullptr;
    }
    infos.push_back(ti);
  }
  return infos;
}

// The tactics eligible for layer l in its precision, in registry order; `filtered` gets those
// the tactic filter excludes. `defaultTiles` (TimingEnv::default_tiles): an FP32 time to weigh
// against FP16 only, on the default tile of each family where one is eligible (the variants'
// programs are not even compiled); `variants` gets how many were left out so.
std::vector<const tactics::Tactic*> eligibleTactics(const ir::Layer& l,
                                                    const std::vector<ir::TensorInfo>& infos,
                                                    const TimingEnv& env, bool defaultTiles,
                                                    std::vector<std::string>* filtered,
                                                    size_t* variants) {
  const DataType prec = tactics::layerPrecision(l);
  const ocl::DeviceInfo& info = env.dev.info();
  // A float layer writing INT8 (narrowOutput): only tactics that quantize their output. (A
  // REFORMAT carries no precision: its dtypes are its own.)
  bool narrowed = false;
  if (l.attrs.has("precision") && prec != DataType::kINT8)
    for (size_t i = 0; i < l.outputs.size(); ++i)
      narrowed = narrowed || tactics::outputDtype(l, i, prec) == DataType::kINT8;
  std::vector<const tactics::Tactic*> eligible;
  for (const tactics::Tactic* tac : tactics::tacticsFor(l.kind)) {
    const auto precs = tac->precisions();
    if (std::find(precs.begin(), precs.end(), prec) == precs.end()) continue;
    if (narrowed && !tac->quantizesOutput()) continue;
    if (tac->tf32() && !env.config.getFlag(BuilderFlag::kTF32)) continue;
    if (!tac->eligible(l, infos, info)) continue;
    if (!tac->worthOffering(info) && !env.filter.names(*tac)) continue;
    if (!env.filter.allows(*tac)) {
      if (filtered) filtered->push_back(tac->name());
      continue;
    }
    eligible.push_back(tac);
  }
  if (defaultTiles && std::any_of(eligible.begin(), eligible.end(),
                                  [](const auto* t) { return !t->tileVariant(); })) {
    const size_t n = eligible.size();
    eligible.erase(std::remove_if(eligible.begin(), eligible.end(),
                                  [](const auto* t) { return t->tileVariant(); }),
                   eligible.end());
    if (variants) *variants = n - eligible.size();
  }
  return eligible;
}

// Layer l's timing signature (layerSignature) at the first profile's opt shapes.
std::string signatureAtOpt(const Shaped& s, const ir::Layer& l, const std::vector<DataType>& inDt,
                           const std::vector<DataType>& outDt) {
  const auto& r = s.opt[0];
  std::vector<Dims> in, out;
  for (int t : l.inputs) in.push_back(t >= 0 ? r.dims[t] : Dims{});
  for (int t : l.outputs) out.push_back(r.dims[t]);
  std::vector<const HostTensor*> values;
  for (int t : l.inputs) values.push_back(t >= 0 && r.values[t] ? &*r.values[t] : nullptr);
  return layerSignature(l, tactics::layerPrecision(l), in, inDt, values, out, outDt);
}

}  // namespace

void compileAhead(const Shaped& s, const std::vector<AheadChoice>& choices, TimingEnv& env) {
  if (!buildThreads()) return;  // one after another, it would only make every kernel twice
  ocl::Device& dev = env.dev;
  TimingCache* cache = env.config.timing_cache.get();
  // Tasks: a choice and the tactics to make for it, in the order the choice would try them
  // (the first that instantiates is the one the choice takes).
  struct Task {
    const AheadChoice* choice;
    std::vector<const tactics::Tactic*> tactics;
  };
  std::vector<Task> tasks;
  std::set<std::string> seen;
  for (const AheadChoice& a : choices) {
    const std::vector<ir::TensorInfo> infos = inputInfos(s, a.layer, a.inDt);
    std::vector<const tactics::Tactic*> eligible =
        eligibleTactics(a.layer, infos, env, a.default_tiles, nullptr, nullptr);
    if (eligible.empty()) continue;
    const bool timed =
        a.time && env.config.optimization_level > 0 && (eligible.size() > 1 || a.time_single);
    const std::string sig = signatureAtOpt(s, a.layer, a.inDt, a.outDt);
    if (!seen.insert(sig + (timed ? "|timed" : "|untimed")).second) continue;
    if (!timed) {
      std::stable_sort(eligible.begin(), eligible.end(), [&](const auto* x, const auto* y) {
        return x->untimedPriority(dev.info()) < y->untimedPriority(dev.info());
      });
      tasks.push_back({&a, eligible});
      continue;
    }
    if (const std::vector<double> hits = allCached(cache, sig, eligible); !hits.empty()) {
      tasks.push_back({&a, {eligible[fastest(hits)]}});  // the choice makes only that one
      continue;
    }
    for (const tactics::Tactic* tac : eligible) tasks.push_back({&a, {tac}});
  }
  if (tasks.size() < 2) return;
  const auto t0 = std::chrono::steady_clock::now();
  const ocl::ProgramScopes scopes = ocl::ProgramScopes::current();
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < tasks.size();) {
      const ir::Layer& layer = tasks[i].choice->layer;
      // Errors are dropped: the choice meets them again, and reports or skips them there.
      for (const tactics::Tactic* tac : tasks[i].tactics) {
        const std::optional<ir::Layer> hwc =
            timedLayout(s.net, s.on_host, layer, *tac, dev.info().is_gpu);
        if (makeKernel(*tac, hwc ? *hwc : layer, dev, scopes).kernel) break;
      }
    }
  };
  const size_t threads = std::min(tasks.size(), compileAheadThreads(dev.info()));
  runOnThreads(threads, work);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  buildStats().ahead_s += secs;
  logf(env.logger, Severity::kVERBOSE, "compiled ahead: ", tasks.size(), " candidate kernels of ",
       choices.size(), " tactic choices made on ", threads, " threads in ", secs, " s");
}

Choice chooseTactic(const Shaped& s, int li, const std::vector<DataType>& inDt,
                    const std::vector<DataType>& outDt, TimingEnv& env) {
  const ir::Network& net = s.net;
  const ir::Layer& l = net.layers[li];
  ocl::Device& dev = env.dev;
  const DataType prec = tactics::layerPrecision(l);
  const auto& r = s.opt[0];
  const std::vector<ir::TensorInfo> infos = inputInfos(s, l, inDt);
  auto dimsAt = [&](const runtime::ResolvedShapes& rs, std::vector<Dims>& in,
                    std::vector<Dims>& out) {
    for (int t : l.inputs) in.push_back(t >= 0 ? rs.dims[t] : Dims{});
    for (int t : l.outputs) out.push_back(rs.dims[t]);
  };
  struct Candidate {
    const tactics::Tactic* tactic;
    std::unique_ptr<tactics::Kernel> kernel;
    uint64_t ws;
    std::vector<std::string> programs;  // the program keys its kernel uses
  };
  // The chosen candidate's programs, for a timing cache to keep (TimingEnv::chosen_programs).
  auto keep = [&](const Candidate& k) {
    env.chosen_programs.insert(k.programs.begin(), k.programs.end());
  };
  std::vector<std::string> filtered;  // eligible, but excluded by the tactic filter
  size_t variants = 0;
  const std::vector<const tactics::Tactic*> eligible =
      eligibleTactics(l, infos, env, env.default_tiles, &filtered, &variants);
  Choice c;
  if (variants)
    logf(env.logger, Severity::kVERBOSE, "layer '", l.name, "' (", dtypeName(prec), "): ", variants,
         " block-tile variants left untimed, this precision being weighed against FP16 only "
         "(builder_optimization_level 4 or 5 times them)");
  const ocl::ProgramScopes scopes = ocl::ProgramScopes::current();
  // On the build's thread, in the order of `eligible`: the candidate into `into`, or false (with
  // the reason in c.why) when its program does not build on this device or it needs more
  // workspace than allowed.
  auto accept = [&](const tactics::Tactic* tac, Made m, std::vector<Candidate>& into) {
    ocl::ProgramRecorder::addOnThisThread(m.programs);
    if (m.error) std::rethrow_exception(m.error);
    if (!m.kernel) {
      const std::string why = m.refused.substr(0, m.refused.find('\n'));
      logf(env.logger, Severity::kVERBOSE, "layer '", l.name, "' (", dtypeName(prec), "): tactic ",
           tac->name(), " is not eligible on this device: ", m.refused);
      c.why += str(" ", tac->name(), " could not be instantiated (", why, ");");
      return false;
    }
    uint64_t ws = 0;
    for (auto& rs : s.max) ws = std::max<uint64_t>(ws, m.kernel->workspaceAt(l, rs.dims));
    if (ws > env.config.workspace_limit) {
      c.why += str(" ", tac->name(), " needs ", ws, " bytes of workspace;");
      return false;
    }
    into.push_back({tac, std::move(m.kernel), ws, std::move(m.programs)});
    return true;
  };
  auto layoutFor = [&](const tactics::Tactic* tac) {
    return timedLayout(net, s.on_host, l, *tac, dev.info().is_gpu);
  };
  auto instantiate = [&](const tactics::Tactic* tac, std::vector<Candidate>& into) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::optional<ir::Layer> hwc = layoutFor(tac);
    Made m = makeKernel(*tac, hwc ? *hwc : l, dev, scopes);
    buildStats().instantiate_s +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return accept(tac, std::move(m), into);
  };
  // Every candidate, each made on a thread of its own: their programs compile at once where the
  // device's compiler allows (PoCL; a cold build compiles most programs at the first layer of
  // each kind). CLRT_BUILD_THREADS=0 makes them one after another.
  auto instantiateAll = [&](std::vector<Candidate>& into) {
    if (!buildThreads() || eligible.size() < 2) {
      for (const tactics::Tactic* tac : eligible) instantiate(tac, into);
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::optional<ir::Layer>> layouts;
    for (const tactics::Tactic* tac : eligible) layouts.push_back(layoutFor(tac));
    std::vector<Made> made(eligible.size());
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i; (i = next.fetch_add(1)) < eligible.size();)
        made[i] = makeKernel(*eligible[i], layouts[i] ? *layouts[i] : l, dev, scopes);
    };
    runOnThreads(eligible.size(), work);
    buildStats().instantiate_s +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (size_t i = 0; i < eligible.size(); ++i) accept(eligible[i], std::move(made[i]), into);
  };
  auto none = [&] {
    if (!filtered.empty()) c.why += filterRefusal(l, inDt, outDt, filtered, env.filter);
    if (c.why.empty()) c.why = " no tactic supports its inputs";
    return c;
  };
  if (eligible.empty()) return none();
  std::vector<Candidate> cands;
  const bool timed =
      env.time && env.config.optimization_level > 0 && (eligible.size() > 1 || env.time_single);
  if (!timed) {
    // Untimed: the device's preferred eligible tactic, instantiating the next one only when a
    // preferred one does not build or fit (the others are not built at all).
    std::vector<const tactics::Tactic*> order = eligible;
    std::stable_sort(order.begin(), order.end(), [&](const auto* a, const auto* b) {
      return a->untimedPriority(dev.info()) < b->untimedPriority(dev.info());
    });
    for (const tactics::Tactic* tac : order)
      if (instantiate(tac, cands)) {
        c.tactic = tac;
        c.workspace = cands.back().ws;
        keep(cands.back());
        return c;
      }
    return none();
  }
  TimingCache* cache = env.config.timing_cache.get();
  std::vector<Dims> sigIn, sigOut;  // the opt-shape dims: the signature's and the timing run's
  dimsAt(r, sigIn, sigOut);
  std::vector<const HostTensor*> values;
  for (int t : l.inputs) values.push_back(t >= 0 && r.values[t] ? &*r.values[t] : nullptr);
  const std::string key =
      cache ? layerSignature(l, prec, sigIn, inDt, values, sigOut, outDt) : std::string();
  if (cache) {
    // Every candidate's time already known (an identical layer earlier in this build, or a
    // loaded cache): only the fastest is instantiated, unless it does not build or fit.
    const std::vector<double> hits = allCached(cache, key, eligible);
    if (!hits.empty()) {
      const size_t b = fastest(hits);
      const std::string why = c.why;
      if (instantiate(eligible[b], cands)) {
        for (size_t k = 0; k < eligible.size(); ++k)
          logf(env.logger, Severity::kVERBOSE, "layer '", l.name, "' (", dtypeName(prec),
               "): tactic ", eligible[k]->name(), " ", hits[k], " ms (timing cache)");
        env.reused += static_cast<int>(eligible.size());
        buildStats().cached += static_cast<int>(eligible.size());
        c.tactic = eligible[b];
        c.workspace = cands.back().ws;
        c.ms = hits[b];
        keep(cands.back());
        return c;
      }
      c.why = why;  // the full path below tries (and explains) every candidate again
      cands.clear();
    }
  }
  instantiateAll(cands);
  if (cands.empty()) return none();
  size_t best = 0;
  {
    std::vector<ocl::MemHandle> owned;
    std::vector<tactics::DeviceTensor> ins, outs;
    // Inputs random (or their host-known values); outputs only allocated: the kernels write
    // them before anything reads them.
    auto known = [&](int t) { return r.values[t] && !r.values[t]->bytes.empty(); };
    auto bytesOf = [&](int t, DataType dt) {
      return std::max<size_t>(volume(r.dims[t]) * dtypeSize(dt), 4);
    };
    auto make = [&](int t, DataType dt, bool input) -> tactics::DeviceTensor {
      const size_t bytes = bytesOf(t, dt);
      if (input && !known(t)) return {noiseBuffer(env, dt, bytes), r.dims[t], dt};
      ocl::MemHandle m(dev.alloc(bytes));
      if (input) {
        std::vector<uint8_t> fill = randomFill(dt, bytes, env.rng);
        std::memcpy(fill.data(), r.values[t]->bytes.data(),
                    std::min(bytes, r.values[t]->bytes.size()));
        dev.write(dev.queue(), m.get(), 0, bytes, fill.data(), true);
      }
      tactics::DeviceTensor d{m.get(), r.dims[t], dt};
      owned.push_back(std::move(m));
      return d;
    };
    auto prepare = [&] {  // timing buffers, made at the first tactic the cache cannot answer
      if (!ins.empty() || !outs.empty()) return;
      const auto t0 = std::chrono::steady_clock::now();
      // Each dtype's noise buffer grown once to this layer's largest input of it, first:
      // growing it later would release a buffer an earlier input already points at.
      std::map<DataType, size_t> noise;
      for (size_t i = 0; i < l.inputs.size(); ++i) {
        const int t = l.inputs[i];
        if (t >= 0 && !known(t)) noise[inDt[i]] = std::max(noise[inDt[i]], bytesOf(t, inDt[i]));
      }
      for (auto& [dt, bytes] : noise) noiseBuffer(env, dt, bytes);
      for (size_t i = 0; i < l.inputs.size(); ++i)
        ins.push_back(l.inputs[i] >= 0 ? make(l.inputs[i], inDt[i], true)
                                       : tactics::DeviceTensor{});
      for (size_t i = 0; i < l.outputs.size(); ++i)
        outs.push_back(make(l.outputs[i], outDt[i], false));
      buildStats().buffers_s +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    const int reps = env.config.optimization_level >= 4 ? 10 : 3;
    double bestMs = 1e30;
    for (size_t k = 0; k < cands.size(); ++k) {
      const std::string name = cands[k].tactic->name();
      if (auto hit = cache ? cache->lookup(key, name) : std::nullopt) {
        ++env.reused;
        ++buildStats().cached;
        logf(env.logger, Severity::kVERBOSE, "layer '", l.name, "' (", dtypeName(prec),
             "): tactic ", name, " ", *hit, " ms (timing cache)");
        if (*hit < bestMs) bestMs = *hit, best = k;
        continue;
      }
      CLRT_CHECK(!env.config.getFlag(BuilderFlag::kERROR_ON_TIMING_CACHE_MISS), kBuild, "layer '",
                 l.name, "' (", ir::layerKindName(l.kind), ", ", dtypeName(prec), "): tactic ",
                 name,
                 " is not in the timing cache and BuilderFlag.ERROR_ON_TIMING_CACHE_MISS is set");
      prepare();
      const size_t ws = cands[k].kernel->workspaceSize(sigIn, sigOut);
      ocl::MemHandle wsBuf(ws ? dev.alloc(ws) : nullptr);
      tactics::ExecArgs a{dev.queue(), ins, values, outs, wsBuf.get()};
      const double ms = medianMs(*cands[k].kernel, a, reps);
      ++env.timed;
      ++buildStats().timed;
      if (cache) cache->insert(key, name, ms);
      logf(env.logger, Severity::kVERBOSE, "layer '", l.name, "' (", dtypeName(prec), "): tactic ",
           cands[k].tactic->name(), " ", ms, " ms");
      if (ms < bestMs) bestMs = ms, best = k;
    }
    c.ms = bestMs;
  }
  c.tactic = cands[best].tactic;
  c.workspace = cands[best].ws;
  keep(cands[best]);
  return c;
}

ReformatCost reformatCost(TimingEnv& env) {
  if (env.reformat) return *env.reformat;
  ocl::Device& dev = env.dev;
  // The build's timing cache keeps the measurement with the tactics' times: the precision
  // choice weighs the two, so a build from a warm cache must not measure it afresh (a
  // different noise flipped a ResNet-50 layer's precision on an H100, and with it a program to
  // compile) and gives the engine the build it was taken from gave.
  TimingCache* cache = env.config.timing_cache.get();
  static const std::string kKey = "REFORMAT|cost";
  auto remember = [&](const ReformatCost& c) {
    if (!cache) return;
    cache->insert(kKey, "fixed_ms", c.fixed_ms);
    cache->insert(kKey, "ms_per_byte", c.ms_per_byte);
  };
  if (cache) {
    const auto fixed = cache->lookup(kKey, "fixed_ms"),
               perByte = cache->lookup(kKey, "ms_per_byte");
    if (fixed && perByte) {
      ReformatCost c;
      c.fixed_ms = *fixed;
      c.ms_per_byte = *perByte;
      logf(env.logger, Severity::kVERBOSE, "a REFORMAT costs ", c.fixed_ms, " ms + ",
           c.ms_per_byte * 1e6, " ms per MB read and written on this device (timing cache)");
      return *(env.reformat = c);
    }
  }
  // Once per device and process: the probe is the same for every build.
  // With the probe's programs, which a timing cache keeps (a build from it measures again).
  static std::mutex mu;
  static std::map<cl_device_id, std::pair<ReformatCost, std::vector<std::string>>> measured;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = measured.find(dev.id()); it != measured.end()) {
    const ReformatCost& c = it->second.first;
    logf(env.logger, Severity::kVERBOSE, "a REFORMAT costs ", c.fixed_ms, " ms + ",
         c.ms_per_byte * 1e6,
         " ms per MB read and written on this device (measured earlier in this process)");
    env.chosen_programs.insert(it->second.second.begin(), it->second.second.end());
    remember(c);
    return *(env.reformat = c);
  }
  const tactics::Tactic* tac = tactics::findTactic("reformat.convert");
  CLRT_CHECK(tac != nullptr, kBuild, "the reformat.convert tactic is not registered");
  ir::Layer l;
  l.name = "reformat_probe";
  l.kind = ir::LayerKind::kREFORMAT;
  l.inputs = {0};
  l.outputs = {1};
  l.attrs.set("in_dtypes", std::vector<int64_t>{static_cast<int64_t>(DataType::kFLOAT)});
  l.attrs.set("out_dtypes", std::vector<int64_t>{static_cast<int64_t>(DataType::kHALF)});
  ocl::ProgramRecorder programs;
  const std::unique_ptr<tactics::Kernel> k = tac->instantiate(l, dev);
  env.chosen_programs.insert(programs.keys().begin(), programs.keys().end());
  auto probe = [&](int64_t n) {
    ocl::MemHandle in(dev.alloc(n * 4)), out(dev.alloc(n * 2));
    std::vector<uint8_t> zeros(n * 4, 0);
    dev.write(dev.queue(), in.get(), 0, zeros.size(), zeros.data(), true);
    tactics::ExecArgs a{dev.queue(),
                        {tactics::DeviceTensor{in.get(), {n}, DataType::kFLOAT}},
                        {nullptr},
                        {tactics::DeviceTensor{out.get(), {n}, DataType::kHALF}}};
    return medianMs(*k, a, 5);
  };
  constexpr int64_t small = int64_t{1} << 18, large = int64_t{1} << 23;
  const double ts = probe(small), tl = probe(large);
  ReformatCost c;
  c.ms_per_byte = (tl - ts) / static_cast<double>((large - small) * 6);
  if (!(c.ms_per_byte > 0)) c.ms_per_byte = tl / static_cast<double>(large * 6);  // noise
  c.fixed_ms = std::max(0.0, ts - c.ms_per_byte * static_cast<double>(small * 6));
  logf(env.logger, Severity::kVERBOSE, "a REFORMAT costs ", c.fixed_ms, " ms + ",
       c.ms_per_byte * 1e6, " ms per MB read and written on this device (FLOAT -> HALF of ", small,
       " elements: ", ts, " ms, of ", large, ": ", tl, " ms)");
  measured[dev.id()] = {c, programs.keys()};
  remember(c);
  return *(env.reformat = c);
}

BuildStats& buildStats() {
  thread_local BuildStats stats;
  return stats;
}

}  // namespace clrt::builder::detail
