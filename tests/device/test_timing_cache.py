# The timing cache (TensorRT's ITimingCache): identical layers timed once per build, timings
# reused across builds and processes through serialize()/create_timing_cache(), refusals of
# damaged caches and of caches from another device, ERROR_ON_TIMING_CACHE_MISS.
import json
import re

import clrt as trt
import numpy as np
import pytest
from helpers import (
    RecordingLogger,
    checksum64,
    fresh_process,
    make_config,
    make_model,
    parse_network,
    rand,
)
from onnx import helper

N = helper.make_node


def twin_convs():
    """Two convolutions of identical shape and attributes (different weights), then a third
    that differs: the first two share one layer signature."""
    nodes = [
        N("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1], name="c1"),
        N("Relu", ["a"], ["ra"]),
        N("Conv", ["ra", "w2"], ["b"], pads=[1, 1, 1, 1], name="c2"),
        N("Relu", ["b"], ["rb"]),
        N("Conv", ["rb", "w3"], ["y"], name="c3"),
    ]
    inits = {
        "w1": rand((8, 8, 3, 3), seed=1),
        "w2": rand((8, 8, 3, 3), seed=2),
        "w3": rand((4, 8, 1, 1), seed=3),
    }
    return make_model(nodes, [("x", (1, 8, 12, 12))], [("y", (1, 4, 12, 12))], inits)


MODEL = twin_convs()


def build(cache=None, flags=(), logger=None):
    """(plan bytes, timing lines, cached lines) of one timed build."""
    logger = logger or RecordingLogger()
    builder, network, _ = parse_network(MODEL, logger=logger)
    config = make_config(builder, opt_level=3)
    for f in flags:
        config.set_flag(f)
    if cache is not None:
        assert config.set_timing_cache(cache, False)
    plan = builder.build_serialized_network(network, config)
    lines = [m for _, m in logger.lines if "): tactic " in m]
    cached = [m for m in lines if m.endswith("(timing cache)")]
    return bytes(plan), [m for m in lines if m not in cached], cached


def layer_of(line):
    return line.split("'")[1]


def test_identical_layers_are_timed_once_per_build():
    _, timed, cached = build()
    # c2 has c1's signature: every tactic of it comes from the build's own cache.
    assert timed and not any(layer_of(m).startswith("c2") for m in timed), timed
    assert any(layer_of(m).startswith("c2") for m in cached), cached
    assert any(layer_of(m).startswith("c3") for m in timed), timed


def test_cache_is_reused_across_builds_and_processes(tmp_path):
    builder, _, _ = parse_network(MODEL)
    config = make_config(builder)
    cache = config.create_timing_cache(b"")
    assert cache.num_entries == 0 and "clrt" in cache.device
    plan1, timed1, _ = build(cache)
    assert timed1 and cache.num_entries >= len(timed1)
    data = bytes(cache.serialize())
    (tmp_path / "t.cache").write_bytes(data)
    again = make_config(builder).create_timing_cache((tmp_path / "t.cache").read_bytes())
    assert again.num_entries == cache.num_entries and bytes(again.serialize()) == data
    plan2, timed2, cached2 = build(again, flags=[trt.BuilderFlag.ERROR_ON_TIMING_CACHE_MISS])
    assert not timed2 and cached2, timed2
    # Same timings -> same tactic per layer, so the same engine.
    engines = [trt.Runtime(trt.Logger()).deserialize_cuda_engine(p) for p in (plan1, plan2)]
    x = rand((1, 8, 12, 12), seed=4)
    outs = [e.create_execution_context().infer({"x": x})["y"] for e in engines]
    np.testing.assert_array_equal(outs[0], outs[1])


def test_disable_flag_ignores_the_cache():
    builder, _, _ = parse_network(MODEL)
    cache = make_config(builder).create_timing_cache(b"")
    _, timed, _ = build(cache, flags=[trt.BuilderFlag.DISABLE_TIMING_CACHE])
    assert timed and cache.num_entries == 0


def test_error_on_miss_names_the_layer():
    builder, _, _ = parse_network(MODEL)
    cache = make_config(builder).create_timing_cache(b"")
    with pytest.raises(trt.BuildError, match="layer 'c1.*not in the timing cache"):
        build(cache, flags=[trt.BuilderFlag.ERROR_ON_TIMING_CACHE_MISS])


def test_combine_reset_and_damaged_bytes():
    builder, _, _ = parse_network(MODEL)
    config = make_config(builder)
    full = config.create_timing_cache(b"")
    build(full)
    empty = config.create_timing_cache(b"")
    assert empty.combine(full, False) and empty.num_entries == full.num_entries
    assert empty.reset() and empty.num_entries == 0
    data = bytearray(full.serialize())
    with pytest.raises(ValueError, match="not a clrt timing cache"):
        config.create_timing_cache(b"garbage")
    data[-3] ^= 0x40
    with pytest.raises(ValueError, match="checksum mismatch"):
        config.create_timing_cache(bytes(data))


def test_cache_from_another_device_is_refused_unless_ignored():
    builder, _, _ = parse_network(MODEL)
    config = make_config(builder)
    data = bytes(config.create_timing_cache(b"").serialize())
    # Rewrite the device string and reseal the checksum as a file from elsewhere would be.
    other = _with_device(data, "another device|clrt 0.0")
    cache = config.create_timing_cache(other)
    assert cache.device == "another device|clrt 0.0"
    assert config.set_timing_cache(cache, False) is False and config.get_timing_cache() is None
    assert config.set_timing_cache(cache, True) and config.get_timing_cache() is not None
    assert not config.create_timing_cache(b"").combine(cache, False)


def _programs_stripped(data):
    """The cache in format version 1 (no program binaries), resealed."""
    import struct

    pos = 20
    n = struct.unpack_from("<Q", data, pos)[0]
    pos += 8 + n
    sigs = struct.unpack_from("<Q", data, pos)[0]
    pos += 8
    for _ in range(sigs):
        n = struct.unpack_from("<Q", data, pos)[0]
        pos += 8 + n
        m = struct.unpack_from("<Q", data, pos)[0]
        pos += 8
        for _ in range(m):
            n = struct.unpack_from("<Q", data, pos)[0]
            pos += 8 + n + 8
    body = data[20:pos]
    return data[:8] + struct.pack("<I", 1) + struct.pack("<Q", checksum64(body)) + body


def test_cache_carries_the_programs_of_its_builds():
    """A build adds its engine's program binaries to the cache; they serialize with it, combine
    only between caches of one device, go with reset(); a version-1 cache (timings only) still
    reads."""
    builder, network, _ = parse_network(MODEL)
    config = make_config(builder)
    full = config.create_timing_cache(b"")
    assert full.num_programs == 0
    build(full)
    assert full.num_programs > 0
    again = config.create_timing_cache(bytes(full.serialize()))
    assert again.num_programs == full.num_programs and again.num_entries == full.num_entries
    merged = config.create_timing_cache(b"")
    assert merged.combine(full, False) and merged.num_programs == full.num_programs
    old = config.create_timing_cache(_programs_stripped(bytes(full.serialize())))
    assert old.num_entries == full.num_entries and old.num_programs == 0
    # Another device's binaries are not merged, and a build that ignores the mismatch adds
    # nothing of this device's to its cache.
    other = config.create_timing_cache(_with_device(bytes(full.serialize()), "elsewhere|clrt 0"))
    assert other.num_programs == full.num_programs
    mixed = config.create_timing_cache(b"")
    assert mixed.combine(other, True) and mixed.num_programs == 0
    assert config.set_timing_cache(other, True)
    assert builder.build_serialized_network(network, config)
    assert other.num_programs == full.num_programs
    assert full.reset() and full.num_programs == 0


_BUILD_FROM_CACHE = """
import sys
import clrt as trt

model, blob, ignore_mismatch, plan = sys.argv[1:5]
logger = trt.Logger(trt.Logger.ERROR)
builder = trt.Builder(logger)
network = builder.create_network(0)
assert trt.OnnxParser(network, logger).parse(open(model, "rb").read())
config = builder.create_builder_config()
config.builder_optimization_level = 3
cache = config.create_timing_cache(open(blob, "rb").read())
assert config.set_timing_cache(cache, ignore_mismatch == "ignore")
engine = builder.build_serialized_network(network, config)
if plan != "-":
    open(plan, "wb").write(engine)
print(trt.compile_count())
"""


def test_another_devices_programs_are_not_loaded(tmp_path):
    """A cache from another device set with ignore_mismatch lends its timings, not its
    programs: in a fresh process with an empty kernel cache the build compiles them (with this
    device's own cache it compiles none: test_a_warm_cache_builds_only_the_winning_tactics)."""
    builder, _, _ = parse_network(MODEL)
    cache = make_config(builder).create_timing_cache(b"")
    build(cache)
    assert cache.num_programs > 0
    (tmp_path / "m.onnx").write_bytes(MODEL.SerializeToString())
    (tmp_path / "t.cache").write_bytes(_with_device(bytes(cache.serialize()), "elsewhere|clrt 0"))
    compiled = fresh_process(
        tmp_path, _BUILD_FROM_CACHE, tmp_path / "m.onnx", tmp_path / "t.cache", "ignore", "-"
    )
    assert int(compiled) > 0, compiled


def _with_device(data, device):
    import struct

    n = struct.unpack_from("<Q", data, 20)[0]
    body = struct.pack("<Q", len(device)) + device.encode() + data[28 + n :]
    return data[:12] + struct.pack("<Q", checksum64(body)) + body


def test_timed_precision_choice_counts_the_reformats_it_needs():
    """A timed FP16 build chooses the precisions that minimise the network's estimate: each
    layer's measured time in its precision plus every reformat the choice implies (a fixed cost
    plus a cost per byte, measured on this device), network input and output included. The
    estimate is rebuilt here from what the build logs (each layer's times, the reformat cost)
    and the engine's precisions are checked to be where no single layer's change lowers it by
    more than the builder's noise margin (2% of the layer's time), at the estimate the builder
    reports."""
    nodes = [
        N("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1], name="c1"),
        N("Relu", ["a"], ["ra"]),
        N("MaxPool", ["ra"], ["p"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="pool"),
        N("Conv", ["p", "w2"], ["y"], name="c2"),
    ]
    inits = {"w1": rand((16, 8, 3, 3), seed=4), "w2": rand((8, 16, 1, 1), seed=5)}
    model = make_model(nodes, [("x", (2, 8, 32, 32))], [("y", (2, 8, 32, 32))], inits)
    logger = RecordingLogger()
    builder, network, _ = parse_network(model, logger=logger)
    config = make_config(builder, opt_level=3)
    config.set_flag(trt.BuilderFlag.FP16)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    plan = builder.build_serialized_network(network, config)
    engine = trt.Runtime(trt.Logger(trt.Logger.ERROR)).deserialize_cuda_engine(plan)
    info = json.loads(
        engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    )
    chosen = {}
    for layer in info["Layers"]:
        for name in ("c1", "pool", "c2"):
            if layer["Name"].startswith(name):
                chosen[name] = layer["Precision"]
    lines = [m for _, m in logger.lines]
    cost_line = [m for m in lines if m.startswith("a REFORMAT costs")]
    assert len(cost_line) == 1, cost_line
    fixed_ms = float(cost_line[0].split("costs ")[1].split(" ms")[0])
    ms_per_byte = float(cost_line[0].split(" ms + ")[1].split(" ms")[0]) / 1e6
    times = {}
    for m in lines:
        if m.startswith("precision estimate: layer '"):
            name = m.split("'")[1]
            pairs = m.split("' takes ")[1].split(" ms, starting")[0].split(", ")
            times[name] = {p.split()[0]: float(p.split()[1]) for p in pairs}
    assert set(times) == {"c1", "pool", "c2"} and all(
        set(t) == {"FLOAT", "HALF"} for t in times.values()
    ), times
    size = {"FLOAT": 4, "HALF": 2}
    elems = {
        "x": 2 * 8 * 32 * 32,
        "a": 2 * 16 * 32 * 32,
        "p": 2 * 16 * 32 * 32,
        "y": 2 * 8 * 32 * 32,
    }

    def reformat(n, src, dst):
        return 0.0 if src == dst else fixed_ms + ms_per_byte * n * (size[src] + size[dst])

    def estimate(c):
        return (
            sum(times[k][c[k]] for k in times)
            + reformat(elems["x"], "FLOAT", c["c1"])
            + reformat(elems["a"], c["c1"], c["pool"])
            + reformat(elems["p"], c["pool"], c["c2"])
            + reformat(elems["y"], c["c2"], "FLOAT")
        )

    best = estimate(chosen)
    for name, options in times.items():
        for p in options:
            # The builder's noise margin: a move must save 2% of the moved layers' time.
            margin = 0.02 * options[chosen[name]] + 1e-4 * best
            assert estimate({**chosen, name: p}) >= best - margin, (name, p, chosen, times)
    reported = [m for m in lines if m.startswith("precision refinement moved")]
    assert len(reported) == 1, reported
    final = float(reported[0].split(" ms of layer time")[0].split()[-1])
    assert abs(final - best) <= 1e-4 * best, (reported, best, chosen)


def test_a_warm_cache_keeps_the_reformat_cost_its_build_measured():
    """The reformat cost the precision choice weighs against the layers' times is kept in the
    timing cache: a build from a warm cache reads it there instead of measuring it again (whose
    noise could change a precision, and with it the engine), and makes the engine's precisions
    and tactics as the first build did."""
    builder, _, _ = parse_network(MODEL)
    cache = make_config(builder).create_timing_cache(b"")
    runs = []
    for _ in range(2):
        logger = RecordingLogger()
        builder, network, _ = parse_network(MODEL, logger=logger)
        config = make_config(builder, opt_level=3)
        config.set_flag(trt.BuilderFlag.FP16)
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
        assert config.set_timing_cache(cache, False)
        plan = builder.build_serialized_network(network, config)
        costs = [m for _, m in logger.lines if m.startswith("a REFORMAT costs")]
        engine = trt.Runtime(trt.Logger(trt.Logger.ERROR)).deserialize_cuda_engine(plan)
        layers = json.loads(
            engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
        )["Layers"]
        runs.append((costs, [(x["Name"], x.get("Precision"), x.get("TacticName")) for x in layers]))
    (first, layers1), (second, layers2) = runs
    assert len(first) == 1 and not first[0].endswith("(timing cache)"), first
    assert len(second) == 1 and second[0].endswith("(timing cache)"), second
    # The same figures, as the first build measured them.
    assert first[0].split(" on this device")[0] == second[0].split(" on this device")[0]
    assert layers1 == layers2


_WARM_THEN_COLD = """
import sys
import clrt as trt

model, blob = (open(p, "rb").read() for p in sys.argv[1:3])
logger = trt.Logger(trt.Logger.ERROR)


def build(cache):
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    assert trt.OnnxParser(network, logger).parse(model)
    config = builder.create_builder_config()
    config.builder_optimization_level = 3
    if sys.argv[3] == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    if cache is None:
        config.set_flag(trt.BuilderFlag.DISABLE_TIMING_CACHE)
    else:
        config.set_timing_cache(config.create_timing_cache(cache), False)
        config.set_flag(trt.BuilderFlag.ERROR_ON_TIMING_CACHE_MISS)
    assert builder.build_serialized_network(network, config)
    return trt.compile_count()


warm = build(blob)
print(warm, build(None) - warm)
"""


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_a_warm_cache_builds_only_the_winning_tactics(tmp_path, precision):
    """With every candidate's time in the cache, only each layer's fastest tactic is
    instantiated, from the programs the cache carries: in a fresh process with an empty kernel
    cache the warm build compiles nothing, and a cold build afterwards still finds the losers'
    programs to compile. FP16: the cache also holds the programs of the FP32 reference the FP16
    check runs, and of each layer's fastest tactic in the precision it did not get."""
    builder, _, _ = parse_network(MODEL)
    cache = make_config(builder).create_timing_cache(b"")
    build(cache, flags=[trt.BuilderFlag.FP16] if precision == "fp16" else [])
    (tmp_path / "m.onnx").write_bytes(MODEL.SerializeToString())
    (tmp_path / "t.cache").write_bytes(bytes(cache.serialize()))
    out = fresh_process(
        tmp_path, _WARM_THEN_COLD, tmp_path / "m.onnx", tmp_path / "t.cache", precision
    )
    warm, losers = (int(v) for v in out.split())
    assert warm == 0 and losers > 0, out


def test_build_reports_where_its_time_went():
    """One INFO line per build: its phases' times, then how many tactic timings were taken and
    how many the timing cache answered; with a warm cache nothing is timed, and the counts agree
    with the per-tactic VERBOSE lines."""

    def report(cache):
        logger = RecordingLogger()
        _, timed, cached = build(cache, logger=logger)
        lines = [m for s, m in logger.lines if m.startswith("build time ")]
        assert len(lines) == 1 and int(next(s for s, m in logger.lines if m == lines[0])) == int(
            trt.Logger.INFO
        ), lines
        nums = re.search(r"tactics: (\d+) timed \(.*\) and (\d+) from the timing cache", lines[0])
        assert nums, lines[0]
        for phase in ("graph passes", "calibration", "precisions and tactics", "assembly"):
            assert phase in lines[0], lines[0]
        return int(nums[1]), int(nums[2]), len(timed), len(cached)

    builder, _, _ = parse_network(MODEL)
    cache = make_config(builder).create_timing_cache(b"")
    n_timed, n_cached, verbose_timed, verbose_cached = report(cache)
    assert n_timed == verbose_timed > 0 and n_cached == verbose_cached > 0
    n_timed, n_cached, verbose_timed, verbose_cached = report(cache)
    assert n_timed == verbose_timed == 0 and n_cached == verbose_cached > 0


_COUNT_COMPILES = """
import sys
import clrt as trt


class Log(trt.ILogger):
    def __init__(self):
        trt.ILogger.__init__(self)
        self.lines = []

    def log(self, severity, msg):
        self.lines.append(msg)


log = Log()
builder = trt.Builder(log)
network = builder.create_network(0)
assert trt.OnnxParser(network, log).parse(open(sys.argv[1], "rb").read())
config = builder.create_builder_config()
config.builder_optimization_level = 3
assert builder.build_serialized_network(network, config)
for m in log.lines:
    if m.startswith("build time ") or m.startswith("built OpenCL program "):
        print(m)
"""


def test_each_compiled_program_is_named_with_its_time(tmp_path):
    """A VERBOSE line per OpenCL program compiled from source (file, options, milliseconds, and
    whether a worker process compiled it), as many as the build's INFO line counts: what tells
    which programs a cold build waits for."""
    (tmp_path / "m.onnx").write_bytes(MODEL.SerializeToString())
    lines = fresh_process(tmp_path, _COUNT_COMPILES, tmp_path / "m.onnx").splitlines()
    report = [m for m in lines if m.startswith("build time ")]
    assert len(report) == 1, lines
    compiled = int(re.search(r"OpenCL programs: (\d+) compiled", report[0])[1])
    built = [m for m in lines if m.startswith("built OpenCL program ")]
    assert compiled > 0 and len(built) == compiled, lines
    for m in built:
        assert re.fullmatch(
            r"built OpenCL program \w+\.cl \[.*\] in \d+ ms( \(in a compile worker process\))?", m
        ), m


_LOAD_AND_RUN = """
import sys
import numpy as np
import clrt as trt

engine = trt.Runtime(trt.Logger()).deserialize_cuda_engine(open(sys.argv[1], "rb").read())
engine.create_execution_context().infer({"x": np.ones((1, 8, 12, 12), np.float32)})
print(trt.compile_count())
"""


def test_an_engine_built_from_cached_programs_carries_them(tmp_path):
    """An engine built from a warm cache (its programs loaded from the cache, none compiled)
    still holds every program's binary: loaded in a third fresh process it compiles nothing."""
    builder, _, _ = parse_network(MODEL)
    cache = make_config(builder).create_timing_cache(b"")
    build(cache)
    (tmp_path / "m.onnx").write_bytes(MODEL.SerializeToString())
    (tmp_path / "t.cache").write_bytes(bytes(cache.serialize()))
    plan = tmp_path / "e.plan"
    args = (tmp_path / "m.onnx", tmp_path / "t.cache", "check", plan)
    assert int(fresh_process(tmp_path, _BUILD_FROM_CACHE, *args, kernels="k1")) == 0
    assert int(fresh_process(tmp_path, _LOAD_AND_RUN, plan, kernels="k2")) == 0
