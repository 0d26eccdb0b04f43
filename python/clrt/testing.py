"""clrt's pytest plugin (entry point pytest11 'clrt') and accuracy assertions for tests.

- ``assert_outputs_close(engine_or_model, reference, inputs, rtol, atol)``: every output within
  tolerance; on failure the message names the worst output and, for an engine, the engine
  tensors where the error starts (clrt.accuracy's per-tensor comparison).
- ``assert_accuracy(engine, data, labels, min_top1=... | max_drop=..., reference=...)``.
- ``assert_no_class_regression(reference, engine, data, labels, threshold=...)``.
- ``--clrt-device=<index or name substring>`` selects the OpenCL device (as CLRT_DEVICE does);
  the ``clrt_engine`` fixture builds engines once per session.
"""

import hashlib
import os

import numpy as np

import clrt as trt

from .accuracy._classes import _input_names, _predict, per_class
from .accuracy._compare import tensor_errors
from .accuracy._model import EXPLICIT_BATCH, as_batches, model_bytes, ort_session


def _is_engine(x):
    return hasattr(x, "create_execution_context")


def _outputs(model, feeds):
    """{output: array} of an engine, an ONNX model (onnxruntime FP32) or given arrays (a dict)."""
    if _is_engine(model):
        return model.create_execution_context().infer(feeds)
    if isinstance(model, dict):
        return model
    sess = ort_session(model)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def build_engine(model, precision="fp32", logger=None, **config):
    """An engine of an ONNX model (path or bytes) for tests: fp32, fp16 or int8 (with
    `calibrator=` or `cache=`), built through clrt.accuracy's builder (profiles from `data=`)."""
    from .accuracy._model import Session

    data = config.pop("data")
    return Session(model, data, logger=logger, **config).build(precision)


def assert_outputs_close(engine_or_model, reference, inputs, rtol=1e-3, atol=1e-3):
    """Each output of `engine_or_model` (an ICudaEngine, or an ONNX model run by onnxruntime)
    equals `reference`'s (an ONNX model, engine, or {name: array}) within
    |got - ref| <= atol + rtol * |ref| for `inputs` ({name: array}, or an array)."""
    names = _input_names(engine_or_model) if not isinstance(engine_or_model, dict) else []
    feeds = as_batches(inputs, names or ["input"], "inputs")[0]
    got, ref = _outputs(engine_or_model, feeds), _outputs(reference, feeds)
    bad = []
    for name, r in ref.items():
        if name not in got:
            bad.append((np.inf, f"{name}: missing from the outputs ({sorted(got)})"))
            continue
        g, r = np.asarray(got[name], np.float64), np.asarray(r, np.float64)
        if g.shape != r.shape:
            bad.append((np.inf, f"{name}: shape {g.shape}, expected {r.shape}"))
            continue
        err = np.abs(g - r)
        over = err > atol + rtol * np.abs(r)
        if over.any():
            i = tuple(int(k) for k in np.unravel_index(int(np.argmax(err)), err.shape))
            text = (
                f"{name}: {int(over.sum())} of {r.size} elements beyond rtol={rtol}, "
                f"atol={atol}; max abs err {err.max():.3e} at {i} (got {g[i]:.6g}, expected "
                f"{r[i]:.6g})"
            )
            bad.append((float(err.max()), text))
    if not bad:
        return
    bad.sort(key=lambda b: -b[0])
    msg = "outputs differ:\n  " + "\n  ".join(m for _, m in bad)
    if (
        _is_engine(engine_or_model)
        and not _is_engine(reference)
        and not isinstance(reference, dict)
    ):
        msg += _divergence_note(engine_or_model, reference, feeds)
    raise AssertionError(msg)


def _divergence_note(engine, model, feeds):
    """Where the error starts inside the engine, for a failure message ('' if not known)."""
    try:
        rows, first = tensor_errors(engine, model_bytes(model), [feeds])
    except Exception as e:  # noqa: BLE001 -- the note must not hide the assertion itself
        return f"\n(per-tensor comparison unavailable: {e})"
    worst = sorted((r for r in rows if r["snr_db"] is not None), key=lambda r: r["snr_db"])[:3]
    lines = [
        f"{r['tensor']} (layer {r['layer']}, {r['precision']}): SNR {r['snr_db']:.1f} dB"
        for r in worst
    ]
    return f"\nfirst divergent tensor: {first}\nworst tensors:\n  " + "\n  ".join(lines)


