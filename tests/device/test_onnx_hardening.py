# Hostile and odd ONNX models that reach the builder or the device: bounded host folding, checked
# volumes at build time, non-UTF-8 tensor names through a run. A regression each; the parse-time
# ones are in tests/unit/test_importer_checks.py.
import os
import subprocess
import sys

import clrt as trt
import numpy as np
import onnx
import pytest
from helpers import (
    EXPLICIT_BATCH,
    LOGGER,
    RecordingLogger,
    assert_close,
    build_engine,
    make_config,
    make_model,
    model_bytes,
    parse_network,
    parser_errors,
)
from onnx import helper

N = helper.make_node


def parse(model, logger=LOGGER):
    """(ok, errors, network) of one parse."""
    network = trt.Builder(logger).create_network(EXPLICIT_BATCH)
    parser = trt.OnnxParser(network, logger)
    ok = parser.parse(model if isinstance(model, bytes) else model_bytes(model))
    return ok, parser_errors(parser), network


def build_error(model):
    """The BuildError text of building `model` (which must parse)."""
    builder, network, _ = parse_network(model)
    with pytest.raises(trt.BuildError) as info:
        builder.build_serialized_network(network, make_config(builder, opt_level=0))
    return str(info.value)


# ---- finding 7: ~200-byte models asking constant folding for gigabytes ----


def huge_fill(kind):
    big = 2**31
    inits = {}
    if kind == "ConstantOfShape":
        nodes = [N("ConstantOfShape", ["s"], ["y"], name="the_fill")]
        inits = {"s": np.array([big], np.int64)}
    elif kind == "Range":
        nodes = [N("Range", ["a", "b", "c"], ["y"], name="the_fill")]
        inits = {
            "a": np.array(0, np.int64),
            "b": np.array(big, np.int64),
            "c": np.array(1, np.int64),
        }
    else:
        nodes = [N("Expand", ["v", "s"], ["y"], name="the_fill")]
        inits = {"v": np.ones((1, 2), np.float32), "s": np.array([big // 2, 2], np.int64)}
    return make_model(nodes, [], ["y"], inits)


@pytest.mark.parametrize("kind", ["ConstantOfShape", "Range", "Expand"])
def test_huge_fill_is_refused_naming_layer_and_size(kind):
    model = huge_fill(kind)
    assert len(model.SerializeToString()) < 300
    text = build_error(model)
    assert "the_fill" in text and "bytes of host memory" in text, text
    assert "CLRT_HOST_MEMORY_LIMIT" in text, text


def test_host_memory_limit_is_configurable(tmp_path):
    """CLRT_HOST_MEMORY_LIMIT lowers the budget: a 64 KiB fill then fails in a fresh process."""
    model = make_model(
        [N("ConstantOfShape", ["s"], ["y"], name="small_fill")],
        [],
        ["y"],
        {"s": np.array([16384], np.int64)},
    )
    path = tmp_path / "fill.onnx"
    onnx.save(model, str(path))
    code = (
        "import clrt as trt, sys\n"
        "lg = trt.Logger(trt.Logger.ERROR); b = trt.Builder(lg)\n"
        "n = b.create_network(1); p = trt.OnnxParser(n, lg)\n"
        f"assert p.parse_from_file({str(path)!r})\n"
        "c = b.create_builder_config(); c.builder_optimization_level = 0\n"
        "try:\n    b.build_serialized_network(n, c); print('built')\n"
        "except trt.BuildError as e:\n    print('refused', e)\n"
    )
    env = dict(os.environ, CLRT_HOST_MEMORY_LIMIT=str(64 << 10))
    cmd = [sys.executable, "-c", code]
    out = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True)
    assert out.stdout.startswith("refused") and "small_fill" in out.stdout, out.stdout + out.stderr


# ---- finding 8: overflow in shape arithmetic is an error naming the node and the numbers ----


def test_fill_past_int64_volume_named():
    model = make_model(
        [N("ConstantOfShape", ["s"], ["y"], name="cube_fill")],
        [],
        ["y"],
        {"s": np.array([2**40, 2**40, 2**40], np.int64)},
    )
    text = build_error(model)
    assert "cube_fill" in text and "host memory" in text, text


# ---- finding 9: external data through a symlink out of the model's folder ----


# ---- finding 13: names that are not UTF-8 reach Python as text ----


def with_bad_bytes(model, name):
    """The serialized model with one byte of `name` replaced by 0xff (same length, so the
    protobuf framing holds): the only way to get such bytes past the Python protobuf API."""
    data = model.SerializeToString()
    bad = name.encode()[:-1] + b"\xff"
    assert name.encode() in data
    return data.replace(name.encode(), bad), name[:-1] + "\\xff"


def test_non_utf8_tensor_names_are_escaped_consistently():
    model = make_model([N("Relu", ["inpQ"], ["outQ"], name="reluQ")], [("inpQ", (2, 3))], ["outQ"])
    data, _ = with_bad_bytes(model, "inpQ")
    data = data.replace(b"outQ", b"out\xff")
    ok, errors, network = parse(data)
    assert ok, errors
    assert network.get_input(0).name == "inp\\xff" and network.get_output(0).name == "out\\xff"
    engine = build_engine(data, opt_level=0)
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    out = engine.create_execution_context().infer({"inp\\xff": x})
    assert_close(out["out\\xff"], np.maximum(x, 0), rtol=0, atol=0)


# ---- finding 14: parse time linear in the node count ----


# ---- issue 11: 0/1 attributes ----


# ---- finding 11: a graph output that is also a graph input keeps its ONNX name in infer() ----


def test_graph_output_that_is_an_input_comes_back_under_its_onnx_name(tmp_path):
    model = make_model([N("Relu", ["x"], ["y"])], [("x", (2, 3))], [("y", (2, 3)), ("x", (2, 3))])
    x = np.float32([[-1, 0, 1], [2, -3, 4]])
    logger = RecordingLogger()
    engine = build_engine(model, logger=logger)
    notes = [m for _, m in logger.lines if "also a graph input" in m]
    assert len(notes) == 1 and "infer() returns it as 'x'" in notes[0], notes
    # The engine's I/O names stay unique (TensorRT's API looks tensors up by name) ...
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    assert len(set(names)) == 3 and names.count("x") == 1, names
    # ... and infer() returns the copy under the ONNX name, also after a save and load.
    reloaded = trt.Runtime(LOGGER).deserialize_cuda_engine(engine.serialize())
    for e in (engine, reloaded):
        got = e.create_execution_context().infer({"x": x})
        assert sorted(got) == ["x", "y"], sorted(got)
        np.testing.assert_array_equal(got["x"], x)
        np.testing.assert_array_equal(got["y"], np.maximum(x, 0))
