"""clrtexec's reports: trtexec's performance summary, per-layer profile, layer info and JSON files."""

import json

import clrt

from ._exec_run import stats


def fmt(v):
    return f"{v:.6g}"


def perf_line(values, percentiles):
    s = stats(values, percentiles)
    text = (
        f"min = {fmt(s['min'])} ms, max = {fmt(s['max'])} ms, mean = {fmt(s['mean'])} ms, "
        f"median = {fmt(s['median'])} ms"
    )
    return text + "".join(f", percentile({p:g}%) = {fmt(v)} ms" for p, v in s["percentiles"])


def summary(log, queries, walltime_ms, warmups, warmup_ms, opts):
    """trtexec's prolog, trace averages and '=== Performance summary ===' on stdout."""
    n = len(queries)
    log.info(f"Warmup completed {warmups} queries over {fmt(warmup_ms)} ms")
    log.info(f"Timing trace has {n} queries over {fmt(walltime_ms / 1e3)} s")
    log.info("")
    log.info("=== Trace details ===")
    log.info(f"Trace averages of {opts.avgRuns} runs:")
    k = opts.avgRuns
    for i in range(0, n - k + 1, k):
        chunk = queries[i : i + k]
        gpu = sum(q.compute for q in chunk) / k
        host = sum(q.latency for q in chunk) / k
        enq = sum(q.enqueue for q in chunk) / k
        log.info(
            f"Average on {k} runs - GPU latency: {fmt(gpu)} ms - Host latency: {fmt(host)} ms "
            f"(enqueue {fmt(enq)} ms)"
        )
    pcts = opts.percentile
    log.info("")
    log.info("=== Performance summary ===")
    log.info(f"Throughput: {fmt(n / walltime_ms * 1e3)} qps")
    log.info(f"Latency: {perf_line([q.latency for q in queries], pcts)}")
    log.info(f"Enqueue Time: {perf_line([q.enqueue for q in queries], pcts)}")
    log.info(f"H2D Latency: {perf_line([q.h2d for q in queries], pcts)}")
    log.info(f"GPU Compute Time: {perf_line([q.compute for q in queries], pcts)}")
    log.info(f"D2H Latency: {perf_line([q.d2h for q in queries], pcts)}")
    log.info(f"Total Host Walltime: {fmt(walltime_ms / 1e3)} s")
    log.info(f"Total GPU Compute Time: {fmt(sum(q.compute for q in queries) / 1e3)} s")
    if opts.noDataTransfers:
        log.info("(--noDataTransfers: H2D and D2H are not part of the timed queries)")
    log.info("Timings come from host timers around each call (see clrtexec --help).")


def layer_info(engine):
    """The inspector's JSON as a dict ({"Layers": [...], "Bindings": [...]})."""
    inspector = engine.create_engine_inspector()
    return json.loads(inspector.get_engine_information(clrt.LayerInformationFormat.JSON))


def layers_by_name(info):
    out = {}
    for layer in (info or {}).get("Layers", []):
        if isinstance(layer, dict) and "Name" in layer:
            out[layer["Name"]] = layer
    return out


def _tensor_text(t):
    if not isinstance(t, dict):
        return str(t)
    dims = t.get("Dimensions")
    dims = "x".join(str(d) for d in dims) if isinstance(dims, list) else dims
    extra = [str(t[k]) for k in ("Format/Datatype", "Datatype", "Format") if k in t]
    return f"{t.get('Name', '?')}[{dims}{'; ' + ', '.join(extra) if extra else ''}]"


def dump_layer_info(log, info):
    layers = info.get("Layers", [])
    log.info(f"Layers ({len(layers)}):")
    for layer in layers:
        if not isinstance(layer, dict):
            log.info(f"  {layer}")
            continue
        ins = ", ".join(_tensor_text(t) for t in layer.get("Inputs", []))
        outs = ", ".join(_tensor_text(t) for t in layer.get("Outputs", []))
        rest = ", ".join(
            f"{k}: {v}"
            for k, v in layer.items()
            if k not in ("Name", "LayerType", "Inputs", "Outputs") and not isinstance(v, dict)
        )
        log.info(
            f"  {layer.get('Name')} [{layer.get('LayerType', '?')}] ({ins}) -> ({outs})"
            f"{'; ' + rest if rest else ''}"
        )
    for key in (k for k in info if k != "Layers"):
        log.info(f"{key}: {json.dumps(info[key])}")


def precision_counts(info):
    counts = {}
    for layer in layers_by_name(info).values():
        p = str(layer.get("Precision", "?"))
        counts[p] = counts.get(p, 0) + 1
    return counts


