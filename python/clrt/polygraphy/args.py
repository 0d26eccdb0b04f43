"""The Polygraphy extension (entry point group polygraphy.run.plugins): `polygraphy run --clrt`
builds with Polygraphy's TensorRT options (--fp16, --int8, --calibration-cache, shapes, ...) on
clrt and runs the engine with ClrtRunner."""

from polygraphy.tools.args.backend.trt.loader import TrtLoadEngineArgs
from polygraphy.tools.args.base import BaseRunnerArgs
from polygraphy.tools.script import make_invocable, safe

from . import use_clrt

_PREIMPORT = "from clrt.polygraphy import use_clrt\nuse_clrt()  # `import tensorrt` gives clrt"


class ClrtRunnerArgs(BaseRunnerArgs):
    """clrt Inference: building and running engines with clrt (OpenCL).

    Depends on:

        - TrtLoadEngineArgs
    """

    def get_name_opt_impl(self):
        return "clrt", "clrt"

    def get_extra_help_text_impl(self):
        return "Build options are the TensorRT ones (--fp16, --int8, --calibration-cache, ...)."

    def add_parser_args_impl(self):
        self.group.add_argument(
            "--clrt-optimization-profile",
            help="The optimization profile the clrt runner runs with",
            type=int,
            default=None,
            dest="clrt_optimization_profile",
        )

    def parse_impl(self, args):
        self.optimization_profile = getattr(args, "clrt_optimization_profile", None)

    def add_to_script_impl(self, script):
        use_clrt()  # the run tool executes the script in this process
        if _PREIMPORT not in script.preimport:
            script.append_preimport(safe(_PREIMPORT))
        loader_name = self.arg_groups[TrtLoadEngineArgs].add_to_script(script)
        # --int8: Polygraphy's Calibrator copies batches into CUDA memory; clrt's takes them as
        # NumPy arrays.
        trt_imports = script.imports.get("polygraphy.backend.trt", set())
        if ("Calibrator", None) in trt_imports:
            trt_imports.discard(("Calibrator", None))
            script.add_import(imports=["Calibrator"], frm="clrt.polygraphy")
        script.add_import(imports=["ClrtRunner"], frm="clrt.polygraphy")
        script.add_runner(
            make_invocable(
                "ClrtRunner", loader_name, optimization_profile=self.optimization_profile
            )
        )


def export_argument_groups():
    """The entry point Polygraphy's run tool calls."""
    return [ClrtRunnerArgs()]
