// Engine file writer and reader. Layout: "CLRTENG\0", u32 format version, u64 total length,
// u64 checksum of everything after the 28-byte header, then the EngineDesc as little-endian,
// length-prefixed fields. The reader validates every count, tag, id and size it meets.
#include "clrt/plan/plan.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <type_traits>
#include <variant>

#include "clrt/core/version.h"
#include "clrt/plan/byte_io.h"

namespace clrt::plan {
namespace {

constexpr char kMagic[8] = {'C', 'L', 'R', 'T', 'E', 'N', 'G', '\0'};
constexpr size_t kVersionAt = 8, kLengthAt = 12, kChecksumAt = 20, kHeaderBytes = 28;

// Attr type tags are the AttrValue variant indices; pinned so a reordered variant is caught.
enum AttrTag : uint8_t { kTagInt = 0, kTagFloat, kTagString, kTagInts, kTagFloats, kTagCount };
static_assert(std::is_same_v<std::variant_alternative_t<kTagInt, ir::AttrValue>, int64_t>);
static_assert(std::is_same_v<std::variant_alternative_t<kTagFloat, ir::AttrValue>, double>);
static_assert(std::is_same_v<std::variant_alternative_t<kTagString, ir::AttrValue>, std::string>);
static_assert(
    std::is_same_v<std::variant_alternative_t<kTagInts, ir::AttrValue>, std::vector<int64_t>>);
static_assert(
    std::is_same_v<std::variant_alternative_t<kTagFloats, ir::AttrValue>, std::vector<double>>);
static_assert(std::variant_size_v<ir::AttrValue> == kTagCount);

// Smallest encodings, used to refuse counts that cannot fit in the bytes left.
constexpr size_t kMinTensor = 8 + 4 + 8 + 4 + 4;  // name, dtype, rank, producer, flags
// name, kind, inputs, outputs, attrs, weights, onnx nodes, precision, output types, dead
constexpr size_t kMinLayer = 8 + 8 + 8 + 8 + 8 + 8 + 8 + 1 + 8 + 1;
constexpr size_t kMinAttr = 8 + 1 + 8;        // name, tag, smallest value
constexpr size_t kMinWeight = 8 + 4 + 8 + 8;  // name, dtype, rank, byte length
constexpr size_t kMinShapeRange = 8 + 3 * 8;  // input name, three ranks
constexpr size_t kMinBinary = 8 + 8 + 8;      // key, checksum, byte length

constexpr uint64_t kBadSize = std::numeric_limits<uint64_t>::max();

// Bytes a dense tensor of this dtype and shape holds; kBadSize on a negative dim or a size
// beyond int64 (which no byte count can equal).
uint64_t expectedBytes(DataType t, const Dims& dims) {
  for (int64_t d : dims)
    if (d < 0) return kBadSize;
  for (int64_t d : dims)
    if (d == 0) return 0;
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t n = dtypeSize(t);
  for (int64_t d : dims) {
    if (n > kMax / static_cast<uint64_t>(d)) return kBadSize;
    n *= static_cast<uint64_t>(d);
  }
  return n;
}

// Why expectedBytes is kBadSize, with the numbers.
std::string sizeProblem(DataType t, const Dims& dims) {
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] < 0) return str("dimension ", i, " is ", dims[i]);
  long double n = dtypeSize(t);
  for (int64_t d : dims) n *= static_cast<long double>(d);
  return str("shape ", dimsToString(dims), " of ", dtypeName(t), " needs about ",
             static_cast<double>(n), " bytes, beyond int64 (", std::numeric_limits<int64_t>::max(),
             ")");
}

// A default-constructed HostTensor (no dims, no bytes) is the IR's "no value"; kept as is.
bool isEmptyHost(const HostTensor& h) { return h.dims.empty() && h.bytes.empty(); }

// ---- writing ----

[[noreturn]] void unwritable(const std::string& why) {
  fail(ErrorKind::kEngineFormat, "cannot serialize engine: " + why);
}

void writeDims(Writer& w, const Dims& d) {
  w.u64(d.size());
  for (int64_t x : d) w.i64(x);
}

void writeHost(Writer& w, const HostTensor& h, const std::string& what) {
  if (!validDtype(static_cast<int64_t>(h.dtype)))
    unwritable(str(what, " has invalid data type ", static_cast<int>(h.dtype)));
  if (!isEmptyHost(h)) {
    const uint64_t need = expectedBytes(h.dtype, h.dims);
    if (need == kBadSize) unwritable(str(what, ": ", sizeProblem(h.dtype, h.dims)));
    if (need != h.bytes.size())
      unwritable(str(what, " holds ", h.bytes.size(), " bytes, shape ", dimsToString(h.dims), " ",
                     dtypeName(h.dtype), " needs ", need));
  }
  w.i32(static_cast<int32_t>(h.dtype));
  writeDims(w, h.dims);
  w.bytes(h.bytes);
}

void writeIds(Writer& w, const std::vector<int>& ids, size_t nTensors, bool allowAbsent,
              const std::string& what) {
  w.u64(ids.size());
  for (int id : ids) {
    if (id < (allowAbsent ? -1 : 0) || id >= static_cast<int64_t>(nTensors))
      unwritable(str(what, " refers to tensor ", id, ", network has ", nTensors));
    w.i32(id);
  }
}

void writeOptDtype(Writer& w, const std::optional<DataType>& t) {
  w.u8(t.has_value());
  if (t) w.i32(static_cast<int32_t>(*t));
}

void writeAttrs(Writer& w, const ir::Attrs& attrs) {
  w.u64(attrs.all().size());
  for (const auto& [key, value] : attrs.all()) {
    w.string(key);
    w.u8(static_cast<uint8_t>(value.index()));
    if (auto p = std::get_if<int64_t>(&value)) {
      w.i64(*p);
    } else if (auto p = std::get_if<double>(&value)) {
      w.f64(*p);
    } else if (auto p = std::get_if<std::string>(&value)) {
      w.string(*p);
    } else if (auto p = std::get_if<std::vector<int64_t>>(&value)) {
      w.u64(p->size());
      for (int64_t x : *p) w.i64(x);
    } else if (auto p = std::get_if<std::vector<double>>(&value)) {
      w.u64(p->size());
      for (double x : *p) w.f64(x);
    }
  }
}

void writeLayer(Writer& w, const ir::Layer& l, size_t nTensors) {
  const std::string what = "layer '" + l.name + "'";
  const char* kind = ir::layerKindName(l.kind);
  bool known = false;
  try {
    known = kind && ir::layerKindFromName(kind) == l.kind;
  } catch (const Error&) {
  }
  if (!known) unwritable(str(what, " has invalid kind ", static_cast<int>(l.kind)));
  w.string(l.name);
  w.string(kind);
  writeIds(w, l.inputs, nTensors, true, what + " input");
  writeIds(w, l.outputs, nTensors, false, what + " output");
  writeAttrs(w, l.attrs);
  w.u64(l.weights.size());
  for (const auto& [name, h] : l.weights) {
    w.string(name);
    writeHost(w, h, what + " weight '" + name + "'");
  }
  w.u64(l.onnx_nodes.size());
  for (const auto& n : l.onnx_nodes) w.string(n);
  writeOptDtype(w, l.precision);
  w.u64(l.output_types.size());
  for (const auto& t : l.output_types) writeOptDtype(w, t);
  w.u8(l.dead);
}

