"""Attention written out as layers (MatMul, scale, mask Add, Softmax, PyTorch's NaN guard,
MatMul), fused into one ATTENTION layer by passes/fuse_attention.cc and run by
kernels/attention.cl, against onnxruntime on the unfused graph.

One model holds every FP32 case as its own output over shared inputs, so one engine is built
(PoCL compiles slowly). 37 keys make two key tiles of the kernel (32 each); one query row holds a
NaN, one key too where its tile is otherwise masked; one mask row is all -inf (its softmax is NaN: NaN out, or zeros under the guard); one
batch's first 32 keys are all masked (a whole tile that adds nothing). Tolerance: FP32
|clrt - ort| <= 1e-5 + 1e-4 * |ort| (the fused kernel sums the same products in another order);
FP16 storage 5e-3 * |ort| + 5e-3 * max|ort| as tests/device/test_fp16.py."""

import json

import clrt as trt
import numpy as np
import pytest
from helpers import (
    RecordingLogger,
    assert_close,
    deserialize,
    make_config,
    make_model,
    ort_run,
    packed_mha_model,
    parse_network,
    separate_projections_model,
)
from onnx import helper as oh

N = oh.make_node
B, H, SQ, SKV, D, DV = 2, 3, 5, 37, 8, 4
RTOL, ATOL = 1e-4, 1e-5


def inputs(d=D, dv=DV):
    rng = np.random.default_rng(7)
    x = {
        "q": rng.standard_normal((B, H, SQ, d)).astype(np.float32),
        "k": rng.standard_normal((B, H, SKV, d)).astype(np.float32),
        "v": rng.standard_normal((B, H, SKV, dv)).astype(np.float32),
        "bias_h": rng.standard_normal((1, H, SQ, SKV)).astype(np.float32),
        "bias_2": rng.standard_normal((SQ, SKV)).astype(np.float32),
    }
    x["q"][0, 1, 3, 2] = np.nan
    # One NaN key where batch 1 masks a whole tile (keys 0-31): only a NaN flag can remember it.
    x["k"][1, 2, 5, 0] = np.nan
    x["kT"] = np.ascontiguousarray(np.swapaxes(x["k"], -1, -2))
    keys = np.where(rng.random((B, 1, 1, SKV)) < 0.2, -np.inf, 0.0).astype(np.float32)
    keys[1, :, :, :32] = -np.inf  # batch 1: the whole first tile masked
    keys[1, :, :, 33] = 0.0
    x["mask_keys"] = keys
    rows = np.zeros((B, 1, SQ, SKV), np.float32)
    rows[0, 0, 2, :] = -np.inf  # one query row sees no key
    x["mask_rows"] = rows
    return x


def constants(d=D):
    return {
        "c": np.array(d**-0.5, np.float32),
        "c4": np.array(d**-0.25, np.float32),
        "root_d": np.array(d**0.5, np.float32),
        "zero": np.array(0.0, np.float32),
    }


def attention(out, q, kt_node, scores, extra=(), guard=False):
    """Nodes of softmax(scores(q, k)) @ v named after `out`; `scores` lists the nodes between
    the first MatMul (output f"{out}_s") and the softmax input f"{out}_x"."""
    nodes = list(extra) + [kt_node, N("MatMul", [q, f"{out}_kt"], [f"{out}_s"])] + scores
    nodes.append(N("Softmax", [f"{out}_x"], [f"{out}_p"], axis=-1))
    p = f"{out}_p"
    if guard:
        nodes += [
            N("IsNaN", [p], [f"{out}_nan"]),
            N("Where", [f"{out}_nan", "zero", p], [f"{out}_pz"]),
        ]
        p = f"{out}_pz"
    return nodes + [N("MatMul", [p, "v"], [out])]


def transposed_k(out):
    return N("Transpose", ["k"], [f"{out}_kt"], perm=[0, 1, 3, 2])


