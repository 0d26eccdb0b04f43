# Attention (opsets 23-25), RotaryEmbedding, CausalConvWithState and LinearAttention (opset 27)
# against onnxruntime: causal, grouped-query heads, boolean and float masks, KV cache with present
# outputs, the QK debug output, fully-masked rows, external-cache lengths, sliding windows, state
# carried in and out, every update rule, sequence lengths known only at run time, FP16 inputs and
# FP16 engines.
"""One model per family holds every case as its own node reading shared inputs (one graph output
each), so an engine is built once per module (PoCL compiles slowly). Tolerance: FP32
|clrt - ort| <= 1e-5 + 1e-4 * |ort|; FP16 inputs 2e-3 + 2e-3 * |ort| (onnxruntime rounds
intermediates to half, clrt keeps them in float); FP16 engines (BuilderFlag.FP16) as
tests/device/test_fp16.py: 5e-3 * |ort| + 5e-3 * max|ort|."""

import clrt as trt
import numpy as np
import pytest
from helpers import (
    assert_close,
    build_engine,
    deserialize,
    make_model,
    ort_run,
    parse_network,
    rand,
)
from onnx import helper as oh

N = oh.make_node
RTOL, ATOL = 1e-4, 1e-5
B, HQ, HKV, SQ, SKV, PAST, D, DV = 2, 4, 2, 3, 5, 2, 8, 6

# (name, node inputs, attributes, extra outputs). 4-D inputs unless the name says 3-D.
ATTENTION = [
    ("mha", ["q4", "k4", "v4"], {}, []),
    ("causal", ["q4", "k4", "v4"], {"is_causal": 1}, []),
    ("gqa_causal", ["q4g", "k4", "v4"], {"is_causal": 1}, []),
    ("gqa_3d", ["q3", "k3", "v3"], {"q_num_heads": HQ, "kv_num_heads": HKV}, []),
    (
        "gqa_3d_causal_scaled",
        ["q3", "k3", "v3"],
        {"q_num_heads": HQ, "kv_num_heads": HKV, "is_causal": 1, "scale": 0.3},
        [],
    ),
    ("bool_mask", ["q4", "k4", "v4", "mask_bool"], {}, []),  # row 1 fully masked: zeros
    ("bool_mask_causal", ["q4", "k4", "v4", "mask_bool"], {"is_causal": 1}, []),
    ("float_mask_4d_softcap", ["q4", "k4", "v4", "mask_f4"], {"softcap": 1.5}, []),
    ("short_mask", ["q4", "k4", "v4", "mask_short"], {}, []),  # padded with -inf to SKV keys
    ("past", ["q4g", "k4", "v4", "mask_past", "past_k", "past_v"], {}, ["pk", "pv"]),
    (
        "past_causal_qk3",
        ["q4g", "k4", "v4", "", "past_k", "past_v"],
        {"is_causal": 1, "qk_matmul_output_mode": 3},
        ["pk2", "pv2", "qk3"],
    ),
    (
        "qk0",
        ["q4", "k4", "v4", "mask_f4"],
        {"qk_matmul_output_mode": 0, "softcap": 2.0},
        ["", "", "qk0_out"],
    ),
    (
        "qk1",
        ["q4", "k4", "v4", "mask_f4"],
        {"qk_matmul_output_mode": 1, "softcap": 2.0},
        ["", "", "qk1_out"],
    ),
    ("qk2", ["q4", "k4", "v4", "mask_bool"], {"qk_matmul_output_mode": 2}, ["", "", "qk2_out"]),
    ("nonpad_causal", ["q4", "k4", "v4", "", "", "", "nonpad"], {"is_causal": 1}, []),
    ("nonpad_mask", ["q4", "k4", "v4", "mask_bool", "", "", "nonpad"], {}, []),
    ("window_causal", ["q4", "k4", "v4"], {"is_causal": 1, "left_window_size": 1}, []),
    ("window_both", ["q4", "k4", "v4"], {"left_window_size": 1, "right_window_size": 2}, []),
    (
        "window_nonpad",
        ["q4", "k4", "v4", "", "", "", "nonpad"],
        {"is_causal": 1, "left_window_size": 2},
        [],
    ),
]

