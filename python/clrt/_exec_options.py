"""clrtexec's command line: trtexec's flags (``--flag=value``), their value parsers and checks."""

import argparse
import math

from ._exec_compat import add_compat_flags
from .precision_spec import parse_layer_output_types, parse_layer_precisions, split_name_value

DESCRIPTION = """\
Build an engine from an ONNX model (or load a saved one), run it and report its performance, as
NVIDIA's trtexec does, on an OpenCL device. Flags take trtexec's --flag=value form.

Timing (per query, host timers: clrt's Python API has no device events):
  H2D Latency       memcpy_htod of every input
  Enqueue Time      the execute_async_v3 call
  GPU Compute Time  from the start of execute_async_v3 to the end of Stream.synchronize()
  D2H Latency       memcpy_dtoh of every output
  Latency           H2D + GPU Compute + D2H
Per-layer profiles (--dumpProfile/--exportProfile) come from context.profiling, which waits for
each layer to finish: they slow the run they profile, so --separateProfileRun keeps them out of
the timing run. Their total is compared with the profiled runs' own GPU Compute Time.
"""

EPILOG = """\
example:
  clrtexec --onnx=models/fmnist_cnn.onnx --fp16 --shapes=input:8x1x28x28 --saveEngine=m.engine
"""

_POOLS = {"workspace"}
_TRT_POOLS = {"dlasram", "dlalocaldram", "dlaglobaldram", "tacticsharedmem"}
_UNITS = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