CASES = {
    # Scale after q @ k^T, k transposed by a Transpose (folded into trans_b first).
    "plain": attention(
        "plain", "q", transposed_k("plain"), [N("Mul", ["plain_s", "c"], ["plain_x"])]
    ),
    # k given as [.., D, Skv] (trans_k 0), divided by sqrt(d), a rank-2 bias.
    "kT_div_bias2": attention(
        "kT_div_bias2",
        "q",
        N("Identity", ["kT"], ["kT_div_bias2_kt"]),
        [
            N("Div", ["kT_div_bias2_s", "root_d"], ["kT_div_bias2_d"]),
            N("Add", ["kT_div_bias2_d", "bias_2"], ["kT_div_bias2_x"]),
        ],
    ),
    # PyTorch's dynamo export: sqrt(scale) on q and on k^T before the MatMul.
    "sqrt_both": attention(
        "sqrt_both",
        "sqrt_both_q",
        N("Mul", ["sqrt_both_t", "c4"], ["sqrt_both_kt"]),
        [N("Identity", ["sqrt_both_s"], ["sqrt_both_x"])],
        extra=[
            N("Mul", ["q", "c4"], ["sqrt_both_q"]),
            N("Transpose", ["k"], ["sqrt_both_t"], perm=[0, 1, 3, 2]),
        ],
    ),
    # Key masks with a fully masked first tile; per-head bias (Swin's relative positions).
    "keys_masked": attention(
        "keys_masked",
        "q",
        transposed_k("keys_masked"),
        [
            N("Mul", ["keys_masked_s", "c"], ["keys_masked_m"]),
            N("Add", ["keys_masked_m", "mask_keys"], ["keys_masked_x"]),
        ],
    ),
    "bias_heads": attention(
        "bias_heads",
        "q",
        transposed_k("bias_heads"),
        [N("Add", ["bias_heads_s", "bias_h"], ["bias_heads_x"])],
    ),
    # A row that sees no key: NaN as the unfused softmax gives, zeros under the guard.
    "rows_nan": attention(
        "rows_nan",
        "q",
        transposed_k("rows_nan"),
        [N("Add", ["rows_nan_s", "mask_rows"], ["rows_nan_x"])],
    ),
    "rows_guard": attention(
        "rows_guard",
        "q",
        transposed_k("rows_guard"),
        [N("Add", ["mask_rows", "rows_guard_s"], ["rows_guard_x"])],  # the bias first
        guard=True,
    ),
}


def cases_model(d=D, dv=DV, names=tuple(CASES)):
    """(model, feeds) of the named cases over head sizes d (q, k) and dv (v)."""
    x = inputs(d, dv)
    nodes = [n for name in names for n in CASES[name]]
    outs = [(name, (B, H, SQ, dv)) for name in names]
    return make_model(nodes, [(n, v.shape) for n, v in x.items()], outs, constants(d)), x


@pytest.fixture(scope="module")
def case_model():
    return cases_model()


def build(model, fp16=False, half_layers=False, tactic_filter=None):
    log = RecordingLogger()
    builder, network, _ = parse_network(model, builder=trt.Builder(log), logger=log)
    config = make_config(builder, opt_level=0)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    if tactic_filter:
        config.tactic_filter = tactic_filter
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    else:
        # FP32 without TF32 (on tensor-core GPUs TF32 is on by default: the projections would
        # multiply with 10-bit mantissas, and the builder keeps FP32 attention unfused there).
        config.clear_flag(trt.BuilderFlag.TF32)
    if half_layers:  # every softmax in FP16: the fused layer inherits the constraint
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        for i in range(network.num_layers):
            if network.get_layer(i).type == trt.LayerType.SOFTMAX:
                network.get_layer(i).precision = trt.float16
    engine = deserialize(builder.build_serialized_network(network, config))
    return engine, log


def attention_layers(engine):
    info = json.loads(
        engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    )
    return [lay for lay in info["Layers"] if lay["LayerType"] == "ATTENTION"]


@pytest.fixture(scope="module")
def fp32(case_model):
    model, x = case_model
    engine, log = build(model)
    return engine, log, engine.create_execution_context().infer(x), ort_run(model, x)


