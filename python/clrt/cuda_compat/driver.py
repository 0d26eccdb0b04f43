"""cuda-python's CUDA driver module (`from cuda import cuda`, `from cuda.bindings import driver`)
over clrt's OpenCL device: initialization, devices, contexts, memory, copies and streams. Calls
return a tuple whose first item is a `CUresult`; see clrt.cuda_compat.runtime for how errors are
reported and what streams mean on clrt.
"""

import enum

from .. import _clrt
from . import _memory as mem


class CUresult(enum.IntEnum):
    CUDA_SUCCESS = 0
    CUDA_ERROR_INVALID_VALUE = 1
    CUDA_ERROR_OUT_OF_MEMORY = 2
    CUDA_ERROR_NOT_INITIALIZED = 3
    CUDA_ERROR_INVALID_DEVICE = 101
    CUDA_ERROR_INVALID_CONTEXT = 201
    CUDA_ERROR_INVALID_HANDLE = 400
    CUDA_ERROR_NOT_SUPPORTED = 801
    CUDA_ERROR_UNKNOWN = 999


class CUdevice(int):
    def getPtr(self):
        return int(self)


class CUdeviceptr(int):
    def getPtr(self):
        return int(self)


class CUstream(int):
    def getPtr(self):
        return int(self)


class CUcontext:
    def __init__(self, device=0):
        self.device = CUdevice(device)

    def getPtr(self):
        return id(self)


def _call(what, fn, code=CUresult.CUDA_ERROR_INVALID_VALUE):
    codes = (CUresult.CUDA_SUCCESS, CUresult.CUDA_ERROR_OUT_OF_MEMORY, CUresult.CUDA_ERROR_UNKNOWN)
    return mem.call(what, fn, codes, code)[0]


def cuInit(flags):
    return (CUresult.CUDA_SUCCESS,)


def cuDeviceGetCount():
    return _call("cuDeviceGetCount", lambda: len(_clrt.get_devices()))


def cuDeviceGet(ordinal):
    return _call(
        "cuDeviceGet",
        lambda: CUdevice(mem.device(ordinal).index),
        CUresult.CUDA_ERROR_INVALID_DEVICE,
    )


def cuDeviceGetName(length, dev):
    return _call(
        "cuDeviceGetName",
        lambda: mem.device(dev).name.encode()[: max(int(length) - 1, 0)],
        CUresult.CUDA_ERROR_INVALID_DEVICE,
    )


def cuDeviceTotalMem(dev):
    return _call(
        "cuDeviceTotalMem", lambda: mem.device(dev).global_mem, CUresult.CUDA_ERROR_INVALID_DEVICE
    )


def cuDeviceComputeCapability(dev):
    def run():
        cc = mem.device(dev).compute_capability
        return divmod(cc, 10) if cc > 0 else (0, 0)

    return _call("cuDeviceComputeCapability", run, CUresult.CUDA_ERROR_INVALID_DEVICE)


def cuCtxCreate(*args):
    """cuCtxCreate(flags, dev) (CUDA 12) or cuCtxCreate(params, flags, dev) (CUDA 13)."""
    if len(args) not in (2, 3):
        raise TypeError(f"cuCtxCreate takes 2 or 3 arguments ({len(args)} given)")
    dev = args[-1]

    def run():
        _clrt.set_device(mem.device(dev).index)
        return CUcontext(dev)

    return _call("cuCtxCreate", run, CUresult.CUDA_ERROR_INVALID_DEVICE)


def cuDevicePrimaryCtxRetain(dev):
    return _call("cuDevicePrimaryCtxRetain", lambda: CUcontext(mem.device(dev).index))


def cuCtxSetCurrent(ctx):
    return (CUresult.CUDA_SUCCESS,)


def cuCtxDestroy(ctx):
    return (CUresult.CUDA_SUCCESS,)


def cuDevicePrimaryCtxRelease(dev):
    return (CUresult.CUDA_SUCCESS,)


def cuCtxSynchronize():
    return _call("cuCtxSynchronize", mem.synchronize)


def cuMemAlloc(bytesize):
    return _call(
        "cuMemAlloc",
        lambda: CUdeviceptr(mem.device_alloc(bytesize)),
        CUresult.CUDA_ERROR_OUT_OF_MEMORY,
    )


def cuMemFree(dptr):
    return _call("cuMemFree", lambda: mem.device_free(dptr))


def cuMemAllocHost(bytesize):
    return _call(
        "cuMemAllocHost", lambda: mem.host_alloc(bytesize), CUresult.CUDA_ERROR_OUT_OF_MEMORY
    )


def cuMemFreeHost(p):
    return _call("cuMemFreeHost", lambda: mem.host_free(p))


def _copy(what, dst, src, nbytes, direction, stream=None):
    def run():
        mem.stream_check(stream, what)
        mem.copy(dst, src, nbytes, direction, what)

    return _call(what, run)


def cuMemcpyHtoD(dstDevice, srcHost, ByteCount):
    return _copy("cuMemcpyHtoD", dstDevice, srcHost, ByteCount, "htod")


def cuMemcpyDtoH(dstHost, srcDevice, ByteCount):
    return _copy("cuMemcpyDtoH", dstHost, srcDevice, ByteCount, "dtoh")


def cuMemcpyDtoD(dstDevice, srcDevice, ByteCount):
    return _copy("cuMemcpyDtoD", dstDevice, srcDevice, ByteCount, "dtod")


def cuMemcpyHtoDAsync(dstDevice, srcHost, ByteCount, hStream):
    return _copy("cuMemcpyHtoDAsync", dstDevice, srcHost, ByteCount, "htod", hStream)


def cuMemcpyDtoHAsync(dstHost, srcDevice, ByteCount, hStream):
    return _copy("cuMemcpyDtoHAsync", dstHost, srcDevice, ByteCount, "dtoh", hStream)


def cuMemcpyDtoDAsync(dstDevice, srcDevice, ByteCount, hStream):
    return _copy("cuMemcpyDtoDAsync", dstDevice, srcDevice, ByteCount, "dtod", hStream)


def cuMemsetD8(dstDevice, uc, N):
    return _call("cuMemsetD8", lambda: mem.memset(dstDevice, uc, N, "cuMemsetD8"))


def cuStreamCreate(Flags):
    return _call("cuStreamCreate", lambda: CUstream(mem.stream_create()))


def cuStreamDestroy(hStream):
    return _call(
        "cuStreamDestroy", lambda: mem.stream_destroy(hStream), CUresult.CUDA_ERROR_INVALID_HANDLE
    )


def cuStreamSynchronize(hStream):
    def run():
        mem.stream_check(hStream, "cuStreamSynchronize")
        mem.synchronize()

    return _call("cuStreamSynchronize", run, CUresult.CUDA_ERROR_INVALID_HANDLE)


def cuGetErrorName(error):
    return (CUresult.CUDA_SUCCESS, CUresult(int(error)).name.encode())


def cuGetErrorString(error):
    return cuGetErrorName(error)


def __getattr__(name):
    raise AttributeError(
        f"clrt's stand-in for cuda-python's driver module has no '{name}': it implements "
        "cuInit, devices, contexts, memory (cuMemAlloc/Free, cuMemAllocHost/FreeHost), copies, "
        "cuMemsetD8 and streams; CUDA modules and kernels do not run on OpenCL devices"
    )
