"""clrtexec's inference: I/O buffers, the warm-up / timing / profiling runs, and their statistics."""

import contextlib
import os
import time
from dataclasses import dataclass, field

import numpy as np

from . import _clrt as trt
from . import nptype

_NUMPY = {
    trt.DataType.FLOAT: np.float32,
    trt.DataType.HALF: np.float16,
    trt.DataType.INT8: np.int8,
    trt.DataType.INT32: np.int32,
    trt.DataType.INT64: np.int64,
    trt.DataType.UINT8: np.uint8,
    trt.DataType.BOOL: np.bool_,
    trt.DataType.INT16: np.int16,
    trt.DataType.UINT16: np.uint16,
    trt.DataType.UINT32: np.uint32,
    trt.DataType.UINT64: np.uint64,
    trt.DataType.DOUBLE: np.float64,
}
# The types NumPy lacks (BF16, FP8, INT4, ...): ml_dtypes' (onnx installs it), as clrt.nptype.
for _t in trt.DataType.__members__.values():
    if _t not in _NUMPY:
        with contextlib.suppress(TypeError):
            _NUMPY[_t] = nptype(_t)


class RunError(Exception):
    """Inference cannot start or fails (bad inputs, shapes): clrtexec exits 1."""


@dataclass
class Query:
    """One timed query, in milliseconds (host timers)."""

    h2d: float
    enqueue: float
    compute: float
    d2h: float

    @property
    def latency(self):
        return self.h2d + self.compute + self.d2h


@dataclass
class LayerProfile:
    """Per-layer milliseconds over the profiled queries, and those queries' own compute times."""

    layers: dict = field(default_factory=dict)  # name -> [ms per query], in execution order
    compute: list = field(default_factory=list)  # ms per profiled query (enqueue -> sync)

    @property
    def count(self):
        return len(self.compute)

    def add(self, layer_times, compute_ms):
        for name, ms in layer_times:
            self.layers.setdefault(name, []).append(ms)
        self.compute.append(compute_ms)


def _dtype(engine, name):
    dt = engine.get_tensor_dtype(name)
    if dt not in _NUMPY:
        raise RunError(f"tensor '{name}' has type {dt}, which clrtexec cannot fill or read")
    return np.dtype(_NUMPY[dt])


def _load_input(path, name, shape, dtype):
    if not os.path.isfile(path):
        raise RunError(f"--loadInputs: file not found for input '{name}': {path}")
    if path.endswith(".npy"):
        a = np.load(path, allow_pickle=False)
        if a.dtype != dtype:
            raise RunError(
                f"--loadInputs: '{path}' holds {a.dtype} values; input '{name}' is {dtype} "
                f"(convert it: np.save(path, np.load(path).astype(np.{dtype})))"
            )
        if shape is not None and tuple(a.shape) != tuple(shape):
            raise RunError(
                f"--loadInputs: '{path}' holds shape {a.shape}; input '{name}' runs "
                f"with {tuple(shape)}"
            )
        return np.ascontiguousarray(a.astype(dtype, copy=False))
    raw = np.fromfile(path, dtype=np.uint8)
    want = int(np.prod(shape)) * dtype.itemsize
    if raw.size != want:
        raise RunError(
            f"--loadInputs: '{path}' holds {raw.size} bytes; input '{name}' "
            f"({tuple(shape)}, {dtype}) needs {want}"
        )
    return raw.view(dtype).reshape(shape).copy()


def _random(shape, dtype, rng):
    if dtype.kind == "f" or dtype.name == "bfloat16" or dtype.name.startswith("float"):
        return rng.uniform(-1.0, 1.0, shape).astype(dtype)
    return rng.integers(0, 2, shape).astype(dtype)  # small values: indices stay in range


def input_shapes(engine, shapes, loaded):
    """Each input's run shape: --shapes, else a loaded .npy's shape, else the profile's opt
    shape (dynamic dims of engines without profiles become 1, as trtexec does)."""
    out, notes = {}, []
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
    unknown = sorted(set(shapes) - set(inputs))
    if unknown:
        raise RunError(
            f"--shapes: '{unknown[0]}' is not an input of the engine; inputs: {', '.join(inputs)}"
        )
    for n in inputs:
        declared = tuple(engine.get_tensor_shape(n))
        if n in shapes:
            out[n] = tuple(shapes[n])
        elif -1 not in declared:
            out[n] = declared
        elif n in loaded and loaded[n].endswith(".npy") and os.path.isfile(loaded[n]):
            out[n] = tuple(np.load(loaded[n], mmap_mode="r").shape)
        else:
            try:
                out[n] = tuple(engine.get_tensor_profile_shape(n, 0)[1])
            except ValueError:
                out[n] = tuple(1 if d < 0 else d for d in declared)
            notes.append(f"input '{n}' has dynamic dims {declared}; running with {out[n]}")
    return out, notes


