# The persistent form of channels-last 1x1 convolutions (conv.tc_<precision>_wgp: tc_matmul
# PERSIST), against onnxruntime FP32 and, INT8 being exact integer sums, bit for bit against the
# same layers on the ordinary warpgroup GEMM (conv.tc_int8_wg). A block holds its column tile's
# weights and walks several row tiles with the next ones' pixels and residual copied ahead into a
# ring: the cases make blocks walk more tiles than the ring has slots, with a last row tile and
# a last column tile that are not whole, reductions of one k-tile and of two (one not whole), a
# residual (INT8 or half) and an output narrowed to INT8 for the next INT8 layer. Runs where the
# current OpenCL device is NVIDIA; elsewhere with CLRT_TC_EMULATE=1 (64 x 64 warpgroup tiles on
# PoCL's two compute units: four blocks), which CI runs as its own step.
import clrt as trt
import numpy as np
import pytest
from helpers import make_config, make_model, ort_run, parse_network
from onnx.helper import make_node as N
from test_tensorcore import FP16_REL, INT8_REL, NEEDS_TC, all_ranges, build, chosen

pytestmark = [NEEDS_TC, pytest.mark.usefixtures("channels_last")]


def block_model(c, c2, n1, n2, shape, seed):
    """input (C channels) -> 1x1 a (C -> c2) -> ReLU -> 1x1 b (c2 -> n1) + 1x1 projection p of
    the input (the residual) -> ReLU -> 1x1 d (n1 -> n2). a and p read the network's input (not
    channels last: the tactic's convolution tile); b and d read channels-last tensors, so they
    are GEMMs: b of reduction c2 with a residual, d of reduction n1."""
    rng = np.random.default_rng(seed)

    def w(*s):
        return (rng.standard_normal(s) * np.sqrt(2.0 / np.prod(s[1:]))).astype(np.float32)

    def b(n):
        return rng.uniform(-0.1, 0.1, n).astype(np.float32)

    inits = {"wa": w(c2, c, 1, 1), "ba": b(c2), "wp": w(n1, c, 1, 1), "wb": w(n1, c2, 1, 1)}
    inits.update({"bb": b(n1), "wd": w(n2, n1, 1, 1), "bd": b(n2)})
    nodes = [
        N("Conv", ["input", "wa", "ba"], ["ca"]),
        N("Relu", ["ca"], ["ra"]),
        N("Conv", ["input", "wp"], ["proj"]),
        N("Conv", ["ra", "wb", "bb"], ["cb"]),
        N("Add", ["cb", "proj"], ["s"]),
        N("Relu", ["s"], ["rb"]),
        N("Conv", ["rb", "wd", "bd"], ["output"]),
    ]
    out = (shape[0], n2, shape[2], shape[3])
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    return make_model(nodes, [("input", shape)], [("output", out)], inits), x


# name: precision, (C, c2, n1, n2), input shape. INT8: b's reduction one 64-byte k-tile (64
# channels), d's two 128-byte ones (256), d's 72 columns one partial tile; 2 x 15 x 17 = 510
# pixels, the last row tile partial. FP16: b's 96 channels 1.5 k-tiles of 128 bytes, d's 128 two
# whole ones; n1 = 128 with a half residual.
CASES = {
    "int8": ("int8", (8, 64, 256, 72), (2, 8, 15, 17)),
    "fp16": ("fp16", (8, 96, 128, 40), (2, 8, 13, 11)),
}


def build_forced(model, precision, ranges, tactics):
    builder, network, _ = parse_network(model, logger=trt.Logger(trt.Logger.WARNING))
    if precision == "int8":
        for i in range(network.num_inputs):
            t = network.get_input(i)
            t.set_dynamic_range(-ranges[t.name], ranges[t.name])
        for li in range(network.num_layers):
            out = network.get_layer(li).get_output(0)
            if out.name in ranges:
                out.set_dynamic_range(-ranges[out.name], ranges[out.name])
    config = make_config(builder, opt_level=0)
    config.set_flag(trt.BuilderFlag.FP16 if precision == "fp16" else trt.BuilderFlag.INT8)
    config.tactic_filter = tactics
    return build(builder, network, config)


@pytest.mark.parametrize("name", sorted(CASES))
def test_persistent_gemm_matches_onnxruntime(name):
    precision, dims, shape = CASES[name]
    model, x = block_model(*dims, shape, seed=31)
    ranges = all_ranges(model, {"input": x})
    p = "int8" if precision == "int8" else "fp16"
    engine = build_forced(model, precision, ranges, f"conv.tc_{p}_wgp")
    tactics = chosen(engine)
    assert tactics.count(f"conv.tc_{p}_wgp") >= 3, tactics
    got = engine.create_execution_context().infer({"input": x})["output"]
    ref = ort_run(model, {"input": x})["output"]
    err = float(np.abs(got.astype(np.float64) - ref).max() / np.abs(ref).max())
    assert err < (INT8_REL if precision == "int8" else FP16_REL), err
    if precision == "int8":
        # Exact integer sums, the same epilogue: the ordinary warpgroup GEMM gives the same bits.
        plain = build_forced(model, precision, ranges, "conv.tc_int8_wg")
        want = plain.create_execution_context().infer({"input": x})["output"]
        np.testing.assert_array_equal(got, want)


def test_long_reduction_is_not_offered():
    """A 1x1 layer over 512 INT8 channels (512 bytes of reduction) has no persistent form: the
    filter that names only it leaves that layer no tactic, and the error says so."""
    model, x = block_model(8, 64, 512, 16, (1, 8, 5, 5), seed=32)
    ranges = all_ranges(model, {"input": x})
    with pytest.raises(trt.BuildError, match="conv.tc_int8_wgp"):
        build_forced(model, "int8", ranges, "conv.tc_int8_wgp")
