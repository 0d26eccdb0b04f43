# clrt against the best PyTorch on the same NVIDIA GPU, for real torchvision architectures.
"""Usage: python benchmarks/bench_torch.py [--models resnet50 vit_b_16] [--batches 64 1]
                                           [--precisions fp32 fp16 int8] [--iters 20] [--rounds 3]
                                           [--torch-modes eager-fp16 compile-fp16 ...]
                                           [--timing-cache FILE] [--no-torch] [--export-to DIR]

--export-to DIR only writes the ONNX files, for a per-layer profile of the same models:
  python benchmarks/bench_torch.py --models efficientnet_b0 --batches 64 --export-to /tmp
  clrtexec --onnx=/tmp/efficientnet_b0_b64.onnx --int8 --fp16 --separateProfileRun --dumpProfile

Needs torch, torchvision and a CUDA device (the lent GPU machine's /opt/torch/.venv) and clrt
on PYTHONPATH. Each model is torchvision's, with seeded random weights (torch.manual_seed(0),
weights=None) whose BatchNorm statistics are re-estimated on four seeded random batches
(calibrate_batchnorm: raw random weights make EfficientNet's activations vanish, so that even
PyTorch's own FP16 logits have cosine 0 to FP32), in eval mode, at 224x224. For every batch size it is exported to ONNX (the
TorchScript exporter, opset 17, static shape, input "input", output "logits") and clrt builds
one engine per precision from that file: fp32 (the default flags: TF32 on, as in TensorRT),
fp16 (BuilderFlag.FP16) or int8 (BuilderFlag.INT8 + FP16, TensorRT's --best, calibrated by an
IInt8EntropyCalibrator2 on two seeded standard-normal batches). PyTorch runs the same module
with the same weights, in channels_last memory format with cudnn.benchmark on.

Rows (median of --iters runs after warm-up, host wall clock around a synchronous call; the best
of --rounds such medians, the rounds going through every backend in turn after all are built and
compiled, with the worst round's median over the best in the "spread" column: on the lent H200
torch.compile's median moved by up to 2x between runs minutes apart):
- clrt PREC device only: execute_v2 on device buffers filled once;
- clrt PREC infer (copies, input as T): context.infer() on a host NumPy array (both copies
  included; T: the dtype the input crossed the bus in, INT8 or HALF when the engine quantizes or
  halves it first); "page-locked input": the same from a trt.pagelocked_empty array (TensorRT's
  samples allocate their host buffers page-locked with pycuda), which needs no host staging;
- PyTorch eager FP32 (TF32): TF32 allowed for cuBLAS and cuDNN;
- PyTorch eager FP16: model and input .half();
- PyTorch eager FP16 (copies): NumPy array -> .cuda() -> model -> .float().cpu().numpy();
- PyTorch compile FP16: torch.compile (Inductor, default mode) of the FP16 model;
- PyTorch compile reduce-overhead FP16: torch.compile(mode="reduce-overhead"), CUDA graphs.
PyTorch rows without "(copies)" are device only, like clrt's: the input is already on the GPU
and the output is left there. Columns: median ms, images/s, speed against "PyTorch compile
FP16" (ratio of images/s), and the largest absolute difference and the cosine similarity of
the logits against PyTorch FP32 eager with TF32 off on the same seeded input (the reference).
"""

import argparse
import copy
import gc
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import clrt as trt  # imported before torch (see README on libstdc++)
import numpy as np
import torch
import torchvision

MODELS = ["resnet50", "efficientnet_b0", "mobilenet_v3_large", "vit_b_16"]
LABELS = {
    "eager-fp32-tf32": "PyTorch eager FP32 (TF32)",
    "eager-fp16": "PyTorch eager FP16",
    "compile-fp16": "PyTorch compile FP16",
    "compile-ro-fp16": "PyTorch compile reduce-overhead FP16",
}
TARGET = LABELS["compile-fp16"]
SIZE = 224
CL = torch.channels_last


