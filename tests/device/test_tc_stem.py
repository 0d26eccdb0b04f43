# Tensor-core convolutions over few input channels (a stem's 3, a grayscale image's 1), which
# tc_conv gathers from a local copy of the block's input window (PATCH_CAP), against onnxruntime
# FP32: strides, pads (asymmetric too), kernel sizes from 1 to 7, pixel tiles inside one image
# (the patch) and across two (the global gather), a dilation and a window too wide for the
# patch (the global gather), the input in the network's layout and channels last; FP16, INT8
# and TF32. Runs where the current OpenCL device is NVIDIA; elsewhere with CLRT_TC_EMULATE=1
# (one-warp 32 x 32 tiles), which CI runs as its own step.
import json

import clrt as trt
import numpy as np
import pytest
from helpers import make_model, ort_run
from onnx.helper import make_node as N
from test_tensorcore import FP16_REL, INT8_REL, NEEDS_TC, TF32_REL, all_ranges, build_in, chosen

pytestmark = [NEEDS_TC, pytest.mark.usefixtures("tf32_allowed")]

# name: (input N, C, H, W), output channels, kernel (kh, kw), strides, pads, dilations
CASES = {
    # ResNet's stem: 7x7 / 2, pad 3; 18 x 20 output pixels an image, so 32-pixel tiles both
    # inside an image and across two.
    "resnet": ((2, 3, 36, 40), 32, (7, 7), (2, 2), (3, 3, 3, 3), (1, 1)),
    # EfficientNet / MobileNet: 3x3 / 2, pad 1, odd sizes.
    "effnet": ((2, 3, 33, 31), 16, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),
    # A patchify stem: 4x4 / 4, no pad.
    "patchify": ((2, 3, 32, 24), 24, (4, 4), (4, 4), (0, 0, 0, 0), (1, 1)),
    # ViT's patchify (16 x 16 / 16) in small: kernel rows of whole 16-byte chunks, a window
    # too wide for the patch in FP16 (gathered a chunk at a time when channels last).
    "patch8": ((2, 3, 16, 160), 32, (8, 8), (8, 8), (0, 0, 0, 0), (1, 1)),
    # Grayscale, asymmetric pads and kernel, stride 1.
    "gray": ((1, 1, 20, 17), 8, (5, 3), (1, 1), (2, 0, 1, 2), (1, 1)),
    # Dilated along W: the patch's consecutive runs do not hold (global gather).
    "dilated": ((2, 3, 21, 19), 16, (3, 3), (1, 1), (2, 2, 2, 2), (2, 2)),
    # A row too wide for the patch (global gather).
    "wide": ((1, 3, 6, 1500), 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
}


def stem_model(case):
    """Conv (+ bias) -> ReLU of `case`, and an input."""
    (n, c, h, w), k, (kh, kw), strides, pads, dil = CASES[case]
    rng = np.random.default_rng(7)
    wt = (rng.standard_normal((k, c, kh, kw)) / np.sqrt(c * kh * kw)).astype(np.float32)
    inits = {"w": wt, "b": rng.uniform(-0.2, 0.2, k).astype(np.float32)}
    conv = N(
        "Conv",
        ["input", "w", "b"],
        ["c"],
        strides=list(strides),
        pads=list(pads),
        dilations=list(dil),
    )
    oh = (h + pads[0] + pads[2] - dil[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (w + pads[1] + pads[3] - dil[1] * (kw - 1) - 1) // strides[1] + 1
    x = rng.uniform(-1, 1, (n, c, h, w)).astype(np.float32)
    model = make_model(
        [conv, N("Relu", ["c"], ["y"])], [("input", (n, c, h, w))], [("y", (n, k, oh, ow))], inits
    )
    return model, x


def stem_input_format(engine):
    """The convolution's input format in the inspector (LINEAR or HWC)."""
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    convs = [lay for lay in json.loads(info)["Layers"] if "conv.tc_" in lay.get("TacticName", "")]
    return convs[0]["Inputs"][0]["Format"]


REL = {"fp16": FP16_REL, "int8": INT8_REL, "tf32": TF32_REL}
# Every case in FP16 with the input LINEAR and HWC; INT8 (bytes: 64-element runs) and TF32
# (floats: 16) on a few. An FP32 network's convolution reads the network input as it comes
# (LINEAR): no conversion makes it channels last.
RUNS = [(p, case, lay) for p in ("fp16", "int8") for case in CASES for lay in ("LINEAR", "HWC")]
RUNS = [r for r in RUNS if r[0] == "fp16" or r[1] in ("resnet", "gray")]
RUNS += [("tf32", "resnet", "LINEAR"), ("tf32", "patchify", "LINEAR"), ("tf32", "patch8", "LINEAR")]


@pytest.mark.parametrize("precision,case,layout", RUNS)
def test_tc_stem_matches_onnxruntime(precision, case, layout, monkeypatch):
    # CLRT_CHANNELS_LAST=0 keeps every tensor LINEAR, =1 makes the tensors between layers
    # channels last (on a GPU by default): the convolution then reads the converted input as HWC.
    monkeypatch.setenv("CLRT_CHANNELS_LAST", "1" if layout == "HWC" else "0")
    monkeypatch.setenv("CLRT_TC_PATCH", "1")  # the local patch (off by default, see its doc)
    model, x = stem_model(case)
    engine = build_in(model, precision, all_ranges(model, {"input": x}))
    assert chosen(engine).count("conv.tc_" + precision) == 1, chosen(engine)
    assert stem_input_format(engine) == layout
    got = engine.create_execution_context().infer({"input": x})["y"]
    ref = ort_run(model, {"input": x})["y"]
    assert got.shape == ref.shape
    err = float(np.abs(got.astype(np.float64) - ref).max() / np.abs(ref).max())
    assert err < REL[precision], err
