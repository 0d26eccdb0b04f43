# LayerNormalization through layernorm.rows' kernels, in FP32 and in FP16 (half storage).
"""Rows the register kernel (normalization.cl layernorm_vec) takes: a length that is a multiple of
4 (FP32) or 8 (FP16), at most 8192 values, with scale (and bias, if any) covering the whole
normalized shape. It splits a row over T work-items (T = 1 ... 256; over 32 its sums cross warps
on NVIDIA) and packs several rows in a work-group, the last one partly empty. The other rows
(lengths off the vector width, a bias broadcast over leading normalized dims) stay on
layernorm_rows / layernorm_small. The engine does not say which kernel ran, so the cases cover
them by shape; each names the kernel it takes.

Reference: NumPy in float64 from the values the engine computes on (for FP16 the input rounded
to half), elementwise |clrt - ref| <= atol + rtol * |ref|:
  FP32: rtol = atol = 1e-4 (rows of up to 8192 values summed in float; the rows offset by 100
        lose a few more digits to the float mean: an eighth of it on PoCL);
  FP16: rtol = atol = 2e-3 (the output and the statistics are rounded to half, 2^-11 relative;
        PoCL's worst case is a sixth of it).
"""

import clrt as trt
import numpy as np
import pytest
from helpers import (
    assert_close,
    build_engine,
    build_fp16_engine,
    deserialize,
    make_model,
    parse_network,
)
from onnx import helper as oh

N = oh.make_node
TOL = {"fp32": 1e-4, "fp16": 2e-3}


def reference(x, axis, eps, scale, bias):
    """(y, mean, inv_std_dev) in float64, the statistics with the normalized dims kept as 1."""
    x = x.astype(np.float64)
    axes = tuple(range(axis % x.ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(((x - mean) ** 2).mean(axis=axes, keepdims=True) + eps)
    y = (x - mean) * rstd * scale
    return (y if bias is None else y + bias), mean, rstd


# (id, input shape, axis, scale shape, bias shape or None, input offset, stats outputs).
CASES = [
    # layernorm_vec: ViT-B/16's rows (T = 32: 6 float4 / 3 half8 per item), 37 rows.
    ("vit768", (37, 768), -1, (768,), (768,), 0.0, False),
    ("vit768-stats", (2, 19, 768), -1, (768,), (768,), 0.0, True),
    # layernorm_vec: far from zero, where E[x^2] - mean^2 would cancel (two passes instead).
    ("offset768", (9, 768), -1, (768,), (768,), 100.0, False),
    # layernorm_vec: 8 / 4 items per row (FP32 / FP16), no bias; 2 normalized dims with
    # full-shape weights (16 / 8 items).
    ("d64-nobias", (3, 5, 64), -1, (64,), None, 0.0, False),
    ("d2x64-full", (3, 2, 64), -2, (2, 64), (2, 64), 0.0, True),
    # layernorm_vec: long rows over several warps (T = 128 and 256).
    ("d4096", (5, 4096), -1, (4096,), (4096,), 0.0, True),
    ("d8192", (3, 8192), -1, (8192,), (8192,), 0.0, False),
    # layernorm_vec with one item per row, 256 rows per work-group.
    ("d8", (50, 8), -1, (8,), (8,), 0.0, True),
    # FP32: layernorm_vec, 25 vectors over 16 items (7 idle for the second); FP16:
    # layernorm_rows.
    ("d100", (6, 100), -1, (100,), (100,), 0.0, True),
    # Not a whole number of vectors: layernorm_rows, and layernorm_small for short rows.
    ("d102", (6, 102), -1, (102,), (102,), 0.0, True),
    ("d10", (7, 10), -1, (10,), (10,), 0.0, True),
    # Bias broadcast over 2 normalized dims (it repeats along the row): layernorm_rows. (The
    # ONNX importer takes a scale of the whole normalized shape only.)
    ("bcast-bias", (2, 3, 4, 64), -2, (4, 64), (64,), 0.0, True),
    # Beyond 8192 values: layernorm_rows.
    ("d8200", (2, 8200), -1, (8200,), None, 0.0, False),
]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize(
    "shape, axis, sshape, bshape, offset, stats",
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_layernorm(precision, shape, axis, sshape, bshape, offset, stats):
    rng = np.random.default_rng(sum(shape) + len(sshape))
    eps = 1e-5
    x = (rng.uniform(-2.0, 3.0, shape) + offset).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, sshape).astype(np.float32)
    inits = {"s": scale}
    names = ["x", "s"]
    bias = None
    if bshape is not None:
        bias = rng.uniform(-0.5, 0.5, bshape).astype(np.float32)
        inits["b"] = bias
        names.append("b")
    outs = ["y", "mean", "rstd"] if stats else ["y"]
    node = N("LayerNormalization", names, outs, axis=axis, epsilon=eps)
    model = make_model([node], [("x", shape)], outs, inits, opset=17)

    engine = build_fp16_engine(model) if precision == "fp16" else build_engine(model)
    got = engine.create_execution_context().infer({"x": x})
    # The engine normalizes the input as stored: rounded to half in FP16.
    xs = x.astype(np.float16).astype(np.float32) if precision == "fp16" else x
    y, mean, rstd = reference(xs, axis, eps, scale, bias)
    tol = TOL[precision]
    assert_close(got["y"], y, rtol=tol, atol=tol, name="y")
    if stats:
        assert_close(got["mean"].reshape(mean.shape), mean, rtol=tol, atol=tol, name="mean")
        assert_close(got["rstd"].reshape(rstd.shape), rstd, rtol=tol, atol=tol, name="rstd")
    if precision == "fp16":  # the layer wrote half storage (FP32 would not round like this)
        assert (got["y"].astype(np.float16).astype(np.float32) == got["y"]).all()


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_layernorm_dynamic_rows(precision):
    """One engine over row counts that leave a work-group mostly empty (1 row) or fill several
    (layernorm_vec, 64 values: T = 8 in FP32, 4 in FP16)."""
    node = N("LayerNormalization", ["x", "s", "b"], ["y"], axis=-1)
    rng = np.random.default_rng(7)
    scale = rng.uniform(0.5, 1.5, 64).astype(np.float32)
    bias = rng.uniform(-0.5, 0.5, 64).astype(np.float32)
    model = make_model([node], [("x", ["n", 64])], ["y"], {"s": scale, "b": bias}, opset=17)
    builder, network, _ = parse_network(model)
    if precision == "fp16":
        for i in range(network.num_layers):
            network.get_layer(i).precision = trt.float16
    config = builder.create_builder_config()
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 64), (16, 64), (300, 64))
    config.add_optimization_profile(profile)
    engine = deserialize(bytes(builder.build_serialized_network(network, config)))
    context = engine.create_execution_context()
    tol = TOL[precision]
    for n in (1, 3, 33, 300):
        x = rng.uniform(-2.0, 3.0, (n, 64)).astype(np.float32)
        got = context.infer({"x": x})["y"]
        xs = x.astype(np.float16).astype(np.float32) if precision == "fp16" else x
        assert_close(got, reference(xs, -1, 1e-5, scale, bias)[0], tol, tol, name=f"y[{n}]")
