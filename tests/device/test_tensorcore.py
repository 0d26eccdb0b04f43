# Tensor-core tactics (conv/matmul .tc_fp16 / .tc_int8 / .tc_tf32): FP16, INT8 and FP32-with-TF32
# engines vs NumPy and onnxruntime, and the builder really choosing them. Runs where the current OpenCL device is
# NVIDIA; elsewhere with CLRT_TC_EMULATE=1 (a 32 x 32 one-warp tile, same data path, mma and
# cp.async emulated), which CI (.ci/run) runs as its own pytest step.
import json
import os
import threading

import clrt as trt
import numpy as np
import pytest
from helpers import (
    EXPLICIT_BATCH,
    deserialize,
    env_set,
    make_config,
    make_model,
    ort_run,
    parse_network,
)
from onnx.helper import make_node as N

_DEV = trt.current_device()
_NVIDIA = "NVIDIA" in _DEV.vendor.upper()
_EMULATED = os.environ.get("CLRT_TC_EMULATE", "0") not in ("", "0")
# Hopper's warpgroup tiles (conv.tc_*_wg*): offered on compute capability 9.0 (emulated, only
# when the tactic filter names them: test_tactics_all.py).
_WGMMA = _NVIDIA and _DEV.compute_capability == 90
# Also the marker of test_tc_attention.py.
NEEDS_TC = pytest.mark.skipif(
    not (_NVIDIA or _EMULATED),
    reason=f"tensor-core tactics need an NVIDIA OpenCL device (current: {_DEV.name}); "
    "CLRT_TC_EMULATE=1 runs them emulated",
)
pytestmark = [
    NEEDS_TC,
    # The module checks channels-last kernels: the builder takes them on PoCL too.
    pytest.mark.usefixtures("channels_last"),
    pytest.mark.usefixtures("tf32_allowed"),
]

# FP16 storage rounds every stored value to 11 significant bits (relative 4.9e-4) and the
# inputs too; accumulation is FP32. Errors are judged relative to the output's largest value.
FP16_REL = 4e-3
# INT8 against the FP32 reference: per-tensor activation and per-channel weight quantization
# over two or three layers.
INT8_REL = 0.06
# TF32 multiplies FP32 operands rounded to 10 of their 23 mantissa bits (relative 4.9e-4 each,
# like FP16's storage) and accumulates in FP32.
TF32_REL = 4e-3


def tf32(x):
    """x rounded to TF32 (nearest, ties away from zero: cvt.rna.tf32.f32), the operand the
    kernels feed the tensor cores (and the emulation multiplies)."""
    bits = np.asarray(x, np.float32).view(np.uint32)
    return ((bits + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)


def chosen(engine):
    """The tactic of every layer, from the engine inspector (built with DETAILED verbosity)."""
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    return [layer.get("TacticName", "") for layer in json.loads(info)["Layers"]]


def rel_err(got, ref):
    ref = np.asarray(ref, np.float64)
    return float(np.abs(np.asarray(got, np.float64) - ref).max() / np.abs(ref).max())


def build(builder, network, config):
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED  # tactics in the inspector
    plan = builder.build_serialized_network(network, config)
    assert plan is not None, "build_serialized_network returned None"
    return deserialize(bytes(plan))


@pytest.mark.parametrize(
    "a_shape, b_shape, trans_b",
    [
        ((200, 136), (136, 72), False),
        ((3, 130, 72), (72, 200), False),
        ((2, 64, 96), (2, 40, 96), True),
    ],
)
def test_fp16_matmul_two_inputs(a_shape, b_shape, trans_b):
    """One MatrixMultiply of two activations in FP16: matmul.tc_fp16 against NumPy. The network
    I/O is FLOAT (the builder reformats to HALF); inputs are half-representable values."""
    log = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(log)
    network = builder.create_network(EXPLICIT_BATCH)
    a = network.add_input("a", trt.float32, a_shape)
    b = network.add_input("b", trt.float32, b_shape)
    op = trt.MatrixOperation.TRANSPOSE if trans_b else trt.MatrixOperation.NONE
    out = network.add_matrix_multiply(a, trt.MatrixOperation.NONE, b, op).get_output(0)
    out.name = "c"
    network.mark_output(out)
    config = make_config(builder, opt_level=0)
    config.set_flag(trt.BuilderFlag.FP16)
    engine = build(builder, network, config)
    assert "matmul.tc_fp16" in chosen(engine), chosen(engine)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, a_shape).astype(np.float16).astype(np.float32)
    y = rng.uniform(-1, 1, b_shape).astype(np.float16).astype(np.float32)
    got = engine.create_execution_context().infer({"a": x, "b": y})["c"]
    yy = np.swapaxes(y, -1, -2) if trans_b else y
    ref = np.matmul(x.astype(np.float64), yy.astype(np.float64))
    assert got.shape == ref.shape
    assert rel_err(got, ref) < FP16_REL


