"""clrt.accuracy, clrt.testing and the clrt command on the trained Fashion-MNIST CNN.

- compare: one INT8 build (TensorRT's plain KL ranges, refinement off) names as the first
  divergent tensor the one whose range the refinement log says it widened for the largest drop
  in output error; the logits' errors equal those computed from onnxruntime directly.
- search_precisions: a 0.1-point budget on 500 test images is met keeping at most 3 engine
  layers out of INT8; calibration runs once (the cache serves every later build); the spec parses.
- per_class: a model whose class-3 logit is lowered flags exactly class 3 while overall
  top-1 moves less than a point; the clrt.testing helpers say the same.
- The pytest plugin's --clrt-device option and fixture, the clrt command, report displays.
- Ctrl-C (SIGINT) while calibration's statistics and range refinement run (C++, after the
  last get_batch) raises KeyboardInterrupt within a second.
"""

import json
import re
import signal
import subprocess
import sys
import time

import clrt as trt
import numpy as np
import onnx
import pytest
from clrt import accuracy
from clrt.testing import assert_accuracy, assert_no_class_regression, assert_outputs_close
from helpers import MODELS, ROOT, RecordingLogger, fmnist, ort_run
from onnx import numpy_helper

pytestmark = pytest.mark.skipif(not fmnist.available(), reason="Fashion-MNIST not installed")
MODEL = MODELS / "fmnist_cnn.onnx"
FAST = {"builder_optimization_level": 0, "refine_int8_ranges": False}


class Calibrator(trt.IInt8EntropyCalibrator2):
    """Entropy2 over `images` in batches of 64, counting get_batch calls."""

    def __init__(self, images):
        trt.IInt8EntropyCalibrator2.__init__(self)
        self.images, self.pos, self.calls = images, 0, 0

    def get_batch_size(self):
        return 64

    def get_batch(self, names):
        self.calls += 1
        if self.pos >= len(self.images):
            return None
        self.pos += 64
        return [self.images[self.pos - 64 : self.pos]]

    def read_calibration_cache(self):
        return None

    def write_calibration_cache(self, cache):
        pass


@pytest.fixture(scope="module")
def calib_images():
    return fmnist.load("train")[0][:256]


@pytest.fixture(scope="module")
def test_set():
    x, y = fmnist.load("test")
    return [x[:250], x[250:500]], [y[:250], y[250:500]]


@pytest.fixture(scope="module")
def compare_report(calib_images, test_set):
    return accuracy.compare(MODEL, test_set[0][:1], calibrator=Calibrator(calib_images), **FAST)


def test_compare_first_divergent_is_the_worst_clipped_tensor(calib_images, compare_report):
    logger = RecordingLogger()
    accuracy.compare(
        MODEL,
        [calib_images[:64]],
        calibrator=Calibrator(calib_images),
        builder_optimization_level=0,
        logger=logger,
    )
    pattern = r"calibration: '(.+)' range \S+ -> \S+ \(network output error (\S+) -> (\S+)\)"
    widened = [(float(a) - float(b), n) for n, a, b in re.findall(pattern, logger.text())]
    assert widened, logger.text(trt.Logger.INFO)
    worst = max(widened)[1]
    report = compare_report
    assert report.first_divergent == worst, report
    assert report.builds == 1
    assert report[worst]["dtype"] == "INT8" and report[worst]["snr_db"] < 25, report
    # The calibration it used, read back: the engine quantized the tensor at the cache's range.
    table = accuracy.calibration_table(report.calibration_cache)
    assert table.header == "TRT-100300-EntropyCalibration2" and len(table) == len(report)
    layer = next(
        lay
        for lay in json.loads(
            report.engine.create_engine_inspector().get_engine_information(
                trt.LayerInformationFormat.JSON
            )
        )["Layers"]
        if lay["Outputs"][0]["Name"] == worst
    )
    assert table.amax[worst] == pytest.approx(layer["Outputs"][0]["DynamicRange"][1], rel=1e-6)
    # The rows before it carry only rounding error.
    names = [r["tensor"] for r in report.rows]
    assert names[-1] == "logits" and names.index(worst) <= 2, names
    assert all(r["snr_db"] > 30 for r in report.rows[: names.index(worst)]), report


def test_compare_numbers_match_onnxruntime(compare_report, test_set):
    x = test_set[0][0]
    got = compare_report.engine.create_execution_context().infer({"input": x})["logits"]
    got = got.astype(np.float64)
    ref = ort_run(MODEL, {"input": x})["logits"].astype(np.float64)
    row = compare_report["logits"]
    diff = np.abs(got - ref)
    assert row["max_abs"] == pytest.approx(diff.max(), rel=1e-6)
    assert row["max_rel"] == pytest.approx(diff.max() / np.abs(ref).max(), rel=1e-6)
    snr = 10 * np.log10((ref**2).sum() / ((got - ref) ** 2).sum())
    assert row["snr_db"] == pytest.approx(snr, abs=1e-6)
    cos = (got.ravel() @ ref.ravel()) / np.linalg.norm(got) / np.linalg.norm(ref)
    assert row["cosine"] == pytest.approx(cos, abs=1e-9)


