# RoiAlign (opsets 10, 16, 22) against onnxruntime.
"""One model per opset holds every case of that opset, one graph output per node, so each opset
builds one engine (PoCL compiles slowly). The rois cover a box inside the image, boxes partly
and wholly outside it, a zero-size box, a sub-pixel-wide one, the whole image and one on the
border, drawn from both batch items. onnxruntime has no RoiAlign-22 kernel: the opset-22 cases
are compared with onnxruntime running the same nodes at opset 16 (22 only widens the dtypes).
Tolerances: FP32 |clrt - ort| <= 1e-5 + 1e-5 |ort|; FP16 engines 5e-3 |ort| + 5e-3 max |ort|
(half storage of the image and the output; the rois stay FLOAT)."""

import json

import clrt as trt
import numpy as np
import pytest
from helpers import (
    assert_close,
    build_engine,
    build_fp16_engine,
    make_model,
    ort_run,
    rand,
)
from onnx import helper as oh
from onnx.reference import ReferenceEvaluator

N = oh.make_node
RTOL = ATOL = 1e-5
XS = [2, 3, 8, 9]  # N, C, H, W
ROIS = np.array(
    [
        [1.0, 1.5, 6.0, 5.0],  # inside
        [-3.0, -2.0, 4.5, 3.0],  # partly outside, top left
        [5.0, 4.0, 14.0, 12.0],  # partly outside, bottom right
        [-9.0, -9.0, -4.0, -5.0],  # wholly outside: zeros
        [3.0, 3.0, 3.0, 3.0],  # zero size (output_half_pixel makes it one pixel)
        [2.2, 0.3, 2.9, 7.7],  # narrower than a pixel
        [0.0, 0.0, 9.0, 8.0],  # the whole image
        [7.5, 6.5, 8.9, 7.9],  # on the border: samples clamp
    ],
    np.float32,
)
BATCH = np.array([0, 1, 1, 0, 1, 0, 1, 0], np.int64)


def covered_ops():
    """The op types this file runs (tests/device/test_ops.py counts them as covered)."""
    return {"RoiAlign"}


def _cases():
    """opset -> [(output, attrs)]."""
    v16 = []
    for coord in ("half_pixel", "output_half_pixel"):
        for mode in ("avg", "max"):
            for sr, scale in ((0, 1.0), (2, 0.5)):
                attrs = {
                    "coordinate_transformation_mode": coord,
                    "mode": mode,
                    "sampling_ratio": sr,
                    "spatial_scale": scale,
                    "output_height": 2,
                    "output_width": 3,
                }
                v16.append((f"v16_{coord}_{mode}_{sr}", attrs))
    v16.append(("v16_defaults", {}))  # half_pixel, avg, 1 x 1, adaptive, scale 1
    v10 = [  # no coordinate_transformation_mode: output_half_pixel
        ("v10_avg", {"output_height": 2, "output_width": 2}),
        ("v10_max", {"mode": "max", "sampling_ratio": 2, "spatial_scale": 0.5, "output_height": 3}),
        ("v10_defaults", {}),
    ]
    v22 = [
        ("v22_avg", {"spatial_scale": 0.5, "output_height": 3, "output_width": 3}),
        (
            "v22_max",
            {
                "mode": "max",
                "coordinate_transformation_mode": "output_half_pixel",
                "sampling_ratio": 3,
                "output_height": 2,
                "output_width": 2,
            },
        ),
    ]
    return {10: v10, 16: v16, 22: v22}


CASES = _cases()
INPUTS = [("x", XS), ("rois", [len(ROIS), 4]), ("bi", [len(ROIS)], np.int64)]


def _model(opset, cases=None):
    cases = CASES[opset] if cases is None else cases
    nodes = [N("RoiAlign", ["x", "rois", "bi"], [out], **attrs) for out, attrs in cases]
    return make_model(nodes, INPUTS, [out for out, _ in cases], opset=opset, name="roi_align")


def _feeds():
    return {"x": rand(XS, seed=1, low=-2.0, high=2.0), "rois": ROIS, "bi": BATCH}


@pytest.fixture(scope="module")
def results():
    """opset -> (clrt outputs, onnxruntime outputs), each engine built on first use."""
    built = {}

    def get(opset):
        if opset not in built:
            feeds = _feeds()
            got = build_engine(_model(opset)).create_execution_context().infer(feeds)
            ref = ort_run(_model(16 if opset == 22 else opset, CASES[opset]), feeds)
            built[opset] = (got, ref)
        return built[opset]

    return get


@pytest.mark.parametrize(
    "opset,name", [pytest.param(o, c[0], id=c[0]) for o in CASES for c in CASES[o]]
)
def test_roi_align(results, opset, name):
    got, ref = results(opset)
    assert_close(got[name], ref[name], RTOL, ATOL, name)