def test_every_case_is_fused(fp32):
    engine, log, _, _ = fp32
    assert len(attention_layers(engine)) == len(CASES), log.text()
    assert "SOFTMAX" not in json.dumps(
        json.loads(
            engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
        )
    )


@pytest.mark.parametrize("name", list(CASES))
def test_fused_matches_onnxruntime(fp32, name):
    _, _, got, ref = fp32
    assert_close(got[name], ref[name], rtol=RTOL, atol=ATOL, name=name)


def test_special_rows(fp32):
    # The reference itself: the NaN query row is NaN everywhere but under the guard, the fully
    # masked row NaN without the guard and zero with it (so the test above checks both).
    _, _, got, ref = fp32
    assert np.isnan(ref["plain"][0, 1, 3]).all() and np.isnan(ref["rows_nan"][0, :, 2]).all()
    assert (ref["rows_guard"][0, :, 2] == 0).all() and (ref["rows_guard"][0, 1, 3] == 0).all()
    assert (got["rows_guard"][0, :, 2] == 0).all() and np.isfinite(got["keys_masked"][1, :2]).all()
    assert np.isnan(ref["keys_masked"][1, 2]).all()


def test_switch_keeps_layers_apart(case_model, monkeypatch):
    monkeypatch.setenv("CLRT_FUSE_ATTENTION", "0")
    engine, _ = build(case_model[0])
    assert attention_layers(engine) == []


def check_fp16(model, x, tactic_filter=None):
    """Every case in FP16 storage against onnxruntime in FP32; returns the tactics used."""
    engine, _ = build(model, fp16=True, half_layers=True, tactic_filter=tactic_filter)
    layers = attention_layers(engine)
    ref = ort_run(model, x)
    assert len(layers) == len(ref) and all(lay["Precision"] == "HALF" for lay in layers), layers
    got = engine.create_execution_context().infer(x)
    for name, r in ref.items():
        tol = 5e-3 * np.abs(np.nan_to_num(r, nan=0.0)).max()
        assert_close(got[name], r, rtol=5e-3, atol=tol, name=name)
    return {lay["TacticName"] for lay in layers}


def test_fp16_storage(case_model):
    assert check_fp16(*case_model) == {"attention.rows"}


def test_packed_projection_is_read_in_place():
    # Every movement layer of torchvision's attention goes: the fused layer reads q, k and v as
    # strided views of the packed projection and writes the heads back together itself.
    model, x = packed_mha_model(D, s=SKV, b=B)
    engine, log = build(model)
    info = json.loads(
        engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    )
    kinds = [lay["LayerType"] for lay in info["Layers"]]
    assert "TRANSPOSE" not in kinds and "GATHER" not in kinds, (kinds, log.text())
    (att,) = attention_layers(engine)
    assert [t["Name"] for t in att["Inputs"]] == ["x", "x", "x"], att
    assert_close(engine.create_execution_context().infer(x)["y"], ort_run(model, x)["y"])


def test_fp16_attention_with_a_float_min_mask():
    # Hugging Face's mask: (1 - keep) * finfo(float32).min added to the scores. The bias keeps
    # its own dtype (FP32) in an FP16 engine, so the fused layer runs in FP16 although the mask
    # exceeds FP16's range (before, the build refused the FP16 constraint naming that range).
    nodes = attention(
        "y",
        "q",
        N("Transpose", ["k"], ["y_kt"], perm=[0, 1, 3, 2]),
        [
            N("Mul", ["y_s", "c"], ["y_m"]),
            N("Mul", ["drop", "fmin"], ["bias"]),
            N("Add", ["y_m", "bias"], ["y_x"]),
        ],
    )
    x = inputs()
    x = {n: np.nan_to_num(x[n], nan=0.0) for n in ("q", "k", "v")}
    x["drop"] = (np.random.default_rng(2).random((B, 1, 1, SKV)) < 0.3).astype(np.float32)
    inits = {"c": constants()["c"], "fmin": np.array(np.finfo(np.float32).min, np.float32)}
    model = make_model(nodes, [(n, v.shape) for n, v in x.items()], [("y", (B, H, SQ, DV))], inits)
    engine, _ = build(model, fp16=True, half_layers=True)
    (att,) = attention_layers(engine)
    assert att["Precision"] == "HALF" and att["Inputs"][3]["Format/Datatype"] == "FLOAT", att
    ref = ort_run(model, x)["y"]
    got = engine.create_execution_context().infer(x)["y"]
    assert_close(got, ref, rtol=5e-3, atol=5e-3 * np.abs(ref).max())


