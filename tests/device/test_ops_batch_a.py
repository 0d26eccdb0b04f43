# Operators batch A against onnxruntime: Mod, BitShift, trig/rounding/classifying unary ops,
# Selu, Xor and the or-equal comparisons, CastLike, Mean, Size, ArgMax/ArgMin/Hardmax,
# ReduceL1/LogSum/LogSumExp, LayerNormalization's Mean/InvStdDev outputs and tensor Scale,
# RMSNormalization, PRelu, Trilu, GatherElements, GatherND, ScatterElements, ScatterND,
# NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss, LpNormalization, InstanceNormalization,
# MeanVarianceNormalization, DepthToSpace, SpaceToDepth, EyeLike.
"""Each op is one model holding several nodes (dtypes, attributes, broadcasting), so one engine
serves all its cases (PoCL compiles kernels slowly). Floats are compared with onnxruntime at
helpers.assert_close's FP32 tolerance (rtol 1e-4, atol 1e-5), integers and booleans exactly.
A last model feeds every op from initializers, so the host evaluator (constant folding) is
checked against onnxruntime too."""

import json

import clrt as trt
import numpy as np
import onnx
import pytest
from helpers import (
    assert_close,
    build_engine,
    deserialize,
    make_config,
    make_model,
    ort_run,
    parse_network,
    rand,
    run_and_compare,
)
from onnx import helper as oh

N = oh.make_node
NAN, INF = np.nan, np.inf
I32, I64 = np.int32, np.int64


def ints(shape, seed, low, high, dtype):
    return np.random.default_rng(seed).integers(low, high, shape).astype(dtype)


def nonzero(shape, seed, dtype):
    v = ints(shape, seed, -9, 9, dtype)
    return np.where(v == 0, dtype(3), v).astype(dtype)


def mod_case():
    fa = np.array([[-4.3, 7.2, 5.0, 4.3, -7.2, 8.0], [0.0, -0.0, 3.0, -3.0, 1.0, INF]], np.float32)
    fb = np.array([[2.1, -3.4, 8.0, -2.1, 3.4, 5.0], [-2.0, 2.0, INF, INF, -INF, 2.0]], np.float32)
    nodes = [
        N("Mod", ["fa", "fb"], ["floor_f"]),
        N("Mod", ["fa", "fb"], ["fmod_f"], fmod=1),
        N("Mod", ["ia", "ib"], ["floor_i"]),
        N("Mod", ["ia", "ib"], ["fmod_i"], fmod=1),
        N("Mod", ["la", "lb"], ["floor_l"]),
        N("Mod", ["la", "lb"], ["fmod_l"], fmod=1),
        N("Mod", ["ia", "ic"], ["bcast_i"]),  # [2, 6] % [6]
    ]
    feeds = {
        "fa": fa,
        "fb": fb,
        "ia": ints([2, 6], 1, -20, 20, I32),
        "ib": nonzero([2, 6], 2, I32),
        "ic": nonzero([6], 3, I32),
        "la": ints([2, 6], 4, -(2**40), 2**40, I64),
        "lb": nonzero([2, 6], 5, I64),
    }
    return nodes, feeds, 28


def bitshift_case():
    x32 = np.array([-8, 4, -1, 7, 2**30, -(2**31)], I32)
    s32 = np.array([-1, 31, 3, 32, 1, 100], I32)
    x64 = np.array([-8, 4, -1, 7, 2**62, -(2**63)], I64)
    s64 = np.array([-1, 63, 3, 64, 1, 2], I64)
    nodes = [
        N("BitShift", ["x32", "s32"], ["l32"], direction="LEFT"),
        N("BitShift", ["x32", "s32"], ["r32"], direction="RIGHT"),
        N("BitShift", ["x64", "s64"], ["l64"], direction="LEFT"),
        N("BitShift", ["x64", "s64"], ["r64"], direction="RIGHT"),
        N("BitShift", ["x32", "one"], ["r32b"], direction="RIGHT"),  # broadcast shift
    ]
    feeds = {"x32": x32, "s32": s32, "x64": x64, "s64": s64, "one": np.array([1], I32)}
    return nodes, feeds, 28


