# INetworkDefinition.add_loop / add_if_conditional (TensorRT's ILoop and IIfConditional): networks
# built as TensorRT's samples build them, unrolled / lowered by the builder, compared with NumPy;
# the boundary layers' API; and the errors of loops clrt cannot unroll.
import clrt as trt
import numpy as np
import pytest
from helpers import assert_close, deserialize

# Float outputs: NumPy in float64 against clrt's float32 kernels (matmuls of <= 16 terms and
# transcendental builtins within a few ulp), over up to 6 recurrent steps.
RTOL, ATOL = 1e-5, 1e-6
LOGGER = trt.Logger(trt.Logger.ERROR)


def new_network():
    builder = trt.Builder(LOGGER)
    return builder, builder.create_network(0)


def build(builder, network):
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    assert plan is not None
    return deserialize(bytes(plan))


def run(builder, network, feeds):
    return build(builder, network).create_execution_context().infer(feeds)


def const(network, value, dtype=None):
    v = np.asarray(value, dtype=dtype)
    return network.add_constant(v.shape, v).get_output(0)


def mark(network, tensor, name):
    tensor.name = name
    network.mark_output(tensor)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --- An LSTM over a sequence, as TensorRT's refactored sample notebook 2 builds it --------------

SEQ, BATCH, IN, HID = 5, 2, 3, 4


def lstm_step(net, x, h, c, w, u, b):
    """One LSTM step from network-API layers: gates = x W + h U + b, then i, f, g, o."""
    wx = net.add_matrix_multiply(
        x, trt.MatrixOperation.NONE, const(net, w), trt.MatrixOperation.NONE
    )
    uh = net.add_matrix_multiply(
        h, trt.MatrixOperation.NONE, const(net, u), trt.MatrixOperation.NONE
    )
    s = net.add_elementwise(wx.get_output(0), uh.get_output(0), trt.ElementWiseOperation.SUM)
    gates = net.add_elementwise(s.get_output(0), const(net, b[None]), trt.ElementWiseOperation.SUM)
    g = gates.get_output(0)

    def gate(k, act):
        sl = net.add_slice(g, start=(0, k * HID), shape=(BATCH, HID), stride=(1, 1))
        return net.add_activation(sl.get_output(0), act).get_output(0)

    A = trt.ActivationType
    i, f, cand, o = gate(0, A.SIGMOID), gate(1, A.SIGMOID), gate(2, A.TANH), gate(3, A.SIGMOID)
    E = trt.ElementWiseOperation
    fc = net.add_elementwise(f, c, E.PROD).get_output(0)
    ig = net.add_elementwise(i, cand, E.PROD).get_output(0)
    c2 = net.add_elementwise(fc, ig, E.SUM).get_output(0)
    t = net.add_activation(c2, A.TANH).get_output(0)
    h2 = net.add_elementwise(o, t, E.PROD).get_output(0)
    return h2, c2


