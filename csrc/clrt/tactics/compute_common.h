// Helpers shared by the convolution, matmul and pooling tactics: the fused epilogue, 2-D window
// geometry (1-D layers as H=1, auto_pad resolved per run), launch sizes and CLBlast status checks.
#pragma once

#include <clblast.h>

#include <algorithm>
#include <climits>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "clrt/tactics/tactic.h"

namespace clrt::tactics {

// act/act_alpha/act_beta of a fused layer. `act` is the ACT code of conv.cl/gemm.cl (the same
// numbering as pointwise.cl's activations).
struct Epilogue {
  int act = 0;
  float alpha = 0.0f, beta = 0.0f;
  // Build options of the program: one program per file and activation, never per shape.
  std::string options() const { return "-DACT=" + std::to_string(act); }
};

// The epilogue of `a`, with ONNX's parameter defaults; nullopt for an activation the kernels
// do not implement.
inline std::optional<Epilogue> readEpilogue(const ir::Attrs& a) {
  static const std::map<std::string, int> codes = {
      {"", 0},         {"RELU", 1}, {"LEAKY_RELU", 2},   {"CLIP", 3},
      {"SIGMOID", 4},  {"TANH", 5}, {"HARD_SIGMOID", 6}, {"HARD_SWISH", 7},
      {"GELU_ERF", 8}, {"ELU", 9},  {"SOFTPLUS", 10},    {"GELU_TANH", 11}};
  const std::string type = a.s("act", "");
  auto it = codes.find(type);
  if (it == codes.end()) return std::nullopt;
  const double inf = std::numeric_limits<float>::infinity();
  double alpha = 0, beta = 0;
  if (type == "LEAKY_RELU") alpha = 0.01;
  if (type == "ELU") alpha = 1.0;
  if (type == "CLIP") alpha = -inf, beta = inf;
  if (type == "HARD_SIGMOID") alpha = 0.2, beta = 0.5;
  if (type == "HARD_SWISH") alpha = 1.0 / 6.0, beta = 0.5;
  Epilogue e;
  e.act = it->second;
  e.alpha = static_cast<float>(a.f("act_alpha", alpha));
  e.beta = static_cast<float>(a.f("act_beta", beta));
  return e;
}

// A 2-D window (kernel taps, strides, dilations, explicit pads, auto_pad). 1-D layers read as
// H=1: one-element lists apply to W and two-element pads are {begin, end} of W.
struct Window2d {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pads[4] = {0, 0, 0, 0};  // top, left, bottom, right
  std::string auto_pad = "NOTSET";
};

struct Pads {
  int64_t t = 0, l = 0, b = 0, r = 0;
};

// {h, w} from an attribute list of length 0 (def), 1 (1-D: {1 or def, v}) or 2.
inline bool readPair(const ir::Attrs& a, const std::string& key, int64_t def, int64_t* h,
                     int64_t* w) {
  const std::vector<int64_t> v = a.ints(key);
  if (v.empty()) {
    *h = def, *w = def;
  } else if (v.size() == 1) {
    *h = 1, *w = v[0];
  } else if (v.size() == 2) {
    *h = v[0], *w = v[1];
  } else {
    return false;
  }
  return true;
}

// Strides, dilations, pads and auto_pad of `a` (taps set by the caller); false when the lists
// have ranks other than 1-D/2-D or hold non-positive strides/dilations or negative pads.
inline bool readWindow(const ir::Attrs& a, Window2d* w) {
  if (!readPair(a, "strides", 1, &w->sh, &w->sw) || !readPair(a, "dilations", 1, &w->dh, &w->dw))
    return false;
  const std::vector<int64_t> p = a.ints("pads");
  if (p.size() == 2) {
    w->pads[1] = p[0], w->pads[3] = p[1];
  } else if (p.size() == 4) {
    std::copy(p.begin(), p.end(), w->pads);
  } else if (!p.empty()) {
    return false;
  }
  w->auto_pad = a.s("auto_pad", "NOTSET");
  if (w->auto_pad.empty()) w->auto_pad = "NOTSET";
  if (w->auto_pad != "NOTSET" && w->auto_pad != "SAME_UPPER" && w->auto_pad != "SAME_LOWER" &&
      w->auto_pad != "VALID")
    return false;
  for (int64_t v : w->pads)
    if (v < 0) return false;
  return w->sh > 0 && w->sw > 0 && w->dh > 0 && w->dw > 0 && w->kh > 0 && w->kw > 0;
}

// Pads for one run: explicit ones, or SAME_* computed from the runtime input and output sizes.
inline Pads resolvePads(const Window2d& w, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  if (w.auto_pad == "VALID") return {};
  if (w.auto_pad == "NOTSET") return {w.pads[0], w.pads[1], w.pads[2], w.pads[3]};
  auto total = [](int64_t in, int64_t out, int64_t s, int64_t k, int64_t d) {
    return std::max<int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in);
  };
  const int64_t th = total(H, OH, w.sh, w.kh, w.dh), tw = total(W, OW, w.sw, w.kw, w.dw);
  const bool upper = w.auto_pad == "SAME_UPPER";  // the extra pad goes at the end
  Pads p;
  p.t = upper ? th / 2 : th - th / 2;
  p.l = upper ? tw / 2 : tw - tw / 2;
  p.b = th - p.t;
  p.r = tw - p.l;
  return p;
}

