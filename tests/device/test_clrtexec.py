# clrtexec: flag parsing, usage errors and exit codes, and build -> save -> load -> run cycles on
# models/fmnist_cnn.onnx (small shapes, few queries, builder level 0 to stay fast on the CPU).
import json
import os
import re
import struct
import subprocess
import sys

import clrt as trt
import numpy as np
import pytest
from clrt._exec_options import UsageError, parse_args
from clrt.clrtexec import main
from helpers import MODELS, assert_close, ort_run, parse_network

MODEL = str(MODELS / "fmnist_cnn.onnx")
FAST = ["--warmUp=0", "--duration=0", "--iterations=3", "--builderOptimizationLevel=0"]
RUN = ["--warmUp=0", "--duration=0"]


def run(capsys, *argv):
    """(exit status, stdout, stderr) of an in-process clrtexec run."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def mean_of(out, metric):
    m = re.search(
        rf"^\[I\] {metric}: min = \S+ ms, max = \S+ ms, mean = (\S+) ms", out, re.MULTILINE
    )
    assert m, f"no '{metric}' line in:\n{out}"
    return float(m.group(1))


@pytest.fixture(scope="module")
def engine_file(tmp_path_factory):
    """fmnist_cnn built for batch 1..8 (opt 2) and saved: the build -> save half of the cycle."""
    path = tmp_path_factory.mktemp("clrtexec") / "m.engine"
    shapes = ["--minShapes=input:1x1x28x28", "--optShapes=input:2x1x28x28"]
    code = main(
        [f"--onnx={MODEL}", f"--saveEngine={path}", *shapes, "--maxShapes=input:8x1x28x28", *FAST]
    )
    assert code == 0 and path.stat().st_size > 0
    return str(path)


# ---- flag parsing ----


def test_missing_files_exit_1(capsys, engine_file, tmp_path):
    code, _, err = run(capsys, f"--onnx={tmp_path / 'nope.onnx'}")
    assert code == 1 and "--onnx: file not found" in err
    code, _, err = run(capsys, f"--loadEngine={tmp_path / 'nope.engine'}")
    assert code == 1 and "--loadEngine: file not found" in err
    code, _, err = run(capsys, f"--onnx={MODEL}", "--int8", f"--calib={tmp_path / 'no.cache'}")
    assert code == 1 and "--calib: cache file not found" in err
    code, _, err = run(capsys, f"--loadEngine={engine_file}", "--loadInputs=input:nope.npy", *RUN)
    assert code == 1 and "file not found for input 'input'" in err


def test_bad_engine_and_bad_shapes_exit_1(capsys, engine_file, tmp_path):
    bad = tmp_path / "bad.engine"
    bad.write_bytes(b"not an engine at all")
    code, _, err = run(capsys, f"--loadEngine={bad}")
    assert code == 1 and "engine load failed" in err
    code, _, err = run(capsys, f"--loadEngine={engine_file}", "--shapes=input:9x1x28x28", *RUN)
    assert code == 1 and "'input'" in err
    code, _, err = run(capsys, f"--loadEngine={engine_file}", "--shapes=image:2x1x28x28", *RUN)
    assert code == 1 and "'image' is not an input" in err


def test_unknown_layer_name_is_a_usage_error(capsys):
    code, _, err = run(
        capsys,
        f"--onnx={MODEL}",
        "--layerPrecisions=/fc/Gemmm:fp16",
        "--precisionConstraints=prefer",
        *FAST,
    )
    assert code == 2 and "no layer named '/fc/Gemmm'; close names: /fc/Gemm" in err


def test_exit_codes_from_a_subprocess(tmp_path):
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "clrt.clrtexec"]
    r = subprocess.run(
        [*cmd, f"--onnx={MODEL}", "--noSuchFlag"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 2 and "--noSuchFlag" in r.stderr
    r = subprocess.run(
        [*cmd, f"--onnx={tmp_path / 'x.onnx'}"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 1 and "file not found" in r.stderr and "&&&& FAILED" in r.stdout


# ---- build -> save -> load -> run ----


def test_load_run_summary_and_outputs_match_onnxruntime(capsys, engine_file, tmp_path):
    x = np.random.default_rng(1).uniform(0, 1, (3, 1, 28, 28)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out_json = tmp_path / "out.json"
    code, out, _ = run(
        capsys,
        f"--loadEngine={engine_file}",
        f"--loadInputs=input:{tmp_path / 'x.npy'}",
        f"--exportOutput={out_json}",
        "--iterations=4",
        "--avgRuns=2",
        "--percentile=50,99",
        *RUN,
    )
    assert code == 0, out
    for metric in ("Latency", "Enqueue Time", "H2D Latency", "GPU Compute Time", "D2H Latency"):
        line = re.search(rf"^\[I\] {metric}: (.*)$", out, re.MULTILINE).group(1)
        assert re.fullmatch(
            r"min = \S+ ms, max = \S+ ms, mean = \S+ ms, median = \S+ ms, "
            r"percentile\(50%\) = \S+ ms, percentile\(99%\) = \S+ ms",
            line,
        )
    assert re.search(r"^\[I\] Throughput: \S+ qps$", out, re.MULTILINE)
    assert re.search(r"^\[I\] Total Host Walltime: \S+ s$", out, re.MULTILINE)
    assert out.count("Average on 2 runs - GPU latency:") == 2 and "input=3x1x28x28" in out
    # Latency = H2D + compute + D2H per query, so the means add up too.
    parts = sum(mean_of(out, m) for m in ("H2D Latency", "GPU Compute Time", "D2H Latency"))
    assert mean_of(out, "Latency") == pytest.approx(parts, rel=1e-3)
    exported = json.loads(out_json.read_text())
    assert [(o["name"], o["dimensions"]) for o in exported] == [("logits", "3x10")]
    ref = ort_run(MODEL, {"input": x})["logits"]
    assert_close(np.array(exported[0]["values"], np.float32).reshape(3, 10), ref)
    # The same values as raw bytes: trtexec's --loadInputs format.
    x.tofile(tmp_path / "x.bin")
    code, out, _ = run(
        capsys,
        f"--loadEngine={engine_file}",
        "--shapes=input:3x1x28x28",
        f"--loadInputs=input:{tmp_path / 'x.bin'}",
        f"--exportOutput={out_json}",
        "--iterations=1",
        "--noDataTransfers",
        *RUN,
    )
    assert code == 0 and mean_of(out, "H2D Latency") == 0 and mean_of(out, "D2H Latency") == 0
    again = np.array(json.loads(out_json.read_text())[0]["values"], np.float32).reshape(3, 10)
    assert_close(again, ref)


def _profile_total(path):
    data = json.loads(path.read_text())
    assert set(data[0]) == {"count"} and data[0]["count"] > 0
    for layer in data[1:]:
        assert set(layer) == {"name", "timeMs", "averageMs", "medianMs", "percentage"}
    assert sum(layer["percentage"] for layer in data[1:]) == pytest.approx(100.0)
    return data, sum(layer["averageMs"] for layer in data[1:])


def test_export_profile_sums_to_gpu_compute_time(capsys, engine_file, tmp_path):
    # Per-layer times come from the profiled queries themselves (markers between layers), so
    # their sum cannot exceed those queries' GPU Compute Time (host timers around each query;
    # 5% for rounding) and, with every layer counted, is most of it: on an idle machine within
    # 10%, but the host work between layers (argument setup, the final synchronize) grows with
    # the host's load (6.1 against 8.2 ms while two compilers ran), so only half is required.
    prof = tmp_path / "prof.json"
    code, out, _ = run(
        capsys,
        f"--loadEngine={engine_file}",
        "--shapes=input:8x1x28x28",
        "--iterations=10",
        f"--exportProfile={prof}",
        "--dumpProfile",
        *RUN,
    )
    assert code == 0
    data, total = _profile_total(prof)
    assert data[0]["count"] == 10 and len(data) > 3
    compute = mean_of(out, "GPU Compute Time")
    assert 0.5 * compute <= total <= 1.05 * compute, (total, compute)
    assert "=== Profile (10 iterations ) ===" in out and "Precision   Tactic" in out
    # The by-tactic summary: every layer counted once, the averages adding up to the table's.
    summary = out[out.index("=== Profile by tactic ===") :].splitlines()[2:]
    rows = [r.split()[1:] for r in summary if re.match(r"^\[I\] \S+ +\S+ +\d+ +[\d.]+ +[\d.]+$", r)]
    assert sum(int(r[2]) for r in rows) == len(data) - 1, summary
    assert sum(float(r[3]) for r in rows) == pytest.approx(total, abs=1e-3 * len(rows))
    assert sum(float(r[4]) for r in rows) == pytest.approx(100.0, abs=0.1 * len(rows))
    # --separateProfileRun: the profile comes from its own queries, reported beside it.
    code, out, _ = run(
        capsys,
        f"--loadEngine={engine_file}",
        "--shapes=input:8x1x28x28",
        "--iterations=10",
        f"--exportProfile={prof}",
        "--separateProfileRun",
        *RUN,
    )
    assert code == 0
    _, total = _profile_total(prof)
    m = re.search(
        r"Profiled queries: GPU Compute Time mean = (\S+) ms; per-layer total (\S+) ms", out
    )
    assert float(m.group(2)) == pytest.approx(total, rel=1e-4)
    # The layers' times leave out the gaps between them, which grow on a loaded machine (8.07
    # against 7.14 ms once, with a build beside it on the 2 cores): the bounds above again.
    compute = float(m.group(1))
    assert 0.5 * compute <= total <= 1.05 * compute, (total, compute)


def test_layer_info(capsys, engine_file, tmp_path):
    info = tmp_path / "layers.json"
    code, out, _ = run(
        capsys,
        f"--loadEngine={engine_file}",
        "--dumpLayerInfo",
        f"--exportLayerInfo={info}",
        "--iterations=1",
        *RUN,
    )
    assert code == 0
    layers = json.loads(info.read_text())["Layers"]
    assert layers and all(isinstance(layer, dict) for layer in layers)
    for layer in layers:
        assert f"  {layer['Name']} [{layer['LayerType']}]" in out
    assert "Layer precisions:" in out


# ---- precisions, INT8 ----


def test_timing_cache_file_is_written_and_reused(capsys, tmp_path):
    cache = tmp_path / "t.cache"
    timed = [f"--onnx={MODEL}", f"--timingCacheFile={cache}", *RUN, "--iterations=3"]
    code, out, err = run(capsys, *timed)
    assert code == 0 and cache.stat().st_size > 0, out + err
    assert "Saved timing cache" in out + err and "Loaded timing cache" not in out + err
    first = cache.read_bytes()
    code, out, err = run(capsys, *timed)
    assert code == 0 and f"Loaded timing cache from {cache}" in out + err, out + err
    assert cache.read_bytes() == first  # every timing came from the file: nothing new to add
    cache.write_bytes(b"not a timing cache")
    code, out, err = run(capsys, *timed)
    assert code == 0 and "--timingCacheFile:" in err and "starting a new cache" in err, err


def test_int8_without_calibration_warns_loudly(capsys):
    code, out, err = run(capsys, f"--onnx={MODEL}", "--int8", *FAST)
    assert "INT8 ranges are PLACEHOLDERS" in err and "TIMING ONLY" in err
    assert code == 0, out + err


def _write_cache(path, network, amax=6.0):
    """A TensorRT-format cache giving every float tensor the range +-amax."""
    lines = ["TRT-100300-EntropyCalibration2"]
    names = [network.get_input(0).name]
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        names += [layer.get_output(j).name for j in range(layer.num_outputs)]
    for n in names:
        lines.append(f"{n}: {struct.pack('>f', amax / 127).hex()}")
    path.write_text("\n".join(lines) + "\n")


def test_seed_command_mixed_precision(capsys, tmp_path):
    # The command: FP16 + INT8 from a cache, per-layer precisions obeyed.
    cache = tmp_path / "m.cache"
    _write_cache(cache, parse_network(MODEL)[1])
    engine = tmp_path / "mixed.engine"
    code, out, err = run(
        capsys,
        f"--onnx={MODEL}",
        "--fp16",
        "--int8",
        f"--calib={cache}",
        "--layerPrecisions=/features/features.3/Conv:int8,/fc/Gemm:fp16",
        "--layerOutputTypes=/fc/Gemm:fp32",
        "--precisionConstraints=obey",
        f"--saveEngine={engine}",
        "--profilingVerbosity=detailed",
        f"--exportLayerInfo={tmp_path / 'layers.json'}",
        *FAST,
    )
    assert code == 0, out + err
    assert "PLACEHOLDERS" not in err and "Set the precision of 2 layer(s)" in out
    assert "Precision: FP32+FP16+INT8 (obey precision constraints)" in out
    # The engine inspector shows the constraints obeyed.
    layers = json.loads((tmp_path / "layers.json").read_text())["Layers"]
    by_name = {layer["Name"]: layer for layer in layers}
    assert by_name["/features/features.3/Conv"]["Precision"] == "INT8"
    assert by_name["/fc/Gemm"]["Precision"] == "HALF"
    # --layerOutputTypes: the FP16 Gemm's result reaches the logits as FLOAT (a REFORMAT).
    logits = [t for layer in layers for t in layer["Outputs"] if t["Name"] == "logits"]
    assert [t["Format/Datatype"] for t in logits] == ["FLOAT"]
    code, out, err = run(capsys, f"--loadEngine={engine}", "--iterations=2", *RUN)
    assert code == 0 and "GPU Compute Time" in out


def test_calib_data_writes_cache_with_progress(capsys, tmp_path):
    data = tmp_path / "calib"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):  # a folder of .npy files, concatenated: 12 samples -> 3 batches of 4
        np.save(data / f"part{i}.npy", rng.uniform(0, 1, (6, 1, 28, 28)).astype(np.float32))
    cache = tmp_path / "out.cache"
    code, out, err = run(
        capsys,
        f"--onnx={MODEL}",
        "--int8",
        f"--calibData={data}",
        f"--calib={cache}",
        "--shapes=input:4x1x28x28",
        *FAST,
    )
    assert code == 0, out + err
    assert "3/3 batches" in err and "[calib] |" in err and "PLACEHOLDERS" not in err
    assert cache.read_text().startswith("TRT-") and "EntropyCalibration2" in cache.read_text()


def test_no_range_refinement_flag(capfd, tmp_path):
    """clrt's range refinement runs by default (logged by the builder, which writes to the
    process's stderr: capfd); --noRangeRefinement keeps TensorRT's KL thresholds."""
    data = tmp_path / "calib.npy"
    np.save(data, np.random.default_rng(0).uniform(0, 1, (8, 1, 28, 28)).astype(np.float32))
    argv = [f"--onnx={MODEL}", "--int8", f"--calibData={data}", "--shapes=input:4x1x28x28"]
    for flag, refined in (([], True), (["--noRangeRefinement"], False)):
        code, out, err = run(capfd, *argv, "--verbose", *flag, *FAST)
        assert code == 0 and ("range refinement" in out + err) == refined, out + err


def test_device_flag(capsys):
    current = trt.current_device()  # the same device again: later tests keep their default
    code, out, _ = run(capsys, f"--onnx={MODEL}", f"--device={current.index}", *FAST)
    assert code == 0 and f"Device: {current}" in out
    code, _, err = run(capsys, f"--onnx={MODEL}", "--device=no-such-device-anywhere", *FAST)
    assert code == 2 and "--device" in err


# ---- trtexec flags of CI scripts (scope 3) and bad data (scope 4) ----


NO_EFFECT_FLAGS = [
    "--explicitBatch",
    "--useCudaGraph",
    "--threads",
    "--useManagedMemory",
    "--streams=2",
    "--useDLACore=0",
    "--allowGPUFallback",
    "--tacticSources=-CUBLAS",
    "--sparsity=disable",
]


def test_ci_flags_are_accepted_and_no_effect_ones_say_so(capsys, tmp_path):
    times = tmp_path / "times.json"
    code, out, err = run(
        capsys,
        f"--onnx={MODEL}",
        "--shapes=input:2x1x28x28",
        "--noTF32",
        "--workspace=64",
        "--inputIOFormats=fp32:chw",
        "--outputIOFormats=fp32:chw",
        "--useSpinWait",
        f"--exportTimes={times}",
        "--dumpOutput",
        *NO_EFFECT_FLAGS,
        *FAST,
    )
    assert code == 0, out + err
    for flag in NO_EFFECT_FLAGS:
        name = flag.split("=")[0]
        assert re.search(rf"^\[I\] {name}: accepted .*; no effect in clrt \(", out, re.MULTILINE), (
            name
        )
    assert "--noTF32: FP32 layers keep FP32 products (no TF32 tensor-core tactics)" in out
    records = json.loads(times.read_text())
    assert len(records) == 3 and all(r["computeMs"] >= 0 for r in records)
    assert all(
        abs(r["latencyMs"] - r["h2dMs"] - r["computeMs"] - r["d2hMs"]) < 1e-9 for r in records
    )
    m = re.search(r"^\[I\] logits: \(2x10\)\n\[I\] (.+)$", out, re.MULTILINE)
    assert m and len(m.group(1).split()) == 20, out


def test_workspace_sets_the_pool_and_unknown_flags_stay_usage_errors(capsys):
    assert parse_args([f"--onnx={MODEL}", "--workspace=16"]).memPoolSize == {"workspace": 16 << 20}
    with pytest.raises(UsageError, match="one of --workspace"):
        parse_args([f"--onnx={MODEL}", "--workspace=16", "--memPoolSize=workspace:8"])
    code, _, err = run(capsys, f"--onnx={MODEL}", "--noSuchTrtexecFlag", *FAST)
    assert code == 2 and "unrecognized arguments: --noSuchTrtexecFlag" in err


def test_io_formats_count_must_match_the_inputs(capsys):
    code, _, err = run(capsys, f"--onnx={MODEL}", "--inputIOFormats=fp32:chw,fp32:chw", *FAST)
    assert code == 2 and "gives 2 format(s); the network has 1 input(s): input" in err


def test_skip_inference_builds_and_saves_only(capsys, tmp_path):
    path = tmp_path / "m.engine"
    code, out, err = run(
        capsys,
        f"--onnx={MODEL}",
        "--shapes=input:1x1x28x28",
        f"--saveEngine={path}",
        "--skipInference",
        *FAST,
    )
    assert code == 0 and path.stat().st_size > 0, out + err
    assert "--skipInference: inference skipped" in out and "Performance summary" not in out


def test_uint8_calibration_data_is_refused(capsys, tmp_path):
    data = tmp_path / "pixels.npy"
    np.save(data, np.random.default_rng(0).integers(0, 256, (8, 1, 28, 28), dtype=np.uint8))
    code, out, err = run(
        capsys,
        f"--onnx={MODEL}",
        "--int8",
        f"--calibData={data}",
        "--shapes=input:4x1x28x28",
        *FAST,
    )
    assert code == 1 and "PASSED" not in out
    assert "samples for input 'input' are uint8; calibration data must be floating point" in err
    assert "astype(np.float32)" in err


def test_load_inputs_of_another_dtype_are_refused(capsys, engine_file, tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 1, 28, 28), np.float64))
    code, out, err = run(capsys, f"--loadEngine={engine_file}", f"--loadInputs=input:{x}", *RUN)
    assert code == 1 and "PASSED" not in out
    assert f"'{x}' holds float64 values; input 'input' is float32" in err
