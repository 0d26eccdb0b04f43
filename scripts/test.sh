#!/usr/bin/env bash
# The whole test suite: install what is missing, build, check formatting, run pytest: the unit
# tier with the OpenCL ICD hidden (it must need no device), then the device tier.
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
