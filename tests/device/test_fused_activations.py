# Every activation of the kernels' table is fused into conv / matmul epilogues (FP32, and INT8
# whose epilogue applies it to float8/float16 vectors): the engine holds one layer that came from
# both ONNX nodes (engine inspector), and its output matches onnxruntime.
import json

import clrt as trt
import numpy as np
import pytest
from helpers import deserialize, make_model, ort_run, parse_network, rand
from onnx.helper import make_node as N

# (ONNX op, attributes, opset): the activations newly fused (ELU, SOFTPLUS, GELU_TANH), one of
# the earlier ones as a control, and SiLU as PyTorch exports it below opset 24 (x * sigmoid(x),
# collapsed into SWISH first).
ACTS = [
    ("Elu", {"alpha": 0.6}, 17),
    ("Softplus", {}, 17),
    ("Gelu", {"approximate": "tanh"}, 20),
    ("HardSigmoid", {}, 17),
    ("SiLU", {}, 17),
    ("GeluTanhWrittenOut", {}, 17),
]
# GELU's tanh approximation as Hugging Face's GPT-2 exports it ("gelu_new"): eight nodes
# collapsed into GELU_TANH, then fused.
GELU_TANH_NODES = [
    N("Mul", ["c", "half"], ["h"]),
    N("Pow", ["c", "three"], ["p3"]),
    N("Mul", ["p3", "k"], ["cubic"]),
    N("Add", ["c", "cubic"], ["v"]),
    N("Mul", ["v", "root"], ["u"]),
    N("Tanh", ["u"], ["t"]),
    N("Add", ["t", "one"], ["a"]),
    N("Mul", ["h", "a"], ["y"]),
]
GELU_TANH_CONSTS = {
    "half": np.array(0.5, np.float32),
    "three": np.array(3.0, np.float32),
    "k": np.array(0.044715, np.float32),
    "root": np.array(np.sqrt(2 / np.pi), np.float32),
    "one": np.array(1.0, np.float32),
}
# |clrt - ort| <= TOL * max|ort|: FP32 sums in another order; INT8 quantization of input,
# weights and output.
TOL = {"FLOAT": 1e-4, "INT8": 0.06}


