# trtexec's --layerPrecisions / --layerOutputTypes specs: parsing, and applying them to a network.
import clrt as trt
import pytest
from clrt.precision_spec import (
    apply_layer_output_types,
    apply_layer_precisions,
    parse_layer_output_types,
    parse_layer_precisions,
)
from helpers import MODELS, make_model, parse_network
from onnx import helper

F32, F16, I8 = trt.DataType.FLOAT, trt.DataType.HALF, trt.DataType.INT8


def test_parse_precisions_in_order_later_items_override():
    spec = parse_layer_precisions("*:fp16,conv1:fp32,conv1:int8,*:fp32")
    assert spec == {"conv1": I8, "*": F32}
    assert list(spec) == ["conv1", "*"]  # the last '*' moved to the end: it now takes precedence


def test_parse_precisions_names_with_colons_and_quotes():
    assert parse_layer_precisions("a:b:fp16") == {"a:b": F16}
    assert parse_layer_precisions("'x:y':INT8, z:fp32") == {"x:y": I8, "z": F32}


def test_parse_output_types_plus_separated():
    spec = parse_layer_output_types("*:fp16,split:fp32+fp16+int8")
    assert spec == {"*": [F16], "split": [F32, F16, I8]}


@pytest.mark.parametrize("t", ["bf16", "fp8", "int32", "int4", "int64"])
def test_unsupported_trt_types_rejected_clearly(t):
    with pytest.raises(ValueError, match=f"type '{t}' for layer 'conv' is not supported by clrt"):
        parse_layer_precisions(f"conv:{t}")
    with pytest.raises(ValueError, match="not supported by clrt"):
        parse_layer_output_types(f"conv:fp16+{t}")


@pytest.mark.parametrize(
    "spec, message",
    [
        ("conv:float", "unknown type 'float' for layer 'conv'"),
        ("conv", "'conv' is not name:type"),
        (":fp16", "':fp16' is not name:type"),
        ("", "empty spec"),
        ("a:fp16,,b:fp32", "empty item"),
        ("a*b*:fp16", "more than one '\\*'"),
        ("'a:fp16", "bad quoting"),
    ],
)
def test_parse_errors_name_the_problem(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_layer_precisions(spec)


def test_parse_errors_name_the_flag():
    with pytest.raises(ValueError, match="^--layerPrecisions: "):
        parse_layer_precisions("x:y")
    with pytest.raises(ValueError, match="^--layerOutputTypes: "):
        parse_layer_output_types("x:y")


@pytest.fixture()
def network():
    return parse_network(MODELS / "fmnist_cnn.onnx")[1]


def _layers(network):
    return {network.get_layer(i).name: network.get_layer(i) for i in range(network.num_layers)}


def test_apply_exact_and_wildcard(network):
    layers = _layers(network)
    names = list(layers)
    first, last = names[0], names[-1]
    done = apply_layer_precisions(network, parse_layer_precisions(f"*:fp16,{first}:fp32"))
    assert done[first] == F32 and layers[first].precision == F32
    assert layers[last].precision == F16 and layers[last].precision_is_set
    assert set(done) == {n for n, layer in layers.items() if layer.precision_is_set}


def test_apply_prefix_wildcard_only_touches_matches(network):
    layers = _layers(network)
    prefix = next(iter(layers))[:3]
    done = apply_layer_precisions(network, {f"{prefix}*": I8})
    assert done and all(n.startswith(prefix) for n in done)
    for n, layer in layers.items():
        assert layer.precision_is_set == (n in done)


def test_unknown_layer_lists_close_names(network):
    name = next(iter(_layers(network)))
    typo = name[:-1] + ("x" if name[-1] != "x" else "y")
    with pytest.raises(ValueError, match=f"no layer named '{typo}'; close names: .*{name}"):
        apply_layer_precisions(network, {typo: F16})
    with pytest.raises(ValueError, match="no layer named 'zzzzzzzzzz'; layers are: "):
        apply_layer_output_types(network, {"zzzzzzzzzz": [F16]})
    with pytest.raises(ValueError, match="pattern 'nomatch\\*' matches no layer"):
        apply_layer_precisions(network, {"nomatch*": F16})


def test_apply_output_types(network):
    layers = _layers(network)
    first = next(iter(layers))
    done = apply_layer_output_types(network, parse_layer_output_types(f"{first}:fp16"))
    assert done == {first: [F16]}
    assert layers[first].get_output_type(0) == F16 and layers[first].output_type_is_set(0)
    with pytest.raises(ValueError, match=f"layer '{first}' has 1 output\\(s\\) but 2 types"):
        apply_layer_output_types(network, {first: [F16, F32]})


def test_wildcards_skip_integer_layers():
    # Shape of a dynamic input is int64 shape math: '*' leaves it alone, as trtexec does.
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Shape", ["r"], ["s"], name="shape"),
        helper.make_node("Reshape", ["r", "s"], ["y"], name="reshape"),
    ]
    _, net, _ = parse_network(make_model(nodes, [("x", ["N", 3])], [("y",)]))
    layers = _layers(net)
    assert layers["shape"].get_output(0).dtype == trt.DataType.INT64
    done = apply_layer_precisions(net, {"*": F16})
    types = apply_layer_output_types(net, {"*": [F16]})
    assert set(done) == set(types) == {"relu", "reshape"}
    assert not layers["shape"].precision_is_set and not layers["shape"].output_type_is_set(0)
    # Named exactly, a layer is set whatever its outputs (the user asked for it).
    assert apply_layer_precisions(net, {"shape": F32}) == {"shape": F32}
