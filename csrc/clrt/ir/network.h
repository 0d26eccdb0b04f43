// The network: tensors and layers (kind + attributes + weights). Knows nothing of ONNX or OpenCL.
//
// Layer kinds and their contract (inputs / weights / attrs). Every importer, pass, shape rule,
// host evaluator and tactic follows this table; ir/shape_inference.cc is its executable form.
//
//  kCONVOLUTION   in: x [N,C,H,W] (1-D conv: [N,C,W] is handled as H=1; 3-D: [N,C,D,H,W] with
//                     3-entry strides/dilations and 6 pads, begins then ends), optional
//                     residual r (same shape as the output, added before the activation).
//                 weights: "kernel" [K, C/group, kh, kw] float32, optional "bias" [K].
//                 attrs: strides[2], dilations[2], pads[4] = {top, left, bottom, right},
//                     group, auto_pad ("NOTSET" | "SAME_UPPER" | "SAME_LOWER" | "VALID"),
//                     epilogue (see below). A weight computed at run time: in 2 (W) and
//                     optional in 3 (B) in place of the weights, attr kernel_shape = W's dims,
//                     strides/dilations/pads in W's own rank (1-D: one entry, {begin, end}).
//  kACTIVATION    in: x. attrs: type = "RELU" | "LEAKY_RELU" | "CLIP" | "SIGMOID" | "TANH" |
//                     "HARD_SIGMOID" | "HARD_SWISH" | "ELU" | "SOFTPLUS" | "GELU_ERF" |
//                     "GELU_TANH" | "SELU" | "THRESHOLDED_RELU" | "SHRINK" | "CELU" | "MISH" |
//                     "SWISH", alpha, beta (LEAKY_RELU: alpha slope; CLIP: alpha=min, beta=max;
//                     HARD_SIGMOID/HARD_SWISH: alpha, beta as ONNX; SHRINK: alpha=lambd,
//                     beta=bias; THRESHOLDED_RELU/CELU/SWISH: alpha as ONNX).
//  kUNARY         in: x. attrs: op = "EXP" | "LOG" | "SQRT" | "RECIP" | "ABS" | "NEG" | "ERF" |
//                     "SIN" | "COS" | "TAN" | "ASIN" | "ACOS" | "ATAN" | "SINH" | "COSH" |
//                     "ASINH" | "ACOSH" | "ATANH" | "SIGN" | "ROUND" (halves to even) |
//                     "SOFTSIGN" | "FLOOR" | "CEIL" | "NOT" | "BITWISE_NOT" (integers); "ISNAN" |
//                     "ISINF" (to BOOL; ISINF
//                     attrs detect_positive, detect_negative, default 1).
//  kELEMENTWISE   in: a, b (NumPy broadcasting). attrs: op = "SUM" | "SUB" | "PROD" | "DIV" |
//                     "POW" | "MAX" | "MIN" | "MOD" (sign of b) | "FMOD" (sign of a) |
//                     "SHIFT_LEFT" | "SHIFT_RIGHT" (integers) | "EQUAL" | "GREATER" | "LESS" |
//                     "GREATER_OR_EQUAL" | "LESS_OR_EQUAL" | "AND" | "OR" | "XOR" |
//                     "BITWISE_AND" | "BITWISE_OR" | "BITWISE_XOR" (integers).
//  kPOOLING       in: x [N,C,H,W] (or [N,C,W] as H=1, or [N,C,D,H,W] with 3-entry lists).
//                     attrs: type = "MAX" | "AVERAGE" | "LP" (p: the norm, LpPool); global
//                     (0/1); window[2], strides[2], pads[4], dilations[2], auto_pad, ceil_mode,
//                     count_include_pad.
//  kMATRIX_MULTIPLY in: a, and b unless weights "kernel" hold it. NumPy matmul semantics
//                     (batched, broadcast batch dims, 1-D operands promoted). attrs: trans_a,
//                     trans_b (transpose the last two dims). weights: optional "kernel" (the b
//                     operand), optional "bias" [N] added to the last dim; epilogue.
//  kSOFTMAX       in: x. attrs: axis (one axis, normalised at import).
//  kLOG_SOFTMAX   same as kSOFTMAX.
//  kCONCATENATION in: x0..xn. attrs: axis.
//  kSHUFFLE       TensorRT's shuffle: in: x, optional shape tensor (reshape dims). attrs:
//                     first_transpose (perm, empty = identity), has_reshape, reshape_dims
//                     (0 = copy the input dim when zero_is_placeholder, -1 = infer),
//                     zero_is_placeholder (default 1), second_transpose.
//  kRESHAPE       in: x, optional shape tensor. attrs: shape (when constant), allowzero.
//  kTRANSPOSE     in: x. attrs: perm.
//  kFLATTEN       in: x. attrs: axis.
//  kSQUEEZE       in: x. attrs: axes (empty = all 1-dims).
//  kUNSQUEEZE     in: x. attrs: axes (positions in the output).
//  kCONSTANT      in: none. weights: "value" (any dtype). The output has its dtype/dims.
//  kREDUCE        in: x. attrs: op = "SUM" | "MEAN" | "MAX" | "MIN" | "PROD" | "SUM_SQUARE" |
//                     "L1" | "L2" | "LOG_SUM" | "LOG_SUM_EXP"; axes (empty = all, unless
//                     noop_with_empty_axes); keepdims. op = "ARGMAX" | "ARGMIN": one axis, an
//                     INT64 index output (select_last_index: the last of equal extremes).
//  kNORMALIZATION LayerNormalization. in: x. weights: "scale", optional "bias" (shape of the
//                     normalised dims). attrs: axis (first normalised axis), epsilon. Optional
//                     outputs 1 Mean, 2 InvStdDev (FLOAT, x's dims with the normalised ones 1).
//  kSLICE         in: x, then optional starts, ends, axes, steps tensors (host-known values).
//                     attrs (used when inputs are absent): starts, ends, axes, steps.
//  kGATHER        in: data, indices. attrs: axis; mode "DEFAULT" (ONNX Gather, the default) |
//                     "ELEMENT" (GatherElements: indices of the data's rank, output their dims) |
//                     "ND" (GatherND, attr batch_dims).
//  kSCATTER       in: data, indices, updates. out: data with the updates written. attrs: mode
//                     "ELEMENT" (ScatterElements, attr axis) | "ND" (ScatterND); reduction
//                     "none" | "add" | "mul" | "max" | "min".
//  kSHAPE         in: x. out: INT64 1-D host tensor of x's dims. attrs: start, end (opset 15).
//  kCAST          in: x. attrs: to (DataType as int); bitcast (1: the bytes are kept, FLOAT <->
//                     INT32).
//  kIDENTITY      in: x.
//  kSPLIT         in: x, optional split sizes tensor. attrs: axis, split (sizes). n outputs.
//  kSCALE         per-channel affine (BatchNormalization after folding its statistics).
//                     in: x. weights: "scale" [C], "shift" [C]. attrs: channel_axis (default 1).
//                     y = x * scale[c] + shift[c].
//  kRANGE, kCONSTANT_OF_SHAPE, kEXPAND, kWHERE: as ONNX (host-evaluated when inputs are known).
//  kREFORMAT      in: x. out: same dims, storage dtype attrs "out_dtypes"[0] (FLOAT/HALF/INT8).
//                     Inserted by the builder between layers of different precisions; INT8 sides
//                     use "in_scales"/"out_scales" (see the precision contract below).
//  kQUANTIZE      ONNX QuantizeLinear. in: x (float), scale, optional zero_point (host-known).
//                     attrs: axis (per-axis scales), out dtype INT8 or UINT8 (zero point dtype).
//  kDEQUANTIZE    ONNX DequantizeLinear. in: x (INT8/UINT8/INT32), scale, optional zero_point.
//                     attrs: axis. out: FLOAT. Q/DQ pairs are folded into dynamic ranges
//                     (explicit quantization); a remaining Q or DQ runs as a real conversion.
//  kRESIZE        ONNX Resize / Upsample over any dims. in: x. attrs: mode = "NEAREST" | "LINEAR"
//                     | "CUBIC"; coord (ONNX coordinate_transformation_mode); nearest_mode (ONNX,
//                     or "simple": floor, ceil where downsampling); cubic_a, exclude_outside,
//                     antialias, extrapolation (tf_crop_and_resize); scales (doubles, one per
//                     dim: out = floor(in * scale)) or sizes (ints, one per dim, fixed output
//                     dims; the transform's scale is then out / in); roi (doubles, starts then
//                     ends, for tf_crop_and_resize). Computed at run time instead: in 1 (roi),
//                     2 (scales), 3 (sizes) as ONNX gives them over attr axes, with attr policy
//                     (keep_aspect_ratio_policy); host-known shape operands.
//  kPADDING       ONNX Pad. in: x. attrs: pads (ints, begins then ends of every dim; negative
//                     crops), mode = "constant" | "reflect" | "edge" | "wrap", value (constant).
//                     Pads computed at run time: in 1 (ONNX pads) and optional in 2 (ONNX axes),
//                     host-known shape operands, in place of the pads attr.
//  kDECONVOLUTION ONNX ConvTranspose, 1 to 3 spatial dims. in: x [N,C,...], and W, optional B
//                     when computed (then attr kernel_shape = W's dims). weights: "kernel"
//                     [C, K/group, ...kernel] float32, optional "bias" [K]. attrs: strides,
//                     dilations, output_padding (one per spatial dim), pads (begins then ends),
//                     group. auto_pad / output_shape are resolved into pads at import.
//  kGRID_SAMPLE   ONNX GridSample, 2 or 3 spatial dims. in: x [N,C,...in], grid [N,...out,r]
//                     (normalized coordinates, the last spatial dim's first). out: [N,C,...out].
//                     attrs: mode = "NEAREST" | "LINEAR" | "CUBIC" (2-D only), padding =
//                     "ZEROS" | "BORDER" | "REFLECTION", align_corners (0/1).
//  kCUMULATIVE    ONNX CumSum / CumProd. in: x, optional axis tensor (one INT32/INT64 value,
//                     read at run time). attrs: op = "SUM" | "PROD", axis (without the input),
//                     exclusive, reverse (0/1, as ONNX).
//  kTOPK          ONNX TopK with a known k. in: x. attrs: k, axis, largest, sorted. out: values
//                     (x's dtype), indices (INT64), x's dims with the axis dim k. Equal values
//                     keep their index order. A run-time k: in 1 (one INT32/INT64 value, a
//                     host-known shape operand, e.g. min(1000, n) of a NonZero's count), attr
//                     k absent.
//  kROI_ALIGN     ONNX RoiAlign. in: x [N,C,H,W], rois [R,4] (x1, y1, x2, y2; FLOAT or HALF,
//                     kept out of FP16 storage), batch indices [R] (INT32/INT64, checked on the
//                     device: one outside [0, N) fails the run). out: [R,C,oh,ow]. attrs: mode =
//                     "AVG" | "MAX" (the max of the bilinear-weighted corners, as onnxruntime),
//                     coord = "half_pixel" | "output_half_pixel", output_height, output_width,
//                     sampling_ratio (0: ceil(roi size / output size) per roi), spatial_scale.
//  kATTENTION     softmax(q k^T * scale + bias) v, made by passes/fuse_attention.cc (never
//                     imported). in: q [L..., Sq, D], k ([L..., Skv, D] when trans_k, else
//                     [L..., D, Skv]), v [L..., Skv, Dv], optional bias (broadcast to
//                     [L..., Sq, Skv]); q, k, v share their leading dims L. out: [L..., Sq, Dv].
//                     attrs: scale, trans_k, head_q and head_v (D and Dv, static),
//                     nan_to_zero: 1, a row whose softmax is NaN (all scores -inf, or one
//                     NaN or +inf) gives sum_j 0 * v_j instead of NaN (the Where(IsNaN(p), 0,
//                     p) of PyTorch's exported attention); 2, a row whose every bias value is
//                     -inf gives sum_j 0 * v_j (ONNX Attention's guard). Views (static
//                     shapes): q, k or v read as a strided view of the input tensor (attrs
//                     <x>_dims, <x>_strides, <x>_offset in elements, <x>_src the input's dims);
//                     the result written with o_strides into an output of dims o_dims.
//
// Control flow of the network API (TensorRT's ILoop and IIfConditional). The builder lowers these
// before anything else (passes/lower_control_flow.cc: a loop unrolled, a conditional turned into
// WHERE), so no tactic, plan or host evaluator ever sees them. attrs: loop / conditional, the id
// of the construct the boundary layer belongs to.
//  kTRIP_LIMIT    in: a 0-D INT32/INT64 count (kind "COUNT") or BOOL condition (kind "WHILE",
//                     computed in the body from the recurrences). No outputs.
//  kRECURRENCE    in: initial value, then (in 1) the next iteration's value: the only back edge a
//                     network may have (topoOrder ignores it). out: the current value.
//  kITERATOR      in: x. attrs: axis, reverse (0/1). out: x indexed by the iteration on axis.
//  kLOOP_OUTPUT   in: x (a body value), and for kinds "CONCATENATE" / "REVERSE" in 1 the output
//                     length along the new axis (0-D INT32/INT64, host-known, >= the trip count;
//                     the rest is zeros). attrs: kind "LAST_VALUE" | "CONCATENATE" | "REVERSE",
//                     axis (where the iteration axis is inserted).
//  kCONDITION     in: a 0-D BOOL condition. No outputs.
//  kIF_INPUT      in: x. out: x, as seen inside the branches.
//  kIF_OUTPUT     in: the true branch's value, the false branch's (same dtype and dims). out: the
//                     taken branch's value.
//
// Data-dependent kinds: an output dim depends on the input values, so it is -1 in the network
// and known only after the layer ran (ir/data_dependent.cc computes them on the host; the
// runtime synchronizes there and resolves the layers after it again).
//  kNON_ZERO      ONNX NonZero. in: x (any dtype). out: INT64 [rank(x), n], n the nonzero count.
//  kNMS           ONNX NonMaxSuppression. in: boxes [B, N, 4], scores [B, C, N], optional
//                     max_output_boxes_per_class (INT64, one value, absent = 0), iou_threshold,
//                     score_threshold (FLOAT, one value each). attrs: center_point_box (0/1).
//                     out: INT64 [n, 3] (batch, class, box) selected.
//  kUNIQUE        ONNX Unique. in: x. attrs: sorted (0/1), axis (absent = flattened). out: y
//                     (x's dtype; x's dims with the axis dim n, or [n]), indices [n],
//                     inverse_indices [numel or dim(axis)], counts [n] (INT64).
//
// Epilogue attrs (kCONVOLUTION, kMATRIX_MULTIPLY): act = "" | activation type as kACTIVATION,
// act_alpha, act_beta; a residual input (index 1 for conv, last input for matmul) is added
// before the activation: y = act(op(x) + bias + residual).
//
// Precision contract (set by the builder on every device layer before choosing its tactic; kept
// in the plan). Absent attrs mean FP32 everywhere, so FP32-only tactics need not read them.
//   precision   int DataType the layer computes in: kFLOAT, kHALF (half storage, float
//               arithmetic) or kINT8 (int8 storage, int32 accumulation).
//   in_dtypes   ints, the storage DataType of each input (-1 for an absent input).
//   out_dtypes  ints, the storage DataType of each output. An INT8 layer may write FLOAT or HALF
//               outputs (dequantizing in its epilogue); FP16/FP32 layers write their own type,
//               or INT8 at out_scales where the builder narrows a precision boundary
//               (builder/precision.cc narrowOutput) and the tactic quantizes in its epilogue.
//   in_scales   doubles, per input: scale = amax / 127 of an INT8 tensor, 0 otherwise.
//   out_scales  doubles, per output: same.
// Weights stay float32 in the network; an INT8 tactic quantizes them per output channel
// (symmetric, scale = max|w| / 127) when it is instantiated.
//
// Layout contract (set by the builder after choosing tactics, builder/layouts.cc; kept in the
// plan): hwc_inputs / hwc_outputs, int bitmasks: bit i set when input / output i is stored
// channels last (its tensor's format is TensorFormat::kHWC). Absent means all kLINEAR.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "clrt/core/types.h"
#include "clrt/ir/attrs.h"

