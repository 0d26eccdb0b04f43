# Builder and IBuilderConfig members of TensorRT 10 beyond the build itself: build_engine_with_config,
# is_network_supported, max_threads/reset, and the config settings clrt honors, stores as hints or
# refuses by name. One tiny network (a matrix product and a ReLU), so builds stay short on PoCL.
import warnings

import clrt as trt
import numpy as np
import pytest
from helpers import EXPLICIT_BATCH, MODELS, RecordingLogger, assert_close, deserialize

RNG = np.random.default_rng(5)
W = RNG.standard_normal((3, 4)).astype(np.float32)
X = RNG.standard_normal((2, 3)).astype(np.float32)


def tiny_network(builder, dynamic=False):
    """y = relu(x @ W); x (2, 3), or (-1, 3) when dynamic."""
    network = builder.create_network(EXPLICIT_BATCH)
    x = network.add_input("x", trt.float32, (-1, 3) if dynamic else (2, 3))
    w = network.add_constant((3, 4), W).get_output(0)
    mm = network.add_matrix_multiply(x, trt.MatrixOperation.NONE, w, trt.MatrixOperation.NONE)
    act = network.add_activation(mm.get_output(0), trt.ActivationType.RELU)
    act.get_output(0).name = "y"
    network.mark_output(act.get_output(0))
    return network


def test_build_engine_with_config_matches_the_serialized_path():
    """build_engine_with_config gives a working ICudaEngine, without the deprecation warning of
    build_engine, whose output matches the engine of build_serialized_network + deserialize and
    NumPy (FP32 tolerance: rtol 1e-4, atol 1e-5)."""
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    network = tiny_network(builder)
    config = builder.create_builder_config()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        engine = builder.build_engine_with_config(network, config)
    assert isinstance(engine, trt.ICudaEngine)
    assert [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)] == ["x", "y"]
    got = engine.create_execution_context().infer({"x": X})["y"]
    plan = builder.build_serialized_network(network, config)
    ref = deserialize(bytes(plan)).create_execution_context().infer({"x": X})["y"]
    assert_close(got, ref, rtol=1e-4, atol=1e-5)
    assert_close(got, np.maximum(X.astype(np.float64) @ W, 0), rtol=1e-4, atol=1e-5)


def test_is_network_supported_is_whether_the_build_succeeds():
    """True for a network that builds; False, with the build's reason logged as an ERROR, for a
    network without outputs and for a dynamic input without an optimization profile (both of
    which build_serialized_network refuses with clrt.BuildError)."""
    logger = RecordingLogger()
    builder = trt.Builder(logger)
    config = builder.create_builder_config()
    assert builder.is_network_supported(tiny_network(builder), config) is True
    assert logger.text(trt.Logger.ERROR) == ""
    empty = builder.create_network(EXPLICIT_BATCH)
    empty.add_input("x", trt.float32, (2, 3))
    assert builder.is_network_supported(empty, config) is False
    assert "is_network_supported: network has no outputs" in logger.text(trt.Logger.ERROR)
    with pytest.raises(trt.BuildError, match="network has no outputs"):
        builder.build_serialized_network(empty, config)
    dynamic = tiny_network(builder, dynamic=True)
    assert builder.is_network_supported(dynamic, config) is False
    assert "'x'" in logger.text(trt.Logger.ERROR).splitlines()[-1]
    with pytest.raises(trt.BuildError):
        builder.build_serialized_network(dynamic, config)


def test_max_threads_is_a_stored_limit_and_reset_restores_it():
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    assert builder.max_threads == 1  # TensorRT's default
    builder.max_threads = 4
    assert builder.max_threads == 4
    with pytest.raises(ValueError, match="Builder.max_threads: 0 must be >= 1"):
        builder.max_threads = 0
    builder.reset()
    assert builder.max_threads == 1


