"""Each graph pass on a tiny ONNX graph, asserting the layer list it leaves (no device).

clrt._clrt._debug.optimize(network, passes) runs the named passes once each (or, with no list,
the builder's whole pipeline to a fixed point) on a copy of the network and returns the live
layers with their kinds, tensors, attributes, weight names and the ONNX nodes each holds. A
fusion or fold dropped from a pass or from the pipeline changes these lists and fails here,
even where every numeric test still passes.
"""

import numpy as np
import pytest
from clrt import _clrt
from helpers import packed_mha_model, separate_projections_model
from onnx import TensorProto, helper, numpy_helper
from unit_helpers import parse

DBG = _clrt._debug
F32 = TensorProto.FLOAT


def model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, F32, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, F32, None) for n in outputs],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in inits],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def kinds(result):
    return [layer["kind"] for layer in result["layers"]]


def layer(result, kind):
    (found,) = [x for x in result["layers"] if x["kind"] == kind]
    return found


RNG = np.random.default_rng(0)
W = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
CH = [
    ("gamma", RNG.uniform(0.5, 1.5, 4).astype(np.float32)),
    ("beta", RNG.standard_normal(4).astype(np.float32)),
    ("mean", RNG.standard_normal(4).astype(np.float32)),
    ("var", RNG.uniform(0.5, 1.5, 4).astype(np.float32)),
]
X = [("x", (1, 3, 8, 8))]


def conv(out="c", inp="x"):
    return helper.make_node("Conv", [inp, "w"], [out], name="conv", pads=[1, 1, 1, 1])


def conv_bn_relu():
    return model(
        [
            conv(),
            helper.make_node(
                "BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["b"], name="bn"
            ),
            helper.make_node("Relu", ["b"], ["y"], name="relu"),
        ],
        X,
        ["y"],
        [("w", W), *CH],
    )


@pytest.fixture(scope="module")
def cbr():
    return parse(conv_bn_relu())


def test_pipeline_order():
    # The order is part of the design (passes/pipeline.cc says why); a change shows up here.
    assert DBG.pass_names() == [
        "foldConstants",
        "foldQdq",
        "removeIdentities",
        "foldTransposeIntoMatmul",
        "foldReshapesAroundMatmul",
        "fuseAttention",
        "foldBatchNorm",
        "fuseBias",
        "fuseResidualAdd",
        "fuseActivation",
        "attentionViews",
        "removeDeadLayers",
    ]
    with pytest.raises(ValueError, match="no pass 'noSuchPass'; the passes are"):
        DBG.optimize(parse(conv_bn_relu()), ["noSuchPass"])


def test_unoptimized_network_is_left_alone(cbr):
    before = DBG.optimize(cbr, [])
    assert kinds(before) == ["CONVOLUTION", "SCALE", "ACTIVATION"]
    DBG.optimize(cbr)  # works on a copy
    assert DBG.optimize(cbr, []) == before


def test_fold_batchnorm(cbr):
    r = DBG.optimize(cbr, ["foldBatchNorm"])
    assert kinds(r) == ["CONVOLUTION", "ACTIVATION"]
    c = layer(r, "CONVOLUTION")
    assert c["onnx_nodes"] == ["conv", "bn"]
    assert "bias" in c["weights"]
    assert c["outputs"] == layer(r, "ACTIVATION")["inputs"]


def test_fuse_activation_after_batchnorm(cbr):
    # Activation fusion alone cannot pass the BatchNorm scale: nothing changes.
    assert kinds(DBG.optimize(cbr, ["fuseActivation"])) == ["CONVOLUTION", "SCALE", "ACTIVATION"]
    r = DBG.optimize(cbr, ["foldBatchNorm", "fuseActivation"])
    assert kinds(r) == ["CONVOLUTION"]
    c = r["layers"][0]
    assert c["attrs"]["act"] == "RELU"
    assert c["onnx_nodes"] == ["conv", "bn", "relu"]
    assert c["outputs"] == ["y"]


def test_pipeline_conv_bn_relu_is_one_layer(cbr):
    r = DBG.optimize(cbr)
    assert [(x["kind"], x["onnx_nodes"]) for x in r["layers"]] == [
        ("CONVOLUTION", ["conv", "bn", "relu"])
    ]
    assert r["layers"][0]["attrs"]["act"] == "RELU"


@pytest.mark.parametrize(
    "op, attrs, act",
    [
        ("Relu", {}, "RELU"),
        ("LeakyRelu", {"alpha": 0.2}, "LEAKY_RELU"),
        ("Sigmoid", {}, "SIGMOID"),
        ("Tanh", {}, "TANH"),
        ("HardSigmoid", {}, "HARD_SIGMOID"),
        ("HardSwish", {}, "HARD_SWISH"),
    ],
)
def test_fuse_activation_kinds(op, attrs, act):
    m = model(
        [conv(), helper.make_node(op, ["c"], ["y"], name="act", **attrs)], X, ["y"], [("w", W)]
    )
    r = DBG.optimize(parse(m), ["fuseActivation"])
    assert kinds(r) == ["CONVOLUTION"]
    assert r["layers"][0]["attrs"]["act"] == act
    if "alpha" in attrs:
        assert r["layers"][0]["attrs"]["act_alpha"] == pytest.approx(attrs["alpha"])


def test_activation_on_a_shared_output_is_not_fused():
    # The conv's raw output is also a network output: fusing would change it.
    m = model(
        [conv(), helper.make_node("Relu", ["c"], ["y"], name="relu")], X, ["c", "y"], [("w", W)]
    )
    assert kinds(DBG.optimize(parse(m))) == ["CONVOLUTION", "ACTIVATION"]


