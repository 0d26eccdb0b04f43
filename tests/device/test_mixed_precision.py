"""Per-layer mixed precision on the trained Fashion-MNIST models, checked through the engine
inspector and against onnxruntime / the FP32 engine.

- FP16 engines (every layer asked for FP16, PREFER_PRECISION_CONSTRAINTS) of the three trained
  models on 2000 test images: logits' cosine similarity with the FP32 engine's >= 0.9999 and
  top-1 agreement >= 99.9%.
- An INT8 engine with one middle layer forced to FP32 (OBEY): the inspector shows that layer in
  FLOAT and the convolutions around it in INT8, and the layer's output equals onnxruntime's FP32
  computation of the same ONNX nodes on the layer's actual input (rtol 1e-4, atol 1e-4 * max).
- An unmeetable constraint under OBEY fails naming the layer; under PREFER it warns and builds.
- A fusion candidate with conflicting constraints is left unfused (two layers in the inspector,
  each in its own precision); with compatible ones (one unset) it fuses and keeps the set one.
"""

import json

import clrt as trt
import numpy as np
import onnx
import onnx.utils
import pytest
from helpers import (
    MODELS,
    RecordingLogger,
    deserialize,
    fmnist,
    make_config,
    ort_run,
    parse_network,
)

pytestmark = pytest.mark.skipif(not fmnist.available(), reason="Fashion-MNIST not installed")
CNN = MODELS / "fmnist_cnn.onnx"
PROFILE = {"input": ((1, 1, 28, 28), (250, 1, 28, 28), (250, 1, 28, 28))}


class Calibrator(trt.IInt8EntropyCalibrator2):
    def __init__(self, images):
        super().__init__()
        self.batches = [images[i : i + 32] for i in range(0, len(images), 32)]

    def get_batch_size(self):
        return 32

    def get_batch(self, names):
        return [self.batches.pop(0)] if self.batches else None

    def read_calibration_cache(self):
        return None

    def write_calibration_cache(self, cache):
        pass


def layers_of(network):
    return {network.get_layer(i).name: network.get_layer(i) for i in range(network.num_layers)}


def tensor_named(network, name):
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        for j in range(layer.num_outputs):
            if layer.get_output(j).name == name:
                return layer.get_output(j)
    raise KeyError(name)


def build(network, builder, flags, calibrator=None):
    config = make_config(builder, PROFILE, opt_level=0)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    for f in flags:
        config.set_flag(f)
    if calibrator is not None:
        config.int8_calibrator = calibrator
    plan = builder.build_serialized_network(network, config)
    assert plan is not None
    return deserialize(bytes(plan))


def inspector_layers(engine):
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    return {layer["Name"]: layer for layer in json.loads(info)["Layers"]}


def logits(engine, x, batch=250):
    ctx = engine.create_execution_context()
    return np.concatenate(
        [ctx.infer({"input": x[i : i + batch]})["logits"] for i in range(0, len(x), batch)]
    )


@pytest.fixture(scope="module")
def test_images():
    x, _ = fmnist.load("test")
    return x[:2000]


@pytest.mark.parametrize("name", ["fmnist_cnn", "fmnist_dwse", "fmnist_transformer"])
def test_fp16_engine_matches_fp32(name, test_images):
    builder, network, _ = parse_network(MODELS / f"{name}.onnx")
    fp32 = logits(build(network, builder, []), test_images)
    builder, network, _ = parse_network(MODELS / f"{name}.onnx")
    for layer in layers_of(network).values():
        layer.precision = trt.float16
    flags = [trt.BuilderFlag.FP16, trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS]
    engine = build(network, builder, flags)
    half = [n for n, lay in inspector_layers(engine).items() if lay["Precision"] == "HALF"]
    heavy = [
        n
        for n, lay in inspector_layers(engine).items()
        if lay["LayerType"] in ("CONVOLUTION", "MATRIX_MULTIPLY")
    ]
    assert heavy and set(heavy) <= set(half), (heavy, half)
    fp16 = logits(engine, test_images)
    cos = float(np.dot(fp16.ravel(), fp32.ravel()))
    cos /= float(np.linalg.norm(fp16) * np.linalg.norm(fp32))
    agree = float((fp16.argmax(1) == fp32.argmax(1)).mean())
    assert cos >= 0.9999, cos
    assert agree >= 0.999, agree


MIDDLE = "/features/features.7/body/body.0/Conv"  # the residual block's first conv (+BN+ReLU)
MIDDLE_IN = "/features/features.6/MaxPool_output_0"
MIDDLE_OUT = "/features/features.7/body/body.2/Relu_output_0"