def test_search_precisions_meets_a_tenth_of_a_point(calib_images, test_set):
    calib = Calibrator(calib_images)
    xs, ys = test_set
    r = accuracy.search_precisions(MODEL, calibrator=calib, data=xs, labels=ys, budget=0.1, **FAST)
    ref = (
        np.mean([ort_run(MODEL, {"input": x})["logits"].argmax(1) == y for x, y in zip(xs, ys)])
        * 100
    )
    assert r.reference_metric == pytest.approx(ref)
    assert r.int8_metric < r.reference_metric - 0.1, r  # plain KL loses accuracy here
    assert r.within_budget and r.metric >= r.reference_metric - 0.1, r
    assert 1 <= len(r.kept) <= 3, r
    assert calib.calls == len(calib_images) // 64 + 1  # calibrated once: the cache did the rest
    spec = trt.parse_layer_precisions(r.layer_precisions)
    assert all(v == trt.DataType.HALF for v in spec.values()) and len(spec) >= len(r.kept)
    rows = {c["candidate"]: c for c in r.candidates.rows}
    assert rows["all INT8"]["latency_ms"] > 0 and rows["all FP16"]["latency_ms"] > 0
    assert r.builds == len(r.candidates.rows) and any(c["pareto"] for c in r.candidates.rows)
    # The spec reproduces the metric in a fresh build through the plain API.
    xs_all, ys_all = np.concatenate(xs), np.concatenate(ys)
    engine = _build_with_spec(r, calib_images)
    assert_accuracy(engine, [xs_all], [ys_all], min_top1=r.reference_metric - 0.1)
    js = json.loads(r.to_json())
    assert js["layer_precisions"] == r.layer_precisions and js["candidates"]


def test_sensitivity_without_labels_ranks_by_output_snr(calib_images, test_set):
    """No labels: the metric is the output's SNR (dB) against onnxruntime FP32. Every INT8
    layer gets both trials, from one calibration."""
    calib = Calibrator(calib_images)
    s = accuracy.sensitivity(MODEL, [test_set[0][0][:64]], calibrator=calib, **FAST)
    assert calib.calls == len(calib_images) // 64 + 1
    n = len(s.rows)
    assert n >= 6 and s.builds == 1 + 2 * n, s
    gains = [r["gain"] for r in s.rows]
    assert gains == sorted(gains, reverse=True) and gains[0] > 10, s  # dB regained
    assert all(r["metric_all_but"] == pytest.approx(s.int8_metric + r["gain"]) for r in s.rows)
    # With only the most sensitive layer in INT8 the output is as bad as all-INT8, give or take.
    top = s.rows[0]
    assert top["metric_only"] < top["metric_all_but"], s
    assert s.reference_metric == float("inf")  # FP32 against itself


def _build_with_spec(result, calib_images):
    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, builder.logger if hasattr(builder, "logger") else None)
    assert parser.parse_from_file(str(MODEL))
    assert result.apply(network)
    config = builder.create_builder_config()
    config.builder_optimization_level, config.refine_int8_ranges = 0, False
    profile = builder.create_optimization_profile()
    profile.set_shape("input", (1, 1, 28, 28), (500, 1, 28, 28), (500, 1, 28, 28))
    config.add_optimization_profile(profile)
    for flag in ("INT8", "FP16", "PREFER_PRECISION_CONSTRAINTS"):
        config.set_flag(getattr(trt.BuilderFlag, flag))
    config.int8_calibrator = Calibrator(calib_images)
    return trt.Runtime(trt.Logger()).deserialize_cuda_engine(
        builder.build_serialized_network(network, config)
    )


def _damaged(klass, delta):
    """The model with class `klass`'s logit lowered by `delta` (the fc bias)."""
    model = onnx.load(MODEL)
    gemm = next(n for n in model.graph.node if n.op_type == "Gemm")
    init = next(i for i in model.graph.initializer if i.name == gemm.input[2])
    bias = numpy_helper.to_array(init).copy()
    bias[klass] -= delta
    init.CopyFrom(numpy_helper.from_array(bias, init.name))
    return model.SerializeToString()


def test_per_class_flags_the_damaged_class(test_set):
    xs, ys = test_set
    damaged = _damaged(3, 1.5)
    engine = accuracy._model.Session(damaged, xs, builder_optimization_level=0).build("fp32")
    p = accuracy.per_class(MODEL, engine, data=xs, labels=ys)
    assert p.flagged == [3], p
    assert abs(p.accuracy_a - p.accuracy_b) < 1.0, p
    assert p.confusion_delta.sum() == 0 and p.confusion_delta[3, 3] < 0
    with pytest.raises(AssertionError, match=r"class 3 \(3\): recall"):
        assert_no_class_regression(MODEL, engine, xs, ys)
    # The overall number hides it: top-1 does not drop at all on these images.
    assert_accuracy(engine, xs, ys, max_drop=0.0, reference=MODEL)
    with pytest.raises(AssertionError, match=r"top-1 9\d\.\d+% < min_top1 99"):
        assert_accuracy(engine, xs, ys, min_top1=99)
    assert_outputs_close(engine, damaged, xs[0][:8], rtol=1e-4, atol=1e-4)
    with pytest.raises(AssertionError, match="first divergent tensor: logits"):
        assert_outputs_close(engine, MODEL, xs[0][:8], rtol=1e-4, atol=1e-4)


