// Helpers shared by the pointwise, normalization and movement tactics: packed index structs
// passed to kernels by value, broadcast strides, buffer copies, and a function-backed Tactic.
#pragma once

#include <climits>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "clrt/tactics/tactic.h"

namespace clrt::tactics {

constexpr int kMaxKernelRank = 8;

// Same layout as `IndexPack` in the .cl files: the dims of an iteration space and, for up to
// three operands, the element stride of each dim. Only ints, so host and device agree.
struct IndexPack {
  cl_int rank = 1;
  cl_int dims[kMaxKernelRank] = {1, 1, 1, 1, 1, 1, 1, 1};
  cl_int s[3][kMaxKernelRank] = {};
};

// Kernels index with 32-bit ints; larger tensors are refused with a message naming `what`.
inline void checkIndexable(int64_t n, const std::string& what) {
  CLRT_CHECK(n >= 0 && n < INT_MAX, kUnsupported, what, ": ", n,
             " elements exceed the 2^31-1 supported by the OpenCL kernels");
}

// Element strides of `in` read as NumPy-broadcast to `out` (0 on broadcast dims), one per dim
// of `out`.
inline std::vector<int64_t> broadcastStrides(const Dims& in, const Dims& out) {
  std::vector<int64_t> st(out.size(), 0);
  const std::vector<int64_t> own = stridesOf(in);
  const size_t off = out.size() - in.size();
  for (size_t k = 0; k < in.size(); ++k)
    st[off + k] = (in[k] == 1 && out[off + k] != 1) ? 0 : own[k];
  return st;
}

// Element strides, in logical axis order, of a rank 3 or 4 tensor stored channels last: [N, C,
// (H,) W] held as [N, (H,) W, C].
inline std::vector<int64_t> channelsLastStrides(const Dims& d) {
  std::vector<int64_t> s(d.size(), 1);
  const int64_t C = d[1];
  int64_t inner = C;
  for (size_t k = d.size() - 1; k >= 2; --k) {
    s[k] = inner;
    inner *= d[k];
  }
  s[0] = inner;
  return s;
}

// Packs dims + per-operand strides, dropping size-1 dims and merging neighbours that are
// contiguous for every operand so kernels do as few divisions as possible.
inline IndexPack packIndex(const Dims& dims, const std::vector<std::vector<int64_t>>& strides,
                           const std::string& what) {
  const size_t nops = strides.size();
  std::vector<int64_t> d;
  std::vector<std::vector<int64_t>> s(nops);
  for (size_t k = 0; k < dims.size(); ++k) {
    if (dims[k] == 1) continue;
    bool merge = !d.empty();
    for (size_t o = 0; o < nops && merge; ++o) merge = s[o].back() == strides[o][k] * dims[k];
    if (merge) {
      d.back() *= dims[k];
      for (size_t o = 0; o < nops; ++o) s[o].back() = strides[o][k];
    } else {
      d.push_back(dims[k]);
      for (size_t o = 0; o < nops; ++o) s[o].push_back(strides[o][k]);
    }
  }
  CLRT_CHECK(d.size() <= static_cast<size_t>(kMaxKernelRank), kUnsupported, what,
             ": an iteration space of rank ", d.size(), " (after merging contiguous dims) ",
             "exceeds the ", kMaxKernelRank, " supported by the OpenCL kernels");
  IndexPack p;
  if (d.empty()) return p;  // a single element: offset 0 for every operand
  p.rank = static_cast<cl_int>(d.size());
  for (size_t k = 0; k < d.size(); ++k) {
    checkIndexable(d[k], what);
    p.dims[k] = static_cast<cl_int>(d[k]);
    for (size_t o = 0; o < nops; ++o) p.s[o][k] = static_cast<cl_int>(s[o][k]);
  }
  return p;
}

// Whether two buffers name the same memory (the same object, or sub-buffers of one parent at
// the same offset): then a copy between them is a no-op.
inline bool sameMemory(cl_mem a, cl_mem b) {
  if (a == b) return true;
  auto base = [](cl_mem m) {
    cl_mem parent = nullptr;
    size_t off = 0;
    clGetMemObjectInfo(m, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent, nullptr);
    if (parent) clGetMemObjectInfo(m, CL_MEM_OFFSET, sizeof off, &off, nullptr);
    return std::make_pair(parent ? parent : m, off);
  };
  return base(a) == base(b);
}

// Copies `bytes` from src to dst on the queue (nothing when empty or the same memory).
inline void copyBytes(cl_command_queue q, cl_mem src, size_t srcOff, cl_mem dst, size_t dstOff,
                      size_t bytes) {
  if (bytes == 0 || (srcOff == dstOff && sameMemory(src, dst))) return;
  ocl::check(clEnqueueCopyBuffer(q, src, dst, srcOff, dstOff, bytes, 0, nullptr, nullptr),
             "clEnqueueCopyBuffer");
}

// Kernels of one .cl file created on first use and kept; the program is built (and recorded
// for the engine file) when the cache is made, so enqueue never compiles.
class KernelCache {
 public:
  // `options` picks a program variant (e.g. "-DSTORAGE_HALF"); "" is the default program.
  // The program is kept, not looked up again: an engine's programs come from its file's
  // binaries only while it is being loaded (ocl::ProgramBinaryScope).
  KernelCache(ocl::Device& dev, std::string file, std::string options = "")
      : file_(std::move(file)), prog_(dev.program(file_, options)) {}
  cl_kernel get(const char* name) {
    auto it = k_.find(name);
    if (it != k_.end()) return it->second.get();
    return k_.emplace(name, ocl::KernelHandle(ocl::Device::kernel(prog_, file_, name)))
        .first->second.get();
  }
  // Setting arguments and launching must not interleave between threads sharing a kernel.
  std::mutex& mutex() { return mu_; }

