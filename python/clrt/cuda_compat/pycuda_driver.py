"""pycuda.driver over clrt's OpenCL device: what TensorRT scripts use around an engine (devices
and contexts, mem_alloc, page-locked host arrays, memcpy_* and memset_d8, streams, events).
Errors raise clrt's exceptions (ValueError naming the pointer or buffer), as pycuda raises its
own. Names it does not implement raise AttributeError naming what it does."""

import time

from .. import _clrt, _trt_api
from . import _memory as mem

DeviceAllocation = _clrt.DeviceAllocation
Stream = _clrt.Stream
mem_alloc = _clrt.mem_alloc
memcpy_htod = _clrt.memcpy_htod
memcpy_dtoh = _clrt.memcpy_dtoh
memcpy_htod_async = _clrt.memcpy_htod_async
memcpy_dtoh_async = _clrt.memcpy_dtoh_async
memcpy_dtod = _clrt.memcpy_dtod
memset_d8 = _clrt.memset_d8
pagelocked_empty = _trt_api.pagelocked_empty
pagelocked_zeros = _trt_api.pagelocked_zeros


class Error(Exception):
    pass


class LogicError(Error):
    pass


class RuntimeError(Error):  # pycuda.driver's own names
    pass


class MemoryError(Error):
    pass


def init(flags=0):
    """pycuda.driver.init(): nothing to do; clrt opens its OpenCL device on first use."""


def memcpy_dtod_async(dest, src, size, stream=None):
    _clrt.memcpy_dtod(dest, src, size)


def pagelocked_empty_like(array, mem_flags=0):
    return pagelocked_empty(array.shape, array.dtype)


def pagelocked_zeros_like(array, mem_flags=0):
    return pagelocked_zeros(array.shape, array.dtype)


def mem_get_info():
    """(free, total) bytes: OpenCL reports no free figure, so both are the device's total."""
    total = _clrt.current_device().global_mem
    return (total, total)


_CONTEXTS = []  # pycuda's context stack: the current context last


class Device:
    """An OpenCL device under pycuda's Device interface."""

    def __init__(self, number):
        devices = _clrt.get_devices()
        if not 0 <= int(number) < len(devices):
            raise LogicError(
                f"Device({int(number)}): clrt sees {len(devices)} OpenCL device(s): "
                + "; ".join(d.name for d in devices)
            )
        self._dev = devices[int(number)]

    @staticmethod
    def count():
        return len(_clrt.get_devices())

    def name(self):
        return self._dev.name

    def compute_capability(self):
        cc = self._dev.compute_capability
        return divmod(cc, 10) if cc > 0 else (0, 0)

    def total_memory(self):
        return self._dev.global_mem

    def make_context(self, flags=0):
        _clrt.set_device(self._dev.index)
        ctx = Context(self)
        _CONTEXTS.append(ctx)
        return ctx

    def retain_primary_context(self):
        return Context(self)

    def __eq__(self, other):
        return isinstance(other, Device) and other._dev.index == self._dev.index

    def __hash__(self):
        return hash(self._dev.index)

    def __repr__(self):
        return f"<clrt pycuda.driver.Device {self._dev.index}: {self._dev.name}>"


class Context:
    """A context made current by Device.make_context(); push/pop keep pycuda's stack, and
    every context of a device shares clrt's queues."""

    def __init__(self, device):
        self._device = device

    @staticmethod
    def get_device():
        """The device the current context works on."""
        return Device(_clrt.current_device().index)

    def push(self):
        _clrt.set_device(self._device._dev.index)
        _CONTEXTS.append(self)

    @staticmethod
    def pop():
        if not _CONTEXTS:
            raise LogicError("Context.pop(): no context is current")
        _CONTEXTS.pop()

    def detach(self):
        if self in _CONTEXTS:
            _CONTEXTS.remove(self)

    @staticmethod
    def synchronize():
        mem.synchronize()

    @staticmethod
    def get_current():
        return _CONTEXTS[-1] if _CONTEXTS else None


class Event:
    """An event: the time at which the work enqueued before its record had finished."""

    def __init__(self, flags=0):
        self._time = None

    def record(self, stream=None):
        mem.synchronize()
        self._time = time.perf_counter()
        return self

    def synchronize(self):
        return self

    def query(self):
        return self._time is not None

    def time_since(self, other):
        """Milliseconds from other's record to this one's."""
        return (self._time - other._time) * 1e3

    def time_till(self, other):
        return (other._time - self._time) * 1e3


def __getattr__(name):
    raise AttributeError(
        f"clrt's stand-in for pycuda.driver has no '{name}': it implements init, Device, "
        "Context, mem_alloc, mem_get_info, pagelocked_*, memcpy_* (htod, dtoh, dtod, async), "
        "memset_d8, Stream and Event; CUDA kernels (SourceModule) do not run on OpenCL devices"
    )
