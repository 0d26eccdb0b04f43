# INetworkDefinition adders beyond the CNN set (add_unary, add_reduce, add_slice, add_gather(_v2),
# add_topk, add_select, add_padding_nd, add_shape, add_non_zero): small hand-built networks,
# several ops per engine (PoCL compiles slowly), compared with NumPy; and the errors bad arguments
# raise.
import math

import clrt as trt
import numpy as np
import pytest
from helpers import EXPLICIT_BATCH, assert_close, deserialize, make_model, parse_network
from onnx import helper

# Float outputs: NumPy computes in float64 (or float32); clrt's OpenCL builtins are within a few
# ulp. Integer, boolean and data-movement outputs are compared exactly.
RTOL, ATOL = 1e-5, 1e-6


def build_and_run(builder, network, feeds):
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    assert plan is not None
    engine = deserialize(bytes(plan))
    return engine, engine.create_execution_context().infer(feeds)


def mark(network, layer, name, index=0):
    t = layer.get_output(index)
    t.name = name
    network.mark_output(t)
    return t


U = trt.UnaryOperation
# Ops on (-0.9, 0.9), on (1.1, 3) and their NumPy references.
UNARY_SMALL = {
    U.EXP: np.exp,
    U.ABS: np.abs,
    U.NEG: np.negative,
    U.SIN: np.sin,
    U.COS: np.cos,
    U.TAN: np.tan,
    U.SINH: np.sinh,
    U.COSH: np.cosh,
    U.ASIN: np.arcsin,
    U.ACOS: np.arccos,
    U.ATAN: np.arctan,
    U.ASINH: np.arcsinh,
    U.ATANH: np.arctanh,
    U.CEIL: np.ceil,
    U.FLOOR: np.floor,
    U.ERF: np.vectorize(math.erf),
    U.SIGN: np.sign,
}
UNARY_LARGE = {U.LOG: np.log, U.SQRT: np.sqrt, U.RECIP: np.reciprocal, U.ACOSH: np.arccosh}


def test_unary_all_operations(builder):
    rng = np.random.default_rng(1)
    small = rng.uniform(-0.9, 0.9, (2, 3, 4)).astype(np.float32)
    small[0, 0, :3] = [0.0, -0.5, 0.5]  # sign of 0, ceil/floor of halves
    large = rng.uniform(1.1, 3.0, (2, 3, 4)).astype(np.float32)
    halves = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.3, -1.7], np.float32)
    special = np.array([np.inf, -np.inf, np.nan, 0.0, 1.0, -3.0], np.float32)
    flags = rng.integers(0, 2, (5,)).astype(np.bool_)
    ints = np.array([-7, 0, 3, -1, 12], np.int32)

    network = builder.create_network(EXPLICIT_BATCH)
    ins = {
        "small": network.add_input("small", trt.float32, small.shape),
        "large": network.add_input("large", trt.float32, large.shape),
        "halves": network.add_input("halves", trt.float32, halves.shape),
        "special": network.add_input("special", trt.float32, special.shape),
        "flags": network.add_input("flags", trt.bool, flags.shape),
        "ints": network.add_input("ints", trt.int32, ints.shape),
    }
    expected = {}
    for src, table in (("small", UNARY_SMALL), ("large", UNARY_LARGE)):
        x = small if src == "small" else large
        for op, ref in table.items():
            layer = network.add_unary(ins[src], op)
            assert layer.op == op and isinstance(layer, trt.IUnaryLayer)
            mark(network, layer, f"{op.name}_{src}")
            expected[f"{op.name}_{src}"] = ref(x.astype(np.float64)).astype(np.float32)
    mark(network, network.add_unary(ins["halves"], U.ROUND), "round")
    expected["round"] = np.round(halves)  # NumPy rounds halves to even, as TensorRT
    mark(network, network.add_unary(ins["special"], U.ISINF), "isinf")
    expected["isinf"] = np.isinf(special)
    mark(network, network.add_unary(ins["special"], U.ISNAN), "isnan")
    expected["isnan"] = np.isnan(special)
    mark(network, network.add_unary(ins["flags"], U.NOT), "not")
    expected["not"] = ~flags
    assert len(expected) == len(UNARY_SMALL) + len(UNARY_LARGE) + 4 == 25
    for op, ref in ((U.ABS, np.abs), (U.NEG, np.negative), (U.SIGN, np.sign)):
        mark(network, network.add_unary(ins["ints"], op), f"{op.name}_int")
        expected[f"{op.name}_int"] = ref(ints)

    assert network.get_layer(0).type == trt.LayerType.UNARY
    assert network.get_layer(0).op == U.EXP
    assert network.get_output(network.num_outputs - 4).dtype == trt.bool

    _, out = build_and_run(
        builder,
        network,
        {
            "small": small,
            "large": large,
            "halves": halves,
            "special": special,
            "flags": flags,
            "ints": ints,
        },
    )
    for name, ref in expected.items():
        if ref.dtype != np.float32 or name == "round" or name.startswith(("CEIL", "FLOOR", "SIGN")):
            np.testing.assert_array_equal(out[name], ref, err_msg=name)
        else:
            assert_close(out[name], ref, RTOL, ATOL, name)


