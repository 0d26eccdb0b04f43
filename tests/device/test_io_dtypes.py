# Engine inputs and outputs of every supported dtype, exact against onnxruntime: Identity, Add
# (with ONNX's wrap-around), Cast in and out; BFLOAT16 (which onnxruntime's CPU provider lacks)
# exact against ml_dtypes; DOUBLE's warning, infer()'s dtype check, and the types still refused,
# named.
import clrt as trt
import numpy as np
import pytest
from helpers import RecordingLogger, build_engine, make_model, ort_run, parse_errors
from onnx import TensorProto, helper, numpy_helper

INTS = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]
DTYPES = [np.float16, np.float32, np.float64, np.bool_, *INTS]
TRT_NAME = {
    np.float16: "HALF",
    np.float32: "FLOAT",
    np.float64: "DOUBLE",
    np.bool_: "BOOL",
    np.int8: "INT8",
    np.uint8: "UINT8",
    np.int16: "INT16",
    np.uint16: "UINT16",
    np.int32: "INT32",
    np.uint32: "UINT32",
    np.int64: "INT64",
    np.uint64: "UINT64",
}


def values(dtype, shape=(2, 5), seed=0):
    """Values spanning the dtype's range (its extremes included), so wrap-around shows."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.integers(0, 2, shape).astype(dt)
    if dt.kind == "f":
        return (rng.standard_normal(shape) * 100).astype(dt)
    info = np.iinfo(dt)
    # UINT64 stays below 2^63 except for its maximum: values computed as INT64 keep their bits.
    x = rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True)
    x.flat[0], x.flat[1] = info.min, info.max
    return x


def exact(got, ref):
    assert got.dtype == ref.dtype, (got.dtype, ref.dtype)
    assert got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)


def run_both(model, feeds):
    engine = build_engine(model, opt_level=0)
    return engine, engine.create_execution_context().infer(feeds), ort_run(model, feeds)


def elem(dtype):
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_identity_keeps_dtype(dtype):
    model = make_model(
        [helper.make_node("Identity", ["x"], ["y"])], [("x", [2, 5], dtype)], [("y", [2, 5], dtype)]
    )
    x = values(dtype)
    engine, got, ref = run_both(model, {"x": x})
    assert engine.get_tensor_dtype("x") == getattr(trt.DataType, TRT_NAME[dtype])
    assert engine.get_tensor_dtype("y") == getattr(trt.DataType, TRT_NAME[dtype])
    if dtype is np.float64:
        # DOUBLE is computed in float32: the values come back rounded to float32, exactly.
        ref["y"] = ref["y"].astype(np.float32).astype(np.float64)
    exact(got["y"], ref["y"])


@pytest.mark.parametrize(
    "dtype", [d for d in DTYPES if d is not np.bool_], ids=lambda d: np.dtype(d).name
)
def test_add_wraps_like_onnxruntime(dtype):
    # y = (a + b) * b: the sum must wrap before the product for the result to be ONNX's.
    nodes = [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Mul", ["s", "b"], ["y"])]
    model = make_model(nodes, [("a", [2, 5], dtype), ("b", [2, 5], dtype)], [("y", [2, 5], dtype)])
    a, b = values(dtype, seed=1), values(dtype, seed=2)
    if np.dtype(dtype).kind == "f":
        a, b = (a / 100).astype(dtype), (b / 100).astype(dtype)
    _, got, ref = run_both(model, {"a": a, "b": b})
    if np.dtype(dtype).kind == "f":
        # HALF stays in float32 between ops (as in onnxruntime); DOUBLE is computed in float32.
        rtol = 1e-6 if dtype is np.float64 else 0
        assert got["y"].dtype == ref["y"].dtype
        np.testing.assert_allclose(got["y"], ref["y"], rtol=rtol, atol=1e-6)
    else:
        exact(got["y"], ref["y"])


CAST_FROM = [np.float32, np.float16, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64]


@pytest.mark.parametrize("src", CAST_FROM, ids=lambda d: np.dtype(d).name)
def test_cast_to_every_dtype(src):
    # One model per source: Cast to every target, each an output.
    targets = [d for d in DTYPES if d is not src]
    nodes = [helper.make_node("Cast", ["x"], [f"y{i}"], to=elem(d)) for i, d in enumerate(targets)]
    outs = [(f"y{i}", [2, 5], d) for i, d in enumerate(targets)]
    model = make_model(nodes, [("x", [2, 5], src)], outs)
    x = values(src, seed=3)
    if np.dtype(src).kind == "f":
        # In range of every target (out-of-range float -> int is undefined in ONNX), with
        # fractions on both sides of zero to show truncation toward zero.
        x = np.array([[-3.75, -1.5, -0.5, 0.0, 0.25], [0.5, 1.5, 2.99, 7.0, 100.5]], src)
    _, got, ref = run_both(model, {"x": x})
    for i, d in enumerate(targets):
        if d in INTS and np.dtype(d).kind == "u" and np.dtype(src).kind == "f":
            continue  # negative float -> unsigned is undefined in ONNX (clrt saturates to 0)
        if d is np.float64:
            # DOUBLE is computed in float32: the source rounded once to float32.
            ref[f"y{i}"] = x.astype(np.float32).astype(np.float64)
        exact(got[f"y{i}"], ref[f"y{i}"])


def test_cast_float_to_unsigned_saturates():
    model = make_model(
        [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.UINT8)],
        [("x", [4])],
        [("y", [4], np.uint8)],
    )
    x = np.array([-5.0, 3.7, 300.0, np.nan], np.float32)
    got = build_engine(model, opt_level=0).create_execution_context().infer({"x": x})["y"]
    np.testing.assert_array_equal(got, np.array([0, 3, 255, 0], np.uint8))


def test_castlike_takes_second_input_dtype():
    nodes = [helper.make_node("CastLike", ["x", "like"], ["y"])]
    model = make_model(
        nodes, [("x", [2, 5]), ("like", [1], np.int16)], [("y", [2, 5], np.int16)], opset=19
    )
    x = (values(np.float32) / 10).astype(np.float32)
    _, got, ref = run_both(model, {"x": x, "like": np.zeros(1, np.int16)})
    exact(got["y"], ref["y"])


def test_uint8_initializer_with_input():
    # A UINT8 constant operand is widened like the input, and the sum wraps.
    model = make_model(
        [helper.make_node("Add", ["x", "c"], ["y"])],
        [("x", [4], np.uint8)],
        [("y", [4], np.uint8)],
        initializers={"c": np.array([200, 1, 255, 0], np.uint8)},
    )
    x = np.array([100, 2, 255, 7], np.uint8)
    _, got, ref = run_both(model, {"x": x})
    exact(got["y"], ref["y"])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8], ids=lambda d: np.dtype(d).name)
def test_dequantize_reads_narrow_graph_input(dtype):
    # Quantized values enter as a graph input, pass a data-movement op and are dequantized: the
    # layer must see them as INT8/UINT8 again, not in their INT32 compute dtype.
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0]),
        helper.make_node("DequantizeLinear", ["t", "s", "zp"], ["y"]),
    ]
    model = make_model(
        nodes,
        [("x", [2, 5], dtype)],
        [("y", [5, 2])],
        initializers={"s": np.float32(0.25), "zp": np.array(3, dtype)},
        opset=13,
    )
    _, got, ref = run_both(model, {"x": values(dtype, seed=4)})
    np.testing.assert_allclose(got["y"], ref["y"], rtol=1e-6, atol=0)


def test_int8_initializer_shared_by_gather_and_dequantize():
    # The Gather reads the table widened; the DequantizeLinear still folds it as INT8.
    table = np.array([[-128, -1, 0], [1, 7, 127]], np.int8)
    nodes = [
        helper.make_node("Gather", ["w", "i"], ["g"], axis=0),
        helper.make_node("DequantizeLinear", ["g", "s", "zp"], ["y"]),
        helper.make_node("DequantizeLinear", ["w", "s", "zp"], ["wd"]),
    ]
    model = make_model(
        nodes,
        [("i", [2], np.int64)],
        [("y", [2, 3]), ("wd", [2, 3])],
        initializers={"w": table, "s": np.float32(0.5), "zp": np.int8(1)},
        opset=13,
    )
    _, got, ref = run_both(model, {"i": np.array([1, 0], np.int64)})
    exact(got["y"], ref["y"])
    exact(got["wd"], ref["wd"])


def test_double_warns_once_naming_tensors():
    model = make_model(
        [helper.make_node("Mul", ["a", "b"], ["y"])],
        [("a", [3], np.float64), ("b", [3], np.float64)],
        [("y", [3], np.float64)],
    )
    logger = RecordingLogger()
    engine = build_engine(model, opt_level=0, logger=logger)
    warnings = [m for s, m in logger.lines if s == trt.Logger.WARNING and "DOUBLE" in m]
    assert len(warnings) == 1, warnings
    assert all(f"'{n}'" in warnings[0] for n in ("a", "b", "y")), warnings[0]
    a, b = np.array([1.5, -2.0, 1e10]), np.array([3.0, 0.25, 1e-3])
    ctx = engine.create_execution_context()
    got = ctx.infer({"a": a, "b": b})["y"]
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, a * b, rtol=1e-6)
    # A value float32 cannot hold is refused rather than computed as an infinity.
    with pytest.raises(ValueError, match=r"input 'a' is DOUBLE and holds 1e\+300 at flat index 2"):
        ctx.infer({"a": np.array([1.0, 2.0, 1e300]), "b": b})


def test_uint64_order_shift_and_pow_exponent_are_unsigned():
    """UINT64 values of 2^63 and above (negative as the INT64 clrt holds them in) compare,
    take Max/Min, shift right, rank in TopK and serve as Pow exponents as the unsigned numbers
    they are."""
    top = np.uint64(1) << np.uint64(63)
    a = np.array([0, 5, top, top + np.uint64(7), 2**64 - 1, 3], np.uint64)
    b = np.array([1, 5, 9, top + np.uint64(8), top, 2**64 - 2], np.uint64)
    c = np.array([2**64 - 1, 0, top - np.uint64(1), 1, 2, top], np.uint64)
    n = np.array([0, 1, 63, 4, 60, 32], np.uint64)
    e = np.array([0, 1, 2, 3, 1, 2], np.uint64)
    nodes = [
        helper.make_node("Greater", ["a", "b"], ["gt"]),
        helper.make_node("LessOrEqual", ["a", "b"], ["le"]),
        helper.make_node("Max", ["a", "b", "c"], ["mx"]),
        helper.make_node("Min", ["a", "b", "c"], ["mn"]),
        helper.make_node("BitShift", ["a", "n"], ["sr"], direction="RIGHT"),
        helper.make_node("BitShift", ["a", "n"], ["sl"], direction="LEFT"),
        helper.make_node("Pow", ["f", "e"], ["pw"]),
        helper.make_node("TopK", ["a", "k"], ["tv", "ti"]),
    ]
    u = [(k, [6], np.uint64) for k in ("a", "b", "c", "n", "e")]
    outs = [("gt", [6], np.bool_), ("le", [6], np.bool_)]
    outs += [(k, [6], np.uint64) for k in ("mx", "mn", "sr", "sl")] + [("pw", [6])]
    outs += [("tv", [3], np.uint64), ("ti", [3], np.int64)]
    k = numpy_helper.from_array(np.array([3], np.int64), "k")
    model = make_model(nodes, [*u, ("f", [6])], outs, [k], opset=18)
    f = np.array([3.0, 2.0, 0.5, 2.0, 7.0, -3.0], np.float32)
    feeds = {"a": a, "b": b, "c": c, "n": n, "e": e, "f": f}
    got = build_engine(model, opt_level=0).create_execution_context().infer(feeds)
    np.testing.assert_array_equal(got["gt"], a > b)
    np.testing.assert_array_equal(got["le"], a <= b)
    np.testing.assert_array_equal(got["mx"], np.maximum(np.maximum(a, b), c))
    np.testing.assert_array_equal(got["mn"], np.minimum(np.minimum(a, b), c))
    np.testing.assert_array_equal(got["sr"], a >> n)
    np.testing.assert_array_equal(got["sl"], a << n)
    np.testing.assert_array_equal(got["pw"], f ** e.astype(np.float32))
    order = np.argsort(a)[::-1][:3]  # a's values are distinct
    np.testing.assert_array_equal(got["tv"], a[order])
    np.testing.assert_array_equal(got["ti"], order)


def test_uint64_division_refused():
    model = make_model(
        [helper.make_node("Div", ["a", "b"], ["y"])],
        [("a", [3], np.uint64), ("b", [3], np.uint64)],
        [("y", [3], np.uint64)],
    )
    msg = parse_errors(model)
    assert "'a' is UINT64" in msg and "Div" in msg and "2^63" in msg, msg


@pytest.mark.parametrize(
    ("elem_type", "name"),
    [
        (TensorProto.STRING, "STRING"),
        (TensorProto.COMPLEX64, "COMPLEX64"),
    ],
)
def test_refused_types_named(elem_type, name):
    x = helper.make_tensor_value_info("x", elem_type, [2])
    model = make_model(
        [helper.make_node("Identity", ["x"], ["y"])],
        [x],
        [helper.make_tensor_value_info("y", elem_type, [2])],
    )
    msg = parse_errors(model)
    assert f"has type {name};" in msg and "type 2" not in msg, msg


@pytest.fixture(scope="module")
def float_engine():
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], [("x", [2, 3])], [("y", [2, 3])])
    return build_engine(model, opt_level=0)


def test_infer_rejects_other_dtype(float_engine):
    ctx = float_engine.create_execution_context()
    with pytest.raises(
        ValueError, match=r"input 'x' has dtype float64, but the engine's input is FLOAT"
    ):
        ctx.infer({"x": np.zeros((2, 3))})
    with pytest.raises(ValueError, match=r"'x' has dtype int32"):
        ctx.infer({"x": np.zeros((2, 3), np.int32)})
    # Python lists carry no dtype: converted as before.
    got = ctx.infer({"x": [[1, -2, 3], [-4, 5, -6]]})["y"]
    np.testing.assert_array_equal(got, np.array([[1, 0, 3], [0, 5, 0]], np.float32))


def test_network_api_int16_input():
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    x = network.add_input("x", trt.DataType.INT16, (4,))
    y = network.add_elementwise(x, x, trt.ElementWiseOperation.SUM).get_output(0)
    network.mark_output(y)
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
    assert engine.get_tensor_dtype("x") == trt.DataType.INT16
    xs = np.array([1, -2, 30000, -32768], np.int16)
    got = engine.create_execution_context().infer({"x": xs})[y.name]
    np.testing.assert_array_equal(got, xs.astype(np.int32) * 2)


def test_bfloat16_inputs_outputs_and_casts_match_ml_dtypes():
    """BFLOAT16 graph inputs, outputs and initializers are ml_dtypes.bfloat16 arrays; layers
    compute in FP32 and round each op's BFLOAT16 result to nearest even, so Mul by a BFLOAT16
    initializer and Cast FLOAT -> BFLOAT16 (ties, NaN, infinities, overflow, -0) match
    ml_dtypes' rounding of the FP32 result bit for bit."""
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="onnx installs ml_dtypes")
    bf16 = ml_dtypes.bfloat16
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((2, 5)) * 10).astype(bf16)
    w = (rng.standard_normal((2, 5)) * 3).astype(bf16)
    f = np.array(
        [1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8), np.nan, np.inf, -np.inf, 3.4e38, -0.0, 1e-40, 0.1],
        np.float32,
    )
    init = helper.make_tensor("w", TensorProto.BFLOAT16, w.shape, w.tobytes(), raw=True)
    model = make_model(
        [
            helper.make_node("Mul", ["x", "w"], ["prod"]),
            helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
            helper.make_node("Cast", ["f"], ["fb"], to=TensorProto.BFLOAT16),
            # A constant's cast, folded on the host at build time.
            helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(f[~np.isnan(f)])),
            helper.make_node("Cast", ["c"], ["cb"], to=TensorProto.BFLOAT16),
        ],
        [("x", [2, 5], bf16), ("f", [10])],
        [
            ("prod", [2, 5], bf16),
            ("xf", [2, 5]),
            ("fb", [10], bf16),
            ("cb", [9], bf16),
        ],
        [init],
    )
    engine = build_engine(model, opt_level=0)
    assert engine.get_tensor_dtype("x") == trt.bfloat16
    assert trt.nptype(trt.bfloat16) is bf16
    got = engine.create_execution_context().infer({"x": x, "f": f})
    assert got["prod"].dtype == bf16 and got["fb"].dtype == bf16
    want = (x.astype(np.float32) * w.astype(np.float32)).astype(bf16)
    np.testing.assert_array_equal(got["prod"].view(np.uint16), want.view(np.uint16))
    np.testing.assert_array_equal(got["xf"], x.astype(np.float32))
    want_fb = f.astype(bf16).view(np.uint16)
    nan = np.isnan(f)
    np.testing.assert_array_equal(got["fb"].view(np.uint16)[~nan], want_fb[~nan])
    assert np.isnan(got["fb"][nan].astype(np.float32)).all()
    np.testing.assert_array_equal(got["cb"].view(np.uint16), want_fb[~nan])
    # A float32 array fed to the BFLOAT16 input is refused, as for any other dtype.
    with pytest.raises(ValueError, match=r"input 'x' has dtype float32, but the engine's input is"):
        engine.create_execution_context().infer({"x": x.astype(np.float32), "f": f})
