# Engine files edited and resealed (checksum recomputed): refused naming the field or identical
# in behaviour, never a crash; program binaries integrity-checked; Runtime.rebuild_programs;
# damaged kernel-cache entries rebuilt with a warning.
import json
import os
import struct
import subprocess
import sys
import textwrap

import clrt as trt
import numpy as np
import pytest
from helpers import ROOT, RecordingLogger, _load_script_module

fuzz = _load_script_module("fuzz_engine")


@pytest.fixture(scope="module")
def plan():
    return fuzz.build_small_engine()


@pytest.fixture(scope="module")
def fields(plan):
    return fuzz.parse_fields(plan)


@pytest.fixture(scope="module")
def batch():
    return np.random.default_rng(3).uniform(-1, 1, (3, 1, 6, 6)).astype(np.float32)


def load(data, rebuild=False):
    runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
    runtime.rebuild_programs = rebuild
    return runtime.deserialize_cuda_engine(data)


def run(engine, x):
    return engine.create_execution_context().infer({"x": x})["y"]


def field(fields, name, plan=None, content=None):
    """The field called `name` (whose bytes are `content`, when given)."""
    for f in fields:
        if f.name == name and (content is None or plan[f.offset : f.offset + f.size] == content):
            return f
    raise AssertionError(f"no field {name!r}" + (f" holding {content!r}" if content else ""))


def edited(plan, offset, new):
    data = bytearray(plan)
    data[offset : offset + len(new)] = new
    return fuzz.reseal(data)


def value_of(plan, f):
    fmt = {"u8": "<B", "u32": "<I", "i32": "<i", "u64": "<Q", "i64": "<q"}[f.kind]
    return struct.unpack_from(fmt, plan, f.offset)[0]


def refused(data, *needles):
    with pytest.raises(trt.EngineFormatError) as info:
        load(data)
    for needle in needles:
        assert needle in str(info.value), str(info.value)
    return str(info.value)


def test_checksum_mirror_and_reseal(plan):
    """The Python checksum (and its many-edits form) matches plan.cc's on an untouched file."""
    assert fuzz.reseal(plan) == plan
    body = plan[fuzz.HEADER :]
    assert fuzz.checksums_of_edits(body, [(0, body[:1]), (len(body) - 3, b"\x07")]) == [
        fuzz.checksum64(body),
        fuzz.checksum64(body[:-3] + b"\x07" + body[-2:]),
    ]


@pytest.fixture(scope="module")
def int8_plan():
    return fuzz.build_small_engine("int8")


@pytest.fixture(scope="module")
def refit_plan():
    return fuzz.build_small_engine("refit")


@pytest.mark.parametrize("precision", ["fp32", "int8", "refit"])
def test_systematic_edits_never_crash(precision, request):
    """Seeded edits of every field of the file (two each, one for INT8; numbers: neighbours, 0, all ones, a flipped
    bit, ...; bytes: a flipped bit), each resealed and loaded in worker subprocesses. Structural
    fields must be refused or behave as the original (outputs within 1e-5); value fields
    (weights, attr values, dynamic ranges) may also change the outputs; nothing crashes, hangs or
    fails with another error. The INT8 engine adds precision attrs, REFORMATs, INT8/HALF tensors;
    the refittable one the refit source network and ONNX model (checked at load, used by a refit)."""
    plan = request.getfixturevalue(
        {"fp32": "plan", "int8": "int8_plan"}.get(precision, "refit_plan")
    )
    fields = fuzz.parse_fields(plan)
    trials = fuzz.systematic_trials(plan, seed=11, per_field=2 if precision == "fp32" else 1)
    results = fuzz.run_trials(plan, trials, workers=1, timeout=120)
    counts = {}
    bad = []
    for (f, off, new), (category, detail) in zip(trials, results):
        counts[category] = counts.get(category, 0) + 1
        if not fuzz.verdict(f, category):
            bad.append(f"{category}: {f.name} at {off} <- {new.hex()}: {detail}")
    print(f"{len(trials)} edits of {len(fields)} fields: {counts}")
    assert not bad, f"{len(bad)} of {len(trials)} edits failed:\n" + "\n".join(bad[:30])
    assert counts.get("refused", 0) > len(trials) // 3 and counts.get("same", 0) > 0, counts


def test_engine_from_another_clrt_version_refused_naming_both(plan, fields):
    f = field(fields, "clrt version", plan, trt.__version__.encode())
    other = b"9" * f.size  # same length: every other field stays where it is
    text = refused(edited(plan, f.offset, other), f"this is clrt {trt.__version__}")
    assert f"engine file from clrt {other.decode()}" in text, text


