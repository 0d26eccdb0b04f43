# The fused attention's tensor-core tactics (attention.tc_fp16, _prefetch, _flash) against
# onnxruntime: FP16 storage, FP32 softmax and accumulation. Runs where the current OpenCL device
# is NVIDIA; elsewhere with CLRT_TC_EMULATE=1 (one warp, mma, shuffles, ldmatrix and cp.async
# emulated), which CI (.ci/run) runs as its own pytest step.
import numpy as np
import pytest
from helpers import make_model, ort_run
from onnx.helper import make_node as N
from test_tensorcore import NEEDS_TC

pytestmark = NEEDS_TC

# The tensor-core attention kernel, the same kernel loading each key tile while the one before
# it is multiplied (tc_attention.cl PREFETCH), and the flash kernel (tc_flash.cl).
TC_ATTENTION = ["attention.tc_fp16", "attention.tc_fp16_prefetch", "attention.tc_fp16_flash"]


@pytest.mark.parametrize("tactic", TC_ATTENTION)
@pytest.mark.parametrize("d", [32, 64])
def test_tc_attention_matches_onnxruntime(d, tactic):
    # The fused attention's tensor-core tactics (kernels/tc_attention.cl) on every case of
    # test_fused_attention.py whose k is stored as rows: scales, biases, masks that empty a whole
    # key tile (d 32: keys 0-31 of batch 1), a query row with a NaN, a row that sees no key, with
    # and without PyTorch's NaN guard; FP16 storage, FP32 softmax and accumulation.
    from test_fused_attention import CASES, cases_model, check_fp16

    names = tuple(n for n in CASES if n != "kT_div_bias2")
    model, x = cases_model(d, d, names)
    assert check_fp16(model, x, tactic_filter=tactic) == {tactic}


@pytest.mark.parametrize("tactic", TC_ATTENTION)
@pytest.mark.parametrize("d,proj", [(32, False), (64, False), (64, True)])
def test_tc_attention_reads_views(d, proj, tactic):
    # q, k and v as strided views of a packed projection (torchvision's attention), the result
    # written transposed: 16-byte rows at offsets of 8 halves, which the tensor-core kernel takes.
    from helpers import packed_mha_model
    from test_fused_attention import attention_layers, build

    model, x = packed_mha_model(d, in_proj=proj, out_proj=proj)
    engine, _ = build(model, fp16=True, half_layers=True, tactic_filter=tactic)
    (att,) = attention_layers(engine)
    assert att["TacticName"] == tactic and att["Precision"] == "HALF", att
    ref = ort_run(model, x)["y"]
    got = engine.create_execution_context().infer(x)["y"]
    err = np.abs(got.astype(np.float64) - ref)
    assert (err <= 5e-3 * np.abs(ref) + 5e-3 * np.abs(ref).max()).all(), err.max()


@pytest.mark.parametrize("tactic", TC_ATTENTION)
def test_tc_attention_onnx_masked_rows(tactic):
    # ONNX Attention (opset 23) with a boolean mask that hides every key from query row 2: its
    # guard (zeros for such rows, decided on the mask) fused as nan_to_zero 2, on tensor cores.
    from test_fused_attention import attention_layers, build

    rng = np.random.default_rng(11)
    d, sq, skv = 32, 5, 37
    x = {
        n: rng.standard_normal((2, 2, s, d)).astype(np.float32)
        for n, s in zip("qkv", (sq, skv, skv))
    }
    mask = rng.random((sq, skv)) < 0.7
    mask[2] = False
    x["mask"] = mask
    node = N("Attention", ["q", "k", "v", "mask"], ["y"])
    inputs = [(n, x[n].shape) for n in "qkv"] + [("mask", mask.shape, np.bool_)]
    model = make_model([node], inputs, [("y", (2, 2, sq, d))], opset=23)
    engine, _ = build(model, fp16=True, half_layers=True, tactic_filter=tactic)
    (att,) = attention_layers(engine)
    assert att["TacticName"] == tactic, att
    ref = ort_run(model, x)["y"]
    got = engine.create_execution_context().infer(x)["y"]
    assert (got[:, :, 2] == 0).all() and (ref[:, :, 2] == 0).all()
    err = np.abs(got.astype(np.float64) - ref)
    assert (err <= 5e-3 * np.abs(ref) + 5e-3 * np.abs(ref).max()).all(), err.max()


@pytest.mark.parametrize("tactic", TC_ATTENTION)
def test_tc_attention_dynamic_and_broadcast(tactic):
    # The tensor-core kernels with run-time batch and lengths and k, v shared across the batch
    # (lead stride 0), keys over one to three tiles of 32.
    from test_fused_attention import check_dynamic_broadcast

    assert check_dynamic_broadcast(32, 32, fp16=True, tactic_filter=tactic) == tactic


