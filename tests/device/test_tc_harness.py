# benchmarks/tc_gemm_harness.cc, the harness that times tc_matmul's forms on a GPU (PERSIST,
# PINGPONG, beside the tactics' tiles), built and run on the current device:
# each option set must match the harness's host reference on its three shapes (a large one, an
# aligned small one, an odd one), exactly for INT8. Emulated (TC_EMULATE) where the device is
# not NVIDIA, so CI's emulated step keeps the experiments' indexing from rotting between the
# leases that time them.
import subprocess

import pytest
from helpers import ROOT
from test_tensorcore import NEEDS_TC

pytestmark = NEEDS_TC

WG = "-DWARPS_N=1 -DTC_WGMMA=1"
PP = f"-DBM=64 -DBN=256 -DWARPS_M=4 {WG} -DWG_ASYNC=1 -DKCH=8 -DEP_REG=1 -DPINGPONG=1 -DSTAGES=4"
PS = f"-DBM=64 -DBN=128 -DWARPS_M=4 {WG} -DKCH=4 -DSTAGES=4 -DPERSIST=1 -DNKP=1 -DEP_ROWS=64"
# name: INT8 (1) or FP16 (0), M N K of the large shape, the option set. The ping-pong cases give
# a block more tiles than one (four blocks, or three, over 12 tiles), so both consumers take
# several in turn and the ring's slots are reused across tiles.
CASES = {
    "pingpong-fp16-half-residual": ("0", "384 512 320", f"{PP} -DRES_DT=1 -DPS_BLOCKS=4"),
    "pingpong-int8-int8-output": ("1", "320 700 256", f"{PP} -DOUT_DT=2 -DRES_DT=2 -DPS_BLOCKS=3"),
    "persist-int8-int8-residual": (
        "1",
        "640 256 64",
        f"{PS} -DRES_STAGE=1 -DOUT_DT=2 -DRES_DT=2 -DPS_BLOCKS=6",
    ),
}


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    # g++: build-essential, which scripts/setup.sh installs to build clrt itself.
    exe = tmp_path_factory.mktemp("harness") / "tc_gemm_harness"
    src = ROOT / "benchmarks" / "tc_gemm_harness.cc"
    p = subprocess.run(
        ["g++", "-O2", "-std=c++17", str(src), "-lOpenCL", "-o", str(exe)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    return exe


@pytest.mark.parametrize("name", sorted(CASES))
def test_harness_option_set_matches_reference(harness, name):
    int8, shape, opts = CASES[name]
    kernels = ROOT / "csrc" / "clrt" / "kernels"
    p = subprocess.run(
        [str(harness), str(kernels), int8, *shape.split(), "0", opts],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    rows = [line for line in p.stdout.splitlines() if line.startswith(opts)]
    assert len(rows) == 1, p.stdout
    assert " ok (build" in rows[0], rows[0]
