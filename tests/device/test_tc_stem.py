# Tensor-core convolutions over few input channels (a stem's 3, a grayscale image's 1), against
# onnxruntime FP32: tc_conv's gather over such channels (element by element, or a kernel row's
# whole 16-byte chunks at a time when channels last) with strides, pads (asymmetric too), kernel
# sizes from 1 to 7, pixel tiles inside one image and across two, a dilation and a wide row;
# and the space-to-depth form of the stride-2 ones (conv.tc_<precision>_s2d*). The input in the
# network's layout and channels last; FP16, INT8 and TF32. Runs where the current OpenCL device
# is NVIDIA; elsewhere with CLRT_TC_EMULATE=1 (one-warp 32 x 32 tiles), which CI runs as its own
# step. (The local input patch these cases first covered, PATCH_CAP, measured slower than the
# global gather on an H100 and is gone; the space-to-depth form replaced it for stems.)
import json

import clrt as trt
import numpy as np
import pytest
from helpers import make_config, make_model, ort_run, parse_network
from onnx.helper import make_node as N
from test_tensorcore import (
    FP16_REL,
    INT8_REL,
    NEEDS_TC,
    TF32_REL,
    all_ranges,
    build,
    build_in,
    chosen,
)

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
    # ViT's patchify (16 x 16 / 16) in small: kernel rows of whole 16-byte chunks (gathered a
    # chunk at a time when channels last).
    "patch8": ((2, 3, 16, 160), 32, (8, 8), (8, 8), (0, 0, 0, 0), (1, 1)),
    # Grayscale, asymmetric pads and kernel, stride 1.
    "gray": ((1, 1, 20, 17), 8, (5, 3), (1, 1), (2, 0, 1, 2), (1, 1)),
    # Dilated along W: a kernel row's taps are not consecutive.
    "dilated": ((2, 3, 21, 19), 16, (3, 3), (1, 1), (2, 2, 2, 2), (2, 2)),
    # A wide row.
    "wide": ((1, 3, 6, 1500), 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
}


# The space-to-depth form (conv.tc_<precision>_s2d and _s2d_wg: the input folded 2 x 2 into
# channels, then a stride-1 convolution whose gather copies whole 16-byte chunks through the
# cp.async ring): stride-2 layers over at most 4 channels, pads odd, even, asymmetric and none.
S2D_CASES = {
    "resnet": CASES["resnet"],
    "effnet": CASES["effnet"],
    # 5 x 5 / 2, even pads: the folded taps do not shift.
    "even": ((2, 3, 17, 22), 16, (5, 5), (2, 2), (2, 2, 2, 2), (1, 1)),
    # Grayscale 3 x 3 / 2, the top pad even and the left one odd.
    "gray_asym": ((2, 1, 15, 12), 8, (3, 3), (2, 2), (0, 1, 1, 0), (1, 1)),
    # 4 channels, a 4 x 6 kernel, no pads, odd image sides.
    "rgba": ((1, 4, 13, 19), 24, (4, 6), (2, 2), (0, 0, 0, 0), (1, 1)),
}


def stem_model(case):
    """Conv (+ bias) -> ReLU of `case`, and an input."""
    (n, c, h, w), k, (kh, kw), strides, pads, dil = {**CASES, **S2D_CASES}[case]
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


def check_engine(engine, model, x, precision, layout):
    """The convolution reads its input in `layout`, and the engine's output matches
    onnxruntime FP32 within `precision`'s error, relative to the output's largest value."""
    assert stem_input_format(engine) == layout
    got = engine.create_execution_context().infer({"input": x})["y"]
    ref = ort_run(model, {"input": x})["y"]
    assert got.shape == ref.shape
    err = float(np.abs(got.astype(np.float64) - ref).max() / np.abs(ref).max())
    assert err < REL[precision], err


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
    model, x = stem_model(case)
    engine = build_in(model, precision, all_ranges(model, {"input": x}))
    assert chosen(engine).count("conv.tc_" + precision) == 1, chosen(engine)
    check_engine(engine, model, x, precision, layout)


