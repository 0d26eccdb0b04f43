# Shared by the INT8 calibration examples: Fashion-MNIST data, a fixed-batch model, FP32 baseline
# engine, top-1 evaluation and a text progress bar for the calibrators' get_batch.
import functools
import sys
from pathlib import Path

import clrt as trt
import numpy as np
import onnx

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "models" / "fmnist_cnn.onnx"
sys.path.insert(0, str(ROOT / "scripts"))
import fmnist  # scripts/ is not a package


def calibration_images(count):
    """The first `count` Fashion-MNIST training images, float32 [N, 1, 28, 28] in [0, 1]."""
    x, _ = fmnist.load("train")
    return np.ascontiguousarray(x[:count])


def test_set(count=None):
    """(images, labels) of the Fashion-MNIST test set, the first `count` of them if given."""
    x, y = fmnist.load("test")
    return (x, y) if count is None else (x[:count], y[:count])


def fixed_batch_model(model_path, batch, out_dir):
    """A copy of the ONNX model with its dynamic batch dimension set to `batch`.

    The tutorials' build functions add no optimization profile, which (as in TensorRT) a model
    with a dynamic batch needs; a fixed-batch copy lets them run as written."""
    model = onnx.load(str(model_path))
    for tensor in list(model.graph.input) + list(model.graph.output):
        dim = tensor.type.tensor_type.shape.dim[0]
        if not dim.HasField("dim_value"):
            dim.dim_value = batch
    out = Path(out_dir) / f"{Path(model_path).stem}_b{batch}.onnx"
    onnx.save(model, str(out))
    return out


def build_fp32_engine(onnx_path, logger):
    """The FP32 baseline engine of an ONNX model (no profile: the model's batch is fixed)."""
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "\n".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"failed to parse {onnx_path}:\n{errors}")
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    return trt.Runtime(logger).deserialize_cuda_engine(plan)


def top1(engine, x, y):
    """Top-1 accuracy of an engine with a fixed batch over (x, y); the last batch is padded."""
    context = engine.create_execution_context()
    inp = engine.get_tensor_name(0)
    out = engine.get_tensor_name(engine.num_io_tensors - 1)
    batch = engine.get_tensor_shape(inp)[0]
    predictions = []
    for start in range(0, len(x), batch):
        xb = x[start : start + batch]
        n = len(xb)
        if n < batch:
            xb = np.concatenate([xb, np.zeros((batch - n,) + xb.shape[1:], xb.dtype)])
        logits = context.infer({inp: np.ascontiguousarray(xb)})[out]
        predictions.append(logits[:n].argmax(1))
    return float((np.concatenate(predictions) == y).mean())


class ProgressBar:
    """`label [#######.............]  12/64 batches`, redrawn in place on stdout."""

    def __init__(self, total, label="calibrating", width=30):
        self.total, self.label, self.width, self.done, self.closed = total, label, width, 0, False

    def step(self):
        self.done += 1
        filled = self.width * min(self.done, self.total) // max(self.total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        print(f"\r{self.label} [{bar}] {self.done:>4}/{self.total} batches", end="", flush=True)

    def close(self):
        if not self.closed:
            self.closed = True
            print(flush=True)


def add_progress_bar(calibrator_class, total):
    """Makes calibrator_class.get_batch advance a ProgressBar of total(calibrator) batches.

    Wraps the method after the fact, so the tutorial's class stays exactly as written."""
    get_batch = calibrator_class.get_batch

    @functools.wraps(get_batch)
    def counted(self, names):
        batch = get_batch(self, names)
        bar = self.__dict__.setdefault("_progress_bar", ProgressBar(total(self)))
        if batch is None or len(batch) == 0:
            bar.close()
        else:
            bar.step()
        return batch

    calibrator_class.get_batch = counted
    return calibrator_class


def report(title, rows):
    """Prints `rows` ((label, value) pairs) as a small table under `title`."""
    width = max(len(k) for k, _ in rows)
    print(f"\n{title}\n{'':-<{width + 14}}")
    for key, value in rows:
        print(f"{key:<{width}}  {value:>12}")
    print(f"{'':-<{width + 14}}")
