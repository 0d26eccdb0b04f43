# MatMulInteger, ConvInteger, QLinearConv and QLinearMatMul: exact INT32 results at any
# reduction length up to 65,536 (integer_product.h: 4-bit digit products in FLOAT layers, combined
# in INT32), against NumPy's int64 arithmetic and onnxruntime, exactly (no tolerance: integer
# outputs). onnxruntime's own results are exact only where its kernels are (see QLinearConv).
import clrt as trt
import numpy as np
import pytest
from helpers import LOGGER, deserialize, make_model, ort_run, parse_network
from onnx import helper


def engine(model, flags=()):
    builder, network, _ = parse_network(model)
    config = builder.create_builder_config()
    config.builder_optimization_level = 0
    for f in flags:
        config.set_flag(f)
    plan = builder.build_serialized_network(network, config)
    assert plan is not None
    return deserialize(bytes(plan))


def conv_ref(x, w, stride=1, pad=0, group=1):
    """NumPy int64 convolution, [N, C, H, W] x [M, C/group, kh, kw]; stride: one or (sh, sw)."""
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    x = np.pad(x.astype(np.int64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    w = w.astype(np.int64)
    n, _, h, wd = x.shape
    m, cg, kh, kw = w.shape
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    y = np.zeros((n, m, oh, ow), np.int64)
    mg = m // group
    for o in range(m):
        g = o // mg
        xs = x[:, g * cg : (g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw]
                y[:, o] += np.einsum("nchw,c->nhw", patch, w[o, :, i, j])
    return y


# K = 5, 300 (past 2^24 / 255^2 = 258: one digit split) and 5000 (past 4,112: both operands
# split), with the values at their extremes so that every partial sum is as large as it gets.
@pytest.mark.parametrize("k", [5, 300, 5000])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_matmul_integer_exact_at_long_k(k, dtype):
    info = np.iinfo(dtype)
    model = make_model(
        [helper.make_node("MatMulInteger", ["a", "b", "za", "zb"], ["y"])],
        [("a", [3, k], dtype), ("b", [k, 4], dtype), ("za", [], dtype), ("zb", [], dtype)],
        [("y", None, np.int32)],
        opset=10,
    )
    rng = np.random.default_rng(k)
    a = rng.integers(info.min, info.max + 1, (3, k)).astype(dtype)
    a[0] = info.max  # the largest sums: a full row of the extreme against an extreme column
    b = rng.integers(info.min, info.max + 1, (k, 4)).astype(dtype)
    b[:, 0] = info.max
    za, zb = np.array(info.min, dtype), np.array(info.max // 3, dtype)
    # FP16 allowed: the digit products must stay FP32 all the same.
    got = (
        engine(model, [trt.BuilderFlag.FP16])
        .create_execution_context()
        .infer({"a": a, "b": b, "za": za, "zb": zb})["y"]
    )
    want = (a.astype(np.int64) - int(za)) @ (b.astype(np.int64) - int(zb))
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, want)
    if dtype == np.uint8:  # onnxruntime's MatMulInteger takes uint8 A
        np.testing.assert_array_equal(
            got, ort_run(model, {"a": a, "b": b, "za": za, "zb": zb})["y"]
        )


def test_matmul_integer_constant_b_with_column_zero_points():
    k = 700
    rng = np.random.default_rng(3)
    b = rng.integers(-128, 128, (k, 6)).astype(np.int8)
    zb = rng.integers(-128, 128, (6,)).astype(np.int8)
    model = make_model(
        [helper.make_node("MatMulInteger", ["a", "b", "za", "zb"], ["y"])],
        [("a", [2, 5, k], np.int8), ("za", [], np.int8)],
        [("y", None, np.int32)],
        initializers={"b": b, "zb": zb},
        opset=10,
    )
    a = rng.integers(-128, 128, (2, 5, k)).astype(np.int8)
    za = np.array(-7, np.int8)
    got = engine(model).create_execution_context().infer({"a": a, "za": za})["y"]
    want = (a.astype(np.int64) - int(za)) @ (b.astype(np.int64) - zb.astype(np.int64))
    np.testing.assert_array_equal(got, want)


def conv_integer_model(xshape, wshape, w=None, zw=None, zw_shape=None, **attrs):
    inputs = [("x", xshape, np.uint8), ("zx", [], np.uint8)]
    inits = {}
    zw_shape = [wshape[0]] if zw_shape is None else zw_shape
    for name, shape, value in (("w", wshape, w), ("zw", zw_shape, zw)):
        if value is None:
            inputs.append((name, shape, np.uint8))
        else:
            inits[name] = value
    return make_model(
        [helper.make_node("ConvInteger", ["x", "w", "zx", "zw"], ["y"], **attrs)],
        inputs,
        [("y", None, np.int32)],
        initializers=inits,
        opset=10,
    )


# 16 channels x 3 x 3 = 144 products (one FLOAT product), 64 x 3 x 3 = 576 (split): W fed at run
# time and W constant with one zero point per output channel; pads, stride and groups.
@pytest.mark.parametrize("channels", [16, 64])
@pytest.mark.parametrize("constant_w", [False, True])
def test_conv_integer_exact(channels, constant_w):
    rng = np.random.default_rng(channels + constant_w)
    group = 2
    x = rng.integers(0, 256, (2, channels, 7, 6)).astype(np.uint8)
    x[0] = 255
    w = rng.integers(0, 256, (4, channels // group, 3, 3)).astype(np.uint8)
    w[0] = 255
    zx, zw = np.array(0, np.uint8), rng.integers(0, 256, (4,)).astype(np.uint8)
    attrs = {"pads": [1, 1, 1, 1], "strides": [2, 2], "group": group}
    if constant_w:
        model = conv_integer_model(list(x.shape), list(w.shape), w=w, zw=zw, **attrs)
        feeds = {"x": x, "zx": zx}
    else:
        model = conv_integer_model(list(x.shape), list(w.shape), **attrs)
        feeds = {"x": x, "zx": zx, "w": w, "zw": zw}
    got = engine(model, [trt.BuilderFlag.FP16]).create_execution_context().infer(feeds)["y"]
    wc = w.astype(np.int64) - zw.astype(np.int64)[:, None, None, None]
    want = conv_ref(x.astype(np.int64) - int(zx), wc, stride=2, pad=1, group=group)
    np.testing.assert_array_equal(got, want)
    if not constant_w:  # onnxruntime takes one zero point for w: compare with a scalar one
        model = conv_integer_model(list(x.shape), list(w.shape), zw_shape=[], **attrs)
        feeds["zw"] = np.array(9, np.uint8)
        got = engine(model).create_execution_context().infer(feeds)["y"]
        np.testing.assert_array_equal(got, ort_run(model, feeds)["y"])


def test_conv_integer_1d_runtime_weights():
    model = make_model(
        [helper.make_node("ConvInteger", ["x", "w"], ["y"], pads=[2, 0], dilations=[2])],
        [("x", [1, 3, 9], np.uint8), ("w", [2, 3, 3], np.uint8)],
        [("y", None, np.int32)],
        opset=10,
    )
    rng = np.random.default_rng(5)
    feeds = {
        "x": rng.integers(0, 256, (1, 3, 9)).astype(np.uint8),
        "w": rng.integers(0, 256, (2, 3, 3)).astype(np.uint8),
    }
    got = engine(model).create_execution_context().infer(feeds)["y"]
    np.testing.assert_array_equal(got, ort_run(model, feeds)["y"])


def parse_error(model):
    parser = trt.OnnxParser(trt.Builder(LOGGER).create_network(0), LOGGER)
    assert not parser.parse(model.SerializeToString())
    return str(parser.get_error(0))


def test_integer_products_refused_past_65536_or_not_8_bit():
    k = 70000
    model = make_model(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])],
        [("a", [2, k], np.uint8), ("b", [k, 2], np.uint8)],
        [("y", None, np.int32)],
        opset=10,
    )
    assert "MatMulInteger sums 70000 products" in parse_error(model)
    model = make_model(
        [helper.make_node("ConvInteger", ["x", "w"], ["y"])],
        [("x", [1, 2, 4, 4], np.int32), ("w", [1, 2, 3, 3], np.uint8)],
        [("y", None, np.int32)],
        opset=10,
    )
    assert "expected INT8 or UINT8" in parse_error(model)


@pytest.mark.parametrize("w_dtype", [np.uint8, np.int8])
def test_qlinear_conv_matches_onnxruntime(w_dtype):
    """QLinearConv (onnxruntime's quantizer writes it in the QOperator format): the exact INT32
    convolution of 64 input channels plus an INT32 bias, requantized with a per-channel weight
    scale, padding and stride, equal to onnxruntime's output byte for byte; scales given as
    graph inputs once (computed at run time) and as initializers once."""
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (2, 64, 9, 8)).astype(np.uint8)
    lo, hi = (0, 256) if w_dtype == np.uint8 else (-128, 128)
    w = rng.integers(lo, hi, (6, 64, 3, 3)).astype(w_dtype)
    wzp = np.full(6, 128 if w_dtype == np.uint8 else 0, w_dtype)
    bias = rng.integers(-5000, 5000, 6).astype(np.int32)
    scales = {
        "xs": np.array(0.02, np.float32),
        "ws": rng.uniform(0.001, 0.01, 6).astype(np.float32),
        "ys": np.array(0.9, np.float32),
    }
    inits = {
        "w": w,
        "wzp": wzp,
        "b": bias,
        "xzp": np.array(3, np.uint8),
        "yzp": np.array(7, np.uint8),
    }
    ins = ["x", "xs", "xzp", "w", "ws", "wzp", "ys", "yzp", "b"]
    node = helper.make_node("QLinearConv", ins, ["y"], pads=[1, 1, 1, 1], strides=[2, 1])
    # The exact result (onnxruntime's definition): the INT32 sum of centred products plus the
    # bias, as float32 times float32(x_scale * w_scale / y_scale), rounded half to even,
    # + y_zero_point, saturated.
    acc = (
        conv_ref(
            x.astype(np.int64) - 3,
            w.astype(np.int64) - wzp.astype(np.int64)[:, None, None, None],
            stride=(2, 1),
            pad=1,
        )
        + bias[None, :, None, None]
    )
    sc = (scales["xs"] * scales["ws"] / scales["ys"]).astype(np.float32)[None, :, None, None]
    want = np.clip(np.rint(acc.astype(np.float32) * sc) + 7, 0, 255).astype(np.uint8)
    for runtime_scales in (True, False):
        inputs = [("x", x.shape, np.uint8)]
        if runtime_scales:
            inputs += [(k, v.shape) for k, v in scales.items()]
            feeds = {"x": x, **scales}
            model = make_model([node], inputs, [("y", (2, 6, 5, 8), np.uint8)], inits, opset=10)
        else:
            feeds = {"x": x}
            model = make_model(
                [node], inputs, [("y", (2, 6, 5, 8), np.uint8)], {**inits, **scales}, opset=10
            )
        got = engine(model).create_execution_context().infer(feeds)["y"]
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)
        assert 0 < (want == 255).sum() + (want == 0).sum() < want.size  # some saturate, not all
        # onnxruntime agrees where its u8s8 kernels are exact: with INT8 weights on an x86 CPU
        # without VNNI (AVX2 only) they add pairs of products in saturating 16-bit lanes, and
        # its output then differs (seen with onnxruntime 1.32 on an AMD EPYC: up to 44).
        if w_dtype == np.uint8:
            np.testing.assert_array_equal(ort_run(model, feeds)["y"], want)


