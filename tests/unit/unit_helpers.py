# Helpers of the device-free tier: ONNX models parsed into networks (no engine is ever built).
import clrt as trt
import onnx

LOGGER = trt.Logger(trt.Logger.ERROR)
EXPLICIT_BATCH = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)


def parse(model, builder=None):
    """The INetworkDefinition of an ONNX ModelProto; fails the test on parser errors."""
    builder = builder or trt.Builder(LOGGER)
    network = builder.create_network(EXPLICIT_BATCH)
    parser = trt.OnnxParser(network, LOGGER)
    if not parser.parse(model.SerializeToString()):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise AssertionError("ONNX parse failed:\n  " + "\n  ".join(errors))
    return network


def parse_errors(model):
    """The parser's error texts for an ONNX model it refuses (AssertionError if it accepts)."""
    network = trt.Builder(LOGGER).create_network(EXPLICIT_BATCH)
    parser = trt.OnnxParser(network, LOGGER)
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else bytes(model)
    assert not parser.parse(data), "the parser accepted the model"
    return [str(parser.get_error(i)) for i in range(parser.num_errors)]
