# Operands computed at run time: Squeeze/Unsqueeze axes, Pad pads, Resize scales/sizes/roi,
# Upsample scales and Tile repeats as shape inputs (values from the profile, then per infer()),
# BatchNormalization statistics as graph inputs; each against onnxruntime.
import clrt as trt
import numpy as np
import pytest
from helpers import assert_close, deserialize, make_model, ort_run, parse_network, rand
from onnx import helper

RTOL, ATOL = 1e-4, 1e-5  # FP32 against onnxruntime


def build(model, shape_inputs=None):
    """Engine with one profile: shape_inputs {name: (min, opt, max) values}."""
    builder, network, _ = parse_network(model)
    config = builder.create_builder_config()
    config.builder_optimization_level = 0
    if shape_inputs:
        profile = builder.create_optimization_profile()
        for name, (lo, opt, hi) in shape_inputs.items():
            profile.set_shape_input(name, lo, opt, hi)
        config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    assert plan is not None
    return deserialize(bytes(plan))


def check(model, context, feeds, what):
    got = context.infer(feeds)
    want = ort_run(model, feeds)
    for name, value in want.items():
        assert got[name].shape == value.shape, f"{what}: {got[name].shape} vs {value.shape}"
        assert_close(got[name], value, RTOL, ATOL, f"{what} {name}")


UNSQUEEZE = make_model(
    [helper.make_node("Unsqueeze", ["x", "axes"], ["y"])],
    [("x", [2, 3]), ("axes", [1], np.int64)],
    [("y",)],
    opset=13,
)

SQUEEZE = make_model(
    [helper.make_node("Squeeze", ["x", "axes"], ["y"])],
    [("x", [1, 3, 1, 2]), ("axes", [1], np.int64)],
    [("y",)],
    opset=13,
)

PAD = make_model(
    [helper.make_node("Pad", ["x", "pads"], ["y"], mode="reflect")],
    [("x", [2, 5]), ("pads", [4], np.int64)],
    [("y",)],
    opset=18,
)

RESIZE_SCALES = make_model(
    [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear")],
    [("x", [1, 1, 3, 4]), ("scales", [4])],
    [("y",)],
    opset=19,
)

RESIZE_SIZES = make_model(
    [helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="cubic", axes=[3, 2])],
    [("x", [1, 2, 4, 4]), ("sizes", [2], np.int64)],
    [("y",)],
    opset=19,
)

TILE = make_model(
    [helper.make_node("Tile", ["x", "repeats"], ["y"])],
    [("x", [2, 3]), ("repeats", [2], np.int64)],
    [("y",)],
    opset=13,
)

BATCHNORM = make_model(
    [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)],
    [("x", [2, 3, 4, 5]), ("s", [3]), ("b", [3]), ("m", [3]), ("v", [3])],
    [("y",)],
    opset=15,
)


def test_unsqueeze_axes_change_between_runs():
    context = build(UNSQUEEZE, {"axes": ([-3], [1], [2])}).create_execution_context()
    x = rand((2, 3), seed=1)
    for a in (0, 2, -1, 1):
        check(UNSQUEEZE, context, {"x": x, "axes": np.array([a], np.int64)}, f"axes {a}")


def test_squeeze_axes_at_run_time():
    context = build(SQUEEZE, {"axes": ([-4], [0], [2])}).create_execution_context()
    x = rand((1, 3, 1, 2), seed=2)
    for a in (0, 2, -2):
        check(SQUEEZE, context, {"x": x, "axes": np.array([a], np.int64)}, f"axes {a}")


def test_pad_pads_change_between_runs():
    context = build(PAD, {"pads": ([0, 0, 0, 0], [1, 2, 1, 2], [1, 3, 1, 3])})
    context = context.create_execution_context()
    x = rand((2, 5), seed=3)
    for p in ([1, 2, 1, 3], [0, 1, 0, 0], [1, 3, 0, 2]):
        check(PAD, context, {"x": x, "pads": np.array(p, np.int64)}, f"pads {p}")


def test_resize_scales_change_between_runs():
    lo, hi = [1.0, 1.0, 0.5, 0.5], [1.0, 1.0, 3.0, 3.0]
    engine = build(RESIZE_SCALES, {"scales": (lo, [1.0, 1.0, 2.0, 2.0], hi)})
    assert engine.get_tensor_profile_values("scales", 0) == [lo, [1.0, 1.0, 2.0, 2.0], hi]
    context = engine.create_execution_context()
    x = rand((1, 1, 3, 4), seed=4)
    for s in ([1.0, 1.0, 2.0, 1.5], [1.0, 1.0, 0.6, 2.5]):
        check(RESIZE_SCALES, context, {"x": x, "scales": np.array(s, np.float32)}, f"scales {s}")


