# Host <-> device copy cost of context.infer(): pinned staging vs pageable copies vs device only.
"""Usage: python benchmarks/bench_io.py [--batches 1 64] [--iters 20] [--resnet50 int8]

The network is one GlobalAveragePool over a (batch, 3, 224, 224) float32 input (ResNet-50's input
size; the output is tiny), so infer() time is almost all the input copy. Rows:
- clrt infer (pinned staging): the default on GPUs; the array is copied by several host threads
  into page-locked staging memory in chunks, each chunk's transfer overlapping the next copy;
- clrt infer (pageable, CLRT_PINNED_IO=0): the driver copies straight from the NumPy array;
- clrt infer from pagelocked_empty: the input array is page-locked host memory
  (trt.pagelocked_empty on a GPU), transferred without staging;
- clrt device only: execute_v2 on device buffers filled once (the compute alone);
- PyTorch (when torch and CUDA are present): torch.from_numpy(x).cuda() from pageable memory,
  and .cuda(non_blocking=True) from pinned memory, each followed by the same pooling.
Then a Relu over the same input (the output as large as the input, 38.5 MB at batch 64):
- clrt infer, output dropped: each call's result let go before the next, as a loop that
  overwrites its variable does; its host block (page-locked on GPUs) serves the next call;
- clrt infer, outputs kept: every result kept, so each call writes fresh host memory;
- clrt device only: execute_v2 on device buffers.
Reports median ms and the effective bandwidth (input bytes, or input + output bytes for the
Relu rows, / median time).
With --resnet50 PRECISION, the same rows for benchmarks/bench_models.py's ResNet-50 (plus
memcpy_htod alone and memcpy_htod + execute_v2 + memcpy_dtoh), to see where infer()'s time goes.
"""

import argparse
import os
import sys
from pathlib import Path

import clrt as trt
import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_models  # a sibling script, not a package
from bench_models import median_ms


def pagelocked_copy(x):
    """x in page-locked host memory (ordinary memory on CPU devices)."""
    raw = trt._clrt._pagelocked_bytes(x.nbytes)
    y = raw.view(x.dtype).reshape(x.shape)
    y[...] = x
    return y


def pool_model(batch):
    node = helper.make_node("GlobalAveragePool", ["input"], ["y"])
    graph = helper.make_graph(
        [node],
        "io",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, 224, 224])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 3, 1, 1])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def relu_model(batch):
    node = helper.make_node("Relu", ["input"], ["y"])
    shape = [batch, 3, 224, 224]
    graph = helper.make_graph(
        [node],
        "io_out",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def output_rows(engine, x, iters):
    ctx = engine.create_execution_context()
    np.testing.assert_array_equal(ctx.infer({"input": x})["y"], np.maximum(x, 0))
    rows = [("clrt infer, output dropped", median_ms(lambda: ctx.infer({"input": x}), iters))]
    kept = []
    rows.append(
        ("clrt infer, outputs kept", median_ms(lambda: kept.append(ctx.infer({"input": x})), iters))
    )
    kept.clear()
    d_in, d_out = trt.mem_alloc(x.nbytes), trt.mem_alloc(x.nbytes)
    trt.memcpy_htod(d_in, x)
    rows.append(("clrt device only", median_ms(lambda: ctx.execute_v2([d_in, d_out]), iters)))
    return rows


def context_with(engine, pinned, x):
    """A context whose infer() staging choice is fixed at its first call."""
    saved = os.environ.get("CLRT_PINNED_IO")
    os.environ["CLRT_PINNED_IO"] = "1" if pinned else "0"
    ctx = engine.create_execution_context()
    ctx.infer({"input": x})
    if saved is None:
        del os.environ["CLRT_PINNED_IO"]
    else:
        os.environ["CLRT_PINNED_IO"] = saved
    return ctx


def clrt_rows(engine, x, ref, iters, out="y", rtol=1e-4, atol=1e-5):
    rows = []
    for pinned, label in ((True, "clrt infer (pinned staging)"), (False, "clrt infer (pageable)")):
        ctx = context_with(engine, pinned, x)
        got = ctx.infer({"input": x})[out]
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol)
        rows.append((label, median_ms(lambda c=ctx: c.infer({"input": x}), iters)))
    locked = pagelocked_copy(x)
    ctx = engine.create_execution_context()
    label = "clrt infer from pagelocked_empty"
    rows.append((label, median_ms(lambda: ctx.infer({"input": locked}), iters)))
    d_in, d_out = trt.mem_alloc(x.nbytes), trt.mem_alloc(ref.nbytes)
    trt.memcpy_htod(d_in, x)
    y = np.empty_like(ref)

    def copies_and_run():
        trt.memcpy_htod(d_in, locked)
        ctx.execute_v2([d_in, d_out])
        trt.memcpy_dtoh(y, d_out)

    rows.append(
        ("clrt memcpy_htod (pagelocked)", median_ms(lambda: trt.memcpy_htod(d_in, locked), iters))
    )
    rows.append(("clrt htod + execute_v2 + dtoh", median_ms(copies_and_run, iters)))
    rows.append(("clrt device only", median_ms(lambda: ctx.execute_v2([d_in, d_out]), iters)))
    return rows


