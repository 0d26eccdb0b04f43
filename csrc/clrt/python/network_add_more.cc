// More of TensorRT 10's INetworkDefinition.add_* constructors (unary, reduce, slice, gather,
// top-k, select, padding, shape, non-zero) and their typed layer classes, mapped onto the existing
// ir kinds and attrs (ir/network.h): UNARY, REDUCE, SLICE (ONNX starts/ends/steps), GATHER, TOPK,
// WHERE, PADDING, SHAPE and NON_ZERO. What the ir cannot express raises UnsupportedError naming it.
#include <algorithm>
#include <limits>
#include <numeric>

#include "clrt/python/bindings.h"

namespace clrt::python {

// TensorRT 10's enums (values as TensorRT's).
enum class UnaryOperation : int32_t {
  kEXP = 0,
  kLOG,
  kSQRT,
  kRECIP,
  kABS,
  kNEG,
  kSIN,
  kCOS,
  kTAN,
  kSINH,
  kCOSH,
  kASIN,
  kACOS,
  kATAN,
  kASINH,
  kACOSH,
  kATANH,
  kCEIL,
  kFLOOR,
  kERF,
  kNOT,
  kSIGN,
  kROUND,
  kISINF,
  kISNAN,
};
enum class ReduceOperation : int32_t { kSUM = 0, kPROD, kMAX, kMIN, kAVG };
enum class TopKOperation : int32_t { kMAX = 0, kMIN };
enum class GatherMode : int32_t { kDEFAULT = 0, kELEMENT, kND };

namespace {

using K = ir::LayerKind;

// TensorRT name and ir "op" attr of each unary operation (the same words; ROUND is half to even
// in both).
constexpr const char* kUnaryNames[] = {"EXP",   "LOG",   "SQRT",  "RECIP", "ABS",   "NEG",  "SIN",
                                       "COS",   "TAN",   "SINH",  "COSH",  "ASIN",  "ACOS", "ATAN",
                                       "ASINH", "ACOSH", "ATANH", "CEIL",  "FLOOR", "ERF",  "NOT",
                                       "SIGN",  "ROUND", "ISINF", "ISNAN"};
constexpr int kNumUnary = sizeof(kUnaryNames) / sizeof(kUnaryNames[0]);

std::string unaryAttr(UnaryOperation op) {
  const int v = static_cast<int>(op);
  CLRT_CHECK(v >= 0 && v < kNumUnary, kValue, "unknown UnaryOperation ", v);
  return kUnaryNames[v];
}

// The input types clrt's unary kernels take (as TensorRT: NOT on BOOL; ABS, NEG and SIGN also on
// INT32/INT64; the rest on FLOAT/HALF); ValueError naming the op and the tensor otherwise.
void checkUnaryInput(const std::string& what, const std::string& op, const ir::Tensor& x) {
  const DataType t = x.dtype;
  const bool isFloat = t == DataType::kFLOAT || t == DataType::kHALF;
  const bool isInt = t == DataType::kINT32 || t == DataType::kINT64;
  if (op == "NOT") {
    CLRT_CHECK(t == DataType::kBOOL, kValue, what, ": UnaryOperation.NOT needs a BOOL input; '",
               x.name, "' is ", dtypeName(t));
  } else if (op == "ABS" || op == "NEG" || op == "SIGN") {
    CLRT_CHECK(isFloat || isInt, kValue, what, ": UnaryOperation.", op,
               " needs a FLOAT, HALF, INT32 or INT64 input; '", x.name, "' is ", dtypeName(t));
  } else {
    CLRT_CHECK(isFloat, kValue, what, ": UnaryOperation.", op, " needs a FLOAT or HALF input; '",
               x.name, "' is ", dtypeName(t));
  }
}

UnaryOperation unaryFromAttr(const ir::Layer& l) {
  const std::string s = l.attrs.s("op");
  for (int i = 0; i < kNumUnary; ++i)
    if (s == kUnaryNames[i]) return static_cast<UnaryOperation>(i);
  fail(ErrorKind::kUnsupported,
       str("layer '", l.name, "': unary op '", s, "' has no TensorRT UnaryOperation"));
}

constexpr const char* kReduceTrt[] = {"SUM", "PROD", "MAX", "MIN", "AVG"};
constexpr const char* kReduceAttr[] = {"SUM", "PROD", "MAX", "MIN", "MEAN"};

std::string reduceAttr(ReduceOperation op) {
  const int v = static_cast<int>(op);
  CLRT_CHECK(v >= 0 && v < 5, kValue, "unknown ReduceOperation ", v);
  return kReduceAttr[v];
}

ReduceOperation reduceFromAttr(const ir::Layer& l) {
  const std::string s = l.attrs.s("op");
  for (int i = 0; i < 5; ++i)
    if (s == kReduceAttr[i]) return static_cast<ReduceOperation>(i);
  fail(ErrorKind::kUnsupported,
       str("layer '", l.name, "': reduce op '", s, "' has no TensorRT ReduceOperation"));
}

int64_t rankOf(const NetPtr& s, int t) {
  return static_cast<int64_t>(s->net->tensors[t].dims.size());
}

// A TensorRT axes bit mask as axis indices; ValueError naming `what` for no bit or a negative
// mask, bits beyond the rank, or (oneBit) more than one bit.
std::vector<int64_t> axesFromBits(int64_t bits, int64_t rank, const std::string& what,
                                  bool oneBit) {
  CLRT_CHECK(bits > 0, kValue, what, ": axes bit mask must have at least one bit set, got ", bits);
  CLRT_CHECK(rank >= 0 && rank < 63 && (bits >> rank) == 0, kValue, what, ": axes bit mask ", bits,
             " names an axis beyond the input rank ", rank);
  std::vector<int64_t> axes;
  for (int64_t a = 0; a < rank; ++a)
    if ((bits >> a) & 1) axes.push_back(a);
  CLRT_CHECK(!oneBit || axes.size() == 1, kValue, what,
             ": axes bit mask must have exactly one bit set, got ", bits);
  return axes;
}

int64_t bitsOf(const std::vector<int64_t>& axes, int64_t rank) {
  int64_t bits = 0;
  for (int64_t a : axes) bits |= int64_t{1} << (a < 0 ? a + rank : a);
  return bits;
}

std::string layerWhat(const LayerHandle& h, const char* prop) {
  return str("layer '", h.get().name, "' ", prop);
}

// --- Slice: TensorRT's (start, shape, stride) as ONNX (starts, ends, steps) over every axis ---

constexpr int64_t kEndBelowZero = std::numeric_limits<int64_t>::min() / 2;

// The ONNX end of a TensorRT slice: one past the last element in the stride's direction. A
// negative stride ending at element 0 needs an end before 0, which ONNX spells very negative.
int64_t sliceEnd(int64_t start, int64_t n, int64_t stride) {
  if (n == 0) return start;
  const int64_t last = start + (n - 1) * stride;
  if (stride > 0) return last + 1;
  return last - 1 < 0 ? kEndBelowZero : last - 1;
}

// Checks STRICT_BOUNDS against the input's known dims and sets starts/ends/axes/steps.
void setSlice(const std::string& what, const Dims& x, const Dims& start, const Dims& shape,
              const Dims& stride, ir::Layer& l) {
  const size_t r = x.size();
  CLRT_CHECK(start.size() == r && shape.size() == r && stride.size() == r, kValue, what, ": start ",
             dimsToString(start), ", shape ", dimsToString(shape), " and stride ",
             dimsToString(stride), " must each have the input's rank ", r, " (input dims ",
             dimsToString(x), ")");
  std::vector<int64_t> ends(r), axes(r);
  for (size_t i = 0; i < r; ++i) {
    CLRT_CHECK(shape[i] >= 0, kValue, what, ": shape ", dimsToString(shape),
               " must be >= 0 (a dynamic shape needs set_input, which clrt does not support)");
    CLRT_CHECK(stride[i] != 0, kUnsupported, what, ": stride 0 (broadcasting) on axis ", i,
               " is not supported by clrt's slice");
    CLRT_CHECK(start[i] >= 0, kValue, what, ": start ", dimsToString(start),
               " is negative on axis ", i, " (SampleMode.STRICT_BOUNDS)");
    if (x[i] >= 0 && shape[i] > 0) {
      const int64_t last = start[i] + (shape[i] - 1) * stride[i];
      CLRT_CHECK(start[i] < x[i] && last >= 0 && last < x[i], kValue, what, ": axis ", i,
                 " reads elements ", start[i], " to ", last, " of ", x[i],
                 " (SampleMode.STRICT_BOUNDS needs them in range); input dims ", dimsToString(x));
    }
    ends[i] = sliceEnd(start[i], shape[i], stride[i]);
    axes[i] = static_cast<int64_t>(i);
  }
  l.attrs.set("starts", std::vector<int64_t>(start.begin(), start.end()));
  l.attrs.set("ends", ends);
  l.attrs.set("axes", axes);
  l.attrs.set("steps", std::vector<int64_t>(stride.begin(), stride.end()));
}

struct SliceView {
  Dims start, shape, stride;
};

// The layer's slice in TensorRT's terms (from the attrs; also for ONNX-made slices whose
// parameters are constants).
SliceView sliceOf(const LayerHandle& h) {
  const ir::Layer& l = h.get();
  if (l.kind == K::kEXPAND) {  // a broadcast: stride 0 where a dim of 1 grows
    const Dims& x = h.net().tensors[l.inputs[0]].dims;
    const Dims& y = h.net().tensors[l.outputs[0]].dims;
    CLRT_CHECK(x.size() == y.size(), kUnsupported, "layer '", l.name,
               "': an expand that adds dims is not a TensorRT slice");
    SliceView v{Dims(x.size(), 0), y, Dims(x.size(), 1)};
    for (size_t i = 0; i < x.size(); ++i)
      if (x[i] == 1 && y[i] != 1) v.stride[i] = 0;
    return v;
  }
  for (size_t i = 1; i < l.inputs.size(); ++i)
    CLRT_CHECK(l.inputs[i] < 0, kUnsupported, "layer '", l.name,
               "': its slice parameters are tensors, which ISliceLayer cannot read back");
  const Dims& x = h.net().tensors[l.inputs[0]].dims;
  const int64_t r = static_cast<int64_t>(x.size());
  SliceView v{Dims(r, 0), h.net().tensors[l.outputs[0]].dims, Dims(r, 1)};
  const auto starts = l.attrs.ints("starts"), steps = l.attrs.ints("steps");
  auto axes = l.attrs.ints("axes");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
    if (a < 0 || a >= r) continue;
    const int64_t st = i < steps.size() ? steps[i] : 1;
    int64_t s = i < starts.size() ? starts[i] : 0;
    if (x[a] >= 0) {
      if (s < 0) s += x[a];
      s = st > 0 ? std::clamp<int64_t>(s, 0, x[a]) : std::clamp<int64_t>(s, 0, x[a] - 1);
    }
    v.start[a] = s;
    v.stride[a] = st;
  }
  return v;
}

void editSlice(const SliceLayer& h, const SliceView& v) {
  const ir::Layer& l = h.get();
  CLRT_CHECK(l.kind == K::kSLICE, kUnsupported, "layer '", l.name,
             "': a broadcasting slice (stride 0) cannot be edited; add a new slice instead");
  const Dims x = h.net().tensors[l.inputs[0]].dims;
  ir::Layer probe;
  setSlice(str("layer '", l.name, "'"), x, v.start, v.shape, v.stride, probe);
  edit(h, [&](ir::Layer& layer) {
    layer.attrs.set("starts", probe.attrs.ints("starts"));
    layer.attrs.set("ends", probe.attrs.ints("ends"));
    layer.attrs.set("axes", probe.attrs.ints("axes"));
    layer.attrs.set("steps", probe.attrs.ints("steps"));
  });
}

// A slice with stride 0 (TensorRT's broadcast, as torch2trt's expand makes it): stride 0 on dims
// of 1 starting at 0, every other dim read whole (start 0, stride 1). An INT64 constant holding
// the shape and an EXPAND layer; other stride-0 slices raise UnsupportedError.
py::object addBroadcastSlice(const NetPtr& s, int x, const Dims& start, const Dims& shape,
                             const Dims& stride) {
  const Dims xd = s->net->tensors[x].dims;
  const size_t r = xd.size();
  CLRT_CHECK(start.size() == r && shape.size() == r && stride.size() == r, kValue,
             "add_slice: start ", dimsToString(start), ", shape ", dimsToString(shape),
             " and stride ", dimsToString(stride), " must each have the input's rank ", r,
             " (input dims ", dimsToString(xd), ")");
  for (size_t i = 0; i < r; ++i) {
    const bool broadcast = stride[i] == 0 && xd[i] == 1 && start[i] == 0 && shape[i] >= 0;
    const bool whole = stride[i] == 1 && start[i] == 0 && xd[i] >= 0 && shape[i] == xd[i];
    CLRT_CHECK(broadcast || whole, kUnsupported,
               "add_slice: stride 0 is supported as a "
               "broadcast only (stride 0 on dims of 1 with start 0, the other dims whole: start 0, "
               "stride 1, shape = the input dim); axis ",
               i, " has start ", start[i], ", shape ", shape[i], ", stride ", stride[i],
               " on input dims ", dimsToString(xd));
  }
  std::vector<int64_t> dims(shape.begin(), shape.end());
  HostTensor v = HostTensor::fromInt64({static_cast<int64_t>(r)}, dims);
  int cid;
  ir::Layer& c = newLayer(s, K::kCONSTANT, "Constant", {}, &cid);
  c.weights["value"] = std::move(v);
  commitNewLayer(*s->net, cid);
  const int shapeT = s->net->layers[cid].outputs[0];
  int id;  // cannot fail: every dim is kept or grows from 1 (checked above)
  newLayer(s, K::kEXPAND, "Slice", {x, shapeT}, &id);
  return finish(s, id);
}

// --- Padding: TensorRT pads the innermost len(pre_padding) dims ---

// The padded dims as TensorRT reports them: the innermost ones from the outermost dim with a
// nonzero pad, and at least the two innermost (the ir keeps pads of every dim, not how many were
// given).
Dims padsPart(const PaddingLayer& h, bool post) {
  const auto pads = h.get().attrs.ints("pads");
  const int64_t r = static_cast<int64_t>(pads.size() / 2);
  int64_t first = 0;
  while (first < r && pads[first] == 0 && pads[r + first] == 0) ++first;
  const int64_t n = std::max(std::min<int64_t>(2, r), r - first);
  const size_t from = (post ? r : 0) + (r - n);
  return Dims(pads.begin() + from, pads.begin() + from + n);
}

void setPadsAttr(const std::string& what, int64_t rank, const Dims& pre, const Dims& post,
                 ir::Layer& l) {
  CLRT_CHECK(pre.size() == post.size(), kValue, what, ": pre_padding ", dimsToString(pre),
             " and post_padding ", dimsToString(post), " must have the same length");
  CLRT_CHECK(static_cast<int64_t>(pre.size()) <= rank && !pre.empty(), kValue, what, ": pads ",
             pre.size(), " innermost dims, the input has rank ", rank);
  std::vector<int64_t> pads(2 * rank, 0);
  const size_t off = rank - pre.size();
  for (size_t i = 0; i < pre.size(); ++i) {
    pads[off + i] = pre[i];
    pads[rank + off + i] = post[i];
  }
  l.attrs.set("pads", pads);
  l.attrs.set("mode", "constant");
  l.attrs.set("value", 0.0);
}

// --- Gather ---

GatherMode gatherModeOf(const ir::Layer& l) {
  const std::string m = l.attrs.s("mode", "DEFAULT");
  if (m == "ELEMENT") return GatherMode::kELEMENT;
  if (m == "ND") return GatherMode::kND;
  return GatherMode::kDEFAULT;
}

void setGatherMode(const std::string& what, GatherMode mode, int64_t nbElementwise, ir::Layer& l) {
  CLRT_CHECK(nbElementwise >= 0, kValue, what, ": num_elementwise_dims must be >= 0, got ",
             nbElementwise);
  switch (mode) {
    case GatherMode::kDEFAULT:
      CLRT_CHECK(nbElementwise == 0, kUnsupported, what,
                 ": GatherMode.DEFAULT with num_elementwise_dims 1 is not supported by clrt "
                 "(only 0)");
      l.attrs.set("mode", "DEFAULT");
      l.attrs.erase("batch_dims");
      break;
    case GatherMode::kELEMENT:
      CLRT_CHECK(nbElementwise == 0, kValue, what,
                 ": GatherMode.ELEMENT needs num_elementwise_dims 0, got ", nbElementwise);
      l.attrs.set("mode", "ELEMENT");
      l.attrs.erase("batch_dims");
      break;
    case GatherMode::kND:
      l.attrs.set("mode", "ND");
      l.attrs.set("batch_dims", nbElementwise);
      break;
    default:
      fail(ErrorKind::kValue, str(what, ": unknown GatherMode ", static_cast<int>(mode)));
  }
}

void checkIndices(const NetPtr& s, int idx, const char* what) {
  const DataType t = s->net->tensors[idx].dtype;
  CLRT_CHECK(t == DataType::kINT32 || t == DataType::kINT64, kValue, what, ": indices '",
             s->net->tensors[idx].name, "' must be INT32 or INT64, got ", dtypeName(t));
}

py::object addGather(const NetPtr& s, const TensorHandle& input, const TensorHandle& indices,
                     int64_t axis, GatherMode mode, const char* what) {
  const int x = tensorIn(s, input, what), idx = tensorIn(s, indices, what);
  checkIndices(s, idx, what);
  const int64_t r = rankOf(s, x);
  CLRT_CHECK(r >= 1, kValue, what, ": cannot gather from a scalar input '", s->net->tensors[x].name,
             "'");
  CLRT_CHECK(axis >= 0 && axis < r, kValue, what, ": axis ", axis, " is out of range for input '",
             s->net->tensors[x].name, "' of rank ", r);
  ir::Layer probe;
  setGatherMode(what, mode, 0, probe);
  int id;
  ir::Layer& l = newLayer(s, K::kGATHER, "Gather", {x, idx}, &id);
  l.attrs = probe.attrs;
  l.attrs.set("axis", axis);
  return finish(s, id);
}

// --- Top-k ---

void checkTopK(const std::string& what, int64_t k, int64_t dim) {
  CLRT_CHECK(k >= 1, kValue, what, ": k must be >= 1, got ", k);
  CLRT_CHECK(dim < 0 || k <= dim, kValue, what, ": k = ", k, " exceeds the reduced axis of size ",
             dim);
}

void bindClasses(py::module_& m) {
  py::enum_<UnaryOperation> un(m, "UnaryOperation", "Unary operations (IUnaryLayer.op).");
  for (int i = 0; i < kNumUnary; ++i) un.value(kUnaryNames[i], static_cast<UnaryOperation>(i));
  py::enum_<ReduceOperation> red(m, "ReduceOperation");
  for (int i = 0; i < 5; ++i) red.value(kReduceTrt[i], static_cast<ReduceOperation>(i));
  py::enum_<TopKOperation>(m, "TopKOperation")
      .value("MAX", TopKOperation::kMAX)
      .value("MIN", TopKOperation::kMIN);
  py::enum_<GatherMode>(m, "GatherMode")
      .value("DEFAULT", GatherMode::kDEFAULT)
      .value("ELEMENT", GatherMode::kELEMENT)
      .value("ND", GatherMode::kND);
  py::enum_<SampleMode>(m, "SampleMode",
                        "Slice sampling (clrt: STRICT_BOUNDS only) and grid sampling (FILL, CLAMP, "
                        "REFLECT); others raise clrt.UnsupportedError when set.")
      .value("STRICT_BOUNDS", SampleMode::kSTRICT_BOUNDS)
      .value("WRAP", SampleMode::kWRAP)
      .value("CLAMP", SampleMode::kCLAMP)
      .value("FILL", SampleMode::kFILL)
      .value("REFLECT", SampleMode::kREFLECT);

  py::class_<UnaryLayer, LayerHandle>(m, "IUnaryLayer")
      .def_property(
          "op", [](const UnaryLayer& h) { return unaryFromAttr(h.get()); },
          [](const UnaryLayer& h, UnaryOperation op) {
            const std::string a = unaryAttr(op);
            checkUnaryInput(layerWhat(h, "op"), a, h.net().tensors[h.get().inputs[0]]);
            edit(h, [&](ir::Layer& l) { l.attrs.set("op", a); });
          });

  py::class_<ReduceLayer, LayerHandle>(m, "IReduceLayer")
      .def_property(
          "op", [](const ReduceLayer& h) { return reduceFromAttr(h.get()); },
          [](const ReduceLayer& h, ReduceOperation op) {
            const std::string a = reduceAttr(op);
            edit(h, [&](ir::Layer& l) { l.attrs.set("op", a); });
          })
      .def_property(
          "axes",
          [](const ReduceLayer& h) {
            const ir::Layer& l = h.get();
            CLRT_CHECK(l.inputs.size() < 2 || l.inputs[1] < 0, kUnsupported, layerWhat(h, "axes"),
                       ": the axes are a tensor computed at run time");
            const int64_t r = inputRank(h);
            auto axes = l.attrs.ints("axes");
            if (axes.empty() && l.attrs.i("noop_with_empty_axes", 0)) return int64_t{0};
            if (axes.empty())
              for (int64_t a = 0; a < r; ++a) axes.push_back(a);
            return bitsOf(axes, r);
          },
          [](const ReduceLayer& h, int64_t bits) {
            auto axes = axesFromBits(bits, inputRank(h), layerWhat(h, "axes"), false);
            edit(h, [&](ir::Layer& l) { l.attrs.set("axes", axes); });
          },
          "Bit mask of the reduced axes.")
      .def_property(
          "keep_dims", [](const ReduceLayer& h) { return h.get().attrs.i("keepdims", 1) != 0; },
          [](const ReduceLayer& h, bool k) {
            edit(h, [&](ir::Layer& l) { l.attrs.set("keepdims", k); });
          });

  py::class_<SliceLayer, LayerHandle>(m, "ISliceLayer")
      .def_property(
          "start", [](const SliceLayer& h) { return toTuple(sliceOf(h).start); },
          [](const SliceLayer& h, const py::object& v) {
            SliceView s = sliceOf(h);
            s.start = toDims(v, layerWhat(h, "start"));
            editSlice(h, s);
          })
      .def_property(
          "shape", [](const SliceLayer& h) { return toTuple(sliceOf(h).shape); },
          [](const SliceLayer& h, const py::object& v) {
            SliceView s = sliceOf(h);
            s.shape = toDims(v, layerWhat(h, "shape"));
            editSlice(h, s);
          })
      .def_property(
          "stride", [](const SliceLayer& h) { return toTuple(sliceOf(h).stride); },
          [](const SliceLayer& h, const py::object& v) {
            SliceView s = sliceOf(h);
            s.stride = toDims(v, layerWhat(h, "stride"));
            editSlice(h, s);
          })
      .def_property(
          "mode", [](const SliceLayer&) { return SampleMode::kSTRICT_BOUNDS; },
          [](const SliceLayer& h, SampleMode mode) {
            CLRT_CHECK(mode == SampleMode::kSTRICT_BOUNDS, kUnsupported, layerWhat(h, "mode"),
                       ": clrt's slice supports SampleMode.STRICT_BOUNDS only");
          },
          "SampleMode.STRICT_BOUNDS (the only mode clrt implements).")
      .def(
          "set_input",
          [](const SliceLayer& h, int64_t i, const TensorHandle& t) {
            CLRT_CHECK(i == 0, kUnsupported, layerWhat(h, "set_input"), ": input ", i,
                       " (dynamic start/shape/stride/fill value) is not supported by clrt; give "
                       "them as the start, shape and stride properties");
            const int id = tensorIn(h.state, t, layerWhat(h, "set_input"));
            h.get().inputs[0] = id;
            refreshShapes(h.net(), h.id);
          },
          py::arg("index"), py::arg("tensor"),
          "Replaces the data input (index 0); tensors for start/shape/stride are refused.");

  py::class_<GatherLayer, LayerHandle>(m, "IGatherLayer")
      .def_property(
          "axis", [](const GatherLayer& h) { return h.get().attrs.i("axis", 0); },
          [](const GatherLayer& h, int64_t axis) {
            const int64_t r = inputRank(h);
            CLRT_CHECK(axis >= 0 && (r < 0 || axis < r), kValue, layerWhat(h, "axis"), ": ", axis,
                       " is out of range for rank ", r);
            edit(h, [&](ir::Layer& l) { l.attrs.set("axis", axis); });
          })
      .def_property(
          "mode", [](const GatherLayer& h) { return gatherModeOf(h.get()); },
          [](const GatherLayer& h, GatherMode mode) {
            const int64_t nb =
                mode == GatherMode::kND ? h.get().attrs.i("batch_dims", 0) : int64_t{0};
            ir::Layer probe;
            setGatherMode(layerWhat(h, "mode"), mode, nb, probe);
            edit(h, [&](ir::Layer& l) {
              l.attrs.set("mode", probe.attrs.s("mode"));
              if (probe.attrs.has("batch_dims"))
                l.attrs.set("batch_dims", probe.attrs.i("batch_dims"));
              else
                l.attrs.erase("batch_dims");
            });
          })
      .def_property(
          "num_elementwise_dims",
          [](const GatherLayer& h) { return h.get().attrs.i("batch_dims", 0); },
          [](const GatherLayer& h, int64_t n) {
            ir::Layer probe;
            setGatherMode(layerWhat(h, "num_elementwise_dims"), gatherModeOf(h.get()), n, probe);
            edit(h, [&](ir::Layer& l) {
              if (probe.attrs.has("batch_dims")) l.attrs.set("batch_dims", n);
            });
          },
          "GatherMode.ND: the leading batch dims (ONNX batch_dims); 0 for the other modes.");

  py::class_<TopKLayer, LayerHandle>(m, "ITopKLayer")
      .def_property(
          "op",
          [](const TopKLayer& h) {
            return h.get().attrs.i("largest", 1) ? TopKOperation::kMAX : TopKOperation::kMIN;
          },
          [](const TopKLayer& h, TopKOperation op) {
            edit(h, [&](ir::Layer& l) { l.attrs.set("largest", op == TopKOperation::kMAX); });
          })
      .def_property(
          "k",
          [](const TopKLayer& h) {
            CLRT_CHECK(h.get().attrs.has("k"), kUnsupported, layerWhat(h, "k"),
                       ": k is a tensor computed at run time");
            return h.get().attrs.i("k");
          },
          [](const TopKLayer& h, int64_t k) {
            const ir::Layer& l = h.get();
            const Dims& x = h.net().tensors[l.inputs[0]].dims;
            const int64_t a = l.attrs.i("axis", -1);
            const int64_t ax = a < 0 ? a + static_cast<int64_t>(x.size()) : a;
            checkTopK(layerWhat(h, "k"), k, x.at(ax));
            edit(h, [&](ir::Layer& layer) { layer.attrs.set("k", k); });
          })
      .def_property(
          "axes",
          [](const TopKLayer& h) { return bitsOf({h.get().attrs.i("axis", -1)}, inputRank(h)); },
          [](const TopKLayer& h, int64_t bits) {
            const auto axes = axesFromBits(bits, inputRank(h), layerWhat(h, "axes"), true);
            const ir::Layer& l = h.get();
            checkTopK(layerWhat(h, "axes"), l.attrs.i("k", 1),
                      h.net().tensors[l.inputs[0]].dims[axes[0]]);
            edit(h, [&](ir::Layer& layer) { layer.attrs.set("axis", axes[0]); });
          },
          "Bit mask with one bit: the axis.")
      .def(
          "set_input",
          [](const TopKLayer& h, int64_t i, const TensorHandle& t) {
            const std::string what = layerWhat(h, "set_input");
            CLRT_CHECK(i == 0 || i == 1, kValue, what, ": index ", i,
                       " is out of range (0: the input, 1: k as a tensor)");
            const int id = tensorIn(h.state, t, what);
            if (i == 1) {
              const ir::Tensor& k = h.net().tensors[id];
              CLRT_CHECK((k.dtype == DataType::kINT32 || k.dtype == DataType::kINT64) &&
                             (k.dims.empty() || (k.dims.size() == 1 && k.dims[0] == 1)),
                         kValue, what, ": k '", k.name,
                         "' must be one INT32 or INT64 value (0-D), got ", dtypeName(k.dtype), " ",
                         dimsToString(k.dims));
            }
            edit(h, [&](ir::Layer& l) {
              if (i == 0) {
                l.inputs[0] = id;
                return;
              }
              l.inputs.resize(2);
              l.inputs[1] = id;
              l.attrs.erase("k");  // read at run time (a host-known shape value)
            });
          },
          py::arg("index"), py::arg("tensor"),
          "0 replaces the input; 1 gives k as a tensor (one INT32/INT64 value known on the host, "
          "e.g. a constant or a shape computation), replacing the k property.");

  py::class_<SelectLayer, LayerHandle>(m, "ISelectLayer");

  py::class_<PaddingLayer, LayerHandle>(m, "IPaddingLayer")
      .def_property(
          "pre_padding_nd", [](const PaddingLayer& h) { return toTuple(padsPart(h, false)); },
          [](const PaddingLayer& h, const py::object& v) {
            ir::Layer probe;
            setPadsAttr(layerWhat(h, "pre_padding_nd"), inputRank(h),
                        toDims(v, layerWhat(h, "pre_padding_nd")), padsPart(h, true), probe);
            edit(h, [&](ir::Layer& l) { l.attrs = probe.attrs; });
          })
      .def_property(
          "post_padding_nd", [](const PaddingLayer& h) { return toTuple(padsPart(h, true)); },
          [](const PaddingLayer& h, const py::object& v) {
            ir::Layer probe;
            setPadsAttr(layerWhat(h, "post_padding_nd"), inputRank(h), padsPart(h, false),
                        toDims(v, layerWhat(h, "post_padding_nd")), probe);
            edit(h, [&](ir::Layer& l) { l.attrs = probe.attrs; });
          });

  py::class_<ShapeLayer, LayerHandle>(m, "IShapeLayer");
  py::class_<NonZeroLayer, LayerHandle>(m, "INonZeroLayer");
}

}  // namespace

