# Model-local functions that cannot be expanded are refused with the call and the reason, before
# any layer is made (csrc/clrt/onnx/functions.cc); expanded calls name their layers after the call.
import pytest
from onnx import TensorProto
from onnx import helper as oh
from unit_helpers import parse, parse_errors

N = oh.make_node
D = "local.fn"


def _model(nodes, functions, opset=17):
    graph = oh.make_graph(
        nodes,
        "g",
        [oh.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [oh.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
    )
    return oh.make_model(
        graph,
        opset_imports=[oh.make_opsetid("", opset), oh.make_opsetid(D, 1)],
        functions=functions,
    )


def _fn(name, body, opset=17, inputs=("a",)):
    return oh.make_function(
        D, name, list(inputs), ["b"], body, [oh.make_opsetid("", opset), oh.make_opsetid(D, 1)]
    )


def test_expanded_layers_are_named_after_the_call():
    f = _fn("Twice", [N("Relu", ["a"], ["r"]), N("Add", ["r", "r"], ["b"], name="sum")])
    net = parse(_model([N("Twice", ["x"], ["y"], domain=D, name="blk")], [f]))
    names = [net.get_layer(i).name for i in range(net.num_layers)]
    assert names == ["blk/Relu_0", "blk/sum"]


def test_recursive_function_is_refused():
    f = _fn("Loopy", [N("Loopy", ["a"], ["b"], domain=D)])
    errors = parse_errors(_model([N("Loopy", ["x"], ["y"], domain=D, name="call")], [f]))
    assert any("nested deeper than 64" in e and "recursive" in e for e in errors), errors


def test_more_arguments_than_parameters_are_refused():
    f = _fn("One", [N("Relu", ["a"], ["b"])])
    errors = parse_errors(_model([N("One", ["x", "x"], ["y"], domain=D, name="call")], [f]))
    assert any("node 'call'" in e and "2 inputs" in e for e in errors), errors


@pytest.mark.parametrize("fn_opset", [12, 18])
def test_function_of_another_opset_is_refused_where_its_operators_differ(fn_opset):
    """ReduceMean changed at opsets 13 and 18 (the model: 13)."""
    f = _fn("Other", [N("ReduceMean", ["a"], ["b"], keepdims=1)], opset=fn_opset)
    errors = parse_errors(_model([N("Other", ["x"], ["y"], domain=D, name="call")], [f], 13))
    assert any(
        f"imports ai.onnx opset {fn_opset}" in e and "where ReduceMean differs" in e for e in errors
    ), errors


def test_function_of_another_opset_with_the_same_operators_is_expanded():
    f = _fn("Other", [N("Relu", ["a"], ["b"])], opset=15)
    net = parse(_model([N("Other", ["x"], ["y"], domain=D, name="call")], [f]))
    assert net.num_layers == 1


def test_exponential_expansion_is_refused():
    """F0 calls F1 twice, F1 calls F2 twice, ...: 2^30 nodes if expanded; refused at 2^18."""
    fns = [
        oh.make_function(
            D,
            f"F{i}",
            ["a"],
            ["b"],
            [N(f"F{i + 1}", ["a"], ["t"], domain=D), N(f"F{i + 1}", ["t"], ["b"], domain=D)],
            [oh.make_opsetid("", 17), oh.make_opsetid(D, 1)],
        )
        for i in range(30)
    ]
    fns.append(_fn("F30", [N("Relu", ["a"], ["b"])]))
    errors = parse_errors(_model([N("F0", ["x"], ["y"], domain=D, name="call")], fns))
    assert any("expand to more than 262144 nodes" in e for e in errors), errors