def build(model_bytes, logger, precision=None, shape=None):
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, logger)
    assert parser.parse(model_bytes)
    config = builder.create_builder_config()
    if shape is not None:
        profile = builder.create_optimization_profile()
        profile.set_shape("input", shape, shape, shape)
        config.add_optimization_profile(profile)
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = bench_models._Calibrator(shape)
    plan = builder.build_serialized_network(network, config)
    return trt.Runtime(logger).deserialize_cuda_engine(plan)


def torch_rows(x, iters):
    try:
        import torch
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    pinned = torch.from_numpy(x).pin_memory()

    def run(src, non_blocking):
        y = src.cuda(non_blocking=non_blocking).mean(dim=(2, 3), keepdim=True)
        return y.cpu()

    rows = []
    for label, src, nb in (
        ("PyTorch .cuda() from pageable", torch.from_numpy(x), False),
        ("PyTorch .cuda() from pinned", pinned, True),
    ):
        rows.append((label, median_ms(lambda s=src, n=nb: run(s, n), iters)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 64])
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--resnet50", choices=["fp32", "fp16", "int8"], help="also time ResNet-50")
    args = ap.parse_args()
    logger = trt.Logger(trt.Logger.WARNING)
    print(f"clrt device: {trt.current_device()}; median of {args.iters} runs")
    print(f"{'model':<9} {'batch':>5}  {'backend':<34} {'median ms':>10} {'GB/s':>8}")

    def show(model, batch, x, rows, copies=1):
        for label, ms in rows:
            print(
                f"{model:<9} {batch:>5}  {label:<34} {ms:>10.3f} {copies * x.nbytes / ms / 1e6:>8.2f}"
            )

    for batch in args.batches:
        x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32)
        engine = build(pool_model(batch).SerializeToString(), logger)
        ref = x.mean(axis=(2, 3), keepdims=True)
        show("pool", batch, x, clrt_rows(engine, x, ref, args.iters) + torch_rows(x, args.iters))
    for batch in args.batches:
        x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32)
        engine = build(relu_model(batch).SerializeToString(), logger)
        show("relu", batch, x, output_rows(engine, x, args.iters), copies=2)
    if args.resnet50:
        model = bench_models.with_size(bench_models.export_models.make_onnx("resnet50"), 224)
        batch = max(args.batches)
        shape = (batch, 3, 224, 224)
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        engine = build(model.SerializeToString(), logger, args.resnet50, shape)
        ref = engine.create_execution_context().infer({"input": x})["logits"]
        rows = clrt_rows(engine, x, ref, args.iters, out="logits", rtol=1e-3, atol=1e-3)
        show(f"r50 {args.resnet50}", batch, x, rows)


if __name__ == "__main__":
    main()
