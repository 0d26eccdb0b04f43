# Test helpers: engine building through the public API, onnxruntime reference, model construction.
import contextlib
import importlib.util
import os
from pathlib import Path

import clrt as trt
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"

LOGGER = trt.Logger(trt.Logger.WARNING)
EXPLICIT_BATCH = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)

# FP32 tolerance against onnxruntime used throughout unless a test states otherwise:
# |clrt - ort| <= ATOL + RTOL * |ort| elementwise.
RTOL, ATOL = 1e-4, 1e-5


class RecordingLogger(trt.ILogger):
    """Keeps every message (VERBOSE included) as (severity, text) for assertions."""

    def __init__(self):
        trt.ILogger.__init__(self)
        self.lines = []

    def log(self, severity, msg):
        self.lines.append((severity, msg))

    def text(self, max_severity=trt.Logger.VERBOSE):
        """The messages at max_severity or more severe, one per line."""
        return "\n".join(m for s, m in self.lines if int(s) <= int(max_severity))

    def warnings(self):
        return self.text(trt.Logger.WARNING)


def _load_script_module(name):
    """Imports scripts/<name>.py by path (scripts/ is not a package; one copy of the code)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fmnist = _load_script_module("fmnist")
_fmnist_load = fmnist.load


def _fmnist_load_or_skip(*args, **kwargs):
    # Tests and fixtures of real data skip where Debian's dataset-fashion-mnist is not installed.
    if not fmnist.available():
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    return _fmnist_load(*args, **kwargs)


fmnist.load = _fmnist_load_or_skip
_attention_models = _load_script_module("attention_models")
packed_mha_model = _attention_models.packed_mha_model
separate_projections_model = _attention_models.separate_projections_model


def model_bytes(model):
    """bytes of a ModelProto, of a file path, or the bytes themselves."""
    if isinstance(model, onnx.ModelProto):
        return model.SerializeToString()
    if isinstance(model, (str, Path)):
        return Path(model).read_bytes()
    return bytes(model)


def parser_errors(parser):
    return [str(parser.get_error(i)) for i in range(parser.num_errors)]


def parse_errors(model):
    """The parser's errors for an ONNX model, one per line ('' when the model parses)."""
    network = trt.Builder(LOGGER).create_network(0)
    parser = trt.OnnxParser(network, LOGGER)
    parser.parse(model_bytes(model))
    return "\n".join(parser_errors(parser))


def parse_network(model, builder=None, logger=LOGGER):
    """(builder, network, parser) with the ONNX model parsed; fails the test on parser errors."""
    builder = builder or trt.Builder(logger)
    network = builder.create_network(EXPLICIT_BATCH)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(model_bytes(model)):
        raise AssertionError("ONNX parse failed:\n  " + "\n  ".join(parser_errors(parser)))
    return builder, network, parser


def make_config(builder, profiles=None, opt_level=None, workspace=None):
    """A builder config. profiles: a dict {input: (min, opt, max)} or a list of such dicts."""
    config = builder.create_builder_config()
    if workspace is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace)
    if opt_level is not None:
        config.builder_optimization_level = opt_level
    if isinstance(profiles, dict):
        profiles = [profiles]
    for shapes in profiles or []:
        profile = builder.create_optimization_profile()
        for name, (lo, opt, hi) in shapes.items():
            profile.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(profile)
    return config


def build_plan(model, profiles=None, opt_level=None, workspace=None, logger=LOGGER):
    """Serialized engine bytes for an ONNX model (ModelProto, path or bytes)."""
    builder, network, _ = parse_network(model, logger=logger)
    config = make_config(builder, profiles, opt_level, workspace)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise AssertionError("build_serialized_network returned None")
    return bytes(plan)


_runtime = []


def get_runtime():
    """One runtime for the session (made on first use, so importing this opens no device)."""
    if not _runtime:
        _runtime.append(trt.Runtime(LOGGER))
    return _runtime[0]


def deserialize(plan):
    engine = get_runtime().deserialize_cuda_engine(plan)
    if engine is None:
        raise AssertionError("deserialize_cuda_engine returned None")
    return engine


def build_engine(model, profiles=None, opt_level=None, workspace=None, logger=LOGGER):
    """An ICudaEngine built through the public API (Builder, OnnxParser, Runtime)."""
    return deserialize(build_plan(model, profiles, opt_level, workspace, logger))


def build_fp16_engine(model, detailed=False):
    """An engine with every layer constrained to FP16 (OBEY_PRECISION_CONSTRAINTS), so nothing
    falls back to FP32; `detailed`: the inspector reports each layer's precision and tactic."""
    builder, network, _ = parse_network(model)
    for i in range(network.num_layers):
        network.get_layer(i).precision = trt.float16
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.FP16)
    config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    if detailed:
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    plan = builder.build_serialized_network(network, config)
    assert plan is not None, "build_serialized_network returned None"
    return deserialize(bytes(plan))


def cosine(a, b):
    """Cosine similarity of two arrays as float64; 0 when either holds a NaN or Inf."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return 0.0
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def ort_session(model):
    """An onnxruntime CPU session: the reference every numeric test uses."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.log_severity_level = 3
    return ort.InferenceSession(model_bytes(model), opts, providers=["CPUExecutionProvider"])


