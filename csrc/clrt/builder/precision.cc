// Precision assignment: each device layer gets FP32, FP16 or INT8 from the flags, the layer's
// constraints, the INT8 ranges and timing; tensors get the storage dtype their consumers want;
// REFORMAT layers convert where producer and consumer disagree.
#include <algorithm>
#include <cmath>
#include <set>

#include "clrt/builder/internal.h"
#include "clrt/builder/progress.h"

namespace clrt::builder::detail {
namespace {

using ir::LayerKind;

DataType storageOf(DataType p) { return p; }  // FLOAT/HALF/INT8 store in their own type

bool isPrecision(DataType t) {
  return t == DataType::kFLOAT || t == DataType::kHALF || t == DataType::kINT8;
}

// Kinds with their own dtype semantics: they never get precision attrs.
bool hasOwnDtypes(LayerKind k) {
  return k == LayerKind::kREFORMAT || k == LayerKind::kQUANTIZE || k == LayerKind::kDEQUANTIZE ||
         k == LayerKind::kCAST || k == LayerKind::kSHAPE || k == LayerKind::kCONSTANT;
}

struct State {
  Shaped& s;
  TimingEnv& env;
  std::vector<bool> origFloat;  // per tensor: a FLOAT or HALF tensor before assignment
  std::map<int, float> amax;    // per tensor id
  std::vector<DataType> prec;   // per layer (FLOAT for non-precision layers)
  std::vector<bool> isPrec;     // per layer: decided by precision (not passthrough/own)
  std::vector<DataType> dtype;  // per tensor: storage decided
  std::vector<std::set<DataType>> want;
  // Tensors an INT8 layer reads as its fused residual, in whatever storage they have
  // (residualAnyStorage): they count as wanted INT8 only where nothing else reads them.
  std::set<int> resRead;
  std::vector<std::map<DataType, double>> times;  // per layer: its own time per timed precision

