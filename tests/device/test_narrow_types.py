# The narrow ONNX types at the engine boundary and in Cast/QuantizeLinear/DequantizeLinear: the
# FLOAT8 family, FLOAT4E2M1, FLOAT8E8M0 and the 4- and 2-bit integers, held one element per byte
# as ml_dtypes holds them. Casts are bit-exact against ONNX's reference implementation (which
# rounds with ml_dtypes), on the device and folded on the host; Q/DQ (per tensor, per axis,
# blocked, packed 4-bit weights) against onnx.reference.ReferenceEvaluator.
import clrt as trt
import numpy as np
import pytest
from helpers import build_engine, make_model, parse_errors
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from onnx.reference.ops.op_cast import cast_to

ml_dtypes = pytest.importorskip("ml_dtypes", reason="onnx installs ml_dtypes")

# ONNX type -> (ml_dtypes type, clrt DataType name)
NARROW = {
    TensorProto.FLOAT8E4M3FN: (ml_dtypes.float8_e4m3fn, "FP8"),
    TensorProto.FLOAT8E5M2: (ml_dtypes.float8_e5m2, "FP8E5M2"),
    TensorProto.FLOAT8E4M3FNUZ: (ml_dtypes.float8_e4m3fnuz, "FP8E4M3FNUZ"),
    TensorProto.FLOAT8E5M2FNUZ: (ml_dtypes.float8_e5m2fnuz, "FP8E5M2FNUZ"),
    TensorProto.FLOAT4E2M1: (ml_dtypes.float4_e2m1fn, "FP4"),
    TensorProto.FLOAT8E8M0: (ml_dtypes.float8_e8m0fnu, "E8M0"),
    TensorProto.INT4: (ml_dtypes.int4, "INT4"),
    TensorProto.UINT4: (ml_dtypes.uint4, "UINT4"),
    TensorProto.INT2: (ml_dtypes.int2, "INT2"),
    TensorProto.UINT2: (ml_dtypes.uint2, "UINT2"),
}
BITS = {TensorProto.INT4: 4, TensorProto.UINT4: 4, TensorProto.FLOAT4E2M1: 4}
BITS.update({TensorProto.INT2: 2, TensorProto.UINT2: 2})


def probe():
    """Random values at every scale, and the cases the ONNX Cast tables list: NaN of both
    signs, infinities, +-0, ties at each type's largest values, overflow, underflow."""
    rng = np.random.default_rng(7)
    special = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-8, -1e-8, 1e-40, 1e6, -1e6]
    ties = [448, 464, 465, 480, 57344, 61440, 61441, 0.25, 0.75, 2.5, -3.5, 5, 7, 0.124, 1.1]
    ints = [7.9, 8, -8.9, -9, 15, 16, 1.5, -1.5, -2, 3, 3.99, -0.5]
    x = np.concatenate(
        [
            rng.standard_normal(96) * 4,
            rng.standard_normal(64) * 500,
            np.exp2(rng.uniform(-30, 20, 64)),
            special,
            ties,
            ints,
        ]
    )
    return x.astype(np.float32)


def bits(a):
    return np.asarray(a).view(np.uint8)


def cast_variants():
    """(onnx type, saturate, round_mode) of every Cast the test checks."""
    out = []
    for to in NARROW:
        if to == TensorProto.FLOAT8E8M0:
            out += [(to, s, r) for s in (1, 0) for r in ("up", "down", "nearest")]
        elif to in BITS:
            out.append((to, 1, "up"))
        else:
            out += [(to, 1, "up"), (to, 0, "up")]
    return out


@pytest.fixture(scope="module")
def cast_engine():
    """One engine: each variant's Cast of the input x (the device kernel) and of the same
    values as a Constant (folded on the host while building)."""
    x = probe()
    nodes = [helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(x))]
    outputs = []
    for k, (to, sat, rnd) in enumerate(cast_variants()):
        attrs = {"to": to, "saturate": sat}
        if to == TensorProto.FLOAT8E8M0:
            attrs["round_mode"] = rnd
        for src in ("x", "c"):
            nodes.append(helper.make_node("Cast", [src], [f"{src}{k}"], **attrs))
            outputs.append(helper.make_tensor_value_info(f"{src}{k}", to, [x.size]))
    model = make_model(nodes, [("x", [x.size])], outputs, opset=25)
    return build_engine(model, opt_level=0), x


