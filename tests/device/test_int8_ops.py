# INT8 execution: conv / matmul / pool / add / concat layers forced to INT8
# (BuilderFlag.INT8 + OBEY_PRECISION_CONSTRAINTS, dynamic ranges set on every tensor) compared
# with an independent NumPy simulation of the same integer arithmetic and with FP32 NumPy.
#
# Simulated arithmetic (the precision contract, ir/network.h): scale = amax / 127 (float32),
# q = clip(rint(x * (1 / scale)), -127, 127); weights per output channel s_w = max|W_k| / 127;
# acc = exact integer sum; y = acc * (s_x * s_w[k]) + bias (+ residual) -> activation.
# An INT8 result is read back exactly through a "probe": a 1x1 MAX pool (also INT8) writing the
# network's FLOAT output, i.e. q * scale. Tolerances: INT8 results within 1 LSB (one output
# scale step) of the simulation; FLOAT results within 1e-5 of the simulation's range; against
# FP32 NumPy within INT8_VS_FP32 of the output's range.
import json

import clrt as trt
import numpy as np
import onnx
import pytest
from helpers import (
    EXPLICIT_BATCH,
    deserialize,
    make_model,
    ort_run,
    parse_network,
)
from onnx import helper

F32 = np.float32
INT8_VS_FP32 = 0.06  # |int8 - fp32| <= 6% of max|fp32| (quantization noise of inputs + weights)


def scale_of(amax):
    return F32(amax) / F32(127)


def quantize(x, s):
    return np.clip(np.rint(x.astype(F32) * (F32(1) / F32(s))), -127, 127)


def quant_channels(w, axis=0):
    """Per-channel symmetric weights: (integer values, scales) along `axis`."""
    wm = np.moveaxis(w.astype(F32), axis, 0)
    amax = np.abs(wm).reshape(wm.shape[0], -1).max(axis=1)
    s = amax / F32(127)
    safe = np.where(s > 0, s, F32(1)).reshape((-1,) + (1,) * (wm.ndim - 1))
    q = np.where(s.reshape(safe.shape) > 0, np.clip(np.rint(wm / safe), -127, 127), 0)
    return np.moveaxis(q, 0, axis), s.astype(F32)


def rng(seed):
    return np.random.default_rng(seed)


def conv_nchw(x, w, stride=(1, 1), pad=(0, 0), dil=(1, 1), groups=1):
    """Direct convolution (symmetric pads) in the dtype of x (int64 for integer sums)."""
    n, _, h, wd = x.shape
    k, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    oh = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, k, oh, ow), x.dtype)
    kg = k // groups
    for g in range(groups):
        xg, wg = xp[:, g * cg : (g + 1) * cg], w[g * kg : (g + 1) * kg].astype(x.dtype)
        for r in range(kh):
            for s in range(kw):
                r0, s0 = r * dil[0], s * dil[1]
                patch = xg[
                    :,
                    :,
                    r0 : r0 + stride[0] * (oh - 1) + 1 : stride[0],
                    s0 : s0 + stride[1] * (ow - 1) + 1 : stride[1],
                ]
                out[:, g * kg : (g + 1) * kg] += np.einsum("nchw,kc->nkhw", patch, wg[:, :, r, s])
    return out


def build_int8(builder, network, ranges):
    """Sets the dynamic range of every named tensor in `ranges` ({name: amax}), INT8 on every
    layer, and builds with INT8 + OBEY_PRECISION_CONSTRAINTS."""
    tensors = {}
    for i in range(network.num_inputs):
        tensors[network.get_input(i).name] = network.get_input(i)
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        layer.precision = trt.int8
        for j in range(layer.num_outputs):
            tensors[layer.get_output(j).name] = layer.get_output(j)
    for name, amax in ranges.items():
        if name in tensors:
            tensors[name].set_dynamic_range(-float(amax), float(amax))
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.INT8)
    config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED  # formats in the inspector
    plan = builder.build_serialized_network(network, config)
    assert plan is not None, "INT8 build failed"
    return deserialize(bytes(plan))


def run(engine, feeds):
    return engine.create_execution_context().infer(feeds)


def probe(network, t, name="y"):
    """A 1x1 MAX pool after t: INT8 in, the network's FLOAT output = t's int8 values * scale."""
    p = network.add_pooling_nd(t, trt.PoolingType.MAX, (1, 1))
    out = p.get_output(0)
    out.name = name
    network.mark_output(out)
    return out


