"""Runs a TensorRT script on clrt without editing it:

    python -m clrt.run script.py [args...]
    python -m clrt.run -m module [args...]
    python -m clrt.run command [args...]          (a Python console script, e.g. polygraphy)

`import tensorrt` gives clrt, and pycuda / cuda-python give clrt's stand-ins for device memory,
copies, streams and events (clrt.cuda_compat), so scripts written for TensorRT with either run
as they are. The script runs as __main__ with sys.argv and sys.path[0] as `python script.py`
sets them."""

import os
import runpy
import shutil
import sys

from . import cuda_compat


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    cuda_compat.install()
    if argv[0] == "-m":
        if len(argv) < 2:
            print("python -m clrt.run: -m needs a module name", file=sys.stderr)
            return 2
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        return 0
    script = argv[0]
    if not os.path.isfile(script):
        script = _console_script(script)
    if script is None:
        print(f"python -m clrt.run: no script or Python command '{argv[0]}'", file=sys.stderr)
        return 2
    sys.argv = argv
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
    return 0


def _console_script(name):
    """The file of a Python console script named name (beside this interpreter, or on PATH)."""
    if os.sep in name:
        return None
    here = os.path.join(os.path.dirname(sys.executable), name)
    path = here if os.path.isfile(here) else shutil.which(name)
    if path is None:
        return None
    with open(path, "rb") as f:
        first = f.readline()
    return path if first.startswith(b"#!") and b"python" in first else None


if __name__ == "__main__":
    sys.exit(main())
