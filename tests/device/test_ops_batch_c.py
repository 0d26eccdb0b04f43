# Operators batch C (GridSample, CumSum, CumProd, TopK, Bitwise*, ThresholdedRelu, Shrink, Celu,
# Mish, Swish, Einsum, LRN, GroupNormalization, BitCast) against onnxruntime.
"""Each model holds many nodes, one graph output per node, so an engine covers a whole family and
is built once per module (PoCL compiles slowly). Tolerances: FP32 |clrt - ort| <= 1e-5 + 1e-5 *
|ort| (1e-4 relative for cubic sampling, GroupNormalization and the transcendental
activations); integer outputs, TopK and BitCast are compared exactly."""

import numpy as np
import pytest
from helpers import (
    assert_close,
    build_engine,
    build_fp16_engine,
    make_model,
    ort_run,
    rand,
)
from onnx import helper as oh

N = oh.make_node
ATOL = 1e-5

EINSUM = {
    "ein_matmul": ("bij,bjk->bik", ["e_a", "e_b"]),
    "ein_inner": ("i,i", ["e_v", "e_v2"]),
    "ein_diag": ("...ii->...i", ["e_sq"]),
    "ein_trace": ("ii", ["e_m"]),
    "ein_sum": ("ij->i", ["e_m"]),
    "ein_transpose": ("ij->ji", ["e_m"]),
    "ein_outer": ("i,j->ij", ["e_v", "e_w"]),
    "ein_contract": ("abc,cbd->da", ["e_t", "e_u"]),
    "ein_ellipsis": ("...j,jk->...k", ["e_a", "e_m"]),
}
DTYPES = {"i32": np.int32, "u8": np.uint8, "i16": np.int16, "i64": np.int64}
SCAN_DTYPES = {"xs": np.float32, "xi": np.int32, "xl": np.int64}
X2, G2 = [2, 3, 4, 5], [2, 3, 6, 2]
X3, G3 = [1, 2, 3, 4, 5], [1, 2, 3, 4, 3]


def grid_cases():
    """(output, node, rtol): every mode, padding and align_corners in 2-D; nearest and linear in
    3-D. Grid values reach past [-1, 1] so that every padding mode is exercised."""
    cases = []
    for mode in ("nearest", "linear", "cubic"):
        for pad in ("zeros", "border", "reflection"):
            for align in (0, 1):
                rtol = 1e-4 if mode == "cubic" else 1e-5
                attrs = {"mode": mode, "padding_mode": pad, "align_corners": align}
                out = f"gs2_{mode}_{pad}_{align}"
                cases.append((out, N("GridSample", ["x2", "g2"], [out], **attrs), rtol))
                if mode != "cubic":
                    out = f"gs3_{mode}_{pad}_{align}"
                    cases.append((out, N("GridSample", ["x3", "g3"], [out], **attrs), rtol))
    return cases


def grid16_cases():
    """GridSample-16 spells the modes bilinear and bicubic."""
    return [
        (
            f"gs16_{m}",
            N("GridSample", ["x2", "g2"], [f"gs16_{m}"], mode=m, padding_mode="border"),
            1e-4,
        )
        for m in ("bilinear", "bicubic", "nearest")
    ]


def activation_cases():
    return [
        ("thr", N("ThresholdedRelu", ["xa"], ["thr"], alpha=0.3), 1e-5),
        ("thr_default", N("ThresholdedRelu", ["xa"], ["thr_default"]), 1e-5),
        ("shrink", N("Shrink", ["xa"], ["shrink"], lambd=0.4, bias=0.1), 1e-5),
        ("shrink_default", N("Shrink", ["xa"], ["shrink_default"]), 1e-5),
        ("celu", N("Celu", ["xa"], ["celu"], alpha=1.5), 1e-4),
        ("mish", N("Mish", ["xa"], ["mish"]), 1e-4),
        ("swish", N("Swish", ["xa"], ["swish"], alpha=0.7), 1e-4),
    ]


