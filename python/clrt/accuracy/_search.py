"""clrt.accuracy.sensitivity and search_precisions: which layers INT8 hurts, and a small set of
layers to keep in FP16 (or FP32) so the metric stays within a budget of FP32's.

Calibration runs once: the first INT8 build's cache is handed back to every later build, so a
trial costs one build (from cached ranges and kernels) and one pass over the data."""

import numpy as np

from ..progress import Phase
from ._model import KEEP_TYPES, Session, engine_layers, snr_db
from ._report import Report

INT8_NAMES = ("INT8", "KINT8")


class _Trials:
    """Builds and evaluates keep-sets (frozensets of group names), each once."""

    def __init__(self, session, groups, metric, latency):
        self.session, self.groups, self.metric_fn, self.latency = session, groups, metric, latency
        self.done = {}

    def precisions(self, keep):
        dtype = KEEP_TYPES[self.session.keep]
        return {m: dtype for g in keep for m in self.groups[g]}

    def evaluate(self, keep, label=None, mode="int8", engine=None):
        key = (mode, frozenset(keep))
        if key not in self.done:
            if engine is None:
                engine = self.session.build(mode, self.precisions(keep) if mode == "int8" else None)
            times = []
            outs = self.session.run(engine, times)
            ref = self.session.reference()
            name = self.session.output
            self.done[key] = {
                "candidate": label or (f"keep {len(keep)}" if keep else "all INT8"),
                "kept": sorted(keep),
                "n_kept": len(keep) if mode == "int8" else None,
                "metric": self.session.metric(outs, self.metric_fn),
                "output_snr_db": snr_db(*[[o[name] for o in x] for x in (outs, ref)]),
                # The median batch of the evaluation pass: no extra runs (the first batch, which
                # also sets the context up, is the outlier the median drops).
                "latency_ms": float(np.median(times)) if self.latency else None,
            }
        return self.done[key]


def int8_groups(session, engine):
    """{engine layer name: [network layer names]} of the engine's INT8 layers, in order."""
    _, network, _ = session.parse()
    names = {network.get_layer(i).name for i in range(network.num_layers)}
    groups = {}
    for lay in engine_layers(engine):
        if str(lay.get("Precision", "")).upper() not in INT8_NAMES:
            continue
        members = [n for n in lay.get("Origin", []) if n in names]
        if not members and lay["Name"] in names:
            members = [lay["Name"]]
        if members:
            groups[lay["Name"]] = members
    return groups


class SensitivityReport(Report):
    """Per INT8 layer (an engine layer: the ONNX nodes fused into it move together): the metric
    with only that layer in INT8 (`metric_only`), with every INT8 layer but that one
    (`metric_all_but`), and `gain` = metric_all_but - the all-INT8 metric; ranked by gain, then
    by the output SNR gain (which separates layers the metric cannot on small data)."""

    title = "clrt.accuracy.sensitivity"
    columns = (
        "rank",
        "layer",
        "onnx_nodes",
        "metric_only",
        "metric_all_but",
        "gain",
        "output_snr_db_all_but",
    )
    plot_columns = ("layer", "gain")

    def __init__(self, rows, reference_metric, int8_metric, builds):
        super().__init__(rows)
        self.reference_metric, self.int8_metric, self.builds = (
            reference_metric,
            int8_metric,
            builds,
        )
        self.ranking = [r["layer"] for r in rows]

    def summary(self):
        return {
            "reference_metric": self.reference_metric,
            "int8_metric": self.int8_metric,
            "builds": self.builds,
        }


def _sensitivity(session, trials, modes, probe):
    base = trials.evaluate((), "all INT8", engine=probe)
    rows = []
    groups = list(trials.groups)
    n_modes = sum(m in modes for m in ("only", "all_but"))
    with Phase(session.monitor, "Sensitivity trials", len(groups) * n_modes) as phase:
        for g in groups:
            row = {"layer": g, "onnx_nodes": trials.groups[g]}
            if "only" in modes:
                only = trials.evaluate([h for h in groups if h != g], f"only {g} in INT8")
                row["metric_only"] = only["metric"]
                phase.step()
            if "all_but" in modes:
                but = trials.evaluate([g], f"keep {g}")
                row["metric_all_but"] = but["metric"]
                row["gain"] = but["metric"] - base["metric"]
                row["output_snr_db_all_but"] = but["output_snr_db"]
                phase.step()
            rows.append(row)
    rows.sort(key=lambda r: (-r.get("gain", 0.0), -r.get("output_snr_db_all_but", 0.0)))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows, base


def _session(model, data, labels, calibrator, cache, keep, output, logger, config):
    return Session(
        model,
        data,
        labels=labels,
        calibrator=calibrator,
        cache=cache,
        keep=keep,
        output=output,
        logger=logger,
        **config,
    )


def sensitivity(
    model,
    data,
    labels=None,
    calibrator=None,
    cache=None,
    metric=None,
    modes=("only", "all_but"),
    keep="fp16",
    output=None,
    logger=None,
    **config,
):
    """Per INT8 layer of the all-INT8 engine: the metric with only that layer in INT8 and with
    all but that layer in INT8 (the others in `keep` precision). `metric(outputs, labels)` is
    the user's (higher is better); by default top-1 (%) with labels, else the output's SNR (dB)
    against onnxruntime FP32. 1 + len(modes) x layers builds. Returns a SensitivityReport."""
    session = _session(model, data, labels, calibrator, cache, keep, output, logger, config)
    probe = session.build("int8")
    trials = _Trials(session, int8_groups(session, probe), metric, latency=False)
    rows, base = _sensitivity(session, trials, modes, probe)
    ref = session.metric(session.reference(), metric)
    report = SensitivityReport(rows, ref, base["metric"], session.builds)
    report.calibration_cache = session.sink.cache
    return report
