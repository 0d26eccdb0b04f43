#!/usr/bin/env bash
# Developer build: configure + build into a build dir (default /tmp/build) and stage an importable
# package there, so tests run without installing:
#   bash scripts/dev_build.sh /tmp/build_me && PYTHONPATH=/tmp/build_me/stage python -m pytest tests
# CLRT_CMAKE_ARGS adds CMake options (e.g. -DCLRT_STATIC_LIBSTDCXX=ON). Warnings are errors, as
# in CI's build (CI=true), so a warning cannot pass here and fail there.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-/tmp/build}"
mkdir -p "$BUILD" && BUILD="$(cd "$BUILD" && pwd)"  # absolute: the staged links must resolve
PY="${PYTHON:-$(command -v python3)}"
[ -x .venv/bin/python ] && PY="${PYTHON:-.venv/bin/python}"
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCLRT_WERROR=ON \
    -Dpybind11_DIR="$("$PY" -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$PY" \
    -DPython3_EXECUTABLE="$PY" ${CLRT_CMAKE_ARGS:-} >/dev/null
fi
cmake --build "$BUILD" -j"${JOBS:-2}"
mkdir -p "$BUILD/stage/clrt"
for f in python/clrt/*; do ln -sf "$PWD/$f" "$BUILD/stage/clrt/"; done
ln -sf "$BUILD"/_clrt*.so "$BUILD/clrt-compile-worker" "$BUILD/stage/clrt/"
echo "staged: PYTHONPATH=$BUILD/stage"
