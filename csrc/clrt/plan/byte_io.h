// Little-endian byte writer and bounds-checked reader for the engine file.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "clrt/core/checksum.h"
#include "clrt/core/error.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the engine file stores weights and binaries as host bytes: little-endian hosts only"
#endif

namespace clrt::plan {

class Writer {
 public:
  std::vector<uint8_t>& buffer() { return buf_; }
  size_t size() const { return buf_.size(); }
  void reserve(size_t n) { buf_.reserve(n); }

  void u8(uint8_t v) { buf_.push_back(v); }
  void u32(uint32_t v) { raw(&v, 4); }
  void i32(int32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void i64(int64_t v) { raw(&v, 8); }
  void f32(float v) { raw(&v, 4); }
  void f64(double v) { raw(&v, 8); }
  void string(const std::string& s) {
    u64(s.size());
    raw(s.data(), s.size());
  }
  void bytes(const std::vector<uint8_t>& b) {
    u64(b.size());
    raw(b.data(), b.size());
  }
  void raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  void patchU64(size_t at, uint64_t v) { std::memcpy(buf_.data() + at, &v, 8); }

 private:
  std::vector<uint8_t> buf_;
};

// Makes a name read from a damaged file safe to print: printable ASCII, bounded length.
inline std::string printable(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 64; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > 64) out += "...";
  return out;
}

// A whole message that may quote bytes from a damaged file: newlines and printable ASCII kept,
// other bytes escaped, so it stays valid text for any consumer (Python decodes it as UTF-8).
inline std::string printableText(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if ((c >= 0x20 && c < 0x7f) || c == '\n') {
      out += ch;
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Every read checks the remaining bytes first; failures name the field and its file offset.
// `context` (e.g. "layer 3 'conv1'") prefixes field names in messages.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, size_t fileOffset)
      : p_(data), n_(size), base_(fileOffset) {}

  std::string context;

  size_t offset() const { return base_ + pos_; }  // position in the whole file
  size_t remaining() const { return n_ - pos_; }

  [[noreturn]] void malformed(const std::string& field, size_t at, const std::string& why) const {
    fail(ErrorKind::kEngineFormat,
         clrt::str("engine file malformed: ", context.empty() ? "" : context + " ", field,
                   " at offset ", at, ": ", why));
  }

  uint8_t u8(const std::string& field) { return fixed<uint8_t>(field); }
  uint32_t u32(const std::string& field) { return fixed<uint32_t>(field); }
  int32_t i32(const std::string& field) { return fixed<int32_t>(field); }
  uint64_t u64(const std::string& field) { return fixed<uint64_t>(field); }
  int64_t i64(const std::string& field) { return fixed<int64_t>(field); }
  float f32(const std::string& field) { return fixed<float>(field); }
  double f64(const std::string& field) { return fixed<double>(field); }

  bool flag(const std::string& field) {
    const size_t at = offset();
    const uint8_t v = u8(field);
    if (v > 1) malformed(field, at, clrt::str("flag is ", int(v), ", expected 0 or 1"));
    return v == 1;
  }

  // An element count, refused unless `count * minElemBytes` fits in what is left, so a
  // corrupted count can never trigger a huge allocation.
  size_t count(const std::string& field, size_t minElemBytes) {
    const size_t at = offset();
    const uint64_t c = u64(field);
    if (c > remaining() / minElemBytes)
      malformed(field, at,
                clrt::str("count ", c, " needs at least ", minElemBytes, " bytes each, only ",
                          remaining(), " bytes left"));
    return static_cast<size_t>(c);
  }

  std::string string(const std::string& field) {
    const size_t n = count(field + " length", 1);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return s;
  }

  std::vector<uint8_t> bytes(const std::string& field) {
    const size_t n = count(field + " length", 1);
    std::vector<uint8_t> b(p_ + pos_, p_ + pos_ + n);
    pos_ += n;
    return b;
  }

 private:
  template <typename T>
  T fixed(const std::string& field) {
    if (remaining() < sizeof(T))
      malformed(field, offset(),
                clrt::str("needs ", sizeof(T), " bytes, only ", remaining(), " left"));
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  const uint8_t* p_;
  size_t n_;
  size_t base_;
  size_t pos_ = 0;
};

}  // namespace clrt::plan
