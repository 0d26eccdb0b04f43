// Compiling OpenCL programs in helper processes (clrt-compile-worker, csrc/clrt/tools): NVIDIA's
// driver builds one program at a time per process whatever the threads asking, so a cold build,
// most of whose time is compiling, gains from handing its compiles to several processes.
#pragma once

#include <CL/cl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace clrt::ocl::detail {

// How many worker processes programs for this device are compiled in: CLRT_COMPILE_WORKERS,
// else on NVIDIA half the cores (2 to 8), elsewhere none (PoCL builds programs from several
// threads of one process at once).
int compileWorkerCount(bool nvidia);

// `source` built with `options` for `dev` in a worker process: the program binary, or nullopt
// when there is no worker to be had (none wanted, the executable missing, the worker gone) or
// it could not build the program; the caller then builds it itself, which also gives a failed
// build's own error. Thread-safe; blocks until a worker is free.
std::optional<std::vector<uint8_t>> compileInWorker(cl_device_id dev, bool nvidia,
                                                    const std::string& source,
                                                    const std::string& options);

}  // namespace clrt::ocl::detail
