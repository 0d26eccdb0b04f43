# Network I/O in the caller's layout: ITensor.allowed_formats with only TensorFormat.HWC stores a
# network input or output channels last (NHWC), as TensorRT does; infer() then takes and returns
# (N, H, W, C) arrays. Checked against onnxruntime on the transposed values, FP32 and FP16.
import copy

import clrt as trt
import numpy as np
import pytest
from helpers import (
    RecordingLogger,
    deserialize,
    env_set,
    make_config,
    make_model,
    ort_run,
    parse_network,
)
from onnx import helper

# This module checks channels-last kernels: the builder takes them on PoCL too.
pytestmark = pytest.mark.usefixtures("channels_last")


HWC = 1 << int(trt.TensorFormat.HWC)
LINEAR = 1 << int(trt.TensorFormat.LINEAR)


def pool_conv_model():
    """Max pooling, a convolution + ReLU and average pooling: layers whose tactics read and
    write channels last on PoCL (pooling) and one that does not (the FP32 convolution)."""
    rng = np.random.default_rng(3)
    w = (rng.standard_normal((6, 4, 3, 3)) * 0.3).astype(np.float32)
    nodes = [
        helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2]),
        helper.make_node("Conv", ["p", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("AveragePool", ["r"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    ]
    return make_model(nodes, [("x", (2, 4, 6, 8))], [("y", (2, 6, 5, 7))], {"w": w})


def tensor_ranges(model, x):
    """max |value| of the input and every node output (onnxruntime FP32 on x)."""
    names = [o for n in model.graph.node for o in n.output]
    probe = copy.deepcopy(model)
    del probe.graph.output[:]
    probe.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in names)
    got = ort_run(probe, {"x": x})
    return {"x": float(np.abs(x).max()), **{n: float(np.abs(got[n]).max()) for n in names}}


def build(
    model, in_mask=None, out_mask=None, precision="fp32", logger=None, x=None, tactic_filter=None
):
    kw = {"logger": logger} if logger else {}
    builder, network, _ = parse_network(model, **kw)
    if in_mask is not None:
        network.get_input(0).allowed_formats = in_mask
    if out_mask is not None:
        network.get_output(0).allowed_formats = out_mask
    config = make_config(builder, opt_level=0)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED  # the inspector's formats
    if tactic_filter:
        config.tactic_filter = tactic_filter
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        ranges = tensor_ranges(model, x)
        network.get_input(0).set_dynamic_range(-ranges["x"], ranges["x"])
        for li in range(network.num_layers):
            out = network.get_layer(li).get_output(0)
            out.set_dynamic_range(-ranges[out.name], ranges[out.name])
    return deserialize(bytes(builder.build_serialized_network(network, config)))


def io_formats(engine):
    """{tensor name: Format} of the engine inspector's layer table, inputs and outputs."""
    import json

    info = json.loads(
        engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    )
    out = {}
    for layer in info["Layers"]:
        for t in layer.get("Inputs", []) + layer.get("Outputs", []):
            out[t["Name"]] = t["Format"]
    return out


def check_layouts_agree(model, feeds, watch, precision, tol, tactic_filter=None):
    """The engine with channels-last I/O (feeds["x"] transposed in, "y" out) against the
    all-NCHW one (CLRT_CHANNELS_LAST=0): the `watch` tensors stored HWC in the first and LINEAR
    in the second, every output value equal bit for bit, and both within tol of onnxruntime."""
    hwc = build(model, HWC, HWC, precision, tactic_filter=tactic_filter)
    shown = io_formats(hwc)
    assert all(shown[t] == "HWC" for t in watch), shown
    hwc_feeds = {**feeds, "x": np.ascontiguousarray(feeds["x"].transpose(0, 2, 3, 1))}
    got = hwc.create_execution_context().infer(hwc_feeds)["y"].transpose(0, 3, 1, 2)
    with env_set(CLRT_CHANNELS_LAST="0"):  # every tensor NCHW
        linear = build(model, precision=precision, tactic_filter=tactic_filter)
    shown = io_formats(linear)
    assert all(shown[t] == "LINEAR" for t in watch), shown
    np.testing.assert_array_equal(got, linear.create_execution_context().infer(feeds)["y"])
    ref = ort_run(model, feeds)["y"]
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


def test_default_allows_every_format_and_keeps_io_linear():
    _, network, _ = parse_network(pool_conv_model())
    assert network.get_input(0).allowed_formats == (1 << 13) - 1  # TensorRT's default: all
    engine = build(pool_conv_model())
    assert engine.get_tensor_format("x") == trt.TensorFormat.LINEAR
    assert engine.get_tensor_format("y") == trt.TensorFormat.LINEAR
    assert "kLINEAR" in engine.get_tensor_format_desc("x")


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
@pytest.mark.parametrize("which", ["input", "output", "both"])
def test_channels_last_io_matches_onnxruntime(which, precision):
    """HWC where asked (LINEAR left out of the mask), LINEAR elsewhere; the values, the formats
    the engine and its inspector report, and no warning (the FP16 check feeds its build-time
    batch in the input's layout). INT8 with every tensor's range set."""
    model = pool_conv_model()
    in_hwc, out_hwc = which in ("input", "both"), which in ("output", "both")
    x = np.random.default_rng(4).uniform(-1, 1, (2, 4, 6, 8)).astype(np.float32)
    logger = RecordingLogger()
    engine = build(
        model,
        in_mask=HWC if in_hwc else None,
        out_mask=HWC | (1 << int(trt.TensorFormat.CHW32)) if out_hwc else None,
        precision=precision,
        logger=logger,
        x=x,
    )
    fmt = {True: trt.TensorFormat.HWC, False: trt.TensorFormat.LINEAR}
    assert engine.get_tensor_format("x") == fmt[in_hwc]
    assert engine.get_tensor_format("y") == fmt[out_hwc]
    assert ("kHWC" in engine.get_tensor_format_desc("x")) == in_hwc
    shown = io_formats(engine)
    assert shown["x"] == ("HWC" if in_hwc else "LINEAR"), shown
    assert shown["y"] == ("HWC" if out_hwc else "LINEAR"), shown
    assert engine.get_tensor_shape("x") == (2, 4, 6, 8)  # dims stay logical
    feed = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if in_hwc else x
    got = engine.create_execution_context().infer({"x": feed})["y"]
    assert got.shape == ((2, 5, 7, 6) if out_hwc else (2, 6, 5, 7))
    if out_hwc:
        got = got.transpose(0, 3, 1, 2)
    want = ort_run(model, {"x": x})["y"]
    tol = {"fp32": 1e-5, "fp16": 2e-2, "int8": 6e-2}[precision]
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
    assert not logger.warnings(), logger.warnings()


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_channels_last_io_read_in_place(precision):
    """A channels-last network input whose reader takes it channels last in its own dtype is read
    in place, and so is the output its producer writes so: no REFORMAT copying them (FP32). Where
    the dtype changes (FP16 layers, FLOAT I/O) the REFORMATs stay, converting. Values against
    onnxruntime either way."""
    import json

    rng = np.random.default_rng(8)
    nodes = [
        helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2]),
        helper.make_node("Relu", ["p"], ["r"]),
        helper.make_node("AveragePool", ["r"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    ]
    model = make_model(nodes, [("x", (2, 16, 6, 8))], [("y", (2, 16, 3, 4))])
    x = rng.uniform(-1, 1, (2, 16, 6, 8)).astype(np.float32)
    engine = build(model, HWC, HWC, precision)
    info = json.loads(
        engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    )
    kinds = [layer["LayerType"] for layer in info["Layers"]]
    assert kinds.count("REFORMAT") == (0 if precision == "fp32" else 2), kinds
    got = engine.create_execution_context().infer(
        {"x": np.ascontiguousarray(x.transpose(0, 2, 3, 1))}
    )
    want = ort_run(model, {"x": x})["y"].transpose(0, 2, 3, 1)
    tol = {"fp32": 1e-6, "fp16": 1e-2}[precision]
    np.testing.assert_allclose(got["y"], want, rtol=tol, atol=tol)


def test_channels_last_input_given_in_nchw_is_refused_by_name():
    engine = build(pool_conv_model(), in_mask=HWC)
    x = np.zeros((2, 4, 6, 8), np.float32)
    for wrong in (x, x[0]):  # NCHW order; a missing dim
        with pytest.raises(ValueError, match=r"'x' is stored channels last.*\(2, 6, 8, 4\)"):
            engine.create_execution_context().infer({"x": wrong})


def test_formats_clrt_cannot_store_are_refused_by_name():
    def error(model, mask):
        builder, network, _ = parse_network(model)
        network.get_input(0).allowed_formats = mask
        with pytest.raises(trt.BuildError) as info:
            builder.build_serialized_network(network, make_config(builder, opt_level=0))
        return str(info.value)

    msg = error(pool_conv_model(), 1 << int(trt.TensorFormat.CHW32))
    assert "'x'" in msg and "neither TensorFormat.LINEAR" in msg, msg
    flat = make_model([helper.make_node("Relu", ["v"], ["o"])], [("v", (3, 5))], [("o", (3, 5))])
    msg = error(flat, HWC)
    assert "'v'" in msg and "(3, 5)" in msg, msg
    _, network, _ = parse_network(pool_conv_model())
    with pytest.raises(ValueError, match="allowed_formats of 'x'"):
        network.get_input(0).allowed_formats = 1 << 20


def test_network_api_io_in_hwc():
    """The same through the network definition API (TensorRT's sample style): an input and an
    output of a max pooling layer, both HWC, the output's dims inferred from the layer."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    x = network.add_input("x", trt.float32, (1, 3, 4, 6))
    x.allowed_formats = HWC
    pool = network.add_pooling_nd(x, trt.PoolingType.MAX, (2, 2))
    pool.stride_nd = (2, 2)
    y = pool.get_output(0)
    y.name = "y"
    network.mark_output(y)
    y.allowed_formats = HWC
    config = builder.create_builder_config()
    engine = deserialize(bytes(builder.build_serialized_network(network, config)))
    assert engine.get_tensor_format("y") == trt.TensorFormat.HWC
    v = np.arange(72, dtype=np.float32).reshape(1, 3, 4, 6)
    got = engine.create_execution_context().infer(
        {"x": np.ascontiguousarray(v.transpose(0, 2, 3, 1))}
    )
    want = v.reshape(1, 3, 2, 2, 3, 2).max(axis=(3, 5))  # [1, 3, 2, 3]
    np.testing.assert_array_equal(got["y"], want.transpose(0, 2, 3, 1))


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("channels", [16, 12])
def test_channels_last_pooling_equals_the_nchw_kernel(precision, channels):
    """Windowed pooling with channels-last input and output: 16 channels run 8 a work-item
    (pool2d_hwc8, vector loads and stores), 12 one a work-item (pool3d). Either way every value
    equals the NCHW engine's bit for bit (the same taps, order and divisors), for max pooling
    (strided, padded), average pooling with the padding in its divisor, and without it over a
    ceil-mode window; and both match onnxruntime."""
    nodes = [
        helper.make_node(
            "MaxPool", ["x"], ["p"], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4
        ),
        helper.make_node(
            "AveragePool", ["p"], ["a"], kernel_shape=[3, 3], pads=[1] * 4, count_include_pad=1
        ),
        helper.make_node(
            "AveragePool", ["a"], ["y"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1
        ),
    ]
    shape = (2, channels, 9, 10)
    model = make_model(nodes, [("x", shape)], [("y", (2, channels, 3, 3))])
    x = np.random.default_rng(6).uniform(-1, 1, shape).astype(np.float32)
    tol = {"fp32": 1e-6, "fp16": 2e-3}[precision]
    check_layouts_agree(model, {"x": x}, ["p", "a"], precision, tol)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("channels", [3, 16, 17, 40])
@pytest.mark.parametrize("which", ["input", "output"])
def test_layout_reformats_are_exact(which, channels, precision):
    """A network that only changes layout (a 1x1 max pooling, exact) between a channels-last
    input and an NCHW output, or the reverse. In the FP16 engine the I/O reformat changes the
    layout: up to 16 channels a position per work-item (convert_layout_few), beyond through
    32 x 32 tiles (17 and 40: full and partial tiles); in the FP32 one the pooling reads one
    layout and writes the other. Every value is the input's, rounded to FP16 in FP16."""
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[1, 1])]
    shape = (2, channels, 5, 7)
    model = make_model(nodes, [("x", shape)], [("y", shape)])
    x = np.random.default_rng(channels).uniform(-1, 1, shape).astype(np.float32)
    hwc_in = which == "input"
    engine = build(
        model,
        in_mask=HWC if hwc_in else None,
        out_mask=None if hwc_in else HWC,
        precision=precision,
    )
    feed = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if hwc_in else x
    got = engine.create_execution_context().infer({"x": feed})["y"]
    if not hwc_in:
        got = got.transpose(0, 3, 1, 2)
    want = x.astype(np.float16).astype(np.float32) if precision == "fp16" else x
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("channels", [16, 12])
def test_channels_last_gate_and_elementwise_equal_the_nchw_engine(precision, channels):
    """A squeeze-and-excitation gate (x times sigmoid(g), g one value per image and channel,
    either operand first), a dense sum and a scalar offset, x channels last. 16 channels run the
    gate 8 channels a work-item (binary_f8, aligned vector loads), 12 one element a work-item;
    the NCHW engine's spatial size 24 runs its gate 8 positions a work-item. Every value equals
    the NCHW engine's bit for bit (the same op on the same values), and both match onnxruntime.
    (The gate is an input: a global average pooling sums in another order per layout.)"""
    nodes = [
        helper.make_node("Sigmoid", ["g"], ["s"]),
        helper.make_node("Mul", ["x", "s"], ["m"]),
        helper.make_node("Mul", ["s", "m"], ["m2"]),
        helper.make_node("Add", ["m2", "x"], ["a"]),
        helper.make_node("Sub", ["a", "k"], ["y"]),
    ]
    shape = (2, channels, 4, 6)
    k = np.array(0.25, np.float32)
    gshape = (2, channels, 1, 1)
    model = make_model(nodes, [("x", shape), ("g", gshape)], [("y", shape)], {"k": k})
    rng = np.random.default_rng(channels)
    feeds = {
        "x": rng.uniform(-2, 2, shape).astype(np.float32),
        "g": rng.uniform(-3, 3, gshape).astype(np.float32),
    }
    tol = {"fp32": 1e-5, "fp16": 1e-2}[precision]
    check_layouts_agree(model, feeds, ["m", "a"], precision, tol)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize(
    "tactic, c, k",
    [
        ("conv.1x1_k8", 16, 24),
        ("conv.1x1_wg", 72, 64),
        ("conv.1x1_wg", 136, 64),
        ("conv.1x1_wg", 72, 68),
    ],
)
def test_pointwise_conv_in_either_layout(tactic, c, k, precision):
    """Two 1x1 convolutions forced onto conv.1x1_k8 (8 output channels a work-item) or
    conv.1x1_wg (a work-group per 8 output channels, the input channels split among its
    work-items: 72 and 136 leave some a channel fewer; 68 outputs end in a part octet): c -> k
    with a bias and a ReLU, then k -> c
    with the network input as residual, between channels-last network I/O (so the
    tensor between them, the input and the residual are read channels last, the output written
    so) and in the all-NCHW engine. Each sums in the same order in both layouts: equal bit for
    bit, and both match onnxruntime."""
    rng = np.random.default_rng(9)
    w1 = (rng.standard_normal((k, c, 1, 1)) * 0.3).astype(np.float32)
    w2 = (rng.standard_normal((c, k, 1, 1)) * 0.3).astype(np.float32)
    b1 = rng.uniform(-0.5, 0.5, k).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c"]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Conv", ["r", "w2"], ["d"]),
        helper.make_node("Add", ["d", "x"], ["y"]),
    ]
    shape = (2, c, 5, 3)
    model = make_model(nodes, [("x", shape)], [("y", shape)], {"w1": w1, "b1": b1, "w2": w2})
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    tol = {"fp32": 1e-5, "fp16": 1e-2}[precision]
    check_layouts_agree(model, {"x": x}, ["r"], precision, tol, tactic_filter=tactic)


