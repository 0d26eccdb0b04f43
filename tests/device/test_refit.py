# Refit (BuilderFlag.REFIT, clrt.Refitter): new weights into a built engine without a new build.
# A refitted engine must compute what onnxruntime computes with the new weights, including
# weights the graph passes fold (a channel scale folded into the convolution before it).
import json

import clrt as trt
import numpy as np
import onnx
import pytest
from helpers import MODELS, RecordingLogger, assert_close, get_runtime, make_model, ort_run
from onnx import helper, numpy_helper

SHAPE = (2, 3, 8, 8)


def weights(seed):
    rng = np.random.default_rng(seed)
    return {
        "kernel": rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3,
        "bias": rng.standard_normal(4).astype(np.float32),
        "scale": rng.uniform(0.5, 1.5, 4).astype(np.float32),
        "shift": rng.standard_normal(4).astype(np.float32),
        "const": rng.standard_normal((1, 4, 1, 1)).astype(np.float32),
    }


def network_api_engine(w, logger, refit=True, fp16=False):
    """conv (+bias) -> channel scale (folded into the conv by the passes) -> ReLU -> + constant,
    made with the network API as TensorRT's refit samples do."""
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, SHAPE)
    conv = net.add_convolution_nd(x, 4, (3, 3), trt.Weights(w["kernel"]), trt.Weights(w["bias"]))
    conv.name = "conv"
    conv.padding_nd = (1, 1)
    ones = np.ones(4, np.float32)
    scale = net.add_scale(
        conv.get_output(0),
        trt.ScaleMode.CHANNEL,
        trt.Weights(w["shift"]),
        trt.Weights(w["scale"]),
        trt.Weights(ones),
    )
    scale.name = "bn"
    relu = net.add_activation(scale.get_output(0), trt.ActivationType.RELU)
    const = net.add_constant((1, 4, 1, 1), trt.Weights(w["const"]))
    const.name = "offset"
    out = net.add_elementwise(relu.get_output(0), const.get_output(0), trt.ElementWiseOperation.SUM)
    out.get_output(0).name = "y"
    net.mark_output(out.get_output(0))
    config = builder.create_builder_config()
    if refit:
        config.set_flag(trt.BuilderFlag.REFIT)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    plan = builder.build_serialized_network(net, config)
    return get_runtime().deserialize_cuda_engine(plan)


