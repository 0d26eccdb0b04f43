// Typed exceptions used inside the core; the Python edge translates each kind once.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace clrt {

enum class ErrorKind {
  kValue,         // bad argument from the user (wrong name, shape, dtype) -> ValueError
  kParse,         // ONNX model cannot be read or imported -> clrt.ParseError
  kBuild,         // the builder cannot produce an engine -> clrt.BuildError
  kRuntime,       // execution failed -> RuntimeError
  kEngineFormat,  // a serialized engine is truncated, corrupted or for another device ->
                  // clrt.EngineFormatError
  kDevice,        // OpenCL reported an error -> clrt.DeviceError
  kUnsupported,   // a feature clrt does not implement -> clrt.UnsupportedError
  kFile,          // file missing or unreadable -> FileNotFoundError / OSError
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& msg) : std::runtime_error(msg), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

[[noreturn]] inline void fail(ErrorKind kind, const std::string& msg) { throw Error(kind, msg); }

// Builds a message from streamable pieces: fail(ErrorKind::kValue, str("bad dim ", d)).
template <typename... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace clrt

#define CLRT_CHECK(cond, kind, ...)                                               \
  do {                                                                            \
    if (!(cond)) ::clrt::fail(::clrt::ErrorKind::kind, ::clrt::str(__VA_ARGS__)); \
  } while (0)
