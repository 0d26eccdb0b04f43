// Attention's bias builders (importers/attention_bias.cc) for the Attention importer: each
// returns the tensor id of an additive bias, 0 where a key is attended and -inf where not.
#pragma once

#include <limits>

#include "clrt/onnx/importer.h"

namespace clrt::onnx::attention {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// v, or kUnsupported naming `what` when it is dynamic (-1).
int64_t staticDim(int64_t v, const char* what);
// A BOOL tensor ("attend") as a bias.
int boolToBias(ImportContext& c, int cond);
// The causal / window frontier for static lengths, [Sq, T], offset the past length; sets
// `anyEmpty` when a query row allows no key.
HostTensor frontierBias(int64_t Sq, int64_t T, int64_t offset, bool causal, int64_t left,
                        int64_t right, bool& anyEmpty);
// The same built on the device from the run-time lengths of q and k ([B, H, S, d]; input 4 the
// past keys); with `nonpad`, [B, 1, Sq, T] from input 6 (nonpad_kv_seqlen): per-batch offsets
// and padding keys masked.
int runtimeFrontierBias(ImportContext& c, int q, int k, bool causal, int64_t left, int64_t right,
                        bool nonpad);
// Input 3 (attn_mask) as a bias, padded with -inf up to T keys; `rank` its rank.
int maskBias(ImportContext& c, int64_t T, int& rank);

}  // namespace clrt::onnx::attention
