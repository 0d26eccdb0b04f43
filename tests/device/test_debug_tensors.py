"""Debug tensors (TensorRT 10's API): network.mark_debug keeps a tensor that fusion would remove
(a convolution's output before its ReLU, before a residual Add), with a VERBOSE note; the
context's listener gets each marked tensor whose debug state is on after every run, and
infer(feeds, debug=True) returns them all. Values against onnxruntime, with the intermediate
tensors exposed as extra ORT outputs, at the FP32 tolerance of helpers (RTOL 1e-4, ATOL 1e-5).
"""

import clrt as trt
import numpy as np
import pytest
from helpers import (
    EXPLICIT_BATCH,
    RecordingLogger,
    assert_close,
    get_runtime,
    make_model,
    ort_run,
    rand,
)
from onnx import helper

MARKED = ("c1", "c2")  # conv outputs that fuse into the ReLU / the residual Add when unmarked


def _model(extra_outputs=()):
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
        helper.make_node("Add", ["c2", "r1"], ["s"], name="add"),
        helper.make_node("Relu", ["s"], ["y"], name="relu2"),
    ]
    inits = {
        "w1": rand((4, 3, 3, 3), seed=1, low=-0.5, high=0.5),
        "b1": rand((4,), seed=2, low=-0.1, high=0.1),
        "w2": rand((4, 4, 3, 3), seed=3, low=-0.5, high=0.5),
        "b2": rand((4,), seed=4, low=-0.1, high=0.1),
    }
    outs = [("y", [1, 4, 8, 8])] + [(n, [1, 4, 8, 8]) for n in extra_outputs]
    return make_model(nodes, [("x", [1, 3, 8, 8])], outs, inits)


def _build(marked, logger=None, ranges=None):
    """The engine with `marked` tensors marked; with `ranges` ({tensor: amax}) every layer
    prefers INT8 (where it has an implementation) at those dynamic ranges."""
    logger = logger or trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(EXPLICIT_BATCH)
    parser = trt.OnnxParser(network, logger)
    assert parser.parse(_model().SerializeToString())
    tensors = {}
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        for k in range(layer.num_outputs):
            tensors[layer.get_output(k).name] = layer.get_output(k)
    assert network.mark_debug(tensors["r1"]) and network.unmark_debug(tensors["r1"])
    for name in marked:
        assert network.mark_debug(tensors[name])
    assert all(network.is_debug_tensor(tensors[n]) == (n in marked) for n in ("c1", "r1", "c2"))
    config = builder.create_builder_config()
    if ranges:
        tensors["x"] = network.get_input(0)
        for i in range(network.num_layers):
            network.get_layer(i).precision = trt.int8
        for name, amax in ranges.items():
            tensors[name].set_dynamic_range(-amax, amax)
        config.set_flag(trt.BuilderFlag.INT8)
        config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
    plan = builder.build_serialized_network(network, config)
    return get_runtime().deserialize_cuda_engine(plan)