void writeNetwork(Writer& w, const ir::Network& net) {
  const size_t nt = net.tensors.size(), nl = net.layers.size();
  if (nt > size_t(std::numeric_limits<int32_t>::max()) ||
      nl > size_t(std::numeric_limits<int32_t>::max()))
    unwritable("network too large for 32-bit ids");
  w.u64(nt);
  for (const auto& t : net.tensors) {
    std::string what = "tensor '" + t.name + "'";
    if (t.producer < -1 || t.producer >= static_cast<int64_t>(nl))
      unwritable(str(what, " has producer ", t.producer, ", network has ", nl, " layers"));
    if (t.producer >= 0) what += " (output of layer '" + net.layers[t.producer].name + "')";
    for (int64_t d : t.dims)
      if (d < -1) unwritable(str(what, " has dimension ", d, " in ", dimsToString(t.dims)));
    if (isStatic(t.dims) && expectedBytes(t.dtype, t.dims) == kBadSize)
      unwritable(str(what, ": ", sizeProblem(t.dtype, t.dims)));
    w.string(t.name);
    w.i32(static_cast<int32_t>(t.dtype));
    writeDims(w, t.dims);
    w.i32(t.producer);
    w.u8(t.is_input);
    w.u8(t.is_output);
    w.u8(t.is_shape_tensor);
    w.u8(t.debug);
    w.u8(t.dynamic_range.has_value());
    if (t.dynamic_range) {
      w.f32(t.dynamic_range->first);
      w.f32(t.dynamic_range->second);
    }
    w.string(t.onnx_name);
    w.u8(static_cast<uint8_t>(t.format));
    if (!t.dim_names.empty() && t.dim_names.size() != t.dims.size())
      unwritable(
          str(what, " has ", t.dim_names.size(), " dimension names for rank ", t.dims.size()));
    w.u64(t.dim_names.size());
    for (const auto& n : t.dim_names) w.string(n);
  }
  w.u64(nl);
  for (const auto& l : net.layers) writeLayer(w, l, nt);
  writeIds(w, net.inputs, nt, false, "network input");
  writeIds(w, net.outputs, nt, false, "network output");
}

// ---- reading ----

DataType readDtype(Reader& r, const std::string& field) {
  const size_t at = r.offset();
  const int32_t v = r.i32(field);
  if (!validDtype(v))
    r.malformed(field, at, str("data type ", v, " is not one of 0..11 or 16..26"));
  return static_cast<DataType>(v);
}

Dims readDims(Reader& r, const std::string& field, int64_t minDim) {
  Dims d(r.count(field + " rank", 8));
  for (size_t i = 0; i < d.size(); ++i) {
    const size_t at = r.offset();
    d[i] = r.i64(field);
    if (d[i] < minDim)
      r.malformed(field, at,
                  str("dimension ", i, " is ", d[i],
                      minDim < 0 ? ", expected >= 0 or -1" : ", expected >= 0"));
  }
  return d;
}

HostTensor readHost(Reader& r, const std::string& field) {
  HostTensor h;
  h.dtype = readDtype(r, field + " dtype");
  h.dims = readDims(r, field + " dims", 0);
  const size_t at = r.offset();
  h.bytes = r.bytes(field + " data");
  if (!isEmptyHost(h) && expectedBytes(h.dtype, h.dims) != h.bytes.size())
    r.malformed(field + " data", at,
                expectedBytes(h.dtype, h.dims) == kBadSize
                    ? sizeProblem(h.dtype, h.dims)
                    : str(h.bytes.size(), " bytes, shape ", dimsToString(h.dims), " ",
                          dtypeName(h.dtype), " needs ", expectedBytes(h.dtype, h.dims)));
  return h;
}

std::vector<int> readIds(Reader& r, const std::string& field, size_t nTensors, bool allowAbsent) {
  std::vector<int> ids(r.count(field + " count", 4));
  for (int& id : ids) {
    const size_t at = r.offset();
    id = r.i32(field);
    if (id < (allowAbsent ? -1 : 0) || id >= static_cast<int64_t>(nTensors))
      r.malformed(
          field, at,
          str("tensor id ", id, " out of range [", allowAbsent ? "-1" : "0", ", ", nTensors, ")"));
  }
  return ids;
}

std::optional<DataType> readOptDtype(Reader& r, const std::string& field) {
  if (!r.flag(field + " present")) return std::nullopt;
  return readDtype(r, field);
}

