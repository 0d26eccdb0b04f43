# NaN/Inf semantics against onnxruntime's CPU EP, and run-time index / division errors.
"""Every numeric case feeds NaN, +-inf and ordinary values through one op (standalone, fused
into a Conv/MatMul epilogue, or folded on the host) and compares with onnxruntime at the FP32
tolerance of helpers.assert_close, which counts NaN == NaN and requires infinities to match.

onnxruntime's rules (checked here, onnxruntime 1.2x CPU EP): a NaN input gives NaN in every
activation (Relu, Clip, HardSigmoid, LeakyRelu, ...), a NaN Clip bound is no bound, Max/Min
propagate NaN, ReduceMax/ReduceMin propagate NaN (onnxruntime only where the NaN comes first:
see the test), MaxPool skips NaN (its general path; its 2x2 SIMD
path is order-dependent, so windows here are 3x3). An out-of-range Gather index and an integer
division by zero fail the run, naming the node.
"""

import clrt as trt
import numpy as np
import onnxruntime as ort
import pytest
from helpers import assert_close, build_engine, make_model, ort_run
from onnx import helper as oh

N = oh.make_node
NAN, INF = np.nan, np.inf
# NaN, both infinities, signed zeros and ordinary values on both sides of every threshold.
SPECIAL = np.array([NAN, -INF, INF, -3.0, -1.0, -0.0, 0.0, 0.25, 1.0, 3.0, 30.0, NAN], np.float32)


def check(model, feeds):
    engine = build_engine(model)
    got = engine.create_execution_context().infer(feeds)
    want = ort_run(model, feeds)
    for name, value in want.items():
        assert_close(got[name], value, name=name)


ACTIVATIONS = [
    ("Relu", {}),
    ("LeakyRelu", {"alpha": 0.1}),
    ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}),
    ("HardSwish", {}),
    ("Elu", {"alpha": 0.7}),
    ("Sigmoid", {}),
    ("Tanh", {}),
    ("Softplus", {}),
]


