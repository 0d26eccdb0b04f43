"""INT8 calibration statistics on the device (clrt._clrt._quant.device_stats) against NumPy:
max |x| and histogram counts exact. The algorithms and the cache format are unit-tested in
tests/unit/test_calib_math.py.
"""

import clrt  # noqa: F401  (loads the extension and its exception types)
import numpy as np
import pytest
from calib_reference import BINS, KINDS, make_data, ref_hist
from clrt import _clrt

Q = _clrt._quant


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
