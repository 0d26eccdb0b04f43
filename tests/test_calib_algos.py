"""INT8 calibration internals (clrt._clrt._quant) against independent NumPy references.

The references below are written from the algorithm descriptions (TensorRT's KL-divergence
search as described publicly at GTC 2017, a percentile with linear interpolation inside a bin,
TensorRT's calibration cache text), not from the C++ code. Tolerances:
- device max |x| and histogram counts: exact;
- percentile amax: relative 1e-6 (same arithmetic, float32 result);
- entropy amax: the same bin (equal within 1e-6 relative, i.e. well inside one bin width
  range/2048), and the divergence of clrt's choice equal to the reference minimum within
  1e-9 relative + 1e-12 (the tie rule both use: the smallest near-minimal threshold wins).
"""

import math
import struct

import clrt  # noqa: F401  (loads the extension and its exception types)
import numpy as np
import pytest
from clrt import _clrt

Q = _clrt._quant
BINS = 2048
LEVELS = 128
ALGOS = {
    0: "LegacyCalibration",
    1: "EntropyCalibration",
    2: "EntropyCalibration2",
    3: "MinMaxCalibration",
}


# ---- NumPy references --------------------------------------------------------------------------


def ref_hist(x, rng):
    """Counts of |x| in 2048 bins over [0, rng]: bin = min(int(|x| * float32(2048 / rng)), 2047)
    in float32; rng <= 0 puts everything in bin 0; NaN is ignored."""
    a = np.abs(np.asarray(x, np.float32).ravel())
    a = a[~np.isnan(a)]
    if rng <= 0:
        return np.bincount(np.zeros(a.size, np.int64), minlength=BINS).astype(np.uint64)
    scale = np.float32(2048) / np.float32(rng)
    v = np.minimum(a * scale, np.float32(2047))  # float32 product, inf clipped
    return np.bincount(v.astype(np.int64), minlength=BINS).astype(np.uint64)


def zero_bin_rule(hist):
    """Bin 0 (exact zeros and tiny values) takes bin 1's count unless it is all there is."""
    h = np.asarray(hist, np.uint64).copy()
    if h.sum() > h[0]:
        h[0] = h[1]
    return h