def _top1(model, batches, labels):
    pred = _predict(model, batches, None)
    y = np.concatenate([np.asarray(v).reshape(-1) for v in labels])
    return float((pred == y).mean() * 100.0)


def assert_accuracy(engine, data, labels, min_top1=None, max_drop=None, reference=None):
    """Top-1 (%) of `engine` (or ONNX model) on `data`/`labels` is at least `min_top1`, and/or
    at most `max_drop` points below `reference`'s (an engine or ONNX model; required with
    max_drop). The failure message gives both accuracies and the classes that lost most."""
    if min_top1 is None and max_drop is None:
        raise ValueError("assert_accuracy: give min_top1 and/or max_drop")
    if max_drop is not None and reference is None:
        raise ValueError("assert_accuracy: max_drop needs reference= (an engine or ONNX model)")
    labels = labels if isinstance(labels, (list, tuple)) else [labels]
    batches = as_batches(data, _input_names(engine))
    acc = _top1(engine, batches, labels)
    problems = []
    if min_top1 is not None and acc < min_top1:
        problems.append(f"top-1 {acc:.2f}% < min_top1 {min_top1}%")
    if max_drop is not None:
        report = per_class(reference, engine, batches, labels)
        if report.accuracy_a - acc > max_drop:
            worst = sorted(report.rows, key=lambda r: -r["recall_drop"])[:3]
            classes = ", ".join(
                f"class {r['class']}: recall {r['recall_a']:.1f}% -> {r['recall_b']:.1f}%"
                for r in worst
            )
            problems.append(
                f"top-1 {acc:.2f}% is {report.accuracy_a - acc:.2f} points below the "
                f"reference's {report.accuracy_a:.2f}% (max_drop {max_drop}); "
                f"most lost: {classes}"
            )
    if problems:
        raise AssertionError("; ".join(problems))


def assert_no_class_regression(reference, engine, data, labels, threshold=2.0, class_names=None):
    """No class's recall drops by more than `threshold` points from `reference` to `engine`
    (engines or ONNX models); the message lists the classes that do, with their recalls."""
    report = per_class(
        reference, engine, data, labels, threshold=threshold, class_names=class_names
    )
    if report.flagged:
        lines = [
            f"class {r['class']} ({r['name']}): recall {r['recall_a']:.1f}% -> "
            f"{r['recall_b']:.1f}% ({r['count']} samples)"
            for r in report.rows
            if r["flagged"]
        ]
        raise AssertionError(
            f"recall dropped by more than {threshold} points (overall top-1 "
            f"{report.accuracy_a:.2f}% -> {report.accuracy_b:.2f}%):\n  " + "\n  ".join(lines)
        )
    return report


# --- pytest hooks ------------------------------------------------------------------------------


def pytest_addoption(parser):
    group = parser.getgroup("clrt")
    group.addoption(
        "--clrt-device",
        default=None,
        metavar="DEVICE",
        help="OpenCL device for clrt (index or name substring), as CLRT_DEVICE",
    )


def pytest_configure(config):
    device = config.getoption("--clrt-device", default=None)
    if device is not None:
        os.environ["CLRT_DEVICE"] = device
        trt.set_device(int(device) if device.isdigit() else device)


def pytest_report_header(config):
    if config.getoption("--clrt-device", default=None) is not None:
        return [f"clrt device (--clrt-device): {trt.current_device()}"]
    return []


def _key(value):
    """A hashable digest of build arguments (arrays by their bytes)."""
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, hashlib.sha1(value.tobytes()).hexdigest())
    if isinstance(value, (list, tuple)):
        return tuple(_key(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, _key(v)) for k, v in sorted(value.items()))
    if isinstance(value, (bytes, str, int, float, bool, type(None))):
        return value
    return id(value)  # a calibrator object: the same object, the same engine


def _engine_cache():
    cache = {}

    def get(model, precision="fp32", **kw):
        key = (hashlib.sha1(model_bytes(model)).hexdigest(), precision, _key(kw))
        if key not in cache:
            cache[key] = build_engine(model, precision, **kw)
        return cache[key]

    return get


try:
    import pytest

    @pytest.fixture(scope="session")
    def clrt_engine():
        """build(model, precision='fp32', data=..., **config) -> an engine, built once per
        session for the same arguments."""
        return _engine_cache()

except ImportError:  # the helpers work without pytest
    pass

__all__ = [
    "EXPLICIT_BATCH",
    "assert_accuracy",
    "assert_no_class_regression",
    "assert_outputs_close",
    "build_engine",
]
