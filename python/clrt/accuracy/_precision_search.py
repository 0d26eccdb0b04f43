"""clrt.accuracy.search_precisions: the sensitivity ranking, then a bisection over its prefixes
and a backward pass that drops every kept layer the budget does not need, so the result can be
any set of layers, not only a prefix or suffix of the network."""

from ..precision_spec import apply_layer_precisions, parse_layer_precisions
from ..progress import Phase
from ._report import Report
from ._search import _sensitivity, _session, _Trials, int8_groups


class CandidatesReport(Report):
    """Every engine the search built: kept layers, metric, output SNR against FP32, latency
    (median ms of context.infer on the first batch) and whether it is on the accuracy-latency
    Pareto front."""

    title = "clrt.accuracy.search_precisions candidates"
    columns = (
        "candidate",
        "n_kept",
        "metric",
        "output_snr_db",
        "latency_ms",
        "within_budget",
        "pareto",
        "kept",
    )
    plot_columns = ("candidate", "metric")

    def plot(self, ax=None):
        """Metric against latency, Pareto front joined (matplotlib)."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError("CandidatesReport.plot() needs matplotlib installed") from e
        fig, ax = plt.subplots(figsize=(5, 3.5)) if ax is None else (ax.figure, ax)
        rows = [r for r in self.rows if r["latency_ms"] is not None]
        ax.scatter([r["latency_ms"] for r in rows], [r["metric"] for r in rows])
        front = sorted((r for r in rows if r["pareto"]), key=lambda r: r["latency_ms"])
        ax.plot([r["latency_ms"] for r in front], [r["metric"] for r in front], "r-")
        for r in rows:
            ax.annotate(r["candidate"], (r["latency_ms"], r["metric"]), fontsize=7)
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("metric")
        fig.tight_layout()
        return fig


class PrecisionSearchResult(Report):
    """The layers to keep out of INT8: `layer_precisions` (a trtexec --layerPrecisions spec,
    '' when all-INT8 meets the budget), `kept` (engine layers), `metric`, `reference_metric`
    (onnxruntime FP32), `int8_metric`, `fp16_metric`, `builds`, `candidates` (a report),
    `sensitivity` (the ranking's rows). `apply(network)` sets the precisions on a network."""

    title = "clrt.accuracy.search_precisions"
    columns = ("layer", "onnx_nodes", "precision")
    plot_columns = None

    def summary(self):
        return {
            "layer_precisions": self.layer_precisions,
            "metric": self.metric,
            "reference_metric": self.reference_metric,
            "budget": self.budget,
            "within_budget": self.within_budget,
            "int8_metric": self.int8_metric,
            "fp16_metric": self.fp16_metric,
            "builds": self.builds,
        }

    def to_dict(self):
        d = super().to_dict()
        d["candidates"] = self.candidates.to_dict()["rows"]
        return d

    def plot(self, ax=None):
        return self.candidates.plot(ax)

    def apply(self, network):
        """Sets layer.precision on `network` (parsed from the same model) as found; returns
        {layer name: DataType}. Build with PREFER_ or OBEY_PRECISION_CONSTRAINTS."""
        if not self.layer_precisions:
            return {}
        return apply_layer_precisions(network, parse_layer_precisions(self.layer_precisions))


def _pareto(rows):
    for r in rows:
        r["pareto"] = r["latency_ms"] is not None and not any(
            o is not r
            and o["latency_ms"] is not None
            and o["latency_ms"] <= r["latency_ms"]
            and o["metric"] >= r["metric"]
            and (o["latency_ms"] < r["latency_ms"] or o["metric"] > r["metric"])
            for o in rows
        )


def search_precisions(
    model,
    data,
    labels=None,
    calibrator=None,
    cache=None,
    budget=0.1,
    metric=None,
    keep="fp16",
    output=None,
    measure_latency=True,
    logger=None,
    **config,
):
    """Finds a small set of layers to keep in `keep` precision ('fp16', else 'fp32') so the
    metric (top-1 % with labels, output SNR dB without, or `metric(outputs, labels)`) is at
    least onnxruntime FP32's minus `budget`. Returns a PrecisionSearchResult."""
    session = _session(model, data, labels, calibrator, cache, keep, output, logger, config)
    # Steps: the baselines (all INT8, all `keep`), the sensitivity ranking, the search.
    with Phase(session.monitor, "Precision search", 3) as phase:
        reference = session.metric(session.reference(), metric)
        target = reference - budget
        probe = session.build("int8")
        trials = _Trials(session, int8_groups(session, probe), metric, measure_latency)
        base = trials.evaluate((), "all INT8", engine=probe)
        fp16 = trials.evaluate((), f"all {keep.upper()}", mode=keep)
        phase.step()
        ranking, keep_set = [], []
        if base["metric"] < target:
            rows, _ = _sensitivity(session, trials, ("all_but",), probe)
            ranking = [r["layer"] for r in rows]
        phase.step()
        if ranking:
            keep_set = _search(session, trials, ranking, target)
        best = trials.evaluate(keep_set)
        phase.step()
    rows = list(trials.done.values())
    for r in rows:
        r["within_budget"] = r["metric"] >= target
    _pareto(rows)
    dtype = keep
    members = [(g, trials.groups[g]) for g in keep_set]
    result = PrecisionSearchResult(
        [{"layer": g, "onnx_nodes": m, "precision": dtype} for g, m in members]
    )
    result.layer_precisions = ",".join(f"{_quoted(n)}:{dtype}" for _, m in members for n in m)
    result.kept = list(keep_set)
    result.metric, result.reference_metric, result.budget = best["metric"], reference, budget
    result.within_budget = best["metric"] >= target
    result.int8_metric, result.fp16_metric = base["metric"], fp16["metric"]
    result.builds = session.builds
    result.candidates = CandidatesReport(rows)
    result.ranking = ranking
    result.calibration_cache = session.sink.cache
    return result


def _search(session, trials, ranking, target):
    """The top-ranked prefix that meets `target` (bisection), then its members dropped one by
    one, least sensitive first, while the rest still meets it. The phase's step count is the
    bound on trials (bisection plus one per member); it finishes early when fewer are needed."""
    bound = max(1, len(ranking) - 1).bit_length() + len(ranking)
    with Phase(session.monitor, "Search trials", bound) as phase:

        def ok(s):
            good = trials.evaluate(s)["metric"] >= target
            phase.step()
            return good

        lo, hi = 0, len(ranking)  # the top-lo prefix fails, the top-hi one is assumed to pass
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if ok(ranking[:mid]) else (mid, hi)
        keep_set = ranking[:hi]
        for g in reversed(list(keep_set)):  # least sensitive first
            if len(keep_set) > 1 and ok([h for h in keep_set if h != g]):
                keep_set = [h for h in keep_set if h != g]
    return keep_set


def _quoted(name):
    """trtexec quotes a layer name holding ':'."""
    return f"'{name}'" if ":" in name else name
