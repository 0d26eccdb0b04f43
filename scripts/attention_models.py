# Attention written out as ONNX layers, the way exporters write it: the models behind the fused
# attention's tests (tests/device/test_fused_attention.py, tests/unit/test_passes.py) and its
# benchmark (benchmarks/bench_attention.py). Needs numpy and onnx only.
import numpy as np
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _model(nodes, inputs, outputs, inits):
    def info(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))

    graph = helper.make_graph(
        nodes,
        "attention",
        [info(n, s) for n, s in inputs],
        [info(n, s) for n, s in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    opsets = [helper.make_opsetid("", OPSET)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="clrt")
    model.ir_version = helper.find_min_ir_version_for(opsets)
    return model


def sdpa_model(b, h, s, d, mask=True):
    """Hugging Face style: q, k, v [B, H, S, d] inputs, k^T by a Transpose, the scores scaled by
    1/sqrt(d), a key mask bias [B, 1, 1, S] added (when `mask`), softmax, @ v. Returns (model,
    feeds) with seeded inputs (a tenth of the keys masked with -1e4)."""
    n = helper.make_node
    nodes = [
        n("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
        n("MatMul", ["q", "kt"], ["s"]),
        n("Mul", ["s", "c"], ["x" if not mask else "sc"]),
    ]
    if mask:
        nodes.append(n("Add", ["sc", "mask"], ["x"]))
    nodes += [n("Softmax", ["x"], ["p"], axis=-1), n("MatMul", ["p", "v"], ["y"])]
    rng = np.random.default_rng(0)
    feeds = {t: rng.standard_normal((b, h, s, d)).astype(np.float32) for t in "qkv"}
    inputs = [(t, (b, h, s, d)) for t in "qkv"]
    if mask:
        feeds["mask"] = np.where(rng.random((b, 1, 1, s)) < 0.1, -1e4, 0).astype(np.float32)
        inputs.append(("mask", (b, 1, 1, s)))
    model = _model(nodes, inputs, [("y", (b, h, s, d))], {"c": np.array(d**-0.5, np.float32)})
    return model, feeds


def packed_mha_model(d, heads=2, s=37, b=2, in_proj=False, out_proj=False):
    """torchvision's MultiheadAttention as its TorchScript export writes it, from the packed
    projection x [S, B, 3 * heads * d] (sequence first): q, k and v cut out by a reshape, an
    unsqueeze, a transpose, a squeeze and three gathers, each head-split by a reshape and a
    transpose, sqrt(scale) on q and k, and the result transposed back to [S * B, heads * d].
    in_proj: the projection too, as in torchvision's ViT: x [B, S, heads * d] transposed to
    sequence first, times a seeded weight [E, 3E] plus a bias. out_proj (with in_proj): the
    output projection and the encoder block's residual too: [S * B, E] times a weight plus a
    bias, back to [S, B, E], transposed to batch first and added to x (output [B, S, E])."""
    e = heads * d
    rng = np.random.default_rng(5)
    nodes, extra = [], {}
    if in_proj:
        nodes = [
            helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
            helper.make_node("MatMul", ["xt", "w_in"], ["xw"]),
            helper.make_node("Add", ["xw", "b_in"], ["proj"]),
        ]
        extra = {
            "w_in": (rng.standard_normal((e, 3 * e)) / np.sqrt(e)).astype(np.float32),
            "b_in": rng.standard_normal(3 * e).astype(np.float32),
        }
    nodes += [
        helper.make_node("Reshape", ["proj" if in_proj else "x", "shape_sb3e"], ["x4"]),
        helper.make_node("Unsqueeze", ["x4", "ax0"], ["x5"]),
        helper.make_node("Transpose", ["x5"], ["x5t"], perm=[3, 1, 2, 0, 4]),
        helper.make_node("Squeeze", ["x5t", "ax3"], ["x4t"]),
    ]
    for i, n in enumerate("qkv"):
        nodes += [
            helper.make_node("Gather", ["x4t", f"i{i}"], [f"{n}0"], axis=0),
            helper.make_node("Reshape", [f"{n}0", "shape_s_bh_d"], [f"{n}1"]),
            helper.make_node("Transpose", [f"{n}1"], [f"{n}2"], perm=[1, 0, 2]),
            helper.make_node("Reshape", [f"{n}2", "shape_bhsd"], [f"{n}3"]),
        ]
    nodes += [
        helper.make_node("Mul", ["q3", "c4"], ["qs"]),
        helper.make_node("Transpose", ["k3"], ["kt"], perm=[0, 1, 3, 2]),
        helper.make_node("Mul", ["kt", "c4"], ["kts"]),
        helper.make_node("MatMul", ["qs", "kts"], ["sc"]),
        helper.make_node("Softmax", ["sc"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "v3"], ["o"]),
        helper.make_node("Transpose", ["o"], ["ot"], perm=[2, 0, 1, 3]),
        helper.make_node("Reshape", ["ot", "shape_out"], ["yo" if out_proj else "y"]),
    ]
    if out_proj:
        nodes += [
            helper.make_node("MatMul", ["yo", "w_out"], ["yw"]),
            helper.make_node("Add", ["yw", "b_out"], ["yb"]),
            helper.make_node("Reshape", ["yb", "shape_sbe"], ["ys"]),
            helper.make_node("Transpose", ["ys"], ["yt"], perm=[1, 0, 2]),
            helper.make_node("Add", ["yt", "x"], ["y"]),
        ]
        extra["w_out"] = (rng.standard_normal((e, e)) / np.sqrt(e)).astype(np.float32)
        extra["b_out"] = rng.standard_normal(e).astype(np.float32)
        extra["shape_sbe"] = np.array([s, b, e], np.int64)
    i64 = np.int64
    inits = {
        "shape_sb3e": np.array([s, b, 3, e], i64),
        "ax0": np.array([0], i64),
        "ax3": np.array([3], i64),
        "shape_s_bh_d": np.array([s, b * heads, d], i64),
        "shape_bhsd": np.array([b, heads, s, d], i64),
        "shape_out": np.array([s * b, e], i64),
        "c4": np.array(d**-0.25, np.float32),
        **{f"i{i}": np.array(i, i64) for i in range(3)},
        **extra,
    }
    shape = (b, s, e) if in_proj else (s, b, 3 * e)
    model = _model(nodes, [("x", shape)], [("y", (b, s, e) if out_proj else (s * b, e))], inits)
    x = {"x": rng.standard_normal(shape).astype(np.float32)}
    return model, x


def separate_projections_model(d, heads=2, s=37, b=2, cross=False, sk=29, extra_reader=False):
    """Hugging Face's BERT self-attention as its TorchScript export writes it: x [B, S, E] times
    three seeded weights [E, E] plus biases (query, key, value), each head-split by a reshape to
    [B, S, H, d] and a transpose (k's straight to [B, H, d, S]), sqrt(scale) on q and k^T, the
    softmax of their product times v, the heads put back by a transpose and a reshape ([B, S,
    E], output "y"). cross: key and value project a second input m [B, sk, E] (a decoder's
    cross-attention). extra_reader: the key projection is also an output ("k_out")."""
    e = heads * d
    rng = np.random.default_rng(9)
    n = helper.make_node
    nodes, inits = [], {}
    for p in "qkv":
        src = "m" if cross and p != "q" else "x"
        nodes += [
            n("MatMul", [src, f"w_{p}"], [f"{p}w"], name=f"{p}_proj"),
            n("Add", [f"b_{p}", f"{p}w"], [f"{p}b"], name=f"{p}_bias"),
            n("Reshape", [f"{p}b", "split"], [f"{p}r"]),
            n("Transpose", [f"{p}r"], [f"{p}t"], perm=[0, 2, 3, 1] if p == "k" else [0, 2, 1, 3]),
        ]
        inits[f"w_{p}"] = (rng.standard_normal((e, e)) / np.sqrt(e)).astype(np.float32)
        inits[f"b_{p}"] = (rng.standard_normal(e) * 0.1).astype(np.float32)
    nodes += [
        n("Mul", ["qt", "c4"], ["qs"]),
        n("Mul", ["kt", "c4"], ["ks"]),
        n("MatMul", ["qs", "ks"], ["sc"]),
        n("Softmax", ["sc"], ["p"], axis=-1),
        n("MatMul", ["p", "vt"], ["o"]),
        n("Transpose", ["o"], ["ot"], perm=[0, 2, 1, 3]),
        n("Reshape", ["ot", "merge"], ["y"]),
    ]
    inits.update(
        split=np.array([b, -1, heads, d], np.int64),
        merge=np.array([b, s, e], np.int64),
        c4=np.array(d**-0.25, np.float32),
    )
    inputs = [("x", (b, s, e))] + ([("m", (b, sk, e))] if cross else [])
    outputs = [("y", (b, s, e))] + ([("k_out", (b, sk if cross else s, e))] if extra_reader else [])
    if extra_reader:
        nodes.append(n("Identity", ["kb"], ["k_out"]))
    feeds = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in inputs}
    return _model(nodes, inputs, outputs, inits), feeds