# (name, node inputs, attributes).
ROTARY = [
    ("rope", ["x4", "cos", "sin", "pos"], {}),
    ("rope_interleaved", ["x4", "cos", "sin", "pos"], {"interleaved": 1}),
    ("rope_partial", ["x4", "cos_half", "sin_half", "pos"], {"rotary_embedding_dim": D // 2}),
    (
        "rope_partial_interleaved",
        ["x4", "cos_half", "sin_half", "pos"],
        {"rotary_embedding_dim": D // 2, "interleaved": 1},
    ),
    ("rope_3d", ["x3", "cos", "sin", "pos"], {"num_heads": HQ}),
    ("rope_no_pos", ["x4", "cos_bs", "sin_bs"], {}),
]


def _inputs(fp=np.float32):
    mask_bool = np.ones([SQ, SKV], bool)
    mask_bool[0, 3:] = False
    mask_bool[1, :] = False
    mask_f4 = rand([B, 1, SQ, SKV], 5)
    mask_f4[0, 0, 2, 1] = -np.inf
    ang = rand([10, D // 2], 9, 0.0, 3.0)
    ang_bs = rand([B, SQ, D // 2], 10, 0.0, 3.0)
    feeds = {
        "q4": rand([B, HKV, SQ, D], 1),
        "q4g": rand([B, HQ, SQ, D], 2),
        "k4": rand([B, HKV, SKV, D], 3),
        "v4": rand([B, HKV, SKV, DV], 4),
        "q3": rand([B, SQ, HQ * D], 6),
        "k3": rand([B, SKV, HKV * D], 7),
        "v3": rand([B, SKV, HKV * DV], 8),
        "mask_f4": mask_f4,
        "mask_short": rand([SQ, SKV - 2], 11),
        "mask_past": rand([SQ, PAST + SKV], 12),
        "past_k": rand([B, HKV, PAST, D], 13),
        "past_v": rand([B, HKV, PAST, DV], 14),
        "x4": rand([B, HQ, SQ, D], 15),
        "x3": rand([B, SQ, HQ * D], 16),
        "cos": np.cos(ang),
        "sin": np.sin(ang),
        "cos_half": np.cos(ang[:, : D // 4]),
        "sin_half": np.sin(ang[:, : D // 4]),
        "cos_bs": np.cos(ang_bs),
        "sin_bs": np.sin(ang_bs),
    }
    feeds = {k: v.astype(fp) for k, v in feeds.items()}
    feeds["mask_bool"] = mask_bool
    feeds["nonpad"] = np.array([SKV, SKV - 3], np.int64)  # batch 1: offset -1, row 0 empty
    feeds["pos"] = np.array([[0, 1, 2], [7, 3, 9]], np.int64)
    return feeds


def _model(feeds, attention, rotary, opset=25):
    nodes, outs = [], []
    for name, ins, attrs, extra in attention:
        nodes.append(N("Attention", ins, [name] + extra, **attrs))
        outs += [name] + [e for e in extra if e]
    for name, ins, attrs in rotary:
        nodes.append(N("RotaryEmbedding", ins, [name], **attrs))
        outs.append(name)
    used = {i for n in nodes for i in n.input if i}
    inputs = [(k, list(v.shape), v.dtype) for k, v in feeds.items() if k in used]
    model = make_model(nodes, inputs, outs, opset=opset, name="attention")
    for o in model.graph.output:  # dtypes follow the inputs; shapes left to inference
        o.type.tensor_type.elem_type = oh.np_dtype_to_tensor_dtype(feeds["q4"].dtype)
        o.type.tensor_type.ClearField("shape")
    return model, {k: v for k, v in feeds.items() if k in used}


class Family:
    def __init__(self, attention, rotary, fp=np.float32, fp16_flag=False):
        self.model, self.feeds = _model(_inputs(fp), attention, rotary)
        self.fp16_flag = fp16_flag
        self._results = None

    def results(self):
        if self._results is None:
            if self.fp16_flag:  # FP16 allowed; layers whose values leave its range stay FP32
                builder, network, _ = parse_network(self.model)
                config = builder.create_builder_config()
                config.set_flag(trt.BuilderFlag.FP16)
                engine = deserialize(bytes(builder.build_serialized_network(network, config)))
            else:
                engine = build_engine(self.model)
            got = engine.create_execution_context().infer(self.feeds)
            self._results = got, ort_run(self.model, self.feeds)
        return self._results


# Opset 27: (op, name, node inputs, attributes, extra outputs).
STATEFUL = [
    ("CausalConvWithState", "conv", ["cx", "cw"], {}, ["conv_state"]),
    (
        "CausalConvWithState",
        "conv_past_bias_silu",
        ["cx", "cw", "cb", "cpast"],
        {"activation": "silu"},
        ["conv_state2"],
    ),
    ("LinearAttention", "la_linear", ["lq", "lk", "lv"], {"update_rule": "linear"}, ["la_s1"]),
    (
        "LinearAttention",
        "la_gated_head_decay",
        ["lq", "lk", "lv", "", "ldecay_h"],
        {"update_rule": "gated"},
        ["la_s2"],
    ),
    (
        "LinearAttention",
        "la_gated_delta_past",
        ["lq", "lk", "lv", "lpast", "ldecay", "lbeta"],
        {"scale": 0.5},
        ["la_s3"],
    ),
    (
        "LinearAttention",
        "la_delta_gqa",
        ["lq2", "lk", "lv", "", "", "lbeta1"],
        {"update_rule": "delta", "q_num_heads": 2 * HKV},
        ["la_s4"],
    ),
]
T_LA, DK_LA = 3, 4


def _stateful_model():
    feeds = {
        "cx": rand([B, 3, 6], 20),
        "cw": rand([3, 1, 4], 21),
        "cb": rand([3], 22),
        "cpast": rand([B, 3, 3], 23),
        "lq": rand([B, T_LA, HKV * DK_LA], 24),
        "lq2": rand([B, T_LA, 2 * HKV * DK_LA], 25),
        "lk": rand([B, T_LA, HKV * DK_LA], 26) * 0.5,
        "lv": rand([B, T_LA, HKV * DV], 27),
        "lpast": rand([B, HKV, DK_LA, DV], 28),
        "ldecay": rand([B, T_LA, HKV * DK_LA], 29, -0.5, 0.0),
        "ldecay_h": rand([B, T_LA, HKV], 30, -0.5, 0.0),
        "lbeta": rand([B, T_LA, HKV], 31, 0.0, 1.0),
        "lbeta1": rand([B, T_LA, 1], 32, 0.0, 1.0),
    }
    nodes, outs = [], []
    for op, name, ins, attrs, extra in STATEFUL:
        if op == "LinearAttention":
            attrs = {"q_num_heads": HKV, "kv_num_heads": HKV, **attrs}
        nodes.append(N(op, ins, [name] + extra, **attrs))
        outs += [name] + extra
    model = make_model(nodes, [(k, list(v.shape)) for k, v in feeds.items()], outs, opset=27)
    for o in model.graph.output:
        o.type.tensor_type.ClearField("shape")
    return model, feeds


FP16_ATTENTION = [a for a in ATTENTION if a[0] in ("causal", "gqa_3d", "past", "bool_mask")]
FP16_ROTARY = [r for r in ROTARY if r[0] in ("rope", "rope_partial_interleaved")]


@pytest.fixture(scope="module")
def fp32():
    return Family(ATTENTION, ROTARY)


@pytest.fixture(scope="module")
def fp16_engine():
    return Family(ATTENTION, ROTARY, fp16_flag=True)


@pytest.fixture(scope="module")
def stateful():
    family = Family([], [])
    family.model, family.feeds = _stateful_model()
    return family


@pytest.fixture(scope="module")
def fp16():
    return Family(FP16_ATTENTION, FP16_ROTARY, np.float16)


def _outputs(cases):
    return [o for c in cases for o in [c[0]] + [e for e in (c[3] if len(c) > 3 else []) if e]]


@pytest.mark.parametrize("name", _outputs(ATTENTION) + _outputs(ROTARY))
def test_fp32(fp32, name):
    got, ref = fp32.results()
    assert_close(got[name], ref[name], RTOL, ATOL, name)


@pytest.mark.parametrize("name", _outputs(FP16_ATTENTION) + _outputs(FP16_ROTARY))
def test_fp16_inputs(fp16, name):
    got, ref = fp16.results()
    assert got[name].dtype == np.float16, f"{name}: {got[name].dtype}"
    assert_close(got[name].astype(np.float32), ref[name].astype(np.float32), 2e-3, 2e-3, name)


@pytest.mark.parametrize("name", _outputs(ATTENTION) + _outputs(ROTARY))
def test_fp16_builder_flag(fp16_engine, name):
    got, ref = fp16_engine.results()
    finite = np.abs(ref[name][np.isfinite(ref[name])])
    assert_close(got[name], ref[name], 5e-3, 5e-3 * float(finite.max()), name)


@pytest.mark.parametrize("name", [o for c in STATEFUL for o in [c[1]] + c[4]])
def test_opset27(stateful, name):
    got, ref = stateful.results()
    assert_close(got[name], ref[name], RTOL, ATOL, name)


def test_runtime_sequence_lengths():
    """Causal and windowed attention over 3-D inputs whose sequence length is known only at run
    time (the frontier computed on the device), with a KV cache or external-cache lengths, and
    RotaryEmbedding over the same lengths; two lengths, one engine."""
    attrs = {"q_num_heads": HQ, "kv_num_heads": HKV}
    nodes = [
        N("Attention", ["q", "k", "v"], ["causal"], is_causal=1, **attrs),
        N("Attention", ["q", "k", "v", "", "", "", "n"], ["nonpad"], is_causal=1, **attrs),
        N(
            "Attention",
            ["q", "k", "v", "", "pk", "pv"],
            ["past", "pk_out", "pv_out"],
            is_causal=1,
            left_window_size=2,
            **attrs,
        ),
        N("RotaryEmbedding", ["q", "cos", "sin"], ["rope"], num_heads=HQ),
    ]
    inputs = [
        ("q", [B, "s", HQ * D]),
        ("cos", [B, "s", D // 2]),
        ("sin", [B, "s", D // 2]),
        ("k", [B, "s", HKV * D]),
        ("v", [B, "s", HKV * DV]),
        ("pk", [B, HKV, "p", D]),
        ("pv", [B, HKV, "p", DV]),
        ("n", [B], np.int64),
    ]
    outputs = ["causal", "nonpad", "past", "pk_out", "pv_out", "rope"]
    model = make_model(nodes, inputs, outputs, opset=25)
    for o in model.graph.output:
        o.type.tensor_type.ClearField("shape")
    shapes = {"q": HQ * D, "k": HKV * D, "v": HKV * DV, "pk": D, "pv": DV}  # last dims
    shapes.update(cos=D // 2, sin=D // 2)

    def dims(name, s_len, p_len):
        return [B, HKV, p_len, shapes[name]] if name[0] == "p" else [B, s_len, shapes[name]]

    profile = {n: (dims(n, 1, 1), dims(n, 4, 3), dims(n, 4, 3)) for n in shapes}
    engine = build_engine(model, profiles=profile)
    for s_len, p_len in ((4, 3), (2, 1)):
        feeds = {n: rand(dims(n, s_len, p_len), 40 + i) for i, n in enumerate(shapes)}
        feeds["n"] = np.array([s_len, s_len - 1], np.int64)  # batch 1: its first query sees none
        got = engine.create_execution_context().infer(feeds)
        for name, expected in ort_run(model, feeds).items():
            assert_close(got[name], expected, RTOL, ATOL, f"{name} (length {s_len})")


def test_causal_conv_runtime_length():
    """CausalConvWithState over an input length known only at run time (prefill, then a decode
    step carrying the state), one engine."""
    node = N("CausalConvWithState", ["x", "w", "b", "s"], ["y", "s_out"], activation="silu")
    inputs = [("x", [B, 3, "L"]), ("w", [3, 1, 4]), ("b", [3]), ("s", [B, 3, 3])]
    model = make_model([node], inputs, ["y", "s_out"], opset=27)
    engine = build_engine(model, profiles={"x": ([B, 3, 1], [B, 3, 6], [B, 3, 6])})
    for length in (6, 1):
        feeds = {"x": rand([B, 3, length], 50), "w": rand([3, 1, 4], 51), "b": rand([3], 52)}
        feeds["s"] = rand([B, 3, 3], 53)
        got = engine.create_execution_context().infer(feeds)
        for name, expected in ort_run(model, feeds).items():
            assert_close(got[name], expected, RTOL, ATOL, f"{name} (length {length})")


def test_fully_masked_rows_are_zero(fp32):
    got, _ = fp32.results()
    assert np.all(got["bool_mask"][:, :, 1] == 0)
    assert np.all(got["nonpad_causal"][1, :, 0] == 0)
    assert not np.isnan(got["bool_mask"]).any()


def test_refusals_name_the_problem():
    cases = [
        (N("Attention", ["q", "k", "v"], ["y"]), [2, 6, 16], "q_num_heads"),
        (N("Attention", ["q", "k", "v", "", "k"], ["y"]), [1, 2, 3, 8], "past_value"),
        (N("Attention", ["q", "k", "v"], ["y"], qk_matmul_output_mode=5), [1, 2, 3, 8], "0..3"),
        (N("RotaryEmbedding", ["q", "k", "v"], ["y"]), [2, 6, 16], "num_heads"),
    ]
    for node, shape, words in cases:
        model = make_model([node], [(n, shape) for n in ("q", "k", "v")], ["y"], opset=23)
        with pytest.raises(AssertionError, match=words):
            parse_network(model)


def test_decomposed_attention_with_transposes_folded_into_its_matmuls():
    """Attention as PyTorch exports it without the Attention op: q @ transpose(k) with k^T a
    transpose of the last two axes (folded into trans_b), or the head split and k^T in one
    (perm 0,2,3,1: the transpose keeps the head split, node 4), then softmax and @ v, and a
    transpose of the last two axes on operand A, and k^T divided by sqrt(d) before its MatMul
    (the division moves before the transpose); against onnxruntime at the FP32 tolerance
    above."""
    x = {
        "q": rand((B, HQ, SQ, D), seed=1),
        "k": rand((B, HQ, SKV, D), seed=2),
        "ks": rand((B, SKV, HQ, D), seed=3),  # k before its head split
        "v": rand((B, HQ, SKV, DV), seed=4),
        "a": rand((B, HQ, D, SQ), seed=5),
        "b": rand((B, HQ, D, SKV), seed=6),
    }
    nodes = [
        N("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
        N("MatMul", ["q", "kt"], ["s1"]),
        N("Softmax", ["s1"], ["p1"], axis=-1),
        N("MatMul", ["p1", "v"], ["y1"]),
        N("Transpose", ["ks"], ["kst"], perm=[0, 2, 3, 1]),
        N("MatMul", ["q", "kst"], ["y2"]),
        N("Transpose", ["a"], ["at"], perm=[0, 1, 3, 2]),
        N("MatMul", ["at", "b"], ["y3"]),
        N("Transpose", ["ks"], ["ks4"], perm=[0, 2, 3, 1]),
        N("Div", ["ks4", "root_d"], ["ks4s"]),  # BERT's scale on k^T, moved before the transpose
        N("MatMul", ["q", "ks4s"], ["y4"]),
    ]
    outs = [("y1", (B, HQ, SQ, DV)), ("y2", (B, HQ, SQ, SKV)), ("y3", (B, HQ, SQ, SKV))]
    outs.append(("y4", (B, HQ, SQ, SKV)))
    root_d = {"root_d": np.array(D**0.5, np.float32)}
    model = make_model(nodes, [(n, v.shape) for n, v in x.items()], outs, root_d)
    engine = build_engine(model)
    info = engine.create_engine_inspector().get_engine_information(
        trt.LayerInformationFormat.ONELINE
    )
    # The head splits of ks only (k^T and a^T went into their MatMuls).
    assert [n for n in info.split() if n.startswith("Transpose")] == [
        "Transpose_4",
        "Transpose_8",
    ], info
    got = engine.create_execution_context().infer(x)
    ref = ort_run(model, x)
    for name, _ in outs:
        assert_close(got[name], ref[name], rtol=RTOL, atol=ATOL)
