# models/fmnist_cnn.onnx rebuilt by hand through the network API; layer/tensor introspection.
import clrt as trt
import numpy as np
import onnx
import pytest
from helpers import (
    EXPLICIT_BATCH,
    MODELS,
    assert_close,
    build_engine,
    deserialize,
    fmnist,
    make_model,
    ort_run,
)
from onnx import numpy_helper

CNN = MODELS / "fmnist_cnn.onnx"
BATCH = 8
# FP32 tolerance: BN folded here in float64 vs by clrt's pass changes rounding only.
RTOL, ATOL = 1e-4, 1e-5


class OnnxWeights:
    """Initializer values by tensor name, looking through Identity and Constant nodes."""

    def __init__(self, model):
        self.values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        self.nodes = list(model.graph.node)
        for n in self.nodes:
            if n.op_type == "Constant":
                self.values[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
        for n in self.nodes:
            if n.op_type == "Identity" and n.input[0] in self.values:
                self.values[n.output[0]] = self.values[n.input[0]]

    def __getitem__(self, name):
        return self.values[name]

    def of_type(self, op):
        return [n for n in self.nodes if n.op_type == op]


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def bn_affine(weights, bn):
    """BatchNormalization as y = x * scale + shift per channel (float64)."""
    gamma, beta, mean, var = (weights[n].astype(np.float64) for n in bn.input[1:5])
    scale = gamma / np.sqrt(var + attr(bn, "epsilon", 1e-5))
    return scale, beta - mean * scale


def folded_conv(weights, conv, bn):
    """Conv weights with the following BatchNormalization folded in (float64, then float32)."""
    k = weights[conv.input[1]].astype(np.float64)
    b = weights[conv.input[2]].astype(np.float64) if len(conv.input) > 2 else 0.0
    scale, shift = bn_affine(weights, bn)
    kernel, bias = k * scale[:, None, None, None], b * scale + shift
    return kernel.astype(np.float32), bias.astype(np.float32)


def bn_scale_shift(weights, bn):
    return tuple(a.astype(np.float32) for a in bn_affine(weights, bn))


def build_by_hand(network):
    """The CNN of models/fmnist_cnn.onnx: conv-bn-relu x2, maxpool, residual block, GAP, linear.
    The first BN is an add_scale layer, the others are folded here. Returns the weight arrays
    (they must outlive the build)."""
    model = onnx.load(str(CNN))
    weights = OnnxWeights(model)
    convs, bns = weights.of_type("Conv"), weights.of_type("BatchNormalization")
    assert len(convs) == 4 and len(bns) == 4, "fmnist_cnn.onnx no longer has the expected layers"
    keep = []

    def conv_bn(t, i, relu, name, bn_as_scale=False):
        if bn_as_scale:  # the BN as its own layer: ScaleMode.CHANNEL y = x * scale + shift
            kernel = weights[convs[i].input[1]]
            bias = weights[convs[i].input[2]] if len(convs[i].input) > 2 else None
        else:
            kernel, bias = folded_conv(weights, convs[i], bns[i])
        keep.extend([kernel, bias])
        layer = network.add_convolution_nd(t, kernel.shape[0], kernel.shape[2:], kernel, bias)
        layer.stride_nd = tuple(attr(convs[i], "strides", [1, 1]))
        layer.padding_nd = tuple(attr(convs[i], "pads", [0, 0, 0, 0])[:2])
        layer.name = name
        out = layer.get_output(0)
        if bn_as_scale:
            scale, shift = bn_scale_shift(weights, bns[i])
            keep.extend([scale, shift])
            bn = network.add_scale(out, trt.ScaleMode.CHANNEL, shift, scale)
            bn.name = name + "_bn"
            out = bn.get_output(0)
        if not relu:
            return out
        act = network.add_activation(out, trt.ActivationType.RELU)
        act.name = name + "_relu"
        return act.get_output(0)

    x = network.add_input("input", trt.float32, (BATCH, 1, 28, 28))
    t = conv_bn(conv_bn(x, 0, True, "conv1", bn_as_scale=True), 1, True, "conv2")
    pool = network.add_pooling_nd(t, trt.PoolingType.MAX, (2, 2))
    pool.stride_nd = (2, 2)
    pool.name = "maxpool"
    skip = pool.get_output(0)
    t = conv_bn(conv_bn(skip, 2, True, "res_conv1"), 3, False, "res_conv2")
    add = network.add_elementwise(t, skip, trt.ElementWiseOperation.SUM)
    add.name = "residual_add"
    t = network.add_activation(add.get_output(0), trt.ActivationType.RELU).get_output(0)
    gap = network.add_pooling_nd(t, trt.PoolingType.AVERAGE, tuple(t.shape)[2:])
    gap.name = "global_avg_pool"
    flat = network.add_shuffle(gap.get_output(0))
    flat.reshape_dims = (0, -1)
    flat.name = "flatten"
    gemm = weights.of_type("Gemm")[0]
    fc_w = weights[gemm.input[1]].astype(np.float32)  # [10, C]; exported with transB=1
    fc_b = weights[gemm.input[2]].astype(np.float32).reshape(1, -1)
    keep.extend([fc_w, fc_b])
    w_const = network.add_constant(fc_w.shape, fc_w)
    mm = network.add_matrix_multiply(
        flat.get_output(0),
        trt.MatrixOperation.NONE,
        w_const.get_output(0),
        trt.MatrixOperation.TRANSPOSE,
    )
    b_const = network.add_constant(fc_b.shape, fc_b)
    fc = network.add_elementwise(
        mm.get_output(0), b_const.get_output(0), trt.ElementWiseOperation.SUM
    )
    fc.name = "fc"
    logits = fc.get_output(0)
    logits.name = "logits"
    network.mark_output(logits)
    softmax = network.add_softmax(logits)
    softmax.axes = 1 << 1
    softmax.get_output(0).name = "probs"
    network.mark_output(softmax.get_output(0))
    return keep


@pytest.fixture(scope="module")
def images():
    return fmnist.load("test")[0][:BATCH]


@pytest.fixture(scope="module")
def hand_network(builder):
    network = builder.create_network(EXPLICIT_BATCH)
    keep = build_by_hand(network)
    return network, keep


@pytest.fixture(scope="module")
def hand_engine(builder, hand_network):
    network, _ = hand_network
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    assert plan is not None
    return deserialize(bytes(plan))


def test_hand_built_matches_parsed_engine_and_onnxruntime(hand_engine, images):
    shape = (BATCH, 1, 28, 28)
    parsed = build_engine(CNN, profiles={"input": ((1, 1, 28, 28), shape, shape)})
    feeds = {"input": images}
    by_hand = hand_engine.create_execution_context().infer(feeds)
    from_onnx = parsed.create_execution_context().infer(feeds)["logits"]
    ref = ort_run(CNN, feeds)["logits"]
    assert_close(by_hand["logits"], from_onnx, RTOL, ATOL, "hand-built vs parsed logits")
    assert_close(by_hand["logits"], ref, RTOL, ATOL, "hand-built vs onnxruntime logits")
    e = np.exp(ref - ref.max(1, keepdims=True))
    assert_close(by_hand["probs"], e / e.sum(1, keepdims=True), RTOL, ATOL, "softmax probs")


def test_network_introspection(hand_network):
    network, _ = hand_network
    assert network.num_inputs == 1 and network.num_outputs == 2
    inp = network.get_input(0)
    assert inp.name == "input" and tuple(inp.shape) == (BATCH, 1, 28, 28)
    assert inp.dtype == trt.float32 and inp.is_network_input and not inp.is_network_output
    assert [network.get_output(i).name for i in range(2)] == ["logits", "probs"]
    assert network.get_output(0).is_network_output

    layers = [network.get_layer(i) for i in range(network.num_layers)]
    # 4 conv, 1 scale, 4 relu, maxpool, add, GAP, shuffle, 2 constants, matmul, bias add,
    # softmax.
    assert network.num_layers == 18
    types = [layer.type for layer in layers]
    assert types.count(trt.LayerType.SCALE) == 1
    assert types.count(trt.LayerType.CONVOLUTION) == 4
    assert types.count(trt.LayerType.ACTIVATION) == 4
    assert types.count(trt.LayerType.POOLING) == 2
    assert types.count(trt.LayerType.ELEMENTWISE) == 2
    assert types.count(trt.LayerType.CONSTANT) == 2
    assert types.count(trt.LayerType.MATRIX_MULTIPLY) == 1
    assert types.count(trt.LayerType.SHUFFLE) == 1
    assert types.count(trt.LayerType.SOFTMAX) == 1

    by_name = {layer.name: layer for layer in layers}
    conv1 = by_name["conv1"]
    assert conv1.type == trt.LayerType.CONVOLUTION
    assert conv1.num_inputs >= 1 and conv1.get_input(0).name == "input"
    assert conv1.num_outputs == 1
    out = conv1.get_output(0)
    assert tuple(out.shape) == (BATCH, 16, 28, 28) and out.dtype == trt.float32
    assert tuple(by_name["conv2"].get_output(0).shape) == (BATCH, 64, 14, 14)
    assert tuple(by_name["maxpool"].get_output(0).shape) == (BATCH, 64, 7, 7)
    assert tuple(by_name["global_avg_pool"].get_output(0).shape) == (BATCH, 64, 1, 1)
    assert tuple(by_name["flatten"].get_output(0).shape) == (BATCH, 64)
    assert tuple(by_name["fc"].get_output(0).shape) == (BATCH, 10)
    # The residual add reads the max-pool output: tensors are shared objects by name.
    add = by_name["residual_add"]
    assert add.num_inputs == 2 and add.get_input(1).name == by_name["maxpool"].get_output(0).name
    names = [layer.get_output(j).name for layer in layers for j in range(layer.num_outputs)]
    assert all(names) and len(set(names)) == len(names), "tensor names must be unique"


def test_engine_introspection(hand_engine):
    e = hand_engine
    assert e.num_io_tensors == 3
    names = [e.get_tensor_name(i) for i in range(e.num_io_tensors)]
    assert names == ["input", "logits", "probs"]
    assert e.get_tensor_mode("input") == trt.TensorIOMode.INPUT
    assert e.get_tensor_mode("logits") == trt.TensorIOMode.OUTPUT
    assert tuple(e.get_tensor_shape("input")) == (BATCH, 1, 28, 28)
    assert tuple(e.get_tensor_shape("probs")) == (BATCH, 10)
    assert e.get_tensor_dtype("logits") == trt.float32
    assert trt.nptype(e.get_tensor_dtype("logits")) == np.float32
    assert e.num_layers >= 1


@pytest.mark.parametrize("groups", [1, 2])
def test_add_deconvolution_nd_matches_onnxruntime(groups):
    """add_deconvolution_nd (weights [C, K/groups, kh, kw], groups implied by their count) with
    stride 2 and padding 1 set on the layer, against onnxruntime's ConvTranspose of the same
    weights; the layer reads back what it was given. FP32 tolerance."""

    rng = np.random.default_rng(7 + groups)
    c, k = 4, 6
    w = rng.standard_normal((c, k // groups, 3, 3)).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32)
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    network = builder.create_network(EXPLICIT_BATCH)
    x = network.add_input("x", trt.float32, (2, c, 5, 4))
    layer = network.add_deconvolution_nd(x, k, (3, 3), w, b)
    assert isinstance(layer, trt.IDeconvolutionLayer)
    layer.stride_nd = (2, 2)
    layer.padding_nd = (1, 1)
    assert (layer.num_output_maps, layer.num_groups) == (k, groups)
    assert layer.kernel_size_nd == (3, 3) and layer.kernel.shape == w.shape
    layer.get_output(0).name = "y"
    network.mark_output(layer.get_output(0))
    engine = deserialize(
        bytes(builder.build_serialized_network(network, builder.create_builder_config()))
    )
    assert tuple(engine.get_tensor_shape("y")) == (2, k, 9, 7)
    feed = rng.uniform(-1, 1, (2, c, 5, 4)).astype(np.float32)
    got = engine.create_execution_context().infer({"x": feed})["y"]
    node = onnx.helper.make_node(
        "ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1], group=groups
    )
    model = make_model([node], [("x", feed.shape)], [("y", (2, k, 9, 7))], {"w": w, "b": b})
    assert_close(got, ort_run(model, {"x": feed})["y"], rtol=RTOL, atol=ATOL)


def test_add_deconvolution_nd_refuses_weights_of_no_group_count():
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    network = builder.create_network(EXPLICIT_BATCH)
    x = network.add_input("x", trt.float32, (1, 4, 5, 5))
    with pytest.raises(ValueError, match="add_deconvolution_nd: kernel holds 45 values"):
        network.add_deconvolution_nd(x, 6, (3, 3), np.zeros(45, np.float32))


@pytest.mark.parametrize(
    "mode, sample, align",
    [
        (trt.InterpolationMode.LINEAR, trt.SampleMode.FILL, False),
        (trt.InterpolationMode.NEAREST, trt.SampleMode.CLAMP, True),
        (trt.InterpolationMode.CUBIC, trt.SampleMode.REFLECT, False),
    ],
)
def test_add_grid_sample_matches_onnxruntime(mode, sample, align):
    """add_grid_sample with its interpolation, sample mode and align_corners set on the layer,
    against onnxruntime's GridSample with the matching attributes (grid points past the edges
    included); a parsed GridSample reads back as the same IGridSampleLayer. FP32 tolerance."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    grid = rng.uniform(-1.3, 1.3, (2, 4, 7, 2)).astype(np.float32)
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    network = builder.create_network(EXPLICIT_BATCH)
    xi = network.add_input("x", trt.float32, x.shape)
    gi = network.add_input("grid", trt.float32, grid.shape)
    layer = network.add_grid_sample(xi, gi)
    assert isinstance(layer, trt.IGridSampleLayer)
    assert layer.interpolation_mode == trt.InterpolationMode.LINEAR  # TensorRT's defaults
    assert layer.sample_mode == trt.SampleMode.FILL and not layer.align_corners
    layer.interpolation_mode, layer.sample_mode, layer.align_corners = mode, sample, align
    assert (layer.interpolation_mode, layer.sample_mode, layer.align_corners) == (
        mode,
        sample,
        align,
    )
    layer.get_output(0).name = "y"
    network.mark_output(layer.get_output(0))
    engine = deserialize(
        bytes(builder.build_serialized_network(network, builder.create_builder_config()))
    )
    got = engine.create_execution_context().infer({"x": x, "grid": grid})["y"]
    onnx_mode = {"LINEAR": "linear", "NEAREST": "nearest", "CUBIC": "cubic"}[mode.name]
    padding = {"FILL": "zeros", "CLAMP": "border", "REFLECT": "reflection"}[sample.name]
    node = onnx.helper.make_node(
        "GridSample",
        ["x", "grid"],
        ["y"],
        mode=onnx_mode,
        padding_mode=padding,
        align_corners=int(align),
    )
    model = make_model(
        [node], [("x", x.shape), ("grid", grid.shape)], [("y", (2, 3, 4, 7))], opset=20
    )
    assert_close(got, ort_run(model, {"x": x, "grid": grid})["y"], rtol=RTOL, atol=1e-4)
    parsed = trt.Builder(trt.Logger(trt.Logger.WARNING)).create_network(EXPLICIT_BATCH)
    assert trt.OnnxParser(parsed, trt.Logger(trt.Logger.WARNING)).parse(model.SerializeToString())
    read = parsed.get_layer(0)
    assert isinstance(read, trt.IGridSampleLayer)
    assert (read.interpolation_mode, read.sample_mode, read.align_corners) == (mode, sample, align)


def test_grid_sample_modes_clrt_lacks_are_refused_by_name():
    network = trt.Builder(trt.Logger(trt.Logger.WARNING)).create_network(EXPLICIT_BATCH)
    xi = network.add_input("x", trt.float32, (1, 1, 4, 4))
    gi = network.add_input("grid", trt.float32, (1, 2, 2, 2))
    layer = network.add_grid_sample(xi, gi)
    with pytest.raises(trt.UnsupportedError, match="sample_mode"):
        layer.sample_mode = trt.SampleMode.WRAP
    bad = network.add_input("g3", trt.float32, (1, 2, 2, 3))
    with pytest.raises(ValueError, match="add_grid_sample: input 'x'"):
        network.add_grid_sample(xi, bad)


def run_network(builder, network, feeds):
    """Builds the network (FP32, default config) and runs it once on `feeds`."""
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    return deserialize(bytes(plan)).create_execution_context().infer(feeds)


def new_network():
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    return builder, builder.create_network(EXPLICIT_BATCH)


RM, CT = trt.InterpolationMode, trt.ResizeCoordinateTransformation


ROUNDING = {"HALF_UP": "round_prefer_ceil", "HALF_DOWN": "round_prefer_floor", "FLOOR": "floor"}


@pytest.mark.parametrize(
    "mode, coord, upper, rounding, out",
    [
        (RM.NEAREST, CT.ASYMMETRIC, False, trt.ResizeRoundMode.FLOOR, [1.0, 1.0, 2.0, 1.5]),
        (RM.NEAREST, CT.HALF_PIXEL, False, trt.ResizeRoundMode.HALF_UP, (1, 2, 7, 3)),
        (RM.LINEAR, CT.HALF_PIXEL, True, trt.ResizeRoundMode.FLOOR, (1, 2, 1, 9)),
        (RM.CUBIC, CT.ALIGN_CORNERS, False, trt.ResizeRoundMode.FLOOR, "tensor"),
    ],
)
def test_add_resize_matches_onnxruntime(mode, coord, upper, rounding, out):
    """add_resize with TensorRT's properties set on the layer (output by scales, by shape, or by
    an INT32 shape tensor through set_input(1)), against onnxruntime's Resize-13 with the same
    ONNX attributes (HALF_PIXEL + ResizeSelector.UPPER is pytorch_half_pixel: one output row
    reads input row 0); a parsed Resize reads back the same properties. FP32 tolerance."""
    x = np.random.default_rng(5).standard_normal((1, 2, 4, 6)).astype(np.float32)
    builder, network = new_network()
    layer = network.add_resize(network.add_input("x", trt.float32, x.shape))
    assert isinstance(layer, trt.IResizeLayer) and layer.shape == x.shape  # the input's dims
    assert (layer.resize_mode, layer.coordinate_transformation) == (RM.NEAREST, CT.ASYMMETRIC)
    assert layer.nearest_rounding == trt.ResizeRoundMode.FLOOR and layer.cubic_coeff == -0.75
    layer.resize_mode, layer.coordinate_transformation = mode, coord
    if upper:
        layer.selector_for_single_pixel = trt.ResizeSelector.UPPER
    layer.nearest_rounding = rounding
    if mode == RM.CUBIC:
        layer.cubic_coeff, layer.exclude_outside = -0.5, True
    sizes = np.array([1, 2, 6, 9], np.int64)
    if out == "tensor":
        shape = network.add_constant((4,), sizes.astype(np.int32)).get_output(0)
        layer.set_input(1, shape)
        assert layer.shape == tuple(sizes)
    elif isinstance(out, tuple):
        layer.shape = out
    else:
        layer.scales = out
        assert layer.scales == out
    layer.get_output(0).name = "y"
    network.mark_output(layer.get_output(0))
    got = run_network(builder, network, {"x": x})["y"]
    inputs = ["x", "", "scales"] if isinstance(out, list) else ["x", "", "", "sizes"]
    if isinstance(out, tuple):
        sizes = np.array(out, np.int64)
    inits = {"scales": np.array(out, np.float32)} if isinstance(out, list) else {"sizes": sizes}
    onnx_coord = "pytorch_half_pixel" if upper else coord.name.lower()
    attrs = {"mode": mode.name.lower(), "coordinate_transformation_mode": onnx_coord}
    if mode == RM.NEAREST:
        attrs["nearest_mode"] = ROUNDING[rounding.name]
    if mode == RM.CUBIC:
        attrs.update(cubic_coeff_a=-0.5, exclude_outside=1)
    node = onnx.helper.make_node("Resize", inputs, ["y"], **attrs)
    model = make_model([node], [("x", x.shape)], ["y"], inits, opset=13)
    assert_close(got, ort_run(model, {"x": x})["y"], rtol=RTOL, atol=1e-5)
    parsed = trt.Builder(trt.Logger(trt.Logger.WARNING)).create_network(EXPLICIT_BATCH)
    assert trt.OnnxParser(parsed, trt.Logger(trt.Logger.WARNING)).parse(model.SerializeToString())
    read = parsed.get_layer(0)
    assert isinstance(read, trt.IResizeLayer)
    assert (read.resize_mode, read.coordinate_transformation) == (mode, coord)
    assert read.selector_for_single_pixel == layer.selector_for_single_pixel
    assert read.shape == layer.shape == got.shape
    if mode == RM.NEAREST:
        assert read.nearest_rounding == rounding


def test_add_resize_refuses_what_it_cannot_express():
    _, network = new_network()
    xi = network.add_input("x", trt.float32, (1, 1, 4, 4))
    layer = network.add_resize(xi)
    with pytest.raises(trt.UnsupportedError, match="selector_for_single_pixel.*HALF_PIXEL"):
        layer.selector_for_single_pixel = trt.ResizeSelector.UPPER  # under ASYMMETRIC
    with pytest.raises(ValueError, match=r"\[Resize\]' scales: 3 values; the input has rank 4"):
        layer.scales = [1.0, 2.0, 2.0]
    with pytest.raises(ValueError, match=r"\[Resize\]' shape: \(1, 1, -1, 8\) must be >= 0"):
        layer.shape = (1, 1, -1, 8)
    bad = network.add_constant((4,), np.ones(4, np.float16)).get_output(0)
    with pytest.raises(ValueError, match="input 1 is the output shape .INT32/INT64. or the scal"):
        layer.set_input(1, bad)


def test_add_quantize_and_dequantize_match_onnxruntime():
    """add_quantize (per-channel scale on axis 1, UINT8 zero points through set_input(2)) and
    add_dequantize (per-tensor INT8) as lone layers, against onnxruntime's QuantizeLinear and
    DequantizeLinear: the integers exactly, the floats at FP32 tolerance."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, (2, 3, 4)).astype(np.float32)
    q8 = rng.integers(-128, 128, (2, 3, 4), dtype=np.int8)
    scale = np.array([0.02, 0.05, 0.1], np.float32)
    zero = np.array([128, 100, 3], np.uint8)
    builder, network = new_network()
    xi, qi = (
        network.add_input("x", trt.float32, x.shape),
        network.add_input("q", trt.int8, q8.shape),
    )
    s = network.add_constant((3,), scale).get_output(0)
    quant = network.add_quantize(xi, s, trt.uint8)
    assert isinstance(quant, trt.IQuantizeLayer) and quant.axis == -1  # TensorRT: per-tensor
    quant.axis = 1
    quant.set_input(2, network.add_constant((3,), zero).get_output(0))
    assert quant.to_type == trt.uint8 and quant.get_output(0).dtype == trt.uint8
    dq_scale = network.add_constant((), np.array(0.25, np.float32)).get_output(0)
    dequant = network.add_dequantize(qi, dq_scale)
    assert isinstance(dequant, trt.IDequantizeLayer) and dequant.to_type == trt.float32
    for layer, name in ((quant, "y"), (dequant, "d")):
        layer.get_output(0).name = name
        network.mark_output(layer.get_output(0))
    got = run_network(builder, network, {"x": x, "q": q8})
    nodes = [
        onnx.helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], axis=1),
        onnx.helper.make_node("DequantizeLinear", ["q", "ds"], ["d"]),
    ]
    inits = {"s": scale, "z": zero, "ds": np.array(0.25, np.float32)}
    model = make_model(
        nodes,
        [("x", x.shape), ("q", q8.shape, np.int8)],
        [("y", x.shape, np.uint8), ("d", q8.shape)],
        inits,
        opset=13,
    )
    want = ort_run(model, {"x": x, "q": q8})
    np.testing.assert_array_equal(got["y"], want["y"])
    assert_close(got["d"], want["d"], rtol=RTOL, atol=ATOL)