UNARY_OPS = ["Tan", "Atan", "Sinh", "Cosh", "Asinh", "Sign", "Round", "Softsign", "IsNaN"]


def unary_case():
    special = np.array(
        [NAN, -INF, INF, -2.5, -1.5, -0.5, -0.0, 0.0, 0.5, 1.5, 2.5, 3.7], np.float32
    )
    unit = rand([12], seed=7, low=-0.99, high=0.99)
    nodes = [N(op, ["x"], [op.lower()]) for op in UNARY_OPS]
    nodes += [N(op, ["u"], [op.lower()]) for op in ["Asin", "Acos", "Atanh"]]
    nodes += [
        N("Acosh", ["big"], ["acosh"]),
        N("IsInf", ["x"], ["isinf"]),
        N("IsInf", ["x"], ["isinf_pos"], detect_negative=0),
        N("IsInf", ["x"], ["isinf_neg"], detect_positive=0),
        N("Selu", ["x"], ["selu"]),
        N("Selu", ["x"], ["selu_params"], alpha=2.0, gamma=3.0),
        N("Sign", ["i"], ["sign_i"]),
        N("Sign", ["l"], ["sign_l"]),
    ]
    feeds = {
        "x": special,
        "u": unit,
        "big": rand([12], seed=8, low=1.0, high=9.0),
        "i": ints([12], 9, -3, 4, I32),
        "l": ints([12], 10, -3, 4, I64),
    }
    return nodes, feeds, 22


def logic_case():
    nodes = [
        N("Xor", ["p", "q"], ["xor"]),
        N("Xor", ["p", "r"], ["xor_bcast"]),
        N("GreaterOrEqual", ["a", "b"], ["ge_f"]),
        N("LessOrEqual", ["a", "b"], ["le_f"]),
        N("GreaterOrEqual", ["la", "lb"], ["ge_l"]),
        N("LessOrEqual", ["la", "lc"], ["le_l_bcast"]),
        N("CastLike", ["a", "lb"], ["castlike_l"]),
        N("CastLike", ["la", "a"], ["castlike_f"]),
        N("Size", ["la"], ["size"]),
    ]
    a = np.round(rand([3, 4], seed=11) * 2) / 2  # ties on purpose
    b = np.round(rand([3, 4], seed=12) * 2) / 2
    feeds = {
        "p": ints([3, 4], 13, 0, 2, bool),
        "q": ints([3, 4], 14, 0, 2, bool),
        "r": ints([4], 15, 0, 2, bool),
        "a": a,
        "b": b,
        "la": ints([3, 4], 16, -2, 3, I64),
        "lb": ints([3, 4], 17, -2, 3, I64),
        "lc": ints([4], 18, -2, 3, I64),
    }
    return nodes, feeds, 16


def mean_case():
    nodes = [
        N("Mean", ["a", "b", "c"], ["mean3"]),
        N("Mean", ["a", "r"], ["mean_bcast"]),
        N("Mean", ["a"], ["mean1"]),
    ]
    feeds = {
        "a": rand([2, 3], 20),
        "b": rand([2, 3], 21),
        "c": rand([2, 3], 22),
        "r": rand([3], 23),
    }
    return nodes, feeds, 13


def arg_case():
    x = rand([3, 4, 5], seed=30)
    ties = np.array([[1, 3, 3, 0], [2, 2, 2, 2], [0, -1, -1, 5]], np.float32)
    nodes = [
        N("ArgMax", ["x"], ["amax_default"]),
        N("ArgMax", ["x"], ["amax_neg"], axis=-1, keepdims=0),
        N("ArgMin", ["x"], ["amin_1"], axis=1),
        N("ArgMax", ["t"], ["amax_first"], axis=1),
        N("ArgMax", ["t"], ["amax_last"], axis=1, select_last_index=1),
        N("ArgMin", ["t"], ["amin_last"], axis=1, keepdims=0, select_last_index=1),
        N("Hardmax", ["x"], ["hardmax"]),
        N("Hardmax", ["x"], ["hardmax_0"], axis=0),
        N("Hardmax", ["t"], ["hardmax_ties"], axis=1),
    ]
    return nodes, {"x": x, "t": ties}, 13


