# RNN, GRU and LSTM (every direction, layouts, activations, clip, initial states, sequence_lens,
# peepholes, linear_before_reset), If / Loop / Scan and the sequence ops against onnxruntime.
"""The recurrent cases share one model (one engine, built once per module: PoCL compiles
slowly): each node reads the same X and its own weights, with all of its outputs as graph
outputs. Tolerance |clrt - ort| <= 1e-5 + 1e-4 * |ort| (the unrolled steps accumulate float32
rounding in another order than onnxruntime's fused kernels)."""

import clrt as trt
import numpy as np
import pytest
from helpers import (
    EXPLICIT_BATCH,
    LOGGER,
    assert_close,
    build_engine,
    deserialize,
    make_model,
    model_bytes,
    ort_run,
    parse_network,
    parser_errors,
    rand,
)
from onnx import TensorProto
from onnx import helper as oh

RTOL, ATOL = 1e-4, 1e-5
SEQ, BATCH, INPUT, HIDDEN = 4, 3, 5, 3
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
LENS = np.array([4, 2, 1], np.int32)

# name -> (op, attributes, extras): extras name the optional inputs the case feeds.
CASES = {
    "rnn_forward": ("RNN", {}, ()),
    "rnn_reverse_bias": ("RNN", {"direction": "reverse"}, ("B",)),
    "rnn_bidir_initial": ("RNN", {"direction": "bidirectional"}, ("B", "initial_h")),
    "rnn_relu_clip": ("RNN", {"activations": ["Relu"], "clip": 0.5}, ("B",)),
    "rnn_leaky_bidir": (
        "RNN",
        {"direction": "bidirectional", "activations": ["LeakyRelu", "Tanh"]},
        ("B",),
    ),
    "rnn_seq_lens": ("RNN", {"direction": "bidirectional"}, ("B", "lens", "initial_h")),
    "rnn_layout1": ("RNN", {"layout": 1, "direction": "bidirectional"}, ("B", "initial_h")),
    "gru_forward": ("GRU", {}, ()),
    "gru_reverse_bias": ("GRU", {"direction": "reverse"}, ("B",)),
    "gru_lbr_bidir": (
        "GRU",
        {"direction": "bidirectional", "linear_before_reset": 1},
        ("B", "initial_h"),
    ),
    "gru_lbr_lens": ("GRU", {"linear_before_reset": 1, "direction": "reverse"}, ("B", "lens")),
    "gru_seq_lens": ("GRU", {"direction": "bidirectional"}, ("B", "lens", "initial_h")),
    "gru_hardsigmoid_clip": (
        "GRU",
        {
            "activations": ["HardSigmoid", "Softsign"],
            "activation_alpha": [0.3],
            "activation_beta": [0.4],
            "clip": 0.7,
        },
        ("B",),
    ),
    "gru_layout1": ("GRU", {"layout": 1}, ("B", "initial_h", "lens")),
    "lstm_forward": ("LSTM", {}, ()),
    "lstm_reverse_bias": ("LSTM", {"direction": "reverse"}, ("B",)),
    "lstm_bidir_initial": ("LSTM", {"direction": "bidirectional"}, ("B", "initial_h", "initial_c")),
    "lstm_peepholes": ("LSTM", {}, ("B", "initial_h", "initial_c", "P")),
    "lstm_seq_lens": ("LSTM", {"direction": "bidirectional"}, ("B", "lens", "initial_c", "P")),
    "lstm_input_forget_clip": ("LSTM", {"input_forget": 1, "clip": 0.6}, ("B",)),
    "lstm_activations": (
        "LSTM",
        {
            "activations": ["HardSigmoid", "Elu", "ScaledTanh"],
            "activation_alpha": [0.25, 0.9, 1.5],
            "activation_beta": [0.45, 0.8],
        },
        ("B",),
    ),
    "lstm_layout1": (
        "LSTM",
        {"layout": 1, "direction": "bidirectional"},
        ("B", "initial_h", "initial_c", "lens"),
    ),
}


