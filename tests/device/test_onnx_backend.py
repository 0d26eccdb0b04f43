# The ONNX backend test suite of the installed onnx package through clrt, against the expected
# failures in tests/onnx_backend_expected.json (written by scripts/onnx_backend_status.py).
#
# Every case whose expected status is a refusal runs (refusals are cheap); of the cases expected
# to pass, a fixed seeded sample runs by default (PoCL compiles each case's kernels) and all of
# them with CLRT_ONNX_SUITE=all. Cases run in worker processes, so a crash or hang fails the case
# it happened in, by name.
import json
import os
import pickle
import random

import numpy as np
import pytest
from helpers import _load_script_module, make_model
from onnx import helper as oh

suite = _load_script_module("onnx_backend_status")

EXPECTED = json.loads(suite.EXPECTED.read_text())
PASS_SAMPLE = int(os.environ.get("CLRT_ONNX_SUITE_SAMPLE", "40"))


def _select(names):
    if os.environ.get("CLRT_ONNX_SUITE") == "all":
        return names
    passing = [n for n in names if n not in EXPECTED]
    sample = set(random.Random(13).sample(passing, min(PASS_SAMPLE, len(passing))))
    return [n for n in names if n in EXPECTED or n in sample]


ALL_CASES = suite.export_cases()
CASES = _select(ALL_CASES)


@pytest.fixture(scope="module")
def results(request):
    """The selected cases' results (all of CASES unless -k narrowed the run)."""
    chosen = {
        item.callspec.params["name"]
        for item in request.session.items
        if hasattr(item, "callspec") and "name" in item.callspec.params
    }
    return suite.run_cases([n for n in CASES if n in chosen] if chosen else CASES)


class _Exit:
    """Unpickling it ends the process: a stand-in for a case that crashes the worker."""

    def __reduce__(self):
        return (os._exit, (3,))


def test_runner_reports_a_crash_by_case_and_continues(tmp_path):
    relu = make_model([oh.make_node("Relu", ["x"], ["y"])], [("x", (2, 3))], [("y", (2, 3))])
    x = np.float32([[-1, 0, 1], [2, -3, 4]])
    for name, data in (("a", [([x], [np.maximum(x, 0)])]), ("b", _Exit()), ("c", [([x], [x])])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.onnx").write_bytes(relu.SerializeToString())
        (tmp_path / name / "data.pkl").write_bytes(pickle.dumps(data))
    res = suite.run_cases(["a", "b", "c"], root=tmp_path)
    assert res["a"] == ("pass", "")
    assert res["b"][0] == "crash" and "exit code 3" in res["b"][1], res["b"]
    assert res["c"][0] == "mismatch" and "output 'y'" in res["c"][1], res["c"]


def test_expected_list_names_real_cases():
    stale = sorted(set(EXPECTED) - set(ALL_CASES))
    assert not stale, f"{len(stale)} expected failures are not suite cases: {stale[:10]}"


@pytest.mark.parametrize("name", CASES)
def test_case(results, name):
    status, why = results[name]
    expected = EXPECTED.get(name)
    if status == "pass":
        return  # newly passing cases are collected by test_no_newly_passing_cases
    got = suite.short_reason(status, why)
    assert expected is not None, f"{name} fails and is not an expected failure: {got}"
    # A refusal may change its reason; a refusal turning into a crash or a wrong number may not.
    assert status == expected.split(":")[0], f"{name}: expected {expected!r}, got {got!r}"


def test_no_newly_passing_cases(results):
    newly = sorted(n for n, (s, _) in results.items() if s == "pass" and n in EXPECTED)
    assert not newly, (
        f"{len(newly)} cases pass now: remove them from tests/onnx_backend_expected.json "
        f"(python scripts/onnx_backend_status.py --write): {newly}"
    )
