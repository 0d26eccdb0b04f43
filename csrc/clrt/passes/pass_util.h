// Helpers shared by the graph passes: fusion eligibility, per-channel constants, rewiring, notes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "clrt/core/logger.h"
#include "clrt/ir/network.h"

namespace clrt::passes::detail {

using Consumers = std::vector<std::vector<int>>;

// Passes return only a bool; the pipeline installs its logger here (per thread) so each rewrite
// can say at VERBOSE what it did.
class ScopedPassLogger {
 public:
  explicit ScopedPassLogger(ILogger* logger);
  ~ScopedPassLogger();
  ScopedPassLogger(const ScopedPassLogger&) = delete;
  ScopedPassLogger& operator=(const ScopedPassLogger&) = delete;

 private:
  ILogger* prev_;
  bool prevActive_;
};
void note(const std::string& msg);  // VERBOSE to the installed logger; dropped when none
void warn(const std::string& msg);  // WARNING to the installed logger; dropped when none

// The precision rule of every fusion (TensorRT users' most frequent complaint is a fusion that
// silently drops a constraint): layer `gone`, whose output tensor disappears into the fused
// layer, may merge with `keeps` only when their precisions are equal or one is unset, and `gone`
// asks no type of the tensor that disappears. The fused layer then carries the set precision and
// `keeps`'s output types (mergeConstraints), so every member's constraint still holds.
bool hasConstraint(const ir::Layer& l);
bool sameConstraints(const ir::Layer& a, const ir::Layer& b);  // both unconstrained, or equal
bool mergeableConstraints(const ir::Layer& gone, const ir::Layer& keeps);
void mergeConstraints(ir::Layer& into, const ir::Layer& from);

// Live layers reading tensor t (net.consumers() may still list layers marked dead).
std::vector<int> liveConsumers(const ir::Network& net, const Consumers& cons, int t);

// The value of tensor t when a live CONSTANT layer produces it, else nullptr.
const HostTensor* constantValue(const ir::Network& net, int t);
// The one float value of constant tensor t (FLOAT or HALF, at most `rank` dims, so that it
// broadcasts without growing a rank-`rank` operand), else nullopt.
std::optional<float> scalarConst(const ir::Network& net, int t, size_t rank);

// A TRANSPOSE's `perm` for a rank-`rank` input (empty: all axes reversed, as ONNX), or empty
// when it is not a permutation of that rank.
std::vector<int64_t> resolvedPerm(std::vector<int64_t> perm, size_t rank);

bool isConvOrMatmul(const ir::Layer& l);
// A MatMul of one activation by a 2-D constant kernel, A not transposed: each row of its output
// depends on the same row of its input only, whatever the leading dims (a kernel of more dims
// broadcasts over them, and is no such layer).
bool rowWiseMatmul(const ir::Layer& l);
// Every dim known (> 0).
bool staticDims(const Dims& d);
// Separate projections of one input feeding ATTENTION layer `ai`'s q, k and v (read as views)
// become one MatMul whose packed output it reads (pack_projections.cc). True when it changed.
bool packProjections(ir::Network& net, size_t ai);
bool hasResidual(const ir::Layer& l);
bool hasActivation(const ir::Layer& l);

// The conv/matmul producing tensor t that may absorb `user`, the only live reader of t: t is
// not a network output and the constraints are mergeable (a VERBOSE note says when only they
// stop the fusion). Returns its layer index, else -1.
int fusionHost(const ir::Network& net, const Consumers& cons, int t, int user);

// Output channels of a conv/matmul (conv: kernel dim 0; matmul: last output dim), or -1.
int64_t outputChannels(const ir::Network& net, const ir::Layer& l);
// The axis of the host's output that holds channels: 1 for conv, the last one for matmul.
int64_t channelAxis(const ir::Network& net, const ir::Layer& l);

// A float constant that broadcasts over the host's output as one value per channel: every dim
// is 1 except, optionally, the channel axis which equals `channels`; its rank is at most the
// output rank so the broadcast never grows the output. Returns `channels` values, else nullopt.
std::optional<std::vector<float>> perChannel(const HostTensor& c, int64_t outRank, int64_t chAxis,
                                             int64_t channels);

// y = scale[c] * host(x) + shift[c] folded into the host's "kernel" (scale; needs a float
// kernel) and "bias" (created when absent). With scale empty only the bias changes.
bool foldAffine(ir::Layer& host, const std::vector<float>& scale, const std::vector<float>& shift);

// ELEMENTWISE layer `user` = op(conv/matmul output, per-channel constant) folded into the host:
// SUM, SUB (constant second) always; PROD, DIV (constant second) when `allowScale`. The host
// must have no activation, and no residual for a scale. `pass` names the caller in the note.
bool foldElementwiseConstant(ir::Network& net, const Consumers& cons, int user, bool allowScale,
                             const char* pass);

// `host` takes over `victim`'s single output tensor, ONNX nodes and constraints (the set
// precision, the victim's output types); `victim` is marked dead.
void absorb(ir::Network& net, int host, int victim);

// Every live layer reading `from` reads `to` instead.
void replaceUses(ir::Network& net, int from, int to);

// Whether tensor t is computed (transitively) from layer `layer`'s outputs.
bool dependsOnLayer(const ir::Network& net, int t, int layer);

}  // namespace clrt::passes::detail
