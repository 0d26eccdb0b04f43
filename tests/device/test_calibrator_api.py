# INT8 calibrator API: the IInt8*Calibrator classes, the builder's adapter over them (through the
# _calib_source_smoke hook), calibrated builds, and the two tutorial examples.
import importlib.util
import inspect
import sys

import clrt as trt
import numpy as np
import pytest
from clrt import _clrt
from helpers import MODELS, ROOT, fmnist, make_config, parse_network

SHAPE = (8, 1, 28, 28)
smoke = _clrt._calib_source_smoke


class ArrayCalibrator(trt.IInt8EntropyCalibrator2):
    """Hands out `batches` (each a list of items, one per input) and records every call."""

    def __init__(self, batches, cache=None, batch_size=8):
        super().__init__()
        self.batches = list(batches)
        self.cache = cache
        self.batch_size = batch_size
        self.calls = []
        self.written = []

    def get_batch_size(self):
        return self.batch_size

    def get_batch(self, names):
        self.calls.append(list(names))
        return self.batches.pop(0) if self.batches else None

    def read_calibration_cache(self):
        return self.cache

    def write_calibration_cache(self, cache):
        self.written.append(cache)


def images(n=8, seed=0):
    return np.random.default_rng(seed).random((n, 1, 28, 28), dtype=np.float32)


# --- Classes -----------------------------------------------------------------------------------


def test_algorithm_types():
    algo = trt.CalibrationAlgoType
    assert [int(a) for a in (algo.LEGACY_CALIBRATION, algo.ENTROPY_CALIBRATION)] == [0, 1]
    assert [int(a) for a in (algo.ENTROPY_CALIBRATION_2, algo.MINMAX_CALIBRATION)] == [2, 3]
    for cls, expected in [
        (trt.IInt8EntropyCalibrator2, algo.ENTROPY_CALIBRATION_2),
        (trt.IInt8EntropyCalibrator, algo.ENTROPY_CALIBRATION),
        (trt.IInt8MinMaxCalibrator, algo.MINMAX_CALIBRATION),
        (trt.IInt8LegacyCalibrator, algo.LEGACY_CALIBRATION),
    ]:
        assert issubclass(cls, trt.IInt8Calibrator)
        assert cls().get_algorithm() == expected
        methods = {"get_batch_size": lambda self: 1, "get_batch": lambda self, names: None}
        sub = type("Sub", (cls,), methods)
        assert sub().get_algorithm() == expected
        assert smoke(sub(), ["x"], [(1, 1)])["algorithm"] == expected
    with pytest.raises(NotImplementedError, match="get_algorithm"):
        trt.IInt8Calibrator().get_algorithm()


def test_legacy_defaults_and_overrides():
    legacy = trt.IInt8LegacyCalibrator()
    assert legacy.get_quantile() == pytest.approx(0.9999)
    assert legacy.get_regression_cutoff() == 1.0
    assert legacy.read_histogram_cache() is None

    class Legacy(trt.IInt8LegacyCalibrator):
        def __init__(self, quantile):
            super().__init__()
            self.quantile, self.hist = quantile, []

        def get_batch_size(self):
            return 1

        def get_batch(self, names):
            return None

        def get_quantile(self):
            return self.quantile

        def read_histogram_cache(self, length):
            return b"hist"

        def write_histogram_cache(self, cache, length):
            self.hist.append((cache, length))

    calib = Legacy(0.5)
    out = smoke(calib, ["x"], [(1,)], write_cache=b"TRT-cache")
    assert out["quantile"] == 0.5 and out["regression_cutoff"] == 1.0
    assert out["histogram_cache"] == b"hist"
    assert calib.hist == [(b"TRT-cache", 9)]
    with pytest.raises(ValueError, match=r"get_quantile\(\) must return a float in \(0, 1\]"):
        smoke(Legacy(1.5), ["x"], [(1,)])


