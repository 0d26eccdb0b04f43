"""Build progress (TensorRT 10's IProgressMonitor) on the bundled Fashion-MNIST CNN with
synthetic calibration data (no dataset needed): phases nest and finish in order, each phase
reports exactly its announced steps, the calibration phases one step per calibrator batch;
step_complete returning False stops the build at that step (build_serialized_network returns
None); a monitor's exception is chained to BuildError; clrt.progress.TqdmMonitor draws bars (or
plain lines without tqdm); clrt.accuracy's trials report phases and stop on a cancel.
"""

import io

import clrt as trt
import numpy as np
import pytest
from clrt import accuracy
from clrt.progress import Cancelled, TqdmMonitor
from helpers import EXPLICIT_BATCH, MODELS, RecordingLogger

MODEL = MODELS / "fmnist_cnn.onnx"
BATCHES = 3


class Calibrator(trt.IInt8EntropyCalibrator2):
    def __init__(self, n=BATCHES):
        super().__init__()
        rng = np.random.default_rng(0)
        self.data = [rng.standard_normal((8, 1, 28, 28)).astype(np.float32) for _ in range(n)]
        self.calls = 0

    def get_batch_size(self):
        return 8

    def get_batch(self, names):
        self.calls += 1
        return [self.data[self.calls - 1]] if self.calls <= len(self.data) else None

    def read_calibration_cache(self):
        return None

    def write_calibration_cache(self, cache):
        pass


class Recorder(trt.IProgressMonitor):
    """Records every call; answers False to step `stop` = (phase, step) and raises `error` at
    the first step of phase `error_in`."""

    def __init__(self, stop=None, error_in=None):
        super().__init__()
        self.calls, self.stop, self.error_in = [], stop, error_in

    def phase_start(self, phase_name, parent_phase, num_steps):
        self.calls.append(("start", phase_name, parent_phase, num_steps))

    def step_complete(self, phase_name, step):
        self.calls.append(("step", phase_name, step))
        if phase_name == self.error_in:
            raise ZeroDivisionError("monitor bug")
        return (phase_name, step) != self.stop

    def phase_finish(self, phase_name):
        self.calls.append(("finish", phase_name))


def build(monitor, refine=True, logger=None):
    logger = logger or trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    network = builder.create_network(EXPLICIT_BATCH)
    assert trt.OnnxParser(network, logger).parse(MODEL.read_bytes())
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    profile.set_shape("input", (1, 1, 28, 28), (8, 1, 28, 28), (8, 1, 28, 28))
    config.add_optimization_profile(profile)
    config.set_flag(trt.BuilderFlag.INT8)
    config.int8_calibrator = calib = Calibrator()
    config.refine_int8_ranges = refine
    config.builder_optimization_level = 0
    config.progress_monitor = monitor
    assert config.progress_monitor is monitor
    return builder.build_serialized_network(network, config), calib


def check_nesting(calls, complete=True):
    """Parents are open phases; phases finish innermost first; every step lies in an open
    phase, numbered 0, 1, ...; with `complete`, each phase took exactly its announced steps."""
    open_, steps, announced = [], {}, {}
    for call in calls:
        if call[0] == "start":
            _, name, parent, n = call
            assert parent == (open_[-1] if open_ else None), (call, open_)
            open_.append(name)
            steps[name], announced[name] = 0, n
        elif call[0] == "step":
            _, name, step = call
            assert name in open_ and step == steps[name], (call, open_)
            steps[name] += 1
        else:
            assert open_ and open_[-1] == call[1], (call, open_)
            open_.pop()
            if complete:
                assert steps[call[1]] == announced[call[1]], (call, steps, announced)
    assert open_ == [], open_
    return steps, announced


@pytest.fixture(scope="module")
def recorded():
    monitor = Recorder()
    plan, _ = build(monitor)
    assert plan is not None
    return monitor.calls


def test_phases_nest_and_take_their_announced_steps(recorded):
    steps, announced = check_nesting(recorded)
    starts = {c[1]: c[2] for c in recorded if c[0] == "start"}
    assert starts["Building engine"] is None and announced["Building engine"] == 4
    assert starts["Calibration"] == "Building engine"
    assert starts["Calibration: ranges"] == "Calibration"
    assert starts["Calibration: histograms"] == "Calibration"
    assert starts["Range refinement"] == "Calibration"
    assert steps["Calibration: ranges"] == steps["Calibration: histograms"] == BATCHES
    assert starts["Tactic timing"] == "Building engine" and steps["Tactic timing"] > 0
    assert starts["Precision selection"] == "Building engine"


