# conv.direct and conv.int8_direct forced (config.tactic_filter) over the geometries their
# padded-input path handles differently: strides 1, 2 and 3, dilation, groups, asymmetric pads, a
# 1-D kernel, output rows shorter than or not a multiple of the 8 columns a work-item computes,
# the fused residual, FP16 storage, and a batch that takes several passes through the workspace.
# Depthwise layers likewise through conv.depthwise. Each against onnxruntime FP32.
import json

import clrt as trt
import numpy as np
import pytest
from helpers import deserialize, make_config, make_model, ort_run, parse_network, rand
from onnx.helper import make_node as N

# |clrt - ort| <= TOL * max|ort|: FP32 sums in another order; FP16 storage of input and output;
# INT8 (conv.int8_direct: per-tensor activations, per-channel weights, every tensor's range
# its largest magnitude in onnxruntime's run).
TOL = {"FLOAT": 1e-5, "HALF": 4e-3, "INT8": 0.06}
TACTIC = {"FLOAT": "conv.direct", "HALF": "conv.direct", "INT8": "conv.int8_direct"}
# Depthwise layers ("dw-" cases): conv.depthwise, whose NCHW kernel on CPUs reads the same
# padded copy (FLOAT and HALF; its INT8 kernel reads the input directly).
TACTIC_DW = {"FLOAT": "conv.depthwise", "HALF": "conv.depthwise"}


