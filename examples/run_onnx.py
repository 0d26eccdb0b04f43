# Builds a clrt engine from an ONNX model and checks it against onnxruntime on Fashion-MNIST.
"""Usage: python examples/run_onnx.py [--model models/fmnist_cnn.onnx] [--images 10000]

The TensorRT workflow with `import clrt as trt`: parse the ONNX file, build an engine with a
batch profile, deserialize it, and run the Fashion-MNIST test set through it and through
onnxruntime. Prints top-1 accuracy of both, how often they agree, the largest logit
difference, build time, and images/s at batch 1 and batch 256. The OpenCL device is the first
GPU, else the first device; set CLRT_DEVICE (index or name substring) to pick another.
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


def build_engine(path, logger):
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
    args = ap.parse_args()

    x, y = fmnist.load("test")
    x, y = x[: args.images], y[: args.images]
    logger = trt.Logger(trt.Logger.WARNING)

    t0 = time.perf_counter()
    engine, input_name = build_engine(args.model, logger)
    build_s = time.perf_counter() - t0
    context = engine.create_execution_context()
    output_name = engine.get_tensor_name(engine.num_io_tensors - 1)

    sess = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])

    def clrt_fn(xb):
        return context.infer({input_name: xb})[output_name]

    def ort_fn(xb):
        return sess.run([output_name], {input_name: xb})[0]

    ours, ref = run_all(clrt_fn, x, BIG_BATCH), run_all(ort_fn, x, BIG_BATCH)
    rows = [
        ("model", Path(args.model).name),
        ("OpenCL device", trt.current_device().name[:40]),
        ("test images", f"{len(x)}"),
        ("engine build time", f"{build_s:.2f} s"),
        ("top-1 accuracy, clrt", f"{(ours.argmax(1) == y).mean():.4f}"),
        ("top-1 accuracy, onnxruntime", f"{(ref.argmax(1) == y).mean():.4f}"),
        ("top-1 agreement", f"{(ours.argmax(1) == ref.argmax(1)).mean():.4f}"),
        ("max |logit difference|", f"{np.abs(ours - ref).max():.2e}"),
    ]
    for batch in (1, BIG_BATCH):
        for label, fn in (("clrt", clrt_fn), ("onnxruntime", ort_fn)):
            rate = images_per_second(fn, x, batch, args.seconds)
            rows.append((f"{label} images/s, batch {batch}", f"{rate:.0f}"))

    width = max(len(k) for k, _ in rows)
    print(f"\n{'':-<{width + 18}}")
    for key, value in rows:
        print(f"{key:<{width}}  {value:>16}")
    print(f"{'':-<{width + 18}}")


if __name__ == "__main__":
    main()
