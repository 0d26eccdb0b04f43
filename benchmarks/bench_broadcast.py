# Elementwise Add with broadcasting: clrt against onnxruntime on the CPU, the same model and
# arrays, one run.
"""Usage: python benchmarks/bench_broadcast.py [--batch 16] [--iters 5]

Three adds over the same bytes, a [B, 197, 768] output (ViT-B/16's tokens):
  dense    [B, 197, 768] + [B, 197, 768]   both operands read element by element;
  repeated [B, 197, 768] + [1, 197, 768]   one operand repeated over the leading dims (ViT's
                                           position embedding): read as element i % count;
  general  [B, 197, 768] + [B, 1, 768]     a broadcast in the middle: the general index.
Times are the best of --iters calls in milliseconds, FP32, through context.infer() (host
arrays in and out, copies included, as onnxruntime's run on the same host).
"""

import argparse
import time

import clrt as trt
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto
from onnx import helper as oh


def add_model(sa, sb):
    out = np.broadcast_shapes(sa, sb)
    vi = oh.make_tensor_value_info
    graph = oh.make_graph(
        [oh.make_node("Add", ["a", "b"], ["y"])],
        "add",
        [vi("a", TensorProto.FLOAT, sa), vi("b", TensorProto.FLOAT, sb)],
        [vi("y", TensorProto.FLOAT, out)],
    )
    return oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])


def clrt_context(model: onnx.ModelProto):
    log = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(log)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, log)
    if not parser.parse(model.SerializeToString()):
        raise RuntimeError(str(parser.get_error(0)))
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    return trt.Runtime(log).deserialize_cuda_engine(plan).create_execution_context()


def best_ms(fn, iters):
    fn()  # warm-up
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--iters", type=int, default=5)
    args = ap.parse_args()
    b = args.batch
    cases = [
        ("dense", (b, 197, 768), (b, 197, 768)),
        ("repeated", (b, 197, 768), (1, 197, 768)),
        ("general", (b, 197, 768), (b, 1, 768)),
    ]
    print(f"{'case':10} {'a':>16} {'b':>16} {'clrt ms':>9} {'ort ms':>9} {'max err':>9}")
    for name, sa, sb in cases:
        model = add_model(sa, sb)
        rng = np.random.default_rng(0)
        x = {"a": rng.standard_normal(sa, np.float32), "b": rng.standard_normal(sb, np.float32)}
        ctx = clrt_context(model)
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        got = ctx.infer(x)["y"]
        err = float(np.abs(got - (x["a"] + x["b"])).max())
        clrt_ms = best_ms(lambda ctx=ctx, x=x: ctx.infer(x), args.iters)
        ort_ms = best_ms(lambda sess=sess, x=x: sess.run(None, x), args.iters)
        print(f"{name:10} {sa!s:>16} {sb!s:>16} {clrt_ms:9.2f} {ort_ms:9.2f} {err:9.1e}")


if __name__ == "__main__":
    main()
