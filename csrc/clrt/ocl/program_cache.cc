// Program building with three cache levels: in-process, engine-file binaries, and on disk
// (~/.cache/clrt, keyed by device fingerprint + source hash + options).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "clrt/ocl/device.h"

namespace clrt::ocl {

const std::map<std::string, std::string>& embeddedKernels();  // generated at build time

namespace {

thread_local ProgramRecorder* t_recorder = nullptr;

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

std::string cacheDir() {
  if (const char* off = std::getenv("CLRT_DISABLE_DISK_CACHE"); off && *off && *off != '0')
    return "";
  if (const char* d = std::getenv("CLRT_CACHE_DIR"); d && *d) return d;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  if (xdg && *xdg) return std::string(xdg) + "/clrt";
  if (home && *home) return std::string(home) + "/.cache/clrt";
  return "";
}

bool readFile(const std::string& path, std::vector<uint8_t>& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return !out.empty();
}

void writeFileAtomic(const std::string& dir, const std::string& name,
                     const std::vector<uint8_t>& data) {
  if (dir.empty()) return;
  for (size_t i = 1; i <= dir.size(); ++i)
    if (i == dir.size() || dir[i] == '/') ::mkdir(dir.substr(0, i).c_str(), 0755);
  const std::string tmp = dir + "/" + name + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) return;
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  }
  std::rename(tmp.c_str(), (dir + "/" + name).c_str());
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

std::string buildLog(cl_program p, cl_device_id d) {
  size_t n = 0;
  clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, 0, nullptr, &n);
  std::string log(n, '\0');
  if (n) clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, n, log.data(), nullptr);
  if (log.size() > 4000) log = log.substr(0, 4000) + "\n...";
  return log;
}

}  // namespace

ProgramRecorder::ProgramRecorder() : prev_(t_recorder) { t_recorder = this; }
ProgramRecorder::~ProgramRecorder() { t_recorder = prev_; }
void ProgramRecorder::add(const std::string& key) {
  for (auto& k : keys_)
    if (k == key) return;
  keys_.push_back(key);
}

const std::string& kernelSource(const std::string& file) {
  const auto& t = embeddedKernels();
  auto it = t.find(file);
  CLRT_CHECK(it != t.end(), kRuntime, "no embedded OpenCL kernel file '", file, "'");
  return it->second;
}

std::vector<std::string> kernelFiles() {
  std::vector<std::string> v;
  for (auto& [k, s] : embeddedKernels()) v.push_back(k);
  return v;
}

std::string Device::programKey(const std::string& file, const std::string& options) {
  return file + "|" + options + "|" + hex(fnv1a(kernelSource(file)));
}

cl_program Device::program(const std::string& file, const std::string& options) {
  const std::string key = programKey(file, options);
  if (t_recorder) t_recorder->add(key);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = programs_.find(key); it != programs_.end()) return it->second;

  const std::string opts = "-cl-std=CL1.2 " + options;
  auto fromBinary = [&](const std::vector<uint8_t>& bin) -> cl_program {
    const unsigned char* ptr = bin.data();
    size_t n = bin.size();
    cl_int status = CL_SUCCESS, err = CL_SUCCESS;
    cl_program p = clCreateProgramWithBinary(ctx_, 1, &dev_, &n, &ptr, &status, &err);
    if (err != CL_SUCCESS || status != CL_SUCCESS) {
      if (p) clReleaseProgram(p);
      return nullptr;
    }
    if (clBuildProgram(p, 1, &dev_, opts.c_str(), nullptr, nullptr) != CL_SUCCESS) {
      clReleaseProgram(p);
      return nullptr;
    }
    return p;
  };

  cl_program prog = nullptr;
  if (auto it = plan_binaries_.find(key); it != plan_binaries_.end()) prog = fromBinary(it->second);
  const std::string dir = cacheDir();
  const std::string diskName = hex(fnv1a(info_.fingerprint() + "#" + key)) + ".bin";
  if (!prog && !dir.empty()) {
    std::vector<uint8_t> bin;
    if (readFile(dir + "/" + diskName, bin)) prog = fromBinary(bin);
  }
  if (!prog) {
    const std::string& src = kernelSource(file);
    const char* s = src.c_str();
    size_t len = src.size();
    cl_int err = CL_SUCCESS;
    prog = clCreateProgramWithSource(ctx_, 1, &s, &len, &err);
    check(err, "clCreateProgramWithSource");
    ++compile_count_;
    if (clBuildProgram(prog, 1, &dev_, opts.c_str(), nullptr, nullptr) != CL_SUCCESS) {
      const std::string log = buildLog(prog, dev_);
      clReleaseProgram(prog);
      fail(ErrorKind::kDevice, str("building OpenCL program ", file, " [", options, "] for ",
                                   info_.name, " failed:\n", log));
    }
    writeFileAtomic(dir, diskName, binaryOf(prog));
  }
  programs_[key] = prog;
  return prog;
}

std::map<std::string, std::vector<uint8_t>> Device::programBinaries(
    const std::vector<std::string>& keys) {
  std::map<std::string, std::vector<uint8_t>> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& k : keys)
    if (auto it = programs_.find(k); it != programs_.end()) {
      auto bin = binaryOf(it->second);
      if (!bin.empty()) out[k] = std::move(bin);
    }
  return out;
}

void Device::addProgramBinaries(const std::map<std::string, std::vector<uint8_t>>& bins) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [k, v] : bins) plan_binaries_[k] = v;
}

cl_kernel Device::kernel(const std::string& file, const std::string& options, const char* name) {
  cl_program p = program(file, options);
  cl_int err = CL_SUCCESS;
  cl_kernel k = clCreateKernel(p, name, &err);
  if (err != CL_SUCCESS)
    fail(ErrorKind::kDevice,
         str("creating kernel '", name, "' from ", file, ": ", clErrorName(err)));
  return k;
}

}  // namespace clrt::ocl