def _case_nodes(name, seed, ort=False):
    """The case's node and initializers; ort=True gives its layout-0 twin (onnxruntime does not
    implement layout 1): X0 and [dirs, batch, hidden] states, outputs to transpose back."""
    op, attrs, extras = CASES[name]
    attrs = dict(attrs)
    layout = 0 if ort else attrs.get("layout", 0)
    if ort:
        attrs.pop("layout", None)
    dirs = 2 if attrs.get("direction") == "bidirectional" else 1
    g = GATES[op]
    inits = {
        f"{name}_W": rand([dirs, g * HIDDEN, INPUT], seed),
        f"{name}_R": rand([dirs, g * HIDDEN, HIDDEN], seed + 1),
    }
    shapes = {
        "B": [dirs, 2 * g * HIDDEN],
        "initial_h": [dirs, BATCH, HIDDEN],
        "initial_c": [dirs, BATCH, HIDDEN],
        "P": [dirs, 3 * HIDDEN],
    }
    for k, shape in shapes.items():
        if k in extras:
            v = rand(shape, seed + 2 + len(inits))
            inits[f"{name}_{k}"] = v.transpose(1, 0, 2) if layout and k.startswith("init") else v
    ins = [f"X{layout}", f"{name}_W", f"{name}_R"]
    order = ["B", "lens", "initial_h", "initial_c", "P"]
    last = max((order.index(e) for e in extras), default=-1)
    for k in order[: last + 1]:
        if k == "lens":
            ins.append("lens" if k in extras else "")
        else:
            ins.append(f"{name}_{k}" if k in extras else "")
    outs = [f"{name}_Y", f"{name}_Y_h"] + ([f"{name}_Y_c"] if op == "LSTM" else [])
    node = oh.make_node(op, ins, outs, name=name, hidden_size=HIDDEN, **attrs)
    return node, inits, outs


def _family_model(ort=False):
    nodes, inits, outs = [], {}, []
    for k, name in enumerate(CASES):
        node, i, o = _case_nodes(name, 10 * k, ort)
        nodes.append(node)
        inits.update(i)
        outs += o
    inputs = [
        ("X0", [SEQ, BATCH, INPUT]),
        ("X1", [BATCH, SEQ, INPUT]),
        ("lens", [BATCH], np.int32),
    ]
    return make_model(nodes, inputs, [(o,) for o in outs], inits, opset=22, name="recurrent")


@pytest.fixture(scope="module")
def family():
    x = rand([SEQ, BATCH, INPUT], 99, -2.0, 2.0)
    feeds = {"X0": x, "X1": np.ascontiguousarray(x.transpose(1, 0, 2)), "lens": LENS}
    got = build_engine(_family_model()).create_execution_context().infer(feeds)
    ref = ort_run(_family_model(ort=True), feeds)
    for name, (_, attrs, _) in CASES.items():
        if attrs.get("layout"):  # batch-major: Y [batch, seq, dirs, hidden], states [batch, ...]
            for o in ref:
                if o.startswith(name + "_Y"):
                    ref[o] = ref[o].transpose((2, 0, 1, 3) if o == name + "_Y" else (1, 0, 2))
    return got, ref


@pytest.mark.parametrize("name", list(CASES))
def test_recurrent_matches_onnxruntime(family, name):
    got, ref = family
    outs = [o for o in ref if o.startswith(name + "_Y")]
    assert len(outs) >= 2
    for o in outs:
        assert_close(got[o], ref[o], RTOL, ATOL, o)


def test_recurrent_fp16_engine_stays_close(family):
    """The same model with FP16 allowed: every output within 1e-2 + 1e-2 * |ort| (states are in
    [-1, 1]; half rounding compounds over the steps)."""
    _, ref = family
    builder, network, _ = parse_network(_family_model())
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.FP16)
    engine = deserialize(bytes(builder.build_serialized_network(network, config)))
    x = rand([SEQ, BATCH, INPUT], 99, -2.0, 2.0)
    feeds = {"X0": x, "X1": np.ascontiguousarray(x.transpose(1, 0, 2)), "lens": LENS}
    got = engine.create_execution_context().infer(feeds)
    for o, expected in ref.items():
        assert_close(got[o].astype(np.float32), expected, 1e-2, 1e-2, o)


