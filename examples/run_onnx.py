# Builds a clrt engine from an ONNX model and checks it against onnxruntime on Fashion-MNIST.
"""Usage: python examples/run_onnx.py [--model models/fmnist_cnn.onnx] [--images 10000]
                                     [--precisions fp32 int8]

The TensorRT workflow with `import clrt as trt`: parse the ONNX file, build an engine with a
batch profile (FP32; INT8 calibrated by an IInt8EntropyCalibrator2 on 512 Fashion-MNIST
training images; FP16), deserialize it, and run the Fashion-MNIST test set through it and
through onnxruntime. Prints top-1 accuracy of each, how often clrt agrees with onnxruntime, the
largest logit difference, build time, and images/s at batch 1 and batch 256. The OpenCL device
is the first GPU, else the first device; set CLRT_DEVICE (index or name substring) to pick
another.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import clrt as trt
import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import fmnist

BIG_BATCH = 256


class Calibrator(trt.IInt8EntropyCalibrator2):
    """Feeds training images in batches of 64 (never the test images that are scored)."""

    def __init__(self, images):
        super().__init__()
        self.batches = [images[i : i + 64] for i in range(0, len(images), 64)]

    def get_batch_size(self):
        return 64

    def get_batch(self, names):
        return [self.batches.pop(0)] if self.batches else None

    def read_calibration_cache(self):
        return None

    def write_calibration_cache(self, cache):
        pass


def build_engine(path, logger, precision="fp32"):
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(path)):
        errors = "\n".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        sys.exit(f"failed to parse {path}:\n{errors}")
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    name = network.get_input(0).name
    profile.set_shape(name, (1, 1, 28, 28), (BIG_BATCH, 1, 28, 28), (BIG_BATCH, 1, 28, 28))
    config.add_optimization_profile(profile)
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = Calibrator(fmnist.load("train")[0][:512])
    plan = builder.build_serialized_network(network, config)
    return trt.Runtime(logger).deserialize_cuda_engine(plan), name


def run_all(fn, x, batch):
    return np.concatenate([fn(x[i : i + batch]) for i in range(0, len(x), batch)])


def images_per_second(fn, x, batch, budget_s=5.0):
    """Median throughput over repeated batches, stopping after ~budget_s of measurement."""
    fn(x[:batch])  # warm-up: first-run allocations
    rates, start, i = [], time.perf_counter(), 0
    while time.perf_counter() - start < budget_s or len(rates) < 3:
        xb = x[i : i + batch] if i + batch <= len(x) else x[:batch]
        t0 = time.perf_counter()
        fn(xb)
        rates.append(len(xb) / (time.perf_counter() - t0))
        i = (i + batch) % len(x)
    return statistics.median(rates)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models" / "fmnist_cnn.onnx"))
    ap.add_argument("--images", type=int, default=10000, help="test images to evaluate")
    ap.add_argument("--seconds", type=float, default=5.0, help="time budget per throughput run")
    ap.add_argument(
        "--precisions", nargs="+", default=["fp32", "int8"], choices=["fp32", "fp16", "int8"]
    )
    args = ap.parse_args()

    x, y = fmnist.load("test")
    x, y = x[: args.images], y[: args.images]
    logger = trt.Logger(trt.Logger.WARNING)

    sess = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    input_name = sess.get_inputs()[0].name
    output_name = sess.get_outputs()[0].name

    def ort_fn(xb):
        return sess.run([output_name], {input_name: xb})[0]

    ref = run_all(ort_fn, x, BIG_BATCH)
    rows = [
        ("model", Path(args.model).name),
        ("OpenCL device", trt.current_device().name[:40]),
        ("test images", f"{len(x)}"),
        ("top-1 accuracy, onnxruntime FP32", f"{(ref.argmax(1) == y).mean():.4f}"),
    ]
    runners = []
    for prec in args.precisions:
        t0 = time.perf_counter()
        engine, _ = build_engine(args.model, logger, prec)
        build_s = time.perf_counter() - t0
        context = engine.create_execution_context()

        def clrt_fn(xb, context=context):
            return context.infer({input_name: xb})[output_name]

        ours = run_all(clrt_fn, x, BIG_BATCH)
        tag = f"clrt {prec.upper()}"
        rows += [
            (f"{tag}: engine build time", f"{build_s:.2f} s"),
            (f"{tag}: top-1 accuracy", f"{(ours.argmax(1) == y).mean():.4f}"),
            (
                f"{tag}: top-1 agreement with onnxruntime",
                f"{(ours.argmax(1) == ref.argmax(1)).mean():.4f}",
            ),
            (f"{tag}: max |logit difference|", f"{np.abs(ours - ref).max():.2e}"),
        ]
        runners.append((tag, clrt_fn))
    runners.append(("onnxruntime", ort_fn))
    for batch in (1, BIG_BATCH):
        for label, fn in runners:
            rate = images_per_second(fn, x, batch, args.seconds)
            rows.append((f"{label} images/s, batch {batch}", f"{rate:.0f}"))

    width = max(len(k) for k, _ in rows)
    print(f"\n{'':-<{width + 18}}")
    for key, value in rows:
        print(f"{key:<{width}}  {value:>16}")
    print(f"{'':-<{width + 18}}")
    device = trt.current_device()
    kind = "a GPU" if device.is_gpu else "a CPU device (PoCL), not a GPU"
    print(
        f"""
What the figures mean:
- Device: clrt ran on {device.name.strip()}, {kind}.
- Accuracy is top-1 on the Fashion-MNIST test images; "agreement" is how often clrt's top
  class equals onnxruntime FP32's on the same image, and the logit difference is the largest
  gap between their raw outputs (INT8's is quantization error, FP32's is rounding).
- Speed is images per second through context.infer() (host arrays in and out, copies
  included), side by side with onnxruntime's CPU execution provider on this machine: the
  reference every clrt result is checked against, and what a user would otherwise run.
- On a CPU, clrt's OpenCL kernels (compiled by PoCL) are generic code and onnxruntime's are
  hand-tuned for x86, so onnxruntime is expected to be faster here. clrt targets GPUs: figures
  from an NVIDIA H100/H200 (against PyTorch on the same GPU) are in benchmarks/RESULTS.md."""
    )


if __name__ == "__main__":
    main()
