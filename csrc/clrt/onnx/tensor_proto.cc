// ONNX TensorProto -> HostTensor: raw and typed fields, and external data files next to the model.
#include <cstring>
#include <filesystem>
#include <fstream>

#include "clrt/onnx/importer.h"

namespace clrt::onnx {

namespace fs = std::filesystem;
using TP = ::onnx::TensorProto;

std::string onnxTypeName(int t) {
  // Types newer than the protobuf clrt is built with are named from ONNX's numbering.
  static const char* const kNewer[] = {
      "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ",
      "UINT4",    "INT4",         "FLOAT4E2M1",     "FLOAT8E8M0", "UINT2",
      "INT2"};
  if (TP::DataType_IsValid(t)) return TP::DataType_Name(static_cast<TP::DataType>(t));
  if (t >= 16 && t <= 26) return kNewer[t - 16];
  return str("type ", t);
}

namespace {
const char* kSupportedTypes =
    "FLOAT, FLOAT16, BFLOAT16, DOUBLE, the FLOAT8 types, FLOAT4E2M1, INT8, UINT8, INT16, UINT16, "
    "INT32, UINT32, INT64, UINT64, INT4, UINT4, INT2, UINT2 and BOOL are";
// TensorProto's types newer than some protobufs clrt builds with, by number (see onnxTypeName).
enum NewerOnnxType : int {
  kOnnxBf16 = 16,
  kOnnxFp8E4M3Fn = 17,
  kOnnxFp8E4M3Fnuz = 18,
  kOnnxFp8E5M2 = 19,
  kOnnxFp8E5M2Fnuz = 20,
  kOnnxUint4 = 21,
  kOnnxInt4 = 22,
  kOnnxFp4E2M1 = 23,
  kOnnxFp8E8M0 = 24,
  kOnnxUint2 = 25,
  kOnnxInt2 = 26,
};

// Bits per element of the types ONNX files pack several to a byte (0: not packed).
int packedBits(int onnxType) {
  switch (onnxType) {
    case kOnnxUint4:
    case kOnnxInt4:
    case kOnnxFp4E2M1:
      return 4;
    case kOnnxUint2:
    case kOnnxInt2:
      return 2;
    default:
      return 0;
  }
}
}  // namespace

DataType ioDtypeFromOnnx(int t, const std::string& what) {
  switch (t) {
    case TP::DOUBLE:
      return DataType::kDOUBLE;
    case TP::INT16:
      return DataType::kINT16;
    case TP::UINT16:
      return DataType::kUINT16;
    case TP::UINT32:
      return DataType::kUINT32;
    case TP::UINT64:
      return DataType::kUINT64;
    case TP::FLOAT:
    case TP::FLOAT16:
    case kOnnxBf16:
    case kOnnxFp8E4M3Fn:
    case kOnnxFp8E4M3Fnuz:
    case kOnnxFp8E5M2:
    case kOnnxFp8E5M2Fnuz:
    case kOnnxUint4:
    case kOnnxInt4:
    case kOnnxFp4E2M1:
    case kOnnxFp8E8M0:
    case kOnnxUint2:
    case kOnnxInt2:
    case TP::INT8:
    case TP::UINT8:
    case TP::INT32:
    case TP::INT64:
    case TP::BOOL:
      return dtypeFromOnnx(t, what);
    default:
      fail(ErrorKind::kUnsupported, str(what, ": ONNX data type ", onnxTypeName(t),
                                        " is not supported (", kSupportedTypes, ")"));
  }
}

DataType dtypeFromOnnx(int t, const std::string& what) {
  switch (t) {
    case TP::FLOAT:
    case TP::DOUBLE:  // narrowed on read: clrt computes in float32
      return DataType::kFLOAT;
    case TP::FLOAT16:
      return DataType::kHALF;
    case kOnnxBf16:
      return DataType::kBF16;
    case kOnnxFp8E4M3Fn:
      return DataType::kFP8;
    case kOnnxFp8E4M3Fnuz:
      return DataType::kFP8E4M3FNUZ;
    case kOnnxFp8E5M2:
      return DataType::kFP8E5M2;
    case kOnnxFp8E5M2Fnuz:
      return DataType::kFP8E5M2FNUZ;
    case kOnnxUint4:
      return DataType::kUINT4;
    case kOnnxInt4:
      return DataType::kINT4;
    case kOnnxFp4E2M1:
      return DataType::kFP4;
    case kOnnxFp8E8M0:
      return DataType::kE8M0;
    case kOnnxUint2:
      return DataType::kUINT2;
    case kOnnxInt2:
      return DataType::kINT2;
    case TP::INT8:
      return DataType::kINT8;
    case TP::UINT8:
      return DataType::kUINT8;
    case TP::INT16:
      return DataType::kINT16;
    case TP::UINT16:
      return DataType::kUINT16;
    case TP::INT32:
      return DataType::kINT32;
    case TP::UINT32:
      return DataType::kUINT32;
    case TP::INT64:
      return DataType::kINT64;
    case TP::UINT64:
      return DataType::kUINT64;
    case TP::BOOL:
      return DataType::kBOOL;
    default:
      fail(ErrorKind::kUnsupported, str(what, ": ONNX data type ", onnxTypeName(t),
                                        " is not supported (", kSupportedTypes, ")"));
  }
}

namespace {

// A non-negative decimal integer, or -1 (no exceptions: the text comes from the file).
int64_t parseCount(const std::string& s) {
  if (s.empty() || s.size() > 18) return -1;
  int64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return -1;
    v = v * 10 + (ch - '0');
  }
  return v;
}

// Refuses locations that could leave the model's folder (absolute, or with a '..' component).
bool safeLocation(const std::string& location) {
  if (location.empty() || location[0] == '/' || location.find('\\') != std::string::npos)
    return false;
  for (const auto& part : fs::path(location))
    if (part == "..") return false;
  return true;
}

// Whether `path`, with every symbolic link resolved, still lies inside `folder`: a link in the
// model's folder must not let the model read any file the process can.
bool insideFolder(const fs::path& folder, const fs::path& path) {
  std::error_code ec1, ec2;
  const fs::path base = fs::canonical(folder, ec1), real = fs::canonical(path, ec2);
  if (ec1 || ec2) return false;
  auto b = base.begin(), r = real.begin();
  for (; b != base.end(); ++b, ++r)
    if (r == real.end() || *b != *r) return false;
  return r != real.end();
}

std::string externalBytes(const TP& t, const std::string& dir, size_t expected) {
  const std::string what = "tensor '" + t.name() + "'";
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset" || kv.key() == "length") {
      const int64_t v = parseCount(kv.value());
      CLRT_CHECK(v >= 0, kParse, what, ": external data ", kv.key(), " '", kv.value(),
                 "' is not a non-negative integer");
      (kv.key() == "offset" ? offset : length) = v;
    }
  }
  CLRT_CHECK(!location.empty(), kParse, what, ": external data without a 'location'");
  CLRT_CHECK(safeLocation(location), kParse, what, ": external data location '", location,
             "' must be a relative path inside the model's folder");
  const fs::path folder = dir.empty() ? "." : dir;
  const fs::path path = folder / location;
  std::error_code ec;
  CLRT_CHECK(fs::is_regular_file(path, ec), kFile, what, ": external data file '", path.string(),
             "' does not exist or is not a file");
  CLRT_CHECK(insideFolder(folder, path), kParse, what, ": external data file '", path.string(),
             "' resolves (through a symbolic link) to a file outside the model's folder");
  const uint64_t size = fs::file_size(path, ec);
  CLRT_CHECK(!ec, kFile, what, ": cannot read the size of external data file '", path.string(),
             "'");
  CLRT_CHECK(length < 0 || static_cast<uint64_t>(length) == expected, kParse, what,
             ": external data length ", length, " does not match its shape (", expected, " bytes)");
  CLRT_CHECK(static_cast<uint64_t>(offset) <= size && expected <= size - offset, kParse, what,
             ": external data file '", path.string(), "' has ", size, " bytes, need ", expected,
             " from offset ", offset);
  std::ifstream f(path, std::ios::binary);
  std::string buf(expected, '\0');
  f.seekg(offset);
  f.read(buf.data(), static_cast<std::streamsize>(expected));
  CLRT_CHECK(f.good() || (expected == 0), kFile, what, ": reading ", expected,
             " bytes of external data file '", path.string(), "' failed");
  return buf;
}

