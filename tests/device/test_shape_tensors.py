# Shape tensors (inputs whose values decide shapes, from the profile and the run) and operands
# computed at run time (Clip bounds, Conv weights), against onnxruntime.
import numpy as np
import pytest
from helpers import assert_close, deserialize, make_model, ort_run, parse_network, rand
from onnx import helper

RTOL, ATOL = 1e-4, 1e-5  # FP32 against onnxruntime


def build(model, shape_inputs=None, shapes=None):
    """Engine with one profile: shape_inputs {name: (min, opt, max) values}, shapes likewise."""
    builder, network, _ = parse_network(model)
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    for name, (lo, opt, hi) in (shape_inputs or {}).items():
        profile.set_shape_input(name, lo, opt, hi)
    for name, (lo, opt, hi) in (shapes or {}).items():
        profile.set_shape(name, lo, opt, hi)
    if profile:
        config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    assert plan is not None
    return deserialize(bytes(plan))


REDUCE = make_model(
    [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=1)],
    [("x", [2, 3, 4]), ("axes", [1], np.int64)],
    [("y",)],
    opset=18,
)

RESHAPE = make_model(
    [helper.make_node("Reshape", ["x", "shape"], ["y"])],
    [("x", [2, 3, 4]), ("shape", [2], np.int64)],
    [("y",)],
)

SLICE = make_model(
    [helper.make_node("Slice", ["x", "starts", "ends"], ["y"])],
    [("x", [6, 5]), ("starts", [2], np.int64), ("ends", [2], np.int64)],
    [("y",)],
)


def test_shape_input_flags():
    _, network, _ = parse_network(RESHAPE)
    x, shape = network.get_input(0), network.get_input(1)
    assert shape.is_shape_tensor and not shape.is_execution_tensor
    assert not x.is_shape_tensor and x.is_execution_tensor


def test_reduce_axes_from_profile_folded():
    engine = build(REDUCE, {"axes": ([1], [1], [1])})
    x = rand((2, 3, 4), seed=1)
    axes = np.array([1], np.int64)
    got = engine.create_execution_context().infer({"x": x, "axes": axes})["y"]
    assert_close(got, ort_run(REDUCE, {"x": x, "axes": axes})["y"], RTOL, ATOL)


def test_reduce_axes_at_run_time():
    engine = build(REDUCE, {"axes": ([-3], [0], [2])})
    context = engine.create_execution_context()
    x = rand((2, 3, 4), seed=2)
    for a in (0, 2, -1):
        axes = np.array([a], np.int64)
        got = context.infer({"x": x, "axes": axes})["y"]
        assert_close(got, ort_run(REDUCE, {"x": x, "axes": axes})["y"], RTOL, ATOL, f"axes {a}")


def test_reshape_shape_from_profile_and_infer():
    # Every corner must be a valid target: the builder resolves the shapes at each.
    engine = build(RESHAPE, {"shape": ([2, -1], [4, -1], [24, -1])})
    context = engine.create_execution_context()
    x = rand((2, 3, 4), seed=3)
    for s in ([4, -1], [12, -1], [24, -1], [3, -1]):
        shape = np.array(s, np.int64)
        got = context.infer({"x": x, "shape": shape})["y"]
        want = ort_run(RESHAPE, {"x": x, "shape": shape})["y"]
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_shape_input_outside_profile_names_it():
    engine = build(RESHAPE, {"shape": ([4, 6], [4, 6], [4, 6])})
    x = rand((2, 3, 4), seed=4)
    with pytest.raises(ValueError, match="shape input 'shape'.*outside profile 0"):
        engine.create_execution_context().infer({"x": x, "shape": np.array([6, 4], np.int64)})


def test_shape_input_without_profile_says_what_to_do():
    builder, network, _ = parse_network(RESHAPE)
    config = builder.create_builder_config()
    with pytest.raises(Exception, match=r"RESHAPE .* from input 'shape'.*set_shape_input"):
        builder.build_serialized_network(network, config)


def test_slice_starts_at_run_time():
    engine = build(SLICE, {"starts": ([0, 0], [1, 1], [5, 4]), "ends": ([1, 1], [5, 4], [6, 5])})
    context = engine.create_execution_context()
    x = rand((6, 5), seed=5)
    for st, en in (([1, 1], [5, 4]), ([0, 2], [6, 3]), ([3, 0], [4, 5])):
        feeds = {"x": x, "starts": np.array(st, np.int64), "ends": np.array(en, np.int64)}
        got = context.infer(feeds)["y"]
        np.testing.assert_array_equal(got, ort_run(SLICE, feeds)["y"])


def test_clip_with_tensor_bounds():
    model = make_model(
        [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
        [("x", [3, 4]), ("lo", []), ("hi", [])],
        [("y",)],
        opset=13,
    )
    engine = build(model)
    x = rand((3, 4), seed=6, low=-2, high=2)
    for lo, hi in ((-0.5, 0.7), (0.2, 1.5), (1.0, -1.0)):  # min > max gives max
        feeds = {"x": x, "lo": np.array(lo, np.float32), "hi": np.array(hi, np.float32)}
        got = engine.create_execution_context().infer(feeds)["y"]
        assert_close(got, ort_run(model, feeds)["y"], RTOL, ATOL, f"clip {lo} {hi}")


def test_size_static_and_dynamic():
    model = make_model(
        [helper.make_node("Size", ["x"], ["n"]), helper.make_node("Relu", ["x"], ["y"])],
        [("x", ["b", 3])],
        [("n", [], np.int64), ("y",)],
        opset=19,
    )
    engine = build(model, shapes={"x": ((1, 3), (2, 3), (5, 3))})
    context = engine.create_execution_context()
    for b in (1, 4):
        x = rand((b, 3), seed=7)
        got = context.infer({"x": x})
        assert got["n"].dtype == np.int64 and got["n"].shape == ()
        assert int(got["n"]) == ort_run(model, {"x": x})["n"] == 3 * b