# ---- If / Loop / Scan ----

FLOAT = TensorProto.FLOAT


def _graph(name, nodes, inputs, outputs):
    return oh.make_graph(nodes, name, inputs, outputs)


def _vi(name, shape, elem=FLOAT):
    return oh.make_tensor_value_info(name, elem, shape)


def _branches(then_shape=(2, 3)):
    """then: x + 1 (of then_shape); else: x * w (w an outer initializer); both read outer x."""
    then_g = _graph(
        "then",
        [oh.make_node("Add", ["x", "one"], ["t_out"])],
        [],
        [_vi("t_out", list(then_shape))],
    )
    else_g = _graph(
        "else", [oh.make_node("Mul", ["x", "w"], ["e_out"])], [], [_vi("e_out", [2, 3])]
    )
    return then_g, else_g


def _if_model(cond_const=None, then_shape=(2, 3)):
    then_g, else_g = _branches(then_shape)
    inits = {"one": np.ones(then_shape, np.float32)}
    inits["w"] = rand([2, 3], 7)
    inputs = [("x", [2, 3])]
    if cond_const is None:
        inputs.append(("cond", [], np.bool_))
    else:
        inits["cond"] = np.array(cond_const)
    node = oh.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g, name="if0")
    return make_model([node], inputs, [("y", None)], inits, opset=17)


def _parse_errors(model):
    builder = trt.Builder(LOGGER)
    network = builder.create_network(EXPLICIT_BATCH)
    parser = trt.OnnxParser(network, LOGGER)
    assert not parser.parse(model_bytes(model))
    return "\n".join(parser_errors(parser))


@pytest.mark.parametrize("cond", [True, False])
def test_if_constant_condition_imports_the_taken_branch(cond):
    model = _if_model(cond_const=cond)
    _, network, _ = parse_network(model)
    kinds = {network.get_layer(i).type for i in range(network.num_layers)}
    assert all("WHERE" not in str(k).upper() for k in kinds)  # only one branch imported
    feeds = {"x": rand([2, 3], 1)}
    got = build_engine(model).create_execution_context().infer(feeds)
    assert_close(got["y"], ort_run(model, feeds)["y"], RTOL, ATOL, "y")


def test_if_runtime_condition_selects_per_run():
    model = _if_model()
    ctx = build_engine(model).create_execution_context()
    for cond in (True, False):
        feeds = {"x": rand([2, 3], 2), "cond": np.array(cond)}
        assert_close(ctx.infer(feeds)["y"], ort_run(model, feeds)["y"], RTOL, ATOL, f"y {cond}")


def test_if_runtime_condition_with_unequal_branch_shapes_is_refused():
    msg = _parse_errors(_if_model(then_shape=(3, 2, 3)))
    assert "if0" in msg and "computed at run time" in msg and "(3, 2, 3)" in msg, msg


def _loop_model(trip):
    """y carried: y = y + x[iter]; a scan output of y per iteration; x is outer."""
    body = _graph(
        "body",
        [
            oh.make_node("Identity", ["cond_in"], ["cond_out"]),
            oh.make_node("Gather", ["x", "i"], ["row"], axis=0),
            oh.make_node("Add", ["y_in", "row"], ["y_out"]),
            oh.make_node("Mul", ["y_out", "two"], ["scan_out"]),
        ],
        [_vi("i", [], TensorProto.INT64), _vi("cond_in", [], TensorProto.BOOL), _vi("y_in", [3])],
        [_vi("cond_out", [], TensorProto.BOOL), _vi("y_out", [3]), _vi("scan_out", [3])],
    )
    inits = {"two": np.array(2.0, np.float32)}
    inputs = [("x", [4, 3]), ("y0", [3])]
    if trip is None:
        inputs.append(("M", [], np.int64))
    else:
        inits["M"] = np.array(trip, np.int64)
    node = oh.make_node("Loop", ["M", "", "y0"], ["y", "ys"], body=body, name="loop0")
    return make_model([node], inputs, [("y", None), ("ys", None)], inits, opset=17)


