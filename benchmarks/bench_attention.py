# The fused attention (passes/fuse_attention.cc) against the same graph left apart, onnxruntime
# on the CPU and, on a CUDA machine, PyTorch's scaled_dot_product_attention.
"""Usage: python benchmarks/bench_attention.py [--shapes 8x12x197x64 64x12x197x64]
                                              [--precisions fp32 fp16] [--iters 10]

Two graphs per shape BxHxSxd (scripts/attention_models.py): "sdpa", Hugging Face's written-out
attention on q, k, v [B, H, S, d] with a key mask; and "packed", torchvision's attention
(TorchScript export) cutting q, k and v out of a packed projection [S, B, 3 * H * d] through
reshapes, transposes and gathers, and transposing the heads back. clrt builds each twice: with
the fusion (one ATTENTION layer reading q, k and v in place) and with CLRT_FUSE_ATTENTION=0
(MatMul, Softmax, MatMul and the movement layers as separate kernels); the fused builds set
CLRT_FUSE_ATTENTION=1, so an FP32 build on a tensor-core GPU fuses too (the builder alone keeps
it apart there). Times are medians in
milliseconds: "device" runs execute_v2 on device buffers filled once (the engine's kernels
only), "infer" is context.infer with host arrays (copies included, as onnxruntime's run on the
same host). PyTorch (CUDA only) runs F.scaled_dot_product_attention on [B, H, S, d] tensors
already on the GPU, FP16 (flash attention) and FP32; it has no copies and no movement layers,
so it is the bar for "device" of the sdpa graph.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import clrt as trt
import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import attention_models
from bench_models import median_ms


def build(model, precision, fused, logger):
    """(context, engine, ATTENTION layers, build seconds)."""
    saved = os.environ.get("CLRT_FUSE_ATTENTION")
    os.environ["CLRT_FUSE_ATTENTION"] = "1" if fused else "0"
    try:
        builder = trt.Builder(logger)
        flag = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
        network = builder.create_network(flag)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(model.SerializeToString()):
            sys.exit("\n".join(str(parser.get_error(i)) for i in range(parser.num_errors)))
        config = builder.create_builder_config()
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
        if precision == "fp16":
            config.set_flag(trt.BuilderFlag.FP16)
        t0 = time.perf_counter()
        plan = builder.build_serialized_network(network, config)
        seconds = time.perf_counter() - t0
    finally:
        if saved is None:
            del os.environ["CLRT_FUSE_ATTENTION"]
        else:
            os.environ["CLRT_FUSE_ATTENTION"] = saved
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    layers = json.loads(info)["Layers"]
    fused_layers = [
        f"{x['TacticName']} ({x['Precision']})" for x in layers if x["LayerType"] == "ATTENTION"
    ]
    return engine.create_execution_context(), engine, len(layers), fused_layers, seconds


def device_runner(engine, context, feeds):
    """execute_v2 on device buffers filled once."""
    ptrs, keep = [], []
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        shape = tuple(context.get_tensor_shape(name))
        size = int(np.prod(shape)) * 4
        buf = trt.mem_alloc(max(size, 4))
        if name in feeds:
            trt.memcpy_htod(buf, np.ascontiguousarray(feeds[name], np.float32))
        keep.append(buf)
        ptrs.append(int(buf))
    return lambda keep=keep: context.execute_v2(ptrs)  # keep: the buffers live as long


def torch_rows(b, h, s, d, iters):
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    rows = []
    for dtype, name in ((torch.float16, "fp16"), (torch.float32, "fp32")):
        q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=dtype) for _ in range(3))

        def run(q=q, k=k, v=v):
            F.scaled_dot_product_attention(q, k, v)
            torch.cuda.synchronize()

        rows.append((f"PyTorch SDPA {name} (CUDA)", median_ms(run, iters), None))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--shapes", nargs="+", default=["2x4x197x64", "8x12x197x64"])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "fp16"], choices=["fp32", "fp16"])
    ap.add_argument("--graphs", nargs="+", default=["sdpa", "packed"], choices=["sdpa", "packed"])
    ap.add_argument("--iters", type=int, default=10)
    args = ap.parse_args()
    logger = trt.Logger(trt.Logger.WARNING)
    dev = trt.current_device()
    print(
        f"clrt device: {dev.name} ({dev.vendor}); onnxruntime {ort.__version__} on this host's CPU"
    )
    print("times: median ms; device = clrt kernels only, infer = with host copies")
    for shape in args.shapes:
        b, h, s, d = (int(x) for x in shape.split("x"))
        for graph in args.graphs:
            if graph == "sdpa":
                model, feeds = attention_models.sdpa_model(b, h, s, d)
            else:
                model, feeds = attention_models.packed_mha_model(d, heads=h, s=s, b=b)
            sess = ort.InferenceSession(
                model.SerializeToString(), providers=["CPUExecutionProvider"]
            )
            ref = sess.run(None, feeds)[0]
            print(f"\n{graph} B={b} H={h} S={s} d={d}")
            print(f"| {'engine':34} | layers | device ms | infer ms | max err vs ort |")
            print(f"| {'-' * 34} | --- | --- | --- | --- |")
            for precision in args.precisions:
                for fused in (True, False):
                    ctx, engine, nlayers, att, _ = build(model, precision, fused, logger)
                    out = ctx.infer(feeds)
                    err = float(np.abs(next(iter(out.values())) - ref).max())
                    dev_ms = median_ms(device_runner(engine, ctx, feeds), args.iters)
                    inf_ms = median_ms(lambda c=ctx, f=feeds: c.infer(f), args.iters)
                    label = f"clrt {precision} " + (
                        ", ".join(sorted(set(att))) if fused else "unfused"
                    )
                    print(f"| {label:34} | {nlayers} | {dev_ms:.3f} | {inf_ms:.3f} | {err:.2e} |")
            ort_ms = median_ms(lambda r=sess, f=feeds: r.run(None, f), args.iters)
            print(f"| {'onnxruntime fp32 (CPU)':34} | | | {ort_ms:.3f} | |")
            if graph == "sdpa":
                for label, ms, _ in torch_rows(b, h, s, d, args.iters):
                    print(f"| {label:34} | | {ms:.3f} | | |")


if __name__ == "__main__":
    main()