def amax(a):
    return float(np.abs(a).max())


def check_int8(got, q_sim, s, ref32=None, what="output"):
    """got = q * s from a probe: q within 1 LSB of the simulation, and close to FP32."""
    q_got = np.rint(got.astype(F32) / F32(s))
    assert q_got.shape == q_sim.shape, f"{what}: shape {q_got.shape} vs {q_sim.shape}"
    diff = np.abs(q_got - q_sim)
    assert diff.max() <= 1, (
        f"{what}: {int((diff > 1).sum())} of {diff.size} values differ from the simulation by "
        f"more than 1 LSB (max {diff.max()})"
    )
    if ref32 is not None:
        err = np.abs(got - ref32).max()
        assert err <= INT8_VS_FP32 * amax(ref32), f"{what}: INT8 vs FP32 error {err}"


def check_float(got, sim, ref32=None, what="output"):
    err = np.abs(got - sim).max()
    assert err <= 1e-5 * max(amax(sim), 1e-6), f"{what}: differs from the simulation by {err}"
    if ref32 is not None:
        err = np.abs(got - ref32).max()
        assert err <= INT8_VS_FP32 * amax(ref32), f"{what}: INT8 vs FP32 error {err}"


# ---- convolution ----------------------------------------------------------------------------
# name: (N, C, H, W, K, kernel, stride, pad, dilation, groups, bias, relu, residual)
CONVS = {
    "plain": (2, 3, 10, 10, 8, (3, 3), (1, 1), (1, 1), (1, 1), 1, False, False, False),
    "strided": (2, 5, 11, 9, 7, (3, 3), (2, 2), (1, 1), (1, 1), 1, True, False, False),
    "padded_dilated": (1, 4, 12, 12, 6, (5, 3), (1, 1), (3, 2), (2, 1), 1, True, False, False),
    "grouped": (2, 8, 9, 9, 12, (3, 3), (1, 1), (1, 1), (1, 1), 4, True, True, False),
    "depthwise": (2, 16, 14, 14, 16, (3, 3), (1, 1), (1, 1), (1, 1), 16, True, True, False),
    "pointwise_1x1": (2, 24, 7, 7, 40, (1, 1), (1, 1), (0, 0), (1, 1), 1, True, False, False),
    "bias_relu": (1, 16, 20, 20, 24, (3, 3), (1, 1), (1, 1), (1, 1), 1, True, True, False),
    "residual_relu": (2, 8, 8, 8, 8, (3, 3), (1, 1), (1, 1), (1, 1), 1, True, True, True),
    "deep_reduction": (1, 160, 6, 6, 20, (3, 3), (1, 1), (1, 1), (1, 1), 1, True, False, False),
}


