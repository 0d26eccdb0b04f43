# Real architectures through clrt: materializes the skeletons of scripts/export_architectures.py,
# builds each in FP32 and FP16 and compares with onnxruntime FP32; prints one table.
"""Usage:
    python scripts/arch_zoo.py DIR [--match SUBSTR] [--precisions fp32,fp16] [--parse-only]
                               [--json OUT.json]

DIR holds *.onnx files (searched recursively): skeletons (large float initializers replaced by
their statistics) get seeded random values with the recorded mean/std clipped to the recorded
min/max; ordinary models run as they are. Integer inputs (token ids) are drawn below 100.
For each model: parse (every refusal reason, all at once), then per precision: build time,
cosine and max |error| of every output against onnxruntime FP32 on the same input, and whether
clrt warned about the FP16 layers it kept in FP32. A model that is refused is reported with
the reasons; nothing is skipped silently.

Two more figures say how far a difference can be trusted:
- `ort noise`: onnxruntime against itself with the input scaled by (1 + 1e-6 N(0, 1)), about
  the relative error of FP32 sums in another order (the lowest cosine of five draws). A
  detector's outputs pass thresholds, TopK and NMS, so near-ties can swap which boxes are kept;
  where this cosine is itself below 0.9999, a clrt cosine of the same size is the model's
  sensitivity, not an error (--noise-eps sets the noise).
- `matched` (detectors: outputs boxes (N, 4), scores (N,), labels (N,)): the fraction of the
  detections both runs share (same label, score within 1e-3, box corners within 0.1% of the image), for clrt and for
  the ort noise check. A flipped near-tie changes a few detections; the cosine counts every box
  after it in the sorted output.
- `before selection` (models with TopK / NonZero / NonMaxSuppression whose FP32 cosine is below
  0.9999): the float tensors those selections read before any selection has chosen (scores
  before their threshold, TopK's input, NMS's boxes and scores) marked as extra outputs and
  compared the same way, so a difference in the computation is told apart from a different
  choice among near-equal scores.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

SKELETON_KEY = "clrt_skeleton"


def materialize(model, seed=0):
    """Fills skeleton tensors in place with seeded values of the recorded statistics."""
    rng = np.random.default_rng(seed)

    def fill(t):
        if not t.doc_string.startswith("{") or SKELETON_KEY not in t.doc_string:
            return
        mean, std, lo, hi = json.loads(t.doc_string)[SKELETON_KEY]
        shape = tuple(t.dims)
        dtype = onnx.helper.tensor_dtype_to_np_dtype(t.data_type)
        a = np.full(shape, mean) if std == 0.0 else np.clip(rng.normal(mean, std, shape), lo, hi)
        t.CopyFrom(numpy_helper.from_array(a.astype(dtype), t.name))

    for t in model.graph.initializer:
        fill(t)
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    fill(a.t)
    return model


def feeds_for(model, seed=1):
    rng = np.random.default_rng(seed)
    inits = {t.name for t in model.graph.initializer}
    feeds = {}
    for i in model.graph.input:
        if i.name in inits:
            continue
        tt = i.type.tensor_type
        shape = [d.dim_value if d.dim_value > 0 else 1 for d in tt.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type)
        if np.issubdtype(dtype, np.integer):
            feeds[i.name] = rng.integers(0, 100, shape).astype(dtype)
        else:
            feeds[i.name] = rng.standard_normal(shape).astype(dtype)
    return feeds


SELECTIONS = ("TopK", "NonZero", "NonMaxSuppression")
COMPARISONS = ("Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Equal")


def selection_inputs(model):
    """The float tensors that the graph's selections read (TopK, NonZero through a comparison,
    NonMaxSuppression) and that no earlier selection chose from (a TopK over the scores a
    threshold kept reads the threshold's choice), among those the graph outputs depend on:
    {name: ONNX element type}."""
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    live, stack = set(), [o.name for o in g.output]
    while stack:
        t = stack.pop()
        if t not in live:
            live.add(t)
            stack += list(producer[t].input) if t in producer else []
    constants = {t.name for t in g.initializer}
    constants |= {o for n in g.node if n.op_type == "Constant" for o in n.output}
    types = {v.name: v.type.tensor_type.elem_type for v in list(g.input) + list(g.output)}
    inferred = onnx.shape_inference.infer_shapes(model).graph.value_info
    types.update({v.name: v.type.tensor_type.elem_type for v in inferred})
    after = set()  # tensors computed from a selection's result (nodes are in graph order)
    for n in g.node:
        if n.op_type in SELECTIONS or any(i in after for i in n.input):
            after.update(n.output)
    picked = {}
    for n in g.node:
        if n.op_type not in SELECTIONS or n.output[0] not in live:
            continue
        for t in n.input[:2]:
            p = producer.get(t)
            for u in list(p.input) if p is not None and p.op_type in COMPARISONS else [t]:
                float_type = types.get(u) in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
                if u and float_type and u not in constants and u not in after:
                    picked[u] = types[u]
    return picked


def with_outputs(model, types):
    """A copy of `model` with extra outputs {name: element type}, typed but shapeless (declared
    shapes would let onnxruntime fold Shape ops on them)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for n, et in types.items():
        m.graph.output.append(onnx.helper.make_tensor_value_info(n, et, None))
    return m


def ort_run(data, feeds):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def noise_cosine(data, feeds, ref, draws=5, eps=1e-6):
    """onnxruntime against itself with float inputs scaled by (1 + eps N(0, 1)): the lowest
    cosine of `draws` seeded draws (None when one changes an output's shape, e.g. a detector's
    number of boxes) and, for a detector's outputs, the lowest fraction of detections matched
    (None otherwise)."""
    worst, worst_match = 1.0, None
    det = detection_outputs(ref)
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        moved = {
            k: (v * (1 + eps * rng.standard_normal(v.shape))).astype(v.dtype)
            if v.dtype.kind == "f"
            else v
            for k, v in feeds.items()
        }
        other = ort_run(data, moved)
        if det:
            m = matched_detections(other, ref, det)
            worst_match = m if worst_match is None else min(worst_match, m)
        if worst is not None and any(other[n].shape != ref[n].shape for n in ref):
            worst = None
        if worst is not None:
            worst = min(worst, compare(other, ref)[0])
    return worst, worst_match


def detection_outputs(ref):
    """(boxes, scores, labels): the names of a detector's outputs, when the outputs are one (N, 4)
    float tensor, one (N,) float and one (N,) integer tensor (torchvision's detectors); else
    None."""
    if len(ref) != 3:
        return None
    shapes = {n: np.shape(v) for n, v in ref.items()}
    boxes = [n for n, d in shapes.items() if len(d) == 2 and d[1] == 4 and ref[n].dtype.kind == "f"]
    scores = [n for n, d in shapes.items() if len(d) == 1 and ref[n].dtype.kind == "f"]
    labels = [n for n, d in shapes.items() if len(d) == 1 and ref[n].dtype.kind in "iu"]
    if len(boxes) == len(scores) == len(labels) == 1:
        return boxes[0], scores[0], labels[0]
    return None


def matched_detections(out, ref, det, box_tol=1e-3, score_tol=1e-3):
    """The fraction of detections that `out` and `ref` share: a detection of `ref` is matched by
    one of `out` not matched yet with the same label, a score within `score_tol` and box corners
    within `box_tol` of the largest coordinate (0.1%: a third of a pixel at 320x320; zero-area
    boxes included), the closest box first; divided by the larger number of detections. A
    threshold, TopK or NMS that a near-tie flips changes a few detections, not the others, which
    the cosine of the sorted outputs would count against every box after the flip."""
    rb, rs, rl = (np.asarray(ref[n]) for n in det)
    ob, os_, ol = (np.asarray(out[n]) for n in det)
    n = max(len(rs), len(os_))
    if n == 0:
        return 1.0
    tol = box_tol * max(float(np.abs(rb).max(initial=0.0)), 1.0)
    free = np.ones(len(os_), bool)
    matched = 0
    for i in range(len(rs)):
        dist = np.abs(ob - rb[i]).max(axis=1, initial=0.0)
        ok = free & (ol == rl[i]) & (np.abs(os_ - rs[i]) <= score_tol) & (dist <= tol)
        if ok.any():
            free[np.argmin(np.where(ok, dist, np.inf))] = False
            matched += 1
    return matched / n


def compare(out, ref):
    """(min cosine over float outputs, max |error|) of `out` against `ref`, over the outputs
    whose shapes agree (run_model checks the shapes first)."""
    names = [n for n in ref if np.shape(out[n]) == ref[n].shape]
    cos = min([cosine(out[n], ref[n]) for n in names if ref[n].dtype.kind == "f"] or [1.0])
    err = max(
        (
            float(np.max(np.abs(np.asarray(out[n], np.float64) - ref[n]), initial=0.0))
            for n in names
        ),
        default=0.0,
    )
    return cos, err


def cosine(a, b):
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if not np.all(np.isfinite(a)):
        return float("nan")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 and nb == 0.0:
        return 1.0
    return float(a @ b / max(na * nb, 1e-300))


class _Log:
    """A clrt logger that keeps warnings (the FP16 guard's layer names among them)."""

    def __init__(self, trt):
        self.warnings = []
        log = self

        class L(trt.ILogger):
            def log(self, severity, msg):
                if int(severity) <= int(trt.Logger.WARNING):
                    log.warnings.append(msg)

        self.logger = L()


def parse(trt, data, log):
    """(builder, network, refusal reasons) of one model."""
    builder = trt.Builder(log.logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, log.logger)
    if parser.parse(data):
        return builder, network, []
    return builder, network, sorted({str(parser.get_error(i)) for i in range(parser.num_errors)})


def build_and_run(trt, builder, network, log, opt_level, fp16, feeds):
    config = builder.create_builder_config()
    config.builder_optimization_level = opt_level
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    plan = builder.build_serialized_network(network, config)
    engine = trt.Runtime(log.logger).deserialize_cuda_engine(plan)
    return engine.create_execution_context().infer(feeds)


def run_model(trt, path, precisions, parse_only, opt_level=3, input_seed=1, noise_eps=1e-6):
    row = {"model": str(path), "status": "ok"}
    model = materialize(onnx.load(str(path)))
    data = model.SerializeToString()
    log = _Log(trt)
    builder, network, reasons = parse(trt, data, log)
    if reasons:
        row["status"] = "refused"
        row["reasons"] = reasons
        return row
    if parse_only:
        return row
    feeds = feeds_for(model, input_seed)
    ref = ort_run(data, feeds)
    names = list(ref)
    det = detection_outputs(ref)
    if any(ref[n].dtype.kind == "f" for n in names):
        row["ort_noise_cosine"], noise_match = noise_cosine(data, feeds, ref, eps=noise_eps)
        if det:
            row["ort_noise_matched"] = noise_match
            row["detections"] = len(ref[det[1]])
    for prec in precisions:
        log.warnings.clear()
        t0 = time.time()
        try:
            out = build_and_run(trt, builder, network, log, opt_level, prec == "fp16", feeds)
        except Exception as e:  # noqa: BLE001 (reported per model, the survey goes on)
            row[prec] = {"error": f"{type(e).__name__}: {e}"[:300]}
            row["status"] = "error"
            continue
        shapes = {n: (np.shape(out.get(n)), ref[n].shape) for n in names}
        matched = matched_detections(out, ref, det) if det else None
        if any(a != b for a, b in shapes.values()) and det:
            row[prec] = {"cosine": None, "matched": matched, "build_s": round(time.time() - t0, 1)}
            row[prec]["before_selection"] = stage_check(trt, model, feeds, log, opt_level, prec)
            continue
        if any(a != b for a, b in shapes.values()):
            row[prec] = {"error": f"output shapes differ from onnxruntime's: {shapes}"}
            row["status"] = "mismatch"
            continue
        cos, err = compare(out, ref)
        kept = [w for w in log.warnings if "stays FP32" in w]
        low = [w for w in log.warnings if "has cosine" in w]
        row[prec] = {
            "build_s": round(time.time() - t0, 1),
            "cosine": cos,
            "max_abs_err": err,
            "fp16_kept_fp32": len(kept),
            "low_cosine_warnings": len(low),
            "matched": matched,
        }
        if (
            prec == "fp32"
            and cos < 0.9999
            and any(n.op_type in SELECTIONS for n in model.graph.node)
        ):
            row[prec]["before_selection"] = stage_check(trt, model, feeds, log, opt_level, prec)
    return row


def stage_check(trt, model, feeds, log, opt_level, prec="fp32"):
    """FP32 cosine of the tensors the selections read (see the module doc), as extra outputs."""
    stages = selection_inputs(model)
    data = with_outputs(model, stages).SerializeToString()
    ref = {n: v for n, v in ort_run(data, feeds).items() if n in stages}
    builder, network, reasons = parse(trt, data, log)
    if reasons:
        return {"error": reasons[0]}
    out = build_and_run(trt, builder, network, log, opt_level, prec == "fp16", feeds)
    cos, err = compare(out, ref)
    same = sum(np.shape(out[n]) == ref[n].shape for n in stages)
    return {
        "tensors": len(stages),
        "shape_differs": len(stages) - same,
        "cosine": cos,
        "max_abs_err": err,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--match", default="")
    ap.add_argument("--precisions", default="fp32,fp16")
    ap.add_argument("--parse-only", action="store_true")
    ap.add_argument("--json", default="")
    ap.add_argument(
        "--opt-level", type=int, default=3, help="builder_optimization_level (0: no tactic timing)"
    )
    ap.add_argument("--budget", type=float, default=1e9, help="start no model after SECONDS")
    ap.add_argument("--input-seed", type=int, default=1, help="seed of the models' inputs")
    ap.add_argument(
        "--noise-eps", type=float, default=1e-6, help="relative input noise of the ort noise check"
    )
    args = ap.parse_args()
    import clrt as trt

    paths = sorted(p for p in Path(args.dir).rglob("*.onnx") if args.match in p.name)
    rows = []
    t_start = time.time()
    for p in paths:
        if time.time() - t_start > args.budget:
            rows.append({"model": p.name, "status": "not run (time budget)"})
            print(f"{p.name} · not run (time budget)", flush=True)
            continue
        row = run_model(
            trt,
            p,
            args.precisions.split(","),
            args.parse_only,
            args.opt_level,
            args.input_seed,
            args.noise_eps,
        )
        row["model"] = p.name
        rows.append(row)
        cells = [p.name, row["status"]]
        if "ort_noise_cosine" in row:
            c = row["ort_noise_cosine"]
            cells.append("ort noise: shapes change" if c is None else f"ort noise cos {c:.6f}")
        if row.get("ort_noise_matched") is not None:
            cells.append(
                f"ort noise matched {row['ort_noise_matched']:.3f} of {row['detections']} detections"
            )
        for prec in args.precisions.split(","):
            r = row.get(prec)
            if r and "error" in r:
                cells.append(f"{prec}: {r['error']}")
            elif r and r["cosine"] is None:
                cells.append(f"{prec}: detections differ in number, matched {r['matched']:.3f}")
            elif r:
                cells.append(
                    f"{prec}: cos {r['cosine']:.6f} err {r['max_abs_err']:.2e} "
                    f"build {r['build_s']} s kept {r['fp16_kept_fp32']} warned {r['low_cosine_warnings']}"
                )
                if r.get("matched") is not None:
                    cells.append(f"matched {r['matched']:.3f}")
                st = r.get("before_selection")
                if st and "error" not in st:
                    cells.append(
                        f"before selection: {st['tensors']} tensors, cos {st['cosine']:.6f} "
                        f"err {st['max_abs_err']:.2e} ({st['shape_differs']} of other length)"
                    )
        if row.get("reasons"):
            cells.append(" | ".join(row["reasons"])[:600])
        print(" · ".join(cells), flush=True)
        if args.json:  # after every model: a run stopped at its time limit keeps what it did
            Path(args.json).write_text(json.dumps(rows, indent=1))
    refused = sum(r["status"] != "ok" for r in rows)
    print(f"\n{len(rows) - refused} of {len(rows)} models ok", file=sys.stderr)


if __name__ == "__main__":
    main()
