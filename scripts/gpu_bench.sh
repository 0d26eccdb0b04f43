#!/usr/bin/env bash
# On the lent GPU machine (no package registry; kit in .device, see README "GPU machine"):
# builds clrt with CMake into /tmp/build, then runs what is given, e.g.
#   bash scripts/gpu_bench.sh python benchmarks/bench_models.py --models resnet50 --batches 64
# Output of each command also goes to $OUT (when set) as gpu_<n>.log.
set -uo pipefail
cd "$(dirname "$0")/.."
source .device/gpu-env.sh >/dev/null
PY=${PYTHON:-/opt/torch/.venv/bin/python}
[ -x "$PY" ] || PY=$(command -v python3)
echo "== building clrt ($("$PY" --version))"
t0=$(date +%s)
CLRT_CMAKE_ARGS="-DCLRT_STATIC_LIBSTDCXX=ON" PYTHON="$PY" JOBS=$(nproc) bash scripts/dev_build.sh /tmp/build >/tmp/gpu_build.log 2>&1 ||
  { tail -40 /tmp/gpu_build.log; exit 1; }
echo "   built in $(($(date +%s) - t0)) s"
export PYTHONPATH=/tmp/build/stage
"$@"
