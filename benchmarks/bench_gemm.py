# GEMM throughput: clrt FP16 and FP32 with TF32 (tensor cores on NVIDIA) and plain FP32 vs PyTorch
# torch.matmul, one run.
"""Usage: python benchmarks/bench_gemm.py [--sizes 4096] [--iters 20] [--no-torch] [--no-fp32] [--int8]

For each size n, clrt builds a network with one MatrixMultiply (layer "gemm") of two network
inputs (n x n times n x n): an FP16 engine (BuilderFlag.FP16; on NVIDIA the builder picks the
tensor-core tactic matmul.tc_fp16 when it times fastest), an FP32 engine with BuilderFlag.TF32
(the default: matmul.tc_tf32 where it times fastest) and one with TF32 cleared. HALF
network I/O is tried first for FP16; where the builder does not take it, the I/O is FLOAT and
the engine also runs FLOAT<->HALF reformats. The engines run on device buffers (clrt.mem_alloc
+ set_tensor_address): "engine" rows time `iters` execute_async_v3 calls then one synchronize;
"GEMM layer" rows give the gemm layer's own profiled time (context.profiling). PyTorch runs
torch.matmul on the same GPU (FP16; FP32 with TF32 on and off), timed with CUDA events. Inputs are
uniform [-1, 1) rounded to half for every backend; each result is checked against NumPy:
max |error| / max |reference| is printed. --int8 adds an INT8 engine (a @ b^T with FLOAT I/O and
ranges [-1, 1], inputs on the INT8 grid so that quantizing rounds nothing; on NVIDIA
matmul.tc_int8* where it times fastest) and PyTorch's torch._int_mm (cuBLAS INT8) on the same
integers.
"""

import argparse
import time

import clrt as trt
import numpy as np

EXPLICIT_BATCH = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)


class TacticLog(trt.ILogger):
    """Keeps the tactic each layer ends with (the builder's last VERBOSE "chose" line for it:
    precision trials log their own choices first)."""

    def __init__(self):
        trt.ILogger.__init__(self)
        self.chosen = {}

    def log(self, severity, msg):
        if msg.startswith("layer '") and "): chose " in msg:
            layer = msg[len("layer '") :].split("' (", 1)[0]
            self.chosen[layer] = msg.split("): chose ", 1)[1].split()[0]
        elif int(severity) <= int(trt.Logger.WARNING):
            print(f"[clrt] {msg}")


def build_gemm(n, dtype, io_dtype, log, tf32=True):
    """An engine computing c = a @ b (n x n) in `dtype`, with network I/O in `io_dtype`."""
    builder = trt.Builder(log)
    network = builder.create_network(EXPLICIT_BATCH)
    a = network.add_input("a", io_dtype, (n, n))
    b = network.add_input("b", io_dtype, (n, n))
    mm = network.add_matrix_multiply(a, trt.MatrixOperation.NONE, b, trt.MatrixOperation.NONE)
    mm.name = "gemm"
    out = mm.get_output(0)
    out.name = "c"
    network.mark_output(out)
    out.dtype = io_dtype
    config = builder.create_builder_config()
    if dtype == trt.float16:
        config.set_flag(trt.BuilderFlag.FP16)
    if not tf32:
        config.clear_flag(trt.BuilderFlag.TF32)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError("build_serialized_network returned None")
    return trt.Runtime(log).deserialize_cuda_engine(plan)


def time_engine(engine, host, n, np_dt, iters):
    """(ms per execute_async_v3 over `iters` runs, best GEMM layer ms of 3 profiled runs, output
    c) of an engine with inputs a, b (the `host` arrays, copied once) and output c, all n x n of
    `np_dt` on the device."""
    ctx = engine.create_execution_context()
    bufs = {k: trt.mem_alloc(n * n * np.dtype(np_dt).itemsize) for k in ("a", "b", "c")}
    for k, v in host.items():
        trt.memcpy_htod(bufs[k], v)
    for k, buf in bufs.items():
        ctx.set_tensor_address(k, int(buf))
    stream = trt.Stream()
    ctx.execute_async_v3(stream.handle)  # warm-up
    stream.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        ctx.execute_async_v3(stream.handle)
    stream.synchronize()
    ms = (time.perf_counter() - t0) * 1e3 / iters
    ctx.profiling = True
    layer_ms = []
    for _ in range(3):
        ctx.execute_async_v3(stream.handle)
        stream.synchronize()
        layer_ms.append(sum(t for name, t in ctx.layer_times if name == "gemm"))
    c = np.empty((n, n), np_dt)
    trt.memcpy_dtoh(c, bufs["c"])
    for buf in bufs.values():
        buf.free()
    return ms, min(layer_ms) or float("nan"), c


