# Operators batch B (Resize, Upsample, Pad, ConvTranspose, 3-D Conv/pooling, LpPool,
# DepthToSpace, SpaceToDepth) against onnxruntime, every mode.
"""Each model holds many nodes reading one input, one graph output per node, so an engine covers
a whole family and is built once per module (PoCL compiles slowly). Tolerances: FP32
|clrt - ort| <= 1e-5 + 1e-5 * |ort| (nearest, linear, pad, ConvTranspose); cubic and antialias
1e-5 + 1e-4 * |ort|; FP16 engines (every layer held to FP16) as tests/device/test_fp16.py:
5e-3 * |ort| + 5e-3 * max|ort|. Cases where onnxruntime departs from the spec are checked against
onnx's reference evaluator instead (uses_spec_reference)."""

import clrt as trt
import numpy as np
import onnx
import pytest
from helpers import (
    assert_close,
    build_engine,
    deserialize,
    make_model,
    ort_run,
    parse_network,
    rand,
)
from onnx import helper as oh
from onnx.reference import ReferenceEvaluator

N = oh.make_node
RTOL_EXACT, RTOL_CUBIC, ATOL = 1e-5, 1e-4, 1e-5

COORDS = [
    "half_pixel",
    "half_pixel_symmetric",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
    "tf_half_pixel_for_nn",
]
NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]
# Shapes and scales keep source coordinates off exact rounding ties, where float and double
# (and onnxruntime's and onnx's own evaluation orders) legitimately round apart.
SCALES = {"up": [1.0, 1.0, 2.0, 1.5], "down": [1.0, 1.0, 0.7, 0.8]}
SIZES = {"up": [1, 2, 7, 9], "down": [1, 2, 4, 4]}
X_SHAPE = [1, 2, 5, 6]


# onnxruntime reads align_corners' output length as the integer one; the spec (and onnx's
# reference, which the ONNX backend suite's outputs come from) as in * scale. Where the two differ
# (a scale whose product with the input length is not whole) the case is checked against onnx's
# reference evaluator.
def uses_spec_reference(name):
    return "align_corners" in name and name.endswith("scales_down")


class Family:
    """One engine (built on first use) over a model with one output per case."""

    def __init__(self, nodes, inputs, outputs, inits, opset, feeds, fp16=False):
        self.model = make_model(nodes, inputs, outputs, inits, opset, name="batch_b")
        self.feeds = feeds
        self.fp16 = fp16
        self._got = self._ref = None

    def results(self):
        if self._got is None:
            if self.fp16:  # every layer held to FP16, as tests/test_fp16.py builds
                builder, network, _ = parse_network(self.model)
                for i in range(network.num_layers):
                    network.get_layer(i).precision = trt.float16
                config = builder.create_builder_config()
                config.set_flag(trt.BuilderFlag.FP16)
                config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
                engine = deserialize(bytes(builder.build_serialized_network(network, config)))
            else:
                engine = build_engine(self.model)
            self._got = engine.create_execution_context().infer(self.feeds)
            self._ref = ort_run(self.model, self.feeds)
            spec = [n for n in self.model.graph.node if uses_spec_reference(n.output[0])]
            if spec:
                sub = onnx.ModelProto()
                sub.CopyFrom(self.model)
                del sub.graph.node[:]
                sub.graph.node.extend(spec)
                del sub.graph.output[:]
                sub.graph.output.extend(oh.make_empty_tensor_value_info(n.output[0]) for n in spec)
                values = ReferenceEvaluator(sub).run(None, self.feeds)
                self._ref.update({n.output[0]: v for n, v in zip(spec, values)})
        return self._got, self._ref


