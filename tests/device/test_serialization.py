# Engine files: bitwise round trip, fast loading without compilation, and damaged files refused.
import os
import struct
import subprocess
import sys
import textwrap

import clrt as trt
import numpy as np
import pytest
from helpers import MODELS, ROOT, build_plan, checksum64, deserialize, fmnist, make_model
from onnx import helper as oh

CNN = MODELS / "fmnist_cnn.onnx"
RESNET = MODELS / "resnet18_style.onnx"
PROFILE = {"input": ((1, 1, 28, 28), (8, 1, 28, 28), (16, 1, 28, 28))}

# The engine file header (plan/plan.cc): magic, u32 format version, u64 total length, u64
# checksum of everything after the 28-byte header; then length-prefixed strings: clrt version,
# device name, device fingerprint. The fingerprint test below rewrites it, so it mirrors the
# checksum (plan/byte_io.h) and first checks the mirror against an untouched file.
MAGIC, HEADER = b"CLRTENG\0", 28
MASK = (1 << 64) - 1


def read_string(plan, at):
    (n,) = struct.unpack_from("<Q", plan, at)
    return plan[at + 8 : at + 8 + n].decode(), at + 8 + n


def with_fingerprint(plan, fingerprint):
    """The plan with its device fingerprint replaced, length and checksum made consistent."""
    _, at = read_string(plan, HEADER)  # clrt version
    _, at = read_string(plan, at)  # device name
    old, end = read_string(plan, at)
    fp = fingerprint.encode()
    body = plan[HEADER:at] + struct.pack("<Q", len(fp)) + fp + plan[end:]
    header = MAGIC + plan[8:12] + struct.pack("<QQ", HEADER + len(body), checksum64(body))
    return header + body, old


@pytest.fixture(scope="module")
def cnn_plan():
    return build_plan(CNN, profiles=PROFILE)


@pytest.fixture(scope="module")
def tiny_plan():
    """A one-layer engine: small enough to re-checksum in Python."""
    model = make_model([oh.make_node("Relu", ["x"], ["y"])], [("x", (2, 3))], ["y"])
    return build_plan(model)


@pytest.fixture(scope="module")
def images():
    return fmnist.load("test")[0][:16]


def test_round_trip_bitwise(cnn_plan, images, tmp_path):
    engine = deserialize(cnn_plan)
    first = engine.create_execution_context().infer({"input": images})["logits"]
    path = tmp_path / "cnn.engine"
    path.write_bytes(bytes(engine.serialize()))
    again = deserialize(path.read_bytes())
    second = again.create_execution_context().infer({"input": images})["logits"]
    np.testing.assert_array_equal(first, second)
    assert bytes(again.serialize()) == bytes(engine.serialize()), "serialization not stable"
    for e in (engine, again):
        assert [e.get_tensor_name(i) for i in range(e.num_io_tensors)] == ["input", "logits"]
        assert tuple(e.get_tensor_profile_shape("input", 0)[2]) == (16, 1, 28, 28)


LOAD_VS_BUILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    import clrt as trt
    import helpers
    mode, path, plan_path = sys.argv[1:4]
    if mode == "build":
        builder = trt.Builder(helpers.LOGGER)   # device opened outside the timed region
        t0 = time.perf_counter()
        _, network, _ = helpers.parse_network(path, builder)
        lo, hi = (1, 3, 32, 32), (4, 3, 32, 32)
        config = helpers.make_config(builder, {{"input": (lo, hi, hi)}})
        plan = builder.build_serialized_network(network, config)
        dt = time.perf_counter() - t0
        open(plan_path, "wb").write(bytes(plan))
    else:
        runtime = trt.Runtime(helpers.LOGGER)
        data = open(plan_path, "rb").read()
        before = trt.compile_count()
        t0 = time.perf_counter()
        engine = runtime.deserialize_cuda_engine(data)
        context = engine.create_execution_context()
        dt = time.perf_counter() - t0
        loaded = trt.compile_count()
        context.infer({{"input": helpers.rand((4, 3, 32, 32))}})
        print("compiles", before, loaded, trt.compile_count())
    print("seconds", dt)
