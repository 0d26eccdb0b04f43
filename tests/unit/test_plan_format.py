"""The engine file format without a device: a network written by plan/ and read back, and the
refusals plan/ makes before any device is involved (bad magic, other format version,
truncation, checksum, another clrt version). clrt._clrt._debug.plan_of writes the network as it
is, with no tactics or program binaries; engines built on a device are covered in
tests/device/test_engine_hardening.py and test_serialization.py."""

import importlib.util
import struct
from pathlib import Path

import clrt as trt
import numpy as np
import pytest
from clrt import _clrt
from onnx import TensorProto, helper, numpy_helper
from unit_helpers import parse

DBG = _clrt._debug
ROOT = Path(__file__).resolve().parents[2]


def _fuzz_engine():
    spec = importlib.util.spec_from_file_location("fuzz_engine", ROOT / "scripts/fuzz_engine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fuzz = _fuzz_engine()


@pytest.fixture(scope="module")
def network():
    w = np.random.default_rng(1).standard_normal((4, 2, 3, 3)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["y"], name="relu"),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, (1, 2, 5, 5))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "w")],
    )
    return parse(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))


@pytest.fixture(scope="module")
def plan(network):
    return DBG.plan_of(network)


def refused(data, *needles):
    with pytest.raises(trt.EngineFormatError) as info:
        DBG.read_plan(bytes(data))
    for needle in needles:
        assert needle in str(info.value), str(info.value)
    return str(info.value)


def test_round_trip(network, plan):
    got = DBG.read_plan(plan)
    want = DBG.optimize(network, [])
    assert got["layers"] == want["layers"]
    assert got["clrt_version"] == trt.__version__
    assert (got["network_inputs"], got["network_outputs"]) == (["x"], ["y"])
    assert DBG.plan_of(network) == plan  # deterministic bytes
    assert fuzz.reseal(plan) == plan  # the Python checksum mirror agrees with plan.cc


def test_version_is_the_package_version():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (line,) = [x for x in text.splitlines() if x.startswith("version = ")]
    assert trt.__version__ == line.split('"')[1]


def test_other_clrt_version_is_refused(network, plan):
    other = DBG.plan_of(network, "0.0.1-other")
    refused(other, "engine file from clrt 0.0.1-other", f"this is clrt {trt.__version__}")
    # The same edit made on the bytes and resealed, as a tool that rewrites the field would.
    (field,) = [f for f in fuzz.parse_fields(plan) if f.name == "clrt version"]
    body = plan[field.offset : field.offset + field.size]
    assert body.endswith(trt.__version__.encode())
    edited = bytearray(plan)
    edited[field.offset + field.size - 1] ^= 0x01  # one character of the version string
    refused(fuzz.reseal(edited), "engine file from clrt", f"this is clrt {trt.__version__}")


@pytest.mark.parametrize(
    "edit, needles",
    [
        (lambda p: b"", ["truncated: empty"]),
        (lambda p: b"NOTCLRT!" + p[8:], ["not a clrt engine file (bad magic)"]),
        (lambda p: p[:8] + struct.pack("<I", 999) + p[12:], ["engine format version 999"]),
        (lambda p: p[:20], ["truncated", "header needs 28 bytes, got 20"]),
        (lambda p: p[:-5], ["truncated", "got"]),
        (lambda p: p + b"\0", ["trailing data"]),
        (lambda p: p[:-1] + bytes([p[-1] ^ 0xFF]), ["corrupted: checksum mismatch"]),
    ],
    ids=["empty", "magic", "format", "header", "short", "trailing", "checksum"],
)
def test_damaged_files_are_refused(plan, edit, needles):
    refused(edit(plan), *needles)
