"""clrt: TensorRT's builder workflow on OpenCL, with TensorRT's Python API.

Write scripts as for TensorRT, with ``import clrt as trt``. clrt additions: ``context.infer()``,
``mem_alloc``/``memcpy_*``/``Stream`` in place of pycuda, device selection (``get_devices``,
``set_device``, ``current_device``) and typed exceptions (``BuildError``, ``ParseError``, ...).
"""

import numpy as np

from . import _display  # noqa: F401 -- installs the config and engine displays
from ._clrt import (
    ActivationType,
    Builder,
    BuilderFlag,
    BuildError,
    CalibrationAlgoType,
    DataType,
    Device,
    DeviceAllocation,
    DeviceError,
    DeviceType,
    ElementWiseOperation,
    EngineCapability,
    EngineFormatError,
    ErrorCode,
    ExecutionContextAllocationStrategy,
    GatherMode,
    HardwareCompatibilityLevel,
    IActivationLayer,
    IBuilderConfig,
    IConcatenationLayer,
    IConditionLayer,
    IConstantLayer,
    IConvolutionLayer,
    ICudaEngine,
    IDebugListener,
    IDeconvolutionLayer,
    IDequantizeLayer,
    IEinsumLayer,
    IElementWiseLayer,
    IEngineInspector,
    IExecutionContext,
    IGatherLayer,
    IGridSampleLayer,
    IHostMemory,
    IIfConditional,
    IIfConditionalBoundaryLayer,
    IIfConditionalInputLayer,
    IIfConditionalOutputLayer,
    IInt8Calibrator,
    IInt8EntropyCalibrator,
    IInt8EntropyCalibrator2,
    IInt8LegacyCalibrator,
    IInt8MinMaxCalibrator,
    IIteratorLayer,
    ILayer,
    ILogger,
    ILoop,
    ILoopBoundaryLayer,
    ILoopOutputLayer,
    IMatrixMultiplyLayer,
    INetworkDefinition,
    INonZeroLayer,
    INormalizationLayer,
    InterpolationMode,
    IOneHotLayer,
    IOptimizationProfile,
    IPaddingLayer,
    IPoolingLayer,
    IProgressMonitor,
    IQuantizeLayer,
    IRecurrenceLayer,
    IReduceLayer,
    IResizeLayer,
    IScaleLayer,
    IScatterLayer,
    ISelectLayer,
    IShapeLayer,
    IShuffleLayer,
    ISliceLayer,
    ISoftMaxLayer,
    ITensor,
    ITimingCache,
    ITopKLayer,
    ITripLimitLayer,
    IUnaryLayer,
    LayerInformationFormat,
    LayerType,
    Logger,
    LoopOutput,
    MatrixOperation,
    MemoryPoolType,
    NetworkDefinitionCreationFlag,
    OnnxParser,
    OnnxParserFlag,
    PaddingMode,
    ParseError,
    ParserError,
    PoolingType,
    PreviewFeature,
    ProfilingVerbosity,
    QuantizationFlag,
    ReduceOperation,
    ResizeCoordinateTransformation,
    ResizeMode,
    ResizeRoundMode,
    ResizeSelector,
    RuntimePlatform,
    SampleMode,
    ScaleMode,
    ScatterMode,
    SeekPosition,
    Stream,
    TacticSource,
    TensorFormat,
    TensorIOMode,
    TensorLocation,
    TopKOperation,
    TripLimit,
    UnaryOperation,
    UnsupportedError,
    __version__,
    compile_count,
    current_device,
    get_devices,
    mem_alloc,
    memcpy_dtod,
    memcpy_dtoh,
    memcpy_dtoh_async,
    memcpy_htod,
    memcpy_htod_async,
    memset_d8,
    set_device,
)
from ._refit import OnnxParserRefitter, Refitter, WeightsRole
from ._trt_api import (
    IOutputAllocator,
    IProfiler,
    ISerializationConfig,
    IStreamReader,
    IStreamReaderV2,
    IStreamWriter,
    Profiler,
    Runtime,
    SerializationFlag,
    init_libnvinfer_plugins,
    pagelocked_empty,
    pagelocked_zeros,
)
from .precision_spec import parse_layer_output_types, parse_layer_precisions

# TensorRT's module-level DataType aliases (trt.float32, ...); `bool` shadows the builtin here as
# it does in tensorrt, so nothing below calls bool().
float32 = DataType.FLOAT
float16 = DataType.HALF
bfloat16 = DataType.BF16
fp8 = DataType.FP8
int4 = DataType.INT4
fp4 = DataType.FP4
e8m0 = DataType.E8M0
int8 = DataType.INT8
int32 = DataType.INT32
int64 = DataType.INT64
uint8 = DataType.UINT8
bool = DataType.BOOL

