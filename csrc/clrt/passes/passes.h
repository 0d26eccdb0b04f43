// Graph rewrites on ir::Network, one file per pass; the pipeline order lives in pipeline.cc.
#pragma once

#include <vector>

#include "clrt/core/logger.h"
#include "clrt/ir/network.h"

namespace clrt::passes {

// Each pass returns true when it changed the network. Passes keep tensor names of network
// inputs/outputs, append fused ONNX node names to Layer::onnx_nodes, mark removed layers dead
// and never change what the network computes.
bool foldConstants(ir::Network& net);     // host-evaluable layers with known inputs -> CONSTANT
bool foldQdq(ir::Network& net);           // activation Q->DQ pairs -> tensor dynamic ranges; sets
                                          // net.explicit_quantization when Q/DQ layers are seen
bool removeIdentities(ir::Network& net);  // IDENTITY (Dropout, no-op Cast, ...) bypassed
bool foldTransposeIntoMatmul(ir::Network& net);   // last-two-axes TRANSPOSE -> MatMul trans_a/b
bool foldReshapesAroundMatmul(ir::Network& net);  // Reshape [M, K] -> MatMul -> Reshape back
bool fuseAttention(ir::Network& net);     // MatMul [scale] [bias] Softmax [NaN guard] MatMul
bool foldBatchNorm(ir::Network& net);     // conv/matmul followed by a per-channel affine
bool fuseBias(ir::Network& net);          // conv/matmul + constant Add -> bias
bool fuseResidualAdd(ir::Network& net);   // conv/matmul + Add(other tensor) -> residual input
bool fuseActivation(ir::Network& net);    // conv/matmul + activation -> epilogue
bool attentionViews(ir::Network& net);    // ATTENTION reads q/k/v, writes out as strided views
bool removeDeadLayers(ir::Network& net);  // layers whose outputs reach no network output
// Run by the builder first: the network API's loops unrolled and conditionals turned into WHERE
// (lower_control_flow.cc); throws kBuild naming the loop when one cannot be unrolled. Compacts.
bool lowerControlFlow(ir::Network& net);
// Run by the builder before optimize: inputs of boundary-only dtypes (INT16, UINT16, UINT32,
// UINT64, DOUBLE) feed their readers through a CAST to computeDtype.
bool castBoundaryInputs(ir::Network& net);

inline bool isExplicitlyQuantized(const ir::Network& net) { return net.explicit_quantization; }

// What the builder decides for the passes on its device and flags.
struct PassOptions {
  // fuseAttention may run (CLRT_FUSE_ATTENTION=0 / =1 turn it off / on whatever this says).
  bool fuse_attention = true;
};

// The whole pipeline, in order, to a fixed point; calls net.compact() at the end.
void optimize(ir::Network& net, ILogger* logger, const PassOptions& options = {});

// Whether fuseAttention runs now: the running optimize()'s options and CLRT_FUSE_ATTENTION.
bool attentionFusionEnabled();

// The pipeline's passes in their order (tests run them one by one through clrt._clrt._debug).
struct Pass {
  const char* name;
  bool (*run)(ir::Network&);
};
const std::vector<Pass>& pipeline();

}  // namespace clrt::passes
