"""CUDA's Python host APIs over clrt, so that TensorRT scripts run unmodified.

TensorRT's samples and most deployment scripts manage buffers with pycuda (`import
pycuda.driver as cuda`, `import pycuda.autoinit`) or NVIDIA's cuda-python (`from cuda import
cudart`, `from cuda.bindings import runtime as cudart`). clrt's device memory is OpenCL memory,
which those packages cannot reach, so clrt carries stand-ins for what such scripts call: device
and page-locked host memory, copies, memset, streams, events and device queries. Run a script
with them, and with `import tensorrt` giving clrt, by

    python -m clrt.run script.py [args...]        (or: clrt run script.py [args...])

or in-process, before the script's imports:

    import clrt.cuda_compat; clrt.cuda_compat.install()

Modules served: tensorrt, pycuda, pycuda.driver, pycuda.autoinit, cuda, cuda.cudart, cuda.cuda,
cuda.nvrtc, cuda.bindings(.runtime, .driver, .nvrtc). Another submodule of pycuda or cuda
(pycuda.compiler, pycuda.gpuarray, ...) raises ImportError saying why: CUDA kernels do not run on
OpenCL devices. Polygraphy's own CUDA wrapper (polygraphy.cuda) gets a stand-in for the libcudart
it would load, so `python -m clrt.run polygraphy run model.onnx --trt` runs its TensorRT
runner on clrt.
"""

import importlib
import importlib.abc
import importlib.machinery
import sys
import types

_ALIASES = {
    "tensorrt": "clrt.tensorrt",
    "pycuda": None,
    "pycuda.driver": "clrt.cuda_compat.pycuda_driver",
    "pycuda.autoinit": "clrt.cuda_compat.pycuda_autoinit",
    "cuda": None,
    "cuda.cudart": "clrt.cuda_compat.runtime",
    "cuda.cuda": "clrt.cuda_compat.driver",
    "cuda.nvrtc": "clrt.cuda_compat.nvrtc",
    "cuda.bindings": None,
    "cuda.bindings.runtime": "clrt.cuda_compat.runtime",
    "cuda.bindings.driver": "clrt.cuda_compat.driver",
    "cuda.bindings.nvrtc": "clrt.cuda_compat.nvrtc",
}
_ROOTS = ("pycuda", "cuda")
_POLYGRAPHY_CUDA = "polygraphy.cuda.cuda"  # Polygraphy's ctypes wrapper of libcudart
MODULES = tuple(_ALIASES)


class _Loader(importlib.abc.Loader):
    def __init__(self, target):
        self.target = target

    def create_module(self, spec):
        if self.target is None:  # a package holding the stand-ins
            module = types.ModuleType(spec.name, f"clrt's stand-in package for {spec.name}")
            module.__path__ = []
            return module
        return importlib.import_module(self.target)

    def exec_module(self, module):
        pass


class _PolygraphyLoader(importlib.abc.Loader):
    """Loads polygraphy.cuda.cuda as usual, then gives its CUDA wrapper clrt's library."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        from . import _polygraphy

        _polygraphy.attach(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname == _POLYGRAPHY_CUDA:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is not None and spec.loader is not None:
                spec.loader = _PolygraphyLoader(spec.loader)
            return spec
        if fullname in _ALIASES:
            loader = _Loader(_ALIASES[fullname])
            return importlib.machinery.ModuleSpec(
                fullname, loader, is_package=_ALIASES[fullname] is None
            )
        if fullname.split(".")[0] in _ROOTS:
            served = ", ".join(n for n in _ALIASES if n.split(".")[0] in _ROOTS)
            raise ImportError(
                f"No module named '{fullname}' under clrt: clrt stands in for {served} (memory, "
                "copies, streams, events around a TensorRT engine); CUDA kernels, arrays and "
                "compilers do not run on OpenCL devices",
                name=fullname,
            )
        return None


_finder = _Finder()


def installed():
    return _finder in sys.meta_path


def install():
    """Makes tensorrt, pycuda and cuda-python imports give clrt's stand-ins from now on. Raises
    RuntimeError if the real modules were imported already (their memory is CUDA's)."""
    clash = [
        n
        for n in MODULES
        if n in sys.modules
        and not (getattr(sys.modules[n], "__name__", None) or "").startswith("clrt")
        and not (getattr(sys.modules[n], "__doc__", None) or "").startswith("clrt's stand-in")
    ]
    if clash:
        raise RuntimeError(
            f"clrt.cuda_compat.install(): {', '.join(clash)} already imported from elsewhere; "
            "install before anything imports TensorRT, pycuda or cuda-python"
        )
    if not installed():
        sys.meta_path.insert(0, _finder)
    if _POLYGRAPHY_CUDA in sys.modules:  # imported already: attach to it now
        from . import _polygraphy

        _polygraphy.attach(sys.modules[_POLYGRAPHY_CUDA])


def uninstall():
    """Removes the stand-ins: later imports find the real packages again."""
    if installed():
        sys.meta_path.remove(_finder)
    for name in MODULES:
        sys.modules.pop(name, None)


__all__ = ["MODULES", "install", "installed", "uninstall"]