namespace clrt::ir {

enum class LayerKind : int32_t {
  kCONVOLUTION,
  kACTIVATION,
  kUNARY,
  kELEMENTWISE,
  kPOOLING,
  kMATRIX_MULTIPLY,
  kSOFTMAX,
  kLOG_SOFTMAX,
  kCONCATENATION,
  kSHUFFLE,
  kRESHAPE,
  kTRANSPOSE,
  kFLATTEN,
  kSQUEEZE,
  kUNSQUEEZE,
  kCONSTANT,
  kREDUCE,
  kNORMALIZATION,
  kSLICE,
  kGATHER,
  kSHAPE,
  kCAST,
  kIDENTITY,
  kSPLIT,
  kRANGE,
  kCONSTANT_OF_SHAPE,
  kEXPAND,
  kWHERE,
  kSCALE,
  kREFORMAT,
  kQUANTIZE,
  kDEQUANTIZE,
  kSCATTER,
  kRESIZE,
  kPADDING,
  kDECONVOLUTION,
  kGRID_SAMPLE,
  kCUMULATIVE,
  kTOPK,
  kNON_ZERO,
  kNMS,
  kUNIQUE,
  kROI_ALIGN,
  kATTENTION,
  kTRIP_LIMIT,
  kRECURRENCE,
  kITERATOR,
  kLOOP_OUTPUT,
  kCONDITION,
  kIF_INPUT,
  kIF_OUTPUT,
};

const char* layerKindName(LayerKind k);             // "CONVOLUTION"
LayerKind layerKindFromName(const std::string& s);  // throws kValue
// TensorRT's LayerType name for the Python API (kRESHAPE/kTRANSPOSE/... report "SHUFFLE").
const char* trtLayerTypeName(LayerKind k);

// How a device tensor's elements lie in memory. Dims stay logical ([N,C,H,W]) whatever the format:
// kLINEAR is row-major over the dims; kHWC (TensorRT's TensorFormat.HWC, channels last) stores a
// rank-3/4 tensor as [N][H][W][C]. The builder gives kHWC to tensors between layers whose
// tactics read and write it (builder/layouts.cc), and to network inputs and outputs whose
// allowed_formats leave out LINEAR but allow HWC; other network I/O stays kLINEAR.
enum class TensorFormat : uint8_t { kLINEAR = 0, kHWC = 1 };

// ITensor.allowed_formats: a bit per TensorRT TensorFormat value (LINEAR 0 ... DHWC 12), all set
// by default as in TensorRT. clrt stores network I/O as LINEAR (bit 0) or HWC (bit 8).
// The largest head size (q's and v's last dim) the fused attention kernels take
// (passes/fuse_attention.cc fuses nothing larger).
inline constexpr int64_t kMaxAttentionHead = 256;

inline constexpr uint32_t kTrtLinearBit = 1u << 0;
inline constexpr uint32_t kTrtHwcBit = 1u << 8;
inline constexpr uint32_t kAllTrtFormats = (1u << 13) - 1;

struct Tensor {
  std::string name;
  DataType dtype = DataType::kFLOAT;
  Dims dims;          // -1 = dynamic
  int producer = -1;  // layer index, -1 for network inputs
  bool is_input = false;
  bool is_output = false;
  std::optional<std::pair<float, float>> dynamic_range;  // INT8: set_dynamic_range, Q/DQ, cache
  // An explicit quantization point (a Q/DQ pair folded by foldQdq): the model rounds the values to
  // the INT8 grid here, so fusions must not make the tensor disappear (pass_util fusionHost).
  bool qdq_point = false;
  // The ONNX graph output name of an engine output that cannot carry it because a network input
  // already does (ONNX lets a graph output be a graph input): infer() returns the output under
  // this name. Empty for every other tensor.
  std::string onnx_name;
  // A network input whose values decide shapes (TensorRT's shape tensor): its values are read on
  // the host, from the optimization profile at build time and from the caller at run time.
  bool is_shape_tensor = false;
  // Marked with INetworkDefinition.mark_debug: kept materialized through fusion (pass_util
  // fusionHost refuses, with a note) so the execution context can hand its value to a listener.
  bool debug = false;
  TensorFormat format = TensorFormat::kLINEAR;
  uint32_t allowed_formats = kAllTrtFormats;  // ITensor.allowed_formats (network I/O only)
  // Network inputs: ITensor.set_dimension_name (or the ONNX dim_param) per dim, "" unnamed
  // (empty: none). Dims that share a name must be equal, in every profile and at run time.
  std::vector<std::string> dim_names;
};

// A network input or output the user asked to be channels last: allowed_formats without LINEAR,
// with HWC.
inline bool requestsHwc(const Tensor& t) {
  return (t.is_input || t.is_output) && !(t.allowed_formats & kTrtLinearBit) &&
         (t.allowed_formats & kTrtHwcBit);
}

struct Layer {
  std::string name;
  LayerKind kind = LayerKind::kIDENTITY;
  std::vector<int> inputs;   // tensor ids; -1 = optional input absent
  std::vector<int> outputs;  // tensor ids
  Attrs attrs;
  std::map<std::string, HostTensor> weights;
  std::vector<std::string> onnx_nodes;  // the ONNX nodes this layer holds (fusion appends)
  // Precision controls (TensorRT semantics; builder/precision.cc obeys or prefers them).
  std::optional<DataType> precision;
  std::vector<std::optional<DataType>> output_types;
  // Set by importers for layers that compute integers in FLOAT (MatMulInteger, ConvInteger): FP32
  // only, whatever the flags; not a user constraint (no precision warning, not shown).
  bool exact_float = false;
  bool dead = false;  // removed by a pass; compact() drops it
};

class Network {
 public:
  std::vector<Tensor> tensors;
  std::vector<Layer> layers;
  std::vector<int> inputs;   // tensor ids of network inputs, in order
  std::vector<int> outputs;  // tensor ids of network outputs, in order
  // Set by the Q/DQ folding pass: the tensors' dynamic ranges came from Q/DQ scales (explicit
  // quantization), so the builder uses them and ignores a calibrator.
  bool explicit_quantization = false;
  // The ONNX model the parser built this network from (its bytes, and the directory of its
  // external data): a refittable engine keeps it, so that weights can be refit by initializer
  // name (builder/refit.cc). Empty for networks made with the network API.
  std::shared_ptr<const std::string> onnx_model;
  std::string onnx_dir;

