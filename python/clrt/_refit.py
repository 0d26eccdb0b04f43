"""TensorRT's Refitter over clrt's refittable engines (BuilderFlag.REFIT).

A refittable engine keeps the network as its graph passes received it. refit_cuda_engine()
replays those passes over the weights set on the refitter (batch norms fold into convolutions
again, constant subgraphs are recomputed) and loads the engine anew from the same tactics,
precisions, INT8 ranges and compiled programs: the same engine as a fresh build with those
weights would give if its tactic choices were the same, without timing anything.

Differences from TensorRT, each said where it applies: weights not set keep the values the engine
has (get_missing() is always empty: a replay needs no weights grouped), and execution contexts
made before a refit raise an error on their next run (make a new one) instead of running the new
weights.
"""

import enum

import numpy as np

from . import _clrt


class WeightsRole(enum.IntEnum):
    """Which weights of a layer: TensorRT's roles (and values)."""

    KERNEL = 0
    BIAS = 1
    SHIFT = 2
    SCALE = 3
    CONSTANT = 4
    ANY = 5


_KEY_OF_ROLE = {
    WeightsRole.KERNEL: "kernel",
    WeightsRole.BIAS: "bias",
    WeightsRole.SHIFT: "shift",
    WeightsRole.SCALE: "scale",
    WeightsRole.CONSTANT: "value",
}
_ROLE_OF_KEY = {key: role for role, key in _KEY_OF_ROLE.items()}


def _bf16():
    from . import DataType, nptype

    return nptype(DataType.BF16)


# ONNX TensorProto float types -> NumPy dtype (factories: BF16's type comes from ml_dtypes)
_ONNX_FLOAT_TYPES = {
    1: lambda: np.float32,
    10: lambda: np.float16,
    11: lambda: np.float64,
    16: _bf16,
}