def test_unary_errors(builder):
    network = builder.create_network(EXPLICIT_BATCH)
    other = builder.create_network(EXPLICIT_BATCH)
    x = other.add_input("x", trt.float32, (2,))
    with pytest.raises(ValueError, match="add_unary"):
        network.add_unary(x, U.EXP)  # a tensor of another network
    y = network.add_input("y", trt.float32, (2,))
    layer = network.add_unary(y, U.EXP)
    layer.op = U.LOG
    assert layer.op == U.LOG
    with pytest.raises(TypeError):
        network.add_unary(y, "EXP")
    with pytest.raises(ValueError, match="add_unary: UnaryOperation.NOT needs a BOOL input; 'y'"):
        network.add_unary(y, U.NOT)
    n = network.add_input("n", trt.int32, (2,))
    with pytest.raises(ValueError, match="add_unary: UnaryOperation.SQRT needs a FLOAT or HALF"):
        network.add_unary(n, U.SQRT)
    assert network.add_unary(n, U.ABS).get_output(0).dtype == trt.int32
    with pytest.raises(ValueError, match="op: UnaryOperation.ISNAN needs a FLOAT or HALF"):
        network.add_unary(n, U.NEG).op = U.ISNAN


R = trt.ReduceOperation
REDUCE_CASES = [  # op, axes bit mask, keep_dims, NumPy reference
    (R.SUM, 0b010, True, np.sum),
    (R.PROD, 0b100, False, np.prod),
    (R.MAX, 0b101, True, np.max),
    (R.MIN, 0b001, False, np.min),
    (R.AVG, 0b110, True, np.mean),
]


def bit_axes(bits, rank):
    return tuple(a for a in range(rank) if bits >> a & 1)


