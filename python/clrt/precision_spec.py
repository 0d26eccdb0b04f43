"""trtexec's --layerPrecisions / --layerOutputTypes specs: parsing, and applying them to a network.

Syntax (as trtexec documents it): comma-separated ``layerName:type`` items, read left to right,
later items overriding earlier ones. A name may hold one ``*`` wildcard (``*`` alone matches every
layer, ``conv*`` every layer whose name starts with "conv"); a layer named exactly takes its own
item, otherwise the last wildcard item that matches it. Names split from their type at the last
``:``; a quoted name may hold ``:`` anywhere: ``'a:b':fp16`` (names cannot hold commas). Output
types give one type per output, separated by ``+`` (``split:fp16+fp32``); a single type applies
to every output. Types: ``fp32``, ``fp16``, ``int8``; TensorRT's other names (bf16, fp8, int32,
...) are rejected as unsupported by clrt.
"""

import difflib

from . import _clrt as _trt

_TYPES = {"fp32": _trt.DataType.FLOAT, "fp16": _trt.DataType.HALF, "int8": _trt.DataType.INT8}
_UNSUPPORTED = ("bf16", "fp8", "fp4", "int4", "int32", "int64", "bool", "uint8")
# Tensor dtypes that carry activations: wildcards skip layers producing none of them (shape
# math, integer indices), as trtexec does.
_ACTIVATION = (_trt.DataType.FLOAT, _trt.DataType.HALF, _trt.DataType.INT8)


def split_name_value(item, flag, what="type"):
    """trtexec's 'name:value' split, at the last ':' unless the name is quoted ('a:b':v).
    ValueError naming `flag` when malformed."""
    if "'" in item:
        parts = item.split("'")
        if len(parts) != 3 or parts[0] or not parts[2].startswith(":"):
            raise ValueError(f"{flag}: bad quoting in '{item}'; expected 'name':{what}")
        return parts[1], parts[2][1:]
    name, sep, value = item.rpartition(":")
    if not sep or not name:
        raise ValueError(f"{flag}: '{item}' is not name:{what}")
    return name, value


def _datatype(text, name, flag):
    key = text.strip().lower()
    if key in _TYPES:
        return _TYPES[key]
    if key in _UNSUPPORTED:
        raise ValueError(
            f"{flag}: type '{text}' for layer '{name}' is not supported by clrt "
            f"(supported: {', '.join(_TYPES)})"
        )
    raise ValueError(
        f"{flag}: unknown type '{text}' for layer '{name}'; expected one of {', '.join(_TYPES)}"
    )


def _items(spec, flag):
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"{flag}: empty spec; expected layerName:type[,layerName:type...]")
    for item in spec.split(","):
        if not item.strip():
            raise ValueError(f"{flag}: empty item in '{spec}'")
        name, value = split_name_value(item.strip(), flag)
        if name.count("*") > 1:
            raise ValueError(f"{flag}: '{name}' has more than one '*' wildcard")
        yield name, value


def _put(out, name, value):
    out.pop(name, None)  # re-inserted last: wildcard precedence follows the order given
    out[name] = value


def parse_layer_precisions(spec: str) -> "dict[str, _trt.DataType]":
    """'*:fp16,conv1:fp32' -> {'*': DataType.HALF, 'conv1': DataType.FLOAT} (ordered as given)."""
    out: dict[str, _trt.DataType] = {}
    for name, value in _items(spec, "--layerPrecisions"):
        _put(out, name, _datatype(value, name, "--layerPrecisions"))
    return out


def parse_layer_output_types(spec: str) -> "dict[str, list[_trt.DataType]]":
    """'*:fp16,split:fp32+fp16' -> {'*': [HALF], 'split': [FLOAT, HALF]} (ordered as given)."""
    out: dict[str, list[_trt.DataType]] = {}
    for name, value in _items(spec, "--layerOutputTypes"):
        types = value.split("+")
        _put(out, name, [_datatype(t, name, "--layerOutputTypes") for t in types])
    return out


def _wildcard_match(pattern, name):
    if "*" not in pattern:
        return pattern == name
    head, tail = pattern.split("*")
    return len(name) >= len(head) + len(tail) and name.startswith(head) and name.endswith(tail)


def _layers(network):
    return [network.get_layer(i) for i in range(network.num_layers)]


def _check_names(spec, names, flag):
    """Every exact name must be a layer; every wildcard other than '*' must match one."""
    for key in spec:
        if key == "*" or any(_wildcard_match(key, n) for n in names):
            continue
        if "*" in key:
            raise ValueError(f"{flag}: pattern '{key}' matches no layer of the network")
        close = difflib.get_close_matches(key, names, n=5, cutoff=0.5)
        hint = (
            f"close names: {', '.join(close)}"
            if close
            else f"layers are: {', '.join(names[:8])}{', ...' if len(names) > 8 else ''}"
            f" ({len(names)} in all)"
        )
        raise ValueError(f"{flag}: no layer named '{key}'; {hint}")


def _lookup(spec, name):
    """(value, exact) for a layer name: its own item, else the last matching wildcard."""
    if name in spec:
        return spec[name], True
    for key in reversed(spec):
        if "*" in key and _wildcard_match(key, name):
            return spec[key], False
    return None, False


def _computes_activations(layer):
    outs = [layer.get_output(i) for i in range(layer.num_outputs)]
    return any(t is not None and t.dtype in _ACTIVATION for t in outs)


def apply_layer_precisions(network, spec) -> "dict[str, _trt.DataType]":
    """Sets layer.precision from a parse_layer_precisions() dict. Returns {layer name: DataType}
    of the layers set; wildcards skip layers that produce no float tensor (shape math). Raises
    ValueError for names that match no layer, listing close names."""
    layers = _layers(network)
    _check_names(spec, [layer.name for layer in layers], "--layerPrecisions")
    applied = {}
    for layer in layers:
        value, exact = _lookup(spec, layer.name)
        if value is None or (not exact and not _computes_activations(layer)):
            continue
        layer.precision = value
        applied[layer.name] = value
    return applied


def apply_layer_output_types(network, spec) -> "dict[str, list[_trt.DataType]]":
    """Calls layer.set_output_type from a parse_layer_output_types() dict (one type for all
    outputs, or one per output). Returns {layer name: [DataType per output]} of the layers set;
    wildcards skip non-float outputs. Raises ValueError for unknown names or a type count that
    fits neither one nor every output of an exactly named layer."""
    layers = _layers(network)
    _check_names(spec, [layer.name for layer in layers], "--layerOutputTypes")
    applied = {}
    for layer in layers:
        types, exact = _lookup(spec, layer.name)
        if types is None:
            continue
        n = layer.num_outputs
        if len(types) not in (1, n):
            if not exact:
                continue
            raise ValueError(
                f"--layerOutputTypes: layer '{layer.name}' has {n} output(s) but "
                f"{len(types)} types were given"
            )
        done = []
        for i in range(n):
            t = types[0] if len(types) == 1 else types[i]
            out = layer.get_output(i)
            if not exact and (out is None or out.dtype not in _ACTIVATION):
                continue
            layer.set_output_type(i, t)
            done.append(t)
        if done:
            applied[layer.name] = done
    return applied