def conv_net(rng):
    """Conv 7x7/2 (C=3: the generic gather) -> ReLU -> Conv 3x3 (C=32) -> ReLU -> Conv 1x1 with
    a residual Add -> ReLU -> Conv 1x1/2 -> GlobalAveragePool -> Gemm (constant weights)."""

    def w(*shape):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))).astype(np.float32)

    def b(n):
        return rng.uniform(-0.1, 0.1, n).astype(np.float32)

    inits = {"w1": w(32, 3, 7, 7), "b1": b(32), "w2": w(32, 32, 3, 3), "b2": b(32)}
    inits.update({"w3": w(32, 32, 1, 1), "b3": b(32), "w4": w(72, 32, 1, 1), "b4": b(72)})
    inits.update({"wf": w(10, 72), "bf": b(10)})
    nodes = [
        N("Conv", ["input", "w1", "b1"], ["c1"], pads=[3, 3, 3, 3], strides=[2, 2]),
        N("Relu", ["c1"], ["r1"]),
        N("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        N("Relu", ["c2"], ["r2"]),
        N("Conv", ["r2", "w3", "b3"], ["c3"]),
        N("Add", ["c3", "r1"], ["s3"]),
        N("Relu", ["s3"], ["r3"]),
        N("Conv", ["r3", "w4", "b4"], ["c4"], strides=[2, 2]),
        N("GlobalAveragePool", ["c4"], ["g"]),
        N("Flatten", ["g"], ["f"]),
        N("Gemm", ["f", "wf", "bf"], ["output"], transB=1),
    ]
    return make_model(nodes, [("input", (4, 3, 30, 26))], [("output", (4, 10))], inits)


def test_fp16_conv_net():
    """FP16 engine of a small CNN (tc_conv generic and channel-aligned gathers, residual
    epilogue, constant-weight matmul) against onnxruntime FP32."""
    rng = np.random.default_rng(1)
    model = conv_net(rng)
    x = rng.uniform(-1, 1, (4, 3, 30, 26)).astype(np.float32)
    log = trt.Logger(trt.Logger.WARNING)
    builder, network, _ = parse_network(model, logger=log)
    config = make_config(builder, opt_level=0)
    config.set_flag(trt.BuilderFlag.FP16)
    engine = build(builder, network, config)
    assert chosen(engine).count("conv.tc_fp16") == 4, chosen(engine)
    got = engine.create_execution_context().infer({"input": x})["output"]
    ref = ort_run(model, {"input": x})["output"]
    assert rel_err(got, ref) < FP16_REL * 2


def all_values(model, feeds):
    """Every tensor of the model on `feeds` (onnxruntime FP32), the feeds included."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    known = {o.name for o in m.graph.output}
    for node in m.graph.node:
        for name in node.output:
            if name not in known:
                m.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    vals = ort_run(m, feeds)
    vals.update(feeds)
    return vals


def all_ranges(model, feeds):
    """max |value| of every tensor of the model on `feeds` (onnxruntime FP32)."""
    return {k: float(np.abs(v).max()) for k, v in all_values(model, feeds).items()}


def set_all_ranges(network, ranges):
    """Every FLOAT network input and layer output named in `ranges` (all_ranges' output) gets
    [-r, r] as its dynamic range, as a calibration would; returns their names."""
    tensors = [network.get_input(i) for i in range(network.num_inputs)]
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        tensors += [layer.get_output(j) for j in range(layer.num_outputs)]
    ranged = {t.name for t in tensors if t.name in ranges and t.dtype == trt.float32}
    for t in tensors:
        if t.name in ranged:
            t.set_dynamic_range(-ranges[t.name], ranges[t.name])
    return ranged


def int8_fp16_config(builder):
    """An untimed INT8 + FP16 config whose engine's inspector shows tactics and formats."""
    config = make_config(builder, opt_level=0)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    config.set_flag(trt.BuilderFlag.INT8)
    config.set_flag(trt.BuilderFlag.FP16)
    return config


def build_in(model, precision, ranges):
    """`model`'s untimed engine in `precision`: "fp16", "int8" (every tensor's dynamic range
    from `ranges`, all_ranges' output) or "tf32" (FP32 layers, TF32 on as by default)."""
    builder, network, _ = parse_network(model, logger=trt.Logger(trt.Logger.WARNING))
    if precision == "int8":
        network.get_input(0).set_dynamic_range(-ranges["input"], ranges["input"])
        for li in range(network.num_layers):
            out = network.get_layer(li).get_output(0)
            if out.name in ranges:
                out.set_dynamic_range(-ranges[out.name], ranges[out.name])
    config = make_config(builder, opt_level=0)
    if precision != "tf32":
        config.set_flag(trt.BuilderFlag.FP16 if precision == "fp16" else trt.BuilderFlag.INT8)
    return build(builder, network, config)


def test_int8_conv_net():
    """INT8 engine (dynamic ranges from an FP32 run) of the same CNN: conv.tc_int8 layers,
    against onnxruntime FP32 within quantization error."""
    rng = np.random.default_rng(2)
    model = conv_net(rng)
    x = rng.uniform(-1, 1, (4, 3, 30, 26)).astype(np.float32)
    ranges = all_ranges(model, {"input": x})
    log = trt.Logger(trt.Logger.WARNING)
    builder, network, _ = parse_network(model, logger=log)
    tensors = {}
    for i in range(network.num_inputs):
        tensors[network.get_input(i).name] = network.get_input(i)
    for li in range(network.num_layers):
        layer = network.get_layer(li)
        for o in range(layer.num_outputs):
            tensors[layer.get_output(o).name] = layer.get_output(o)
    for name, t in tensors.items():
        if name in ranges and ranges[name] > 0:
            t.set_dynamic_range(-ranges[name], ranges[name])
    config = make_config(builder, opt_level=0)
    config.set_flag(trt.BuilderFlag.INT8)
    engine = build(builder, network, config)
    assert chosen(engine).count("conv.tc_int8") >= 3, chosen(engine)
    got = engine.create_execution_context().infer({"input": x})["output"]
    ref = ort_run(model, {"input": x})["output"]
    assert rel_err(got, ref) < INT8_REL


def test_int8_matmul_weights():
    """INT8 MatMul with constant weights (per-column weight scales) + bias + ReLU."""
    rng = np.random.default_rng(3)
    w = (rng.standard_normal((96, 80)) / np.sqrt(96)).astype(np.float32)
    bias = rng.uniform(-0.1, 0.1, 80).astype(np.float32)
    nodes = [
        N("MatMul", ["input", "w"], ["m"]),
        N("Add", ["m", "b"], ["a"]),
        N("Relu", ["a"], ["output"]),
    ]
    model = make_model(nodes, [("input", (70, 96))], [("output", (70, 80))], {"w": w, "b": bias})
    x = rng.uniform(-1, 1, (70, 96)).astype(np.float32)
    engine = build_in(model, "int8", all_ranges(model, {"input": x}))
    assert "matmul.tc_int8" in chosen(engine), chosen(engine)
    got = engine.create_execution_context().infer({"input": x})["output"]
    ref = np.maximum(x.astype(np.float64) @ w + bias, 0)
    assert rel_err(got, ref) < INT8_REL / 2


def test_tf32_matmul_two_inputs():
    """An FP32 MatrixMultiply of two activations takes matmul.tc_tf32 (BuilderFlag.TF32 is on by
    default): against NumPy on the TF32-rounded operands (emulated: the same products, FP32
    sums), and on the FP32 operands within TF32's error and with no bias (rounding to nearest,
    where truncation would make the mean error about -1e-3 of the mean magnitude)."""
    log = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(log)
    network = builder.create_network(EXPLICIT_BATCH)
    a = network.add_input("a", trt.float32, (2, 70, 136))
    b = network.add_input("b", trt.float32, (2, 136, 90))
    out = network.add_matrix_multiply(
        a, trt.MatrixOperation.NONE, b, trt.MatrixOperation.NONE
    ).get_output(0)
    out.name = "c"
    network.mark_output(out)
    config = make_config(builder, opt_level=0)
    assert config.get_flag(trt.BuilderFlag.TF32)
    engine = build(builder, network, config)
    assert chosen(engine).count("matmul.tc_tf32") == 1, chosen(engine)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 70, 136)).astype(np.float32)
    y = rng.standard_normal((2, 136, 90)).astype(np.float32)
    got = engine.create_execution_context().infer({"a": x, "b": y})["c"]
    ref = np.matmul(x.astype(np.float64), y.astype(np.float64))
    assert rel_err(got, ref) < TF32_REL
    # Positive operands expose a truncation bias: every product would be too small.
    xp, yp = np.abs(x), np.abs(y)
    gotp = engine.create_execution_context().infer({"a": xp, "b": yp})["c"]
    refp = np.matmul(xp.astype(np.float64), yp.astype(np.float64))
    bias = float(np.mean(gotp - refp) / np.mean(refp))
    assert abs(bias) < 2e-4, f"mean relative error {bias:.2e}: operands truncated, not rounded"
    if _EMULATED:
        rounded = np.matmul(tf32(x).astype(np.float64), tf32(y).astype(np.float64))
        assert rel_err(got, rounded) < 1e-5
        assert rel_err(got, ref) > 1e-5, "the products were not TF32"