def lstm_numpy(xs, w, u, b, h, c):
    hs = []
    for x in xs.astype(np.float64):
        gates = x @ w + h @ u + b
        i, f, g, o = np.split(gates, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        hs.append(h)
    return np.stack(hs), h, c


@pytest.fixture(scope="module")
def lstm():
    rng = np.random.default_rng(7)
    w = rng.uniform(-0.5, 0.5, (IN, 4 * HID)).astype(np.float32)
    u = rng.uniform(-0.5, 0.5, (HID, 4 * HID)).astype(np.float32)
    b = rng.uniform(-0.2, 0.2, 4 * HID).astype(np.float32)
    h0 = rng.uniform(-1, 1, (BATCH, HID)).astype(np.float32)
    c0 = rng.uniform(-1, 1, (BATCH, HID)).astype(np.float32)
    builder, net = new_network()
    xs = net.add_input("xs", trt.float32, (SEQ, BATCH, IN))
    loop = net.add_loop()
    loop.name = "time"
    trip = net.add_constant((), np.array([SEQ], dtype=np.int32)).get_output(0)
    limit = loop.add_trip_limit(trip, trt.TripLimit.COUNT)
    hr = loop.add_recurrence(const(net, h0))
    cr = loop.add_recurrence(const(net, c0))
    it = loop.add_iterator(xs, axis=0)
    h, c = lstm_step(net, it.get_output(0), hr.get_output(0), cr.get_output(0), w, u, b)
    hr.set_input(1, h)
    cr.set_input(1, c)
    seq = loop.add_loop_output(h, trt.LoopOutput.CONCATENATE, axis=0)
    seq.set_input(1, trip)
    last_c = loop.add_loop_output(c, trt.LoopOutput.LAST_VALUE)
    rev = loop.add_loop_output(h, trt.LoopOutput.REVERSE, axis=1)
    rev.set_input(1, trip)
    mark(net, seq.get_output(0), "hs")
    mark(net, last_c.get_output(0), "c_last")
    mark(net, rev.get_output(0), "hs_rev")
    layers = {"limit": limit, "rec": hr, "iter": it, "seq": seq, "last": last_c, "rev": rev}
    return builder, net, layers, (w, u, b, h0, c0)


def test_lstm_loop_matches_numpy(lstm):
    builder, net, _, (w, u, b, h0, c0) = lstm
    xs = np.random.default_rng(8).uniform(-1, 1, (SEQ, BATCH, IN)).astype(np.float32)
    out = run(builder, net, {"xs": xs})
    hs, _, c = lstm_numpy(xs, w, u, b, h0.astype(np.float64), c0.astype(np.float64))
    assert out["hs"].shape == (SEQ, BATCH, HID)
    assert_close(out["hs"], hs, RTOL, ATOL, "hs")
    assert_close(out["c_last"], c, RTOL, ATOL, "c_last")
    assert_close(out["hs_rev"], np.moveaxis(hs[::-1], 0, 1), RTOL, ATOL, "hs_rev")


def test_loop_layers_read_as_tensorrt(lstm):
    _, net, layers, _ = lstm
    L = trt.LayerType
    assert layers["limit"].type == L.TRIP_LIMIT and layers["limit"].kind == trt.TripLimit.COUNT
    assert layers["limit"].num_outputs == 0
    assert layers["rec"].type == L.RECURRENCE and layers["rec"].num_inputs == 2
    assert layers["iter"].type == L.ITERATOR
    assert (layers["iter"].axis, layers["iter"].reverse) == (0, False)
    assert layers["seq"].type == L.LOOP_OUTPUT and layers["seq"].kind == trt.LoopOutput.CONCATENATE
    assert layers["last"].kind == trt.LoopOutput.LAST_VALUE
    assert layers["rev"].axis == 1
    # Shapes as TensorRT gives them while the network is built.
    assert tuple(layers["iter"].get_output(0).shape) == (BATCH, IN)
    assert tuple(layers["rec"].get_output(0).shape) == (BATCH, HID)
    assert tuple(layers["seq"].get_output(0).shape) == (SEQ, BATCH, HID)
    assert tuple(layers["rev"].get_output(0).shape) == (BATCH, SEQ, HID)
    for k in layers:
        assert layers[k].loop.name == "time"
    types = {net.get_layer(i).type for i in range(net.num_layers)}
    assert {L.TRIP_LIMIT, L.RECURRENCE, L.ITERATOR, L.LOOP_OUTPUT} <= types
    iters = [net.get_layer(i) for i in range(net.num_layers)]
    iters = [la for la in iters if la.type == L.ITERATOR]
    assert len(iters) == 1 and isinstance(iters[0], trt.IIteratorLayer)


def test_while_counter_reverse_iterator_and_padding():
    # Loop A: WHILE i < 3 (i += 1) doubles x; its concatenation is longer than the trip count
    # (zeros after it). Loop B: COUNT 3 over a reverse iterator, a running sum of the rows.
    builder, net = new_network()
    x = net.add_input("x", trt.float32, (4,))
    seq = net.add_input("seq", trt.float32, (3, 4))
    E = trt.ElementWiseOperation
    a = net.add_loop()
    i = a.add_recurrence(const(net, 0, np.int32))
    acc = a.add_recurrence(x)
    cond = net.add_elementwise(i.get_output(0), const(net, 3, np.int32), E.LESS).get_output(0)
    a.add_trip_limit(cond, trt.TripLimit.WHILE)
    two = const(net, np.full(4, 2, np.float32))
    nxt = net.add_elementwise(acc.get_output(0), two, E.PROD).get_output(0)
    acc.set_input(1, nxt)
    i.set_input(
        1, net.add_elementwise(i.get_output(0), const(net, 1, np.int32), E.SUM).get_output(0)
    )
    out = a.add_loop_output(nxt, trt.LoopOutput.CONCATENATE, 0)
    out.set_input(1, const(net, 5, np.int64))
    mark(net, out.get_output(0), "steps")
    mark(net, a.add_loop_output(i.get_output(0), trt.LoopOutput.LAST_VALUE).get_output(0), "i")

    b = net.add_loop()
    b.add_trip_limit(const(net, 3, np.int32), trt.TripLimit.COUNT)
    s = b.add_recurrence(const(net, np.zeros(4, np.float32)))
    row = b.add_iterator(seq, 0, True).get_output(0)
    s2 = net.add_elementwise(s.get_output(0), row, E.SUM).get_output(0)
    s.set_input(1, s2)
    sums = b.add_loop_output(s2, trt.LoopOutput.CONCATENATE, 1)
    sums.set_input(1, const(net, 3, np.int32))
    mark(net, sums.get_output(0), "sums")

    rng = np.random.default_rng(3)
    xv = rng.uniform(-1, 1, 4).astype(np.float32)
    sv = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
    got = run(builder, net, {"x": xv, "seq": sv})
    want = np.stack([xv * 2.0, xv * 4.0, xv * 8.0, np.zeros(4), np.zeros(4)])
    assert_close(got["steps"], want, RTOL, ATOL, "steps")
    # LAST_VALUE of a recurrence: its value in the last iteration run (i = 2).
    assert int(got["i"]) == 2
    want_sums = np.cumsum(sv[::-1].astype(np.float64), axis=0).T
    assert_close(got["sums"], want_sums, RTOL, ATOL, "sums")


def test_nested_loops():
    # for a in 0..2: for b in 0..1: y = y * 0.5 + x  (the inner loop reads the outer's value)
    builder, net = new_network()
    x = net.add_input("x", trt.float32, (2, 3))
    outer = net.add_loop()
    outer.add_trip_limit(const(net, 3, np.int32), trt.TripLimit.COUNT)
    y = outer.add_recurrence(x)
    inner = net.add_loop()
    inner.add_trip_limit(const(net, 2, np.int32), trt.TripLimit.COUNT)
    z = inner.add_recurrence(y.get_output(0))
    E = trt.ElementWiseOperation
    half = net.add_elementwise(
        z.get_output(0), const(net, np.full((2, 3), 0.5, np.float32)), E.PROD
    )
    z2 = net.add_elementwise(half.get_output(0), x, E.SUM).get_output(0)
    z.set_input(1, z2)
    inner_out = inner.add_loop_output(z2, trt.LoopOutput.LAST_VALUE).get_output(0)
    y.set_input(1, inner_out)
    mark(net, outer.add_loop_output(inner_out, trt.LoopOutput.LAST_VALUE).get_output(0), "y")
    xv = np.random.default_rng(5).uniform(-1, 1, (2, 3)).astype(np.float32)
    v = xv.astype(np.float64)
    for _ in range(6):
        v = v * 0.5 + xv
    assert_close(run(builder, net, {"x": xv})["y"], v, RTOL, ATOL, "y")


def conditional_network(cond_from_input):
    builder, net = new_network()
    x = net.add_input("x", trt.float32, (2, 3))
    cif = net.add_if_conditional()
    cif.name = "sign"
    R, E = trt.ReduceOperation, trt.ElementWiseOperation
    if cond_from_input:
        total = net.add_reduce(x, R.SUM, 3, False).get_output(0)
        cond = net.add_elementwise(total, const(net, np.float32(0)), E.GREATER).get_output(0)
    else:
        cond = const(net, True)
    condition = cif.set_condition(cond)
    xin = cif.add_input(x).get_output(0)
    t = net.add_elementwise(xin, const(net, np.full((2, 3), 2, np.float32)), E.PROD).get_output(0)
    f = net.add_unary(xin, trt.UnaryOperation.EXP).get_output(0)
    out = cif.add_output(t, f)
    mark(net, out.get_output(0), "y")
    return builder, net, condition, out


def test_if_conditional_takes_each_branch():
    builder, net, condition, out = conditional_network(True)
    assert (
        condition.type == trt.LayerType.CONDITION and out.type == trt.LayerType.CONDITIONAL_OUTPUT
    )
    assert out.conditional.name == "sign" and tuple(out.get_output(0).shape) == (2, 3)
    ctx = build(builder, net).create_execution_context()
    pos = np.abs(np.random.default_rng(1).uniform(0.1, 1, (2, 3))).astype(np.float32)
    assert_close(ctx.infer({"x": pos})["y"], pos.astype(np.float64) * 2, RTOL, ATOL, "true")
    assert_close(ctx.infer({"x": -pos})["y"], np.exp(-pos.astype(np.float64)), RTOL, ATOL, "false")


def test_if_conditional_known_at_build_keeps_one_branch():
    builder, net, _, _ = conditional_network(False)
    engine = build(builder, net)
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    assert "EXP" not in info.upper(), "the false branch should have been folded away"
    xv = np.random.default_rng(2).uniform(-1, 1, (2, 3)).astype(np.float32)
    got = engine.create_execution_context().infer({"x": xv})["y"]
    assert_close(got, xv.astype(np.float64) * 2, RTOL, ATOL, "y")


def loop_error(make):
    builder, net = new_network()
    make(net)
    with pytest.raises(Exception) as e:
        builder.build_serialized_network(net, builder.create_builder_config())
    return str(e.value)


def one_value_loop(limit=None, kind=trt.TripLimit.COUNT, step=None, escape=False, name=None):
    """A builder of a loop carrying x (2 floats) until `limit` (a value, or a function of the
    network giving the tensor); step(net, current) gives the next value (None: none is set;
    default: the value itself). escape: a body value read after the loop instead of an output."""

    def make(net):
        x = net.add_input("x", trt.float32, (2,))
        loop = net.add_loop()
        if name:
            loop.name = name
        if limit is not None:
            t = limit(net) if callable(limit) else const(net, limit)
            loop.add_trip_limit(t, kind)
        r = loop.add_recurrence(x)
        nxt = step(net, r.get_output(0)) if step else r.get_output(0)
        if nxt is not None:
            r.set_input(1, nxt)
        if escape:
            mark(net, net.add_unary(nxt, trt.UnaryOperation.ABS).get_output(0), "y")
            return
        mark(
            net, loop.add_loop_output(r.get_output(0), trt.LoopOutput.LAST_VALUE).get_output(0), "y"
        )

    return make


def named(tensor, name):
    tensor.name = name
    return tensor


def test_loops_that_cannot_be_unrolled_are_named():
    def dynamic_count(net):
        x = net.add_input("d", trt.float32, (-1, 2))
        n = net.add_gather(net.add_shape(x).get_output(0), const(net, 0, np.int32), 0)
        return named(net.add_cast(n.get_output(0), trt.int32).get_output(0), "n")

    msg = loop_error(one_value_loop(dynamic_count, name="scan"))
    assert "scan" in msg and "trip count (tensor 'n')" in msg and "not known" in msg
    assert "add_trip_limit" in loop_error(one_value_loop())
    no_next = one_value_loop(np.int32(2), step=lambda net, r: None)
    assert "set_input(1" in loop_error(no_next)

    def wide(net, r):
        return named(net.add_concatenation([r, r]).get_output(0), "wide")

    msg = loop_error(one_value_loop(np.int32(2), step=wide))
    assert "'wide'" in msg and "(4,)" in msg and "initial value's dtype and shape" in msg

    def neg(net, r):
        return named(net.add_unary(r, trt.UnaryOperation.NEG).get_output(0), "inside")

    msg = loop_error(one_value_loop(np.int32(2), step=neg, escape=True))
    assert "'inside'" in msg and "add_loop_output" in msg
    endless = one_value_loop(True, kind=trt.TripLimit.WHILE)
    assert "1024 iterations" in loop_error(endless)
    assert "trip count 5000 is over the 1024" in loop_error(one_value_loop(np.int32(5000)))


def test_bad_boundary_arguments_raise_at_once():
    _, net = new_network()
    loop = net.add_loop()
    with pytest.raises(ValueError, match="trip count must be INT32 or INT64"):
        loop.add_trip_limit(const(net, 2.0, np.float32), trt.TripLimit.COUNT)
    with pytest.raises(ValueError, match="one value"):
        loop.add_trip_limit(const(net, [2, 3], np.int32), trt.TripLimit.COUNT)
    loop.add_trip_limit(const(net, 2, np.int32), trt.TripLimit.COUNT)
    with pytest.raises(ValueError, match="COUNT limit already"):
        loop.add_trip_limit(const(net, 2, np.int32), trt.TripLimit.COUNT)
    with pytest.raises(ValueError, match="scalar"):
        loop.add_iterator(const(net, 1.0, np.float32))
    cif = net.add_if_conditional()
    with pytest.raises(ValueError, match="BOOL"):
        cif.set_condition(const(net, 1, np.int32))
    a = const(net, np.zeros((2, 3), np.float32))
    b = const(net, np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="one shape"):
        cif.add_output(a, b)
