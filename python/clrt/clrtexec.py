"""clrtexec: trtexec's command line over clrt's Python API (build, save/load, time, profile)."""

import os
import sys
import traceback

import clrt as trt

from ._exec_build import BuildFailure, build_plan, make_logger
from ._exec_calib import CalibError
from ._exec_compat import no_effect_notes
from ._exec_options import UsageError, build_parser, parse_args
from ._exec_report import (
    dump_layer_info,
    dump_output,
    dump_profile,
    export_layer_info,
    export_output,
    export_profile,
    export_times,
    layer_info,
    precision_counts,
    profile_check,
    summary,
)
from ._exec_run import Bindings, LayerProfile, RunError, input_shapes, run_queries, warm_up

_BUILD_ONLY = (
    "fp16",
    "int8",
    "calib",
    "calibData",
    "layerPrecisions",
    "layerOutputTypes",
    "minShapes",
    "optShapes",
    "maxShapes",
    "memPoolSize",
    "timingCacheFile",
    "builderOptimizationLevel",
    "saveEngine",
    "inputIOFormats",
    "outputIOFormats",
    "workspace",
)


class Log:
    """trtexec-style lines: [I]/[V] on stdout, [W]/[E] on stderr."""

    def __init__(self, verbose=False):
        self.is_verbose = verbose

    def info(self, msg):
        print(f"[I] {msg}" if msg else "[I]", flush=True)

    def verbose(self, msg):
        if self.is_verbose:
            print(f"[V] {msg}", flush=True)

    def warning(self, msg):
        print("\n".join(f"[W] {line}" for line in msg.splitlines()), file=sys.stderr, flush=True)

    def error(self, msg):
        print("\n".join(f"[E] {line}" for line in msg.splitlines()), file=sys.stderr, flush=True)


def _select_device(opts, log):
    if opts.device is not None:
        try:
            trt.set_device(opts.device)
        except (ValueError, IndexError, TypeError, RuntimeError) as e:
            raise UsageError(f"argument --device: {e}") from None
    log.info(f"Device: {trt.current_device()}")


def _engine_bytes(opts, log):
    if opts.onnx:
        plan = build_plan(opts, log)
        if opts.saveEngine:
            with open(opts.saveEngine, "wb") as f:
                f.write(plan)
            log.info(f"Engine saved to {opts.saveEngine}")
        return plan
    ignored = [f"--{k}" for k in _BUILD_ONLY if getattr(opts, k)]
    if ignored:
        log.warning(f"{', '.join(ignored)}: build options, ignored with --loadEngine")
    if not os.path.isfile(opts.loadEngine):
        raise BuildFailure(f"--loadEngine: file not found: {opts.loadEngine}")
    with open(opts.loadEngine, "rb") as f:
        plan = f.read()
    log.info(f"Loaded engine {opts.loadEngine} ({len(plan)} bytes)")
    return plan


def _deserialize(plan, opts):
    runtime = trt.Runtime(make_logger(opts.verbose))
    try:
        engine = runtime.deserialize_cuda_engine(plan)
    except Exception as e:  # EngineFormatError, DeviceError, ...
        raise BuildFailure(f"engine load failed: {e}") from e
    if engine is None:
        raise BuildFailure("engine load failed (see the log above)")
    return runtime, engine


def _layer_info(engine, opts, log):
    wanted = opts.dumpLayerInfo or opts.exportLayerInfo or opts.profile_layers
    info = layer_info(engine) if wanted else None
    if info is not None:
        counts = precision_counts(info)
        if counts:
            log.info("Layer precisions: " + ", ".join(f"{k} x{v}" for k, v in counts.items()))
    if opts.dumpLayerInfo:
        dump_layer_info(log, info)
    if opts.exportLayerInfo:
        export_layer_info(opts.exportLayerInfo, info)
        log.info(f"Layer information written to {opts.exportLayerInfo}")
    return info