def test_tf32_conv_net_and_flag_off():
    """FP32 engine of the small CNN: every convolution takes conv.tc_tf32 and the final Gemm
    matmul.tc_tf32, within TF32's error of onnxruntime FP32. With BuilderFlag.TF32 cleared no
    TF32 tactic is offered and the engine is FP32-exact (1e-5)."""
    rng = np.random.default_rng(5)
    model = conv_net(rng)
    x = rng.uniform(-1, 1, (4, 3, 30, 26)).astype(np.float32)
    ref = ort_run(model, {"input": x})["output"]
    log = trt.Logger(trt.Logger.WARNING)
    builder, network, _ = parse_network(model, logger=log)
    config = make_config(builder, opt_level=0)
    engine = build(builder, network, config)
    tactics = chosen(engine)
    assert tactics.count("conv.tc_tf32") == 4 and "matmul.tc_tf32" in tactics, tactics
    got = engine.create_execution_context().infer({"input": x})["output"]
    assert rel_err(got, ref) < TF32_REL * 2
    config.clear_flag(trt.BuilderFlag.TF32)
    engine = build(builder, network, config)
    assert not any("tf32" in t for t in chosen(engine)), chosen(engine)
    got = engine.create_execution_context().infer({"input": x})["output"]
    assert rel_err(got, ref) < 1e-5
    # NVIDIA's switch (as cuBLAS and cuDNN read it) turns TF32 off whatever the flag says.
    config.set_flag(trt.BuilderFlag.TF32)
    with env_set(NVIDIA_TF32_OVERRIDE="0"):
        engine = build(builder, network, config)
    assert not any("tf32" in t for t in chosen(engine)), chosen(engine)


@pytest.mark.parametrize("precision", ["fp16", "int8", "tf32"])
def test_grouped_conv(precision):
    """A grouped convolution (4 groups of 8 -> 16 channels, 3x3, bias, ReLU) runs as one tensor-core
    GEMM per group (conv.tc_<precision>), against onnxruntime FP32; a depthwise one does not."""
    rng = np.random.default_rng(6)
    w = (rng.standard_normal((64, 8, 3, 3)) * np.sqrt(2.0 / 72)).astype(np.float32)
    dw = rng.standard_normal((64, 1, 3, 3)).astype(np.float32)
    bias = rng.uniform(-0.1, 0.1, 64).astype(np.float32)
    nodes = [
        N("Conv", ["input", "w", "b"], ["c"], group=4, pads=[1, 1, 1, 1]),
        N("Relu", ["c"], ["r"]),
        N("Conv", ["r", "dw"], ["output"], group=64, pads=[1, 1, 1, 1]),
    ]
    shape = (2, 32, 9, 11)
    model = make_model(
        nodes, [("input", shape)], [("output", (2, 64, 9, 11))], {"w": w, "b": bias, "dw": dw}
    )
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    ref = ort_run(model, {"input": x})["output"]
    engine = build_in(model, precision, all_ranges(model, {"input": x}))
    tactics = chosen(engine)
    assert tactics.count(f"conv.tc_{precision}") == 1, tactics
    got = engine.create_execution_context().infer({"input": x})["output"]
    tol = {"fp16": FP16_REL, "int8": INT8_REL, "tf32": TF32_REL}[precision]
    assert rel_err(got, ref) < tol * 2