def reference(w, x):
    """onnxruntime's output of the same computation with weights w."""
    nodes = [
        helper.make_node("Conv", ["x", "k", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["c", "s"], ["m"]),
        helper.make_node("Add", ["m", "t"], ["a"]),
        helper.make_node("Relu", ["a"], ["r"]),
        helper.make_node("Add", ["r", "o"], ["y"]),
    ]
    inits = {
        "k": w["kernel"],
        "b": w["bias"],
        "s": w["scale"].reshape(1, 4, 1, 1),
        "t": w["shift"].reshape(1, 4, 1, 1),
        "o": w["const"],
    }
    model = make_model(nodes, [("x", SHAPE)], [("y", (2, 4, 8, 8))], initializers=inits)
    return ort_run(model, {"x": x})["y"]


def set_all(refitter, w):
    assert refitter.set_weights("conv", trt.WeightsRole.KERNEL, w["kernel"])
    assert refitter.set_weights("conv", trt.WeightsRole.BIAS, trt.Weights(w["bias"]))
    assert refitter.set_weights("bn", trt.WeightsRole.SCALE, w["scale"])
    assert refitter.set_weights("bn", trt.WeightsRole.SHIFT, w["shift"])
    assert refitter.set_weights("offset", trt.WeightsRole.CONSTANT, w["const"])


@pytest.fixture
def x():
    return np.random.default_rng(7).standard_normal(SHAPE).astype(np.float32)


def test_refit_replays_folding_and_matches_onnxruntime(x):
    logger = RecordingLogger()
    w1, w2 = weights(1), weights(2)
    engine = network_api_engine(w1, logger)
    assert engine.refittable
    before = engine.create_execution_context().infer({"x": x})["y"]
    assert_close(before, reference(w1, x))
    refitter = trt.Refitter(engine, logger)
    layers, roles = refitter.get_all()
    assert set(zip(layers, roles)) == {
        ("conv", trt.WeightsRole.KERNEL),
        ("conv", trt.WeightsRole.BIAS),
        ("bn", trt.WeightsRole.SCALE),
        ("bn", trt.WeightsRole.SHIFT),
        ("offset", trt.WeightsRole.CONSTANT),
    }
    assert refitter.get_missing() == ([], [])
    set_all(refitter, w2)
    assert refitter.refit_cuda_engine(), logger.text()
    after = engine.create_execution_context().infer({"x": x})["y"]
    assert_close(after, reference(w2, x))
    assert not np.allclose(after, before)
    # Only some weights set: the others keep the engine's (now w2's) values.
    w3 = dict(w2, scale=weights(3)["scale"])
    refitter = trt.Refitter(engine, logger)
    assert refitter.set_weights("bn", trt.WeightsRole.SCALE, w3["scale"])
    assert refitter.refit_cuda_engine()
    assert_close(engine.create_execution_context().infer({"x": x})["y"], reference(w3, x))


def test_refitted_engine_serializes_and_refits_again(x):
    logger = RecordingLogger()
    engine = network_api_engine(weights(1), logger)
    refitter = trt.Refitter(engine, logger)
    set_all(refitter, weights(2))
    assert refitter.refit_cuda_engine()
    loaded = get_runtime().deserialize_cuda_engine(engine.serialize())
    assert loaded.refittable
    assert_close(loaded.create_execution_context().infer({"x": x})["y"], reference(weights(2), x))
    refitter = trt.Refitter(loaded, logger)
    set_all(refitter, weights(4))
    assert refitter.refit_cuda_engine()
    assert_close(loaded.create_execution_context().infer({"x": x})["y"], reference(weights(4), x))


def test_refit_keeps_fp16_precisions(x):
    logger = RecordingLogger()
    engine = network_api_engine(weights(1), logger, fp16=True)
    refitter = trt.Refitter(engine, logger)
    set_all(refitter, weights(2))
    assert refitter.refit_cuda_engine()
    # FP16 arithmetic on values of magnitude ~5: half's 2^-11 relative step, accumulated over the
    # 27 products of a 3x3x3 convolution.
    got = engine.create_execution_context().infer({"x": x})["y"]
    assert_close(got, reference(weights(2), x), rtol=1e-2, atol=1e-2)


def test_contexts_made_before_a_refit_say_so(x):
    logger = RecordingLogger()
    engine = network_api_engine(weights(1), logger)
    old = engine.create_execution_context()
    refitter = trt.Refitter(engine, logger)
    set_all(refitter, weights(2))
    assert refitter.refit_cuda_engine()
    with pytest.raises(ValueError, match="created before refit_cuda_engine.*create a new context"):
        old.infer({"x": x})


def test_bad_refits_fail_with_reasons():
    logger = RecordingLogger()
    with pytest.raises(ValueError, match="not refittable.*BuilderFlag.REFIT"):
        trt.Refitter(network_api_engine(weights(1), logger, refit=False), logger)
    engine = network_api_engine(weights(1), logger)
    refitter = trt.Refitter(engine, logger)
    assert not refitter.set_weights("nope", trt.WeightsRole.KERNEL, np.zeros(108, np.float32))
    assert "layer 'nope' KERNEL: no refittable layer has this name" in logger.text()
    assert not refitter.set_weights("conv", trt.WeightsRole.SCALE, np.ones(4, np.float32))
    assert "layer 'conv' SCALE: the layer has weights bias, kernel" in logger.text()
    assert not refitter.set_weights("conv", trt.WeightsRole.BIAS, np.ones(5, np.float32))
    assert "holds 4 values (shape [4]); got 5" in logger.text()
    bad = np.ones(4, np.float32)
    bad[2] = np.nan
    assert not refitter.set_weights("conv", trt.WeightsRole.BIAS, bad)
    assert "non-finite value at flat index 2" in logger.text()
    refitter.weights_validation = False
    assert refitter.set_weights("conv", trt.WeightsRole.BIAS, bad)


# --- Refit by ONNX initializer name (set_named_weights, OnnxParserRefitter) -------------------

CNN = MODELS / "fmnist_cnn.onnx"
PROFILE = ((1, 1, 28, 28), (4, 1, 28, 28), (8, 1, 28, 28))


def perturbed(model, seed, only=None):
    """The model with its float initializers scaled elementwise by factors in [0.8, 1.2] (batch
    norms' variances stay positive); `only` limits it to those names."""
    rng = np.random.default_rng(seed)
    out = onnx.ModelProto()
    out.CopyFrom(model)
    for init in out.graph.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype != np.float32 or (only is not None and init.name not in only):
            continue
        init.CopyFrom(
            numpy_helper.from_array(
                a * rng.uniform(0.8, 1.2, a.shape).astype(np.float32), init.name
            )
        )
    return out


def onnx_engine(model_path, logger, flag=trt.BuilderFlag.REFIT):
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    parser = trt.OnnxParser(net, logger)
    assert parser.parse_from_file(str(model_path))
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    profile.set_shape("input", *PROFILE)
    config.add_optimization_profile(profile)
    config.set_flag(flag)
    return get_runtime().deserialize_cuda_engine(builder.build_serialized_network(net, config))


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(3).uniform(0, 1, (4, 1, 28, 28)).astype(np.float32)


def logits(engine, x):
    return engine.create_execution_context().infer({"input": x})["logits"]


def test_refit_from_onnx_file_recomputes_folded_batch_norms(tmp_path, images):
    # Every initializer changes, batch norms' included: their scale and shift are computed at
    # import and folded into the convolutions, so the refit re-parses and replays the passes.
    logger = RecordingLogger()
    m1 = onnx.load(CNN)
    m2 = perturbed(m1, seed=11)
    onnx.save(m2, tmp_path / "m2.onnx")
    engine = onnx_engine(CNN, logger)
    assert_close(logits(engine, images), ort_run(m1, {"input": images})["logits"], atol=1e-4)
    refitter = trt.Refitter(engine, logger)
    names = refitter.get_all_weights()
    assert {i.name for i in m1.graph.initializer if i.data_type == onnx.TensorProto.FLOAT} == set(
        names
    )
    parser_refitter = trt.OnnxParserRefitter(refitter, logger)
    assert parser_refitter.refit_from_file(str(tmp_path / "m2.onnx")), logger.text()
    assert refitter.refit_cuda_engine(), logger.text()
    want = ort_run(m2, {"input": images})["logits"]
    assert_close(logits(engine, images), want, atol=1e-4)
    # One initializer by name, on top: the batch norm's gamma of the first block.
    gamma = next(n for n in names if "features.1" in n and n.endswith("weight"))
    m3 = perturbed(m2, seed=12, only={gamma})
    new_gamma = numpy_helper.to_array(next(i for i in m3.graph.initializer if i.name == gamma))
    refitter = trt.Refitter(engine, logger)
    assert refitter.set_named_weights(gamma, new_gamma)
    np.testing.assert_array_equal(refitter.get_named_weights(gamma).numpy(), new_gamma)
    assert refitter.refit_cuda_engine(), logger.text()
    assert_close(logits(engine, images), ort_run(m3, {"input": images})["logits"], atol=1e-4)


def test_refit_of_one_packed_projection(tmp_path):
    # Hugging Face's query, key and value MatMuls run as one packed MatMul (fuse_attention.cc
    # packProjections). A refit of the key weight alone, by its initializer name, packs again
    # with the new key columns: the engine then computes what onnxruntime does on the new model.
    from helpers import separate_projections_model

    logger = RecordingLogger()
    m1, x = separate_projections_model(8, heads=2, s=7, b=2)
    onnx.save(m1, tmp_path / "m1.onnx")
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    assert trt.OnnxParser(net, logger).parse_from_file(str(tmp_path / "m1.onnx"))
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.REFIT)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    engine = get_runtime().deserialize_cuda_engine(builder.build_serialized_network(net, config))
    info = engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    kinds = [lay["LayerType"] for lay in json.loads(info)["Layers"]]
    assert kinds.count("MATRIX_MULTIPLY") == 1, kinds
    assert_close(engine.create_execution_context().infer(x)["y"], ort_run(m1, x)["y"])
    m2 = perturbed(m1, seed=13, only={"w_k"})
    refitter = trt.Refitter(engine, logger)
    w_k = numpy_helper.to_array(next(i for i in m2.graph.initializer if i.name == "w_k"))
    assert refitter.set_named_weights("w_k", w_k)
    assert refitter.refit_cuda_engine(), logger.text()
    want = ort_run(m2, x)["y"]
    assert np.abs(want - ort_run(m1, x)["y"]).max() > 1e-2  # the refit changes the output
    assert_close(engine.create_execution_context().infer(x)["y"], want)


