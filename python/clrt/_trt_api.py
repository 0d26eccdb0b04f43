"""TensorRT API that clrt implements in Python over its own calls: plugin-library init, stream
readers for deserialization, IProfiler callbacks, and pycuda's pagelocked_* host buffers."""

import enum
import warnings
import weakref

import numpy as np

from . import _clrt


def init_libnvinfer_plugins(logger=None, namespace=""):
    """TensorRT loads its plugin library here; clrt offers no plugins, so there is nothing to
    load. Returns True, as TensorRT does on success."""
    return True


def pagelocked_empty(shape, dtype, order="C", mem_flags=0):
    """pycuda's page-locked host buffer: on a GPU, host memory the device transfers at bus speed
    (infer() and memcpy_htod/dtoh then copy without staging); on CPU devices an ordinary array.
    mem_flags is accepted and has no effect."""
    dtype = np.dtype(dtype)
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(d) for d in shape)
    count = int(np.prod(shape, dtype=np.int64))
    raw = _clrt._pagelocked_bytes(count * dtype.itemsize)
    return raw.view(dtype).reshape(shape, order=order)


def pagelocked_zeros(shape, dtype, order="C", mem_flags=0):
    """As pagelocked_empty, zero-filled."""
    a = pagelocked_empty(shape, dtype, order, mem_flags)
    a[...] = 0
    return a


class IStreamReader:
    """Supplies a serialized engine in pieces to Runtime.deserialize_cuda_engine. Subclasses
    implement read(size) -> bytes (fewer bytes, or none, at the end of the stream)."""

    def read(self, size):
        raise NotImplementedError("IStreamReader subclasses implement read(size)")


class IStreamReaderV2:
    """TensorRT 10's stream reader: read(size, stream) -> bytes and seek(offset, where) -> bool.
    clrt reads the stream from its current position to the end and never seeks."""

    def read(self, size, stream):
        raise NotImplementedError("IStreamReaderV2 subclasses implement read(size, stream)")

    def seek(self, offset, where):
        raise NotImplementedError("IStreamReaderV2 subclasses implement seek(offset, where)")


class IStreamWriter:
    """Receives a serialized engine in pieces (Builder.build_serialized_network_to_stream).
    Subclasses implement write(data: bytes) -> int, the number of bytes taken."""

    def write(self, data):
        raise NotImplementedError("IStreamWriter subclasses implement write(data)")


_CHUNK = 1 << 20


def _build_serialized_network_to_stream(self, network, config, writer):
    """TensorRT 10's streaming build: the serialized engine goes to writer.write(bytes) in pieces
    of up to 1 MiB instead of one IHostMemory. True when the writer took every byte; False when
    the build failed or the writer took fewer bytes than given (as TensorRT reports it)."""
    if not callable(getattr(writer, "write", None)):
        raise TypeError(
            f"build_serialized_network_to_stream: {type(writer).__name__} has no write(data)"
        )
    plan = self.build_serialized_network(network, config)
    if plan is None:
        return False
    data = memoryview(plan).cast("B")
    for start in range(0, len(data), _CHUNK):
        piece = bytes(data[start : start + _CHUNK])
        taken = writer.write(piece)
        if not isinstance(taken, int) or taken != len(piece):
            return False
    return True


def _read_stream(reader):
    v2 = isinstance(reader, IStreamReaderV2)
    parts = []
    while True:
        part = reader.read(_CHUNK, 0) if v2 else reader.read(_CHUNK)
        if part is None:
            break
        part = bytes(part)
        parts.append(part)
        if len(part) < _CHUNK:
            break
    data = b"".join(parts)
    if not data:
        raise _clrt.EngineFormatError(
            f"deserialize_cuda_engine: the stream reader {type(reader).__name__} gave no bytes"
        )
    return data