@pytest.mark.parametrize("op,attrs", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_nan_inf(op, attrs):
    model = make_model([N(op, ["x"], ["y"], name="act", **attrs)], [("x", [12])], [("y", [12])])
    check(model, {"x": SPECIAL})


@pytest.mark.parametrize(
    "lo,hi", [(-1.0, 2.0), (NAN, 2.0), (-1.0, NAN)], ids=["plain", "nan_lo", "nan_hi"]
)
def test_clip_nan(lo, hi):
    model = make_model(
        [N("Clip", ["x", "lo", "hi"], ["y"], name="clip")],
        [("x", [12])],
        [("y", [12])],
        {"lo": np.array(lo, np.float32), "hi": np.array(hi, np.float32)},
    )
    check(model, {"x": SPECIAL})


@pytest.mark.parametrize("op", ["Max", "Min"])
def test_max_min_propagate_nan(op):
    a = np.array([NAN, 1, NAN, INF, -INF, 2, -0.0], np.float32)
    b = np.array([1, NAN, NAN, NAN, 1, -2, 0.0], np.float32)
    model = make_model(
        [N(op, ["a", "b"], ["y"], name="mm"), N(op, ["a", "s"], ["z"], name="mms")],
        [("a", [7]), ("b", [7]), ("s", [1])],
        [("y", [7]), ("z", [7])],
    )
    check(model, {"a": a, "b": b, "s": np.array([NAN], np.float32)})
    check(model, {"a": b, "b": a, "s": np.array([0.5], np.float32)})


@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin"])
@pytest.mark.parametrize("cols", [3, 3000], ids=["short", "long"])
def test_reduce_max_min_propagate_nan(op, cols):
    x = np.random.default_rng(0).uniform(-5, 5, (5, cols)).astype(np.float32)
    x[0, 0] = NAN  # onnxruntime propagates a leading NaN
    x[1, :] = -INF
    x[3, 0] = INF
    x[4, cols // 2] = NAN  # see below
    model = make_model(
        [N(op, ["x"], ["y"], name="red", axes=[1], keepdims=0)], [("x", [5, cols])], [("y", [5])]
    )
    got = build_engine(model).create_execution_context().infer({"x": x})["y"]
    assert_close(got[:4], ort_run(model, {"x": x})["y"][:4])
    # onnxruntime folds with std::max, which keeps a leading NaN but drops a later one (and its
    # vectorized long-row path drops every NaN): order-dependent. clrt propagates any NaN, as
    # NumPy's max/min and IEEE 754-2019 maximum/minimum do.
    assert_close(got[4:], (np.max if op == "ReduceMax" else np.min)(x[4:], axis=1))


def test_maxpool_skips_nan_as_onnxruntime():
    x = np.random.default_rng(1).standard_normal((1, 2, 6, 6)).astype(np.float32)
    x[0, 0, 0, 0] = NAN
    x[0, 0, 4, 4] = NAN
    x[0, 1, 2, 2] = -INF
    x[0, 1, 3, 3] = INF
    model = make_model(
        [N("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[3, 3], strides=[3, 3])],
        [("x", [1, 2, 6, 6])],
        [("y", [1, 2, 2, 2])],
    )
    check(model, {"x": x})


def test_fused_epilogues_keep_nan():
    """Conv + Relu and MatMul + Clip fuse into the GEMM/conv epilogues (activation.clh)."""
    rng = np.random.default_rng(2)
    w = rng.uniform(-0.5, 0.5, (4, 2, 3, 3)).astype(np.float32)
    m = rng.uniform(-0.5, 0.5, (8, 5)).astype(np.float32)
    model = make_model(
        [
            N("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
            N("Relu", ["c"], ["y"], name="relu"),
            N("MatMul", ["v", "m"], ["g"], name="mm"),
            N("Clip", ["g", "lo", "hi"], ["z"], name="clip"),
        ],
        [("x", [1, 2, 8, 8]), ("v", [3, 8])],
        [("y", [1, 4, 8, 8]), ("z", [3, 5])],
        {"w": w, "m": m, "lo": np.float32(-0.2), "hi": np.float32(0.3)},
    )
    x = rng.uniform(-1, 1, (1, 2, 8, 8)).astype(np.float32)
    x[0, 1, 3, 3] = NAN
    x[0, 0, 6, 6] = INF
    v = rng.uniform(-1, 1, (3, 8)).astype(np.float32)
    v[1, 2] = NAN
    check(model, {"x": x, "v": v})


def test_host_folded_max_and_reduce_keep_nan():
    """Constant subgraphs are evaluated on the host (ir/host_eval*.cc) at build time."""
    c1 = np.array([NAN, 1, 2, -INF], np.float32)
    c2 = np.array([1, NAN, 3, 0], np.float32)
    model = make_model(
        [
            N("Max", ["c1", "c2"], ["m"], name="max_c"),
            N("Min", ["c2", "c1"], ["n"], name="min_c"),
            N("ReduceMax", ["c1"], ["r"], name="rmax_c", keepdims=1),
            N("Add", ["x", "m"], ["y"], name="add1"),
            N("Add", ["x", "n"], ["z"], name="add2"),
            N("Add", ["x", "r"], ["u"], name="add3"),
        ],
        [("x", [4])],
        [("y", [4]), ("z", [4]), ("u", [4])],
        {"c1": c1, "c2": c2},
    )
    check(model, {"x": np.array([0.5, -1, 2, 4], np.float32)})


def gather_model(idx_dtype):
    data = np.arange(15, dtype=np.float32).reshape(5, 3)
    return make_model(
        [N("Gather", ["data", "idx"], ["y"], name="emb_lookup", axis=0)],
        [("idx", [4], idx_dtype)],
        [("y", [4, 3])],
        {"data": data},
    )


@pytest.mark.parametrize("idx_dtype", [np.int64, np.int32])
def test_gather_index_out_of_range_is_an_error(idx_dtype):
    model = gather_model(idx_dtype)
    ctx = build_engine(model).create_execution_context()
    good = np.array([0, 4, -1, -5], idx_dtype)
    check(model, {"idx": good})
    assert_close(ctx.infer({"idx": good})["y"], ort_run(model, {"idx": good})["y"])
    for bad, shown in [
        (np.array([0, 7, 1, 2], idx_dtype), "7"),
        (np.array([0, 1, -6, 2], idx_dtype), "-6"),
    ]:
        with pytest.raises(ort.capi.onnxruntime_pybind11_state.InvalidArgument):
            ort_run(model, {"idx": bad})
        with pytest.raises(ValueError, match=rf"emb_lookup.*index {shown} is out of range.*size 5"):
            ctx.infer({"idx": bad})
    # The error is reported once; the context runs good data afterwards.
    assert_close(ctx.infer({"idx": good})["y"], ort_run(model, {"idx": good})["y"])


def test_gather_error_through_execute_v2():
    model = gather_model(np.int64)
    engine = build_engine(model)
    ctx = engine.create_execution_context()
    idx = np.array([1, 2, 9, 0], np.int64)
    out = np.empty((4, 3), np.float32)
    d_idx, d_out = trt.mem_alloc(idx.nbytes), trt.mem_alloc(out.nbytes)
    trt.memcpy_htod(d_idx, idx)
    with pytest.raises(ValueError, match=r"emb_lookup.*index 9"):
        ctx.execute_v2([int(d_idx), int(d_out)])
    # execute_async_v3 does not wait: its run's error comes with the next call on the context.
    ctx.set_tensor_address("idx", int(d_idx))
    ctx.set_tensor_address("y", int(d_out))
    assert ctx.execute_async_v3(0)
    with pytest.raises(ValueError, match=r"emb_lookup.*index 9"):
        ctx.execute_async_v3(0)
    trt.memcpy_htod(d_idx, np.array([1, 2, 4, 0], np.int64))
    assert ctx.execute_async_v3(0)
    trt.memcpy_dtoh(out, d_out)
    np.testing.assert_array_equal(out, np.arange(15, dtype=np.float32).reshape(5, 3)[[1, 2, 4, 0]])


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_integer_division_by_zero_is_an_error(dtype):
    model = make_model(
        [N("Div", ["a", "b"], ["y"], name="int_div")],
        [("a", [3], dtype), ("b", [3], dtype)],
        [("y", [3], dtype)],
    )
    ctx = build_engine(model).create_execution_context()
    a = np.array([7, -7, 5], dtype)
    ok = np.array([2, 2, -1], dtype)
    np.testing.assert_array_equal(
        ctx.infer({"a": a, "b": ok})["y"], ort_run(model, {"a": a, "b": ok})["y"]
    )
    zero = np.array([2, 0, 1], dtype)
    with pytest.raises(ort.capi.onnxruntime_pybind11_state.Fail, match="division by zero"):
        ort_run(model, {"a": a, "b": zero})
    with pytest.raises(ValueError, match="int_div.*integer division by zero"):
        ctx.infer({"a": a, "b": zero})


def test_float_division_by_zero_gives_inf_and_nan():
    model = make_model(
        [N("Div", ["a", "b"], ["y"], name="fdiv")], [("a", [4]), ("b", [4])], [("y", [4])]
    )
    check(model, {"a": np.array([1, -1, 0, NAN], np.float32), "b": np.zeros(4, np.float32)})


def test_int_div_folded_on_host_names_the_layer():
    model = make_model(
        [N("Div", ["a", "b"], ["q"], name="host_div"), N("Add", ["x", "q"], ["y"], name="add")],
        [("x", [2], np.int64)],
        [("y", [2], np.int64)],
        {"a": np.array([4, 5], np.int64), "b": np.array([1, 0], np.int64)},
    )
    with pytest.raises(Exception, match="host_div.*division by zero"):
        build_engine(model)