def scan_cases():
    cases = []
    for op in ("CumSum", "CumProd"):
        for ex in (0, 1):
            for rev in (0, 1):
                for src, axis in (("xs", "ax1"), ("xi", "ax_neg")):
                    out = f"{op}_{src}_{ex}_{rev}"
                    node = N(op, [src, axis], [out], exclusive=ex, reverse=rev)
                    cases.append((out, node, 1e-5 if src == "xs" else 0.0, SCAN_DTYPES[src]))
    for op in ("CumSum", "CumProd"):  # the axis a run-time input
        out = f"{op}_rt_axis"
        cases.append((out, N(op, ["xs", "ax_rt"], [out], reverse=1), 1e-5, np.float32))
    for src in ("xs", "xi", "xl"):
        for largest in (0, 1):
            for axis, k in ((1, "k2"), (-1, "k3")):
                out = f"topk_{src}_{largest}_{axis}"
                node = N("TopK", [src, k], [out, out + "_i"], axis=axis, largest=largest)
                cases.append((out, node, 0.0, SCAN_DTYPES[src]))
                cases.append((out + "_i", None, 0.0, np.int64))
    return cases


def misc_cases():
    cases = [
        (name, N("Einsum", ins, [name], equation=eq), 1e-5) for name, (eq, ins) in EINSUM.items()
    ]
    cases += [
        ("lrn", N("LRN", ["xn"], ["lrn"], size=3, alpha=2e-2, beta=0.6, bias=1.5), 1e-5),
        ("lrn_default", N("LRN", ["xn"], ["lrn_default"], size=5), 1e-5),
        (
            "gn",
            N("GroupNormalization", ["xn", "gs", "gb"], ["gn"], num_groups=2, epsilon=1e-3),
            1e-4,
        ),
        ("bc_f2i", N("BitCast", ["xn"], ["bc_f2i"], to=6), 0.0, np.int32),
        ("bc_i2f", N("BitCast", ["bi"], ["bc_i2f"], to=1), 0.0),
        ("bc_i8", N("BitCast", ["b8"], ["bc_i8"], to=2), 0.0, np.uint8),
    ]
    cases += [
        ("rs_time", N("ReverseSequence", ["xr", "lens"], ["rs_time"]), 0.0),
        (
            "rs_batch",
            N("ReverseSequence", ["xr_t", "lens"], ["rs_batch"], batch_axis=0, time_axis=1),
            0.0,
        ),
        ("ts_linear", N("TensorScatter", ["past", "upd", "wi"], ["ts_linear"]), 0.0),
        (
            "ts_circular",
            N("TensorScatter", ["past", "upd", "wi_c"], ["ts_circular"], mode="circular"),
            0.0,
        ),
        ("ts_none", N("TensorScatter", ["past", "upd"], ["ts_none"], axis=1), 0.0),
    ]
    cases += [
        ("det2", N("Det", ["xd2"], ["det2"]), 1e-4),
        ("det3", N("Det", ["xd3"], ["det3"]), 1e-4),
        (
            "unpool",
            N("MaxUnpool", ["xu", "iu"], ["unpool"], kernel_shape=[2, 2], strides=[2, 2]),
            0.0,
        ),
    ]
    for t, dt in (("s8", np.int8), ("u8", np.uint8)):
        ins = [f"q{t}_{k}" for k in ("a", "as", "az", "b", "bs", "bz", "ys", "yz")]
        cases.append((f"qmm_{t}", N("QLinearMatMul", ins, [f"qmm_{t}"]), 0.0, dt))
    return cases


def bitwise_cases():
    cases = []
    for t in ("i32", "u8", "i16", "i64"):
        for op in ("BitwiseAnd", "BitwiseOr", "BitwiseXor"):
            out = f"{op}_{t}"
            cases.append((out, N(op, [f"a_{t}", f"b_{t}"], [out]), 0.0, DTYPES[t]))
        cases.append((f"not_{t}", N("BitwiseNot", [f"a_{t}"], [f"not_{t}"]), 0.0, DTYPES[t]))
    return cases


def _ints(shape, dtype, seed):
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(info.min, info.max, shape, dtype=dtype)


