# One engine with a batch profile (min 1, opt 4, max 8): shapes, ranges, execute_v2/async_v3.
import clrt as trt
import numpy as np
import pytest
from helpers import MODELS, assert_close, build_engine, fmnist, ort_run

CNN = MODELS / "fmnist_cnn.onnx"
PROFILE = {"input": ((1, 1, 28, 28), (4, 1, 28, 28), (8, 1, 28, 28))}
# FP32 tolerance vs onnxruntime.
RTOL, ATOL = 1e-4, 1e-5


@pytest.fixture(scope="module")
def engine():
    return build_engine(CNN, profiles=PROFILE)


@pytest.fixture(scope="module")
def images():
    return fmnist.load("test")[0][:8]


def test_profile_recorded(engine):
    assert engine.num_optimization_profiles == 1
    assert tuple(engine.get_tensor_shape("input")) == (-1, 1, 28, 28)
    lo, opt, hi = engine.get_tensor_profile_shape("input", 0)
    assert (tuple(lo), tuple(opt), tuple(hi)) == PROFILE["input"]


@pytest.mark.parametrize("batch", [1, 3, 8])
def test_batches_match_onnxruntime(engine, images, batch):
    x = images[:batch]
    context = engine.create_execution_context()
    got = context.infer({"input": x})["logits"]
    assert got.shape == (batch, 10)
    assert_close(got, ort_run(CNN, {"input": x})["logits"], RTOL, ATOL, f"batch {batch}")
    assert tuple(context.get_tensor_shape("logits")) == (batch, 10)


def test_shape_changes_on_one_context(engine, images):
    """8 -> 1 -> 8 on the same context: results do not depend on the previous shape."""
    context = engine.create_execution_context()
    first = context.infer({"input": images})["logits"]
    one = context.infer({"input": images[:1]})["logits"]
    again = context.infer({"input": images})["logits"]
    np.testing.assert_array_equal(first, again)
    assert_close(one, first[:1], RTOL, ATOL, "batch 1 vs row 0 of batch 8")


@pytest.mark.parametrize("shape", [(9, 1, 28, 28), (0, 1, 28, 28), (2, 1, 28, 27)])
def test_out_of_range_shape(engine, shape):
    context = engine.create_execution_context()
    with pytest.raises(ValueError) as info:
        context.set_input_shape("input", shape)
    msg = str(info.value)
    # names the input, the rejected shape and the profile's range
    for part in ("'input'", str(shape), "(1, 1, 28, 28)", "(8, 1, 28, 28)"):
        assert part in msg, msg
    with pytest.raises(ValueError, match="input"):
        context.infer({"input": np.zeros(shape, np.float32)})


def test_input_shape_must_be_set_before_execute_v2(engine):
    context = engine.create_execution_context()
    assert not context.all_input_shapes_specified
    ptr = trt.mem_alloc(8 * 28 * 28 * 4)
    out = trt.mem_alloc(8 * 10 * 4)
    with pytest.raises(ValueError, match="input"):
        context.execute_v2([int(ptr), int(out)])


def _device_buffers(x):
    d_in = trt.mem_alloc(x.nbytes)
    d_out = trt.mem_alloc(x.shape[0] * 10 * 4)
    trt.memcpy_htod(d_in, np.ascontiguousarray(x))
    return d_in, d_out


def test_execute_v2(engine, images):
    x = images[:3]
    context = engine.create_execution_context()
    context.set_input_shape("input", x.shape)
    assert context.all_input_shapes_specified
    d_in, d_out = _device_buffers(x)
    assert context.execute_v2([int(d_in), int(d_out)])
    out = np.empty((3, 10), np.float32)
    trt.memcpy_dtoh(out, d_out)
    assert_close(out, ort_run(CNN, {"input": x})["logits"], RTOL, ATOL, "execute_v2 logits")


def test_set_tensor_address_execute_async_v3(engine, images):
    x = images[:5]
    context = engine.create_execution_context()
    context.set_input_shape("input", x.shape)
    d_in, d_out = _device_buffers(x)
    context.set_tensor_address("input", int(d_in))
    context.set_tensor_address("logits", int(d_out))
    assert context.get_tensor_address("input") == int(d_in)
    stream = trt.Stream()
    assert context.execute_async_v3(stream.handle)
    stream.synchronize()
    out = np.empty((5, 10), np.float32)
    trt.memcpy_dtoh(out, d_out)
    assert_close(out, ort_run(CNN, {"input": x})["logits"], RTOL, ATOL, "execute_async_v3 logits")


def test_execute_async_v3_without_addresses(engine):
    context = engine.create_execution_context()
    context.set_input_shape("input", (2, 1, 28, 28))
    with pytest.raises(ValueError, match="input|logits"):
        context.execute_async_v3(0)