def test_qlinear_matmul_exact_past_2_24():
    """QLinearMatMul (QOperator format) requantizes the exact INT32 product, as onnxruntime does:
    K = 1024 with sums near 2.6e7 (past 2^24, where FLOAT sums round) built so that every
    requantized value of column 0 is an exact tie (k + 0.5, rounded half to even), which a
    product summed in FLOAT would push either way; equal to onnxruntime byte for byte, and to
    NumPy's int64 product requantized."""
    rng = np.random.default_rng(24)
    k, rows = 1024, 8
    b = np.empty((k, 2), np.uint8)
    b[:, 0] = rng.integers(100, 128, k)
    b[-72:-8, 0] = 127  # these 64 positions of each row of A set the sum to within 127,
    b[-8:, 0] = 1  # and these 8 exactly
    b[:, 1] = rng.integers(0, 256, k)
    a = rng.integers(200, 256, (rows, k)).astype(np.int64)
    a[:, -72:] = 0
    col = b[:, 0].astype(np.int64)
    for r in range(rows):
        s = int(a[r] @ col)
        target = (2 * (s // 2**18) + 1) * 2**17  # the next k + 0.5 at scale 2^-18
        if target < s:
            target += 2**18
        coarse, fine = divmod(target - s, 127)
        a[r, -72:-8] = coarse // 64
        a[r, -72 : -72 + coarse % 64] += 1
        a[r, -8:] = fine // 8
        a[r, -8 : -8 + fine % 8] += 1
        assert int(a[r] @ col) == target and a[r].max() <= 255
    a = a.astype(np.uint8)
    scales = {"sa": np.array(2.0**-9, np.float32), "sb": np.array(2.0**-9, np.float32)}
    inits = {
        **scales,
        "za": np.array(0, np.uint8),
        "zb": np.array(0, np.uint8),
        "sy": np.array(1.0, np.float32),
        "zy": np.array(0, np.uint8),
    }
    ins = ["a", "sa", "za", "b", "sb", "zb", "sy", "zy"]
    model = make_model(
        [helper.make_node("QLinearMatMul", ins, ["y"])],
        [("a", a.shape, np.uint8), ("b", b.shape, np.uint8)],
        [("y", (rows, 2), np.uint8)],
        inits,
        opset=10,
    )
    feeds = {"a": a, "b": b}
    got = engine(model).create_execution_context().infer(feeds)["y"]
    want = ort_run(model, feeds)["y"]
    np.testing.assert_array_equal(got, want)
    acc = a.astype(np.int64) @ b.astype(np.int64)
    ref = np.clip(np.rint(acc.astype(np.float32) * np.float32(2.0**-18)), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(got, ref)
    assert (np.modf(acc[:, 0] / 2.0**18)[0] == 0.5).all() and acc.min() > 2**24