  float scaleOf(int t) const {
    auto it = amax.find(t);
    return it == amax.end() ? 0.0f : it->second / 127.0f;
  }
  bool hasRange(int t) const {
    auto it = amax.find(t);
    return it != amax.end() && it->second > 0.0f;
  }
};

// An INT8 conv or matmul reads its fused residual (conv: input 1, matmul: the last) in the
// epilogue, dequantized from INT8 or read as FLOAT or HALF alike (every INT8 tactic takes each):
// the tensor keeps the storage its other readers want, with no REFORMAT for this one. A
// transformer's residual stream is HALF for its next LayerNorm: ViT-B/16 INT8 read it through a
// HALF -> INT8 REFORMAT twice a block, and added the residual at INT8's precision.
bool residualAnyStorage(const ir::Layer& l, size_t i, DataType p) {
  if (p != DataType::kINT8 || l.attrs.i("has_residual", 0) == 0 || l.inputs.empty()) return false;
  if (l.kind == LayerKind::kCONVOLUTION) return i == 1;
  return l.kind == LayerKind::kMATRIX_MULTIPLY && i + 1 == l.inputs.size();
}

// What t's readers want: a residual read by an INT8 layer alone wants INT8 (its precision's).
std::set<DataType> wanted(const State& st, int t) {
  if (st.want[t].empty() && st.resRead.count(t)) return {DataType::kINT8};
  return st.want[t];
}

// Writes the precision attrs of a device layer for precision `p` and these dtypes.
void setAttrs(State& st, ir::Layer& l, DataType p, const std::vector<DataType>& inDt,
              const std::vector<DataType>& outDt) {
  std::vector<int64_t> ind, outd;
  std::vector<double> ins, outs;
  for (size_t i = 0; i < l.inputs.size(); ++i) {
    const int t = l.inputs[i];
    ind.push_back(t < 0 ? -1 : static_cast<int64_t>(inDt[i]));
    ins.push_back(t >= 0 && inDt[i] == DataType::kINT8 ? st.scaleOf(t) : 0.0);
  }
  for (size_t i = 0; i < l.outputs.size(); ++i) {
    outd.push_back(static_cast<int64_t>(outDt[i]));
    outs.push_back(outDt[i] == DataType::kINT8 ? st.scaleOf(l.outputs[i]) : 0.0);
  }
  l.attrs.set("precision", static_cast<int64_t>(p));
  l.attrs.set("in_dtypes", ind);
  l.attrs.set("out_dtypes", outd);
  l.attrs.set("in_scales", ins);
  l.attrs.set("out_scales", outs);
}

// The input/output dtypes a precision-`p` layer would see, given each output's intended dtype.
void hypothesis(const State& st, const ir::Layer& l, DataType p, std::vector<DataType>& inDt,
                std::vector<DataType>& outDt) {
  inDt.clear();
  outDt.clear();
  for (size_t i = 0; i < l.inputs.size(); ++i) {
    const int t = l.inputs[i];
    inDt.push_back(t < 0
                       ? DataType::kFLOAT
                       : (isDataInput(l, i, st.s.net) ? storageOf(p) : st.s.net.tensors[t].dtype));
  }
  for (int t : l.outputs) {
    DataType d = st.s.net.tensors[t].dtype;
    if (st.origFloat[t]) d = p == DataType::kINT8 && !st.hasRange(t) ? DataType::kFLOAT : p;
    outDt.push_back(d);
  }
}

// Whether some tactic implements layer li at precision p (untimed), with the given dtypes.
// `defaultTiles`: TimingEnv::default_tiles for this choice.
Choice tryPrecision(State& st, int li, DataType p, const std::vector<DataType>& inDt,
                    const std::vector<DataType>& outDt, bool time, bool timeSingle,
                    bool defaultTiles = false) {
  ir::Layer& l = st.s.net.layers[li];
  const ir::Attrs saved = l.attrs;
  setAttrs(st, l, p, inDt, outDt);
  const bool t0 = st.env.time, s0 = st.env.time_single, d0 = st.env.default_tiles;
  st.env.time = time;
  st.env.time_single = timeSingle;
  st.env.default_tiles = defaultTiles;
  Choice c;
  try {
    c = chooseTactic(st.s, li, inDt, outDt, st.env);
  } catch (...) {
    st.env.time = t0, st.env.time_single = s0, st.env.default_tiles = d0;
    l.attrs = saved;
    throw;
  }
  st.env.time = t0, st.env.time_single = s0, st.env.default_tiles = d0;
  l.attrs = saved;
  return c;
}

// Milliseconds of the reformats layer `l` would need at precision `p`: each float data input
// whose storage (its producer's decided precision, or a network input's dtype) is not p's.
double reformatMs(State& st, const ir::Layer& l, DataType p) {
  const auto& net = st.s.net;
  double ms = 0;
  for (size_t i = 0; i < l.inputs.size(); ++i) {
    const int t = l.inputs[i];
    if (t < 0 || !st.origFloat[t] || !isDataInput(l, i, net) || residualAnyStorage(l, i, p))
      continue;
    const int pl = net.tensors[t].producer;
    DataType have = net.tensors[t].dtype;
    if (pl >= 0) {
      if (st.s.on_host[pl] || !st.isPrec[pl]) continue;
      have = storageOf(st.prec[pl]);
      if (have == DataType::kINT8 && !st.hasRange(t)) have = DataType::kFLOAT;
    }
    if (have == storageOf(p)) continue;
    const Dims& d = st.s.opt[0].dims[t];
    if (!isStatic(d)) continue;
    ms += reformatCost(st.env).ms(volume(d), have, storageOf(p));
  }
  return ms;
}

// What decides the precisions layer l may take: whether it reads data at all, whether every
// data input has an INT8 range, whether its values fit FP16 and whether FP16 was found lossy.
void flagsOf(const State& st, const ir::Layer& l, bool& anyData, bool& rangesOk, bool& fp16Ok,
             bool& lossy) {
  const auto& net = st.s.net;
  auto isLossy = [&](int t) {
    return static_cast<size_t>(t) < st.s.fp16_lossy.size() && st.s.fp16_lossy[t];
  };
  for (size_t i = 0; i < l.inputs.size(); ++i)
    if (isDataInput(l, i, net)) {
      anyData = true;
      rangesOk = rangesOk && st.hasRange(l.inputs[i]);
      fp16Ok = fp16Ok && !st.s.fp16_unsafe[l.inputs[i]];
      lossy = lossy || isLossy(l.inputs[i]);
    }
  for (int t : l.outputs)
    if (st.origFloat[t]) {
      fp16Ok = fp16Ok && !st.s.fp16_unsafe[t];
      lossy = lossy || isLossy(t);
    }
}

// The tactic choices choosePrecisions will make, each layer in each precision it may take (a
// layer's own precision alone, untimed), for compileAhead.
std::vector<AheadChoice> precisionChoices(State& st) {
  auto& net = st.s.net;
  const auto& cfg = st.env.config;
  const bool fp16 = cfg.getFlag(BuilderFlag::kFP16), int8 = cfg.getFlag(BuilderFlag::kINT8);
  std::vector<AheadChoice> out;
  for (size_t li = 0; li < net.layers.size(); ++li) {
    const ir::Layer& l = net.layers[li];
    if (st.s.on_host[li] || isPassthrough(l.kind) || hasOwnDtypes(l.kind)) continue;
    bool anyData = false, rangesOk = true, fp16Ok = true, lossy = false;
    flagsOf(st, l, anyData, rangesOk, fp16Ok, lossy);
    if (!anyData) continue;
    std::vector<DataType> allowed{DataType::kFLOAT};
    if (fp16 && !l.exact_float && fp16Ok && !lossy) allowed.push_back(DataType::kHALF);
    if (int8 && rangesOk && !l.exact_float) allowed.push_back(DataType::kINT8);
    if (l.precision && isPrecision(*l.precision)) allowed = {*l.precision};
    const bool timed = allowed.size() > 1 && cfg.optimization_level > 0;
    for (DataType p : allowed) {
      AheadChoice a;
      a.li = static_cast<int>(li);
      a.layer = l;
      hypothesis(st, l, p, a.inDt, a.outDt);
      setAttrs(st, a.layer, p, a.inDt, a.outDt);
      a.time = a.time_single = timed;
      a.default_tiles = timed && p != allowed.back() && cfg.optimization_level <= 3;
      out.push_back(std::move(a));
    }
  }
  return out;
}

// Phase 1: the precision of every computing device layer.
void choosePrecisions(State& st) {
  auto& net = st.s.net;
  const auto& cfg = st.env.config;
  const bool fp16 = cfg.getFlag(BuilderFlag::kFP16), int8 = cfg.getFlag(BuilderFlag::kINT8);
  const bool obey = cfg.getFlag(BuilderFlag::kOBEY_PRECISION_CONSTRAINTS);
  compileAhead(st.s, precisionChoices(st), st.env);
  // One step per layer (candidate precisions are timed against each other).
  Phase phase("Precision selection", static_cast<int32_t>(net.layers.size()));
  for (size_t li = 0; li < net.layers.size(); ++li) {
    if (li > 0) phase.step();
    ir::Layer& l = net.layers[li];
    if (st.s.on_host[li] || isPassthrough(l.kind) || hasOwnDtypes(l.kind)) continue;
    bool anyData = false, rangesOk = true, fp16Ok = true, lossy = false;
    flagsOf(st, l, anyData, rangesOk, fp16Ok, lossy);
    if (!anyData) continue;
    st.isPrec[li] = true;

    std::vector<DataType> allowed{DataType::kFLOAT};
    if (fp16 && !l.exact_float) {
      if (!fp16Ok)
        logf(st.env.logger, Severity::kWARNING, "layer '", l.name,
             "' stays FP32: its values exceed FP16's range (65504) on the build-time data");
      else if (lossy)  // guardFp16 has warned, naming the layer it measured
        logf(st.env.logger, Severity::kINFO, "layer '", l.name,
             "' stays FP32: it reads or writes a tensor FP16 cannot hold accurately enough");
      else
        allowed.push_back(DataType::kHALF);
    }
    fp16Ok = fp16Ok && !lossy;
    if (int8 && rangesOk && !l.exact_float) allowed.push_back(DataType::kINT8);
    if (int8 && !rangesOk && !l.exact_float)
      logf(st.env.logger, Severity::kINFO, "layer '", l.name,
           "' has no INT8 range for an input; it runs in higher precision");
    if (l.precision) {
      const DataType want = *l.precision;
      CLRT_CHECK(isPrecision(want), kBuild, "layer '", l.name, "': precision ", dtypeName(want),
                 " is not supported by clrt (FP32, FP16 and INT8 are)");
      std::vector<DataType> inDt, outDt;
      hypothesis(st, l, want, inDt, outDt);
      std::string why;
      if (want == DataType::kINT8 && !rangesOk)
        why = "an input has no INT8 dynamic range (calibrate, or call set_dynamic_range)";
      else if (want == DataType::kHALF && !fp16Ok)
        why = lossy ? "FP16 made its error out of proportion on the build-time data"
                    : "its values exceed FP16's range on the build-time data";
      else if (want == DataType::kINT8 && l.kind == ir::LayerKind::kCONVOLUTION &&
               !l.weights.count("kernel"))
        why =
            "its weight W is an input computed at run time, and INT8 convolution quantizes a "
            "constant weight at build time (make W an initializer, or run the layer in FP32)";
      else if (const Choice c =
                   tryPrecision(st, static_cast<int>(li), want, inDt, outDt, false, false);
               !c.tactic)
        why = str("no ", dtypeName(want), " implementation of ", ir::layerKindName(l.kind),
                  c.why.find("tactic filter") != std::string::npos ? ":" + c.why : "");
      if (why.empty()) {
        allowed = {want};
      } else {
        CLRT_CHECK(!obey, kBuild, "layer '", l.name, "' is constrained to ", dtypeName(want),
                   " (OBEY_PRECISION_CONSTRAINTS) but cannot run in it: ", why);
        logf(st.env.logger, Severity::kWARNING, "layer '", l.name, "' prefers ", dtypeName(want),
             " but cannot run in it (", why, "); using ",
             allowed.size() > 1 ? "the fastest allowed precision" : "FP32");
      }
    }
    DataType best = DataType::kFLOAT;
    double bestMs = 1e30;
    bool found = false;
    const bool timed = allowed.size() > 1 && cfg.optimization_level > 0;
    // A precision weighed against a narrower one also allowed (FP32 beside FP16 or INT8, FP16
    // beside INT8) is timed on each family's default tile only, up to optimization level 3: its
    // tensor-core tiles then cost a program per family and epilogue instead of three (each about
    // a second to compile on an H200: FP32 beside FP16 went from 11 programs to 3 in a ResNet-50
    // build), and a layer that ends up in it has every tile timed when its tactic is chosen
    // (assemble). In an H200 timing cache of ResNet-50 at batch 64 every convolution's FP32
    // took 1.3-2.3x its FP16, and the default TF32 tile at most 1.63x the best TF32 one
    // (benchmarks/RESULTS.md). The narrowest allowed precision is timed on every tile.
    const DataType narrowest = allowed.back();  // FLOAT, then HALF, then INT8 when allowed
    for (DataType p : allowed) {
      std::vector<DataType> inDt, outDt;
      hypothesis(st, l, p, inDt, outDt);
      const bool defaultTiles = timed && p != narrowest && cfg.optimization_level <= 3;
      const Choice c =
          tryPrecision(st, static_cast<int>(li), p, inDt, outDt, timed, timed, defaultTiles);
      if (!c.tactic) {
        if (p != DataType::kFLOAT)
          logf(st.env.logger, Severity::kINFO, "layer '", l.name, "' has no ", dtypeName(p),
               " implementation; it runs in higher precision");
        continue;
      }
      // Untimed: the narrowest type wins (INT8, then FP16). Timed: the layer's time plus the
      // reformats its data inputs need where they are stored in another type (the producers'
      // precisions are decided; the consumers' are not, so outputs count nothing).
      if (timed && c.ms >= 0) st.times[li][p] = c.ms;
      const double ms = timed ? c.ms + reformatMs(st, l, p)
                              : (p == DataType::kINT8   ? 0
                                 : p == DataType::kHALF ? 1
                                                        : 2);
      if (!found || ms < bestMs) best = p, bestMs = ms, found = true;
    }
    st.prec[li] = best;
    logf(st.env.logger, Severity::kVERBOSE, "layer '", l.name, "': precision ", dtypeName(best));
  }
  if (!net.layers.empty()) phase.step();
}

// Explicit quantization points (Q/DQ pairs folded into ranges) keep the model's rounding: the
// tensor is stored INT8 even where its producer and consumers run in another precision. A network
// output keeps its own dtype (foldQdq gave it the pair's saturation).
bool keepsQdqRounding(const State& st, int t) {
  const ir::Tensor& x = st.s.net.tensors[t];
  return x.qdq_point && !x.is_output && st.origFloat[t] && st.hasRange(t);
}

// Phase 1b: the timed choice refined over the whole network (precision_refine.cc), the layers
// in a passthrough chain's tensors counted as readers of its source.
void refineTimedPrecisions(State& st) {
  auto& net = st.s.net;
  const size_t nl = net.layers.size(), nt = net.tensors.size();
  size_t timed = 0;
  for (const auto& t : st.times) timed += t.size() >= 2;
  if (timed == 0) return;
  PrecisionProblem p;
  std::vector<int> idx(nl, -1);  // network layer -> problem layer
  for (size_t li = 0; li < nl; ++li)
    if (st.isPrec[li]) {
      idx[li] = static_cast<int>(p.layers.size());
      p.layers.push_back({st.times[li], st.prec[li]});
    }
  std::vector<int> root(nt, -1);  // tensor -> problem tensor
  auto newRoot = [&](int t, int producer, DataType src) {
    PrecisionProblem::Tensor x;
    const Dims& d = st.s.opt[0].dims[t];
    x.elems = isStatic(d) ? volume(d) : 0;
    x.producer = producer;
    x.src = src;
    x.int8_ok = st.hasRange(t);
    x.keep_int8 = keepsQdqRounding(st, t);
    root[t] = static_cast<int>(p.tensors.size());
    p.tensors.push_back(std::move(x));
  };
  auto rootOf = [&](int t) {
    if (root[t] < 0) newRoot(t, -1, net.tensors[t].dtype);  // a network input or constant
    return root[t];
  };
  for (size_t li = 0; li < nl; ++li) {
    if (st.s.on_host[li]) continue;
    const auto& l = net.layers[li];
    if (isPassthrough(l.kind) && !l.inputs.empty() && l.inputs[0] >= 0 &&
        st.origFloat[l.inputs[0]]) {
      const int r = rootOf(l.inputs[0]);
      for (int t : l.outputs)
        if (st.origFloat[t]) root[t] = r;
      continue;
    }
    for (size_t i = 0; i < l.inputs.size(); ++i) {
      const int t = l.inputs[i];
      if (t < 0 || !st.origFloat[t] || !isDataInput(l, i, net)) continue;
      auto& x = p.tensors[static_cast<size_t>(rootOf(t))];
      if (idx[li] >= 0)
        x.consumers.push_back(idx[li]);
      else
        x.fixed.push_back(net.tensors[t].dtype);
    }
    for (int t : l.outputs)
      if (st.origFloat[t]) newRoot(t, idx[li], net.tensors[t].dtype);
  }
  for (int t : net.outputs)
    if (st.origFloat[t] && root[t] >= 0) p.tensors[root[t]].fixed.push_back(net.tensors[t].dtype);
  const ReformatCost cost = reformatCost(st.env);
  for (size_t li = 0; li < nl; ++li)
    if (idx[li] >= 0 && st.times[li].size() >= 2) {
      std::string t;
      for (const auto& [d, ms] : st.times[li])
        t += str(t.empty() ? "" : ", ", dtypeName(d), " ", ms);
      logf(st.env.logger, Severity::kVERBOSE, "precision estimate: layer '", net.layers[li].name,
           "' takes ", t, " ms, starting in ", dtypeName(st.prec[li]));
    }
  std::vector<DataType> start;
  for (const auto& l : p.layers) start.push_back(l.prec);
  std::vector<std::string> moves;
  const std::vector<DataType> best = refinePrecisions(p, cost, &moves);
  if (moves.empty()) {
    logf(st.env.logger, Severity::kVERBOSE, "precision refinement moved 0 layer(s): estimated ",
         precisionCost(p, start, cost), " ms of layer time and reformats");
    return;
  }
  for (const auto& m : moves) logf(st.env.logger, Severity::kVERBOSE, "precision refinement: ", m);
  int changed = 0;
  for (size_t li = 0; li < nl; ++li)
    if (idx[li] >= 0 && best[idx[li]] != st.prec[li]) {
      logf(st.env.logger, Severity::kVERBOSE, "layer '", net.layers[li].name, "': precision ",
           dtypeName(st.prec[li]), " -> ", dtypeName(best[idx[li]]),
           " (fewer reformats across the network)");
      st.prec[li] = best[idx[li]];
      ++changed;
    }
  logf(st.env.logger, Severity::kINFO, "precision refinement moved ", changed,
       " layer(s): estimated ", precisionCost(p, start, cost), " -> ", precisionCost(p, best, cost),
       " ms of layer time and reformats");
}

// The one dtype all wanted, else FLOAT (INT8 only where the tensor has a range). Wanted as HALF
// and as INT8 (a transformer's residual stream after an INT8 layer: the next LayerNorm reads it
// in FP16, the next INT8 layer as its residual): HALF, so that one REFORMAT (HALF -> INT8)
// serves the INT8 readers, where FLOAT storage wrote twice the bytes and needed two.
DataType agreed(const State& st, int t, const std::set<DataType>& w, DataType fallback) {
  if (w.size() == 1) {
    const DataType d = *w.begin();
    if (d != DataType::kINT8 || st.hasRange(t)) return d;
  }
  if (fallback == DataType::kFLOAT && st.hasRange(t) &&
      w == std::set<DataType>{DataType::kHALF, DataType::kINT8})
    return DataType::kHALF;
  return fallback;
}

// A float layer (FP16 or FP32) whose one output every reader takes as INT8 (a precision
// boundary: ResNet-50's FP16 stem before its INT8 max pool) writes INT8 itself where a tactic
// can (the tensor-core convolutions' epilogue quantizes at the output's scale), instead of a
// REFORMAT after it reading and writing the tensor again: always when the build does not time,
// else where the narrow write's time is not above the float write's plus that REFORMAT's. Not
// for network outputs, user output types or explicit quantization points (insertReformats
// writes those).
void narrowOutput(State& st, int li) {
  const auto& net = st.s.net;
  const ir::Layer& l = net.layers[li];
  if (l.outputs.size() != 1 || (!l.output_types.empty() && l.output_types[0])) return;
  const int t = l.outputs[0];
  if (!st.origFloat[t] || !st.hasRange(t) || wanted(st, t) != std::set<DataType>{DataType::kINT8} ||
      std::count(net.outputs.begin(), net.outputs.end(), t) || keepsQdqRounding(st, t))
    return;
  const DataType p = st.prec[li];
  std::vector<DataType> inDt, outDt;
  hypothesis(st, l, p, inDt, outDt);
  std::vector<DataType> narrowDt = outDt;
  narrowDt[0] = DataType::kINT8;
  if (!tryPrecision(st, li, p, inDt, narrowDt, false, false).tactic) return;  // none can
  const Dims& d = st.s.opt[0].dims[t];
  if (st.env.time && st.env.config.optimization_level > 0 && isStatic(d)) {
    const Choice wide = tryPrecision(st, li, p, inDt, outDt, true, true);
    const Choice narrow = tryPrecision(st, li, p, inDt, narrowDt, true, true);
    if (wide.ms >= 0 && narrow.ms >= 0 &&
        narrow.ms > wide.ms + reformatCost(st.env).ms(volume(d), storageOf(p), DataType::kINT8))
      return;
  }
  st.dtype[t] = DataType::kINT8;
  logf(st.env.logger, Severity::kVERBOSE, "layer '", l.name, "' (", dtypeName(p),
       ") writes its output INT8, which every reader takes");
}

// Phase 2 (consumers first): every tensor's storage dtype.
void chooseDtypes(State& st) {
  auto& net = st.s.net;
  for (size_t t = 0; t < net.tensors.size(); ++t) st.dtype[t] = net.tensors[t].dtype;
  for (int t : net.outputs) st.want[t].insert(net.tensors[t].dtype);
  for (size_t li = net.layers.size(); li-- > 0;) {
    ir::Layer& l = net.layers[li];
    if (st.s.on_host[li]) continue;
    if (isPassthrough(l.kind) && !l.inputs.empty() && l.inputs[0] >= 0 &&
        st.origFloat[l.inputs[0]]) {
      const int in = l.inputs[0];
      std::set<DataType> w;
      for (int t : l.outputs) {
        const std::set<DataType> wt = wanted(st, t);
        w.insert(wt.begin(), wt.end());
      }
      DataType d = agreed(st, in, w, DataType::kFLOAT);
      if (d != DataType::kFLOAT) {
        std::vector<DataType> inDt, outDt;
        hypothesis(st, l, d, inDt, outDt);
        for (auto& o : outDt) o = d;
        if (!tryPrecision(st, static_cast<int>(li), d, inDt, outDt, false, false).tactic)
          d = DataType::kFLOAT;
      }
      st.prec[li] = d;
      for (int t : l.outputs) {
        st.dtype[t] = d;
        if (d == DataType::kINT8) st.amax[t] = st.amax[in];  // data moves, scale stays
      }
      st.want[in].insert(d);
      continue;
    }
    if (st.isPrec[li]) {
      const DataType p = st.prec[li];
      for (int t : l.outputs) {
        if (!st.origFloat[t]) continue;
        if (p != DataType::kINT8)
          st.dtype[t] = p;
        else  // an explicit quantization point stays INT8 whoever reads it (insertReformats)
          st.dtype[t] = keepsQdqRounding(st, t) ? DataType::kINT8
                                                : agreed(st, t, wanted(st, t), DataType::kFLOAT);
      }
      if (p != DataType::kINT8) narrowOutput(st, static_cast<int>(li));
      for (size_t i = 0; i < l.inputs.size(); ++i) {
        if (!isDataInput(l, i, net)) continue;
        if (residualAnyStorage(l, i, p))
          st.resRead.insert(l.inputs[i]);
        else
          st.want[l.inputs[i]].insert(storageOf(p));
      }
      continue;
    }
    for (int t : l.inputs)
      if (t >= 0) st.want[t].insert(st.dtype[t]);
  }
  // User output types: the tensor itself is stored that way (a REFORMAT follows the producer
  // when it cannot write it).
  for (size_t li = 0; li < net.layers.size(); ++li)
    for (size_t i = 0; i < net.layers[li].output_types.size(); ++i)
      if (const auto& ot = net.layers[li].output_types[i]; ot && i < net.layers[li].outputs.size())
        CLRT_CHECK(isPrecision(*ot), kBuild, "layer '", net.layers[li].name, "': output type ",
                   dtypeName(*ot), " is not supported by clrt (FP32, FP16 and INT8 are)");
}

int addReformat(State& st, int from, DataType to, const std::string& why) {
  auto& net = st.s.net;
  const ir::Tensor src = net.tensors[from];
  const int li = net.addLayer(LayerKind::kREFORMAT,
                              net.uniqueLayerName(src.name + "_reformat_" + dtypeName(to)), {from},
                              1, {net.uniqueTensorName(src.name + "_" + dtypeName(to))});
  const int t = net.layers[li].outputs[0];
  net.tensors[t].dims = src.dims;
  net.tensors[t].dtype = to;
  net.layers[li].attrs.set("reason", why);
  st.dtype.push_back(to);
  st.origFloat.push_back(true);
  st.want.emplace_back();
  st.prec.push_back(DataType::kFLOAT);
  st.isPrec.push_back(false);
  st.s.on_host.push_back(0);
  st.s.fp16_unsafe.push_back(false);
  if (auto it = st.amax.find(from); it != st.amax.end()) st.amax[t] = it->second;
  return t;
}

// Tensor t (device-produced) becomes the output of a REFORMAT writing dtype d: its producer
// writes a new tensor of t's current dtype instead, which the REFORMAT reads.
void reformatIntoOutput(State& st, int t, DataType d, const std::string& why) {
  auto& net = st.s.net;
  const int p = net.tensors[t].producer;
  const std::string name = net.uniqueTensorName(net.tensors[t].name + "_" + dtypeName(st.dtype[t]));
  ir::Tensor nat = net.tensors[t];
  nat.name = name;
  nat.is_output = false;
  nat.is_input = false;
  nat.dtype = st.dtype[t];
  nat.allowed_formats = ir::kAllTrtFormats;
  net.tensors.push_back(nat);
  const int n = static_cast<int>(net.tensors.size()) - 1;
  st.dtype.push_back(nat.dtype);
  st.origFloat.push_back(true);
  st.want.emplace_back();
  st.s.fp16_unsafe.push_back(st.s.fp16_unsafe[t]);
  if (auto it = st.amax.find(t); it != st.amax.end()) st.amax[n] = it->second;
  for (auto& o : net.layers[p].outputs)
    if (o == t) o = n;
  const int li = net.addLayer(LayerKind::kREFORMAT,
                              net.uniqueLayerName(net.tensors[t].name + "_reformat"), {n}, 0);
  net.layers[li].outputs = {t};
  net.layers[li].attrs.set("reason", why);
  net.tensors[t].producer = li;
  st.dtype[t] = d;
  st.prec.push_back(DataType::kFLOAT);
  st.isPrec.push_back(false);
  st.s.on_host.push_back(0);
}

// Phase 3: REFORMAT layers where a consumer expects another dtype than the tensor's.
void insertReformats(State& st) {
  auto& net = st.s.net;
  const size_t nLayers = net.layers.size();
  // Forced dtypes (user output types, FLOAT network outputs): the producer writes its own dtype
  // into a fresh tensor, a REFORMAT writes the forced one under the original name.
  std::map<int, DataType> forced;
  for (size_t li = 0; li < nLayers; ++li)
    for (size_t i = 0; i < net.layers[li].output_types.size(); ++i)
      if (const auto& ot = net.layers[li].output_types[i]; ot && i < net.layers[li].outputs.size())
        forced[net.layers[li].outputs[i]] = *ot;
  for (int t : net.outputs)
    if (!forced.count(t)) forced[t] = net.tensors[t].dtype;
  for (int t = 0; t < static_cast<int>(net.tensors.size()); ++t)
    if (keepsQdqRounding(st, t) && !forced.count(t)) forced[t] = DataType::kINT8;
  for (auto [t, d] : forced) {
    const int p = net.tensors[t].producer;
    if (p < 0 || st.s.on_host[p] || st.dtype[t] == d) continue;
    CLRT_CHECK(d != DataType::kINT8 || st.hasRange(t), kBuild, "tensor '", net.tensors[t].name,
               "' must be INT8 (output type) but has no dynamic range");
    reformatIntoOutput(st, t, d, "output type");
  }
  // Network I/O the user asked to be channels last (ITensor.allowed_formats): a REFORMAT reads
  // the input, or writes the output, in that layout (chooseLayouts marks both sides); the
  // network between them takes whatever layout its tactics do. Outputs here; inputs after the
  // dtype REFORMATs below, which read them channels last themselves.
  for (int t : std::vector<int>(net.outputs)) {
    const int p = net.tensors[t].producer;
    if (!ir::requestsHwc(net.tensors[t]) || p < 0 || st.s.on_host[p] ||
        net.layers[p].kind == LayerKind::kREFORMAT)
      continue;
    reformatIntoOutput(st, t, st.dtype[t], "channels-last output");
  }
  // Consumers.
  std::map<std::pair<int, DataType>, int> made;
  const size_t nAll = net.layers.size();
  for (size_t li = 0; li < nAll; ++li) {
    if (st.s.on_host[li] || net.layers[li].kind == LayerKind::kREFORMAT) continue;
    const bool pass = isPassthrough(net.layers[li].kind);
    const size_t nin = net.layers[li].inputs.size();
    for (size_t i = 0; i < nin; ++i) {
      const int t = net.layers[li].inputs[i];  // addLayer below may reallocate: index each time
      if (t < 0 || !st.origFloat[t]) continue;
      DataType e;
      if (pass && i == 0)
        e = st.prec[li];
      else if (st.isPrec[li] && residualAnyStorage(net.layers[li], i, st.prec[li]))
        e = st.dtype[t];  // read as stored
      else if (st.isPrec[li] && isDataInput(net.layers[li], i, net))
        e = storageOf(st.prec[li]);
      else
        e = DataType::kFLOAT;
      if (e == st.dtype[t]) continue;
      CLRT_CHECK(e != DataType::kINT8 || st.hasRange(t), kBuild, "layer '", net.layers[li].name,
                 "' needs INT8 input '", net.tensors[t].name, "' but it has no dynamic range");
      auto key = std::make_pair(t, e);
      auto it = made.find(key);
      const int r =
          it != made.end() ? it->second : (made[key] = addReformat(st, t, e, "precision change"));
      net.layers[li].inputs[i] = r;  // addLayer may have reallocated: index again
    }
  }
  for (int t : std::vector<int>(net.inputs)) {
    if (!ir::requestsHwc(net.tensors[t])) continue;
    std::vector<int> readers;  // device layers other than REFORMATs reading t
    for (size_t li = 0; li < net.layers.size(); ++li)
      if (!st.s.on_host[li] && net.layers[li].kind != LayerKind::kREFORMAT &&
          std::count(net.layers[li].inputs.begin(), net.layers[li].inputs.end(), t))
        readers.push_back(static_cast<int>(li));
    if (readers.empty()) continue;
    const int n = addReformat(st, t, st.dtype[t], "channels-last input");
    for (int li : readers)
      for (int& in : net.layers[li].inputs)
        if (in == t) in = n;
  }
}

}  // namespace

bool isPassthrough(LayerKind k) {
  switch (k) {
    case LayerKind::kSHUFFLE:
    case LayerKind::kRESHAPE:
    case LayerKind::kTRANSPOSE:
    case LayerKind::kFLATTEN:
    case LayerKind::kSQUEEZE:
    case LayerKind::kUNSQUEEZE:
    case LayerKind::kSLICE:
    case LayerKind::kGATHER:
    case LayerKind::kSPLIT:
    case LayerKind::kEXPAND:
    case LayerKind::kIDENTITY:
      return true;
    default:
      return false;
  }
}

bool isDataInput(const ir::Layer& l, size_t i, const ir::Network& net) {
  if (i >= l.inputs.size() || l.inputs[i] < 0) return false;
  // HALF before assignment: a network input/output the user typed, or an FP16 ONNX model's
  // tensors. They are data like FLOAT ones; REFORMATs convert where the precision differs.
  const DataType d = net.tensors[l.inputs[i]].dtype;
  if (d != DataType::kFLOAT && d != DataType::kHALF) return false;
  if (isPassthrough(l.kind)) return i == 0;
  if (l.kind == LayerKind::kWHERE) return i > 0;
  // RoiAlign's rois are coordinates: FP16 would move a box edge at x = 1000 by up to 0.25 px,
  // so they stay in their own dtype whatever the layer's precision.
  if (l.kind == LayerKind::kROI_ALIGN) return i == 0;
  // Attention's additive bias (a mask of -inf or -3.4e38, a relative-position table) is read in
  // its own dtype: FP16 storage would turn a mask's -3.4e38 into -inf and keep the whole layer
  // out of FP16 (its values exceed FP16's range), where the kernels accumulate in FP32 anyway.
  if (l.kind == LayerKind::kATTENTION) return i < 3;
  return true;
}

void assignPrecisions(Shaped& s, const std::map<int, float>& amax, TimingEnv& env) {
  State st{s, env, {}, {}, {}, {}, {}, {}, {}, {}};
  const size_t nt = s.net.tensors.size(), nl = s.net.layers.size();
  st.origFloat.resize(nt);
  for (size_t t = 0; t < nt; ++t)
    st.origFloat[t] =
        s.net.tensors[t].dtype == DataType::kFLOAT || s.net.tensors[t].dtype == DataType::kHALF;
  st.amax = amax;
  // Host-known float tensors read by device layers (constants): their range is their value's.
  for (size_t t = 0; t < nt; ++t)
    if (st.origFloat[t] && s.opt[0].values[t] && !st.amax.count(static_cast<int>(t))) {
      float m = 0;
      for (float v : s.opt[0].values[t]->asFloats()) m = std::max(m, std::abs(v));
      if (m > 0) st.amax[static_cast<int>(t)] = m;
    }
  st.prec.assign(nl, DataType::kFLOAT);
  st.isPrec.assign(nl, false);
  st.dtype.resize(nt);
  st.want.resize(nt);
  s.fp16_unsafe.resize(nt, false);
  // isDataInput reads the original dtypes, which stay in the network until the end.
  st.times.resize(nl);
  choosePrecisions(st);
  refineTimedPrecisions(st);
  chooseDtypes(st);
  insertReformats(st);

  // Final attrs and dtypes, then back into execution order with fresh shapes.
  auto& net = s.net;
  for (size_t li = 0; li < net.layers.size(); ++li) {
    if (s.on_host[li]) continue;
    ir::Layer& l = net.layers[li];
    std::vector<DataType> inDt, outDt;
    for (int t : l.inputs) inDt.push_back(t >= 0 ? st.dtype[t] : DataType::kFLOAT);
    for (int t : l.outputs) outDt.push_back(st.dtype[t]);
    if (l.kind == LayerKind::kREFORMAT) {
      setAttrs(st, l, DataType::kFLOAT, inDt, outDt);
      l.attrs.erase("precision");
    } else if (st.isPrec[li] || (isPassthrough(l.kind) && st.prec[li] != DataType::kFLOAT)) {
      setAttrs(st, l, st.prec[li], inDt, outDt);
    }
  }
  for (size_t t = 0; t < net.tensors.size(); ++t) {
    net.tensors[t].dtype = st.dtype[t];
    auto it = st.amax.find(static_cast<int>(t));
    if (it != st.amax.end() && st.origFloat[t])
      net.tensors[t].dynamic_range = std::make_pair(-it->second, it->second);
  }
  std::vector<plan::Profile> profiles = env.config.profiles;
  std::vector<bool> unsafe = s.fp16_unsafe;
  s = shape(std::move(s.net), profiles);
  s.fp16_unsafe = unsafe;
}

}  // namespace clrt::builder::detail