def reduce_case():
    x = rand([3, 4, 5], seed=40, low=0.1, high=2.0)
    axes = {"ax1": np.array([1], I64), "ax02": np.array([0, -1], I64)}
    nodes = []
    for op in ["ReduceL1", "ReduceLogSum", "ReduceLogSumExp"]:
        name = op[6:].lower()
        nodes += [
            N(op, ["x", "ax1"], [name + "_1"]),
            N(op, ["x", "ax02"], [name + "_02"], keepdims=0),
            N(op, ["x"], [name + "_all"]),
        ]
    nodes.append(N("ReduceLogSumExp", ["big", "ax1"], ["lse_big"]))  # exp would overflow
    big = rand([2, 3], seed=41, low=80.0, high=120.0)
    return nodes, {"x": x, "big": big}, 18, axes


def norm_case():
    x = rand([2, 3, 4], seed=50)
    nodes = [
        N("LayerNormalization", ["x", "ws", "wb"], ["ln_y", "ln_mean", "ln_rstd"], axis=1),
        N("LayerNormalization", ["x", "s", "b"], ["lnt_y", "lnt_mean", "lnt_rstd"], axis=-1),
        N("LayerNormalization", ["x", "s2"], ["lnt2_y"], axis=-2, epsilon=1e-3),
        N("RMSNormalization", ["x", "s"], ["rms"]),
        N("RMSNormalization", ["x", "s2"], ["rms_axis1"], axis=1, epsilon=1e-3),
    ]
    feeds = {"x": x, "s": rand([4], 51), "b": rand([4], 52), "s2": rand([3, 4], 53)}
    inits = {"ws": rand([3, 4], 54), "wb": rand([3, 4], 55)}
    return nodes, feeds, 23, inits


def prelu_case():
    x = rand([2, 3, 4], seed=60)
    nodes = [
        N("PRelu", ["x", "slope"], ["full"]),
        N("PRelu", ["x", "s4"], ["bcast"]),
    ]
    feeds = {
        "x": x,
        "slope": rand([2, 3, 4], 61),
        "s4": rand([4], 62),
    }
    return nodes, feeds, 16


def trilu_case():
    x = rand([2, 4, 5], seed=70)
    nodes = [
        N("Trilu", ["x"], ["triu"]),
        N("Trilu", ["x", "k"], ["triu_k"]),
        N("Trilu", ["x", "kn"], ["tril_kn"], upper=0),
        N("Trilu", ["l", "k"], ["tril_l"], upper=0),
        N("Trilu", ["x", "kbig"], ["triu_out"]),
    ]
    feeds = {
        "x": x,
        "l": ints([4, 5], 71, -9, 9, I64),
        "k": np.array(1, I64),
        "kn": np.array(-2, I64),
        "kbig": np.array(7, I64),
    }
    return nodes, feeds, 14


def gather_case():
    nodes = [
        N("GatherElements", ["x", "i1"], ["ge_axis1"], axis=1),
        N("GatherElements", ["x", "i0"], ["ge_axis0"]),
        N("GatherElements", ["l", "i3"], ["ge_int"], axis=-1),
    ]
    feeds = {
        "x": rand([3, 4], seed=90),
        "i1": ints([3, 2], 91, -4, 4, I64),
        "i0": ints([2, 4], 92, -3, 3, I32),
        "l": ints([2, 3, 4], 93, -99, 99, I64),
        "i3": ints([2, 3, 5], 94, 0, 4, I64),
    }
    return nodes, feeds, 13


