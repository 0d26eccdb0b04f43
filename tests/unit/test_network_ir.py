"""Networks built through the network API and the parser, without a device: shapes inferred as
layers are added, layer types and tensors, argument checks, and what the graph passes make of a
hand-built network."""

import clrt as trt
import numpy as np
import pytest
from clrt import _clrt
from helpers import EXPLICIT_BATCH, MODELS, parse_network

CNN = MODELS / "fmnist_cnn.onnx"


def test_network_api_builds_ir_with_shapes(builder):
    network = builder.create_network(EXPLICIT_BATCH)
    x = network.add_input("x", trt.float32, (2, 3, 8, 8))
    w = np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32)
    conv = network.add_convolution_nd(x, 4, (3, 3), w, np.zeros(4, np.float32))
    conv.padding_nd = (1, 1)
    conv.name = "conv"
    act = network.add_activation(conv.get_output(0), trt.ActivationType.RELU)
    act.name = "relu"
    pool = network.add_pooling_nd(act.get_output(0), trt.PoolingType.MAX, (2, 2))
    pool.stride_nd = (2, 2)
    pool.name = "pool"
    network.mark_output(pool.get_output(0))
    assert tuple(conv.get_output(0).shape) == (2, 4, 8, 8)
    assert tuple(pool.get_output(0).shape) == (2, 4, 4, 4)
    assert [network.get_layer(i).type for i in range(network.num_layers)] == [
        trt.LayerType.CONVOLUTION,
        trt.LayerType.ACTIVATION,
        trt.LayerType.POOLING,
    ]
    layers = _clrt._debug.optimize(network)["layers"]
    assert [(x["kind"], x["name"]) for x in layers] == [
        ("CONVOLUTION", "conv"),
        ("POOLING", "pool"),
    ]
    assert layers[0]["attrs"]["act"] == "RELU"


def test_parsed_network_introspection(builder):
    _, network, _ = parse_network(CNN, builder)
    assert network.num_inputs == 1 and network.num_outputs == 1
    inp, out = network.get_input(0), network.get_output(0)
    assert inp.name == "input" and tuple(inp.shape) == (-1, 1, 28, 28)
    assert out.name == "logits" and tuple(out.shape) == (-1, 10)
    assert inp.dtype == trt.float32 and out.dtype == trt.float32
    types = {network.get_layer(i).type for i in range(network.num_layers)}
    assert trt.LayerType.CONVOLUTION in types and trt.LayerType.POOLING in types


def test_layer_builders_validate_arguments(builder):
    network = builder.create_network(EXPLICIT_BATCH)
    x = network.add_input("x", trt.float32, (1, 3, 8, 8))
    with pytest.raises((ValueError, TypeError)):
        # kernel holds 4*3*3*3 values, the call says 5 output maps
        network.add_convolution_nd(x, 5, (3, 3), np.zeros((4, 3, 3, 3), np.float32), None)
    with pytest.raises(ValueError, match="x"):
        network.add_input("x", trt.float32, (1, 3, 8, 8))  # duplicate name
