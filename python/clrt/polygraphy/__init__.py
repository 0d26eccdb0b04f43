"""Polygraphy on clrt: `use_clrt()` makes Polygraphy's TensorRT loaders build with clrt,
`ClrtRunner` runs engines (Polygraphy's TrtRunner needs CUDA), `Calibrator` is Polygraphy's
calibrator feeding NumPy batches to clrt. `polygraphy run --clrt` comes from the extension in
clrt.polygraphy.args; `clrt-polygraphy` is the polygraphy command with clrt as TensorRT."""

import sys

from .. import tensorrt as _tensorrt


def use_clrt():
    """Makes `import tensorrt` give clrt.tensorrt (clrt with TensorRT's API version), as
    Polygraphy imports TensorRT lazily on first use. Raises RuntimeError when another
    TensorRT module was imported already. Returns the module."""
    current = sys.modules.get("tensorrt")
    if current is not None and current is not _tensorrt:
        raise RuntimeError(
            f"use_clrt: another 'tensorrt' module is already imported ({current!r}); call "
            "use_clrt() before anything imports TensorRT"
        )
    sys.modules["tensorrt"] = _tensorrt
    return _tensorrt


def __getattr__(name):
    # Polygraphy is imported on first use, so `import clrt.polygraphy` works without it.
    if name == "ClrtRunner":
        from .runner import ClrtRunner

        return ClrtRunner
    if name == "Calibrator":
        from .calibrator import Calibrator

        return Calibrator
    raise AttributeError(f"module 'clrt.polygraphy' has no attribute '{name}'")


__all__ = ["Calibrator", "ClrtRunner", "use_clrt"]
