// Program building (every .cl file behind the kernel prelude, kernels/prelude.clh) with three
// sources: the engine-file binaries of the load in progress, an
// in-process cache, and the disk cache (~/.cache/clrt, keyed by device fingerprint + source
// hash + options; entries checksummed), else a compilation of the embedded source.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "clrt/core/checksum.h"
#include "clrt/core/kernel_codes.h"
#include "clrt/ocl/compile_workers.h"
#include "clrt/ocl/device.h"
#include "clrt/ocl/disk_cache.h"
#include "clrt/ocl/fault.h"

namespace clrt::ocl {

const std::map<std::string, std::string>& embeddedKernels();  // generated at build time

namespace {

thread_local ProgramRecorder* t_recorder = nullptr;
thread_local const ProgramBinaryScope* t_binaries = nullptr;
thread_local ILogger* t_logger = nullptr;

std::mutex g_fault_mu;
std::string g_fault;  // setProgramFault's pattern

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

// Messages logged when it goes out of scope, to the thread's ProgramLogScope logger.
struct DeferredLog {
  std::vector<std::pair<Severity, std::string>> messages;
  void add(std::string m, Severity s = Severity::kWARNING) {
    messages.emplace_back(s, std::move(m));
  }
  ~DeferredLog() {
    for (const auto& [s, m] : messages) {
      try {
        logMessage(t_logger, s, m);
      } catch (...) {  // a logger that throws must not end the process from a destructor
      }
    }
  }
};

namespace {

std::string buildLog(cl_program p, cl_device_id d) {
  size_t n = 0;
  clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, 0, nullptr, &n);
  std::string log(n, '\0');
  if (n) clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, n, log.data(), nullptr);
  if (log.size() > 4000) log = log.substr(0, 4000) + "\n...";
  return log;
}

// A built program from a binary, or nullptr when the driver refuses it (why in `*why`, when
// given: the build log, or the refusal's error name).
cl_program fromBinary(cl_context ctx, cl_device_id dev, const std::vector<uint8_t>& bin,
                      const std::string& opts, std::string* why = nullptr) {
  if (bin.empty()) return nullptr;
  const unsigned char* ptr = bin.data();
  size_t n = bin.size();
  cl_int status = CL_SUCCESS, err = CL_SUCCESS;
  cl_program p = clCreateProgramWithBinary(ctx, 1, &dev, &n, &ptr, &status, &err);
  if (err != CL_SUCCESS || status != CL_SUCCESS) {
    if (why) *why = clErrorName(err != CL_SUCCESS ? err : status);
    if (p) clReleaseProgram(p);
    return nullptr;
  }
  if (clBuildProgram(p, 1, &dev, opts.c_str(), nullptr, nullptr) != CL_SUCCESS) {
    if (why) *why = buildLog(p, dev);
    clReleaseProgram(p);
    return nullptr;
  }
  return p;
}

std::vector<uint8_t> binaryOf(cl_program p) {
  size_t n = 0;
  if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, nullptr) != CL_SUCCESS || !n)
    return {};
  std::vector<uint8_t> bin(n);
  unsigned char* ptr = bin.data();
  if (clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof ptr, &ptr, nullptr) != CL_SUCCESS) return {};
  return bin;
}

// Programs built with -DTC_WGMMA=1 (kernels/tc_gemm.cl's Hopper path) on NVIDIA: their PTX
// holds the sm_90a instructions as comments ("//WG:"), since NVIDIA's OpenCL compiler targets
// sm_90, where ptxas rejects wgmma. The binary is that PTX uncommented and retargeted.
bool wantsRetarget(const std::string& opts, bool nvidia) {
  return nvidia && opts.find("-DTC_WGMMA=1") != std::string::npos &&
         opts.find("-DTC_EMULATE=1") == std::string::npos;
}

// CLRT_BUILD_LOG=1: every program built from source (the disk cache is not read) prints its
// options and build log to stderr; on NVIDIA with -cl-nv-verbose, which makes the log ptxas'
// registers, spills and shared memory per kernel.
bool buildLogWanted() {
  const char* e = std::getenv("CLRT_BUILD_LOG");
  return e && *e && *e != '0';
}

}  // namespace