def ref_divergences(hist):
    """KL(P||Q) for each candidate threshold bin i in [128, 2048) (inf where P > 0 and Q = 0),
    after the zero-bin rule."""
    h = zero_bin_rule(hist).astype(np.float64)
    total = h.sum()
    out = np.full(BINS, np.inf)
    for i in range(LEVELS, BINS):
        p = h[:i].copy()
        p[i - 1] += h[i:].sum()  # clipped outliers join the last kept bin
        m = i // LEVELS
        group = np.minimum(np.arange(i) // m, LEVELS - 1)  # the last group takes the remainder
        starts = np.arange(LEVELS) * m
        nz = p != 0
        sums = np.add.reduceat(h[:i], starts)  # groups merge the bins without the outliers
        counts = np.add.reduceat(nz.astype(np.int64), starts)
        q = np.where(nz, sums[group] / np.maximum(counts[group], 1), 0.0)
        if q.sum() <= 0:
            continue
        pn, qn = p / total, q / q.sum()
        mask = pn > 0
        if np.any(qn[mask] == 0):
            continue
        out[i] = float(np.sum(pn[mask] * np.log(pn[mask] / qn[mask])))
    return out


def ref_entropy_amax(hist, rng, version=2, kl=None):
    h = np.asarray(hist, np.uint64)
    if h.sum() == 0 or rng == 0:
        return 0.0, None
    kl = ref_divergences(h) if kl is None else kl
    best = kl.min()
    if not np.isfinite(best):
        return float(rng), None
    i = int(np.argmax(kl <= best + 1e-9 * abs(best) + 1e-12))  # smallest near-minimal one
    return ((i + 0.5) if version == 2 else i) * (rng / BINS), i


def ref_percentile_amax(hist, rng, pct):
    h = np.asarray(hist, np.uint64)
    total = int(h.sum())
    if total == 0 or rng == 0:
        return 0.0
    target = total * (pct / 100.0)
    cum = np.cumsum(h.astype(np.int64))
    k = int(np.argmax((cum >= target) & (h > 0)))
    below = int(cum[k] - h[k])
    frac = min(1.0, max(0.0, (target - below) / int(h[k])))
    return (k + frac) * (rng / BINS)


def ref_format_cache(algo, scales):
    lines = [f"TRT-100300-{ALGOS[algo]}"]
    for name in sorted(scales):
        lines.append(f"{name}: {struct.unpack('>I', struct.pack('>f', scales[name]))[0]:08x}")
    return "\n".join(lines) + "\n"


def bits_to_float(hexstr):
    return struct.unpack(">f", struct.pack(">I", int(hexstr, 16)))[0]


# ---- synthetic data ----------------------------------------------------------------------------


def make_data(kind, n=1 << 17, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        x = rng.normal(0.0, 1.0, n)
    elif kind == "laplacian":
        x = rng.laplace(0.0, 0.7, n)
    else:  # ReLU output: half-rectified Gaussian
        x = np.maximum(rng.normal(0.3, 1.0, n), 0.0)
    x = x.astype(np.float32)
    idx = rng.choice(n, 12, replace=False)
    x[idx] = rng.uniform(15.0, 40.0, 12).astype(np.float32) * rng.choice([-1, 1], 12)
    if kind == "relu":
        x[idx] = np.abs(x[idx])
    return x


KINDS = ["gaussian", "laplacian", "relu"]


@pytest.fixture(scope="module", params=KINDS)
def dataset(request):
    x = make_data(request.param, seed=KINDS.index(request.param))
    absmax, hist = Q.device_stats([x])
    return request.param, x, float(absmax), hist


# ---- device statistics -------------------------------------------------------------------------


def test_device_stats_match_numpy(dataset):
    _, x, absmax, hist = dataset
    assert absmax == float(np.abs(x).max())  # minmax calibration's amax
    assert hist.dtype == np.uint64 and hist.shape == (BINS,)
    np.testing.assert_array_equal(hist, ref_hist(x, absmax))
    assert int(hist.sum()) == x.size


def test_device_stats_batch_split_and_order(dataset):
    _, x, absmax, hist = dataset
    rng = np.random.default_rng(7)
    amax = Q.entropy_amax(hist, absmax, 2)
    for chunks in (1, 8, 32):
        parts = np.array_split(x, chunks)
        for order in (list(range(chunks)), list(rng.permutation(chunks))):
            a, h = Q.device_stats([parts[i] for i in order])
            assert a == absmax
            np.testing.assert_array_equal(h, hist)
            assert Q.entropy_amax(h, a, 2) == amax
    shuffled = rng.permutation(x)
    a, h = Q.device_stats(np.array_split(shuffled, 5))
    assert a == absmax
    np.testing.assert_array_equal(h, hist)


def test_device_stats_edge_values():
    x = np.array([0.0, -0.5, 1.0, np.nan, -np.inf, 3.0, 2.0, 1e-30, -2.0], np.float32)
    a, h = Q.device_stats([x], 2.0)  # explicit range: |x| > 2 (and inf) land in the last bin
    assert a == np.inf
    np.testing.assert_array_equal(h, ref_hist(x, 2.0))
    assert int(h[BINS - 1]) == 4 and int(h.sum()) == 8  # NaN ignored
    a, h = Q.device_stats([x[~np.isinf(x)]])  # range None: the max |x| (3.0)
    assert a == 3.0
    np.testing.assert_array_equal(h, ref_hist(x[~np.isinf(x)], 3.0))
    _, h = Q.device_stats([x], 0.0)  # range 0: everything in bin 0
    assert int(h[0]) == 8 and int(h.sum()) == 8
    a, h = Q.device_stats([np.zeros(0, np.float32), np.full(5, np.nan, np.float32)])
    assert a == 0.0 and int(h.sum()) == 0
    with pytest.raises(ValueError, match="range"):
        Q.device_stats([x], -1.0)


def test_device_stats_bin_edges_exact():
    # Values on and next to bin edges: the float32 formula decides, identically on the device.
    rng = 3.7
    edges = (np.arange(BINS + 1, dtype=np.float32) * np.float32(rng / BINS)).astype(np.float32)
    x = np.concatenate(
        [edges, np.nextafter(edges, np.float32(0)), np.nextafter(edges, np.float32(10))]
    )
    _, h = Q.device_stats([x], rng)
    np.testing.assert_array_equal(h, ref_hist(x, rng))


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
