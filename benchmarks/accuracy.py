# INT8 accuracy on Fashion-MNIST: clrt's calibrators vs onnxruntime's static quantization.
"""Usage: python benchmarks/accuracy.py [--models fmnist_cnn fmnist_dwse fmnist_transformer]
                                       [--calib-images 512] [--batch 256] [--test-images 10000]
                                       [--opt-level 0]

For each Fashion-MNIST model in models/, prints the top-1 accuracy on the test set of:
  FP32            clrt FP32 engine
  Entropy2, Entropy, MinMax, Legacy
                  clrt INT8 engines calibrated on the first --calib-images training images by
                  Python subclasses of trt.IInt8EntropyCalibrator2, IInt8EntropyCalibrator,
                  IInt8MinMaxCalibrator and IInt8LegacyCalibrator (percentile 99.99%); the
                  entropy rows with clrt's range refinement (config.refine_int8_ranges, the
                  default: the network's output error picks each tensor's range among the KL
                  threshold, the 99.99th percentile and the max)
  Entropy2 KL only
                  the same with refinement off: TensorRT's KL thresholds as they are
  ORT QDQ         onnxruntime's quantize_static (QDQ, per-channel symmetric INT8 weights,
                  symmetric INT8 activations, MinMax ranges from the same images, after
                  onnxruntime's quant_pre_process) run in onnxruntime
  clrt QDQ        clrt building that same QDQ model (explicit quantization: its scales, no
                  calibrator)
and, for each INT8 row, how often its top-1 agrees with the FP32 engine's. Images are
Fashion-MNIST from scripts/fmnist.py. A row that cannot run prints the reason instead.

Engines are built at builder optimization level 0 unless --opt-level says otherwise: untimed,
the builder runs every layer that has an INT8 kernel in INT8 (timed, it may keep a layer in FP32
where that is faster on the device, which would blur the accuracy comparison), and the builds
take seconds instead of minutes on a CPU device.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import clrt as trt
import numpy as np
import onnx
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import fmnist  # scripts/ is not a package

MODELS = ("fmnist_cnn", "fmnist_dwse", "fmnist_transformer")
# (label, base class, config.refine_int8_ranges)
CALIBRATORS = (
    ("Entropy2", "IInt8EntropyCalibrator2", True),
    ("Entropy2 KL only", "IInt8EntropyCalibrator2", False),
    ("Entropy", "IInt8EntropyCalibrator", True),
    ("MinMax", "IInt8MinMaxCalibrator", True),
    ("Legacy", "IInt8LegacyCalibrator", True),
)
LOGGER = trt.Logger(trt.Logger.ERROR)


def make_calibrator(base_name, images, batch):
    """An instance of a Python subclass of trt.<base_name> feeding `images` in batches."""
    base = getattr(trt, base_name)

    class Calibrator(base):
        def __init__(self):
            base.__init__(self)
            self.start = 0

        def get_batch_size(self):
            return batch

        def get_batch(self, names):
            if self.start >= len(images):
                return None
            chunk = images[self.start : self.start + batch]
            self.start += batch
            return [np.ascontiguousarray(chunk)]

        def read_calibration_cache(self, length=0):
            return None

        def write_calibration_cache(self, cache, length=0):
            pass

        # IInt8LegacyCalibrator only: percentile calibration at 99.99%.
        def get_quantile(self):
            return 0.9999

        def get_regression_cutoff(self):
            return 1.0

        def read_histogram_cache(self, length=0):
            return None

        def write_histogram_cache(self, cache, length=0):
            pass

    return Calibrator()


def build(path, batch, opt_level, calibrator=None, int8=False, refine=True):
    builder = trt.Builder(LOGGER)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, LOGGER)
    if not parser.parse_from_file(str(path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"parse failed: {errors}")
    config = builder.create_builder_config()
    config.builder_optimization_level = opt_level
    profile = builder.create_optimization_profile()
    name = network.get_input(0).name
    profile.set_shape(name, (1, 1, 28, 28), (batch, 1, 28, 28), (batch, 1, 28, 28))
    config.add_optimization_profile(profile)
    if int8:
        config.set_flag(trt.BuilderFlag.INT8)
    if calibrator is not None:
        config.int8_calibrator = calibrator
        config.refine_int8_ranges = refine
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError("build failed")
    return trt.Runtime(LOGGER).deserialize_cuda_engine(plan), name


def clrt_predict(engine, name, x, batch):
    context = engine.create_execution_context()
    out = engine.get_tensor_name(engine.num_io_tensors - 1)
    return np.concatenate(
        [context.infer({name: x[i : i + batch]})[out].argmax(1) for i in range(0, len(x), batch)]
    )


def ort_predict(path, x, batch):
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate(
        [sess.run(None, {name: x[i : i + batch]})[0].argmax(1) for i in range(0, len(x), batch)]
    )


def ort_quantize(path, images, batch, out_dir):
    """onnxruntime's static QDQ model of `path` (pre-processed first, as its docs advise)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self, name):
            self.it = iter([{name: images[i : i + batch]} for i in range(0, len(images), batch)])

        def get_next(self):
            return next(self.it, None)

    pre, qdq = out_dir / f"{path.stem}_pre.onnx", out_dir / f"{path.stem}_qdq.onnx"
    quant_pre_process(str(path), str(pre), skip_symbolic_shape=True)
    name = onnx.load(str(pre)).graph.input[0].name
    quantize_static(
        str(pre),
        str(qdq),
        Reader(name),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        extra_options={"ActivationSymmetric": True, "WeightSymmetric": True},
    )
    return qdq


