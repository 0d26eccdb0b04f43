"""clrtexec's INT8 ranges: --calibData (an Entropy2 calibrator over .npy batches, with a progress
bar), --calib caches, and trtexec's placeholder ranges when --int8 has neither."""

import os
import sys
from pathlib import Path

import numpy as np

import clrt as trt

_FLOATS = (trt.DataType.FLOAT, trt.DataType.HALF)


class CalibError(Exception):
    """Calibration data or cache cannot be used: clrtexec exits 1."""


def load_calib_data(path, inputs):
    """{input name: float32 samples (axis 0)} from a .npy file or a folder of them. A folder whose
    files are named after the inputs (<input>.npy) feeds each input its file; otherwise all its
    files are concatenated, in name order, for a single-input network. `inputs`: {name: shape}."""
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.npy"))
        if not files:
            raise CalibError(f"--calibData: no .npy files in folder '{path}'")
        stems = {f.stem: f for f in files}
        if all(n in stems for n in inputs):
            return {n: _samples(np.load(stems[n]), shape, n) for n, shape in inputs.items()}
        arrays = [np.load(f) for f in files]
    elif p.is_file():
        arrays = [np.load(p)]
    else:
        raise CalibError(f"--calibData: no such file or folder: {path}")
    if len(inputs) != 1:
        raise CalibError(
            f"--calibData: the network has inputs {', '.join(inputs)}; give a folder "
            "holding one <input name>.npy per input"
        )
    ((name, shape),) = inputs.items()
    return {name: np.concatenate([_samples(a, shape, name) for a in arrays])}


def _samples(a, shape, name):
    """Samples of one input on axis 0 (a single sample may leave the batch axis out)."""
    if a.dtype.kind != "f":
        # Raw pixels (uint8) calibrate the ranges of data the network never sees at inference.
        raise CalibError(
            f"--calibData: samples for input '{name}' are {a.dtype}; calibration data must be "
            "floating point, preprocessed exactly as the network's inputs at inference (e.g. "
            f"np.save(path, (x / 255.0).astype(np.float32)) for {a.dtype} pixels in 0..255)"
        )
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == len(shape) - 1:
        a = a[None]
    if a.ndim != len(shape) or any(d >= 0 and d != s for d, s in zip(shape[1:], a.shape[1:])):
        raise CalibError(
            f"--calibData: samples for input '{name}' have shape {a.shape[1:]}; the "
            f"input takes {tuple(shape[1:])} per sample"
        )
    return a


class Progress:
    """A text progress bar on stderr: '[calib] |#####.....| 12/40 batches'."""

    def __init__(self, total, stream=None, width=30):
        self.total, self.width, self.done = total, width, 0
        self.stream = stream or sys.stderr

    def step(self):
        self.done += 1
        filled = self.width * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if self.done >= self.total else ""
        self.stream.write(f"\r[calib] |{bar}| {self.done}/{self.total} batches{end}")
        self.stream.flush()


def make_calibrator(data, batch_size, cache_path, write_cache):
    """An IInt8EntropyCalibrator2 over `data` ({name: samples}) in batches of `batch_size`;
    with no data it only reads the cache."""
    base = trt.IInt8EntropyCalibrator2

    class NpyEntropyCalibrator(base):
        def __init__(self):
            base.__init__(self)
            count = min((len(a) for a in data.values()), default=0) // batch_size
            self.batches = [
                {
                    n: np.ascontiguousarray(a[i * batch_size : (i + 1) * batch_size])
                    for n, a in data.items()
                }
                for i in range(count)
            ]
            self.index = 0
            self.progress = Progress(count) if count else None
            self.device = {}

        def get_batch_size(self):
            return batch_size

        def get_batch(self, names, *args):
            if self.index >= len(self.batches):
                return None
            batch = self.batches[self.index]
            self.index += 1
            pointers = []
            for n in names:
                if n not in batch:
                    raise ValueError(f"calibration data has no input '{n}'")
                if n not in self.device:
                    self.device[n] = trt.mem_alloc(batch[n].nbytes)
                trt.memcpy_htod(self.device[n], batch[n])
                pointers.append(int(self.device[n]))
            self.progress.step()
            return pointers

        def read_calibration_cache(self):
            if data or not cache_path or not os.path.isfile(cache_path):
                return None  # real data given: calibrate afresh
            return Path(cache_path).read_bytes()

        def write_calibration_cache(self, cache):
            if write_cache and cache_path:
                Path(cache_path).write_bytes(bytes(cache))

    return NpyEntropyCalibrator()


def apply_placeholder_ranges(network, in_range=2.0, out_range=4.0):
    """trtexec's setTensorScales: +-2 on layer inputs, +-4 on outputs (a pooling output keeps
    its input's range; concat inputs take the output range) for float tensors without one."""
    pooling = trt.LayerType.POOLING
    concat = trt.LayerType.CONCATENATION

    def set_range(t, r):
        if t is not None and t.dtype in _FLOATS and t.dynamic_range is None:
            t.set_dynamic_range(-r, r)

    for i in range(network.num_layers):
        layer = network.get_layer(i)
        for j in range(layer.num_inputs):
            set_range(layer.get_input(j), out_range if layer.type == concat else in_range)
        for j in range(layer.num_outputs):
            set_range(layer.get_output(j), in_range if layer.type == pooling else out_range)
