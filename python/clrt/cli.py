"""The `clrt` command: accuracy tools over ONNX models and .npy data.

    clrt compare MODEL --data x.npy [--calib c.npy | --cache FILE] [--precision int8|fp16|fp32]
    clrt sensitivity MODEL --data x.npy --labels y.npy --calib c.npy
    clrt precision-search MODEL --data x.npy --labels y.npy --calib c.npy --budget 0.1
    clrt classes MODEL --data x.npy --labels y.npy --calib c.npy   (onnxruntime FP32 vs engine)
    clrt run script.py [args]    (a TensorRT script using pycuda or cuda-python, unmodified)

--data/--calib hold samples on axis 0 (float, preprocessed as at inference), --labels int class
ids; --batch splits them. --json prints the report as JSON. Progress bars (clrt.progress's
TqdmMonitor: builds' phases, calibration batches, tactic timing, trials) go to stderr unless
--no-progress. clrtexec remains the trtexec-compatible command."""

import argparse
import sys
from pathlib import Path

import numpy as np

from . import accuracy


def _args(argv):
    ap = argparse.ArgumentParser(
        prog="clrt", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("compare", "sensitivity", "precision-search", "classes"):
        p = sub.add_parser(name)
        p.add_argument("model", help="ONNX file")
        p.add_argument("--data", required=True, help=".npy of input samples (axis 0)")
        p.add_argument("--labels", required=name in ("classes",), help=".npy of int labels")
        p.add_argument("--calib", help=".npy of calibration samples (INT8)")
        p.add_argument("--cache", help="calibration cache file (INT8) instead of --calib")
        p.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
        p.add_argument(
            "--no-refine",
            action="store_true",
            help="config.refine_int8_ranges = False (TensorRT's plain KL ranges)",
        )
        p.add_argument("--opt-level", type=int, default=None, help="builder optimization level")
        p.add_argument(
            "--keep",
            choices=("fp16", "fp32"),
            default="fp16",
            help="precision of layers kept out of INT8",
        )
        p.add_argument("--json", action="store_true", help="print the report as JSON")
        p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
        if name == "compare":
            p.add_argument("--precision", choices=("int8", "fp16", "fp32"), default="int8")
        if name == "precision-search":
            p.add_argument("--budget", type=float, default=0.1, help="metric drop allowed")
        if name == "classes":
            p.add_argument("--threshold", type=float, default=2.0, help="recall drop (points)")
    return ap.parse_args(argv)


def _batches(path, batch, what):
    a = np.load(path)
    if what != "--labels" and a.dtype.kind != "f":
        raise SystemExit(f"clrt: {what} {path}: samples are {a.dtype}; give preprocessed floats")
    return [np.ascontiguousarray(a[i : i + batch]) for i in range(0, len(a), batch)]


def _calibrator(args, model):
    if not args.calib:
        return None
    from ._exec_calib import make_calibrator
    from .accuracy._model import Session

    name = Session(model, [np.zeros(1, np.float32)]).input_names
    if len(name) != 1:
        raise SystemExit("clrt: --calib takes .npy data for single-input models only")
    data = {name[0]: np.load(args.calib).astype(np.float32)}
    return make_calibrator(data, min(args.batch, len(data[name[0]])), None, False)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:  # clrt run script.py: a TensorRT script on clrt, unmodified
        from .run import main as run_main

        return run_main(argv[1:])
    args = _args(argv)
    model = args.model
    if not Path(model).is_file():
        raise SystemExit(f"clrt: no such ONNX file: {model}")
    data = _batches(args.data, args.batch, "--data")
    labels = _batches(args.labels, args.batch, "--labels") if args.labels else None
    config = {}
    if args.no_refine:
        config["refine_int8_ranges"] = False
    if args.opt_level is not None:
        config["builder_optimization_level"] = args.opt_level
    if not args.no_progress:
        from .progress import TqdmMonitor

        config["progress_monitor"] = TqdmMonitor()
    cache = Path(args.cache).read_bytes() if args.cache else None
    common = dict(calibrator=_calibrator(args, model), cache=cache, **config)
    if args.command == "compare":
        report = accuracy.compare(model, data, precision=args.precision, **common)
    elif args.command == "sensitivity":
        report = accuracy.sensitivity(model, data, labels, keep=args.keep, **common)
    elif args.command == "precision-search":
        report = accuracy.search_precisions(
            model, data, labels, budget=args.budget, keep=args.keep, **common
        )
    else:
        from .accuracy._model import Session

        engine = Session(model, data, keep=args.keep, **common).build("int8")
        report = accuracy.per_class(model, engine, data, labels, threshold=args.threshold)
    print(report.to_json(indent=2) if args.json else report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
