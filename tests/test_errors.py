# Errors say what went wrong and name the thing: parser, builder, infer and execute_v2 misuse.
import clrt as trt
import numpy as np
import pytest
from helpers import (
    EXPLICIT_BATCH,
    LOGGER,
    build_engine,
    make_config,
    make_model,
    model_bytes,
    parse_network,
    parser_errors,
)
from onnx import helper as oh

N = oh.make_node
# Real ONNX ops clrt is unlikely to import; the first two the parser rejects are used.
UNSUPPORTED_CANDIDATES = [
    "Det",
    "Hardmax",
    "Unique",
    "NonMaxSuppression",
    "RoiAlign",
    "GridSample",
    "STFT",
    "Col2Im",
]


def new_parser(builder):
    network = builder.create_network(EXPLICIT_BATCH)
    return network, trt.OnnxParser(network, LOGGER)


def two_unsupported(builder):
    _, parser = new_parser(builder)
    ops = [op for op in UNSUPPORTED_CANDIDATES if not parser.supports_operator(op)]
    assert len(ops) >= 2, "the parser supports every candidate: pick new unsupported ops"
    return ops[:2]


def test_unsupported_ops_reported_together(builder):
    op_a, op_b = two_unsupported(builder)
    nodes = [
        N("Relu", ["x"], ["r"], name="relu_0"),
        N(op_a, ["r"], ["a"], name="first_bad"),
        N("Sigmoid", ["a"], ["s"], name="sigmoid_2"),
        N(op_b, ["s"], ["y"], name="second_bad"),
    ]
    model = make_model(nodes, [("x", (2, 3, 3))], ["y"])
    network, parser = new_parser(builder)
    assert not parser.parse(model_bytes(model))
    errors = parser_errors(parser)
    assert len(errors) == 2, f"expected one error per unsupported node, got {errors}"
    for text, index, name, op in (
        (errors[0], 1, "first_bad", op_a),
        (errors[1], 3, "second_bad", op_b),
    ):
        assert f"node {index}" in text and name in text and op in text, text
    err = parser.get_error(0)  # TensorRT's ParserError accessors
    assert err.node() == 1 and err.node_name() == "first_bad" and err.node_operator() == op_a
    assert network.num_layers == 0, "a failed parse must leave the network unchanged"


def test_bad_attribute_names_node(builder):
    model = make_model(
        [N("Conv", ["x", "w"], ["y"], name="the_conv", auto_pad="SIDEWAYS")],
        [("x", (1, 2, 5, 5))],
        ["y"],
        {"w": np.zeros((3, 2, 3, 3), np.float32)},
    )
    _, parser = new_parser(builder)
    assert not parser.parse(model_bytes(model))
    text = " ".join(parser_errors(parser))
    assert "the_conv" in text and "Conv" in text and "SIDEWAYS" in text, text


def test_missing_file(builder, tmp_path):
    """As TensorRT: parse_from_file returns False and records an error naming the file."""
    path = tmp_path / "does_not_exist.onnx"
    _, parser = new_parser(builder)
    assert not parser.parse_from_file(str(path))
    text = " ".join(parser_errors(parser))
    assert str(path) in text and "does not exist" in text, text


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\x01garbage bytes, not a protobuf" * 3, bytes(range(256)) * 4],
    ids=["empty", "garbage", "binary"],
)
def test_garbage_bytes(builder, data):
    network, parser = new_parser(builder)
    assert not parser.parse(data)
    errors = parser_errors(parser)
    assert len(errors) == 1 and "not a valid ONNX" in errors[0], errors
    assert network.num_layers == 0


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


def test_profile_min_opt_max_order(builder):
    profile = builder.create_optimization_profile()
    with pytest.raises(ValueError, match="min <= opt <= max") as info:
        profile.set_shape("x", (1, 3), (4, 3), (2, 3))
    assert "'x'" in str(info.value)


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
