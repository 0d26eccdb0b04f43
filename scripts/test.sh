#!/usr/bin/env bash
# The whole test suite: install what is missing, build, check formatting, run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== format checks"
git ls-files 'csrc/*.cc' 'csrc/*.h' | xargs clang-format --dry-run --Werror
.venv/bin/ruff format --check python tests benchmarks examples scripts
.venv/bin/ruff check python tests benchmarks examples scripts
echo "== pytest"
.venv/bin/python -m pytest -q tests "$@"
