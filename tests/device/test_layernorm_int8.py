# LayerNormalization writing INT8 for the INT8 layer that reads it (builder/precision.cc
# narrowOutput, normalization.cl layernorm_vec's q8): the quantization the REFORMAT after it used
# to do, in the LayerNorm's own write. Transformers' pre-norm blocks (ViT, BERT) feed each
# LayerNorm to an INT8 projection.
"""The INT8 values are read back through an identity MatMul in INT8 (weights exactly 127 / 127,
a one-product sum): output / s, s = amax(ln) / 127, must be the integers round(ref / s) of the
float64 reference, clamped to +-127, off by at most 1 (a value on a rounding boundary moved by
float or half rounding) and equal for at least 99% of them. Checked with FP16 layers (half
storage in, float arithmetic) and FP32 ones, and against onnxruntime FP32 within INT8's
tolerance. Rows the q8 kernel cannot take (a length that is not whole 16-byte vectors) keep the
float write and a REFORMAT, and are right too."""

import json

import clrt as trt
import numpy as np
import pytest
from helpers import make_config, make_model, ort_run, parse_network
from onnx.helper import make_node as N
from test_tensorcore import INT8_REL, all_ranges, build

# (id, precision flags, input shape, axis, bias, whether the LayerNorm writes INT8)
CASES = [
    ("fp16-768", "fp16", (2, 7, 768), -1, True, True),
    ("fp32-64-nobias", "fp32", (3, 5, 64), -1, False, True),
    ("fp16-2x64", "fp16", (3, 2, 64), -2, True, True),
    # 20 halves a row: not whole 16-byte vectors, so a REFORMAT quantizes as before.
    ("fp16-20", "fp16", (4, 20), -1, True, False),
]


def model_for(shape, axis, bias, seed=61):
    rng = np.random.default_rng(seed)
    norm = shape[axis % len(shape) :]
    c = shape[-1]
    inits = {"g": rng.uniform(0.5, 1.5, norm).astype(np.float32)}
    ins = ["input", "g"]
    if bias:
        inits["b"] = rng.uniform(-0.3, 0.3, norm).astype(np.float32)
        ins.append("b")
    inits["w"] = np.eye(c, dtype=np.float32)
    nodes = [
        N("LayerNormalization", ins, ["ln"], axis=axis, epsilon=1e-5),
        N("MatMul", ["ln", "w"], ["output"]),
    ]
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
    return make_model(nodes, [("input", shape)], [("output", shape)], inits), x, inits


def build_int8(model, x, fp16):
    ranges = all_ranges(model, {"input": x})
    builder, network, _ = parse_network(model, logger=trt.Logger(trt.Logger.WARNING))
    for i in range(network.num_inputs):
        t = network.get_input(i)
        t.set_dynamic_range(-ranges[t.name], ranges[t.name])
    for li in range(network.num_layers):
        out = network.get_layer(li).get_output(0)
        out.set_dynamic_range(-ranges[out.name], ranges[out.name])
    config = make_config(builder, opt_level=0)
    config.set_flag(trt.BuilderFlag.INT8)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    return build(builder, network, config), ranges


def layers(engine):
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    return json.loads(info)["Layers"]


