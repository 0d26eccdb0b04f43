# Session fixtures shared by the device tests, and the OpenCL device printed in the report header
# (none in the unit tier, which runs with the OpenCL ICD hidden).
import os

import clrt as trt
import pytest
from helpers import LOGGER, device_description, get_runtime

# FP32 tests compare at FP32 tolerances: on NVIDIA GPUs TF32 (on by default, as in TensorRT)
# would round their products to 10 mantissa bits. NVIDIA's switch turns it off for every build;
# the TF32 tests (test_tensorcore, test_tactics_all) take it away again (fixture tf32_allowed).
os.environ.setdefault("NVIDIA_TF32_OVERRIDE", "0")


def pytest_report_header(config):
    try:
        device = device_description()
    except trt.DeviceError as e:
        device = f"none ({e})"
    return [f"clrt {trt.__version__} OpenCL device: {device}"]


@pytest.fixture(scope="session")
def logger():
    return LOGGER


@pytest.fixture(scope="session")
def builder(logger):
    return trt.Builder(logger)


@pytest.fixture(scope="session")
def runtime():
    return get_runtime()


@pytest.fixture
def channels_last(monkeypatch):
    """For tests of the channels-last kernels: the builder chooses channels-last tensors on GPUs
    only, unless CLRT_CHANNELS_LAST=1, which makes PoCL take them too."""
    monkeypatch.setenv("CLRT_CHANNELS_LAST", "1")


@pytest.fixture(scope="module")
def tf32_allowed():
    """For modules of TF32 tests: NVIDIA_TF32_OVERRIDE unset while they run."""
    saved = os.environ.pop("NVIDIA_TF32_OVERRIDE", None)
    yield
    if saved is not None:
        os.environ["NVIDIA_TF32_OVERRIDE"] = saved