def test_loop_with_constant_trip_count_matches_onnxruntime():
    model = _loop_model(3)
    feeds = {"x": rand([4, 3], 3), "y0": rand([3], 4)}
    got = build_engine(model).create_execution_context().infer(feeds)
    ref = ort_run(model, feeds)
    assert got["ys"].shape == (3, 3)
    for k in ("y", "ys"):
        assert_close(got[k], ref[k], RTOL, ATOL, k)


def test_loop_with_runtime_trip_count_is_refused():
    msg = _parse_errors(_loop_model(None))
    assert "loop0" in msg and "trip count" in msg and "run time" in msg, msg


def _scan_model(reverse, axis):
    body = _graph(
        "body",
        [
            oh.make_node("Add", ["s_in", "x_t"], ["s_out"]),
            oh.make_node("Mul", ["s_out", "x_t"], ["e"]),
        ],
        [_vi("s_in", [2]), _vi("x_t", [2])],
        [_vi("s_out", [2]), _vi("e", [2])],
    )
    node = oh.make_node(
        "Scan",
        ["s0", "x"],
        ["s", "es"],
        body=body,
        num_scan_inputs=1,
        scan_input_axes=[axis],
        scan_input_directions=[reverse],
        scan_output_directions=[reverse],
        scan_output_axes=[-1],
        name="scan0",
    )
    xshape = [5, 2] if axis == 0 else [2, 5]
    return make_model([node], [("s0", [2]), ("x", xshape)], [("s", None), ("es", None)], opset=17)


@pytest.mark.parametrize("reverse,axis", [(0, 0), (1, 1)])
def test_scan_matches_onnxruntime(reverse, axis):
    model = _scan_model(reverse, axis)
    feeds = {"s0": rand([2], 5), "x": rand([5, 2] if axis == 0 else [2, 5], 6)}
    got = build_engine(model).create_execution_context().infer(feeds)
    ref = ort_run(model, feeds)
    for k in ("s", "es"):
        assert_close(got[k], ref[k], RTOL, ATOL, k)


@pytest.mark.parametrize("op", ["GRU", "LSTM"])
def test_dynamic_batch_matches_onnxruntime(op):
    """A batch dim fixed only by the profile: the zero initial state broadcasts over it."""
    g = GATES[op]
    inits = {"W": rand([2, g * HIDDEN, INPUT], 1), "R": rand([2, g * HIDDEN, HIDDEN], 2)}
    node = oh.make_node(
        op, ["x", "W", "R"], ["y", "y_h"], hidden_size=HIDDEN, direction="bidirectional"
    )
    model = make_model([node], [("x", [SEQ, "N", INPUT])], [("y",), ("y_h",)], inits, opset=22)
    profile = {"x": ([SEQ, 1, INPUT], [SEQ, 2, INPUT], [SEQ, 4, INPUT])}
    ctx = build_engine(model, profiles=profile).create_execution_context()
    for batch in (1, 3):
        feeds = {"x": rand([SEQ, batch, INPUT], 3 + batch)}
        got, ref = ctx.infer(feeds), ort_run(model, feeds)
        for k in ("y", "y_h"):
            assert_close(got[k], ref[k], RTOL, ATOL, f"{k} batch {batch}")


# ---- sequences (import-time lists of tensors) ----


def test_sequences_match_onnxruntime():
    """SplitToSequence by a chunk size (the last element shorter) and without keepdims,
    SequenceAt at a run-time position (a gather over the stacked elements), insert/erase at
    constant positions, ConcatFromSequence on an existing and on a new axis."""
    nodes = [
        oh.make_node("SplitToSequence", ["x", "chunk"], ["s"], axis=1),
        oh.make_node("ConcatFromSequence", ["s"], ["cat"], axis=1),
        oh.make_node("SplitToSequence", ["x"], ["rows"], axis=0, keepdims=0),
        oh.make_node("SequenceInsert", ["rows", "r", "p1"], ["rows2"]),
        oh.make_node("SequenceErase", ["rows2", "p0"], ["rows3"]),
        oh.make_node("SequenceAt", ["rows3", "i"], ["at"]),
        oh.make_node("ConcatFromSequence", ["rows3"], ["stacked"], axis=-1, new_axis=1),
    ]
    inits = {
        "chunk": np.array(2, np.int64),
        "p0": np.array(0, np.int64),
        "p1": np.array(-1, np.int64),
    }
    inputs = [("x", [3, 5]), ("r", [5]), ("i", [], np.int64)]
    model = make_model(nodes, inputs, [("cat",), ("at",), ("stacked",)], inits, opset=17)
    ctx = build_engine(model).create_execution_context()
    for i in (0, 2, -1):
        feeds = {"x": rand([3, 5], 8), "r": rand([5], 9), "i": np.array(i, np.int64)}
        got, ref = ctx.infer(feeds), ort_run(model, feeds)
        for k in ref:
            assert_close(got[k], ref[k], RTOL, ATOL, f"{k} at {i}")