def _infer(engine, opts, log, info):
    context = engine.create_execution_context()
    shapes, notes = input_shapes(engine, opts.shapes or {}, opts.loadInputs or {})
    for note in notes:
        log.info(note)
    for name, shape in shapes.items():
        log.info(f"Input inference shape: {name}={'x'.join(map(str, shape))}")
    try:
        bindings = Bindings(engine, context, shapes, opts.loadInputs or {})
    except ValueError as e:  # set_input_shape outside the engine's profile, ...
        raise RunError(str(e)) from None
    transfers = not opts.noDataTransfers
    try:
        warmups, warm_ms = warm_up(bindings, opts.warmUp, transfers)
        inline = opts.profile_layers and not opts.separateProfileRun
        profile = LayerProfile() if inline else None
        if inline:
            log.warning(
                "Per-layer profiling is on during the timing run and slows it (a marker "
                "after each layer, each run waited for before the next is enqueued); add "
                "--separateProfileRun for undisturbed timings"
            )
        context.profiling = inline
        queries, wall_ms = run_queries(
            bindings, opts.iterations, opts.duration, transfers, profile, opts.useSpinWait
        )
        summary(log, queries, wall_ms, warmups, warm_ms, opts)
        if opts.exportTimes:
            export_times(opts.exportTimes, queries)
            log.info(f"Times written to {opts.exportTimes}")
        if opts.profile_layers and opts.separateProfileRun:
            profile = LayerProfile()
            context.profiling = True
            run_queries(bindings, len(queries), 0.0, transfers, profile)
            log.info(f"Separate profiling run: {profile.count} queries")
        context.profiling = False
        if profile is not None:
            if opts.dumpProfile:
                dump_profile(log, profile, info)
            profile_check(log, profile)
            if opts.exportProfile:
                export_profile(opts.exportProfile, profile)
                log.info(f"Profile written to {opts.exportProfile}")
        if (opts.exportOutput or opts.dumpOutput) and not transfers:
            bindings.d2h()
        if opts.dumpOutput:
            dump_output(log, bindings)
        if opts.exportOutput:
            export_output(opts.exportOutput, bindings)
            log.info(f"Outputs written to {opts.exportOutput}")
    finally:
        bindings.free()


def _run(opts, log):
    for note in no_effect_notes(opts):
        log.info(note)
    if opts.noTF32:
        log.info("--noTF32: FP32 layers keep FP32 products (no TF32 tensor-core tactics)")
    _select_device(opts, log)
    plan = _engine_bytes(opts, log)
    runtime, engine = _deserialize(plan, opts)
    info = _layer_info(engine, opts, log)
    if opts.skipInference:
        log.info("--skipInference: inference skipped")
    else:
        _infer(engine, opts, log, info)
    del runtime


def main(argv=None):
    """Runs clrtexec on `argv` (default sys.argv[1:]). Returns the exit status: 0 success,
    1 build/load/run failure, 2 usage error."""
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    command = "clrtexec " + " ".join(argv)
    try:
        opts = parse_args(argv)
    except UsageError as e:
        build_parser().print_usage(sys.stderr)
        print(f"clrtexec: error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else 0
    log = Log(opts.verbose)
    print(f"&&&& RUNNING clrtexec [clrt {trt.__version__}] # {command}", flush=True)
    try:
        _run(opts, log)
    except UsageError as e:  # a value found bad once the model or device is known
        print(f"clrtexec: error: {e}", file=sys.stderr)
        print(f"&&&& FAILED clrtexec [clrt {trt.__version__}] # {command}", flush=True)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except (BuildFailure, CalibError, RunError, OSError) as e:
        log.error(str(e))
        print(f"&&&& FAILED clrtexec [clrt {trt.__version__}] # {command}", flush=True)
        return 1
    except Exception as e:  # noqa: BLE001 - any clrt error while running: report, do not crash
        log.error(f"{type(e).__name__}: {e}")
        if opts.verbose:
            log.error(traceback.format_exc())
        print(f"&&&& FAILED clrtexec [clrt {trt.__version__}] # {command}", flush=True)
        return 1
    print(f"&&&& PASSED clrtexec [clrt {trt.__version__}] # {command}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
