# Errors say what went wrong and name the thing: builder, infer and execute_v2 misuse (parser
# errors: tests/unit/test_importer_checks.py).
import clrt as trt
import numpy as np
import pytest
from helpers import (
    build_engine,
    make_config,
    make_model,
    parse_network,
)
from onnx import helper as oh

N = oh.make_node


# Real ONNX ops clrt is unlikely to import; the first two the parser rejects are used.
@pytest.fixture(scope="module")
def static_engine():
    model = make_model([N("Relu", ["input"], ["output"])], [("input", (2, 3, 4))], ["output"])
    return build_engine(model)


@pytest.mark.parametrize(
    "feeds, words",
    [
        ({"inptu": np.zeros((2, 3, 4), np.float32)}, ["inptu"]),
        ({}, ["input"]),
        ({"input": np.zeros((2, 3, 5), np.float32)}, ["input", "(2, 3, 5)"]),
        ({"input": np.zeros((2, 3), np.float32)}, ["input"]),
        ({"input": np.array([["a"] * 4] * 3 * 2).reshape(2, 3, 4)}, ["input"]),
        ({"input": np.zeros((2, 3, 4), np.complex64)}, ["input"]),
    ],
    ids=["wrong-name", "missing", "wrong-shape", "wrong-rank", "str-dtype", "complex-dtype"],
)
def test_infer_rejects_bad_inputs(static_engine, feeds, words):
    context = static_engine.create_execution_context()
    with pytest.raises(ValueError) as info:
        context.infer(feeds)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_dynamic_input_without_profile(builder):
    model = make_model([N("Relu", ["x"], ["y"])], [("x", ("batch", 3))], ["y"])
    _, network, _ = parse_network(model, builder)
    with pytest.raises(trt.BuildError, match="(?i)profile") as info:
        builder.build_serialized_network(network, make_config(builder))
    assert "x" in str(info.value)


def test_workspace_limit_too_small(builder):
    rng = np.random.default_rng(0)
    model = make_model(
        [N("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), N("MatMul", ["c", "k"], ["y"])],
        [("x", (1, 16, 16, 16))],
        ["y"],
        {
            "w": rng.standard_normal((16, 16, 3, 3)).astype(np.float32),
            "k": rng.standard_normal((16, 16)).astype(np.float32),
        },
    )
    _, network, _ = parse_network(model, builder)
    with pytest.raises(trt.BuildError, match="(?i)workspace"):
        builder.build_serialized_network(network, make_config(builder, workspace=1))


def test_execute_v2_bad_pointer(static_engine):
    context = static_engine.create_execution_context()
    with pytest.raises(ValueError):
        context.execute_v2([0xDEAD0, 0xBEEF0])


def test_execute_v2_wrong_binding_count(static_engine):
    context = static_engine.create_execution_context()
    buf = trt.mem_alloc(2 * 3 * 4 * 4)
    with pytest.raises(ValueError):
        context.execute_v2([int(buf)])


def test_execute_v2_buffer_too_small(static_engine):
    context = static_engine.create_execution_context()
    small, out = trt.mem_alloc(4), trt.mem_alloc(2 * 3 * 4 * 4)
    with pytest.raises(ValueError, match="input"):
        context.execute_v2([int(small), int(out)])


def test_set_input_shape_wrong_rank_and_unknown_name(static_engine):
    context = static_engine.create_execution_context()
    with pytest.raises(ValueError, match="input"):
        context.set_input_shape("input", (2, 3))
    with pytest.raises(ValueError, match="nope"):
        context.set_input_shape("nope", (2, 3, 4))


def test_profile_for_a_tensor_that_is_no_input(builder):
    # Written into the engine, such a shape made a file that failed to load ("malformed"); the
    # build now refuses it, naming the inputs there are (a sample's profile for another model).
    model = make_model([N("Relu", ["x"], ["y"])], [("x", (2, 3))], ["y"])
    _, network, _ = parse_network(model, builder)
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    profile.set_shape("gpu_0/data_0", (2, 3), (2, 3), (2, 3))
    config.add_optimization_profile(profile)
    with pytest.raises(
        trt.BuildError,
        match="sets shapes for 'gpu_0/data_0', which is not an input of the network \\(its inputs: 'x'\\)",
    ):
        builder.build_serialized_network(network, config)


@pytest.mark.parametrize(
    "shapes", [((1, 3, 1), (2, 3, 1), (4, 3, 1)), ((1, 4), (2, 4), (4, 4))],
    ids=["wrong-rank", "static-dim-differs"],
)  # fmt: skip
def test_profile_shape_does_not_match_input(builder, shapes):
    model = make_model([N("Relu", ["x"], ["y"])], [("x", ("batch", 3))], ["y"])
    _, network, _ = parse_network(model, builder)
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    profile.set_shape("x", *shapes)
    config.add_optimization_profile(profile)
    with pytest.raises(trt.BuildError) as info:
        builder.build_serialized_network(network, config)
    for word in ("does not match", "'x'", "(-1, 3)"):
        assert word in str(info.value), str(info.value)
