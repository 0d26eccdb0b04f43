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
