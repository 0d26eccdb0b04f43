# INT8 post-training quantization with a TensorRT tutorial's entropy calibrator, run on clrt.
"""Usage: python examples/calibrate_seed000.py [--model models/fmnist_cnn.onnx] [--calib-images 512]

The calibrator class and build_int8_engine() are copied from a TensorRT tutorial ("FP16与INT8精度
校准实战") unchanged apart from `import clrt as trt` and `cuda = trt` (clrt provides pycuda's
mem_alloc and memcpy_htod). The calibrator hands one image per batch to the builder through a
device buffer. The model's batch is fixed to 1 first (the tutorial adds no optimization profile),
the calibration images are the first Fashion-MNIST training images, and the script reports the
top-1 accuracy of an FP32 engine and of the INT8 engine on the test set. It writes
calibration_cache.bin (the tutorial's write_calibration_cache) and the engine file.
"""

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import calibration_data as data
import clrt as trt
import numpy as np

cuda = trt  # pycuda.driver's mem_alloc / memcpy_htod

TRT_LOGGER = trt.Logger(trt.Logger.INFO)


# --- From the tutorial, as written ------------------------------------------------------------


class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
    def __init__(self, calib_dataset, batch_size=1):
        super().__init__()
        self.calib_dataset = calib_dataset
        self.batch_size = batch_size
        self.current_index = 0
        # 预分配GPU内存
        self.device_buffer = cuda.mem_alloc(self.calib_dataset[0].nbytes)

    def get_batch_size(self):
        return self.batch_size

    def get_batch(self, names):
        if self.current_index < len(self.calib_dataset):
            data = np.ascontiguousarray(
                self.calib_dataset[self.current_index : self.current_index + 1]
            )
            cuda.memcpy_htod(self.device_buffer, data)
            self.current_index += 1
            return [int(self.device_buffer)]
        else:
            return None

    def read_calibration_cache(self, length):
        return None  # 初次运行时不读缓存

    def write_calibration_cache(self, cache, length):
        with open("calibration_cache.bin", "wb") as f:
            f.write(cache)


def build_int8_engine(onnx_file_path, calib_data, engine_file_path):
    with (
        trt.Builder(TRT_LOGGER) as builder,
        builder.create_network(
            1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
        ) as network,
        trt.OnnxParser(network, TRT_LOGGER) as parser,
    ):
        # 解析ONNX
        with open(onnx_file_path, "rb") as model:
            if not parser.parse(model.read()):
                raise RuntimeError("Failed to parse ONNX file")

        config = builder.create_builder_config()
        config.max_workspace_size = 1 << 30  # 1GB工作区
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = EntropyCalibrator(calib_data)

        # 构建engine
        engine = builder.build_engine(network, config)
        if engine is None:
            raise RuntimeError("Engine build failed")

        # 序列化保存
        with open(engine_file_path, "wb") as f:
            f.write(engine.serialize())
        return engine


# --- The example around it --------------------------------------------------------------------

# Counts the batches get_batch hands over (the class above stays as written).
data.add_progress_bar(EntropyCalibrator, total=lambda calib: len(calib.calib_dataset))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=str(data.DEFAULT_MODEL))
    ap.add_argument("--calib-images", type=int, default=512, help="training images to calibrate on")
    ap.add_argument("--test-images", type=int, default=None, help="test images (default: all)")
    ap.add_argument("--engine", default="fmnist_int8.engine", help="where the engine is written")
    ap.add_argument("--verbose", action="store_true", help="keep the tutorial's INFO build log")
    args = ap.parse_args(argv)
    if not args.verbose:  # INFO logs every calibration batch, drowning the progress bar
        TRT_LOGGER.min_severity = trt.Logger.WARNING
    # The tutorial targets TensorRT 8 (max_workspace_size, build_engine); clrt warns about both.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=__name__)

    calib_data = data.calibration_images(args.calib_images)
    x, y = data.test_set(args.test_images)
    with tempfile.TemporaryDirectory() as tmp:
        model = data.fixed_batch_model(args.model, 1, tmp)
        fp32 = data.build_fp32_engine(model, trt.Logger(trt.Logger.WARNING))
        t0 = time.perf_counter()
        int8 = build_int8_engine(str(model), calib_data, args.engine)
        build_s = time.perf_counter() - t0
    acc = {"fp32": data.top1(fp32, x, y), "int8": data.top1(int8, x, y)}
    data.report(
        f"{Path(args.model).name}: entropy calibration (tutorial 000), batch 1",
        [
            ("calibration images", f"{len(calib_data)}"),
            ("test images", f"{len(x)}"),
            ("INT8 build time", f"{build_s:.1f} s"),
            ("top-1 accuracy, FP32", f"{acc['fp32']:.4f}"),
            ("top-1 accuracy, INT8", f"{acc['int8']:.4f}"),
            ("engine", args.engine),
        ],
    )
    return acc


if __name__ == "__main__":
    main()
