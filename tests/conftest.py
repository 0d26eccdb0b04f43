# Session fixtures shared by the device tests, and the OpenCL device printed in the report header
# (none in the unit tier, which runs with the OpenCL ICD hidden).
import clrt as trt
import pytest
from helpers import LOGGER, device_description, get_runtime


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