@pytest.mark.parametrize("case", list(CONVS))
def test_conv_int8(builder, case):
    n, c, h, w, k, ks, st, pd, dl, g, has_bias, relu, has_res = CONVS[case]
    r = rng(sum(map(ord, case)))
    x = r.uniform(-1, 1, (n, c, h, w)).astype(F32)
    wt = r.uniform(-0.5, 0.5, (k, c // g) + ks).astype(F32)
    wt[0] = 0  # an all-zero output channel (scale 0) must work
    b = r.uniform(-0.5, 0.5, k).astype(F32) if has_bias else np.zeros(k, F32)

    ref = conv_nchw(x.astype(np.float64), wt, st, pd, dl, g) + b[None, :, None, None]
    res = r.uniform(-2, 2, ref.shape).astype(F32) if has_res else None
    if has_res:
        ref = ref + res
    if relu:
        ref = np.maximum(ref, 0)
    ref = ref.astype(F32)

    network = builder.create_network(EXPLICIT_BATCH)
    xin = network.add_input("x", trt.float32, x.shape)
    conv = network.add_convolution_nd(xin, k, ks, wt, b if has_bias else None)
    conv.stride_nd, conv.padding_nd, conv.dilation_nd, conv.num_groups = st, pd, dl, g
    t = conv.get_output(0)
    t.name = "conv_out"
    feeds, ranges = {"x": x}, {"x": amax(x), "conv_out": amax(ref), "y": amax(ref)}
    if has_res:
        rin = network.add_input("r", trt.float32, res.shape)
        t = network.add_elementwise(t, rin, trt.ElementWiseOperation.SUM).get_output(0)
        t.name = "sum_out"
        feeds["r"], ranges["r"], ranges["sum_out"] = res, amax(res), amax(ref)
    if relu:
        t = network.add_activation(t, trt.ActivationType.RELU).get_output(0)
        t.name = "relu_out"
        ranges["relu_out"] = amax(ref)
    probe(network, t)
    got = run(build_int8(builder, network, ranges), feeds)["y"]

    s_x, s_y = scale_of(amax(x)), scale_of(amax(ref))
    qw, s_w = quant_channels(wt)
    acc = conv_nchw(quantize(x, s_x).astype(np.int64), qw.astype(np.int64), st, pd, dl, g)
    y = acc.astype(F32) * (s_x * s_w)[None, :, None, None] + b[None, :, None, None]
    if has_res:
        s_r = scale_of(amax(res))
        y = y + quantize(res, s_r) * s_r
    if relu:
        y = np.maximum(y, 0)
    check_int8(got, quantize(y, s_y), s_y, ref, f"conv {case}")


def test_conv_int8_float_output(builder):
    """An INT8 conv writing the network's FLOAT output directly (dequantizing epilogue)."""
    r = rng(7)
    x = r.uniform(-1, 1, (2, 6, 9, 9)).astype(F32)
    wt = r.uniform(-0.5, 0.5, (10, 6, 3, 3)).astype(F32)
    b = r.uniform(-0.5, 0.5, 10).astype(F32)
    ref = (conv_nchw(x.astype(np.float64), wt, pad=(1, 1)) + b[None, :, None, None]).astype(F32)
    network = builder.create_network(EXPLICIT_BATCH)
    conv = network.add_convolution_nd(
        network.add_input("x", trt.float32, x.shape), 10, (3, 3), wt, b
    )
    conv.padding_nd = (1, 1)
    y = conv.get_output(0)
    y.name = "y"
    network.mark_output(y)
    got = run(build_int8(builder, network, {"x": amax(x), "y": amax(ref)}), {"x": x})["y"]
    s_x = scale_of(amax(x))
    qw, s_w = quant_channels(wt)
    acc = conv_nchw(quantize(x, s_x).astype(np.int64), qw.astype(np.int64), pad=(1, 1))
    sim = acc.astype(F32) * (s_x * s_w)[None, :, None, None] + b[None, :, None, None]
    check_float(got, sim, ref, "conv float output")


# ---- matmul (constant weights from ONNX Gemm / MatMul) -------------------------------------
def test_gemm_int8_float_output():
    r = rng(11)
    x = r.uniform(-1, 1, (5, 48)).astype(F32)
    wt = r.uniform(-0.3, 0.3, (20, 48)).astype(F32)  # transB=1 layout [N, K]
    b = r.uniform(-0.5, 0.5, 20).astype(F32)
    ref = np.maximum(x.astype(np.float64) @ wt.T + b, 0).astype(F32)
    model = make_model(
        [
            helper.make_node("Gemm", ["x", "W", "B"], ["g"], transB=1),
            helper.make_node("Relu", ["g"], ["y"]),
        ],
        [("x", [5, 48])],
        [("y", [5, 20])],
        {"W": wt, "B": b},
    )
    builder, network, _ = parse_network(model)
    ranges = {"x": amax(x), "g": amax(ref), "y": amax(ref)}
    got = run(build_int8(builder, network, ranges), {"x": x})["y"]
    s_x = scale_of(amax(x))
    qw, s_w = quant_channels(wt, axis=0)
    acc = quantize(x, s_x).astype(np.int64) @ qw.astype(np.int64).T
    sim = np.maximum(acc.astype(F32) * (s_x * s_w)[None, :] + b, 0)
    check_float(got, sim, ref, "gemm")


@pytest.mark.parametrize("residual", [False, True])
def test_matmul_int8_batched(residual):
    """[2,3,6,K] @ W[K,N] + bias (+ residual) -> relu, INT8 output read through a probe."""
    r = rng(13 + residual)
    x = r.uniform(-1, 1, (2, 3, 6, 40)).astype(F32)
    wt = r.uniform(-0.3, 0.3, (40, 24)).astype(F32)
    b = r.uniform(-0.5, 0.5, 24).astype(F32)
    res = r.uniform(-1, 1, (2, 3, 6, 24)).astype(F32)
    ref = x.astype(np.float64) @ wt + b + (res if residual else 0)
    ref = np.maximum(ref, 0).astype(F32)
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["mm"]),
        helper.make_node("Add", ["mm", "B"], ["mb"]),
    ]
    last = "mb"
    inputs, feeds = [("x", list(x.shape))], {"x": x}
    if residual:
        nodes.append(helper.make_node("Add", ["mb", "r"], ["mr"]))
        inputs.append(("r", list(res.shape)))
        feeds["r"], last = res, "mr"
    nodes += [
        helper.make_node("Relu", [last], ["act"]),
        helper.make_node("MaxPool", ["act"], ["y"], kernel_shape=[1, 1]),
    ]
    model = make_model(nodes, inputs, [("y", list(ref.shape))], {"W": wt, "B": b})
    builder, network, _ = parse_network(model)
    ranges = {n: amax(ref) for n in ("mm", "mb", "mr", "act", "y")}
    ranges.update({"x": amax(x), "r": amax(res)})
    got = run(build_int8(builder, network, ranges), feeds)["y"]
    s_x, s_y = scale_of(amax(x)), scale_of(amax(ref))
    qw, s_w = quant_channels(wt, axis=1)
    acc = quantize(x, s_x).astype(np.int64) @ qw.astype(np.int64)
    y = acc.astype(F32) * (s_x * s_w) + b
    if residual:
        s_r = scale_of(amax(res))
        y = y + quantize(res, s_r) * s_r
    check_int8(got, quantize(np.maximum(y, 0), s_y), s_y, ref, "batched matmul")