def test_stripped_plan_refit_from_onnx_and_device_weights(tmp_path, images):
    # Weight stripping's flow (STRIP_PLAN, serialize, load, refit from the ONNX file), and
    # named weights read from a device pointer (TensorLocation.DEVICE), as TensorRT's samples do.
    logger = RecordingLogger()
    m1 = onnx.load(CNN)
    engine = onnx_engine(CNN, logger, flag=trt.BuilderFlag.STRIP_PLAN)
    assert "STRIP_PLAN: clrt keeps the weights" in logger.text()
    loaded = get_runtime().deserialize_cuda_engine(engine.serialize())
    refitter = trt.Refitter(loaded, logger)
    assert trt.OnnxParserRefitter(refitter, logger).refit_from_file(str(CNN))
    assert refitter.refit_cuda_engine()
    assert_close(logits(loaded, images), ort_run(m1, {"input": images})["logits"], atol=1e-4)
    name = refitter.get_all_weights()[0]
    proto = refitter.get_weights_prototype(name)
    m2 = perturbed(m1, seed=13, only={name})
    value = numpy_helper.to_array(next(i for i in m2.graph.initializer if i.name == name))
    assert proto.size == value.size and proto.dtype == trt.float32
    device = trt.mem_alloc(value.nbytes)
    trt.memcpy_htod(device, np.ascontiguousarray(value))
    weights = trt.Weights(trt.float32, int(device), value.size)
    refitter = trt.Refitter(loaded, logger)
    assert refitter.set_named_weights(name, weights, trt.TensorLocation.DEVICE)
    assert refitter.refit_cuda_engine()
    assert_close(logits(loaded, images), ort_run(m2, {"input": images})["logits"], atol=1e-4)