def model_of(host, act):
    op, attrs, opset = act
    if host == "conv":
        first = N("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1])
        inputs, inits = [("x", [1, 8, 7, 7])], {"w": rand((16, 8, 3, 3), seed=1)}
        inits["b"] = rand((16,), seed=2)
    else:
        first = N("MatMul", ["x", "w"], ["c"])
        inputs, inits = [("x", [2, 5, 12])], {"w": rand((12, 9), seed=3)}
    if op == "SiLU":
        nodes = [first, N("Sigmoid", ["c"], ["s"]), N("Mul", ["c", "s"], ["y"])]
    elif op == "GeluTanhWrittenOut":
        nodes = [first, *GELU_TANH_NODES]
        inits.update(GELU_TANH_CONSTS)
    else:
        nodes = [first, N(op, ["c"], ["y"], **attrs)]
    return make_model(nodes, inputs, [("y",)], inits, opset=opset), inputs


def build(model, precision, ranges):
    builder, network, _ = parse_network(model)
    config = builder.create_builder_config()
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    config.builder_optimization_level = 0
    if precision == "INT8":
        config.set_flag(trt.BuilderFlag.INT8)
        for i in range(network.num_inputs):
            t = network.get_input(i)
            t.set_dynamic_range(-ranges[t.name], ranges[t.name])
        for i in range(network.num_layers):
            for j in range(network.get_layer(i).num_outputs):
                t = network.get_layer(i).get_output(j)
                r = ranges.get(t.name, ranges["y"] * 4)  # "c" before the activation
                t.set_dynamic_range(-r, r)
    return deserialize(bytes(builder.build_serialized_network(network, config)))


@pytest.mark.parametrize("act", ACTS, ids=[a[0] for a in ACTS])
@pytest.mark.parametrize(
    "host, precision", [("conv", "FLOAT"), ("matmul", "FLOAT"), ("conv", "INT8")]
)
def test_activation_fused_into_epilogue(host, precision, act):
    model, inputs = model_of(host, act)
    feeds = {name: rand(shape, seed=5) for name, shape in inputs}
    ref = ort_run(model, feeds)["y"]
    ranges = {"x": float(np.abs(feeds["x"]).max()), "y": float(np.abs(ref).max())}
    engine = build(model, precision, ranges)
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    layers = [entry for entry in json.loads(info)["Layers"] if entry["Location"] == "Device"]
    computing = [entry for entry in layers if entry["LayerType"] != "REFORMAT"]
    assert len(computing) == 1, computing
    # The host node and the activation's node(s).
    nodes = {"SiLU": 3, "GeluTanhWrittenOut": 9}.get(act[0], 2)
    assert len(computing[0]["Origin"]) == nodes, computing[0]
    assert computing[0]["Precision"] == precision, computing[0]
    got = engine.create_execution_context().infer(feeds)["y"]
    err = np.abs(got.astype(np.float64) - ref).max()
    assert err <= TOL[precision] * np.abs(ref).max(), err


def test_activation_fused_through_a_reshape():
    # Hugging Face's Conv1D (GPT-2's c_fc): the product on [B * S, K] viewed as [B, S, N], then
    # the written-out tanh GELU. The activation commutes with the reshape, joins the MatMul's
    # epilogue, and the reshape (a view) writes the GELU's output.
    nodes = [
        N("MatMul", ["x", "w"], ["c0"]),
        N("Reshape", ["c0", "shape"], ["c"]),
        *GELU_TANH_NODES,
    ]
    inits = {"w": rand((12, 9), seed=3), "shape": np.array([2, 5, 9], np.int64)}
    model = make_model(nodes, [("x", [10, 12])], [("y",)], {**inits, **GELU_TANH_CONSTS})
    feeds = {"x": rand((10, 12), seed=5)}
    engine = build(model, "FLOAT", {})
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    layers = json.loads(info)["Layers"]
    assert [x["LayerType"] for x in layers] == ["MATRIX_MULTIPLY", "RESHAPE"], layers
    assert len(layers[0]["Origin"]) == 9, layers[0]
    ref = ort_run(model, feeds)["y"]
    got = engine.create_execution_context().infer(feeds)["y"]
    assert np.abs(got.astype(np.float64) - ref).max() <= TOL["FLOAT"] * np.abs(ref).max()


def test_residual_fused_through_a_reshape():
    # GPT-2's c_proj: the product on [B * S, K] viewed as [B, S, N] plus the residual stream:
    # the MatMul's epilogue adds the residual (read through a reshape view), no Add runs.
    nodes = [
        N("MatMul", ["x", "w"], ["c0"]),
        N("Reshape", ["c0", "shape"], ["c"]),
        N("Add", ["c", "res"], ["y"]),
    ]
    inits = {"w": rand((12, 9), seed=3), "shape": np.array([2, 5, 9], np.int64)}
    model = make_model(nodes, [("x", [10, 12]), ("res", [2, 5, 9])], [("y",)], inits)
    feeds = {"x": rand((10, 12), seed=5), "res": rand((2, 5, 9), seed=6)}
    engine = build(model, "FLOAT", {})
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    kinds = sorted(x["LayerType"] for x in json.loads(info)["Layers"])
    assert kinds == ["MATRIX_MULTIPLY", "RESHAPE", "RESHAPE"], kinds
    ref = ort_run(model, feeds)["y"]
    got = engine.create_execution_context().infer(feeds)["y"]
    assert np.abs(got.astype(np.float64) - ref).max() <= TOL["FLOAT"] * np.abs(ref).max()


def conv_chain(acts):
    """Three 3x3 convolutions of one shape, each followed by the ONNX node(s) of `acts[i]`
    ("none", "relu" or "relu6")."""
    nodes, inits, x = [], {}, "x"
    for i, act in enumerate(acts):
        c = f"c{i}"
        nodes.append(N("Conv", [x, f"w{i}", f"b{i}"], [c], pads=[1, 1, 1, 1], name=f"conv{i}"))
        inits[f"w{i}"] = rand((8, 8, 3, 3), seed=10 + i)
        inits[f"b{i}"] = rand((8,), seed=20 + i)
        x = c if act == "none" else f"a{i}"
        if act == "relu":
            nodes.append(N("Relu", [c], [x]))
        elif act == "relu6":
            inits[f"lo{i}"], inits[f"hi{i}"] = np.float32(0), np.float32(6)
            nodes.append(N("Clip", [c, f"lo{i}", f"hi{i}"], [x]))
    nodes.append(N("Identity", [x], ["y"]))
    return make_model(nodes, [("x", [1, 8, 9, 9])], [("y",)], inits)


def test_plain_relu_and_clip_epilogues_share_one_program():
    """No activation, ReLU and Clip run as one program (a clamp whose bounds are arguments):
    a network with one convolution of each compiles as many programs as one whose three are all
    ReLU, and each still matches onnxruntime, NaN passing through every epilogue."""
    counts, outs = {}, {}
    feeds = {"x": rand((1, 8, 9, 9), seed=7) * 3}
    feeds["x"][0, 0, 4, 4] = np.nan
    for acts in (("none", "relu", "relu6"), ("relu", "relu", "relu")):
        model = conv_chain(acts)
        builder, network, _ = parse_network(model)
        config = builder.create_builder_config()
        config.tactic_filter = "conv.direct"
        cache = config.create_timing_cache(b"")
        assert config.set_timing_cache(cache, False)
        engine = deserialize(bytes(builder.build_serialized_network(network, config)))
        counts[acts] = cache.num_programs
        outs[acts] = (
            engine.create_execution_context().infer(feeds)["y"],
            ort_run(model, feeds)["y"],
        )
    assert counts[("none", "relu", "relu6")] == counts[("relu", "relu", "relu")], counts
    for got, ref in outs.values():
        assert np.array_equal(np.isnan(got), np.isnan(ref))
        ok = ~np.isnan(ref)
        assert np.abs(got[ok] - ref[ok]).max() <= 1e-4 * np.abs(ref[ok]).max()