# ---- pooling ---------------------------------------------------------------------------------
def pool_nchw(x, k, s, p, is_max):
    """Windowed pooling with symmetric pads; AVERAGE excludes padding (TensorRT's default)."""
    n, c, h, w = x.shape
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    fill = -np.inf if is_max else 0
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    ones = np.pad(np.ones((h, w)), p)
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * s : i * s + k, j * s : j * s + k]
            if is_max:
                out[:, :, i, j] = win.max(axis=(2, 3))
            else:
                cnt = ones[i * s : i * s + k, j * s : j * s + k].sum()
                out[:, :, i, j] = win.sum(axis=(2, 3)) / cnt
    return out


def test_maxpool_int8_float_output(builder):
    """MAX of int8 values, written as FLOAT: exactly q * s_x."""
    x = rng(17).uniform(-1, 1, (2, 3, 11, 11)).astype(F32)
    network = builder.create_network(EXPLICIT_BATCH)
    pool = network.add_pooling_nd(
        network.add_input("x", trt.float32, x.shape), trt.PoolingType.MAX, (3, 3)
    )
    pool.stride_nd, pool.padding_nd = (2, 2), (1, 1)
    y = pool.get_output(0)
    y.name = "y"
    network.mark_output(y)
    got = run(build_int8(builder, network, {"x": amax(x), "y": amax(x)}), {"x": x})["y"]
    s_x = scale_of(amax(x))
    sim = pool_nchw(quantize(x, s_x), 3, 2, 1, True).astype(F32) * s_x
    np.testing.assert_array_equal(got, sim)
    check_float(got, sim, pool_nchw(x, 3, 2, 1, True), "max pool")


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_int8_requantized(builder, kind):
    """3x3 stride 2 pad 1 pooling into an INT8 tensor of another scale (read by a probe)."""
    x = rng(19).uniform(-1, 1, (2, 4, 13, 12)).astype(F32)
    is_max = kind == "max"
    ref = pool_nchw(x, 3, 2, 1, is_max).astype(F32)
    network = builder.create_network(EXPLICIT_BATCH)
    ptype = trt.PoolingType.MAX if is_max else trt.PoolingType.AVERAGE
    pool = network.add_pooling_nd(network.add_input("x", trt.float32, x.shape), ptype, (3, 3))
    pool.stride_nd, pool.padding_nd = (2, 2), (1, 1)
    pool.get_output(0).name = "p"
    probe(network, pool.get_output(0))
    ranges = {"x": amax(x), "p": amax(ref), "y": amax(ref)}
    got = run(build_int8(builder, network, ranges), {"x": x})["y"]
    s_x, s_y = scale_of(amax(x)), scale_of(amax(ref))
    qx = quantize(x, s_x)
    if is_max:
        sim = pool_nchw(qx, 3, 2, 1, True).astype(F32) * s_x
    else:  # int32 sum of the image taps, then sum * s_x / count
        sums, counts = window_sums(qx, 3, 2, 1)
        sim = sums.astype(F32) * s_x / counts.astype(F32)
    check_int8(got, quantize(sim, s_y), s_y, ref, f"{kind} pool")


