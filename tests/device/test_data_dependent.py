# Data-dependent output shapes (NonZero, NonMaxSuppression, Unique, Compress, TopK with a run-time
# k) against onnxruntime: through infer() and through execute_async_v3 with an IOutputAllocator.
"""Index outputs are compared exactly, float outputs at 1e-5 (FP32). One engine holds every op
case (one graph output per case); a detector-like tail (Conv -> Sigmoid -> Greater -> NonZero ->
GatherND -> TopK(min(10, n)) -> NonMaxSuppression -> Gather) is built in FP32 and FP16 and run at
thresholds that keep many, few and no candidates (zero-size tensors end to end)."""

import clrt as trt
import numpy as np
import pytest
from helpers import (
    assert_close,
    build_engine,
    deserialize,
    make_config,
    make_model,
    ort_run,
    parse_network,
)
from onnx import TensorProto
from onnx import helper as oh

N = oh.make_node


def _i64(name, values):
    return oh.make_tensor(name, TensorProto.INT64, [len(values)], values)


def _f32(name, value):
    return oh.make_tensor(name, TensorProto.FLOAT, [], [value])


OP_NODES = [
    N("NonZero", ["x"], ["nz_f"]),
    N("NonZero", ["xi"], ["nz_i"]),
    N("NonZero", ["cond"], ["nz_b"]),
    # NMS: thresholds and max given, center boxes, no inputs (max 0: empty), nothing above the
    # score threshold (empty), max_output computed at run time.
    N("NonMaxSuppression", ["boxes", "scores", "m3", "iou5", "st2"], ["nms_a"]),
    N("NonMaxSuppression", ["cboxes", "scores", "m2", "iou3"], ["nms_b"], center_point_box=1),
    N("NonMaxSuppression", ["boxes", "scores"], ["nms_c"]),
    N("NonMaxSuppression", ["boxes", "scores", "m3", "iou5", "st_high"], ["nms_d"]),
    N("NonMaxSuppression", ["boxes", "scores", "m_rt", "iou5"], ["nms_e"]),
    # torchvision exports "no limit" as INT64_MAX (beyond a double's exact range).
    N("NonMaxSuppression", ["boxes", "scores", "m_max", "iou3", "st2"], ["nms_f"]),
    N("Unique", ["xu"], ["u_y", "u_idx", "u_inv", "u_cnt"]),
    N("Unique", ["xu"], ["uu_y", "uu_idx", "uu_inv", "uu_cnt"], sorted=0),
    N("Unique", ["xa"], ["ua_y", "ua_idx", "ua_inv", "ua_cnt"], axis=1),
    N("Unique", ["xu"], ["uy_only"]),
    N("Compress", ["x", "cond"], ["c_ax"], axis=0),
    N("Compress", ["x", "cond12"], ["c_flat"]),
    # TopK with k = min(3, n), n the number of positive entries of x.
    N("Greater", ["x", "zero"], ["pos"]),
    N("Reshape", ["pos", "flat"], ["pos_flat"]),
    N("Compress", ["x", "pos_flat"], ["v"]),
    N("Shape", ["v"], ["v_n"]),
    N("Min", ["v_n", "k3"], ["k"]),
    N("TopK", ["v", "k"], ["tk_v", "tk_i"]),
]
# v_n and k: host-computed outputs whose values depend on a data-dependent dim.
OUTPUTS = [o for n in OP_NODES for o in n.output if o not in ("pos", "pos_flat")]
INPUTS = [
    ("x", [3, 4]),
    ("xi", [2, 3, 4], np.int32),
    ("cond", [3], np.bool_),
    ("cond12", [7], np.bool_),
    ("boxes", [2, 6, 4]),
    ("cboxes", [2, 6, 4]),
    ("scores", [2, 3, 6]),
    ("m_rt", [1], np.int64),
    ("xu", [10], np.int64),
    ("xa", [2, 5]),
]
INITS = [
    _i64("m3", [3]),
    _i64("m2", [2]),
    _i64("m_max", [np.iinfo(np.int64).max]),
    _f32("iou5", 0.5),
    _f32("iou3", 0.3),
    _f32("st2", 0.2),
    _f32("st_high", 2.0),
    _f32("zero", 0.0),
    _i64("k3", [3]),
    _i64("flat", [-1]),
]
FLOAT_OUTPUTS = {"ua_y", "c_ax", "c_flat", "tk_v", "v"}
OPS_MODEL = make_model(
    OP_NODES,
    INPUTS,
    [(o, None, np.float32 if o in FLOAT_OUTPUTS else np.int64) for o in OUTPUTS],
    INITS,
    opset=13,
)


