# TensorRT scripts that manage memory with pycuda or cuda-python run on clrt unmodified
# (clrt.cuda_compat, `python -m clrt.run`): whole scripts in subprocesses against onnxruntime,
# and the stand-ins' calls against NumPy, including the error codes and reasons of bad calls.
import ctypes
import os
import subprocess
import sys
import textwrap
import warnings

import clrt
import clrt.cuda_compat as compat
import numpy as np
import onnx
import pytest
from helpers import ROOT, assert_close, fmnist, make_model, ort_run, rand
from onnx import helper

needs_data = pytest.mark.skipif(not fmnist.available(), reason="Fashion-MNIST not installed")


def run_script(*args, cwd=None):
    """(returncode, stdout + stderr) of `python -m clrt.run args...`."""
    p = subprocess.run(
        [sys.executable, "-m", "clrt.run", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        check=False,
    )
    return p.returncode, p.stdout + p.stderr


@pytest.fixture
def cuda():
    """The stand-ins installed in this process for one test: (cudart, driver, pycuda.driver)."""
    assert not compat.installed()
    compat.install()
    try:
        import pycuda.driver as pycuda_driver
        from cuda import cuda as driver
        from cuda.bindings import runtime as cudart

        yield cudart, driver, pycuda_driver
    finally:
        compat.uninstall()


def ok(result):
    """The values of a successful cuda-python call (asserting success)."""
    assert int(result[0]) == 0, result
    return result[1] if len(result) == 2 else result[1:]


def error_of(call):
    """(error code, warning text) of a call expected to fail."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    assert int(result[0]) != 0 and len(result) == 1, result
    assert len(caught) == 1 and caught[0].category is RuntimeWarning, caught
    return result[0], str(caught[0].message)


@needs_data
def test_cuda_python_example_runs_unmodified(tmp_path):
    # examples/tensorrt_cuda_python.py imports tensorrt and cuda.bindings.runtime only:
    # calibrator copying from batch.ctypes.data, cudaMallocHost buffers, a stream.
    out = tmp_path / "logits.npz"
    args = ["--calib-images", "128", "--test-images", "512", "--batch", "32", "--out", out]
    code, text = run_script(ROOT / "examples" / "tensorrt_cuda_python.py", *args)
    assert code == 0, text
    assert "top-1 accuracy, INT8" in text, text
    saved = np.load(out)
    ref = ort_run(onnx.load(ROOT / "models" / "fmnist_cnn.onnx"), {"input": saved["images"]})
    ref = ref["logits"]
    # FP32 against onnxruntime: helpers' tolerance widened to 1e-4 absolute (logits ~10).
    assert_close(saved["fp32"], ref, rtol=1e-4, atol=1e-4)
    agreement = (saved["int8"].argmax(1) == ref.argmax(1)).mean()
    assert agreement >= 0.97, agreement


PYCUDA_HELPERS = """
import pycuda.autoinit
import pycuda.driver as cuda
import tensorrt as trt


class HostDeviceMem:
    def __init__(self, host, device):
        self.host, self.device = host, device


def allocate_buffers(engine):
    inputs, outputs, bindings = [], [], []
    stream = cuda.Stream()
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        host = cuda.pagelocked_empty(trt.volume(engine.get_tensor_shape(name)),
                                     trt.nptype(engine.get_tensor_dtype(name)))
        device = cuda.mem_alloc(host.nbytes)
        bindings.append(int(device))
        mode = engine.get_tensor_mode(name)
        (inputs if mode == trt.TensorIOMode.INPUT else outputs).append(HostDeviceMem(host, device))
    return inputs, outputs, bindings, stream


def do_inference(context, engine, bindings, inputs, outputs, stream):
    for inp in inputs:
        cuda.memcpy_htod_async(inp.device, inp.host, stream)
    for i in range(engine.num_io_tensors):
        context.set_tensor_address(engine.get_tensor_name(i), bindings[i])
    context.execute_async_v3(stream_handle=stream.handle)
    for out in outputs:
        cuda.memcpy_dtoh_async(out.host, out.device, stream)
    stream.synchronize()
    return [out.host for out in outputs]
"""

PYCUDA_SAMPLE = """
import os
import sys

import numpy as np
import pycuda.autoinit
import tensorrt as trt

sys.path.insert(1, os.path.join(sys.path[0], os.path.pardir))
import common

logger = trt.Logger(trt.Logger.WARNING)
builder = trt.Builder(logger)
network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
parser = trt.OnnxParser(network, logger)
with open(sys.argv[1], "rb") as f:
    assert parser.parse(f.read())
config = builder.create_builder_config()
config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 28)
engine = trt.Runtime(logger).deserialize_cuda_engine(
    builder.build_serialized_network(network, config))
