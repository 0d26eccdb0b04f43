# The PTX rewrite behind Hopper's warpgroup tiles (kernels/tc_wgmma.clh, ocl::retargetWgmma):
# NVIDIA's OpenCL compiler emits PTX for sm_90, where ptxas refuses wgmma, so the kernel's
# sm_90a lines are PTX comments ("//WG:") that the build uncomments before retargeting the
# program to sm_90a. Checked here on PTX text; on an H100 / H200 the device tier runs the tiles.
import importlib.util
from pathlib import Path

from clrt._clrt import _debug

PTX = (
    "//\n.version 9.0\n.target sm_90, texmode_independent\n.address_size 64\n"
    "\t// begin inline asm\n{\n.reg .pred p;\n//WG:wgmma.fence.sync.aligned;\n"
    "//WG:wgmma.mma_async.sync.aligned.m64n8k16.f32.f16.f16 {%f1,%f2,%f3,%f4}, %rd1, %rd2, p, 1, 1, 0, 0;\n"
    "}\n\t// end inline asm\n"
)


def test_markers_uncommented_and_target_sm_90a():
    out = _debug.retarget_wgmma(PTX.encode())
    assert out is not None and out.endswith(b"\0")
    text = out[:-1].decode()
    assert ".target sm_90a, texmode_independent\n" in text
    assert "//WG:" not in text
    assert "\nwgmma.fence.sync.aligned;\n" in text
    assert "\nwgmma.mma_async.sync.aligned.m64n8k16" in text
    # Everything else as it was: only the markers and the target's "a" differ.
    assert text.replace("sm_90a", "sm_90") == PTX.replace("//WG:", "")
    # A binary with the compiler's trailing NUL reads the same.
    assert _debug.retarget_wgmma(PTX.encode() + b"\0") == out


def test_other_ptx_left_alone():
    assert _debug.retarget_wgmma(PTX.replace("sm_90,", "sm_80,").encode()) is None
    assert _debug.retarget_wgmma(PTX.replace("sm_90,", "sm_90a,").encode()) is None
    assert _debug.retarget_wgmma(PTX.replace("//WG:", "").encode()) is None
    assert _debug.retarget_wgmma(b"") is None


def test_generated_header_is_current():
    """kernels/tc_wgmma.clh is what scripts/gen_wgmma.py writes (edit the script, not the file)."""
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("gen_wgmma", root / "scripts/gen_wgmma.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (root / "csrc/clrt/kernels/tc_wgmma.clh").read_text() == gen.render()
