# FP16 execution of the portable tactics: small ONNX networks forced to FP16, vs onnxruntime FP32.
"""Each case is a tiny ONNX model built with onnx.helper, parsed, and built with BuilderFlag.FP16;
every layer is constrained to trt.float16 under OBEY_PRECISION_CONSTRAINTS, so the build fails
rather than quietly falling back to FP32. The kernels keep half storage and compute in float
(vload_half / vstore_half, no cl_khr_fp16 needed).

FP16 tolerance against onnxruntime FP32, elementwise:
    |clrt - ort| <= RTOL16 * |ort| + ATOL16 * max|ort|
with RTOL16 = ATOL16 = 5e-3. Half storage rounds every activation to 11 significant bits
(relative 4.9e-4 per rounding); a few roundings along a short network stay ~10x inside it;
the absolute term is scaled to the output's magnitude because sums that cancel keep the
absolute error of their terms.

Two checks show the engine really ran in FP16: the outputs are exactly representable in half
(the last layer wrote half storage and a REFORMAT widened it; FP32 execution of these random
inputs would not give that), and, where the engine inspector reports layer precisions, every
computing layer reports HALF.
"""

import json

import clrt as trt
import numpy as np
import pytest
from helpers import (
    RecordingLogger,
    assert_close,
    build_fp16_engine,
    deserialize,
    make_model,
    ort_run,
    parse_network,
)
from onnx import helper as oh

N = oh.make_node
RTOL16, ATOL16 = 5e-3, 5e-3
HALF_NAMES = {"HALF", "FP16", "KHALF", "FLOAT16"}
# Layer types the precision check ignores: conversions and host-side layers have no FP16 form.
NON_COMPUTING = ("REFORMAT", "CONSTANT", "SHAPE", "CAST", "QUANTIZE", "DEQUANTIZE")


def w(*shape, seed=0, scale=0.5):
    return np.random.default_rng(seed).uniform(-scale, scale, shape).astype(np.float32)


def layer_precisions(engine):
    """[(name, type, precision)] of the device layers, from the engine inspector's JSON (the
    engine must be built with ProfilingVerbosity.DETAILED)."""
    inspector = engine.create_engine_inspector()
    info = json.loads(inspector.get_engine_information(trt.LayerInformationFormat.JSON))
    return [
        (lay["Name"], lay["LayerType"], lay["Precision"])
        for lay in info["Layers"]
        if lay["Location"] != "Host"
    ]


def assert_ran_fp16(engine, outputs):
    """The engine's computing layers ran in FP16 (see the module docstring)."""
    for name, value in outputs.items():
        if value.dtype.kind != "f":
            continue
        as_half = value.astype(np.float16).astype(value.dtype)
        exact = (as_half == value) | ~np.isfinite(value)
        assert exact.all(), (
            f"{name}: {int((~exact).sum())} of {value.size} values are not representable in "
            "FP16, so the last layer did not write half storage"
        )
    layers = layer_precisions(engine)
    computing = [
        (n, t, p)
        for n, t, p in layers
        if not any(k in (t + " " + n).upper() for k in NON_COMPUTING)
    ]
    assert computing, f"the inspector lists no computing layer: {layers}"
    not_half = [(n, t, p) for n, t, p in computing if p.upper().replace("DATATYPE.", "")
                not in HALF_NAMES]  # fmt: skip
    assert not not_half, f"layers not in FP16: {not_half}"


def run_case(model, feeds):
    engine = build_fp16_engine(model, detailed=True)
    got = engine.create_execution_context().infer(feeds)
    ref = ort_run(model, feeds)
    assert sorted(got) == sorted(ref), f"outputs {sorted(got)}, onnxruntime gives {sorted(ref)}"
    for name, expected in ref.items():
        scale = max(float(np.abs(expected).max()), 1e-6) if expected.size else 1.0
        assert_close(got[name], expected, rtol=RTOL16, atol=ATOL16 * scale, name=name)
    assert_ran_fp16(engine, got)
    return got


CASES = []


