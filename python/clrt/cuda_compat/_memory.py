"""What the CUDA stand-ins share: host memory handed out as integers (cudaMallocHost), device
memory from cudaMalloc / cuMemAlloc kept alive until freed, stream handles, and how a copy's
operands become bytes."""

import ctypes
import mmap
import sys
import threading
import warnings

import numpy as np

from .. import _clrt, _trt_api

_lock = threading.Lock()
_host_blocks: dict[int, np.ndarray] = {}  # address -> the uint8 array that owns the memory
_device: dict[int, object] = {}  # pointer -> DeviceAllocation
_streams: set[int] = set()  # live stream handles (0, the default stream, always is)
_next_stream = 1


class CompatError(ValueError):
    """A call given something clrt cannot serve; its message says what and why. The runtime and
    driver stand-ins turn it into the error code CUDA would return."""


def host_alloc(nbytes):
    """Page-locked host memory (ordinary memory on CPU devices) of nbytes; returns its address."""
    block = _trt_api.pagelocked_empty(max(int(nbytes), 1), np.uint8)
    addr = block.ctypes.data
    with _lock:
        _host_blocks[addr] = block
    return addr


def host_free(addr):
    with _lock:
        if _host_blocks.pop(int(addr), None) is None:
            raise CompatError(
                f"0x{int(addr):x} is not host memory from cudaMallocHost / cudaHostAlloc "
                "(or it was freed already)"
            )


def _pinned_range(addr, nbytes):
    with _lock:
        for start, block in _host_blocks.items():
            if start <= addr and addr + nbytes <= start + block.size:
                return block[addr - start : addr - start + nbytes]
    return None


def _libc_mincore():
    try:
        fn = ctypes.CDLL(None, use_errno=True).mincore
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    fn.restype = ctypes.c_int
    return fn


_mincore = _libc_mincore() if sys.platform.startswith("linux") else None


def _check_mapped(addr, nbytes, what):
    """Raises CompatError unless [addr, addr + nbytes) is mapped memory of this process, so that a
    wrong integer is an error instead of a crash (Linux; elsewhere the address is trusted)."""
    if addr <= 0:
        raise CompatError(f"{what}: host address 0x{addr:x} is null")
    if _mincore is None:
        return
    page = mmap.PAGESIZE
    start = addr & ~(page - 1)
    length = addr + nbytes - start
    vec = ctypes.create_string_buffer((length + page - 1) // page)
    if _mincore(start, length, vec) != 0:
        raise CompatError(
            f"{what}: host address 0x{addr:x} (+{nbytes} bytes) is not mapped memory of this "
            "process"
        )


def address_bytes(addr, nbytes, what):
    """nbytes at an integer host address as a uint8 array: cudaMallocHost memory, or any mapped
    memory (an array's .ctypes.data, as TensorRT's samples pass)."""
    view = _pinned_range(addr, nbytes)
    if view is not None:
        return view
    _check_mapped(addr, nbytes, what)
    return np.frombuffer((ctypes.c_ubyte * nbytes).from_address(addr), np.uint8)


def device_alloc(nbytes):
    alloc = _clrt.mem_alloc(int(nbytes))
    ptr = int(alloc)
    with _lock:
        _device[ptr] = alloc
    return ptr


def device_free(ptr):
    with _lock:
        alloc = _device.pop(int(ptr), None)
    if alloc is None:
        raise CompatError(
            f"0x{int(ptr):x} is not device memory from cudaMalloc / cuMemAlloc (or it was "
            "freed already)"
        )
    alloc.free()


def stream_create():
    global _next_stream
    with _lock:
        handle = _next_stream
        _next_stream += 1
        _streams.add(handle)
    return handle


def stream_check(stream, what):
    """The handle of a live stream (0 or None: the default stream)."""
    handle = 0 if stream is None else int(stream)
    if handle != 0:
        with _lock:
            if handle not in _streams:
                raise CompatError(f"{what}: stream {handle} was not created or is destroyed")
    return handle


def stream_destroy(stream):
    handle = stream_check(stream, "stream destroy")
    with _lock:
        _streams.discard(handle)


def device(ordinal):
    """clrt's OpenCL device number `ordinal` (ValueError naming how many there are)."""
    devices = _clrt.get_devices()
    if not 0 <= int(ordinal) < len(devices):
        raise ValueError(f"device {int(ordinal)} does not exist ({len(devices)} OpenCL devices)")
    return devices[int(ordinal)]


def synchronize():
    """Waits for all work on the default device (clrt runs every context's work in order)."""
    _clrt.Stream().synchronize()


def _as_address(obj):
    """The integer an operand stands for, or None when it is a buffer (array, bytes)."""
    if isinstance(obj, (bool, np.bool_)):
        return None
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, ctypes.c_void_p):
        return int(obj.value or 0)
    if hasattr(obj, "__index__") and not hasattr(obj, "__array_interface__"):
        return int(obj)  # DeviceAllocation, CUdeviceptr
    return None


