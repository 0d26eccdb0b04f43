"""trtexec flags that CI scripts pass and clrtexec takes for compatibility: those with an effect
on OpenCL (I/O formats, --workspace, --exportTimes, --dumpOutput, --skipInference, --useSpinWait,
--noTF32) and those without one, which are accepted with a line saying so."""

import argparse

# flag -> (takes a value, why it has no effect in clrt)
NO_EFFECT = {
    "explicitBatch": (False, "every clrt network has an explicit batch dimension"),
    "useCudaGraph": (False, "OpenCL has no CUDA graphs"),
    "threads": (False, "clrtexec runs a single inference thread"),
    "useManagedMemory": (False, "OpenCL buffers are device memory"),
    "exposeDMA": (False, "transfers are already timed apart from compute"),
    "noBuilderCache": (False, "clrt has no timing cache"),
    "noCompilationCache": (False, "compiled kernels are stored in the engine file"),
    "allowGPUFallback": (False, "clrt has no DLA"),
    "directIO": (False, "I/O tensors are always LINEAR in the given types"),
    "versionCompatible": (False, "clrt has no lean runtime"),
    "excludeLeanRuntime": (False, "clrt has no lean runtime"),
    "stronglyTyped": (False, "clrt takes precisions from the build flags"),
    "streams": (True, "clrtexec runs one inference stream"),
    "infStreams": (True, "clrtexec runs one inference stream"),
    "useDLACore": (True, "clrt has no DLA"),
    "sparsity": (True, "clrt has no sparse kernels"),
    "tacticSources": (True, "clrt's tactics are its own OpenCL kernels and CLBlast"),
    "maxAuxStreams": (True, "clrt enqueues on one queue"),
    "persistentCacheRatio": (True, "OpenCL has no persistent L2 control"),
    "minTiming": (True, "tactic timing iterations are clrt's own"),
    "avgTiming": (True, "tactic timing iterations are clrt's own"),
    "idleTime": (True, "queries run back to back"),
    "sleepTime": (True, "queries run back to back"),
    "hardwareCompatibilityLevel": (True, "engines are bound to their device fingerprint"),
    "preview": (True, "clrt has no preview features"),
    "heuristic": (False, "clrt times its tactics (--builderOptimizationLevel=0 does not)"),
}

_TYPES = {"fp32": "FLOAT", "fp16": "HALF", "int32": "INT32", "int8": "INT8", "bool": "BOOL"}
_FORMATS = {"chw", "linear"}
_TRT_FORMATS = {"chw2", "chw4", "hwc8", "chw16", "chw32", "dhwc8", "cdhw32", "hwc", "hwc16"}


def io_formats(spec):
    """'fp16:chw,fp32:chw' -> ['HALF', 'FLOAT'] (DataType names, one per input or output in
    order). clrt's I/O tensors are row major: only chw/linear formats are accepted."""
    out = []
    for item in spec.split(","):
        dtype, _, formats = item.strip().partition(":")
        if dtype not in _TYPES or not formats:
            raise argparse.ArgumentTypeError(
                f"'{item}' is not type:format; types are {', '.join(_TYPES)} and the format "
                "chw (or linear)"
            )
        for f in formats.split("+"):
            if f in _TRT_FORMATS:
                raise argparse.ArgumentTypeError(
                    f"format '{f}' in '{item}': clrt's I/O tensors are row major only; use chw"
                )
            if f not in _FORMATS:
                raise argparse.ArgumentTypeError(f"unknown format '{f}' in '{item}'; use chw")
        out.append(_TYPES[dtype])
    return out


def add_compat_flags(p):
    """trtexec's flags that clrtexec accepts for scripts written for trtexec."""
    g = p.add_argument_group("trtexec compatibility")
    g.add_argument(
        "--inputIOFormats",
        type=io_formats,
        metavar="type:chw,..",
        help="input types in input order (fp32, fp16, int32, int8, bool); formats must be chw",
    )
    g.add_argument(
        "--outputIOFormats",
        type=io_formats,
        metavar="type:chw,..",
        help="output types in output order, as --inputIOFormats",
    )
    g.add_argument(
        "--workspace", type=float, metavar="MiB", help="deprecated: --memPoolSize=workspace:N"
    )
    g.add_argument(
        "--noTF32",
        action="store_true",
        help="FP32 layers keep FP32 products (TF32 is on by default where the GPU has it)",
    )
    g.add_argument("--skipInference", action="store_true", help="build/load only")
    g.add_argument("--dumpOutput", action="store_true", help="print the last query's outputs")
    g.add_argument("--exportTimes", metavar="<file>", help="each query's timings as JSON")
    g.add_argument(
        "--useSpinWait", action="store_true", help="poll for query completion instead of blocking"
    )
    for flag, (valued, why) in NO_EFFECT.items():
        if valued:
            g.add_argument(f"--{flag}", metavar="value", help=f"no effect: {why}")
        else:
            g.add_argument(f"--{flag}", action="store_true", help=f"no effect: {why}")


def no_effect_notes(args):
    """One line per given flag that has no effect on OpenCL."""
    return [
        f"--{flag}: accepted for trtexec compatibility; no effect in clrt ({why})"
        for flag, (_, why) in NO_EFFECT.items()
        if getattr(args, flag) not in (None, False)
    ]
