# Old and new operator versions: models at opsets 7 to 10 (the attribute forms that later became
# inputs) and at the newest opsets, vs onnxruntime. The parser's opset and version refusals are
# in tests/unit/test_importer_checks.py.
import numpy as np
import pytest
from helpers import (
    assert_close,
    build_engine,
    make_model,
    run_and_compare,
)
from onnx import helper as oh

N = oh.make_node
X = ("x", (2, 3, 4, 5))
CASES = []


def case(cid, opset, nodes, inputs=(X,), inits=None, outputs=("y",), ranges=None):
    rng = np.random.default_rng(len(CASES))
    feeds = {}
    for name, shape, *dtype in inputs:
        dt = np.dtype(dtype[0] if dtype else np.float32)
        lo, hi = (ranges or {}).get(name, (-2.0, 2.0))
        feeds[name] = (
            rng.uniform(lo, hi, shape).astype(dt)
            if dt.kind == "f"
            else (
                rng.random(shape) < 0.5 if dt.kind == "b" else rng.integers(0, 3, shape).astype(dt)
            )
        )
    model = make_model(nodes, list(inputs), list(outputs), inits, opset, name=cid)
    CASES.append(pytest.param(model, feeds, id=f"{cid}-opset{opset}"))


def w(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-0.5, 0.5, shape).astype(np.float32)


def i64(*v):
    return np.array(v, np.int64)


# Opset 7: the first opset with NumPy broadcasting everywhere; many schemas from 1 and 6.
for op in ("Relu", "Sigmoid", "Tanh", "Elu", "LeakyRelu", "HardSigmoid", "Softplus", "Exp", "Abs"):
    case(op, 7, [N(op, ["x"], ["y"])])
case("Sin-Cos", 7, [N("Sin", ["x"], ["s"]), N("Cos", ["s"], ["y"])])
case("Sqrt-Log-Neg-Floor", 7, [N("Abs", ["x"], ["a"]), N("Sqrt", ["a"], ["s"]),
     N("Log", ["s"], ["l"]), N("Neg", ["l"], ["n"]), N("Floor", ["n"], ["y"])])  # fmt: skip
case("Add-Mul-broadcast", 7, [N("Add", ["x", "b"], ["s"]), N("Mul", ["s", "b"], ["y"])],
     inits={"b": w(4, 5)})  # fmt: skip
case("Pow-Div-Sub", 7, [N("Abs", ["x"], ["a"]), N("Pow", ["a", "e"], ["p"]),
     N("Div", ["p", "e"], ["d"]), N("Sub", ["d", "x"], ["y"])], inits={"e": np.float32(1.5)})  # fmt: skip
case("Greater-Less-And-Not", 7, [N("Greater", ["x", "z"], ["g"]), N("Less", ["x", "h"], ["l"]),
     N("And", ["g", "l"], ["a"]), N("Not", ["a"], ["y"])], inits={"z": np.float32(0),
     "h": np.float32(1)}, outputs=[("y", None, bool)])  # fmt: skip
case("Equal-Or", 7, [N("Equal", ["x", "x"], ["e"]), N("Or", ["e", "e"], ["y"])],
     inputs=[("x", (3, 4), np.int32)], outputs=[("y", None, bool)])  # fmt: skip
case("Clip-attrs", 7, [N("Clip", ["x"], ["y"], min=-0.5, max=0.7)])
case("Sum-equal-shapes", 7, [N("Sum", ["x", "x", "x"], ["y"])])
case("Max-Min", 7, [N("Max", ["x", "x"], ["m"]), N("Min", ["m", "x"], ["y"])])
case("Softmax-2d-view", 7, [N("Softmax", ["x"], ["y"], axis=2)])
case("LogSoftmax-2d-view", 10, [N("LogSoftmax", ["x"], ["y"], axis=1)])
case("Gemm-C", 7, [N("Gemm", ["x", "b", "c"], ["y"], transB=1, alpha=0.5)], inputs=[("x", (3, 4))],
     inits={"b": w(6, 4), "c": w(6)})  # fmt: skip