def calibrate_batchnorm(model, batches=4, batch=16):
    """BatchNorm running statistics from seeded standard-normal batches (train-mode forward
    passes, cumulative averages), so that random weights give activations of realistic scale."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return model
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    gen = torch.Generator(device="cuda").manual_seed(1)
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(batch, 3, SIZE, SIZE, device="cuda", generator=gen))
    return model.eval()


def median_ms(fn, iters, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def accuracy(out, ref):
    """(max |out - ref|, cosine similarity of out and ref), both flattened."""
    a, b = np.asarray(out, np.float64).ravel(), np.asarray(ref, np.float64).ravel()
    cos = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30))
    return float(np.abs(a - b).max()), cos


def tf32(on):
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def export_onnx(model, batch, path):
    """TorchScript exporter, opset 17, static batch; input "input", output "logits"."""
    # The fused multi-head-attention fast path (torchvision ViT in eval mode) has no
    # TorchScript-exporter symbolic; the unfused path exports as MatMul/Softmax. It is turned
    # back on afterwards, so that PyTorch's own runs keep it.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    dummy = torch.randn(batch, 3, SIZE, SIZE, device=next(model.parameters()).device)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (dummy,),
                str(path),
                dynamo=False,
                opset_version=17,
                input_names=["input"],
                output_names=["logits"],
                do_constant_folding=True,
            )
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def reference(model, x):
    """Logits of the FP32 model, TF32 off (contiguous memory format)."""
    tf32(False)
    with torch.inference_mode():
        return model(torch.from_numpy(x).cuda()).float().cpu().numpy()


class _Calibrator(trt.IInt8EntropyCalibrator2):
    """Two seeded standard-normal batches, as benchmarks/bench_models.py's."""

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


def _infer_sent(context, x):
    """(logits of context.infer on x, the dtype its input crossed the bus in: INT8, HALF or
    FLOAT)."""
    debug = trt._clrt._debug
    before = (debug.int8_uploads(), debug.half_uploads())
    out = context.infer({"input": x})["logits"]
    sent = {(1, 0): "INT8", (0, 1): "HALF"}.get(
        (debug.int8_uploads() - before[0], debug.half_uploads() - before[1]), "FLOAT"
    )
    return out, sent


def _first_conv(engine):
    """'name: tactic (precision)' of the engine's first convolution (a stem's precision and
    form: direct or space to depth), from the inspector; '-' when it has none."""
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    for layer in json.loads(info)["Layers"]:
        tactic = layer.get("TacticName", "") if isinstance(layer, dict) else ""
        if tactic.startswith("conv."):
            return f"{layer.get('Name', '?')}: {tactic} ({layer.get('Precision', '?')})"
    return "-"


