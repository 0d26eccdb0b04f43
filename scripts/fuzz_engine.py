#!/usr/bin/env python3
"""Engine-file edit fuzzer: single-field edits of a clrt engine file, resealed (length and
checksum recomputed as plan/plan.cc does), each loaded and run in worker subprocesses.

Every trial ends as one of
  refused    clrt.EngineFormatError at load
  same       loaded, outputs equal to the original engine's
  differs    loaded, outputs differ (acceptable only for value fields: weights, attr values, ...)
  run_error  loaded, but running it raised
  other      load raised something other than EngineFormatError
  crashed    the worker died (signal or abort)
  hung       no answer within --timeout seconds
A trial passes when it is refused or same; on a value field also when it differs.

    python scripts/fuzz_engine.py --trials 20000 --seed 1
    python scripts/fuzz_engine.py --minutes 120 --workers 2
    python scripts/fuzz_engine.py --engine my.engine --minutes 30   # inputs from its opt shapes

Needs clrt importable (PYTHONPATH=build/stage) and, to build the default engine, onnx.
"""

import argparse
import json
import os
import random
import select
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HEADER = 28  # magic, u32 version, u64 length, u64 checksum
MASK = (1 << 64) - 1
PRIME = 1099511628211
OFFSET_BASIS = 1469598103934665603
PASSING = {"refused", "same"}
PASSING_VALUE = {"refused", "same", "differs"}


# ---- the checksum of plan/byte_io.h, and resealing ----


def checksum64(data):
    """checksum64 of core/checksum.h over bytes."""
    h = OFFSET_BASIS
    full = len(data) // 8 * 8
    for word in np.frombuffer(data[:full], "<u8").tolist():
        h = ((h ^ word) * PRIME) & MASK
        h ^= h >> 29
    for b in data[full:]:
        h = ((h ^ b) * PRIME) & MASK
        h ^= h >> 29
    return ((h ^ len(data)) * PRIME) & MASK


def reseal(plan):
    """The file with its header's length and checksum made to match its body."""
    body = bytes(plan[HEADER:])
    return bytes(plan[:12]) + struct.pack("<QQ", len(plan), checksum64(body)) + body