def test_reduce_slice_padding_select_shape(builder):
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (2, 3, 4)).astype(np.float32)
    cond = rng.integers(0, 2, (2, 3, 4)).astype(np.bool_)
    other = rng.uniform(-1, 1, (3, 4)).astype(np.float32)  # broadcast against x
    col = rng.uniform(-1, 1, (3, 1)).astype(np.float32)

    network = builder.create_network(EXPLICIT_BATCH)
    tx = network.add_input("x", trt.float32, x.shape)
    tc = network.add_input("cond", trt.bool, cond.shape)
    to = network.add_input("other", trt.float32, other.shape)
    tcol = network.add_input("col", trt.float32, col.shape)
    expected, exact = {}, set()

    for i, (op, bits, keep, ref) in enumerate(REDUCE_CASES):
        layer = network.add_reduce(tx, op, bits, keep)
        assert (layer.op, layer.axes, layer.keep_dims) == (op, bits, keep)
        assert layer.type == trt.LayerType.REDUCE and isinstance(layer, trt.IReduceLayer)
        mark(network, layer, f"reduce{i}")
        expected[f"reduce{i}"] = ref(x.astype(np.float64), axis=bit_axes(bits, 3), keepdims=keep)

    s1 = network.add_slice(tx, (0, 1, 0), (2, 2, 2), (1, 1, 2))
    assert (s1.start, s1.shape, s1.stride) == ((0, 1, 0), (2, 2, 2), (1, 1, 2))
    assert s1.mode == trt.SampleMode.STRICT_BOUNDS
    mark(network, s1, "slice_fwd")
    expected["slice_fwd"] = x[0:2, 1:3, 0:4:2]
    s2 = network.add_slice(tx, (1, 2, 3), (2, 3, 2), (-1, -1, -2))  # reversed, to element 0
    mark(network, s2, "slice_rev")
    expected["slice_rev"] = x[::-1, ::-1, 3::-2]
    s3 = network.add_slice(tx, (0, 0, 0), (1, 1, 1), (1, 1, 1))
    s3.start, s3.shape, s3.stride = (1, 0, 1), (1, 3, 3), (1, 1, 1)  # edited after creation
    assert tuple(s3.get_output(0).shape) == (1, 3, 3)
    mark(network, s3, "slice_edit")
    expected["slice_edit"] = x[1:2, :, 1:4]
    s4 = network.add_slice(tcol, (0, 0), (3, 4), (1, 0))  # torch2trt's expand: a broadcast
    assert (s4.start, s4.shape, s4.stride) == ((0, 0), (3, 4), (1, 0))
    assert isinstance(s4, trt.ISliceLayer) and s4.type == trt.LayerType.SLICE
    mark(network, s4, "slice_broadcast")
    expected["slice_broadcast"] = np.broadcast_to(col, (3, 4))
    exact |= {"slice_fwd", "slice_rev", "slice_edit", "slice_broadcast"}

    p = network.add_padding_nd(tx, (1, 2), (0, -1))
    assert (p.pre_padding_nd, p.post_padding_nd) == ((1, 2), (0, -1))
    assert tuple(p.get_output(0).shape) == (2, 4, 5)
    mark(network, p, "pad")
    expected["pad"] = np.pad(x, ((0, 0), (1, 0), (2, 0)))[:, :, :5]
    p2 = network.add_padding_nd(tx, (1,), (2,))
    p2.post_padding_nd = (0, 1)  # reported for the two innermost dims
    assert (p2.pre_padding_nd, p2.post_padding_nd) == ((0, 1), (0, 1))
    mark(network, p2, "pad_last")
    expected["pad_last"] = np.pad(x, ((0, 0), (0, 0), (1, 1)))
    exact |= {"pad", "pad_last"}

    sel = network.add_select(tc, tx, to)
    assert isinstance(sel, trt.ISelectLayer) and sel.type == trt.LayerType.SELECT
    mark(network, sel, "select")
    expected["select"] = np.where(cond, x, other)
    exact.add("select")

    sh = network.add_shape(tx)
    assert sh.type == trt.LayerType.SHAPE and sh.get_output(0).dtype == trt.int64
    # A shape output is a host value; add it to a device tensor as TensorRT scripts do.
    one = network.add_constant((3,), np.ones(3, np.int64))
    summed = network.add_elementwise(
        sh.get_output(0), one.get_output(0), trt.ElementWiseOperation.SUM
    )
    mark(network, summed, "shape_plus_one")
    expected["shape_plus_one"] = np.array(x.shape, np.int64) + 1
    exact.add("shape_plus_one")

    _, out = build_and_run(builder, network, {"x": x, "cond": cond, "other": other, "col": col})
    for name, ref in expected.items():
        assert out[name].shape == ref.shape, name
        if name in exact:
            np.testing.assert_array_equal(out[name], ref, err_msg=name)
        else:
            assert_close(out[name], ref.astype(np.float32), RTOL, ATOL, name)


def test_reduce_errors(builder):
    network = builder.create_network(EXPLICIT_BATCH)
    x = network.add_input("x", trt.float32, (2, 3))
    with pytest.raises(ValueError, match="add_reduce.*at least one bit"):
        network.add_reduce(x, R.SUM, 0, True)
    with pytest.raises(ValueError, match="add_reduce.*beyond the input rank 2"):
        network.add_reduce(x, R.SUM, 0b100, True)
    layer = network.add_reduce(x, R.MAX, 0b1, False)
    with pytest.raises(ValueError, match="axes"):
        layer.axes = 0b1000
    layer.axes = 0b10
    assert tuple(layer.get_output(0).shape) == (2,)


