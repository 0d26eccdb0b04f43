# tc_matmul's register epilogue (EP_REG, CLRT_TC_EP_REG=1: rows written straight from the
# accumulators after a quad transpose by shuffles, no local-memory staging) against onnxruntime,
# and bit for bit against the default staged epilogue: MatMul with a bias and an activation,
# widths that are and are not multiples of 8 (the vector and the element-by-element paths), and
# a channels-last 1x1 convolution run as a GEMM with a residual (INT8 output and residual in
# INT8); FP16, INT8 and TF32. Runs where the current OpenCL device is NVIDIA; elsewhere with
# CLRT_TC_EMULATE=1 (shuffles through local memory), which CI runs as its own step.
import numpy as np
import pytest
from helpers import make_model, ort_run
from onnx.helper import make_node as N
from test_tensorcore import FP16_REL, INT8_REL, NEEDS_TC, TF32_REL, all_ranges, build_in, chosen

pytestmark = [NEEDS_TC, pytest.mark.usefixtures("channels_last", "tf32_allowed")]

REL = {"fp16": FP16_REL, "int8": INT8_REL, "tf32": TF32_REL}


def matmul_model(n):
    rng = np.random.default_rng(11)
    w = (rng.standard_normal((96, n)) / np.sqrt(96)).astype(np.float32)
    b = rng.uniform(-0.2, 0.2, n).astype(np.float32)
    nodes = [N("MatMul", ["input", "w"], ["m"]), N("Add", ["m", "b"], ["a"])]
    nodes.append(N("Relu", ["a"], ["output"]))
    x = rng.uniform(-1, 1, (2, 40, 96)).astype(np.float32)
    return make_model(
        nodes, [("input", (2, 40, 96))], [("output", (2, 40, n))], {"w": w, "b": b}
    ), x


def residual_model():
    """Conv 3x3 (32 -> 32) -> ReLU -> Conv 1x1 (32 -> 64, a GEMM on channels-last tensors) + a
    1x1 projection of the block's input (the residual) -> ReLU."""
    rng = np.random.default_rng(12)

    def w(*shape):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))).astype(np.float32)

    inits = {"w1": w(32, 32, 3, 3), "w2": w(64, 32, 1, 1), "w3": w(64, 32, 1, 1)}
    inits["b2"] = rng.uniform(-0.1, 0.1, 64).astype(np.float32)
    nodes = [
        N("Conv", ["input", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        N("Relu", ["c1"], ["r1"]),
        N("Conv", ["input", "w3"], ["proj"]),
        N("Conv", ["r1", "w2", "b2"], ["c2"]),
        N("Add", ["c2", "proj"], ["s"]),
        N("Relu", ["s"], ["output"]),
    ]
    x = rng.uniform(-1, 1, (2, 32, 7, 9)).astype(np.float32)
    model = make_model(nodes, [("input", (2, 32, 7, 9))], [("output", (2, 64, 7, 9))], inits)
    return model, x


MODELS = {"matmul_n72": lambda: matmul_model(72), "matmul_n70": lambda: matmul_model(70)}
MODELS["conv_residual"] = residual_model


# FP16 and INT8 on every model; TF32 (float operands, the same epilogue) on one.
RUNS = [(name, p) for name in MODELS for p in ("fp16", "int8")] + [("matmul_n70", "tf32")]


@pytest.mark.parametrize("name,precision", RUNS)
def test_register_epilogue(name, precision, monkeypatch):
    model, x = MODELS[name]()
    ranges = all_ranges(model, {"input": x})
    got = {}
    for reg in ("0", "1"):
        monkeypatch.setenv("CLRT_TC_EP_REG", reg)
        engine = build_in(model, precision, ranges)
        tactics = chosen(engine)
        assert any(t.startswith(("matmul.tc_", "conv.tc_")) for t in tactics), tactics
        got[reg] = engine.create_execution_context().infer({"input": x})["output"]
    ref = ort_run(model, {"input": x})["output"]
    err = float(np.abs(got["1"].astype(np.float64) - ref).max() / np.abs(ref).max())
    assert err < REL[precision], err
    # The same arithmetic in the same order: the two epilogues agree exactly.
    np.testing.assert_array_equal(got["1"], got["0"])
