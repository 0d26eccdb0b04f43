# NumPy references for INT8 calibration (histograms, KL-divergence and percentile thresholds,
# TensorRT's cache text), written from the algorithm descriptions (TensorRT's KL search as
# described publicly at GTC 2017, a percentile with linear interpolation inside a bin), not from
# the C++ code; shared by tests/unit/test_calib_math.py and the device statistics tests.
import struct

import numpy as np

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