def test_slice_errors(builder):
    network = builder.create_network(EXPLICIT_BATCH)
    x = network.add_input("x", trt.float32, (2, 3))
    with pytest.raises(ValueError, match="add_slice.*rank 2"):
        network.add_slice(x, (0,), (1,), (1,))
    with pytest.raises(ValueError, match="add_slice: axis 1 reads elements 1 to 3 of 3"):
        network.add_slice(x, (0, 1), (2, 3), (1, 1))
    with pytest.raises(ValueError, match="add_slice.*negative"):
        network.add_slice(x, (-1, 0), (1, 1), (1, 1))
    with pytest.raises(
        trt.UnsupportedError, match="add_slice: stride 0 is supported as a broadcast"
    ):
        network.add_slice(x, (0, 0), (2, 3), (0, 1))  # stride 0 on a dim of 2
    y = network.add_input("y", trt.float32, (1, 3))
    with pytest.raises(trt.UnsupportedError, match="axis 1 has start 1, shape 2, stride 1"):
        network.add_slice(y, (0, 1), (4, 2), (0, 1))
    b = network.add_slice(y, (0, 0), (4, 3), (0, 1))
    with pytest.raises(trt.UnsupportedError, match="cannot be edited"):
        b.start = (0, 0)
    layer = network.add_slice(x, (0, 0), (2, 3), (1, 1))
    with pytest.raises(trt.UnsupportedError, match="STRICT_BOUNDS"):
        layer.mode = trt.SampleMode.WRAP
    with pytest.raises(trt.UnsupportedError, match="set_input"):
        layer.set_input(1, x)
    with pytest.raises(ValueError, match="STRICT_BOUNDS"):
        layer.shape = (3, 3)
    assert layer.shape == (2, 3)


def test_gather_and_topk(builder):
    rng = np.random.default_rng(3)
    x = rng.permutation(2 * 5 * 6).astype(np.float32).reshape(2, 5, 6)  # distinct values
    idx = np.array([[4, 0], [2, 2]], np.int32)
    el = rng.integers(0, 6, (2, 5, 3)).astype(np.int64)
    nd = np.array([[[1, 2], [4, 5]], [[0, 0], [3, 1]]], np.int32)  # [2, 2, 2]: batch + (i, j)
    m = rng.integers(-1, 2, (3, 4)).astype(np.int32)

    network = builder.create_network(EXPLICIT_BATCH)
    tx = network.add_input("x", trt.float32, x.shape)
    ti = network.add_input("idx", trt.int32, idx.shape)
    te = network.add_input("el", trt.int64, el.shape)
    tn = network.add_input("nd", trt.int32, nd.shape)
    tm = network.add_input("m", trt.int32, m.shape)
    expected = {}

    g = network.add_gather(tx, ti, 1)
    assert (g.axis, g.mode, g.num_elementwise_dims) == (1, trt.GatherMode.DEFAULT, 0)
    assert g.type == trt.LayerType.GATHER
    mark(network, g, "gather")
    expected["gather"] = np.take(x, idx, axis=1)
    ge = network.add_gather_v2(tx, te, trt.GatherMode.ELEMENT)
    ge.axis = 2
    assert ge.mode == trt.GatherMode.ELEMENT
    mark(network, ge, "gather_element")
    expected["gather_element"] = np.take_along_axis(x, el, axis=2)
    gn = network.add_gather_v2(tx, tn, trt.GatherMode.ND)
    gn.num_elementwise_dims = 1
    assert tuple(gn.get_output(0).shape) == (2, 2)
    mark(network, gn, "gather_nd")
    expected["gather_nd"] = np.stack([x[b][tuple(nd[b].T)] for b in range(2)])

    K = trt.TopKOperation
    t1 = network.add_topk(tx, K.MAX, 2, 1 << 2)
    assert (t1.op, t1.k, t1.axes) == (K.MAX, 2, 4) and t1.num_outputs == 2
    assert t1.type == trt.LayerType.TOPK
    mark(network, t1, "top_values", 0)
    mark(network, t1, "top_indices", 1)
    order = np.argsort(-x, axis=2, kind="stable")[:, :, :2]
    expected["top_values"], expected["top_indices"] = np.take_along_axis(x, order, 2), order
    t2 = network.add_topk(tx, K.MIN, 1, 1 << 1)
    t2.k, t2.axes = 3, 1 << 1
    mark(network, t2, "bottom_values", 0)
    mark(network, t2, "bottom_indices", 1)
    order = np.argsort(x, axis=1, kind="stable")[:, :3, :]
    expected["bottom_values"], expected["bottom_indices"] = np.take_along_axis(x, order, 1), order

    t3 = network.add_topk(tx, K.MIN, 1, 1 << 2)
    t3.set_input(1, network.add_constant((), np.array(4, np.int32)).get_output(0))  # k tensor
    assert tuple(t3.get_output(0).shape) == (2, 5, 4)
    mark(network, t3, "k_tensor_values", 0)
    mark(network, t3, "k_tensor_indices", 1)
    order = np.argsort(x, axis=2, kind="stable")[:, :, :4]
    expected["k_tensor_values"] = np.take_along_axis(x, order, 2)
    expected["k_tensor_indices"] = order

    nz = network.add_non_zero(tm)
    assert isinstance(nz, trt.INonZeroLayer) and nz.type == trt.LayerType.NON_ZERO
    assert tuple(nz.get_output(0).shape) == (2, -1)  # the count is known at run time
    mark(network, nz, "non_zero")
    expected["non_zero"] = np.array(np.nonzero(m), np.int64)

    feeds = {"x": x, "idx": idx, "el": el, "nd": nd, "m": m}
    engine, out = build_and_run(builder, network, feeds)
    # clrt's top-k indices are INT64 (TensorRT's are INT32).
    assert engine.get_tensor_dtype("top_indices") == trt.int64
    for name, ref in expected.items():
        np.testing.assert_array_equal(out[name], ref, err_msg=name)