def scatter_case():
    data = rand([3, 4], seed=100)
    dup = np.array([[1, 1], [0, -1], [3, 3]], I64)  # duplicates: combined in update order
    nodes = [
        N("ScatterElements", ["data", "ei", "eu"], ["se_axis1"], axis=1),
        N("ScatterElements", ["data", "e0", "eu0"], ["se_axis0"]),
        N("ScatterElements", ["data", "dup", "eu"], ["se_add"], axis=1, reduction="add"),
        N("ScatterElements", ["data", "dup", "eu"], ["se_mul"], axis=1, reduction="mul"),
        N("ScatterElements", ["data", "dup", "eu"], ["se_max"], axis=1, reduction="max"),
        N("ScatterElements", ["ldata", "dup", "lu"], ["se_min_l"], axis=1, reduction="min"),
        N("ScatterND", ["cube", "ni", "nu"], ["snd_slices"]),
        N("ScatterND", ["cube", "ndup", "nu"], ["snd_add"], reduction="add"),
        N("ScatterND", ["cube", "pts", "pu"], ["snd_points"]),
        N("GatherND", ["cube", "ni"], ["gnd_slices"]),
        N("GatherND", ["cube", "pts"], ["gnd_points"]),
        N("GatherND", ["cube", "bi"], ["gnd_batch"], batch_dims=1),
    ]
    feeds = {
        "data": data,
        "ei": np.array([[3, 0], [-1, 2], [1, 2]], I64),
        "eu": rand([3, 2], 101),
        "e0": np.array([[2, 0, 1, 0]], I32),
        "eu0": rand([1, 4], 102),
        "dup": dup,
        "ldata": ints([3, 4], 103, -9, 9, I64),
        "lu": ints([3, 2], 104, -9, 9, I64),
        "cube": rand([4, 3, 2], 105),
        "ni": np.array([[2], [0]], I64),
        "ndup": np.array([[1], [1]], I64),
        "nu": rand([2, 3, 2], 106),
        "pts": np.array([[0, 1, 1], [3, 2, 0]], I64),
        "pu": rand([2], 107),
        "bi": np.array([[2, 1], [0, 0], [1, 1], [2, 0]], I64),
    }
    return nodes, feeds, 18


def loss_case():
    nodes = [
        N("NegativeLogLikelihoodLoss", ["logp", "t"], ["nll_none"], reduction="none"),
        N("NegativeLogLikelihoodLoss", ["logp", "t"], ["nll_sum"], reduction="sum"),
        N("NegativeLogLikelihoodLoss", ["logp", "t"], ["nll_mean"]),
        N("NegativeLogLikelihoodLoss", ["logp", "t", "w"], ["nll_w_ii"], ignore_index=2),
        N("SoftmaxCrossEntropyLoss", ["x2", "t2", "w"], ["sce", "sce_logp"], ignore_index=0),
        N("SoftmaxCrossEntropyLoss", ["x2", "t2"], ["sce_none"], reduction="none"),
    ]
    feeds = {
        "logp": rand([3, 4, 2], seed=110, low=-3.0, high=0.0),
        "t": ints([3, 2], 111, 0, 4, I64),
        "w": rand([4], 112, low=0.5, high=2.0),
        "x2": rand([5, 4], 113, low=-2.0, high=2.0),
        "t2": np.array([1, 0, 3, 0, 2], I64),
    }
    return nodes, feeds, 13


def composite_case():
    x = rand([2, 3, 4, 2], seed=120)
    x[1, :, 0, 0] = 0.0  # an all-zero slice along axis 1: its Lp norm counts as 1
    nodes = [
        N("LpNormalization", ["x"], ["l2_axis1"], axis=1),
        N("LpNormalization", ["x"], ["l1_last"], p=1),
        N("InstanceNormalization", ["x", "s", "b"], ["inorm"], epsilon=1e-3),
        N("MeanVarianceNormalization", ["x"], ["mvn"]),
        N("DepthToSpace", ["d"], ["d2s_dcr"], blocksize=2),
        N("DepthToSpace", ["d"], ["d2s_crd"], blocksize=2, mode="CRD"),
        N("SpaceToDepth", ["x"], ["s2d"], blocksize=2),
        N("EyeLike", ["e"], ["eye"], k=1),
        N("EyeLike", ["e"], ["eye_f"], k=-2, dtype=1),
    ]
    feeds = {
        "x": x,
        "s": rand([3], 121),
        "b": rand([3], 122),
        "d": rand([1, 8, 2, 3], 123),
        "e": ints([3, 5], 124, 0, 9, I32),
    }
    return nodes, feeds, 22


