# Real models end to end: the trained Fashion-MNIST nets on the test set, ResNet/MobileNetV2-style.
import numpy as np
import pytest
from helpers import MODELS, assert_close, build_engine, fmnist, ort_run, ort_session, rand

BATCH = 500
# Test images per model: all 10k (about 25 s of clrt inference for the three on 2-core PoCL).
N_IMAGES = 10000
# FP32 logits vs onnxruntime, |clrt - ort| <= ATOL + RTOL * |ort|.
RTOL, ATOL = 1e-4, 1e-5
# Top-1 must be identical except where onnxruntime's two best logits are closer than this
# (a tie within FP32 rounding, where either answer is right).
TIE = 1e-4

# name -> minimum top-1 accuracy on the test set (measured values are in models/README.md).
FMNIST = {"fmnist_cnn": 0.90, "fmnist_dwse": 0.88, "fmnist_transformer": 0.85}
PROFILE = {"input": ((1, 1, 28, 28), (BATCH, 1, 28, 28), (BATCH, 1, 28, 28))}


@pytest.fixture(scope="module")
def test_set():
    x, y = fmnist.load("test")
    return x[:N_IMAGES], y[:N_IMAGES]


@pytest.fixture(scope="module", params=sorted(FMNIST))
def fmnist_model(request):
    """(name, engine): each engine built once for the module."""
    name = request.param
    return name, build_engine(MODELS / f"{name}.onnx", profiles=PROFILE)


def test_fmnist_test_set(fmnist_model, test_set):
    name, engine = fmnist_model
    path = MODELS / f"{name}.onnx"
    x, labels = test_set
    context, sess = engine.create_execution_context(), ort_session(path)
    got, ref = [], []
    for i in range(0, len(x), BATCH):
        feeds = {"input": x[i : i + BATCH]}
        got.append(context.infer(feeds)["logits"])
        ref.append(ort_run(sess, feeds)["logits"])
    got, ref = np.concatenate(got), np.concatenate(ref)
    assert_close(got, ref, RTOL, ATOL, f"{name} logits")

    top2 = np.sort(ref, axis=1)[:, -2:]
    decided = (top2[:, 1] - top2[:, 0]) > TIE
    differ = (got.argmax(1) != ref.argmax(1)) & decided
    assert not differ.any(), f"{name}: top-1 differs from onnxruntime on {np.flatnonzero(differ)}"
    accuracy = float((got.argmax(1) == labels).mean())
    print(f"{name}: clrt top-1 {accuracy:.4f} on {len(x)} test images")
    assert accuracy >= FMNIST[name], f"{name}: accuracy {accuracy:.4f} < {FMNIST[name]}"


@pytest.mark.parametrize("name", ["resnet18_style", "mobilenetv2_style"])
def test_random_weight_models(name):
    """Seeded random-weight ResNet-18/MobileNetV2-style graphs (scripts/export_models.py) at
    32x32, batch 4, vs onnxruntime."""
    path = MODELS / f"{name}.onnx"
    profile = {"input": ((1, 3, 32, 32), (4, 3, 32, 32), (4, 3, 32, 32))}
    engine = build_engine(path, profiles=profile)
    for batch, seed in ((4, 0), (1, 1)):
        feeds = {"input": rand((batch, 3, 32, 32), seed=seed)}
        got = engine.create_execution_context().infer(feeds)["logits"]
        assert_close(got, ort_run(path, feeds)["logits"], RTOL, ATOL, f"{name} batch {batch}")
