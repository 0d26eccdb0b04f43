# OpenCL programs compiled in clrt-compile-worker processes (ocl/compile_workers.cc): the
# default on NVIDIA, whose driver builds one program at a time per process; here forced on
# PoCL with CLRT_COMPILE_WORKERS. Each case runs in a fresh process with an empty kernel cache,
# so that its programs are compiled and the worker pool starts from nothing.
import json

import clrt as trt
import numpy as np
import pytest
from helpers import fresh_process, make_model, ort_run, rand
from onnx import helper

N = helper.make_node

SCRIPT = r"""
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
parser = trt.OnnxParser(network, log)
assert parser.parse_from_file(sys.argv[1])
config = builder.create_builder_config()
config.set_flag(trt.BuilderFlag.FP16)
config.builder_optimization_level = 3
engine = trt.Runtime(log).deserialize_cuda_engine(builder.build_serialized_network(network, config))
y = engine.create_execution_context().infer({"x": np.load(sys.argv[2])})["y"]
np.save(sys.argv[3], y)
print(json.dumps([m for m in log.lines if m.startswith("built OpenCL program")]))
"""


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


def build_in_fresh_process(tmp_path, files, **env):
    """The built-program log lines and the output of a build of the model in a new process with
    an empty kernel cache and `env` added."""
    _, path, xfile, _ = files
    out = fresh_process(tmp_path, SCRIPT, path, xfile, tmp_path / "y.npy", env=env)
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


def test_workers_by_default_on_nvidia_only(tmp_path, model_files):
    """NVIDIA's driver builds one program at a time per process: workers by default there. Other
    devices (PoCL) build programs from several threads of one process: none unless asked for."""
    built, y = build_in_fresh_process(tmp_path, model_files)
    nvidia = "nvidia" in trt.current_device().vendor.lower()
    assert built and all(("compile worker" in m) == nvidia for m in built), built
    check_output(model_files, y)
