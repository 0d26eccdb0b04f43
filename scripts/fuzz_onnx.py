# ONNX fuzz harness: seeded structure-aware mutations of small models, parsed (some built and run)
# in worker subprocesses; counts ok / refused / crash / hang and saves a reproducer per crash.
#
#   python scripts/fuzz_onnx.py --seconds 3600 --seed 1 --out fuzz_out
#   python scripts/fuzz_onnx.py --replay fuzz_out/crash-1-123.onnx
#
# Trial i of seed s always makes the same model (random.Random(f"{s}:{i}")), so a count or a
# crash is reproducible from (seed, trial) alone. Needs clrt importable (PYTHONPATH=<stage>).
import argparse
import contextlib
import json
import os
import random
import select
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

N = helper.make_node
ROOT = Path(__file__).resolve().parent.parent

# Exceptions that are clrt refusing a model cleanly (its typed errors, and ValueError /
# RuntimeError for bad shapes at run time); anything else reaching Python (MemoryError,
# UnicodeDecodeError, TypeError, SystemError, ...) is counted as a crash.
REFUSALS = (
    "ParseError",
    "BuildError",
    "UnsupportedError",
    "EngineFormatError",
    "DeviceError",
    "ValueError",
    "RuntimeError",
    "FileNotFoundError",
)

OP_TYPES = [
    "Relu",
    "Sigmoid",
    "Add",
    "Mul",
    "Sub",
    "Div",
    "Conv",
    "MaxPool",
    "AveragePool",
    "Gemm",
    "MatMul",
    "Reshape",
    "Transpose",
    "Concat",
    "Slice",
    "Gather",
    "Shape",
    "Cast",
    "Squeeze",
    "Unsqueeze",
    "ReduceMean",
    "ReduceSum",
    "Softmax",
    "Expand",
    "Range",
    "ConstantOfShape",
    "Where",
    "Split",
    "Flatten",
    "Identity",
    "Tile",
    "Pad",
    "Resize",
    "Clip",
    "LayerNormalization",
    "BatchNormalization",
    "GlobalAveragePool",
    "Constant",
    "QuantizeLinear",
    "DequantizeLinear",
    "Pow",
    "Sqrt",
    "Exp",
    "Log",
    "Neg",
    "Abs",
    "Equal",
    "Less",
    "Greater",
    "Not",
    "Erf",
    "Max",
    "Min",
    "ArgMax",
    "NonZero",
    "Loop",
    "If",
    "OneHot",
    "ConvInteger",
    "MatMulInteger",
    "RoiAlign",
    "DFT",
    "STFT",
    "MelWeightMatrix",
    "Dropout",
    "Custom",
]
HUGE_INTS = [0, 1, -1, 2, 3, 7, -2, 2**31 - 1, 2**31, -(2**31), 2**32, 2**62, 2**63 - 1, -(2**63)]
WEIRD_FLOATS = [0.0, -0.0, 1e-45, 1e38, -1e38, float("inf"), float("-inf"), float("nan"), 65504.0]
ONNX_TYPES = [t for t in TensorProto.DataType.values() if t != TensorProto.UNDEFINED] + [99, -3]


# ---- seed models: small, covering conv/pool/gemm, shape subgraphs, fill ops and reductions ----

NEWER_INTS = {"bi": [0, 0], "depth": 16, "flat": [1, -1], "ax2": [2], "step": 2, "nm": 4}
NEWER_INTS |= {"nl": 16, "sr": 800}