_TO_NUMPY = {
    DataType.FLOAT: np.float32,
    DataType.HALF: np.float16,
    DataType.INT8: np.int8,
    DataType.INT32: np.int32,
    DataType.INT64: np.int64,
    DataType.UINT8: np.uint8,
    DataType.BOOL: np.bool_,
    DataType.INT16: np.int16,
    DataType.UINT16: np.uint16,
    DataType.UINT32: np.uint32,
    DataType.UINT64: np.uint64,
    DataType.DOUBLE: np.float64,
}


try:  # NumPy lacks these; ml_dtypes (a dependency of onnx) provides them
    import ml_dtypes as _ml_dtypes

    _TO_NUMPY.update(
        {
            DataType.BF16: _ml_dtypes.bfloat16,
            DataType.FP8: _ml_dtypes.float8_e4m3fn,
            DataType.FP8E5M2: _ml_dtypes.float8_e5m2,
            DataType.FP8E4M3FNUZ: _ml_dtypes.float8_e4m3fnuz,
            DataType.FP8E5M2FNUZ: _ml_dtypes.float8_e5m2fnuz,
            DataType.FP4: _ml_dtypes.float4_e2m1fn,
            DataType.E8M0: _ml_dtypes.float8_e8m0fnu,
            DataType.INT4: _ml_dtypes.int4,
            DataType.UINT4: _ml_dtypes.uint4,
            DataType.INT2: _ml_dtypes.int2,
            DataType.UINT2: _ml_dtypes.uint2,
        }
    )
except ImportError:  # pragma: no cover - onnx installs it
    pass


def nptype(trt_type):
    """The NumPy type of a DataType: ml_dtypes' types for BF16, the FP8 types, FP4, E8M0 and
    the 4- and 2-bit integers (one element per byte, as ml_dtypes holds them)."""
    try:
        return _TO_NUMPY[trt_type]
    except KeyError:
        raise TypeError(f"{trt_type} has no NumPy equivalent") from None


def _datatype_of(np_dtype):
    np_dtype = np.dtype(np_dtype)
    if np_dtype == np.float64:
        return DataType.FLOAT
    for trt_type, np_type in _TO_NUMPY.items():
        if np_dtype == np_type:
            return trt_type
    raise TypeError(f"NumPy dtype {np_dtype} has no clrt DataType")


def volume(iterable):
    """Product of the dims (TensorRT's trt.volume); 1 for a scalar shape."""
    n = 1
    for d in iterable:
        n *= d
    return n


class Weights:
    """Weights for a layer: an array (any array-like), a DataType for empty typed weights, or
    nothing (empty float32). Layers copy the values when given them. Weights(dtype, ptr, count)
    is TensorRT's form over memory at an address: a refitter's set_named_weights takes it with
    TensorLocation.DEVICE for a device pointer (mem_alloc, cudaMalloc)."""

    def __init__(self, a=None, ptr=None, count=None):
        self.pointer = None
        if isinstance(a, DataType) and ptr is not None:
            if count is None or int(count) < 0:
                raise ValueError("Weights(dtype, ptr, count): count must be a non-negative int")
            self.pointer = (int(ptr), int(count))
            self._array = np.zeros(0, nptype(a))
        elif a is None:
            self._array = np.zeros(0, np.float32)
        elif isinstance(a, DataType):
            self._array = np.zeros(0, nptype(a))
        else:
            self._array = np.ascontiguousarray(a)
            if self._array.dtype == np.float64:
                self._array = self._array.astype(np.float32)

    @property
    def dtype(self):
        return _datatype_of(self._array.dtype)

    @property
    def size(self):
        return self.pointer[1] if self.pointer else self._array.size

    @property
    def nbytes(self):
        return self.size * self._array.dtype.itemsize

    def numpy(self):
        """The values; for Weights(dtype, ptr, count), read from host memory at ptr (a copy;
        ValueError when the range is not mapped memory of this process)."""
        if self.pointer is None:
            return self._array
        from .cuda_compat import _memory

        ptr, count = self.pointer
        raw = _memory.address_bytes(ptr, count * self._array.dtype.itemsize, "Weights(ptr)")
        return raw.view(self._array.dtype).copy()

    def __array__(self, dtype=None, copy=None):
        values = self.numpy()
        if dtype is None or np.dtype(dtype) == values.dtype:
            return values.copy() if copy else values
        return values.astype(dtype)

    def __len__(self):
        return self.size

    def __repr__(self):
        return f"Weights({self.dtype}, size={self.size})"


class Dims(tuple):
    """TensorRT's Dims as a tuple of ints (every shape argument also takes a plain tuple)."""

    def __new__(cls, shape=()):
        return super().__new__(cls, (int(d) for d in shape))

    @property
    def nbDims(self):
        return len(self)


class Dims2(Dims):
    def __new__(cls, d0, d1):
        return super().__new__(cls, (d0, d1))


class DimsHW(Dims2):
    pass


class Dims3(Dims):
    def __new__(cls, d0, d1, d2):
        return super().__new__(cls, (d0, d1, d2))