def test_reports_display(compare_report):
    for text in (repr(compare_report), compare_report._repr_html_()):
        assert compare_report.first_divergent in text
    assert compare_report._repr_html_().startswith("<div>")
    js = json.loads(compare_report.to_json())
    assert js["first_divergent"] == compare_report.first_divergent
    assert [r["tensor"] for r in js["rows"]] == [r["tensor"] for r in compare_report.rows]


def test_config_and_engine_display(compare_report):
    engine = compare_report.engine
    assert "layers" in repr(engine) and "logits output FLOAT" in repr(engine)
    page = engine._repr_html_()
    assert "INT8" in page and "/features/features.2/Relu" in page  # the layer table
    config = trt.Builder(trt.Logger()).create_builder_config()
    config.set_flag(trt.BuilderFlag.FP16)
    assert "flags=FP16" in repr(config) and "<table>" in config._repr_html_()


def test_to_pandas(compare_report):
    pd = pytest.importorskip("pandas", reason="pandas is optional")
    df = compare_report.to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == len(compare_report.rows)


def test_plot(compare_report):
    pytest.importorskip("matplotlib", reason="matplotlib is optional (not in the test venv)")
    from matplotlib.figure import Figure

    assert isinstance(compare_report.plot(), Figure)


PLUGIN_TEST = """
import numpy as np
from clrt.testing import assert_outputs_close

def test_fixture(clrt_engine):
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    e1 = clrt_engine({model!r}, data=[x], builder_optimization_level=0)
    assert e1 is clrt_engine({model!r}, data=[x], builder_optimization_level=0)
    assert_outputs_close(e1, {model!r}, x, rtol=1e-4, atol=1e-4)
"""


def test_pytest_plugin(tmp_path):
    (tmp_path / "test_plugin_use.py").write_text(PLUGIN_TEST.format(model=str(MODEL)))
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "clrt.testing",
        "--clrt-device=0",
        "-p",
        "no:cacheprovider",
        str(tmp_path),
    ]
    out = subprocess.run(
        cmd, check=False, capture_output=True, text=True, env=_env(env), cwd=tmp_path
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "clrt device (--clrt-device)" in out.stdout and "1 passed" in out.stdout


def _env(extra):
    """os.environ with `extra`, and the clrt in use first on PYTHONPATH (made absolute: the
    subprocess runs elsewhere)."""
    import os

    stage = os.path.dirname(os.path.dirname(os.path.abspath(trt.__file__)))
    path = os.pathsep.join([stage, os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, **extra}


def test_cli_classes_json(tmp_path, calib_images, test_set):
    x, y = test_set[0][0][:128], test_set[1][0][:128]
    for name, a in (("x", x), ("y", y), ("c", calib_images[:128])):
        np.save(tmp_path / f"{name}.npy", a)
    cmd = [
        sys.executable,
        "-m",
        "clrt.cli",
        "classes",
        str(MODEL),
        "--data",
        str(tmp_path / "x.npy"),
        "--labels",
        str(tmp_path / "y.npy"),
        "--calib",
        str(tmp_path / "c.npy"),
        "--batch",
        "64",
        "--opt-level",
        "0",
        "--json",
    ]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert len(report["rows"]) == 10 and sum(r["count"] for r in report["rows"]) == 128
    assert "[calib]" in out.stderr  # the calibrator's batch bar
    assert "Tactic timing" in out.stderr  # the build's phases (clrt.progress.TqdmMonitor)


INTERRUPTED_BUILD = """
import sys
sys.path[:0] = [{tests!r}, {tests!r} + "/device"]  # helpers, and this test module
from test_accuracy_tools import FAST, MODEL, Calibrator, accuracy, fmnist

class Announcing(Calibrator):
    def get_batch(self, names):
        batch = super().get_batch(names)
        if batch is None:  # the data is in; the C++ passes over it start now
            print("calibrating", flush=True)
        return batch

images = fmnist.load("train")[0][:1024]
try:
    accuracy.compare(MODEL, [images[:8]], calibrator=Announcing(images),
                     builder_optimization_level=0)
    print("finished")
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
"""


def test_ctrl_c_stops_calibration_within_a_second(tmp_path):
    script = tmp_path / "interrupted.py"
    script.write_text(INTERRUPTED_BUILD.format(tests=str(ROOT / "tests")))
    cmd = [sys.executable, str(script)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=_env({})) as proc:
        try:
            assert proc.stdout.readline().strip() == "calibrating"
            time.sleep(0.3)
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            out = proc.stdout.readline()  # the handler's line, before the interpreter exits
            elapsed = time.monotonic() - sent
            proc.wait(timeout=30)
        finally:
            proc.kill()
    assert out.strip() == "KeyboardInterrupt", out
    assert elapsed < 1.0, elapsed
