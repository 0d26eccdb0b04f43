// Runtime shape resolution and memory planning, shared by the builder (at profile shapes) and
// the execution context (at the shapes the user set).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "clrt/core/types.h"
#include "clrt/ir/network.h"
#include "clrt/plan/engine_desc.h"

namespace clrt::runtime {

// The engine types live in plan/ (which must not include runtime/).
using plan::Profile;

struct ResolvedShapes {
  std::vector<Dims> dims;                         // per tensor
  std::vector<std::optional<HostTensor>> values;  // per tensor: host-known values
  // Per tensor: the dtype shape inference or host evaluation gives (inputs: their declared one).
  std::vector<DataType> dtypes;
};

// Which layers run on the host: constants, shapes and shape math whose inputs are host-known.
// `net` must be in execution order.
std::vector<uint8_t> placeLayers(const ir::Network& net);

// Walks the layers in order: host layers are evaluated (their values become known), device
// layers get their output dims from shape inference. Throws Error(kValue) naming the layer when
// a shape cannot be resolved, the inputs are inconsistent or the layer's kind gives another
// number of outputs than it has.
// `input_values` holds the values of the shape-tensor inputs (Tensor::is_shape_tensor).
ResolvedShapes resolveShapes(const ir::Network& net, const std::vector<uint8_t>& on_host,
                             const std::map<int, Dims>& input_dims,
                             const std::map<int, HostTensor>& input_values = {});

// Resolves layers [begin, end) again (end past the last layer: to the end) from what `r` holds
// for the tensors before them: after a data-dependent layer ran, with its outputs' actual dims
// set in `r`. Data-dependent layers not yet run get the upper bound of their output dims
// (ir::boundDataDependent).
void resolveFrom(const ir::Network& net, const std::vector<uint8_t>& on_host, ResolvedShapes& r,
                 size_t begin, size_t end = SIZE_MAX);

// Input dims at one corner of profile `p` (0 min, 1 opt, 2 max); inputs the profile does not
// name (or every input, when there are no profiles) keep their declared dims.
std::map<int, Dims> profileInputDims(const ir::Network& net, const std::vector<Profile>& profiles,
                                     size_t p, int corner);

// Values of the shape-tensor inputs at one corner of profile `p` (those the profile names).
std::map<int, HostTensor> profileInputValues(const ir::Network& net,
                                             const std::vector<Profile>& profiles, size_t p,
                                             int corner);

struct MemoryPlan {
  std::vector<int> slot;             // per tensor: the buffer it lives in, -1 when none
  std::vector<uint64_t> slot_bytes;  // per buffer: its size
  uint64_t arena_bytes = 0;          // all buffers together
};

// Activation tensors (outputs of device layers that are not network outputs) get buffers;
// tensors whose lifetimes do not overlap share one (greedy by size: each tensor, largest
// first, goes to the smallest buffer free over its lifetime, or to a new one). Separate
// buffers, not sub-buffers of one arena: NVIDIA's OpenCL adds about 25 us to every launch
// whose arguments are sub-buffers overlapping others (benchmarks/enqueue_cost.cc), which
// starved the GPU of work on models with many small layers.
// A RESHAPE, FLATTEN, SQUEEZE or UNSQUEEZE of one device activation into another shares its
// input's buffer (a view: the copy kernel then has nothing to move).
MemoryPlan planMemory(const ir::Network& net, const std::vector<uint8_t>& on_host,
                      const std::vector<Dims>& dims, uint64_t alignment);

// Where a user-managed context's buffers go in one block of device memory: each of the plan's
// buffers, then the workspace, at offsets rounded up to `alignment`; `total` bytes in all.
struct BlockLayout {
  std::vector<uint64_t> slot_offset;
  uint64_t workspace_offset = 0;
  uint64_t total = 0;
};
BlockLayout blockLayout(const MemoryPlan& plan, uint64_t workspace, uint64_t alignment);

}  // namespace clrt::runtime