@pytest.mark.parametrize(
    "variant", cast_variants(), ids=lambda v: f"{TensorProto.DataType.Name(v[0])}-sat{v[1]}-{v[2]}"
)
def test_cast_to_narrow_type_is_bit_exact(cast_engine, variant):
    engine, x = cast_engine
    k = cast_variants().index(variant)
    to, sat, rnd = variant
    got = engine.create_execution_context().infer({"x": x})
    with np.errstate(invalid="ignore"):  # NaN to the small integers: 0, as ml_dtypes casts it
        want = bits(cast_to(x, to, bool(sat), rnd))
    ok = (
        x >= 0 if to == TensorProto.FLOAT8E8M0 else np.ones(x.size, bool)
    )  # E8M0: x < 0 unspecified
    npt, name = NARROW[to]
    assert engine.get_tensor_dtype(f"x{k}") == getattr(trt.DataType, name)
    for src in ("x", "c"):  # the device kernel, the host fold
        y = got[f"{src}{k}"]
        assert y.dtype == npt, (src, y.dtype)
        if to in BITS:  # ml_dtypes reads the low bits: compare values
            np.testing.assert_array_equal(y.astype(np.int32), want.view(npt).astype(np.int32))
            continue
        bad = np.nonzero((bits(y) != want) & ok)[0]
        assert bad.size == 0, (src, [(x[i], bits(y)[i], want[i]) for i in bad[:5]])


@pytest.mark.parametrize("onnx_type", list(NARROW), ids=TensorProto.DataType.Name)
def test_narrow_inputs_and_outputs_round_trip(onnx_type):
    """Every code of the type fed as an engine input: Cast to FLOAT gives ml_dtypes' value
    (NaN where it has NaN), and the input passed through to an output keeps its value."""
    npt, name = NARROW[onnx_type]
    n = 1 << BITS.get(onnx_type, 8)
    codes = np.arange(n, dtype=np.uint8).view(npt)
    model = make_model(
        [
            helper.make_node("Cast", ["x"], ["f"], to=TensorProto.FLOAT),
            helper.make_node("Identity", ["x"], ["y"]),
        ],
        [helper.make_tensor_value_info("x", onnx_type, [n])],
        [("f", [n]), helper.make_tensor_value_info("y", onnx_type, [n])],
        opset=25,
    )
    engine = build_engine(model, opt_level=0)
    assert engine.get_tensor_dtype("x") == getattr(trt.DataType, name)
    assert trt.nptype(getattr(trt.DataType, name)) is npt
    got = engine.create_execution_context().infer({"x": codes})
    want = codes.astype(np.float32)
    np.testing.assert_array_equal(np.isnan(got["f"]), np.isnan(want))
    finite = ~np.isnan(want)
    np.testing.assert_array_equal(got["f"][finite], want[finite])
    y = got["y"].astype(np.float32)
    np.testing.assert_array_equal(y[finite], want[finite])
    # A uint8 array is not silently read as the narrow type.
    with pytest.raises(ValueError, match="input 'x' has dtype uint8"):
        engine.create_execution_context().infer({"x": codes.view(np.uint8)})


def reference(model, feeds):
    return ReferenceEvaluator(model).run(None, feeds)


def test_int4_weights_per_axis_and_blocked_dequantize_into_matmul():
    """Weight-only INT4: packed INT4 initializers (an odd count, so the last byte is half
    used) dequantized per column and per block of rows feed MatMuls; a QuantizeLinear to UINT4
    per axis with zero points. All against ONNX's reference."""
    rng = np.random.default_rng(11)
    w = rng.integers(-8, 8, (6, 5)).astype(ml_dtypes.int4)
    col_scale = rng.uniform(0.01, 0.1, 5).astype(np.float32)
    col_zp = rng.integers(-2, 3, 5).astype(ml_dtypes.int4)
    blk_scale = rng.uniform(0.01, 0.1, (3, 5)).astype(np.float32)  # blocks of 2 rows
    x = rng.standard_normal((3, 6)).astype(np.float32)
    qs = rng.uniform(0.05, 0.2, 6).astype(np.float32)
    qzp = rng.integers(0, 16, 6).astype(ml_dtypes.uint4)
    inits = [
        numpy_helper.from_array(w, "w"),
        numpy_helper.from_array(col_scale, "cs"),
        numpy_helper.from_array(col_zp, "czp"),
        numpy_helper.from_array(blk_scale, "bs"),
        numpy_helper.from_array(qs, "qs"),
        numpy_helper.from_array(qzp, "qzp"),
    ]
    nodes = [
        helper.make_node("DequantizeLinear", ["w", "cs", "czp"], ["wc"], axis=1),
        helper.make_node("DequantizeLinear", ["w", "bs"], ["wb"], axis=0, block_size=2),
        helper.make_node("MatMul", ["x", "wc"], ["yc"]),
        helper.make_node("MatMul", ["x", "wb"], ["yb"]),
        helper.make_node("QuantizeLinear", ["x", "qs", "qzp"], ["xq"], axis=1),
    ]
    outs = [("yc", [3, 5]), ("yb", [3, 5])]
    outs.append(helper.make_tensor_value_info("xq", TensorProto.UINT4, [3, 6]))
    model = make_model(nodes, [("x", [3, 6])], outs, inits, opset=21)
    got = build_engine(model, opt_level=0).create_execution_context().infer({"x": x})
    yc, yb, xq = reference(model, {"x": x})
    np.testing.assert_allclose(got["yc"], yc, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["yb"], yb, rtol=1e-5, atol=1e-6)
    assert got["xq"].dtype == ml_dtypes.uint4
    np.testing.assert_array_equal(got["xq"].astype(np.int32), xq.astype(np.int32))


