"""Range refinement by partial re-execution (builder/refine.cc) chooses what the whole-network
runs chose (builder/refine_full.cc, selected by CLRT_REFINE_FULL_RUNS=1): same ranges, same
output errors for every candidate evaluated to the end. And the calibration report
(config.calibration_report) against the calibrator's data and its cache."""

import json

import clrt as trt
import numpy as np
import pytest
from helpers import MODELS, fmnist, make_config, parse_network


class Calibrator(trt.IInt8EntropyCalibrator2):
    def __init__(self, batches):
        trt.IInt8EntropyCalibrator2.__init__(self)
        self.batches, self.pos, self.cache = batches, 0, None

    def get_batch_size(self):
        return len(self.batches[0])

    def get_batch(self, names):
        if self.pos >= len(self.batches):
            return None
        self.pos += 1
        return [self.batches[self.pos - 1]]

    def read_calibration_cache(self):
        return None

    def write_calibration_cache(self, cache):
        self.cache = bytes(cache)


def calibrate(model, batches, full_runs, monkeypatch):
    """(cache bytes, report) of an INT8 build calibrated on `batches`."""
    if full_runs:
        monkeypatch.setenv("CLRT_REFINE_FULL_RUNS", "1")
    else:
        monkeypatch.delenv("CLRT_REFINE_FULL_RUNS", raising=False)
    builder, network, _ = parse_network(model)
    shape = batches[0].shape
    config = make_config(builder, {"input": ((1, *shape[1:]), shape, shape)}, opt_level=0)
    config.set_flag(trt.BuilderFlag.INT8)
    calib = Calibrator(batches)
    config.int8_calibrator = calib
    assert builder.build_serialized_network(network, config) is not None
    return calib.cache, config.calibration_report


def fmnist_batches():
    if not fmnist.available():
        return None
    x, _ = fmnist.load("train")
    return [x[:32], x[32:64]]


def random_batches():
    rng = np.random.default_rng(7)
    return [rng.standard_normal((4, 3, 32, 32)).astype(np.float32) for _ in range(3)]


CASES = {
    "fmnist_cnn": ("fmnist_cnn.onnx", fmnist_batches),
    "fmnist_dwse": ("fmnist_dwse.onnx", fmnist_batches),
    "resnet18_style": ("resnet18_style.onnx", random_batches),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def both(request):
    name, data = CASES[request.param]
    batches = data()
    if batches is None:
        pytest.skip("Fashion-MNIST not installed")
    mp = pytest.MonkeyPatch()
    try:
        full = calibrate(MODELS / name, batches, True, mp)
        partial = calibrate(MODELS / name, batches, False, mp)
    finally:
        mp.undo()
    return request.param, batches, full, partial


def test_partial_runs_choose_the_full_runs_ranges(both):
    name, _, (full_cache, full), (cache, partial) = both
    assert cache == full_cache  # every scale, bit for bit
    assert [r["tensor"] for r in partial] == [r["tensor"] for r in full]
    tried = 0
    for a, b in zip(full.record["tensors"], partial.record["tensors"]):
        assert a["amax"] == b["amax"] and a["chosen_by"] == b["chosen_by"], a["name"]
        assert len(a["trials"]) == len(b["trials"]), a["name"]
        for (ca, ea, done_a), (cb, eb, done_b) in zip(a["trials"], b["trials"]):
            assert done_a and ca == cb, a["name"]
            tried += 1
            if done_b:  # the same kernels on the same bytes: the same error
                assert eb == ea, (a["name"], ca, ea, eb)
            else:  # dropped early: a lower bound of the full error, and not the winner
                assert eb <= ea and a["amax"] != ca, (a["name"], ca, ea, eb)
    assert tried > 0, f"{name}: refinement evaluated no tensor; the test compares nothing"
    if name == "fmnist_cnn":  # the ReLU KL clips hardest (test_int8_calibration.py)
        assert partial.by_tensor["/features/features.2/Relu_output_0"]["chosen_by"] == "refinement"
    assert partial.record["refine_passes"] < full.record["refine_passes"], name


def test_report_fields_match_the_calibration(both):
    _, batches, _, (cache, report) = both
    table = trt.read_calibration_cache(cache)
    assert set(table.amax) == {r["tensor"] for r in report if r["amax"] > 0}
    for row in report:
        if row["amax"] > 0:  # the cache holds amax / 127 as float32
            assert table.amax[row["tensor"]] == pytest.approx(row["amax"], rel=1e-6)
        assert 0 < row["threshold"] <= row["absmax"] * (1 + 1e-6) or row["absmax"] == 0
        if row["chosen_by"] == "refinement":
            errors = [e for e in row["errors"] if not isinstance(e, str)]
            assert row["amax"] in row["candidates"][1:] and row["refined_from"] == row["threshold"]
            assert min(errors[1:]) < 0.99 * errors[0]
        else:
            assert row["chosen_by"] == "EntropyCalibration2" and row["amax"] == row["threshold"]
    # The input's histogram counts every value fed; its bins span [0, max |x|] (the max rounded
    # up to 10 mantissa bits, calibration.cc's roundUpRange).
    edges, counts = report.histogram("input")
    assert int(counts.sum()) == sum(b.size for b in batches)
    top = max(float(np.abs(b).max()) for b in batches)
    assert edges[0] == 0 and top <= edges[-1] <= top * (1 + 2**-10)
    assert report.record["batches"] == len(batches)
    assert report.record["batch_size"] == len(batches[0])
    doc = json.loads(report.to_json())
    assert doc["algorithm"] == "EntropyCalibration2" and len(doc["rows"]) == len(report)
    assert "input" in report._repr_html_() and "chosen_by" in repr(report)


def test_report_plot_and_pandas(both):
    _, _, _, (_, report) = both
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    from matplotlib.figure import Figure

    assert isinstance(report.plot("input"), Figure)
    assert isinstance(report.plot(), Figure)
    with pytest.raises(KeyError, match="no-such"):
        report.histogram("no-such")


def test_report_from_a_cache_build(monkeypatch):
    batches = random_batches()
    cache, _ = calibrate(MODELS / "resnet18_style.onnx", batches, False, monkeypatch)
    builder, network, _ = parse_network(MODELS / "resnet18_style.onnx")
    shape = batches[0].shape
    config = make_config(builder, {"input": ((1, *shape[1:]), shape, shape)}, opt_level=0)
    config.set_flag(trt.BuilderFlag.INT8)
    calib = Calibrator(batches)
    calib.read_calibration_cache = lambda: cache
    config.int8_calibrator = calib
    assert config.calibration_report is None  # no build yet
    assert builder.build_serialized_network(network, config) is not None
    report = config.calibration_report
    table = trt.read_calibration_cache(cache)
    assert report.summary()["source"] == "calibration cache"
    assert {r["tensor"]: r["amax"] for r in report} == pytest.approx(table.amax, rel=1e-6)
    assert {r["chosen_by"] for r in report} == {"cache"}