def host_bytes(obj, nbytes, writable, what):
    """The first nbytes of a host operand as a uint8 array: a C-contiguous buffer (NumPy array,
    bytes, bytearray, memoryview) or an integer host address."""
    addr = _as_address(obj)
    if addr is not None:
        return address_bytes(addr, nbytes, what)
    if isinstance(obj, np.ndarray):
        arr = obj
    else:
        try:
            arr = np.frombuffer(memoryview(obj), np.uint8) if obj is not None else None
        except (TypeError, ValueError) as e:
            raise CompatError(f"{what}: {type(obj).__name__} is not a host buffer ({e})") from None
    if arr is None:
        raise CompatError(f"{what}: no host buffer given (None)")
    if not arr.flags.c_contiguous:
        raise CompatError(f"{what}: the host array is not C-contiguous")
    if writable and not arr.flags.writeable:
        raise CompatError(f"{what}: the host array is read-only")
    flat = arr.reshape(-1).view(np.uint8)
    if flat.size < nbytes:
        raise CompatError(f"{what}: copying {nbytes} bytes with a host buffer of {flat.size}")
    return flat[:nbytes]


def is_device_operand(obj):
    """Whether a copy operand is device memory (cudaMallocDefault's direction): a live
    allocation of clrt's, as an integer or an allocation object."""
    addr = _as_address(obj)
    return addr is not None and _clrt._is_device_pointer(addr)


def copy(dst, src, nbytes, direction, what):
    """Copies nbytes; direction is 'htod', 'dtoh', 'dtod', 'htoh' or 'auto' (from the operands:
    cudaMemcpyDefault). Raises CompatError (or clrt's ValueError for a dead device pointer)."""
    nbytes = int(nbytes)
    if nbytes < 0:
        raise CompatError(f"{what}: negative byte count {nbytes}")
    if direction == "auto":
        d, s = is_device_operand(dst), is_device_operand(src)
        direction = ("d" if s else "h") + "to" + ("d" if d else "h")
    if nbytes == 0:
        return
    if direction == "htod":
        _clrt.memcpy_htod(_device_pointer(dst, what), host_bytes(src, nbytes, False, what))
    elif direction == "dtoh":
        _clrt.memcpy_dtoh(host_bytes(dst, nbytes, True, what), _device_pointer(src, what))
    elif direction == "dtod":
        _clrt.memcpy_dtod(_device_pointer(dst, what), _device_pointer(src, what), nbytes)
    else:
        np.copyto(host_bytes(dst, nbytes, True, what), host_bytes(src, nbytes, False, what))


def memset(ptr, value, nbytes, what):
    if int(nbytes) > 0:  # CUDA sets each byte to the value's low byte
        _clrt.memset_d8(_device_pointer(ptr, what), int(value) & 0xFF, int(nbytes))


def _device_pointer(obj, what):
    addr = _as_address(obj)
    if addr is None:
        raise CompatError(f"{what}: expected a device pointer, got {type(obj).__name__}")
    return addr


def call(what, fn, codes, code):
    """cuda-python's calling convention around fn(): (success, *results) when it returns, else
    (error code,) with a RuntimeWarning naming clrt's reason, which CUDA's code alone does not
    carry. codes: (success, out of memory, unknown) of the API's enum; code: the error code of a
    bad argument (ValueError, TypeError). Returns (result tuple, reason or None)."""
    success, out_of_memory, unknown = codes
    try:
        result = fn()
    except MemoryError as e:
        code, reason = out_of_memory, e
    except (ValueError, TypeError, OverflowError) as e:
        reason = e
    except _clrt.DeviceError as e:
        code, reason = unknown, e
    else:
        if result is None:
            return (success,), None
        return ((success, *result) if isinstance(result, tuple) else (success, result)), None
    warnings.warn(f"{what}: {reason}", RuntimeWarning, stacklevel=4)
    return (code,), f"{what}: {reason}"
