"""clrtexec's build: ONNX -> network -> config (precisions, profile, INT8 ranges) -> plan bytes."""

import os
import time
from pathlib import Path

import numpy as np

import clrt as trt

from ._exec_calib import (
    apply_placeholder_ranges,
    load_calib_data,
    make_calibrator,
)
from ._exec_options import UsageError
from .precision_spec import apply_layer_output_types, apply_layer_precisions

PLACEHOLDER_WARNING = """\
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!! --int8 without --calib or --calibData: INT8 ranges are PLACEHOLDERS (+-2 on layer inputs,
!! +-4 on outputs, as trtexec sets them). The engine's outputs are meaningless; use it for
!! TIMING ONLY. Give --calibData=<.npy or folder> (and --calib=<cache> to keep the result).
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"""


def _timing_cache(opts, config, log):
    """trtexec's --timingCacheFile: read the file if it exists, extend it, write it back after the
    build. A damaged file or one from another device is reported and replaced."""
    path = Path(opts.timingCacheFile)
    data = b""
    if path.exists():
        data = path.read_bytes()
        log.info(f"Loaded timing cache from {path} ({len(data)} bytes)")
    try:
        cache = config.create_timing_cache(data)
    except ValueError as e:
        log.warning(f"--timingCacheFile: {e}; starting a new cache")
        cache = config.create_timing_cache(b"")
    if not config.set_timing_cache(cache, False):
        log.warning(
            f"--timingCacheFile: {path} was measured on {cache.device!r}, not this device; "
            "starting a new cache"
        )
        cache = config.create_timing_cache(b"")
        config.set_timing_cache(cache, False)
    return cache


class BuildFailure(Exception):
    """The model cannot be parsed or built: clrtexec exits 1 with the reason."""


def make_logger(verbose):
    return trt.Logger(trt.Logger.VERBOSE if verbose else trt.Logger.WARNING)


def _parse(opts, logger, builder):
    if not os.path.isfile(opts.onnx):
        raise BuildFailure(f"--onnx: file not found: {opts.onnx}")
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(opts.onnx):
        errors = "\n  ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise BuildFailure(f"failed to parse ONNX file '{opts.onnx}':\n  {errors}")
    return network, parser


def _profile(opts, network, log):
    """{input: (min, opt, max)} for every input with dynamic dims (trtexec's shape rules)."""
    inputs = {
        network.get_input(i).name: tuple(network.get_input(i).shape)
        for i in range(network.num_inputs)
    }
    profile = dict(opts.profile)
    for name in profile:
        if name not in inputs:
            raise UsageError(
                f"shapes given for '{name}', which is not a network input; inputs: "
                f"{', '.join(inputs)}"
            )
    for name, dims in inputs.items():
        if -1 in dims and name not in profile:
            loaded = (opts.loadInputs or {}).get(name, "")
            shape = None
            if loaded.endswith(".npy") and os.path.isfile(loaded):
                shape = tuple(np.load(loaded, mmap_mode="r").shape)
            shape = shape or tuple(1 if d < 0 else d for d in dims)
            log.warning(
                f"Dynamic dimensions required for input: {name}, but no shapes were "
                f"provided. Automatically overriding shape to: {_x(shape)}"
            )
            profile[name] = (shape, shape, shape)
    return {n: r for n, r in profile.items() if -1 in inputs[n]}, inputs


def _io_types(opts, network, log):
    """--inputIOFormats/--outputIOFormats: the I/O tensors' types, in network order."""
    io = (
        ("--inputIOFormats", opts.inputIOFormats, "input", network.num_inputs, network.get_input),
        (
            "--outputIOFormats",
            opts.outputIOFormats,
            "output",
            network.num_outputs,
            network.get_output,
        ),
    )
    for flag, types, kind, count, get in io:
        if not types:
            continue
        tensors = [get(i) for i in range(count)]
        if len(types) != len(tensors):
            names = ", ".join(t.name for t in tensors)
            raise UsageError(
                f"{flag} gives {len(types)} format(s); the network has {len(tensors)} {kind}(s): "
                f"{names} (one type:chw per {kind}, in this order)"
            )
        for t, name in zip(tensors, types):
            t.dtype = getattr(trt.DataType, name)
            log.info(f"{kind} '{t.name}': {name} (chw)")


def _x(shape):
    return "x".join(str(d) for d in shape)


def _precision_constraints(opts, network, config, log):
    given = opts.layerPrecisions or opts.layerOutputTypes
    if opts.precisionConstraints == "none":
        if given:
            log.warning(
                "--layerPrecisions/--layerOutputTypes have no effect unless "
                "--precisionConstraints is set to prefer or obey (as in trtexec)"
            )
        return
    flag = {"prefer": "PREFER_PRECISION_CONSTRAINTS", "obey": "OBEY_PRECISION_CONSTRAINTS"}
    config.set_flag(getattr(trt.BuilderFlag, flag[opts.precisionConstraints]))
    if not given:
        log.warning(
            'When --precisionConstraints is "obey" or "prefer", add --layerPrecisions/'
            "--layerOutputTypes to set layer precisions and output types"
        )
    try:
        if opts.layerPrecisions:
            done = apply_layer_precisions(network, opts.layerPrecisions)
            log.info(f"Set the precision of {len(done)} layer(s) from --layerPrecisions")
            for name, t in done.items():
                log.verbose(f"Set layer {name} to precision {t}")
        if opts.layerOutputTypes:
            done = apply_layer_output_types(network, opts.layerOutputTypes)
            log.info(f"Set the output types of {len(done)} layer(s) from --layerOutputTypes")
            for name, types in done.items():
                log.verbose(f"Set outputs of layer {name} to {', '.join(map(str, types))}")
    except ValueError as e:
        raise UsageError(str(e)) from None