def test_resize_scales_outside_profile_name_the_input():
    engine = build(RESIZE_SCALES, {"scales": ([1, 1, 1, 1], [1, 1, 2, 2], [1, 1, 2, 2])})
    context = engine.create_execution_context()
    x = rand((1, 1, 3, 4), seed=5)
    with pytest.raises(ValueError, match="shape input 'scales'.*outside profile 0"):
        context.infer({"x": x, "scales": np.array([1, 1, 2.5, 2], np.float32)})


def test_resize_scales_folded_when_fixed():
    engine = build(RESIZE_SCALES, {"scales": ([1, 1, 1.5, 0.5],) * 3})
    x = rand((1, 1, 3, 4), seed=6)
    scales = np.array([1, 1, 1.5, 0.5], np.float32)
    check(RESIZE_SCALES, engine.create_execution_context(), {"x": x, "scales": scales}, "fixed")


def test_resize_sizes_with_axes_at_run_time():
    context = build(RESIZE_SIZES, {"sizes": ([2, 2], [6, 5], [8, 8])}).create_execution_context()
    x = rand((1, 2, 4, 4), seed=7)
    for s in ([6, 5], [3, 8]):
        check(RESIZE_SIZES, context, {"x": x, "sizes": np.array(s, np.int64)}, f"sizes {s}")


def test_integer_shape_input_refuses_fractional_profile_values():
    builder, network, _ = parse_network(TILE)
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    profile.set_shape_input("repeats", [1, 1.5], [1, 1.5], [1, 1.5])
    config.add_optimization_profile(profile)
    with pytest.raises(trt.BuildError, match="shape input 'repeats' is INT64; its values must be"):
        builder.build_serialized_network(network, config)


def test_tile_repeats_change_between_runs():
    context = build(TILE, {"repeats": ([0, 1], [2, 2], [3, 3])}).create_execution_context()
    x = rand((2, 3), seed=8)
    for r in ([2, 3], [1, 1], [3, 2], [0, 2]):
        check(TILE, context, {"x": x, "repeats": np.array(r, np.int64)}, f"repeats {r}")


def test_batchnorm_statistics_as_inputs():
    context = build(BATCHNORM).create_execution_context()
    for seed in (9, 10):
        feeds = {"x": rand((2, 3, 4, 5), seed=seed)}
        for i, name in enumerate("sbm"):
            feeds[name] = rand((3,), seed=seed * 10 + i)
        feeds["v"] = rand((3,), seed=seed * 10 + 3, low=0.1, high=2.0)
        check(BATCHNORM, context, feeds, f"seed {seed}")


CONV = make_model(
    [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 0, 1, 2], strides=[1, 2])],
    [("x", [1, 2, 5, 6]), ("w", [3, 2, 3, 3]), ("b", [3])],
    [("y",)],
)

DEPTHWISE_1D = make_model(
    [helper.make_node("Conv", ["x", "w"], ["y"], group=4, pads=[3, 0])],
    [("x", [2, 4, 8]), ("w", [4, 1, 4])],
    [("y",)],
)

CROP_PAD = make_model(
    [helper.make_node("CenterCropPad", ["x", "shape"], ["y"], axes=[0, 2])],
    [("x", [5, 3, 4]), ("shape", [2], np.int64)],
    [("y",)],
    opset=18,
)


@pytest.fixture(scope="module")
def conv_context():
    return build(CONV).create_execution_context()


def test_conv_weights_fed_at_run_time_twice(conv_context):
    x = rand((1, 2, 5, 6), seed=11)
    for seed in (12, 13):
        feeds = {"x": x, "w": rand((3, 2, 3, 3), seed=seed), "b": rand((3,), seed=seed + 100)}
        check(CONV, conv_context, feeds, f"weights seed {seed}")


def test_depthwise_1d_conv_weights_at_run_time():
    context = build(DEPTHWISE_1D).create_execution_context()
    x = rand((2, 4, 8), seed=14)
    for seed in (15, 16):
        check(DEPTHWISE_1D, context, {"x": x, "w": rand((4, 1, 4), seed=seed)}, f"seed {seed}")


def test_center_crop_pad_shape_changes_between_runs():
    context = build(CROP_PAD, {"shape": ([1, 1], [4, 4], [8, 8])}).create_execution_context()
    x = rand((5, 3, 4), seed=17)
    for s in ([3, 6], [8, 1], [5, 4]):
        check(CROP_PAD, context, {"x": x, "shape": np.array(s, np.int64)}, f"shape {s}")


def test_int8_conv_with_weight_input_says_why():
    builder, network, _ = parse_network(CONV)
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.INT8)
    config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    for i in range(network.num_inputs):
        network.get_input(i).dynamic_range = (-1.0, 1.0)
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        layer.precision = trt.DataType.INT8
        for j in range(layer.num_outputs):
            layer.get_output(j).dynamic_range = (-8.0, 8.0)
    with pytest.raises(trt.BuildError, match="weight W is an input computed at run time"):
        builder.build_serialized_network(network, config)


