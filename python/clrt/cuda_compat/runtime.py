"""cuda-python's CUDA runtime module (`from cuda import cudart`, `from cuda.bindings import
runtime`) over clrt's OpenCL device: device and page-locked host memory, copies, memset, streams,
events and device queries, what TensorRT scripts use around an engine.

As in cuda-python every call returns a tuple whose first item is a `cudaError_t`. Where clrt
cannot serve a call (an unknown pointer, a host address outside cudaMallocHost memory) it returns
the code CUDA would and warns (RuntimeWarning) with the reason. Copies, memsets and
synchronizations wait for the device's enqueued work; streams are ordering labels, as clrt runs
every context's work in order on its own queue. Names it does not implement raise AttributeError
naming what it does.
"""

import enum
import time

from .. import _clrt
from . import _memory as mem


class cudaError_t(enum.IntEnum):
    cudaSuccess = 0
    cudaErrorInvalidValue = 1
    cudaErrorMemoryAllocation = 2
    cudaErrorInitializationError = 3
    cudaErrorInvalidDevice = 101
    cudaErrorInvalidDevicePointer = 17
    cudaErrorInvalidMemcpyDirection = 21
    cudaErrorInvalidResourceHandle = 400
    cudaErrorNotReady = 600
    cudaErrorNotSupported = 801
    cudaErrorUnknown = 999


class cudaMemcpyKind(enum.IntEnum):
    cudaMemcpyHostToHost = 0
    cudaMemcpyHostToDevice = 1
    cudaMemcpyDeviceToHost = 2
    cudaMemcpyDeviceToDevice = 3
    cudaMemcpyDefault = 4


_DIRECTION = {0: "htoh", 1: "htod", 2: "dtoh", 3: "dtod", 4: "auto"}

cudaStreamDefault = 0
cudaStreamNonBlocking = 1
cudaHostAllocDefault = 0
cudaHostAllocPortable = 1
cudaHostAllocMapped = 2
cudaHostAllocWriteCombined = 4
cudaEventDefault = 0
cudaEventBlockingSync = 1
cudaEventDisableTiming = 2


class cudaStream_t(int):
    """A stream handle; int(stream) is what execute_async_v3(stream_handle=...) takes."""

    def __new__(cls, init_value=0):
        return super().__new__(cls, int(init_value or 0))

    def getPtr(self):
        return int(self)

    def __repr__(self):
        return f"<cudaStream_t 0x{int(self):x}>"


class cudaEvent_t:
    """An event: the time at which the work enqueued before its record had finished."""

    def __init__(self, flags=0):
        self.flags = int(flags)
        self.time = None

    def getPtr(self):
        return id(self)

    def __repr__(self):
        return f"<cudaEvent_t 0x{id(self):x}>"


class cudaDeviceProp:
    """The fields of cudaDeviceProp a script reads to describe its device."""

    def __init__(self, dev):
        cc = dev.compute_capability
        self.name = dev.name.encode()
        self.totalGlobalMem = dev.global_mem
        self.sharedMemPerBlock = dev.local_mem
        self.multiProcessorCount = dev.compute_units
        self.major, self.minor = divmod(cc, 10) if cc > 0 else (0, 0)
        self.integrated = 0 if dev.is_gpu else 1

    def __repr__(self):
        return f"cudaDeviceProp(name={self.name!r}, major={self.major}, minor={self.minor})"


_last_error = cudaError_t.cudaSuccess
_last_detail = ""


def _call(what, fn, code=cudaError_t.cudaErrorInvalidValue):
    """(cudaSuccess, *results) of fn(), or (code,) with a warning naming clrt's reason."""
    global _last_error, _last_detail
    codes = (
        cudaError_t.cudaSuccess,
        cudaError_t.cudaErrorMemoryAllocation,
        cudaError_t.cudaErrorUnknown,
    )
    result, reason = mem.call(what, fn, codes, code)
    if reason is not None:
        _last_error, _last_detail = result[0], reason
    return result


# --- memory --------------------------------------------------------------------------------------


def cudaMalloc(size):
    return _call(
        "cudaMalloc", lambda: mem.device_alloc(size), cudaError_t.cudaErrorMemoryAllocation
    )


def cudaFree(devPtr):
    if int(devPtr or 0) == 0:
        return (cudaError_t.cudaSuccess,)  # as in CUDA, freeing NULL does nothing
    return _call("cudaFree", lambda: mem.device_free(devPtr))


def cudaMallocHost(size):
    return _call(
        "cudaMallocHost", lambda: mem.host_alloc(size), cudaError_t.cudaErrorMemoryAllocation
    )


def cudaHostAlloc(size, flags=0):
    return _call(
        "cudaHostAlloc", lambda: mem.host_alloc(size), cudaError_t.cudaErrorMemoryAllocation
    )


def cudaFreeHost(ptr):
    if int(ptr or 0) == 0:
        return (cudaError_t.cudaSuccess,)
    return _call("cudaFreeHost", lambda: mem.host_free(ptr))