def covered_ops():
    """The op types this file runs (tests/device/test_ops.py counts them as covered)."""
    return {n.op_type for n in OP_NODES}


def op_feeds(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
    x[rng.uniform(size=x.shape) < 0.4] = 0  # zeros for NonZero
    corner = rng.uniform(0, 1, (2, 6, 2)).astype(np.float32)
    size = rng.uniform(0.2, 0.6, (2, 6, 2)).astype(np.float32)
    return {
        "x": x,
        "xi": rng.integers(-1, 2, (2, 3, 4)).astype(np.int32),
        "cond": rng.uniform(size=3) < 0.5,
        "cond12": rng.uniform(size=7) < 0.5,
        # Corners in either order (ONNX allows any diagonal) and overlapping boxes.
        "boxes": np.concatenate([corner, corner + size], -1)[..., [2, 1, 0, 3]],
        "cboxes": np.concatenate([corner, size], -1),
        "scores": rng.uniform(0, 1, (2, 3, 6)).astype(np.float32),
        "m_rt": np.array([int(rng.integers(1, 4))], np.int64),
        "xu": rng.integers(0, 5, 10).astype(np.int64),
        "xa": np.array([[1, 2, 1, 3, 2], [0, 5, 0, 1, 5]], np.float32)[:, rng.permutation(5)],
    }


def compare(got, want, name):
    assert got.shape == want.shape, f"{name}: shape {got.shape}, onnxruntime {want.shape}"
    if np.issubdtype(want.dtype, np.floating):
        assert_close(got, want, 1e-5, 1e-5, name)
    else:
        np.testing.assert_array_equal(got, want, err_msg=name)


@pytest.fixture(scope="module")
def ops_engine():
    return build_engine(OPS_MODEL)


def test_ops_match_onnxruntime(ops_engine):
    """Two runs of one context with different data-dependent sizes (seeds give other counts)."""
    context = ops_engine.create_execution_context()
    sizes = set()
    for seed in (0, 1, 2):
        feeds = op_feeds(seed)
        got, want = context.infer(feeds), ort_run(OPS_MODEL, feeds)
        for name in OUTPUTS:
            compare(got[name], want[name], f"seed {seed} {name}")
        assert want["nms_c"].shape == (0, 3) and want["nms_d"].shape == (0, 3)
        sizes.add((want["nz_f"].shape, want["tk_v"].shape, want["nms_a"].shape))
    assert len(sizes) > 1, "the seeds must give different data-dependent sizes"


def test_engine_and_context_shapes(ops_engine):
    assert ops_engine.get_tensor_shape("nz_f") == (2, -1)
    assert ops_engine.get_tensor_shape("nms_a") == (-1, 3)
    assert ops_engine.get_tensor_shape("u_inv") == (10,)
    context = ops_engine.create_execution_context()
    assert context.get_tensor_shape("nz_f") == (2, -1)  # unknown until a run
    feeds = op_feeds(3)
    context.infer(feeds)
    assert context.get_tensor_shape("nz_f") == (2, int(np.count_nonzero(feeds["x"])))


# ---- a detector's post-processing chain ----

K_MAX = 10


def detector_model():
    rng = np.random.default_rng(7)
    w = rng.uniform(-0.5, 0.5, (3, 4, 3, 3)).astype(np.float32)
    corner = rng.uniform(0, 1, (36, 2)).astype(np.float32)
    table = np.concatenate([corner, corner + rng.uniform(0.1, 0.4, (36, 2))], -1)
    nodes = [
        N("Conv", ["img", "w"], ["logits"], pads=[1, 1, 1, 1]),
        N("Sigmoid", ["logits"], ["prob"]),
        N("Reshape", ["prob", "s2d"], ["scores2d"]),  # [classes, anchors]
        N("Greater", ["scores2d", "thr"], ["mask"]),
        N("NonZero", ["mask"], ["nz"]),
        N("Transpose", ["nz"], ["cand_idx"], perm=[1, 0]),  # [n, 2]
        N("GatherND", ["scores2d", "cand_idx"], ["cand"]),
        N("Shape", ["cand"], ["n"]),
        N("Min", ["n", "kmax"], ["k"]),
        N("TopK", ["cand", "k"], ["top_v", "top_i"]),
        N("Gather", ["cand_idx", "top_i"], ["top_idx"]),  # [k, 2]
        N("Gather", ["top_idx", "one"], ["anchor"], axis=1),
        N("Gather", ["table", "anchor"], ["top_boxes"]),  # [k, 4]
        N("Unsqueeze", ["top_boxes", "ax0"], ["nms_boxes"]),
        N("Reshape", ["top_v", "s3d"], ["nms_scores"]),
        N("NonMaxSuppression", ["nms_boxes", "nms_scores", "m5", "iou5"], ["sel"]),
        N("Gather", ["sel", "two"], ["sel_box"], axis=1),
        N("Gather", ["top_boxes", "sel_box"], ["det_boxes"]),
    ]
    inits = [
        oh.make_tensor("w", TensorProto.FLOAT, w.shape, w.ravel()),
        oh.make_tensor("table", TensorProto.FLOAT, table.shape, table.ravel()),
        _i64("s2d", [3, 36]),
        _i64("s3d", [1, 1, -1]),
        _i64("kmax", [K_MAX]),
        _i64("ax0", [0]),
        oh.make_tensor("one", TensorProto.INT64, [], [1]),
        oh.make_tensor("two", TensorProto.INT64, [], [2]),
        _i64("m5", [5]),
        _f32("iou5", 0.5),
    ]
    outs = [("top_v",), ("sel", None, np.int64), ("det_boxes",)]
    return make_model(nodes, [("img", [1, 4, 6, 6]), ("thr", [1])], outs, inits, opset=13)


DETECTOR = detector_model()
IMG = np.random.default_rng(8).uniform(-1, 1, (1, 4, 6, 6)).astype(np.float32)
# Many candidates (more than K_MAX), a few (fewer than K_MAX), none.
THRESHOLDS = (0.52, 0.8, 2.0)


@pytest.fixture(scope="module", params=["fp32", "fp16"])
def detector(request):
    builder, network, _ = parse_network(DETECTOR)
    config = make_config(builder)
    if request.param == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    return request.param, deserialize(bytes(builder.build_serialized_network(network, config)))


def detector_reference(thr):
    want = ort_run(DETECTOR, {"img": IMG, "thr": np.array([thr], np.float32)})
    return want


def test_max_output_size_bounds_every_run(ops_engine):
    """get_max_output_size: a data-dependent output's bytes at its upper bound (NonZero of a
    3x4 input: 2 x 12 int64 indices; Unique of 10 values: 10), a fixed output's exact bytes, -1
    for a name that is no output; every run's actual output fits it."""
    context = ops_engine.create_execution_context()
    assert context.get_max_output_size("nz_f") == 2 * 12 * 8
    assert context.get_max_output_size("nz_i") == 3 * 24 * 8
    assert context.get_max_output_size("u_y") == 10 * 8
    assert context.get_max_output_size("u_inv") == 10 * 8  # fixed: one per input value
    assert context.get_max_output_size("x") == -1  # an input
    assert context.get_max_output_size("no_such_tensor") == -1
    for seed in (0, 1, 2):
        for name, y in context.infer(op_feeds(seed)).items():
            assert y.nbytes <= context.get_max_output_size(name), (seed, name)


def test_detector_thresholds_are_well_separated():
    """FP16 may round a score across the threshold; these data keep every score 1e-2 away."""
    probs = ort_run(
        make_model(
            DETECTOR.graph.node[:2],
            [("img", [1, 4, 6, 6])],
            [("prob",)],
            list(DETECTOR.graph.initializer),
        ),
        {"img": IMG},
    )["prob"]
    for thr in THRESHOLDS:
        assert np.abs(probs - thr).min() > 1e-2, thr
    counts = [int((probs > t).sum()) for t in THRESHOLDS]
    assert counts[0] > K_MAX > counts[1] > 0 == counts[2], counts


def test_detector_infer(detector):
    precision, engine = detector
    context = engine.create_execution_context()
    tol = 1e-5 if precision == "fp32" else 2e-3
    for thr in THRESHOLDS + THRESHOLDS[::-1]:  # sizes grow and shrink on one context
        want = detector_reference(thr)
        got = context.infer({"img": IMG, "thr": np.array([thr], np.float32)})
        np.testing.assert_array_equal(got["sel"], want["sel"], err_msg=f"{precision} thr {thr}")
        for name in ("top_v", "det_boxes"):
            assert got[name].shape == want[name].shape, (precision, thr, name)
            assert_close(got[name], want[name], tol, tol, f"{precision} thr {thr} {name}")


class Allocator(trt.IOutputAllocator):
    def __init__(self):
        trt.IOutputAllocator.__init__(self)
        self.buffers, self.shapes, self.sizes = {}, {}, {}

    def reallocate_output(self, tensor_name, memory, size, alignment):
        assert size >= 1 and alignment >= 1
        have = self.buffers.get(tensor_name)
        if have is None or self.sizes[tensor_name] < size:
            self.buffers[tensor_name] = trt.mem_alloc(size)
            self.sizes[tensor_name] = size
        return int(self.buffers[tensor_name])

    def notify_shape(self, tensor_name, shape):
        self.shapes[tensor_name] = tuple(shape)


def test_detector_execute_async_v3_output_allocator(detector):
    precision, engine = detector
    context = engine.create_execution_context()
    d_img, d_thr = trt.mem_alloc(IMG.nbytes), trt.mem_alloc(4)
    trt.memcpy_htod(d_img, IMG)
    context.set_tensor_address("img", int(d_img))
    context.set_tensor_address("thr", int(d_thr))
    alloc = Allocator()
    outputs = ("top_v", "sel", "det_boxes")
    for name in outputs:
        assert context.set_output_allocator(name, alloc)
        assert context.get_output_allocator(name) is alloc
    for thr in (THRESHOLDS[1], THRESHOLDS[0], THRESHOLDS[2]):
        trt.memcpy_htod(d_thr, np.array([thr], np.float32))
        stream = trt.Stream()
        assert context.execute_async_v3(stream.handle)
        stream.synchronize()
        want = detector_reference(thr)
        for name in outputs:
            assert alloc.shapes[name] == want[name].shape, (precision, thr, name)
            assert context.get_tensor_shape(name) == want[name].shape
            got = np.empty(want[name].shape, want[name].dtype)
            if got.size:
                trt.memcpy_dtoh(got, alloc.buffers[name])
            if name == "sel":
                np.testing.assert_array_equal(got, want[name], err_msg=f"{precision} {thr}")
            else:
                tol = 1e-5 if precision == "fp32" else 2e-3
                assert_close(got, want[name], tol, tol, f"{precision} thr {thr} {name}")


def test_data_dependent_output_needs_allocator_or_address(ops_engine):
    context = ops_engine.create_execution_context()
    feeds = op_feeds(0)
    held = []
    for name, value in feeds.items():
        held.append(trt.mem_alloc(max(value.nbytes, 1)))
        trt.memcpy_htod(held[-1], np.ascontiguousarray(value))
        context.set_tensor_address(name, int(held[-1]))
    with pytest.raises(ValueError, match="data-dependent shape.*set_output_allocator"):
        context.execute_async_v3(0)


def test_small_address_for_data_dependent_output_is_refused():
    model = make_model(
        [N("NonZero", ["x"], ["y"])], [("x", [8])], [("y", None, np.int64)], opset=13
    )
    engine = build_engine(model)
    context = engine.create_execution_context()
    x = np.arange(8, dtype=np.float32)  # 7 nonzero: 56 bytes
    dx, dy = trt.mem_alloc(x.nbytes), trt.mem_alloc(16)
    trt.memcpy_htod(dx, x)
    context.set_tensor_address("x", int(dx))
    context.set_tensor_address("y", int(dy))
    with pytest.raises(ValueError, match=r"output 'y' is \(1, 7\) \(56 bytes\).*holds 16"):
        context.execute_v2([int(dx), int(dy)])
    x[:] = 0
    x[3] = 1  # one nonzero: 8 bytes fit
    trt.memcpy_htod(dx, x)
    assert context.execute_v2([int(dx), int(dy)])
    got = np.empty((1, 1), np.int64)
    trt.memcpy_dtoh(got, dy)
    assert got.tolist() == [[3]] and context.get_tensor_shape("y") == (1, 1)


def test_nonzero_of_constant_folds():
    """NonZero of a constant is computed at build time (the engine has no NON_ZERO layer)."""
    mask = oh.make_tensor("m", TensorProto.BOOL, [4], [True, False, True, True])
    nodes = [
        N("NonZero", ["m"], ["nz"]),
        N("Cast", ["nz"], ["nzf"], to=TensorProto.FLOAT),
        N("Add", ["nzf", "x"], ["y"]),
    ]
    model = make_model(nodes, [("x", [1, 3])], [("y",)], [mask], opset=13)
    engine = build_engine(model)
    x = np.ones((1, 3), np.float32)
    got = engine.create_execution_context().infer({"x": x})["y"]
    np.testing.assert_array_equal(got, np.array([[1, 3, 4]], np.float32))
    inspector = engine.create_engine_inspector()
    assert "NON_ZERO" not in inspector.get_engine_information(trt.LayerInformationFormat.JSON)


def test_tensor_larger_than_its_bound_gets_its_own_buffer():
    """m = 6 - n shrinks as the NonZero count n grows: at the bound (n = 6) the Expand's output
    has no elements, so its arena slot is the smallest; runs with fewer nonzeros need more."""
    nodes = [
        N("NonZero", ["x"], ["nz"]),
        N("Shape", ["nz"], ["nz_shape"]),
        N("Gather", ["nz_shape", "one"], ["n"]),
        N("Sub", ["six", "n"], ["m"]),
        N("Expand", ["s", "m"], ["wide"]),
        N("Add", ["wide", "s"], ["y"]),
    ]
    inits = [_i64("one", [1]), _i64("six", [6])]
    model = make_model(nodes, [("x", [6]), ("s", [1])], [("y",)], inits, opset=13)
    engine = build_engine(model)
    context = engine.create_execution_context()
    for x in ([0, 1, 0, 0, 2, 0], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], [3, 0, 0, 0, 0, 0]):
        feeds = {"x": np.array(x, np.float32), "s": np.array([1.5], np.float32)}
        got, want = context.infer(feeds)["y"], ort_run(model, feeds)["y"]
        compare(got, want, f"x = {x}")


