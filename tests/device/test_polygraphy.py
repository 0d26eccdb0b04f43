# Polygraphy (PyPI, unmodified) on clrt: its TensorRT loaders with clrt standing in for tensorrt,
# ClrtRunner against onnxruntime, and the CLI through clrt's extension (`polygraphy run --clrt`)
# and `clrt-polygraphy` (inspect model, convert).
import importlib.metadata
import os
import shutil
import subprocess
import sys
import textwrap

import clrt.polygraphy as clrt_polygraphy
import pytest
from helpers import MODELS, ROOT, fmnist

MODEL = MODELS / "fmnist_cnn.onnx"
SHAPES = ["--trt-min-shapes", "input:[1,1,28,28]", "--trt-opt-shapes", "input:[4,1,28,28]"]
SHAPES += ["--trt-max-shapes", "input:[8,1,28,28]", "--input-shapes", "input:[4,1,28,28]"]
# FP32 against onnxruntime: the suite's tolerance (helpers.RTOL/ATOL) widened to 1e-4 absolute
# for logits of magnitude ~10.
FP32_TOL = ["--rtol", "1e-4", "--atol", "1e-4"]
needs_data = pytest.mark.skipif(not fmnist.available(), reason="Fashion-MNIST not installed")


@pytest.fixture(scope="module")
def polygraphy_env(tmp_path_factory):
    """Environment for Polygraphy subprocesses. An installed clrt registers its extension
    through its own entry points; a PYTHONPATH-staged build gets them from a stand-in
    dist-info holding the entry_points lines of pyproject.toml."""
    env = dict(os.environ, POLYGRAPHY_AUTOINSTALL_DEPS="0")
    try:
        dist = importlib.metadata.distribution("clrt")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None and dist.locate_file("clrt") == ROOT / "python" / "clrt":
        dist = None  # an editable install of this checkout counts as installed
    if dist is not None:
        groups = {ep.group: ep.value for ep in dist.entry_points}
        assert groups["polygraphy.run.plugins"] == "clrt.polygraphy.args:export_argument_groups"
        return env
    shim = tmp_path_factory.mktemp("entry_points")
    info = shim / "clrt_dev_build-0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: clrt-dev-build\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text(
        "[polygraphy.run.plugins]\nclrt = clrt.polygraphy.args:export_argument_groups\n"
    )
    env["PYTHONPATH"] = os.pathsep.join([str(shim), env.get("PYTHONPATH", "")])
    return env