void readAttrs(Reader& r, ir::Attrs& attrs) {
  const size_t n = r.count("attr count", kMinAttr);
  for (size_t i = 0; i < n; ++i) {
    const size_t keyAt = r.offset();
    const std::string key = r.string("attr name");
    if (attrs.has(key)) r.malformed("attr name", keyAt, "duplicate '" + printable(key) + "'");
    const std::string field = "attr '" + printable(key) + "'";
    const size_t tagAt = r.offset();
    const uint8_t tag = r.u8(field + " type");
    switch (tag) {
      case kTagInt:
        attrs.set(key, r.i64(field));
        break;
      case kTagFloat:
        attrs.set(key, r.f64(field));
        break;
      case kTagString:
        attrs.set(key, r.string(field));
        break;
      case kTagInts: {
        std::vector<int64_t> v(r.count(field + " count", 8));
        for (auto& x : v) x = r.i64(field);
        attrs.set(key, std::move(v));
        break;
      }
      case kTagFloats: {
        std::vector<double> v(r.count(field + " count", 8));
        for (auto& x : v) x = r.f64(field);
        attrs.set(key, std::move(v));
        break;
      }
      default:
        r.malformed(field + " type", tagAt, str("type tag ", int(tag), " is not one of 0..4"));
    }
  }
}

ir::Layer readLayer(Reader& r, size_t index, size_t nTensors) {
  ir::Layer l;
  r.context = str("layer ", index);
  l.name = r.string("name");
  r.context = str("layer ", index, " '", printable(l.name), "'");
  const size_t kindAt = r.offset();
  const std::string kind = r.string("kind");
  try {
    l.kind = ir::layerKindFromName(kind);
  } catch (const Error&) {
    r.malformed("kind", kindAt, "unknown layer kind '" + printable(kind) + "'");
  }
  l.inputs = readIds(r, "input", nTensors, true);
  l.outputs = readIds(r, "output", nTensors, false);
  readAttrs(r, l.attrs);
  const size_t nw = r.count("weight count", kMinWeight);
  for (size_t i = 0; i < nw; ++i) {
    const size_t at = r.offset();
    std::string name = r.string("weight name");
    if (l.weights.count(name))
      r.malformed("weight name", at, "duplicate '" + printable(name) + "'");
    l.weights[name] = readHost(r, "weight '" + printable(name) + "'");
  }
  l.onnx_nodes.resize(r.count("onnx node count", 8));
  for (auto& n : l.onnx_nodes) n = r.string("onnx node name");
  l.precision = readOptDtype(r, "precision");
  l.output_types.resize(r.count("output type count", 1));
  for (auto& t : l.output_types) t = readOptDtype(r, "output type");
  l.dead = r.flag("dead flag");
  r.context.clear();
  return l;
}

