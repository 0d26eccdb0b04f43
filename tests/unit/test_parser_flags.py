"""OnnxParser.flags / set_flag / clear_flag / get_flag, no device: NATIVE_INSTANCENORM is on (as
TensorRT 10's default) and is how clrt imports InstanceNormalization; turning it off is refused."""

import clrt as trt
import numpy as np
import pytest
from helpers import EXPLICIT_BATCH, LOGGER, make_model, model_bytes
from onnx import helper


def new_parser():
    network = trt.Builder(LOGGER).create_network(EXPLICIT_BATCH)
    return network, trt.OnnxParser(network, LOGGER)


def test_native_instancenorm_is_on_and_used():
    network, parser = new_parser()
    flag = trt.OnnxParserFlag.NATIVE_INSTANCENORM
    assert parser.get_flag(flag) and parser.flags == 1 << int(flag)
    parser.set_flag(flag)
    parser.flags = 1
    node = helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"])
    inits = {"s": np.ones(3, np.float32), "b": np.zeros(3, np.float32)}
    model = make_model([node], [("x", [1, 3, 4, 4])], [("y", [1, 3, 4, 4])], inits)
    assert parser.parse(model_bytes(model))
    kinds = {network.get_layer(i).type for i in range(network.num_layers)}
    assert trt.LayerType.NORMALIZATION in kinds and trt.LayerType.PLUGIN_V2 not in kinds


def test_turning_native_instancenorm_off_is_refused():
    _, parser = new_parser()
    flag = trt.OnnxParserFlag.NATIVE_INSTANCENORM
    with pytest.raises(trt.UnsupportedError, match="clear_flag: OnnxParserFlag.NATIVE_INSTANCE"):
        parser.clear_flag(flag)
    with pytest.raises(trt.UnsupportedError, match="OnnxParser.flags: OnnxParserFlag.NATIVE"):
        parser.flags = 0
    with pytest.raises(ValueError, match="OnnxParser.flags: 3 sets bits of no OnnxParserFlag"):
        parser.flags = 3
    assert parser.get_flag(flag) and parser.flags == 1