def clrt_gemm(n, dtype, iters, tf32=True):
    """(engine ms, GEMM layer ms, output, inputs, tactic, I/O note) of an n^3 clrt engine in
    `dtype`. HALF network I/O is tried first for FP16; where the builder does not take it, the
    I/O is FLOAT and the engine also runs the FLOAT<->HALF reformats (the layer time excludes
    them)."""
    log = TacticLog()
    io = dtype
    try:
        engine = build_gemm(n, dtype, io, log, tf32)
    except Exception as e:  # fall back to FLOAT I/O; the table says so
        if dtype == trt.float32:
            raise
        print(f"[bench] HALF network I/O not built ({e}); using FLOAT I/O")
        log.chosen = {}
        io = trt.float32
        engine = build_gemm(n, dtype, io, log, tf32)
    np_dt = np.float16 if io == trt.float16 else np.float32
    rng = np.random.default_rng(0)
    host = {k: rng.uniform(-1, 1, (n, n)).astype(np.float16).astype(np_dt) for k in ("a", "b")}
    ms, layer_ms, c = time_engine(engine, host, n, np_dt, iters)
    note = "HALF I/O" if io == trt.float16 else "FLOAT I/O"
    return ms, layer_ms, c, host, log.chosen.get("gemm", "?"), note


def clrt_gemm_int8(n, iters):
    """(engine ms, GEMM layer ms, output, inputs, tactic) of an n^3 INT8 engine: c = a @ b^T
    (b given as [N][K], the layout an INT8 weight matrix has), FLOAT network I/O with dynamic
    ranges [-1, 1] on a and b, the layer asked for INT8 (PREFER_PRECISION_CONSTRAINTS: a device with
    no INT8 product of two activations runs another precision, which the tactic column shows). The engine
    time includes the quantizing reformats of a and b; the layer time is the GEMM alone."""
    log = TacticLog()
    builder = trt.Builder(log)
    network = builder.create_network(EXPLICIT_BATCH)
    a = network.add_input("a", trt.float32, (n, n))
    b = network.add_input("b", trt.float32, (n, n))
    mm = network.add_matrix_multiply(a, trt.MatrixOperation.NONE, b, trt.MatrixOperation.TRANSPOSE)
    mm.name = "gemm"
    mm.precision = trt.int8
    out = mm.get_output(0)
    out.name = "c"
    network.mark_output(out)
    a.set_dynamic_range(-1.0, 1.0)
    b.set_dynamic_range(-1.0, 1.0)
    out.set_dynamic_range(-float(n), float(n))
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.INT8)
    config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError("build_serialized_network returned None")
    engine = trt.Runtime(log).deserialize_cuda_engine(plan)
    rng = np.random.default_rng(0)
    # Values on the INT8 grid of the [-1, 1] range, so quantization rounds nothing.
    host = {k: (rng.integers(-127, 128, (n, n)) / 127.0).astype(np.float32) for k in ("a", "b")}
    ms, layer_ms, c = time_engine(engine, host, n, np.float32, iters)
    return ms, layer_ms, c, host, log.chosen.get("gemm", "?")


