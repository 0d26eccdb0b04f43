# INT8 build time with and without clrt's range refinement (builder/refine.cc).
"""Usage: python benchmarks/bench_calib_refine.py MODEL.onnx [...] [--batch 8] [--batches 16]
                                     [--modes kl partial full] [--opt-level 3]

For each model (a single image input of shape (N, 3, H, W), e.g. from
`python scripts/export_models.py --full --out /tmp/full`; a static N or H, W of the model is kept
and overrides --batch / --size; --free-batch makes N dynamic; skeletons of
scripts/export_architectures.py get scripts/arch_zoo.py's seeded weights), builds INT8 engines
calibrated by an
IInt8EntropyCalibrator2 on --batches seeded standard-normal batches of --batch images and prints
the build time of each mode:
  kl       config.refine_int8_ranges = False (TensorRT's plain KL thresholds)
  partial  refinement on (the default): candidates re-run only the layers after their tensor
  full     refinement on through whole-network runs per candidate (CLRT_REFINE_FULL_RUNS=1,
           the implementation partial re-execution replaced)
(wall and process CPU seconds: the CPU time is the fairer figure on a shared machine; PoCL's
worker threads are the process's) with refinement's own seconds and passes (from config.calibration_report), the tensors it
evaluated and widened, and whether partial and full chose the same cache, bit for bit.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import clrt as trt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))


class Calibrator(trt.IInt8EntropyCalibrator2):
    def __init__(self, batches):
        trt.IInt8EntropyCalibrator2.__init__(self)
        self.batches, self.pos, self.cache = batches, 0, None

    def get_batch_size(self):
        return len(self.batches[0])

    def get_batch(self, names):
        if self.pos >= len(self.batches):
            return None
        self.pos += 1
        return [self.batches[self.pos - 1]]

    def read_calibration_cache(self):
        return None

    def write_calibration_cache(self, cache):
        self.cache = bytes(cache)


def model_bytes(path, free_batch):
    """The ONNX model, skeletons filled in, its first input's batch made dynamic if asked."""
    import onnx
    from arch_zoo import materialize

    model = materialize(onnx.load(path))
    if free_batch:
        d = model.graph.input[0].type.tensor_type.shape.dim[0]
        d.ClearField("dim_value")
        d.dim_param = "N"
        del model.graph.value_info[:]
        for o in model.graph.output:
            o.type.tensor_type.ClearField("shape")
    return model.SerializeToString()


def input_shape(data, batch, size):
    """(name, shape) of the model's image input: its static dims, --batch / --size elsewhere."""
    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, logger)
    assert parser.parse(data), parser.get_error(0)
    t = network.get_input(0)
    dims = [d if d > 0 else v for d, v in zip(t.shape, (batch, 3, size, size))]
    return t.name, tuple(dims)


def build(data, batches, mode, opt_level, name):
    if mode == "full":
        os.environ["CLRT_REFINE_FULL_RUNS"] = "1"
    else:
        os.environ.pop("CLRT_REFINE_FULL_RUNS", None)
    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, logger)
    assert parser.parse(data), parser.get_error(0)
    config = builder.create_builder_config()
    config.builder_optimization_level = opt_level
    shape = batches[0].shape
    if any(d < 0 for d in network.get_input(0).shape):
        profile = builder.create_optimization_profile()
        profile.set_shape(name, (1, *shape[1:]), shape, shape)
        config.add_optimization_profile(profile)
    config.set_flag(trt.BuilderFlag.INT8)
    config.refine_int8_ranges = mode != "kl"
    calib = Calibrator(batches)
    config.int8_calibrator = calib
    t0, c0 = time.perf_counter(), time.process_time()
    assert builder.build_serialized_network(network, config) is not None
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    return secs, cpu, calib.cache, config.calibration_report


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--batches", type=int, default=16)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--modes", nargs="+", default=["kl", "partial", "full"])
    ap.add_argument("--opt-level", type=int, default=3)
    ap.add_argument("--free-batch", action="store_true", help="make the input's batch dynamic")
    args = ap.parse_args()
    print("| model | mode | build s | build CPU s | refinement s | passes | evaluated | widened |")
    print("|---|---|---|---|---|---|---|---|")
    for path in args.models:
        data = model_bytes(path, args.free_batch)
        name, shape = input_shape(data, args.batch, args.size)
        rng = np.random.default_rng(0)
        batches = [rng.standard_normal(shape).astype(np.float32) for _ in range(args.batches)]
        caches = {}
        for mode in args.modes:
            secs, cpu, cache, report = build(data, batches, mode, args.opt_level, name)
            caches[mode] = cache
            rec = report.record
            evaluated = sum(1 for t in rec["tensors"] if t["trials"])
            widened = report.summary()["refined"]
            print(
                f"| {os.path.basename(path)} | {mode} | {secs:.1f} | {cpu:.1f} "
                f"| {rec['refine_seconds']:.1f} "
                f"| {rec['refine_passes']:.1f} | {evaluated} | {widened} |",
                flush=True,
            )
        if "partial" in caches and "full" in caches:
            print(f"same cache (partial vs full): {caches['partial'] == caches['full']}")


if __name__ == "__main__":
    main()