def polygraphy(env, *args, clrt_cli=False, cwd=None):
    """(returncode, output) of the polygraphy command (clrt-polygraphy with clrt_cli)."""
    if clrt_cli:
        cmd = [sys.executable, "-m", "clrt.polygraphy.cli"]
    else:
        cmd = [shutil.which("polygraphy", path=os.path.dirname(sys.executable)) or "polygraphy"]
    p = subprocess.run(
        [*cmd, *map(str, args)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return p.returncode, p.stdout + p.stderr


@pytest.fixture(scope="module")
def trt():
    return clrt_polygraphy.use_clrt()


# Polygraphy's EngineFromPath leaves its FileReader's file for the garbage collector.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_loaders_build_save_and_load_engines(trt, tmp_path):
    from polygraphy.backend.onnxrt import OnnxrtRunner, SessionFromOnnx
    from polygraphy.backend.trt import (
        CreateConfig,
        EngineFromNetwork,
        EngineFromPath,
        NetworkFromOnnxPath,
        Profile,
        SaveEngine,
    )
    from polygraphy.comparator import Comparator, DataLoader
    from polygraphy.comparator.compare import SimpleCompareFunc

    profile = Profile().add("input", (1, 1, 28, 28), (4, 1, 28, 28), (8, 1, 28, 28))
    config = CreateConfig(profiles=[profile], builder_optimization_level=0)
    path = tmp_path / "m.engine"
    build = SaveEngine(EngineFromNetwork(NetworkFromOnnxPath(str(MODEL)), config), str(path))
    engine = build()
    assert isinstance(engine, trt.ICudaEngine) and path.stat().st_size > 0
    loaded = EngineFromPath(str(path))()  # through Polygraphy's IStreamReader
    assert loaded.num_layers == engine.num_layers

    runners = [
        clrt_polygraphy.ClrtRunner(loaded),
        OnnxrtRunner(SessionFromOnnx(str(MODEL))),
    ]
    results = Comparator.run(runners, data_loader=DataLoader(iterations=2, seed=1))
    check = SimpleCompareFunc(rtol=1e-4, atol=1e-4)
    assert bool(Comparator.compare_accuracy(results, compare_func=check))


@needs_data
def test_calibrator_with_numpy_batches(trt, tmp_path):
    from polygraphy.backend.trt import CreateConfig, EngineFromNetwork, NetworkFromOnnxPath, Profile

    x, _ = fmnist.load("train")
    batches = [{"input": x[i : i + 4]} for i in range(0, 32, 4)]
    cache = tmp_path / "calib.cache"
    calib = clrt_polygraphy.Calibrator(batches, cache=str(cache))
    profile = Profile().add("input", (1, 1, 28, 28), (4, 1, 28, 28), (8, 1, 28, 28))
    config = CreateConfig(int8=True, calibrator=calib, profiles=[profile])
    engine = EngineFromNetwork(NetworkFromOnnxPath(str(MODEL)), config)()
    assert calib.num_batches == len(batches)
    assert cache.read_bytes().startswith(b"TRT-")
    xt, _ = fmnist.load("test")
    out = engine.create_execution_context().infer({"input": xt[:8]})["logits"]
    from polygraphy.backend.onnxrt import OnnxrtRunner, SessionFromOnnx

    with OnnxrtRunner(SessionFromOnnx(str(MODEL))) as ort:
        ref = ort.infer({"input": xt[:8]})["logits"]
    assert (out.argmax(1) == ref.argmax(1)).mean() >= 7 / 8


def test_run_clrt_against_onnxrt_fp32(polygraphy_env, tmp_path):
    outputs = tmp_path / "ort.json"
    code, log = polygraphy(
        polygraphy_env, "run", MODEL, "--onnxrt", *SHAPES, "--save-outputs", outputs
    )
    assert code == 0, log
    code, log = polygraphy(
        polygraphy_env,
        "run",
        MODEL,
        "--clrt",
        "--onnxrt",
        *SHAPES,
        *FP32_TOL,
        "--builder-optimization-level",
        "0",
    )
    assert code == 0 and "PASSED" in log and "clrt-runner" in log, log
    code, log = polygraphy(
        polygraphy_env,
        "run",
        MODEL,
        "--clrt",
        *SHAPES,
        *FP32_TOL,
        "--load-outputs",
        outputs,
        "--builder-optimization-level",
        "0",
    )
    assert code == 0 and "PASSED" in log, log


@pytest.mark.parametrize("strategy", ["profile", "runtime"])
def test_trt_runner_with_user_managed_device_memory(polygraphy_env, strategy):
    """Polygraphy's TrtRunner (under `python -m clrt.run`, which gives it clrt as tensorrt and
    its CUDA calls) with --allocation-strategy profile or runtime makes a USER_MANAGED
    context and hands it device memory it sizes itself (get_device_memory_size_for_profile_v2,
    update_device_memory_size_for_shapes, set_device_memory): outputs within FP32 tolerance of
    onnxruntime's."""
    exe = shutil.which("polygraphy", path=os.path.dirname(sys.executable)) or "polygraphy"
    args = [MODEL, "--trt", "--onnxrt", *SHAPES, *FP32_TOL, "--builder-optimization-level", "0"]
    p = subprocess.run(
        [sys.executable, "-m", "clrt.run", exe, "run", *map(str, args)]
        + ["--allocation-strategy", strategy],
        env=polygraphy_env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    log = p.stdout + p.stderr
    assert p.returncode == 0 and "PASSED" in log, log


@needs_data
def test_run_clrt_int8_against_onnxrt(polygraphy_env, tmp_path):
    loader = tmp_path / "data_loader.py"
    loader.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(ROOT / "scripts")!r})
            import fmnist

            def load_data():
                x, _ = fmnist.load("train")
                for i in range(8):
                    yield {{"input": x[i * 4 : (i + 1) * 4]}}
            """
        )
    )
    cache = tmp_path / "calib.cache"
    results = tmp_path / "results.json"
    # INT8 logits against FP32 onnxruntime: within 0.5 absolute (logits span about +-20).
    code, log = polygraphy(
        polygraphy_env,
        "run",
        MODEL,
        "--clrt",
        "--onnxrt",
        "--int8",
        "--calibration-cache",
        cache,
        "--data-loader-script",
        loader,
        *SHAPES,
        "--atol",
        "0.5",
        "--rtol",
        "0",
        "--save-results",
        results,
    )
    assert code == 0 and "PASSED" in log, log
    assert cache.read_bytes().startswith(b"TRT-")
    # Runs again from the cache (no calibration).
    code, log = polygraphy(
        polygraphy_env,
        "run",
        MODEL,
        "--clrt",
        "--int8",
        "--calibration-cache",
        cache,
        "--data-loader-script",
        loader,
        *SHAPES,
    )
    assert code == 0, log


def test_inspect_and_convert_with_clrt_polygraphy(polygraphy_env, tmp_path):
    engine = tmp_path / "fp16.engine"
    code, log = polygraphy(
        polygraphy_env,
        "convert",
        MODEL,
        "--fp16",
        *SHAPES[:6],
        "-o",
        engine,
        "--builder-optimization-level",
        "0",
        clrt_cli=True,
    )
    assert code == 0 and engine.stat().st_size > 0, log
    code, log = polygraphy(
        polygraphy_env, "inspect", "model", engine, "--show", "layers", clrt_cli=True
    )
    assert code == 0, log
    assert "---- 1 Engine Input(s) ----" in log and "input [dtype=float32" in log, log
    assert "Layer 0" in log, log
    code, log = polygraphy(
        polygraphy_env, "inspect", "model", MODEL, "--show", "layers", clrt_cli=True
    )
    assert code == 0 and "Conv" in log, log


def test_generated_script_uses_clrt(polygraphy_env, tmp_path):
    script = tmp_path / "run.py"
    code, log = polygraphy(
        polygraphy_env, "run", MODEL, "--clrt", "--int8", *SHAPES, "--gen-script", script
    )
    assert code == 0, log
    text = script.read_text()
    assert "use_clrt()" in text and "from clrt.polygraphy import Calibrator, ClrtRunner" in text
    (trt_imports,) = [
        ln for ln in text.splitlines() if ln.startswith("from polygraphy.backend.trt")
    ]
    assert "Calibrator" not in trt_imports and "EngineFromBytes" in trt_imports


def test_use_clrt_refuses_another_tensorrt(monkeypatch):
    import types

    monkeypatch.setitem(sys.modules, "tensorrt", types.ModuleType("tensorrt"))
    with pytest.raises(RuntimeError, match="another 'tensorrt' module is already imported"):
        clrt_polygraphy.use_clrt()
