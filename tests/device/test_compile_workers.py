# OpenCL programs compiled in clrt-compile-worker processes (ocl/compile_workers.cc): the
# default on NVIDIA, whose driver builds one program at a time per process; here forced on
# PoCL with CLRT_COMPILE_WORKERS. And compiled ahead of the tactic choices (compileAhead). Each
# case runs in a fresh process with an empty kernel cache, so that its programs are compiled
# and the worker pool starts from nothing.
import json
import sys

import clrt as trt
import numpy as np
import pytest
from helpers import fresh_process, make_model, ort_run, rand
from onnx import helper

N = helper.make_node

# A timed FP16 build of the ONNX file argv[1] with every log line kept (`log.lines`), the plan in
# `plan`; the scripts below go on from there.
BUILD = r"""
import json, sys
import clrt as trt
import numpy as np

class Log(trt.ILogger):
    def __init__(self):
        trt.ILogger.__init__(self)
        self.lines = []
    def log(self, severity, msg):
        self.lines.append(msg)

log = Log()
builder = trt.Builder(log)
network = builder.create_network(0)
assert trt.OnnxParser(network, log).parse_from_file(sys.argv[1])
config = builder.create_builder_config()
config.set_flag(trt.BuilderFlag.FP16)
config.builder_optimization_level = 3
plan = builder.build_serialized_network(network, config)
assert plan
"""