def test_output_flag_without_output_list_entry(plan, fields):
    flags = [f for f in fields if f.name.endswith("output flag") and value_of(plan, f) == 0]
    assert flags
    refused(edited(plan, flags[0].offset, b"\x01"), "output flag", "network output list")


def test_network_input_list_naming_the_output(plan, fields):
    """The input list rewired to the output tensor: a tensor both input and output, flagged
    inconsistently."""
    out_id = struct.pack("<i", value_of(plan, field(fields, "network output")))
    refused(edited(plan, field(fields, "network input").offset, out_id), "input flag")


def test_layer_output_dtype_edit(plan, fields):
    dtypes = [f for f in fields if f.name.endswith(" dtype") and f.name.startswith("tensor")]
    floats = [f for f in dtypes if value_of(plan, f) == 0]
    refused(edited(plan, floats[-1].offset, struct.pack("<i", 8)), "dtype")


def test_layer_output_rewired(plan, fields):
    outs = [f for f in fields if f.name.startswith("layer") and f.name.endswith(" output")]
    first, last = outs[0], outs[-1]
    refused(edited(plan, first.offset, plan[last.offset : last.offset + 4]), "malformed")


def test_renamed_weight_refused_naming_it(plan, fields):
    f = next(
        g
        for g in fields
        if " weight " in g.name
        and g.name.endswith(" name")
        and plan[g.offset : g.offset + g.size] == b"kernel"
    )
    refused(edited(plan, f.offset, b"kernek"), "weight 'kernek'", "no such weight")


def test_renamed_attribute_refused_naming_it(plan, fields):
    f = next(
        g
        for g in fields
        if g.kind == "bytes"
        and " attr " in g.name
        and plan[g.offset : g.offset + g.size] == b"pads"
    )
    refused(edited(plan, f.offset, b"padz"), "attr 'padz'", "no such attribute")


def test_host_placement_flag_flipped(plan, fields):
    flags = [f for f in fields if f.name.startswith("host placement ") and "count" not in f.name]
    host = next(f for f in flags if value_of(plan, f) == 1)
    refused(edited(plan, host.offset, b"\x00"), "host placement flag")


def test_tensor_marked_channels_last_refused(plan, fields):
    """A tensor's format byte set to HWC (1) where no tactic around it stores it so: the file is
    refused (a kernel would read NCHW bytes as NHWC), and an unknown format is too."""
    formats = [f for f in fields if f.name.endswith(" format") and f.name.startswith("tensor ")]
    # LINEAR (0) everywhere on PoCL; on GPUs the builder stores some tensors HWC (1).
    linear = [f for f in formats if value_of(plan, f) == 0]
    assert linear and all(value_of(plan, f) in (0, 1) for f in formats)
    refused(edited(plan, linear[-1].offset, b"\x01"), "is an HWC tensor, the attrs say")
    refused(edited(plan, formats[0].offset, b"\x07"), "unknown tensor format 7")


def test_profile_naming_no_input(plan, fields):
    f = field(fields, "profile 0 input 0 name")
    refused(edited(plan, f.offset, b"z"), "profile 0 input 'z'", "not a network input")


def test_unknown_tactic(plan, fields):
    f = next(g for g in fields if g.name.startswith("tactic ") and g.kind == "bytes")
    refused(edited(plan, f.offset, b"#"), "tactic", "not a tactic of this clrt")


LOAD_DAMAGED = textwrap.dedent("""
    import sys
    import clrt as trt
    data = open(sys.argv[1], "rb").read()
    runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
    try:
        runtime.deserialize_cuda_engine(data)
        print("LOADED")
    except trt.EngineFormatError as e:
        print("REFUSED", e)
""")


