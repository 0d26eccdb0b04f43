"""INT8 calibration math (clrt._clrt._quant) on synthetic histograms against the NumPy
references in tests/calib_reference.py; no device (histograms come from NumPy). Tolerances:
- percentile amax: relative 1e-6 (same arithmetic, float32 result);
- entropy amax: the same bin (equal within 1e-6 relative, i.e. well inside one bin width
  range/2048), and the divergence of clrt's choice equal to the reference minimum within
  1e-9 relative + 1e-12 (the tie rule both use: the smallest near-minimal threshold wins);
- cache text: exact (float32 bits).
"""

import math

import clrt  # noqa: F401  (loads the extension and its exception types)
import numpy as np
import pytest
from calib_reference import (
    ALGOS,
    BINS,
    KINDS,
    bits_to_float,
    make_data,
    ref_divergences,
    ref_entropy_amax,
    ref_format_cache,
    ref_hist,
    ref_percentile_amax,
)
from clrt import _clrt

Q = _clrt._quant


@pytest.fixture(scope="module", params=KINDS)
def dataset(request):
    x = make_data(request.param, seed=KINDS.index(request.param))
    absmax = float(np.abs(x).max())  # what MinMax calibration takes as amax
    return request.param, x, absmax, ref_hist(x, absmax)


# ---- algorithms --------------------------------------------------------------------------------


def test_entropy_matches_reference(dataset):
    kind, x, absmax, hist = dataset
    kl = ref_divergences(hist)
    width = absmax / BINS
    for version in (2, 1):
        want, i = ref_entropy_amax(hist, absmax, version, kl)
        got = Q.entropy_amax(hist, absmax, version)
        assert abs(got - want) <= 1e-6 * want, (kind, version, got, want)
        assert got <= absmax
        # clrt's threshold bin is a minimum of the reference divergence.
        j = round(got / width - (0.5 if version == 2 else 0.0))
        assert j == i and kl[j] <= kl.min() + 1e-9 * abs(kl.min()) + 1e-12
    # The outliers are clipped: the threshold sits far below them but above the bulk.
    amax = Q.entropy_amax(hist, absmax, 2)
    assert amax < 0.5 * absmax
    assert amax > np.percentile(np.abs(x), 99.0)


def test_percentile_matches_reference(dataset):
    _, x, absmax, hist = dataset
    width = absmax / BINS
    for pct in (0.0, 50.0, 99.0, 99.9, 99.99, 99.999, 100.0):
        want = ref_percentile_amax(hist, absmax, pct)
        got = Q.percentile_amax(hist, absmax, pct)
        assert got == pytest.approx(want, rel=1e-6, abs=1e-12), pct
        if 0.0 < pct <= 99.9:  # and near the data's own percentile where the bins are dense
            assert abs(got - np.percentile(np.abs(x), pct)) <= 2 * width, pct
    assert Q.percentile_amax(hist, absmax, 100.0) == pytest.approx(absmax, rel=1e-6)


def test_algorithms_small_cases():
    h = np.zeros(BINS, np.uint64)
    assert Q.entropy_amax(h, 1.0, 2) == 0.0  # empty histogram
    assert Q.percentile_amax(h, 1.0, 99.0) == 0.0
    h[0] = 10
    assert Q.entropy_amax(h, 0.0, 2) == 0.0  # range 0 (all-zero tensor)
    assert Q.entropy_amax(h, 2.0, 2) == pytest.approx(128.5 * 2.0 / BINS)  # nothing to clip
    h[:] = 0
    h[BINS - 1] = 5  # every candidate would clip everything: no clipping
    assert Q.entropy_amax(h, 2.0, 2) == 2.0
    # int64 and Python lists are accepted as counts.
    u = np.random.default_rng(1).integers(0, 100, BINS)
    assert Q.entropy_amax(u, 1.5, 2) == Q.entropy_amax(list(u), 1.5, 2)
    want, _ = ref_entropy_amax(u.astype(np.uint64), 1.5, 2)
    assert Q.entropy_amax(u, 1.5, 2) == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_entropy_random_sparse_histograms(seed):
    # Gaps, empty prefixes and lone outliers exercise the zero-bin and infinite-divergence rules.
    r = np.random.default_rng(100 + seed)
    h = r.integers(0, 50, BINS).astype(np.uint64)
    h[r.random(BINS) < 0.3 * (seed + 1)] = 0
    h[: 300 * seed] = 0
    h[BINS - 1 - seed] += 3
    for version in (1, 2):
        want, _ = ref_entropy_amax(h, 2.5, version)
        assert Q.entropy_amax(h, 2.5, version) == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: Q.entropy_amax(np.ones(100, np.uint64), 1.0, 2), "2048"),
        (lambda: Q.entropy_amax(np.ones(BINS, np.uint64), -1.0, 2), "range"),
        (lambda: Q.entropy_amax(np.ones(BINS, np.uint64), math.nan, 2), "range"),
        (lambda: Q.entropy_amax(np.ones(BINS, np.uint64), 1.0, 3), "version"),
        (lambda: Q.entropy_amax(-np.ones(BINS, np.int64), 1.0, 2), "negative"),
        (lambda: Q.entropy_amax(np.ones(BINS, np.float32), 1.0, 2), "integer"),
        (lambda: Q.percentile_amax(np.ones(BINS + 1, np.uint64), 1.0, 99.0), "2048"),
        (lambda: Q.percentile_amax(np.ones(BINS, np.uint64), -2.0, 99.0), "range"),
        (lambda: Q.percentile_amax(np.ones(BINS, np.uint64), 1.0, 100.5), "percentile"),
    ],
)
def test_algorithm_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- calibration cache -------------------------------------------------------------------------


