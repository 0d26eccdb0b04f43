# A minute of the ONNX fuzz harness (scripts/fuzz_onnx.py) with a fixed seed: no crash, no hang.
from helpers import _load_script_module

fuzz_onnx = _load_script_module("fuzz_onnx")


def test_fuzz_onnx_one_minute(tmp_path):
    counts, crashes = fuzz_onnx.fuzz(
        seed=11, seconds=60, out=tmp_path, timeout=60, run_fraction=0.2, log=lambda _: None
    )
    assert not crashes, crashes
    assert counts["crash"] == 0 and counts["hang"] == 0, counts
    # The harness must have done real work on both sides of the parser's verdict.
    assert counts["trials"] >= 50 and counts["ok"] > 0 and counts["refused"] > 0, counts
