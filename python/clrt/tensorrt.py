"""clrt under TensorRT's module identity, for clients that import `tensorrt` themselves
(Polygraphy, other tools). The one line it takes, before the client imports TensorRT:

    import sys, clrt.tensorrt; sys.modules["tensorrt"] = clrt.tensorrt

(`clrt.polygraphy.use_clrt()` does the same and checks that no other TensorRT is loaded).
Everything is clrt's own object; only `__version__` differs: it names the TensorRT Python API
level clrt implements, which such clients check. clrt's own version is `clrt_version`.
"""

from . import *
from . import __all__ as _clrt_all
from . import __version__ as clrt_version

# TensorRT 10's names (get_tensor_*/set_input_shape/execute_async_v3, IStreamReader, ...).
__version__ = "10.0.1"

__all__ = [n for n in _clrt_all if n != "__version__"] + ["clrt_version"]