def test_reversed_rois_match_the_reference():
    """Rois with x2 < x1 or y2 < y1 under half_pixel: an adaptive grid has no samples (zeros),
    a fixed one samples backwards. onnxruntime fails these with a SafeInt overflow, so the ONNX
    reference implementation is the reference here."""
    rois = np.array([[4, 4, 1, 2], [5, 1, 2, 5], [1, 5, 5, 2], [6, 2, 2, 7]], np.float32)
    cases = [
        ("adaptive_avg", {"output_height": 2, "output_width": 2}),
        ("adaptive_max", {"mode": "max", "output_height": 2, "output_width": 2}),
        ("fixed_avg", {"sampling_ratio": 2, "output_height": 2, "output_width": 2}),
    ]
    nodes = [N("RoiAlign", ["x", "rois", "bi"], [out], **attrs) for out, attrs in cases]
    inputs = [("x", XS), ("rois", [4, 4]), ("bi", [4], np.int64)]
    model = make_model(nodes, inputs, [c[0] for c in cases], opset=16, name="roi_reversed")
    feeds = {"x": rand(XS, seed=2), "rois": rois, "bi": np.array([0, 1, 0, 1], np.int64)}
    got = build_engine(model).create_execution_context().infer(feeds)
    ref = ReferenceEvaluator(model).run(None, feeds)
    for (name, _), want in zip(cases, ref, strict=True):
        assert_close(got[name], want, RTOL, ATOL, name)
    assert not got["adaptive_avg"].any() and np.abs(got["fixed_avg"]).max() > 0.1


def test_dynamic_roi_count():
    """The roi count as a dynamic dim (a detector's proposals), two counts on one context."""
    node = N("RoiAlign", ["x", "rois", "bi"], ["y"], output_height=2, output_width=2)
    inputs = [("x", XS), ("rois", ["R", 4]), ("bi", ["R"], np.int64)]
    model = make_model([node], inputs, ["y"], opset=16, name="roi_dynamic")
    profiles = [{"rois": ([1, 4], [4, 4], [16, 4]), "bi": ([1], [4], [16])}]
    context = build_engine(model, profiles=profiles).create_execution_context()
    x = rand(XS, seed=3)
    rng = np.random.default_rng(4)
    for r in (3, 11):
        corner = rng.uniform(-2, 8, (r, 2))
        rois = np.concatenate([corner, corner + rng.uniform(0, 6, (r, 2))], 1).astype(np.float32)
        feeds = {"x": x, "rois": rois, "bi": rng.integers(0, 2, r).astype(np.int64)}
        got = context.infer(feeds)["y"]
        assert got.shape == (r, 3, 2, 2)
        assert_close(got, ort_run(model, feeds)["y"], RTOL, ATOL, f"y ({r} rois)")


def _single(name="ra"):
    node = N("RoiAlign", ["x", "rois", "bi"], ["y"], name=name, output_height=2, output_width=2)
    return make_model([node], INPUTS, ["y"], opset=16, name="roi_single")


def test_batch_index_out_of_range_fails_the_run():
    """A batch index outside [0, N) fails the run naming the layer and the index, as
    onnxruntime's does (negative ones too: they do not wrap); the context then runs again."""
    context = build_engine(_single("ra_bad")).create_execution_context()
    feeds = _feeds()
    for bad in (2, -1):
        bi = BATCH.copy()
        bi[5] = bad
        with pytest.raises(Exception, match=rf"ra_bad.*batch index {bad} is out of range.*0 to 1"):
            context.infer({**feeds, "bi": bi})
    got = context.infer(feeds)["y"]
    assert_close(got, ort_run(_single(), feeds)["y"], RTOL, ATOL, "y after the failed runs")


def test_oversized_adaptive_grid_fails_the_run():
    """An adaptive grid past 4096 samples per bin side (a roi 10^5 pixels wide pooled into 2
    bins) fails the run instead of sampling for hours."""
    context = build_engine(_single("ra_huge")).create_execution_context()
    rois = ROIS.copy()
    rois[2] = [0.0, 0.0, 1e5, 4.0]
    with pytest.raises(Exception, match=r"ra_huge.*roi 2 needs an adaptive sampling grid"):
        context.infer({**_feeds(), "rois": rois})


def test_fp16():
    """Every layer held to FP16: the image and the output in half storage, the rois FLOAT (the
    engine inspector shows both), also where an FP16 Mul computes them (a REFORMAT follows)."""
    cases = CASES[16]
    nodes = [N("Mul", ["rois", "two"], ["rois2"])]
    nodes += [N("RoiAlign", ["x", "rois", "bi"], [out], **attrs) for out, attrs in cases]
    nodes.append(N("RoiAlign", ["x", "rois2", "bi"], ["scaled"], spatial_scale=0.5))
    outs = [c[0] for c in cases] + ["scaled"]
    inits = {"two": np.array(2.0, np.float32)}
    model = make_model(nodes, INPUTS, outs, inits, opset=16, name="roi_fp16")
    engine = build_fp16_engine(model, detailed=True)
    info = json.loads(
        engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    )
    roi_layers = [lay for lay in info["Layers"] if lay["LayerType"] == "ROI_ALIGN"]
    assert len(roi_layers) == len(outs)
    for lay in roi_layers:
        dtypes = [t["Format/Datatype"] for t in lay["Inputs"]]
        assert lay["Precision"] == "HALF" and dtypes == ["HALF", "FLOAT", "INT64"], lay
    feeds = _feeds()
    got = engine.create_execution_context().infer(feeds)
    ref = ort_run(model, feeds)
    for name in outs:
        assert_close(got[name], ref[name], 5e-3, 5e-3 * float(np.abs(ref[name]).max()), name)