def ort_run(model, feeds, output_names=None):
    """onnxruntime outputs as {name: array}; model may also be a session from ort_session()."""
    sess = model if isinstance(model, ort.InferenceSession) else ort_session(model)
    names = output_names or [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def _value_info(spec, default_dtype=TensorProto.FLOAT):
    """("x", [2, 3]) / ("x", [2, 3], np.int64) / ("y",) / ValueInfoProto -> ValueInfoProto."""
    if isinstance(spec, onnx.ValueInfoProto):
        return spec
    if isinstance(spec, str):
        spec = (spec,)
    name, shape, dtype = (list(spec) + [None, None])[:3]
    elem = default_dtype if dtype is None else helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    return helper.make_tensor_value_info(name, elem, shape)


def make_model(nodes, inputs, outputs, initializers=None, opset=17, name="test"):
    """A ModelProto. inputs/outputs: ("name", shape[, dtype]) tuples (shape may hold strings for
    dynamic dims; an output given as a bare name has unknown shape); initializers: {name: array}
    or TensorProtos."""
    inits = []
    for k, v in (initializers or {}).items() if isinstance(initializers, dict) else []:
        inits.append(numpy_helper.from_array(np.asarray(v), k))
    if isinstance(initializers, (list, tuple)):
        inits = list(initializers)
    graph = helper.make_graph(
        nodes, name, [_value_info(i) for i in inputs], [_value_info(o) for o in outputs], inits
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="clrt-tests")
    model.ir_version = helper.find_min_ir_version_for(opsets)
    return model


def rand(shape, seed=0, low=-1.0, high=1.0, dtype=np.float32):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)


def assert_close(actual, expected, rtol=RTOL, atol=ATOL, name="output"):
    """|actual - expected| <= atol + rtol * |expected| elementwise; the message gives the worst
    element (index, both values), the max abs and rel errors and how many elements fail."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{name}: shape {actual.shape}, expected {expected.shape}")
    if actual.size == 0:
        return
    with np.errstate(all="ignore"):  # inf/nan are judged below, not warned about
        message = _mismatch(actual, expected, rtol, atol, name)
    if message:
        raise AssertionError(message)


def _mismatch(actual, expected, rtol, atol, name):
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    same_special = (np.isnan(a) & np.isnan(e)) | (np.isinf(e) & (a == e))
    err = np.where(same_special, 0.0, np.abs(a - e))
    err = np.where(np.isnan(err), np.inf, err)  # nan where a number was expected, or vice versa
    # A NaN expected value makes its own threshold NaN (every comparison false): NaN where NaN
    # is expected is judged by same_special, anything else there fails.
    bad = (err > atol + rtol * np.abs(e)) | (np.isinf(e) & (a != e)) | (np.isnan(e) & ~np.isnan(a))
    if not bad.any():
        return None
    excess = np.where(bad, err - rtol * np.abs(np.nan_to_num(e)), -np.inf)
    worst = np.unravel_index(int(np.argmax(excess)), a.shape)
    big = np.unravel_index(int(np.argmax(err)), a.shape)
    rel = np.divide(err, np.abs(e), out=np.zeros_like(err), where=np.abs(e) > 0)
    return (
        f"{name}: {int(bad.sum())} of {a.size} elements differ beyond rtol={rtol}, atol={atol}; "
        f"worst at {tuple(int(i) for i in worst)}: got {actual[worst].item()!r}, "
        f"expected {expected[worst].item()!r}; max abs err {err[big]:.3e} at "
        f"{tuple(int(i) for i in big)}, max rel err {rel.max():.3e} (nonzero expected values)"
    )


def run_and_compare(model, feeds, rtol=RTOL, atol=ATOL, profiles=None, opt_level=None, engine=None):
    """Builds (unless given) and runs the model with clrt and onnxruntime; every output must
    match in shape, dtype kind and value. Returns clrt's outputs."""
    engine = engine or build_engine(model, profiles=profiles, opt_level=opt_level)
    got = engine.create_execution_context().infer(feeds)
    ref = ort_run(model, feeds)
    assert sorted(got) == sorted(ref), f"outputs {sorted(got)}, onnxruntime gives {sorted(ref)}"
    for name, expected in ref.items():
        assert got[name].dtype.kind == expected.dtype.kind, (
            f"{name}: dtype {got[name].dtype}, onnxruntime gives {expected.dtype}"
        )
        if expected.dtype.kind in "biu":
            np.testing.assert_array_equal(got[name], expected, err_msg=name)
        else:
            assert_close(got[name], expected, rtol, atol, name)
    return got


def device_description():
    """The OpenCL device clrt runs on (the default device: CLRT_DEVICE, else the first GPU,
    else the first device)."""
    return str(trt.current_device())


def compile_counter():
    """The number of OpenCL programs compiled on the default device in this process."""
    return trt.compile_count


def checksum64(data):
    """clrt's checksum of engine files and timing caches (core/checksum.h), for tests that edit
    a file and reseal it as someone else could."""
    mask, h, prime = (1 << 64) - 1, 1469598103934665603, 1099511628211
    full = len(data) // 8 * 8
    for word in np.frombuffer(data[:full], "<u8").tolist():
        h = ((h ^ word) * prime) & mask
        h ^= h >> 29
    for b in data[full:]:
        h = ((h ^ b) * prime) & mask
        h ^= h >> 29
    return ((h ^ len(data)) * prime) & mask


@contextlib.contextmanager
def env_set(**values):
    """Environment variables set for the block, each restored (or removed) after it."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def fresh_process(tmp_path, script, *args, kernels="kernels", env=None, timeout=900):
    """stdout of `script` (python -c) in a new process importing this clrt, with the empty kernel
    cache directory tmp_path / kernels and `env` added to the environment; a non-zero exit (or
    running past `timeout` seconds) fails the test."""
    import subprocess
    import sys

    stage = os.path.dirname(os.path.dirname(os.path.abspath(trt.__file__)))
    full = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([stage, os.environ.get("PYTHONPATH", "")]),
        "CLRT_CACHE_DIR": str(tmp_path / kernels),
        **(env or {}),
    }
    out = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
        env=full,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout
