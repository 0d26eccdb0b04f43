# Type stubs of the clrt package: the extension's classes re-exported, plus the Python layer.
import builtins
from collections.abc import Iterable, Iterator
from os import PathLike
from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import Self

from ._clrt import ActivationType as ActivationType
from ._clrt import Builder as Builder
from ._clrt import BuilderFlag as BuilderFlag
from ._clrt import BuildError as BuildError
from ._clrt import CalibrationAlgoType as CalibrationAlgoType
from ._clrt import DataType as DataType
from ._clrt import Device as Device
from ._clrt import DeviceAllocation as DeviceAllocation
from ._clrt import DeviceError as DeviceError
from ._clrt import DeviceType as DeviceType
from ._clrt import ElementWiseOperation as ElementWiseOperation
from ._clrt import EngineCapability as EngineCapability
from ._clrt import EngineFormatError as EngineFormatError
from ._clrt import ErrorCode as ErrorCode
from ._clrt import ExecutionContextAllocationStrategy as ExecutionContextAllocationStrategy
from ._clrt import GatherMode as GatherMode
from ._clrt import HardwareCompatibilityLevel as HardwareCompatibilityLevel
from ._clrt import IActivationLayer as IActivationLayer
from ._clrt import IBuilderConfig as IBuilderConfig
from ._clrt import IConcatenationLayer as IConcatenationLayer
from ._clrt import IConditionLayer as IConditionLayer
from ._clrt import IConstantLayer as IConstantLayer
from ._clrt import IConvolutionLayer as IConvolutionLayer
from ._clrt import ICudaEngine as ICudaEngine
from ._clrt import IDebugListener as IDebugListener
from ._clrt import IDeconvolutionLayer as IDeconvolutionLayer
from ._clrt import IDequantizeLayer as IDequantizeLayer
from ._clrt import IEinsumLayer as IEinsumLayer
from ._clrt import IElementWiseLayer as IElementWiseLayer
from ._clrt import IEngineInspector as IEngineInspector
from ._clrt import IExecutionContext as IExecutionContext
from ._clrt import IGatherLayer as IGatherLayer
from ._clrt import IGridSampleLayer as IGridSampleLayer
from ._clrt import IHostMemory as IHostMemory
from ._clrt import IIfConditional as IIfConditional
from ._clrt import IIfConditionalBoundaryLayer as IIfConditionalBoundaryLayer
from ._clrt import IIfConditionalInputLayer as IIfConditionalInputLayer
from ._clrt import IIfConditionalOutputLayer as IIfConditionalOutputLayer
from ._clrt import IInt8Calibrator as IInt8Calibrator
from ._clrt import IInt8EntropyCalibrator as IInt8EntropyCalibrator
from ._clrt import IInt8EntropyCalibrator2 as IInt8EntropyCalibrator2
from ._clrt import IInt8LegacyCalibrator as IInt8LegacyCalibrator
from ._clrt import IInt8MinMaxCalibrator as IInt8MinMaxCalibrator
from ._clrt import IIteratorLayer as IIteratorLayer
from ._clrt import ILayer as ILayer
from ._clrt import ILogger as ILogger
from ._clrt import ILoop as ILoop
from ._clrt import ILoopBoundaryLayer as ILoopBoundaryLayer
from ._clrt import ILoopOutputLayer as ILoopOutputLayer
from ._clrt import IMatrixMultiplyLayer as IMatrixMultiplyLayer
from ._clrt import INetworkDefinition as INetworkDefinition
from ._clrt import INonZeroLayer as INonZeroLayer
from ._clrt import INormalizationLayer as INormalizationLayer
from ._clrt import InterpolationMode as InterpolationMode
from ._clrt import IOneHotLayer as IOneHotLayer
from ._clrt import IOptimizationProfile as IOptimizationProfile
from ._clrt import IPaddingLayer as IPaddingLayer
from ._clrt import IPoolingLayer as IPoolingLayer
from ._clrt import IProgressMonitor as IProgressMonitor
from ._clrt import IQuantizeLayer as IQuantizeLayer
from ._clrt import IRecurrenceLayer as IRecurrenceLayer
from ._clrt import IReduceLayer as IReduceLayer
from ._clrt import IResizeLayer as IResizeLayer
from ._clrt import IScaleLayer as IScaleLayer
from ._clrt import IScatterLayer as IScatterLayer
from ._clrt import ISelectLayer as ISelectLayer
from ._clrt import IShapeLayer as IShapeLayer
from ._clrt import IShuffleLayer as IShuffleLayer
from ._clrt import ISliceLayer as ISliceLayer
from ._clrt import ISoftMaxLayer as ISoftMaxLayer
from ._clrt import ITensor as ITensor
from ._clrt import ITimingCache as ITimingCache
from ._clrt import ITopKLayer as ITopKLayer
from ._clrt import ITripLimitLayer as ITripLimitLayer
from ._clrt import IUnaryLayer as IUnaryLayer
from ._clrt import LayerInformationFormat as LayerInformationFormat
from ._clrt import LayerType as LayerType
from ._clrt import Logger as Logger
from ._clrt import LoopOutput as LoopOutput
from ._clrt import MatrixOperation as MatrixOperation
from ._clrt import MemoryPoolType as MemoryPoolType
from ._clrt import NetworkDefinitionCreationFlag as NetworkDefinitionCreationFlag
from ._clrt import OnnxParser as OnnxParser
from ._clrt import OnnxParserFlag as OnnxParserFlag
from ._clrt import PaddingMode as PaddingMode
from ._clrt import ParseError as ParseError
from ._clrt import ParserError as ParserError
from ._clrt import PoolingType as PoolingType
from ._clrt import PreviewFeature as PreviewFeature
from ._clrt import ProfilingVerbosity as ProfilingVerbosity
from ._clrt import QuantizationFlag as QuantizationFlag
from ._clrt import ReduceOperation as ReduceOperation
from ._clrt import ResizeCoordinateTransformation as ResizeCoordinateTransformation
from ._clrt import ResizeMode as ResizeMode
from ._clrt import ResizeRoundMode as ResizeRoundMode
from ._clrt import ResizeSelector as ResizeSelector
from ._clrt import RuntimePlatform as RuntimePlatform
from ._clrt import SampleMode as SampleMode
from ._clrt import ScaleMode as ScaleMode
from ._clrt import ScatterMode as ScatterMode
from ._clrt import SeekPosition as SeekPosition
from ._clrt import Stream as Stream
from ._clrt import TacticSource as TacticSource
from ._clrt import TensorFormat as TensorFormat
from ._clrt import TensorIOMode as TensorIOMode
from ._clrt import TensorLocation as TensorLocation
from ._clrt import TopKOperation as TopKOperation
from ._clrt import TripLimit as TripLimit
from ._clrt import UnaryOperation as UnaryOperation
from ._clrt import UnsupportedError as UnsupportedError
from ._clrt import __version__ as __version__
from ._clrt import compile_count as compile_count
from ._clrt import current_device as current_device
from ._clrt import get_devices as get_devices
from ._clrt import mem_alloc as mem_alloc
from ._clrt import memcpy_dtod as memcpy_dtod
from ._clrt import memcpy_dtoh as memcpy_dtoh
from ._clrt import memcpy_dtoh_async as memcpy_dtoh_async
from ._clrt import memcpy_htod as memcpy_htod
from ._clrt import memcpy_htod_async as memcpy_htod_async
from ._clrt import memset_d8 as memset_d8
from ._clrt import set_device as set_device
from ._refit import OnnxParserRefitter as OnnxParserRefitter
from ._refit import Refitter as Refitter
from ._refit import WeightsRole as WeightsRole
from ._trt_api import IOutputAllocator as IOutputAllocator
from ._trt_api import IProfiler as IProfiler
from ._trt_api import ISerializationConfig as ISerializationConfig
from ._trt_api import IStreamReader as IStreamReader
from ._trt_api import IStreamReaderV2 as IStreamReaderV2
from ._trt_api import IStreamWriter as IStreamWriter
from ._trt_api import Profiler as Profiler
from ._trt_api import Runtime as Runtime
from ._trt_api import SerializationFlag as SerializationFlag
from ._trt_api import init_libnvinfer_plugins as init_libnvinfer_plugins
from ._trt_api import pagelocked_empty as pagelocked_empty
from ._trt_api import pagelocked_zeros as pagelocked_zeros
from .precision_spec import parse_layer_output_types as parse_layer_output_types
from .precision_spec import parse_layer_precisions as parse_layer_precisions