def test_matmul_integer_with_row_zero_points():
    model = make_model(
        [helper.make_node("MatMulInteger", ["a", "b", "za", "zb"], ["y"])],
        [("a", [3, 5], np.uint8), ("b", [5, 2], np.uint8), ("za", [3], np.uint8)]
        + [("zb", [2], np.uint8)],
        [("y", None, np.int32)],
        opset=10,
    )
    rng = np.random.default_rng(18)
    feeds = {
        "a": rng.integers(0, 256, (3, 5), np.uint8),
        "b": rng.integers(0, 256, (5, 2), np.uint8),
        "za": np.array([0, 128, 255], np.uint8),
        "zb": np.array([3, 200], np.uint8),
    }
    got = build(model).create_execution_context().infer(feeds)["y"]
    # NumPy: onnxruntime takes one zero point for A only.
    a = feeds["a"].astype(np.int32) - feeds["za"].astype(np.int32)[:, None]
    np.testing.assert_array_equal(got, a @ (feeds["b"].astype(np.int32) - feeds["zb"]))


@pytest.mark.parametrize("axis", [None, 1])
def test_dequantize_linear_with_scale_fed_at_run_time(axis):
    """Per tensor (scalar scale and zero point) and per axis (one per channel) against
    onnxruntime, exactly: (x - zp) * scale rounds once, in FLOAT, as onnxruntime does."""
    n = 1 if axis is None else 3
    shape = [] if axis is None else [3]
    attrs = {} if axis is None else {"axis": axis}
    model = make_model(
        [helper.make_node("DequantizeLinear", ["x", "s", "z"], ["y"], **attrs)],
        [("x", [2, 3, 4], np.uint8), ("s", shape), ("z", shape, np.uint8)],
        [("y",)],
        opset=13,
    )
    rng = np.random.default_rng(31)
    context = build(model).create_execution_context()
    for trial in range(2):
        feeds = {
            "x": rng.integers(0, 256, (2, 3, 4)).astype(np.uint8),
            "s": rng.uniform(0.001, 0.1, shape).astype(np.float32).reshape(shape),
            "z": rng.integers(0, 256, shape).astype(np.uint8).reshape(shape),
        }
        got = context.infer(feeds)["y"]
        want = ort_run(model, feeds)["y"]
        np.testing.assert_array_equal(got, want, err_msg=f"trial {trial}, {n} scale(s)")


def test_pad_with_constant_value_fed_at_run_time():
    """constant_value a graph input, with pads a constant and with pads fed at run time; x holds
    inf and NaN, which must stay where they are (a mask selects, no arithmetic)."""
    for pads_input in (False, True):
        inputs = [("x", [2, 3]), ("v", [])]
        inits = {}
        if pads_input:
            inputs.append(("p", [4], np.int64))
        else:
            inits["p"] = np.array([0, 1, 2, 0], np.int64)
        model = make_model(
            [helper.make_node("Pad", ["x", "p", "v"], ["y"], mode="constant")],
            inputs,
            [("y",)],
            initializers=inits,
            opset=13,
        )
        x = rand((2, 3), seed=32)
        x[0, 1], x[1, 2] = np.inf, np.nan
        feeds = {"x": x, "v": np.array(-2.5, np.float32)}
        shapes = None
        if pads_input:
            feeds["p"] = np.array([0, 1, 2, 0], np.int64)
            shapes = {"p": ([0, 0, 0, 0], [0, 1, 2, 0], [2, 2, 2, 2])}
        got = build(model, shapes).create_execution_context().infer(feeds)["y"]
        np.testing.assert_array_equal(got, ort_run(model, feeds)["y"])


def test_one_hot_with_depth_fed_at_run_time():
    """depth a graph input: the output's size along the axis follows its value per run, within
    the profile; indices out of range (and below -depth) set no position. Exact."""
    model = make_model(
        [helper.make_node("OneHot", ["i", "d", "v"], ["y"], axis=0)],
        [("i", [2, 3], np.int64), ("d", [], np.int64), ("v", [2])],
        [("y",)],
        opset=11,
    )
    context = build(model, {"d": (1, 3, 6)}).create_execution_context()
    values = np.array([-0.5, 2.0], np.float32)
    indices = np.array([[0, -1, 2], [5, -6, 3]], np.int64)
    for depth in (3, 5):
        feeds = {"i": indices, "d": np.array(depth, np.int64), "v": values}
        got = context.infer(feeds)["y"]
        assert got.shape == (depth, 2, 3)
        np.testing.assert_array_equal(got, ort_run(model, feeds)["y"])


def test_quantize_linear_with_scale_fed_at_run_time():
    model = make_model(
        [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"])],
        [("x", [2, 6]), ("s", []), ("z", [], np.int8)],
        [("y", None, np.int8)],
        opset=13,
    )
    context = build(model).create_execution_context()
    x = rand((2, 6), seed=19, low=-3.0, high=3.0)
    for s, z in ((0.02, 5), (0.007, -3)):
        feeds = {"x": x, "s": np.array(s, np.float32), "z": np.array(z, np.int8)}
        np.testing.assert_array_equal(context.infer(feeds)["y"], ort_run(model, feeds)["y"])