SCRIPT = (
    BUILD
    + r"""
engine = trt.Runtime(log).deserialize_cuda_engine(plan)
y = engine.create_execution_context().infer({"x": np.load(sys.argv[2])})["y"]
np.save(sys.argv[3], y)
print(json.dumps([m for m in log.lines if m.startswith("built OpenCL program")]))
"""
)


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("workers")
    w = rand((8, 3, 3, 3), seed=1)
    model = make_model(
        [
            N("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
            N("Relu", ["c"], ["r"]),
            N("MaxPool", ["r"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
        ],
        [("x", (1, 3, 16, 16))],
        [("y", (1, 8, 8, 8))],
        {"w": w},
    )
    path = d / "model.onnx"
    path.write_bytes(model.SerializeToString())
    x = rand((1, 3, 16, 16), seed=2)
    np.save(d / "x.npy", x)
    return model, path, d / "x.npy", x


def build_in_fresh_process(tmp_path, files, timeout=900, **env):
    """The built-program log lines and the output of a build of the model in a new process with
    an empty kernel cache and `env` added."""
    _, path, xfile, _ = files
    out = fresh_process(tmp_path, SCRIPT, path, xfile, tmp_path / "y.npy", env=env, timeout=timeout)
    return json.loads(out.strip().splitlines()[-1]), np.load(tmp_path / "y.npy")


def check_output(files, y):
    model, _, _, x = files
    ref = ort_run(model, {"x": x})["y"]
    np.testing.assert_allclose(y, ref, rtol=2e-3, atol=2e-3)  # an FP16 engine


def test_programs_compile_in_worker_processes(tmp_path, model_files):
    """Every program the build compiles comes from a worker, and the engine made of their binaries
    computes what onnxruntime does (within FP16)."""
    built, y = build_in_fresh_process(tmp_path, model_files, CLRT_COMPILE_WORKERS="2")
    assert built and all(m.endswith("(in a compile worker process)") for m in built), built
    check_output(model_files, y)


@pytest.mark.parametrize("worker", ["/nonexistent/clrt-compile-worker", "/bin/true"])
def test_without_a_working_worker_the_build_compiles_itself(tmp_path, model_files, worker):
    """A worker executable that is missing, or that ends without answering: the build compiles
    its programs itself, as without workers, and the engine is the same."""
    built, y = build_in_fresh_process(
        tmp_path, model_files, CLRT_COMPILE_WORKERS="2", CLRT_COMPILE_WORKER=worker
    )
    assert built and not any("compile worker" in m for m in built), built
    check_output(model_files, y)


GARBLED = """#!{python}
import struct, sys
out = sys.stdout.buffer
out.write(struct.pack("<IQ", 0, 5) + b"ready")
out.flush()
while sys.stdin.buffer.read(8):
    out.write(struct.pack("<IQ", 7, 3) + b"???")  # no reply the protocol knows
    out.flush()
    break
"""


def test_a_worker_out_of_step_leaves_the_build_compiling_itself(tmp_path, model_files):
    """A worker that answers ready and then something no reply looks like (status 7): the
    build compiles its programs itself, and the engine is right."""
    fake = tmp_path / "garbled-worker"
    fake.write_text(GARBLED.format(python=sys.executable))
    fake.chmod(0o755)
    built, y = build_in_fresh_process(
        tmp_path, model_files, CLRT_COMPILE_WORKERS="1", CLRT_COMPILE_WORKER=str(fake)
    )
    assert built and not any("compile worker" in m for m in built), built
    check_output(model_files, y)


# Answers ready, then leaves at its first request without a reply.
VANISHING = """#!{python}
import struct, sys
sys.stdout.buffer.write(struct.pack("<IQ", 0, 5) + b"ready")
sys.stdout.buffer.flush()
sys.stdin.buffer.read(8)
"""


def test_workers_that_keep_vanishing_leave_the_pool_usable(tmp_path, model_files):
    """One worker allowed, and every worker leaves at its first request: each request starts a
    second, loses it too and compiles itself, and frees its place in the pool, so the build's
    later programs do not wait for a worker for ever (they did: the place was kept)."""
    fake = tmp_path / "vanishing-worker"
    fake.write_text(VANISHING.format(python=sys.executable))
    fake.chmod(0o755)
    built, y = build_in_fresh_process(
        tmp_path, model_files, timeout=300, CLRT_COMPILE_WORKERS="1", CLRT_COMPILE_WORKER=str(fake)
    )
    assert len(built) >= 2 and not any("compile worker" in m for m in built), built
    check_output(model_files, y)


def test_workers_by_default_on_nvidia_only(tmp_path, model_files):
    """NVIDIA's driver builds one program at a time per process: workers by default there. Other
    devices (PoCL) build programs from several threads of one process: none unless asked for."""
    built, y = build_in_fresh_process(tmp_path, model_files)
    nvidia = "nvidia" in trt.current_device().vendor.lower()
    assert built and all(("compile worker" in m) == nvidia for m in built), built
    check_output(model_files, y)


AHEAD = (
    BUILD
    + r"""
for m in log.lines:
    if m.startswith(("built OpenCL program", "compiled ahead")) or "): chose " in m:
        print(m)
    elif "': precision " in m:
        print(m)
"""
)


def test_compiled_ahead_is_what_the_choices_make(tmp_path):
    """A timed FP16 build from an empty kernel cache: each round of tactic choices (the FP32
    reference's, the precision choice's over FLOAT and HALF, the final one's) is preceded by the
    candidates compiled ahead on threads, and the choices then compile nothing of their own:
    what compileAhead predicts is what they instantiate. (The reformat cost's probe, made
    outside the choices, is the one program a round may compile.)"""
    nodes = [
        N("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1]),
        N("Relu", ["a"], ["ra"]),
        N("MaxPool", ["ra"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        N("Conv", ["p", "w2"], ["y"]),
    ]
    inits = {"w1": rand((8, 8, 3, 3), seed=1), "w2": rand((4, 8, 1, 1), seed=2)}
    model = make_model(nodes, [("x", (1, 8, 16, 16))], [("y", (1, 4, 8, 8))], inits)
    (tmp_path / "m.onnx").write_bytes(model.SerializeToString())
    lines = fresh_process(tmp_path, AHEAD, tmp_path / "m.onnx").splitlines()
    rounds = [i for i, m in enumerate(lines) if m.startswith("compiled ahead")]
    assert len(rounds) == 3, lines
    ahead = [int(lines[i].split()[2]) for i in rounds]  # candidate kernels made ahead
    assert ahead[1] > ahead[0] >= 2, lines  # FLOAT and HALF candidates in the precision round
    # A round's choices log "): chose" (the FP32 reference's and the final round) or
    # "': precision" (the precision round); between its line and its last choice nothing may
    # be compiled but the probe. (Compiles after its last choice belong to what comes next.)
    for start, stop in zip(rounds, rounds[1:] + [len(lines)]):
        choices = [
            i
            for i in range(start + 1, stop)
            if "): chose " in lines[i] or "': precision " in lines[i]
        ]
        assert choices, lines[start:stop]
        late = [
            m
            for m in lines[start + 1 : choices[-1]]
            if m.startswith("built OpenCL program") and "reformat.cl" not in m
        ]
        assert not late, lines