def case(x, k, kernel, residual=False, **attrs):
    """One Conv (+ Add of a residual, + Relu) over input shape x with k output channels."""
    c, group = x[1], attrs.get("group", 1)
    w = rand((k, c // group, *kernel), seed=1)
    nodes = [N("Conv", ["x", "w", "b"], ["c"], **attrs)]
    inputs = [("x", list(x))]
    last = "c"
    if residual:
        nodes.append(N("Add", ["c", "r"], ["s"]))
        inputs.append(("r", None))  # shape filled in from onnxruntime's output below
        last = "s"
    nodes.append(N("Relu", [last], ["y"]))
    return nodes, inputs, {"w": w, "b": rand((k,), seed=2)}


CASES = {
    "3x3-s1-pad1-w7": case((2, 16, 7, 7), 24, (3, 3), pads=[1, 1, 1, 1]),
    "3x3-s2-pad1-w28": case((2, 5, 28, 28), 16, (3, 3), strides=[2, 2], pads=[1, 1, 1, 1]),
    "5x5-s3-asym": case((1, 4, 17, 23), 8, (5, 5), strides=[3, 3], pads=[2, 0, 1, 3]),
    "3x3-dil2-w19": case((2, 6, 13, 19), 10, (3, 3), dilations=[2, 2], pads=[2, 2, 2, 2]),
    "3x3-groups4": case((1, 8, 9, 11), 12, (3, 3), group=4, pads=[1, 1, 1, 1]),
    "7x7-s2-stem": case((1, 3, 30, 30), 16, (7, 7), strides=[2, 2], pads=[3, 3, 3, 3]),
    "1x3-rect-w3": case((2, 4, 5, 3), 6, (1, 3), pads=[0, 1, 0, 1]),
    "1d-k5-s2": case((2, 3, 40), 7, (5,), strides=[2], pads=[2, 2]),
    # No pads and 16 columns: FLOAT reads the input in place (no padded copy), HALF and INT8 pad.
    "1x1-in-place-w16": case((3, 24, 5, 16), 20, (1, 1)),
    "1x1-s2-w16": case((2, 8, 6, 16), 12, (1, 1), strides=[2, 2]),
    "3x3-residual-w10": case((2, 8, 10, 10), 8, (3, 3), residual=True, pads=[1, 1, 1, 1]),
    # 16 x 302 x 306 padded floats an image (5.9 MB): five images a pass, then two.
    "3x3-chunks": case((7, 16, 300, 300), 16, (3, 3), pads=[1, 1, 1, 1]),
    "dw-3x3-s1-w7": case((2, 16, 7, 7), 16, (3, 3), group=16, pads=[1, 1, 1, 1]),
    "dw-3x3-s2-w28": case((2, 8, 28, 28), 8, (3, 3), group=8, strides=[2, 2], pads=[1, 1, 1, 1]),
    "dw-5x5-s3-asym": case((1, 4, 17, 23), 4, (5, 5), group=4, strides=[3, 3], pads=[2, 0, 1, 3]),
    "dw-3x3-dil2": case((2, 6, 13, 19), 6, (3, 3), group=6, dilations=[2, 2], pads=[2, 2, 2, 2]),
    "dw-1d-k5-s2": case((2, 3, 40), 3, (5,), group=3, strides=[2], pads=[2, 2]),
    "dw-3x3-residual-w16": case(
        (2, 8, 10, 16), 8, (3, 3), group=8, residual=True, pads=[1, 1, 1, 1]
    ),
    # 32 x 302 x 306 padded floats an image (11.8 MB): two images a pass, twice, then one.
    "dw-3x3-chunks": case((5, 32, 300, 300), 32, (3, 3), group=32, pads=[1, 1, 1, 1]),
}


def tactic(name, precision):
    return (TACTIC_DW if name.startswith("dw-") else TACTIC)[precision]


def build(model, precision, ranges, tactic_name):
    builder, network, _ = parse_network(model)
    config = builder.create_builder_config()
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    config.tactic_filter = tactic_name
    if precision == "INT8":
        config.set_flag(trt.BuilderFlag.INT8)
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        tensors = [network.get_input(i) for i in range(network.num_inputs)]
        for i in range(network.num_layers):
            network.get_layer(i).precision = trt.int8
            tensors += [network.get_layer(i).get_output(0)]
        for t in tensors:
            if t.name in ranges:
                t.set_dynamic_range(-ranges[t.name], ranges[t.name])
    if precision == "HALF":
        config.set_flag(trt.BuilderFlag.FP16)
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        for i in range(network.num_layers):
            layer = network.get_layer(i)
            if layer.type == trt.LayerType.CONVOLUTION:
                layer.precision = trt.DataType.HALF
    engine = deserialize(bytes(builder.build_serialized_network(network, config)))
    inspector = engine.create_engine_inspector()
    info = inspector.get_engine_information(trt.LayerInformationFormat.JSON)
    return engine, info


# The workspace passes do not depend on the storage: the large case runs in FLOAT and INT8.
PARAMS = [
    (n, p)
    for n in sorted(CASES)
    for p in (TACTIC_DW if n.startswith("dw-") else TACTIC)
    if not (n.endswith("chunks") and p == "HALF")
]


def tensor_ranges(nodes, inputs, inits, feeds):
    """Largest magnitude of every network input and node output in onnxruntime's run."""
    names = [o for node in nodes for o in node.output]
    every = make_model(nodes, inputs, [(o,) for o in names], inits)
    values = {**feeds, **ort_run(every, feeds)}
    return {k: float(np.abs(v).max()) for k, v in values.items()}


@pytest.mark.parametrize("name,precision", PARAMS)
def test_direct_conv_matches_onnxruntime(name, precision):
    nodes, inputs, inits = CASES[name]
    x = rand(inputs[0][1], seed=3)
    feeds = {"x": x}
    if len(inputs) > 1:  # the residual has the convolution's output shape
        conv_only = make_model(nodes[:1], inputs[:1], [("c",)], inits)
        feeds["r"] = rand(ort_run(conv_only, {"x": x})["c"].shape, seed=4)
        inputs = [inputs[0], ("r", list(feeds["r"].shape))]
    model = make_model(nodes, inputs, [("y",)], inits)
    want = ort_run(model, feeds)["y"]
    engine, info = build(
        model, precision, tensor_ranges(nodes, inputs, inits, feeds), tactic(name, precision)
    )
    layers = json.loads(info)["Layers"]
    convs = [layer for layer in layers if layer.get("LayerType") == "CONVOLUTION"]
    assert convs and all(c["TacticName"] == tactic(name, precision) for c in convs), convs
    assert all(c["Precision"] == precision for c in convs), convs
    got = engine.create_execution_context().infer(feeds)["y"]
    assert got.shape == want.shape
    err = np.abs(got.astype(np.float64) - want).max()
    assert err <= TOL[precision] * np.abs(want).max(), (name, precision, err)


def test_in_place_layer_at_a_shape_that_needs_the_copy():
    """A 1x1 layer built for widths 12 to 16: at 16 it reads its FLOAT input in place, at 12
    (no multiple of 8) through the padded copy, whose workspace the engine sized at width 16."""
    rng = np.random.default_rng(5)
    w = (rng.standard_normal((6, 8, 1, 1)) * 0.3).astype(np.float32)
    model = make_model([N("Conv", ["x", "w"], ["y"])], [("x", [2, 8, 3, "W"])], [("y",)], {"w": w})
    builder, network, _ = parse_network(model)
    config = make_config(builder, {"x": ((2, 8, 3, 12), (2, 8, 3, 16), (2, 8, 3, 16))})
    config.tactic_filter = "conv.direct"
    engine = deserialize(bytes(builder.build_serialized_network(network, config)))
    context = engine.create_execution_context()
    for width in (16, 12, 16):
        x = rng.uniform(-1, 1, (2, 8, 3, width)).astype(np.float32)
        context.set_input_shape("x", x.shape)
        got = context.infer({"x": x})["y"]
        want = ort_run(model, {"x": x})["y"]
        assert np.abs(got - want).max() <= TOL["FLOAT"] * np.abs(want).max(), width