case("MatMul", 7, [N("MatMul", ["x", "b"], ["y"])], inits={"b": w(5, 3)})
case("Conv-Pools", 7, [N("Conv", ["x", "k", "kb"], ["c"], pads=[1, 1, 1, 1]),
     N("MaxPool", ["c"], ["m"], kernel_shape=[2, 2]),
     N("AveragePool", ["m"], ["a"], kernel_shape=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1),
     N("GlobalAveragePool", ["a"], ["y"])], inputs=[("x", (1, 3, 8, 8))],
     inits={"k": w(4, 3, 3, 3), "kb": w(4)})  # fmt: skip
case("BatchNormalization-Dropout", 7, [N("BatchNormalization", ["x", "s", "b", "m", "v"], ["n"]),
     N("Dropout", ["n"], ["y"], ratio=0.2)], inits={"s": w(3) + 1, "b": w(3), "m": w(3),
     "v": w(3) + 1})  # fmt: skip
case("Reshape-Flatten-Transpose", 7, [N("Reshape", ["x", "s"], ["r"]),
     N("Transpose", ["r"], ["t"], perm=[1, 0, 2]), N("Flatten", ["t"], ["y"], axis=1)],
     inits={"s": i64(6, 4, 5)})  # fmt: skip
case("Squeeze-Unsqueeze-attrs", 7, [N("Unsqueeze", ["x"], ["u"], axes=[0, 3]),
     N("Squeeze", ["u"], ["y"], axes=[0])])  # fmt: skip
case("Slice-attrs", 7, [N("Slice", ["x"], ["y"], starts=[1, 0], ends=[3, -1], axes=[1, 3])])
case("Slice-attrs-noaxes", 9, [N("Slice", ["x"], ["y"], starts=[0, 1, 1], ends=[1, 3, 100])])
case("Split-attr", 7, [N("Split", ["x"], ["a", "b"], axis=3, split=[2, 3]),
     N("Add", ["a", "a"], ["y"])])  # fmt: skip
case("Concat-Shape-Gather-Cast", 7, [N("Concat", ["x", "x"], ["c"], axis=1),
     N("Shape", ["c"], ["s"]), N("Gather", ["s", "i"], ["g"]), N("Cast", ["g"], ["f"], to=1),
     N("Constant", [], ["k"], value=oh.make_tensor("k", 1, [1], [2.0])),
     N("Mul", ["f", "k"], ["m"]), N("Identity", ["m"], ["y"])], inits={"i": i64(1)})  # fmt: skip
case("ReduceMean-Sum-Max-attrs", 7, [N("ReduceMean", ["x"], ["a"], axes=[1]),
     N("ReduceSum", ["a"], ["b"], axes=[2], keepdims=0), N("ReduceMax", ["b"], ["y"], axes=[0])])  # fmt: skip
# Opsets 8 to 10: broadcasting Sum/Max/Min, Expand, Erf, Where, ConstantOfShape, Slice inputs.
case("Sum-Max-broadcast", 8, [N("Sum", ["x", "b"], ["s"]), N("Max", ["s", "b"], ["y"])],
     inits={"b": w(5)})  # fmt: skip
case("Expand-MaxPool-8", 8, [N("Expand", ["x", "s"], ["e"]),
     N("MaxPool", ["e"], ["y"], kernel_shape=[2, 2], strides=[2, 2])], inputs=[("x", (1, 3, 1, 6))],
     inits={"s": i64(2, 3, 4, 6)})  # fmt: skip
case("Erf-Where-ConstantOfShape", 9, [N("Erf", ["x"], ["e"]), N("Shape", ["x"], ["s"]),
     N("ConstantOfShape", ["s"], ["z"]), N("Greater", ["e", "z"], ["g"]),
     N("Where", ["g", "e", "z"], ["y"])])  # fmt: skip
