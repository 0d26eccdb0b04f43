# The ping-pong GEMM (matmul.tc_fp16_pp / matmul.tc_int8_pp: tc_matmul PINGPONG, a producer
# warpgroup and two consumers taking a persistent block's tiles in turn; _pp256 with 64 x 256
# consumer tiles) against onnxruntime
# FP32 and, the same k-tiles being multiplied in the same order with the same epilogue, bit for
# bit against the ordinary warpgroup tile (matmul.tc_<precision>_wg). Two blocks
# (CLRT_TC_PP_BLOCKS=2) walk 9 tiles, so each consumer takes several and the 6-slot ring wraps;
# the last row and column tiles are not whole, and a reduction ends in a partial k-tile. Cases: a
# weights MatMul with bias and ReLU (FP16); INT8 layers with an INT8 residual and an INT8 output
# for the next layer; a batched product of two activations (B transposed through the
# workspace); and channels-last 1x1 convolutions run as GEMMs on it (conv.tc_<precision>_wgpp:
# 64 x 64 emulated tiles over 510 pixels, a residual, INT8 output for the next INT8 layer),
# against conv.tc_<precision>_wg. Runs where the current OpenCL device is NVIDIA; elsewhere
# with CLRT_TC_EMULATE=1 (the tiles in lockstep: indexing, not the mbarriers; the turns and
# parity waits were checked on an H100), which CI runs as its own step.
import json

import clrt as trt
import numpy as np
import pytest
from helpers import make_model, ort_run
from onnx.helper import make_node as N
from test_tc_persist import block_model
from test_tc_persist import build_forced as persist_build_forced
from test_tensorcore import FP16_REL, INT8_REL, NEEDS_TC, all_ranges, chosen

pytestmark = [NEEDS_TC, pytest.mark.usefixtures("channels_last")]


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
    """`model` built in `precision` with only `tactic` (and the tactics of other kinds) allowed;
    INT8 with every tensor's range from onnxruntime on `feeds`."""
    ranges = all_ranges(model, feeds) if precision == "int8" else {}
    return persist_build_forced(model, precision, ranges, tactic)


def channels_last_layers(engine, tactic):
    """How many layers run `tactic` with every input and output channels last: a convolution
    tactic's 1x1 layers that run as GEMMs."""
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    return sum(
        layer.get("TacticName") == tactic
        and all(t.get("Format") == "HWC" for t in layer["Inputs"] + layer["Outputs"])
        for layer in json.loads(info)["Layers"]
    )


def run(engine, feeds):
    return engine.create_execution_context().infer(feeds)["output"]


def conv_block(precision):
    """test_tc_persist's block: 1x1 layers a (C -> c2) and p (C -> n1, the residual) on the
    network's input, b (c2 -> n1, + p) and d (n1 -> n2) on channels-last tensors, so GEMMs.
    INT8: C 16 (rows of whole 16-byte chunks), b's reduction 64 channels, d's 256 (two
    k-tiles), d's 72 columns one partial tile; FP16: C 8, b's 96 channels (1.5 k-tiles), a half
    residual. 2 x 15 x 17 = 510 pixels."""
    dims = (16, 64, 256, 72) if precision == "int8" else (8, 96, 128, 40)
    return block_model(*dims, (2, dims[0], 15, 17), seed=45)


# name: precision, model, the tactic family ("matmul.tc_<p>_pp" / "conv.tc_<p>_wgpp"), the
# layers it must run (a convolution's tactic is named by the layers that read the network's
# input too, which run its convolution tile), the tactic of the same arithmetic to compare with.
CASES = {
    "dense_fp16": ("fp16", dense_model, "matmul.tc_{}_pp", 1, "matmul.tc_{}_wg"),
    "residual_int8": ("int8", residual_model, "matmul.tc_{}_pp", 3, "matmul.tc_{}_wg"),
    "batched_fp16": ("fp16", batched_model, "matmul.tc_{}_pp", 1, "matmul.tc_{}_wg"),
    "conv_int8": ("int8", lambda: conv_block("int8"), "conv.tc_{}_wgpp", 4, "conv.tc_{}_wg"),
    "conv_fp16": ("fp16", lambda: conv_block("fp16"), "conv.tc_{}_wgpp", 4, "conv.tc_{}_wg"),
    # The 64 x 256 consumer tiles (natively; emulated, the same 64 x 64 tiles as _pp).
    "dense_fp16_256": ("fp16", dense_model, "matmul.tc_{}_pp256", 1, "matmul.tc_{}_wg"),
    "residual_int8_256": ("int8", residual_model, "matmul.tc_{}_pp256", 3, "matmul.tc_{}_wg"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_pingpong_matches_onnxruntime_and_warpgroup_tile(name, monkeypatch):
    precision, make, family, n_layers, other = CASES[name]
    tactic, other = family.format(precision), other.format(precision)
    monkeypatch.setenv("CLRT_TC_PP_BLOCKS", "2")
    model, x = make()
    feeds = x if isinstance(x, dict) else {"input": x}
    engine = build_forced(model, precision, feeds, tactic)
    tactics = chosen(engine)
    assert tactics.count(tactic) == n_layers, tactics
    if tactic.startswith("conv."):  # b and d at least: GEMMs
        assert channels_last_layers(engine, tactic) >= 2, tactics
    got = run(engine, feeds)
    ref = ort_run(model, feeds)["output"]
    err = float(np.abs(got.astype(np.float64) - ref).max() / np.abs(ref).max())
    assert err < (INT8_REL if precision == "int8" else FP16_REL), err
    # The same k-tiles multiplied in the same order, the same epilogue: the same bits.
    np.testing.assert_array_equal(got, run(build_forced(model, precision, feeds, other), feeds))


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
