# ITensor.set_dimension_name / get_dimension_name (TensorRT's): dims of network inputs that share
# a name must be equal, in every optimization profile (build error) and at run time (ValueError);
# the ONNX parser names dims after their dim_param; engines keep the names.
import clrt as trt
import numpy as np
import pytest
from helpers import EXPLICIT_BATCH, make_config, make_model, ort_run, parse_network, rand
from onnx import helper

N = helper.make_node


def add_model():
    """y = a + b over (n, 4): both inputs name their first dim 'n'."""
    return make_model(
        [N("Add", ["a", "b"], ["y"])], [("a", ("n", 4)), ("b", ("n", 4))], [("y", ("n", 4))]
    )


def build(model, ranges):
    builder, network, _ = parse_network(model)
    config = make_config(builder, profiles=ranges)
    plan = builder.build_serialized_network(network, config)
    return network, plan


def test_set_and_get_on_network_inputs():
    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    network = builder.create_network(EXPLICIT_BATCH)
    x = network.add_input("x", trt.float32, (-1, 3, -1))
    assert x.get_dimension_name(0) is None
    x.set_dimension_name(0, "batch")
    x.set_dimension_name(2, "len")
    assert [x.get_dimension_name(i) for i in range(3)] == ["batch", None, "len"]
    x.set_dimension_name(2, "")
    assert x.get_dimension_name(2) is None
    with pytest.raises(IndexError, match=r"dimension 3 of 'x' .* out of range \[0, 3\)"):
        x.set_dimension_name(3, "c")
    with pytest.raises(IndexError, match="out of range"):
        x.get_dimension_name(-1)
    y = network.add_activation(x, trt.ActivationType.RELU).get_output(0)
    with pytest.raises(ValueError, match="is not a network input"):
        y.set_dimension_name(0, "batch")


def test_onnx_dim_params_name_the_dims():
    _, network, _ = parse_network(add_model())
    for i in range(2):
        t = network.get_input(i)
        assert (t.get_dimension_name(0), t.get_dimension_name(1)) == ("n", None)


def test_profiles_must_agree_on_a_named_dim():
    builder, network, _ = parse_network(add_model())
    config = make_config(
        builder, profiles={"a": ((1, 4), (2, 4), (4, 4)), "b": ((1, 4), (3, 4), (4, 4))}
    )
    with pytest.raises(trt.BuildError) as e:
        builder.build_serialized_network(network, config)
    msg = str(e.value)
    assert "optimization profile 0's opt shapes" in msg, msg
    assert "input 'a' dim 0 is 2 and input 'b' dim 0 is 3, both named 'n'" in msg, msg


def test_named_dims_checked_at_run_time_and_kept_by_the_engine():
    model = add_model()
    r = ((1, 4), (2, 4), (4, 4))
    _, plan = build(model, {"a": r, "b": r})
    engine = trt.Runtime(trt.Logger(trt.Logger.ERROR)).deserialize_cuda_engine(bytes(plan))
    ctx = engine.create_execution_context()
    a, b = rand((3, 4), seed=1), rand((3, 4), seed=2)
    np.testing.assert_allclose(
        ctx.infer({"a": a, "b": b})["y"], ort_run(model, {"a": a, "b": b})["y"], rtol=1e-6
    )
    with pytest.raises(ValueError) as e:
        ctx.infer({"a": a, "b": rand((2, 4), seed=3)})
    assert "input 'a' dim 0 is 3 and input 'b' dim 0 is 2, both named 'n'" in str(e.value)
    # The same through set_input_shape and execute_v2.
    ctx.set_input_shape("a", (2, 4))
    ctx.set_input_shape("b", (1, 4))
    bufs = [trt.mem_alloc(32 * 4) for _ in range(3)]
    with pytest.raises(ValueError, match="both named 'n'"):
        ctx.execute_v2([int(x) for x in bufs])
    for x in bufs:
        x.free()


def test_unnamed_dims_stay_independent():
    """Without names (dim_params of their own), the inputs' batch dims may differ where the
    network allows it: a broadcast over (1 or n)."""
    model = make_model(
        [N("Add", ["a", "b"], ["y"])], [("a", ("n", 4)), ("b", ("m", 4))], [("y", ("k", 4))]
    )
    _, plan = build(model, {"a": ((1, 4), (2, 4), (4, 4)), "b": ((1, 4), (1, 4), (4, 4))})
    engine = trt.Runtime(trt.Logger(trt.Logger.ERROR)).deserialize_cuda_engine(bytes(plan))
    a, b = rand((3, 4), seed=1), rand((1, 4), seed=2)
    got = engine.create_execution_context().infer({"a": a, "b": b})["y"]
    np.testing.assert_allclose(got, a + b, rtol=1e-6)
