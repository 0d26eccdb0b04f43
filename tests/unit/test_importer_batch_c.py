"""Refusals of the batch C importers (GridSample, Einsum, TopK, CumSum, BitCast, QLinearMatMul,
GroupNormalization), no device: each message names the node and what was expected."""

import clrt as trt
import numpy as np
import pytest
from helpers import EXPLICIT_BATCH, LOGGER, make_model, model_bytes, parser_errors
from onnx import helper

N = helper.make_node


def refusal(builder, node, inputs, inits=None, opset=22):
    network = builder.create_network(EXPLICIT_BATCH)
    parser = trt.OnnxParser(network, LOGGER)
    model = make_model([node], inputs, ["y"], inits or {}, opset)
    assert not parser.parse(model_bytes(model))
    return " ".join(parser_errors(parser))


CASES = {
    "gridsample_cubic_3d": (
        N("GridSample", ["x", "g"], ["y"], name="gs", mode="cubic"),
        [("x", [1, 1, 2, 3, 4]), ("g", [1, 2, 2, 2, 3])],
        None,
        22,
        ["gs", "cubic", "4-D"],
    ),
    "gridsample_bad_mode": (
        N("GridSample", ["x", "g"], ["y"], name="gs16", mode="linear"),
        [("x", [1, 1, 2, 3]), ("g", [1, 2, 2, 2])],
        None,
        16,
        ["gs16", "'linear'", "bilinear"],
    ),
    "einsum_three": (
        N("Einsum", ["a", "a", "a"], ["y"], name="ein3", equation="i,i,i->"),
        [("a", [3])],
        None,
        22,
        ["ein3", "3 operands"],
    ),
    "einsum_broadcast": (
        N("Einsum", ["a", "b"], ["y"], name="einb", equation="ij,ij->i"),
        [("a", [2, 3]), ("b", [1, 3])],
        None,
        22,
        ["einb", "label 'i'", "broadcasting"],
    ),
    "topk_runtime_k_two_values": (  # a run-time K works; it must still be one value
        N("TopK", ["x", "k"], ["y", "i"], name="tk"),
        [("x", [2, 5]), ("k", [2], np.int64)],
        None,
        22,
        ["tk", "K must hold one value"],
    ),
    "topk_k_too_large": (
        N("TopK", ["x", "k"], ["y", "i"], name="tk_big"),
        [("x", [2, 5])],
        {"k": np.array([6], np.int64)},
        22,
        ["tk_big", "K = 6"],
    ),
    "cumsum_two_axes": (
        N("CumSum", ["x", "ax"], ["y"], name="cs"),
        [("x", [2, 5]), ("ax", [2], np.int64)],
        None,
        22,
        ["cs", "axis must hold one value"],
    ),
    "bitcast_width": (
        N("BitCast", ["x"], ["y"], name="bc", to=7),
        [("x", [3])],
        None,
        26,
        ["bc", "element size"],
    ),
    "groupnorm_groups": (
        N("GroupNormalization", ["x", "s", "b"], ["y"], name="gn", num_groups=3),
        [("x", [1, 4, 2, 2]), ("s", [4]), ("b", [4])],
        None,
        21,
        ["gn", "num_groups 3", "4 channels"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refusal_names_node_and_reason(builder, case):
    node, inputs, inits, opset, words = CASES[case]
    text = refusal(builder, node, inputs, inits, opset)
    for word in words:
        assert word in text, (word, text)