def resize_cases():
    """(output name, node, initializers, rtol) over modes, transforms, scales and sizes."""
    cases = []
    for kind in ("scales", "sizes"):
        for way in ("up", "down"):
            const = np.array(SCALES[way] if kind == "scales" else SIZES[way])
            const = const.astype(np.float32 if kind == "scales" else np.int64)
            cname = f"{kind}_{way}"
            ins = ["x", "", cname] if kind == "scales" else ["x", "", "", cname]
            for coord in COORDS:
                for nm in NEAREST:
                    out = f"nearest_{coord}_{nm}_{cname}"
                    node = N(
                        "Resize",
                        ins,
                        [out],
                        mode="nearest",
                        coordinate_transformation_mode=coord,
                        nearest_mode=nm,
                    )
                    cases.append((out, node, {cname: const}, RTOL_EXACT))
                for mode in ("linear", "cubic"):
                    out = f"{mode}_{coord}_{cname}"
                    node = N("Resize", ins, [out], mode=mode, coordinate_transformation_mode=coord)
                    cases.append((out, node, {cname: const}, RTOL_CUBIC))
            for a, excl in ((-0.5, 1), (-0.75, 0)):
                out = f"cubic_a{abs(a)}_excl{excl}_{cname}"
                node = N("Resize", ins, [out], mode="cubic", cubic_coeff_a=a, exclude_outside=excl)
                cases.append((out, node, {cname: const}, RTOL_CUBIC))
    roi = np.array([0, 0, 0.2, 0.1, 1, 1, 0.9, 1.2], np.float32)
    for mode in ("nearest", "linear", "cubic"):
        out = f"tf_crop_{mode}"
        node = N(
            "Resize",
            ["x", "roi", "", "sizes_up"],
            [out],
            mode=mode,
            coordinate_transformation_mode="tf_crop_and_resize",
            extrapolation_value=-2.0,
        )
        inits = {"roi": roi, "sizes_up": np.array(SIZES["up"], np.int64)}
        cases.append((out, node, inits, RTOL_CUBIC))
    for policy in ("not_larger", "not_smaller"):
        out = f"aspect_{policy}"
        node = N("Resize", ["x", "", "", "hw"], [out], axes=[2, 3], keep_aspect_ratio_policy=policy)
        cases.append((out, node, {"hw": np.array([8, 8], np.int64)}, RTOL_EXACT))
    for mode in ("linear", "cubic"):
        out = f"antialias_{mode}"
        node = N("Resize", ["x", "", "scales_down"], [out], mode=mode, antialias=1)
        cases.append((out, node, {"scales_down": np.array(SCALES["down"], np.float32)}, 1e-4))
    return cases


def _family(cases, x_shape, opset, fp16=False, x=None):
    nodes, inits, outs = [], {}, []
    for name, node, extra, _ in cases:
        nodes.append(node)
        inits.update(extra)
        outs.append((name,))
    x = rand(x_shape, seed=3) if x is None else x
    return Family(nodes, [("x", x_shape)], outs, inits, opset, {"x": x}, fp16)


RESIZE = resize_cases()
PAD_CASES = [
    (
        f"pad_{mode}_{i}",
        N(
            "Pad",
            ["x", f"pads{i}", "cv"] if mode == "constant" else ["x", f"pads{i}"],
            [f"pad_{mode}_{i}"],
            mode=mode,
        ),
        {f"pads{i}": np.array(p, np.int64), "cv": np.array(1.5, np.float32)},
        RTOL_EXACT,
    )
    for mode in ("constant", "reflect", "edge", "wrap")
    for i, p in enumerate([[0, 0, 1, 2, 0, 1, 3, 0], [0, 1, -1, 2, 0, 0, 2, -2]])
]
PAD_CASES.append(
    (
        "pad_axes",
        N("Pad", ["x", "pads_ax", "", "axes"], ["pad_axes"], mode="reflect"),
        {"pads_ax": np.array([2, 1, 3, 0], np.int64), "axes": np.array([-1, 2], np.int64)},
        RTOL_EXACT,
    )
)
# ConvTranspose: (name, attrs, weight shape, has bias); input x [1, 4, 5, 6] (or 1-D / 3-D).
DECONV = [
    ("ct_basic", {}, [4, 3, 3, 3], True),
    ("ct_stride", {"strides": [2, 3]}, [4, 2, 3, 2], True),
    ("ct_pads_dil", {"pads": [1, 0, 2, 1], "dilations": [2, 1]}, [4, 3, 3, 3], False),
    ("ct_outpad", {"strides": [3, 2], "output_padding": [2, 1]}, [4, 3, 2, 2], True),
    ("ct_group", {"group": 2, "strides": [2, 2]}, [4, 3, 3, 3], True),
    ("ct_depthwise", {"group": 4}, [4, 1, 3, 3], True),
    ("ct_outshape", {"strides": [2, 2], "output_shape": [12, 14]}, [4, 2, 3, 3], True),
    ("ct_same_upper", {"strides": [2, 2], "auto_pad": "SAME_UPPER"}, [4, 2, 3, 3], False),
    ("ct_same_lower", {"strides": [2, 2], "auto_pad": "SAME_LOWER"}, [4, 2, 3, 3], False),
]


