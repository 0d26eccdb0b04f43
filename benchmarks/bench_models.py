# Latency/throughput of ResNet-18/50-style models: clrt FP32 vs onnxruntime (vs PyTorch on CUDA).
"""Usage: python benchmarks/bench_models.py [--models resnet18 resnet50] [--batches 1 32]
                                            [--size 224] [--iters 10] [--device-compare]
                                            [--precisions fp32 fp32-strict fp16 int8]

The models come from scripts/export_models.py (seeded random weights, built as ONNX with numpy
and onnx only, written to a temporary directory). For each model, batch size and precision,
clrt builds an engine for exactly that shape: fp32 (the default flags: TF32 on, as in TensorRT,
so FP32 layers may take TF32 tensor-core tactics on NVIDIA), fp32-strict (BuilderFlag.TF32
cleared), fp16 (BuilderFlag.FP16) or int8
(BuilderFlag.INT8 + FP16, TensorRT's --best, calibrated by an IInt8EntropyCalibrator2 on two
seeded batches of the benchmark's input distribution). Each engine is timed two ways: through
context.infer (host arrays in and out, so copies are included, as they are for onnxruntime's
run on the same CPU) and on the device alone (execute_v2 on device buffers filled once). With
--device-compare, PyTorch eager on CUDA (FP32 with TF32 off and on, and FP16 when fp16 or int8
is asked for) runs the same graph with the same weights when torch and a CUDA device are
available. Reports median latency and images/s, and the largest difference from onnxruntime's
FP32 output.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import clrt as trt
import numpy as np
import onnx
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import export_models


def median_ms(fn, iters, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def with_size(model, size):
    """The model with its input declared at size x size (the graph is size-agnostic)."""
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = dims[3].dim_value = size
    return model


class _Calibrator(trt.IInt8EntropyCalibrator2):
    def __init__(self, shape):
        super().__init__()
        rng = np.random.default_rng(1)
        self.batches = [rng.standard_normal(shape).astype(np.float32) for _ in range(2)]

    def get_batch_size(self):
        return self.batches[0].shape[0] if self.batches else 1

    def get_batch(self, names):
        return [self.batches.pop()] if self.batches else None

    def read_calibration_cache(self):
        return None

    def write_calibration_cache(self, cache):
        pass


def clrt_runner(path, batch, size, logger, precision="fp32", timing_cache=None):
    """(run(x) -> logits through context.infer, the same with infer's copies from pageable
    memory (CLRT_PINNED_IO=0: no pinned staging), device-only timing callable, build seconds)."""
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(path)):
        sys.exit("\n".join(str(parser.get_error(i)) for i in range(parser.num_errors)))
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    shape = (batch, 3, size, size)
    profile.set_shape("input", shape, shape, shape)
    config.add_optimization_profile(profile)
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "fp32-strict":
        config.clear_flag(trt.BuilderFlag.TF32)
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = _Calibrator(shape)
    cache = None
    if timing_cache:  # read it if it exists, extend it with this build's timings, write it back
        data = Path(timing_cache).read_bytes() if Path(timing_cache).exists() else b""
        cache = config.create_timing_cache(data)
        config.set_timing_cache(cache, False)
    t0 = time.perf_counter()
    plan = builder.build_serialized_network(network, config)
    build_s = time.perf_counter() - t0
    if cache is not None:
        Path(timing_cache).write_bytes(bytes(cache.serialize()))
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
    context = engine.create_execution_context()
    # Device-only: I/O buffers allocated and filled once, execute_v2 (synchronous) per run.
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    out_shape = (batch,) + tuple(engine.get_tensor_shape("logits"))[1:]
    d_in = trt.mem_alloc(x.nbytes)
    d_out = trt.mem_alloc(int(np.prod(out_shape)) * 4)
    trt.memcpy_htod(d_in, x)
    ptrs = [int(d_in), int(d_out)]

    def device_only(_x=None, keep=(d_in, d_out)):
        context.execute_v2(ptrs)

    # A second context whose infer() copies straight from pageable memory (the choice is made at
    # its first infer), to show what the pinned staging buys on this device.
    pageable = engine.create_execution_context()
    saved = os.environ.get("CLRT_PINNED_IO")
    os.environ["CLRT_PINNED_IO"] = "0"
    pageable.infer({"input": x})
    if saved is None:
        del os.environ["CLRT_PINNED_IO"]
    else:
        os.environ["CLRT_PINNED_IO"] = saved

    def run(x, ctx=context):
        return ctx.infer({"input": x})["logits"]

    return run, (lambda x: run(x, pageable)), device_only, build_s


def torch_runner(name, batch, size, half=False, tf32=False):
    """PyTorch eager FP32 (TF32 as asked, or FP16) on CUDA, or (None, reason) when unavailable."""
    try:
        import torch
    except ImportError:
        return None, "torch not installed"
    if not torch.cuda.is_available():
        return None, "no CUDA device"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True

    build, _ = export_models.FULL[name]
    dtype = torch.float16 if half else torch.float32
    runner = export_models.TorchRunner(0, "cuda", dtype).replaying()

    def run(x):
        with torch.no_grad():
            y = build(runner, torch.from_numpy(x).cuda().to(dtype))
            runner.w.rewind()
            torch.cuda.synchronize()
            return y.float().cpu().numpy()

    return run, torch.cuda.get_device_name()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--models", nargs="+", default=["resnet18", "resnet50"], choices=sorted(export_models.FULL)
    )
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 32])
    ap.add_argument("--size", type=int, default=224, help="input height and width")
    ap.add_argument("--iters", type=int, default=10, help="timed runs per measurement")
    ap.add_argument(
        "--device-compare",
        action="store_true",
        help="also time PyTorch eager FP32 (TF32 off and on), and FP16 with fp16/int8, on CUDA",
    )
    ap.add_argument(
        "--precisions",
        nargs="+",
        default=["fp32"],
        choices=["fp32", "fp32-strict", "fp16", "int8"],
    )
    ap.add_argument(
        "--timing-cache",
        help="timing cache file: read before each build (if it exists) and written after it",
    )
    args = ap.parse_args()

    logger = trt.Logger(trt.Logger.WARNING)
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            path = Path(tmp) / f"{name}.onnx"
            onnx.save(with_size(export_models.make_onnx(name), args.size), str(path))
            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            for batch in args.batches:
                x = np.random.default_rng(0).standard_normal((batch, 3, args.size, args.size))
                x = x.astype(np.float32)
                ref = sess.run(None, {"input": x})[0]
                backends = []
                for prec in args.precisions:
                    run, paged, dev_only, build_s = clrt_runner(
                        path, batch, args.size, logger, prec, args.timing_cache
                    )
                    notes.append(f"clrt build {name} batch {batch} {prec}: {build_s:.1f} s")
                    backends.append((f"clrt {prec.upper()}", lambda x=x, run=run: run(x)))
                    backends.append((f"clrt {prec.upper()} pageable copies", paged))
                    backends.append((f"clrt {prec.upper()} device only", dev_only))
                backends.append(
                    ("onnxruntime CPU", lambda x=x, s=sess: s.run(None, {"input": x})[0])
                )
                if args.device_compare:
                    kinds = [(False, False), (False, True)]
                    kinds += [(True, False)] * bool({"fp16", "int8"} & set(args.precisions))
                    for half, tf32 in kinds:
                        trun, info = torch_runner(name, batch, args.size, half, tf32)
                        if trun is None:
                            notes.append(f"PyTorch CUDA skipped: {info}")
                            break
                        kind = "FP16" if half else ("FP32+TF32" if tf32 else "FP32")
                        label = f"PyTorch {kind} {info}"
                        backends.append((label, lambda x=x, t=trun: t(x)))
                for label, fn in backends:
                    out = fn(x)
                    diff = float(np.abs(out - ref).max()) if out is not None else float("nan")
                    ms = median_ms(lambda fn=fn, x=x: fn(x), args.iters)
                    rows.append((name, batch, label, ms, batch * 1e3 / ms, diff))

    print(
        f"\ninput {args.size}x{args.size}, median of {args.iters} runs; "
        f"clrt device: {device_name()}"
    )
    header = (
        f"{'model':<10} {'batch':>5}  {'backend':<40} {'median ms':>10} {'images/s':>10} "
        f"{'max|diff|':>10}"
    )
    print(header)
    print("-" * len(header))
    for name, batch, label, ms, ips, diff in rows:
        print(f"{name:<10} {batch:>5}  {label[:40]:<40} {ms:>10.2f} {ips:>10.1f} {diff:>10.2e}")
    for note in dict.fromkeys(notes):
        print(note)


def device_name():
    return str(trt.current_device())


if __name__ == "__main__":
    main()