def reference(x, axis, inits):
    x = x.astype(np.float64)
    axes = tuple(range(axis % x.ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(((x - mean) ** 2).mean(axis=axes, keepdims=True) + 1e-5)
    y = y * inits["g"]
    return y + inits["b"] if "b" in inits else y


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layernorm_writes_int8(case):
    _, prec, shape, axis, bias, narrowed = case
    model, x, inits = model_for(shape, axis, bias)
    engine, ranges = build_int8(model, x, fp16=prec == "fp16")
    ls = layers(engine)
    ln = next(layer for layer in ls if layer["Name"].startswith("LayerNormalization"))
    assert ln["Precision"] == ("HALF" if prec == "fp16" else "FLOAT"), ln
    reformats = [layer["Name"] for layer in ls if layer.get("LayerType") == "REFORMAT"]
    ln_reformat = [n for n in reformats if n.startswith("ln_")]
    if narrowed:
        assert ln["Outputs"][0]["Format/Datatype"] == "INT8", ln
        assert not ln_reformat, reformats
    else:
        assert ln["Outputs"][0]["Format/Datatype"] != "INT8", ln
        assert ln_reformat, reformats

    got = engine.create_execution_context().infer({"input": x})["output"].astype(np.float64)
    ref_out = ort_run(model, {"input": x})["output"]
    err = float(np.abs(got - ref_out).max() / np.abs(ref_out).max())
    assert err < INT8_REL, err

    # The INT8 values themselves, through the identity MatMul.
    s = ranges["ln"] / 127.0
    xin = x.astype(np.float16).astype(np.float64) if prec == "fp16" else x
    want = np.clip(np.rint(reference(xin, axis, inits) / s), -127, 127)
    q = got / s
    assert np.abs(q - np.rint(q)).max() < 0.01, "the output is not whole INT8 steps"
    off = np.abs(np.rint(q) - want)
    assert off.max() <= 1, off.max()
    assert (off == 0).mean() >= 0.99, (off == 0).mean()


def test_pre_norm_block_residual_stream_is_half():
    """A pre-norm block in INT8 + FP16: LN -> MatMul (h), LN(h) -> MatMul + h. Both LayerNorms
    write INT8 for their MatMuls; h, read as HALF by the second LayerNorm and as the second
    MatMul's residual, is stored HALF by the INT8 layer that makes it, and the INT8 MatMul reads
    its residual as HALF: no REFORMAT at all, where FLOAT storage and an INT8 residual needed
    two. The block stays within INT8's tolerance of onnxruntime FP32."""
    rng = np.random.default_rng(7)
    c = 64
    inits = {
        "g1": rng.uniform(0.5, 1.5, c).astype(np.float32),
        "g2": rng.uniform(0.5, 1.5, c).astype(np.float32),
        "w1": (rng.standard_normal((c, c)) / 8).astype(np.float32),
        "w2": (rng.standard_normal((c, c)) / 8).astype(np.float32),
    }
    nodes = [
        N("LayerNormalization", ["input", "g1"], ["l1"], axis=-1),
        N("MatMul", ["l1", "w1"], ["h"]),
        N("LayerNormalization", ["h", "g2"], ["l2"], axis=-1),
        N("MatMul", ["l2", "w2"], ["m2"]),
        N("Add", ["m2", "h"], ["output"]),
    ]
    x = rng.standard_normal((2, 50, c)).astype(np.float32)
    model = make_model(nodes, [("input", x.shape)], [("output", x.shape)], inits)
    engine, _ = build_int8(model, x, fp16=True)
    ls = layers(engine)
    producer = next(lay for lay in ls if any(t["Name"] == "h" for t in lay["Outputs"]))
    assert producer["Precision"] == "INT8", producer
    assert producer["Outputs"][0]["Format/Datatype"] == "HALF", producer
    h_reformats = [
        lay
        for lay in ls
        if lay["LayerType"] == "REFORMAT" and any(t["Name"] == "h" for t in lay["Inputs"])
    ]
    assert not h_reformats, h_reformats
    second = next(lay for lay in ls if any(t["Name"] == "l2" for t in lay["Inputs"]))
    assert [(t["Name"], t["Format/Datatype"]) for t in second["Inputs"]] == [
        ("l2", "INT8"),
        ("h", "HALF"),
    ], second
    norms = [lay for lay in ls if lay["LayerType"] == "NORMALIZATION"]
    assert [n["Outputs"][0]["Format/Datatype"] for n in norms] == ["INT8", "INT8"], norms
    got = engine.create_execution_context().infer({"input": x})["output"]
    ref = ort_run(model, {"input": x})["output"]
    err = float(np.abs(got - ref).max() / np.abs(ref).max())
    assert err < INT8_REL, err


def test_int8_output_read_as_half_and_as_int8_is_stored_half():
    """An INT8 MatMul's output h read by an FP16 LayerNorm and as the INT8 input of another
    MatMul: h is stored HALF, and one REFORMAT (HALF -> INT8) serves the INT8 reader, where
    FLOAT storage wrote twice the bytes and needed two."""
    rng = np.random.default_rng(8)
    c = 64
    inits = {
        "g": rng.uniform(0.5, 1.5, c).astype(np.float32),
        "w1": (rng.standard_normal((c, c)) / 8).astype(np.float32),
        "w2": (rng.standard_normal((c, c)) / 8).astype(np.float32),
        "w3": (rng.standard_normal((c, c)) / 8).astype(np.float32),
    }
    nodes = [
        N("MatMul", ["input", "w1"], ["h"]),
        N("LayerNormalization", ["h", "g"], ["l"], axis=-1),
        N("MatMul", ["l", "w2"], ["a"]),
        N("MatMul", ["h", "w3"], ["b"]),
        N("Add", ["a", "b"], ["output"]),
    ]
    x = rng.standard_normal((2, 50, c)).astype(np.float32)
    model = make_model(nodes, [("input", x.shape)], [("output", x.shape)], inits)
    engine, _ = build_int8(model, x, fp16=True)
    ls = layers(engine)
    producer = next(lay for lay in ls if any(t["Name"] == "h" for t in lay["Outputs"]))
    assert producer["Precision"] == "INT8", producer
    assert producer["Outputs"][0]["Format/Datatype"] == "HALF", producer
    h_reformats = [
        lay
        for lay in ls
        if lay["LayerType"] == "REFORMAT" and any(t["Name"] == "h" for t in lay["Inputs"])
    ]
    assert [r["Outputs"][0]["Format/Datatype"] for r in h_reformats] == ["INT8"], h_reformats
    got = engine.create_execution_context().infer({"input": x})["output"]
    ref = ort_run(model, {"input": x})["output"]
    err = float(np.abs(got - ref).max() / np.abs(ref).max())
    assert err < INT8_REL, err
