"""Refusals of the recurrent and control-flow importers, no device: what cannot be unrolled
(a run-time sequence length or trip count, beyond the limits), bad weights or activations, and
errors inside a subgraph, each naming the node (and the inner node) and what was expected."""

import numpy as np
import pytest
from helpers import make_model
from onnx import TensorProto, helper
from unit_helpers import parse, parse_errors

N = helper.make_node


def w(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-0.5, 0.5, shape).astype(np.float32)


def lstm(seq=3, hidden=2, wshape=None, **attrs):
    d = 2 if attrs.get("direction") == "bidirectional" else 1
    inits = {"W": w(*(wshape or (d, 4 * hidden, 4))), "R": w(d, 4 * hidden, hidden, seed=1)}
    node = N("LSTM", ["x", "W", "R"], ["y"], name="lstm0", hidden_size=hidden, **attrs)
    return make_model([node], [("x", (seq, 2, 4))], ["y"], inits, opset=22)


def one_error(model):
    errors = parse_errors(model)
    assert len(errors) == 1, errors
    return errors[0]


def test_dynamic_sequence_length_is_refused():
    msg = one_error(lstm(seq="T"))
    assert "lstm0" in msg and "must be static" in msg and "unrolls" in msg, msg


def test_sequence_beyond_the_unrolling_limit_is_refused():
    msg = one_error(lstm(seq=513))
    assert "lstm0" in msg and "513" in msg and "limit of 512" in msg, msg


def test_weights_of_the_wrong_shape_are_refused():
    msg = one_error(lstm(wshape=(1, 7, 4)))
    assert "lstm0" in msg and "W must be (1, 8, 4)" in msg and "(1, 7, 4)" in msg, msg


def test_unknown_activation_is_refused():
    msg = one_error(lstm(activations=["Sigmoid", "Tanh", "Swish"]))
    assert "lstm0" in msg and "'Swish'" in msg, msg


def test_activation_count_is_checked():
    msg = one_error(lstm(direction="bidirectional", activations=["Sigmoid", "Tanh"]))
    assert "lstm0" in msg and "must list 6 functions" in msg, msg


def test_unrolled_graph_has_one_recurrent_weight_per_direction():
    net = parse(lstm(seq=5, direction="bidirectional"))
    assert net.num_layers < 5 * 2 * 20, net.num_layers  # about 15 layers per step and direction


def body(nodes, ins, outs):
    vi = helper.make_tensor_value_info
    return helper.make_graph(nodes, "body", [vi(*i) for i in ins], [vi(*o) for o in outs])


def test_error_inside_a_branch_names_the_branch_and_the_inner_node():
    then_g = body(
        [N("Custom", ["x"], ["t"], name="inner_bad", domain="com.example")],
        [],
        [("t", TensorProto.FLOAT, None)],
    )
    else_g = body([N("Relu", ["x"], ["e"])], [], [("e", TensorProto.FLOAT, None)])
    node = N("If", ["c"], ["y"], name="if0", then_branch=then_g, else_branch=else_g)
    model = make_model([node], [("x", (2, 3))], ["y"], {"c": np.array(True)}, opset=17)
    msg = one_error(model)
    assert "if0" in msg and "then_branch node 0 (inner_bad, op Custom)" in msg, msg


@pytest.mark.parametrize("trip", [1025, None])
def test_loop_trip_count_must_be_known_and_bounded(trip):
    g = body(
        [N("Identity", ["c"], ["co"]), N("Neg", ["v"], ["vo"])],
        [("i", TensorProto.INT64, []), ("c", TensorProto.BOOL, []), ("v", TensorProto.FLOAT, [2])],
        [("co", TensorProto.BOOL, []), ("vo", TensorProto.FLOAT, [2])],
    )
    node = N("Loop", ["m", "", "x"], ["y"], name="loop0", body=g)
    inits = {} if trip is None else {"m": np.array(trip, np.int64)}
    inputs = [("x", (2,))] + ([("m", (), np.int64)] if trip is None else [])
    msg = one_error(make_model([node], inputs, ["y"], inits, opset=17))
    want = "computed at run time" if trip is None else "limit of 1024 iterations (trip count 1025)"
    assert "loop0" in msg and want in msg, msg


def test_scan_over_a_dynamic_dim_is_refused():
    g = body(
        [N("Add", ["s", "x"], ["so"])],
        [("s", TensorProto.FLOAT, [2]), ("x", TensorProto.FLOAT, [2])],
        [("so", TensorProto.FLOAT, [2])],
    )
    node = N("Scan", ["s0", "xs"], ["s"], name="scan0", body=g, num_scan_inputs=1)
    model = make_model([node], [("s0", (2,)), ("xs", ("T", 2))], ["s"], opset=17)
    msg = one_error(model)
    assert "scan0" in msg and "must be static" in msg, msg
