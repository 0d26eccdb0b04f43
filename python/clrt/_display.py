"""Readable __repr__ and notebook _repr_html_ for the builder config and the engine (the
extension's objects otherwise show as <clrt._clrt.ICudaEngine object at 0x...>)."""

import html
import json

from . import _clrt


def _flags(config):
    return [f.name for f in _clrt.BuilderFlag.__members__.values() if config.get_flag(f)]


def _config_fields(config):
    calib = config.int8_calibrator
    return {
        "flags": ", ".join(_flags(config)) or "(none)",
        "builder_optimization_level": config.builder_optimization_level,
        "profiling_verbosity": config.profiling_verbosity.name,
        "optimization profiles": config.num_optimization_profiles,
        "int8_calibrator": type(calib).__name__ if calib is not None else None,
        "refine_int8_ranges": config.refine_int8_ranges,
    }


def _config_repr(config):
    fields = ", ".join(f"{k}={v}" for k, v in _config_fields(config).items())
    return f"<IBuilderConfig {fields}>"


def _table(rows):
    return (
        "<table>"
        + "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
            for row in rows
        )
        + "</table>"
    )


def _config_html(config):
    return "<b>IBuilderConfig</b>" + _table(_config_fields(config).items())


def _io(engine):
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    return [
        (
            n,
            engine.get_tensor_mode(n).name,
            engine.get_tensor_dtype(n).name,
            tuple(engine.get_tensor_shape(n)),
        )
        for n in names
    ]


def _engine_repr(engine):
    io = ", ".join(f"{n} {mode.lower()} {dtype} {shape}" for n, mode, dtype, shape in _io(engine))
    return f"<ICudaEngine '{engine.name}': {engine.num_layers} layers; {io}>"


def _engine_html(engine):
    """I/O tensors, then the layer table (precision, tactic, ONNX nodes) when the engine was
    built with DETAILED profiling verbosity (only names otherwise)."""
    info = engine.create_engine_inspector().get_engine_information(
        _clrt.LayerInformationFormat.JSON
    )
    layers = json.loads(info).get("Layers", [])
    rows = [("layer", "type", "precision", "tactic", "ONNX nodes")]
    for lay in layers:
        if isinstance(lay, dict):
            rows.append(
                (
                    lay.get("Name"),
                    lay.get("LayerType"),
                    lay.get("Precision"),
                    lay.get("TacticName"),
                    ", ".join(lay.get("Origin", [])),
                )
            )
        else:
            rows.append((lay, "", "", "", ""))
    io = [("tensor", "mode", "dtype", "shape"), *_io(engine)]
    return f"<b>ICudaEngine '{html.escape(engine.name)}'</b>{_table(io)}{_table(rows)}"


def _install():
    cfg, eng = _clrt.IBuilderConfig, _clrt.ICudaEngine
    cfg.__repr__, cfg._repr_html_ = _config_repr, _config_html
    eng.__repr__, eng._repr_html_ = _engine_repr, _engine_html


_install()
