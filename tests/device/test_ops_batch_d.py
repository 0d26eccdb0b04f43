# Operators batch D against onnxruntime: ConvInteger, OneHot, Dropout's mask, MaxPool's Indices
# output, DFT, STFT and MelWeightMatrix (tests/device/test_ops.py's case table, continued; it
# counts these ops as covered).
"""Tolerances: FP32 |clrt - ort| <= 1e-5 + 1e-4 |ort| unless a case states others (the spectral
cases: sums of up to 16 terms of magnitude ~1, rtol = atol = 1e-4); integer and boolean outputs
(ConvInteger, Indices, masks) are compared exactly."""

from dataclasses import dataclass, field

import numpy as np
import onnx
import pytest
from helpers import make_model, run_and_compare
from onnx import helper as oh

N = oh.make_node
RTOL, ATOL = 1e-4, 1e-5


@dataclass
class Case:
    id: str
    model: onnx.ModelProto
    feeds: dict
    rtol: float = RTOL
    atol: float = ATOL
    ops: set = field(default_factory=set)


CASES = []


def case(cid, nodes, inputs, outputs=("y",), inits=None, opset=17, ranges=None, **kw):
    """Adds a case; feeds are seeded uniform values per input (ranges: {name: (lo, hi)})."""
    model = make_model(nodes, inputs, outputs, inits, opset, name=cid)
    rng = np.random.default_rng(len(CASES) + 1000)
    feeds = {}
    for spec in inputs:
        name, shape, dtype = (list(spec) + [np.float32])[:3]
        lo, hi = (ranges or {}).get(name, (-1.0, 1.0))
        if np.dtype(dtype).kind == "f":
            feeds[name] = rng.uniform(lo, hi, shape).astype(dtype)
        else:
            feeds[name] = rng.integers(int(lo), int(hi) + 1, shape).astype(dtype)
    CASES.append(Case(f"{cid}-opset{opset}", model, feeds, ops={n.op_type for n in nodes}, **kw))


# MaxPool's Indices output (flat into X; storage_order 1 takes H and W column-major): padding,
# ceil mode, dilations, SAME_LOWER, 1-D. Indices are compared exactly. Inputs are seeded
# uniform floats, so windows have no ties.
def pool_indices(cid, x, **attrs):
    case(
        f"MaxPool-indices-{cid}",
        [N("MaxPool", ["x"], ["y", "i"], **attrs)],
        [("x", x)],
        outputs=("y", ("i", None, np.int64)),
        opset=12,
    )


pool_indices("k3s2p1", (2, 3, 7, 8), kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
pool_indices(
    "ceil-order1", (1, 2, 7, 7), kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1, storage_order=1
)
pool_indices("dilation2", (1, 2, 9, 8), kernel_shape=[3, 2], dilations=[2, 2], pads=[2, 1, 1, 0])
pool_indices("same-lower", (1, 2, 9, 8), kernel_shape=[3, 2], strides=[2, 1], auto_pad="SAME_LOWER")
pool_indices("1d", (2, 3, 10), kernel_shape=[3], strides=[2], pads=[1, 0])


case(
    "ConvInteger-zero-points",
    [N("ConvInteger", ["x", "w", "zx", "zw"], ["y"], pads=[1, 1, 1, 1], strides=[1, 2])],
    [("x", (1, 3, 5, 6), np.uint8), ("w", (2, 3, 3, 3), np.uint8)],
    outputs=(("y", None, np.int32),),
    inits={"zx": np.uint8(7), "zw": np.uint8(200)},
    ranges={"x": (0, 255), "w": (0, 255)},
    opset=10,
)
# Indices from -5 to 5 against depth 4: negative ones count from the end, and -5 and 4 and 5 are
# out of range (no position set). tests/device/test_runtime_inputs.py feeds depth at run time.
case(
    "OneHot-axis-negative-and-out-of-range",
    [N("OneHot", ["i", "d", "v"], ["y"], axis=1)],
    [("i", (2, 3), np.int64), ("v", (2,))],
    inits={"d": np.array([4], np.int64)},
    ranges={"i": (-5, 5)},
    opset=11,
)
case(
    "Dropout-mask-in-inference",
    [N("Dropout", ["x", "r"], ["y", "m"])],
    [("x", (2, 3))],
    outputs=("y", ("m", None, np.bool_)),
    inits={"r": np.float32(0.3)},
    opset=13,
)
case(
    "Dropout-training-ratio-0",
    [N("Dropout", ["x", "r", "t"], ["y", "m"])],
    [("x", (2, 3))],
    outputs=("y", ("m", None, np.bool_)),
    inits={"r": np.float32(0.0), "t": np.bool_(True)},
    opset=13,
)


# ---- spectral ----------------------------------------------------------------------------------
# DFT: real and complex input, forward and inverse, one-sided, a dft_length that pads and one that
# crops, the axis not next to last; the inverse of a one-sided spectrum (real output). Tolerance
# rtol 1e-4, atol 1e-4: sums of up to 16 terms of magnitude ~1 in FP32.
def dft(cid, x, opset=17, inits=None, names=("x",), **attrs):
    case(
        f"DFT-{cid}",
        [N("DFT", list(names), ["y"], **attrs)],
        [("x", x)],
        inits=inits,
        opset=opset,
        rtol=1e-4,
        atol=1e-4,
    )


dft("real-axis1", (2, 8, 1), axis=1)
dft("real-onesided", (2, 9, 1), axis=1, onesided=1)
dft("complex-inverse", (3, 8, 2), axis=1, inverse=1)
dft("pad-to-12", (2, 8, 1), axis=1, inits={"n": np.int64(12)}, names=("x", "n"))
dft("crop-to-6-axis1-of-4", (2, 8, 3, 2), axis=1, inits={"n": np.int64(6)}, names=("x", "n"))
dft("20-default-axis", (2, 3, 10, 2), opset=20)
dft("20-irfft", (2, 5, 2), opset=20, inverse=1, onesided=1)
dft("20-axis-input", (2, 6, 4, 1), opset=20, inits={"a": np.int64(1)}, names=("x", "", "a"))
# STFT: a Hann window of 16 every 8 samples (one-sided), and a complex signal with all bins.
case(
    "STFT-hann-onesided",
    [N("STFT", ["x", "step", "w", "len"], ["y"])],
    [("x", (2, 64, 1))],
    inits={
        "step": np.int64(8),
        "w": (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(16) / 16)).astype(np.float32),
        "len": np.int64(16),
    },
    rtol=1e-4,
    atol=1e-4,
)
case(
    "STFT-complex-all-bins",
    [N("STFT", ["x", "step", "", "len"], ["y"], onesided=0)],
    [("x", (1, 40, 2))],
    inits={"step": np.int64(6), "len": np.int64(10)},
    rtol=1e-4,
    atol=1e-4,
)
# MelWeightMatrix (constant inputs) applied to a spectrum.
case(
    "MelWeightMatrix-applied",
    [
        N("MelWeightMatrix", ["m", "n", "r", "lo", "hi"], ["mel"]),
        N("MatMul", ["x", "mel"], ["y"]),
    ],
    [("x", (3, 33))],
    inits={
        "m": np.int64(8),
        "n": np.int64(64),
        "r": np.int64(8000),
        "lo": np.float32(0.0),
        "hi": np.float32(4000.0),
    },
)


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_op(c):
    run_and_compare(c.model, c.feeds, c.rtol, c.atol)


def covered_ops():
    return set().union(*(c.ops for c in CASES))
