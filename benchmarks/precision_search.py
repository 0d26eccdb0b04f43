# clrt.accuracy.search_precisions on the trained Fashion-MNIST models with TensorRT's plain KL.
"""Usage: python benchmarks/precision_search.py [--models fmnist_cnn ...] [--test-images 1000]
                                               [--calib-images 512] [--budget 0.1] [--json]

For each model: Entropy2 calibration on the first --calib-images training images with
config.refine_int8_ranges = False (TensorRT's KL thresholds as they are), builder optimization
level 0, then search_precisions with the given budget (top-1 points of onnxruntime FP32's) on the
first --test-images test images. Prints the result and the candidates (metric, output SNR,
latency of context.infer per batch of 250 on this machine's OpenCL device, Pareto front).
"""

import argparse
import sys
import time
from pathlib import Path

import clrt as trt
from clrt import accuracy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import fmnist  # scripts/ is not a package


class Calibrator(trt.IInt8EntropyCalibrator2):
    def __init__(self, images, batch=64):
        trt.IInt8EntropyCalibrator2.__init__(self)
        self.images, self.batch, self.pos = images, batch, 0

    def get_batch_size(self):
        return self.batch

    def get_batch(self, names):
        if self.pos >= len(self.images):
            return None
        self.pos += self.batch
        return [self.images[self.pos - self.batch : self.pos]]

    def read_calibration_cache(self):
        return None

    def write_calibration_cache(self, cache):
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--models", nargs="+", default=["fmnist_cnn", "fmnist_dwse", "fmnist_transformer"]
    )
    ap.add_argument("--test-images", type=int, default=1000)
    ap.add_argument("--calib-images", type=int, default=512)
    ap.add_argument("--budget", type=float, default=0.1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    calib = fmnist.load("train")[0][: args.calib_images]
    x, y = fmnist.load("test")
    n = args.test_images
    xs = [x[i : min(i + 250, n)] for i in range(0, n, 250)]
    ys = [y[i : min(i + 250, n)] for i in range(0, n, 250)]
    for model in args.models:
        t0 = time.perf_counter()
        r = accuracy.search_precisions(
            ROOT / "models" / f"{model}.onnx",
            calibrator=Calibrator(calib),
            data=xs,
            labels=ys,
            budget=args.budget,
            refine_int8_ranges=False,
            builder_optimization_level=0,
        )
        secs = time.perf_counter() - t0
        if args.json:
            print(r.to_json())
            continue
        print(f"\n{model} ({secs:.0f} s)\n{r}\n{r.candidates}")


if __name__ == "__main__":
    main()
