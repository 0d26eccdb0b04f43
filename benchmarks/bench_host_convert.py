# Host-side cost of infer()'s narrow uploads: an INT8 engine's FLOAT input is quantized, an FP16
# engine's converted to half, while it is copied into pinned staging (runtime/host_io.cc).
"""Usage: python benchmarks/bench_host_convert.py [--batch 64] [--iters 10]

One thread converts a (batch, 3, 224, 224) float32 array (ResNet-50's input), as each of
infer()'s staging threads converts its chunks: the plain copy (np.copyto, what a FLOAT upload
does), the INT8 quantization and the half conversion, each with the vector path (SSE2 / F16C)
and the scalar one (CLRT_HOST_SIMD=0). Prints the median ms and GB/s of float input read.
"""

import argparse
import os
import sys
from pathlib import Path

import clrt as trt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_models import median_ms  # a sibling script, not a package


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--iters", type=int, default=10)
    args = ap.parse_args()
    x = np.random.default_rng(0).uniform(-4, 4, (args.batch, 3, 224, 224)).astype(np.float32)
    dst = np.empty_like(x)
    debug = trt._clrt._debug
    rows = [("copy (FLOAT upload)", "-", lambda: np.copyto(dst, x))]
    for simd in ("1", "0"):
        os.environ["CLRT_HOST_SIMD"] = simd
        path = "vector" if simd == "1" else "scalar"
        rows.append((f"INT8 quantization ({path})", simd, lambda: debug.host_quantize(x, 31.75)))
        rows.append((f"half conversion ({path})", simd, lambda: debug.host_halves(x)))
    print(f"(batch {args.batch}, {x.nbytes / 1e6:.1f} MB of float32, one thread)")
    print("| conversion | median ms | GB/s read |")
    print("| --- | --- | --- |")
    for name, simd, fn in rows:
        if simd != "-":
            os.environ["CLRT_HOST_SIMD"] = simd
        ms = median_ms(fn, args.iters)
        print(f"| {name} | {ms:.2f} | {x.nbytes / ms / 1e6:.1f} |")


if __name__ == "__main__":
    main()