def damaged_binary(plan, fields):
    """The plan with one byte of its first program binary flipped, resealed; and its key."""
    key_field = field(fields, "program binary 0 key")
    key = plan[key_field.offset : key_field.offset + key_field.size].decode()
    binary = field(fields, "program binary 0")
    return edited(plan, binary.offset + binary.size // 2, bytes([0xA5])), key


def test_corrupted_program_binary_refused_naming_it(plan, fields, tmp_path):
    """In a fresh process: the driver must never see the damaged binary (PoCL's loader crashes
    on some), so the load is refused before, naming the program."""
    data, key = damaged_binary(plan, fields)
    path = tmp_path / "damaged.engine"
    path.write_bytes(data)
    out = subprocess.run(
        [sys.executable, "-c", LOAD_DAMAGED, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("REFUSED"), out.stdout
    shown = key if len(key) <= 64 else key[:64] + "..."  # names from a file print bounded
    assert f"program binary '{shown}'" in out.stdout and "checksum" in out.stdout, out.stdout
    assert "rebuild_programs" in out.stdout


def test_rebuild_programs_identical_and_loads_damaged_binaries(plan, fields, batch):
    reference = run(load(plan), batch)
    rebuilt = load(plan, rebuild=True)
    np.testing.assert_array_equal(run(rebuilt, batch), reference)
    damaged, _ = damaged_binary(plan, fields)
    np.testing.assert_array_equal(run(load(damaged, rebuild=True), batch), reference)
    # The rebuilt engine stores its fresh binaries: its file loads the ordinary way.
    again = load(bytes(rebuilt.serialize()))
    np.testing.assert_array_equal(run(again, batch), reference)


def test_runtime_rebuild_programs_default_off():
    runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
    assert runtime.rebuild_programs is False
    runtime.rebuild_programs = True
    assert runtime.rebuild_programs is True


CACHE_BUILD = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {tests!r})
    import numpy as np
    import clrt as trt
    from helpers import RecordingLogger, make_model
    from onnx import helper as oh
    logger = RecordingLogger()
    model = make_model([oh.make_node("Relu", ["x"], ["r"]), oh.make_node("Softmax", ["r"], ["y"])],
                       [("x", (2, 5))], ["y"])
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    assert parser.parse(model.SerializeToString())
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
    x = np.linspace(-2, 2, 10, dtype=np.float32).reshape(2, 5)
    y = engine.create_execution_context().infer({{"x": x}})["y"]
    e = np.exp(np.maximum(x, 0))
    np.testing.assert_allclose(y, e / e.sum(1, keepdims=True), rtol=1e-5)
    print("WARNINGS", json.dumps(logger.warnings()))
    print("COMPILES", trt.compile_count())
""")


def test_damaged_kernel_cache_entries_rebuilt_with_warning(tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "CLRT_CACHE_DIR": str(cache)}
    env.pop("CLRT_DISABLE_DISK_CACHE", None)
    script = CACHE_BUILD.format(tests=str(ROOT / "tests"))

    def build():
        out = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            check=False,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        lines = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines())
        return json.loads(lines["WARNINGS"]), int(lines["COMPILES"])

    warnings, _ = build()
    assert "kernel cache" not in warnings, warnings
    entries = sorted(cache.iterdir())
    assert len(entries) >= 2, entries
    truncated, flipped = entries[0], entries[1]
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x10
    flipped.write_bytes(bytes(data))

    warnings, compiles = build()
    for entry, why in ((truncated, "truncated"), (flipped, "checksum mismatch")):
        assert f"kernel cache entry '{entry}'" in warnings and why in warnings, warnings
    assert compiles == 2, compiles  # exactly the two damaged programs were built again
    for entry in (truncated, flipped):  # and written back whole
        data = entry.read_bytes()
        magic, n, sum64 = struct.unpack_from("<8sQQ", data)
        assert magic == b"CLRTKC1\0" and n == len(data) - 24, (entry, magic, n, len(data))
        assert fuzz.checksum64(data[24:]) == sum64, entry


def test_size_overflow_is_refused_with_the_numbers():
    """A constant whose shape's element count overflows int64 once wrapped to 0 elements and
    matched empty weights, then failed at serialization; the network API now refuses it, naming
    the shape."""
    builder = trt.Builder(RecordingLogger())
    network = builder.create_network(0)
    with pytest.raises(ValueError, match=r"shape \(2147483648, 2147483648, 2147483648\) has more"):
        network.add_constant((1 << 31, 1 << 31, 1 << 31), np.zeros(0, np.float32))
    with pytest.raises(ValueError, match=r"shape \(2147483648, 2147483648\) needs 4611686018"):
        network.add_constant((1 << 31, 1 << 31), np.zeros(0, np.float32))


def test_build_log_env_prints_each_program_built(tmp_path):
    """CLRT_BUILD_LOG=1 builds every program from source, the disk cache notwithstanding, and
    prints each one's options and build log to stderr (on NVIDIA, ptxas' per-kernel report)."""
    cache = tmp_path / "cache"
    env = {**os.environ, "CLRT_CACHE_DIR": str(cache)}
    env.pop("CLRT_DISABLE_DISK_CACHE", None)
    script = CACHE_BUILD.format(tests=str(ROOT / "tests"))

    def build(log):
        env["CLRT_BUILD_LOG"] = "1" if log else "0"
        out = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            check=False,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        compiles = int(dict(line.split(" ", 1) for line in out.stdout.splitlines())["COMPILES"])
        return out.stderr, compiles

    quiet, first = build(False)
    assert "clrt: built" not in quiet and first >= 1
    _, cached = build(False)
    assert cached == 0  # the disk cache answers every program
    loud, compiles = build(True)
    assert compiles == first, (compiles, first)  # built from source again
    assert loud.count("clrt: built ") == compiles, loud[-2000:]
    assert "-cl-std=CL1.2" not in loud and ".cl [" in loud, loud[-2000:]
