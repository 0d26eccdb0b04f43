"""clrt.accuracy.compare: every tensor of one engine run against onnxruntime FP32 (or another
engine), in execution order, with the first tensor where the error jumps.

One build and one run per batch: the engine is not rebuilt with extra outputs. clrt reads each
engine layer's outputs back while the engine runs (`_clrt._infer_debug`), so the numbers are the
real engine's, fusions and INT8 storage included; tensors that fusion removed (a convolution's
output before its fused ReLU) are not seen, the layer's ONNX nodes say what each row holds.
"""

import numpy as np

from .. import _clrt
from ._model import Session, engine_layers, snr_db
from ._report import Report


class CompareReport(Report):
    """Per tensor, in execution order: layer, its ONNX nodes and precision, the tensor's dtype,
    max abs error, max rel error (max |got - ref| over max |ref|), cosine similarity and SNR
    (dB) against the reference. `first_divergent` is the first tensor whose SNR falls more than
    `jump_db` below the SNR of the layer's inputs (the error is made there, not inherited);
    inputs count as at most `ceiling_db`, about what INT8 rounding of a well-scaled tensor
    gives, so plain rounding is not a jump but clipping or a bad range is."""

    title = "clrt.accuracy.compare"
    columns = (
        "tensor",
        "layer",
        "onnx_nodes",
        "precision",
        "dtype",
        "max_abs",
        "max_rel",
        "cosine",
        "snr_db",
        "drop_db",
    )
    plot_columns = ("tensor", "snr_db")

    def __init__(self, rows, first_divergent, reference, builds):
        super().__init__(rows)
        self.first_divergent, self.reference, self.builds = first_divergent, reference, builds

    def summary(self):
        worst = min(
            (r for r in self.rows if r["snr_db"] is not None),
            key=lambda r: r["snr_db"],
            default=None,
        )
        return {
            "reference": self.reference,
            "first_divergent": self.first_divergent,
            "worst": worst and f"{worst['tensor']} ({worst['snr_db']:.1f} dB)",
            "tensors": len(self.rows),
            "builds": self.builds,
        }

    def __getitem__(self, tensor):
        for r in self.rows:
            if r["tensor"] == tensor:
                return r
        raise KeyError(f"no tensor '{tensor}' in the report")


def _errors(got, ref):
    got, ref = np.asarray(got, np.float64).ravel(), np.asarray(ref, np.float64).ravel()
    diff = np.abs(got - ref)
    peak = float(np.abs(ref).max()) if ref.size else 0.0
    norm = float(np.linalg.norm(got) * np.linalg.norm(ref))
    return {
        "max_abs": float(diff.max()) if diff.size else 0.0,
        "max_rel": float(diff.max() / peak) if peak > 0 else float(diff.max() > 0) * np.inf,
        "cosine": float(got @ ref / norm) if norm > 0 else float(np.array_equal(got, ref)),
        "snr_db": snr_db(got, ref),
    }


def _ort_tensors(model, names, batches):
    """onnxruntime's value of each of `names` (those the ONNX graph computes) per batch."""
    import onnx

    m = onnx.load_from_string(model)
    try:
        m = onnx.shape_inference.infer_shapes(m)
    except Exception as e:  # noqa: BLE001 -- outputs without a type: onnxruntime infers them
        m.doc_string = f"{m.doc_string} (shape inference failed: {e})"
    produced = {o for node in m.graph.node for o in node.output} | {i.name for i in m.graph.input}
    known = {v.name: v for v in m.graph.value_info}
    outputs = [o.name for o in m.graph.output]
    wanted = [n for n in names if n in produced and n not in outputs]
    for n in wanted:
        m.graph.output.append(known.get(n) or onnx.ValueInfoProto(name=n))
    from ._model import ort_session

    sess = ort_session(m.SerializeToString())
    fetch = [o.name for o in sess.get_outputs()]
    result = []
    for b in batches:
        vals = dict(zip(fetch, sess.run(fetch, b)))
        vals.update(b)  # network inputs
        result.append(vals)
    return result


