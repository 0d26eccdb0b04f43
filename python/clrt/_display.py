"""Readable __repr__ and notebook _repr_html_ for the builder config, the network and its
layers, the engine and its inspector (the extension's objects otherwise show as
<clrt._clrt.ICudaEngine object at 0x...>)."""

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
        "progress_monitor": type(config.progress_monitor).__name__
        if config.progress_monitor is not None
        else None,
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


def _layer_row(layer):
    outs = [layer.get_output(i) for i in range(layer.num_outputs)]
    return (
        layer.name,
        layer.type.name,
        layer.precision.name if layer.precision_is_set else "(builder's choice)",
        ", ".join(f"{t.name} {tuple(t.shape)}" for t in outs),
    )


def _layer_html(layer):
    return _table([("layer", "type", "precision", "outputs"), _layer_row(layer)])


def _network_html(network):
    rows = [("layer", "type", "precision", "outputs")]
    rows += [_layer_row(network.get_layer(i)) for i in range(network.num_layers)]
    ins = ", ".join(network.get_input(i).name for i in range(network.num_inputs))
    outs = ", ".join(network.get_output(i).name for i in range(network.num_outputs))
    return (
        f"<b>INetworkDefinition '{html.escape(network.name)}'</b> "
        f"inputs: {html.escape(ins)}; outputs: {html.escape(outs)}{_table(rows)}"
    )


def _layers_html(info):
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
    return _table(rows)


def _engine_html(engine):
    """I/O tensors, then the layer table (precision, tactic, ONNX nodes) when the engine was
    built with DETAILED profiling verbosity (only names otherwise)."""
    info = engine.create_engine_inspector().get_engine_information(
        _clrt.LayerInformationFormat.JSON
    )
    io = [("tensor", "mode", "dtype", "shape"), *_io(engine)]
    return f"<b>ICudaEngine '{html.escape(engine.name)}'</b>{_table(io)}{_layers_html(info)}"


def _inspector_html(inspector):
    info = inspector.get_engine_information(_clrt.LayerInformationFormat.JSON)
    return f"<b>IEngineInspector</b>{_layers_html(info)}"


def _install():
    cfg, eng = _clrt.IBuilderConfig, _clrt.ICudaEngine
    cfg.__repr__, cfg._repr_html_ = _config_repr, _config_html
    eng.__repr__, eng._repr_html_ = _engine_repr, _engine_html
    _clrt.INetworkDefinition._repr_html_ = _network_html
    _clrt.ILayer._repr_html_ = _layer_html
    _clrt.IEngineInspector._repr_html_ = _inspector_html


_install()
