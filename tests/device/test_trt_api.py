# TensorRT API that scripts and Polygraphy reach for: plugin init, tensor formats/locations,
# shape-tensor flags, profiling verbosity, stream readers, IProfiler, calibration profiles,
# pagelocked buffers and the clrt.tensorrt module.
import importlib.util
import sys
import time

import clrt as trt
import numpy as np
import pytest
from helpers import (
    MODELS,
    ROOT,
    assert_close,
    build_engine,
    build_plan,
    deserialize,
    fmnist,
    make_config,
    make_model,
    ort_run,
    parse_network,
    rand,
)
from onnx import helper

MODEL = MODELS / "fmnist_cnn.onnx"
BATCH = {"input": ((1, 1, 28, 28), (2, 1, 28, 28), (4, 1, 28, 28))}


@pytest.fixture(scope="module")
def plan():
    return build_plan(MODEL, BATCH, opt_level=0)


@pytest.fixture(scope="module")
def engine(plan):
    return deserialize(plan)


def test_init_libnvinfer_plugins_is_a_no_op_returning_true():
    assert trt.init_libnvinfer_plugins(trt.Logger(), "") is True
    assert trt.init_libnvinfer_plugins(None, "custom") is True


def test_tf32_is_on_by_default_as_in_tensorrt():
    """A new config has BuilderFlag.TF32 set (TensorRT's default); platform_has_tf32 says
    whether the device's tensor cores can use it (NVIDIA compute capability >= 8.0)."""
    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    config = builder.create_builder_config()
    assert config.get_flag(trt.BuilderFlag.TF32)
    assert config.flags == 1 << int(trt.BuilderFlag.TF32)
    config.clear_flag(trt.BuilderFlag.TF32)
    assert config.flags == 0
    dev = trt.current_device()
    nvidia = "NVIDIA" in dev.vendor.upper()
    assert builder.platform_has_tf32 == (nvidia and dev.compute_capability >= 80)
    if not nvidia:
        assert dev.compute_capability == 0


def test_tensor_formats_and_locations(engine):
    for name in ("input", "logits"):
        assert engine.get_tensor_format(name) == trt.TensorFormat.LINEAR
        assert engine.get_tensor_format_desc(name) == "Row major linear FP32 format (kLINEAR)"
        assert engine.get_tensor_location(name) == trt.TensorLocation.DEVICE
        assert engine.get_tensor_vectorized_dim(name) == -1
        assert engine.get_tensor_components_per_element(name) == 1
        assert engine.get_tensor_bytes_per_component(name) == -1  # not vectorized
        assert engine.is_shape_inference_io(name) is False
    assert int(trt.TensorFormat.HWC8) == 2 and int(trt.TensorFormat.DHWC) == 12  # TensorRT's
    for query in (
        engine.get_tensor_format,
        engine.get_tensor_location,
        engine.get_tensor_bytes_per_component,
    ):
        with pytest.raises(ValueError, match="nope"):
            query("nope")


def test_engine_properties(engine):
    assert engine.refittable is False
    assert engine.num_optimization_profiles == 1
    assert engine.get_tensor_profile_shape("input", 0) == list(BATCH["input"])
    assert engine.engine_capability == trt.EngineCapability.STANDARD
    assert engine.hardware_compatibility_level == trt.HardwareCompatibilityLevel.NONE
    assert engine.num_aux_streams == 0
    assert engine.device_memory_size_v2 == engine.device_memory_size > 0


def test_runtime_settings_are_kept():
    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    assert runtime.max_threads == 1 and runtime.engine_host_code_allowed is False
    runtime.max_threads = 4
    runtime.engine_host_code_allowed = True
    runtime.temporary_directory = "/tmp"
    assert (runtime.max_threads, runtime.engine_host_code_allowed) == (4, True)
    assert runtime.temporary_directory == "/tmp"
    with pytest.raises(ValueError, match="max_threads: 0 must be >= 1"):
        runtime.max_threads = 0


@pytest.mark.parametrize("verbosity", ["DETAILED", "LAYER_NAMES_ONLY", "NONE"])
def test_profiling_verbosity_is_kept_in_the_engine(verbosity):
    builder, network, _ = parse_network(MODEL)
    config = make_config(builder, BATCH, opt_level=0)
    config.profiling_verbosity = getattr(trt.ProfilingVerbosity, verbosity)
    engine = deserialize(builder.build_serialized_network(network, config))
    assert engine.profiling_verbosity == getattr(trt.ProfilingVerbosity, verbosity)