def test_add_quantize_refuses_what_clrt_lacks():
    _, network = new_network()
    xi = network.add_input("x", trt.float32, (2, 3))
    s3 = network.add_constant((3,), np.ones(3, np.float32)).get_output(0)
    with pytest.raises(trt.UnsupportedError, match="add_quantize: output_type FP8"):
        network.add_quantize(xi, network.add_constant((), np.float32(1)).get_output(0), trt.fp8)
    with pytest.raises(ValueError, match="add_quantize: scale .* is INT32; clrt's scales are FL"):
        network.add_quantize(xi, network.add_constant((), np.int32(1)).get_output(0))
    layer = network.add_quantize(
        xi, network.add_constant((1,), np.ones(1, np.float32)).get_output(0)
    )
    layer.set_input(1, s3)  # one per channel, for the axis set next
    with pytest.raises(ValueError, match=r"\[Quantize\]' axis: scale .* expected one value or 2"):
        layer.axis = 0


@pytest.mark.parametrize("mode", [trt.ScatterMode.ELEMENT, trt.ScatterMode.ND])
def test_add_scatter_matches_onnxruntime(mode):
    """add_scatter in both modes (ELEMENT with axis 1 set on the layer) against onnxruntime's
    ScatterElements / ScatterND; exact (values are copied)."""
    rng = np.random.default_rng(9)
    data = rng.standard_normal((3, 5)).astype(np.float32)
    if mode == trt.ScatterMode.ELEMENT:
        idx = np.array(
            [[4, 0], [1, 3], [2, 4]], np.int32
        )  # no duplicates: their order is unspecified
        upd = rng.standard_normal(idx.shape).astype(np.float32)
        node = onnx.helper.make_node("ScatterElements", ["d", "i", "u"], ["y"], axis=1)
    else:
        idx = np.array([[2], [0]], np.int32)
        upd = rng.standard_normal((2, 5)).astype(np.float32)
        node = onnx.helper.make_node("ScatterND", ["d", "i", "u"], ["y"])
    builder, network = new_network()
    d = network.add_input("d", trt.float32, data.shape)
    i = network.add_input("i", trt.int32, idx.shape)
    u = network.add_input("u", trt.float32, upd.shape)
    layer = network.add_scatter(d, i, u, mode)
    assert isinstance(layer, trt.IScatterLayer) and layer.mode == mode and layer.axis == 0
    if mode == trt.ScatterMode.ELEMENT:
        layer.axis = 1
    layer.get_output(0).name = "y"
    network.mark_output(layer.get_output(0))
    feeds = {"d": data, "i": idx, "u": upd}
    got = run_network(builder, network, feeds)["y"]
    spec = [("d", data.shape), ("i", idx.shape, np.int64), ("u", upd.shape)]
    model = make_model([node], spec, [("y", data.shape)], opset=13)
    want = ort_run(model, {**feeds, "i": idx.astype(np.int64)})["y"]  # ScatterND: INT64 only
    np.testing.assert_array_equal(got, want)