def test_fuse_bias_matmul():
    m = model(
        [
            helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
            helper.make_node("Add", ["m", "b"], ["y"], name="add"),
        ],
        [("x", (2, 5))],
        ["y"],
        [
            ("w", RNG.standard_normal((5, 3)).astype(np.float32)),
            ("b", RNG.standard_normal(3).astype(np.float32)),
        ],
    )
    net = parse(m)
    assert "ELEMENTWISE" in kinds(DBG.optimize(net, []))
    r = DBG.optimize(net, ["fuseBias", "removeDeadLayers"])
    assert kinds(r) == ["CONSTANT", "MATRIX_MULTIPLY"] or kinds(r) == ["MATRIX_MULTIPLY"]
    mm = layer(r, "MATRIX_MULTIPLY")
    assert "bias" in mm["weights"] and mm["onnx_nodes"] == ["mm", "add"]
    assert mm["outputs"] == ["y"]


def test_fuse_residual_add_then_activation():
    m = model(
        [
            conv(),
            helper.make_node("Add", ["c", "x2"], ["s"], name="add"),
            helper.make_node("Relu", ["s"], ["y"], name="relu"),
        ],
        [("x", (1, 3, 8, 8)), ("x2", (1, 4, 8, 8))],
        ["y"],
        [("w", W)],
    )
    net = parse(m)
    r = DBG.optimize(net, ["fuseResidualAdd"])
    assert kinds(r) == ["CONVOLUTION", "ACTIVATION"]
    c = layer(r, "CONVOLUTION")
    assert c["attrs"]["has_residual"] == 1 and "x2" in c["inputs"]
    full = DBG.optimize(net)
    assert [(x["kind"], x["onnx_nodes"]) for x in full["layers"]] == [
        ("CONVOLUTION", ["conv", "add", "relu"])
    ]
    assert full["layers"][0]["attrs"]["act"] == "RELU"


def test_fold_constants_arithmetic_on_initializers():
    m = model(
        [
            helper.make_node("Mul", ["a", "b"], ["ab"], name="mul"),
            helper.make_node("Add", ["x", "ab"], ["y"], name="add"),
        ],
        [("x", (3,))],
        ["y"],
        [("a", np.float32([1, 2, 3])), ("b", np.float32([4, 5, 6]))],
    )
    net = parse(m)
    assert kinds(DBG.optimize(net, [])) == ["CONSTANT", "CONSTANT", "ELEMENTWISE", "ELEMENTWISE"]
    r = DBG.optimize(net, ["foldConstants"])
    assert [(x["kind"], x["name"]) for x in r["layers"]][2:] == [
        ("CONSTANT", "mul"),
        ("ELEMENTWISE", "add"),
    ]
    full = DBG.optimize(net)
    assert [(x["kind"], x["name"]) for x in full["layers"]] == [
        ("CONSTANT", "mul"),
        ("ELEMENTWISE", "add"),
    ]
    assert full["layers"][1]["inputs"] == ["x", "ab"]


def test_fold_constants_keeps_a_dynamic_shape_subgraph():
    # Reshape to (batch, -1) with a dynamic batch: the Shape/Gather/Concat chain depends on the
    # run's input and must survive every pass (the importer folds it only for static inputs).
    m = model(
        [
            helper.make_node("Shape", ["x"], ["sh"], name="shape"),
            helper.make_node("Gather", ["sh", "zero"], ["n"], name="gather", axis=0),
            helper.make_node("Concat", ["n", "minus1"], ["target"], name="concat", axis=0),
            helper.make_node("Reshape", ["x", "target"], ["y"], name="reshape"),
        ],
        [("x", ("N", 3, 4))],
        ["y"],
        [("zero", np.array([0], np.int64)), ("minus1", np.array([-1], np.int64))],
    )
    r = DBG.optimize(parse(m))
    assert [x["kind"] for x in r["layers"] if x["kind"] != "CONSTANT"] == [
        "SHAPE",
        "GATHER",
        "CONCATENATION",
        "RESHAPE",
    ]


def test_remove_identities():
    m = model(
        [
            helper.make_node("Identity", ["x"], ["i"], name="identity"),
            helper.make_node("Relu", ["i"], ["r"], name="relu"),
            helper.make_node("Dropout", ["r"], ["y"], name="dropout"),
        ],
        [("x", (2, 3))],
        ["y"],
    )
    net = parse(m)
    assert kinds(DBG.optimize(net, [])).count("IDENTITY") >= 1
    r = DBG.optimize(net, ["removeIdentities"])
    assert kinds(r) == ["ACTIVATION"]
    assert r["layers"][0]["inputs"] == ["x"] and r["layers"][0]["outputs"] == ["y"]


def test_remove_dead_layers():
    # A branch that reaches no network output.
    m = model(
        [
            helper.make_node("Relu", ["x"], ["y"], name="relu"),
            helper.make_node("Sigmoid", ["x"], ["unused"], name="dead"),
        ],
        [("x", (2, 3))],
        ["y"],
    )
    net = parse(m)
    assert kinds(DBG.optimize(net, [])) == ["ACTIVATION", "ACTIVATION"]
    r = DBG.optimize(net, ["removeDeadLayers"])
    assert [x["name"] for x in r["layers"]] == ["relu"]


def qdq_model():
    scale, zero = np.float32(0.05), np.int8(0)
    return model(
        [
            helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="q"),
            helper.make_node("DequantizeLinear", ["q", "s", "z"], ["dq"], name="dq"),
            helper.make_node("Relu", ["dq"], ["y"], name="relu"),
        ],
        [("x", (2, 3))],
        ["y"],
        [("s", scale), ("z", zero)],
        opset=13,
    )


