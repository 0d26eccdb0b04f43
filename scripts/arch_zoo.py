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


def run_model(trt, path, precisions, parse_only, opt_level=3):
    row = {"model": str(path), "status": "ok"}
    model = materialize(onnx.load(str(path)))
    data = model.SerializeToString()
    log = _Log(trt)
    builder = trt.Builder(log.logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, log.logger)
    if not parser.parse(data):
        reasons = sorted({str(parser.get_error(i)) for i in range(parser.num_errors)})
        row["status"] = "refused"
        row["reasons"] = reasons
        return row
    if parse_only:
        return row
    import onnxruntime as ort

    feeds = feeds_for(model)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    ref = dict(zip(names, sess.run(names, feeds)))
    for prec in precisions:
        log.warnings.clear()
        config = builder.create_builder_config()
        config.builder_optimization_level = opt_level
        if prec == "fp16":
            config.set_flag(trt.BuilderFlag.FP16)
        t0 = time.time()
        try:
            plan = builder.build_serialized_network(network, config)
            engine = trt.Runtime(log.logger).deserialize_cuda_engine(plan)
            out = engine.create_execution_context().infer(feeds)
        except Exception as e:  # noqa: BLE001 (reported per model, the survey goes on)
            row[prec] = {"error": f"{type(e).__name__}: {e}"[:300]}
            row["status"] = "error"
            continue
        shapes = {n: (np.shape(out.get(n)), ref[n].shape) for n in names}
        if any(a != b for a, b in shapes.values()):
            row[prec] = {"error": f"output shapes differ from onnxruntime's: {shapes}"}
            row["status"] = "mismatch"
            continue
        cos = min([cosine(out[n], ref[n]) for n in names if ref[n].dtype.kind == "f"] or [1.0])
        err = max(
            float(np.max(np.abs(np.asarray(out[n], np.float64) - ref[n]), initial=0.0))
            for n in names
        )
        kept = [w for w in log.warnings if "stays FP32" in w]
        low = [w for w in log.warnings if "has cosine" in w]
        row[prec] = {
            "build_s": round(time.time() - t0, 1),
            "cosine": cos,
            "max_abs_err": err,
            "fp16_kept_fp32": len(kept),
            "low_cosine_warnings": len(low),
        }
    return row


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
        row = run_model(trt, p, args.precisions.split(","), args.parse_only, args.opt_level)
        row["model"] = p.name
        rows.append(row)
        cells = [p.name, row["status"]]
        for prec in args.precisions.split(","):
            r = row.get(prec)
            if r and "error" in r:
                cells.append(f"{prec}: {r['error']}")
            elif r:
                cells.append(
                    f"{prec}: cos {r['cosine']:.6f} err {r['max_abs_err']:.2e} "
                    f"build {r['build_s']} s kept {r['fp16_kept_fp32']} warned {r['low_cosine_warnings']}"
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
