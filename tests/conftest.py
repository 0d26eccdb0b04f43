# Session fixtures shared by the device tests, and the OpenCL device printed in the report header.
import clrt as trt
import pytest
from helpers import LOGGER, device_description, get_runtime


def pytest_report_header(config):
    return [f"clrt {getattr(trt, '__version__', '?')} OpenCL device: {device_description()}"]


@pytest.fixture(scope="session")
def logger():
    return LOGGER


@pytest.fixture(scope="session")
def builder(logger):
    return trt.Builder(logger)


@pytest.fixture(scope="session")
def runtime():
    return get_runtime()