float32: DataType
float16: DataType
bfloat16: DataType
fp8: DataType
int4: DataType
fp4: DataType
e8m0: DataType
int8: DataType
int32: DataType
int64: DataType
uint8: DataType
bool: DataType

def nptype(trt_type: DataType) -> type[np.generic]: ...
def volume(iterable: Iterable[int]) -> int: ...

class Weights:
    pointer: tuple[int, int] | None
    def __init__(
        self,
        a: npt.ArrayLike | DataType | None = None,
        ptr: int | None = None,
        count: int | None = None,
    ) -> None: ...
    @property
    def dtype(self) -> DataType: ...
    @property
    def size(self) -> int: ...
    @property
    def nbytes(self) -> int: ...
    def numpy(self) -> np.ndarray: ...
    def __array__(
        self, dtype: npt.DTypeLike | None = None, copy: builtins.bool | None = None
    ) -> np.ndarray: ...
    def __len__(self) -> int: ...

class Dims(tuple[int, ...]):
    def __new__(cls, shape: Iterable[int] = ()) -> Self: ...
    @property
    def nbDims(self) -> int: ...

class Dims2(Dims):
    def __new__(cls, d0: int, d1: int) -> Self: ...

class DimsHW(Dims2): ...

class Dims3(Dims):
    def __new__(cls, d0: int, d1: int, d2: int) -> Self: ...

class Dims4(Dims):
    def __new__(cls, d0: int, d1: int, d2: int, d3: int) -> Self: ...

# python/clrt/accuracy/_calib_report.py (typed here so the stubs do not pull clrt.accuracy in).
class CalibrationReport:
    title: str
    columns: tuple[str, ...]
    plot_columns: tuple[str, str] | None
    record: dict[str, Any]
    rows: list[dict[str, Any]]
    by_tensor: dict[str, dict[str, Any]]
    def __init__(self, record: dict[str, Any]) -> None: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[dict[str, Any]]: ...
    def summary(self) -> dict[str, Any]: ...
    def histogram(self, tensor: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint64]]: ...
    def plot(self, tensor: str | None = None, ax: Any = None) -> Any: ...
    def to_dict(self) -> dict[str, Any]: ...
    def to_json(self, indent: int | None = None) -> str: ...
    def to_pandas(self) -> Any: ...
    def _repr_html_(self) -> str: ...

def read_calibration_cache(path: str | PathLike[str] | bytes) -> Any: ...