def test_add_scatter_refuses_mismatched_operands():
    _, network = new_network()
    d = network.add_input("d", trt.float32, (3, 5))
    i = network.add_input("i", trt.int32, (2, 1))
    u = network.add_input("u", trt.float32, (2, 4))
    with pytest.raises(ValueError, match=r"add_scatter: ScatterMode.ND needs indices 'i' \(2, 1\)"):
        network.add_scatter(d, i, u, trt.ScatterMode.ND)
    with pytest.raises(ValueError, match="add_scatter: indices 'u' are FLOAT"):
        network.add_scatter(d, u, u, trt.ScatterMode.ELEMENT)


def test_add_one_hot_matches_onnxruntime():
    """add_one_hot with a negative index and one past depth, axis set on the layer (1, then read
    back), against onnxruntime's OneHot-11; exact. Its inputs read back as TensorRT's three."""
    idx = np.array([[0, 3, -1], [2, 4, 1]], np.int32)
    vals = np.array([-2.0, 5.0], np.float32)
    builder, network = new_network()
    ii = network.add_input("i", trt.int32, idx.shape)
    vi = network.add_constant((2,), vals).get_output(0)
    di = network.add_constant((), np.array(4, np.int32)).get_output(0)
    layer = network.add_one_hot(ii, vi, di, -1)
    assert isinstance(layer, trt.IOneHotLayer) and layer.type == trt.LayerType.ONE_HOT
    assert layer.axis == 2 and layer.get_output(0).shape == (2, 3, 4)
    layer.axis = 1
    assert layer.axis == 1 and layer.get_output(0).shape == (2, 4, 3)
    assert layer.num_inputs == 3 and layer.get_input(0).name == "i"
    assert network.get_layer(network.num_layers - 1).type == trt.LayerType.ONE_HOT
    layer.get_output(0).name = "y"
    network.mark_output(layer.get_output(0))
    got = run_network(builder, network, {"i": idx})["y"]
    node = onnx.helper.make_node("OneHot", ["i", "depth", "vals"], ["y"], axis=1)
    inits = {"depth": np.array(4, np.int32), "vals": vals}  # a type set onnxruntime has
    spec = [("i", idx.shape, np.int32)]
    model = make_model([node], spec, [("y", (2, 4, 3))], inits, opset=11)
    np.testing.assert_array_equal(got, ort_run(model, {"i": idx})["y"])