def test_if_with_an_empty_branch_after_nonzero():
    """torchvision's batched_nms: If(numel(boxes) == 0) gives an empty constant, else the NMS
    result. The condition is known on the host once the NonZero has run; the else branch's
    output is sliced to nothing when the then branch is taken."""
    then_g = oh.make_graph(
        [N("Constant", [], ["none"], value=oh.make_tensor("e", TensorProto.INT64, [0], []))],
        "then",
        [],
        [oh.make_tensor_value_info("none", TensorProto.INT64, [0])],
    )
    else_g = oh.make_graph(
        [N("Squeeze", ["nz", "ax0"], ["found"])],
        "else",
        [],
        [oh.make_tensor_value_info("found", TensorProto.INT64, ["n"])],
    )
    nodes = [
        N("Greater", ["x", "zero"], ["pos"]),
        N("NonZero", ["pos"], ["nz"]),
        N("Size", ["nz"], ["count"]),
        N("Equal", ["count", "zero_i"], ["none_found"]),
        N("If", ["none_found"], ["y"], then_branch=then_g, else_branch=else_g),
    ]
    inits = [_f32("zero", 0.0), oh.make_tensor("zero_i", TensorProto.INT64, [], [0])]
    inits.append(_i64("ax0", [0]))
    model = make_model(nodes, [("x", [6])], [("y", None, np.int64)], inits, opset=13)
    engine = build_engine(model)
    context = engine.create_execution_context()
    for x in ([0, 1, 0, 0, 2, 0], [-1, -1, -1, -1, -1, -1], [3, 0, 1, 1, 0, 0]):
        feeds = {"x": np.array(x, np.float32)}
        compare(context.infer(feeds)["y"], ort_run(model, feeds)["y"], f"x = {x}")