def test_base_init_required():
    class Forgot(trt.IInt8EntropyCalibrator2):
        def __init__(self, data):
            self.data = data

    with pytest.raises(TypeError, match=r"Forgot.__init__ did not call the base class __init__"):
        Forgot(1)
    with pytest.raises(TypeError, match=r"trt.IInt8EntropyCalibrator2.__init__\(self\)"):
        Forgot(1)

    class Explicit(trt.IInt8MinMaxCalibrator):
        def __init__(self):
            trt.IInt8MinMaxCalibrator.__init__(self)

        def get_batch_size(self):
            return 1

        def get_batch(self, names):
            return None

    class Child(Explicit):  # a subclass of a subclass, calling its parent's __init__
        def __init__(self):
            super().__init__()

    assert smoke(Child(), ["x"], [(1,)])["batch_size"] == 1

    # The check wraps the user's __init__ without hiding it: name, docstring and signature stay.
    class Documented(trt.IInt8EntropyCalibrator2):
        def __init__(self, data, *, cache=None):
            """Calibrates on data."""
            super().__init__()

    init = Documented.__init__
    assert (init.__name__, init.__doc__) == ("__init__", "Calibrates on data.")
    assert str(inspect.signature(init)) == "(self, data, *, cache=None)"
    Documented([1], cache=None)

    # An instance with no C++ object behind it (made with __new__) is refused when used.
    with pytest.raises(ValueError, match="Forgot.__init__ did not call the base class __init__"):
        smoke(Forgot.__new__(Forgot), ["x"], [(1,)])


def test_not_a_calibrator():
    class Duck:
        def get_batch(self, names):
            return None

    with pytest.raises(ValueError, match="IInt8Calibrator subclass.*got Duck"):
        smoke(Duck(), ["x"], [(1,)])
    with pytest.raises(ValueError, match="is the class ArrayCalibrator; assign an instance"):
        smoke(ArrayCalibrator, ["x"], [(1,)])


def test_missing_methods():
    class Bare(trt.IInt8EntropyCalibrator2):
        pass

    with pytest.raises(trt.BuildError, match="get_batch_size raised NotImplementedError") as info:
        smoke(Bare(), ["x"], [(1,)])
    assert "Bare does not define get_batch_size(self)" in str(info.value.__cause__)


@pytest.mark.parametrize("size", [0, -2, "8", 2.0, None])
def test_bad_batch_size(size):
    with pytest.raises(ValueError, match="get_batch_size\\(\\) must return a positive int"):
        smoke(ArrayCalibrator([], batch_size=size), ["x"], [SHAPE])


# --- Batches -----------------------------------------------------------------------------------


def test_numpy_batches():
    a, b = images(seed=1), images(seed=2)
    calib = ArrayCalibrator([[a], (b.astype(np.float64),), [a.astype(np.float16)]])
    out = smoke(calib, ["input"], [SHAPE])
    assert out["batch_size"] == 8 and out["cache"] is None
    assert len(out["batches"]) == 3 and calib.calls == [["input"]] * 4  # the 4th returned None
    np.testing.assert_array_equal(out["batches"][0][0], a)
    np.testing.assert_allclose(out["batches"][1][0], b, rtol=1e-7)
    assert all(batch[0].dtype == np.float32 for batch in out["batches"])


def test_two_inputs_and_empty_list_ends():
    a, b = images(2), images(2, seed=3)[:, :, :4, :4]
    calib = ArrayCalibrator([[a, b], []])
    out = smoke(calib, ["x", "y"], [a.shape, b.shape], write_cache=b"TRT-x")
    assert len(out["batches"]) == 1
    np.testing.assert_array_equal(out["batches"][0][1], b)
    # A memoryview of the cache, as TensorRT passes a buffer (Polygraphy calls cache.tobytes()).
    assert calib.written == [b"TRT-x"] and isinstance(calib.written[0], memoryview)