def test_gather_errors(builder):
    network = builder.create_network(EXPLICIT_BATCH)
    x = network.add_input("x", trt.float32, (2, 3))
    i = network.add_input("i", trt.int32, (2,))
    f = network.add_input("f", trt.float32, (2,))
    with pytest.raises(ValueError, match="add_gather: axis 2 is out of range"):
        network.add_gather(x, i, 2)
    with pytest.raises(ValueError, match="add_gather: indices 'f' must be INT32 or INT64"):
        network.add_gather(x, f, 0)
    g = network.add_gather(x, i, 0)
    with pytest.raises(trt.UnsupportedError, match="num_elementwise_dims"):
        g.num_elementwise_dims = 1
    with pytest.raises(ValueError, match="must have the data's rank"):
        network.add_gather_v2(x, i, trt.GatherMode.ELEMENT)


def test_topk_errors(builder):
    network = builder.create_network(EXPLICIT_BATCH)
    x = network.add_input("x", trt.float32, (2, 3))
    with pytest.raises(ValueError, match="add_topk: k = 4 exceeds the reduced axis of size 3"):
        network.add_topk(x, trt.TopKOperation.MAX, 4, 0b10)
    with pytest.raises(ValueError, match="add_topk: axes bit mask must have exactly one bit"):
        network.add_topk(x, trt.TopKOperation.MAX, 1, 0b11)
    with pytest.raises(ValueError, match="add_topk: k must be >= 1"):
        network.add_topk(x, trt.TopKOperation.MAX, 0, 0b1)
    t = network.add_topk(x, trt.TopKOperation.MIN, 3, 0b10)
    with pytest.raises(ValueError, match="axes: k = 3 exceeds the reduced axis of size 2"):
        t.axes = 0b1
    with pytest.raises(ValueError, match="k: k = 5 exceeds the reduced axis of size 3"):
        t.k = 5
    assert (t.k, t.axes) == (3, 0b10)
    f = network.add_input("f", trt.float32, ())
    with pytest.raises(ValueError, match="set_input: k 'f' must be one INT32 or INT64 value"):
        t.set_input(1, f)
    with pytest.raises(ValueError, match="set_input: index 2 is out of range"):
        t.set_input(2, x)
    t.set_input(1, network.add_constant((), np.array(2, np.int64)).get_output(0))
    assert tuple(t.get_output(0).shape) == (2, 2)
    with pytest.raises(trt.UnsupportedError, match="k is a tensor computed at run time"):
        _ = t.k