case("BatchNormalization-9", 9, [N("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])],
     inits={"s": w(3) + 1, "b": w(3), "m": w(3), "v": w(3) + 1})  # fmt: skip
case("Slice-inputs-MaxPool-ceil", 10, [N("Slice", ["x", "st", "en", "ax", "sp"], ["s"]),
     N("MaxPool", ["s"], ["y"], kernel_shape=[2, 2], ceil_mode=1)],
     inits={"st": i64(0), "en": i64(5), "ax": i64(3), "sp": i64(1)})  # fmt: skip
case("Dropout-AveragePool-10", 10, [N("Dropout", ["x"], ["d"]),
     N("AveragePool", ["d"], ["y"], kernel_shape=[3, 3], ceil_mode=1, strides=[2, 2])])  # fmt: skip
# The newest versions: 22 (Conv/pools/activations add dtypes), 24/25 (layout ops add dtypes).
case("Conv-22", 22, [N("Conv", ["x", "k"], ["c"]), N("Elu", ["c"], ["e"]),
     N("HardSigmoid", ["e"], ["h"]), N("GlobalMaxPool", ["h"], ["y"])],
     inputs=[("x", (1, 3, 6, 6))], inits={"k": w(2, 3, 3, 3)})  # fmt: skip
case("layout-24", 24, [N("Reshape", ["x", "s"], ["r"]), N("Transpose", ["r"], ["t"]),
     N("Unsqueeze", ["t", "a"], ["u"]), N("Squeeze", ["u", "a"], ["q"]),
     N("Flatten", ["q"], ["f"]), N("Identity", ["f"], ["y"])],
     inits={"s": i64(6, 20), "a": i64(0)})  # fmt: skip
case("Split-num_outputs-Reduce-18", 18, [N("Split", ["x"], ["a", "b"], axis=1, num_outputs=2),
     N("ReduceMax", ["a", "ax"], ["m"]), N("ReduceL2", ["b", "ax"], ["l"]),
     N("Add", ["m", "l"], ["y"])], inputs=[("x", (2, 3, 4))], inits={"ax": i64(2)})  # fmt: skip


@pytest.mark.parametrize("model,feeds", CASES)
def test_opset_version(model, feeds):
    run_and_compare(model, feeds, opt_level=0)


def test_legacy_broadcast_opset6():
    """Opset 6 (onnxruntime has no Add-6 or Gemm-6 kernels: NumPy is the reference): B aligned
    at `axis`, C broadcast by Gemm's `broadcast`, BatchNormalization-6 and AveragePool-1."""
    x, b, c, g, bw = w(2, 3, 4, 5), w(3, 4, seed=1), w(5, seed=2) + 2, w(2, 4, seed=3), w(4, 6)
    nodes = [
        N("Add", ["x", "b"], ["s"], broadcast=1, axis=1),
        N("Mul", ["s", "c"], ["y"], broadcast=1),
        N("Gemm", ["g", "bw", "c6"], ["m"], broadcast=1),
        N("Reshape", ["m", "sh"], ["r"]),
        N("BatchNormalization", ["r", "sc", "bi", "mu", "v"], ["n"], is_test=1),
        N("AveragePool", ["n"], ["z"], kernel_shape=[1, 2]),
    ]
    inits = {"b": b, "c": c, "bw": bw, "c6": c[:1].repeat(6), "sh": i64(2, 3, 1, 2)}
    inits.update(
        {"sc": np.float32([1, 2, 3]), "bi": np.float32([0, 1, 0]), "mu": w(3), "v": w(3) + 1}
    )
    outs = [("y", (2, 3, 4, 5)), ("z", (2, 3, 1, 1))]
    model = make_model(nodes, [("x", x.shape), ("g", g.shape)], outs, inits, opset=6)
    got = build_engine(model, opt_level=0).create_execution_context().infer({"x": x, "g": g})
    assert_close(got["y"], (x + b[None, :, :, None]) * c)
    r = (g @ bw + c[0]).reshape(2, 3, 1, 2)
    ch = (slice(None), None, None)
    n = (r - inits["mu"][ch]) / np.sqrt(inits["v"][ch] + 1e-5) * inits["sc"][ch] + inits["bi"][ch]
    assert_close(got["z"], n.mean(axis=3, keepdims=True))