class Runtime(_clrt.Runtime):
    """Deserializes engines for the default OpenCL device.

    TensorRT's settings max_threads, engine_host_code_allowed, temporary_directory and
    tempfile_control_flags are kept as given: clrt engines carry no host code, and loading uses
    no threads or temporary files, so nothing reads them."""

    engine_host_code_allowed = False
    temporary_directory = ""
    tempfile_control_flags = 0

    def __init__(self, logger):
        super().__init__(logger)
        self._max_threads = 1

    @property
    def max_threads(self):
        return self._max_threads

    @max_threads.setter
    def max_threads(self, n):
        if int(n) < 1:
            raise ValueError(f"Runtime.max_threads: {n} must be >= 1")
        self._max_threads = int(n)

    def deserialize_cuda_engine(self, serialized_engine):
        """bytes, bytearray, memoryview, IHostMemory, a uint8 array, or an IStreamReader /
        IStreamReaderV2 (any object with read()). Raises clrt.EngineFormatError for damaged
        files or files built for another device."""
        if hasattr(serialized_engine, "read") and not isinstance(
            serialized_engine, (bytes, bytearray, memoryview)
        ):
            serialized_engine = _read_stream(serialized_engine)
        return super().deserialize_cuda_engine(serialized_engine)


class IProfiler:
    """Receives per-layer times: set `context.profiler = MyProfiler()`; after each execution
    clrt calls report_layer_time(layer_name, ms) once per engine layer, in execution order."""

    def report_layer_time(self, layer_name, ms):
        raise NotImplementedError(
            "IProfiler subclasses implement report_layer_time(layer_name, ms)"
        )


class IOutputAllocator:
    """Memory for outputs whose size is known only after the run (data-dependent shapes, e.g.
    NonZero, NonMaxSuppression): set with `context.set_output_allocator(name, allocator)`.
    After each execute_async_v3 / execute_v2, clrt calls reallocate_output_async (by default
    reallocate_output) with the bytes the output needs (at least 1), expecting a clrt.mem_alloc
    pointer holding them, copies the output there and calls notify_shape(name, shape)."""

    def __init__(self):
        pass

    def reallocate_output(self, tensor_name, memory, size, alignment):
        raise NotImplementedError(
            "IOutputAllocator subclasses implement reallocate_output(tensor_name, memory, size, "
            "alignment) or reallocate_output_async(..., stream)"
        )

    def reallocate_output_async(self, tensor_name, memory, size, alignment, stream):
        return self.reallocate_output(tensor_name, memory, size, alignment)

    def notify_shape(self, tensor_name, shape):
        pass


class Profiler(IProfiler):
    """TensorRT's default profiler: prints each layer's time."""

    def report_layer_time(self, layer_name, ms):
        print(f"{layer_name}: {ms:.6f} ms")


# The profiler of each context (the extension's context objects hold no Python attributes).
_profilers = weakref.WeakKeyDictionary()


def _get_profiler(context):
    return _profilers.get(context)


def _set_profiler(context, profiler):
    if profiler is None:
        _profilers.pop(context, None)
        context.profiling = False
        return
    if not callable(getattr(profiler, "report_layer_time", None)):
        raise TypeError(
            f"context.profiler: {type(profiler).__name__} has no report_layer_time(layer_name, ms)"
        )
    _profilers[context] = profiler
    context.profiling = True


# Contexts whose enqueue_emits_profile was set False: their profiler hears of an execution only
# when report_to_profiler() is called.
_quiet = weakref.WeakSet()


def _report(context):
    """The last execution's layer times to the context's profiler (report_to_profiler(), for
    enqueue_emits_profile False). False when no profiler is set."""
    profiler = _profilers.get(context)
    if profiler is None:
        return False
    for name, ms in context.layer_times:
        profiler.report_layer_time(name, ms)
    return True


def _reporting(run):
    """`run` (an execute method), then the context's profiler called with each layer's time."""

    def wrapper(self, *args, **kwargs):
        result = run(self, *args, **kwargs)
        if self not in _quiet:
            _report(self)
        return result

    wrapper.__name__ = run.__name__
    wrapper.__doc__ = run.__doc__
    return wrapper


def _set_emits_profile(context, emits):
    if emits:
        _quiet.discard(context)
    else:
        _quiet.add(context)


def _infer_shapes(context):
    """The names of the inputs whose shapes are not set yet (empty: every tensor's shape is
    known, get_tensor_shape gives the outputs'). Raises ValueError when the set shapes do not fit
    the network."""
    engine = context.engine
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    missing = [
        n
        for n in names
        if engine.get_tensor_mode(n) == _clrt.TensorIOMode.INPUT
        and any(d < 0 for d in context.get_tensor_shape(n))
    ]
    if not missing:
        for n in names:  # resolves the outputs' shapes: an inconsistency raises here
            context.get_tensor_shape(n)
    return missing