def test_fold_qdq_pair_becomes_a_range():
    net = parse(qdq_model())
    before = DBG.optimize(net, [])
    assert {"QUANTIZE", "DEQUANTIZE"} <= set(kinds(before))
    r = DBG.optimize(net, ["foldQdq", "removeIdentities", "removeDeadLayers"])
    assert "QUANTIZE" not in kinds(r) and "DEQUANTIZE" not in kinds(r)
    assert r["explicit_quantization"] is True
    # The pair's scale is the range of the tensor it quantized: +-127 * 0.05.
    [(lo, hi)] = r["ranges"].values()
    assert (lo, hi) == pytest.approx((-127 * 0.05, 127 * 0.05), rel=1e-6)
    assert kinds(DBG.optimize(net)) == ["ACTIVATION"]


@pytest.mark.parametrize("order", [("x", "s"), ("s", "x")])
def test_silu_subgraph_becomes_swish(order):
    # x * sigmoid(x), as PyTorch exports nn.SiLU below opset 24, in either operand order.
    m = model(
        [
            helper.make_node("Sigmoid", ["x"], ["s"], name="sig"),
            helper.make_node("Mul", list(order), ["y"], name="mul"),
        ],
        X,
        ["y"],
    )
    r = DBG.optimize(parse(m), ["fuseActivation", "removeDeadLayers"])
    assert kinds(r) == ["ACTIVATION"]
    act = r["layers"][0]
    assert act["attrs"]["type"] == "SWISH" and act["attrs"]["alpha"] == 1.0
    assert act["inputs"] == ["x"] and act["outputs"] == ["y"]
    assert act["onnx_nodes"] == ["sig", "mul"]


def test_pipeline_conv_silu_is_one_layer():
    m = model(
        [
            conv(),
            helper.make_node("Sigmoid", ["c"], ["s"], name="sig"),
            helper.make_node("Mul", ["c", "s"], ["y"], name="mul"),
        ],
        X,
        ["y"],
        [("w", W)],
    )
    r = DBG.optimize(parse(m))
    assert [(x["kind"], x["onnx_nodes"]) for x in r["layers"]] == [
        ("CONVOLUTION", ["conv", "sig", "mul"])
    ]
    assert r["layers"][0]["attrs"]["act"] == "SWISH"


def test_sigmoid_gate_of_another_tensor_is_not_swish():
    # x * sigmoid(z) (a gate, as in squeeze-and-excitation) is no SiLU: left as it is.
    m = model(
        [
            conv(),
            helper.make_node("Sigmoid", ["x"], ["s"], name="sig"),
            helper.make_node("Mul", ["c", "s"], ["y"], name="mul"),
        ],
        [("x", (1, 4, 8, 8))],
        ["y"],
        [("w", RNG.standard_normal((4, 4, 3, 3)).astype(np.float32))],
    )
    r = DBG.optimize(parse(m), ["fuseActivation"])
    assert sorted(kinds(r)) == ["ACTIVATION", "CONVOLUTION", "ELEMENTWISE"]


def attention_like(perm, operand=1, extra_reader=False):
    """y = q @ transpose(k, perm) (operand 1) or transpose(k, perm) @ q (operand 0), with a
    second reader of the transposed tensor when `extra_reader`."""
    tr = helper.make_node("Transpose", ["k"], ["kt"], perm=perm, name="tr")
    ins = ["q", "kt"] if operand == 1 else ["kt", "q"]
    nodes = [tr, helper.make_node("MatMul", ins, ["y"], name="mm")]
    outputs = ["y"]
    if extra_reader:
        nodes.append(helper.make_node("Neg", ["kt"], ["z"], name="neg"))
        outputs.append("z")
    # k as [batch, heads, positions, head dim], or [batch, positions, heads, head dim] when the
    # transpose splits heads too; q fits whatever k's transpose is.
    k = (2, 5, 3, 4) if perm[1] == 2 else (2, 3, 5, 4)
    kt = [k[a] for a in perm]
    q = (*kt[:2], 6, kt[2]) if operand == 1 else (*kt[:2], kt[3], 6)
    return model(nodes, [("q", q), ("k", k)], outputs)


def test_fold_transpose_of_the_last_two_axes_into_matmul():
    # k^T as a transpose of the last two axes: gone, the MatMul reads k with trans_b.
    r = DBG.optimize(parse(attention_like([0, 1, 3, 2])))
    assert kinds(r) == ["MATRIX_MULTIPLY"]
    mm = layer(r, "MATRIX_MULTIPLY")
    assert mm["inputs"] == ["q", "k"] and mm["attrs"]["trans_b"] == 1
    assert mm["onnx_nodes"] == ["mm", "tr"]
    # The same on operand A: trans_a.
    r = DBG.optimize(parse(attention_like([0, 1, 3, 2], operand=0)))
    assert kinds(r) == ["MATRIX_MULTIPLY"] and layer(r, "MATRIX_MULTIPLY")["attrs"]["trans_a"] == 1


def test_a_ranged_transpose_still_folds():
    # INT8 ranges on every tensor (calibration, clrtexec's placeholders) do not keep k^T: the
    # transposed tensor holds k's values, so the MatMul reads k with trans_b, and a range set on
    # k^T alone becomes k's. (Kept, it left fused attention reading k as columns.)
    net = parse(attention_like([0, 1, 3, 2]))
    for i in range(net.num_layers):
        out = net.get_layer(i).get_output(0)
        if out.name == "kt":
            out.set_dynamic_range(-3.0, 3.0)
    r = DBG.optimize(net)
    assert kinds(r) == ["MATRIX_MULTIPLY"]
    mm = layer(r, "MATRIX_MULTIPLY")
    assert mm["inputs"] == ["q", "k"] and mm["attrs"]["trans_b"] == 1
    assert r["ranges"]["k"] == pytest.approx((-3.0, 3.0))


