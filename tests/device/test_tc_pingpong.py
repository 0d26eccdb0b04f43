# The ping-pong GEMM (matmul.tc_fp16_pp / matmul.tc_int8_pp: tc_matmul PINGPONG, a producer
# warpgroup and two consumers taking a persistent block's tiles in turn) against onnxruntime
# FP32 and, the same k-tiles being multiplied in the same order with the same epilogue, bit for
# bit against the ordinary warpgroup tile (matmul.tc_<precision>_wg). Two blocks
# (CLRT_TC_PP_BLOCKS=2) walk 9 tiles, so each consumer takes several and the 4-slot ring wraps;
# the last row and column tiles are not whole, and a reduction ends in a partial k-tile. Cases: a
# weights MatMul with bias and ReLU (FP16); INT8 layers with an INT8 residual and an INT8 output
# for the next layer; a batched product of two activations (B transposed through the
# workspace). Runs where the current OpenCL device is NVIDIA; elsewhere with CLRT_TC_EMULATE=1
# (the tiles in lockstep: indexing, not the mbarriers), which CI runs as its own step.
import clrt as trt
import numpy as np
import pytest
from helpers import make_config, make_model, ort_run, parse_network
from onnx.helper import make_node as N
from test_tensorcore import FP16_REL, INT8_REL, NEEDS_TC, all_ranges, build, chosen

pytestmark = [NEEDS_TC]


def _w(rng, *shape):
    return (rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32)


def dense_model():
    """[2, 70, 160] @ [160, 136] + bias -> ReLU: 140 x 136 x 160, 3 x 3 tiles of 64 x 64 (the
    emulated consumer tile), K 2.5 k-tiles of FP16."""
    rng = np.random.default_rng(41)
    inits = {"w": _w(rng, 160, 136), "b": rng.uniform(-0.2, 0.2, 136).astype(np.float32)}
    nodes = [N("MatMul", ["input", "w"], ["m"]), N("Add", ["m", "b"], ["a"])]
    nodes.append(N("Relu", ["a"], ["output"]))
    x = rng.uniform(-1, 1, (2, 70, 160)).astype(np.float32)
    return make_model(nodes, [("input", x.shape)], [("output", (2, 70, 136))], inits), x


def residual_model():
    """MatMul 160 -> 144 + bias -> ReLU (r), MatMul r -> 144 + r (an INT8 residual) -> ReLU,
    MatMul -> 136: in INT8 the first two write INT8 for the next layer; K 160 is 1.25 k-tiles of
    INT8."""
    rng = np.random.default_rng(42)
    inits = {"w1": _w(rng, 160, 144), "w2": _w(rng, 144, 144), "w3": _w(rng, 144, 136)}
    inits["b1"] = rng.uniform(-0.1, 0.1, 144).astype(np.float32)
    nodes = [
        N("MatMul", ["input", "w1"], ["m1"]),
        N("Add", ["m1", "b1"], ["a1"]),
        N("Relu", ["a1"], ["r1"]),
        N("MatMul", ["r1", "w2"], ["m2"]),
        N("Add", ["m2", "r1"], ["a2"]),
        N("Relu", ["a2"], ["r2"]),
        N("MatMul", ["r2", "w3"], ["output"]),
    ]
    x = rng.uniform(-1, 1, (2, 70, 160)).astype(np.float32)
    return make_model(nodes, [("input", x.shape)], [("output", (2, 70, 136))], inits), x


def batched_model():
    """input [3, 70, 96] @ (input2 [3, 96, 136] * 0.5): a product of two activations, three
    matrices (the launch's second dimension), B stored K x N (transposed into the workspace)."""
    rng = np.random.default_rng(43)
    nodes = [N("Mul", ["input2", "half"], ["b"]), N("MatMul", ["input", "b"], ["output"])]
    model = make_model(
        nodes,
        [("input", (3, 70, 96)), ("input2", (3, 96, 136))],
        [("output", (3, 70, 136))],
        {"half": np.array(0.5, np.float32)},
    )
    feeds = {
        "input": rng.uniform(-1, 1, (3, 70, 96)).astype(np.float32),
        "input2": rng.uniform(-1, 1, (3, 96, 136)).astype(np.float32),
    }
    return model, feeds


def build_forced(model, precision, feeds, tactic):
    builder, network, _ = parse_network(model, logger=trt.Logger(trt.Logger.WARNING))
    if precision == "int8":
        ranges = all_ranges(model, feeds)
        for i in range(network.num_inputs):
            t = network.get_input(i)
            t.set_dynamic_range(-ranges[t.name], ranges[t.name])
        for li in range(network.num_layers):
            out = network.get_layer(li).get_output(0)
            if out.name in ranges:
                out.set_dynamic_range(-ranges[out.name], ranges[out.name])
    config = make_config(builder, opt_level=0)
    config.set_flag(trt.BuilderFlag.FP16 if precision == "fp16" else trt.BuilderFlag.INT8)
    config.tactic_filter = tactic
    return build(builder, network, config)


def run(engine, feeds):
    return engine.create_execution_context().infer(feeds)["output"]


CASES = {
    "dense_fp16": ("fp16", dense_model, 1),
    "residual_int8": ("int8", residual_model, 3),
    "batched_fp16": ("fp16", batched_model, 1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_pingpong_matches_onnxruntime_and_warpgroup_tile(name, monkeypatch):
    precision, make, n_layers = CASES[name]
    monkeypatch.setenv("CLRT_TC_PP_BLOCKS", "2")
    model, x = make()
    feeds = x if isinstance(x, dict) else {"input": x}
    engine = build_forced(model, precision, feeds, f"matmul.tc_{precision}_pp")
    tactics = chosen(engine)
    assert tactics.count(f"matmul.tc_{precision}_pp") == n_layers, tactics
    got = run(engine, feeds)
    ref = ort_run(model, feeds)["output"]
    err = float(np.abs(got.astype(np.float64) - ref).max() / np.abs(ref).max())
    assert err < (INT8_REL if precision == "int8" else FP16_REL), err
    plain = build_forced(model, precision, feeds, f"matmul.tc_{precision}_wg")
    np.testing.assert_array_equal(got, run(plain, feeds))


def test_unaligned_reduction_is_not_offered():
    """K = 100 FP16 elements (200 bytes a row) is not whole 16-byte chunks: the filter that names
    only the ping-pong tile leaves the layer no tactic, and the error says which."""
    rng = np.random.default_rng(44)
    model = make_model(
        [N("MatMul", ["input", "w"], ["output"])],
        [("input", (1, 8, 100))],
        [("output", (1, 8, 16))],
        {"w": _w(rng, 100, 16)},
    )
    feeds = {"input": rng.uniform(-1, 1, (1, 8, 100)).astype(np.float32)}
    with pytest.raises(trt.BuildError, match="matmul.tc_fp16_pp"):
        build_forced(model, "fp16", feeds, "matmul.tc_fp16_pp")