def case(cid, nodes, inputs, outputs=("y",), inits=None, opset=17, ranges=None):
    """Adds a case; inputs are ("name", shape) float32, fed seeded uniform values (ranges)."""
    rng = np.random.default_rng(len(CASES) + 100)
    feeds = {}
    for name, shape in inputs:
        lo, hi = (ranges or {}).get(name, (-1.0, 1.0))
        feeds[name] = rng.uniform(lo, hi, shape).astype(np.float32)
    model = make_model(nodes, list(inputs), list(outputs), inits, opset, name=cid)
    CASES.append(pytest.param(model, feeds, id=cid))


# ---- convolution (conv.direct, conv.depthwise) -----------------------------------------------
case(
    "conv3x3-bias-relu",
    [N("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]), N("Relu", ["c"], ["y"])],
    [("x", (2, 8, 10, 10))],
    inits={"w": w(20, 8, 3, 3, seed=1), "b": w(20, seed=2)},
)
case(
    "conv-stride2-asym-pads",
    [N("Conv", ["x", "w"], ["y"], strides=[2, 2], pads=[1, 0, 2, 1])],
    [("x", (1, 3, 9, 9))],
    inits={"w": w(4, 3, 3, 3, seed=3)},
)
case(
    "conv-groups2",
    [N("Conv", ["x", "w", "b"], ["y"], group=2, pads=[1, 1, 1, 1])],
    [("x", (1, 4, 7, 7))],
    inits={"w": w(6, 2, 3, 3, seed=4), "b": w(6, seed=5)},
)
case(
    "conv-depthwise-bias-clip",
    [
        N("Conv", ["x", "w", "b"], ["c"], group=6, pads=[1, 1, 1, 1]),
        N("Clip", ["c", "lo", "hi"], ["y"]),
    ],
    [("x", (2, 6, 12, 19))],
    inits={"w": w(6, 1, 3, 3, seed=6), "b": w(6, seed=7), "lo": np.float32(0), "hi": np.float32(1)},
)
case(
    "conv-residual-relu",
    [
        N("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        N("Add", ["c", "x"], ["s"]),
        N("Relu", ["s"], ["y"]),
    ],
    [("x", (2, 4, 6, 6))],
    inits={"w": w(4, 4, 3, 3, seed=8), "b": w(4, seed=9)},
)
case(
    "batchnorm-scale",
    [N("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])],
    [("x", (2, 3, 5, 5))],
    inits={
        "s": np.float32([0.5, 1.0, 1.5]),
        "b": np.float32([0.1, -0.2, 0.3]),
        "m": np.float32([0.0, 0.1, -0.1]),
        "v": np.float32([1.0, 0.5, 2.0]),
    },
    opset=15,
)

# ---- matmul (matmul.tiled) ---------------------------------------------------------------------
case(
    "gemm-transB-bias",
    [N("Gemm", ["x", "w", "b"], ["y"], transB=1)],
    [("x", (4, 64))],
    inits={"w": w(40, 64, seed=10), "b": w(40, seed=11)},
)
case(
    "matmul-weights-tiled-add",
    [N("MatMul", ["x", "w"], ["m"]), N("Add", ["m", "b"], ["y"])],
    [("x", (2, 70, 33))],
    inits={"w": w(33, 45, seed=12), "b": w(45, seed=13)},
)
case(
    "matmul-two-inputs-broadcast",
    [N("MatMul", ["a", "b"], ["y"])],
    [("a", (3, 20, 24)), ("b", (1, 24, 17))],
)

# ---- pooling (pool.direct) ---------------------------------------------------------------------
case(
    "maxpool3x3s2",
    [N("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])],
    [("x", (2, 3, 9, 9))],
)
case(
    "avgpool-count-pad",
    [N("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
       count_include_pad=1)],
    [("x", (2, 3, 9, 9))],
)  # fmt: skip
case("global-avgpool", [N("GlobalAveragePool", ["x"], ["y"])], [("x", (2, 5, 7, 7))])

# ---- normalization (softmax.axis, log_softmax.axis, layernorm.rows, reduce.axes) --------------
case(
    "softmax-rows", [N("Softmax", ["x"], ["y"], axis=-1)], [("x", (3, 100))], ranges={"x": (-5, 5)}
)
case("softmax-axis1", [N("Softmax", ["x"], ["y"], axis=1)], [("x", (2, 10, 7))],
     ranges={"x": (-5, 5)})  # fmt: skip
case("logsoftmax", [N("LogSoftmax", ["x"], ["y"], axis=1)], [("x", (2, 10, 7))])
case(
    "layernorm-rows",
    [N("LayerNormalization", ["x", "s", "b"], ["y"], axis=-1)],
    [("x", (5, 64))],
    inits={"s": w(64, seed=14) + 1.0, "b": w(64, seed=15)},
    ranges={"x": (-2, 3)},
)
case(
    "layernorm-short",
    [N("LayerNormalization", ["x", "s"], ["y"], axis=-2)],
    [("x", (2, 4, 5))],
    inits={"s": w(4, 5, seed=16) + 1.0},
)
case(
    "reducemean-keepdims",
    [N("ReduceMean", ["x"], ["y"], axes=[1, 3], keepdims=1)],
    [("x", (2, 3, 4, 5))],
    opset=17,
)
case("reducesum-long", [N("ReduceSum", ["x", "ax"], ["y"], keepdims=0)], [("x", (2, 1000))],
     inits={"ax": np.int64([1])}, opset=13)  # fmt: skip
case("reducemax", [N("ReduceMax", ["x"], ["y"], axes=[0, 2], keepdims=0)], [("x", (3, 4, 5))])

# ---- pointwise (activation/unary/elementwise/scale) -------------------------------------------
for op, attrs, lo, hi in (
    ("Sigmoid", {}, -4, 4),
    ("Tanh", {}, -3, 3),
    ("LeakyRelu", {"alpha": 0.1}, -2, 2),
    ("HardSwish", {}, -4, 4),
    ("Elu", {}, -2, 2),
    ("Softplus", {}, -3, 3),
    ("Exp", {}, -3, 3),
    ("Sqrt", {}, 0.1, 4),
    ("Erf", {}, -2, 2),
):
    case(op, [N(op, ["x"], ["y"], **attrs)], [("x", (2, 3, 4, 5))], ranges={"x": (lo, hi)})
case("add-broadcast", [N("Add", ["a", "b"], ["y"])], [("a", (2, 3, 4, 5)), ("b", (3, 1, 5))])
case(
    "mul-sub-div-initializers",
    [N("Mul", ["x", "s"], ["m"]), N("Sub", ["m", "t"], ["d"]), N("Div", ["d", "q"], ["y"])],
    [("x", (2, 3, 4, 4))],
    inits={"s": w(1, 3, 1, 1, seed=17), "t": w(4, seed=18), "q": np.float32(1.5)},
)
case("max-min", [N("Max", ["a", "b"], ["m"]), N("Min", ["m", "a"], ["y"])],
     [("a", (4, 6)), ("b", (4, 6))])  # fmt: skip

# ---- movement between FP16 layers (passthrough layers follow their consumers) -------------------
case(
    "transpose",
    [N("Relu", ["x"], ["r"]), N("Transpose", ["r"], ["t"], perm=[0, 2, 3, 1]),
     N("Sigmoid", ["t"], ["y"])],
    [("x", (2, 3, 4, 5))],
)  # fmt: skip
case(
    "concat",
    [N("Relu", ["a"], ["ra"]), N("Tanh", ["b"], ["tb"]), N("Concat", ["ra", "tb"], ["y"], axis=1)],
    [("a", (2, 3, 4)), ("b", (2, 5, 4))],
)
case(
    "slice-steps",
    [N("Relu", ["x"], ["r"]), N("Slice", ["r", "st", "en", "ax", "sp"], ["s"]),
     N("Sigmoid", ["s"], ["y"])],
    [("x", (2, 5, 10))],
    inits={"st": np.int64([1, 0]), "en": np.int64([4, 10]), "ax": np.int64([1, 2]),
           "sp": np.int64([1, 3])},
)  # fmt: skip
case(
    "split-gather-reshape",
    [
        N("Tanh", ["x"], ["r"]),
        N("Split", ["r", "sz"], ["s0", "s1"], axis=2),
        N("Gather", ["s1", "idx"], ["g"], axis=1),
        N("Reshape", ["g", "shp"], ["h"]),
        N("Relu", ["h"], ["y0"]),
        N("Sigmoid", ["s0"], ["y1"]),
    ],
    [("x", (2, 3, 6))],
    outputs=("y0", "y1"),
    inits={"sz": np.int64([2, 4]), "idx": np.int64([2, 0, -1]), "shp": np.int64([2, 12])},
)

# ---- a small CNN end to end --------------------------------------------------------------------
case(
    "small-cnn",
    [
        N("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        N("Relu", ["c1"], ["r1"]),
        N("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        N("Conv", ["p1", "w2"], ["c2"], pads=[1, 1, 1, 1], group=8),
        N("Relu", ["c2"], ["r2"]),
        N("GlobalAveragePool", ["r2"], ["g"]),
        N("Flatten", ["g"], ["f"]),
        N("Gemm", ["f", "w3", "b3"], ["l"], transB=1),
        N("Softmax", ["l"], ["y"], axis=1),
    ],
    [("x", (2, 3, 16, 16))],
    inits={
        "w1": w(8, 3, 3, 3, seed=20),
        "b1": w(8, seed=21),
        "w2": w(8, 1, 3, 3, seed=22),
        "w3": w(10, 8, seed=23, scale=2.0),
        "b3": w(10, seed=24),
    },
)


@pytest.mark.parametrize("model,feeds", CASES)
def test_fp16(model, feeds):
    run_case(model, feeds)


def test_fp32_build_is_unchanged_by_the_half_variants():
    """Without the FP16 flag the same network runs FP32: outputs are not all half-representable
    and match onnxruntime at FP32 tolerance."""
    model = make_model(
        [N("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), N("Relu", ["c"], ["y"])],
        [("x", (1, 4, 6, 6))],
        ["y"],
        {"w": w(8, 4, 3, 3, seed=30)},
    )
    feeds = {"x": np.random.default_rng(0).uniform(-1, 1, (1, 4, 6, 6)).astype(np.float32)}
    builder, network, _ = parse_network(model)
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    got = deserialize(bytes(plan)).create_execution_context().infer(feeds)["y"]
    ref = ort_run(model, feeds)["y"]
    assert_close(got, ref)
    assert (got.astype(np.float16).astype(np.float32) != got).any()


@pytest.mark.parametrize("last_image_only", [False, True])
def test_layer_overflowing_fp16_stays_fp32_with_a_warning(last_image_only):
    """m = x * 1e5 exceeds FP16's 65504 on the build-time data; y = m * 1e-5 is back in range.
    The Mul writing m stays FP32 (a warning naming it) and y equals relu(x) within FP32
    rounding (in FP16, m would be inf and y inf or NaN).

    last_image_only: the FP16 check compares a sample of each tensor (its leading images), but
    the overflow check reads every element: only image 7 of 8 is scaled up, outside the 4 images
    of 64K elements the sample keeps."""
    shape = [8, 64, 1024] if last_image_only else [4, 64]
    big = np.full([shape[0]] + [1] * (len(shape) - 1), 1e5, np.float32)
    if last_image_only:
        big[:-1] = 1.0
    nodes = [
        oh.make_node("Mul", ["x", "big"], ["m"], name="scale_up"),
        oh.make_node("Relu", ["m"], ["r"], name="relu"),
        oh.make_node("Mul", ["r", "small"], ["y"], name="scale_down"),
    ]
    inits = {"big": big, "small": (1 / big).astype(np.float32)}
    model = make_model(nodes, [("x", shape)], [("y", shape)], inits)
    logger = RecordingLogger()
    builder, network, _ = parse_network(model, logger=logger)
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.FP16)
    config.builder_optimization_level = 0  # untimed: FP16 wherever it is allowed
    engine = deserialize(bytes(builder.build_serialized_network(network, config)))
    warnings = [m for s, m in logger.lines if s == trt.Logger.WARNING]
    assert any(
        "scale_up" in m and "exceed FP16's range" in m and "stays FP32" in m for m in warnings
    ), warnings
    x = np.random.default_rng(3).uniform(-1, 1, shape).astype(np.float32)
    y = engine.create_execution_context().infer({"x": x})["y"]
    assert np.isfinite(y).all()
    assert_close(y, np.maximum(x, 0), rtol=1e-5, atol=1e-6, name="y")