void readNetwork(Reader& r, ir::Network& net) {
  const size_t nt = r.count("tensor count", kMinTensor);
  net.tensors.resize(nt);
  std::vector<size_t> producerAt(nt);
  for (size_t i = 0; i < nt; ++i) {
    ir::Tensor& t = net.tensors[i];
    r.context = str("tensor ", i);
    t.name = r.string("name");
    r.context = str("tensor ", i, " '", printable(t.name), "'");
    t.dtype = readDtype(r, "dtype");
    const size_t dimsAt = r.offset();
    t.dims = readDims(r, "dims", -1);
    if (isStatic(t.dims) && expectedBytes(t.dtype, t.dims) == kBadSize)
      r.malformed("dims", dimsAt, sizeProblem(t.dtype, t.dims));
    producerAt[i] = r.offset();
    t.producer = r.i32("producer");
    t.is_input = r.flag("input flag");
    t.is_output = r.flag("output flag");
    t.is_shape_tensor = r.flag("shape tensor flag");
    t.debug = r.flag("debug flag");
    if (r.flag("dynamic range present")) {
      const float lo = r.f32("dynamic range");
      t.dynamic_range = std::make_pair(lo, r.f32("dynamic range"));
    }
    t.onnx_name = r.string("ONNX output name");
    const size_t formatAt = r.offset();
    const uint8_t format = r.u8("format");
    if (format > static_cast<uint8_t>(ir::TensorFormat::kHWC))
      r.malformed("format", formatAt, str("unknown tensor format ", int{format}));
    t.format = static_cast<ir::TensorFormat>(format);
    const size_t namesAt = r.offset();
    t.dim_names.resize(r.count("dimension name count", 8));
    if (!t.dim_names.empty() && t.dim_names.size() != t.dims.size())
      r.malformed("dimension name count", namesAt,
                  str(t.dim_names.size(), " names for rank ", t.dims.size()));
    for (auto& n : t.dim_names) n = r.string("dimension name");
  }
  r.context.clear();
  const size_t nl = r.count("layer count", kMinLayer);
  if (nt > size_t(std::numeric_limits<int32_t>::max()) ||
      nl > size_t(std::numeric_limits<int32_t>::max()))
    r.malformed("layer count", r.offset(), "network too large for 32-bit ids");
  net.layers.reserve(nl);
  for (size_t i = 0; i < nl; ++i) net.layers.push_back(readLayer(r, i, nt));
  for (size_t i = 0; i < nt; ++i) {
    const int p = net.tensors[i].producer;
    if (p < -1 || p >= static_cast<int64_t>(nl))
      r.malformed(str("tensor ", i, " '", printable(net.tensors[i].name), "' producer"),
                  producerAt[i], str("layer id ", p, " out of range [-1, ", nl, ")"));
  }
  net.inputs = readIds(r, "network input", nt, false);
  net.outputs = readIds(r, "network output", nt, false);
}

}  // namespace

std::vector<uint8_t> serialize(const plan::EngineDesc& desc) {
  Writer w;
  // Weights and binaries dominate; reserving them up front avoids copying them on growth.
  size_t bulk = 4096 + 256 * (desc.net.layers.size() + desc.net.tensors.size());
  for (const auto* net : {&desc.net, &desc.refit_source})
    for (const auto& l : net->layers)
      for (const auto& kv : l.weights) bulk += kv.second.bytes.size() + 64;
  for (const auto& kv : desc.program_binaries) bulk += kv.second.size() + kv.first.size() + 16;
  w.reserve(bulk);
  w.raw(kMagic, sizeof kMagic);
  w.u32(kFormatVersion);
  w.u64(0);  // total length, patched below
  w.u64(0);  // checksum, patched below

  w.string(desc.clrt_version);
  w.string(desc.device_name);
  w.string(desc.device_fingerprint);
  w.u64(desc.peak_activation_bytes);
  w.u64(desc.workspace_bytes);
  w.string(desc.name);
  w.u32(static_cast<uint32_t>(desc.profiling_verbosity));
  writeNetwork(w, desc.net);
  w.u64(desc.tactics.size());
  for (const auto& t : desc.tactics) w.string(t);
  w.u64(desc.on_host.size());
  for (uint8_t h : desc.on_host) w.u8(h != 0);
  w.u64(desc.profiles.size());
  for (const auto& p : desc.profiles) {
    w.u64(p.shapes.size());
    for (const auto& [name, range] : p.shapes) {
      w.string(name);
      for (const Dims* d : {&range.min, &range.opt, &range.max}) {
        for (int64_t x : *d)
          if (x < -1) unwritable(str("profile shape for '", name, "' has dimension ", x));
        writeDims(w, *d);
      }
    }
    w.u64(p.values.size());
    for (const auto& [name, range] : p.values) {
      w.string(name);
      w.u8(range.real());
      if (range.real()) {
        for (const auto* v : {&range.fmin, &range.fopt, &range.fmax}) {
          w.u64(v->size());
          for (double x : *v) w.f64(x);
        }
        continue;
      }
      for (const auto* v : {&range.min, &range.opt, &range.max}) writeDims(w, *v);
    }
  }
  w.u64(desc.program_binaries.size());
  for (const auto& [key, bin] : desc.program_binaries) {
    w.string(key);
    w.u64(checksum64(bin.data(), bin.size()));
    w.bytes(bin);
  }
  w.u8(desc.refittable);
  if (desc.refittable) {
    w.u8(desc.refit_fuse_attention);
    writeNetwork(w, desc.refit_source);
    w.string(desc.refit_onnx);
    w.string(desc.refit_onnx_dir);
  }

  auto& buf = w.buffer();
  w.patchU64(kLengthAt, buf.size());
  w.patchU64(kChecksumAt, checksum64(buf.data() + kHeaderBytes, buf.size() - kHeaderBytes));
  return std::move(buf);
}