def evaluate(model, args, calib, x, y, tmp):
    """Rows (label, top-1 or error text, agreement with FP32, seconds) for one model."""
    path = ROOT / "models" / f"{model}.onnx"
    rows, fp32 = [], None

    def row(label, fn):
        nonlocal fp32
        t0 = time.perf_counter()
        try:
            pred = fn()
        except Exception as e:  # noqa: BLE001 -- one failing row must not hide the others
            rows.append((label, f"n/a: {type(e).__name__}: {e}".splitlines()[0][:90], "", ""))
            return
        agree = "" if fp32 is None else f"{(pred == fp32).mean() * 100:.2f}%"
        rows.append((label, f"{(pred == y).mean() * 100:.2f}%", agree, time.perf_counter() - t0))
        if fp32 is None and label == "FP32":
            fp32 = pred

    row("FP32", lambda: clrt_predict(*build(path, args.batch, args.opt_level), x, args.batch))
    for label, base, refine in CALIBRATORS:
        row(
            f"INT8 {label}",
            lambda base=base, refine=refine: clrt_predict(
                *build(
                    path,
                    args.batch,
                    args.opt_level,
                    make_calibrator(base, calib, args.batch),
                    int8=True,
                    refine=refine,
                ),
                x,
                args.batch,
            ),
        )
    qdq = []

    def ort_qdq():
        qdq.append(ort_quantize(path, calib, args.batch, tmp))
        return ort_predict(qdq[0], x, args.batch)

    def clrt_qdq():
        if not qdq:
            raise RuntimeError("no QDQ model (onnxruntime's quantization failed)")
        return clrt_predict(*build(qdq[0], args.batch, args.opt_level), x, args.batch)

    row("ORT QDQ (onnxruntime)", ort_qdq)
    row("ORT QDQ (clrt)", clrt_qdq)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--calib-images", type=int, default=512, help="training images to calibrate")
    ap.add_argument("--batch", type=int, default=256, help="batch for calibration and inference")
    ap.add_argument("--test-images", type=int, default=10000, help="test images to evaluate")
    ap.add_argument("--opt-level", type=int, default=0, help="builder optimization level")
    args = ap.parse_args()
    if not fmnist.available():
        sys.exit(f"Fashion-MNIST not found in {fmnist.data_dir()} (set FASHION_MNIST_DIR)")

    xtr, _ = fmnist.load("train")
    calib = np.ascontiguousarray(xtr[: args.calib_images])
    x, y = fmnist.load("test")
    x, y = np.ascontiguousarray(x[: args.test_images]), y[: args.test_images]
    print(
        f"Fashion-MNIST: {len(calib)} calibration images (train), {len(x)} test images, "
        f"batch {args.batch}, device: {trt.current_device()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            rows = evaluate(model, args, calib, x, y, Path(tmp))
            width = max(len(r[0]) for r in rows)
            print(f"\n{model}")
            print(f"  {'':<{width}}  {'top-1':>8}  {'= FP32':>8}  {'time':>6}")
            for label, acc, agree, secs in rows:
                t = f"{secs:5.1f}s" if secs != "" else ""
                print(f"  {label:<{width}}  {acc:>8}  {agree:>8}  {t:>6}")


if __name__ == "__main__":
    main()