def test_head_split_and_transpose_keep_the_head_split():
    # perm 0,2,3,1 (head split and k^T in one): the transpose keeps 0,2,1,3, which copies rows
    # of the head dim whole, and the MatMul reads its output with trans_b.
    r = DBG.optimize(parse(attention_like([0, 2, 3, 1])))
    assert kinds(r) == ["TRANSPOSE", "MATRIX_MULTIPLY"]
    assert layer(r, "TRANSPOSE")["attrs"]["perm"] == [0, 2, 1, 3]
    assert layer(r, "MATRIX_MULTIPLY")["attrs"]["trans_b"] == 1
    # A head split alone (v of probs @ v) stays as it is: folding it would leave a transpose
    # that moves the innermost axis.
    r = DBG.optimize(parse(attention_like([0, 2, 1, 3])))
    assert layer(r, "TRANSPOSE")["attrs"]["perm"] == [0, 2, 1, 3]
    assert "trans_b" not in layer(r, "MATRIX_MULTIPLY")["attrs"]


def test_a_transpose_with_other_readers_stays_for_them():
    r = DBG.optimize(parse(attention_like([0, 1, 3, 2], extra_reader=True)))
    assert sorted(kinds(r)) == ["MATRIX_MULTIPLY", "TRANSPOSE", "UNARY"]
    assert layer(r, "MATRIX_MULTIPLY")["inputs"] == ["q", "k"]
    # Only the last two axes may go to the MatMul when others read the transposed tensor.
    r = DBG.optimize(parse(attention_like([0, 2, 3, 1], extra_reader=True)))
    assert layer(r, "TRANSPOSE")["attrs"]["perm"] == [0, 2, 3, 1]
    assert "trans_b" not in layer(r, "MATRIX_MULTIPLY")["attrs"]


@pytest.mark.parametrize("op", ["Mul", "Div"])
def test_a_scalar_scale_moves_before_the_transpose_it_follows(op):
    # BERT's k^T * (1 / sqrt(sqrt(d))) before q @ k^T: the Mul goes before the transpose (same
    # values), which then meets the MatMul and leaves it the last two axes; a scale by a tensor
    # of more than one value stays where it is.
    def scaled(scale):
        nodes = [
            helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 3, 1], name="tr"),
            helper.make_node(op, ["kt", "s"], ["kts"], name="scale"),
            helper.make_node("MatMul", ["q", "kts"], ["y"], name="mm"),
        ]
        inputs = [("q", (2, 3, 6, 4)), ("k", (2, 5, 3, 4))]
        return parse(model(nodes, inputs, ["y"], [("s", scale)]))

    r = DBG.optimize(scaled(np.array(0.5, np.float32)))
    assert [x["name"] for x in r["layers"] if x["kind"] != "CONSTANT"] == ["scale", "tr", "mm"]
    assert layer(r, "ELEMENTWISE")["inputs"][0] == "k"
    assert layer(r, "TRANSPOSE")["attrs"]["perm"] == [0, 2, 1, 3]
    assert layer(r, "MATRIX_MULTIPLY")["attrs"]["trans_b"] == 1
    r = DBG.optimize(scaled(np.full((1, 1, 1, 5), 0.5, np.float32)))
    assert layer(r, "TRANSPOSE")["attrs"]["perm"] == [0, 2, 3, 1]
    assert layer(r, "ELEMENTWISE")["inputs"][0] == "kt"