def deconv_family(fp16=False):
    nodes, inits, outs = [], {}, []
    for i, (name, attrs, wshape, bias) in enumerate(DECONV):
        inits[f"w{i}"] = rand(wshape, seed=10 + i)
        ins = ["x", f"w{i}"]
        if bias:
            inits[f"b{i}"] = rand([wshape[1] * attrs.get("group", 1)], seed=30 + i)
            ins.append(f"b{i}")
        nodes.append(N("ConvTranspose", ins, [name], **attrs))
        outs.append((name,))
    return Family(nodes, [("x", [1, 4, 5, 6])], outs, inits, 17, {"x": rand([1, 4, 5, 6], 7)}, fp16)


FAMILIES = {
    "resize": lambda: _family(RESIZE, X_SHAPE, 19),
    "pad": lambda: _family(PAD_CASES, X_SHAPE, 19),
    "deconv": deconv_family,
    "resize_fp16": lambda: _family(RESIZE[:40], X_SHAPE, 19, fp16=True),
    "deconv_fp16": lambda: deconv_family(fp16=True),
}
_built = {}


def family(key):
    if key not in _built:
        _built[key] = FAMILIES[key]()
    return _built[key]


def _check(key, name, rtol, atol=ATOL):
    got, ref = family(key).results()
    assert_close(got[name], ref[name], rtol, atol, name)


def _check_fp16(key, name):
    """FP16 tolerance as tests/device/test_fp16.py: 5e-3 * |ort| + 5e-3 * max|ort|; the output must be
    exactly representable in half (the layer wrote half storage)."""
    got, ref = family(key).results()
    out = got[name]
    np.testing.assert_array_equal(out.astype(np.float16).astype(np.float32), out, err_msg=name)
    assert_close(out, ref[name], 5e-3, 5e-3 * float(np.abs(ref[name]).max()), name)


@pytest.mark.parametrize("name,rtol", [(c[0], c[3]) for c in RESIZE])
def test_resize(name, rtol):
    _check("resize", name, rtol)


@pytest.mark.parametrize("name", [c[0] for c in PAD_CASES])
def test_pad(name):
    _check("pad", name, RTOL_EXACT)


@pytest.mark.parametrize("name", [c[0] for c in DECONV])
def test_conv_transpose(name):
    _check("deconv", name, RTOL_EXACT)


@pytest.mark.parametrize("name", [c[0] for c in RESIZE[:40:7]])
def test_resize_fp16(name):
    _check_fp16("resize_fp16", name)


@pytest.mark.parametrize("name", [c[0] for c in DECONV[::2]])
def test_conv_transpose_fp16(name):
    _check_fp16("deconv_fp16", name)


def test_conv_transpose_1d_and_3d():
    for shape, wshape, attrs in (
        ([1, 3, 7], [3, 2, 3], {"strides": [2], "pads": [1, 0]}),
        ([1, 2, 3, 4, 3], [2, 3, 2, 3, 2], {"strides": [2, 1, 2], "dilations": [1, 2, 1]}),
    ):
        model = make_model(
            [N("ConvTranspose", ["x", "w"], ["y"], **attrs)],
            [("x", shape)],
            [("y",)],
            {"w": rand(wshape, seed=5)},
            17,
        )
        feeds = {"x": rand(shape, seed=6)}
        got = build_engine(model).create_execution_context().infer(feeds)
        assert_close(got["y"], ort_run(model, feeds)["y"], RTOL_EXACT, ATOL)