def torch_int_mm(n, iters):
    """(ms, int32 output as float, device) of torch._int_mm (cuBLAS INT8) on a @ b^T, or None."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available() or not hasattr(torch, "_int_mm"):
        return None
    rng = np.random.default_rng(0)
    a, b = (
        torch.from_numpy(rng.integers(-127, 128, (n, n)).astype(np.int8)).cuda() for _ in range(2)
    )
    bt = b.t()  # [K][N] view of the [N][K] matrix: column-major, as cuBLAS wants it
    torch._int_mm(a, bt)
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        c = torch._int_mm(a, bt)
    end.record()
    torch.cuda.synchronize()
    return (
        start.elapsed_time(end) / iters,
        c.float().cpu().numpy() / 127.0**2,
        torch.cuda.get_device_name(),
    )


def torch_gemm(n, half, iters, tf32=False):
    """(ms, output) of torch.matmul on CUDA, or None when there is no CUDA device."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cuda.matmul.allow_tf32 = tf32
    dt = torch.float16 if half else torch.float32
    rng = np.random.default_rng(0)
    a, b = (
        torch.from_numpy(rng.uniform(-1, 1, (n, n)).astype(np.float16).astype(np.float32))
        .cuda()
        .to(dt)
        for _ in range(2)
    )
    torch.matmul(a, b)
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        c = torch.matmul(a, b)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / iters, c.float().cpu().numpy(), torch.cuda.get_device_name()


def rel_err(c, ref):
    return float(np.abs(c.astype(np.float64) - ref).max() / np.abs(ref).max())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", nargs="+", type=int, default=[4096])
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    ap.add_argument("--no-fp32", action="store_true", help="skip the FP32 engines")
    ap.add_argument(
        "--int8",
        action="store_true",
        help="also an INT8 engine (a @ b^T) and PyTorch's torch._int_mm (cuBLAS INT8)",
    )
    args = ap.parse_args()

    rows = []
    for n in args.sizes:
        flop = 2.0 * n**3
        refs = {}
        for dtype, tf32, label in [
            (trt.float16, False, "FP16"),
            (trt.float32, True, "FP32 TF32"),
            (trt.float32, False, "FP32"),
        ]:
            if dtype == trt.float32 and args.no_fp32:
                continue
            ms, lms, c, host, tactic, note = clrt_gemm(n, dtype, args.iters, tf32)
            ref = host["a"].astype(np.float32) @ host["b"].astype(np.float32)
            refs["FP16" if dtype == trt.float16 else "FP32"] = ref
            err = rel_err(c, ref)
            rows.append((n, f"clrt {label} engine", f"{tactic} ({note})", ms, flop / ms / 1e9, err))
            rows.append((n, f"clrt {label} GEMM layer", tactic, lms, flop / lms / 1e9, err))
        if args.int8:
            ms, lms, c, host, tactic = clrt_gemm_int8(n, args.iters)
            ref = host["a"].astype(np.float64) @ host["b"].astype(np.float64).T
            refs["INT8"] = ref
            err = rel_err(c, ref)
            rows.append((n, "clrt INT8 engine", f"{tactic} (FLOAT I/O)", ms, flop / ms / 1e9, err))
            rows.append((n, "clrt INT8 GEMM layer", tactic, lms, flop / lms / 1e9, err))
        if not args.no_torch and args.int8:
            r = torch_int_mm(n, args.iters)
            if r is not None:
                ms, c, name = r
                ref = refs["INT8"]
                # torch's inputs are the same grid values: compare with the same reference.
                rows.append(
                    (n, "PyTorch INT8 (_int_mm)", name, ms, flop / ms / 1e9, rel_err(c, ref))
                )
        if not args.no_torch:
            for half, tf32, label in [
                (True, False, "FP16"),
                (False, True, "FP32 (TF32 on)"),
                (False, False, "FP32 (TF32 off)"),
            ]:
                r = torch_gemm(n, half, args.iters, tf32)
                if r is None:
                    print("PyTorch skipped: no torch or no CUDA device")
                    break
                ms, c, name = r
                ref = refs.get("FP16" if half else "FP32")
                err = rel_err(c, ref) if ref is not None else float("nan")
                rows.append((n, f"PyTorch {label}", name, ms, flop / ms / 1e9, err))

    print(f"\nclrt device: {trt.current_device().name}; {args.iters} runs per row")
    print("engine: execute_async_v3 on device buffers; GEMM layer: its profiled time alone")
    header = (
        f"{'n':>6}  {'backend':<24} {'tactic / device':<36} {'ms':>9} {'TFLOP/s':>9} "
        f"{'max rel err':>12}"
    )
    print(header)
    print("-" * len(header))
    for n, label, info, ms, tflops, err in rows:
        print(f"{n:>6}  {label:<24} {info[:36]:<36} {ms:>9.3f} {tflops:>9.1f} {err:>12.2e}")


if __name__ == "__main__":
    main()