def test_cache_amax_one():
    text = Q.format_cache(2, {"x": np.float32(1.0 / 127.0)})
    assert text == "TRT-100300-EntropyCalibration2\nx: 3c010204\n"
    _, _, scales = Q.parse_cache(text)
    assert scales["x"] * 127.0 == pytest.approx(1.0, rel=1e-7)
    assert bits_to_float("3c010204") == np.float32(1.0 / 127.0)


def test_cache_format_matches_reference():
    rng = np.random.default_rng(5)
    scales = {f"t{i}:out{i % 3}": float(np.float32(s)) for i, s in enumerate(rng.uniform(0, 2, 20))}
    scales["zero"] = 0.0
    for algo, name in ALGOS.items():
        text = Q.format_cache(algo, scales)
        assert text == ref_format_cache(algo, scales)
        version, parsed_algo, parsed = Q.parse_cache(text)
        assert (version, parsed_algo) == ("100300", name)
        assert parsed == scales  # exact: float32 bits round trip
        assert Q.algo_cache_name(algo) == name


def test_cache_parses_tensorrt_style_text():
    text = (
        "TRT-8601-EntropyCalibration2\r\n"
        "input: 3c010204\r\n"
        "\r\n"
        "conv1/Conv:0: 3d8f5c29  \r\n"
        "/model/layer.0/Relu_output_0: 0\r\n"
        "weird name::x:: 3F800000\r\n"
        "short: 1\n"
        "\n"
    )
    version, algo, scales = Q.parse_cache(text)
    assert (version, algo) == ("8601", "EntropyCalibration2")
    assert scales == {
        "input": bits_to_float("3c010204"),
        "conv1/Conv:0": bits_to_float("3d8f5c29"),
        "/model/layer.0/Relu_output_0": 0.0,
        "weird name::x:": 1.0,
        "short": bits_to_float("00000001"),
    }


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "line 1.*header"),
        ("TRT-100300-Bogus\nx: 0\n", "line 1.*TRT-100300-Bogus"),
        ("TensorRT cache\n", "line 1"),
        ("\nTRT--EntropyCalibration2\n", "line 2"),
        ("TRT-100300-MinMaxCalibration\na: 3c010204\nb: 3c01020g\n", "line 3.*b: 3c01020g"),
        ("TRT-100300-MinMaxCalibration\n\nno colon here\n", "line 3.*no colon here"),
        ("TRT-100300-MinMaxCalibration\nx: 123456789\n", "line 2"),
        ("TRT-100300-MinMaxCalibration\nx:\n", "line 2"),
        ("TRT-100300-MinMaxCalibration\n: 3c010204\n", "line 2"),
        ("TRT-100300-MinMaxCalibration\nx: 7fc00000\n", "line 2.*x"),
        ("TRT-100300-MinMaxCalibration\nx: 1\nx: 2\n", "line 3.*twice"),
    ],
)
def test_cache_rejects_malformed(text, match):
    with pytest.raises(ValueError, match=match):
        Q.parse_cache(text)


def test_cache_format_errors():
    with pytest.raises(ValueError, match="line break"):
        Q.format_cache(2, {"a\nb": 0.1})
    with pytest.raises(ValueError, match="scale"):
        Q.format_cache(2, {"a": float("nan")})
    with pytest.raises(ValueError, match="0..3"):
        Q.format_cache(7, {"a": 0.1})


def test_entropy_ignores_the_zero_spike():
    # ReLU outputs: half the values are exact zeros. The threshold must come from the positive
    # part's shape, whatever the size of the spike in bin 0.
    r = np.random.default_rng(7)
    x = np.maximum(r.standard_normal(1 << 16).astype(np.float32), 0)
    x[:10] = 12.0  # outliers to clip
    absmax = float(np.abs(x).max())
    hist = ref_hist(x, absmax)
    spiked = hist.copy()
    spiked[0] += 50 * hist.sum()
    amax = Q.entropy_amax(hist, absmax, 2)
    assert Q.entropy_amax(spiked, absmax, 2) == amax
    assert np.percentile(x, 99.0) < amax < 0.5 * absmax