def _model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def _init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def seed_models():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    cnn = _model(
        [
            N("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[1, 1], name="conv"),
            N("Relu", ["c"], ["r"], name="relu"),
            N("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
            N("Flatten", ["p"], ["f"], axis=1, name="flat"),
            N("Gemm", ["f", "gw", "gb"], ["y"], transB=1, name="gemm"),
        ],
        [_vi("x", [1, 2, 6, 6])],
        [_vi("y", [1, 3])],
        [
            _init("w", w),
            _init("b", np.zeros(4, np.float32)),
            _init("gw", rng.standard_normal((3, 36)).astype(np.float32)),
            _init("gb", np.ones(3, np.float32)),
        ],
    )
    shapes = _model(
        [
            N("Shape", ["x"], ["s"], name="shape"),
            N("Gather", ["s", "i0"], ["d0"], axis=0, name="gather"),
            N("Unsqueeze", ["d0", "ax"], ["d0u"], name="unsq"),
            N("Concat", ["d0u", "m1"], ["ns"], axis=0, name="concat"),
            N("Reshape", ["x", "ns"], ["rs"], name="reshape"),
            N("ReduceMean", ["rs"], ["y"], axes=[1], keepdims=1, name="rmean"),
        ],
        [_vi("x", ["n", 3, 4])],
        [_vi("y", None)],
        [
            _init("i0", np.array(0, np.int64)),
            _init("ax", np.array([0], np.int64)),
            _init("m1", np.array([-1], np.int64)),
        ],
        opset=13,
    )
    fills = _model(
        [
            N(
                "ConstantOfShape",
                ["cs"],
                ["z"],
                value=_init("v", np.array([2.0], np.float32)),
                name="cos",
            ),
            N("Range", ["r0", "r1", "r2"], ["rg"], name="range"),
            N("Cast", ["rg"], ["rgf"], to=TensorProto.FLOAT, name="cast"),
            N("Expand", ["rgf", "es"], ["e"], name="expand"),
            N("Add", ["e", "z"], ["ez"], name="add"),
            N("Mul", ["ez", "x"], ["y"], name="mul"),
        ],
        [_vi("x", [2, 4])],
        [_vi("y", [2, 4])],
        [
            _init("cs", np.array([2, 4], np.int64)),
            _init("r0", np.array(0, np.int64)),
            _init("r1", np.array(4, np.int64)),
            _init("r2", np.array(1, np.int64)),
            _init("es", np.array([2, 4], np.int64)),
        ],
    )
    misc = _model(
        [
            N("MatMul", ["x", "mw"], ["m"], name="matmul"),
            N("Softmax", ["m"], ["sm"], axis=-1, name="softmax"),
            N("Transpose", ["sm"], ["t"], perm=[1, 0], name="transpose"),
            N("Split", ["t", "sp"], ["a", "b"], axis=0, name="split"),
            N("Slice", ["a", "st", "en"], ["sl"], name="slice"),
            N("Greater", ["sl", "b"], ["g"], name="greater"),
            N("Where", ["g", "sl", "b"], ["y"], name="where"),
            N("ReduceSum", ["y", "rax"], ["z"], keepdims=0, name="rsum"),
        ],
        [_vi("x", [3, 4])],
        [_vi("y", None), _vi("z", None), _vi("x", [3, 4])],
        [
            _init("mw", rng.standard_normal((4, 4)).astype(np.float32)),
            _init("sp", np.array([2, 2], np.int64)),
            _init("st", np.array([0], np.int64)),
            _init("en", np.array([3], np.int64)),
            _init("rax", np.array([1], np.int64)),
        ],
    )
    # Operators added 2026-12-03 (integer products, MaxPool indices, RoiAlign, OneHot, spectral
    # ops, Dropout's mask), wired so that mutations reach their attributes and operands.
    newer = _model(
        [
            N("ConvInteger", ["xq", "wq", "zx"], ["ci"], pads=[1, 1, 1, 1], name="convint"),
            N("Cast", ["ci"], ["cf"], to=TensorProto.FLOAT, name="cast"),
            N("MaxPool", ["cf"], ["mp", "mi"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
            N(
                "RoiAlign",
                ["mp", "rois", "bi"],
                ["ra"],
                output_height=2,
                output_width=2,
                sampling_ratio=0,
                name="roialign",
            ),
            N("OneHot", ["mi", "depth", "vals"], ["oh"], axis=-1, name="onehot"),
            N("Reshape", ["ra", "flat"], ["raf"], name="reshape"),
            N("Unsqueeze", ["raf", "ax2"], ["sig"], name="unsq"),
            N("DFT", ["sig"], ["spec"], axis=1, onesided=1, name="dft"),
            N("STFT", ["sig", "step", "win"], ["st"], name="stft"),
            N("MelWeightMatrix", ["nm", "nl", "sr", "lo", "hi"], ["mel"], name="mel"),
            N("Dropout", ["raf"], ["dr", "dm"], name="dropout"),
        ],
        [_vi("xq", [1, 2, 4, 4], TensorProto.UINT8)],
        [_vi("oh", None), _vi("spec", None), _vi("st", None), _vi("mel", None)]
        + [_vi("dm", None, TensorProto.BOOL)],
        [
            _init("wq", rng.integers(0, 255, (2, 2, 3, 3)).astype(np.uint8)),
            _init("zx", np.array(3, np.uint8)),
            _init("rois", np.array([[0, 0, 1.5, 1.5], [0.5, 0.2, 2.0, 2.0]], np.float32)),
            _init("win", np.hanning(4).astype(np.float32)),
        ]
        + [_init(k, np.array(v, np.int64)) for k, v in NEWER_INTS.items()]
        + [
            _init(k, np.array(v, np.float32)) for k, v in (("vals", [0, 1]), ("lo", 0), ("hi", 400))
        ],
        opset=17,
    )
    models = [cnn, shapes, fills, misc, newer]
    for path in sorted((ROOT / "models").glob("fmnist_*.onnx")):
        models.append(onnx.load(str(path)))
    return models


# ---- mutations: each edits the ModelProto in place (or returns new bytes) ----


def _pick(rng, seq):
    return seq[rng.randrange(len(seq))] if len(seq) else None


def _value_names(m):
    g = m.graph
    names = [i.name for i in g.input] + [t.name for t in g.initializer]
    for n in g.node:
        names += [o for o in n.output if o]
    return names or ["x"]


def mut_dims(rng, m):
    shapes = [vi.type.tensor_type.shape for vi in list(m.graph.input) + list(m.graph.output)]
    shapes = [s for s in shapes if len(s.dim)]
    if rng.random() < 0.5 and shapes:
        d = _pick(rng, _pick(rng, shapes).dim)
        if rng.random() < 0.3:
            d.dim_param = "dyn"
        else:
            d.dim_value = _pick(rng, HUGE_INTS + [0, 5, 100000])
    elif m.graph.initializer:
        t = _pick(rng, m.graph.initializer)
        if t.dims and rng.random() < 0.5:
            t.dims[rng.randrange(len(t.dims))] = _pick(rng, HUGE_INTS)
        else:
            t.dims.append(_pick(rng, [1, 2, 0, 2**31]))


def mut_dtype(rng, m):
    if rng.random() < 0.5 and m.graph.input:
        _pick(rng, m.graph.input).type.tensor_type.elem_type = _pick(rng, ONNX_TYPES)
    elif m.graph.initializer:
        _pick(rng, m.graph.initializer).data_type = _pick(rng, ONNX_TYPES)


def _random_attr_value(rng, a):
    if a.type == onnx.AttributeProto.INT:
        a.i = _pick(rng, HUGE_INTS)
    elif a.type == onnx.AttributeProto.FLOAT:
        a.f = _pick(rng, WEIRD_FLOATS)
    elif a.type == onnx.AttributeProto.INTS:
        v = list(a.ints)
        op = rng.randrange(4)
        if op == 0 and v:
            v[rng.randrange(len(v))] = _pick(rng, HUGE_INTS)
        elif op == 1:
            v.append(_pick(rng, HUGE_INTS))
        elif op == 2 and v:
            v.pop(rng.randrange(len(v)))
        else:
            v = [_pick(rng, HUGE_INTS) for _ in range(rng.randrange(9))]
        del a.ints[:]
        a.ints.extend(v)
    elif a.type == onnx.AttributeProto.STRING:
        a.s = _pick(rng, [b"", b"SAME_UPPER", b"VALID", b"nearest", b"\xff\xfe", b"x" * 300])
    elif a.type == onnx.AttributeProto.TENSOR:
        a.t.dims.append(_pick(rng, HUGE_INTS))


def mut_attribute(rng, m):
    nodes = list(m.graph.node)
    if not nodes:
        return
    n = _pick(rng, nodes)
    r = rng.random()
    if n.attribute and r < 0.6:
        _random_attr_value(rng, _pick(rng, n.attribute))
    elif n.attribute and r < 0.75:
        a = _pick(rng, n.attribute)
        n.attribute.remove(a)
    else:
        name = _pick(
            rng,
            [
                "axis",
                "axes",
                "keepdims",
                "perm",
                "to",
                "group",
                "pads",
                "strides",
                "kernel_shape",
                "dilations",
                "ceil_mode",
                "transA",
                "alpha",
                "mode",
                "auto_pad",
                "value",
                "split",
            ],
        )
        kind = rng.randrange(4)
        value = [
            _pick(rng, HUGE_INTS),
            _pick(rng, WEIRD_FLOATS),
            [_pick(rng, HUGE_INTS) for _ in range(rng.randrange(6))],
            _pick(rng, ["SAME_LOWER", "bogus", ""]),
        ][kind]
        with contextlib.suppress(ValueError, TypeError):
            n.attribute.append(helper.make_attribute(name, value))


def mut_wiring(rng, m):
    nodes = m.graph.node
    if not nodes:
        return
    names = _value_names(m) + ["", "nowhere"]
    n = _pick(rng, nodes)
    r = rng.random()
    if r < 0.35 and n.input:
        n.input[rng.randrange(len(n.input))] = _pick(rng, names)
    elif r < 0.5:
        n.input.append(_pick(rng, names))
    elif r < 0.65 and n.output:
        n.output[rng.randrange(len(n.output))] = _pick(rng, names)
    elif r < 0.75:
        del nodes[rng.randrange(len(nodes))]
    elif r < 0.85:
        nodes.add().CopyFrom(_pick(rng, nodes))
    elif r < 0.92:
        order = list(nodes)
        rng.shuffle(order)
        del nodes[:]
        nodes.extend(order)
    else:
        out = _pick(rng, m.graph.output)
        if out is not None:
            out.name = _pick(rng, names)


def mut_op_type(rng, m):
    if m.graph.node:
        _pick(rng, m.graph.node).op_type = _pick(rng, OP_TYPES)


def mut_initializer(rng, m):
    inits = m.graph.initializer
    if not inits:
        return
    t = _pick(rng, inits)
    r = rng.random()
    if r < 0.3 and t.raw_data:
        cut = rng.randrange(len(t.raw_data) + 1)
        t.raw_data = t.raw_data[:cut]
    elif r < 0.5 and t.data_type == TensorProto.INT64:
        n = 1
        for d in t.dims:  # Python ints: a mutated dim may be 2^62; at most 64 values are made
            n = min(n * max(d, 0), 64)
        n = max(n, 1)
        vals = np.array([_pick(rng, HUGE_INTS + [2**31, 2**20]) for _ in range(n)], np.int64)
        t.ClearField("int64_data")
        t.raw_data = vals.tobytes()
    elif r < 0.65:
        t.data_location = TensorProto.EXTERNAL
        del t.external_data[:]
        kv = t.external_data.add()
        kv.key, kv.value = "location", _pick(rng, ["w.bin", "../w.bin", "/etc/passwd", "", "a/b"])
        if rng.random() < 0.5:
            kv = t.external_data.add()
            kv.key = _pick(rng, ["offset", "length"])
            kv.value = _pick(rng, ["0", "-1", "99999999999999999999", "12x", "7"])
    elif r < 0.8:
        t.raw_data = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
    else:
        del t.dims[:]
        t.dims.extend(_pick(rng, HUGE_INTS[:8]) for _ in range(rng.randrange(4)))


def mut_opset(rng, m):
    o = m.opset_import[0] if m.opset_import else m.opset_import.add()
    r = rng.random()
    if r < 0.7:
        o.version = _pick(rng, [1, 6, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 21, 22, 99, -1])
    elif r < 0.85:
        o.domain = _pick(rng, ["ai.onnx", "com.microsoft", "x"])
    else:
        del m.opset_import[:]


def mut_fill_sizes(rng, m):
    """A ConstantOfShape / Range / Expand / Tile asking for a huge result (finding 7's models)."""
    big = _pick(rng, [2**31, 2**33, 2**26, 2**40, 3 * 10**9])
    kind = rng.randrange(4)
    g = m.graph
    tag = f"fz{rng.randrange(10**6)}"
    if kind == 0:
        g.initializer.append(_init(tag + "s", np.array([big], np.int64)))
        g.node.append(N("ConstantOfShape", [tag + "s"], [tag + "o"]))
    elif kind == 1:
        g.initializer.extend(
            [
                _init(tag + "a", np.array(0, np.int64)),
                _init(tag + "b", np.array(big, np.int64)),
                _init(tag + "c", np.array(1, np.int64)),
            ]
        )
        g.node.append(N("Range", [tag + "a", tag + "b", tag + "c"], [tag + "o"]))
    elif kind == 2:
        g.initializer.extend(
            [
                _init(tag + "v", np.ones(2, np.float32)),
                _init(tag + "s", np.array([big // 2, 2], np.int64)),
            ]
        )
        g.node.append(N("Expand", [tag + "v", tag + "s"], [tag + "o"]))
    else:
        g.initializer.extend(
            [_init(tag + "v", np.ones(2, np.float32)), _init(tag + "r", np.array([big], np.int64))]
        )
        g.node.append(N("Tile", [tag + "v", tag + "r"], [tag + "o"]))
    g.output.append(helper.make_tensor_value_info(tag + "o", TensorProto.FLOAT, None))


MUTATORS = [
    mut_dims,
    mut_dtype,
    mut_attribute,
    mut_attribute,
    mut_wiring,
    mut_wiring,
    mut_op_type,
    mut_initializer,
    mut_opset,
    mut_fill_sizes,
]


def non_utf8_names(rng, data, m):
    """Replaces one byte of a node/tensor name in the serialized model by an invalid UTF-8 byte:
    the length stays, so the protobuf framing does too."""
    names = [n.name for n in m.graph.node if n.name] + _value_names(m)
    names = [s.encode() for s in names if len(s) >= 2]
    if not names:
        return data
    name = _pick(rng, names)
    pos = rng.randrange(len(name))
    bad = name[:pos] + bytes([_pick(rng, [0xFF, 0xC3, 0x80, 0xED])]) + name[pos + 1 :]
    return data.replace(name, bad) if rng.random() < 0.7 else data.replace(name, bad, 1)


def byte_flips(rng, data):
    b = bytearray(data)
    for _ in range(rng.randrange(1, 9)):
        op = rng.randrange(4)
        if not b:
            break
        i = rng.randrange(len(b))
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i] = rng.randrange(256)
        elif op == 2:
            del b[i : i + rng.randrange(1, 16)]
        else:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
    return bytes(b)


def make_trial(seeds, seed, trial, run_fraction=0.1):
    """(model bytes, run: build and infer too) of one trial; deterministic in (seed, trial)."""
    rng = random.Random(f"{seed}:{trial}")
    m = onnx.ModelProto()
    m.CopyFrom(_pick(rng, seeds))
    for _ in range(rng.choice([1, 1, 2, 3])):
        # A mutation the protobuf API refuses leaves the model as it was.
        with contextlib.suppress(ValueError, TypeError, IndexError, OverflowError):
            _pick(rng, MUTATORS)(rng, m)
    data = m.SerializeToString()
    if rng.random() < 0.15:
        data = non_utf8_names(rng, data, m)
    if rng.random() < 0.15:
        data = byte_flips(rng, data)
    return data, rng.random() < run_fraction


# ---- the worker: parses (builds, runs) models read from stdin, one JSON line per model ----


HARNESS_INPUT_BYTES = 1 << 30


def _feeds(engine, trt):
    feeds = {}
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        if engine.get_tensor_mode(name) != trt.TensorIOMode.INPUT:
            continue
        shape = [d if d >= 0 else 1 for d in engine.get_tensor_shape(name)]
        dtype = trt.nptype(engine.get_tensor_dtype(name))
        # The harness's own input array: a mutated 2^32 x 4 input would be 64 GB of NumPy
        # memory (an abort under ASan's allocator), which says nothing about clrt.
        if np.prod(shape, dtype=np.float64) * np.dtype(dtype).itemsize > HARNESS_INPUT_BYTES:
            return None
        feeds[name] = np.ones(shape, dtype)
    return feeds


def _exercise_text(parser, network):
    """Every string that comes from the model and goes to Python (finding 13)."""
    for i in range(parser.num_errors):
        e = parser.get_error(i)
        str(e), repr(e), e.desc(), e.node_name(), e.node_operator(), e.hint()
    names = [network.get_input(i).name for i in range(network.num_inputs)]
    names += [network.get_output(i).name for i in range(network.num_outputs)]
    names += [network.get_layer(i).name for i in range(network.num_layers)]
    for name in names:
        name.encode("utf-8")


def run_one(trt, builder, logger, data, run):
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, logger)
    ok = parser.parse(data)
    _exercise_text(parser, network)
    if not ok:
        return "refused", "parse"
    if not run:
        return "ok", "parsed"
    config = builder.create_builder_config()
    config.builder_optimization_level = 0
    profile = builder.create_optimization_profile()
    dynamic = False
    for i in range(network.num_inputs):
        t = network.get_input(i)
        if any(d < 0 for d in t.shape):
            dynamic = True
            s = [d if d >= 0 else 1 for d in t.shape]
            profile.set_shape(t.name, s, s, s)
    if dynamic:
        config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        return "refused", "build returned None"
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
    context = engine.create_execution_context()
    feeds = _feeds(engine, trt)
    if feeds is None:
        return "ok", "built (inputs too large for the harness to make)"
    context.infer(feeds)
    return "ok", "ran"


def worker_main():
    import clrt as trt

    class Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)

        def log(self, severity, msg):
            msg.encode("utf-8")  # a str that cannot be encoded means a bad decode upstream

    logger = Logger()
    builder = trt.Builder(logger)
    # Answers go to a private copy of stdout; anything the native code prints goes to stderr.
    stdin, stdout = sys.stdin.buffer, os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    while True:
        header = stdin.read(5)
        if len(header) < 5:
            return
        size, run = struct.unpack("<I?", header)
        data = stdin.read(size)
        try:
            status, detail = run_one(trt, builder, logger, data, run)
        except Exception as e:  # noqa: BLE001 - classified below
            kind = type(e).__name__
            status = "refused" if kind in REFUSALS else "crash"
            detail = f"{kind}: {str(e)[:300]}"
        stdout.write(json.dumps({"status": status, "detail": detail}) + "\n")
        stdout.flush()


# ---- the driver ----


class Worker:
    def __init__(self, env):
        self.env = env
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self.env,
        )

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()
            for pipe in (self.proc.stdin, self.proc.stdout):
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()
        self.proc = None

    def trial(self, data, run, timeout):
        """(status, detail): status ok / refused / crash / hang."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        try:
            self.proc.stdin.write(struct.pack("<I?", len(data), run) + data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        line = _read_line(self.proc, timeout)
        if line is None:
            self.stop()
            return "hang", f"no answer in {timeout} s"
        if not line:  # end of file: the worker is gone
            try:
                code = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                code = "none (closed its output and went on)"
            self.stop()
            return "crash", f"worker died with exit code {code}"
        result = json.loads(line)
        return result["status"], result["detail"]


def _read_line(proc, timeout):
    """The worker's next line; "" when it closed its output (died), None after `timeout`."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        return None
    return proc.stdout.readline().decode()  # the worker writes each answer as one whole line


def fuzz(
    seed=1,
    trials=None,
    seconds=None,
    out="fuzz_out",
    timeout=60.0,
    run_fraction=0.1,
    log=print,
    env=None,
    progress=0,
):
    """Runs trials until `trials` or `seconds` runs out; returns the counts (and crash files)."""
    seeds = seed_models()
    out = Path(out)
    worker_env = dict(os.environ if env is None else env)
    # Small budgets make hostile sizes fail fast instead of swapping the machine.
    worker_env.setdefault("CLRT_HOST_MEMORY_LIMIT", str(256 << 20))
    worker = Worker(worker_env)
    counts = {"ok": 0, "refused": 0, "crash": 0, "hang": 0}
    crashes = []
    start = time.monotonic()
    trial = 0
    try:
        while (trials is None or trial < trials) and (
            seconds is None or time.monotonic() - start < seconds
        ):
            data, run = make_trial(seeds, seed, trial, run_fraction)
            status, detail = worker.trial(data, run, timeout)
            counts[status] += 1
            if status in ("crash", "hang"):
                out.mkdir(parents=True, exist_ok=True)
                path = out / f"{status}-{seed}-{trial}.onnx"
                path.write_bytes(data)
                crashes.append(
                    {
                        "trial": trial,
                        "status": status,
                        "detail": detail,
                        "file": str(path),
                        "run": run,
                    }
                )
                log(f"trial {trial}: {status}: {detail} -> {path}")
            trial += 1
            if progress and trial % progress == 0:
                log(f"{trial} trials, {time.monotonic() - start:.0f} s: {counts}")
    finally:
        worker.stop()
    counts["trials"] = trial
    counts["seconds"] = round(time.monotonic() - start, 1)
    return counts, crashes


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--trials", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--out", default="fuzz_out", help="folder for reproducers and the summary")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a trial hangs")
    ap.add_argument(
        "--run-fraction",
        type=float,
        default=0.1,
        help="share of trials also built (optimization level 0) and run",
    )
    ap.add_argument("--progress", type=int, default=100, help="print counts every N trials")
    ap.add_argument("--replay", help="runs one saved model in this process (with a build)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker_main()
    if args.replay:
        import clrt as trt

        logger = trt.Logger(trt.Logger.VERBOSE)
        print(run_one(trt, trt.Builder(logger), logger, Path(args.replay).read_bytes(), True))
        return 0
    if args.trials is None and args.seconds is None:
        args.trials = 1000
    counts, crashes = fuzz(
        args.seed,
        args.trials,
        args.seconds,
        args.out,
        args.timeout,
        args.run_fraction,
        progress=args.progress,
    )
    summary = {"seed": args.seed, **counts, "crash_files": crashes}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / f"summary-{args.seed}.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "crash_files"}))
    return 1 if counts["crash"] or counts["hang"] else 0


if __name__ == "__main__":
    sys.exit(main())