def window_sums(q, k, s, p):
    """Integer sums and image-tap counts of each pooling window (padding excluded)."""
    n, c, h, w = q.shape
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    qp = np.pad(q.astype(np.int64), ((0, 0), (0, 0), (p, p), (p, p)))
    ones = np.pad(np.ones((h, w), np.int64), p)
    sums = np.zeros((n, c, oh, ow), np.int64)
    counts = np.zeros((oh, ow), np.int64)
    for i in range(oh):
        for j in range(ow):
            sums[:, :, i, j] = qp[:, :, i * s : i * s + k, j * s : j * s + k].sum(axis=(2, 3))
            counts[i, j] = ones[i * s : i * s + k, j * s : j * s + k].sum()
    return sums, counts


@pytest.mark.parametrize(
    "channels, parts", [(6, None), (16, None), (264, None), (16, "5"), (264, "3")]
)
@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.usefixtures("channels_last")  # the channels-last kernels, on PoCL too
def test_global_pool_int8(op, channels, parts, monkeypatch):
    # 16 and 264 channels: 8 a work-item (gpool_i8_hwc8; 264: a second work-group of 1 octet).
    # parts: each image's 63 positions split among that many work-groups and then combined
    # (gpool_i8_hwc8_end), as on GPUs whose compute units outnumber the work-groups.
    if parts:
        monkeypatch.setenv("CLRT_GPOOL_PARTS", parts)
    x = rng(23).uniform(-1, 1, (2, channels, 9, 7)).astype(F32)
    is_max = op == "GlobalMaxPool"
    ref = x.max(axis=(2, 3), keepdims=True) if is_max else x.mean(axis=(2, 3), keepdims=True)
    model = make_model(
        [
            helper.make_node(op, ["x"], ["g"]),
            helper.make_node("MaxPool", ["g"], ["y"], kernel_shape=[1, 1]),
        ],
        [("x", list(x.shape))],
        [("y", [2, channels, 1, 1])],
    )
    builder, network, _ = parse_network(model)
    ranges = {"x": amax(x), "g": amax(ref), "y": amax(ref)}
    engine = build_int8(builder, network, ranges)
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    pool = next(
        la
        for la in json.loads(info)["Layers"]
        if la["Name"] == "GlobalAveragePool_0" or la["Name"] == "GlobalMaxPool_0"
    )
    assert pool["Inputs"][0]["Format"] == "HWC", pool  # the channels-last kernels
    got = run(engine, {"x": x})["y"]
    s_x, s_y = scale_of(amax(x)), scale_of(amax(ref))
    qx = quantize(x, s_x)
    if is_max:
        sim = qx.max(axis=(2, 3), keepdims=True).astype(F32) * s_x
    else:
        sums = qx.sum(axis=(2, 3), keepdims=True).astype(F32)
        sim = sums * s_x / F32(x.shape[2] * x.shape[3])
    check_int8(got, quantize(sim, s_y), s_y, ref, op)


# ---- elementwise sum and concatenation -------------------------------------------------------
@pytest.mark.parametrize("b_shape", [(2, 4, 5, 6), (1, 4, 1, 1)])
def test_add_int8(builder, b_shape):
    r = rng(29)
    a = r.uniform(-1, 1, (2, 4, 5, 6)).astype(F32)
    b = r.uniform(-3, 3, b_shape).astype(F32)
    ref = a + b
    network = builder.create_network(EXPLICIT_BATCH)
    add = network.add_elementwise(
        network.add_input("a", trt.float32, a.shape),
        network.add_input("b", trt.float32, b.shape),
        trt.ElementWiseOperation.SUM,
    )
    add.get_output(0).name = "s"
    probe(network, add.get_output(0))
    ranges = {"a": amax(a), "b": amax(b), "s": amax(ref), "y": amax(ref)}
    got = run(build_int8(builder, network, ranges), {"a": a, "b": b})["y"]
    s_a, s_b, s_y = scale_of(amax(a)), scale_of(amax(b)), scale_of(amax(ref))
    sim = quantize(a, s_a) * s_a + quantize(b, s_b) * s_b
    check_int8(got, quantize(sim, s_y), s_y, ref, f"add {b_shape}")