class UsageError(Exception):
    """A bad command line: clrtexec prints it with the usage and exits 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _list(spec, what):
    if not spec.strip():
        raise argparse.ArgumentTypeError(f"empty value; expected name:{what}[,name:{what}...]")
    items = [s.strip() for s in spec.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"empty item in '{spec}'")
    out = []
    for item in items:
        try:
            name, value = split_name_value(item, "", what)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)[2:]) from None
        if not value:
            raise argparse.ArgumentTypeError(f"'{item}' is not name:{what}")
        out.append((name, value))
    return out


def shape_spec(spec):
    """'input:1x3x224x224,mask:1x16' -> {'input': (1, 3, 224, 224), 'mask': (1, 16)}."""
    out = {}
    for name, dims in _list(spec, "NxCxHxW"):
        try:
            shape = tuple(int(d) for d in dims.split("x"))
        except ValueError:
            shape = None
        if shape is None or any(d < 0 for d in shape):
            raise argparse.ArgumentTypeError(
                f"bad dims '{dims}' for '{name}'; expected non-negative integers joined by 'x'"
            )
        out[name] = shape
    return out


def file_map(spec):
    """'input:x.npy,mask:m.bin' -> {'input': 'x.npy', 'mask': 'm.bin'}."""
    return dict(_list(spec, "file"))


def mem_pool(spec):
    """'workspace:1024' (MiB) or with a unit, 'workspace:512K' / '2G' -> {'workspace': bytes}."""
    out = {}
    for pool, size in _list(spec, "sizeMiB"):
        key = pool.lower()
        if key in _TRT_POOLS:
            raise argparse.ArgumentTypeError(
                f"pool '{pool}' has no clrt equivalent (clrt has only the workspace pool)"
            )
        if key not in _POOLS:
            raise argparse.ArgumentTypeError(f"unknown pool '{pool}'; expected workspace")
        unit = _UNITS.get(size[-1].lower())
        number = size[:-1] if unit else size
        try:
            value = float(number)
        except ValueError:
            value = -1.0
        if not 0 <= value < math.inf:
            raise argparse.ArgumentTypeError(f"bad size '{size}' for pool '{pool}'")
        out[key] = int(value * (unit or _UNITS["m"]))
    return out


def percentiles(spec):
    try:
        values = [float(p) for p in spec.split(",")]
    except ValueError:
        values = []
    if not values or any(not 0 <= p <= 100 for p in values):
        raise argparse.ArgumentTypeError(f"'{spec}' is not a list of percentages in [0, 100]")
    return values


def _bounded(kind, lo, hi=None):
    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"'{text}' is not {what}") from None
        if not math.isfinite(value) or value < lo or (hi is not None and value > hi):
            rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
            raise argparse.ArgumentTypeError(f"{text} is out of range (must be {rng})")
        return value

    convert.__name__ = kind.__name__
    return convert


def _spec(parse):
    def convert(text):
        try:
            return parse(text)
        except ValueError as e:
            # The parsers name the flag themselves; argparse adds it again.
            raise argparse.ArgumentTypeError(str(e).split(": ", 1)[-1]) from None

    convert.__name__ = "spec"
    return convert


def build_parser():
    p = _Parser(
        prog="clrtexec",
        allow_abbrev=False,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    m = p.add_argument_group("model and engine")
    m.add_argument("--onnx", metavar="<file>", help="ONNX model to build an engine from")
    m.add_argument("--loadEngine", metavar="<file>", help="load a serialized engine instead")
    m.add_argument("--saveEngine", metavar="<file>", help="write the built engine here")

    b = p.add_argument_group("build")
    b.add_argument("--fp16", action="store_true", help="allow FP16 layers (with FP32)")
    b.add_argument(
        "--int8",
        action="store_true",
        help="allow INT8 layers (with FP32); without --calib or --calibData the ranges are placeholders: timing only",
    )
    b.add_argument("--best", action="store_true", help="allow every precision (FP16 + INT8)")
    b.add_argument(
        "--calib",
        metavar="<file>",
        help="INT8 calibration cache to read (with --calibData: written)",
    )
    b.add_argument(
        "--calibData",
        metavar="<path>",
        help="clrt: a .npy file or a folder of .npy "
        "files to calibrate INT8 on (Entropy2); the cache goes to --calib",
    )
    b.add_argument(
        "--noRangeRefinement",
        action="store_true",
        help="clrt: with --calibData, keep the KL thresholds as TensorRT computes them "
        "(no output-error refinement of the ranges)",
    )
    b.add_argument(
        "--layerPrecisions",
        type=_spec(parse_layer_precisions),
        metavar="spec",
        help="per-layer precision: name:fp32|fp16|int8[,...], '*' wildcard",
    )
    b.add_argument(
        "--layerOutputTypes",
        type=_spec(parse_layer_output_types),
        metavar="spec",
        help="per-layer output types: name:type[+type...][,...]",
    )
    b.add_argument(
        "--precisionConstraints",
        choices=("none", "prefer", "obey"),
        default="none",
        help="whether --layerPrecisions/--layerOutputTypes are preferences or "
        "requirements (default none: they are not applied)",
    )
    for flag, what in (("min", "minimum"), ("opt", "optimum"), ("max", "maximum")):
        b.add_argument(
            f"--{flag}Shapes",
            type=shape_spec,
            metavar="spec",
            help=f"{what} shapes of the optimization profile: name:NxCxHxW[,...]",
        )
    b.add_argument(
        "--memPoolSize",
        type=mem_pool,
        metavar="workspace:<MiB>",
        help="workspace limit in MiB (or with a unit: 512K, 2G)",
    )
    b.add_argument(
        "--timingCacheFile",
        metavar="<file>",
        help="accepted for compatibility; clrt has no timing cache yet (warns)",
    )
    b.add_argument(
        "--builderOptimizationLevel",
        type=_bounded(int, 0, 5),
        metavar="N",
        help="0 takes each layer's preferred tactic untimed; higher levels time them",
    )
    b.add_argument(
        "--profilingVerbosity",
        choices=("layer_names_only", "detailed", "none"),
        default="detailed",
        help="engine's layer information (default detailed)",
    )

    r = p.add_argument_group("inference")
    r.add_argument(
        "--shapes",
        type=shape_spec,
        metavar="spec",
        help="input shapes to run with (and to build with when no min/opt/max)",
    )
    r.add_argument(
        "--loadInputs",
        type=file_map,
        metavar="name:file",
        help="input values: .npy files (others are read as raw bytes)",
    )
    r.add_argument(
        "--iterations",
        type=_bounded(int, 1),
        default=10,
        metavar="N",
        help="run at least N queries (default 10)",
    )
    r.add_argument(
        "--warmUp",
        type=_bounded(float, 0),
        default=200.0,
        metavar="ms",
        help="warm up for this many milliseconds first (default 200)",
    )
    r.add_argument(
        "--duration",
        type=_bounded(float, 0),
        default=3.0,
        metavar="s",
        help="run for at least this many seconds (default 3)",
    )
    r.add_argument(
        "--avgRuns",
        type=_bounded(int, 1),
        default=10,
        metavar="N",
        help="report averages over N consecutive queries (default 10)",
    )
    r.add_argument(
        "--percentile",
        type=percentiles,
        default=[90.0, 95.0, 99.0],
        metavar="P,..",
        help="percentiles to report (default 90,95,99)",
    )
    r.add_argument(
        "--noDataTransfers",
        action="store_true",
        help="no host<->device copies in the timed queries",
    )
    r.add_argument(
        "--separateProfileRun",
        action="store_true",
        help="profile layers in a run of their own, after the timing run",
    )

    o = p.add_argument_group("reporting")
    o.add_argument("--verbose", action="store_true", help="verbose logging")
    o.add_argument("--dumpProfile", action="store_true", help="print the per-layer profile")
    o.add_argument("--exportProfile", metavar="<file>", help="per-layer profile as JSON")
    o.add_argument("--dumpLayerInfo", action="store_true", help="print the engine's layers")
    o.add_argument("--exportLayerInfo", metavar="<file>", help="engine's layers as JSON")
    o.add_argument("--exportOutput", metavar="<file>", help="last query's outputs as JSON")

    s = p.add_argument_group("system")
    s.add_argument(
        "--device",
        metavar="<index|name>",
        help="OpenCL device: index or case-insensitive name substring",
    )
    add_compat_flags(p)
    return p


def _fill_profile(args):
    """trtexec's rules: missing min/opt/max shapes of an input are copied from the given ones;
    --shapes alone makes a fixed profile when building."""
    given = {k: getattr(args, f"{k}Shapes") or {} for k in ("min", "opt", "max")}
    names = [n for k in ("min", "opt", "max") for n in given[k]]
    if not names and args.shapes and args.onnx:
        return {n: (s, s, s) for n, s in args.shapes.items()}
    profile = {}
    for n in dict.fromkeys(names):
        lo, opt, hi = given["min"].get(n), given["opt"].get(n), given["max"].get(n)
        lo = lo or opt or hi
        opt = opt or hi or lo
        hi = hi or opt or lo
        if not len(lo) == len(opt) == len(hi):
            raise UsageError(f"input '{n}': min/opt/max shapes {lo}, {opt}, {hi} differ in rank")
        if any(not a <= b <= c for a, b, c in zip(lo, opt, hi)):
            raise UsageError(
                f"input '{n}': shapes must satisfy min <= opt <= max; got {lo}, {opt}, {hi}"
            )
        profile[n] = (lo, opt, hi)
    return profile


def parse_args(argv):
    """Parsed and checked options (argparse Namespace plus `profile`); UsageError when bad."""
    args = build_parser().parse_args(argv)
    if bool(args.onnx) == bool(args.loadEngine):
        raise UsageError("give exactly one of --onnx=<file> and --loadEngine=<file>")
    if args.best:
        args.fp16 = args.int8 = True
    if args.workspace is not None:
        if args.memPoolSize:
            raise UsageError("give one of --workspace (deprecated) and --memPoolSize=workspace:N")
        if not 0 <= args.workspace < math.inf:
            raise UsageError(f"argument --workspace: bad size {args.workspace:g} MiB")
        args.memPoolSize = {"workspace": int(args.workspace * _UNITS["m"])}
    if args.calibData and not args.int8:
        raise UsageError("--calibData calibrates INT8: add --int8 (or --best)")
    if args.dumpProfile or args.exportProfile:
        args.profile_layers = True
    else:
        args.profile_layers = False
    args.profile = _fill_profile(args)
    if args.device is not None and args.device.strip().isdigit():
        args.device = int(args.device)
    return args
