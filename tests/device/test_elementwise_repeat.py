# Elementwise ops where one operand is repeated over the output's leading dims (a bias over the
# last dims, a position embedding over the batch): read as element i % count (pointwise.cl modes
# 6 and 7; 8 elements a work-item where the count is a multiple of 8), against onnxruntime, in
# FP32 (exact: the same op on the same values) and FP16 (every layer held to half).
import numpy as np
import pytest
from helpers import assert_close, build_engine, build_fp16_engine, make_model, ort_run
from onnx import helper as oh

N = oh.make_node

# (op, a shape, b shape): which operand repeats, its count a multiple of 8 or not, leading 1s.
CASES = [
    ("Add", (4, 5, 16), (16,)),  # b repeats, 8-wide
    ("Sub", (2, 3, 7), (3, 7)),  # b repeats, element by element
    ("Div", (1, 3, 7), (2, 3, 7)),  # a repeats (leading 1)
    ("Mul", (16,), (3, 2, 16)),  # a repeats, 8-wide
    ("Add", (3, 4, 8), (1, 1, 8)),  # leading 1s
    ("Max", (2, 8, 8), (8, 8)),
    ("Add", (2, 197, 64), (1, 197, 64)),  # ViT's position embedding, smaller
]


def case_model(op, sa, sb):
    out = np.broadcast_shapes(sa, sb)
    return make_model([N(op, ["a", "b"], ["y"])], [("a", sa), ("b", sb)], [("y", out)])


def feeds(sa, sb, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-2, 2, sa).astype(np.float32)
    b = rng.uniform(0.5, 2, sb).astype(np.float32)  # no zero divisor
    return {"a": a, "b": b}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("op,sa,sb", CASES)
def test_repeated_operand(op, sa, sb, precision):
    model = case_model(op, sa, sb)
    x = feeds(sa, sb, seed=len(sa) * 10 + len(sb))
    if precision == "fp32":
        got = build_engine(model).create_execution_context().infer(x)["y"]
        ref = ort_run(model, x)["y"]
        np.testing.assert_array_equal(got, ref)
    else:
        # The reference on half-rounded inputs; the result is rounded to half once more.
        xh = {k: v.astype(np.float16).astype(np.float32) for k, v in x.items()}
        got = build_fp16_engine(model).create_execution_context().infer(xh)["y"]
        ref = ort_run(model, xh)["y"]
        assert_close(got, ref, rtol=1e-3, atol=1e-3)


def test_repeated_operand_int_and_compare():
    # The integer and comparison kernels read through the same offsets.
    a = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 7
    b = np.array([3, -1, 0, 5], np.int32)
    nodes = [N("Add", ["a", "b"], ["s"]), N("Greater", ["a", "b"], ["g"])]
    model = make_model(
        nodes, [("a", a.shape, np.int32), ("b", b.shape, np.int32)], ["s", "g"], opset=17
    )
    got = build_engine(model).create_execution_context().infer({"a": a, "b": b})
    np.testing.assert_array_equal(got["s"], a + b)
    np.testing.assert_array_equal(got["g"], a > b)
    assert got["g"].dtype == np.bool_


@pytest.mark.usefixtures("channels_last")
def test_repeated_constant_stays_linear():
    # ViT's position embedding: a constant [1, 5, 32] added to [2, 5, 32] in an FP16 engine goes
    # through a FLOAT -> HALF conversion, which could write it channels last and the add read it
    # so; the builder keeps such a broadcast operand LINEAR, where the add reads it as element
    # i % count (channels last only the general broadcast index could). With CLRT_CHANNELS_LAST=1
    # the builder chooses layouts as on a GPU.
    import json

    import clrt as trt

    rng = np.random.default_rng(5)
    pos = rng.uniform(-1, 1, (1, 5, 32)).astype(np.float32)
    g, beta = np.ones(32, np.float32), np.zeros(32, np.float32)
    nodes = [N("Add", ["x", "pos"], ["a"]), N("LayerNormalization", ["a", "g", "beta"], ["y"])]
    inits = {"pos": pos, "g": g, "beta": beta}
    model = make_model(nodes, [("x", (2, 5, 32))], [("y", (2, 5, 32))], inits)
    engine = build_fp16_engine(model, detailed=True)
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    adds = [lay for lay in json.loads(info)["Layers"] if lay.get("LayerType") == "ELEMENTWISE"]
    assert [i["Format"] for i in adds[0]["Inputs"]] == ["LINEAR", "LINEAR"], adds
    x = {"x": rng.uniform(-2, 2, (2, 5, 32)).astype(np.float32)}
    got = engine.create_execution_context().infer(x)["y"]
    assert_close(got, ort_run(model, x)["y"], atol=2e-2, rtol=2e-2)