ProgramBinaryScope::ProgramBinaryScope(const std::map<std::string, std::vector<uint8_t>>& binaries)
    : prev_(t_binaries) {
  for (const auto& [key, bin] : binaries)
    entries_[key] = {&bin, checksum64(bin.data(), bin.size())};
  t_binaries = this;
}
ProgramBinaryScope::~ProgramBinaryScope() { t_binaries = prev_; }
const ProgramBinaryScope::Entry* ProgramBinaryScope::find(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

ProgramLogScope::ProgramLogScope(ILogger* logger) : prev_(t_logger) { t_logger = logger; }
ProgramLogScope::~ProgramLogScope() { t_logger = prev_; }
ILogger* ProgramLogScope::current() { return t_logger; }

ProgramRecorder::ProgramRecorder() : prev_(t_recorder) { t_recorder = this; }
ProgramRecorder::~ProgramRecorder() { t_recorder = prev_; }
void ProgramRecorder::addOnThisThread(const std::vector<std::string>& keys) {
  if (t_recorder)
    for (const std::string& k : keys) t_recorder->add(k);
}

ProgramScopes ProgramScopes::current() { return {t_binaries, t_logger}; }
AdoptProgramScopes::AdoptProgramScopes(const ProgramScopes& s) : prev_{t_binaries, t_logger} {
  t_binaries = s.binaries;
  t_logger = s.logger;
}
AdoptProgramScopes::~AdoptProgramScopes() {
  t_binaries = prev_.binaries;
  t_logger = prev_.logger;
}

void ProgramRecorder::add(const std::string& key) {
  for (ProgramRecorder* r = this; r; r = r->prev_) {  // every recorder alive on the thread
    if (std::find(r->keys_.begin(), r->keys_.end(), key) == r->keys_.end()) r->keys_.push_back(key);
  }
}

namespace {

// The parts of the kernel prelude after the generated code defines, in order (prelude.clh).
constexpr const char* kPreludeParts[] = {"prelude.clh",    "activation.clh", "storage_io.clh",
                                         "run_errors.clh", "window.clh",     "int8_tile.clh"};

const std::string& embedded(const std::string& file) {
  const auto& t = embeddedKernels();
  auto it = t.find(file);
  CLRT_CHECK(it != t.end(), kRuntime, "no embedded OpenCL kernel file '", file, "'");
  return it->second;
}

// `src` with each line `#include "part.clh"` replaced by that embedded part (its own includes
// expanded the same way), followed by a
// #line that keeps the compiler's line numbers those of the file (OpenCL compilers get one
// source string and no include path).
std::string expandIncludes(const std::string& src) {
  static const std::string kDirective = "#include \"";
  std::string out;
  size_t pos = 0;
  int line = 1;
  while (pos < src.size()) {
    size_t end = src.find('\n', pos);
    end = end == std::string::npos ? src.size() : end + 1;
    const std::string text = src.substr(pos, end - pos);
    if (text.compare(0, kDirective.size(), kDirective) == 0) {
      const size_t close = text.find('"', kDirective.size());
      CLRT_CHECK(close != std::string::npos, kRuntime,
                 "malformed #include in a kernel file: ", text);
      out += expandIncludes(embedded(text.substr(kDirective.size(), close - kDirective.size())));
      out += str("\n#line ", line + 1, "\n");
    } else {
      out += text;
    }
    pos = end;
    ++line;
  }
  return out;
}

// Every .cl file with the prelude in front, composed once.
const std::map<std::string, std::string>& programSources() {
  static const std::map<std::string, std::string> sources = [] {
    std::string prelude = kernelCodeDefines();
    for (const char* part : kPreludeParts) prelude += embedded(part);
    std::map<std::string, std::string> m;
    for (const auto& [name, src] : embeddedKernels())
      if (name.size() > 3 && name.compare(name.size() - 3, 3, ".cl") == 0)
        m[name] = prelude + "#line 1\n" + expandIncludes(src);
    return m;
  }();
  return sources;
}

}  // namespace

const std::string& kernelSource(const std::string& file) {
  const auto& t = programSources();
  auto it = t.find(file);
  CLRT_CHECK(it != t.end(), kRuntime, "no embedded OpenCL kernel file '", file, "'");
  return it->second;
}

std::vector<std::string> kernelFiles() {
  std::vector<std::string> v;
  for (auto& [k, s] : programSources()) v.push_back(k);
  return v;
}

void setProgramFault(const std::string& pattern) {
  std::lock_guard<std::mutex> lock(g_fault_mu);
  g_fault = pattern;
}

std::string Device::programKey(const std::string& file, const std::string& options) {
  return file + "|" + options + "|" + hex(fnv1a(kernelSource(file)));
}

// Defines of every program on a device. HALF_BITS: storage_io.clh reads and writes 8 halves
// as one 16-byte access converted in private memory. On the H200 that copies a half tensor at
// 3.6 TB/s where vloada_half8 / vstorea_half8 reach 1.0 TB/s; on PoCL it is 8x slower than
// them, so it is NVIDIA's (CLRT_HALF_BITS=1 turns it on anywhere, for its tests).
std::string deviceDefines(const DeviceInfo& info) {
  const char* v = std::getenv("CLRT_HALF_BITS");
  const bool bits = v && *v ? std::string(v) != "0" : info.is_nvidia;
  return bits ? " -DHALF_BITS" : "";
}

cl_program Device::program(const std::string& file, const std::string& given) {
  const std::string options = given + deviceDefines(info_);
  const std::string key = programKey(file, options);
  if (t_recorder) t_recorder->add(key);
  DeferredLog warnings;  // destroyed after the lock: a Python logger takes the GIL
  const bool showLog = buildLogWanted();
  const std::string opts =
      "-cl-std=CL1.2 " + options + (showLog && info_.is_nvidia ? " -cl-nv-verbose" : "");
  const std::string what = str(file, " [", options, "]");
  {
    std::lock_guard<std::mutex> fl(g_fault_mu);
    if (!g_fault.empty() && what.find(g_fault) != std::string::npos)
      fail(ErrorKind::kDevice, str("building OpenCL program ", what, " for ", info_.name,
                                   " failed:\ninjected by clrt._clrt._debug.fail_programs"));
  }

  std::unique_lock<std::mutex> lock(mu_);
  if (const ProgramBinaryScope::Entry* e = t_binaries ? t_binaries->find(key) : nullptr) {
    const std::string binKey = key + "#" + hex(e->checksum);
    if (auto it = programs_.find(binKey); it != programs_.end()) return it->second;
    if (cl_program p = fromBinary(ctx_, dev_, *e->binary, opts)) return programs_[binKey] = p;
    warnings.add(str("the OpenCL driver refused the binary of ", what,
                     " that the engine file or timing cache carries; building it from source"));
  }
  if (auto it = programs_.find(key); it != programs_.end()) return it->second;
  // Another thread building this program: its result (or its error), without building it twice.
  if (auto it = building_.find(key); it != building_.end()) {
    std::shared_future<cl_program> f = it->second;
    lock.unlock();
    return f.get();
  }
  // Built here, outside the lock, so that threads building other programs build at once (the
  // builder instantiates a layer's candidate tactics on several threads).
  std::promise<cl_program> promise;
  building_[key] = promise.get_future().share();
  lock.unlock();
  try {
    cl_program prog = buildProgram(file, key, opts, what, showLog, warnings);
    lock.lock();
    programs_[key] = prog;
    building_.erase(key);
    promise.set_value(prog);
    return prog;
  } catch (...) {
    if (!lock.owns_lock()) lock.lock();
    building_.erase(key);
    promise.set_exception(std::current_exception());
    throw;
  }
}

// The program of `key` from the disk cache, else compiled from source (and put in the cache).
// Called without mu_; takes it only for the counters.
cl_program Device::buildProgram(const std::string& file, const std::string& key,
                                const std::string& opts, const std::string& what, bool showLog,
                                DeferredLog& warnings) {
  cl_program prog = nullptr;
  const std::string dir = detail::cacheDir();
  // The ".v2" entries carry a length and a checksum; older raw entries are simply not found.
  const std::string diskName = hex(fnv1a(info_.fingerprint() + "#" + key)) + ".v2.bin";
  if (!dir.empty() && !showLog) {
    const std::string path = dir + "/" + diskName;
    std::vector<uint8_t> entry;
    if (detail::readFile(path, entry)) {
      std::string why;
      const std::vector<uint8_t> bin = decodeCacheEntry(entry, &why);
      if (!bin.empty()) {
        prog = fromBinary(ctx_, dev_, bin, opts);
        if (prog) {
          std::lock_guard<std::mutex> lock(mu_);
          ++cache_loads_;
        }
        if (!prog) why = "the OpenCL driver refused its binary";
      }
      if (!prog) {
        warnings.add(str("kernel cache entry '", path, "' for ", what, " is damaged (", why,
                         "); deleting it and building the program from source"));
        detail::removeFile(path);
      }
    }
  }
  if (prog) return prog;
  const std::string& src = kernelSource(file);
  const auto t0 = std::chrono::steady_clock::now();
  auto counted = [&] {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::lock_guard<std::mutex> lock(mu_);
    ++compile_count_;
    compile_seconds_ += secs;
    return secs;
  };
  // In a worker process where there are some (NVIDIA), loading the binary it returns; built
  // here when it could not (a failed build then gives its own error) or the binary is refused.
  const bool retarget = wantsRetarget(opts, info_.is_nvidia);
  if (!showLog) {
    if (auto bin = detail::compileInWorker(dev_, info_.is_nvidia, src, opts)) {
      if (retarget && !retargetWgmma(*bin)) bin->clear();
      prog = fromBinary(ctx_, dev_, *bin, opts);
      if (prog) {
        const double secs = counted();
        warnings.add(str("built OpenCL program ", what, " in ", std::lround(secs * 1000),
                         " ms (in a compile worker process)"),
                     Severity::kVERBOSE);
        if (!dir.empty()) detail::writeFileAtomic(dir, diskName, encodeCacheEntry(*bin));
        return prog;
      }
    }
  }
  const char* s = src.c_str();
  size_t len = src.size();
  cl_int err = CL_SUCCESS;
  prog = clCreateProgramWithSource(ctx_, 1, &s, &len, &err);
  check(err, "clCreateProgramWithSource");
  const cl_int built = clBuildProgram(prog, 1, &dev_, opts.c_str(), nullptr, nullptr);
  const double secs = counted();
  if (built != CL_SUCCESS) {
    const std::string log = buildLog(prog, dev_);
    clReleaseProgram(prog);
    fail(ErrorKind::kDevice,
         str("building OpenCL program ", what, " for ", info_.name, " failed:\n", log));
  }
  if (retarget) prog = retargeted(prog, what);
  // Which programs a cold build spends its time on (clrtexec --verbose).
  warnings.add(str("built OpenCL program ", what, " in ", std::lround(secs * 1000), " ms"),
               Severity::kVERBOSE);
  if (showLog)
    std::fprintf(stderr, "clrt: built %s for %s:\n%s\n", what.c_str(), info_.name.c_str(),
                 buildLog(prog, dev_).c_str());
  if (!dir.empty()) {
    const std::vector<uint8_t> bin = binaryOf(prog);
    if (!bin.empty()) detail::writeFileAtomic(dir, diskName, encodeCacheEntry(bin));
  }
  return prog;
}

bool retargetWgmma(std::vector<uint8_t>& bin) {
  std::string ptx(bin.begin(), bin.end());
  while (!ptx.empty() && ptx.back() == '\0') ptx.pop_back();
  const std::string target = ".target sm_90";
  const size_t t = ptx.find(target);
  const size_t after = t + target.size();
  if (t == std::string::npos || after >= ptx.size() ||
      std::isalnum(static_cast<unsigned char>(ptx[after])))
    return false;
  ptx.insert(after, "a");
  const std::string mark = "//WG:";
  size_t n = 0;
  for (size_t p = ptx.find(mark); p != std::string::npos; p = ptx.find(mark, p), ++n)
    ptx.erase(p, mark.size());
  if (n == 0) return false;
  bin.assign(ptx.begin(), ptx.end());
  bin.push_back(0);
  return true;
}

// `prog` (built from source, wantsRetarget) replaced by the program of its retargeted PTX.
cl_program Device::retargeted(cl_program prog, const std::string& what) {
  std::vector<uint8_t> bin = binaryOf(prog);
  clReleaseProgram(prog);
  if (!retargetWgmma(bin))
    fail(ErrorKind::kDevice, str("building OpenCL program ", what, " for ", info_.name,
                                 ": its PTX is not the sm_90 program with wgmma lines the "
                                 "TC_WGMMA path expects"));
  std::string log;
  if (cl_program p = fromBinary(ctx_, dev_, bin, "", &log)) return p;
  fail(ErrorKind::kDevice, str("building OpenCL program ", what, " for ", info_.name,
                               " as sm_90a (wgmma) failed:\n", log));
}

std::map<std::string, std::vector<uint8_t>> Device::programBinaries(
    const std::vector<std::string>& keys) {
  std::map<std::string, std::vector<uint8_t>> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& k : keys) {
    // A program this thread loaded from its ProgramBinaryScope (a timing cache's binaries during
    // a build): that binary, as loaded.
    const ProgramBinaryScope::Entry* e = t_binaries ? t_binaries->find(k) : nullptr;
    if (e && programs_.count(k + "#" + hex(e->checksum))) {
      out[k] = *e->binary;
    } else if (auto it = programs_.find(k); it != programs_.end()) {
      auto bin = binaryOf(it->second);
      if (!bin.empty()) out[k] = std::move(bin);
    }
  }
  return out;
}

cl_kernel Device::kernel(const std::string& file, const std::string& options, const char* name) {
  return kernel(program(file, options), file, name);
}

cl_kernel Device::kernel(cl_program p, const std::string& file, const char* name) {
  cl_int err = CL_SUCCESS;
  cl_kernel k = clCreateKernel(p, name, &err);
  if (err != CL_SUCCESS)
    fail(ErrorKind::kDevice,
         str("creating kernel '", name, "' from ", file, ": ", clErrorName(err)));
  return k;
}

}  // namespace clrt::ocl