def test_sequence_at_runtime_position_over_unequal_shapes_is_refused():
    nodes = [
        oh.make_node("SequenceConstruct", ["x", "z"], ["s"]),
        oh.make_node("SequenceAt", ["s", "i"], ["y"], name="at0"),
    ]
    inputs = [("x", [2, 3]), ("z", [1, 3]), ("i", [], np.int64)]
    msg = _parse_errors(make_model(nodes, inputs, [("y",)], opset=17))
    assert "at0" in msg and "run time" in msg and "(1, 3)" in msg, msg


def test_if_nested_in_a_loop_body_follows_the_iteration():
    """The If condition depends on the iteration number, so each unrolled copy of the body takes
    its own branch; both branches read the body's value and the outer x."""
    then_g = _graph("then", [oh.make_node("Add", ["v", "x"], ["t"])], [], [_vi("t", [3])])
    else_g = _graph("else", [oh.make_node("Mul", ["v", "x"], ["e"])], [], [_vi("e", [3])])
    body = _graph(
        "body",
        [
            oh.make_node("Identity", ["c"], ["co"]),
            oh.make_node("Less", ["i", "two"], ["early"]),
            oh.make_node("If", ["early"], ["vo"], then_branch=then_g, else_branch=else_g),
        ],
        [_vi("i", [], TensorProto.INT64), _vi("c", [], TensorProto.BOOL), _vi("v", [3])],
        [_vi("co", [], TensorProto.BOOL), _vi("vo", [3])],
    )
    node = oh.make_node("Loop", ["m", "", "v0"], ["y"], body=body)
    inits = {"m": np.array(4, np.int64), "two": np.array(2, np.int64)}
    model = make_model([node], [("x", [3]), ("v0", [3])], [("y",)], inits, opset=17)
    feeds = {"x": rand([3], 11), "v0": rand([3], 12)}
    got = build_engine(model).create_execution_context().infer(feeds)
    assert_close(got["y"], ort_run(model, feeds)["y"], RTOL, ATOL, "y")


def test_loop_until_a_build_time_condition_matches_onnxruntime():
    """M = INT64_MAX ("until the condition"): the condition, computed from the iteration
    number, is known while unrolling and stops the loop after three iterations."""
    body = _graph(
        "body",
        [
            oh.make_node("Less", ["i", "two"], ["co"]),
            oh.make_node("Add", ["v", "x"], ["vo"]),
            oh.make_node("Neg", ["vo"], ["s"]),
        ],
        [_vi("i", [], TensorProto.INT64), _vi("c", [], TensorProto.BOOL), _vi("v", [3])],
        [_vi("co", [], TensorProto.BOOL), _vi("vo", [3]), _vi("s", [3])],
    )
    node = oh.make_node("Loop", ["m", "go", "v0"], ["y", "ys"], body=body)
    inits = {
        "m": np.array(np.iinfo(np.int64).max, np.int64),
        "go": np.array(True),
        "two": np.array(2, np.int64),
    }
    model = make_model([node], [("x", [3]), ("v0", [3])], [("y",), ("ys",)], inits, opset=17)
    feeds = {"x": rand([3], 13), "v0": rand([3], 14)}
    got = build_engine(model).create_execution_context().infer(feeds)
    ref = ort_run(model, feeds)
    assert got["ys"].shape == (3, 3)
    for k in ("y", "ys"):
        assert_close(got[k], ref[k], RTOL, ATOL, k)