class Bindings:
    """Device buffers and host arrays for every I/O tensor of one context."""

    def __init__(self, engine, context, shapes, load_inputs, seed=0):
        self.context = context
        self.inputs, self.outputs, self.device = {}, {}, {}
        rng = np.random.default_rng(seed)
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        for n in names:
            if engine.get_tensor_mode(n) != trt.TensorIOMode.INPUT:
                continue
            context.set_input_shape(n, shapes[n])
            dtype = _dtype(engine, n)
            if n in load_inputs:
                self.inputs[n] = _load_input(load_inputs[n], n, shapes[n], dtype)
            else:
                self.inputs[n] = _random(shapes[n], dtype, rng)
        unknown = sorted(set(load_inputs) - set(self.inputs))
        if unknown:
            raise RunError(
                f"--loadInputs: '{unknown[0]}' is not an input of the engine; inputs: "
                f"{', '.join(self.inputs)}"
            )
        for n in names:
            if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT:
                shape = tuple(context.get_tensor_shape(n))
                self.outputs[n] = np.empty(shape, _dtype(engine, n))
        for n, a in list(self.inputs.items()) + list(self.outputs.items()):
            self.device[n] = trt.mem_alloc(a.nbytes)
            context.set_tensor_address(n, self.device[n])
        self.h2d()  # with --noDataTransfers, queries run on these first copies

    def h2d(self):
        for n, a in self.inputs.items():
            trt.memcpy_htod(self.device[n], a)

    def d2h(self):
        for n, a in self.outputs.items():
            trt.memcpy_dtoh(a, self.device[n])

    def free(self):
        for d in self.device.values():
            d.free()
        self.device = {}


def run_queries(bindings, iterations, duration_s, transfers, profile=None, spin=False):
    """Runs queries until both `iterations` and `duration_s` are reached (at least one).
    Returns ([Query], walltime ms). With `profile`, layer times are collected into it; with
    `spin`, completion is polled (trtexec's --useSpinWait) instead of waited for."""
    context, stream = bindings.context, trt.Stream()
    clock = time.perf_counter
    queries = []
    start = clock()
    while len(queries) < iterations or clock() - start < duration_s:
        t0 = clock()
        if transfers:
            bindings.h2d()
        t1 = clock()
        context.execute_async_v3(stream.handle)
        t2 = clock()
        if spin:
            while not stream.is_done():
                pass
        stream.synchronize()
        t3 = clock()
        if transfers:
            bindings.d2h()
        t4 = clock()
        h2d, d2h = ((t1 - t0) * 1e3, (t4 - t3) * 1e3) if transfers else (0.0, 0.0)
        q = Query(h2d, (t2 - t1) * 1e3, (t3 - t1) * 1e3, d2h)
        queries.append(q)
        if profile is not None:
            profile.add(context.layer_times, q.compute)
    return queries, (clock() - start) * 1e3


def warm_up(bindings, warmup_ms, transfers):
    """Queries for `warmup_ms` (none when 0, as trtexec). Returns (count, ms)."""
    if warmup_ms <= 0:
        return 0, 0.0
    queries, ms = run_queries(bindings, 1, warmup_ms / 1e3, transfers)
    return len(queries), ms


def percentile(sorted_values, p):
    """trtexec's findPercentile: the value with (1 - p/100) of the queries above it."""
    n = len(sorted_values)
    exclude = int((1 - p / 100) * n)
    return sorted_values[max(n - 1 - exclude, 0)]


def stats(values, percentiles):
    v = sorted(values)
    n = len(v)
    median = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return {
        "min": v[0],
        "max": v[-1],
        "mean": sum(v) / n,
        "median": median,
        "percentiles": [(p, percentile(v, p)) for p in percentiles],
    }