inputs, outputs, bindings, stream = common.allocate_buffers(engine)
context = engine.create_execution_context()
np.copyto(inputs[0].host, np.load(sys.argv[2]).ravel())
(y,) = common.do_inference(context, engine, bindings, inputs, outputs, stream)
np.save(sys.argv[3], y)
print("device:", pycuda.autoinit.device.name())
"""


def test_pycuda_sample_runs_unmodified(tmp_path):
    # The layout of TensorRT's pycuda-era samples: the sample one folder below common.py, which
    # it finds through sys.path[0]; pycuda.autoinit, pagelocked buffers, mem_alloc, a Stream.
    (tmp_path / "common.py").write_text(PYCUDA_HELPERS)
    (tmp_path / "sample").mkdir()
    (tmp_path / "sample" / "sample.py").write_text(PYCUDA_SAMPLE)
    shape = [2, 3, 8, 8]
    w = rand([4, 3, 3, 3], seed=1)
    model = make_model(
        [
            helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["y"]),
        ],
        [("x", shape)],
        [("y", [2, 4, 8, 8])],
        initializers={"w": w},
    )
    onnx.save(model, tmp_path / "m.onnx")
    x = rand(shape, seed=2)
    np.save(tmp_path / "x.npy", x)
    code, text = run_script(
        "sample/sample.py",
        tmp_path / "m.onnx",
        tmp_path / "x.npy",
        tmp_path / "y.npy",
        cwd=tmp_path,
    )
    assert code == 0, text
    assert f"device: {clrt.current_device().name}" in text
    got = np.load(tmp_path / "y.npy").reshape(2, 4, 8, 8)
    assert_close(got, ort_run(model, {"x": x})["y"])


def test_runner_reports_a_missing_script_and_runs_modules(tmp_path):
    code, text = run_script(tmp_path / "nope.py")
    assert code == 2 and "no script" in text and "nope.py" in text
    (tmp_path / "probe.py").write_text(
        "import sys, tensorrt, cuda.cudart\nprint(tensorrt.__name__, sys.argv[1:])\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    for runner in (["clrt.run"], ["clrt.cli", "run"]):  # python -m clrt.run, clrt run
        p = subprocess.run(
            [sys.executable, "-m", *runner, "-m", "probe", "a", "b"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            check=False,
        )
        assert p.returncode == 0 and "clrt.tensorrt ['a', 'b']" in p.stdout, p.stdout + p.stderr


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_polygraphy_trt_runner_runs_unmodified(precision):
    # Polygraphy's own TensorRT runner (not clrt's --clrt one), with its ctypes CUDA wrapper
    # (DeviceArray, Stream) and, for INT8, its own calibrator fed by its data loader, against
    # onnxruntime. INT8: calibrated on the same seeded inputs it runs, max |error| was 0.031.
    shapes = []
    for flag in ("--input-shapes", "--trt-min-shapes", "--trt-opt-shapes", "--trt-max-shapes"):
        shapes += [flag, "input:[4,1,28,28]"]
    tol = "1e-4" if precision == "fp32" else "0.1"
    extra = ["--int8", "--val-range", "input:[0,1]"] if precision == "int8" else []
    args = ["polygraphy", "run", ROOT / "models" / "fmnist_cnn.onnx", "--trt", "--onnxrt"]
    code, text = run_script(*args, *shapes, *extra, "--atol", tol, "--rtol", tol)
    assert code == 0, text
    assert "PASSED | Output: 'logits'" in text and "trt-runner" in text, text


def test_runtime_copies_memset_and_directions(cuda):
    cudart, _, _ = cuda
    kinds = cudart.cudaMemcpyKind
    x = np.arange(64, dtype=np.float32)
    a = ok(cudart.cudaMalloc(x.nbytes))
    b = ok(cudart.cudaMalloc(x.nbytes))
    ok(cudart.cudaMemcpy(a, x, x.nbytes, kinds.cudaMemcpyHostToDevice))
    ok(cudart.cudaMemcpy(b, a, x.nbytes, kinds.cudaMemcpyDeviceToDevice))
    ok(cudart.cudaMemset(a, 0, 16))  # the first 4 floats
    host_ptr = ok(cudart.cudaMallocHost(x.nbytes))
    pinned = np.ctypeslib.as_array(ctypes.cast(host_ptr, ctypes.POINTER(ctypes.c_float)), (64,))
    ok(cudart.cudaMemcpy(pinned, a, x.nbytes, kinds.cudaMemcpyDeviceToHost))
    np.testing.assert_array_equal(pinned, np.concatenate([np.zeros(4, np.float32), x[4:]]))
    # Integer host addresses (an array's .ctypes.data, as TensorRT's samples pass) both ways,
    # and cudaMemcpyDefault taking the direction from the pointers.
    got = np.empty_like(x)
    stream = ok(cudart.cudaStreamCreate())
    ok(cudart.cudaMemcpyAsync(got.ctypes.data, b, 40, kinds.cudaMemcpyDefault, stream))
    ok(cudart.cudaStreamSynchronize(stream))
    np.testing.assert_array_equal(got[:10], x[:10])
    y = x[::-1].copy()
    ok(cudart.cudaMemcpy(a, y.ctypes.data, y.nbytes, kinds.cudaMemcpyDefault))
    ok(cudart.cudaMemcpy(host_ptr, a, y.nbytes, kinds.cudaMemcpyDefault))
    np.testing.assert_array_equal(pinned, y)
    ok(cudart.cudaMemsetAsync(b, 0xFF, x.nbytes, stream))
    ok(cudart.cudaMemcpy(got, b, x.nbytes, kinds.cudaMemcpyDeviceToHost))
    assert (got.view(np.uint32) == 0xFFFFFFFF).all()
    for p in (a, b):
        ok(cudart.cudaFree(p))
    ok(cudart.cudaFreeHost(host_ptr))
    ok(cudart.cudaStreamDestroy(stream))


def test_runtime_errors_return_codes_with_reasons(cuda):
    cudart, _, _ = cuda
    err = cudart.cudaError_t
    kinds = cudart.cudaMemcpyKind
    a = ok(cudart.cudaMalloc(16))
    code, why = error_of(lambda: cudart.cudaFree(a + 8))
    assert code == err.cudaErrorInvalidValue and "not device memory from cudaMalloc" in why
    assert cudart.cudaGetErrorString(code)[1].decode().endswith(why)
    assert cudart.cudaGetLastError()[0] == code and cudart.cudaGetLastError()[0] == 0
    host = np.zeros(8, np.float32)
    code, why = error_of(lambda: cudart.cudaMemcpy(a, host, 32, kinds.cudaMemcpyHostToDevice))
    assert "copying 32 bytes with an allocation of 16" in why
    code, why = error_of(lambda: cudart.cudaMemcpy(a, 4096, 16, kinds.cudaMemcpyHostToDevice))
    assert "0x1000" in why and "not mapped" in why
    code, why = error_of(lambda: cudart.cudaMemcpy(host, a, 16, 9))
    assert "cudaMemcpyKind 9" in why
    code, why = error_of(lambda: cudart.cudaMemcpy(host[::2], a, 16, kinds.cudaMemcpyDeviceToHost))
    assert "not C-contiguous" in why
    frozen = np.zeros(4, np.float32)
    frozen.flags.writeable = False
    code, why = error_of(lambda: cudart.cudaMemcpy(frozen, a, 16, kinds.cudaMemcpyDeviceToHost))
    assert "read-only" in why
    stream = ok(cudart.cudaStreamCreate())
    ok(cudart.cudaStreamDestroy(stream))
    code, why = error_of(lambda: cudart.cudaStreamSynchronize(stream))
    assert code == err.cudaErrorInvalidResourceHandle and "destroyed" in why
    ok(cudart.cudaFree(a))
    code, why = error_of(lambda: cudart.cudaFree(a))
    assert "freed already" in why
    assert cudart.cudaFree(0)[0] == 0  # freeing NULL does nothing, as in CUDA
    with pytest.raises(AttributeError, match="cudaGraphCreate.*CUDA kernels and graphs"):
        _ = cudart.cudaGraphCreate


def test_runtime_events_devices_and_engine_streams(cuda):
    cudart, _, _ = cuda
    count = ok(cudart.cudaGetDeviceCount())
    assert count == len(clrt.get_devices())
    props = ok(cudart.cudaGetDeviceProperties(ok(cudart.cudaGetDevice())))
    assert props.name.decode() == clrt.current_device().name
    assert (
        error_of(lambda: cudart.cudaSetDevice(count))[0]
        == cudart.cudaError_t.cudaErrorInvalidDevice
    )
    # An engine enqueued on a cuda-python stream between two events, against onnxruntime.
    model = make_model([helper.make_node("Sin", ["x"], ["y"])], [("x", [4, 32])], [("y", [4, 32])])
    from helpers import build_engine

    engine = build_engine(model)
    context = engine.create_execution_context()
    x = rand([4, 32], seed=5)
    y = np.empty_like(x)
    dx, dy = ok(cudart.cudaMalloc(x.nbytes)), ok(cudart.cudaMalloc(y.nbytes))
    context.set_tensor_address("x", dx)
    context.set_tensor_address("y", dy)
    stream = ok(cudart.cudaStreamCreate())
    start, end = ok(cudart.cudaEventCreate()), ok(cudart.cudaEventCreate())
    kinds = cudart.cudaMemcpyKind
    ok(cudart.cudaEventRecord(start, stream))
    ok(cudart.cudaMemcpyAsync(dx, x, x.nbytes, kinds.cudaMemcpyHostToDevice, stream))
    assert context.execute_async_v3(stream_handle=stream)
    ok(cudart.cudaMemcpyAsync(y, dy, y.nbytes, kinds.cudaMemcpyDeviceToHost, stream))
    ok(cudart.cudaEventRecord(end, stream))
    ok(cudart.cudaEventSynchronize(end))
    assert ok(cudart.cudaEventElapsedTime(start, end)) >= 0.0
    assert_close(y, ort_run(model, {"x": x})["y"])
    for p in (dx, dy):
        ok(cudart.cudaFree(p))


def test_driver_api(cuda):
    _, drv, _ = cuda
    ok(drv.cuInit(0))
    dev = ok(drv.cuDeviceGet(0))
    assert ok(drv.cuDeviceGetName(256, dev)).decode() == clrt.get_devices()[0].name
    ctx = ok(drv.cuCtxCreate(0, dev))
    ok(drv.cuCtxCreate(None, 0, dev))  # CUDA 13's form
    x = np.arange(10, dtype=np.int32)
    p, q = ok(drv.cuMemAlloc(x.nbytes)), ok(drv.cuMemAlloc(x.nbytes))
    stream = ok(drv.cuStreamCreate(0))
    ok(drv.cuMemcpyHtoDAsync(p, x, x.nbytes, stream))
    ok(drv.cuMemcpyDtoD(q, p, x.nbytes))
    ok(drv.cuMemsetD8(p, 0, x.nbytes))
    got, zeros = np.empty_like(x), np.ones_like(x)
    ok(drv.cuMemcpyDtoH(got, q, x.nbytes))
    ok(drv.cuMemcpyDtoHAsync(zeros, p, x.nbytes, stream))
    ok(drv.cuStreamSynchronize(stream))
    np.testing.assert_array_equal(got, x)
    np.testing.assert_array_equal(zeros, 0)
    code, why = error_of(lambda: drv.cuMemcpyDtoH(got, 12345, 4))
    assert code == drv.CUresult.CUDA_ERROR_INVALID_VALUE and "0x3039" in why
    assert ok(drv.cuGetErrorName(code)) == b"CUDA_ERROR_INVALID_VALUE"
    for m in (p, q):
        ok(drv.cuMemFree(m))
    ok(drv.cuStreamDestroy(stream))
    ok(drv.cuCtxDestroy(ctx))


def test_pycuda_driver(cuda):
    _, _, pc = cuda
    import pycuda.autoinit

    assert pycuda.autoinit.device.name() == clrt.current_device().name
    assert pc.Device.count() == len(clrt.get_devices())
    with pytest.raises(pc.LogicError, match="OpenCL device"):
        pc.Device(pc.Device.count())
    ctx = pc.Device(0).make_context()
    assert pc.Context.get_current() is ctx
    ctx.pop()
    x = np.linspace(-1, 1, 33, dtype=np.float32)
    a, b = pc.mem_alloc(x.nbytes), pc.mem_alloc(x.nbytes)
    pc.memcpy_htod(a, x)
    pc.memcpy_dtod(b, a, x.nbytes)
    pc.memset_d8(a, 0, 8)
    start, end = pc.Event(), pc.Event()
    start.record()
    got, got_b = pc.pagelocked_empty(33, np.float32), pc.pagelocked_zeros_like(x)
    pc.memcpy_dtoh(got, a)
    pc.memcpy_dtoh(got_b, b)
    end.record()
    end.synchronize()
    assert end.time_since(start) >= 0.0
    np.testing.assert_array_equal(got, np.concatenate([np.zeros(2, np.float32), x[2:]]))
    np.testing.assert_array_equal(got_b, x)
    with pytest.raises(
        ValueError, match="memcpy_dtod.*copying 200 bytes with an allocation of 132"
    ):
        pc.memcpy_dtod(b, a, 200)
    with pytest.raises(ValueError, match="memset_d8: data 256 is not a byte value"):
        pc.memset_d8(a, 256, 4)
    with pytest.raises(AttributeError, match="SourceModule"):
        _ = pc.SourceModule


def test_imports_the_stand_ins_cannot_serve_say_why(cuda):
    with pytest.raises(ImportError, match="pycuda.compiler.*CUDA kernels"):
        import pycuda.compiler  # noqa: F401
    with pytest.raises(ImportError, match="cuda.core.*do not run on OpenCL devices"):
        import cuda.core  # noqa: F401
    from cuda import nvrtc

    with pytest.raises(AttributeError, match="nvrtcCreateProgram.*compiles nothing"):
        _ = nvrtc.nvrtcCreateProgram


def test_install_refuses_after_the_real_modules_were_imported():
    import types

    fake = types.ModuleType("pycuda")
    sys.modules["pycuda"] = fake
    try:
        with pytest.raises(RuntimeError, match="pycuda already imported from elsewhere"):
            compat.install()
        assert not compat.installed()
    finally:
        del sys.modules["pycuda"]


def test_uninstall_restores_plain_imports(tmp_path):
    code = textwrap.dedent(
        """
        import importlib.util, clrt.cuda_compat as c
        c.install(); import tensorrt; c.uninstall()
        print(importlib.util.find_spec("tensorrt") is None or 'clrt' not in str(importlib.util.find_spec("tensorrt")))
        """
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert p.returncode == 0 and p.stdout.strip() == "True", p.stdout + p.stderr
