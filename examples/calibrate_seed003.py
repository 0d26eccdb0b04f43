# INT8 post-training quantization with a TensorRT tutorial's data-loader calibrator, run on clrt.
"""Usage: python examples/calibrate_seed003.py [--model models/fmnist_cnn.onnx] [--calib-images 512]
                                           [--batch 32]

The Calibrator class and the build steps are copied from a TensorRT tutorial ("一文搞懂TensorRT
核心机制") unchanged apart from `import clrt as trt`. The calibrator takes batches from a PyTorch
DataLoader and hands them to the builder as NumPy arrays. As the tutorial's get_batch draws
next(iter(loader)) each time, the loader shuffles, so each call sees a fresh random batch of the
calibration images (the first Fashion-MNIST training images). The model's batch is fixed to
--batch first (the tutorial adds no optimization profile); the script reports the top-1 accuracy
of an FP32 engine and of the INT8 engine on the test set, and writes calibration.cache.
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
import torch
from torch.utils.data import DataLoader, Dataset

TRT_LOGGER = trt.Logger(trt.Logger.WARNING)


# --- From the tutorial, as written ------------------------------------------------------------


class Calibrator(trt.IInt8EntropyCalibrator2):
    def __init__(self, calibration_data_loader):
        trt.IInt8EntropyCalibrator2.__init__(self)
        self.data_loader = calibration_data_loader
        self.batch_idx = 0
        self.max_batches = len(calibration_data_loader)

    def get_batch_size(self):
        return self.data_loader.batch_size

    def get_batch(self, names):
        if self.batch_idx < self.max_batches:
            batch = next(iter(self.data_loader))
            self.batch_idx += 1
            return [np.ascontiguousarray(batch["input"].numpy(), dtype=np.float32)]
        else:
            return None

    def read_calibration_cache(self, length):
        return None

    def write_calibration_cache(self, cache, size):
        with open("calibration.cache", "wb") as f:
            f.write(cache)


def build_int8_engine(onnx_path, calib_dataloader):
    """The tutorial's three snippets in order: parse, INT8 config with the calibrator, build."""
    builder = trt.Builder(TRT_LOGGER)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, TRT_LOGGER)

    with open(onnx_path, "rb") as model:
        if not parser.parse(model.read()):
            print("解析ONNX模型失败")
            for error in range(parser.num_errors):
                print(parser.get_error(error))

    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.INT8)
    calibrator = Calibrator(calib_dataloader)
    config.int8_calibrator = calibrator

    config.max_workspace_size = 1 << 30  # 设置最大工作空间为 1GB
    engine = builder.build_engine(network, config)
    return engine


# --- The example around it --------------------------------------------------------------------

# Counts the batches get_batch hands over (the class above stays as written).
data.add_progress_bar(Calibrator, total=lambda calib: calib.max_batches)


class ImageDataset(Dataset):
    """Fashion-MNIST images as the tutorial's loader yields them: {'input': tensor}."""

    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return {"input": torch.from_numpy(self.images[i])}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=str(data.DEFAULT_MODEL))
    ap.add_argument("--calib-images", type=int, default=512, help="training images to calibrate on")
    ap.add_argument("--batch", type=int, default=32, help="calibration (and engine) batch size")
    ap.add_argument("--test-images", type=int, default=None, help="test images (default: all)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the loader's shuffling")
    args = ap.parse_args(argv)
    # The tutorial targets TensorRT 8 (max_workspace_size, build_engine); clrt warns about both.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=__name__)

    images = data.calibration_images(args.calib_images)
    calib_dataloader = DataLoader(
        ImageDataset(images),
        batch_size=args.batch,
        shuffle=True,
        drop_last=True,  # the engine's batch is fixed
        generator=torch.Generator().manual_seed(args.seed),
    )
    if len(calib_dataloader) == 0:
        sys.exit(f"--calib-images {args.calib_images} gives no full batch of {args.batch}")
    x, y = data.test_set(args.test_images)
    with tempfile.TemporaryDirectory() as tmp:
        model = data.fixed_batch_model(args.model, args.batch, tmp)
        fp32 = data.build_fp32_engine(model, TRT_LOGGER)
        t0 = time.perf_counter()
        int8 = build_int8_engine(str(model), calib_dataloader)
        build_s = time.perf_counter() - t0
    acc = {"fp32": data.top1(fp32, x, y), "int8": data.top1(int8, x, y)}
    data.report(
        f"{Path(args.model).name}: entropy calibration (tutorial 003), batch {args.batch}",
        [
            ("calibration batches", f"{len(calib_dataloader)} x {args.batch}"),
            ("test images", f"{len(x)}"),
            ("INT8 build time", f"{build_s:.1f} s"),
            ("top-1 accuracy, FP32", f"{acc['fp32']:.4f}"),
            ("top-1 accuracy, INT8", f"{acc['int8']:.4f}"),
        ],
    )
    return acc


if __name__ == "__main__":
    main()