@pytest.mark.parametrize("tactic", TC_ATTENTION)
def test_tc_attention_long_unmasked(tactic):
    # No mask and keys over three tiles of 64 (the flash kernel's full tiles take its unmasked
    # path, the last one the masked), with a NaN in one query row and an -inf in another: NaN in
    # exactly the rows onnxruntime gives NaN, the others within FP16's error.
    from test_fused_attention import attention_layers, build

    rng = np.random.default_rng(12)
    d, sq, skv = 64, 70, 150
    nodes = [
        N("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
        N("MatMul", ["q", "kt"], ["s"]),
        N("Mul", ["s", "c"], ["sc"]),
        N("Softmax", ["sc"], ["p"], axis=-1),
        N("MatMul", ["p", "v"], ["y"]),
    ]
    shapes = {"q": (2, 2, sq, d), "k": (2, 2, skv, d), "v": (2, 2, skv, d)}
    x = {n: rng.standard_normal(s).astype(np.float32) for n, s in shapes.items()}
    x["q"][1, 0, 5, 3] = np.nan
    x["q"][0, 1, 40, 7] = -np.inf
    model = make_model(
        nodes,
        list(shapes.items()),
        [("y", (2, 2, sq, d))],
        initializers={"c": np.array(d**-0.5, np.float32)},
    )
    engine, _ = build(model, fp16=True, half_layers=True, tactic_filter=tactic)
    (att,) = attention_layers(engine)
    assert att["TacticName"] == tactic, att
    ref = ort_run(model, x)["y"]
    got = engine.create_execution_context().infer(x)["y"]
    assert np.array_equal(np.isnan(got), np.isnan(ref)) and np.isnan(ref).any()
    ok = ~np.isnan(ref)
    err = np.abs(got[ok].astype(np.float64) - ref[ok])
    assert (err <= 5e-3 * np.abs(ref[ok]) + 5e-3 * np.abs(ref[ok]).max()).all(), err.max()


def build_ranged(model, x, tactic):
    """`model` in INT8 + FP16 with a dynamic range on every tensor (onnxruntime's max |value|),
    its softmax, so the fused layer, in FP16 and the attention tactic limited to `tactic`.
    Returns (engine's layers from the inspector, the ATTENTION layer, the layers reading its
    output); asserts the output within 5% of onnxruntime's largest value."""
    import json

    import clrt as trt
    from helpers import deserialize, parse_network
    from test_fused_attention import attention_layers
    from test_tensorcore import all_ranges, int8_fp16_config, set_all_ranges

    ranges = all_ranges(model, x)
    builder, network, _ = parse_network(model)
    set_all_ranges(network, ranges)
    config = int8_fp16_config(builder)
    config.tactic_filter = tactic  # (the other kinds' tactics stay allowed)
    # The softmax, so the fused layer, in FP16: no FP32 attention tactic is asked for.
    config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    for i in range(network.num_layers):
        if network.get_layer(i).type == trt.LayerType.SOFTMAX:
            network.get_layer(i).precision = trt.float16
    engine = deserialize(builder.build_serialized_network(network, config))
    info = json.loads(
        engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    )
    (att,) = attention_layers(engine)
    assert att["TacticName"] == tactic, att
    readers = [
        lay
        for lay in info["Layers"]
        if any(t["Name"] == att["Outputs"][0]["Name"] for t in lay["Inputs"])
    ]
    got, ref = engine.create_execution_context().infer(x)["y"], ort_run(model, x)["y"]
    assert np.abs(got - ref).max() <= 0.05 * np.abs(ref).max(), np.abs(got - ref).max()
    return info["Layers"], att, readers


def test_flash_writes_int8_for_the_int8_projection():
    """torchvision's MultiheadAttention with its projections (heads of 64), INT8 + FP16 with a
    dynamic range on every tensor: attention.tc_fp16_flash writes the heads' output INT8 itself
    for the INT8 output projection (tc_flash.cl's q8), with no REFORMAT between, and the block
    stays within |clrt - ort| <= 0.05 * max|ort| of onnxruntime FP32, as the same build with its
    output quantized by a REFORMAT (the plain tensor-core kernel) does."""
    from helpers import packed_mha_model

    model, x = packed_mha_model(64, in_proj=True, out_proj=True)
    _, att, readers = build_ranged(model, x, "attention.tc_fp16_flash")
    assert att["Outputs"][0]["Format/Datatype"] == "INT8", att
    assert readers and all(r["LayerType"] != "REFORMAT" for r in readers), readers
    _, att, readers = build_ranged(model, x, "attention.tc_fp16")
    assert att["Outputs"][0]["Format/Datatype"] == "HALF", att
    assert any(r["LayerType"] == "REFORMAT" for r in readers), readers


def test_flash_reads_separate_projections_packed():
    """Hugging Face's query, key and value projections (heads of 64), INT8 + FP16 with every
    tensor ranged: one INT8 MatMul writes q, k and v side by side as HALF and
    attention.tc_fp16_flash reads them as views of it, with no REFORMAT or TRANSPOSE between,
    within 5% of onnxruntime's largest value."""
    from helpers import separate_projections_model

    model, x = separate_projections_model(64, heads=2, s=37, b=2)
    layers, att, _ = build_ranged(model, x, "attention.tc_fp16_flash")
    # (the network's FLOAT input and output are reformatted to and from INT8)
    kinds = [lay["LayerType"] for lay in layers if lay["LayerType"] != "REFORMAT"]
    assert kinds == ["MATRIX_MULTIPLY", "ATTENTION", "RESHAPE"], kinds
    mm = next(lay for lay in layers if lay["LayerType"] == "MATRIX_MULTIPLY")
    assert mm["Precision"] == "INT8" and mm["Outputs"][0]["Format/Datatype"] == "HALF", mm
    assert {t["Name"] for t in att["Inputs"][:3]} == {mm["Outputs"][0]["Name"]}, att
