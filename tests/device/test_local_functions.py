# Models with model-local functions (ModelProto.functions), as exporters write them (torch.onnx
# with export_modules_as_functions, onnxscript): clrt expands each call into the function's body
# before importing it (csrc/clrt/onnx/functions.cc), as onnxruntime runs them.
"""One model holds every way a call binds its function: nested calls, an attribute reference
given by the call and one left to the function's default, an omitted optional input, an output
nothing reads, two calls of one function, and an If inside a body that reads the
function's parameters. FP32 against onnxruntime, |clrt - ort| <= 1e-5 + 1e-5 |ort|."""

import numpy as np
import pytest
from helpers import assert_close, build_engine, ort_run, rand
from onnx import TensorProto, checker
from onnx import helper as oh

N = oh.make_node
D = "local.fn"


def _functions():
    # scaled(x; alpha = 2.0 by default) = LeakyRelu(x, alpha), and -x as a second output.
    alpha = oh.make_attribute_ref("alpha", TensorProto.FLOAT)
    leaky = N("LeakyRelu", ["x"], ["y"])
    leaky.attribute.append(alpha)
    scaled = oh.make_function(
        D,
        "Scaled",
        ["x"],
        ["y", "side"],
        [leaky, N("Neg", ["x"], ["side"])],
        [oh.make_opsetid("", 17)],
        attribute_protos=[oh.make_attribute("alpha", 2.0)],
    )
    # clipped(x, lo[, hi]) = Clip(Scaled(x), lo, hi): a nested call and an optional input.
    clipped = oh.make_function(
        D,
        "Clipped",
        ["x", "lo", "hi"],
        ["y"],
        [N("Scaled", ["x"], ["s", "s_side"], domain=D), N("Clip", ["s", "lo", "hi"], ["y"])],
        [oh.make_opsetid("", 17), oh.make_opsetid(D, 1)],
    )
    # branchy(x, flag) = flag ? x * 3 : x - 1, the branches reading the parameter x.
    then_g = oh.make_graph(
        [N("Mul", ["x", "three"], ["t_out"])],
        "then",
        [],
        [oh.make_tensor_value_info("t_out", TensorProto.FLOAT, None)],
        [oh.make_tensor("three", TensorProto.FLOAT, [], [3.0])],
    )
    else_g = oh.make_graph(
        [N("Sub", ["x", "one"], ["e_out"])],
        "else",
        [],
        [oh.make_tensor_value_info("e_out", TensorProto.FLOAT, None)],
        [oh.make_tensor("one", TensorProto.FLOAT, [], [1.0])],
    )
    branchy = oh.make_function(
        D,
        "Branchy",
        ["x", "flag"],
        ["y"],
        [N("If", ["flag"], ["y"], then_branch=then_g, else_branch=else_g)],
        [oh.make_opsetid("", 17)],
    )
    return [scaled, clipped, branchy]


def _model():
    nodes = [
        N("Scaled", ["x"], ["s1", "unused"], domain=D, alpha=0.5, name="first"),
        N("Scaled", ["x"], ["s2", "neg"], domain=D),  # the default alpha
        N("Clipped", ["s1", "lo"], ["c1"], domain=D),  # hi omitted
        N("Clipped", ["s2", "lo", "hi"], ["c2"], domain=D),
        N("Branchy", ["c1", "yes"], ["b1"], domain=D),
        N("Branchy", ["c2", "no"], ["b2"], domain=D),
    ]
    shape = [2, 3, 4]
    graph = oh.make_graph(
        nodes,
        "local_functions",
        [oh.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [oh.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in ("b1", "b2", "neg")],
        [
            oh.make_tensor("lo", TensorProto.FLOAT, [], [-0.3]),
            oh.make_tensor("hi", TensorProto.FLOAT, [], [0.4]),
            oh.make_tensor("yes", TensorProto.BOOL, [], [True]),
            oh.make_tensor("no", TensorProto.BOOL, [], [False]),
        ],
    )
    model = oh.make_model(
        graph,
        opset_imports=[oh.make_opsetid("", 17), oh.make_opsetid(D, 1)],
        functions=_functions(),
    )
    model.ir_version = 9
    checker.check_model(model)
    return model


def test_local_functions_match_onnxruntime():
    model = _model()
    feeds = {"x": rand([2, 3, 4], seed=5, low=-2.0, high=2.0)}
    got = build_engine(model).create_execution_context().infer(feeds)
    ref = ort_run(model, feeds)
    for name in ("b1", "b2", "neg"):
        assert_close(got[name], ref[name], 1e-5, 1e-5, name)
    # The defaults and bindings took effect (not only agreement): b2 = Clip(2 * LeakyRelu...).
    x = feeds["x"]
    s2 = np.where(x >= 0, x, 2.0 * x)
    s2 = np.where(s2 >= 0, s2, 2.0 * s2)
    assert_close(got["b2"], np.clip(s2, -0.3, 0.4) - 1.0, 1e-5, 1e-5, "b2 by NumPy")


@pytest.mark.parametrize("size", [[2, 3, 5, 4], [2, 3, 3, 5, 4]])
@pytest.mark.parametrize("align", [0, 1])
def test_operator_defined_by_an_onnx_function_body(size, align):
    """AffineGrid has no importer: clrt expands the function body ONNX defines for it
    (csrc/clrt/onnx/schema_functions.cc). 2-D and 3-D, both align_corners, the size a constant;
    against onnxruntime, |clrt - ort| <= 1e-5 + 1e-5 |ort|."""
    r = len(size) - 2
    node = N("AffineGrid", ["theta", "size"], ["grid"], align_corners=align)
    graph = oh.make_graph(
        [node],
        "affine_grid",
        [oh.make_tensor_value_info("theta", TensorProto.FLOAT, [2, r, r + 1])],
        [oh.make_tensor_value_info("grid", TensorProto.FLOAT, None)],
        [oh.make_tensor("size", TensorProto.INT64, [len(size)], size)],
    )
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 20)])
    feeds = {"theta": rand([2, r, r + 1], seed=7)}
    got = build_engine(model).create_execution_context().infer(feeds)
    ref = ort_run(model, feeds)
    assert got["grid"].shape == (2, *size[2:], r)
    assert_close(got["grid"], ref["grid"], 1e-5, 1e-5, "grid")


