// Errors found by kernels while a network runs (an out-of-range Gather index, an integer
// division by zero): a small device record that the first failing work-item fills and the
// execution context reads after the run, raising an error that names the layer.
#pragma once

#include <cstdint>
#include <string>

#include "clrt/ir/limits.h"

namespace clrt::tactics {

// Layout of the record, in int32 slots (kernels write it with atomic_cmpxchg on kTag, so the
// first error of a run wins; the .cl files use the same slots).
enum RunErrorSlot { kTag = 0, kKind = 1, kValueLo = 2, kValueHi = 3, kExtra = 4, kSlots = 8 };
// kKind values.
enum RunErrorKind { kGatherIndex = 1, kIntDivByZero = 2, kRoiBatchIndex = 3, kRoiGrid = 4 };

// The layer tag a kernel writes: layer index + 1 (0 means no error).
inline int32_t runErrorTag(int layer) { return layer + 1; }

// The message for a filled record, or "" when the record holds no error.
inline std::string describeRunError(const int32_t* rec, const std::string& layerName) {
  if (rec[kTag] == 0) return "";
  const int64_t value = static_cast<int64_t>(
      (static_cast<uint64_t>(uint32_t(rec[kValueHi])) << 32) | uint32_t(rec[kValueLo]));
  const std::string where = "layer '" + layerName + "'";
  switch (rec[kKind]) {
    case kGatherIndex:
      // GATHER and SCATTER layers alike.
      return where + ": index " + std::to_string(value) + " is out of range for an axis of size " +
             std::to_string(rec[kExtra]) + " (valid: -" + std::to_string(rec[kExtra]) + " to " +
             std::to_string(rec[kExtra] - 1) + ")";
    case kIntDivByZero:
      return "ELEMENTWISE " + where + ": integer division by zero";
    case kRoiBatchIndex:
      return "ROI_ALIGN " + where + ": batch index " + std::to_string(value) +
             " is out of range for an input of batch " + std::to_string(rec[kExtra]) +
             " (valid: 0 to " + std::to_string(rec[kExtra] - 1) + ")";
    case kRoiGrid:
      // value: the roi; extra: the grid side it asked for (capped at int32).
      return "ROI_ALIGN " + where + ": roi " + std::to_string(value) +
             " needs an adaptive sampling grid of " + std::to_string(rec[kExtra]) +
             " samples per bin side (ceil(roi size / output size)); clrt takes at most " +
             std::to_string(ir::kMaxRoiGrid);
    default:
      return where + ": the device reported error kind " + std::to_string(rec[kKind]);
  }
}

}  // namespace clrt::tactics