def formats(engine):
    """{tensor name: "LINEAR" | "HWC"} over every layer's inputs and outputs (the inspector)."""
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    out = {}
    for layer in json.loads(info)["Layers"]:
        for t in layer.get("Inputs", []) + layer.get("Outputs", []):
            out[t["Name"]] = t["Format"]
    return out


# The tensors the builder's reformats add at the network's edges (FLOAT I/O around FP16/INT8
# layers), which take the first convolution's (last one's) layout.
EDGE_REFORMATS = {
    "fp16": {"input": "input_HALF", "output": "output_HALF"},
    "int8": {"input": "input_INT8"},
    "tf32": {},
}


def check_hwc_values(engine, model, x, ranges, names, tol):
    """Each tensor of `names` (stored HWC) read back per layer (clrt.accuracy's _infer_debug,
    NCHW order) against onnxruntime's value of it, or of the tensor a reformat converted."""
    from clrt import _clrt

    every = all_values(model, {"input": x})
    seen = dict(_clrt._infer_debug(engine, {"input": x}))
    for name in names:
        base = name.rsplit("_", 1)[0] if name not in every else name
        assert name in seen and base in every, (name, sorted(seen))
        assert seen[name].shape == every[base].shape
        value = seen[name].astype(np.float32)
        if seen[name].dtype == np.int8:  # stored INT8: dequantize with the range given
            value *= ranges[base] / 127
        assert rel_err(value, every[base]) < tol * 2, name


