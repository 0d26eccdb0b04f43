# A parsed ConvTranspose is TensorRT's IDeconvolutionLayer and a Resize its IResizeLayer (tools
# such as Polygraphy read every layer's properties by its class).
import clrt as trt
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from unit_helpers import parse

N = helper.make_node


def _network():
    w = np.arange(3 * 2 * 3 * 2, dtype=np.float32).reshape(3, 2, 3, 2)
    b = np.array([0.5, -1.0, 2.0, 0.25], np.float32)
    graph = helper.make_graph(
        [
            N(
                "ConvTranspose",
                ["x", "w", "b"],
                ["y"],
                name="up",
                strides=[2, 1],
                pads=[1, 0, 0, 1],
                dilations=[1, 2],
                group=1,
            ),
            N("Relu", ["y"], ["r"]),
            N(
                "Resize",
                ["r", "", "scales"],
                ["z"],
                name="resize",
                mode="cubic",
                coordinate_transformation_mode="align_corners",
                cubic_coeff_a=-0.5,
            ),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 5, 5])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
        [
            numpy_helper.from_array(w, "w"),
            numpy_helper.from_array(b[:2], "b"),
            numpy_helper.from_array(np.array([1, 1, 2, 1.5], np.float32), "scales"),
        ],
    )
    return parse(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])), w, b[:2]


def test_conv_transpose_is_an_ideconvolution_layer():
    net, w, b = _network()
    layer = next(net.get_layer(i) for i in range(net.num_layers) if net.get_layer(i).name == "up")
    assert isinstance(layer, trt.IDeconvolutionLayer)
    assert layer.type == trt.LayerType.DECONVOLUTION
    assert layer.num_output_maps == 2 and layer.num_groups == 1
    assert layer.kernel_size_nd == (3, 2)
    assert layer.stride_nd == (2, 1) and layer.dilation_nd == (1, 2)
    assert layer.pre_padding == (1, 0) and layer.post_padding == (0, 1)
    np.testing.assert_array_equal(layer.kernel, w)
    np.testing.assert_array_equal(layer.bias, b)
    with pytest.raises(AttributeError):
        layer.num_groups = 2


def test_resize_is_an_iresize_layer():
    net, _, _ = _network()
    layer = next(
        net.get_layer(i) for i in range(net.num_layers) if net.get_layer(i).name == "resize"
    )
    assert isinstance(layer, trt.IResizeLayer)
    assert layer.resize_mode == trt.InterpolationMode.CUBIC
    assert layer.coordinate_transformation == trt.ResizeCoordinateTransformation.ALIGN_CORNERS
    assert layer.cubic_coeff == pytest.approx(-0.5)
    assert layer.scales == pytest.approx([1, 1, 2, 1.5])
    assert layer.exclude_outside is False


def test_polygraphy_lists_a_network_with_a_deconvolution():
    util = pytest.importorskip("polygraphy.backend.trt.util")
    import sys

    sys.modules.setdefault("tensorrt", trt)
    net, _, _ = _network()
    text = util.str_from_network(net, show_layers=True, show_attrs=True)
    assert "DECONVOLUTION" in text and "RESIZE" in text and "up" in text, text
