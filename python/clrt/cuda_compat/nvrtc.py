"""cuda-python's nvrtc module, imported beside the runtime by TensorRT's sample helpers: CUDA C
compiles to kernels clrt cannot run, so it holds only the result codes those helpers test
against; any other name raises AttributeError saying why."""

import enum


class nvrtcResult(enum.IntEnum):
    NVRTC_SUCCESS = 0


def nvrtcGetErrorString(result):
    return (nvrtcResult.NVRTC_SUCCESS, nvrtcResult(int(result)).name.encode())


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(
        f"nvrtc.{name}: clrt's stand-in for cuda-python's nvrtc compiles nothing; CUDA C "
        "kernels do not run on OpenCL devices"
    )