 private:
  std::string file_;
  cl_program prog_;
  std::map<std::string, ocl::KernelHandle> k_;
  std::mutex mu_;
};

// A Tactic made of plain functions, for families of simple kernels.
class FnTactic : public Tactic {
 public:
  using EligibleFn = std::function<bool(const ir::Layer&, const std::vector<ir::TensorInfo>&,
                                        const ocl::DeviceInfo&)>;
  using MakeFn = std::function<std::unique_ptr<Kernel>(const ir::Layer&, ocl::Device&)>;
  FnTactic(std::string name, ir::LayerKind kind, EligibleFn eligible, MakeFn make,
           std::vector<DataType> precisions = {DataType::kFLOAT})
      : name_(std::move(name)),
        kind_(kind),
        eligible_(std::move(eligible)),
        make_(std::move(make)),
        precisions_(std::move(precisions)) {}
  std::string name() const override { return name_; }
  ir::LayerKind kind() const override { return kind_; }
  bool eligible(const ir::Layer& layer, const std::vector<ir::TensorInfo>& inputs,
                const ocl::DeviceInfo& dev) const override {
    return eligible_(layer, inputs, dev);
  }
  std::unique_ptr<Kernel> instantiate(const ir::Layer& layer, ocl::Device& dev) const override {
    return make_(layer, dev);
  }
  std::vector<DataType> precisions() const override { return precisions_; }
  // Tactic::channelsLast, false for every slot unless set.
  using ChannelsLastFn = std::function<bool(const ir::Layer&, int)>;
  void setChannelsLast(ChannelsLastFn fn) { channels_last_ = std::move(fn); }
  bool channelsLast(const ir::Layer& layer, int i) const override {
    return channels_last_ && channels_last_(layer, i);
  }
  // Tactic::quantizesOutput, false unless set.
  void setQuantizesOutput(bool q) { quantizes_output_ = q; }
  bool quantizesOutput() const override { return quantizes_output_; }

 private:
  std::string name_;
  ir::LayerKind kind_;
  EligibleFn eligible_;
  MakeFn make_;
  std::vector<DataType> precisions_;
  ChannelsLastFn channels_last_;
  bool quantizes_output_ = false;
};

}  // namespace clrt::tactics