def test_add_one_hot_refuses_bad_operands():
    _, network = new_network()
    ii = network.add_input("i", trt.int32, (2, 3))
    vi = network.add_constant((3,), np.zeros(3, np.float32)).get_output(0)
    di = network.add_constant((), np.array(4, np.int32)).get_output(0)
    n = network.num_layers
    with pytest.raises(ValueError, match=r"add_one_hot: values '.*' have dims \(3,\); expected"):
        network.add_one_hot(ii, vi, di, 0)
    v2 = network.add_constant((2,), np.zeros(2, np.float32)).get_output(0)
    with pytest.raises(ValueError, match="add_one_hot: axis 3 is out of range for indices of rank"):
        network.add_one_hot(ii, v2, di, 3)
    assert network.num_layers == n + 1  # only the second constant: nothing half-built was left


@pytest.mark.parametrize("kind", ["instance", "group", "layer"])
def test_add_normalization_matches_onnxruntime(kind):
    """add_normalization as instance norm (axes H, W; scale/bias [1, C, 1, 1]), group norm
    (num_groups 2 set on the layer; scale/bias [1, G, 1, 1], checked against onnxruntime's
    GroupNormalization-21 with each group's value repeated per channel) and layer norm (the last
    axis, epsilon set on the layer), against onnxruntime. FP32 tolerance (1e-4 relative)."""
    rng = np.random.default_rng(21)
    x = rng.standard_normal((2, 4, 3, 5)).astype(np.float32)
    groups = 2 if kind == "group" else 1
    n = {"instance": 4, "group": 2, "layer": 5}[kind]
    gamma = rng.uniform(0.5, 1.5, n).astype(np.float32)
    beta = rng.standard_normal(n).astype(np.float32)
    shape = (5,) if kind == "layer" else (1, n, 1, 1)
    builder, network = new_network()
    xi = network.add_input("x", trt.float32, x.shape)
    si = network.add_constant(shape, gamma).get_output(0)
    bi = network.add_constant(shape, beta).get_output(0)
    axes = 1 << 3 if kind == "layer" else (1 << 2) | (1 << 3)
    layer = network.add_normalization(xi, si, bi, axes)
    assert isinstance(layer, trt.INormalizationLayer) and layer.type == trt.LayerType.NORMALIZATION
    assert (layer.epsilon, layer.axes, layer.num_groups) == (pytest.approx(1e-5), axes, 1)
    layer.num_groups = groups
    eps = 1e-3 if kind == "layer" else 1e-5
    layer.epsilon = eps
    assert (layer.num_groups, layer.axes, layer.epsilon) == (groups, axes, pytest.approx(eps))
    assert [layer.get_input(k).name for k in range(3)] == ["x", si.name, bi.name]
    layer.get_output(0).name = "y"
    network.mark_output(layer.get_output(0))
    got = run_network(builder, network, {"x": x})["y"]
    if kind == "instance":
        node = onnx.helper.make_node("InstanceNormalization", ["x", "g", "b"], ["y"], epsilon=eps)
        inits, opset = {"g": gamma, "b": beta}, 17
    elif kind == "group":
        node = onnx.helper.make_node(
            "GroupNormalization", ["x", "g", "b"], ["y"], epsilon=eps, num_groups=2
        )
        inits, opset = {"g": np.repeat(gamma, 2), "b": np.repeat(beta, 2)}, 21
    else:
        node = onnx.helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], epsilon=eps)
        inits, opset = {"g": gamma, "b": beta}, 17
    model = make_model([node], [("x", x.shape)], [("y", x.shape)], inits, opset=opset)
    assert_close(got, ort_run(model, {"x": x})["y"], rtol=RTOL, atol=1e-4)


