// The shared builder of the recurrent importers (RNN, GRU, LSTM): reads the common inputs and
// attributes, unrolls the static sequence over an op-specific cell and assembles Y / Y_h / Y_c.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "clrt/onnx/importer.h"

namespace clrt::onnx::recurrent {

// Unrolling beyond this many time steps would make a network of tens of thousands of layers;
// such models are refused with the count in the message.
constexpr int64_t kMaxSteps = 512;

// An activation of the `activations` attribute with its alpha/beta.
struct Act {
  std::string fn;  // lower-case ONNX name: "sigmoid", "tanh", "relu", ...
  float alpha = 0, beta = 0;
};

// The recurrent state of one direction: h and (LSTM only) c, each [1, batch, hidden] (the
// initial zero state is [1, 1, hidden] and broadcasts).
struct State {
  int h = -1, c = -1;
};

class Builder;
// One time step: the projected input xw ([1, batch, gates * hidden], with the W bias and the
// folded R bias added) and the previous state -> the next state.
using Cell = std::function<State(Builder&, int xw, const State& prev)>;

class Builder {
 public:
  // `gates` blocks of `hidden` rows in W and R; `defaultActs` per direction (f, g, h order).
  Builder(ImportContext& c, int gates, std::vector<std::string> defaultActs);

  // Gates >= this keep their R bias out of the input projection (GRU's linear_before_reset
  // applies r to it): the cell adds it through recurrent(). Default: all gates folded.
  int foldedGates;
  bool hasCellState = false;  // LSTM: initial_c (input 6) and Y_c (output 2)

  // Runs every direction and defines the node outputs.
  void run(const Cell& cell);

  // ---- for cells ----
  ImportContext& c;
  int64_t hidden = 0;
  int dir = 0;  // the direction being built (0 forward or the only one, 1 backward)
  const Act& act(int k) const { return acts_.at(static_cast<size_t>(dir) * actsPerDir_ + k); }
  // act(x) with the node's clip applied first (unless `clip` is false).
  int activate(int k, int x, bool clip = true);
  int binary(const char* op, int a, int b);
  int scalar(float v);
  // h @ R[g0*H : (g0+n)*H]^T of this direction, plus the R bias of gates >= foldedGates in range.
  int recurrent(int h, int g0, int n);
  // Splits the last dim of x (n gates) into the n gates.
  std::vector<int> split(int x, int n);
  // Rows [off, off + len) of input `i`'s block for this direction (P: peepholes), as a tensor.
  int rows(int input, int64_t off, int64_t len);

 private:
  int gates_;
  DataType t_ = DataType::kFLOAT;
  int64_t steps_ = 0, batch_ = -1;
  bool layout_ = false;  // layout 1: batch-major X, Y, Y_h, Y_c
  std::vector<bool> reverse_;
  std::vector<Act> acts_;
  size_t actsPerDir_;
  std::optional<float> clip_;
  std::map<std::tuple<int, int64_t, int64_t>, int> rowsCache_;  // rows() of this direction

  // Rows of input `i` ([dirs, N] or [dirs, N, K]) for this direction: the host values (FLOAT)
  // when known, else -1 and a tensor.
  std::pair<std::optional<HostTensor>, int> block(int input, int64_t off, int64_t len,
                                                  bool wantTensor);
  int project(int x);  // x @ W^T + Wb + folded Rb: [steps, batch, gates * hidden]
  int initial(int input);
  std::vector<int> stepMasks();  // per time step, a BOOL [1, batch, 1] or -1 when all valid
  int emit(ir::LayerKind kind, const std::vector<int>& inputs, int output);
  void readActivations(const std::vector<std::string>& defaults);
};

}  // namespace clrt::onnx::recurrent