class Refitter:
    """Refitter(engine, logger): sets new weights into a refittable engine.

    set_weights(layer_name, role, weights) names weights as the network API does;
    refit_cuda_engine() applies everything set so far and returns True, or logs an error through
    the logger and returns False, as TensorRT does."""

    # weights_validation: non-finite float weights are refused (False lets them through);
    # max_threads: kept (a refit runs on one thread); logger: where errors go.
    weights_validation = True
    max_threads = 1
    logger = None

    def __init__(self, engine, logger):
        if not engine.refittable:
            raise ValueError(
                "Refitter: the engine is not refittable; build it with "
                "config.set_flag(BuilderFlag.REFIT)"
            )
        self.engine = engine
        self.logger = logger
        self.weights_validation = True
        self.max_threads = 1
        from . import nptype

        self._specs = {
            (layer, key): (tuple(dims), np.dtype(nptype(dtype)))
            for layer, key, dims, dtype in engine._refit_weights()
        }
        self._named = {
            name: (tuple(dims), np.dtype(_ONNX_FLOAT_TYPES[onnx_type]()))
            for name, dims, onnx_type in engine._refit_named()
        }
        self._pending, self._named_pending = {}, {}
        self._ranges = dict(engine._refit_ranges())  # INT8 tensor -> amax
        self._ranges_pending = {}  # tensor -> (min, max) set, not yet refit

    # --- TensorRT's interface -----------------------------------------------------------------

    def set_weights(self, layer_name, role, weights):
        """New weights for a layer's role (KERNEL, BIAS, SHIFT, SCALE, CONSTANT): as many values
        as the layer holds, in its dtype or convertible to it. False (with an error logged) when
        the layer has no such weights or the values do not fit."""
        key = _KEY_OF_ROLE.get(WeightsRole(int(role)))
        return self._set(
            (str(layer_name), key), weights, f"layer '{layer_name}' {WeightsRole(int(role)).name}"
        )

    def get_all(self):
        """([layer names], [roles]) of every weights a refit can set."""
        pairs = [(layer, _ROLE_OF_KEY[key]) for layer, key in self._specs if key in _ROLE_OF_KEY]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def set_named_weights(self, name, weights, location=None):
        """New values for an ONNX initializer of the model the engine was parsed from
        (get_all_weights() lists them): weights the model computes from it (a batch norm's
        scale and shift, a transposed matrix) follow at refit_cuda_engine(). location
        TensorLocation.DEVICE reads a Weights(dtype, device pointer, count). False (with an error
        logged) for unknown names or values that do not fit."""
        name = str(name)
        if name not in self._named:
            why = (
                "the engine's network was not parsed from ONNX; use set_weights(layer, role, w)"
                if not self._named
                else "get_all_weights() lists the initializers that can be set"
            )
            self._error(f"set_named_weights: the model has no float initializer '{name}' ({why})")
            return False
        try:
            if _is_device(location):  # host pointers: Weights.numpy() reads them
                weights = _device_weights(weights)
        except ValueError as e:
            self._error(f"set_named_weights: '{name}': {e}")
            return False
        dims, dtype = self._named[name]
        array = self._checked(weights, dims, dtype, f"initializer '{name}'", "set_named_weights")
        if array is None:
            return False
        self._named_pending[name] = array
        return True

    def unset_named_weights(self, name):
        """Forgets values set for `name` (the engine's stay). True when `name` can be set."""
        self._named_pending.pop(str(name), None)
        return str(name) in self._named

    def get_named_weights(self, name):
        """The values set for `name` as Weights (empty Weights when none were set, as TensorRT
        gives null weights)."""
        from . import Weights

        array = self._named_pending.get(str(name))
        return Weights() if array is None else Weights(array.reshape(self._named[str(name)][0]))

    def get_weights_prototype(self, name):
        """Weights with the dtype and element count the initializer `name` takes (zeros)."""
        from . import Weights

        if str(name) not in self._named:
            raise KeyError(f"the model has no float initializer '{name}'")
        dims, dtype = self._named[str(name)]
        return Weights(np.zeros(dims, dtype))

    def get_weights_location(self, name):
        from . import TensorLocation

        return TensorLocation.HOST

    def get_all_weights(self):
        """The float initializers of the ONNX model the engine was parsed from: what
        set_named_weights (and OnnxParserRefitter) can set."""
        return sorted(self._named)

    def get_missing_weights(self):
        """[]: weights not set keep the engine's values."""
        return []

    def get_missing(self):
        """([], []): weights not set keep the engine's values (a refit replays the graph passes,
        so no weights have to be given together)."""
        return [], []

    def refit_cuda_engine(self):
        """Applies the weights and ranges set so far. True on success; False with the reason
        logged."""
        updates = [(layer, key, array) for (layer, key), array in self._pending.items()]
        named = list(self._named_pending.items())
        amax = {name: max(abs(lo), abs(hi)) for name, (lo, hi) in self._ranges_pending.items()}
        try:
            self.engine._refit(updates, named, amax)
        except (ValueError, _clrt.BuildError) as e:
            self._error(f"refit_cuda_engine: {e}")
            return False
        self._ranges.update(amax)
        self._ranges_pending.clear()
        return True

    def get_tensors_with_dynamic_range(self):
        """The engine's INT8 tensors: those whose range set_dynamic_range can change."""
        return sorted(self._ranges)

    def get_dynamic_range(self, tensor_name):
        """(min, max) of an INT8 tensor: the one set and not yet refit, else the engine's
        (symmetric: -amax, amax). ValueError for a tensor the engine holds in no INT8 form."""
        name = str(tensor_name)
        if name in self._ranges_pending:
            return self._ranges_pending[name]
        if name not in self._ranges:
            raise ValueError(self._no_range(name))
        amax = float(np.float32(self._ranges[name]))
        return (-amax, amax)

    def set_dynamic_range(self, tensor_name, range, high=None):
        """A new INT8 range for a tensor, [min, max] (TensorRT's Python form; (tensor, min, max)
        as its C++ one is taken too), applied by refit_cuda_engine(): the scale becomes
        max(|min|, |max|) / 127, as the builder sets it from a dynamic range (clrt's INT8 is
        symmetric). False (with an error logged) for a tensor that is not INT8 in the engine
        or a range that is empty or not finite."""
        name = str(tensor_name)
        if name not in self._ranges:
            self._error(f"set_dynamic_range: {self._no_range(name)}")
            return False
        lo, hi = (range, high) if high is not None else tuple(range)
        lo, hi = float(lo), float(hi)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi and (lo < 0 or hi > 0)):
            self._error(
                f"set_dynamic_range: tensor '{name}': range [{lo}, {hi}] must be finite, "
                "ordered and not only zero"
            )
            return False
        self._ranges_pending[name] = (lo, hi)
        return True

    def _no_range(self, name):
        some = ", ".join(sorted(self._ranges)[:5]) or "none"
        return (
            f"tensor '{name}' is not an INT8 tensor of the engine "
            f"(get_tensors_with_dynamic_range() lists them; some: {some})"
        )

    def refit_cuda_engine_async(self, stream_handle=0):
        """As refit_cuda_engine() (clrt refits before returning)."""
        return self.refit_cuda_engine()

    # --- internals ----------------------------------------------------------------------------

    def _set(self, where, weights, what):
        if where not in self._specs:
            layer = where[0]
            known = sorted({k[1] for k in self._specs if k[0] == layer})
            why = (
                f"the layer has weights {', '.join(known)}"
                if known
                else "no refittable layer has this name"
            )
            self._error(f"set_weights: {what}: {why}")
            return False
        dims, dtype = self._specs[where]
        array = self._checked(weights, dims, dtype, what, "set_weights")
        if array is None:
            return False
        self._pending[where] = array
        return True

    def _checked(self, weights, dims, dtype, what, call):
        """weights as a flat contiguous array of dtype with the element count of dims, or None
        with the reason logged."""
        try:
            array = _as_array(weights, dtype, what)
        except (TypeError, ValueError) as e:
            self._error(f"{call}: {e}")
            return None
        count = int(np.prod(dims, dtype=np.int64))
        if array.size != count:
            self._error(
                f"{call}: {what} holds {count} values (shape {list(dims)}); got {array.size}"
            )
            return None
        if self.weights_validation and array.dtype.kind == "f" and not np.isfinite(array).all():
            bad = int(np.flatnonzero(~np.isfinite(array.reshape(-1)))[0])
            self._error(
                f"{call}: {what} has a non-finite value at flat index {bad} "
                "(refitter.weights_validation = False skips this check)"
            )
            return None
        return np.ascontiguousarray(array.reshape(-1))

    def _error(self, message):
        if self.logger is not None:
            self.logger.log(_clrt.ILogger.Severity.ERROR, message)