def _family_inputs(key):
    """(inputs, feeds, initializers, opset) of a family."""
    if key in ("grid", "grid16"):
        feeds = {
            "x2": rand(X2, seed=1),
            "g2": rand(G2, seed=2, low=-1.3, high=1.3),
            "x3": rand(X3, seed=3),
            "g3": rand(G3, seed=4, low=-1.3, high=1.3),
        }
        if key == "grid16":
            feeds = {k: feeds[k] for k in ("x2", "g2")}
        return (
            [(k, list(v.shape)) for k, v in feeds.items()],
            feeds,
            {},
            22 if key == "grid" else 16,
        )
    if key == "act":
        feeds = {"xa": rand([3, 40], seed=5, low=-3.0, high=3.0)}
        return [("xa", [3, 40])], feeds, {}, 24
    if key == "misc":
        shapes = {
            "e_a": [2, 3, 4],
            "e_b": [2, 4, 5],
            "e_v": [4],
            "e_v2": [4],
            "e_w": [3],
            "e_sq": [2, 3, 3],
            "e_m": [4, 4],
            "e_t": [2, 3, 4],
            "e_u": [4, 3, 5],
            "xn": [2, 4, 3, 5],
            "gs": [4],
            "gb": [4],
            "xr": [4, 3, 2],
            "xr_t": [3, 4],
            "past": [2, 5, 3],
            "upd": [2, 2, 3],
            "xd2": [2, 2],
            "xd3": [2, 3, 3],
            "xu": [1, 2, 2, 3],
        }
        feeds = {k: rand(v, seed=20 + i) for i, (k, v) in enumerate(shapes.items())}
        feeds["bi"] = rand([6], seed=40, low=-4.0, high=4.0).view(np.int32)
        feeds["b8"] = np.arange(-128, 128, 16).astype(np.int8)
        feeds["lens"] = np.array([4, 1, 3], np.int64)
        # MaxPool-style indices into the [1, 2, 4, 6] output: one position per 2 x 2 window.
        rng = np.random.default_rng(60)
        c, i, j = np.meshgrid(range(2), range(2), range(3), indexing="ij")
        di, dj = rng.integers(0, 2, c.shape), rng.integers(0, 2, c.shape)
        feeds["iu"] = (c * 24 + (2 * i + di) * 6 + 2 * j + dj).reshape(1, 2, 2, 3).astype(np.int64)
        feeds["wi"] = np.array([1, 3], np.int64)
        feeds["wi_c"] = np.array([4, 2], np.int64)
        for t, dt, shape_a, shape_b in (
            ("s8", np.int8, [3, 4], [4, 5]),
            ("u8", np.uint8, [2, 3, 4], [2, 4, 5]),
        ):
            info = np.iinfo(dt)
            rng = np.random.default_rng(50)
            for k, shape in (("a", shape_a), ("b", shape_b)):
                feeds[f"q{t}_{k}"] = rng.integers(info.min, info.max, shape).astype(dt)
            for k, v in (("as", 0.02), ("bs", 0.03), ("ys", 0.4)):
                feeds[f"q{t}_{k}"] = np.array([v], np.float32)
            for k in ("az", "bz", "yz"):
                feeds[f"q{t}_{k}"] = rng.integers(info.min // 4, info.max // 4, [1]).astype(dt)
        inputs = [(k, list(v.shape), v.dtype) for k, v in feeds.items()]
        return inputs, feeds, {}, 26
    if key == "scan":
        feeds = {
            "xs": rand([2, 5, 3], seed=6, low=0.5, high=1.5),
            "xi": np.random.default_rng(7).integers(-4, 5, [2, 5, 3]).astype(np.int32),
            "xl": np.random.default_rng(8).integers(-3, 3, [2, 5, 3]).astype(np.int64),
            "ax_rt": np.array(-2, np.int32),
        }
        inits = {
            "ax1": np.array(1, np.int64),
            "ax_neg": np.array([-1], np.int32),
            "k2": np.array([2], np.int64),
            "k3": np.array([3], np.int64),
        }
        inputs = [(k, list(v.shape), v.dtype) for k, v in feeds.items()]
        return inputs, feeds, inits, 26
    feeds = {}
    for t, dt in DTYPES.items():
        feeds[f"a_{t}"] = _ints([2, 3, 4], dt, seed=9)
        feeds[f"b_{t}"] = _ints([3, 1] if t in ("u8", "i64") else [2, 3, 4], dt, seed=10)
    inputs = [(k, list(v.shape), v.dtype) for k, v in feeds.items()]
    return inputs, feeds, {}, 18


CASES = {
    "grid": grid_cases(),
    "grid16": grid16_cases(),
    "act": activation_cases(),
    "scan": scan_cases(),
    "bitwise": bitwise_cases(),
    "misc": misc_cases(),
}


def covered_ops():
    """The op types this file runs (tests/device/test_ops.py counts them as covered)."""
    families = {c[1].op_type for cases in CASES.values() for c in cases if c[1] is not None}
    return families | {"DeformConv", "Col2Im"}  # test_deform_conv, test_col2im


@pytest.fixture(scope="module")
def results():
    """family -> (clrt outputs, onnxruntime outputs), each engine built on first use."""
    built = {}

    def get(key):
        if key not in built:
            inputs, feeds, inits, opset = _family_inputs(key)
            nodes = [c[1] for c in CASES[key] if c[1] is not None]
            outs = [(c[0], None, c[3] if len(c) > 3 else np.float32) for c in CASES[key]]
            model = make_model(nodes, inputs, outs, inits, opset, name=f"batch_c_{key}")
            got = build_engine(model).create_execution_context().infer(feeds)
            built[key] = (got, ort_run(model, feeds))
        return built[key]

    return get


def _params(key):
    return [pytest.param(key, c[0], c[2], id=c[0]) for c in CASES[key]]


@pytest.mark.parametrize("key,name,rtol", [p for k in CASES for p in _params(k)])
def test_batch_c(results, key, name, rtol):
    got, ref = results(key)
    if rtol == 0.0:  # integers, selections and bit casts: exact
        assert got[name].dtype == ref[name].dtype, (name, got[name].dtype, ref[name].dtype)
        np.testing.assert_array_equal(got[name], ref[name], err_msg=name)
    else:
        assert_close(got[name], ref[name], rtol, ATOL, name)


def test_fp16_half_storage():
    """GridSample, CumSum and TopK on half storage: 5e-3 * |ort| + 5e-3 * max|ort| (TopK
    indices may differ only where FP16 rounding ties two values, so its values are compared)."""
    nodes = [
        N("GridSample", ["x2", "g2"], ["gs_lin"], mode="linear", padding_mode="border"),
        N("GridSample", ["x2", "g2"], ["gs_cub"], mode="cubic", padding_mode="reflection"),
        N("GridSample", ["x3", "g3"], ["gs_3d"], mode="nearest"),
        N("CumSum", ["xs", "ax1"], ["cs"], exclusive=1),
        N("TopK", ["xs", "k2"], ["tk", "tk_i"], axis=1),
    ]
    feeds = {
        "x2": rand(X2, seed=1),
        "g2": rand(G2, seed=2, low=-1.3, high=1.3),
        "x3": rand(X3, seed=3),
        "g3": rand(G3, seed=4, low=-0.9, high=0.9),
        "xs": rand([2, 5, 3], seed=6, low=0.5, high=1.5),
    }
    inits = {"ax1": np.array(1, np.int64), "k2": np.array([2], np.int64)}
    inputs = [(k, list(v.shape)) for k, v in feeds.items()]
    outs = [("gs_lin",), ("gs_cub",), ("gs_3d",), ("cs",), ("tk",), ("tk_i", None, np.int64)]
    model = make_model(nodes, inputs, outs, inits, 22, name="batch_c_fp16")
    got = build_fp16_engine(model).create_execution_context().infer(feeds)
    ref = ort_run(model, feeds)
    for name in ("gs_lin", "gs_cub", "gs_3d", "cs", "tk"):
        assert_close(got[name], ref[name], 5e-3, 5e-3 * float(np.abs(ref[name]).max()), name)


def test_cumsum_runtime_axis_out_of_range():
    """A run-time axis outside [-rank, rank) fails the run, naming the layer and the axis."""
    model = make_model(
        [N("CumSum", ["x", "axis"], ["y"], name="cs_rt")],
        [("x", [2, 3]), ("axis", [], np.int64)],
        ["y"],
        opset=14,
    )
    context = build_engine(model).create_execution_context()
    x = rand([2, 3], seed=70)
    ok = context.infer({"x": x, "axis": np.array(-1, np.int64)})["y"]
    np.testing.assert_allclose(ok, np.cumsum(x, axis=-1), rtol=1e-6)
    with pytest.raises(Exception, match=r"cs_rt.*index 2 is out of range.*-2 to 1"):
        context.infer({"x": x, "axis": np.array(2, np.int64)})


def _topk_reference(x, k, axis, largest):
    """(values, indices) in TopK's order: the larger (smaller) value first, NaN above every number,
    equal values (-0 and +0 among them) by index."""
    xm = np.moveaxis(x, axis, -1)
    nan = np.isnan(xm)
    v = np.where(nan, 0.0, xm.astype(np.float64))
    pos = np.broadcast_to(np.arange(xm.shape[-1]), xm.shape)
    order = np.lexsort((pos, -v if largest else v, ~nan if largest else nan))[..., :k]
    vals = np.take_along_axis(xm, order, -1)
    return np.moveaxis(vals, -1, axis), np.moveaxis(order.astype(np.int64), -1, axis)


def test_topk_long_lines():
    """TopK where one work-item walking a line k times would be slow (k * len >= 2^16: FCOS takes
    the top 1000 of 145,000 scores) runs a work-group per line: radix select, then a sort. Values
    and indices exact against NumPy in ONNX's order (ties by index, -0 equal to +0, NaN above every
    number), largest and smallest, the axis last and not; the NumPy reference agrees with
    onnxruntime where there is no NaN. On half storage, values a half holds exactly."""
    rng = np.random.default_rng(31)
    tl = np.round(rng.standard_normal((2, 6000)), 2).astype(np.float32)  # many ties
    tl[0, [5, 77, 4000]] = np.nan
    tl[1, 10:20] = -0.0
    tl[1, 20:30] = 0.0
    tc = np.round(rng.standard_normal((4000, 3)), 1).astype(np.float32)
    cases = [("tl", 700, -1, 1), ("tl", 700, 1, 0), ("tc", 50, 0, 0), ("tc", 300, 0, 1)]
    nodes, outs, inits = [], [], {}
    for i, (src, k, axis, largest) in enumerate(cases):
        inits[f"k{i}"] = np.array([k], np.int64)
        nodes.append(N("TopK", [src, f"k{i}"], [f"v{i}", f"i{i}"], axis=axis, largest=largest))
        outs += [(f"v{i}",), (f"i{i}", None, np.int64)]
    feeds = {"tl": tl, "tc": tc}
    model = make_model(nodes, [(n, list(v.shape)) for n, v in feeds.items()], outs, inits, 17)
    got = build_engine(model).create_execution_context().infer(feeds)
    for i, (src, k, axis, largest) in enumerate(cases):
        v, ix = _topk_reference(feeds[src], k, axis, largest)
        np.testing.assert_array_equal(got[f"i{i}"], ix, err_msg=f"case {i} indices")
        np.testing.assert_array_equal(got[f"v{i}"], v, err_msg=f"case {i} values")
    ref = ort_run(model, {"tl": np.nan_to_num(tl), "tc": tc})
    for i, (src, k, axis, largest) in enumerate(cases):
        x = np.nan_to_num(feeds[src])
        np.testing.assert_array_equal(ref[f"i{i}"], _topk_reference(x, k, axis, largest)[1])

    xh = (rng.integers(-512, 512, (1, 3000)) / 64).astype(np.float32)  # exact in half
    node = N("TopK", ["xh", "kh"], ["vh", "ih"], axis=1)
    model = make_model(
        [node],
        [("xh", [1, 3000])],
        [("vh",), ("ih", None, np.int64)],
        {"kh": np.array([500], np.int64)},
        17,
        name="topk_half",
    )
    got = build_fp16_engine(model).create_execution_context().infer({"xh": xh})
    v, ix = _topk_reference(xh, 500, 1, 1)
    np.testing.assert_array_equal(got["ih"], ix)
    np.testing.assert_array_equal(got["vh"], v)


def _deform_conv_model(g, og, stride, dil, pads, mask, bias, n="N"):
    C, M, k = 4, 6, 3
    H, W = 7, 6
    oh = (H + pads[0] + pads[2] - ((k - 1) * dil + 1)) // stride + 1
    ow = (W + pads[1] + pads[3] - ((k - 1) * dil + 1)) // stride + 1
    ins = ["x", "w", "off"] + (["b"] if bias else [""]) + (["m"] if mask else [])
    node = N(
        "DeformConv",
        ins,
        ["y"],
        group=g,
        offset_group=og,
        strides=[stride, stride],
        dilations=[dil, dil],
        pads=pads,
        kernel_shape=[k, k],
    )
    inputs = [("x", [n, C, H, W]), ("off", [n, og * k * k * 2, oh, ow])]
    if mask:
        inputs.append(("m", [n, og * k * k, oh, ow]))
    inits = {"w": rand([M, C // g, k, k], seed=3)}
    if bias:
        inits["b"] = rand([M], seed=4)
    return make_model([node], inputs, [("y",)], inits, 19, name="deform_conv"), inputs


@pytest.mark.parametrize(
    "g, og, stride, dil, pads, mask, bias",
    [
        (1, 1, 1, 1, [1, 1, 1, 1], True, True),
        (2, 2, 2, 2, [2, 1, 0, 2], False, False),
        (1, 2, 1, 1, [0, 0, 0, 0], True, False),
        (2, 1, 1, 1, [1, 0, 1, 0], False, True),
    ],
)
def test_deform_conv(g, og, stride, dil, pads, mask, bias):
    """DeformConv (GridSample per offset group, then one batched MatMul) against onnxruntime:
    groups, offset groups, strides, dilations, asymmetric pads, with and without mask and bias,
    offsets up to 3 pixels so that taps leave the image (zeros there); batch 2 through a dynamic
    batch dim. |clrt - ort| <= 1e-5 + 1e-5 |ort|."""
    model, inputs = _deform_conv_model(g, og, stride, dil, pads, mask, bias)
    shapes = {n: [2] + s[1:] for n, s in inputs}
    feeds = {
        "x": rand(shapes["x"], seed=1),
        "off": rand(shapes["off"], seed=2, low=-3.0, high=3.0),
    }
    if mask:
        feeds["m"] = rand(shapes["m"], seed=5, low=0.0, high=1.0)
    profiles = [{n: ([1] + s[1:], s, [3] + s[1:]) for n, s in shapes.items()}]
    got = build_engine(model, profiles=profiles).create_execution_context().infer(feeds)
    ref = ort_run(model, feeds)
    assert_close(got["y"], ref["y"], 1e-5, ATOL, "y")


@pytest.mark.parametrize(
    "image, block, strides, dil, pads",
    [
        ([5, 5], [2, 2], [1, 1], [1, 1], [0, 0, 0, 0]),
        ([6, 7], [3, 2], [2, 3], [1, 1], [1, 0, 2, 1]),  # strides that do not end on the image
        ([7, 6], [2, 3], [1, 2], [2, 1], [0, 1, 1, 0]),
        ([9], [3], [2], [1], [1, 1]),
    ],
)
def test_col2im(image, block, strides, dil, pads):
    """Col2Im (a grouped ConvTranspose with one-hot kernels) against onnxruntime: overlapping
    patches summed, strides, dilations, pads, image sizes the strides do not end on, 1-D and
    2-D. |clrt - ort| <= 1e-5 + 1e-5 |ort|."""
    C, K = 3, int(np.prod(block))
    L = 1
    for i in range(len(image)):
        span = image[i] + pads[i] + pads[i + len(image)] - ((block[i] - 1) * dil[i] + 1)
        L *= span // strides[i] + 1
    node = N("Col2Im", ["x", "img", "blk"], ["y"], strides=strides, dilations=dil, pads=pads)
    inits = {"img": np.array(image, np.int64), "blk": np.array(block, np.int64)}
    model = make_model([node], [("x", [2, C * K, L])], [("y",)], inits, 18, name="col2im")
    feeds = {"x": rand([2, C * K, L], seed=11)}
    got = build_engine(model).create_execution_context().infer(feeds)
    ref = ort_run(model, feeds)
    assert got["y"].shape == (2, C, *image)
    assert_close(got["y"], ref["y"], 1e-5, ATOL, "y")