@pytest.mark.parametrize("out_proj", [False, True])
def test_batch_first_projection_leaves_no_transpose(out_proj):
    # With torchvision ViT's in_proj in front (batch-first input transposed to sequence first),
    # the transpose moves below the projection into the views; with its out_proj and residual
    # behind, the attention writes batch first and the projection takes the residual Add: no
    # movement layer runs but a reshape (a view).
    model, x = packed_mha_model(D, s=SKV, b=B, in_proj=True, out_proj=out_proj)
    engine, log = build(model)
    info = json.loads(
        engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    )
    kinds = [lay["LayerType"] for lay in info["Layers"]]
    want = ["MATRIX_MULTIPLY", "ATTENTION", "RESHAPE"] + ["MATRIX_MULTIPLY"] * out_proj
    assert kinds == want, (kinds, log.text())
    assert_close(engine.create_execution_context().infer(x)["y"], ort_run(model, x)["y"])


@pytest.mark.parametrize("fp16", [False, True], ids=["fp32", "fp16"])
@pytest.mark.parametrize("cross", [False, True], ids=["self", "cross"])
def test_separate_projections_run_as_one_matmul(cross, fp16):
    # Hugging Face's query, key and value MatMuls of one input run as one MatMul whose output
    # the attention reads in place (cross-attention: key and value of the encoder's output
    # pack, the query keeps its own): no movement layer but the final reshape (a view).
    model, x = separate_projections_model(D, s=SKV, b=B, cross=cross, sk=SQ)
    engine, log = build(model, fp16=fp16, half_layers=fp16)
    info = json.loads(
        engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    )
    kinds = [lay["LayerType"] for lay in info["Layers"] if lay["LayerType"] != "REFORMAT"]
    want = ["MATRIX_MULTIPLY"] * (1 + cross) + ["ATTENTION", "RESHAPE"]
    assert kinds == want, (kinds, log.text())
    got, ref = engine.create_execution_context().infer(x)["y"], ort_run(model, x)["y"]
    if fp16:
        assert_close(got, ref, rtol=5e-3, atol=5e-3 * np.abs(ref).max())
    else:
        assert_close(got, ref)


def test_gpt2_attention_reads_its_projection_in_place():
    # models/arch/gpt2_tiny.onnx: q, k, v split off c_attn's output, head-split, k through a KV
    # cache's concatenation with an empty past, the heads put back: no SPLIT, TRANSPOSE or
    # CONCATENATION runs; values as onnxruntime's (test_architectures.py checks them too).
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "models" / "arch" / "gpt2_tiny.onnx"
    engine, _ = build(path.read_bytes())
    info = json.loads(
        engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    )
    kinds = {lay["LayerType"] for lay in info["Layers"]}
    assert "ATTENTION" in kinds and not kinds & {"SPLIT", "TRANSPOSE", "CONCATENATION"}, kinds