@pytest.mark.parametrize(
    "stop", [("Calibration: histograms", 1), ("Tactic timing", 0), ("Precision selection", 2)]
)
def test_false_cancels_within_the_step(stop):
    monitor, logger = Recorder(stop=stop), RecordingLogger()
    plan, _ = build(monitor, refine=False, logger=logger)
    assert plan is None
    # Nothing ran after the False but the open phases finishing, innermost first.
    last = monitor.calls.index(("step", *stop))
    assert all(c[0] == "finish" for c in monitor.calls[last + 1 :]), monitor.calls[last:]
    check_nesting(monitor.calls, complete=False)
    assert "cancelled by the progress monitor" in logger.text(trt.Logger.ERROR)


def test_monitor_exception_is_chained():
    with pytest.raises(trt.BuildError, match="progress_monitor.step_complete raised") as info:
        build(Recorder(error_in="Calibration: ranges"), refine=False)
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_phase_finish_exception_is_reported_not_lost(monkeypatch):
    class Raising(Recorder):
        def phase_finish(self, phase_name):
            raise ZeroDivisionError(phase_name)

    seen = []
    monkeypatch.setattr("sys.unraisablehook", lambda u: seen.append(u.exc_value))
    plan, _ = build(Raising(), refine=False)
    assert plan is not None
    assert seen and all(isinstance(e, ZeroDivisionError) for e in seen)
    assert str(seen[-1]) == "Building engine"


def test_monitor_type_is_checked():
    config = trt.Builder(trt.Logger(trt.Logger.ERROR)).create_builder_config()
    with pytest.raises(ValueError, match="IProgressMonitor"):
        config.progress_monitor = object()


def test_tqdm_monitor_text_fallback_and_cancel():
    out = io.StringIO()
    monitor = TqdmMonitor(file=out, use_tqdm=False)
    plan, _ = build(monitor, refine=False)
    assert plan is not None
    text = out.getvalue()
    assert f"[clrt]     Calibration: ranges: {BATCHES} steps" in text, text
    assert "Tactic timing: done" in text and "Building engine: done (4/4)" in text, text
    assert monitor.phases[0] == "Building engine"
    monitor.cancel()
    assert build(monitor, refine=False)[0] is None


def test_tqdm_monitor_draws_tqdm_bars():
    pytest.importorskip("tqdm")
    out = io.StringIO()
    plan, _ = build(TqdmMonitor(file=out), refine=False)
    assert plan is not None
    text = out.getvalue()
    assert "Tactic timing" in text and ("it/s" in text or "s/it" in text), text


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(1)
    return [rng.standard_normal((8, 1, 28, 28)).astype(np.float32)]


def test_sensitivity_trials_report_and_cancel(images):
    monitor = Recorder()
    report = accuracy.sensitivity(
        MODEL,
        images,
        calibrator=Calibrator(),
        modes=("all_but",),
        progress_monitor=monitor,
        builder_optimization_level=0,
        refine_int8_ranges=False,
    )
    steps, announced = check_nesting(monitor.calls)
    assert announced["Sensitivity trials"] == steps["Sensitivity trials"] == len(report)
    builds = [c for c in monitor.calls if c[:2] == ("start", "Building engine")]
    assert len(builds) == report.builds
    # Trial builds nest under the trials phase (the first build, the probe, precedes it).
    assert [c[2] for c in builds] == [None] + ["Sensitivity trials"] * (len(builds) - 1)
    # A False during the trials stops them there: no build starts after it.
    stopper = Recorder(stop=("Sensitivity trials", 0))
    with pytest.raises(Cancelled, match="Sensitivity trials"):
        accuracy.sensitivity(
            MODEL,
            images,
            calibrator=Calibrator(),
            modes=("all_but",),
            progress_monitor=stopper,
            builder_optimization_level=0,
            refine_int8_ranges=False,
        )
    assert stopper.calls[-2:] == [
        ("step", "Sensitivity trials", 0),
        ("finish", "Sensitivity trials"),
    ]
    # A False inside a trial's build raises Cancelled too.
    with pytest.raises(Cancelled, match="cancelled by the progress monitor"):
        accuracy.sensitivity(
            MODEL,
            images,
            calibrator=Calibrator(),
            modes=("all_but",),
            progress_monitor=Recorder(stop=("Tactic timing", 0)),
            builder_optimization_level=0,
            refine_int8_ranges=False,
        )