def _dequantized(arr, rng):
    if arr.dtype == np.int8 and rng:
        return arr.astype(np.float32) * np.float32(max(abs(rng[0]), abs(rng[1])) / 127.0)
    return arr.astype(np.float32)


def tensor_errors(engine, model, batches, reference=None, jump_db=10.0, ceiling_db=40.0):
    """(rows, first divergent tensor) of `engine` (built with DETAILED profiling verbosity)
    against onnxruntime FP32 on ONNX `model` bytes, or against engine `reference`."""
    layers = [lay for lay in engine_layers(engine) if lay.get("Location") != "Host"]
    ranges = {t["Name"]: t.get("DynamicRange") for lay in layers for t in lay["Outputs"]}
    runs = [dict(_clrt._infer_debug(engine, b)) for b in batches]
    if reference is None:
        refs = _ort_tensors(model, list(runs[0]), batches)
    else:
        refs = [{**dict(_clrt._infer_debug(reference, b)), **b} for b in batches]
    rows, snr = [], {}
    for lay in layers:
        ins = [t["Name"] for t in lay["Inputs"]]
        for t in lay["Outputs"]:
            name = t["Name"]
            if name not in runs[0]:
                continue
            # A tensor of clrt's own (a reformat's INT8 copy of its input) is compared with
            # the value it stands for.
            src = (
                name
                if name in refs[0]
                else next(
                    (i for i in ins if i in refs[0] and refs[0][i].size == runs[0][name].size), None
                )
            )
            row = {
                "tensor": name,
                "layer": lay["Name"],
                "onnx_nodes": lay.get("Origin", []),
                "precision": lay["Precision"],
                "dtype": t["Format/Datatype"],
            }
            if src is None:
                rows.append(
                    {
                        **row,
                        "max_abs": None,
                        "max_rel": None,
                        "cosine": None,
                        "snr_db": None,
                        "drop_db": None,
                    }
                )
                continue
            got = np.concatenate([_dequantized(r[name], ranges.get(name)).ravel() for r in runs])
            ref = np.concatenate([np.asarray(r[src], np.float32).ravel() for r in refs])
            err = _errors(got, ref)
            inherited = min((snr[i] for i in ins if i in snr), default=float("inf"))
            snr[name] = err["snr_db"]
            drop = min(inherited, ceiling_db) - min(err["snr_db"], ceiling_db)
            rows.append({**row, **err, "drop_db": drop})
    first = next(
        (r["tensor"] for r in rows if r["drop_db"] is not None and r["drop_db"] > jump_db), None
    )
    return rows, first


def compare(
    model,
    data,
    calibrator=None,
    cache=None,
    precision="int8",
    layer_precisions=None,
    reference=None,
    jump_db=10.0,
    ceiling_db=40.0,
    logger=None,
    **config,
):
    """Builds `model` (ONNX path/bytes) once in `precision` ('int8' with `calibrator` or
    `cache`, 'fp16', 'fp32'; `layer_precisions` a trtexec spec or {layer: DataType}), runs it on
    `data` and compares every engine tensor with onnxruntime FP32 (`reference=None`) or with
    the same tensors of another engine (`reference=<ICudaEngine>`). Returns a CompareReport."""
    from ..precision_spec import parse_layer_precisions

    session = Session(model, data, calibrator=calibrator, cache=cache, logger=logger, **config)
    if isinstance(layer_precisions, str):
        layer_precisions = parse_layer_precisions(layer_precisions)
    engine = session.build(precision, layer_precisions)
    rows, first = tensor_errors(
        engine, session.model, session.batches, reference, jump_db, ceiling_db
    )
    label = "onnxruntime FP32" if reference is None else "engine"
    report = CompareReport(rows, first, label, session.builds)
    report.engine, report.calibration_cache = engine, session.sink.cache
    return report