// Element count with overflow and sanity checks, before anything is allocated.
int64_t elementCount(const Dims& dims, const std::string& what) {
  constexpr int64_t kMax = int64_t{1} << 40;
  int64_t n = 1;
  for (int64_t d : dims) {
    CLRT_CHECK(d >= 0, kParse, what, ": negative dim ", d, " in ", dimsToString(dims));
    CLRT_CHECK(d == 0 || n <= kMax / d, kParse, what, ": shape ", dimsToString(dims),
               " is too large");
    n *= d;
  }
  return n;
}

}  // namespace

HostTensor tensorFromProto(const TP& t, const std::string& dir) {
  const std::string what = "tensor '" + t.name() + "'";
  const DataType dt = dtypeFromOnnx(t.data_type(), what);
  CLRT_CHECK(!t.has_segment(), kUnsupported, what, ": segmented tensors are not supported");
  const Dims dims(t.dims().begin(), t.dims().end());
  const int64_t n = elementCount(dims, what);
  const bool isDouble = t.data_type() == TP::DOUBLE;
  const size_t elem = isDouble ? 8 : dtypeSize(dt);
  const int bits = packedBits(t.data_type());
  const size_t bytes =
      bits ? (static_cast<size_t>(n) * bits + 7) / 8 : static_cast<size_t>(n) * elem;
  const bool external = t.data_location() == TP::EXTERNAL;
  if (bits) {  // 4- and 2-bit elements packed low bits first (raw bytes, or one per int32_data)
    std::string packed;
    if (external || t.has_raw_data()) {
      packed = external ? externalBytes(t, dir, bytes) : t.raw_data();
    } else {
      for (int32_t v : t.int32_data()) packed.push_back(static_cast<char>(v));
    }
    CLRT_CHECK(packed.size() == bytes, kParse, what, ": ", packed.size(),
               " bytes of packed data for shape ", dimsToString(dims), " (", n, " elements of ",
               bits, " bits need ", bytes, ")");
    HostTensor h(dt, dims);
    const int per = 8 / bits;
    for (int64_t i = 0; i < n; ++i)
      h.bytes[i] = static_cast<uint8_t>(
          (static_cast<uint8_t>(packed[i / per]) >> (i % per * bits)) & ((1 << bits) - 1));
    return h;
  }
  if (external || t.has_raw_data()) {
    const std::string raw = external ? externalBytes(t, dir, bytes) : t.raw_data();
    CLRT_CHECK(raw.size() == bytes, kParse, what, ": ", raw.size(), " bytes of data for shape ",
               dimsToString(dims), " (", n, " elements of ", elem, " bytes)");
    HostTensor h(dt, dims);
    if (!isDouble) {
      if (bytes) std::memcpy(h.bytes.data(), raw.data(), bytes);
      return h;
    }
    for (int64_t i = 0; i < n; ++i) {
      double v;
      std::memcpy(&v, raw.data() + 8 * i, 8);
      h.f32()[i] = static_cast<float>(v);
    }
    return h;
  }
  auto need = [&](int have) {
    CLRT_CHECK(have == n, kParse, what, ": ", have, " values for shape ", dimsToString(dims), " (",
               n, " elements)");
  };
  switch (t.data_type()) {
    case TP::FLOAT:
      need(t.float_data_size());
      return HostTensor::fromFloats(dims, {t.float_data().begin(), t.float_data().end()});
    case TP::DOUBLE: {
      need(t.double_data_size());
      return HostTensor::fromFloats(dims, {t.double_data().begin(), t.double_data().end()});
    }
    case TP::INT64:
      need(t.int64_data_size());
      return HostTensor::fromInt64(dims, {t.int64_data().begin(), t.int64_data().end()});
    case TP::UINT32:
    case TP::UINT64: {
      need(t.uint64_data_size());
      HostTensor h(dt, dims);
      for (int64_t i = 0; i < n; ++i) {
        const uint64_t v = t.uint64_data(static_cast<int>(i));
        if (dt == DataType::kUINT32) {
          const uint32_t w = static_cast<uint32_t>(v);
          std::memcpy(h.bytes.data() + 4 * i, &w, 4);
        } else {
          std::memcpy(h.bytes.data() + 8 * i, &v, 8);
        }
      }
      return h;
    }
    default: {
      // INT32, INT16, UINT16, INT8, UINT8, BOOL, FLOAT16, BFLOAT16 and the FLOAT8 types (as
      // bits) live in int32_data.
      need(t.int32_data_size());
      HostTensor h(dt, dims);
      for (int64_t i = 0; i < n; ++i) {
        const int32_t v = t.int32_data(static_cast<int>(i));
        if (dt == DataType::kINT32) {
          std::memcpy(h.bytes.data() + 4 * i, &v, 4);
        } else if (dtypeSize(dt) == 2) {  // HALF, BF16, INT16, UINT16
          const uint16_t b = static_cast<uint16_t>(v);
          std::memcpy(h.bytes.data() + 2 * i, &b, 2);
        } else {
          h.bytes[i] = static_cast<uint8_t>(dt == DataType::kBOOL ? (v != 0) : v);
        }
      }
      return h;
    }
  }
}

}  // namespace clrt::onnx
