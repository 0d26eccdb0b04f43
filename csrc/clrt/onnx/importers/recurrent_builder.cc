// The recurrent builder: RNN/GRU/LSTM unrolled over the static sequence length. X is projected
// by W once per direction (one matrix multiply over all steps); each step adds h @ R^T and runs
// the op's cell; sequence_lens freezes the state and zeroes Y past each batch entry's length.
// Unrolled rather than a dedicated recurrent tactic: every step reuses tuned existing layers
// (matrix multiply, elementwise, activations), R is one shared constant per direction, and the
// sequence lengths of the models we target (OCR lines, VAD frames) stay well under kMaxSteps.
#include <algorithm>
#include <cctype>

#include "clrt/onnx/importers/recurrent.h"

namespace clrt::onnx::recurrent {

using ir::LayerKind;

namespace {

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Defaults of the activations that take alpha/beta (as onnxruntime's).
struct ActInfo {
  bool alpha, beta;
  float a, b;
};
const std::map<std::string, ActInfo>& actTable() {
  static const std::map<std::string, ActInfo> t{{"relu", {false, false, 0, 0}},
                                                {"tanh", {false, false, 0, 0}},
                                                {"sigmoid", {false, false, 0, 0}},
                                                {"softsign", {false, false, 0, 0}},
                                                {"softplus", {false, false, 0, 0}},
                                                {"leakyrelu", {true, false, 0.01f, 0}},
                                                {"thresholdedrelu", {true, false, 1, 0}},
                                                {"elu", {true, false, 1, 0}},
                                                {"hardsigmoid", {true, true, 0.2f, 0.5f}},
                                                {"scaledtanh", {true, true, 1, 1}},
                                                {"affine", {true, true, 1, 0}}};
  return t;
}

}  // namespace

Builder::Builder(ImportContext& ctx, int gates, std::vector<std::string> defaultActs)
    : foldedGates(gates), c(ctx), gates_(gates), actsPerDir_(defaultActs.size()) {
  const std::string d = c.attrString("direction", "forward");
  if (d == "forward" || d == "reverse")
    reverse_ = {d == "reverse"};
  else if (d == "bidirectional")
    reverse_ = {false, true};
  else
    reject(ErrorKind::kParse,
           str("attribute 'direction' must be forward, reverse or bidirectional, got '", d, "'"));
  layout_ = c.attrFlag("layout", 0) != 0;
  const Dims xd = c.inputDims(0), rd = c.inputDims(2);
  if (xd.size() != 3) reject(ErrorKind::kParse, str("X must be 3-D, got ", dimsToString(xd)));
  if (rd.size() != 3) reject(ErrorKind::kParse, str("R must be 3-D, got ", dimsToString(rd)));
  hidden = c.hasAttr("hidden_size") ? c.attrInt("hidden_size", 0) : rd[2];
  if (hidden <= 0)
    reject(ErrorKind::kUnsupported, str("hidden_size must be known and positive, got ", hidden));
  steps_ = xd[layout_ ? 1 : 0];
  batch_ = xd[layout_ ? 0 : 1];
  if (steps_ < 1)
    reject(ErrorKind::kUnsupported,
           str("the sequence length (X dim ", layout_ ? 1 : 0, " of ", dimsToString(xd),
               ") must be static: clrt unrolls the recurrence"),
           "fix the sequence length when exporting (a static dim) or with onnxsim's input shapes");
  if (steps_ > kMaxSteps)
    reject(ErrorKind::kUnsupported,
           str("sequence length ", steps_, " exceeds the unrolling limit of ", kMaxSteps, " steps"),
           "split the sequence into shorter chunks");
  const int64_t dirs = static_cast<int64_t>(reverse_.size()), gh = gates_ * hidden;
  auto checkDims = [&](int i, const char* name, Dims want) {
    if (!c.hasInput(i)) return;
    const Dims got = c.inputDims(i);
    bool ok = got.size() == want.size();
    for (size_t k = 0; ok && k < got.size(); ++k)
      ok = got[k] < 0 || want[k] < 0 || got[k] == want[k];
    if (!ok)
      reject(ErrorKind::kParse,
             str(name, " must be ", dimsToString(want), " (", dirs, " direction(s), hidden_size ",
                 hidden, "), got ", dimsToString(got)));
  };
  checkDims(1, "W", {dirs, gh, xd[2]});
  checkDims(2, "R", {dirs, gh, hidden});
  checkDims(3, "B", {dirs, 2 * gh});
  t_ = c.net().tensors[c.input(0)].dtype;
  readActivations(defaultActs);
  if (c.hasAttr("clip")) clip_ = c.attrFloat("clip", 0);
}

void Builder::readActivations(const std::vector<std::string>& defaults) {
  std::vector<std::string> names;
  if (const auto* a = c.attr("activations")) names.assign(a->strings().begin(), a->strings().end());
  const size_t want = actsPerDir_ * reverse_.size();
  if (names.empty())
    for (size_t d = 0; d < reverse_.size(); ++d)
      names.insert(names.end(), defaults.begin(), defaults.end());
  else if (names.size() == actsPerDir_ && want != names.size())  // one list for both directions
    names.insert(names.end(), names.begin(), names.end());
  if (names.size() != want)
    reject(ErrorKind::kParse, str("attribute 'activations' must list ", want, " functions (",
                                  actsPerDir_, " per direction), got ", names.size()));
  std::vector<float> alphas, betas;
  if (const auto* a = c.attr("activation_alpha"))
    alphas.assign(a->floats().begin(), a->floats().end());
  if (const auto* a = c.attr("activation_beta"))
    betas.assign(a->floats().begin(), a->floats().end());
  size_t ai = 0, bi = 0;
  for (const auto& n : names) {
    const std::string fn = lower(n);
    auto it = actTable().find(fn);
    if (it == actTable().end())
      reject(ErrorKind::kUnsupported,
             str("activation '", n, "' is not an ONNX recurrent activation"));
    Act act{fn, it->second.a, it->second.b};
    // Values are consumed by the functions that take them, in order (as onnxruntime).
    if (it->second.alpha && ai < alphas.size()) act.alpha = alphas[ai++];
    if (it->second.beta && bi < betas.size()) act.beta = betas[bi++];
    acts_.push_back(act);
  }
}

int Builder::binary(const char* op, int a, int b) {
  ir::Layer& l = c.addInternal(LayerKind::kELEMENTWISE, {a, b});
  l.attrs.set("op", op);
  return l.outputs[0];
}

int Builder::scalar(float v) {
  return c.constantTensor(HostTensor::fromFloats({}, {v}).castTo(t_));
}

int Builder::activate(int k, int x, bool clip) {
  auto layer = [&](const char* type, double alpha, double beta, int in) {
    ir::Layer& l = c.addInternal(LayerKind::kACTIVATION, {in});
    l.attrs.set("type", type);
    l.attrs.set("alpha", alpha);
    l.attrs.set("beta", beta);
    return l.outputs[0];
  };
  if (clip && clip_) x = layer("CLIP", -*clip_, *clip_, x);
  const Act& a = act(k);
  if (a.fn == "sigmoid") return layer("SIGMOID", 0, 0, x);
  if (a.fn == "tanh") return layer("TANH", 0, 0, x);
  if (a.fn == "relu") return layer("RELU", 0, 0, x);
  if (a.fn == "softplus") return layer("SOFTPLUS", 0, 0, x);
  if (a.fn == "leakyrelu") return layer("LEAKY_RELU", a.alpha, 0, x);
  if (a.fn == "elu") return layer("ELU", a.alpha, 0, x);
  if (a.fn == "hardsigmoid") return layer("HARD_SIGMOID", a.alpha, a.beta, x);
  if (a.fn == "softsign") {
    ir::Layer& l = c.addInternal(LayerKind::kUNARY, {x});
    l.attrs.set("op", "SOFTSIGN");
    return l.outputs[0];
  }
  if (a.fn == "affine") return binary("SUM", binary("PROD", x, scalar(a.alpha)), scalar(a.beta));
  if (a.fn == "scaledtanh")
    return binary("PROD", layer("TANH", 0, 0, binary("PROD", x, scalar(a.beta))), scalar(a.alpha));
  // thresholdedrelu: x where x > alpha, else 0
  const int keep = binary("GREATER", x, scalar(a.alpha));
  return c.addInternal(LayerKind::kWHERE, {keep, x, scalar(0)}).outputs[0];
}

std::vector<int> Builder::split(int x, int n) {
  ir::Layer& l = c.addInternal(LayerKind::kSPLIT, {x}, n);
  l.attrs.set("axis", int64_t{-1});
  l.attrs.set("split", std::vector<int64_t>(static_cast<size_t>(n), hidden));
  return l.outputs;
}

std::pair<std::optional<HostTensor>, int> Builder::block(int input, int64_t off, int64_t len,
                                                         bool wantTensor) {
  if (const HostTensor* v = c.constant(input)) {
    const HostTensor f = v->castTo(DataType::kFLOAT);
    const Dims& d = f.dims;
    int64_t inner = 1;
    for (size_t k = 2; k < d.size(); ++k) inner *= d[k];
    Dims od{len};
    od.insert(od.end(), d.begin() + 2, d.end());
    const float* src = f.f32() + (dir * d[1] + off) * inner;
    HostTensor out = HostTensor::fromFloats(od, std::vector<float>(src, src + len * inner));
    const int t = wantTensor ? c.constantTensor(out.castTo(t_)) : -1;
    return {std::move(out), t};
  }
  ir::Layer& s = c.addInternal(LayerKind::kSLICE, {c.input(input)});
  s.attrs.set("starts", std::vector<int64_t>{dir, off});
  s.attrs.set("ends", std::vector<int64_t>{dir + 1, off + len});
  s.attrs.set("axes", std::vector<int64_t>{0, 1});
  const int sliced = s.outputs[0];
  ir::Layer& q = c.addInternal(LayerKind::kSQUEEZE, {sliced});
  q.attrs.set("axes", std::vector<int64_t>{0});
  return {std::nullopt, q.outputs[0]};
}

int Builder::rows(int input, int64_t off, int64_t len) {
  const auto key = std::make_tuple(input, off, len);
  auto it = rowsCache_.find(key);
  if (it == rowsCache_.end())
    it = rowsCache_.emplace(key, block(input, off, len, true).second).first;
  return it->second;
}

int Builder::project(int x) {
  const int64_t gh = gates_ * hidden, folded = foldedGates * hidden;
  auto [w, wt] = block(1, 0, gh, false);
  std::optional<HostTensor> hb;
  int tb = -1;
  if (c.hasInput(3)) {
    auto [wb, wbt] = block(3, 0, gh, false);
    auto [rb, rbt] = block(3, gh, gh, false);
    if (wb && rb) {
      hb = *wb;
      for (int64_t j = 0; j < folded; ++j) hb->f32()[j] += rb->f32()[j];
    } else {
      std::vector<float> keep(static_cast<size_t>(gh), 0.f);
      std::fill(keep.begin(), keep.begin() + folded, 1.f);
      const int mask = c.constantTensor(HostTensor::fromFloats({gh}, keep).castTo(t_));
      tb = binary("SUM", wbt, binary("PROD", rbt, mask));
    }
  }
  int y;
  if (w) {
    const int64_t in = w->dims[1];
    HostTensor k(DataType::kFLOAT, {in, gh});
    for (int64_t r = 0; r < gh; ++r)
      for (int64_t i = 0; i < in; ++i) k.f32()[i * gh + r] = w->f32()[r * in + i];
    ir::Layer& mm = c.addInternal(LayerKind::kMATRIX_MULTIPLY, {x});
    mm.weights["kernel"] = std::move(k);
    if (hb) mm.weights["bias"] = *hb;
    y = mm.outputs[0];
    if (hb) return y;
  } else {
    ir::Layer& mm = c.addInternal(LayerKind::kMATRIX_MULTIPLY, {x, wt});
    mm.attrs.set("trans_b", int64_t{1});
    y = mm.outputs[0];
  }
  if (hb) tb = c.constantTensor(hb->castTo(t_));
  return tb < 0 ? y : binary("SUM", y, tb);
}

int Builder::recurrent(int h, int g0, int n) {
  CLRT_CHECK(g0 >= foldedGates || g0 + n <= foldedGates, kParse,
             "recurrent gate range must not straddle the folded R bias");
  const int r = rows(2, g0 * hidden, n * hidden);
  ir::Layer& mm = c.addInternal(LayerKind::kMATRIX_MULTIPLY, {h, r});
  mm.attrs.set("trans_b", int64_t{1});
  const int y = mm.outputs[0];
  if (g0 < foldedGates || !c.hasInput(3)) return y;
  return binary("SUM", y, rows(3, (gates_ + g0) * hidden, n * hidden));
}

int Builder::initial(int input) {
  if (!c.hasInput(input)) return c.constantTensor(HostTensor(t_, {1, 1, hidden}));
  ir::Layer& s = c.addInternal(LayerKind::kSLICE, {c.input(input)});
  s.attrs.set("starts", std::vector<int64_t>{dir});
  s.attrs.set("ends", std::vector<int64_t>{dir + 1});
  s.attrs.set("axes", std::vector<int64_t>{layout_ ? 1 : 0});
  const int v = s.outputs[0];
  if (!layout_) return v;
  ir::Layer& t = c.addInternal(LayerKind::kTRANSPOSE, {v});
  t.attrs.set("perm", std::vector<int64_t>{1, 0, 2});
  return t.outputs[0];
}

std::vector<int> Builder::stepMasks() {
  std::vector<int> masks(static_cast<size_t>(steps_), -1);
  if (!c.hasInput(4)) return masks;
  if (const HostTensor* v = c.constant(4)) {
    const std::vector<int64_t> lens = v->asInt64();
    for (int64_t t = 0; t < steps_; ++t) {
      std::vector<int64_t> m;
      for (int64_t l : lens) m.push_back(t < l ? 1 : 0);
      if (std::all_of(m.begin(), m.end(), [](int64_t b) { return b != 0; })) continue;
      const int64_t n = static_cast<int64_t>(m.size());
      masks[t] = c.constantTensor(HostTensor::fromInt64({1, n, 1}, m).castTo(DataType::kBOOL));
    }
    return masks;
  }
  const int lens = c.input(4);
  const DataType lt = c.net().tensors[lens].dtype;
  for (int64_t t = 0; t < steps_; ++t) {
    const int at = c.constantTensor(HostTensor::scalarInt64(t).castTo(lt));
    const int valid = binary("GREATER", lens, at);
    ir::Layer& u = c.addInternal(LayerKind::kUNSQUEEZE, {valid});
    u.attrs.set("axes", std::vector<int64_t>{0, 2});
    masks[t] = u.outputs[0];
  }
  return masks;
}

int Builder::emit(LayerKind kind, const std::vector<int>& inputs, int output) {
  return c.addMapped(kind, inputs, {output}).outputs[0];
}

void Builder::run(const Cell& cell) {
  int x = c.input(0);
  if (layout_) {
    ir::Layer& t = c.addInternal(LayerKind::kTRANSPOSE, {x});
    t.attrs.set("perm", std::vector<int64_t>{1, 0, 2});
    x = t.outputs[0];
  }
  const std::vector<int> masks = stepMasks();
  const bool wantY = c.hasOutput(0);
  std::vector<int> ys, hs, cs;
  auto concat = [&](const std::vector<int>& parts, int64_t axis) {
    if (parts.size() == 1) return parts[0];
    ir::Layer& l = c.addInternal(LayerKind::kCONCATENATION, parts);
    l.attrs.set("axis", axis);
    return l.outputs[0];
  };
  for (dir = 0; dir < static_cast<int>(reverse_.size()); ++dir) {
    rowsCache_.clear();
    const int xw = project(x);
    std::vector<int> xs{xw};
    if (steps_ > 1) {
      ir::Layer& s = c.addInternal(LayerKind::kSPLIT, {xw}, static_cast<int>(steps_));
      s.attrs.set("axis", int64_t{0});
      s.attrs.set("split", std::vector<int64_t>(static_cast<size_t>(steps_), 1));
      xs = s.outputs;
    }
    State s{initial(5), hasCellState ? initial(6) : -1};
    std::vector<int> y(static_cast<size_t>(steps_));
    for (int64_t k = 0; k < steps_; ++k) {
      const int64_t t = reverse_[dir] ? steps_ - 1 - k : k;
      State n = cell(*this, xs[t], s);
      if (masks[t] < 0) {
        y[t] = n.h;
      } else {
        auto keep = [&](int now, int before) {
          return c.addInternal(LayerKind::kWHERE, {masks[t], now, before}).outputs[0];
        };
        if (wantY) y[t] = keep(n.h, scalar(0));
        n.h = keep(n.h, s.h);
        if (hasCellState) n.c = keep(n.c, s.c);
      }
      s = n;
    }
    if (wantY) {
      ir::Layer& u = c.addInternal(LayerKind::kUNSQUEEZE, {concat(y, 0)});
      u.attrs.set("axes", std::vector<int64_t>{1});
      ys.push_back(u.outputs[0]);
    }
    hs.push_back(s.h);
    cs.push_back(s.c);
  }
  // Y [steps, dirs, batch, hidden] (layout 1: [batch, steps, dirs, hidden]); Y_h and Y_c
  // [dirs, batch, hidden] (layout 1: [batch, dirs, hidden]).
  auto finish = [&](const std::vector<int>& parts, int64_t axis, std::vector<int64_t> perm,
                    int output) {
    const int v = concat(parts, axis);
    if (!layout_) return emit(LayerKind::kIDENTITY, {v}, output);
    ir::Layer& t = c.addMapped(LayerKind::kTRANSPOSE, {v}, {output});
    t.attrs.set("perm", perm);
    return t.outputs[0];
  };
  if (wantY) finish(ys, 1, {2, 0, 1, 3}, 0);
  if (c.hasOutput(1)) finish(hs, 0, {1, 0, 2}, 1);
  if (hasCellState && c.hasOutput(2)) finish(cs, 0, {1, 0, 2}, 2);
}

}  // namespace clrt::onnx::recurrent