def test_int8_engine_with_an_fp32_middle_layer(test_images):
    x_train, _ = fmnist.load("train")
    builder, network, _ = parse_network(CNN)
    layers_of(network)[MIDDLE].precision = trt.float32
    for name in (MIDDLE_IN, MIDDLE_OUT):
        network.mark_output(tensor_named(network, name))
    flags = [trt.BuilderFlag.INT8, trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS]
    engine = build(network, builder, flags, calibrator=Calibrator(x_train[:64]))
    layers = inspector_layers(engine)
    assert layers[MIDDLE]["Precision"] == "FLOAT", layers[MIDDLE]
    assert "/features/features.9/Relu" not in layers[MIDDLE]["Origin"]
    convs = [n for n, lay in layers.items() if lay["LayerType"] == "CONVOLUTION" and n != MIDDLE]
    assert len(convs) == 3 and all(layers[n]["Precision"] == "INT8" for n in convs), {
        n: layers[n]["Precision"] for n in convs
    }
    out = engine.create_execution_context().infer({"input": test_images[:64]})
    # onnxruntime runs the layer's ONNX nodes (Conv, BatchNormalization, Relu) in FP32 on the
    # input the INT8 engine actually gave the layer.
    full = onnx.shape_inference.infer_shapes(onnx.load(str(CNN)))
    sub = onnx.utils.Extractor(full).extract_model([MIDDLE_IN], [MIDDLE_OUT])
    ref = ort_run(sub, {MIDDLE_IN: out[MIDDLE_IN]})[MIDDLE_OUT]
    got = out[MIDDLE_OUT]
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * float(np.abs(ref).max()))
    # The logits still mostly agree with the FP32 model (the rest runs in INT8, calibrated on
    # only 64 images here).
    fp32 = ort_run(onnx.load(str(CNN)), {"input": test_images[:64]})["logits"]
    assert (out["logits"].argmax(1) == fp32.argmax(1)).mean() >= 0.85


def test_unmeetable_constraint_fails_naming_the_layer():
    builder, network, _ = parse_network(CNN)
    layers_of(network)[MIDDLE].precision = trt.int8  # INT8 flag but no ranges: cannot be met
    flags = [trt.BuilderFlag.INT8, trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS]
    with pytest.raises(trt.BuildError, match=f"layer '{MIDDLE}' is constrained to INT8"):
        build(network, builder, flags)
    # PREFER: a warning naming the layer, then the fallback.
    logger = RecordingLogger()
    builder, network, _ = parse_network(CNN, logger=logger)
    layers_of(network)[MIDDLE].precision = trt.int8
    engine = build(
        network, builder, [trt.BuilderFlag.INT8, trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS]
    )
    assert f"layer '{MIDDLE}' prefers INT8 but cannot run in it" in logger.warnings()
    assert inspector_layers(engine)[MIDDLE]["Precision"] == "FLOAT"


FIRST_CONV, FIRST_RELU = "/features/features.0/Conv", "/features/features.2/Relu"


@pytest.mark.parametrize("relu_precision", [trt.float32, None])
def test_conflicting_constraints_leave_the_fusion_undone(relu_precision, test_images):
    builder, network, _ = parse_network(CNN)
    layers = layers_of(network)
    layers[FIRST_CONV].precision = trt.float16
    if relu_precision is not None:
        layers[FIRST_RELU].precision = relu_precision
    flags = [trt.BuilderFlag.FP16, trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS]
    engine = build(network, builder, flags)
    info = inspector_layers(engine)
    conv = info[FIRST_CONV]
    assert conv["Precision"] == "HALF"
    if relu_precision is None:  # compatible: Conv + BatchNormalization + Relu fused, in FP16
        assert FIRST_RELU in conv["Origin"] and FIRST_RELU not in info
    else:  # conflicting: the Relu stays its own FP32 layer
        assert FIRST_RELU not in conv["Origin"]
        assert info[FIRST_RELU]["Precision"] == "FLOAT"
        assert info[FIRST_RELU]["Origin"] == [FIRST_RELU]
    x = test_images[:16]
    got = engine.create_execution_context().infer({"input": x})["logits"]
    ref = ort_run(onnx.load(str(CNN)), {"input": x})["logits"]
    np.testing.assert_allclose(got, ref, rtol=2e-2, atol=2e-2 * float(np.abs(ref).max()))