def test_add_normalization_refuses_what_clrt_lacks():
    _, network = new_network()
    xi = network.add_input("x", trt.float32, (2, 4, 3, 5))
    s = network.add_constant((1, 4, 1, 1), np.ones(4, np.float32)).get_output(0)
    with pytest.raises(trt.UnsupportedError, match="add_normalization: axes bit mask 6 is not a"):
        network.add_normalization(xi, s, s, 0b0110)
    bad = network.add_constant((1, 3, 1, 1), np.ones(3, np.float32)).get_output(0)
    with pytest.raises(ValueError, match=r"add_normalization: scale \(1, 3, 1, 1\) does not bro"):
        network.add_normalization(xi, bad, s, 0b1100)
    layer = network.add_normalization(xi, s, s, 0b1100)
    with pytest.raises(ValueError, match=r"\[Normalization\]' num_groups: num_groups 3 needs"):
        layer.num_groups = 3
    assert layer.num_groups == 1


@pytest.mark.parametrize(
    "equation, shapes",
    [
        ("ij,jk->ik", [(3, 4), (4, 5)]),  # a matrix product
        ("bij,bkj->bik", [(2, 3, 4), (2, 5, 4)]),  # batched, the second operand transposed
        ("abc->cb", [(2, 3, 4)]),  # a reduction with a transpose
    ],
)
def test_add_einsum_matches_onnxruntime(equation, shapes):
    """add_einsum against onnxruntime's Einsum-12 and NumPy's einsum (float64) on the same
    inputs (seeded normals): FP32 tolerance (rtol 1e-4, atol 1e-5)."""
    rng = np.random.default_rng(31)
    xs = {f"x{k}": rng.standard_normal(s).astype(np.float32) for k, s in enumerate(shapes)}
    builder, network = new_network()
    ins = [network.add_input(n, trt.float32, x.shape) for n, x in xs.items()]
    layer = network.add_einsum(ins, equation)
    assert isinstance(layer, trt.IEinsumLayer) and layer.type == trt.LayerType.EINSUM
    assert layer.equation == equation and layer.num_inputs == len(ins)
    assert [layer.get_input(k).name for k in range(len(ins))] == list(xs)
    layer.get_output(0).name = "y"
    network.mark_output(layer.get_output(0))
    want = np.einsum(equation, *(x.astype(np.float64) for x in xs.values()))
    assert tuple(layer.get_output(0).shape) == want.shape
    got = run_network(builder, network, xs)["y"]
    node = onnx.helper.make_node("Einsum", list(xs), ["y"], equation=equation)
    model = make_model([node], [(n, x.shape) for n, x in xs.items()], [("y", want.shape)], opset=12)
    assert_close(got, ort_run(model, xs)["y"], rtol=RTOL, atol=ATOL)
    assert_close(got, want, rtol=RTOL, atol=ATOL)


