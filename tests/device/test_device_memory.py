# User-managed device memory (TensorRT's ExecutionContextAllocationStrategy.USER_MANAGED,
# create_execution_context_without_device_memory, set_device_memory / device_memory,
# get_device_memory_size_for_profile, update_device_memory_size_for_shapes): the context's
# activations and workspace are sub-buffers of the caller's allocation.
import clrt as trt
import numpy as np
import pytest
from helpers import build_engine, make_model, ort_run, rand
from onnx import helper

N = helper.make_node
W1, W2 = rand((8, 3, 3, 3), seed=1), rand((4, 8, 1, 1), seed=2)


@pytest.fixture(scope="module")
def model():
    """Two convolutions: c1, the first one's output, is an activation the context stores."""
    return make_model(
        [N("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]), N("Conv", ["c1", "w2"], ["y"])],
        [("x", ("n", 3, 16, 16))],
        [("y", ("n", 4, 16, 16))],
        {"w1": W1, "w2": W2},
    )


@pytest.fixture(scope="module")
def engine(model):
    return build_engine(
        model, profiles={"x": ((1, 3, 16, 16), (2, 3, 16, 16), (4, 3, 16, 16))}, opt_level=0
    )


def run(ctx, x):
    ctx.set_input_shape("x", x.shape)
    return ctx.infer({"x": x})["y"]


def test_activations_live_in_the_given_memory(engine, model):
    """The memory the profile needs, handed over: the context computes what onnxruntime and a
    context with its own memory do, and the first convolution's output is found in the given
    memory (in some slot, in whatever layout the engine keeps it)."""
    need = engine.get_device_memory_size_for_profile(0)
    assert need == engine.get_device_memory_size_for_profile_v2(0) > 0
    assert engine.device_memory_size == engine.device_memory_size_v2 == need  # one profile
    mem = trt.mem_alloc(need)
    ctx = engine.create_execution_context(trt.ExecutionContextAllocationStrategy.USER_MANAGED)
    ctx.set_device_memory(mem, need)
    assert ctx.device_memory == int(mem)
    x = rand((4, 3, 16, 16), seed=3)
    got = run(ctx, x)
    ref = ort_run(model, {"x": x})["y"]
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(got, run(engine.create_execution_context(), x))
    # c1 = conv1(x): 4 * 8 * 16 * 16 floats somewhere in the block.
    c1 = np.sort(conv(x, W1).ravel())
    raw = np.empty(need // 4, np.float32)
    trt.memcpy_dtoh(raw, mem)
    align = 64  # floats: the sub-buffer alignment is a multiple of 256 bytes
    found = any(
        np.allclose(np.sort(raw[o : o + c1.size]), c1, rtol=1e-4, atol=1e-4)
        for o in range(0, raw.size - c1.size + 1, align)
    )
    assert found


def conv(x, w):
    """NumPy 3x3 (pad 1) or 1x1 convolution, NCHW."""
    k = w.shape[2]
    p = (k - 1) // 2
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros((x.shape[0], w.shape[0], x.shape[2], x.shape[3]), np.float64)
    for i in range(k):
        for j in range(k):
            patch = xp[:, :, i : i + x.shape[2], j : j + x.shape[3]]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return out.astype(np.float32)


def test_size_follows_the_shapes_and_is_checked(engine, model):
    """update_device_memory_size_for_shapes grows with the batch; memory enough for batch 1 runs
    batch 1, is refused for batch 4 (naming both sizes), and a larger block set then runs it."""
    ctx = engine.create_execution_context_without_device_memory()
    ctx.set_input_shape("x", (1, 3, 16, 16))
    small = ctx.update_device_memory_size_for_shapes()
    ctx.set_input_shape("x", (4, 3, 16, 16))
    large = ctx.update_device_memory_size_for_shapes()
    assert 0 < small < large == engine.get_device_memory_size_for_profile(0)
    block = trt.mem_alloc(large)
    ctx.set_device_memory(block, small)
    x1, x4 = rand((1, 3, 16, 16), seed=4), rand((4, 3, 16, 16), seed=5)
    np.testing.assert_allclose(run(ctx, x1), ort_run(model, {"x": x1})["y"], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=f"needs {large} bytes.*holds {small}"):
        run(ctx, x4)
    ctx.device_memory = block  # the whole allocation
    np.testing.assert_allclose(run(ctx, x4), ort_run(model, {"x": x4})["y"], rtol=1e-4, atol=1e-4)


def test_misuse_is_named(engine):
    """No memory set, memory freed since, a size beyond the allocation, and a context that
    allocates its own memory being given some: each a ValueError saying what to do."""
    x = rand((2, 3, 16, 16), seed=6)
    ctx = engine.create_execution_context_without_device_memory()
    with pytest.raises(ValueError, match="user-managed and none is set"):
        run(ctx, x)
    mem = trt.mem_alloc(engine.get_device_memory_size_for_profile(0))
    with pytest.raises(ValueError, match="an allocation of"):
        ctx.set_device_memory(mem, engine.get_device_memory_size_for_profile(0) + 1)
    ctx.device_memory = mem
    run(ctx, x)
    mem.free()
    with pytest.raises(ValueError, match="was freed"):
        run(ctx, x)
    with pytest.raises(ValueError, match="allocates its own device memory"):
        engine.create_execution_context().device_memory = trt.mem_alloc(16)
    with pytest.raises(ValueError, match="profile 3 does not exist"):
        engine.get_device_memory_size_for_profile(3)
