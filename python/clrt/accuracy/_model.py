"""clrt.accuracy's shared machinery: the model and its data as batches, engine builds that
calibrate once and reuse the cache, runs of engines and onnxruntime, the top-1 metric."""

import json
import time
from pathlib import Path

import numpy as np

import clrt as trt

from ..precision_spec import apply_layer_precisions
from ..progress import Cancelled, nested

EXPLICIT_BATCH = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
_CALIBRATOR_BASES = (
    trt.IInt8EntropyCalibrator2,
    trt.IInt8EntropyCalibrator,
    trt.IInt8MinMaxCalibrator,
    trt.IInt8LegacyCalibrator,
)
KEEP_TYPES = {"fp16": trt.DataType.HALF, "fp32": trt.DataType.FLOAT}


def model_bytes(model):
    """An ONNX model given as a path, bytes or an onnx.ModelProto, as bytes."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    if isinstance(model, (str, Path)):
        return Path(model).read_bytes()
    if hasattr(model, "SerializeToString"):
        return model.SerializeToString()
    raise TypeError(
        f"model: expected an ONNX path, bytes or ModelProto, got {type(model).__name__}"
    )


def as_batches(data, input_names, what="data"):
    """data (one array, a list of arrays for a single-input model, or a list of {name: array})
    as a list of {input name: array}; ValueError naming the item and the inputs otherwise."""
    if isinstance(data, (np.ndarray, dict)):
        data = [data]
    out = []
    for i, item in enumerate(data):
        if isinstance(item, dict):
            missing = [n for n in input_names if n not in item]
            if missing:
                raise ValueError(f"{what}[{i}] lacks input(s) {missing}; inputs: {input_names}")
            out.append({n: np.asarray(item[n]) for n in input_names})
        elif len(input_names) == 1:
            out.append({input_names[0]: np.asarray(item)})
        else:
            raise ValueError(
                f"{what}[{i}] is an array but the model has inputs {input_names}; give "
                "{name: array} dicts"
            )
    if not out:
        raise ValueError(f"{what} is empty")
    return out


def top1(outputs, labels, name):
    """Top-1 accuracy (%) of output `name` (classes on its last axis) against `labels`."""
    pred = np.concatenate(
        [np.asarray(o[name]).reshape(len(y), -1).argmax(1) for o, y in zip(outputs, labels)]
    )
    return float((pred == np.concatenate(labels)).mean() * 100.0)


def snr_db(got, ref):
    """10 log10(sum ref^2 / sum (got - ref)^2) in float64; inf when equal."""
    got, ref = np.asarray(got, np.float64).ravel(), np.asarray(ref, np.float64).ravel()
    noise = float(((got - ref) ** 2).sum())
    signal = float((ref**2).sum())
    if noise == 0.0:
        return float("inf")
    return 10.0 * np.log10(max(signal, 1e-30) / noise)


class _CacheSink:
    """Holds the first calibration cache a build wrote, for the builds after it."""

    def __init__(self, cache=None):
        self.cache = bytes(cache) if cache else None


def _reusing_calibrator(user, sink):
    """A calibrator of the user's algorithm that feeds the user's batches once, keeps the cache
    it writes in `sink` (and passes it on to the user's) and hands it back on later builds."""
    base = next(
        (b for b in _CALIBRATOR_BASES if user is not None and isinstance(user, b)),
        trt.IInt8EntropyCalibrator2,
    )

    class Reusing(base):
        def __init__(self):
            base.__init__(self)

        def get_batch_size(self):
            return user.get_batch_size() if user is not None else 1

        def get_batch(self, names, *args):
            return None if user is None else user.get_batch(names)

        def read_calibration_cache(self, *args):
            if sink.cache is None and user is not None:
                cache = user.read_calibration_cache()
                sink.cache = bytes(cache) if cache else None
            return sink.cache

        def write_calibration_cache(self, cache, *args):
            sink.cache = bytes(cache)
            if user is not None:
                user.write_calibration_cache(cache)

    if base is trt.IInt8LegacyCalibrator:
        for name in ("get_quantile", "get_regression_cutoff"):
            setattr(Reusing, name, lambda self, n=name: getattr(user, n)())
        Reusing.read_histogram_cache = lambda self, length=0: user.read_histogram_cache(length)
        Reusing.write_histogram_cache = lambda self, c, length=0: user.write_histogram_cache(
            c, length
        )
    return Reusing()


class Session:
    """One model, its data and its INT8 calibration: builds engines (counting them) in FP32,
    FP16 or INT8 with per-layer precisions, and runs them. Builder-config settings pass through
    as keywords (refine_int8_ranges=False, builder_optimization_level=0, ...)."""

    def __init__(
        self,
        model,
        data,
        labels=None,
        calibrator=None,
        cache=None,
        logger=None,
        output=None,
        keep="fp16",
        **config,
    ):
        self.model = model_bytes(model)
        self.logger = logger or trt.Logger(trt.Logger.ERROR)
        self.config = config
        # progress_monitor=... is a config setting too: builds report to it, and clrt.accuracy's
        # trials report their own phases (clrt.progress.Phase).
        self.monitor = config.get("progress_monitor")
        if keep not in KEEP_TYPES:
            raise ValueError(f"keep: '{keep}'; expected one of {', '.join(KEEP_TYPES)}")
        self.keep = keep
        self.calibrator, self.sink = calibrator, _CacheSink(cache)
        self.builds = 0
        _, network, _ = self.parse()
        self.inputs = [network.get_input(i) for i in range(network.num_inputs)]
        self.input_names = [t.name for t in self.inputs]
        self.output_names = [network.get_output(i).name for i in range(network.num_outputs)]
        self.output = output or self.output_names[0]
        if self.output not in self.output_names:
            raise ValueError(f"output: '{self.output}' is not one of {self.output_names}")
        self.batches = as_batches(data, self.input_names)
        self.labels = None
        if labels is not None:
            self.labels = [
                np.asarray(y).reshape(-1)
                for y in (labels if isinstance(labels, (list, tuple)) else [labels])
            ]
            if len(self.labels) != len(self.batches):
                raise ValueError(
                    f"labels: {len(self.labels)} arrays for {len(self.batches)} data batches"
                )
        self._reference = None

    def parse(self):
        builder = trt.Builder(self.logger)
        network = builder.create_network(EXPLICIT_BATCH)
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse(self.model):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise trt.ParseError(f"clrt.accuracy: the ONNX model does not parse: {errors}")
        return builder, network, parser

    def _profile(self, builder, calib_batch):
        """min/opt/max of each dynamic input from the data's shapes (and the calibration
        batch's leading dim); None when every input is static."""
        profile, dynamic = builder.create_optimization_profile(), False
        for t in self.inputs:
            if all(d >= 0 for d in t.shape):
                continue
            dynamic = True
            shapes = [b[t.name].shape for b in self.batches]
            if calib_batch and t.shape[0] < 0:
                shapes.append((calib_batch,) + tuple(shapes[0][1:]))
            # A dynamic batch axis accepts 1 as well: smaller batches than the data's still run.
            lo = tuple(
                1 if i == 0 and t.shape[0] < 0 else int(min(s[i] for s in shapes))
                for i in range(len(t.shape))
            )
            hi = tuple(int(max(s[i] for s in shapes)) for i in range(len(t.shape)))
            profile.set_shape(t.name, lo, tuple(shapes[0]), hi)
        return profile if dynamic else None

    def build(self, mode="int8", precisions=None):
        """An engine: mode 'fp32', 'fp16' or 'int8' (INT8 with FP16 too when keep='fp16');
        precisions: a parse_layer_precisions() dict, set as preferred layer precisions."""
        builder, network, _ = self.parse()
        config = builder.create_builder_config()
        for key, value in self.config.items():
            if not hasattr(config, key):
                raise TypeError(f"clrt.accuracy: IBuilderConfig has no setting '{key}'")
            setattr(config, key, value)
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
        config.progress_monitor = nested(self.monitor)
        int8 = mode == "int8"
        calib = _reusing_calibrator(self.calibrator, self.sink) if int8 else None
        profile = self._profile(builder, calib.get_batch_size() if calib else 0)
        if profile is not None:
            config.add_optimization_profile(profile)
        if mode == "fp16" or (int8 and self.keep == "fp16"):
            config.set_flag(trt.BuilderFlag.FP16)
        if int8:
            if self.calibrator is None and self.sink.cache is None:
                raise ValueError("clrt.accuracy: INT8 needs a calibrator or a calibration cache")
            config.set_flag(trt.BuilderFlag.INT8)
            config.int8_calibrator = calib
        if precisions:
            apply_layer_precisions(network, precisions)  # ValueError naming unknown layers
            config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
        plan = builder.build_serialized_network(network, config)
        self.builds += 1
        if plan is None:  # clrt raises on failures; None is a progress monitor's cancellation
            raise Cancelled(
                f"clrt.accuracy: the {mode} build was cancelled by the progress monitor"
            )
        return trt.Runtime(self.logger).deserialize_cuda_engine(plan)

    def run(self, engine, timings=None):
        """The engine's outputs for every batch: [{output name: array}]; appends each batch's
        milliseconds of context.infer() (copies included) to `timings` when given."""
        ctx = engine.create_execution_context()
        outs = []
        for b in self.batches:
            t0 = time.perf_counter()
            outs.append(ctx.infer(b))
            if timings is not None:
                timings.append((time.perf_counter() - t0) * 1e3)
        return outs

    def reference(self):
        """onnxruntime FP32 outputs for every batch (computed once)."""
        if self._reference is None:
            sess = ort_session(self.model)
            self._reference = [
                dict(zip(self.output_names, sess.run(self.output_names, b))) for b in self.batches
            ]
        return self._reference

    def metric(self, outputs, fn=None):
        """fn(outputs, labels) when given; else top-1 (%) with labels, or the output's SNR (dB)
        against onnxruntime FP32 without them."""
        if fn is not None:
            return float(fn(outputs, self.labels))
        if self.labels is not None:
            return top1(outputs, self.labels, self.output)
        ref = self.reference()
        got = np.concatenate([np.ravel(o[self.output]) for o in outputs])
        return snr_db(got, np.concatenate([np.ravel(r[self.output]) for r in ref]))


def ort_session(model):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(model_bytes(model), opts, providers=["CPUExecutionProvider"])


def engine_layers(engine):
    """The inspector's per-layer dicts (Name, LayerType, Precision, Origin, Inputs, Outputs)."""
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    return json.loads(info)["Layers"]
