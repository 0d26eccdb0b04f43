"""ClrtRunner: a Polygraphy runner over a clrt engine (what TrtRunner is for TensorRT)."""

import time
from collections import OrderedDict

import numpy as np
from polygraphy import util
from polygraphy.backend.base import BaseRunner
from polygraphy.common import TensorMetadata
from polygraphy.datatype import DataType

import clrt


class ClrtRunner(BaseRunner):
    """Runs inference with a clrt engine through context.infer() (host arrays in and out)."""

    def __init__(self, engine, name=None, optimization_profile=None):
        """
        Args:
            engine (Union[clrt.ICudaEngine, clrt.IExecutionContext, Callable() -> either]):
                    An engine or context, or a loader that returns one (e.g. EngineFromNetwork).
            name (str): The runner's name.
            optimization_profile (int): The profile to run with (default 0).
        """
        super().__init__(name=name, prefix="clrt-runner")
        self._engine_or_context = engine
        self.optimization_profile = optimization_profile

    def activate_impl(self):
        obj, _ = util.invoke_if_callable(self._engine_or_context)
        if isinstance(obj, clrt.IExecutionContext):
            self.context, self.engine = obj, obj.engine
        elif isinstance(obj, clrt.ICudaEngine):
            self.engine, self.context = obj, obj.create_execution_context()
        else:
            raise TypeError(
                f"ClrtRunner: expected a clrt.ICudaEngine or IExecutionContext (or a loader "
                f"returning one), got {type(obj).__name__}"
            )
        if self.optimization_profile is not None:
            self.context.set_optimization_profile_async(self.optimization_profile, 0)

    def _io(self, mode):
        names = (self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors))
        return [n for n in names if self.engine.get_tensor_mode(n) == mode]

    def get_input_metadata_impl(self):
        meta = TensorMetadata()
        for name in self._io(clrt.TensorIOMode.INPUT):
            dtype = np.dtype(clrt.nptype(self.engine.get_tensor_dtype(name)))
            shape = tuple(None if d < 0 else d for d in self.engine.get_tensor_shape(name))
            meta.add(name, dtype=DataType.from_dtype(dtype), shape=shape)
        return meta

    def infer_impl(self, feed_dict):
        feeds = {name: util.array.to_numpy(a) for name, a in feed_dict.items()}
        start = time.time()
        outputs = self.context.infer(feeds)
        self.inference_time = time.time() - start
        return OrderedDict((n, outputs[n]) for n in self._io(clrt.TensorIOMode.OUTPUT))

    def deactivate_impl(self):
        del self.context
        del self.engine
