# The order in which an untimed build (builder_optimization_level 0, and the FP32 engine that INT8
# calibration runs) takes the eligible tactics, per kind of device.
"""On a GPU the CLBlast convolutions come before the direct kernel (timing on the H200 picks them
for 62 of YOLOv8s's 63 convolutions, and the direct kernel made calibration's FP32 passes 3x
slower); on a CPU (PoCL) the direct kernel stays first, where it runs 2-4x faster."""

from clrt import _clrt


def test_untimed_convolution_order_depends_on_the_device():
    gpu = _clrt._debug.untimed_order("CONVOLUTION", True)
    cpu = _clrt._debug.untimed_order("CONVOLUTION", False)
    assert sorted(gpu) == sorted(cpu)
    assert (
        gpu.index("conv.1x1_clblast") < gpu.index("conv.im2col_clblast") < gpu.index("conv.direct")
    )
    assert (
        cpu.index("conv.direct") < cpu.index("conv.1x1_clblast") < cpu.index("conv.im2col_clblast")
    )


def test_untimed_order_of_other_kinds_does_not_depend_on_the_device():
    for kind in ("MATRIX_MULTIPLY", "POOLING", "TOPK"):
        assert _clrt._debug.untimed_order(kind, True) == _clrt._debug.untimed_order(kind, False)