class Recorder(trt.IDebugListener):
    """Keeps (name, dtype, shape, value) of every call; the value read through the device
    pointer with memcpy_dtoh, as a TensorRT listener reads it with cudaMemcpy."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def process_debug_tensor(self, addr, location, type, shape, name, stream):
        value = np.empty(shape, trt.nptype(type))
        trt.memcpy_dtoh(value, addr)
        self.calls.append((name, type, tuple(shape), location, value))
        return True


@pytest.fixture(scope="module")
def logged_build():
    logger = RecordingLogger()
    return _build(MARKED, logger), logger


@pytest.fixture(scope="module")
def reference():
    x = rand((1, 3, 8, 8), seed=5)
    return x, ort_run(_model(MARKED), {"x": x})


def test_marked_tensors_survive_fusion_with_a_note(logged_build):
    engine, logger = logged_build
    assert engine.is_debug_tensor("c1") and engine.is_debug_tensor("c2")
    assert not engine.is_debug_tensor("r1") and not engine.is_debug_tensor("y")
    text = logger.text()
    for host, user, t in (("conv1", "relu1", "c1"), ("conv2", "add", "c2")):
        note = f"'{host}' and '{user}' left unfused: '{t}' between them is a debug tensor"
        assert note in text, text
    # Unmarked, the same network fuses both away: the engine has fewer layers.
    plain = _build(())
    assert plain.num_layers < engine.num_layers
    assert not plain.is_debug_tensor("c1")


def test_infer_debug_returns_marked_tensors_like_onnxruntime(logged_build, reference):
    engine, _ = logged_build
    x, ref = reference
    out = engine.create_execution_context().infer({"x": x}, debug=True)
    assert set(out) == {"y", *MARKED}
    for name in ("y", *MARKED):
        assert_close(out[name], ref[name], name=name)
    plain = engine.create_execution_context().infer({"x": x})
    assert set(plain) == {"y"}
    np.testing.assert_array_equal(plain["y"], out["y"])


def test_listener_gets_tensors_whose_state_is_on(logged_build, reference):
    engine, _ = logged_build
    x, ref = reference
    ctx = engine.create_execution_context()
    rec = Recorder()
    assert ctx.set_debug_listener(rec) and ctx.get_debug_listener() is rec
    assert not ctx.get_debug_state("c1")
    ctx.infer({"x": x})
    assert rec.calls == []  # states start off
    ctx.set_tensor_debug_state("c2", True)
    ctx.infer({"x": x})
    assert [c[0] for c in rec.calls] == ["c2"]
    _, dtype, shape, location, value = rec.calls[0]
    assert dtype == trt.DataType.FLOAT and shape == (1, 4, 8, 8)
    assert location == trt.TensorLocation.DEVICE
    assert_close(value, ref["c2"], name="c2")
    rec.calls.clear()
    ctx.set_all_tensors_debug_state(True)
    assert ctx.get_debug_state("c1") and ctx.get_debug_state("c2")
    # execute_v2 with device buffers reports too, in execution order.
    xd, yd = trt.mem_alloc(x.nbytes), trt.mem_alloc(4 * 4 * 8 * 8)
    trt.memcpy_htod(xd, x)
    assert ctx.execute_v2([xd, yd])
    assert [c[0] for c in rec.calls] == ["c1", "c2"]
    assert_close(rec.calls[0][4], ref["c1"], name="c1")
    rec.calls.clear()
    ctx.set_all_tensors_debug_state(False)
    ctx.infer({"x": x})
    assert rec.calls == []
    ctx.set_debug_listener(None)
    assert ctx.get_debug_listener() is None


def test_debug_state_names_are_checked(logged_build):
    ctx = logged_build[0].create_execution_context()
    with pytest.raises(ValueError, match=r"'r1' is not a debug tensor.*'c1', 'c2'"):
        ctx.set_tensor_debug_state("r1", True)
    with pytest.raises(ValueError, match="IDebugListener"):
        ctx.set_debug_listener(object())


def test_debug_marks_survive_serialization(logged_build, reference):
    engine, _ = logged_build
    again = get_runtime().deserialize_cuda_engine(engine.serialize())
    assert again.is_debug_tensor("c1") and again.is_debug_tensor("c2")
    x, ref = reference
    out = again.create_execution_context().infer({"x": x}, debug=True)
    assert_close(out["c1"], ref["c1"], name="c1")


def test_int8_debug_tensors_come_back_dequantized(reference):
    """All layers INT8 at ranges from onnxruntime's own values: infer(debug=True) gives the
    marked tensors as float32 within 5% of each tensor's range of onnxruntime FP32 (INT8 steps
    are 1/127 of it; the inputs' rounding adds up through the convolution); the listener gets
    the stored values and their type, which scale to exactly those floats."""
    x, ref = reference
    ranges = {n: float(np.abs(ref[n]).max()) for n in ("c1", "c2", "y")}
    ranges.update(x=float(np.abs(x).max()), r1=ranges["c1"], s=ranges["c2"] + ranges["c1"])
    engine = _build(MARKED, ranges=ranges)
    ctx = engine.create_execution_context()
    rec = Recorder()
    ctx.set_debug_listener(rec)
    ctx.set_all_tensors_debug_state(True)
    out = ctx.infer({"x": x}, debug=True)
    for name in MARKED:
        assert out[name].dtype == np.float32
        err = np.abs(out[name] - ref[name]).max()
        assert err <= 0.05 * ranges[name], (name, err, ranges[name])
    stored = {c[0]: c for c in rec.calls}
    assert set(stored) == set(MARKED)
    for name in MARKED:
        _, dtype, _, _, value = stored[name]
        scale = np.float32(ranges[name] / 127) if dtype == trt.DataType.INT8 else np.float32(1)
        np.testing.assert_array_equal(value.astype(np.float32) * scale, out[name])
    assert any(c[1] == trt.DataType.INT8 for c in rec.calls), [c[1] for c in rec.calls]