def test_shape_and_execution_tensors():
    """Shape(x) -> Reshape(x, shape): the Shape output is a shape tensor read only by shape
    arithmetic's consumer Reshape (a shape input), x and y are execution tensors."""
    model = make_model(
        [
            helper.make_node("Shape", ["x"], ["s"]),
            helper.make_node("Reshape", ["x", "s"], ["y"]),
            helper.make_node("Relu", ["y"], ["z"]),
        ],
        [("x", ["N", 4])],
        [("z", ["N", 4])],
    )
    _, network, _ = parse_network(model)
    tensors = {network.get_input(0).name: network.get_input(0)}
    for layer in network:
        for i in range(layer.num_outputs):
            tensors[layer.get_output(i).name] = layer.get_output(i)
    assert not tensors["x"].is_shape_tensor and tensors["x"].is_execution_tensor
    assert not tensors["z"].is_shape_tensor and tensors["z"].is_execution_tensor
    assert tensors["s"].is_shape_tensor
    assert tensors["s"].dtype == trt.DataType.INT64


class BytesReader(trt.IStreamReader):
    def __init__(self, data):
        trt.IStreamReader.__init__(self)
        self.data, self.pos, self.reads = bytes(data), 0, 0

    def read(self, size):
        self.reads += 1
        part = self.data[self.pos : self.pos + size]
        self.pos += len(part)
        return part


class BytesReaderV2(trt.IStreamReaderV2):
    def __init__(self, data):
        trt.IStreamReaderV2.__init__(self)
        self.data, self.pos, self.streams = bytes(data), 0, []

    def read(self, size, stream):
        self.streams.append(stream)
        part = self.data[self.pos : self.pos + size]
        self.pos += len(part)
        return part

    def seek(self, offset, where):
        self.pos = offset if where == trt.SeekPosition.SET else self.pos + offset
        return True


@pytest.mark.parametrize("reader_class", [BytesReader, BytesReaderV2])
def test_deserialize_from_a_stream_reader(plan, reader_class):
    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    reader = reader_class(plan)
    engine = runtime.deserialize_cuda_engine(reader)
    assert reader.pos == len(plan)
    x = rand((2, 1, 28, 28), seed=3)
    out = engine.create_execution_context().infer({"input": x})["logits"]
    assert_close(out, ort_run(MODEL, {"input": x})["logits"])
    with pytest.raises(trt.EngineFormatError, match="BytesReader.* gave no bytes"):
        runtime.deserialize_cuda_engine(reader_class(b""))
    with pytest.raises(trt.EngineFormatError):
        runtime.deserialize_cuda_engine(reader_class(plan[:100]))


class LayerTimes(trt.IProfiler):
    def __init__(self):
        trt.IProfiler.__init__(self)
        self.calls = []

    def report_layer_time(self, layer_name, ms):
        self.calls.append((layer_name, ms))


def test_profiler_receives_every_layer_per_execution(engine):
    context = engine.create_execution_context()
    assert context.profiler is None
    profiler = LayerTimes()
    context.profiler = profiler
    assert context.profiler is profiler and context.profiling
    x = rand((2, 1, 28, 28), seed=1)
    context.infer({"input": x})
    first = list(profiler.calls)
    assert len(first) == len(context.layer_times) > 0 and all(ms >= 0 for _, ms in first)
    assert [n for n, _ in first] == [n for n, _ in context.layer_times]

    d_in, d_out = trt.mem_alloc(x.nbytes), trt.mem_alloc(2 * 10 * 4)
    trt.memcpy_htod(d_in, x)
    context.set_input_shape("input", x.shape)
    context.execute_v2([d_in, d_out])
    assert len(profiler.calls) == 2 * len(first)
    context.set_tensor_address("input", d_in)
    context.set_tensor_address("logits", d_out)
    stream = trt.Stream()
    context.execute_async_v3(stream.handle)
    stream.synchronize()
    assert len(profiler.calls) == 3 * len(first)

    context.profiler = None
    context.infer({"input": x})
    assert len(profiler.calls) == 3 * len(first) and not context.profiling
    with pytest.raises(TypeError, match="object has no report_layer_time"):
        context.profiler = object()