def checksums_of_edits(body, edits):
    """checksum64 of `body` with each edit (offset in body, new bytes) applied, all at once.

    The checksum is sequential, so an edit costs every word after it; here the words are walked
    once for all edits with one numpy state per edit (a 1 MB engine: well under a second for
    thousands of edits instead of a tenth of a second each)."""
    if not edits:
        return []
    n = len(body)
    full = n // 8 * 8
    words = np.frombuffer(body[:full], "<u8")
    patched = {}  # word index -> [(edit index, new word)]
    tail_patch = {}  # byte index past `full` -> [(edit index, new byte)]
    start = n
    for k, (off, new) in enumerate(edits):
        start = min(start, off // 8 * 8)
        for i, b in enumerate(new):
            pos = off + i
            if pos >= full:
                tail_patch.setdefault(pos, []).append((k, b))
                continue
            wi = pos // 8
            cur = dict(patched.get(wi, []))
            word = cur.get(k, int(words[wi]))
            shift = (pos % 8) * 8
            word = (word & ~(0xFF << shift) & MASK) | (b << shift)
            cur[k] = word
            patched[wi] = list(cur.items())
    h0 = OFFSET_BASIS
    for w in words[: start // 8].tolist():
        h0 = ((h0 ^ w) * PRIME) & MASK
        h0 ^= h0 >> 29
    h = np.full(len(edits), h0, dtype=np.uint64)
    prime, s29 = np.uint64(PRIME), np.uint64(29)
    with np.errstate(over="ignore"):
        for wi in range(start // 8, full // 8):
            w = np.full(len(edits), words[wi], dtype=np.uint64)
            for k, nw in patched.get(wi, ()):
                w[k] = nw
            h = (h ^ w) * prime
            h ^= h >> s29
        for pos in range(full, n):
            b = np.full(len(edits), body[pos], dtype=np.uint64)
            for k, nb in tail_patch.get(pos, ()):
                b[k] = nb
            h = (h ^ b) * prime
            h ^= h >> s29
        h = (h ^ np.uint64(n)) * prime
    return [int(x) for x in h]


# ---- the file's fields (plan/plan.cc, format version 3) ----


@dataclass
class Field:
    offset: int  # in the whole file
    size: int
    kind: str  # u8 u32 i32 u64 i64 f32 f64 bytes
    name: str
    value: bool  # data (weights, attr values, ranges): other outputs are a legitimate result


class _Walker:
    def __init__(self, plan):
        self.p, self.at, self.fields = plan, HEADER, []

    def num(self, kind, name, value=False):
        size = {"u8": 1, "u32": 4, "i32": 4, "u64": 8, "i64": 8, "f32": 4, "f64": 8}[kind]
        fmt = {"u8": "<B", "u32": "<I", "i32": "<i", "u64": "<Q", "i64": "<q"}.get(kind)
        v = struct.unpack_from(fmt, self.p, self.at)[0] if fmt else None
        self.fields.append(Field(self.at, size, kind, name, value))
        self.at += size
        return v

    def string(self, name, value=False):
        n = self.num("u64", name + " length")
        if n:
            self.fields.append(Field(self.at, n, "bytes", name, value))
        s = self.p[self.at : self.at + n]
        self.at += n
        return s

    def dims(self, name):
        return [self.num("i64", name) for _ in range(self.num("u64", name + " rank"))]

    def ids(self, name):
        return [self.num("i32", name) for _ in range(self.num("u64", name + " count"))]

    def opt_dtype(self, name):
        if self.num("u8", name + " present"):
            self.num("i32", name)


def parse_fields(plan):
    """Every field of an engine file after its 28-byte header (and the version), in order."""
    w = _Walker(plan)
    w.fields.append(Field(8, 4, "u32", "format version", False))
    for name in ("clrt version", "device name", "device fingerprint"):
        w.string(name)
    w.num("u64", "peak activation bytes")
    w.num("u64", "workspace bytes")
    w.string("engine name")
    w.num("u32", "profiling verbosity")

    def network(pre):
        for t in range(w.num("u64", pre + "tensor count")):
            w.string(f"{pre}tensor {t} name")
            w.num("i32", f"{pre}tensor {t} dtype")
            w.dims(f"{pre}tensor {t} dims")
            w.num("i32", f"{pre}tensor {t} producer")
            w.num("u8", f"{pre}tensor {t} input flag")
            w.num("u8", f"{pre}tensor {t} output flag")
            w.num("u8", f"{pre}tensor {t} shape tensor flag")
            w.num("u8", f"{pre}tensor {t} debug flag")
            if w.num("u8", f"{pre}tensor {t} dynamic range present"):
                w.num("f32", f"{pre}tensor {t} dynamic range", True)
                w.num("f32", f"{pre}tensor {t} dynamic range", True)
            w.string(f"{pre}tensor {t} ONNX output name")
            w.num("u8", f"{pre}tensor {t} format")
            for d in range(w.num("u64", f"{pre}tensor {t} dimension name count")):
                w.string(f"{pre}tensor {t} dimension name {d}")
        for li in range(w.num("u64", pre + "layer count")):
            ln = f"{pre}layer {li}"
            w.string(ln + " name")
            w.string(ln + " kind")
            w.ids(ln + " input")
            w.ids(ln + " output")
            for a in range(w.num("u64", ln + " attr count")):
                key = w.string(f"{ln} attr {a} name").decode("latin-1")
                an = f"{ln} attr '{key}'"
                tag = w.num("u8", an + " type")
                if tag == 0:
                    w.num("i64", an, True)
                elif tag == 1:
                    w.num("f64", an, True)
                elif tag == 2:
                    w.string(an, True)
                elif tag in (3, 4):
                    for _ in range(w.num("u64", an + " count")):
                        w.num("i64" if tag == 3 else "f64", an, True)
                else:
                    raise ValueError(f"unknown attr tag {tag} at {w.at - 1}")
            for k in range(w.num("u64", ln + " weight count")):
                wn = f"{ln} weight {k}"
                w.string(wn + " name")
                w.num("i32", wn + " dtype")
                w.dims(wn + " dims")
                w.string(wn + " data", True)
            for k in range(w.num("u64", ln + " onnx node count")):
                w.string(f"{ln} onnx node {k}")
            w.opt_dtype(ln + " precision")
            for k in range(w.num("u64", ln + " output type count")):
                w.opt_dtype(f"{ln} output type {k}")
            w.num("u8", ln + " dead flag")
        w.ids(pre + "network input")
        w.ids(pre + "network output")

    network("")
    for k in range(w.num("u64", "tactic count")):
        w.string(f"tactic {k}")
    for k in range(w.num("u64", "host placement count")):
        w.num("u8", f"host placement {k}")
    for p in range(w.num("u64", "profile count")):
        for i in range(w.num("u64", f"profile {p} input count")):
            w.string(f"profile {p} input {i} name")
            for corner in ("min", "opt", "max"):
                w.dims(f"profile {p} input {i} {corner}")
        for i in range(w.num("u64", f"profile {p} shape input count")):
            w.string(f"profile {p} shape input {i} name")
            for corner in ("min", "opt", "max"):
                w.dims(f"profile {p} shape input {i} {corner}")
    for b in range(w.num("u64", "program binary count")):
        w.string(f"program binary {b} key")
        w.num("u64", f"program binary {b} checksum")
        w.string(f"program binary {b}")
    if w.num("u8", "refittable flag"):
        w.num("u8", "refit pass options")
        network("refit source ")
        w.string("refit ONNX model")
        w.string("refit ONNX directory")
    if w.at != len(plan):
        raise ValueError(f"parsed {w.at} bytes of {len(plan)}: the format changed?")
    return w.fields


# ---- edits ----

_PACK = {"u8": "<B", "u32": "<I", "i32": "<I", "u64": "<Q", "i64": "<Q", "f32": "<I", "f64": "<Q"}


def numeric_edits(field, plan, rng, count):
    """Up to `count` distinct new encodings of a number field: neighbours, zero, all ones, the
    sign bit, a flipped bit, a random value."""
    bits = field.size * 8
    top = (1 << bits) - 1
    (v,) = struct.unpack_from(_PACK[field.kind], plan, field.offset)
    cands = [(v + 1) & top, (v - 1) & top, 0, top, 1 << (bits - 1), v ^ (1 << rng.randrange(bits))]
    cands += [rng.getrandbits(bits), (v + rng.randrange(2, 1000)) & top]
    seen, out = {v}, []
    for c in cands:
        if c not in seen:
            seen.add(c)
            out.append(struct.pack(_PACK[field.kind], c))
    rng.shuffle(out)
    return [(field.offset, b) for b in out[:count]]


def byte_edits(field, plan, rng, count):
    """`count` single-bit flips at random bytes of a byte field."""
    out = []
    for _ in range(count):
        pos = field.offset + rng.randrange(field.size)
        out.append((pos, bytes([plan[pos] ^ (1 << rng.randrange(8))])))
    return out


def edits_for(field, plan, rng, count):
    if field.kind == "bytes":
        return byte_edits(field, plan, rng, count)
    return numeric_edits(field, plan, rng, count)


def systematic_trials(plan, seed, per_field=2):
    """`per_field` edits of every field of the file, seeded: [(field, offset, new bytes)]."""
    rng = random.Random(seed)
    return [
        (f, off, new) for f in parse_fields(plan) for off, new in edits_for(f, plan, rng, per_field)
    ]


def random_trials(plan, rng, n, fields=None):
    fields = fields or parse_fields(plan)
    out = []
    for _ in range(n):
        f = rng.choice(fields)
        off, new = edits_for(f, plan, rng, 1)[0]
        out.append((f, off, new))
    return out


def sealed_edits(plan, trials):
    """Each trial as (offset, new bytes) plus the header checksum of the edited file. The format
    version lives in the header, before the checksummed body."""
    body = bytes(plan[HEADER:])
    in_body = [(off - HEADER, new) if off >= HEADER else (0, body[:0]) for _, off, new in trials]
    sums = checksums_of_edits(body, in_body)
    return [(off, new, s) for (_, off, new), s in zip(trials, sums)]


# ---- the worker: loads edited files, runs them, compares ----

WORKER = r"""
import json, struct, sys
import numpy as np
import clrt as trt

plan = bytearray(open(sys.argv[1], "rb").read())
trials = [json.loads(line) for line in open(sys.argv[2])]
first = int(sys.argv[3])
rebuild = sys.argv[4] == "1"
runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
runtime.rebuild_programs = rebuild


def io(engine):
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    mode = engine.get_tensor_mode
    return ([n for n in names if mode(n) == trt.TensorIOMode.INPUT],
            [n for n in names if mode(n) == trt.TensorIOMode.OUTPUT])


def feeds_for(engine):
    rng = np.random.default_rng(0)
    out = []
    for name in io(engine)[0]:
        shape = tuple(engine.get_tensor_shape(name))
        if any(d < 0 for d in shape):
            shape = tuple(engine.get_tensor_profile_shape(name, 0)[1])
        dt = trt.nptype(engine.get_tensor_dtype(name))
        if np.issubdtype(dt, np.floating):
            out.append(rng.uniform(-1, 1, shape).astype(dt))
        else:
            out.append(rng.integers(0, 2, shape).astype(dt))
    return out


def run(engine, arrays):
    ins, outs = io(engine)
    result = engine.create_execution_context().infer(dict(zip(ins, arrays)))
    return [result[n] for n in outs]


original = runtime.deserialize_cuda_engine(bytes(plan))
arrays = feeds_for(original)
reference = run(original, arrays)
del original


def same(a, b):
    return (len(a) == len(b) and all(x.shape == y.shape and x.dtype == y.dtype and
            np.allclose(x, y, rtol=1e-5, atol=1e-6, equal_nan=True) for x, y in zip(a, b)))


for i in range(first, len(trials)):
    t = trials[i]
    print("start", i, flush=True)
    data = bytearray(plan)
    off, new = t["offset"], bytes.fromhex(t["new"])
    data[off : off + len(new)] = new
    data[20:28] = struct.pack("<Q", t["checksum"])
    try:
        engine = runtime.deserialize_cuda_engine(bytes(data))
    except trt.EngineFormatError as e:
        print("done", i, "refused", json.dumps(str(e)[:300]), flush=True)
        continue
    except Exception as e:
        print("done", i, "other", json.dumps(f"{type(e).__name__}: {e}"[:300]), flush=True)
        continue
    try:
        got = run(engine, arrays)
    except Exception as e:
        print("done", i, "run_error", json.dumps(f"{type(e).__name__}: {e}"[:300]), flush=True)
        continue
    print("done", i, "same" if same(got, reference) else "differs", '""', flush=True)
"""


def run_trials(plan, trials, workers=1, timeout=120.0, rebuild=False, env=None, log=None):
    """Loads every edited file in worker subprocesses; [(category, detail)] per trial. A worker
    that dies marks its trial crashed; one silent for `timeout` seconds, hung; both are replaced
    by a fresh worker that goes on with the next trial."""
    sealed = sealed_edits(plan, trials)
    results = [None] * len(trials)
    with tempfile.TemporaryDirectory(prefix="clrt-fuzz-") as tmp:
        plan_path = os.path.join(tmp, "original.engine")
        with open(plan_path, "wb") as f:
            f.write(plan)
        chunks = [list(range(len(trials)))[k::workers] for k in range(workers)]
        procs = []
        for k, chunk in enumerate(chunks):
            if not chunk:
                continue
            path = os.path.join(tmp, f"trials{k}.jsonl")
            with open(path, "w") as f:
                for i in chunk:
                    off, new, s = sealed[i]
                    f.write(json.dumps({"offset": off, "new": new.hex(), "checksum": s}) + "\n")
            procs.append({"chunk": chunk, "path": path, "next": 0, "proc": None, "current": None})
        script = os.path.join(tmp, "worker.py")
        with open(script, "w") as f:
            f.write(WORKER)

        def start(w):
            w["proc"] = subprocess.Popen(
                [
                    sys.executable,
                    script,
                    plan_path,
                    w["path"],
                    str(w["next"]),
                    "1" if rebuild else "0",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env=env,
            )
            w["current"], w["since"], w["first"] = None, time.monotonic(), w["next"]
            os.set_blocking(w["proc"].stdout.fileno(), False)
            w["buf"] = ""

        def finish(w, category, detail):
            i = w["chunk"][w["current"]] if w["current"] is not None else None
            if i is not None:
                results[i] = (category, detail)
                if log:
                    log(i, trials[i], category, detail)
                w["next"] = w["current"] + 1
            w["current"] = None

        def handle(w, line):
            parts = line.split(" ", 3)
            if parts[0] == "start":
                w["current"] = int(parts[1])
                w["since"] = time.monotonic()
            elif parts[0] == "done" and len(parts) == 4:
                finish(w, parts[2], json.loads(parts[3]))
                w["since"] = time.monotonic()

        def stop(w):
            if w["proc"].poll() is None:
                w["proc"].kill()
            w["proc"].wait()
            w["proc"].stdout.close()

        active = []
        for w in procs:
            start(w)
            active.append(w)
        while active:
            fds = {w["proc"].stdout.fileno(): w for w in active}
            ready, _, _ = select.select(list(fds), [], [], 1.0)
            for fd in ready:
                w = fds[fd]
                chunk = w["proc"].stdout.read() or ""
                if not chunk and w["proc"].poll() is not None:
                    continue
                w["buf"] += chunk
                *lines, w["buf"] = w["buf"].split("\n")
                for line in lines:
                    handle(w, line)
            for w in list(active):
                code = w["proc"].poll()
                stalled = time.monotonic() - w["since"] > timeout
                if code is None and not stalled:
                    continue
                if code is not None:  # what it wrote before it ended
                    w["buf"] += w["proc"].stdout.read() or ""
                    *lines, w["buf"] = (w["buf"] + "\n").split("\n")
                    for line in lines:
                        handle(w, line)
                stop(w)
                if w["current"] is not None:
                    finish(
                        w,
                        "hung" if code is None else "crashed",
                        f"no answer in {timeout:.0f} s" if code is None else f"exit status {code}",
                    )
                elif w["next"] == w["first"] and w["next"] < len(w["chunk"]):
                    # Not one trial done: the original engine does not load or run.
                    raise RuntimeError(f"fuzz worker made no progress (exit status {code})")
                if w["next"] < len(w["chunk"]):
                    start(w)
                else:
                    active.remove(w)
    return results


def verdict(field, category):
    return category in (PASSING_VALUE if field.value else PASSING)


# ---- the default engine ----


def small_model():
    """A small ONNX model with a weight, attributes, host shape math, a constant and a dynamic
    batch: Conv(+bias, pads) -> Relu -> MaxPool -> Reshape(Shape-derived) -> Gemm -> Softmax
    -> Mul by a constant."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    inits = {
        "w": rng.uniform(-1, 1, (2, 1, 3, 3)).astype(np.float32),
        "b": rng.uniform(-1, 1, (2,)).astype(np.float32),
        "g": rng.uniform(-1, 1, (18, 4)).astype(np.float32),
        "gb": rng.uniform(-1, 1, (4,)).astype(np.float32),
        "zero": np.array([0], np.int64),
        "minus1": np.array([-1], np.int64),
        "two": np.full((1, 4), 2.0, np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Shape", ["p"], ["ps"]),
        helper.make_node("Gather", ["ps", "zero"], ["n"], axis=0),
        helper.make_node("Concat", ["n", "minus1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["p", "shape"], ["f"]),
        helper.make_node("Gemm", ["f", "g", "gb"], ["m"]),
        helper.make_node("Softmax", ["m"], ["s"], axis=1),
        helper.make_node("Mul", ["s", "two"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "fuzz",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build_small_engine(precision="fp32"):
    """The small model's engine, dynamic batch 1..4. precision "int8": INT8 with FP16 allowed
    (dynamic ranges on every tensor), so the file also holds precision-contract attrs, REFORMAT
    layers and INT8/HALF tensors. "refit": FP32 with BuilderFlag.REFIT, so the file also holds
    the refit source network and the ONNX model."""
    import clrt as trt

    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(small_model().SerializeToString()):
        raise RuntimeError("; ".join(str(parser.get_error(i)) for i in range(parser.num_errors)))
    config = builder.create_builder_config()
    config.builder_optimization_level = 0
    if precision == "int8":
        for i in range(network.num_layers):
            layer = network.get_layer(i)
            for k in range(layer.num_outputs):
                layer.get_output(k).set_dynamic_range(-4, 4)
        network.get_input(0).set_dynamic_range(-1, 1)
        config.set_flag(trt.BuilderFlag.INT8)
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "refit":
        config.set_flag(trt.BuilderFlag.REFIT)
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 1, 6, 6), (2, 1, 6, 6), (4, 1, 6, 6))
    config.add_optimization_profile(profile)
    return bytes(builder.build_serialized_network(network, config))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--engine", help="engine file to edit (default: build a small one)")
    ap.add_argument(
        "--precision", choices=("fp32", "int8", "refit"), default="fp32", help="of that one"
    )
    ap.add_argument("--trials", type=int, default=0, help="number of random edits")
    ap.add_argument("--minutes", type=float, default=0, help="or: run this long")
    ap.add_argument("--systematic", type=int, default=0, help="or: N edits of every field")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--batch", type=int, default=500, help="trials per round of workers")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds before a trial hangs")
    ap.add_argument("--rebuild-programs", action="store_true", help="load with rebuild_programs")
    ap.add_argument("--show", type=int, default=20, help="failures to print")
    args = ap.parse_args()
    if not (args.trials or args.minutes or args.systematic):
        args.trials = 1000
    plan = Path(args.engine).read_bytes() if args.engine else build_small_engine(args.precision)
    fields = parse_fields(plan)
    print(f"engine: {len(plan)} bytes, {len(fields)} fields; seed {args.seed}", flush=True)
    rng = random.Random(args.seed)
    counts, failures, done = Counter(), [], 0
    deadline = time.monotonic() + args.minutes * 60 if args.minutes else None

    def log(i, trial, category, detail):
        field = trial[0]
        counts[category] += 1
        if not verdict(field, category):
            failures.append((field.name, trial[1], trial[2].hex(), category, detail))

    todo = systematic_trials(plan, args.seed, args.systematic) if args.systematic else None
    while True:
        if todo is not None:
            batch, todo = todo[: args.batch], todo[args.batch :]
        else:
            left = args.trials - done if args.trials else args.batch
            batch = random_trials(plan, rng, min(args.batch, left), fields)
        if not batch:
            break
        run_trials(plan, batch, args.workers, args.timeout, args.rebuild_programs, log=log)
        done += len(batch)
        print(f"{done} trials: {dict(counts)}; failures {len(failures)}", flush=True)
        if deadline and time.monotonic() > deadline:
            break
        if todo is None and args.trials and done >= args.trials:
            break
    for name, off, new, category, detail in failures[: args.show]:
        print(f"FAIL {category}: {name} at {off} <- {new}: {detail}")
    print(json.dumps({"trials": done, **counts, "failures": len(failures)}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
