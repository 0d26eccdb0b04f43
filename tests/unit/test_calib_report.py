"""clrt.CalibrationReport over a hand-made calibration record (what config.calibration_report
wraps after a build; the device tests check it against real builds): rows, histogram edges,
refinement's candidates and early-dropped errors, JSON and HTML; read_calibration_cache."""

import json
import struct

import clrt
import numpy as np
import pytest

COUNTS = np.zeros(2048, dtype=np.uint64)
COUNTS[:4] = (10, 5, 0, 1)

RECORD = {
    "algorithm": "EntropyCalibration2",
    "batches": 2,
    "batch_size": 8,
    "from_cache": False,
    "refine_seconds": 0.5,
    "refine_passes": 2.25,
    "tensors": [
        {
            "name": "input",
            "absmax": 2.0,
            "hist": COUNTS,
            "threshold": 2.0,
            "amax": 2.0,
            "chosen_by": "EntropyCalibration2",
            "trials": [],
        },
        {
            "name": "relu",
            "absmax": 8.0,
            "hist": COUNTS,
            "threshold": 2.0,
            "amax": 8.0,
            "chosen_by": "refinement",
            "trials": [(2.0, 0.4, True), (6.0, 0.3, True), (8.0, 0.1, True)],
        },
        {
            "name": "gate",
            "absmax": 1.0,
            "hist": np.zeros(0, dtype=np.uint64),
            "threshold": 0.5,
            "amax": 0.5,
            "chosen_by": "EntropyCalibration2",
            "trials": [(0.5, 0.2, True), (1.0, 0.25, False)],
        },
    ],
}


def test_rows_and_summary():
    r = clrt.CalibrationReport(RECORD)
    assert [row["tensor"] for row in r] == ["input", "relu", "gate"]
    relu = r.by_tensor["relu"]
    assert relu["refined_from"] == 2.0 and relu["candidates"] == [2.0, 6.0, 8.0]
    assert relu["errors"] == [0.4, 0.3, 0.1]
    assert r.by_tensor["gate"]["errors"] == [0.2, ">=0.25"]  # dropped early: a lower bound
    assert r.by_tensor["input"]["refined_from"] is None
    s = r.summary()
    assert s["refined"] == 1 and s["tensors"] == 3 and s["refinement_passes"] == 2.25


def test_histogram_edges():
    r = clrt.CalibrationReport(RECORD)
    edges, counts = r.histogram("relu")
    assert len(edges) == 2049 and edges[0] == 0.0 and edges[-1] == 8.0
    assert edges[1] == pytest.approx(8.0 / 2048)
    assert int(counts.sum()) == 16
    with pytest.raises(KeyError, match="gate"):
        r.histogram("gate")  # no histogram taken


def test_json_and_html():
    r = clrt.CalibrationReport(RECORD)
    doc = json.loads(r.to_json())
    assert doc["algorithm"] == "EntropyCalibration2" and len(doc["rows"]) == 3
    assert doc["rows"][1]["chosen_by"] == "refinement"
    html = r._repr_html_()
    assert "<table>" in html and "relu" in html and "refinement" in repr(r)


def test_read_calibration_cache(tmp_path):
    scale = struct.unpack(">f", struct.pack(">f", 0.5 / 127))[0]
    path = tmp_path / "calib.cache"
    path.write_bytes(
        b"TRT-8601-EntropyCalibration2\nrelu: " + struct.pack(">f", scale).hex().encode()
    )
    table = clrt.read_calibration_cache(path)
    assert table.amax == {"relu": pytest.approx(0.5, rel=1e-6)}
    assert table.rows[0]["scale"] == scale