  int addInput(const std::string& name, DataType t, const Dims& dims);  // throws on duplicate name
  // The first two network input dims that share a name (Tensor::dim_names) but not a value in
  // `dims` (input tensor id -> its dims), described ("input 'a' dim 0 is 2 and input 'b' dim 0
  // is 3, both named 'n'"); "" when all agree. Inputs missing from `dims` are skipped.
  std::string namedDimMismatch(const std::map<int, Dims>& dims) const;
  // Adds a layer with `nOutputs` fresh output tensors named "<name>_output_<i>" unless given.
  int addLayer(LayerKind kind, const std::string& name, const std::vector<int>& inputs,
               int nOutputs = 1, const std::vector<std::string>& outputNames = {});
  void markOutput(int tensor);
  void unmarkOutput(int tensor);

  int findTensor(const std::string& name) const;    // -1 if absent
  int findLayer(const std::string& name) const;     // -1 if absent
  std::vector<std::vector<int>> consumers() const;  // per tensor: layer ids reading it
  // Live layers, producers first; throws on a cycle. A RECURRENCE's input 1 (a loop's back edge)
  // does not order it.
  std::vector<int> topoOrder() const;
  // Drops dead layers and unreferenced tensors, renumbering ids; keeps names.
  void compact();
  // Re-runs shape inference over the whole network (static dims propagated, -1 kept).
  void inferShapes();
  std::string uniqueTensorName(const std::string& base) const;
  std::string uniqueLayerName(const std::string& base) const;

  // Name lookups scan the lists, which makes adding n layers O(n^2). An importer adding tens of
  // thousands switches this index on for its duration; while it is on, names may change only
  // through addInput, addLayer, renameTensor and compact (not by writing tensors/layers).
  void indexNames(bool on);
  void renameTensor(int tensor, const std::string& name);

 private:
  struct NameIndex {
    std::unordered_map<std::string, int> tensors, layers;
  };
  std::optional<NameIndex> index_;
  void indexTensor(int t);
  void indexLayer(int l);
};

}  // namespace clrt::ir
