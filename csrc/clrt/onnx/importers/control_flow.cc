// Control-flow importers over onnx/subgraph.cc: If (a build-time condition imports the taken
// branch inline; a run-time one imports both and selects each output with Where, or slices the
// other branch's output to nothing where one branch gives an empty constant), Loop and Scan
// with a build-time trip count (the body imported once per iteration, up to kMaxIterations).
#include <limits>

#include "clrt/onnx/importer.h"

namespace clrt::onnx {
namespace {

using ir::LayerKind;
using Value = ImportContext::Value;

// Each unrolled iteration adds a copy of the body to the network.
constexpr int64_t kMaxIterations = 1024;

const char* kFoldHint =
    "fold constants first (onnxsim) so that the trip count or condition becomes a constant";

const ::onnx::GraphProto& graphAttr(ImportContext& c, const std::string& name) {
  const auto* a = c.attr(name);
  if (!a || !a->has_g())
    reject(ErrorKind::kParse, str("required graph attribute '", name, "' is missing"));
  return a->g();
}

Value inputValue(ImportContext& c, int i) {
  if (const HostTensor* v = c.constant(i)) return {-1, *v};
  return {c.input(i), std::nullopt};
}

Dims dimsOf(ImportContext& c, const Value& v) {
  return v.tensor >= 0 ? c.tensorDims(v.tensor) : v.constant->dims;
}

bool truth(const HostTensor& t, const std::string& what) {
  CLRT_CHECK(t.numel() == 1, kParse, what, " must hold one value, got shape ",
             dimsToString(t.dims));
  return t.asInt64()[0] != 0;
}

void checkCount(const std::vector<Value>& outs, int want, const std::string& what) {
  CLRT_CHECK(static_cast<int>(outs.size()) >= want, kParse, what, " has ", outs.size(),
             " outputs, the node expects ", want);
}

// The values stacked along a new `axis` (an internal tensor).
int stack(ImportContext& c, const std::vector<int>& parts, int64_t axis) {
  std::vector<int> ins;
  for (int p : parts) {
    ir::Layer& u = c.addInternal(LayerKind::kUNSQUEEZE, {p});
    u.attrs.set("axes", std::vector<int64_t>{axis});
    ins.push_back(u.outputs[0]);
  }
  if (ins.size() == 1) return ins[0];
  ir::Layer& l = c.addInternal(LayerKind::kCONCATENATION, ins);
  l.attrs.set("axis", axis);
  return l.outputs[0];
}

// x split into n parts of one along `axis`, each with that axis removed.
std::vector<int> unstack(ImportContext& c, int x, int64_t axis, int64_t n) {
  std::vector<int> parts{x};
  if (n > 1) {
    ir::Layer& s = c.addInternal(LayerKind::kSPLIT, {x}, static_cast<int>(n));
    s.attrs.set("axis", axis);
    s.attrs.set("split", std::vector<int64_t>(static_cast<size_t>(n), 1));
    parts = s.outputs;
  }
  for (int& p : parts) {
    ir::Layer& q = c.addInternal(LayerKind::kSQUEEZE, {p});
    q.attrs.set("axes", std::vector<int64_t>{axis});
    p = q.outputs[0];
  }
  return parts;
}

// Whether `empty` is a constant with no elements along axis 0 and otherwise the dims of `full`
// (which may be data-dependent): torchvision's detectors return such a constant when there are
// no boxes and the NMS result otherwise.
bool emptyVersionOf(ImportContext& c, const Value& empty, const Value& full) {
  if (!empty.constant || empty.constant->numel() != 0) return false;
  const Dims de = dimsOf(c, empty), df = dimsOf(c, full);
  if (de.empty() || de.size() != df.size() || de[0] != 0) return false;
  for (size_t j = 1; j < de.size(); ++j)
    if (de[j] != df[j]) return false;
  return empty.constant->dtype == c.net().tensors[c.tensorOf(full)].dtype;
}

// The output of a run-time If whose one branch gives an empty constant: the other branch's
// output sliced along axis 0 to 0 rows when that branch is not taken. The slice end is
// Where(cond, ...) of the condition, a shape operand: the condition must be known on the host
// when the layer runs (computed from shapes, as a detector's numel() == 0 is).
int sliceToEmpty(ImportContext& c, int cond, const Value& full, bool emptyWhen) {
  const int64_t big = std::numeric_limits<int64_t>::max();
  const int zero = c.constantTensor(HostTensor::fromInt64({1}, {0}));
  const int all = c.constantTensor(HostTensor::fromInt64({1}, {big}));
  ir::Layer& end =
      c.addInternal(LayerKind::kWHERE, {cond, emptyWhen ? zero : all, emptyWhen ? all : zero});
  const int e = end.outputs[0];
  return c.addInternal(LayerKind::kSLICE, {c.tensorOf(full), zero, e, zero}).outputs[0];
}

void importIf(ImportContext& c) {
  const auto& thenG = graphAttr(c, "then_branch");
  const auto& elseG = graphAttr(c, "else_branch");
  const int n = c.node().output_size();
  if (const HostTensor* cond = c.constant(0)) {
    const bool taken = truth(*cond, "the condition");
    const char* what = taken ? "then_branch" : "else_branch";
    const auto outs = c.importSubgraph(taken ? thenG : elseG, {}, what);
    checkCount(outs, n, what);
    for (int i = 0; i < n; ++i) c.defineOutput(i, outs[i]);
    return;
  }
  const auto a = c.importSubgraph(thenG, {}, "then_branch");
  const auto b = c.importSubgraph(elseG, {}, "else_branch");
  checkCount(a, n, "then_branch");
  checkCount(b, n, "else_branch");
  int cond = c.input(0);
  if (!c.inputDims(0).empty()) {
    ir::Layer& q = c.addInternal(LayerKind::kSQUEEZE, {cond});  // a one-value condition
    q.attrs.set("axes", std::vector<int64_t>{});
    cond = q.outputs[0];
  }
  for (int i = 0; i < n; ++i) {
    if (!c.hasOutput(i)) continue;
    const Dims da = dimsOf(c, a[i]), db = dimsOf(c, b[i]);
    if (emptyVersionOf(c, a[i], b[i]) || emptyVersionOf(c, b[i], a[i])) {
      const bool thenEmpty = emptyVersionOf(c, a[i], b[i]);
      const int y = sliceToEmpty(c, cond, thenEmpty ? b[i] : a[i], thenEmpty);
      c.addMapped(LayerKind::kIDENTITY, {y}, {i});
      continue;
    }
    if (da != db || !isStatic(da))
      reject(ErrorKind::kUnsupported,
             str("the condition '", c.node().input(0), "' is computed at run time and output ", i,
                 " is ", dimsToString(da), " in then_branch but ", dimsToString(db),
                 " in else_branch: clrt runs a run-time If as both branches and a Where, which "
                 "needs outputs of one static shape"),
             "make the condition a build-time constant (fold it with onnxsim)");
    c.addMapped(LayerKind::kWHERE, {cond, c.tensorOf(a[i]), c.tensorOf(b[i])}, {i});
  }
}

// Loop(M, cond, v...) with M and cond known when building: the body (iter, cond, v...) ->
// (cond, v..., scan...) once per iteration while its condition output stays a true constant.
void importLoop(ImportContext& c) {
  const auto& body = graphAttr(c, "body");
  const int nv = c.node().input_size() - 2;
  const int nScan = body.output_size() - 1 - nv;
  CLRT_CHECK(nv >= 0 && nScan >= 0 && body.input_size() == 2 + nv, kParse, "the body has ",
             body.input_size(), " inputs and ", body.output_size(), " outputs for ", nv,
             " loop-carried values");
  const HostTensor* m = c.hasInput(0) ? c.constant(0) : nullptr;
  if (!m)
    reject(ErrorKind::kUnsupported,
           c.hasInput(0) ? str("the trip count M ('", c.node().input(0),
                               "') is computed at run time: clrt unrolls Loop and needs it when "
                               "building")
                         : "the trip count M is absent: clrt unrolls Loop and needs one",
           kFoldHint);
  const int64_t trips = m->asInt64().at(0);
  bool cond = true;
  if (c.hasInput(1)) {
    const HostTensor* cv = c.constant(1);
    if (!cv)
      reject(ErrorKind::kUnsupported,
             str("the initial condition ('", c.node().input(1), "') is computed at run time"),
             kFoldHint);
    cond = truth(*cv, "the initial condition");
  }
  std::vector<Value> state;
  for (int k = 0; k < nv; ++k) state.push_back(inputValue(c, 2 + k));
  std::vector<std::vector<int>> scans(static_cast<size_t>(nScan));
  int64_t it = 0;
  for (; it < trips && cond; ++it) {
    // A huge M (INT64_MAX: "until the condition") is fine when the condition stops it in time.
    if (it == kMaxIterations)
      reject(ErrorKind::kUnsupported, str("the loop runs more than the unrolling limit of ",
                                          kMaxIterations, " iterations (trip count ", trips, ")"));
    std::vector<Value> ins{{-1, HostTensor::scalarInt64(it)},
                           {-1, HostTensor::fromInt64({}, {1}).castTo(DataType::kBOOL)}};
    ins.insert(ins.end(), state.begin(), state.end());
    const std::string what = str("body iteration ", it);
    const auto outs = c.importSubgraph(body, ins, what, str("it", it));
    if (!outs[0].constant)
      reject(ErrorKind::kUnsupported,
             str("the body's condition output is computed at run time (", what,
                 "): clrt unrolls Loop over a build-time trip count"));
    cond = truth(*outs[0].constant, "the body's condition output");
    state.assign(outs.begin() + 1, outs.begin() + 1 + nv);
    for (int k = 0; k < nScan; ++k) scans[k].push_back(c.tensorOf(outs[1 + nv + k]));
  }
  for (int k = 0; k < nv; ++k) c.defineOutput(k, state[k]);
  for (int k = 0; k < nScan; ++k) {
    if (!c.hasOutput(nv + k)) continue;
    if (it == 0)
      reject(ErrorKind::kUnsupported, "the loop runs no iteration: its scan outputs are empty");
    c.defineOutput(nv + k, {stack(c, scans[k], 0), std::nullopt});
  }
}

struct ScanSpec {
  std::vector<int64_t> inAxes, inReverse, outAxes, outReverse;
};

// One unrolled scan: the final states, and each scan output stacked along its axis.
std::pair<std::vector<Value>, std::vector<int>> scanOnce(
    ImportContext& c, const ::onnx::GraphProto& body, std::vector<Value> states,
    const std::vector<int>& xs, const ScanSpec& spec, const std::string& what,
    const std::string& tag) {
  int64_t T = -1;
  std::vector<std::vector<int>> slices;
  for (size_t j = 0; j < xs.size(); ++j) {
    const Dims d = c.tensorDims(xs[j]);
    const int64_t ax = normalizeAxis(spec.inAxes[j], static_cast<int64_t>(d.size()),
                                     str("scan_input_axes[", j, "]"));
    if (d[ax] < 0 || (T >= 0 && d[ax] != T))
      reject(ErrorKind::kUnsupported,
             str("scan input ", j, " ", dimsToString(d), ": the scanned dim ", ax,
                 " must be static and equal for every scan input"));
    T = d[ax];
    if (T < 1 || T > kMaxIterations)
      reject(ErrorKind::kUnsupported,
             str("scan length ", T, " is outside 1..", kMaxIterations, " (clrt unrolls Scan)"));
    slices.push_back(unstack(c, xs[j], ax, T));
  }
  const size_t N = states.size();
  const int K = body.output_size() - static_cast<int>(N);
  CLRT_CHECK(K >= 0, kParse, "the body has fewer outputs than the ", N, " states");
  std::vector<std::vector<int>> elems(static_cast<size_t>(K), std::vector<int>(T));
  for (int64_t t = 0; t < T; ++t) {
    std::vector<Value> ins = states;
    for (size_t j = 0; j < xs.size(); ++j)
      ins.push_back({slices[j][spec.inReverse[j] ? T - 1 - t : t], std::nullopt});
    const auto outs = c.importSubgraph(body, ins, str(what, "iteration ", t), str(tag, "it", t));
    states.assign(outs.begin(), outs.begin() + N);
    for (int k = 0; k < K; ++k)
      elems[k][spec.outReverse[k] ? T - 1 - t : t] = c.tensorOf(outs[N + k]);
  }
  std::vector<int> stacked;
  for (int k = 0; k < K; ++k) {
    const int64_t rank = static_cast<int64_t>(c.tensorDims(elems[k][0]).size()) + 1;
    stacked.push_back(
        stack(c, elems[k], normalizeAxis(spec.outAxes[k], rank, str("scan_output_axes[", k, "]"))));
  }
  return {states, stacked};
}

// Scan 9+: states then scan inputs; axes and directions per scan input and output.
// Scan 8: an optional sequence_lens first, and a batch dim 0 on every state and scan input.
void importScan(ImportContext& c) {
  const auto& body = graphAttr(c, "body");
  const bool v8 = schemaVersion("Scan", c.opset()) == 8;
  const int first = v8 ? 1 : 0;
  const int M = static_cast<int>(c.requireAttrInt("num_scan_inputs"));
  const int N = c.node().input_size() - first - M;
  const int K = body.output_size() - N;
  CLRT_CHECK(M >= 1 && N >= 0 && K >= 0, kParse, "num_scan_inputs ", M, " does not fit the ",
             c.node().input_size(), " inputs and the body's ", body.output_size(), " outputs");
  if (v8 && c.hasInput(0)) {
    const HostTensor* lens = c.constant(0);
    const Dims xd = c.inputDims(first + N);
    bool full = lens && xd.size() >= 2 && xd[1] >= 0;
    for (int64_t l : full ? lens->asInt64() : std::vector<int64_t>{}) full = full && l == xd[1];
    if (!full)
      reject(ErrorKind::kUnsupported,
             "sequence_lens must be absent or a constant equal to the full sequence length");
  }
  ScanSpec spec;
  auto list = [&](const char* name, int n) {
    std::vector<int64_t> v = c.attrInts(name, std::vector<int64_t>(static_cast<size_t>(n), 0));
    CLRT_CHECK(static_cast<int>(v.size()) == n, kParse, "attribute '", name, "' must list ", n,
               " values, got ", v.size());
    return v;
  };
  spec.inReverse = list(v8 ? "directions" : "scan_input_directions", M);
  spec.inAxes = v8 ? std::vector<int64_t>(M, 0) : list("scan_input_axes", M);
  spec.outReverse = v8 ? std::vector<int64_t>(K, 0) : list("scan_output_directions", K);
  spec.outAxes = v8 ? std::vector<int64_t>(K, 0) : list("scan_output_axes", K);
  std::vector<Value> states;
  std::vector<int> xs;
  for (int k = 0; k < N; ++k) states.push_back(inputValue(c, first + k));
  for (int j = 0; j < M; ++j) xs.push_back(c.input(first + N + j));
  if (!v8) {
    auto [fin, stacked] = scanOnce(c, body, states, xs, spec, "body ", "");
    for (int k = 0; k < N; ++k) c.defineOutput(k, fin[k]);
    for (int k = 0; k < K; ++k) c.defineOutput(N + k, {stacked[k], std::nullopt});
    return;
  }
  const int64_t batch = c.inputDims(first + N)[0];
  if (batch < 1 || batch > kMaxIterations)
    reject(ErrorKind::kUnsupported, str("the batch dim must be static (Scan-8 is unrolled per "
                                        "batch entry), got ",
                                        batch));
  std::vector<std::vector<int>> stPer(N), xsPer(M);
  for (int k = 0; k < N; ++k) stPer[k] = unstack(c, c.tensorOf(states[k]), 0, batch);
  for (int j = 0; j < M; ++j) xsPer[j] = unstack(c, xs[j], 0, batch);
  std::vector<std::vector<int>> finals(N), outs(K);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<Value> st;
    std::vector<int> x;
    for (int k = 0; k < N; ++k) st.push_back({stPer[k][b], std::nullopt});
    for (int j = 0; j < M; ++j) x.push_back(xsPer[j][b]);
    auto [fin, stacked] = scanOnce(c, body, st, x, spec, str("body batch ", b, " "), str("b", b));
    for (int k = 0; k < N; ++k) finals[k].push_back(c.tensorOf(fin[k]));
    for (int k = 0; k < K; ++k) outs[k].push_back(stacked[k]);
  }
  for (int k = 0; k < N; ++k) c.defineOutput(k, {stack(c, finals[k], 0), std::nullopt});
  for (int k = 0; k < K; ++k) c.defineOutput(N + k, {stack(c, outs[k], 0), std::nullopt});
}

}  // namespace

void registerControlFlowImporters() {
  // Later versions widen the value types (sequences, optionals, new dtypes); the tensor
  // semantics stay.
  registerImporter("If", {1, 11, 13, 16, 19, 21, 23, 24, 25}, importIf);
  registerImporter("Loop", {1, 11, 13, 16, 19, 21, 23, 24, 25}, importLoop);
  registerImporter("Scan", {8, 9, 11, 16, 19, 21, 23, 24, 25}, importScan);
}

}  // namespace clrt::onnx