def scatter_legacy_case():
    nodes = [N("Scatter", ["data", "i", "u"], ["scatter"], axis=1)]  # ScatterElements' old name
    feeds = {
        "data": rand([2, 4], 130),
        "i": np.array([[3, 0], [1, 2]], I64),
        "u": rand([2, 2], 131),
    }
    return nodes, feeds, 10


def build_case(case):
    nodes, feeds, opset, *extra = case()
    inits = extra[0] if extra else {}
    inputs = [(k, list(v.shape), v.dtype) for k, v in feeds.items()]
    outputs = [onnx.ValueInfoProto(name=o) for n in nodes for o in n.output]  # types inferred
    return make_model(nodes, inputs, outputs, initializers=inits, opset=opset), feeds


CASES = {
    "mod": mod_case,
    "bitshift": bitshift_case,
    "unary": unary_case,
    "logic": logic_case,
    "mean": mean_case,
    "arg": arg_case,
    "reduce": reduce_case,
    "norm": norm_case,
    "prelu": prelu_case,
    "trilu": trilu_case,
    "gather": gather_case,
    "scatter": scatter_case,
    "loss": loss_case,
    "composite": composite_case,
    "scatter_legacy": scatter_legacy_case,
}


def covered_ops():
    """The op types this file runs (tests/test_ops.py counts them as covered)."""
    return {n.op_type for case in CASES.values() for n in case()[0]}


@pytest.fixture(scope="module")
def engines():
    """op -> (model, feeds, engine), each engine built on first use and kept for the module."""
    built = {}

    def get(op):
        if op not in built:
            model, feeds = build_case(CASES[op])
            built[op] = (model, feeds, build_engine(model))
        return built[op]

    return get


@pytest.mark.parametrize("op", sorted(CASES))
def test_op_matches_onnxruntime(engines, op):
    model, feeds, engine = engines(op)
    run_and_compare(model, feeds, engine=engine)


@pytest.mark.parametrize("op", sorted(CASES))
def test_op_builds_fp16(op):
    """FP16 builds (the FP16 check runs every case on build-time data: integer divisors and
    indices must get valid values there) stay within FP16 tolerance; integers exact."""
    model, feeds = build_case(CASES[op])
    builder, network, _ = parse_network(model)
    config = make_config(builder)
    config.set_flag(trt.BuilderFlag.FP16)
    engine = deserialize(bytes(builder.build_serialized_network(network, config)))
    got = engine.create_execution_context().infer(feeds)
    for name, want in ort_run(model, feeds).items():
        if want.dtype.kind in "biu":
            np.testing.assert_array_equal(got[name], want, err_msg=name)
        else:
            assert_close(got[name], want, rtol=2e-2, atol=2e-2, name=name)


@pytest.mark.parametrize("feed", ["ib", "lb"])
def test_integer_mod_by_zero_fails_the_run(engines, feed):
    _, feeds, engine = engines("mod")
    bad = dict(feeds)
    bad[feed] = bad[feed].copy()
    bad[feed][1, 2] = 0
    with pytest.raises(ValueError, match="division by zero"):
        engine.create_execution_context().infer(bad)


def test_gather_elements_out_of_range_fails_the_run(engines):
    _, feeds, engine = engines("gather")
    bad = dict(feeds, i1=feeds["i1"].copy())
    bad["i1"][2, 1] = 4
    with pytest.raises(ValueError, match="out of range"):
        engine.create_execution_context().infer(bad)


