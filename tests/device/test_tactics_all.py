# Every registered tactic, forced through the tactic filter (config.tactic_filter) on a small
# layer, against onnxruntime: so a tactic that never wins timing on this device (CLBlast, the
# tensor-core ones under CLRT_TC_EMULATE=1) still runs. The tactic each layer got is read from
# the engine inspector. Also: the filter's errors (unknown pattern, a layer left no tactic).
import json
import os

import clrt as trt
import numpy as np
import pytest
from helpers import (
    EXPLICIT_BATCH,
    RecordingLogger,
    deserialize,
    make_model,
    ort_run,
    parse_network,
    rand,
)
from onnx.helper import make_node as N

# |clrt - ort| <= TOL * max|ort| per precision: FP32 arithmetic (CLBlast and the tiled GEMM sum
# in other orders), FP16 storage (11 significant bits per stored value, FP32 sums), INT8
# (per-tensor activations, per-channel weights). TF32: FP32 layers whose products keep 10
# mantissa bits of each operand (BuilderFlag.TF32, on by default), like FP16's 11.

pytestmark = pytest.mark.usefixtures("tf32_allowed")  # the "TF32" cases

TOL = {"FLOAT": 1e-4, "HALF": 4e-3, "INT8": 0.06, "TF32": 4e-3}