@pytest.mark.parametrize("precision", ["fp16", "int8", "tf32"])
def test_channels_last_between_tensor_core_convs(precision):
    """Tensors between tensor-core convolutions are stored channels last (HWC): plain, grouped,
    residual and 24-channel (unaligned gather) reads and writes, against onnxruntime FP32; the
    network I/O stays LINEAR; clrt.accuracy's per-layer reader (_infer_debug) sees every HWC
    tensor in NCHW order; CLRT_CHANNELS_LAST=0 builds the same engine all LINEAR."""

    rng = np.random.default_rng(7)

    def w(*shape):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))).astype(np.float32)

    inits = {"w1": w(64, 16, 3, 3), "w2": w(64, 32, 3, 3), "w3": w(64, 64, 1, 1)}
    inits.update({"w4": w(24, 64, 1, 1), "w5": w(32, 24, 3, 3)})
    inits.update(
        {
            f"b{i}": rng.uniform(-0.1, 0.1, n).astype(np.float32)
            for i, n in [(1, 64), (2, 64), (3, 64), (4, 24), (5, 32)]
        }
    )
    nodes = [
        N("Conv", ["input", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        N("Relu", ["c1"], ["r1"]),
        N("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], group=2),
        N("Relu", ["c2"], ["r2"]),
        N("Conv", ["r2", "w3", "b3"], ["c3"]),
        N("Add", ["c3", "r1"], ["s3"]),
        N("Relu", ["s3"], ["r3"]),
        N("Conv", ["r3", "w4", "b4"], ["c4"]),
        N("Relu", ["c4"], ["r4"]),
        N("Conv", ["r4", "w5", "b5"], ["output"], pads=[1, 1, 1, 1], strides=[2, 2]),
    ]
    shape = (2, 16, 9, 11)
    model = make_model(nodes, [("input", shape)], [("output", (2, 32, 5, 6))], inits)
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    ranges = all_ranges(model, {"input": x})

    def make_engine():
        return build_in(model, precision, ranges)

    engine = make_engine()
    assert chosen(engine).count(f"conv.tc_{precision}") == 5, chosen(engine)
    fmt = formats(engine)
    hwc = sorted(name for name, f in fmt.items() if f == "HWC")
    # The four tensors between the five convolutions, and the edge reformats' outputs.
    assert hwc == sorted(["r1", "r2", "r3", "r4", *EDGE_REFORMATS[precision].values()]), fmt
    assert fmt["input"] == "LINEAR" and fmt["output"] == "LINEAR", fmt
    ref = ort_run(model, {"input": x})["output"]
    got = engine.create_execution_context().infer({"input": x})["output"]
    tol = {"fp16": FP16_REL, "int8": INT8_REL, "tf32": TF32_REL}[precision]
    assert rel_err(got, ref) < tol * 2
    if precision == "int8":
        # The two 1x1 layers (w3 with its residual, w4 with 24 channels) run through
        # tc_matmul (TC_CONV=0), on its 3-stage tile by default, on the 2-stage small tile with
        # CLRT_TC_CONV_GEMM=small, in tc_conv with =0: the programs the engine file carries
        # (keyed by file and options) say which, and every form gives the answer. The small
        # tile (64-byte rows) stages w3's residual tile in local memory (RES_STAGE), the
        # default one does not.
        for mode, want, staged in [
            (None, b"-DSTAGES=3", False),
            ("small", b"-DSTAGES=2", True),
            ("0", None, False),
        ]:
            if mode:
                os.environ["CLRT_TC_CONV_GEMM"] = mode
            try:
                other = make_engine()
            finally:
                os.environ.pop("CLRT_TC_CONV_GEMM", None)
            blob = bytes(other.serialize())
            opts = [k.split(b"|")[0] for k in blob.split(b"tc_gemm.cl|")[1:]]
            assert opts, "no tc_gemm.cl program in the engine file"
            gemm = [o for o in opts if b"-DTC_CONV=0" in o]
            assert (gemm and all(want in o for o in gemm)) if want else not gemm, (mode, opts)
            assert any(b"-DRES_STAGE=1" in o for o in gemm) == staged, (mode, gemm)
            got_other = other.create_execution_context().infer({"input": x})["output"]
            assert rel_err(got_other, ref) < tol * 2, mode
    # Per-layer values come back in NCHW order: each HWC tensor against onnxruntime's.
    check_hwc_values(engine, model, x, ranges, hwc, tol)
    # The same build with channels last turned off: every tensor LINEAR, the same answer.
    with env_set(CLRT_CHANNELS_LAST="0"):
        linear = make_engine()
    assert set(formats(linear).values()) == {"LINEAR"}
    got_linear = linear.create_execution_context().infer({"input": x})["output"]
    assert rel_err(got_linear, ref) < tol * 2


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_conv_ring_with_128_byte_rows(precision):
    """tc_conv's cp.async ring staged as 128-byte rows (CLRT_TC_CONV_KCH=8: four k-steps per
    barrier, each thread's gather split into runs of one tap) gives exactly the 64-byte-row
    engine's output: 3x3 convolutions over 64 channels, padded, strided, dilated and grouped
    (64 channels a group), where an INT8 row (128 channels) spans two taps and the last tile
    overhangs the reduction (576 = 4.5 x 128); an FP16 row is one tap. Against onnxruntime
    too. (TF32's ring is FP16's with four floats a chunk.)"""
    rng = np.random.default_rng(11)

    def w(*shape):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))).astype(np.float32)

    inits = {"w1": w(128, 64, 3, 3), "w2": w(64, 64, 3, 3), "w3": w(64, 64, 3, 3)}
    inits.update(
        {
            f"b{i}": rng.uniform(-0.1, 0.1, n).astype(np.float32)
            for i, n in [(1, 128), (2, 64), (3, 64)]
        }
    )
    nodes = [
        N("Conv", ["input", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        N("Relu", ["c1"], ["r1"]),
        N("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2], group=2),
        N("Relu", ["c2"], ["r2"]),
        N("Conv", ["r2", "w3", "b3"], ["output"], pads=[2, 2, 2, 2], dilations=[2, 2]),
    ]
    shape = (2, 64, 7, 9)
    model = make_model(nodes, [("input", shape)], [("output", (2, 64, 4, 5))], inits)
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    ranges = all_ranges(model, {"input": x})
    outputs, kch = {}, {}
    for rows in ("4", "8"):
        os.environ["CLRT_TC_CONV_KCH"] = rows
        try:
            engine = build_in(model, precision, ranges)
        finally:
            del os.environ["CLRT_TC_CONV_KCH"]
        assert chosen(engine).count(f"conv.tc_{precision}") == 3, chosen(engine)
        blob = bytes(engine.serialize())
        opts = [k.split(b"|")[0] for k in blob.split(b"tc_gemm.cl|")[1:]]
        kch[rows] = sorted(o.split(b"-DKCH=")[1][:1] for o in opts if b"-DTC_CONV=1" in o)
        outputs[rows] = engine.create_execution_context().infer({"input": x})["output"]
    assert kch["4"] and set(kch["4"]) == {b"4"}, kch
    assert kch["8"] and set(kch["8"]) == {b"8"}, kch
    if precision == "int8":  # int32 sums: the staging cannot change a bit
        np.testing.assert_array_equal(outputs["8"], outputs["4"])
    else:  # mma's FP32 sums may round the FP16 output's last bit either way on NVIDIA hardware
        ulp = np.spacing(np.abs(outputs["4"]).astype(np.float16)).astype(np.float32)
        assert np.all(np.abs(outputs["8"] - outputs["4"]) <= ulp), np.abs(
            outputs["8"] - outputs["4"]
        ).max()
    ref = ort_run(model, {"input": x})["output"]
    assert rel_err(outputs["8"], ref) < (FP16_REL if precision == "fp16" else INT8_REL) * 2


@pytest.mark.parametrize("precision", ["fp16", "int8", "tf32"])
def test_pooling_reads_and_writes_channels_last(precision):
    """Pooling between tensor-core convolutions keeps their tensors channels last: max pooling
    (3x3, stride 2, padded) and average pooling with the padding in its divisor over 32
    channels (the INT8 kernel's 16-channel path), average pooling without the padding in its
    divisor over 18 channels (its one-channel path), max pooling over 20 (its 4-channel path),
    and global average pooling of an HWC input of 36 channels (a full and a partial work-group
    chunk), against onnxruntime FP32; the formats the inspector shows; the per-layer values of
    each HWC tensor in NCHW order."""
    rng = np.random.default_rng(11)

    def w(*shape):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))).astype(np.float32)

    # 36 channels into the global pooling: two chunks of its 32-channel work-groups.
    inits = {
        "w1": w(32, 8, 3, 3),
        "w2": w(18, 32, 1, 1),
        "w3": w(20, 18, 3, 3),
        "w4": w(36, 20, 1, 1),
    }
    nodes = [
        N("Conv", ["input", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        N("Relu", ["c1"], ["r1"]),
        N("MaxPool", ["r1"], ["p1"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        N(
            "AveragePool",
            ["p1"],
            ["a1"],
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1],
            count_include_pad=1,
        ),
        N("Conv", ["a1", "w2"], ["c2"]),
        N("Relu", ["c2"], ["r2"]),
        N("AveragePool", ["r2"], ["p2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        N("Conv", ["p2", "w3"], ["c3"], pads=[1, 1, 1, 1]),
        N("Relu", ["c3"], ["r3"]),
        N("MaxPool", ["r3"], ["p3"], kernel_shape=[2, 2]),
        N("Conv", ["p3", "w4"], ["c4"]),
        N("Relu", ["c4"], ["r4"]),
        N("GlobalAveragePool", ["r4"], ["output"]),
    ]
    shape = (2, 8, 13, 12)
    model = make_model(nodes, [("input", shape)], [("output", (2, 36, 1, 1))], inits)
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    ranges = all_ranges(model, {"input": x})
    engine = build_in(model, precision, ranges)
    tactics = chosen(engine)
    assert tactics.count(f"conv.tc_{precision}") == 4, tactics
    pool = "pool.int8" if precision == "int8" else "pool.direct"
    assert tactics.count(pool) == 5, tactics
    fmt = formats(engine)
    hwc = sorted(name for name, f in fmt.items() if f == "HWC")
    # Every tensor between the layers, and the edge reformats' outputs.
    edge = list(EDGE_REFORMATS[precision].values())
    assert hwc == sorted(["p1", "a1", "p2", "p3", "r1", "r2", "r3", "r4", *edge]), fmt
    tol = {"fp16": FP16_REL, "int8": INT8_REL, "tf32": TF32_REL}[precision]
    ref = ort_run(model, {"input": x})["output"]
    got = engine.create_execution_context().infer({"input": x})["output"]
    assert rel_err(got, ref) < tol * 2
    check_hwc_values(engine, model, x, ranges, hwc, tol)


def test_candidates_are_instantiated_in_the_layout_they_would_run_in():
    """Tactic choice instantiates (and, timed, times) each candidate as it would run were its
    neighbours to store their tensors channels last (the builder's timedLayout). Shown by
    refusing every program that reads a channels-last input (debug.fail_programs): the first
    convolution reads the network input, always LINEAR, and keeps its tensor-core tactic; the
    second, whose input may be HWC, loses it with a VERBOSE note. With CLRT_CHANNELS_LAST=0
    both keep it."""
    from helpers import RecordingLogger

    rng = np.random.default_rng(5)
    inits = {
        "w1": rng.standard_normal((16, 8, 3, 3)).astype(np.float32) * 0.2,
        "w2": rng.standard_normal((16, 16, 3, 3)).astype(np.float32) * 0.2,
    }
    nodes = [
        N("Conv", ["input", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        N("Relu", ["c1"], ["r1"]),
        N("Conv", ["r1", "w2"], ["output"], pads=[1, 1, 1, 1]),
    ]
    model = make_model(nodes, [("input", (1, 8, 6, 6))], [("output", (1, 16, 6, 6))], inits)

    def conv_tactics(env):
        log = RecordingLogger()
        builder, network, _ = parse_network(model, logger=log)
        config = make_config(builder, opt_level=0)
        debug = trt._clrt._debug
        try:
            debug.fail_programs("-DIN_HWC=1")
            with env_set(**env):
                engine = build(builder, network, config)
        finally:
            debug.fail_programs("")
        return [t for t in chosen(engine) if t.startswith("conv.")], log.text()

    tactics, text = conv_tactics({})
    assert tactics[0] == "conv.tc_tf32" and not tactics[1].startswith("conv.tc_"), tactics
    assert "tactic conv.tc_tf32 is not eligible on this device" in text
    tactics, text = conv_tactics({"CLRT_CHANNELS_LAST": "0"})
    assert tactics == ["conv.tc_tf32", "conv.tc_tf32"], tactics
    assert "is not eligible on this device" not in text


def test_wider_precisions_are_timed_on_default_tiles():
    """A precision timed only to weigh it against a narrower one also allowed (FP32 beside FP16,
    FP32 and FP16 beside INT8) is timed up to builder_optimization_level 3 on each family's
    default tile (conv.tc_tf32, conv.tc_fp16), its block-tile variants neither compiled nor
    timed (a VERBOSE line says so); level 4 times them. The narrowest precision is timed on
    every tile either way, and the engine matches onnxruntime."""
    import re

    from helpers import RecordingLogger

    rng = np.random.default_rng(23)
    inits = {
        "w": (rng.standard_normal((16, 8, 3, 3)) * 0.2).astype(np.float32),
        "b": rng.uniform(-0.5, 0.5, 16).astype(np.float32),
    }
    nodes = [N("Conv", ["input", "w", "b"], ["c"], pads=[1, 1, 1, 1]), N("Relu", ["c"], ["output"])]
    model = make_model(nodes, [("input", (1, 8, 6, 6))], [("output", (1, 16, 6, 6))], inits)
    x = rng.uniform(-1, 1, (1, 8, 6, 6)).astype(np.float32)
    ref = ort_run(model, {"input": x})["output"]
    ranges = all_ranges(model, {"input": x})

    def timed_tiles(level, int8):
        log = RecordingLogger()
        builder, network, _ = parse_network(model, logger=log)
        config = make_config(builder, opt_level=level)
        config.set_flag(trt.BuilderFlag.FP16)
        if int8:
            config.set_flag(trt.BuilderFlag.INT8)
            network.get_input(0).set_dynamic_range(-ranges["input"], ranges["input"])
            for li in range(network.num_layers):
                out = network.get_layer(li).get_output(0)
                out.set_dynamic_range(-ranges[out.name], ranges[out.name])
        engine = build(builder, network, config)
        got = engine.create_execution_context().infer({"input": x})["output"]
        assert rel_err(got, ref) < (INT8_REL if int8 else FP16_REL) * 2
        text = log.text()
        choice = text[: text.index("': precision ")]  # the precision choice's lines
        tiles = {
            p: sorted(set(re.findall(rf"\({p}\): tactic (conv\.tc_\w+) [-+.e0-9]+ ms", choice)))
            for p in ("FLOAT", "HALF", "INT8")
        }
        noted = re.findall(r"\((\w+)\): (\d+) block-tile variants left untimed", choice)
        return tiles, sorted((p, int(n)) for p, n in noted)

    def family(p):
        tiles = [f"conv.tc_{p}", f"conv.tc_{p}_128x256", f"conv.tc_{p}_64x64"]
        if _WGMMA:  # Hopper's warpgroup tiles
            tiles += [f"conv.tc_{p}_wg", f"conv.tc_{p}_wg64"]
        return sorted(tiles)

    tiles, noted = timed_tiles(3, int8=False)
    assert tiles == {"FLOAT": ["conv.tc_tf32"], "HALF": family("fp16"), "INT8": []}, tiles
    assert noted == [("FLOAT", len(family("tf32")) - 1)], noted
    tiles, noted = timed_tiles(4, int8=False)
    assert tiles == {"FLOAT": family("tf32"), "HALF": family("fp16"), "INT8": []} and not noted
    tiles, noted = timed_tiles(3, int8=True)
    want = {"FLOAT": ["conv.tc_tf32"], "HALF": ["conv.tc_fp16"], "INT8": family("int8")}
    assert tiles == want, tiles
    assert noted == [("FLOAT", len(family("tf32")) - 1), ("HALF", len(family("fp16")) - 1)], noted


@pytest.mark.parametrize(
    "precision, channels", [("fp16", 24), ("int8", 24), ("tf32", 24), ("int8", 12)]
)
def test_depthwise_conv_between_channels_last_convs(precision, channels):
    """conv.depthwise (conv.int8_depthwise in INT8) reads its input and residual and writes its
    output channels last between tensor-core 1x1 convolutions (a MobileNet-style block, stride
    2 and a fused residual Add), against onnxruntime FP32; every HWC tensor's per-layer values
    in NCHW order. 24 channels run the 8-channel kernels (conv_depthwise_hwc8,
    conv_i8_depthwise_hwc8), 12 the one-channel ones."""
    rng = np.random.default_rng(13)
    C = channels

    def w(*shape):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))).astype(np.float32)

    inits = {"w1": w(C, 8, 1, 1), "dw": w(C, 1, 3, 3), "w3": w(16, C, 1, 1)}
    inits["db"] = rng.uniform(-0.1, 0.1, C).astype(np.float32)
    nodes = [
        N("Conv", ["input", "w1"], ["c1"]),
        N("Relu", ["c1"], ["r1"]),
        N("Conv", ["r1", "dw", "db"], ["d"], group=C, pads=[1, 1, 1, 1]),
        N("Add", ["d", "r1"], ["s"]),
        N("Relu", ["s"], ["r2"]),
        N("Conv", ["r2", "dw", "db"], ["d2"], group=C, pads=[1, 1, 1, 1], strides=[2, 2]),
        N("Conv", ["d2", "w3"], ["output"]),
    ]
    shape = (2, 8, 9, 10)
    model = make_model(nodes, [("input", shape)], [("output", (2, 16, 5, 5))], inits)
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    ranges = all_ranges(model, {"input": x})
    engine = build_in(model, precision, ranges)
    tactics = chosen(engine)
    assert tactics.count(f"conv.tc_{precision}") == 2, tactics
    depthwise = "conv.int8_depthwise" if precision == "int8" else "conv.depthwise"
    assert tactics.count(depthwise) == 2, tactics
    hwc = sorted(name for name, f in formats(engine).items() if f == "HWC")
    edge = list(EDGE_REFORMATS[precision].values())
    assert hwc == sorted(["r1", "r2", "d2", *edge]), formats(engine)
    tol = {"fp16": FP16_REL, "int8": INT8_REL, "tf32": TF32_REL}[precision]
    ref = ort_run(model, {"input": x})["output"]
    got = engine.create_execution_context().infer({"input": x})["output"]
    assert rel_err(got, ref) < tol * 2
    check_hwc_values(engine, model, x, ranges, hwc, tol)


@pytest.mark.parametrize("precision", ["fp16", "tf32"])
def test_squeeze_excitation_block_stays_channels_last(precision):
    """An EfficientNet-style block: 1x1 expansion, depthwise, squeeze-and-excitation (global
    pooling, 1x1 conv + sigmoid, the broadcast Mul) and 1x1 projection keeps its tensors
    channels last; the Mul also writes a second, LINEAR network output from its HWC operands
    (operands swapped). Against onnxruntime FP32, every HWC tensor's per-layer values
    included."""
    rng = np.random.default_rng(17)

    def w(*shape):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))).astype(np.float32)

    inits = {
        "w1": w(24, 8, 1, 1),
        "dw": w(24, 1, 3, 3),
        "ws": w(24, 24, 1, 1),
        "w3": w(16, 24, 1, 1),
    }
    inits["bs"] = rng.uniform(-0.5, 0.5, 24).astype(np.float32)
    nodes = [
        N("Conv", ["input", "w1"], ["c1"]),
        N("Relu", ["c1"], ["r1"]),
        N("Conv", ["r1", "dw"], ["d"], group=24, pads=[1, 1, 1, 1]),
        N("Relu", ["d"], ["r2"]),
        N("GlobalAveragePool", ["r2"], ["g"]),
        N("Conv", ["g", "ws", "bs"], ["gc"]),
        N("Sigmoid", ["gc"], ["gate"]),
        N("Mul", ["r2", "gate"], ["m"]),
        N("Conv", ["m", "w3"], ["output"]),
        N("Mul", ["gate", "r2"], ["scaled"]),
    ]
    shape = (2, 8, 9, 10)
    outputs = [("output", (2, 16, 9, 10)), ("scaled", (2, 24, 9, 10))]
    model = make_model(nodes, [("input", shape)], outputs, inits)
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    ranges = all_ranges(model, {"input": x})
    engine = build_in(model, precision, ranges)
    fmt = formats(engine)
    hwc = sorted(name for name, f in fmt.items() if f == "HWC")
    assert {"r1", "r2", "m"} <= set(hwc), fmt
    tol = {"fp16": FP16_REL, "tf32": TF32_REL}[precision]
    refs = ort_run(model, {"input": x})
    got = engine.create_execution_context().infer({"input": x})
    for name in ("output", "scaled"):
        assert rel_err(got[name], refs[name]) < tol * 2, name
    check_hwc_values(engine, model, x, ranges, hwc, tol)


@pytest.mark.parametrize("precision", ["fp16", "int8", "tf32"])
def test_split_k_convolutions_and_matmul(precision, monkeypatch):
    """Split-K (tc_gemm.cl SPLIT_FIXUP: each split of a tile's reduction writes its accumulators
    to the workspace, the last to arrive adds them in split order and runs the epilogue), which
    the builder turns on where a layer has fewer tiles than the device has compute units (batch
    1 on a GPU). Forced here to 3 splits (CLRT_TC_SPLITK) on a batch-1 network of tc_conv layers
    (NCHW and channels-last gathers, a stride) and 1x1 layers in GEMM form (one with a
    residual), and on a MatMul with weights: against onnxruntime FP32, and against the same
    engine without splits (INT8: bit for bit, the int32 sums being exact; FP16/TF32 within
    float re-association). Two runs of one context agree (the split that finishes a tile
    zeroes its counter for the next launch), and so do two contexts running at once on two
    threads (each queue has its own counters). The engine file reloads under the same setting,
    and is refused, naming it, under another."""
    rng = np.random.default_rng(11)

    def w(*shape):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))).astype(np.float32)

    inits = {"w1": w(256, 16, 3, 3), "w2": w(64, 256, 1, 1), "w3": w(64, 64, 1, 1)}
    inits.update({"w4": w(32, 64, 3, 3), "fc": w(80, 512).T.copy()})
    inits["b4"] = rng.uniform(-0.1, 0.1, 32).astype(np.float32)
    nodes = [
        N("Conv", ["input", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        N("Relu", ["c1"], ["r1"]),
        N("Conv", ["r1", "w2"], ["c2"]),
        N("Relu", ["c2"], ["r2"]),
        N("Conv", ["r2", "w3"], ["c3"]),
        N("Add", ["c3", "r2"], ["s3"]),
        N("Relu", ["s3"], ["r3"]),
        N("Conv", ["r3", "w4", "b4"], ["output"], pads=[1, 1, 1, 1], strides=[2, 2]),
    ]
    shape = (1, 16, 9, 11)
    model = make_model(nodes, [("input", shape)], [("output", (1, 32, 5, 6))], inits)
    mm = make_model(
        [N("MatMul", ["input", "fc"], ["m"]), N("Relu", ["m"], ["output"])],
        [("input", (1, 512))],
        [("output", (1, 80))],
        {"fc": inits["fc"]},
    )
    tol = {"fp16": FP16_REL, "int8": INT8_REL, "tf32": TF32_REL}[precision]
    for net, x_shape, tactic, count in [(model, shape, "conv", 4), (mm, (1, 512), "matmul", 1)]:
        x = rng.uniform(-1, 1, x_shape).astype(np.float32)
        ranges = all_ranges(net, {"input": x})
        results = {}
        for splits in ("1", "3"):
            monkeypatch.setenv("CLRT_TC_SPLITK", splits)
            engine = build_in(net, precision, ranges)
            assert chosen(engine).count(f"{tactic}.tc_{precision}") == count, chosen(engine)
            ctx = engine.create_execution_context()
            results[splits] = ctx.infer({"input": x})["output"]
            again = ctx.infer({"input": x})["output"]
            assert np.array_equal(results[splits], again), (tactic, splits)
        outs = [[], []]

        def work(t, engine=engine, x=x, outs=outs):
            ctx = engine.create_execution_context()
            outs[t] += [ctx.infer({"input": x})["output"] for _ in range(3)]

        threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(outs[0]) == len(outs[1]) == 3
        for got in outs[0] + outs[1]:
            assert np.array_equal(got, results["3"]), tactic
        # An engine file loads under the split setting it was built with (its workspace size
        # depends on it), and another setting is named in the refusal.
        runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
        loaded = runtime.deserialize_cuda_engine(bytes(engine.serialize()))
        assert np.array_equal(
            loaded.create_execution_context().infer({"input": x})["output"], results["3"]
        )
        monkeypatch.setenv("CLRT_TC_SPLITK", "1")
        with pytest.raises(trt.EngineFormatError, match="CLRT_TC_SPLITK"):
            runtime.deserialize_cuda_engine(bytes(engine.serialize()))
        monkeypatch.delenv("CLRT_TC_SPLITK")
        ref = ort_run(net, {"input": x})["output"]
        assert rel_err(results["3"], ref) < tol * 2, tactic
        if precision == "int8":
            assert np.array_equal(results["3"], results["1"]), tactic
        else:
            assert rel_err(results["3"], results["1"]) < tol / 4, tactic
