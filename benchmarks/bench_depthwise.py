# Depthwise convolutions with channels-last I/O: the one-column kernels (conv.depthwise,
# conv.int8_depthwise) against the four-column ones (conv.depthwise_w4, conv.int8_depthwise_w4),
# onnxruntime on the CPU beside them.
"""Usage: python benchmarks/bench_depthwise.py [--batch 8] [--iters 20]

EfficientNet-B0-like depthwise layers (N x C x H x W, kernel, stride), each one Conv(group=C)
whose network input and output are channels last (allowed_formats HWC), built with the tactic
filter forcing each depthwise tactic in turn (FP32, FP16, INT8 with ranges from the data).
"device" is execute_v2 on device buffers (the engine's kernels only); onnxruntime runs the
same model in FP32 on NCHW arrays (its CPU execution provider, copies included) as the
reference both for speed on a CPU device and for the values, which every engine is checked
against (FP32 1e-4, FP16 1e-2, INT8 6% of the largest value). Median milliseconds.
"""

import argparse
import sys
from pathlib import Path

import clrt as trt
import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_models import median_ms  # a sibling script, not a package

HWC = 1 << int(trt.TensorFormat.HWC)
LAYERS = [(32, 112, 3, 1), (144, 56, 5, 2), (672, 14, 5, 1), (1152, 7, 3, 1)]  # C, HW, k, s


def depthwise_model(n, c, hw, k, s):
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((c, 1, k, k)) * 0.3).astype(np.float32)
    oh = (hw - 1) // s + 1
    node = helper.make_node("Conv", ["x", "w"], ["y"], group=c, pads=[k // 2] * 4, strides=[s, s])
    graph = helper.make_graph(
        [node],
        "dw",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, c, hw, hw])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, c, oh, oh])],
        [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.ravel())],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def build(model, precision, tactic, x, y):
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    assert trt.OnnxParser(network, logger).parse(model.SerializeToString())
    network.get_input(0).allowed_formats = HWC
    network.get_output(0).allowed_formats = HWC
    config = builder.create_builder_config()
    config.builder_optimization_level = 0
    config.tactic_filter = tactic
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16 if precision == "fp16" else trt.BuilderFlag.INT8)
    if precision == "int8":
        network.get_input(0).set_dynamic_range(-float(np.abs(x).max()), float(np.abs(x).max()))
        out = network.get_layer(0).get_output(0)
        out.set_dynamic_range(-float(np.abs(y).max()), float(np.abs(y).max()))
    plan = builder.build_serialized_network(network, config)
    return trt.Runtime(logger).deserialize_cuda_engine(plan)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--iters", type=int, default=20)
    args = ap.parse_args()
    registered = {name for name, _, _ in trt._clrt._registered_tactics()}
    print(f"clrt device: {trt.current_device()}; median of {args.iters} runs, ms")
    print(f"{'layer':<28} {'onnxruntime':>11}  {'tactic':<24} {'fp32':>8} {'fp16':>8} {'int8':>8}")
    for c, hw, k, s in LAYERS:
        model = depthwise_model(args.batch, c, hw, k, s)
        x = np.random.default_rng(1).uniform(-1, 1, (args.batch, c, hw, hw)).astype(np.float32)
        opts = ort.SessionOptions()
        # Its threads would otherwise spin after each run, taking the cores PoCL runs on.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sess = ort.InferenceSession(
            model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
        )
        y = sess.run(None, {"x": x})[0]
        ort_ms = median_ms(lambda r=sess, a=x: r.run(None, {"x": a}), args.iters)
        name = f"{args.batch}x{c}x{hw}x{hw} {k}x{k} s{s}"
        xt, want = np.ascontiguousarray(x.transpose(0, 2, 3, 1)), y.transpose(0, 2, 3, 1)
        for w4 in ("", "_w4"):
            if "conv.depthwise" + w4 not in registered:  # an older build, to compare with
                continue
            row = []
            for precision in ("fp32", "fp16", "int8"):
                base = "conv.int8_depthwise" if precision == "int8" else "conv.depthwise"
                engine = build(model, precision, base + w4, x, y)
                ctx = engine.create_execution_context()
                got = ctx.infer({"x": xt})["y"]
                tol = {"fp32": 1e-4, "fp16": 1e-2, "int8": 0.06 * np.abs(want).max()}[precision]
                np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
                bufs = [trt.mem_alloc(x.nbytes), trt.mem_alloc(y.nbytes)]
                # The input's values, not whatever the allocation held (denormal floats there
                # made an FP32 kernel ten times slower on the CPU).
                trt.memcpy_htod(bufs[0], xt)
                row.append(median_ms(lambda c=ctx, b=bufs: c.execute_v2(b), args.iters))
            label = f"depthwise{w4 or ' (one column)'}"
            print(
                f"{name:<28} {ort_ms:>11.2f}  {label:<24} " + " ".join(f"{ms:>8.2f}" for ms in row)
            )
            name = ""


if __name__ == "__main__":
    main()