def test_half_bits_accesses_equal_the_vector_builtins(monkeypatch):
    """FP16 kernels that read and write 8 halves at a time (8-channel pooling, the narrow 1x1
    convolution, the gate multiply, the I/O reformats) with HALF_BITS (16-byte accesses
    converted in private memory: NVIDIA's default) and without (vloada_half8 / vstorea_half8:
    elsewhere), forced by CLRT_HALF_BITS. Both engines give the same values bit for bit."""
    rng = np.random.default_rng(11)
    w = (rng.standard_normal((24, 16, 1, 1)) * 0.3).astype(np.float32)
    nodes = [
        helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[3, 3], pads=[1] * 4),
        helper.make_node("Conv", ["p", "w"], ["c"]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Mul", ["r", "g"], ["y"]),
    ]
    shape, gshape = (2, 16, 5, 6), (2, 24, 1, 1)
    model = make_model(nodes, [("x", shape), ("g", gshape)], [("y", (2, 24, 5, 6))], {"w": w})
    feeds = {
        "x": np.ascontiguousarray(
            rng.uniform(-2, 2, shape).astype(np.float32).transpose(0, 2, 3, 1)
        ),
        "g": rng.uniform(0, 1, gshape).astype(np.float32),
    }

    def run(flag):
        monkeypatch.setenv("CLRT_HALF_BITS", flag)
        engine = build(model, HWC, HWC, "fp16", tactic_filter="conv.1x1_k8")
        shown = io_formats(engine)
        assert shown["p"] == shown["r"] == "HWC", shown
        return engine.create_execution_context().infer(feeds)["y"]

    got = run("1")
    np.testing.assert_array_equal(got, run("0"))
    x = feeds["x"].transpose(0, 3, 1, 2)
    ref = ort_run(model, {"x": x, "g": feeds["g"]})["y"].transpose(0, 2, 3, 1)
    np.testing.assert_allclose(got, ref, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize(
    "channels, parts", [(16, None), (12, None), (264, None), (16, "4"), (264, "7")]
)
def test_channels_last_global_pooling(precision, channels, parts, monkeypatch):
    """Global average and max pooling of a channels-last tensor: 16 channels run 8 a work-item
    in one work-group per image (global_pool_hwc8), 264 in two (32 octets, then 1), 12 one a
    work-item (global_pool_hwc); with parts (CLRT_GPOOL_PARTS), each image's 63 positions split
    among that many work-groups and then combined (global_pool_hwc8_end), as on GPUs. Max equals
    onnxruntime exactly (FP16-rounded in FP16), the average within the FP32 / FP16 sum's
    rounding."""
    if parts:
        monkeypatch.setenv("CLRT_GPOOL_PARTS", parts)
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["a"]),
        helper.make_node("GlobalMaxPool", ["x"], ["m"]),
    ]
    shape = (3, channels, 7, 9)
    model = make_model(nodes, [("x", shape)], [("a",), ("m",)])
    x = np.random.default_rng(channels).uniform(-2, 2, shape).astype(np.float32)
    engine = build(model, in_mask=HWC, precision=precision)
    assert io_formats(engine)["x"] == "HWC"
    got = engine.create_execution_context().infer(
        {"x": np.ascontiguousarray(x.transpose(0, 2, 3, 1))}
    )
    ref = ort_run(model, {"x": x})
    half = precision == "fp16"
    want_max = ref["m"].astype(np.float16).astype(np.float32) if half else ref["m"]
    np.testing.assert_array_equal(got["m"], want_max)
    tol = 2e-3 if half else 1e-6
    np.testing.assert_allclose(got["a"], ref["a"], rtol=tol, atol=tol)


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
@pytest.mark.parametrize(
    "k, stride, dil, w",
    [(3, 1, 1, 9), (5, 2, 1, 11), (3, 1, 2, 10), (3, 2, 1, 4)],
    ids=["3x3_w9", "5x5_stride2", "dilation2", "stride2_one_quad"],
)
def test_depthwise_four_columns_a_work_item(precision, k, stride, dil, w):
    """conv.depthwise_w4 / conv.int8_depthwise_w4 (channels last, C a multiple of 8: four output
    columns a work-item, a tap's weights loaded once for the four) against conv.depthwise /
    conv.int8_depthwise (a column a work-item) between the same channels-last network I/O: the
    same sums in the same order, so equal bit for bit, at output widths that leave a part quad,
    strides, a dilation and 5x5 taps; and both within tolerance of onnxruntime."""
    import json

    rng = np.random.default_rng(31)
    c = 16
    wt = (rng.standard_normal((c, 1, k, k)) * 0.3).astype(np.float32)
    b = rng.uniform(-0.5, 0.5, c).astype(np.float32)
    pad = (k // 2) * dil
    nodes = [
        helper.make_node(
            "Conv",
            ["x", "w", "b"],
            ["c"],
            group=c,
            pads=[pad] * 4,
            strides=[stride] * 2,
            dilations=[dil] * 2,
        ),
        helper.make_node("Relu", ["c"], ["y"]),
    ]
    oh, ow = (7 - 1) // stride + 1, (w - 1) // stride + 1
    model = make_model(nodes, [("x", (2, c, 7, w))], [("y", (2, c, oh, ow))], {"w": wt, "b": b})
    x = rng.uniform(-1, 1, (2, c, 7, w)).astype(np.float32)
    prefix = "conv.int8_depthwise" if precision == "int8" else "conv.depthwise"
    xt = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    got = {}
    for tactic in (prefix, prefix + "_w4"):
        engine = build(model, HWC, HWC, precision, x=x, tactic_filter=tactic)
        info = json.loads(
            engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
        )
        convs = [layer for layer in info["Layers"] if layer["LayerType"] == "CONVOLUTION"]
        assert [layer["TacticName"] for layer in convs] == [tactic], convs
        assert [t["Format"] for t in convs[0]["Inputs"] + convs[0]["Outputs"]] == ["HWC"] * 2
        got[tactic] = engine.create_execution_context().infer({"x": xt})["y"]
    np.testing.assert_array_equal(got[prefix], got[prefix + "_w4"])
    ref = ort_run(model, {"x": x})["y"].transpose(0, 2, 3, 1)
    tol = {"fp32": 1e-5, "fp16": 1e-2, "int8": 0.06 * np.abs(ref).max()}[precision]
    np.testing.assert_allclose(got[prefix + "_w4"], ref, rtol=tol, atol=tol)


def test_channels_last_by_default_on_gpus_only(monkeypatch):
    """Without CLRT_CHANNELS_LAST the builder stores intermediate tensors channels last on GPUs
    (where the tensor-core convolutions gather 16-byte runs) and keeps them all LINEAR on CPUs
    (whose NCHW kernels are faster); =1 takes channels last on any device, =0 on none. The model:
    two depthwise blocks with a squeeze-and-excitation gate, whose tensors the depthwise,
    pooling and elementwise tactics could all take channels last."""
    rng = np.random.default_rng(3)
    c = 16
    nodes = [
        helper.make_node("Conv", ["x", "dw"], ["d"], group=c, pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["d"], ["g"]),
        helper.make_node("Sigmoid", ["g"], ["s"]),
        helper.make_node("Mul", ["d", "s"], ["m"]),
        helper.make_node("Conv", ["m", "dw2"], ["y"], group=c, pads=[1, 1, 1, 1]),
    ]
    inits = {
        "dw": (rng.standard_normal((c, 1, 3, 3)) * 0.3).astype(np.float32),
        "dw2": (rng.standard_normal((c, 1, 3, 3)) * 0.3).astype(np.float32),
    }
    shape = (2, c, 8, 8)
    model = make_model(nodes, [("x", shape)], [("y", shape)], inits)
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    ref = ort_run(model, {"x": x})["y"]

    def formats(value):
        if value is None:
            monkeypatch.delenv("CLRT_CHANNELS_LAST", raising=False)
        else:
            monkeypatch.setenv("CLRT_CHANNELS_LAST", value)
        engine = build(model)
        got = engine.create_execution_context().infer({"x": x})["y"]
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
        return {io_formats(engine)[t] for t in ("d", "m")}

    assert formats("1") == {"HWC"}
    assert formats("0") == {"LINEAR"}
    assert formats(None) == ({"HWC"} if trt.current_device().is_gpu else {"LINEAR"})
