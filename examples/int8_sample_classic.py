# NVIDIA's classic INT8 sample pattern on clrt: calibrator over a device buffer, pagelocked host
# buffers, execute_async_v3 on a stream, and an IProfiler for per-layer times.
"""Usage: python examples/int8_sample_classic.py [--calib-images 256] [--test-images N]

The code between the marked lines follows the structure of TensorRT's Python INT8 samples
(an IInt8EntropyCalibrator2 that copies each batch into one device buffer, common.py's
allocate_buffers/do_inference, a profiler on the context); only the import lines differ:
`import clrt as trt` for tensorrt and `import clrt as cuda` for pycuda.driver (clrt provides
mem_alloc, memcpy_*_async, Stream and pagelocked_empty). It builds an INT8 engine of the
Fashion-MNIST CNN with a fixed batch, runs the test set and prints the top-1 accuracy of the INT8
engine beside FP32, and the per-layer times of one inference.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import calibration_data as data
import clrt as cuda  # was: import pycuda.driver as cuda; import pycuda.autoinit
import clrt as trt  # was: import tensorrt as trt
import numpy as np

# --- The sample's pattern ---------------------------------------------------------------------

TRT_LOGGER = trt.Logger(trt.Logger.WARNING)


class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
    def __init__(self, data, cache_file, batch_size=32):
        trt.IInt8EntropyCalibrator2.__init__(self)
        self.cache_file = cache_file
        self.data = data
        self.batch_size = batch_size
        self.current_index = 0
        # One device buffer, refilled for every batch.
        self.device_input = cuda.mem_alloc(self.data[0].nbytes * self.batch_size)

    def get_batch_size(self):
        return self.batch_size

    def get_batch(self, names):
        if self.current_index + self.batch_size > self.data.shape[0]:
            return None
        batch = self.data[self.current_index : self.current_index + self.batch_size].ravel()
        cuda.memcpy_htod(self.device_input, batch)
        self.current_index += self.batch_size
        return [self.device_input]

    def read_calibration_cache(self):
        if os.path.exists(self.cache_file):
            with open(self.cache_file, "rb") as f:
                return f.read()

    def write_calibration_cache(self, cache):
        with open(self.cache_file, "wb") as f:
            f.write(cache)


class LayerProfiler(trt.IProfiler):
    def __init__(self):
        trt.IProfiler.__init__(self)
        self.times = {}

    def report_layer_time(self, layer_name, ms):
        self.times[layer_name] = self.times.get(layer_name, 0.0) + ms


class HostDeviceMem:
    def __init__(self, host_mem, device_mem):
        self.host = host_mem
        self.device = device_mem


def build_engine(onnx_file, calibrator=None):
    builder = trt.Builder(TRT_LOGGER)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, TRT_LOGGER)
    with open(onnx_file, "rb") as model:
        if not parser.parse(model.read()):
            for error in range(parser.num_errors):
                print(parser.get_error(error))
            return None
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 28)
    if calibrator is not None:
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = calibrator
    plan = builder.build_serialized_network(network, config)
    return trt.Runtime(TRT_LOGGER).deserialize_cuda_engine(plan)


def allocate_buffers(engine):
    inputs, outputs, bindings = [], [], []
    stream = cuda.Stream()
    for i in range(engine.num_io_tensors):
        tensor_name = engine.get_tensor_name(i)
        size = trt.volume(engine.get_tensor_shape(tensor_name))
        dtype = trt.nptype(engine.get_tensor_dtype(tensor_name))
        host_mem = cuda.pagelocked_empty(size, dtype)
        device_mem = cuda.mem_alloc(host_mem.nbytes)
        bindings.append(int(device_mem))
        if engine.get_tensor_mode(tensor_name) == trt.TensorIOMode.INPUT:
            inputs.append(HostDeviceMem(host_mem, device_mem))
        else:
            outputs.append(HostDeviceMem(host_mem, device_mem))
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


# --- The example around it --------------------------------------------------------------------


def accuracy(engine, x, y, batch, profiler=None):
    """Top-1 over whole batches of (x, y); the profiler, when given, times the first batch."""
    context = engine.create_execution_context()
    inputs, outputs, bindings, stream = allocate_buffers(engine)
    correct = 0
    n = len(x) // batch * batch
    for start in range(0, n, batch):
        context.profiler = profiler if start == 0 else None
        np.copyto(inputs[0].host, x[start : start + batch].ravel())
        (scores,) = do_inference(context, engine, bindings, inputs, outputs, stream)
        correct += int((scores.reshape(batch, -1).argmax(1) == y[start : start + batch]).sum())
    return correct / n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=str(data.DEFAULT_MODEL))
    ap.add_argument("--calib-images", type=int, default=256, help="training images to calibrate on")
    ap.add_argument("--test-images", type=int, default=None, help="test images (default: all)")
    ap.add_argument("--batch", type=int, default=32, help="engine and calibration batch")
    ap.add_argument("--cache", default="classic_calibration.cache", help="calibration cache file")
    args = ap.parse_args(argv)

    x, y = data.test_set(args.test_images)
    profiler = LayerProfiler()
    with tempfile.TemporaryDirectory() as tmp:
        model = str(data.fixed_batch_model(args.model, args.batch, tmp))
        calibrator = EntropyCalibrator(
            data.calibration_images(args.calib_images), args.cache, args.batch
        )
        int8 = build_engine(model, calibrator)
        fp32 = build_engine(model)
    acc = {
        "fp32": accuracy(fp32, x, y, args.batch),
        "int8": accuracy(int8, x, y, args.batch, profiler),
    }
    rows = [
        ("test images", f"{len(x) // args.batch * args.batch}"),
        ("top-1 accuracy, FP32", f"{acc['fp32']:.4f}"),
        ("top-1 accuracy, INT8", f"{acc['int8']:.4f}"),
    ]
    rows += [(f"layer {name}", f"{ms:.3f} ms") for name, ms in profiler.times.items()]
    data.report(f"{Path(args.model).name}: classic INT8 sample, batch {args.batch}", rows)
    acc["layer_times"] = profiler.times
    return acc


if __name__ == "__main__":
    main()