class Dims4(Dims):
    def __new__(cls, d0, d1, d2, d3):
        return super().__new__(cls, (d0, d1, d2, d3))


# Calibration data in view: config.calibration_report after an INT8 build; a cache as a table.
from .accuracy._calib_report import (
    CalibrationReport,
    read_calibration_cache,
)
from .accuracy._calib_report import calibration_report as _calibration_report

IBuilderConfig.calibration_report = property(
    _calibration_report,
    doc="The last build's calibration per tensor (clrt.CalibrationReport), or None.",
)

__all__ = [
    "ActivationType",
    "BuildError",
    "Builder",
    "BuilderFlag",
    "CalibrationAlgoType",
    "CalibrationReport",
    "DataType",
    "Device",
    "DeviceAllocation",
    "DeviceError",
    "DeviceType",
    "Dims",
    "Dims2",
    "Dims3",
    "Dims4",
    "DimsHW",
    "ElementWiseOperation",
    "EngineCapability",
    "EngineFormatError",
    "ErrorCode",
    "ExecutionContextAllocationStrategy",
    "GatherMode",
    "HardwareCompatibilityLevel",
    "IActivationLayer",
    "IBuilderConfig",
    "IConcatenationLayer",
    "IConditionLayer",
    "IConstantLayer",
    "IConvolutionLayer",
    "ICudaEngine",
    "IDebugListener",
    "IDeconvolutionLayer",
    "IDequantizeLayer",
    "IEinsumLayer",
    "IElementWiseLayer",
    "IEngineInspector",
    "IExecutionContext",
    "IGatherLayer",
    "IGridSampleLayer",
    "IHostMemory",
    "IIfConditional",
    "IIfConditionalBoundaryLayer",
    "IIfConditionalInputLayer",
    "IIfConditionalOutputLayer",
    "IInt8Calibrator",
    "IInt8EntropyCalibrator",
    "IInt8EntropyCalibrator2",
    "IInt8LegacyCalibrator",
    "IInt8MinMaxCalibrator",
    "IIteratorLayer",
    "ILayer",
    "ILogger",
    "ILoop",
    "ILoopBoundaryLayer",
    "ILoopOutputLayer",
    "IMatrixMultiplyLayer",
    "INetworkDefinition",
    "INonZeroLayer",
    "INormalizationLayer",
    "IOneHotLayer",
    "IOptimizationProfile",
    "IOutputAllocator",
    "IPaddingLayer",
    "IPoolingLayer",
    "IProfiler",
    "IProgressMonitor",
    "IQuantizeLayer",
    "IRecurrenceLayer",
    "IReduceLayer",
    "IResizeLayer",
    "IScaleLayer",
    "IScatterLayer",
    "ISelectLayer",
    "ISerializationConfig",
    "IShapeLayer",
    "IShuffleLayer",
    "ISliceLayer",
    "ISoftMaxLayer",
    "IStreamReader",
    "IStreamReaderV2",
    "IStreamWriter",
    "ITensor",
    "ITimingCache",
    "ITopKLayer",
    "ITripLimitLayer",
    "IUnaryLayer",
    "InterpolationMode",
    "LayerInformationFormat",
    "LayerType",
    "Logger",
    "LoopOutput",
    "MatrixOperation",
    "MemoryPoolType",
    "NetworkDefinitionCreationFlag",
    "OnnxParser",
    "OnnxParserFlag",
    "OnnxParserRefitter",
    "PaddingMode",
    "ParseError",
    "ParserError",
    "PoolingType",
    "PreviewFeature",
    "Profiler",
    "ProfilingVerbosity",
    "QuantizationFlag",
    "ReduceOperation",
    "Refitter",
    "ResizeCoordinateTransformation",
    "ResizeMode",
    "ResizeRoundMode",
    "ResizeSelector",
    "Runtime",
    "RuntimePlatform",
    "SampleMode",
    "ScaleMode",
    "ScatterMode",
    "SeekPosition",
    "SerializationFlag",
    "Stream",
    "TacticSource",
    "TensorFormat",
    "TensorIOMode",
    "TensorLocation",
    "TopKOperation",
    "TripLimit",
    "UnaryOperation",
    "UnsupportedError",
    "Weights",
    "WeightsRole",
    "__version__",
    "bfloat16",
    "bool",
    "compile_count",
    "current_device",
    "float16",
    "float32",
    "fp8",
    "get_devices",
    "init_libnvinfer_plugins",
    "int8",
    "int32",
    "int64",
    "mem_alloc",
    "memcpy_dtod",
    "memcpy_dtoh",
    "memcpy_dtoh_async",
    "memcpy_htod",
    "memcpy_htod_async",
    "memset_d8",
    "nptype",
    "pagelocked_empty",
    "pagelocked_zeros",
    "parse_layer_output_types",
    "parse_layer_precisions",
    "read_calibration_cache",
    "set_device",
    "uint8",
    "volume",
]
