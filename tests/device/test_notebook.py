"""examples/accuracy_workflow.ipynb runs headless (nbclient + ipykernel) so it cannot rot, and a
screenshot-free check of the displays: every report's and API object's _repr_html_ returns an
HTML table, and every report's .plot() returns a matplotlib Figure (when matplotlib is
installed). The check runs as one extra cell in the notebook's kernel, on the objects the
notebook made, so nothing is built twice.
"""

import json
import time

import pytest
from helpers import ROOT, fmnist

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = ROOT / "examples" / "accuracy_workflow.ipynb"

CHECK = """
import json
from clrt.accuracy import SensitivityReport

_builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
_network = _builder.create_network(0)
trt.OnnxParser(_network, trt.Logger(trt.Logger.ERROR)).parse(MODEL.read_bytes())
_config = _builder.create_builder_config()
_config.progress_monitor = TqdmMonitor()
# search_precisions ranks by sensitivity without returning that report: one made by hand.
_sens = SensitivityReport(
    [{"layer": "conv", "onnx_nodes": ["conv"], "metric_all_but": 90.0, "gain": 0.5, "rank": 1}],
    90.2, 89.5, 3,
)
_reports = {"fp16": fp16, "int8": int8, "calibration_table": table, "search": search,
            "candidates": search.candidates, "classes": classes, "sensitivity": _sens}
_objects = {"engine": mixed.engine, "inspector": mixed.engine.create_engine_inspector(),
            "config": _config, "network": _network, "layer": _network.get_layer(0)}
_html = {k: o._repr_html_() for k, o in {**_reports, **_objects}.items()}
_bad = {k: h[:80] for k, h in _html.items()
        if not (isinstance(h, str) and h.lstrip().startswith("<") and "<table" in h)}
try:
    import matplotlib
except ImportError:
    _plots = None
else:
    matplotlib.use("Agg")
    _plots = {k: type(r.plot()).__name__ for k, r in _reports.items()}
print("CHECK " + json.dumps({"html": sorted(_html), "bad": _bad, "plots": _plots,
                              "repr": {k: repr(o)[:40] for k, o in _objects.items()}}))
"""


@pytest.mark.skipif(not fmnist.available(), reason="Fashion-MNIST not installed")
def test_accuracy_notebook_executes_and_displays():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "commit the notebook without outputs"
    )
    nb.cells.append(nbformat.v4.new_code_cell(CHECK))
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    t0 = time.monotonic()
    client.execute()
    elapsed = time.monotonic() - t0
    # Cells ending in a report or engine display it as HTML.
    shown = [
        c
        for c in nb.cells[:-1]
        if c.cell_type == "code"
        and c.source.rstrip().splitlines()[-1].isidentifier()
        or c.source.rstrip().endswith(("candidates", ".engine"))
    ]
    assert len(shown) >= 6
    for cell in shown:
        kinds = [k for o in cell.outputs for k in o.get("data", {})]
        assert "text/html" in kinds, (cell.source, cell.outputs)
    line = next(
        ln
        for o in nb.cells[-1].outputs
        for ln in o.get("text", "").splitlines()
        if ln.startswith("CHECK ")
    )
    check = json.loads(line[len("CHECK ") :])
    assert check["bad"] == {}, check
    assert len(check["html"]) == 12, check
    assert all(not r.startswith("<clrt._clrt") for r in check["repr"].values()), check
    try:
        import matplotlib  # noqa: F401 -- the kernel runs this interpreter
    except ImportError:
        assert check["plots"] is None
    else:
        assert set(check["plots"].values()) == {"Figure"}, check
    # The notebook's own claim (under a minute on 2 cores), with room for a loaded machine.
    assert elapsed < 180, elapsed