def test_profile_reported_on_request_when_enqueue_does_not_emit(engine):
    context = engine.create_execution_context()
    profiler = LayerTimes()
    context.profiler = profiler
    assert context.enqueue_emits_profile
    context.enqueue_emits_profile = False
    x = rand((2, 1, 28, 28), seed=2)
    context.infer({"input": x})
    assert profiler.calls == []
    assert context.report_to_profiler()
    assert [n for n, _ in profiler.calls] == [n for n, _ in context.layer_times]
    context.enqueue_emits_profile = True
    context.infer({"input": x})
    assert len(profiler.calls) == 2 * len(context.layer_times)
    context.profiler = None
    assert not context.report_to_profiler()


def test_infer_shapes_names_the_inputs_left_to_set(engine):
    """As TensorRT's samples (common_runtime.allocate_buffers) use it: [] once every input shape
    is set, then get_tensor_shape gives the outputs'."""
    context = engine.create_execution_context()
    assert context.infer_shapes() == ["input"]
    context.set_input_shape("input", (3, 1, 28, 28))
    assert context.infer_shapes() == []
    assert tuple(context.get_tensor_shape("logits")) == (3, 10)


def test_serialize_with_config(engine, plan):
    config = engine.create_serialization_config()
    assert config.flags == 0 and not config.get_flag(trt.SerializationFlag.EXCLUDE_WEIGHTS)
    config.set_flag(trt.SerializationFlag.EXCLUDE_WEIGHTS)
    config.flags |= 1 << int(trt.SerializationFlag.INCLUDE_REFIT)
    assert config.get_flag(trt.SerializationFlag.EXCLUDE_WEIGHTS)
    assert config.get_flag(trt.SerializationFlag.INCLUDE_REFIT)
    with pytest.warns(UserWarning, match="keeps the weights"):
        kept = engine.serialize_with_config(config)
    assert bytes(kept) == bytes(engine.serialize())
    config.clear_flag(trt.SerializationFlag.EXCLUDE_WEIGHTS)
    assert config.flags == 1 << int(trt.SerializationFlag.INCLUDE_REFIT)
    x = rand((2, 1, 28, 28), seed=3)
    out = deserialize(bytes(engine.serialize_with_config(config)))
    assert_close(
        out.create_execution_context().infer({"input": x})["logits"],
        ort_run(MODEL, {"input": x})["logits"],
    )
    with pytest.raises(TypeError, match="ISerializationConfig"):
        engine.serialize_with_config(0)


def test_supports_model_groups_the_nodes_that_import():
    """As `polygraphy inspect capability --with-partitioning` reads it: runs of consecutive nodes
    that import, the failing ones left out (their errors say why)."""
    nodes = [
        helper.make_node("Relu", ["x"], ["a"]),
        helper.make_node("Relu", ["a"], ["b"]),
        helper.make_node("NoSuchOp", ["b"], ["c"]),
        helper.make_node("Relu", ["c"], ["y"]),
    ]
    bad = make_model(nodes, [("x", [2, 3])], [("y", [2, 3])])
    good = make_model(nodes[:2], [("x", [2, 3])], [("b", [2, 3])])
    logger = trt.Logger(trt.Logger.INTERNAL_ERROR)

    def parser():
        return trt.OnnxParser(trt.Builder(logger).create_network(0), logger)

    p = parser()
    assert p.supports_model(bad.SerializeToString()) == (False, [([0, 1], True), ([3], True)])
    assert p.num_errors >= 1 and p.get_error(0).node() == 2
    assert "NoSuchOp" in str(p.get_error(0))
    assert parser().supports_model(good.SerializeToString()) == (True, [([0, 1], True)])
    assert parser().supports_model(b"not a model") == (False, [])


