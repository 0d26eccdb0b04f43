// Recurrent importers: the RNN, GRU and LSTM cells over the shared unrolling builder
// (importers/recurrent_builder.cc).
#include "clrt/onnx/importers/recurrent.h"

namespace clrt::onnx {
namespace {

using recurrent::Builder;
using recurrent::State;

// Ht = f(Xt W^T + Ht-1 R^T + Wb + Rb)
void importRnn(ImportContext& c) {
  Builder b(c, 1, {"Tanh"});
  b.run([](Builder& b, int xw, const State& s) {
    return State{b.activate(0, b.binary("SUM", xw, b.recurrent(s.h, 0, 1))), -1};
  });
}

// Gates z, r, h. linear_before_reset applies r after the recurrent product (its R bias
// included), else before it.
void importGru(ImportContext& c) {
  Builder b(c, 3, {"Sigmoid", "Tanh"});
  const bool lbr = c.attrInt("linear_before_reset", 0) != 0;
  if (lbr) b.foldedGates = 2;
  b.run([lbr](Builder& b, int xw, const State& s) {
    const std::vector<int> x = b.split(xw, 3);
    const std::vector<int> zr = b.split(b.recurrent(s.h, 0, 2), 2);
    const int z = b.activate(0, b.binary("SUM", x[0], zr[0]));
    const int r = b.activate(0, b.binary("SUM", x[1], zr[1]));
    const int hr = lbr ? b.binary("PROD", r, b.recurrent(s.h, 2, 1))
                       : b.recurrent(b.binary("PROD", r, s.h), 2, 1);
    const int cand = b.activate(1, b.binary("SUM", x[2], hr));
    // (1 - z) * cand + z * h  ==  cand + z * (h - cand)
    return State{b.binary("SUM", cand, b.binary("PROD", z, b.binary("SUB", s.h, cand))), -1};
  });
}

// Gates i, o, f, c; optional peepholes P (i, o, f) on the cell state; input_forget couples
// f = 1 - i. The clip bounds the gate inputs, not the cell state before h.
void importLstm(ImportContext& c) {
  Builder b(c, 4, {"Sigmoid", "Tanh", "Tanh"});
  b.hasCellState = true;
  const bool coupled = c.attrInt("input_forget", 0) != 0;
  const bool peep = c.hasInput(7);
  b.run([coupled, peep](Builder& b, int xw, const State& s) {
    const int64_t H = b.hidden;
    const std::vector<int> g = b.split(b.binary("SUM", xw, b.recurrent(s.h, 0, 4)), 4);
    auto peephole = [&](int pre, int64_t k, int cell) {
      return peep ? b.binary("SUM", pre, b.binary("PROD", b.rows(7, k * H, H), cell)) : pre;
    };
    const int i = b.activate(0, peephole(g[0], 0, s.c));
    const int f = coupled ? b.binary("SUB", b.scalar(1), i) : b.activate(0, peephole(g[2], 2, s.c));
    const int cand = b.activate(1, g[3]);
    const int cell = b.binary("SUM", b.binary("PROD", f, s.c), b.binary("PROD", i, cand));
    const int o = b.activate(0, peephole(g[1], 1, cell));
    return State{b.binary("PROD", o, b.activate(2, cell, false)), cell};
  });
}

}  // namespace

void registerRecurrentImporters() {
  // 7 drops output_sequence; 14 adds layout; 22 adds dtypes.
  registerImporter("RNN", {7, 14, 22}, importRnn);
  registerImporter("GRU", {7, 14, 22}, importGru);
  registerImporter("LSTM", {7, 14, 22}, importLstm);
}

}  // namespace clrt::onnx