def test_scatter_out_of_range_fails_the_run(engines):
    _, feeds, engine = engines("scatter")
    bad = dict(feeds, ni=np.array([[2], [4]], I64))
    with pytest.raises(ValueError, match="out of range"):
        engine.create_execution_context().infer(bad)


def test_float_floor_mod_before_opset_28_is_refused():
    model = make_model(
        [N("Mod", ["a", "b"], ["y"])], [("a", [2]), ("b", [2])], [("y", [2])], opset=13
    )
    with pytest.raises(AssertionError, match="fmod must be 1"):
        build_engine(model)


def test_prelu_opset6_slope_is_per_channel():
    model = make_model(
        [N("PRelu", ["x", "slope"], ["y"])],
        [("x", [2, 3, 4, 5])],
        [("y", [2, 3, 4, 5])],
        initializers={"slope": rand([3], 80)},
        opset=6,
    )
    x = rand([2, 3, 4, 5], seed=81)
    got = build_engine(model).create_execution_context().infer({"x": x})["y"]
    slope = rand([3], 80).reshape(3, 1, 1)
    np.testing.assert_allclose(got, np.where(x < 0, x * slope, x), rtol=1e-6)


def test_host_folding_matches_onnxruntime():
    """Every op on initializers (folded by the host evaluator) added to a runtime input."""
    a = np.array([[-4.0, 7.5, 5.0], [0.5, -1.5, 2.5]], np.float32)
    b = np.array([[2.0, -3.0, 8.0], [-2.0, 2.0, 3.0]], np.float32)
    li = np.array([[-7, 9, 5], [6, -4, 3]], I64)
    lj = np.array([[2, -4, 3], [-5, 3, 2]], I64)
    inits = {"a": a, "b": b, "li": li, "lj": lj, "ax": np.array([1], I64), "k": np.array(0, I64)}
    inits["gi"] = np.array([[2, 0, -1], [1, 1, 0]], I64)
    folded = [
        N("Mod", ["a", "b"], ["f_mod"]),
        N("Mod", ["a", "b"], ["f_fmod"], fmod=1),
        N("Mod", ["li", "lj"], ["f_modl"]),
        N("BitShift", ["li", "lj"], ["f_shl"], direction="LEFT"),
        N("BitShift", ["li", "lj"], ["f_shr"], direction="RIGHT"),
        N("Round", ["a"], ["f_round"]),
        N("Sign", ["b"], ["f_sign"]),
        N("Atan", ["a"], ["f_atan"]),
        N("ReduceL1", ["a", "ax"], ["f_l1"]),
        N("ReduceLogSumExp", ["a", "ax"], ["f_lse"]),
        N("ArgMax", ["a"], ["f_amax"], axis=1),
        N("Trilu", ["a", "k"], ["f_triu"]),
        N("GatherElements", ["a", "gi"], ["f_gather"], axis=1),
        N("Size", ["a"], ["f_size"]),
    ]
    integer = {"f_modl", "f_shl", "f_shr", "f_amax", "f_size"}  # added to xl, the others to x
    nodes = folded + [
        N("Add", [o, "xl" if o in integer else "x"], ["y_" + o]) for n in folded for o in n.output
    ]
    model = make_model(
        nodes,
        [("x", [2, 3]), ("xl", [2, 1], I64)],
        [onnx.ValueInfoProto(name="y_" + o.output[0]) for o in folded],
        initializers=inits,
        opset=28,
    )
    feeds = {"x": rand([2, 3], 90), "xl": np.array([[1], [2]], I64)}
    builder, network, _ = parse_network(model)
    config = make_config(builder)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED  # layer types in the inspector
    engine = deserialize(bytes(builder.build_serialized_network(network, config)))
    # The folded ops left constants behind: the Adds are the only computing layers.
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    types = [layer["LayerType"] for layer in json.loads(info)["Layers"]]
    assert types.count("ELEMENTWISE") == len(folded), types
    assert set(types) <= {"ELEMENTWISE", "CONSTANT"}, types
    run_and_compare(model, feeds, engine=engine)