def test_layer_times_from_markers_or_per_layer_waits(engine, monkeypatch):
    """A profiled run is timed by markers between the layers (no wait between them): every
    layer's time is positive here and they add up to no more than the run's wall time.
    CLRT_LAYER_TIMES=wait times each layer by waiting for it instead (what a queue whose markers
    carry no times gets too): the same layers, in the same order, and the same outputs."""
    context = engine.create_execution_context()
    context.profiling = True
    x = rand((4, 1, 28, 28), seed=2)
    d_in, d_out = trt.mem_alloc(x.nbytes), trt.mem_alloc(4 * 10 * 4)
    trt.memcpy_htod(d_in, x)
    context.set_input_shape("input", x.shape)
    context.set_tensor_address("input", d_in)
    context.set_tensor_address("logits", d_out)
    stream = trt.Stream()
    context.execute_async_v3(stream.handle)  # the first profiled run also asks the queue
    stream.synchronize()
    t0 = time.perf_counter()
    context.execute_async_v3(stream.handle)
    stream.synchronize()
    wall_ms = (time.perf_counter() - t0) * 1e3
    marked = context.layer_times
    assert marked and all(ms > 0 for _, ms in marked), marked
    assert sum(ms for _, ms in marked) <= wall_ms
    monkeypatch.setenv("CLRT_LAYER_TIMES", "wait")
    context.execute_async_v3(stream.handle)
    waited = context.layer_times
    assert [n for n, _ in waited] == [n for n, _ in marked]
    assert all(ms > 0 for _, ms in waited), waited
    y = np.empty((4, 10), np.float32)
    trt.memcpy_dtoh(y, d_out)
    assert_close(y, ort_run(MODEL, {"input": x})["logits"])


def test_pagelocked_buffers_work_with_the_copies():
    host = trt.pagelocked_empty(12, np.float32)
    assert host.shape == (12,) and host.dtype == np.float32
    host[:] = np.arange(12)
    dev = trt.mem_alloc(host.nbytes)
    stream = trt.Stream()
    trt.memcpy_htod_async(dev, host, stream)
    back = trt.pagelocked_zeros((3, 4), np.float32)
    assert not back.any()
    trt.memcpy_dtoh_async(back, dev, stream)
    stream.synchronize()
    np.testing.assert_array_equal(back.reshape(-1), host)


class FixedBatches(trt.IInt8EntropyCalibrator2):
    """Hands out NumPy batches; get_batch_size() is 1, as TensorRT asks of explicit-batch
    networks."""

    def __init__(self, batches):
        trt.IInt8EntropyCalibrator2.__init__(self)
        self.batches = list(batches)

    def get_batch_size(self):
        return 1

    def get_batch(self, names):
        return [self.batches.pop(0)] if self.batches else None

    def read_calibration_cache(self):
        return None

    def write_calibration_cache(self, cache):
        pass


def test_calibration_profile_sets_the_calibration_shapes():
    batches = [rand((3, 1, 28, 28), seed=s, low=0.0, high=1.0) for s in range(2)]
    builder, network, _ = parse_network(MODEL)
    config = make_config(builder, BATCH, opt_level=0)
    config.set_flag(trt.BuilderFlag.INT8)
    assert config.get_calibration_profile() is None
    calib_profile = builder.create_optimization_profile()
    calib_profile.set_shape("input", (3, 1, 28, 28), (3, 1, 28, 28), (3, 1, 28, 28))
    assert config.set_calibration_profile(calib_profile) is True
    assert config.get_calibration_profile().get_shape("input")[1] == (3, 1, 28, 28)
    config.int8_calibrator = FixedBatches(batches)
    assert builder.build_serialized_network(network, config) is not None

    # Without it, the dynamic batch dim takes get_batch_size() (1): batches of 3 do not fit.
    builder, network, _ = parse_network(MODEL)
    config = make_config(builder, BATCH, opt_level=0)
    config.set_flag(trt.BuilderFlag.INT8)
    config.int8_calibrator = FixedBatches(batches)
    with pytest.raises((trt.BuildError, ValueError), match=r"expected shape \(1, 1, 28, 28\)"):
        builder.build_serialized_network(network, config)
    with pytest.raises(ValueError, match="sets no shapes"):
        config.set_calibration_profile(builder.create_optimization_profile())


def test_tensorrt_module_reports_the_api_level():
    from clrt import tensorrt

    assert tensorrt.__version__.startswith("10.") and tensorrt.clrt_version == trt.__version__
    assert tensorrt.ICudaEngine is trt.ICudaEngine and tensorrt.Runtime is trt.Runtime
    assert tensorrt.nptype(tensorrt.float32) is np.float32
    assert "__version__" not in tensorrt.__all__ and "IProfiler" in tensorrt.__all__


