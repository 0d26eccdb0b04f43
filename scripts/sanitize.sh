#!/usr/bin/env bash
# The sanitizer job (CI runs it after the test command): clrt's module built with AddressSanitizer
# and UndefinedBehaviorSanitizer, then the hardening tests, the ONNX fuzz smoke test and the
# network-API tests (layers added while references into the network are held) run on it.
# Any ASan or UBSan report stops the process with a stack trace and fails the job.
#   bash scripts/sanitize.sh                 # build into build/asan (incremental), run the tests
#   bash scripts/sanitize.sh tests/device/test_x.py # or these tests instead
#   CLRT_SANITIZERS=undefined bash scripts/sanitize.sh tests/unit tests/device
#     # UBSan alone (build/ubsan, -O2): cheap enough for the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null  # the venv and the Debian packages (and the normal build)
SAN="${CLRT_SANITIZERS:-address,undefined}"
case "$SAN" in
  address,undefined) BUILD="$PWD/build/asan" OPT=-O1 ;;
  undefined) BUILD="$PWD/build/ubsan" OPT=-O2 ;;
  *) echo "CLRT_SANITIZERS must be address,undefined or undefined, not '$SAN'" >&2 && exit 2 ;;
esac
PRELOAD="$(gcc -print-file-name=libubsan.so)"
[ "$SAN" = undefined ] || PRELOAD="$(gcc -print-file-name=libasan.so) $PRELOAD"
echo "== sanitizer build ($SAN, $OPT) in $BUILD"
if [ ! -f "$BUILD/build.ninja" ]; then
  PY=.venv/bin/python
  CXXFLAGS="-fsanitize=$SAN -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=$OPT \
    -Dpybind11_DIR="$("$PY" -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$PY" \
    -DPython3_EXECUTABLE="$PY" >/dev/null
fi
# Ninja prints [n/N] per file: the build is long on 2 cores, and this shows it moving.
cmake --build "$BUILD" -j"${JOBS:-$(nproc)}" | grep --line-buffered -E '^\[[0-9]+/[0-9]+\]|error' |
  sed -u -E 's/ Building CXX object .*\/csrc\/clrt\// compiling /; s/\.o$//'
mkdir -p "$BUILD/stage/clrt"
for f in python/clrt/*; do ln -sf "$PWD/$f" "$BUILD/stage/clrt/"; done
ln -sf "$BUILD"/_clrt*.so "$BUILD/clrt-compile-worker" "$BUILD/stage/clrt/"

echo "== tests under $SAN"
TESTS=("$@")
if [ ${#TESTS[@]} -eq 0 ]; then
  TESTS=(tests/device/test_onnx_hardening.py tests/device/test_runtime_safety.py
    tests/device/test_engine_hardening.py tests/device/test_errors.py tests/device/test_fuzz_smoke.py
    tests/device/test_calibrator_api.py tests/device/test_timing_cache.py
    tests/device/test_data_dependent.py tests/device/test_network_api.py
    tests/device/test_network_adders.py tests/device/test_control_flow.py
    tests/device/test_compile_workers.py)
  [ -d tests/unit ] && TESTS=(tests/unit "${TESTS[@]}")
fi
# Python itself is not instrumented: the runtime is preloaded, leak checking is off (CPython and
# PoCL keep allocations until exit on purpose), and the first report ends the process.
LD_PRELOAD="$PRELOAD" \
  ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  PYTHONPATH="$BUILD/stage" CLRT_CACHE_DIR="$BUILD/kernel_cache" \
  .venv/bin/python -m pytest -q -p no:cacheprovider "${TESTS[@]}"