class SerializationFlag(enum.IntEnum):
    """What serialize_with_config leaves out (TensorRT's values)."""

    EXCLUDE_WEIGHTS = 0
    EXCLUDE_LEAN_RUNTIME = 1
    INCLUDE_REFIT = 2


class ISerializationConfig:
    """engine.create_serialization_config(): flags for serialize_with_config, a bit per
    SerializationFlag."""

    flags = 0

    def __init__(self, flags=0):
        self.flags = int(flags)

    def set_flag(self, flag):
        self.flags |= 1 << int(flag)
        return True

    def clear_flag(self, flag):
        self.flags &= ~(1 << int(flag))
        return True

    def get_flag(self, flag):
        return bool(self.flags >> int(flag) & 1)

    def __repr__(self):
        set_ = [f.name for f in SerializationFlag if self.get_flag(f)]
        return f"<clrt.ISerializationConfig {set_}>"


def _create_serialization_config(engine):
    return ISerializationConfig()


def _serialize_with_config(engine, config):
    """The engine's plan. EXCLUDE_WEIGHTS: clrt keeps the weights (the plan runs without a
    refit; a warning says so), as with BuilderFlag.STRIP_PLAN. EXCLUDE_LEAN_RUNTIME: clrt has no
    lean runtime to leave out. INCLUDE_REFIT: a refittable engine's plan stays refittable."""
    if not isinstance(config, ISerializationConfig):
        raise TypeError(
            f"serialize_with_config: expected an ISerializationConfig, got {type(config).__name__}"
        )
    if config.get_flag(SerializationFlag.EXCLUDE_WEIGHTS):
        warnings.warn(
            "serialize_with_config: SerializationFlag.EXCLUDE_WEIGHTS: clrt keeps the weights in "
            "the plan (it is not smaller, and runs without a refit)",
            stacklevel=2,
        )
    return engine.serialize()


def _get_tensor_bytes_per_component(engine, name):
    """-1: clrt's I/O formats are not vectorized (TensorRT answers -1 for those)."""
    engine.get_tensor_vectorized_dim(name)  # ValueError naming an unknown tensor
    return -1


def _install():
    _clrt.Builder.build_serialized_network_to_stream = _build_serialized_network_to_stream
    engine = _clrt.ICudaEngine
    engine.engine_capability = property(
        lambda self: _clrt.EngineCapability.STANDARD, doc="STANDARD: clrt builds no other kind."
    )
    engine.hardware_compatibility_level = property(
        lambda self: _clrt.HardwareCompatibilityLevel.NONE,
        doc="NONE: an engine runs on the device it was built for (its fingerprint).",
    )
    engine.num_aux_streams = property(
        lambda self: 0, doc="0: an engine runs on its context's one OpenCL queue."
    )
    engine.device_memory_size_v2 = property(
        lambda self: self.device_memory_size, doc="The same as device_memory_size."
    )
    engine.get_tensor_bytes_per_component = _get_tensor_bytes_per_component
    ctx = _clrt.IExecutionContext
    ctx.profiler = property(
        _get_profiler,
        _set_profiler,
        doc="An IProfiler called after each execution with every layer's time (None: off).",
    )
    ctx.enqueue_emits_profile = property(
        lambda self: self not in _quiet,
        _set_emits_profile,
        doc="False: the profiler hears of executions only through report_to_profiler().",
    )
    ctx.report_to_profiler = _report
    ctx.infer_shapes = _infer_shapes
    parser = _clrt.OnnxParser
    parser.set_builder_config = lambda self, config: True
    parser.set_builder_config.__doc__ = (
        "Accepted (True): clrt's import depends on no builder setting (TensorRT reads it for DLA "
        "capability reports and plugins, which OpenCL has neither of)."
    )
    parser.get_used_vc_plugin_libraries = lambda self: []
    parser.get_used_vc_plugin_libraries.__doc__ = "[]: clrt loads no plugin libraries."
    _clrt.IBuilderConfig.get_device_type = lambda self, layer: _clrt.DeviceType.GPU
    _clrt.IBuilderConfig.get_device_type.__doc__ = "GPU: every layer runs on the OpenCL device."
    engine.create_serialization_config = _create_serialization_config
    engine.serialize_with_config = _serialize_with_config
    for name in ("execute_v2", "execute_async_v2", "execute_async_v3", "infer"):
        setattr(ctx, name, _reporting(getattr(ctx, name)))


_install()
