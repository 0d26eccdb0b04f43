# A script written for TensorRT 10 and NVIDIA's cuda-python, as TensorRT's samples are, that runs on
# clrt without a changed line:
#
#     python -m clrt.run examples/tensorrt_cuda_python.py [--test-images N] [--out logits.npz]
#
# `python -m clrt.run` makes `import tensorrt` give clrt and `cuda.bindings.runtime` (or the older
# `cuda.cudart`) give clrt's stand-in over the OpenCL device (clrt.cuda_compat). The script
# calibrates an INT8 engine of the Fashion-MNIST CNN with a device-buffer calibrator, runs the
# test set through page-locked buffers from cudaMallocHost with cudaMemcpyAsync and
# execute_async_v3 on a stream, and prints the top-1 accuracy of the FP32 and INT8 engines.
"""Usage: python -m clrt.run examples/tensorrt_cuda_python.py [--calib-images 256]
[--test-images N] [--batch 32] [--out logits.npz]"""

import argparse
import ctypes
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import tensorrt as trt

try:  # cuda-python >= 12.6
    from cuda.bindings import runtime as cudart
except ImportError:
    from cuda import cudart

sys.path.insert(0, str(Path(__file__).resolve().parent))
import calibration_data as data

TRT_LOGGER = trt.Logger(trt.Logger.WARNING)


def cuda_call(call):
    """The results of a cuda-python call, raising on an error code."""
    err, res = call[0], call[1:]
    if err != cudart.cudaError_t.cudaSuccess:
        raise RuntimeError(f"CUDA error {cudart.cudaGetErrorString(err)[1].decode()}")
    return res[0] if len(res) == 1 else (res or None)


class PinnedBuffer:
    """Page-locked host memory from cudaMallocHost with a device twin from cudaMalloc."""

    def __init__(self, count, dtype):
        dtype = np.dtype(dtype)
        self.nbytes = count * dtype.itemsize
        self.host_ptr = cuda_call(cudart.cudaMallocHost(self.nbytes))
        pointer = ctypes.cast(self.host_ptr, ctypes.POINTER(np.ctypeslib.as_ctypes_type(dtype)))
        self.host = np.ctypeslib.as_array(pointer, (count,))
        self.device = cuda_call(cudart.cudaMalloc(self.nbytes))

    def free(self):
        cuda_call(cudart.cudaFree(self.device))
        cuda_call(cudart.cudaFreeHost(self.host_ptr))


class Calibrator(trt.IInt8EntropyCalibrator2):
    """Feeds training batches through one device buffer, copied from each batch's address."""

    def __init__(self, images, batch, cache_file):
        trt.IInt8EntropyCalibrator2.__init__(self)
        self.images, self.batch, self.cache_file, self.index = images, batch, cache_file, 0
        self.allocation = cuda_call(cudart.cudaMalloc(images[:batch].nbytes))

    def get_batch_size(self):
        return self.batch

    def get_batch(self, names):
        if self.index + self.batch > len(self.images):
            return None
        batch = np.ascontiguousarray(self.images[self.index : self.index + self.batch])
        kind = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        cuda_call(cudart.cudaMemcpy(self.allocation, batch.ctypes.data, batch.nbytes, kind))
        self.index += self.batch
        return [int(self.allocation)]

    def read_calibration_cache(self):
        if os.path.exists(self.cache_file):
            with open(self.cache_file, "rb") as f:
                return f.read()
        return None

    def write_calibration_cache(self, cache):
        with open(self.cache_file, "wb") as f:
            f.write(cache)


def build_engine(onnx_file, calibrator=None):
    builder = trt.Builder(TRT_LOGGER)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, TRT_LOGGER)
    if not parser.parse_from_file(onnx_file):
        raise SystemExit("\n".join(str(parser.get_error(i)) for i in range(parser.num_errors)))
    config = builder.create_builder_config()
    if calibrator is not None:
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = calibrator
    return trt.Runtime(TRT_LOGGER).deserialize_cuda_engine(
        builder.build_serialized_network(network, config)
    )


def logits(engine, images, batch):
    """The engine's outputs over whole batches of images, through pinned buffers on a stream."""
    context = engine.create_execution_context()
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    buffers = {}
    for name in names:
        count = trt.volume(engine.get_tensor_shape(name))
        buffers[name] = PinnedBuffer(count, trt.nptype(engine.get_tensor_dtype(name)))
        context.set_tensor_address(name, buffers[name].device)
    (inp,) = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
    (out,) = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
    stream = cuda_call(cudart.cudaStreamCreate())
    h2d, d2h = (
        cudart.cudaMemcpyKind.cudaMemcpyHostToDevice,
        cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost,
    )
    results = []
    for start in range(0, len(images) // batch * batch, batch):
        np.copyto(buffers[inp].host, images[start : start + batch].ravel())
        b = buffers[inp]
        cuda_call(cudart.cudaMemcpyAsync(b.device, b.host, b.nbytes, h2d, stream))
        context.execute_async_v3(stream_handle=stream)
        b = buffers[out]
        cuda_call(cudart.cudaMemcpyAsync(b.host, b.device, b.nbytes, d2h, stream))
        cuda_call(cudart.cudaStreamSynchronize(stream))
        results.append(b.host.reshape(batch, -1).copy())
    cuda_call(cudart.cudaStreamDestroy(stream))
    for b in buffers.values():
        b.free()
    return np.concatenate(results)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=str(data.DEFAULT_MODEL))
    ap.add_argument("--calib-images", type=int, default=256)
    ap.add_argument("--test-images", type=int, default=None)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--out", help="save the test images' FP32 and INT8 logits (.npz)")
    args = ap.parse_args(argv)

    x, y = data.test_set(args.test_images)
    with tempfile.TemporaryDirectory() as tmp:
        model = str(data.fixed_batch_model(args.model, args.batch, tmp))
        calibrator = Calibrator(
            data.calibration_images(args.calib_images),
            args.batch,
            os.path.join(tmp, "calibration.cache"),
        )
        engines = {"fp32": build_engine(model), "int8": build_engine(model, calibrator)}
    scores = {k: logits(e, x, args.batch) for k, e in engines.items()}
    n = len(scores["fp32"])
    for k, s in scores.items():
        print(f"top-1 accuracy, {k.upper()}: {(s.argmax(1) == y[:n]).mean():.4f} ({n} test images)")
    if args.out:
        np.savez(args.out, images=x[:n], **scores)


if __name__ == "__main__":
    main()
