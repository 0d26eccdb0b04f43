# The type stubs type-check TensorRT-style code: mypy over examples/ (the seed articles' scripts
# and NVIDIA's classic INT8 sample pattern) passes, and a misuse of the API is reported.
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXAMPLES = ["calibrate_seed000.py", "calibrate_seed003.py", "int8_sample_classic.py", "run_onnx.py"]


@pytest.fixture(scope="module")
def cache_dir(request, tmp_path_factory):
    """mypy's cache, kept in pytest's cache between runs (NumPy's stubs take most of the time;
    mypy revalidates every entry against its source)."""
    cache = getattr(request.config, "cache", None)
    return cache.mkdir("mypy") if cache else tmp_path_factory.mktemp("mypy_cache")


def mypy(cache_dir, *files):
    """(returncode, report) of mypy checking `files` for Python 3.10 against the repository's
    stubs (python/clrt/*.pyi); third-party packages without types (onnx, torch) are Any."""
    env = dict(os.environ, MYPYPATH=str(ROOT / "python"))
    cmd = [sys.executable, "-m", "mypy", "--python-version", "3.10", "--ignore-missing-imports"]
    cmd += ["--cache-dir", str(cache_dir), "--no-color-output", *map(str, files)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    return p.returncode, p.stdout + p.stderr


def test_examples_type_check(cache_dir):
    code, report = mypy(cache_dir, *(ROOT / "examples" / f for f in EXAMPLES))
    assert code == 0, report


def test_misuse_is_reported(cache_dir, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        textwrap.dedent(
            """
            import clrt as trt
            import numpy as np

            class Calib(trt.IInt8EntropyCalibrator2):
                def read_calibration_cache(self, length: int) -> int:
                    return 42

            trt.memcpy_htod(trt.mem_alloc(4), np.zeros(1, np.float32))  # fine
            trt.memcpy_htod("not a pointer", np.zeros(1, np.float32))
            config = trt.Builder(trt.Logger()).create_builder_config()
            config.int8_calibrator = "not a calibrator"
            """
        )
    )
    code, report = mypy(cache_dir, bad)
    assert code == 1, report
    assert 'bad.py:10: error: Argument 1 to "memcpy_htod" has incompatible type "str"' in report
    assert "bad.py:12: error: Incompatible types in assignment" in report
    assert "bad.py:6: error: Incompatible return value type" in report or "bad.py:6" in report