def check_dynamic_broadcast(d=D, dv=DV, fp16=False, tactic_filter=None):
    """Attention whose batch and lengths are known only at run time, k and v shared across the
    batch: built once for 1 to 70 keys (one to three key tiles), run at three shapes against
    onnxruntime (FP32 tolerance, or FP16 storage's). Returns the tactic the layer got."""
    nodes = attention(
        "y",
        "q",
        N("Transpose", ["k"], ["y_kt"], perm=[0, 1, 3, 2]),
        [N("Mul", ["y_s", "c"], ["y_m"]), N("Add", ["y_m", "mask"], ["y_x"])],
    )
    model = make_model(
        nodes,
        [
            ("q", ("b", H, "s", d)),
            ("k", (1, H, "t", d)),
            ("v", (1, H, "t", dv)),
            ("mask", ("b", 1, 1, "t")),
        ],
        [("y", ("b", H, "s", dv))],
        {"c": constants(d)["c"]},
    )
    shapes = {
        "q": ((1, H, 1, d), (2, H, 5, d), (3, H, 9, d)),
        "k": ((1, H, 1, d), (1, H, 33, d), (1, H, 70, d)),
        "v": ((1, H, 1, dv), (1, H, 33, dv), (1, H, 70, dv)),
        "mask": ((1, 1, 1, 1), (2, 1, 1, 33), (3, 1, 1, 70)),
    }
    builder, network, _ = parse_network(model)
    config = make_config(builder, profiles=shapes, opt_level=0)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    if tactic_filter:
        config.tactic_filter = tactic_filter
    if not fp16:
        config.clear_flag(trt.BuilderFlag.TF32)  # FP32 numerics, fused (see build())
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        for i in range(network.num_layers):
            if network.get_layer(i).type == trt.LayerType.SOFTMAX:
                network.get_layer(i).precision = trt.float16
    engine = deserialize(builder.build_serialized_network(network, config))
    (att,) = attention_layers(engine)
    context = engine.create_execution_context()
    rng = np.random.default_rng(4)
    for b, s, t in ((1, 1, 1), (3, 9, 70), (2, 5, 33)):
        x = {
            "q": rng.standard_normal((b, H, s, d)).astype(np.float32),
            "k": rng.standard_normal((1, H, t, d)).astype(np.float32),
            "v": rng.standard_normal((1, H, t, dv)).astype(np.float32),
            "mask": np.where(rng.random((b, 1, 1, t)) < 0.2, -1e4, 0).astype(np.float32),
        }
        ref = ort_run(model, x)["y"]
        rtol, atol = (5e-3, 5e-3 * np.abs(ref).max()) if fp16 else (RTOL, ATOL)
        assert_close(context.infer(x)["y"], ref, rtol=rtol, atol=atol)
    return att["TacticName"]


def test_leading_dims_known_at_run_time_or_broadcast():
    # Hugging Face exports keep batch and sequence dynamic: the fused layer takes leading dims
    # known only at run time, and broadcasts them as the MatMuls it replaced.
    assert check_dynamic_broadcast() == "attention.rows"


def test_ranged_scores_still_fuse():
    """INT8 with a dynamic range on every tensor (as INT8 scripts and clrtexec's placeholder
    ranges set them): the attention still fuses and reads q, k and v in place, the ranges of the
    scores and probabilities go unused (a VERBOSE note names them), and the INT8 projections
    around it stay close to onnxruntime FP32: |clrt - ort| <= 0.05 * max|ort|."""
    from test_tensorcore import all_ranges, int8_fp16_config, set_all_ranges

    model, x = packed_mha_model(D, s=SKV, b=B, in_proj=True, out_proj=True)
    ranges = all_ranges(model, x)
    log = RecordingLogger()
    builder, network, _ = parse_network(model, builder=trt.Builder(log), logger=log)
    set_all_ranges(network, ranges)
    config = int8_fp16_config(builder)
    engine = deserialize(builder.build_serialized_network(network, config))
    assert len(attention_layers(engine)) == 1, log.text()
    # The views of the projection fold in as without ranges: no movement layer is left.
    info = json.loads(
        engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    )
    kinds = [lay["LayerType"] for lay in info["Layers"]]
    assert "TRANSPOSE" not in kinds and "GATHER" not in kinds, (kinds, log.text())
    notes = [m for _, m in log.lines if "go unused" in m]
    assert notes and any("'" in m for m in notes), log.text()
    got = engine.create_execution_context().infer(x)["y"]
    ref = ort_run(model, x)["y"]
    assert np.abs(got - ref).max() <= 0.05 * np.abs(ref).max(), np.abs(got - ref).max()
