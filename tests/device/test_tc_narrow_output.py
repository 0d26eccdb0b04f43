# A precision boundary written narrow: an FP16 convolution whose output only INT8 layers read
# (ResNet-50's FP16 stem before its INT8 max pool) quantizes in its own epilogue instead of a
# REFORMAT after it (builder/precision.cc narrowOutput), against onnxruntime FP32; where the
# tensor is also a network output it stays HALF. Tensor-core tactics only: runs where the
# current OpenCL device is NVIDIA, elsewhere with CLRT_TC_EMULATE=1 (CI's own step).
import json

import clrt as trt
import numpy as np
import pytest
from helpers import make_config, make_model, ort_run, parse_network
from onnx.helper import make_node as N
from test_tensorcore import INT8_REL, NEEDS_TC, all_ranges, build

pytestmark = NEEDS_TC


def boundary_model(extra_output):
    """conv1 + ReLU -> max pool -> conv2 + ReLU; `extra_output`: conv1's output is also one."""
    rng = np.random.default_rng(3)
    inits = {
        "w1": (rng.standard_normal((16, 8, 3, 3)) / np.sqrt(72)).astype(np.float32),
        "b1": rng.uniform(-0.2, 0.2, 16).astype(np.float32),
        "w2": (rng.standard_normal((16, 16, 3, 3)) / np.sqrt(144)).astype(np.float32),
        "b2": rng.uniform(-0.2, 0.2, 16).astype(np.float32),
    }
    nodes = [
        N("Conv", ["input", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        N("Relu", ["c1"], ["r1"], name="relu1"),
        N("MaxPool", ["r1"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
        N("Conv", ["p", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
        N("Relu", ["c2"], ["y"], name="relu2"),
    ]
    outputs = [("y", (2, 16, 6, 6))] + ([("r1", (2, 16, 12, 12))] if extra_output else [])
    model = make_model(nodes, [("input", (2, 8, 12, 12))], outputs, inits)
    return model, rng.uniform(-1, 1, (2, 8, 12, 12)).astype(np.float32)


def build_boundary(model, ranges):
    """INT8 + FP16, conv1 (and its ReLU) held in FP16, the rest INT8, every range given."""
    builder, network, _ = parse_network(model, logger=trt.Logger(trt.Logger.WARNING))
    config = make_config(builder, opt_level=0)
    config.set_flag(trt.BuilderFlag.FP16)
    config.set_flag(trt.BuilderFlag.INT8)
    config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    tensors = [network.get_input(0)]
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        layer.precision = trt.float16 if layer.name in ("conv1", "relu1") else trt.int8
        tensors.append(layer.get_output(0))
    for t in tensors:
        t.set_dynamic_range(-ranges[t.name], ranges[t.name])
    return build(builder, network, config)


def layers(engine):
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    return json.loads(info)["Layers"]


@pytest.mark.parametrize("extra_output", [False, True], ids=["int8_readers", "also_output"])
def test_fp16_layer_writes_int8_for_int8_readers(extra_output):
    model, x = boundary_model(extra_output)
    engine = build_boundary(model, all_ranges(model, {"input": x}))
    lay = layers(engine)
    conv1 = [entry for entry in lay if entry["Name"].startswith("conv1")]
    assert len(conv1) == 1 and conv1[0]["Precision"] == "HALF", lay
    reformats = [entry["Name"] for entry in lay if "reformat" in entry.get("TacticName", "")]
    if extra_output:  # a FLOAT network output: conv1 writes HALF, REFORMATs convert it
        assert conv1[0]["Outputs"][0]["Format/Datatype"] == "HALF", conv1
        assert any(name.startswith("r1") for name in reformats), reformats
    else:
        assert conv1[0]["Outputs"][0]["Format/Datatype"] == "INT8", conv1
        assert not [n for n in reformats if n.startswith(("r1", "c1", "relu1"))], reformats
    got = engine.create_execution_context().infer({"input": x})
    ref = ort_run(model, {"input": x})
    for name in ref:
        want = np.asarray(ref[name], np.float64)
        err = float(np.abs(got[name].astype(np.float64) - want).max() / np.abs(want).max())
        assert err < INT8_REL, (name, err)
