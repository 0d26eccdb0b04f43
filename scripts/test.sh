#!/usr/bin/env bash
# The whole test suite: install what is missing, build, check formatting, run pytest: the unit
# tier with the OpenCL ICD hidden (it must need no device), the device tier, then the
# tensor-core kernels emulated (CLRT_TC_EMULATE=1: small tiles, same data path; they are
# skipped in the device tier unless the device is NVIDIA).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== format checks"
git ls-files 'csrc/*.cc' 'csrc/*.h' | xargs clang-format --dry-run --Werror
.venv/bin/ruff format --check python tests benchmarks examples scripts
.venv/bin/ruff check python tests benchmarks examples scripts
echo "== pytest: unit tier (no OpenCL device: ICD hidden)"
OCL_ICD_VENDORS=/nonexistent .venv/bin/python -m pytest -q tests/unit "$@"
echo "== pytest: device tier"
.venv/bin/python -m pytest -q tests/device "$@"
echo "== pytest: tensor-core kernels emulated (CLRT_TC_EMULATE=1)"
CLRT_TC_EMULATE=1 .venv/bin/python -m pytest -q tests/device/test_tensorcore.py \
  tests/device/test_tactics_all.py -k "tc_ or tensorcore" "$@"
