# infer()'s host conversions for narrow uploads (runtime/host_io.cc), against NumPy bit for bit:
# INT8 quantization as the REFORMAT kernel computes it, and float -> half. Both the vector paths
# (SSE2, F16C) and the scalar ones (CLRT_HOST_SIMD=0, what CPUs without them run); sizes with a
# scalar tail.
import clrt as trt
import numpy as np
import pytest

DEBUG = trt._clrt._debug


def quantize_ref(x, inv):
    """clamp(x * inv, -127, 127) with NaN to -127 (OpenCL's clamp is fmin(fmax())), rounded half
    to even, in float32 arithmetic."""
    with np.errstate(over="ignore", invalid="ignore"):
        v = x * np.float32(inv)
    v = np.where(np.isnan(v), np.float32(-127), v)
    return np.rint(np.clip(v, -127, 127)).astype(np.int8)


def samples(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(np.float32) * np.float32(10.0) ** rng.integers(-8, 6, n)
    return x.astype(np.float32)


@pytest.mark.parametrize("simd", ["1", "0"])
@pytest.mark.parametrize("n", [1 << 16, 100_003])
def test_int8_quantization_matches_the_kernel_formula(monkeypatch, simd, n):
    monkeypatch.setenv("CLRT_HOST_SIMD", simd)
    x = samples(n, seed=1)
    ties = (np.arange(-130, 130, dtype=np.float32) + np.float32(0.5)) / np.float32(4)
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45, 3e38, -3e38], np.float32)
    x[: ties.size] = ties  # exact ties at inv = 4, through the vector loop
    x[-special.size :] = special  # the scalar tail (n not a multiple of 16) or the last vectors
    x[-special.size - ties.size : -special.size] = ties
    for inv in (4.0, 31.75, 1 / 0.0314961):
        np.testing.assert_array_equal(DEBUG.host_quantize(x, inv), quantize_ref(x, inv))


@pytest.mark.parametrize("simd", ["1", "0"])
@pytest.mark.parametrize("n", [1 << 16, 100_003])
def test_half_conversion_matches_numpy(monkeypatch, simd, n):
    monkeypatch.setenv("CLRT_HOST_SIMD", simd)
    x = samples(n, seed=2)
    special = [65504, 65520, 65519.99, 1e30, 6e-8, 2.0**-25, 1.5 * 2.0**-24, 1 + 2.0**-11]
    special += [1 + 3 * 2.0**-11, -0.0, np.inf, -np.inf, np.nan, 1e-45]
    special = np.array(special, np.float32)
    x[: special.size] = special
    x[-special.size :] = special
    got = DEBUG.host_halves(x)
    with np.errstate(over="ignore"):
        want = x.astype(np.float16).view(np.uint16)
    nan = np.isnan(x)
    np.testing.assert_array_equal(got[~nan], want[~nan])
    assert np.isnan(got[nan].view(np.float16)).all()  # payloads may differ