def test_parser_and_config_members_scripts_call_answer_as_on_a_gpu_without_plugins():
    """OnnxParser.set_builder_config (Polygraphy's network loaders call it when given a config)
    is accepted, get_used_vc_plugin_libraries lists no plugin library, and
    IBuilderConfig.get_device_type says GPU for every layer; the parse and build go on as
    without them."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(EXPLICIT_BATCH)
    parser = trt.OnnxParser(network, logger)
    config = builder.create_builder_config()
    assert parser.set_builder_config(config) is True
    assert parser.parse_from_file(str(MODELS / "fmnist_cnn.onnx"))
    assert parser.get_used_vc_plugin_libraries() == []
    devices = {config.get_device_type(network.get_layer(i)) for i in range(network.num_layers)}
    assert devices == {trt.DeviceType.GPU}
    profile = builder.create_optimization_profile()
    profile.set_shape("input", (1, 1, 28, 28), (2, 1, 28, 28), (2, 1, 28, 28))
    config.add_optimization_profile(profile)
    config.builder_optimization_level = 0
    assert builder.build_serialized_network(network, config)


def test_engine_kinds_clrt_does_not_build_are_refused_by_name():
    """The values clrt builds read back and are accepted; the others raise UnsupportedError
    naming the setting and the value, and leave the setting as it was."""
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    config = builder.create_builder_config()
    assert config.engine_capability == trt.EngineCapability.STANDARD
    config.engine_capability = trt.EngineCapability.STANDARD
    for value in (trt.EngineCapability.SAFETY, trt.EngineCapability.DLA_STANDALONE):
        with pytest.raises(trt.UnsupportedError, match=f"engine_capability: {value}"):
            config.engine_capability = value
    assert config.hardware_compatibility_level == trt.HardwareCompatibilityLevel.NONE
    config.hardware_compatibility_level = trt.HardwareCompatibilityLevel.NONE
    with pytest.raises(
        trt.UnsupportedError,
        match="hardware_compatibility_level: HardwareCompatibilityLevel.AMPERE_PLUS",
    ):
        config.hardware_compatibility_level = trt.HardwareCompatibilityLevel.AMPERE_PLUS
    assert config.runtime_platform == trt.RuntimePlatform.SAME_AS_BUILD
    config.runtime_platform = trt.RuntimePlatform.SAME_AS_BUILD
    with pytest.raises(trt.UnsupportedError, match="runtime_platform: RuntimePlatform.WINDOWS"):
        config.runtime_platform = trt.RuntimePlatform.WINDOWS_AMD64
    q = trt.QuantizationFlag.CALIBRATE_BEFORE_FUSION
    assert config.get_quantization_flag(q) is False
    config.clear_quantization_flag(q)
    with pytest.raises(trt.UnsupportedError, match="set_quantization_flag: QuantizationFlag.CALI"):
        config.set_quantization_flag(q)
    assert config.get_quantization_flag(q) is False
    assert config.get_tactic_sources() == 0
    assert not hasattr(config, "set_tactic_sources")


def test_preview_features_and_aux_streams_as_clrt_runs_them():
    """PROFILE_SHARING_0806 is on: two execution contexts of one engine on profile 0 run side
    by side and agree (exact); turning it off, or ALIASED_PLUGIN_IO_10_03 on, is refused.
    max_aux_streams is a stored maximum (-1 by default, < -1 refused)."""
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    config = builder.create_builder_config()
    share, alias = (
        trt.PreviewFeature.PROFILE_SHARING_0806,
        trt.PreviewFeature.ALIASED_PLUGIN_IO_10_03,
    )
    assert config.get_preview_feature(share) and not config.get_preview_feature(alias)
    config.set_preview_feature(share, True)
    config.set_preview_feature(alias, False)
    with pytest.raises(trt.UnsupportedError, match="PROFILE_SHARING_0806 cannot be turned off"):
        config.set_preview_feature(share, False)
    with pytest.raises(trt.UnsupportedError, match="ALIASED_PLUGIN_IO_10_03 cannot be turned on"):
        config.set_preview_feature(alias, True)
    assert config.max_aux_streams == -1
    config.max_aux_streams = 0
    assert config.max_aux_streams == 0
    with pytest.raises(ValueError, match="max_aux_streams: -2 must be >= 0, or -1"):
        config.max_aux_streams = -2
    engine = builder.build_engine_with_config(tiny_network(builder), config)
    a, b = engine.create_execution_context(), engine.create_execution_context()
    np.testing.assert_array_equal(a.infer({"x": X})["y"], b.infer({"x": X})["y"])


def test_config_reset_restores_the_defaults():
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    config = builder.create_builder_config()
    fresh = builder.create_builder_config()
    default_pool = fresh.get_memory_pool_limit(trt.MemoryPoolType.WORKSPACE)
    config.set_flag(trt.BuilderFlag.FP16)
    config.clear_flag(trt.BuilderFlag.TF32)
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 20)
    config.builder_optimization_level = 0
    config.max_aux_streams = 2
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 3), (2, 3), (4, 3))
    config.add_optimization_profile(profile)
    config.reset()
    assert config.flags == fresh.flags and config.get_flag(trt.BuilderFlag.TF32)
    assert config.get_memory_pool_limit(trt.MemoryPoolType.WORKSPACE) == default_pool
    assert config.builder_optimization_level == fresh.builder_optimization_level
    assert (config.max_aux_streams, config.num_optimization_profiles) == (-1, 0)
    assert config.int8_calibrator is None and config.get_timing_cache() is None


def test_later_tensorrt_flags_are_accepted_and_hold():
    # TensorRT 10's later flags: EDITABLE_TIMING_CACHE (two builds from one timing cache give the
    # same engine, byte for byte: the cache decides every tactic it holds), REFIT_INDIVIDUAL
    # (refittable as REFIT), STRICT_NANS and MONITOR_MEMORY (accepted; see builder.h).
    from helpers import MODELS, get_runtime

    logger = RecordingLogger()

    def build(cache, *flags):
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        assert parser.parse_from_file(str(MODELS / "fmnist_cnn.onnx"))
        config = builder.create_builder_config()
        for flag in flags:
            config.set_flag(flag)
            assert config.get_flag(flag)
        profile = builder.create_optimization_profile()
        profile.set_shape("input", (1, 1, 28, 28), (4, 1, 28, 28), (8, 1, 28, 28))
        config.add_optimization_profile(profile)
        cache = cache or config.create_timing_cache(b"")
        config.set_timing_cache(cache, True)
        return bytes(builder.build_serialized_network(network, config)), cache

    first, cache = build(None, trt.BuilderFlag.EDITABLE_TIMING_CACHE)
    second, _ = build(cache, trt.BuilderFlag.EDITABLE_TIMING_CACHE)
    assert first == second
    flags = (
        trt.BuilderFlag.REFIT_INDIVIDUAL,
        trt.BuilderFlag.STRICT_NANS,
        trt.BuilderFlag.MONITOR_MEMORY,
    )
    plan, _ = build(cache, *flags)
    assert get_runtime().deserialize_cuda_engine(plan).refittable
    assert not get_runtime().deserialize_cuda_engine(first).refittable