# Every case in FP16 on both tiles with the input LINEAR, and HWC for ResNet's; INT8 (one
# 16-byte chunk a folded pixel) and TF32 (three) on a few.
S2D_RUNS = [("fp16", tile, case, "LINEAR") for tile in ("_s2d", "_s2d_wg") for case in S2D_CASES]
S2D_RUNS += [("fp16", "_s2d_wg", "resnet", "HWC"), ("int8", "_s2d_wg", "resnet", "HWC")]
S2D_RUNS += [("int8", "_s2d", "gray_asym", "LINEAR"), ("tf32", "_s2d", "resnet", "LINEAR")]
S2D_RUNS += [("tf32", "_s2d_wg", "rgba", "LINEAR")]


@pytest.mark.parametrize("precision,tile,case,layout", S2D_RUNS)
def test_tc_stem_space_to_depth_matches_onnxruntime(precision, tile, case, layout, monkeypatch):
    monkeypatch.setenv("CLRT_CHANNELS_LAST", "1" if layout == "HWC" else "0")
    tactic = f"conv.tc_{precision}{tile}"
    # (An FP16 or INT8 build also runs the layer in FP32, to check FP16's error and to
    # calibrate: conv.direct does that.)
    monkeypatch.setenv("CLRT_TACTICS", tactic + ("" if precision == "tf32" else ",conv.direct"))
    model, x = stem_model(case)
    engine = build_in(model, precision, all_ranges(model, {"input": x}))
    assert tactic in chosen(engine), chosen(engine)
    check_engine(engine, model, x, precision, layout)


def test_space_to_depth_refuses_what_it_cannot_fold(monkeypatch):
    """A stride-1 layer has no space-to-depth form: forcing the tactic on it leaves the layer
    without a tactic, which the build says, naming the layer and the filter."""
    monkeypatch.setenv("CLRT_TACTICS", "conv.tc_tf32_s2d")
    for case in ("gray", "dilated"):  # stride 1; 3 channels but stride 1 and dilated
        model, x = stem_model(case)
        with pytest.raises(trt.BuildError, match="Conv_0.*filter 'conv.tc_tf32_s2d'"):
            build_in(model, "tf32", all_ranges(model, {"input": x}))


def test_space_to_depth_with_dynamic_shapes(monkeypatch):
    """One engine over a range of batch sizes and image sizes (the workspace sized for the
    largest, the packed image for each run's own): every shape matches onnxruntime."""
    monkeypatch.setenv("CLRT_TACTICS", "conv.tc_fp16_s2d_wg,conv.direct")
    rng = np.random.default_rng(5)
    wt = (rng.standard_normal((16, 3, 7, 7)) / np.sqrt(147)).astype(np.float32)
    conv = N("Conv", ["input", "w"], ["y"], strides=[2, 2], pads=[3, 3, 3, 3])
    model = make_model(
        [conv], [("input", ("N", 3, "H", "W"))], [("y", ("N", 16, "OH", "OW"))], {"w": wt}
    )
    builder, network, _ = parse_network(model, logger=trt.Logger(trt.Logger.WARNING))
    lo, opt, hi = (1, 3, 15, 18), (2, 3, 30, 26), (3, 3, 33, 40)
    config = make_config(builder, profiles={"input": (lo, opt, hi)}, opt_level=0)
    config.set_flag(trt.BuilderFlag.FP16)
    engine = build(builder, network, config)
    assert "conv.tc_fp16_s2d_wg" in chosen(engine), chosen(engine)
    context = engine.create_execution_context()
    for shape in (hi, lo, opt, (2, 3, 17, 33)):
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        got = context.infer({"input": x})["y"]
        ref = ort_run(model, {"input": x})["y"]
        assert got.shape == ref.shape, (shape, got.shape, ref.shape)
        err = float(np.abs(got.astype(np.float64) - ref).max() / np.abs(ref).max())
        assert err < FP16_REL, (shape, err)