def test_run_time_k_from_a_later_nonzero():
    """torchvision's FCOS/RetinaNet: the scores come from one NonZero of the mask, TopK's
    k = min(K, count) from a second NonZero of the same mask. After the first has run, the
    second is still at its upper bound (k = K) while the scores already have their actual
    count: k is resolved only once the second NonZero has run too."""
    nodes = [
        N("Greater", ["x", "thr"], ["m"]),
        N("NonZero", ["m"], ["nz_a"]),
        N("Transpose", ["nz_a"], ["nz_at"], perm=[1, 0]),
        N("GatherND", ["x", "nz_at"], ["scores"]),
        N("NonZero", ["m"], ["nz_b"]),
        N("Transpose", ["nz_b"], ["nz_bt"], perm=[1, 0]),
        N("Split", ["nz_bt", "one"], ["col"], axis=1),
        N("Squeeze", ["col", "one"], ["idx"]),
        N("Shape", ["idx"], ["idx_shape"]),
        N("Concat", ["k_max", "idx_shape"], ["both"], axis=0),
        N("ReduceMin", ["both"], ["k0"], keepdims=0),
        N("Reshape", ["k0", "one"], ["k"]),
        N("TopK", ["scores", "k"], ["v", "i"]),
    ]
    inits = [_f32("thr", 0.5), _i64("one", [1]), _i64("k_max", [K_MAX])]
    model = make_model(nodes, [("x", [40])], [("v", None), ("i", None, np.int64)], inits, opset=13)
    context = build_engine(model).create_execution_context()
    rng = np.random.default_rng(3)
    # 40 elements at >0.5 with these scales: about 20 (k = K_MAX), about 4 (k = count), none.
    counts = []
    for scale in (1.0, 0.55, 0.4):
        feeds = {"x": (rng.random(40) * scale).astype(np.float32)}
        got, want = context.infer(feeds), ort_run(model, feeds)
        for name in ("v", "i"):
            compare(got[name], want[name], f"{name} at scale {scale}")
        counts.append(len(want["v"]))
    assert counts[0] == K_MAX and 0 < counts[1] < K_MAX and counts[2] == 0, counts
