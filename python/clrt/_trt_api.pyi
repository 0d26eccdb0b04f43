# Type stubs of clrt._trt_api: the TensorRT API clrt implements in Python.
from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import Buffer

from ._clrt import ICudaEngine, ILogger, SeekPosition
from ._clrt import Runtime as _Runtime

def init_libnvinfer_plugins(logger: ILogger | None = None, namespace: str = "") -> bool: ...
def pagelocked_empty(
    shape: int | tuple[int, ...], dtype: npt.DTypeLike, order: str = "C", mem_flags: int = 0
) -> np.ndarray: ...
def pagelocked_zeros(
    shape: int | tuple[int, ...], dtype: npt.DTypeLike, order: str = "C", mem_flags: int = 0
) -> np.ndarray: ...

class IStreamReader:
    def read(self, size: int) -> Buffer | None: ...

class IStreamReaderV2:
    def read(self, size: int, stream: int) -> Buffer | None: ...
    def seek(self, offset: int, where: SeekPosition) -> Any: ...

class IStreamWriter:
    def write(self, data: bytes) -> int: ...

class Runtime(_Runtime):
    def deserialize_cuda_engine(
        self, serialized_engine: Buffer | IStreamReader | IStreamReaderV2
    ) -> ICudaEngine: ...

class IProfiler:
    def report_layer_time(self, layer_name: str, ms: float) -> None: ...

class IOutputAllocator:
    def __init__(self) -> None: ...
    def reallocate_output(
        self, tensor_name: str, memory: int, size: int, alignment: int
    ) -> int: ...
    def reallocate_output_async(
        self, tensor_name: str, memory: int, size: int, alignment: int, stream: int
    ) -> int: ...
    def notify_shape(self, tensor_name: str, shape: tuple[int, ...]) -> None: ...

class Profiler(IProfiler): ...