// {H, W} of an [N, C, H, W] or [N, C, W] tensor.
inline std::pair<int64_t, int64_t> spatialHW(const Dims& d) {
  if (d.size() == 4) return {d[2], d[3]};
  if (d.size() == 3) return {1, d[2]};
  return {-1, -1};
}

// A dimension or element count as a kernel int; refuses what 32-bit indexing cannot reach.
inline cl_int kint(int64_t v, const std::string& layer) {
  CLRT_CHECK(v >= 0 && v < INT_MAX, kUnsupported, "layer '", layer, "': size ", v,
             " exceeds the 2^31-1 the OpenCL kernels index");
  return static_cast<cl_int>(v);
}

// The bytes of a device buffer (to check a workspace before writing into it).
inline size_t bufferBytes(cl_mem m) {
  size_t n = 0;
  if (m) ocl::check(clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof n, &n, nullptr), "CL_MEM_SIZE");
  return n;
}

// Runs one CLBlast call under a process-wide lock: CLBlast's kernel database and program caches
// are shared by every thread, and two builds timing GEMMs at once corrupted them (ASan: heap
// use-after-free inside CLBlast). The calls only enqueue, so the lock is held briefly.
inline std::mutex& blasMutex() {
  static std::mutex mu;
  return mu;
}
template <typename Call>
void callBlas(const std::string& layer, const char* routine, Call&& call) {
  clblast::StatusCode s;
  {
    std::lock_guard<std::mutex> lock(blasMutex());
    s = call();
  }
  CLRT_CHECK(s == clblast::StatusCode::kSuccess, kDevice, "layer '", layer, "': CLBlast ", routine,
             " failed with status ", static_cast<int>(s));
}

inline bool isFloat(const ir::TensorInfo& t) { return t.dtype == DataType::kFLOAT; }

inline void requireFloat(const DeviceTensor& t, const std::string& layer, const char* what) {
  CLRT_CHECK(t.dtype == DataType::kFLOAT, kUnsupported, "layer '", layer, "': ", what, " is ",
             dtypeName(t.dtype), "; this tactic runs FLOAT only");
  CLRT_CHECK(t.buf != nullptr, kRuntime, "layer '", layer, "': ", what, " has no device buffer");
}

// ---- Float storage under the precision contract (ir/network.h) ----
// The storage of a layer's float activations: HALF for an FP16 layer (half storage, float
// arithmetic), FLOAT for an FP32 one; nullopt for a precision these kernels do not run (INT8).
inline std::optional<DataType> floatStorage(const ir::Layer& l) {
  const DataType p = layerPrecision(l);
  if (p == DataType::kFLOAT || p == DataType::kHALF) return p;
  return std::nullopt;
}

// Whether input i is stored as `st`: the builder's in_dtypes when set, else the tensor's dtype.
inline bool storedAs(const ir::Layer& l, const std::vector<ir::TensorInfo>& in, size_t i,
                     DataType st) {
  return i < in.size() && inputDtype(l, i, in[i].dtype) == st;
}

// The build option of a .cl file's half-storage variant ("" keeps the FP32 program).
inline std::string storageOption(DataType st) {
  return st == DataType::kHALF ? " -DSTORAGE_HALF" : "";
}

inline void requireStorage(const DeviceTensor& t, DataType st, const std::string& layer,
                           const char* what) {
  CLRT_CHECK(t.dtype == st, kUnsupported, "layer '", layer, "': ", what, " is ", dtypeName(t.dtype),
             "; this tactic was built for ", dtypeName(st), " storage");
  CLRT_CHECK(t.buf != nullptr, kRuntime, "layer '", layer, "': ", what, " has no device buffer");
}

}  // namespace clrt::tactics