def test_fp8_quantize_dequantize_saturate_and_float16_scale():
    """QuantizeLinear to FLOAT8E4M3FN saturating and not (overflow to NaN), E5M2 not saturating
    (overflow to infinity), and DequantizeLinear with a FLOAT16 scale (a FLOAT16 output):
    against ONNX's reference, bit for bit on the FLOAT8 outputs."""
    x = np.concatenate([probe()[:200], [1e5, -1e5, 300, 2e5]]).astype(np.float32)
    n = x.size
    s = numpy_helper.from_array(np.array(2.0, np.float32), "s")
    s16 = numpy_helper.from_array(np.array(0.5, np.float16), "s16")
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s"], ["q"], output_dtype=17),
        helper.make_node("QuantizeLinear", ["x", "s"], ["qn"], output_dtype=17, saturate=0),
        helper.make_node("QuantizeLinear", ["x", "s"], ["q5"], output_dtype=19, saturate=0),
        helper.make_node("DequantizeLinear", ["q", "s16"], ["d"]),
    ]
    outs = [helper.make_tensor_value_info(o, t, [n]) for o, t in (("q", 17), ("qn", 17))]
    outs += [helper.make_tensor_value_info("q5", 19, [n]), ("d", [n], np.float16)]
    model = make_model(nodes, [("x", [n])], outs, [s, s16], opset=21)
    got = build_engine(model, opt_level=0).create_execution_context().infer({"x": x})
    want = reference(model, {"x": x})
    for name, w in zip(("q", "qn", "q5"), want[:3]):
        np.testing.assert_array_equal(bits(got[name]), bits(w), err_msg=name)
    assert got["d"].dtype == np.float16
    np.testing.assert_array_equal(got["d"], want[3])


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("blocked_dims", "blocks of 2 along axis 0"),
        ("round_mode", "round_mode 'sideways'"),
        ("bitcast_width", "changes the element size"),
    ],
)
def test_narrow_type_errors_name_the_node(case, words):
    w = numpy_helper.from_array(np.ones((4, 2), ml_dtypes.int4), "w")
    if case == "blocked_dims":  # 3 row blocks of 2 for 4 rows: ceil(4 / 2) = 2 expected
        s = numpy_helper.from_array(np.ones((3, 2), np.float32), "s")
        node = helper.make_node("DequantizeLinear", ["w", "s"], ["y"], axis=0, block_size=2)
        out = ("y", [4, 2])
    elif case == "round_mode":
        s = numpy_helper.from_array(np.ones(1, np.float32), "s")
        node = helper.make_node("Cast", ["w"], ["y"], to=24, round_mode="sideways")
        out = helper.make_tensor_value_info("y", 24, [4, 2])
    else:  # INT4 -> INT8 is a 4-bit to 8-bit reinterpretation
        s = numpy_helper.from_array(np.ones(1, np.float32), "s")
        node = helper.make_node("BitCast", ["w"], ["y"], to=TensorProto.INT8)
        out = ("y", [4, 2], np.int8)
    model = make_model([node, helper.make_node("Identity", ["s"], ["s_out"])], [], [out, "s_out"])
    model.graph.initializer.extend([w, s])
    model.opset_import[0].version = 26
    msg = parse_errors(model)
    assert words in msg and node.op_type in msg, msg