void bindMoreLayers(py::module_& m) { bindClasses(m); }

void bindMoreAdders(py::class_<NetworkState, NetPtr>& cls) {
  cls.def(
         "add_unary",
         [](const NetPtr& s, const TensorHandle& input, UnaryOperation op) {
           const int x = tensorIn(s, input, "add_unary");
           const std::string a = unaryAttr(op);
           checkUnaryInput("add_unary", a, s->net->tensors[x]);
           int id;
           ir::Layer& l = newLayer(s, K::kUNARY, "Unary", {x}, &id);
           l.attrs.set("op", a);
           return finish(s, id);
         },
         py::arg("input"), py::arg("op"))
      .def(
          "add_reduce",
          [](const NetPtr& s, const TensorHandle& input, ReduceOperation op, int64_t axes,
             bool keepDims) {
            const int x = tensorIn(s, input, "add_reduce");
            const std::string a = reduceAttr(op);
            auto ax = axesFromBits(axes, rankOf(s, x), "add_reduce", false);
            int id;
            ir::Layer& l = newLayer(s, K::kREDUCE, "Reduce", {x}, &id);
            l.attrs.set("op", a);
            l.attrs.set("axes", ax);
            l.attrs.set("keepdims", keepDims);
            return finish(s, id);
          },
          py::arg("input"), py::arg("op"), py::arg("axes"), py::arg("keep_dims"))
      .def(
          "add_slice",
          [](const NetPtr& s, const TensorHandle& input, const py::object& start,
             const py::object& shape, const py::object& stride) {
            const int x = tensorIn(s, input, "add_slice");
            const Dims st = toDims(start, "add_slice start"), sh = toDims(shape, "add_slice shape"),
                       sd = toDims(stride, "add_slice stride");
            if (std::count(sd.begin(), sd.end(), 0) > 0) return addBroadcastSlice(s, x, st, sh, sd);
            ir::Layer probe;
            setSlice("add_slice", s->net->tensors[x].dims, st, sh, sd, probe);
            int id;
            ir::Layer& l = newLayer(s, K::kSLICE, "Slice", {x}, &id);
            l.attrs = probe.attrs;
            return finish(s, id);
          },
          py::arg("input"), py::arg("start"), py::arg("shape"), py::arg("stride"),
          "Slice with SampleMode.STRICT_BOUNDS: static start, shape and stride. Stride 0 is taken "
          "as "
          "a broadcast only (dims of 1 with start 0 grow, the others are read whole; an EXPAND "
          "after an INT64 constant, which cannot be edited afterwards).")
      .def(
          "add_gather",
          [](const NetPtr& s, const TensorHandle& input, const TensorHandle& indices,
             int64_t axis) {
            return addGather(s, input, indices, axis, GatherMode::kDEFAULT, "add_gather");
          },
          py::arg("input"), py::arg("indices"), py::arg("axis"))
      .def(
          "add_gather_v2",
          [](const NetPtr& s, const TensorHandle& input, const TensorHandle& indices,
             GatherMode mode) { return addGather(s, input, indices, 0, mode, "add_gather_v2"); },
          py::arg("input"), py::arg("indices"), py::arg("mode"),
          "Gather of a mode with axis 0 (set axis / num_elementwise_dims on the layer).")
      .def(
          "add_grid_sample",
          [](const NetPtr& s, const TensorHandle& input, const TensorHandle& grid) {
            const int x = tensorIn(s, input, "add_grid_sample"),
                      g = tensorIn(s, grid, "add_grid_sample");
            const auto& t = s->net->tensors;
            const size_t r = t[x].dims.size();
            CLRT_CHECK(
                (r == 4 || r == 5) && t[g].dims.size() == r && t[g].dims.back() == int64_t(r) - 2,
                kValue, "add_grid_sample: input '", t[x].name, "' ", dimsToString(t[x].dims),
                " and grid '", t[g].name, "' ", dimsToString(t[g].dims),
                " must be [N, C, *in] and [N, *out, spatial rank] with 2 or 3 spatial dims");
            int id;
            ir::Layer& l = newLayer(s, K::kGRID_SAMPLE, "GridSample", {x, g}, &id);
            l.attrs.set("mode", std::string("LINEAR"));
            l.attrs.set("padding", std::string("ZEROS"));
            l.attrs.set("align_corners", int64_t{0});
            return finish(s, id);
          },
          py::arg("input"), py::arg("grid"),
          "Grid sampling (ONNX GridSample): LINEAR, FILL (zeros), align_corners False until set "
          "on the layer.")
      .def(
          "add_topk",
          [](const NetPtr& s, const TensorHandle& input, TopKOperation op, int64_t k,
             int64_t axes) {
            const int x = tensorIn(s, input, "add_topk");
            const auto ax = axesFromBits(axes, rankOf(s, x), "add_topk", true);
            checkTopK("add_topk", k, s->net->tensors[x].dims[ax[0]]);
            int id;
            ir::Layer& l = newLayer(s, K::kTOPK, "TopK", {x}, &id, 2);
            l.attrs.set("k", k);
            l.attrs.set("axis", ax[0]);
            l.attrs.set("largest", op == TopKOperation::kMAX);
            l.attrs.set("sorted", true);
            return finish(s, id);
          },
          py::arg("input"), py::arg("op"), py::arg("k"), py::arg("axes"),
          "Top k along one axis: output 0 the values (sorted), output 1 their indices. clrt's "
          "indices are INT64 (TensorRT's INT32).")
      .def(
          "add_select",
          [](const NetPtr& s, const TensorHandle& cond, const TensorHandle& a,
             const TensorHandle& b) {
            const int c = tensorIn(s, cond, "add_select"), x = tensorIn(s, a, "add_select"),
                      y = tensorIn(s, b, "add_select");
            const auto& t = s->net->tensors;
            CLRT_CHECK(t[c].dtype == DataType::kBOOL, kValue, "add_select: condition '", t[c].name,
                       "' must be BOOL, got ", dtypeName(t[c].dtype));
            CLRT_CHECK(t[x].dtype == t[y].dtype, kValue, "add_select: then_input '", t[x].name,
                       "' (", dtypeName(t[x].dtype), ") and else_input '", t[y].name, "' (",
                       dtypeName(t[y].dtype), ") must have the same type");
            int id;
            newLayer(s, K::kWHERE, "Select", {c, x, y}, &id);
            return finish(s, id);
          },
          py::arg("condition"), py::arg("then_input"), py::arg("else_input"))
      .def(
          "add_padding_nd",
          [](const NetPtr& s, const TensorHandle& input, const py::object& pre,
             const py::object& post) {
            const int x = tensorIn(s, input, "add_padding_nd");
            ir::Layer probe;
            setPadsAttr("add_padding_nd", rankOf(s, x), toDims(pre, "add_padding_nd pre_padding"),
                        toDims(post, "add_padding_nd post_padding"), probe);
            int id;
            ir::Layer& l = newLayer(s, K::kPADDING, "Padding", {x}, &id);
            l.attrs = probe.attrs;
            return finish(s, id);
          },
          py::arg("input"), py::arg("pre_padding"), py::arg("post_padding"),
          "Zero padding of the innermost len(pre_padding) dims; negative values crop. The layer's "
          "pre/post_padding_nd report the innermost dims from the outermost padded one (at "
          "least two).")
      .def(
          "add_shape",
          [](const NetPtr& s, const TensorHandle& input) {
            const int x = tensorIn(s, input, "add_shape");
            int id;
            newLayer(s, K::kSHAPE, "Shape", {x}, &id);
            return finish(s, id);
          },
          py::arg("input"), "The input's dims as a 1-D INT64 tensor.")
      .def(
          "add_non_zero",
          [](const NetPtr& s, const TensorHandle& input) {
            const int x = tensorIn(s, input, "add_non_zero");
            CLRT_CHECK(rankOf(s, x) >= 1, kValue, "add_non_zero: input '", s->net->tensors[x].name,
                       "' is a scalar; NonZero needs rank >= 1");
            int id;
            newLayer(s, K::kNON_ZERO, "NonZero", {x}, &id);
            return finish(s, id);
          },
          py::arg("input"),
          "Indices of the nonzero elements: INT64 [rank, n], n known only at run time.");
}

}  // namespace clrt::python