@pytest.mark.parametrize("periodic", [0, 1])
def test_window_functions_by_their_onnx_bodies(periodic):
    """BlackmanWindow, HammingWindow and HannWindow (no importer: their ONNX bodies), a size of 7
    as a constant, periodic and symmetric, against onnxruntime and NumPy's definitions (N = size
    when periodic, size - 1 when symmetric), |err| <= 1e-5 + 1e-5 |ref|."""
    ops = ["BlackmanWindow", "HammingWindow", "HannWindow"]
    graph = oh.make_graph(
        [N(op, ["size"], [op], periodic=periodic) for op in ops],
        "windows",
        [oh.make_tensor_value_info("x", TensorProto.FLOAT, [7])],
        [oh.make_tensor_value_info(op, TensorProto.FLOAT, None) for op in ops]
        + [oh.make_tensor_value_info("x_out", TensorProto.FLOAT, None)],
        [oh.make_tensor("size", TensorProto.INT64, [], [7])],
    )
    graph.node.append(N("Identity", ["x"], ["x_out"]))
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])
    feeds = {"x": rand([7], seed=3)}
    got = build_engine(model).create_execution_context().infer(feeds)
    ref = ort_run(model, feeds)
    t = 2 * np.pi * np.arange(7) / (7 if periodic else 6)
    numpy_ref = {
        "BlackmanWindow": 0.42 - 0.5 * np.cos(t) + 0.08 * np.cos(2 * t),
        "HammingWindow": 25 / 46 - 21 / 46 * np.cos(t),
        "HannWindow": 0.5 - 0.5 * np.cos(t),
    }
    for op in ops:
        assert_close(got[op], ref[op], 1e-5, 1e-5, op)
        assert_close(got[op], numpy_ref[op].astype(np.float32), 1e-5, 1e-5, op + " by NumPy")


def test_swiglu_by_its_onnx_body():
    """SwiGLU (opset 28, which onnxruntime does not run yet): Y = A * sigmoid(alpha * A) * B,
    against NumPy, |err| <= 1e-5 + 1e-5 |ref|."""
    graph = oh.make_graph(
        [N("SwiGLU", ["a", "b"], ["y"], alpha=1.5)],
        "swiglu",
        [oh.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3, 8]) for n in "ab"],
        [oh.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 28)])
    feeds = {"a": rand([2, 3, 8], seed=4, low=-4.0, high=4.0), "b": rand([2, 3, 8], seed=5)}
    got = build_engine(model).create_execution_context().infer(feeds)["y"]
    a = feeds["a"].astype(np.float64)
    want = a / (1 + np.exp(-1.5 * a)) * feeds["b"]
    assert_close(got, want.astype(np.float32), 1e-5, 1e-5, "y")


def covered_ops():
    """The operators expanded from their ONNX function bodies that this module tests (for
    tests/device/test_ops.py's coverage check)."""
    return {"AffineGrid", "BlackmanWindow", "HammingWindow", "HannWindow", "SwiGLU"}