plan::EngineDesc deserialize(const uint8_t* data, size_t size, bool programBinaries) {
  if (!data) size = 0;
  if (size == 0)
    fail(ErrorKind::kEngineFormat, str("engine file truncated: empty, a clrt engine starts with a ",
                                       kHeaderBytes, "-byte header"));
  const size_t m = std::min(size, sizeof kMagic);
  if (std::memcmp(data, kMagic, m) != 0)
    fail(ErrorKind::kEngineFormat,
         str("not a clrt engine file (bad magic): starts with '",
             printable(std::string(reinterpret_cast<const char*>(data), m)),
             "', expected 'CLRTENG\\x00'"));
  Reader header(data, size, 0);
  if (size < kVersionAt + 4)
    fail(ErrorKind::kEngineFormat,
         str("engine file truncated: header needs ", kHeaderBytes, " bytes, got ", size));
  uint32_t version;
  std::memcpy(&version, data + kVersionAt, 4);
  if (version != kFormatVersion)
    fail(ErrorKind::kEngineFormat, str("engine format version ", version, ", this clrt reads ",
                                       kFormatVersion, "; rebuild the engine with this clrt"));
  if (size < kHeaderBytes)
    fail(ErrorKind::kEngineFormat,
         str("engine file truncated: header needs ", kHeaderBytes, " bytes, got ", size));
  uint64_t total, sum;
  std::memcpy(&total, data + kLengthAt, 8);
  std::memcpy(&sum, data + kChecksumAt, 8);
  if (total < kHeaderBytes)
    header.malformed("header length", kLengthAt,
                     str(total, " is smaller than the ", kHeaderBytes, "-byte header"));
  if (size < total)
    fail(ErrorKind::kEngineFormat,
         str("engine file truncated: header says ", total, " bytes, got ", size));
  if (size > total)
    header.malformed("header length", kLengthAt,
                     str("header says ", total, " bytes, got ", size, " (trailing data)"));
  if (checksum64(data + kHeaderBytes, size - kHeaderBytes) != sum)
    fail(ErrorKind::kEngineFormat, "engine file corrupted: checksum mismatch");

  Reader r(data + kHeaderBytes, size - kHeaderBytes, kHeaderBytes);
  plan::EngineDesc desc;
  desc.clrt_version = r.string("clrt version");
  // Layer attributes, tactics and program keys mean what this clrt's code says; an engine from
  // another clrt may pass every structural check and still compute something else.
  if (desc.clrt_version != kVersion)
    fail(ErrorKind::kEngineFormat,
         str("engine file from clrt ", printable(desc.clrt_version), ", this is clrt ", kVersion,
             "; rebuild the engine with this clrt"));
  desc.device_name = r.string("device name");
  desc.device_fingerprint = r.string("device fingerprint");
  desc.peak_activation_bytes = r.u64("peak activation bytes");
  desc.workspace_bytes = r.u64("workspace bytes");
  desc.name = r.string("engine name");
  desc.profiling_verbosity = static_cast<int32_t>(r.u32("profiling verbosity"));
  readNetwork(r, desc.net);
  desc.tactics.resize(r.count("tactic count", 8));
  for (auto& t : desc.tactics) t = r.string("tactic name");
  desc.on_host.resize(r.count("host placement count", 1));
  for (auto& h : desc.on_host) h = r.flag("host placement flag");
  desc.profiles.resize(r.count("profile count", 8));
  for (size_t pi = 0; pi < desc.profiles.size(); ++pi) {
    auto& shapes = desc.profiles[pi].shapes;
    r.context = str("profile ", pi);
    const size_t n = r.count("input count", kMinShapeRange);
    for (size_t i = 0; i < n; ++i) {
      const size_t at = r.offset();
      std::string name = r.string("input name");
      if (shapes.count(name)) r.malformed("input name", at, "duplicate '" + printable(name) + "'");
      const std::string field = "input '" + printable(name) + "'";
      plan::ShapeRange range;
      range.min = readDims(r, field + " min", -1);
      range.opt = readDims(r, field + " opt", -1);
      range.max = readDims(r, field + " max", -1);
      shapes.emplace(std::move(name), std::move(range));
    }
    auto& values = desc.profiles[pi].values;
    const size_t nv = r.count("shape input count", kMinShapeRange);
    for (size_t i = 0; i < nv; ++i) {
      const size_t at = r.offset();
      std::string name = r.string("shape input name");
      if (values.count(name))
        r.malformed("shape input name", at, "duplicate '" + printable(name) + "'");
      const std::string field = "shape input '" + printable(name) + "' values";
      ValueRange range;
      if (r.flag(field + " kind")) {
        for (auto* v : {&range.fmin, &range.fopt, &range.fmax}) {
          const size_t n = r.count(field + " count", 8);
          for (size_t k = 0; k < n; ++k) v->push_back(r.f64(field));
        }
        values.emplace(std::move(name), std::move(range));
        continue;
      }
      const int64_t any = std::numeric_limits<int64_t>::min();
      range.min = readDims(r, field + " min", any);
      range.opt = readDims(r, field + " opt", any);
      range.max = readDims(r, field + " max", any);
      values.emplace(std::move(name), std::move(range));
    }
  }
  r.context.clear();
  const size_t nb = r.count("program binary count", kMinBinary);
  std::set<std::string> keys;
  for (size_t i = 0; i < nb; ++i) {
    const size_t at = r.offset();
    std::string key = r.string("program binary key");
    if (!keys.insert(key).second)
      r.malformed("program binary key", at, "duplicate '" + printable(key) + "'");
    const std::string field = "program binary '" + printable(key) + "'";
    const uint64_t sum = r.u64(field + " checksum");
    const size_t binAt = r.offset();
    std::vector<uint8_t> bin = r.bytes(field);
    if (!programBinaries) continue;
    // Checked before any driver sees it: OpenCL loaders crash on damaged binaries.
    if (bin.empty() || checksum64(bin.data(), bin.size()) != sum)
      r.malformed(field, binAt,
                  "the binary does not match its checksum (damaged or edited); load the engine "
                  "with Runtime.rebuild_programs = True to build its programs from source");
    desc.program_binaries[key] = std::move(bin);
  }
  desc.refittable = r.flag("refittable flag");
  if (desc.refittable) {
    desc.refit_fuse_attention = r.flag("refit pass options");
    r.context = "refit source network";
    readNetwork(r, desc.refit_source);
    desc.refit_onnx = r.string("refit ONNX model");
    desc.refit_onnx_dir = r.string("refit ONNX directory");
    r.context.clear();
  }
  if (r.remaining() != 0)
    r.malformed("end of engine", r.offset(), str(r.remaining(), " unexpected trailing bytes"));
  return desc;
}

std::string ValueRange::text(int corner) const {
  if (!real()) return dimsToString(corner == 0 ? min : corner == 1 ? opt : max);
  std::string out = "[";
  for (double v : corner == 0 ? fmin : corner == 1 ? fopt : fmax)
    out += (out.size() > 1 ? ", " : "") + str(v);
  return out + "]";
}

}  // namespace clrt::plan