def _is_device(location):
    from . import TensorLocation

    return location is not None and int(location) == int(TensorLocation.DEVICE)


def _device_weights(weights):
    """The values behind a Weights(dtype, device pointer, count), read from the device."""
    from . import nptype

    pointer = getattr(weights, "pointer", None)
    if pointer is None:
        raise ValueError(
            "TensorLocation.DEVICE takes Weights(dtype, device pointer, count) (a pointer from "
            "mem_alloc or cudaMalloc)"
        )
    ptr, count = pointer
    array = np.empty(count, nptype(weights.dtype))
    _clrt.memcpy_dtoh(array, ptr)
    return array


class _RefitError:
    """One error of OnnxParserRefitter (get_error): desc() says what."""

    def __init__(self, text):
        self._text = text

    def desc(self):
        return self._text

    def __str__(self):
        return self._text

    __repr__ = __str__


class OnnxParserRefitter:
    """OnnxParserRefitter(refitter, logger): sets a Refitter's named weights from the
    initializers of an ONNX model (the one the engine was built from, with new values; weight
    stripping's workflow). Then call refitter.refit_cuda_engine()."""

    def __init__(self, refitter, logger):
        self.refitter = refitter
        self.logger = logger
        self._errors = []

    def refit_from_file(self, filename):
        """True when every initializer naming a refittable weight was set."""
        import onnx
        from google.protobuf.message import DecodeError

        try:
            model = onnx.load(str(filename))
        except (OSError, ValueError, DecodeError) as e:
            return self._fail(f"refit_from_file: cannot read '{filename}': {e}")
        return self._refit(model, str(filename))

    def refit_from_bytes(self, model, path=None):
        """As refit_from_file, from serialized model bytes; `path` locates external data."""
        import os

        import onnx
        from google.protobuf.message import DecodeError
        from onnx import external_data_helper

        try:
            proto = onnx.load_from_string(bytes(model))
            if path:
                external_data_helper.load_external_data_for_model(proto, os.path.dirname(str(path)))
        except (OSError, ValueError, DecodeError) as e:
            return self._fail(f"refit_from_bytes: cannot read the model: {e}")
        return self._refit(proto, path or "<bytes>")

    @property
    def num_errors(self):
        return len(self._errors)

    def get_error(self, index):
        return self._errors[index]

    def clear_errors(self):
        self._errors.clear()

    def _refit(self, model, where):
        from onnx import numpy_helper

        names = set(self.refitter.get_all_weights())
        found = 0
        ok = True
        for init in model.graph.initializer:
            if init.name not in names:
                continue
            found += 1
            if not self.refitter.set_named_weights(init.name, numpy_helper.to_array(init)):
                ok = self._fail(f"{where}: initializer '{init.name}' does not fit the engine")
        if not found and names:
            shown = ", ".join(sorted(names)[:5])
            return self._fail(
                f"{where}: no initializer names a refittable weight of the engine (such as "
                f"{shown}); is it the model the engine was built from?"
            )
        return ok

    def _fail(self, text):
        self._errors.append(_RefitError(text))
        if self.logger is not None:
            self.logger.log(_clrt.ILogger.Severity.ERROR, text)
        return False


def _as_array(weights, want, what):
    """weights (ndarray, clrt.Weights, list) as an array of NumPy dtype `want`."""
    values = getattr(weights, "numpy", None)
    array = np.asarray(values() if callable(values) else weights)
    if array.dtype != want:
        if array.dtype.kind not in "fiub" or (want.kind != "f" and array.dtype.kind == "f"):
            raise TypeError(f"{what}: weights of dtype {array.dtype} do not convert to {want}")
        array = array.astype(want)
    return array