def sdpa(scores=(), guard=False, outputs=("y",), softmax_axis=-1, k_shape=(2, 3, 7, 8), dv=4):
    """PyTorch's exported attention: sqrt(scale) on q and on k^T, q @ k^T, `scores` nodes from
    "s" to "x", softmax, [Where(IsNaN(p), 0, p)], @ v."""
    n = helper.make_node
    nodes = [
        n("Mul", ["q", "c"], ["qs"], name="qs"),
        n("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2], name="tr"),
        n("Mul", ["kt", "c"], ["kts"], name="ks"),
        n("MatMul", ["qs", "kts"], ["s"], name="mm1"),
        *scores,
        n("Softmax", ["x" if scores else "s"], ["p"], axis=softmax_axis, name="sm"),
    ]
    p = "p"
    if guard:
        nodes += [
            n("IsNaN", ["p"], ["isn"], name="isnan"),
            n("Where", ["isn", "zero", "p"], ["pz"], name="where"),
        ]
        p = "pz"
    nodes.append(n("MatMul", [p, "v"], ["y"], name="mm2"))
    inputs = [("q", (2, 3, 5, 8)), ("k", k_shape), ("v", (2, 3, 7, dv)), ("mask", (2, 1, 1, 7))]
    inits = [("c", np.array(8**-0.25, np.float32)), ("zero", np.array(0, np.float32))]
    return parse(model(nodes, inputs, list(outputs), inits))


def test_attention_fuses_into_one_layer():
    # The scalars on q and k join the scale (k's in a later round, once the transpose folding
    # left k's multiply without another reader), the guard sets nan_to_zero.
    add = helper.make_node("Add", ["s", "mask"], ["x"], name="add")
    r = DBG.optimize(sdpa([add], guard=True))
    assert kinds(r) == ["ATTENTION"]
    a = layer(r, "ATTENTION")
    assert a["inputs"] == ["q", "k", "v", "mask"] and a["outputs"] == ["y"]
    assert a["attrs"]["scale"] == pytest.approx(8**-0.5, rel=1e-6)
    assert {k: a["attrs"][k] for k in ("trans_k", "nan_to_zero", "head_q", "head_v")} == {
        "trans_k": 1,
        "nan_to_zero": 1,
        "head_q": 8,
        "head_v": 4,
    }
    assert sorted(a["onnx_nodes"]) == sorted(
        ["qs", "tr", "ks", "mm1", "add", "sm", "isnan", "where", "mm2"]
    )
    # A divide after the MatMul, no bias, no guard.
    div = helper.make_node("Div", ["s", "d"], ["x"], name="div")
    r = DBG.optimize(
        parse(
            model(
                [
                    helper.make_node("MatMul", ["q", "k"], ["s"], name="mm1"),
                    div,
                    helper.make_node("Softmax", ["x"], ["p"], axis=2, name="sm"),
                    helper.make_node("MatMul", ["p", "v"], ["y"], name="mm2"),
                ],
                [("q", (2, 5, 8)), ("k", (2, 8, 7)), ("v", (2, 7, 4))],
                ["y"],
                [("d", np.array(4.0, np.float32))],
            )
        )
    )
    a = layer(r, "ATTENTION")
    assert a["inputs"][:3] == ["q", "k", "v"] and a["attrs"]["trans_k"] == 0
    assert a["attrs"]["scale"] == 0.25 and a["attrs"]["nan_to_zero"] == 0


def test_attention_stays_apart_where_fusion_would_hide_or_change_something(monkeypatch):
    # The scores watched as an output, a softmax over another axis, a head larger than the
    # kernels take, a bias that widens the scores: no ATTENTION layer. (k broadcast over the
    # batch is fused: the layer broadcasts leading dims as the MatMuls did.)
    wide = helper.make_node("Add", ["s", "mask"], ["x"], name="add")
    cases = [
        sdpa(outputs=("y", "s")),
        sdpa(softmax_axis=2),
        sdpa(dv=300),
        sdpa([helper.make_node("Add", ["s", "s"], ["x"], name="twice")]),  # no bias: 2 * scores
    ]
    for net in cases:
        assert "ATTENTION" not in kinds(DBG.optimize(net))
    wide_net = model(
        [
            helper.make_node("MatMul", ["q", "kt"], ["s"], name="mm1"),
            wide,
            helper.make_node("Softmax", ["x"], ["p"], axis=-1, name="sm"),
            helper.make_node("MatMul", ["p", "v"], ["y"], name="mm2"),
        ],
        [("q", (1, 5, 8)), ("kt", (1, 8, 7)), ("v", (1, 7, 4)), ("mask", (3, 5, 7))],
        ["y"],
    )
    assert "ATTENTION" not in kinds(DBG.optimize(parse(wide_net)))
    assert kinds(DBG.optimize(sdpa(k_shape=(1, 3, 7, 8)))) == ["ATTENTION"]
    monkeypatch.setenv("CLRT_FUSE_ATTENTION", "0")
    assert "ATTENTION" not in kinds(DBG.optimize(sdpa()))


def test_attention_reads_a_packed_projection_as_views():
    # torchvision's attention: q, k and v cut out of x [S, B, 3 * H * d] by movement layers are
    # read as strided views of x, and the heads' transpose back becomes the output's strides.
    s, b, h, d = 5, 2, 2, 4
    model, _ = packed_mha_model(d, heads=h, s=s, b=b)
    r = DBG.optimize(parse(model))
    assert kinds(r) == ["ATTENTION", "RESHAPE"], kinds(r)
    a = layer(r, "ATTENTION")
    assert a["inputs"] == ["x", "x", "x", ""]  # no bias
    e = h * d
    for n, offset in zip("qkv", (0, e, 2 * e)):
        assert a["attrs"][f"{n}_dims"] == [b, h, s, d]
        assert a["attrs"][f"{n}_src"] == [s, b, 3 * e]
        assert a["attrs"][f"{n}_offset"] == offset
        # q[b, h, s, d] = x[s, b, offset + h * d + d]; k is read as rows (trans_k).
        assert a["attrs"][f"{n}_strides"] == [3 * e, d, b * 3 * e, 1]
    # out[b, h, s, d] lands at ot[s, b, h, d] (ot contiguous [S, B, H, d]).
    assert a["attrs"]["o_dims"] == [s, b, h, d]
    assert a["attrs"]["o_strides"] == [h * d, d, b * h * d, 1]
    assert a["attrs"]["scale"] == pytest.approx(d**-0.5, rel=1e-6)


def test_the_batch_first_transpose_moves_into_the_views():
    # torchvision's ViT: x [B, S, E] transposed to sequence first before in_proj. The MatMul
    # works row by row, so the transpose moves below it, into the views of q, k and v: no
    # transpose is left, and the views read the projection in its batch-first layout.
    s, b, h, d = 5, 2, 2, 4
    model, _ = packed_mha_model(d, heads=h, s=s, b=b, in_proj=True)
    r = DBG.optimize(parse(model))
    assert kinds(r) == ["MATRIX_MULTIPLY", "ATTENTION", "RESHAPE"], kinds(r)
    mm, a = layer(r, "MATRIX_MULTIPLY"), layer(r, "ATTENTION")
    assert mm["inputs"] == ["x"] and sorted(mm["weights"]) == ["bias", "kernel"]
    e = h * d
    for n, offset in zip("qkv", (0, e, 2 * e)):
        assert a["attrs"][f"{n}_src"] == [b, s, 3 * e]
        # q[b, h, s, d] = proj[b, s, offset + h * d + d]
        assert a["attrs"][f"{n}_strides"] == [s * 3 * e, d, 3 * e, 1]
        assert a["attrs"][f"{n}_offset"] == offset


def test_separate_projections_pack_into_one_matmul():
    # Hugging Face's BERT: query, key and value are three MatMuls of x. They become one MatMul
    # whose weight holds theirs side by side (and whose bias theirs), and the attention reads q,
    # k and v as views of its [B, S, 3E] output: no transpose, two MatMuls fewer.
    s, b, h, d = 5, 2, 2, 4
    e = h * d
    m, _ = separate_projections_model(d, heads=h, s=s, b=b)
    r = DBG.optimize(parse(m))
    assert kinds(r) == ["MATRIX_MULTIPLY", "ATTENTION", "RESHAPE"], kinds(r)
    mm, a = layer(r, "MATRIX_MULTIPLY"), layer(r, "ATTENTION")
    assert mm["inputs"] == ["x"] and sorted(mm["weights"]) == ["bias", "kernel"]
    assert sorted(mm["onnx_nodes"]) == sorted(
        f"{p}_{part}" for p in "qkv" for part in ("proj", "bias")
    )
    assert a["inputs"][:3] == mm["outputs"] * 3
    for n, offset in zip("qkv", (0, e, 2 * e)):
        assert a["attrs"][f"{n}_src"] == [b, s, 3 * e]
        assert a["attrs"][f"{n}_offset"] == offset
        # q[b, h, s, d] = proj[b, s, offset + h * d + d] (k read as rows: trans_k)
        assert a["attrs"][f"{n}_strides"] == [s * 3 * e, d, 3 * e, 1]


def test_cross_attention_packs_the_projections_of_one_input():
    # A decoder's cross-attention: q projects x, k and v project m. k and v pack (their views
    # read columns 0..E-1 and E..2E-1 of [B, Sk, 2E]); q keeps its own MatMul.
    s, sk, b, h, d = 5, 3, 2, 2, 4
    e = h * d
    m, _ = separate_projections_model(d, heads=h, s=s, b=b, cross=True, sk=sk)
    r = DBG.optimize(parse(m))
    assert kinds(r) == ["MATRIX_MULTIPLY", "MATRIX_MULTIPLY", "ATTENTION", "RESHAPE"], kinds(r)
    mms = [x for x in r["layers"] if x["kind"] == "MATRIX_MULTIPLY"]
    assert sorted(x["inputs"][0] for x in mms) == ["m", "x"]
    kv = next(x for x in mms if x["inputs"] == ["m"])
    a = layer(r, "ATTENTION")
    assert a["inputs"][1] == a["inputs"][2] == kv["outputs"][0] != a["inputs"][0]
    assert a["attrs"]["q_src"] == [b, s, e] and a["attrs"]["q_offset"] == 0
    for n, offset in zip("kv", (0, e)):
        assert a["attrs"][f"{n}_src"] == [b, sk, 2 * e]
        assert a["attrs"][f"{n}_offset"] == offset
        assert a["attrs"][f"{n}_strides"] == [sk * 2 * e, d, 2 * e, 1]


def test_a_projection_read_elsewhere_is_not_packed():
    # The key projection's output is also a network output: it must stay as it is, so only
    # query and value pack.
    s, b, h, d = 5, 2, 2, 4
    m, _ = separate_projections_model(d, heads=h, s=s, b=b, extra_reader=True)
    r = DBG.optimize(parse(m))
    mms = [x for x in r["layers"] if x["kind"] == "MATRIX_MULTIPLY"]
    assert len(mms) == 2, kinds(r)
    packed = next(x for x in mms if "k_proj" not in x["onnx_nodes"])
    assert sorted(packed["onnx_nodes"]) == ["q_bias", "q_proj", "v_bias", "v_proj"]


def test_the_sequence_first_result_is_written_batch_first():
    # torchvision's out_proj: heads together [S, B, H, d] -> [S * B, E] -> MatMul -> [S, B, E]
    # -> transposed to batch first -> + x. The attention writes its rows batch first, the MatMul
    # reads them as [B, S, E] and takes the residual Add: no transpose, no Add left.
    s, b, h, d = 5, 2, 2, 4
    model, _ = packed_mha_model(d, heads=h, s=s, b=b, in_proj=True, out_proj=True)
    r = DBG.optimize(parse(model))
    assert kinds(r) == ["MATRIX_MULTIPLY", "ATTENTION", "RESHAPE", "MATRIX_MULTIPLY"], kinds(r)
    a = layer(r, "ATTENTION")
    # out[b, h, s, d] at z[b, s, h, d]; the reshape reads z as [B, S, E].
    assert a["attrs"]["o_dims"] == [b, s, h, d]
    assert a["attrs"]["o_strides"] == [s * h * d, d, h * d, 1]
    out = [x for x in r["layers"] if x["kind"] == "MATRIX_MULTIPLY"][1]
    assert out["outputs"] == ["y"] and out["attrs"]["has_residual"] == 1
    assert layer(r, "RESHAPE")["attrs"]["shape"] == [b, s, h * d]


def conv1d_mlp(k_split=1):
    # Hugging Face's Conv1D (GPT-2's MLP): x [B, S, E] viewed as rows [B * S, E], Gemm with a
    # bias, viewed back as [B, S, 4E]; ReLU; again for the second projection; + x. k_split > 1
    # views the rows as [B * S * k_split, E / k_split] instead (a reshape that is no row view).
    b, s, e = 2, 5, 8
    rng = np.random.default_rng(3)
    n = helper.make_node
    nodes = [
        n("Reshape", ["x", "rows"], ["xr"], name="view1"),
        n("Gemm", ["xr", "w1", "b1"], ["h"], name="fc"),
        n("Reshape", ["h", "back1"], ["hb"], name="unview1"),
        n("Relu", ["hb"], ["a"], name="act"),
        n("Reshape", ["a", "rows2"], ["ar"], name="view2"),
        n("Gemm", ["ar", "w2", "b2"], ["p"], name="proj"),
        n("Reshape", ["p", "back2"], ["pb"], name="unview2"),
        n("Add", ["pb", "x"], ["y"], name="residual"),
    ]
    k = e // k_split
    inits = [
        ("rows", np.array([b * s * k_split, k], np.int64)),
        ("w1", rng.standard_normal((k, 4 * e)).astype(np.float32)),
        ("b1", rng.standard_normal(4 * e).astype(np.float32)),
        ("back1", np.array([b, s, 4 * e * k_split], np.int64)),
        ("rows2", np.array([b * s, 4 * e * k_split], np.int64)),
        ("w2", rng.standard_normal((4 * e * k_split, e)).astype(np.float32)),
        ("b2", rng.standard_normal(e).astype(np.float32)),
        ("back2", np.array([b, s, e], np.int64)),
    ]
    return model(nodes, [("x", (b, s, e))], ["y"], inits)


def test_reshapes_around_a_matmul_of_rows_fold():
    # The MatMuls read x and write the unreshaped tensors themselves: the bias, the ReLU and the
    # residual Add then join their epilogues, as for a MatMul on 3-D input.
    r = DBG.optimize(parse(conv1d_mlp()))
    assert kinds(r) == ["MATRIX_MULTIPLY", "MATRIX_MULTIPLY"], kinds(r)
    fc, proj = r["layers"]
    assert fc["inputs"] == ["x"] and fc["attrs"]["act"] == "RELU"
    assert {"view1", "fc", "unview1", "act"} <= set(fc["onnx_nodes"])
    assert proj["attrs"]["has_residual"] == 1 and proj["inputs"][-1] == "x"
    assert proj["outputs"] == ["y"] and {"view2", "unview2", "residual"} <= set(proj["onnx_nodes"])


def test_a_range_on_the_reshaped_rows_becomes_the_inputs():
    # A range set on the rows view alone (xr) holds for x, which the MatMul now reads: it moves
    # there, as a range on k^T alone becomes k's (an INT8 MatMul needs one on its input).
    net = parse(conv1d_mlp())
    for i in range(net.num_layers):
        out = net.get_layer(i).get_output(0)
        if out.name == "xr":
            out.set_dynamic_range(-3.0, 3.0)
    r = DBG.optimize(net)
    assert kinds(r) == ["MATRIX_MULTIPLY", "MATRIX_MULTIPLY"], kinds(r)
    assert r["ranges"]["x"] == pytest.approx((-3.0, 3.0))


def test_a_matmul_of_a_batched_kernel_keeps_its_reshapes():
    # x [2, 5, 8] regrouped as [5, 2, 8] for a kernel [5, 8, 4] (one weight per group of rows):
    # the kernel broadcasts over the regrouped dims, so the MatMul is no row-wise one and
    # cannot read x as it is.
    n = helper.make_node
    rng = np.random.default_rng(5)
    nodes = [
        n("Reshape", ["x", "groups"], ["xg"], name="view"),
        n("MatMul", ["xg", "w"], ["h"], name="mm"),
        n("Reshape", ["h", "back"], ["y"], name="unview"),
    ]
    inits = [
        ("groups", np.array([5, 2, 8], np.int64)),
        ("w", rng.standard_normal((5, 8, 4)).astype(np.float32)),
        ("back", np.array([2, 5, 4], np.int64)),
    ]
    r = DBG.optimize(parse(model(nodes, [("x", (2, 5, 8))], ["y"], inits)))
    assert kinds(r) == ["RESHAPE", "MATRIX_MULTIPLY", "RESHAPE"], kinds(r)


def test_a_reshape_that_splits_rows_stays():
    # [B * S * 2, E / 2] is no regrouping of x's rows: the first MatMul keeps its reshapes.
    r = DBG.optimize(parse(conv1d_mlp(k_split=2)))
    assert kinds(r)[:3] == ["RESHAPE", "MATRIX_MULTIPLY", "RESHAPE"], kinds(r)


def test_ranged_tensors_fuse_through_a_reshape():
    # A MatMul of 2-D rows viewed as [B, S, N] and then activated (branch 1) or added to another
    # tensor (branch 2), every tensor ranged as an INT8 calibration leaves them: the activation
    # and the Add still join the epilogue through the reshape. The MatMul's output now holds the
    # activated values (the sum), so it takes the range of the tensor they were (y1, y2), and
    # the residual read through a reshape keeps r's range (an INT8 MatMul needs it).
    n = helper.make_node
    rng = np.random.default_rng(4)
    nodes = [
        n("Gemm", ["x", "w1", "b1"], ["h1"], name="fc1"),
        n("Reshape", ["h1", "back"], ["v1"], name="unview1"),
        n("Relu", ["v1"], ["y1"], name="act"),
        n("Gemm", ["x", "w2", "b2"], ["h2"], name="fc2"),
        n("Reshape", ["h2", "back"], ["v2"], name="unview2"),
        n("Add", ["v2", "r"], ["y2"], name="residual"),
    ]
    inits = [
        ("w1", rng.standard_normal((8, 8)).astype(np.float32)),
        ("b1", rng.standard_normal(8).astype(np.float32)),
        ("w2", rng.standard_normal((8, 8)).astype(np.float32)),
        ("b2", rng.standard_normal(8).astype(np.float32)),
        ("back", np.array([2, 5, 8], np.int64)),
    ]
    net = parse(model(nodes, [("x", (10, 8)), ("r", (2, 5, 8))], ["y1", "y2"], inits))
    width = {"x": 1.0, "r": 2.0, "h1": 3.0, "v1": 4.0, "y1": 5.0, "h2": 6.0, "v2": 7.0, "y2": 8.0}
    tensors = [net.get_input(i) for i in range(net.num_inputs)]
    tensors += [net.get_layer(i).get_output(0) for i in range(net.num_layers)]
    for t in tensors:
        if t.name in width:
            t.set_dynamic_range(-width[t.name], width[t.name])
    r = DBG.optimize(net)
    assert sorted(kinds(r)) == ["MATRIX_MULTIPLY"] * 2 + ["RESHAPE"] * 3, kinds(r)
    fc1 = next(x for x in r["layers"] if "fc1" in x["onnx_nodes"])
    fc2 = next(x for x in r["layers"] if "fc2" in x["onnx_nodes"])
    assert fc1["attrs"]["act"] == "RELU" and fc2["attrs"]["has_residual"] == 1
    assert r["ranges"][fc1["outputs"][0]] == pytest.approx((-5.0, 5.0))
    assert r["ranges"][fc2["outputs"][0]] == pytest.approx((-8.0, 8.0))
    assert r["ranges"][fc2["inputs"][-1]] == pytest.approx((-2.0, 2.0))


def test_written_out_tanh_gelu_becomes_one_activation():
    # GPT-2's gelu_new: 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))), eight nodes.
    n = helper.make_node
    nodes = [
        n("Mul", ["x", "half"], ["h"], name="m0"),
        n("Pow", ["x", "three"], ["p3"], name="pow"),
        n("Mul", ["p3", "k"], ["cubic"], name="m1"),
        n("Add", ["x", "cubic"], ["v"], name="a0"),
        n("Mul", ["v", "root"], ["u"], name="m2"),
        n("Tanh", ["u"], ["t"], name="tanh"),
        n("Add", ["t", "one"], ["a"], name="a1"),
        n("Mul", ["h", "a"], ["y"], name="m3"),
    ]
    consts = [
        ("half", np.float32(0.5)),
        ("three", np.float32(3.0)),
        ("k", np.float32(0.044715)),
        ("root", np.float32(np.sqrt(2 / np.pi))),
        ("one", np.float32(1.0)),
    ]
    r = DBG.optimize(parse(model(nodes, X, ["y"], consts)))
    assert kinds(r) == ["ACTIVATION"]
    act = r["layers"][0]
    assert act["attrs"]["type"] == "GELU_TANH" and act["inputs"] == ["x"]
    assert sorted(act["onnx_nodes"]) == sorted(x.name for x in nodes)
    # A different constant (0.05 for 0.044715) is not that GELU: the layers stay.
    consts[2] = ("k", np.float32(0.05))
    r = DBG.optimize(parse(model(nodes, X, ["y"], consts)))
    assert "GELU_TANH" not in [x["attrs"].get("type") for x in r["layers"]]
    assert len(r["layers"]) == 13


def test_attention_reads_a_split_projection_as_views():
    # GPT-2: q, k and v split off one [1, S, 3 * E] projection along its last axis, each
    # head-split by a reshape and a transpose: views of x at offsets 0, E and 2E; no SPLIT left.
    n = helper.make_node
    nodes = [n("Split", ["x", "sizes"], ["q0", "k0", "v0"], axis=2, name="split")]
    for t in "qkv":
        nodes += [
            n("Reshape", [f"{t}0", "shape"], [f"{t}1"], name=f"{t}_reshape"),
            n("Transpose", [f"{t}1"], [f"{t}2"], perm=[0, 2, 1, 3], name=f"{t}_heads"),
        ]
    nodes += [
        n("Transpose", ["k2"], ["kt"], perm=[0, 1, 3, 2], name="kt"),
        n("MatMul", ["q2", "kt"], ["s"], name="mm1"),
        n("Softmax", ["s"], ["p"], axis=-1, name="sm"),
        n("MatMul", ["p", "v2"], ["y"], name="mm2"),
    ]
    inits = [("sizes", np.array([32, 32, 32], np.int64)), ("shape", np.array([1, 16, 2, 16]))]
    r = DBG.optimize(parse(model(nodes, [("x", (1, 16, 96))], ["y"], inits)))
    assert kinds(r) == ["ATTENTION"], kinds(r)
    a = layer(r, "ATTENTION")
    assert a["inputs"][:3] == ["x", "x", "x"]
    for t, offset in zip("qkv", (0, 32, 64)):
        # q[0, h, s, d] = x[0, s, offset + h * 16 + d]
        assert a["attrs"][f"{t}_strides"] == [0, 16, 96, 1] and a["attrs"][f"{t}_offset"] == offset


def test_a_concatenation_of_one_tensor_goes():
    # What a KV cache's Concat(past, k) leaves once the empty past is dropped.
    nodes = [
        helper.make_node("Concat", ["x"], ["c"], axis=1, name="cat"),
        helper.make_node("Relu", ["c"], ["y"], name="relu"),
    ]
    r = DBG.optimize(parse(model(nodes, X, ["y"])))
    assert kinds(r) == ["ACTIVATION"] and r["layers"][0]["inputs"] == ["x"]


def test_residual_add_fused_through_a_reshape():
    # GPT-2's c_proj (Conv1D): [S, K] x W viewed as [1, S, N], then + the residual stream. The
    # MatMul adds the residual read through a reshape to its own dims; the reshape after it
    # writes the sum.
    w = RNG.standard_normal((6, 4)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
        helper.make_node("Reshape", ["m", "shape"], ["m3"], name="view"),
        helper.make_node("Add", ["m3", "res"], ["y"], name="add"),
    ]
    inputs = [("x", (5, 6)), ("res", (1, 5, 4))]
    r = DBG.optimize(parse(model(nodes, inputs, ["y"], [("w", w), ("shape", np.array([1, 5, 4]))])))
    assert sorted(kinds(r)) == ["MATRIX_MULTIPLY", "RESHAPE", "RESHAPE"], kinds(r)
    mm = layer(r, "MATRIX_MULTIPLY")
    assert mm["attrs"]["has_residual"] == 1 and mm["inputs"][0] == "x"
    (res_view,) = [x for x in r["layers"] if x["kind"] == "RESHAPE" and x["inputs"][0] == "res"]
    assert res_view["attrs"]["shape"] == [5, 4] and mm["inputs"][1] == res_view["outputs"][0]
    assert "add" in mm["onnx_nodes"]