def test_select_padding_shape_non_zero_errors(builder):
    network = builder.create_network(EXPLICIT_BATCH)
    x = network.add_input("x", trt.float32, (2, 3))
    c = network.add_input("c", trt.bool, (2, 3))
    n = network.add_input("n", trt.int32, (2, 3))
    with pytest.raises(ValueError, match="add_select: condition 'x' must be BOOL"):
        network.add_select(x, x, x)
    with pytest.raises(ValueError, match="add_select: then_input 'x'.*same type"):
        network.add_select(c, x, n)
    bad = network.add_input("bad", trt.float32, (4, 5))
    with pytest.raises(ValueError, match="broadcast|Select"):
        network.add_select(c, x, bad)
    with pytest.raises(ValueError, match="add_padding_nd: pre_padding.*same length"):
        network.add_padding_nd(x, (1, 1), (1,))
    with pytest.raises(ValueError, match="add_padding_nd: pads 3 innermost dims.*rank 2"):
        network.add_padding_nd(x, (1, 1, 1), (1, 1, 1))
    other = builder.create_network(EXPLICIT_BATCH).add_input("y", trt.float32, (1,))
    with pytest.raises(ValueError, match="add_shape"):
        network.add_shape(other)
    scalar = network.add_input("s", trt.float32, ())
    with pytest.raises(ValueError, match="add_non_zero: input 's' is a scalar"):
        network.add_non_zero(scalar)


def test_parsed_layers_have_the_typed_classes():
    """Layers the ONNX parser makes of these kinds come back as the typed classes, and their
    properties read the parsed attrs in TensorRT's terms."""
    nodes = [
        helper.make_node("Sqrt", ["x"], ["sq"]),
        helper.make_node("ReduceMax", ["x"], ["rm"], axes=[0, 2], keepdims=0),
        helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["sl"]),
        helper.make_node("Gather", ["x", "gi"], ["ga"], axis=2),
        helper.make_node("TopK", ["x", "k"], ["tv", "ti"], axis=1, largest=0),
        helper.make_node("Pad", ["x", "pads"], ["pd"]),
    ]
    inits = {
        "st": np.array([-1, 1], np.int64),
        "en": np.array([-3, 4], np.int64),
        "ax": np.array([2, 1], np.int64),
        "sp": np.array([-1, 2], np.int64),
        "gi": np.array([0, 3], np.int64),
        "k": np.array([2], np.int64),
        "pads": np.array([0, 0, 1, 0, 0, 2], np.int64),
    }
    outs = ["sq", "rm", "sl", "ga", "tv", "ti", "pd"]
    model = make_model(nodes, [("x", [2, 3, 4])], outs, inits)
    _, network, _parser = parse_network(model)
    layers = {
        network.get_layer(i).get_output(0).name: network.get_layer(i)
        for i in range(network.num_layers)
    }
    sq = layers["sq"]
    assert isinstance(sq, trt.IUnaryLayer) and sq.op == U.SQRT and sq.type == trt.LayerType.UNARY
    rm = layers["rm"]
    assert isinstance(rm, trt.IReduceLayer)
    assert (rm.op, rm.axes, rm.keep_dims) == (R.MAX, 0b101, False)
    sl = layers["sl"]
    assert isinstance(sl, trt.ISliceLayer) and sl.type == trt.LayerType.SLICE
    # x[:, 1:4:2, -1:-3:-1] (axis 1 has 3 elements) -> start (0, 1, 3), shape (2, 1, 2)
    assert (sl.start, sl.shape, sl.stride) == ((0, 1, 3), (2, 1, 2), (1, 2, -1))
    ga = layers["ga"]
    assert isinstance(ga, trt.IGatherLayer) and (ga.axis, ga.mode) == (2, trt.GatherMode.DEFAULT)
    tk = layers["tv"]
    assert isinstance(tk, trt.ITopKLayer)
    assert (tk.op, tk.k, tk.axes) == (trt.TopKOperation.MIN, 2, 0b10)
    pd = layers["pd"]
    assert isinstance(pd, trt.IPaddingLayer) and pd.type == trt.LayerType.PADDING
    assert (pd.pre_padding_nd, pd.post_padding_nd) == ((0, 1), (0, 2))