@pytest.mark.parametrize("opset,op", [(9, "Upsample"), (10, "Resize"), (7, "Upsample")])
def test_legacy_upsample(opset, op):
    outs = []
    nodes = []
    inits = {}
    for mode in ("nearest", "linear"):
        out = f"{op}_{mode}"
        if opset == 7:
            nodes.append(N(op, ["x"], [out], mode=mode, scales=[1.0, 1.0, 2.0, 3.0]))
        else:
            nodes.append(N(op, ["x", "s"], [out], mode=mode))
            inits["s"] = np.array([1.0, 1.0, 2.0, 3.0], np.float32)
        outs.append((out,))
    model = make_model(nodes, [("x", [1, 2, 3, 4])], outs, inits, opset)
    feeds = {"x": rand([1, 2, 3, 4], seed=8)}
    got = build_engine(model).create_execution_context().infer(feeds)
    ref = ort_run(model, feeds)
    for name in ref:
        assert_close(got[name], ref[name], RTOL_EXACT, ATOL, name)


def test_pad_int64_and_opset2():
    x = np.arange(12, dtype=np.int64).reshape(3, 4)
    model = make_model(
        [N("Pad", ["x", "p"], ["y"], mode="constant"), N("Pad", ["x", "p"], ["z"], mode="edge")],
        [("x", [3, 4], np.int64)],
        [("y", [4, 6], np.int64), ("z", [4, 6], np.int64)],
        {"p": np.array([1, 0, 0, 2], np.int64)},
        13,
    )
    got = build_engine(model).create_execution_context().infer({"x": x})
    ref = ort_run(model, {"x": x})
    for k in ("y", "z"):
        np.testing.assert_array_equal(got[k], ref[k])
    m2 = make_model(
        [N("Pad", ["x"], ["y"], mode="reflect", pads=[0, 0, 1, 2, 0, 0, 1, 0])],
        [("x", X_SHAPE)],
        [("y",)],
        None,
        7,  # Pad-2's attribute form (onnxruntime runs opset 7 and later)
    )
    feeds = {"x": rand(X_SHAPE, seed=9)}
    got = build_engine(m2).create_execution_context().infer(feeds)
    assert_close(got["y"], ort_run(m2, feeds)["y"], RTOL_EXACT, ATOL)


def test_refusals_name_the_problem():
    bad = make_model(
        [N("Resize", ["x", "", "s"], ["y"], mode="area")],
        [("x", X_SHAPE)],
        [("y",)],
        {"s": np.array([1, 1, 2, 2], np.float32)},
        13,
    )
    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, trt.Logger(trt.Logger.ERROR))
    assert not parser.parse(bad.SerializeToString())
    text = str(parser.get_error(0))
    assert "Resize" in text and "'mode' is 'area'" in text, text


# 3-D windows: (op, attrs, weight shape or None) on x [1, 4, 5, 6, 7]; pooling covers pads,
# strides, dilations, ceil_mode and count_include_pad, conv groups, pads, strides, dilations.
WINDOW3D = [
    (
        "MaxPool",
        {"kernel_shape": [2, 3, 2], "strides": [1, 2, 2], "pads": [1, 0, 1, 0, 1, 1]},
        None,
    ),
    ("MaxPool", {"kernel_shape": [3, 2, 3], "dilations": [2, 1, 2], "ceil_mode": 1}, None),
    ("AveragePool", {"kernel_shape": [3, 3, 3], "pads": [1, 1, 1, 1, 1, 1]}, None),
    (
        "AveragePool",
        {
            "kernel_shape": [2, 3, 3],
            "strides": [2, 2, 1],
            "pads": [0, 1, 1, 1, 1, 0],
            "count_include_pad": 1,
            "ceil_mode": 1,
        },
        None,
    ),
    (
        "AveragePool",
        {"kernel_shape": [2, 2, 2], "auto_pad": "SAME_UPPER", "strides": [2, 2, 2]},
        None,
    ),
    ("GlobalAveragePool", {}, None),
    ("GlobalMaxPool", {}, None),
    ("Conv", {"pads": [1, 1, 1, 1, 1, 1]}, [6, 4, 3, 3, 3]),
    ("Conv", {"strides": [2, 1, 2], "dilations": [1, 2, 1], "group": 2}, [4, 2, 2, 3, 2]),
    ("Conv", {"auto_pad": "SAME_LOWER", "strides": [2, 2, 2]}, [3, 4, 3, 2, 3]),
    ("LpPool", {"kernel_shape": [2, 3, 2], "p": 3, "pads": [1, 0, 0, 0, 1, 1]}, None),
]