def _profile_rows(profile):
    total = sum(sum(v) for v in profile.layers.values())
    rows = []
    for name, times in profile.layers.items():
        t = sorted(times)
        n = len(t)
        median = t[n // 2] if n % 2 else (t[n // 2 - 1] + t[n // 2]) / 2
        share = sum(t) / total * 100 if total > 0 else 0.0
        rows.append((name, sum(t), sum(t) / n, median, share))
    return rows, total


def dump_profile(log, profile, info):
    rows, total = _profile_rows(profile)
    by_name = layers_by_name(info)
    width = max([len(r[0]) for r in rows] + [len("Layer")]) + 1
    log.info("")
    log.info(f"=== Profile ({profile.count} iterations ) ===")
    head = f"{'Layer':>{width}}   Time (ms)   Avg. Time (ms)   Median Time (ms)   Time %"
    log.info(head + "   Precision   Tactic")
    for name, tot, avg, med, share in rows:
        layer = by_name.get(name, {})
        prec = str(layer.get("Precision", "?"))
        tactic = str(layer.get("TacticName", "?"))
        log.info(
            f"{name:>{width}}{tot:12.2f}{avg:17.4f}{med:19.4f}{share:9.1f}   {prec:<9}   {tactic}"
        )
    count = max(profile.count, 1)
    med_total = stats([sum(q) for q in zip(*profile.layers.values())], [])["median"] if rows else 0
    log.info(f"{'Total':>{width}}{total:12.2f}{total / count:17.4f}{med_total:19.4f}{100.0:9.1f}")
    dump_tactic_summary(log, tactic_summary(rows, by_name, count))


def tactic_summary(rows, by_name, count):
    """[(tactic, precision, layers, average ms per iteration, share %)] from the profile's rows,
    the largest first: where an engine's time goes, kernel by kernel."""
    groups, total = {}, sum(r[1] for r in rows)
    for name, tot, *_ in rows:
        layer = by_name.get(name, {})
        key = (str(layer.get("TacticName", "?")), str(layer.get("Precision", "?")))
        n, t = groups.get(key, (0, 0.0))
        groups[key] = (n + 1, t + tot)
    out = [
        (tac, prec, n, t / count, t / total * 100 if total > 0 else 0.0)
        for (tac, prec), (n, t) in groups.items()
    ]
    return sorted(out, key=lambda r: -r[3])


def dump_tactic_summary(log, summary):
    log.info("")
    log.info("=== Profile by tactic ===")
    width = max([len(r[0]) for r in summary] + [len("Tactic")]) + 1
    log.info(f"{'Tactic':<{width}} Precision   Layers   Avg. Time (ms)   Time %")
    for tac, prec, n, avg, share in summary:
        log.info(f"{tac:<{width}} {prec:<9}   {n:6d}{avg:17.4f}{share:9.1f}")


def profile_check(log, profile):
    """The profiled queries' GPU Compute Time next to the per-layer total (they should agree)."""
    _, total = _profile_rows(profile)
    compute = sum(profile.compute) / max(profile.count, 1)
    per_query = total / max(profile.count, 1)
    share = per_query / compute * 100 if compute > 0 else 0.0
    log.info(
        f"Profiled queries: GPU Compute Time mean = {fmt(compute)} ms; per-layer total "
        f"{fmt(per_query)} ms ({share:.1f}% of it)"
    )


def export_profile(path, profile):
    rows, _ = _profile_rows(profile)
    data = [{"count": profile.count}]
    for name, tot, avg, med, share in rows:
        data.append(
            {"name": name, "timeMs": tot, "averageMs": avg, "medianMs": med, "percentage": share}
        )
    _write_json(path, data)


def export_output(path, bindings):
    data = []
    for name, a in bindings.outputs.items():
        dims = "x".join(str(d) for d in a.shape)
        data.append({"name": name, "dimensions": dims, "values": a.reshape(-1).tolist()})
    _write_json(path, data)


def dump_output(log, bindings):
    """trtexec's --dumpOutput: each output's name, dims and values."""
    log.info("Output Tensors:")
    for name, a in bindings.outputs.items():
        log.info(f"{name}: ({'x'.join(str(d) for d in a.shape)})")
        log.info(" ".join(f"{v:g}" if a.dtype.kind == "f" else str(v) for v in a.reshape(-1)))


def export_times(path, queries):
    """trtexec's --exportTimes: one record per timed query, in milliseconds."""
    data = [
        {
            "latencyMs": q.latency,
            "enqueueMs": q.enqueue,
            "h2dMs": q.h2d,
            "computeMs": q.compute,
            "d2hMs": q.d2h,
        }
        for q in queries
    ]
    _write_json(path, data)


def export_layer_info(path, info):
    _write_json(path, info)


def _write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