def _memcpy(what, dst, src, count, kind, stream=None):
    def run():
        if int(kind) not in _DIRECTION:
            raise ValueError(f"unknown cudaMemcpyKind {kind!r}")
        mem.stream_check(stream, what)
        mem.copy(dst, src, count, _DIRECTION[int(kind)], what)

    return _call(what, run)


def cudaMemcpy(dst, src, count, kind):
    return _memcpy("cudaMemcpy", dst, src, count, kind)


def cudaMemcpyAsync(dst, src, count, kind, stream=0):
    return _memcpy("cudaMemcpyAsync", dst, src, count, kind, stream)


def cudaMemset(devPtr, value, count):
    return _call("cudaMemset", lambda: mem.memset(devPtr, value, count, "cudaMemset"))


def cudaMemsetAsync(devPtr, value, count, stream=0):
    def run():
        mem.stream_check(stream, "cudaMemsetAsync")
        mem.memset(devPtr, value, count, "cudaMemsetAsync")

    return _call("cudaMemsetAsync", run)


# --- streams and events --------------------------------------------------------------------------


def cudaStreamCreate():
    return _call("cudaStreamCreate", lambda: cudaStream_t(mem.stream_create()))


def cudaStreamCreateWithFlags(flags):
    return cudaStreamCreate()


def cudaStreamCreateWithPriority(flags, priority):
    return cudaStreamCreate()


def cudaStreamDestroy(stream):
    return _call(
        "cudaStreamDestroy",
        lambda: mem.stream_destroy(stream),
        cudaError_t.cudaErrorInvalidResourceHandle,
    )


def cudaStreamSynchronize(stream):
    def run():
        mem.stream_check(stream, "cudaStreamSynchronize")
        mem.synchronize()

    return _call("cudaStreamSynchronize", run, cudaError_t.cudaErrorInvalidResourceHandle)


def cudaStreamQuery(stream):
    return cudaStreamSynchronize(stream)  # done once waited for


def cudaDeviceSynchronize():
    return _call("cudaDeviceSynchronize", mem.synchronize)


def cudaEventCreate():
    return (cudaError_t.cudaSuccess, cudaEvent_t())


def cudaEventCreateWithFlags(flags):
    return (cudaError_t.cudaSuccess, cudaEvent_t(flags))


def cudaEventRecord(event, stream=0):
    def run():
        if not isinstance(event, cudaEvent_t):
            raise TypeError(f"expected a cudaEvent_t from cudaEventCreate, got {event!r}")
        mem.stream_check(stream, "cudaEventRecord")
        mem.synchronize()  # the event completes when the work before it has
        event.time = time.perf_counter()

    return _call("cudaEventRecord", run, cudaError_t.cudaErrorInvalidResourceHandle)


def cudaEventSynchronize(event):
    def run():
        if not isinstance(event, cudaEvent_t) or event.time is None:
            raise ValueError(f"{event!r} was not recorded")

    return _call("cudaEventSynchronize", run, cudaError_t.cudaErrorInvalidResourceHandle)


def cudaEventQuery(event):
    return cudaEventSynchronize(event)


def cudaEventElapsedTime(start, end):
    def run():
        for e in (start, end):
            if not isinstance(e, cudaEvent_t) or e.time is None:
                raise ValueError(f"{e!r} was not recorded")
        return (end.time - start.time) * 1e3

    return _call("cudaEventElapsedTime", run, cudaError_t.cudaErrorInvalidResourceHandle)


def cudaEventDestroy(event):
    return (cudaError_t.cudaSuccess,)


# --- devices and errors --------------------------------------------------------------------------


def cudaGetDeviceCount():
    return _call("cudaGetDeviceCount", lambda: len(_clrt.get_devices()))


def cudaGetDevice():
    return _call("cudaGetDevice", lambda: _clrt.current_device().index)


def cudaSetDevice(device):
    def run():
        _clrt.set_device(mem.device(device).index)

    return _call("cudaSetDevice", run, cudaError_t.cudaErrorInvalidDevice)


def cudaGetDeviceProperties(device):
    return _call(
        "cudaGetDeviceProperties",
        lambda: cudaDeviceProp(mem.device(device)),
        cudaError_t.cudaErrorInvalidDevice,
    )


def cudaGetErrorName(error):
    return (cudaError_t.cudaSuccess, cudaError_t(int(error)).name.encode())


def cudaGetErrorString(error):
    code = cudaError_t(int(error))
    text = _last_detail if code == _last_error and _last_detail else code.name
    return (cudaError_t.cudaSuccess, text.encode())


def cudaGetLastError():
    global _last_error, _last_detail
    code, _last_error, _last_detail = _last_error, cudaError_t.cudaSuccess, ""
    return (code,)


def cudaPeekAtLastError():
    return (_last_error,)


def __getattr__(name):
    raise AttributeError(
        f"clrt's stand-in for cuda-python's runtime module has no '{name}': it implements "
        "memory (cudaMalloc/Free, cudaMallocHost/HostAlloc/FreeHost, cudaMemcpy[Async], "
        "cudaMemset[Async]), streams, events, device queries and error strings, what TensorRT "
        "scripts use around an engine; CUDA kernels and graphs do not run on OpenCL devices"
    )