def test_device_pointers():
    a, b = images(seed=4), images(seed=5)
    buf = trt.mem_alloc(a.nbytes)
    trt.memcpy_htod(buf, a)
    other = trt.mem_alloc(b.nbytes)
    trt.memcpy_htod(other, b)
    out = smoke(ArrayCalibrator([[int(buf)], [other]]), ["input"], [SHAPE])
    np.testing.assert_array_equal(out["batches"][0][0], a)
    np.testing.assert_array_equal(out["batches"][1][0], b)

    class PycudaStyle:  # pycuda's DeviceAllocation: __int__ only
        def __int__(self):
            return int(buf)

    out = smoke(ArrayCalibrator([[PycudaStyle()]]), ["input"], [SHAPE])
    np.testing.assert_array_equal(out["batches"][0][0], a)

    small = trt.mem_alloc(a.nbytes // 2)
    with pytest.raises(ValueError, match="calibration input 'input'.*allocation holds 12544 bytes"):
        smoke(ArrayCalibrator([[small]]), ["input"], [SHAPE])
    with pytest.raises(ValueError, match="calibration input 'input'.*not a live device allocation"):
        smoke(ArrayCalibrator([[12345]]), ["input"], [SHAPE])


def test_wrong_count_shape_dtype():
    x = images()
    with pytest.raises(ValueError, match=r"returned 2 items for the 1 input \['input'\]"):
        smoke(ArrayCalibrator([[x, x]]), ["input"], [SHAPE])
    expected = (
        "calibration input 'x': expected shape (8, 1, 28, 28) float32, got (4, 1, 28, 28) float32"
    )
    with pytest.raises(ValueError) as info:
        smoke(ArrayCalibrator([[x[:4]]]), ["x"], [SHAPE])
    assert str(info.value) == expected
    with pytest.raises(
        ValueError, match=r"input 'x': expected .* float32, got \(8, 1, 28, 28\) uint8"
    ):
        smoke(ArrayCalibrator([[(x * 255).astype(np.uint8)]]), ["x"], [SHAPE])
    with pytest.raises(
        ValueError, match="must return a list with one NumPy array or device pointer"
    ):
        smoke(ArrayCalibrator([x]), ["x"], [SHAPE])  # the array itself, not a list of it
    with pytest.raises(ValueError, match="calibration input 'x': expected shape"):
        smoke(ArrayCalibrator([["abc"]]), ["x"], [SHAPE])


def test_exception_in_get_batch_is_chained():
    class Failing(ArrayCalibrator):
        def get_batch(self, names):
            raise ValueError("no more data on disk")

    with pytest.raises(trt.BuildError) as info:
        smoke(Failing([]), ["input"], [SHAPE])
    assert str(info.value) == "calibrator.get_batch raised ValueError: no more data on disk"
    cause = info.value.__cause__
    assert isinstance(cause, ValueError) and str(cause) == "no more data on disk"
    assert cause.__traceback__ is not None

    class Interrupted(ArrayCalibrator):
        def get_batch(self, names):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        smoke(Interrupted([]), ["input"], [SHAPE])


# --- Caches ------------------------------------------------------------------------------------


def test_cache_skips_batches():
    calib = ArrayCalibrator([[images()]], cache=b"TRT-8601-EntropyCalibration2\ninput: 3c010a14\n")
    out = smoke(calib, ["input"], [SHAPE])
    assert out["cache"].startswith(b"TRT-") and out["batches"] == [] and calib.calls == []
    for empty in (b"", bytearray(), ""):
        calib = ArrayCalibrator([[images()]], cache=empty)
        assert len(smoke(calib, ["input"], [SHAPE])["batches"]) == 1
    assert smoke(ArrayCalibrator([], cache="TRT-text"), ["x"], [SHAPE])["cache"] == b"TRT-text"
    with pytest.raises(ValueError, match=r"read_calibration_cache\(\) must return bytes"):
        smoke(ArrayCalibrator([], cache=42), ["x"], [SHAPE])


def test_tutorial_signatures():
    class Tutorial(trt.IInt8EntropyCalibrator2):
        def __init__(self, cache):
            trt.IInt8EntropyCalibrator2.__init__(self)
            self.cache, self.read_with, self.written = cache, None, None

        def get_batch_size(self):
            return 1

        def get_batch(self, names, p_str=None):
            return None

        def read_calibration_cache(self, length):
            self.read_with = length
            return self.cache

        def write_calibration_cache(self, cache, size):
            self.written = (cache, size)

    calib = Tutorial(None)
    smoke(calib, ["x"], [(1,)], write_cache=b"TRT-abc")
    assert calib.read_with == 0 and calib.written == (b"TRT-abc", 7)
    assert smoke(Tutorial(bytearray(b"TRT-1")), ["x"], [(1,)])["cache"] == b"TRT-1"

    class Raises(Tutorial):  # a TypeError inside the method is the user's, not an arity probe
        def read_calibration_cache(self, length):
            raise TypeError("bad cache file")

    with pytest.raises(trt.BuildError, match="read_calibration_cache raised TypeError") as info:
        smoke(Raises(None), ["x"], [(1,)])
    assert str(info.value.__cause__) == "bad cache file"


# --- Calibrated builds (need the builder's INT8 calibration) -----------------------------------

needs_data = pytest.mark.skipif(not fmnist.available(), reason="Fashion-MNIST not installed")


def int8_build(calibrator, batch=8):
    builder, network, _ = parse_network(MODELS / "fmnist_cnn.onnx")
    shape = (batch, 1, 28, 28)
    config = make_config(builder, {"input": (shape, shape, shape)}, opt_level=0)
    config.set_flag(trt.BuilderFlag.INT8)
    config.int8_calibrator = calibrator
    return builder.build_serialized_network(network, config)


@needs_data
def test_calibrated_build_writes_and_reuses_cache():
    x, _ = fmnist.load("train")
    calib = ArrayCalibrator([[x[i : i + 8]] for i in range(0, 32, 8)])
    assert int8_build(calib) is not None
    assert len(calib.calls) >= 4 and calib.calls[0] == ["input"]
    assert len(calib.written) == 1 and bytes(calib.written[0]).startswith(b"TRT-")
    again = ArrayCalibrator([[x[:8]]], cache=calib.written[0])
    assert int8_build(again) is not None
    assert again.calls == []


@needs_data
def test_calibrated_build_errors():
    class Failing(ArrayCalibrator):
        def get_batch(self, names):
            raise ValueError("broken loader")

    with pytest.raises(trt.BuildError, match="get_batch raised ValueError: broken loader") as info:
        int8_build(Failing([]))
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises((trt.BuildError, ValueError), match="calibration input 'input'"):
        int8_build(ArrayCalibrator([[images(4)]]))
    with pytest.raises((trt.BuildError, ValueError), match="IInt8Calibrator subclass"):
        int8_build(object())


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_data
@pytest.mark.parametrize(
    "name, argv, cache",
    [
        ("calibrate_seed000", ["--calib-images", "32"], "calibration_cache.bin"),
        ("calibrate_seed003", ["--calib-images", "64", "--batch", "16"], "calibration.cache"),
    ],
)
def test_examples(name, argv, cache, tmp_path, monkeypatch, capsys):
    if name.endswith("003"):
        pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)  # the tutorials write their cache (and engine) to the cwd
    monkeypatch.setattr(sys, "path", list(sys.path))
    acc = load_example(name).main(argv + ["--test-images", "500"])
    assert abs(acc["fp32"] - acc["int8"]) <= 0.01, acc
    assert acc["fp32"] > 0.8
    assert (tmp_path / cache).read_bytes().startswith(b"TRT-")
    assert "batches" in capsys.readouterr().out  # the progress bar