def test_onnx_refit_errors_name_the_problem(tmp_path):
    logger = RecordingLogger()
    engine = onnx_engine(CNN, logger)
    refitter = trt.Refitter(engine, logger)
    parser_refitter = trt.OnnxParserRefitter(refitter, logger)
    assert not parser_refitter.refit_from_file(str(tmp_path / "missing.onnx"))
    assert parser_refitter.num_errors == 1 and "cannot read" in parser_refitter.get_error(0).desc()
    parser_refitter.clear_errors()
    assert not parser_refitter.refit_from_file(str(MODELS / "mobilenetv2_style.onnx"))
    assert "no initializer names a refittable weight" in parser_refitter.get_error(0).desc()
    assert not refitter.set_named_weights("nope", np.zeros(3, np.float32))
    assert "no float initializer 'nope'" in logger.text()
    name = refitter.get_all_weights()[0]
    assert not refitter.set_named_weights(name, np.zeros(3, np.float32))
    assert f"initializer '{name}' holds" in logger.text()
    api = trt.Refitter(network_api_engine(weights(1), logger), logger)
    assert api.get_all_weights() == []
    assert not api.set_named_weights("k", np.zeros(3, np.float32))
    assert "not parsed from ONNX" in logger.text()


def int8_engine(w, amax, logger):
    """The network of network_api_engine in INT8 (untimed: the first eligible tactics, so two
    builds choose alike), every tensor's range from `amax` (name -> max |value|)."""
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, SHAPE)
    conv = net.add_convolution_nd(x, 4, (3, 3), trt.Weights(w["kernel"]), trt.Weights(w["bias"]))
    conv.padding_nd = (1, 1)
    relu = net.add_activation(conv.get_output(0), trt.ActivationType.RELU)
    relu.get_output(0).name = "r"
    const = net.add_constant((1, 4, 1, 1), trt.Weights(w["const"]))
    out = net.add_elementwise(relu.get_output(0), const.get_output(0), trt.ElementWiseOperation.SUM)
    out.get_output(0).name = "y"
    net.mark_output(out.get_output(0))
    for t in (x, conv.get_output(0), relu.get_output(0), const.get_output(0), out.get_output(0)):
        a = amax.get(t.name, 4.0)
        t.set_dynamic_range(-a, a)
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.INT8)
    config.set_flag(trt.BuilderFlag.REFIT)
    config.builder_optimization_level = 0
    return get_runtime().deserialize_cuda_engine(builder.build_serialized_network(net, config))


def test_refit_int8_ranges_as_a_fresh_build_takes_them(x):
    """Refitter.set_dynamic_range: the engine then computes what a build with that range
    computes (bit for bit, the tactics being the same), and setting the old range back gives
    the old outputs again."""
    w = weights(1)
    logger = RecordingLogger()
    engine = int8_engine(w, {"x": 1.0, "r": 3.0}, logger)
    before = engine.create_execution_context().infer({"x": x})["y"]
    refitter = trt.Refitter(engine, logger)
    names = refitter.get_tensors_with_dynamic_range()
    assert "x" in names, names
    assert refitter.get_dynamic_range("x") == (-1.0, 1.0)
    assert refitter.set_dynamic_range("x", [-0.25, 0.1])  # max |.| = 0.25
    assert refitter.get_dynamic_range("x") == (-0.25, 0.1)
    assert refitter.refit_cuda_engine()
    assert refitter.get_dynamic_range("x") == (-0.25, 0.25)
    got = engine.create_execution_context().infer({"x": x})["y"]
    fresh = int8_engine(w, {"x": 0.25, "r": 3.0}, logger)
    np.testing.assert_array_equal(got, fresh.create_execution_context().infer({"x": x})["y"])
    assert np.abs(got - before).max() > 0.05  # x clipped at 0.25 instead of 1
    assert refitter.set_dynamic_range("x", -1.0, 1.0) and refitter.refit_cuda_engine()
    again = engine.create_execution_context().infer({"x": x})["y"]
    np.testing.assert_array_equal(again, before)
    assert not refitter.set_dynamic_range("nope", [-1, 1])
    assert not refitter.set_dynamic_range("x", [0, 0])
    assert "not an INT8 tensor" in logger.text() and "not only zero" in logger.text()
    with pytest.raises(ValueError, match="'nope' is not an INT8 tensor"):
        refitter.get_dynamic_range("nope")