def window3d_family(fp16=False):
    nodes, inits, outs = [], {}, []
    for i, (op, attrs, wshape) in enumerate(WINDOW3D):
        ins = ["x"]
        if wshape:
            inits[f"w{i}"] = rand(wshape, seed=50 + i)
            inits[f"b{i}"] = rand([wshape[0]], seed=70 + i)
            ins += [f"w{i}", f"b{i}"]
        nodes.append(N(op, ins, [f"{op}_{i}"], **attrs))
        outs.append((f"{op}_{i}",))
    shape = [1, 4, 5, 6, 7]
    return Family(nodes, [("x", shape)], outs, inits, 19, {"x": rand(shape, seed=11)}, fp16)


FAMILIES["window3d"] = window3d_family
FAMILIES["window3d_fp16"] = lambda: window3d_family(fp16=True)


@pytest.mark.parametrize("name", [f"{op}_{i}" for i, (op, _, _) in enumerate(WINDOW3D)])
def test_window_3d(name):
    _check("window3d", name, RTOL_EXACT)


@pytest.mark.parametrize("name", [f"{op}_{i}" for i, (op, _, _) in enumerate(WINDOW3D)][::3])
def test_window_3d_fp16(name):
    _check_fp16("window3d_fp16", name)


def test_conv_transpose_weights_as_inputs():
    """W and B computed at run time (graph inputs here) are read from device memory."""
    attrs = {"strides": [2, 1], "pads": [0, 1, 1, 0], "group": 2}
    model = make_model(
        [N("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)],
        [("x", [1, 4, 3, 5]), ("w", [4, 3, 2, 3]), ("b", [6])],
        [("y",)],
        None,
        17,
    )
    feeds = {"x": rand([1, 4, 3, 5], 1), "w": rand([4, 3, 2, 3], 2), "b": rand([6], 3)}
    context = build_engine(model).create_execution_context()
    ref = ort_run(model, feeds)["y"]
    assert_close(context.infer(feeds)["y"], ref, RTOL_EXACT, ATOL)
    feeds["w"] = rand([4, 3, 2, 3], 4)  # new weights, same engine
    assert_close(context.infer(feeds)["y"], ort_run(model, feeds)["y"], RTOL_EXACT, ATOL)


def test_lp_pool_2d_and_depth_space():
    nodes = [
        N("LpPool", ["x"], ["lp2"], kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 1]),
        N("LpPool", ["x"], ["lp1"], kernel_shape=[2, 2], p=1, auto_pad="SAME_UPPER"),
        N("DepthToSpace", ["x"], ["dcr"], blocksize=2),
        N("DepthToSpace", ["x"], ["crd"], blocksize=2, mode="CRD"),
        N("SpaceToDepth", ["x"], ["s2d"], blocksize=2),
    ]
    model = make_model(nodes, [("x", [2, 8, 4, 6])], [(n.output[0],) for n in nodes], None, 18)
    feeds = {"x": rand([2, 8, 4, 6], seed=12)}
    got = build_engine(model).create_execution_context().infer(feeds)
    ref = ort_run(model, feeds)
    for name in ref:
        assert_close(got[name], ref[name], RTOL_EXACT, ATOL, name)