def bench_clrt(path, x, precision, logger, timing_cache=None):
    """([(label, timed callable, logits)], build seconds, buffers to free) for one engine built
    from path."""
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(path)):
        errors = (str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError("parse failed: " + "; ".join(errors))
    config = builder.create_builder_config()
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED  # tactics in the inspector
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = _Calibrator(x.shape)
    cache = None
    if timing_cache:  # read it if it exists, extend it with this build's timings, write it back
        data = Path(timing_cache).read_bytes() if Path(timing_cache).exists() else b""
        cache = config.create_timing_cache(data)
        config.set_timing_cache(cache, False)
    t0 = time.perf_counter()
    plan = builder.build_serialized_network(network, config)
    build_s = time.perf_counter() - t0
    if plan is None:
        raise RuntimeError("build failed")
    if cache is not None:
        Path(timing_cache).write_bytes(bytes(cache.serialize()))
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
    context = engine.create_execution_context()
    label = "clrt " + {"fp32": "FP32 (TF32)", "fp16": "FP16", "int8": "INT8"}[precision]
    print(f"# {path.name} {precision}: first convolution {_first_conv(engine)}")

    # Device only: I/O buffers allocated and filled once, execute_v2 (synchronous) per run.
    out_shape = tuple(engine.get_tensor_shape("logits"))
    d_in, d_out = trt.mem_alloc(x.nbytes), trt.mem_alloc(int(np.prod(out_shape)) * 4)
    trt.memcpy_htod(d_in, x)
    bufs = {"input": d_in, "logits": d_out}
    ptrs = [int(bufs[engine.get_tensor_name(i)]) for i in range(engine.num_io_tensors)]
    context.execute_v2(ptrs)
    y = np.empty(out_shape, np.float32)
    trt.memcpy_dtoh(y, d_out)
    rows = [(f"{label} device only", lambda: context.execute_v2(ptrs), y)]

    # Host arrays in and out: infer() copies the input up and the logits back every run. The
    # input crosses the bus as INT8 or HALF when the engine's first layers quantize or halve it
    # (runtime/host_io.cc uploadNarrow): the label says which.
    out, sent = _infer_sent(context, x)
    rows.append(
        (f"{label} infer (copies, input as {sent})", lambda: context.infer({"input": x}), out)
    )
    # The same from a page-locked array (trt.pagelocked_empty, as TensorRT's samples allocate
    # their host buffers with pycuda): no staging copy on the host.
    xp = trt.pagelocked_empty(x.shape, x.dtype)
    xp[...] = x
    out, sent = _infer_sent(context, xp)
    rows.append(
        (
            f"{label} infer (copies, page-locked input as {sent})",
            lambda: context.infer({"input": xp}),
            out,
        )
    )
    return rows, build_s, [d_in, d_out]


def bench_torch(model32, x, modes, notes):
    """[(label, timed callable, logits)] for the PyTorch modes asked for (each model compiled
    and warmed up here, kept alive for the timing rounds); failures go to notes."""
    rows = []
    torch._dynamo.reset()
    xg = torch.from_numpy(x).cuda()
    for mode in modes:
        label = LABELS[mode]
        half = mode != "eager-fp32-tf32"
        compiled = mode.startswith("compile")
        grad_off = torch.no_grad if compiled else torch.inference_mode
        try:
            tf32(not half)
            model = copy.deepcopy(model32)
            model = (model.half() if half else model).to(memory_format=CL)
            xin = (xg.half() if half else xg).contiguous(memory_format=CL)
            if compiled:
                kind = "reduce-overhead" if mode == "compile-ro-fp16" else "default"
                model = torch.compile(model, mode=kind, dynamic=False)

            # The TF32 switches are global: each call sets its own mode's (they were left at
            # the last mode's set up, so the FP32 TF32 row was timed with TF32 off).
            def run(
                model=model,
                xin=xin,
                grad_off=grad_off,
                graphs=mode == "compile-ro-fp16",
                allow_tf32=not half,
            ):
                tf32(allow_tf32)
                if graphs:  # each call is a new step: earlier outputs may be overwritten
                    torch.compiler.cudagraph_mark_step_begin()
                with grad_off():
                    y = model(xin)
                torch.cuda.synchronize()
                return y

            t0 = time.perf_counter()
            run()  # torch.compile compiles here
            if compiled:
                notes.append(f"{label}: first call (compile) {time.perf_counter() - t0:.1f} s")
            for _ in range(5 if compiled else 2):  # reduce-overhead records at its 2nd-3rd call
                run()
            out = run().float().cpu().numpy()
            rows.append((label, run, out))
            if mode == "eager-fp16":

                def copies(model=model):
                    with torch.inference_mode():
                        xd = torch.from_numpy(x).cuda().half().contiguous(memory_format=CL)
                        return model(xd).float().cpu().numpy()

                rows.append((f"{label} (copies)", copies, copies()))
        except Exception as e:  # noqa: BLE001 (a torch.compile failure is a finding, not a crash)
            notes.append(f"{label} failed: {e!r}"[:400])
    return rows


def time_rows(rows, iters, rounds):
    """[(label, ms, logits, spread)]: each callable timed (median of iters runs) once per round,
    the rounds going through every row in turn so that a drift of the machine (clocks, another
    context's work) reaches every backend alike; ms is the best round's median and spread the
    worst round's over the best."""
    medians = [[] for _ in rows]
    for _ in range(rounds):
        for k, (_, fn, _) in enumerate(rows):
            medians[k].append(median_ms(fn, iters))
    return [(label, min(m), out, max(m) / min(m)) for (label, _, out), m in zip(rows, medians)]


def print_table(name, batch, rows, ref, notes, iters, rounds):
    base = next((ms for label, ms, _, _ in rows if label == TARGET), None)
    best = f"best of {rounds} rounds' medians" if rounds > 1 else "median"
    print(f"\n{name}, batch {batch}, {SIZE}x{SIZE}, {best} of {iters} runs")
    header = (
        f"{'backend':<40} {'median ms':>10} {'images/s':>10} {'vs compile FP16':>16} "
        f"{'max|diff|':>10} {'cosine':>9} {'spread':>7}"
    )
    print(header)
    print("-" * len(header))
    for label, ms, out, spread in rows:
        diff, cos = accuracy(out, ref)
        speed = f"{base / ms:.2f}x" if base else "-"
        print(
            f"{label:<40} {ms:>10.2f} {batch * 1e3 / ms:>10.1f} {speed:>16} "
            f"{diff:>10.2e} {cos:>9.6f} {spread:>6.2f}x"
        )
    if base is None:
        notes.append(f'no "{TARGET}" row: the speed column is empty')
    for note in notes:
        print(note)
    print(flush=True)


def print_header():
    try:
        clrt_device = str(trt.current_device())
    except Exception as e:  # noqa: BLE001 (the header must not stop the benchmark)
        clrt_device = f"unknown ({e!r})"
    print(f"GPU (PyTorch): {torch.cuda.get_device_name()}")
    print(f"clrt {trt.__version__} device: {clrt_device}")
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")
    print(
        "Device only: the input is already on the GPU and the output is left there; "
        '"(copies)" rows start from and end in host NumPy arrays. The speed column compares '
        'with torch.compile FP16, the target of the issue "Faster than PyTorch on the GPU".',
        flush=True,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["resnet50"], choices=MODELS)
    ap.add_argument("--batches", nargs="+", type=int, default=[64, 1])
    ap.add_argument(
        "--precisions",
        nargs="+",
        default=["fp16", "int8"],
        choices=["fp32", "fp16", "int8"],
        help="clrt engines; fp32 = the default flags (TF32 on)",
    )
    ap.add_argument("--iters", type=int, default=20, help="timed runs per measurement")
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="timing rounds, each through every backend in turn; the best round's median is "
        "reported and the spread column says how far the worst round was from it",
    )
    ap.add_argument("--torch-modes", nargs="+", default=list(LABELS), choices=list(LABELS))
    ap.add_argument(
        "--timing-cache",
        help="timing cache file: read before each build (if it exists) and written after it",
    )
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch rows")
    ap.add_argument(
        "--export-to",
        metavar="DIR",
        help="only write each model as DIR/<model>_b<batch>.onnx (the files the benchmark builds "
        "from), e.g. for clrtexec --dumpProfile, and stop",
    )
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA device (PyTorch exports the models and gives the reference)")

    # The legacy TF32 switches are used throughout (mixing them with the new fp32_precision
    # API is an error in recent PyTorch); silence their deprecation warning.
    warnings.filterwarnings("ignore", message=".*TF32.*")
    torch.backends.cudnn.benchmark = True
    logger = trt.Logger(trt.Logger.WARNING)
    print_header()
    if args.export_to:
        Path(args.export_to).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            torch.manual_seed(0)
            model32 = torchvision.models.get_model(name, weights=None).cuda()
            model32 = calibrate_batchnorm(model32)
            head = getattr(getattr(model32, "heads", None), "head", None)
            if head is not None:
                # torchvision initializes ViT's classifier to zeros: all logits would be 0 and
                # the accuracy columns empty (cosine 0 for every backend).
                torch.nn.init.normal_(head.weight, std=0.02)
            for batch in args.batches:
                x = np.random.default_rng(0).standard_normal((batch, 3, SIZE, SIZE))
                x = x.astype(np.float32)
                path = Path(args.export_to or tmp) / f"{name}_b{batch}.onnx"
                export_onnx(model32, batch, path)
                if args.export_to:
                    print(f"wrote {path}")
                    continue
                ref = reference(model32, x)
                torch.cuda.empty_cache()
                rows, notes, buffers = [], [], []
                for prec in args.precisions:
                    try:
                        r, build_s, bufs = bench_clrt(path, x, prec, logger, args.timing_cache)
                        rows += r
                        buffers += bufs
                        notes.append(f"clrt {prec} build: {build_s:.1f} s")
                        print(f"# {name} batch {batch}: clrt {prec} built in {build_s:.1f} s")
                    except Exception as e:  # noqa: BLE001 (report it and go on)
                        notes.append(f"clrt {prec} failed: {e!r}"[:400])
                    gc.collect()
                path.unlink()
                if not args.no_torch:
                    rows += bench_torch(model32, x, args.torch_modes, notes)
                timed = time_rows(rows, args.iters, args.rounds)
                print_table(name, batch, timed, ref, notes, args.iters, args.rounds)
                rows = timed = None
                for b in buffers:
                    b.free()
                torch._dynamo.reset()
            del model32
            gc.collect()
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