def _int8(opts, network, config, ranges_shape, log):
    """Calibrator, cache ranges or placeholder ranges. Returns the calibrator (keep it alive)."""
    if opts.calibData:
        _, opt, _ = next(iter(ranges_shape.values()))
        data = load_calib_data(opts.calibData, {n: r[1] for n, r in ranges_shape.items()})
        batch = opt[0] if opt else 1
        calibrator = make_calibrator(data, batch, opts.calib, write_cache=True)
        n = len(calibrator.batches)
        log.info(
            f"Calibrating INT8 (Entropy2) on {n} batch(es) of {batch} from "
            f"{opts.calibData}{' -> cache ' + opts.calib if opts.calib else ''}"
        )
        if n == 0:
            raise BuildFailure(f"--calibData: fewer samples than one batch of {batch}")
        config.int8_calibrator = calibrator
        config.refine_int8_ranges = not opts.noRangeRefinement
        return calibrator
    if opts.calib:
        if not os.path.isfile(opts.calib):
            raise BuildFailure(
                f"--calib: cache file not found: {opts.calib} (to create it, add "
                "--calibData=<.npy file or folder>)"
            )
        calibrator = make_calibrator({}, 1, opts.calib, write_cache=False)
        config.int8_calibrator = calibrator
        log.info(f"Reading INT8 calibration cache {opts.calib}")
        return calibrator
    log.warning(PLACEHOLDER_WARNING)
    apply_placeholder_ranges(network)
    return None


def _calibration_shapes(profile, inputs):
    return {n: profile.get(n, (dims, dims, dims)) for n, dims in inputs.items()}


def build_plan(opts, log):
    """Serialized engine bytes for --onnx under the build flags."""
    logger = make_logger(opts.verbose)
    builder = trt.Builder(logger)
    network, parser = _parse(opts, logger, builder)
    config = builder.create_builder_config()
    if opts.fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    if opts.int8:
        config.set_flag(trt.BuilderFlag.INT8)
    if opts.noTF32:
        config.clear_flag(trt.BuilderFlag.TF32)
    # NVIDIA_TF32_OVERRIDE=0 turns TF32 off in the builder too (as in cuBLAS and cuDNN).
    tf32_off = opts.noTF32 or os.environ.get("NVIDIA_TF32_OVERRIDE") == "0"
    tf32 = "" if tf32_off or not builder.platform_has_tf32 else " (TF32 tensor cores)"
    prec = "FP32" + tf32 + ("+FP16" if opts.fp16 else "") + ("+INT8" if opts.int8 else "")
    if opts.precisionConstraints != "none":
        prec += f" ({opts.precisionConstraints} precision constraints)"
    log.info(f"Precision: {prec}")
    _precision_constraints(opts, network, config, log)
    _io_types(opts, network, log)
    if opts.memPoolSize:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, opts.memPoolSize["workspace"])
    if opts.builderOptimizationLevel is not None:
        config.builder_optimization_level = opts.builderOptimizationLevel
    config.profiling_verbosity = getattr(trt.ProfilingVerbosity, opts.profilingVerbosity.upper())
    cache = _timing_cache(opts, config, log) if opts.timingCacheFile else None
    profile, inputs = _profile(opts, network, log)
    if profile:
        p = builder.create_optimization_profile()
        for name, (lo, opt, hi) in profile.items():
            log.info(f"Input build shape (profile 0): {name}={_x(lo)}+{_x(opt)}+{_x(hi)}")
            p.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(p)
    if opts.calib and not opts.int8:
        log.warning("--calib is ignored without --int8 (or --best)")
    calibrator = None
    if opts.int8:
        calibrator = _int8(opts, network, config, _calibration_shapes(profile, inputs), log)
    t0 = time.perf_counter()
    try:
        plan = builder.build_serialized_network(network, config)
    except Exception as e:  # BuildError and whatever the core raised while building
        raise BuildFailure(f"engine build failed: {e}") from e
    if plan is None:
        raise BuildFailure("engine build failed (see the log above)")
    log.info(f"Engine built in {time.perf_counter() - t0:.3f} s ({len(plan)} bytes)")
    if cache is not None:
        Path(opts.timingCacheFile).write_bytes(bytes(cache.serialize()))
        log.info(f"Saved timing cache to {opts.timingCacheFile} ({cache.num_entries} timings)")
    del calibrator, parser
    return bytes(plan)