def test_api_page_is_current(capsys):
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen_trt_api_docs.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.main(["--check"]) == 0, capsys.readouterr().err
    table = {(owner, member): status for owner, member, status, _ in gen.rows()}
    assert table[("ICudaEngine", "get_tensor_format")] == "yes"
    assert table[("Classes", "Refitter")] == "yes"


@pytest.mark.skipif(not fmnist.available(), reason="Fashion-MNIST not installed")
def test_classic_int8_sample_runs(tmp_path, monkeypatch):
    """examples/int8_sample_classic.py: device-pointer calibrator, pagelocked buffers,
    execute_async_v3 and an IProfiler, as NVIDIA's samples write them."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    spec = importlib.util.spec_from_file_location(
        "classic", ROOT / "examples" / "int8_sample_classic.py"
    )
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    cache = tmp_path / "classic.cache"
    argv = ["--calib-images", "128", "--test-images", "512", "--batch", "32", "--cache", str(cache)]
    acc = example.main(argv)
    assert acc["fp32"] > 0.8 and abs(acc["fp32"] - acc["int8"]) <= 0.02, acc
    assert cache.read_bytes().startswith(b"TRT-")
    assert acc["layer_times"] and all(ms >= 0 for ms in acc["layer_times"].values())


def test_activation_buffers_are_shared_by_tensors_that_are_not_alive_together():
    # A chain of 8 pointwise layers: each intermediate tensor dies when the next layer has run,
    # so two buffers serve all seven (runtime::planMemory), and the values are still right.
    shape = [1, 4, 16, 16]
    ops = ["Sin", "Cos", "Neg", "Sin", "Abs", "Cos", "Neg", "Sin"]
    names = ["x"] + [f"t{i}" for i in range(len(ops) - 1)] + ["y"]
    nodes = [helper.make_node(op, [names[i]], [names[i + 1]]) for i, op in enumerate(ops)]
    model = make_model(nodes, [("x", shape)], [("y", shape)])
    engine = build_engine(model)
    assert engine.num_layers == len(ops)
    tensor_bytes = int(np.prod(shape)) * 4  # FLOAT, a multiple of every arena alignment
    assert engine.device_memory_size == 2 * tensor_bytes
    x = rand(shape, seed=3)
    got = engine.create_execution_context().infer({"x": x})["y"]
    assert_close(got, ort_run(model, {"x": x})["y"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("view", ["Reshape", "Unsqueeze"])
def test_reshapes_are_views_of_their_input_buffer(view):
    # t0 = sin(x) stays alive to the end; t1 = view(t0); t2 = cos(t1); t3 = view back(t2);
    # y = t0 * t3. With each view sharing its input's buffer (runtime::planMemory), t0/t1 and
    # t2/t3 need two buffers, where copies needed three (t0, t2 and t1 then t3); the values are
    # still right.
    shape = [1, 4, 16, 16]
    if view == "Reshape":
        inits = {"s1": np.array([1, 4, 256], np.int64), "s2": np.array(shape, np.int64)}
        there = helper.make_node("Reshape", ["t0", "s1"], ["t1"])
        back = helper.make_node("Reshape", ["t2", "s2"], ["t3"])
    else:
        inits = {"a": np.array([0], np.int64)}
        there = helper.make_node("Unsqueeze", ["t0", "a"], ["t1"])
        back = helper.make_node("Squeeze", ["t2", "a"], ["t3"])
    nodes = [
        helper.make_node("Sin", ["x"], ["t0"]),
        there,
        helper.make_node("Cos", ["t1"], ["t2"]),
        back,
        helper.make_node("Mul", ["t0", "t3"], ["y"]),
    ]
    model = make_model(nodes, [("x", shape)], [("y", shape)], inits)
    engine = build_engine(model)
    assert engine.num_layers == len(nodes)
    tensor_bytes = int(np.prod(shape)) * 4
    assert engine.device_memory_size == 2 * tensor_bytes
    x = rand(shape, seed=3)
    got = engine.create_execution_context().infer({"x": x})["y"]
    assert_close(got, ort_run(model, {"x": x})["y"], rtol=1e-5, atol=1e-5)
