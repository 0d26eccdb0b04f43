// Host QuantizeLinear / DequantizeLinear (ir/quantize.h): ONNX semantics, rounded as
// onnxruntime does (float division, round half to even, saturation).
#include <cmath>
#include <cstring>
#include <limits>

#include "clrt/core/error.h"
#include "clrt/ir/quantize.h"
#include "clrt/ir/shape_internal.h"

namespace clrt::ir {

int64_t quantMin(DataType t) {
  switch (t) {
    case DataType::kINT8:
      return -128;
    case DataType::kUINT8:
      return 0;
    case DataType::kINT32:
      return std::numeric_limits<int32_t>::min();
    default:
      fail(ErrorKind::kUnsupported, str("quantization type ", dtypeName(t),
                                        " is not supported (INT8, UINT8 or INT32 expected)"));
  }
}

int64_t quantMax(DataType t) {
  switch (t) {
    case DataType::kINT8:
      return 127;
    case DataType::kUINT8:
      return 255;
    case DataType::kINT32:
      return std::numeric_limits<int32_t>::max();
    default:
      fail(ErrorKind::kUnsupported, str("quantization type ", dtypeName(t),
                                        " is not supported (INT8, UINT8 or INT32 expected)"));
  }
}

QuantParams quantParams(const HostTensor& scale, const HostTensor* zeroPoint, DataType qtype,
                        int64_t axis, const Dims& xDims, const std::string& what) {
  QuantParams p;
  p.qtype = qtype;
  quantMin(qtype);  // refuses other types
  CLRT_CHECK(scale.dtype == DataType::kFLOAT || scale.dtype == DataType::kHALF, kValue, what,
             ": scale must be FLOAT or FLOAT16, got ", dtypeName(scale.dtype));
  p.scale = scale.asFloats();
  const int64_t n = static_cast<int64_t>(p.scale.size());
  CLRT_CHECK(n >= 1, kValue, what, ": scale is empty");
  for (float s : p.scale)
    CLRT_CHECK(std::isfinite(s) && s > 0.0f, kValue, what,
               ": scale values must be finite and positive, got ", s);
  if (n > 1) {
    CLRT_CHECK(scale.dims.size() == 1, kValue, what, ": a per-axis scale must be 1-D, got shape ",
               dimsToString(scale.dims));
    const int64_t rank = static_cast<int64_t>(xDims.size());
    CLRT_CHECK(axis >= -rank && axis < rank, kValue, what, ": axis ", axis,
               " is out of range for an input of shape ", dimsToString(xDims));
    p.axis = axis < 0 ? axis + rank : axis;
    CLRT_CHECK(xDims[p.axis] < 0 || xDims[p.axis] == n, kValue, what, ": ", n,
               " scale values for dimension ", p.axis, " of size ", xDims[p.axis], " (input shape ",
               dimsToString(xDims), ")");
  }
  if (zeroPoint && !zeroPoint->empty()) {
    CLRT_CHECK(zeroPoint->dtype == qtype, kValue, what, ": zero point is ",
               dtypeName(zeroPoint->dtype), ", expected ", dtypeName(qtype));
    CLRT_CHECK(zeroPoint->numel() == n, kValue, what, ": zero point has ", zeroPoint->numel(),
               " values, scale has ", n);
    p.zero = zeroPoint->asInt64();
  } else {
    p.zero.assign(static_cast<size_t>(n), 0);
  }
  return p;
}

namespace {

// Elements after `axis` (the stride of one slice step) for the channel of each element.
int64_t innerSize(const Dims& d, int64_t axis) {
  int64_t inner = 1;
  for (size_t k = static_cast<size_t>(axis) + 1; k < d.size(); ++k) inner *= d[k];
  return inner;
}

template <typename F>
void forEachChannel(const Dims& d, const QuantParams& p, F f) {
  const int64_t n = volume(d);
  if (p.axis < 0) {
    for (int64_t i = 0; i < n; ++i) f(i, 0);
    return;
  }
  const int64_t inner = innerSize(d, p.axis), ch = d[p.axis];
  for (int64_t i = 0; i < n; ++i) f(i, (i / inner) % ch);
}

}  // namespace

HostTensor quantizeLinear(const HostTensor& x, const QuantParams& p) {
  const std::vector<float> v = x.asFloats();
  HostTensor out(p.qtype, x.dims);
  const float lo = static_cast<float>(quantMin(p.qtype)),
              hi = static_cast<float>(quantMax(p.qtype));
  forEachChannel(x.dims, p, [&](int64_t i, int64_t c) {
    float q = std::nearbyint(v[i] / p.scale[c]) + static_cast<float>(p.zero[c]);
    q = std::isnan(q) ? static_cast<float>(p.zero[c]) : std::fmin(std::fmax(q, lo), hi);
    if (p.qtype == DataType::kINT8)
      out.bytes[i] = static_cast<uint8_t>(static_cast<int8_t>(q));
    else if (p.qtype == DataType::kUINT8)
      out.bytes[i] = static_cast<uint8_t>(q);
    else
      fail(ErrorKind::kUnsupported, str("QuantizeLinear to ", dtypeName(p.qtype),
                                        " is not supported (INT8 or UINT8 expected)"));
  });
  return out;
}

HostTensor dequantizeLinear(const HostTensor& x, const QuantParams& p) {
  CLRT_CHECK(x.dtype == p.qtype, kValue, "DequantizeLinear input is ", dtypeName(x.dtype),
             ", its zero point type is ", dtypeName(p.qtype));
  const std::vector<int64_t> v = x.asInt64();
  HostTensor out(DataType::kFLOAT, x.dims);
  float* y = out.f32();
  forEachChannel(x.dims, p, [&](int64_t i, int64_t c) {
    y[i] = static_cast<float>(v[i] - p.zero[c]) * p.scale[c];
  });
  return out;
}

bool evalQuantizeLayer(const Layer& layer, const std::vector<TensorInfo>& ins, HostTensor& out) {
  const bool q = layer.kind == LayerKind::kQUANTIZE;
  if (ins.size() < 2 || !ins[0].value || !ins[1].value) return false;
  const HostTensor* zp = detail::hasInput(layer, ins, 2) ? ins[2].value : nullptr;
  if (detail::hasInput(layer, ins, 2) && !zp) return false;
  const HostTensor& x = *ins[0].value;
  DataType qtype = x.dtype;
  if (q) {
    if (!detail::isFloatType(x.dtype)) return false;
    qtype = zp ? zp->dtype : static_cast<DataType>(layer.attrs.i("to", int(DataType::kINT8)));
    if (qtype != DataType::kINT8 && qtype != DataType::kUINT8) return false;
  } else if (qtype != DataType::kINT8 && qtype != DataType::kUINT8 && qtype != DataType::kINT32) {
    return false;
  }
  const std::string what = str(layerKindName(layer.kind), " layer '", layer.name, "'");
  const QuantParams p =
      quantParams(*ins[1].value, zp, qtype, layer.attrs.i("axis", 1), x.dims, what);
  out = q ? quantizeLinear(x, p) : dequantizeLinear(x, p);
  return true;
}

}  // namespace clrt::ir
