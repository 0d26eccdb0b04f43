#!/usr/bin/env bash
# The main job: build an engine from the bundled Fashion-MNIST model, run the test set, print
# accuracy and speed beside onnxruntime.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python examples/run_onnx.py "$@"