def test_add_einsum_refusals_name_the_call_and_leave_nothing():
    _, network = new_network()
    a = network.add_input("a", trt.float32, (2, 3))
    b = network.add_input("b", trt.float32, (4, 3))
    with pytest.raises(trt.UnsupportedError, match="add_einsum: Einsum over 3 operands"):
        network.add_einsum([a, a, a], "ij,ij,ij->i")
    with pytest.raises(ValueError, match="add_einsum: term 'ijk' does not fit input 0 of rank 2"):
        network.add_einsum([a], "ijk->i")
    with pytest.raises(trt.UnsupportedError, match="add_einsum: label 'i' spans dims of 2 and 4"):
        network.add_einsum([a, b], "ij,ij->i")
    assert network.num_layers == 0  # the failed calls left no part behind
    layer = network.add_einsum([a, b], "ij, kj -> ik")
    assert layer.equation == "ij,kj->ik"
    layer.equation = "ij,kj->ik"  # the same equation: nothing to change
    with pytest.raises(trt.UnsupportedError, match=r"\[Einsum\]' equation: 'ij,kj->ki' differs"):
        layer.equation = "ij,kj->ki"
    with pytest.raises(trt.UnsupportedError, match=r"set_input: clrt builds this layer from"):
        layer.set_input(0, b)


def test_weights_from_a_host_pointer():
    # TensorRT's Weights(dtype, ptr, count) over host memory: read at the address (a constant
    # added to the input here); an unmapped address is a ValueError, not a crash.
    values = np.linspace(-2, 2, 12, dtype=np.float32)
    weights = trt.Weights(trt.float32, values.ctypes.data, values.size)
    assert weights.size == 12 and weights.nbytes == 48
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    net = builder.create_network(EXPLICIT_BATCH)
    x = net.add_input("x", trt.float32, (3, 4))
    c = net.add_constant((3, 4), weights)
    y = net.add_elementwise(x, c.get_output(0), trt.ElementWiseOperation.SUM).get_output(0)
    y.name = "y"
    net.mark_output(y)
    plan = builder.build_serialized_network(net, builder.create_builder_config())
    got = deserialize(plan).create_execution_context().infer({"x": np.ones((3, 4), np.float32)})
    np.testing.assert_array_equal(got["y"], values.reshape(3, 4) + 1)
    with pytest.raises(ValueError, match="0x10 .* is not mapped memory"):
        trt.Weights(trt.float32, 16, 4).numpy()