def conv_case(k, c, kh, group=1, act=None, hw=9, stride=1):
    w = rand((k, c // group, kh, kh), seed=1)
    conv = N(
        "Conv",
        ["x", "w", "b"],
        ["c" if act else "y"],
        group=group,
        pads=[kh // 2] * 4,
        strides=[stride, stride],
    )
    nodes = [conv]
    if act:
        nodes.append(N(act[0], ["c"], ["y"], **act[1]))
    inits = {"w": w, "b": rand((k,), seed=2)}
    return nodes, [("x", [1, c, hw, hw])], inits, {}


def matmul_case(m, k, n, act=None, weights=True):
    nodes = [N("MatMul", ["x", "w" if weights else "x2"], ["c" if act else "y"])]
    if act:
        nodes.append(N(act[0], ["c"], ["y"], **act[1]))
    inputs = [("x", [2, m, k])] + ([] if weights else [("x2", [2, k, n])])
    return nodes, inputs, ({"w": rand((k, n), seed=3)} if weights else {}), {}


def conv_chain(k, c, kernels, hw=6):
    """Convolutions one after another, c channels until the last (k): the inner tensors are
    channels last on a GPU, so the later layers read them in the layout the warpgroup tiles
    need (a network input stays in its own), and a 1x1 between two runs as a GEMM."""
    nodes, inits, prev = [], {}, "x"
    for i, kh in enumerate(kernels):
        out = "y" if i == len(kernels) - 1 else f"c{i}"
        n_out = k if out == "y" else c
        nodes.append(N("Conv", [prev, f"w{i}", f"b{i}"], [out], pads=[kh // 2] * 4))
        inits[f"w{i}"] = rand((n_out, c, kh, kh), seed=20 + i) * 0.2
        inits[f"b{i}"] = rand((n_out,), seed=30 + i)
        prev = out
    return nodes, [("x", [1, c, hw, hw])], inits, {}


def unary(op, shape=(2, 3, 4), **attrs):
    return [N(op, ["x"], ["y"], **attrs)], [("x", list(shape))], {}, {}


def attention_case(d=32, sq=20, skv=40):
    """softmax(q k^T / sqrt(d) + mask) v as layers (fused into one ATTENTION layer): two key
    tiles of the tensor-core kernel (its key tile is the head size)."""
    nodes = [
        N("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
        N("MatMul", ["q", "kt"], ["s"]),
        N("Mul", ["s", "c"], ["sc"]),
        N("Add", ["sc", "mask"], ["sm"]),
        N("Softmax", ["sm"], ["p"], axis=-1),
        N("MatMul", ["p", "v"], ["y"]),
    ]
    inputs = [("q", [2, 3, sq, d]), ("k", [2, 3, skv, d]), ("v", [2, 3, skv, d])]
    inputs.append(("mask", [2, 1, 1, skv]))
    mask = np.where(np.arange(skv) % 7 == 3, -np.inf, 0.0).astype(np.float32)
    extra = {"mask": np.broadcast_to(mask, (2, 1, 1, skv)).copy()}
    return nodes, inputs, {"c": np.array(d**-0.5, np.float32)}, extra


I64 = np.int64
# tactic name -> (precision, (nodes, inputs, initializers, extra feeds), opset)
CASES = {
    "conv.direct": ("FLOAT", conv_case(16, 8, 3, act=("Elu", {"alpha": 0.7})), 17),
    "conv.direct3d": (
        "HALF",
        (
            [N("Conv", ["x", "w", "b"], ["c"], pads=[1, 0, 1, 1, 0, 1]), N("Relu", ["c"], ["y"])],
            [("x", [1, 3, 4, 5, 5])],
            {"w": rand((4, 3, 3, 2, 3), seed=1), "b": rand((4,), seed=2)},
            {},
        ),
        17,
    ),
    "conv.depthwise": ("HALF", conv_case(8, 8, 3, group=8, act=("Softplus", {})), 17),
    # Its four-column kernel needs channels-last I/O (test_io_formats.py runs it); here the
    # LINEAR network I/O takes conv.depthwise's kernels.
    "conv.depthwise_w4": ("HALF", conv_case(8, 8, 3, group=8), 17),
    "conv.im2col_clblast": ("FLOAT", conv_case(8, 4, 3, act=("HardSwish", {})), 17),
    "conv.1x1_clblast": ("FLOAT", conv_case(8, 4, 1), 17),
    "conv.1x1_k8": ("HALF", conv_case(16, 8, 1, act=("HardSigmoid", {"alpha": 0.3})), 17),
    "conv.1x1_wg": ("HALF", conv_case(20, 72, 1, act=("Sigmoid", {}), hw=2), 17),
    "conv.int8_direct": ("INT8", conv_case(16, 8, 3, act=("Relu", {})), 17),
    "conv.int8_1x1": ("INT8", conv_case(24, 8, 1, act=("Relu", {}), hw=7), 17),
    "conv.int8_depthwise": ("INT8", conv_case(8, 8, 3, group=8), 17),
    "conv.int8_depthwise_w4": ("INT8", conv_case(8, 8, 3, group=8), 17),
    "conv.int8_gemm": ("INT8", conv_case(16, 8, 3, act=("Elu", {})), 17),
    "conv.tc_fp16": ("HALF", conv_case(16, 8, 3, act=("Gelu", {"approximate": "tanh"})), 20),
    "conv.tc_int8": ("INT8", conv_case(16, 16, 3), 17),
    "conv.tc_tf32": ("TF32", conv_case(16, 8, 3, act=("Relu", {})), 17),
    "matmul.tiled": ("HALF", matmul_case(24, 16, 20, act=("Gelu", {"approximate": "tanh"})), 20),
    "matmul.clblast": ("FLOAT", matmul_case(24, 16, 20, act=("Softplus", {})), 17),
    "matmul.int8": ("INT8", matmul_case(24, 16, 20), 17),
    "matmul.tc_fp16": ("HALF", matmul_case(24, 16, 20, weights=False), 17),
    "matmul.tc_int8": ("INT8", matmul_case(24, 32, 20, act=("Elu", {})), 17),
    "matmul.tc_tf32": ("TF32", matmul_case(24, 20, 36), 17),
    "pool.direct": ("FLOAT", unary("MaxPool", (1, 3, 6, 6), kernel_shape=[2, 2]), 17),
    "pool.int8": ("INT8", unary("AveragePool", (1, 3, 6, 6), kernel_shape=[3, 3]), 17),
    "activation.pointwise": ("HALF", unary("Elu", alpha=0.5), 17),
    "unary.pointwise": ("FLOAT", unary("Sin"), 17),
    "softmax.axis": ("FLOAT", unary("Softmax", axis=-1), 17),
    "attention.rows": ("FLOAT", attention_case(d=24), 17),
    "attention.tc_fp16": ("HALF", attention_case(), 17),
    "attention.tc_fp16_prefetch": ("HALF", attention_case(), 17),
    "attention.tc_fp16_flash": ("HALF", attention_case(skv=70), 17),  # two key tiles of 64
    "log_softmax.axis": ("FLOAT", unary("LogSoftmax", axis=1), 17),
    "reduce.axes": ("FLOAT", unary("ReduceMax", axes=[1], keepdims=0), 17),
    "transpose.strided": ("FLOAT", unary("Transpose", perm=[2, 0, 1]), 17),
    "flatten.copy": ("FLOAT", unary("Flatten", axis=2), 17),
    "layernorm.rows": (
        "FLOAT",
        (
            [N("LayerNormalization", ["x", "g", "b"], ["y"], axis=-1)],
            [("x", [2, 3, 4])],
            {"g": rand((4,), seed=4), "b": rand((4,), seed=5)},
            {},
        ),
        17,
    ),
    "elementwise.broadcast": (
        "FLOAT",
        ([N("Sub", ["x", "x2"], ["y"])], [("x", [2, 3, 4]), ("x2", [3, 1])], {}, {}),
        17,
    ),
    "eltwise.int8_add": (
        "INT8",
        ([N("Add", ["x", "x2"], ["y"])], [("x", [1, 4, 5, 5]), ("x2", [1, 4, 5, 5])], {}, {}),
        17,
    ),
    "concat.strided": (
        "FLOAT",
        ([N("Concat", ["x", "x2"], ["y"], axis=1)], [("x", [2, 3, 4]), ("x2", [2, 2, 4])], {}, {}),
        17,
    ),
    "concat.int8": (
        "INT8",
        (
            [N("Concat", ["x", "x2"], ["y"], axis=1)],
            [("x", [1, 3, 4, 4]), ("x2", [1, 2, 4, 4])],
            {},
            {},
        ),
        17,
    ),
    "where.broadcast": (
        "FLOAT",
        (
            [N("Greater", ["x", "x2"], ["m"]), N("Where", ["m", "x", "x2"], ["y"])],
            [("x", [2, 3, 4]), ("x2", [3, 4])],
            {},
            {},
        ),
        17,
    ),
    "slice.strided": (
        "FLOAT",
        (
            [N("Slice", ["x", "s", "e", "a"], ["y"])],
            [("x", [2, 6, 4])],
            {"s": np.array([1], I64), "e": np.array([5], I64), "a": np.array([1], I64)},
            {},
        ),
        17,
    ),
    "split.strided": (
        "FLOAT",
        (
            [N("Split", ["x", "sp"], ["y", "y2"], axis=1)],
            [("x", [2, 5, 3])],
            {"sp": np.array([2, 3], I64)},
            {},
        ),
        17,
    ),
    "expand.strided": (
        "FLOAT",
        ([N("Expand", ["x", "sh"], ["y"])], [("x", [3, 1])], {"sh": np.array([2, 3, 4], I64)}, {}),
        17,
    ),
    "argreduce.axis": (
        "FLOAT",
        (
            [N("ArgMax", ["x"], ["a"], axis=1, keepdims=0), N("Cast", ["a"], ["y"], to=1)],
            [("x", [2, 5, 3])],
            {},
            {},
        ),
        17,
    ),
    "gather.nd": (
        "FLOAT",
        (
            [N("GatherND", ["x", "i"], ["y"])],
            [("x", [2, 3, 4]), ("i", [3, 2], I64)],
            {},
            {"i": np.array([[0, 1], [1, 2], [1, 0]], I64)},
        ),
        17,
    ),
    "gather.index": (
        "FLOAT",
        (
            [N("Gather", ["x", "i"], ["y"], axis=1)],
            [("x", [2, 5, 3]), ("i", [4], I64)],
            {},
            {"i": np.array([4, 0, 2, 2], I64)},
        ),
        17,
    ),
}
# The other block tiles of the tensor-core convolutions: the same cases (emulation runs each
# tile as the same one-warp 32 x 32 tile; on NVIDIA each runs its own).
for _tile in ("_64x64", "_128x256"):
    for _p in ("fp16", "int8", "tf32"):
        CASES[f"conv.tc_{_p}{_tile}"] = CASES[f"conv.tc_{_p}"]
# Hopper's warpgroup tiles (wgmma; emulated as one 64 x 64 warpgroup tile): FP16, INT8, TF32.
for _p, _prec in (("fp16", "HALF"), ("int8", "INT8"), ("tf32", "TF32")):
    CASES[f"conv.tc_{_p}_wg"] = (_prec, conv_chain(16, 64, [1, 3]), 17)
    CASES[f"conv.tc_{_p}_wg64"] = (_prec, conv_chain(24, 64, [1, 1, 1]), 17)
    CASES[f"matmul.tc_{_p}_wg"] = (_prec, matmul_case(70, 96, 40), 17)
    CASES[f"matmul.tc_{_p}_wg64x128"] = (_prec, matmul_case(70, 136, 72, act=("Relu", {})), 17)
# The space-to-depth form of a stride-2 convolution over few channels (a stem): 5x5 / 2 over 3.
for _p, _prec in (("fp16", "HALF"), ("int8", "INT8"), ("tf32", "TF32")):
    for _tile in ("_s2d", "_s2d_wg"):
        CASES[f"conv.tc_{_p}{_tile}"] = (
            _prec,
            conv_case(16, 3, 5, act=("Relu", {}), hw=11, stride=2),
            17,
        )
# The persistent form of 1x1 layers (FP16, INT8): a chain of 1x1 layers, the inner ones GEMMs.
for _p, _prec in (("fp16", "HALF"), ("int8", "INT8")):
    CASES[f"conv.tc_{_p}_wgp"] = (_prec, conv_chain(24, 64, [1, 1, 1], hw=12), 17)
# The ping-pong GEMM (FP16, INT8): 16-byte-aligned rows (K = 96), more tiles than blocks; and
# as channels-last 1x1 layers' GEMM (the inner ones of a chain).
for _p, _prec in (("fp16", "HALF"), ("int8", "INT8")):
    CASES[f"matmul.tc_{_p}_pp"] = (_prec, matmul_case(70, 96, 136, act=("Relu", {})), 17)
    CASES[f"matmul.tc_{_p}_pp256"] = CASES[f"matmul.tc_{_p}_pp"]
    CASES[f"conv.tc_{_p}_wgpp"] = (_prec, conv_chain(24, 64, [1, 1, 1], hw=12), 17)
# The small tile of the tensor-core matmuls (64-byte rows, 2-tile ring: emulated as such).
for _p in ("fp16", "int8", "tf32"):
    CASES[f"matmul.tc_{_p}_64x64"] = CASES[f"matmul.tc_{_p}"]

# Tactics a case of another tactic exercises (layers the builder adds or the importer makes
# alongside), each checked in the inspector of that case.
ALSO = {
    "reformat.convert": "conv.depthwise",  # FLOAT network I/O around an FP16 layer
}

_REGISTERED = {name: (kind, precs) for name, kind, precs in trt._clrt._registered_tactics()}


def inspector_tactics(engine):
    info = json.loads(
        engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    )
    return [layer.get("TacticName", "") for layer in info["Layers"]]


def build(model, precision, tactic_filter, ranges=None):
    builder, network, _ = parse_network(model)
    config = builder.create_builder_config()
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    config.builder_optimization_level = 0
    config.tactic_filter = tactic_filter
    if precision == "FLOAT":  # FP32 products: no TF32 tactic (on by default; "TF32" cases)
        config.clear_flag(trt.BuilderFlag.TF32)
    if precision == "HALF":
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "INT8":
        config.set_flag(trt.BuilderFlag.INT8)
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        tensors = [network.get_input(i) for i in range(network.num_inputs)]
        for i in range(network.num_layers):
            layer = network.get_layer(i)
            layer.precision = trt.int8
            tensors += [layer.get_output(j) for j in range(layer.num_outputs)]
        for t in tensors:
            if t.name in ranges:
                t.set_dynamic_range(-ranges[t.name], ranges[t.name])
    plan = builder.build_serialized_network(network, config)
    assert plan is not None, f"build with tactic filter {tactic_filter!r} failed"
    return deserialize(bytes(plan))


def feeds_of(inputs, extra):
    feeds = {}
    for k, (name, shape, *_dt) in enumerate(inputs):
        if name in extra:
            feeds[name] = extra[name]
        else:
            feeds[name] = rand(shape, seed=10 + k)
    return feeds


_NVIDIA = "NVIDIA" in trt.current_device().vendor.upper()
_EMULATED = os.environ.get("CLRT_TC_EMULATE", "0") not in ("", "0")


def run_case(name, monkeypatch):
    precision, (nodes, inputs, inits, extra), opset = CASES[name]
    if "tc_" in name and not (_NVIDIA or _EMULATED):
        # Emulated tensor-core kernels compile slowly on PoCL: CI (.ci/run) runs these cases
        # in their own step with CLRT_TC_EMULATE=1.
        pytest.skip("tensor-core tactic: runs on NVIDIA, or emulated with CLRT_TC_EMULATE=1")
    outputs = [o for node in nodes[-1:] for o in node.output]
    model = make_model(nodes, inputs, [(o,) for o in outputs], inits, opset=opset)
    feeds = feeds_of(inputs, extra)
    ref = ort_run(model, feeds)
    # INT8 ranges of every tensor: the inner ones from a model that also outputs them.
    inner = [o for node in nodes[:-1] for o in node.output] if precision == "INT8" else []
    seen = (
        ort_run(
            make_model(nodes, inputs, [(o,) for o in inner + outputs], inits, opset=opset), feeds
        )
        if inner
        else ref
    )
    ranges = {k: float(np.abs(v).max()) for k, v in {**feeds, **seen}.items()}
    engine = build(model, precision, name, ranges)
    got = engine.create_execution_context().infer(feeds)
    for o in outputs:
        want = np.asarray(ref[o], np.float64)
        err = np.abs(np.asarray(got[o], np.float64) - want).max()
        assert got[o].shape == want.shape, (o, got[o].shape, want.shape)
        assert err <= TOL[precision] * max(np.abs(want).max(), 1e-6), (name, o, err)
    return inspector_tactics(engine)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.usefixtures("channels_last")  # each tactic in the layout it takes on a GPU
def test_forced_tactic_matches_onnxruntime(name, monkeypatch):
    assert name in _REGISTERED, f"{name} is not a registered tactic"
    chosen = run_case(name, monkeypatch)
    assert name in chosen, (name, chosen)
    for other, host in ALSO.items():
        if host == name:
            assert other in chosen, (other, chosen)


def test_every_tactic_has_a_case():
    # Tactics of kinds with one tactic each run in every test of their op (tests/test_ops.py);
    # a kind with a choice needs every one of its tactics forced here.
    kinds = {}
    for name, (kind, _) in _REGISTERED.items():
        kinds.setdefault(kind, []).append(name)
    missing = [
        n
        for n, (kind, _) in _REGISTERED.items()
        if len(kinds[kind]) > 1 and n not in CASES and n not in ALSO
    ]
    assert not missing, f"tactics no test forces: {missing}"


def test_filter_refuses_unknown_pattern():
    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    config = builder.create_builder_config()
    with pytest.raises(ValueError, match="conv.nope.*matches no registered tactic"):
        config.tactic_filter = "conv.nope"
    config.tactic_filter = "conv.*,-conv.*_clblast"
    assert config.tactic_filter == "conv.*,-conv.*_clblast"


def test_filter_leaving_no_tactic_names_layer_dtypes_and_tactics():
    nodes, inputs, inits, _ = conv_case(8, 4, 3)
    model = make_model(nodes, inputs, [("y",)], inits)
    builder, network, _ = parse_network(model)
    config = builder.create_builder_config()
    config.tactic_filter = "-conv.*"  # every convolution tactic denied
    with pytest.raises(trt.BuildError) as e:
        builder.build_serialized_network(network, config)
    msg = str(e.value)
    for part in ("-conv.*", "inputs FLOAT", "outputs FLOAT", "conv.direct", "conv.1x1_clblast"):
        assert part in msg, (part, msg)
    assert network.get_layer(0).name in msg, msg


def test_env_filter_applies_when_config_has_none(monkeypatch):
    nodes, inputs, inits, _ = conv_case(8, 4, 1)
    model = make_model(nodes, inputs, [("y",)], inits)
    for spec, want in (("conv.1x1_clblast", "conv.1x1_clblast"), ("-conv.*clblast", "conv.direct")):
        monkeypatch.setenv("CLRT_TACTICS", spec)
        assert want in inspector_tactics(build(model, "FLOAT", "")), spec


def test_network_api_builds_the_same_way():
    # The filter holds for networks made through the layer API as well as the parser.
    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    network = builder.create_network(EXPLICIT_BATCH)
    x = network.add_input("x", trt.float32, (2, 8, 4))
    w = network.add_constant((1, 4, 6), rand((1, 4, 6), seed=7)).get_output(0)
    mm = network.add_matrix_multiply(x, trt.MatrixOperation.NONE, w, trt.MatrixOperation.NONE)
    mm.get_output(0).name = "y"
    network.mark_output(mm.get_output(0))
    config = builder.create_builder_config()
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    config.tactic_filter = "matmul.clblast"
    engine = deserialize(bytes(builder.build_serialized_network(network, config)))
    assert "matmul.clblast" in inspector_tactics(engine)
    xv = rand((2, 8, 4), seed=8)
    got = engine.create_execution_context().infer({"x": xv})["y"]
    want = xv @ rand((1, 4, 6), seed=7)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_tactic_whose_program_does_not_build_is_skipped():
    """A tactic whose OpenCL program the device's compiler refuses (an older GPU, a driver quirk;
    injected here with _debug.fail_programs) is not eligible for the layer: a VERBOSE note says
    why and the builder takes the next tactic. When every tactic of a layer fails, the BuildError
    names the layer and each tactic's failure."""
    nodes, inputs, inits, _ = conv_case(8, 4, 1)
    model = make_model(nodes, inputs, [("y",)], inits)
    feeds = feeds_of(inputs, {})
    ref = ort_run(model, feeds)["y"]
    log = RecordingLogger()
    builder, network, _ = parse_network(model, logger=log)
    config = builder.create_builder_config()
    config.builder_optimization_level = 0
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    config.clear_flag(trt.BuilderFlag.TF32)  # on NVIDIA, conv.tc_tf32 would come first
    debug = trt._clrt._debug
    try:
        debug.fail_programs("conv.cl [")  # conv.direct's program; conv.1x1_clblast needs none
        plan = builder.build_serialized_network(network, config)
        debug.fail_programs(".cl [")  # every program
        with pytest.raises(trt.BuildError) as e:
            builder.build_serialized_network(network, config)
    finally:
        debug.fail_programs("")
    assert "tactic conv.direct is not eligible on this device: building OpenCL program conv.cl" in (
        log.text()
    )
    engine = deserialize(bytes(plan))
    assert "conv.1x1_clblast" in inspector_tactics(engine)
    got = engine.create_execution_context().infer(feeds)["y"]
    assert np.abs(got - ref).max() <= TOL["FLOAT"] * np.abs(ref).max()
    msg = str(e.value)
    assert network.get_layer(0).name in msg, msg
    for part in ("conv.direct could not be instantiated", "conv.1x1_clblast could not be"):
        assert part in msg, (part, msg)
