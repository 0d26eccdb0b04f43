#!/usr/bin/env bash
# Installs what is missing (Debian packages, a venv in .venv with the Python packages) and
# builds/installs clrt into the venv. Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS="build-essential cmake ninja-build clang-format libonnx-dev libprotobuf-dev protobuf-compiler \
libclblast-dev ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo dataset-fashion-mnist \
python3-venv python3-dev"
missing=""
for p in $DEBS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "== installing Debian packages:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# tqdm: clrt.progress's bars; nbclient + ipykernel: the example notebook's test runs it headless.
.venv/bin/python -m pip install -q numpy onnx onnxruntime pytest ruff polygraphy mypy \
  "scikit-build-core>=0.8" "pybind11>=2.10" cmake ninja tqdm nbclient ipykernel
echo "== building clrt (the first build compiles ~90 C++ files: many minutes on 2 cores)"
# -v shows CMake's progress lines ([n/N] per file); everything else of pip's output is dropped.
.venv/bin/python -m pip install -v --no-build-isolation . 2>&1 |
  { grep --line-buffered -E '^\s*\[[0-9]+/[0-9]+\]|[Ee]rror|warning:' || true; }
