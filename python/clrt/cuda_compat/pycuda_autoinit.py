"""pycuda.autoinit: makes a context current on clrt's default OpenCL device (`device`, `context`),
as `import pycuda.autoinit` does on CUDA's first device."""

import atexit

from .. import _clrt
from . import pycuda_driver

device = pycuda_driver.Device(_clrt.current_device().index)
context = device.make_context()
atexit.register(context.detach)