""")


def _timed(mode, plan_path):
    script = LOAD_VS_BUILD.format(tests=str(ROOT / "tests"))
    # A first build on a machine that never compiled these kernels, and a load on one that
    # never did either: clrt's disk cache off, the OpenCL driver's own caches (PoCL's, NVIDIA's)
    # empty or off. The load must find every program in the engine file.
    env = {
        **os.environ,
        "CLRT_DISABLE_DISK_CACHE": "1",
        "POCL_CACHE_DIR": str(plan_path.parent / f"pocl-cache-{mode}"),
        "CUDA_CACHE_DISABLE": "1",
    }
    out = subprocess.run(
        [sys.executable, "-c", script, mode, str(RESNET), str(plan_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    values = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines())
    return float(values["seconds"]), values.get("compiles")


def test_load_compiles_nothing(tmp_path):
    """Each side runs in a fresh process with cold program caches, so neither profits from
    programs compiled earlier in the suite: loading and the first inference compile no program
    (the plan's binaries serve). The times are printed, not judged: a driver's own program cache
    (NVIDIA's) makes the build fast too, and speed belongs to benchmarks/."""
    plan_path = tmp_path / "resnet18_style.engine"
    build_s, _ = _timed("build", plan_path)
    load_s, compiles = _timed("load", plan_path)
    print(f"resnet18_style: build {build_s:.2f} s, deserialize + context {load_s:.3f} s")
    before, loaded, ran = compiles.split()
    assert before == loaded == ran, (
        f"programs compiled: {before} before load, {loaded} after, {ran} after the first inference"
    )


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda p: p[: len(p) // 2], ["truncated"]),
        (lambda p: p[:10], ["truncated"]),
        (lambda p: b"", ["truncated"]),
        (lambda p: p[:-1], ["truncated"]),
        (lambda p: p + b"\0\0\0\0", ["trailing"]),
        (
            lambda p: p[: len(p) // 2] + bytes([p[len(p) // 2] ^ 0x40]) + p[len(p) // 2 + 1 :],
            ["corrupted", "checksum"],
        ),
        (lambda p: p[:-3] + bytes([p[-3] ^ 1]) + p[-2:], ["checksum"]),
        (lambda p: b"XLRTENG\0" + p[8:], ["magic"]),
        (lambda p: b"PK\x03\x04" + bytes(200), ["magic"]),
        (lambda p: p[:8] + struct.pack("<I", 99) + p[12:], ["version", "99"]),
    ],
    ids=[
        "half",
        "header",
        "empty",
        "last-byte",
        "trailing",
        "flipped-middle",
        "flipped-end",
        "wrong-magic",
        "zip-file",
        "format-version",
    ],
)
def test_damaged_files(tiny_plan, damage, words):
    with pytest.raises(trt.EngineFormatError) as info:
        deserialize(damage(tiny_plan))
    msg = str(info.value)
    for word in words:
        assert word in msg, msg


def test_checksum_mirror_matches(tiny_plan):
    (stored,) = struct.unpack_from("<Q", tiny_plan, 20)
    assert checksum64(tiny_plan[HEADER:]) == stored, "plan checksum changed: update the mirror"


def test_other_device_fingerprint(tiny_plan):
    other, here = with_fingerprint(tiny_plan, "Some Platform|ACME|Turbo GPU 9000|OpenCL 3.0|1.2.3")
    assert here, "fingerprint field empty"
    with pytest.raises(trt.EngineFormatError) as info:
        deserialize(other)
    msg = str(info.value)
    assert "another device" in msg and "Turbo GPU 9000" in msg, msg
    # Unchanged fingerprint through the same rewrite still loads: the rewrite itself is sound.
    same, _ = with_fingerprint(tiny_plan, here)
    assert same == tiny_plan
    deserialize(same)


class Collect(trt.IStreamWriter):
    """Keeps what it is given; `limit` makes it take fewer bytes of one piece, as a full disk."""

    def __init__(self, limit=None):
        trt.IStreamWriter.__init__(self)
        self.pieces, self.limit = [], limit

    def write(self, data):
        self.pieces.append(bytes(data))
        return len(data) if self.limit is None else min(len(data), self.limit)


def test_build_serialized_network_to_stream(tiny_plan):
    # TensorRT 10's streaming build: the pieces, joined, are an engine that deserializes and runs
    # like one from build_serialized_network; a writer that takes fewer bytes makes it False.
    from helpers import get_runtime, parse_network

    model = make_model([oh.make_node("Relu", ["x"], ["y"])], [("x", (2, 3))], ["y"])
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    _, network, _parser = parse_network(model, builder)
    writer = Collect()
    assert builder.build_serialized_network_to_stream(
        network, builder.create_builder_config(), writer
    )
    data = b"".join(writer.pieces)
    assert data.startswith(MAGIC) and len(data) == len(tiny_plan)
    engine = get_runtime().deserialize_cuda_engine(data)
    x = np.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0]], np.float32)
    np.testing.assert_array_equal(
        engine.create_execution_context().infer({"x": x})["y"], np.maximum(x, 0)
    )
    short = Collect(limit=10)
    assert not builder.build_serialized_network_to_stream(
        network, builder.create_builder_config(), short
    )
    with pytest.raises(TypeError, match="has no write"):
        builder.build_serialized_network_to_stream(network, builder.create_builder_config(), 42)