def test_add_int8_float_output(builder):
    r = rng(31)
    a, b = r.uniform(-1, 1, (3, 50)).astype(F32), r.uniform(-2, 2, (3, 50)).astype(F32)
    network = builder.create_network(EXPLICIT_BATCH)
    add = network.add_elementwise(
        network.add_input("a", trt.float32, a.shape),
        network.add_input("b", trt.float32, b.shape),
        trt.ElementWiseOperation.SUM,
    )
    add.get_output(0).name = "y"
    network.mark_output(add.get_output(0))
    ranges = {"a": amax(a), "b": amax(b), "y": amax(a + b)}
    got = run(build_int8(builder, network, ranges), {"a": a, "b": b})["y"]
    s_a, s_b = scale_of(amax(a)), scale_of(amax(b))
    check_float(got, quantize(a, s_a) * s_a + quantize(b, s_b) * s_b, a + b, "add float output")


def test_concat_int8(builder):
    """Inputs of three scales requantized to the output's."""
    r = rng(37)
    xs = [r.uniform(-m, m, (2, c, 4, 5)).astype(F32) for m, c in ((1, 3), (4, 2), (0.5, 5))]
    ref = np.concatenate(xs, axis=1)
    network = builder.create_network(EXPLICIT_BATCH)
    ins = [network.add_input(f"x{i}", trt.float32, x.shape) for i, x in enumerate(xs)]
    cat = network.add_concatenation(ins)
    cat.axis = 1
    cat.get_output(0).name = "c"
    probe(network, cat.get_output(0))
    ranges = {f"x{i}": amax(x) for i, x in enumerate(xs)}
    ranges.update({"c": amax(ref), "y": amax(ref)})
    got = run(build_int8(builder, network, ranges), {f"x{i}": x for i, x in enumerate(xs)})["y"]
    s_y = scale_of(amax(ref))
    sim = np.concatenate([quantize(x, scale_of(amax(x))) * scale_of(amax(x)) for x in xs], axis=1)
    check_int8(got, quantize(sim, s_y), s_y, ref, "concat")


# ---- a small CNN end to end ------------------------------------------------------------------
def test_small_cnn_int8_close_to_fp32():
    """conv-relu, maxpool, conv + skip -> relu, global average pool, Gemm: every layer INT8,
    within INT8_VS_FP32 of onnxruntime's FP32 result."""
    r = rng(41)
    w1, b1 = r.uniform(-0.4, 0.4, (8, 3, 3, 3)).astype(F32), r.uniform(-0.1, 0.1, 8).astype(F32)
    w2, b2 = r.uniform(-0.2, 0.2, (8, 8, 3, 3)).astype(F32), r.uniform(-0.1, 0.1, 8).astype(F32)
    wf, bf = r.uniform(-0.5, 0.5, (10, 8)).astype(F32), r.uniform(-0.1, 0.1, 10).astype(F32)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "p1"], ["s2"]),
        helper.make_node("Relu", ["s2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], transB=1),
    ]
    inits = {"w1": w1, "b1": b1, "w2": w2, "b2": b2, "wf": wf, "bf": bf}
    model = make_model(nodes, [("x", [4, 3, 16, 16])], [("y", [4, 10])], inits)
    x = r.uniform(-1, 1, (4, 3, 16, 16)).astype(F32)
    # FP32 values of every tensor (the ranges), from onnxruntime.
    probe_model = onnx.ModelProto()
    probe_model.CopyFrom(model)
    names = ["c1", "r1", "p1", "c2", "s2", "r2", "g", "f"]
    probe_model.graph.output.extend([helper.make_empty_tensor_value_info(n) for n in names])
    values = ort_run(probe_model, {"x": x})
    ranges = {n: amax(v) for n, v in values.items()}
    ranges["x"] = amax(x)
    builder, network, _ = parse_network(model)
    got = run(build_int8(builder, network, ranges), {"x": x})["y"]
    ref = values["y"]
    err = np.abs(got - ref).max()
    assert err <= INT8_VS_FP32 * amax(ref), f"INT8 CNN vs FP32: max error {err}"
