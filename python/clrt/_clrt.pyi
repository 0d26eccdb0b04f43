# Type stubs of the clrt._clrt extension (csrc/clrt/python): TensorRT 10's Python API names.
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from typing_extensions import Buffer, Self, TypeAlias

from . import CalibrationReport
from ._trt_api import IOutputAllocator, IProfiler, ISerializationConfig

__version__: str

_Shape: TypeAlias = Sequence[int]
_ArrayLike = npt.ArrayLike
_Pointer: TypeAlias = int | DeviceAllocation
# Host memory for the copies: any buffer; ndarray named too, as NumPy's stubs declare its
# __buffer__ only for Python 3.12+.
_HostBuffer: TypeAlias = Buffer | np.ndarray

# --- Exceptions (clrt::Error kinds, translated once at the Python edge) ---

class ParseError(ValueError): ...
class BuildError(RuntimeError): ...
class EngineFormatError(ValueError): ...
class DeviceError(RuntimeError): ...
class UnsupportedError(NotImplementedError): ...

# --- Enums (pybind11 enums: int(x), x.name, x.value; members compare within their own type) ---

class _Enum:
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...
    def __init__(self, value: int) -> None: ...
    def __int__(self) -> int: ...
    def __index__(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...
    __members__: ClassVar[dict[str, Any]]

class DataType(_Enum):
    FLOAT: ClassVar[DataType]
    HALF: ClassVar[DataType]
    INT8: ClassVar[DataType]
    INT32: ClassVar[DataType]
    BOOL: ClassVar[DataType]
    UINT8: ClassVar[DataType]
    FP8: ClassVar[DataType]
    BF16: ClassVar[DataType]
    INT64: ClassVar[DataType]
    INT4: ClassVar[DataType]
    FP4: ClassVar[DataType]
    E8M0: ClassVar[DataType]
    INT16: ClassVar[DataType]
    UINT16: ClassVar[DataType]
    UINT32: ClassVar[DataType]
    UINT64: ClassVar[DataType]
    DOUBLE: ClassVar[DataType]
    UINT4: ClassVar[DataType]
    INT2: ClassVar[DataType]
    UINT2: ClassVar[DataType]
    FP8E5M2: ClassVar[DataType]
    FP8E4M3FNUZ: ClassVar[DataType]
    FP8E5M2FNUZ: ClassVar[DataType]
    @property
    def itemsize(self) -> int: ...

class LayerType(_Enum):
    CONVOLUTION: ClassVar[LayerType]
    CAST: ClassVar[LayerType]
    ACTIVATION: ClassVar[LayerType]
    POOLING: ClassVar[LayerType]
    LRN: ClassVar[LayerType]
    SCALE: ClassVar[LayerType]
    SOFTMAX: ClassVar[LayerType]
    DECONVOLUTION: ClassVar[LayerType]
    CONCATENATION: ClassVar[LayerType]
    ELEMENTWISE: ClassVar[LayerType]
    PLUGIN: ClassVar[LayerType]
    UNARY: ClassVar[LayerType]
    PADDING: ClassVar[LayerType]
    SHUFFLE: ClassVar[LayerType]
    REDUCE: ClassVar[LayerType]
    TOPK: ClassVar[LayerType]
    GATHER: ClassVar[LayerType]
    MATRIX_MULTIPLY: ClassVar[LayerType]
    RAGGED_SOFTMAX: ClassVar[LayerType]
    CONSTANT: ClassVar[LayerType]
    IDENTITY: ClassVar[LayerType]
    PLUGIN_V2: ClassVar[LayerType]
    SLICE: ClassVar[LayerType]
    SHAPE: ClassVar[LayerType]
    PARAMETRIC_RELU: ClassVar[LayerType]
    RESIZE: ClassVar[LayerType]
    TRIP_LIMIT: ClassVar[LayerType]
    RECURRENCE: ClassVar[LayerType]
    ITERATOR: ClassVar[LayerType]
    LOOP_OUTPUT: ClassVar[LayerType]
    SELECT: ClassVar[LayerType]
    FILL: ClassVar[LayerType]
    QUANTIZE: ClassVar[LayerType]
    DEQUANTIZE: ClassVar[LayerType]
    CONDITION: ClassVar[LayerType]
    CONDITIONAL_INPUT: ClassVar[LayerType]
    CONDITIONAL_OUTPUT: ClassVar[LayerType]
    SCATTER: ClassVar[LayerType]
    EINSUM: ClassVar[LayerType]
    ASSERTION: ClassVar[LayerType]
    ONE_HOT: ClassVar[LayerType]
    NON_ZERO: ClassVar[LayerType]
    GRID_SAMPLE: ClassVar[LayerType]
    NMS: ClassVar[LayerType]
    REVERSE_SEQUENCE: ClassVar[LayerType]
    NORMALIZATION: ClassVar[LayerType]
    PLUGIN_V3: ClassVar[LayerType]
    SQUEEZE: ClassVar[LayerType]
    UNSQUEEZE: ClassVar[LayerType]
    CUMULATIVE: ClassVar[LayerType]

class ActivationType(_Enum):
    """SELU, SOFTSIGN, SCALED_TANH and THRESHOLDED_RELU raise UnsupportedError when used."""

    RELU: ClassVar[ActivationType]
    SIGMOID: ClassVar[ActivationType]
    TANH: ClassVar[ActivationType]
    LEAKY_RELU: ClassVar[ActivationType]
    ELU: ClassVar[ActivationType]
    SELU: ClassVar[ActivationType]
    SOFTSIGN: ClassVar[ActivationType]
    SOFTPLUS: ClassVar[ActivationType]
    CLIP: ClassVar[ActivationType]
    HARD_SIGMOID: ClassVar[ActivationType]
    SCALED_TANH: ClassVar[ActivationType]
    THRESHOLDED_RELU: ClassVar[ActivationType]
    GELU_ERF: ClassVar[ActivationType]
    GELU_TANH: ClassVar[ActivationType]

class ElementWiseOperation(_Enum):
    """FLOOR_DIV and XOR raise UnsupportedError when used."""

    SUM: ClassVar[ElementWiseOperation]
    PROD: ClassVar[ElementWiseOperation]
    MAX: ClassVar[ElementWiseOperation]
    MIN: ClassVar[ElementWiseOperation]
    SUB: ClassVar[ElementWiseOperation]
    DIV: ClassVar[ElementWiseOperation]
    POW: ClassVar[ElementWiseOperation]
    FLOOR_DIV: ClassVar[ElementWiseOperation]
    AND: ClassVar[ElementWiseOperation]
    OR: ClassVar[ElementWiseOperation]
    XOR: ClassVar[ElementWiseOperation]
    EQUAL: ClassVar[ElementWiseOperation]
    GREATER: ClassVar[ElementWiseOperation]
    LESS: ClassVar[ElementWiseOperation]

class PoolingType(_Enum):
    MAX: ClassVar[PoolingType]
    AVERAGE: ClassVar[PoolingType]
    MAX_AVERAGE_BLEND: ClassVar[PoolingType]

class MatrixOperation(_Enum):
    NONE: ClassVar[MatrixOperation]
    TRANSPOSE: ClassVar[MatrixOperation]
    VECTOR: ClassVar[MatrixOperation]

class PaddingMode(_Enum):
    EXPLICIT_ROUND_DOWN: ClassVar[PaddingMode]
    EXPLICIT_ROUND_UP: ClassVar[PaddingMode]
    SAME_UPPER: ClassVar[PaddingMode]
    SAME_LOWER: ClassVar[PaddingMode]

class InterpolationMode(_Enum):
    NEAREST: ClassVar[InterpolationMode]
    LINEAR: ClassVar[InterpolationMode]
    CUBIC: ClassVar[InterpolationMode]

class ResizeCoordinateTransformation(_Enum):
    ALIGN_CORNERS: ClassVar[ResizeCoordinateTransformation]
    ASYMMETRIC: ClassVar[ResizeCoordinateTransformation]
    HALF_PIXEL: ClassVar[ResizeCoordinateTransformation]

ResizeMode = InterpolationMode

class ResizeSelector(_Enum):
    FORMULA: ClassVar[ResizeSelector]
    UPPER: ClassVar[ResizeSelector]

class ResizeRoundMode(_Enum):
    HALF_UP: ClassVar[ResizeRoundMode]
    HALF_DOWN: ClassVar[ResizeRoundMode]
    FLOOR: ClassVar[ResizeRoundMode]
    CEIL: ClassVar[ResizeRoundMode]

class ScatterMode(_Enum):
    ELEMENT: ClassVar[ScatterMode]
    ND: ClassVar[ScatterMode]

class ScaleMode(_Enum):
    UNIFORM: ClassVar[ScaleMode]
    CHANNEL: ClassVar[ScaleMode]
    ELEMENTWISE: ClassVar[ScaleMode]

class UnaryOperation(_Enum):
    EXP: ClassVar[UnaryOperation]
    LOG: ClassVar[UnaryOperation]
    SQRT: ClassVar[UnaryOperation]
    RECIP: ClassVar[UnaryOperation]
    ABS: ClassVar[UnaryOperation]
    NEG: ClassVar[UnaryOperation]
    SIN: ClassVar[UnaryOperation]
    COS: ClassVar[UnaryOperation]
    TAN: ClassVar[UnaryOperation]
    SINH: ClassVar[UnaryOperation]
    COSH: ClassVar[UnaryOperation]
    ASIN: ClassVar[UnaryOperation]
    ACOS: ClassVar[UnaryOperation]
    ATAN: ClassVar[UnaryOperation]
    ASINH: ClassVar[UnaryOperation]
    ACOSH: ClassVar[UnaryOperation]
    ATANH: ClassVar[UnaryOperation]
    CEIL: ClassVar[UnaryOperation]
    FLOOR: ClassVar[UnaryOperation]
    ERF: ClassVar[UnaryOperation]
    NOT: ClassVar[UnaryOperation]
    SIGN: ClassVar[UnaryOperation]
    ROUND: ClassVar[UnaryOperation]
    ISINF: ClassVar[UnaryOperation]
    ISNAN: ClassVar[UnaryOperation]

class ReduceOperation(_Enum):
    SUM: ClassVar[ReduceOperation]
    PROD: ClassVar[ReduceOperation]
    MAX: ClassVar[ReduceOperation]
    MIN: ClassVar[ReduceOperation]
    AVG: ClassVar[ReduceOperation]

class TopKOperation(_Enum):
    MAX: ClassVar[TopKOperation]
    MIN: ClassVar[TopKOperation]

class TripLimit(_Enum):
    COUNT: ClassVar[TripLimit]
    WHILE: ClassVar[TripLimit]

class LoopOutput(_Enum):
    LAST_VALUE: ClassVar[LoopOutput]
    CONCATENATE: ClassVar[LoopOutput]
    REVERSE: ClassVar[LoopOutput]

class GatherMode(_Enum):
    DEFAULT: ClassVar[GatherMode]
    ELEMENT: ClassVar[GatherMode]
    ND: ClassVar[GatherMode]

class SampleMode(_Enum):
    STRICT_BOUNDS: ClassVar[SampleMode]
    WRAP: ClassVar[SampleMode]
    CLAMP: ClassVar[SampleMode]
    FILL: ClassVar[SampleMode]
    REFLECT: ClassVar[SampleMode]

class BuilderFlag(_Enum):
    FP16: ClassVar[BuilderFlag]
    INT8: ClassVar[BuilderFlag]
    DEBUG: ClassVar[BuilderFlag]
    GPU_FALLBACK: ClassVar[BuilderFlag]
    REFIT: ClassVar[BuilderFlag]
    DISABLE_TIMING_CACHE: ClassVar[BuilderFlag]
    TF32: ClassVar[BuilderFlag]
    SPARSE_WEIGHTS: ClassVar[BuilderFlag]
    SAFETY_SCOPE: ClassVar[BuilderFlag]
    OBEY_PRECISION_CONSTRAINTS: ClassVar[BuilderFlag]
    PREFER_PRECISION_CONSTRAINTS: ClassVar[BuilderFlag]
    DIRECT_IO: ClassVar[BuilderFlag]
    REJECT_EMPTY_ALGORITHMS: ClassVar[BuilderFlag]
    VERSION_COMPATIBLE: ClassVar[BuilderFlag]
    EXCLUDE_LEAN_RUNTIME: ClassVar[BuilderFlag]
    FP8: ClassVar[BuilderFlag]
    ERROR_ON_TIMING_CACHE_MISS: ClassVar[BuilderFlag]
    BF16: ClassVar[BuilderFlag]
    DISABLE_COMPILATION_CACHE: ClassVar[BuilderFlag]
    STRIP_PLAN: ClassVar[BuilderFlag]
    REFIT_IDENTICAL: ClassVar[BuilderFlag]
    WEIGHT_STREAMING: ClassVar[BuilderFlag]
    INT4: ClassVar[BuilderFlag]
    REFIT_INDIVIDUAL: ClassVar[BuilderFlag]
    STRICT_NANS: ClassVar[BuilderFlag]
    MONITOR_MEMORY: ClassVar[BuilderFlag]
    EDITABLE_TIMING_CACHE: ClassVar[BuilderFlag]

class MemoryPoolType(_Enum):
    WORKSPACE: ClassVar[MemoryPoolType]
    DLA_MANAGED_SRAM: ClassVar[MemoryPoolType]
    DLA_LOCAL_DRAM: ClassVar[MemoryPoolType]
    DLA_GLOBAL_DRAM: ClassVar[MemoryPoolType]
    TACTIC_DRAM: ClassVar[MemoryPoolType]
    TACTIC_SHARED_MEMORY: ClassVar[MemoryPoolType]

class NetworkDefinitionCreationFlag(_Enum):
    EXPLICIT_BATCH: ClassVar[NetworkDefinitionCreationFlag]
    STRONGLY_TYPED: ClassVar[NetworkDefinitionCreationFlag]

class ProfilingVerbosity(_Enum):
    LAYER_NAMES_ONLY: ClassVar[ProfilingVerbosity]
    NONE: ClassVar[ProfilingVerbosity]
    DETAILED: ClassVar[ProfilingVerbosity]

class EngineCapability(_Enum):
    STANDARD: ClassVar[EngineCapability]
    SAFETY: ClassVar[EngineCapability]
    DLA_STANDALONE: ClassVar[EngineCapability]

class TacticSource(_Enum):
    CUBLAS: ClassVar[TacticSource]
    CUBLAS_LT: ClassVar[TacticSource]
    CUDNN: ClassVar[TacticSource]
    EDGE_MASK_CONVOLUTIONS: ClassVar[TacticSource]
    JIT_CONVOLUTIONS: ClassVar[TacticSource]

class PreviewFeature(_Enum):
    PROFILE_SHARING_0806: ClassVar[PreviewFeature]
    ALIASED_PLUGIN_IO_10_03: ClassVar[PreviewFeature]

class HardwareCompatibilityLevel(_Enum):
    NONE: ClassVar[HardwareCompatibilityLevel]
    AMPERE_PLUS: ClassVar[HardwareCompatibilityLevel]

class RuntimePlatform(_Enum):
    SAME_AS_BUILD: ClassVar[RuntimePlatform]
    WINDOWS_AMD64: ClassVar[RuntimePlatform]

class QuantizationFlag(_Enum):
    CALIBRATE_BEFORE_FUSION: ClassVar[QuantizationFlag]

class LayerInformationFormat(_Enum):
    ONELINE: ClassVar[LayerInformationFormat]
    JSON: ClassVar[LayerInformationFormat]

class DeviceType(_Enum):
    GPU: ClassVar[DeviceType]
    DLA: ClassVar[DeviceType]

class ExecutionContextAllocationStrategy(_Enum):
    STATIC: ClassVar[ExecutionContextAllocationStrategy]
    ON_PROFILE_CHANGE: ClassVar[ExecutionContextAllocationStrategy]
    USER_MANAGED: ClassVar[ExecutionContextAllocationStrategy]

class TensorIOMode(_Enum):
    NONE: ClassVar[TensorIOMode]
    INPUT: ClassVar[TensorIOMode]
    OUTPUT: ClassVar[TensorIOMode]

class TensorFormat(_Enum):
    """clrt's I/O tensors are all LINEAR."""

    LINEAR: ClassVar[TensorFormat]
    CHW2: ClassVar[TensorFormat]
    HWC8: ClassVar[TensorFormat]
    CHW4: ClassVar[TensorFormat]
    CHW16: ClassVar[TensorFormat]
    CHW32: ClassVar[TensorFormat]
    DHWC8: ClassVar[TensorFormat]
    CDHW32: ClassVar[TensorFormat]
    HWC: ClassVar[TensorFormat]
    DLA_LINEAR: ClassVar[TensorFormat]
    DLA_HWC4: ClassVar[TensorFormat]
    HWC16: ClassVar[TensorFormat]
    DHWC: ClassVar[TensorFormat]

class TensorLocation(_Enum):
    DEVICE: ClassVar[TensorLocation]
    HOST: ClassVar[TensorLocation]

class SeekPosition(_Enum):
    SET: ClassVar[SeekPosition]
    CUR: ClassVar[SeekPosition]
    END: ClassVar[SeekPosition]

class OnnxParserFlag(_Enum):
    NATIVE_INSTANCENORM: ClassVar[OnnxParserFlag]

class ErrorCode(_Enum):
    SUCCESS: ClassVar[ErrorCode]
    INTERNAL_ERROR: ClassVar[ErrorCode]
    MEM_ALLOC_FAILED: ClassVar[ErrorCode]
    MODEL_DESERIALIZE_FAILED: ClassVar[ErrorCode]
    INVALID_VALUE: ClassVar[ErrorCode]
    INVALID_GRAPH: ClassVar[ErrorCode]
    INVALID_NODE: ClassVar[ErrorCode]
    UNSUPPORTED_GRAPH: ClassVar[ErrorCode]
    UNSUPPORTED_NODE: ClassVar[ErrorCode]
    UNSUPPORTED_NODE_ATTR: ClassVar[ErrorCode]
    UNSUPPORTED_NODE_INPUT: ClassVar[ErrorCode]
    UNSUPPORTED_NODE_DATATYPE: ClassVar[ErrorCode]
    UNSUPPORTED_NODE_DYNAMIC: ClassVar[ErrorCode]
    UNSUPPORTED_NODE_SHAPE: ClassVar[ErrorCode]
    REFIT_FAILED: ClassVar[ErrorCode]

# --- Loggers ---

class ILogger:
    class Severity(_Enum):
        INTERNAL_ERROR: ClassVar[ILogger.Severity]
        ERROR: ClassVar[ILogger.Severity]
        WARNING: ClassVar[ILogger.Severity]
        INFO: ClassVar[ILogger.Severity]
        VERBOSE: ClassVar[ILogger.Severity]

    INTERNAL_ERROR: ClassVar[ILogger.Severity]
    ERROR: ClassVar[ILogger.Severity]
    WARNING: ClassVar[ILogger.Severity]
    INFO: ClassVar[ILogger.Severity]
    VERBOSE: ClassVar[ILogger.Severity]
    def __init__(self) -> None: ...
    def log(self, severity: ILogger.Severity, msg: str) -> None: ...

class Logger(ILogger):
    min_severity: ILogger.Severity
    def __init__(self, min_severity: ILogger.Severity = ...) -> None: ...

# --- Network ---

class ITensor:
    name: str
    shape: tuple[int, ...]
    dtype: DataType
    dynamic_range: tuple[float, float] | None
    allowed_formats: int
    @property
    def is_network_input(self) -> bool: ...
    @property
    def is_network_output(self) -> bool: ...
    @property
    def is_shape_tensor(self) -> bool: ...
    @property
    def is_execution_tensor(self) -> bool: ...
    @property
    def location(self) -> TensorLocation: ...
    def set_dynamic_range(self, min: float, max: float) -> bool: ...
    def reset_dynamic_range(self) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class ILayer:
    name: str
    precision: DataType
    @property
    def type(self) -> LayerType: ...
    @property
    def num_inputs(self) -> int: ...
    @property
    def num_outputs(self) -> int: ...
    @property
    def precision_is_set(self) -> bool: ...
    def get_input(self, index: int) -> ITensor | None: ...
    def get_output(self, index: int) -> ITensor: ...
    def set_input(self, index: int, tensor: ITensor) -> None: ...
    def reset_precision(self) -> None: ...
    def set_output_type(self, index: int, dtype: DataType) -> None: ...
    def get_output_type(self, index: int) -> DataType: ...
    def output_type_is_set(self, index: int) -> bool: ...
    def reset_output_type(self, index: int) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class IResizeLayer(ILayer):
    shape: tuple[int, ...]
    scales: list[float]
    resize_mode: InterpolationMode
    coordinate_transformation: ResizeCoordinateTransformation
    selector_for_single_pixel: ResizeSelector
    nearest_rounding: ResizeRoundMode
    cubic_coeff: float
    exclude_outside: bool
    def set_input(self, index: int, tensor: ITensor) -> None: ...

class IDeconvolutionLayer(ILayer):
    stride_nd: tuple[int, ...]
    padding_nd: tuple[int, ...]
    pre_padding: tuple[int, ...]
    post_padding: tuple[int, ...]
    @property
    def num_output_maps(self) -> int: ...
    @property
    def kernel_size_nd(self) -> tuple[int, ...]: ...
    @property
    def dilation_nd(self) -> tuple[int, ...]: ...
    @property
    def num_groups(self) -> int: ...
    @property
    def kernel(self) -> npt.NDArray[np.float32]: ...
    @property
    def bias(self) -> npt.NDArray[np.float32]: ...

class IConvolutionLayer(ILayer):
    num_output_maps: int
    kernel_size_nd: tuple[int, ...]
    stride_nd: tuple[int, ...]
    padding_nd: tuple[int, ...]
    pre_padding: tuple[int, ...]
    post_padding: tuple[int, ...]
    dilation_nd: tuple[int, ...]
    num_groups: int
    padding_mode: PaddingMode
    @property
    def kernel(self) -> npt.NDArray[np.float32]: ...
    @kernel.setter
    def kernel(self, value: _ArrayLike) -> None: ...
    @property
    def bias(self) -> npt.NDArray[np.float32]: ...
    @bias.setter
    def bias(self, value: _ArrayLike | None) -> None: ...

class IPoolingLayer(ILayer):
    # ActivationType/PoolingType from add_*, LayerType from get_layer (as TensorRT).
    type: Any
    window_size_nd: tuple[int, ...]
    stride_nd: tuple[int, ...]
    padding_nd: tuple[int, ...]
    pre_padding: tuple[int, ...]
    post_padding: tuple[int, ...]
    padding_mode: PaddingMode
    average_count_excludes_padding: bool

class IActivationLayer(ILayer):
    type: Any  # ActivationType from add_activation, LayerType from get_layer (as TensorRT)
    alpha: float
    beta: float

class IElementWiseLayer(ILayer):
    op: ElementWiseOperation

class IMatrixMultiplyLayer(ILayer):
    op0: MatrixOperation
    op1: MatrixOperation

class ISoftMaxLayer(ILayer):
    axes: int

class IConcatenationLayer(ILayer):
    axis: int

class IShuffleLayer(ILayer):
    first_transpose: tuple[int, ...]
    reshape_dims: tuple[int, ...] | None
    second_transpose: tuple[int, ...]
    zero_is_placeholder: bool

class IConstantLayer(ILayer):
    shape: tuple[int, ...]
    @property
    def weights(self) -> np.ndarray: ...
    @weights.setter
    def weights(self, value: _ArrayLike) -> None: ...

class IScaleLayer(ILayer):
    channel_axis: int
    @property
    def mode(self) -> ScaleMode: ...
    @property
    def scale(self) -> npt.NDArray[np.float32]: ...
    @scale.setter
    def scale(self, value: _ArrayLike) -> None: ...
    @property
    def shift(self) -> npt.NDArray[np.float32]: ...
    @shift.setter
    def shift(self, value: _ArrayLike) -> None: ...
    @property
    def power(self) -> npt.NDArray[np.float32]: ...

class IUnaryLayer(ILayer):
    op: UnaryOperation

class IReduceLayer(ILayer):
    op: ReduceOperation
    axes: int
    keep_dims: bool

class ISliceLayer(ILayer):
    start: tuple[int, ...]
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    mode: SampleMode
    def set_input(self, index: int, tensor: ITensor) -> None: ...

class IGatherLayer(ILayer):
    axis: int
    mode: GatherMode
    num_elementwise_dims: int

class IGridSampleLayer(ILayer):
    interpolation_mode: InterpolationMode
    align_corners: bool
    sample_mode: SampleMode

class ITopKLayer(ILayer):
    op: TopKOperation
    k: int
    axes: int
    def set_input(self, index: int, tensor: ITensor) -> None: ...

class ISelectLayer(ILayer): ...

class IPaddingLayer(ILayer):
    pre_padding_nd: tuple[int, ...]
    post_padding_nd: tuple[int, ...]

class IShapeLayer(ILayer): ...
class INonZeroLayer(ILayer): ...

class IQuantizeLayer(ILayer):
    axis: int
    to_type: DataType
    def set_input(self, index: int, tensor: ITensor) -> None: ...

class IDequantizeLayer(ILayer):
    axis: int
    to_type: DataType
    def set_input(self, index: int, tensor: ITensor) -> None: ...

class IScatterLayer(ILayer):
    mode: ScatterMode
    axis: int

class ILoop:
    name: str
    def add_recurrence(self, initial_value: ITensor) -> IRecurrenceLayer: ...
    def add_trip_limit(self, tensor: ITensor, kind: TripLimit) -> ITripLimitLayer: ...
    def add_iterator(
        self, tensor: ITensor, axis: int = 0, reverse: bool = False
    ) -> IIteratorLayer: ...
    def add_loop_output(
        self, tensor: ITensor, kind: LoopOutput, axis: int = 0
    ) -> ILoopOutputLayer: ...

class ILoopBoundaryLayer(ILayer):
    @property
    def loop(self) -> ILoop: ...

class IRecurrenceLayer(ILoopBoundaryLayer): ...

class ITripLimitLayer(ILoopBoundaryLayer):
    @property
    def kind(self) -> TripLimit: ...

class IIteratorLayer(ILoopBoundaryLayer):
    axis: int
    reverse: bool

class ILoopOutputLayer(ILoopBoundaryLayer):
    axis: int
    @property
    def kind(self) -> LoopOutput: ...

class IIfConditional:
    name: str
    def set_condition(self, condition: ITensor) -> IConditionLayer: ...
    def add_input(self, input: ITensor) -> IIfConditionalInputLayer: ...
    def add_output(
        self, true_subgraph_output: ITensor, false_subgraph_output: ITensor
    ) -> IIfConditionalOutputLayer: ...

class IIfConditionalBoundaryLayer(ILayer):
    @property
    def conditional(self) -> IIfConditional: ...

class IConditionLayer(IIfConditionalBoundaryLayer): ...
class IIfConditionalInputLayer(IIfConditionalBoundaryLayer): ...
class IIfConditionalOutputLayer(IIfConditionalBoundaryLayer): ...

class IOneHotLayer(ILayer):
    axis: int
    @property
    def type(self) -> LayerType: ...
    @property
    def num_inputs(self) -> int: ...
    def get_input(self, index: int) -> ITensor: ...
    def set_input(self, index: int, tensor: ITensor) -> None: ...

class INormalizationLayer(ILayer):
    epsilon: float
    axes: int
    num_groups: int
    compute_precision: DataType
    @property
    def type(self) -> LayerType: ...
    @property
    def num_inputs(self) -> int: ...
    def get_input(self, index: int) -> ITensor: ...
    def set_input(self, index: int, tensor: ITensor) -> None: ...

class IEinsumLayer(ILayer):
    equation: str
    @property
    def type(self) -> LayerType: ...
    @property
    def num_inputs(self) -> int: ...
    def get_input(self, index: int) -> ITensor: ...
    def set_input(self, index: int, tensor: ITensor) -> None: ...

class INetworkDefinition:
    name: str
    @property
    def flags(self) -> int: ...
    @property
    def has_implicit_batch_dimension(self) -> bool: ...
    @property
    def num_layers(self) -> int: ...
    @property
    def num_inputs(self) -> int: ...
    @property
    def num_outputs(self) -> int: ...
    def get_flag(self, flag: NetworkDefinitionCreationFlag | int) -> bool: ...
    def get_layer(self, index: int) -> ILayer: ...
    def get_input(self, index: int) -> ITensor: ...
    def get_output(self, index: int) -> ITensor: ...
    def mark_output(self, tensor: ITensor) -> None: ...
    def unmark_output(self, tensor: ITensor) -> None: ...
    def mark_debug(self, tensor: ITensor) -> bool: ...
    def unmark_debug(self, tensor: ITensor) -> bool: ...
    def is_debug_tensor(self, tensor: ITensor) -> bool: ...
    def add_input(self, name: str, dtype: DataType, shape: _Shape) -> ITensor: ...
    def add_convolution_nd(
        self,
        input: ITensor,
        num_output_maps: int,
        kernel_shape: _Shape,
        kernel: _ArrayLike,
        bias: _ArrayLike | None = None,
    ) -> IConvolutionLayer: ...
    def add_deconvolution_nd(
        self,
        input: ITensor,
        num_output_maps: int,
        kernel_shape: _Shape,
        kernel: _ArrayLike,
        bias: _ArrayLike | None = None,
    ) -> IDeconvolutionLayer: ...
    def add_activation(self, input: ITensor, type: ActivationType) -> IActivationLayer: ...
    def add_elementwise(
        self, input1: ITensor, input2: ITensor, op: ElementWiseOperation
    ) -> IElementWiseLayer: ...
    def add_pooling_nd(
        self, input: ITensor, type: PoolingType, window_size: _Shape
    ) -> IPoolingLayer: ...
    def add_matrix_multiply(
        self, input0: ITensor, op0: MatrixOperation, input1: ITensor, op1: MatrixOperation
    ) -> IMatrixMultiplyLayer: ...
    def add_softmax(self, input: ITensor) -> ISoftMaxLayer: ...
    def add_concatenation(self, inputs: Sequence[ITensor]) -> IConcatenationLayer: ...
    def add_shuffle(self, input: ITensor) -> IShuffleLayer: ...
    def add_constant(self, shape: _Shape, weights: _ArrayLike) -> IConstantLayer: ...
    def add_scale(
        self,
        input: ITensor,
        mode: ScaleMode,
        shift: _ArrayLike | None = None,
        scale: _ArrayLike | None = None,
        power: _ArrayLike | None = None,
    ) -> IScaleLayer: ...
    def add_scale_nd(
        self,
        input: ITensor,
        mode: ScaleMode,
        shift: _ArrayLike | None = None,
        scale: _ArrayLike | None = None,
        power: _ArrayLike | None = None,
        channel_axis: int = 1,
    ) -> IScaleLayer: ...
    def add_identity(self, input: ITensor) -> ILayer: ...
    def add_cast(self, input: ITensor, to_type: DataType) -> ILayer: ...
    def add_unary(self, input: ITensor, op: UnaryOperation) -> IUnaryLayer: ...
    def add_reduce(
        self, input: ITensor, op: ReduceOperation, axes: int, keep_dims: bool
    ) -> IReduceLayer: ...
    def add_slice(
        self, input: ITensor, start: _Shape, shape: _Shape, stride: _Shape
    ) -> ISliceLayer: ...
    def add_gather(self, input: ITensor, indices: ITensor, axis: int) -> IGatherLayer: ...
    def add_gather_v2(self, input: ITensor, indices: ITensor, mode: GatherMode) -> IGatherLayer: ...
    def add_grid_sample(self, input: ITensor, grid: ITensor) -> IGridSampleLayer: ...
    def add_resize(self, input: ITensor) -> IResizeLayer: ...
    def add_topk(self, input: ITensor, op: TopKOperation, k: int, axes: int) -> ITopKLayer: ...
    def add_select(
        self, condition: ITensor, then_input: ITensor, else_input: ITensor
    ) -> ISelectLayer: ...
    def add_padding_nd(
        self, input: ITensor, pre_padding: _Shape, post_padding: _Shape
    ) -> IPaddingLayer: ...
    def add_shape(self, input: ITensor) -> IShapeLayer: ...
    def add_non_zero(self, input: ITensor) -> INonZeroLayer: ...
    def add_quantize(
        self, input: ITensor, scale: ITensor, output_type: DataType | None = None
    ) -> IQuantizeLayer: ...
    def add_dequantize(
        self, input: ITensor, scale: ITensor, output_type: DataType | None = None
    ) -> IDequantizeLayer: ...
    def add_scatter(
        self, data: ITensor, indices: ITensor, updates: ITensor, mode: ScatterMode
    ) -> IScatterLayer: ...
    def add_one_hot(
        self, indices: ITensor, values: ITensor, depth: ITensor, axis: int
    ) -> IOneHotLayer: ...
    def add_normalization(
        self, input: ITensor, scale: ITensor, bias: ITensor, axes: int
    ) -> INormalizationLayer: ...
    def add_einsum(self, inputs: Sequence[ITensor], equation: str) -> IEinsumLayer: ...
    def add_loop(self) -> ILoop: ...
    def add_if_conditional(self) -> IIfConditional: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> ILayer: ...
    def __iter__(self) -> Iterator[ILayer]: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> Literal[False]: ...

# --- Parser ---

class ParserError:
    def code(self) -> ErrorCode: ...
    def desc(self) -> str: ...
    def node(self) -> int: ...
    def node_name(self) -> str: ...
    def node_operator(self) -> str: ...
    def hint(self) -> str: ...
    def file(self) -> str: ...
    def line(self) -> int: ...
    def func(self) -> str: ...

class OnnxParser:
    def __init__(self, network: INetworkDefinition, logger: ILogger | None) -> None: ...
    @property
    def num_errors(self) -> int: ...
    def parse(self, model: Buffer, path: str | None = None) -> bool: ...
    def supports_model(
        self, model: Buffer, path: str | None = None
    ) -> tuple[bool, list[tuple[list[int], bool]]]: ...
    def parse_from_file(self, model: str) -> bool: ...
    def get_error(self, index: int) -> ParserError: ...
    def clear_errors(self) -> None: ...
    @staticmethod
    def supports_operator(op_type: str) -> bool: ...
    @staticmethod
    def supported_operators() -> list[str]: ...
    flags: int
    def set_flag(self, flag: OnnxParserFlag) -> None: ...
    def clear_flag(self, flag: OnnxParserFlag) -> None: ...
    def get_flag(self, flag: OnnxParserFlag) -> bool: ...
    # clrt._trt_api adds these
    def set_builder_config(self, config: IBuilderConfig) -> bool: ...
    def get_used_vc_plugin_libraries(self) -> list[str]: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> Literal[False]: ...

# --- Builder ---

class IHostMemory:
    @property
    def nbytes(self) -> int: ...
    @property
    def dtype(self) -> DataType: ...
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> Literal[False]: ...

class IOptimizationProfile:
    def set_shape(self, input: str, min: _Shape, opt: _Shape, max: _Shape) -> None: ...
    def get_shape(self, input: str) -> list[tuple[int, ...]]: ...
    def set_shape_input(self, input: str, min: Any, opt: Any, max: Any) -> None: ...
    def get_shape_input(self, input: str) -> list[list[int]]: ...
    def __bool__(self) -> bool: ...

class IBuilderConfig:
    flags: int
    builder_optimization_level: int
    tactic_filter: str
    profiling_verbosity: ProfilingVerbosity
    int8_calibrator: IInt8Calibrator | None
    progress_monitor: IProgressMonitor | None
    refine_int8_ranges: bool
    @property
    def calibration_report(self) -> CalibrationReport | None: ...
    @property
    def _calibration_record(self) -> dict[str, Any] | None: ...
    default_device_type: DeviceType
    DLA_core: int
    avg_timing_iterations: int
    max_workspace_size: int  # deprecated
    @property
    def num_optimization_profiles(self) -> int: ...
    def set_flag(self, flag: BuilderFlag) -> None: ...
    def clear_flag(self, flag: BuilderFlag) -> None: ...
    def get_flag(self, flag: BuilderFlag) -> bool: ...
    def get_device_type(self, layer: ILayer) -> DeviceType: ...  # clrt._trt_api adds it
    def set_memory_pool_limit(self, pool: MemoryPoolType, pool_size: int) -> None: ...
    def get_memory_pool_limit(self, pool: MemoryPoolType) -> int: ...
    def add_optimization_profile(self, profile: IOptimizationProfile) -> int: ...
    def set_calibration_profile(self, profile: IOptimizationProfile) -> bool: ...
    def get_calibration_profile(self) -> IOptimizationProfile | None: ...
    def create_timing_cache(self, serialized_timing_cache: Buffer = ...) -> ITimingCache: ...
    def set_timing_cache(self, cache: ITimingCache, ignore_mismatch: bool = False) -> bool: ...
    def get_timing_cache(self) -> ITimingCache | None: ...
    engine_capability: EngineCapability
    hardware_compatibility_level: HardwareCompatibilityLevel
    max_aux_streams: int
    runtime_platform: RuntimePlatform
    def get_tactic_sources(self) -> int: ...
    def set_preview_feature(self, feature: PreviewFeature, enable: bool) -> None: ...
    def get_preview_feature(self, feature: PreviewFeature) -> bool: ...
    def set_quantization_flag(self, flag: QuantizationFlag) -> None: ...
    def clear_quantization_flag(self, flag: QuantizationFlag) -> None: ...
    def get_quantization_flag(self, flag: QuantizationFlag) -> bool: ...
    def reset(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> Literal[False]: ...

class ITimingCache:
    @property
    def num_entries(self) -> int: ...
    @property
    def num_programs(self) -> int: ...
    @property
    def device(self) -> str: ...
    def serialize(self) -> IHostMemory: ...
    def combine(self, input_cache: ITimingCache, ignore_mismatch: bool) -> bool: ...
    def reset(self) -> bool: ...

class Builder:
    def __init__(self, logger: ILogger | None) -> None: ...
    @property
    def logger(self) -> ILogger | None: ...
    @property
    def platform_has_fast_fp16(self) -> bool: ...
    @property
    def platform_has_fast_int8(self) -> bool: ...
    @property
    def platform_has_tf32(self) -> bool: ...
    @property
    def num_DLA_cores(self) -> int: ...
    def create_network(self, flags: int = 0) -> INetworkDefinition: ...
    def create_builder_config(self) -> IBuilderConfig: ...
    def create_optimization_profile(self) -> IOptimizationProfile: ...
    def build_serialized_network(
        self, network: INetworkDefinition, config: IBuilderConfig
    ) -> IHostMemory: ...
    def build_serialized_network_to_stream(  # set by clrt._trt_api; writer: an IStreamWriter
        self, network: INetworkDefinition, config: IBuilderConfig, writer: Any
    ) -> bool: ...
    def build_engine(self, network: INetworkDefinition, config: IBuilderConfig) -> ICudaEngine: ...
    def build_engine_with_config(
        self, network: INetworkDefinition, config: IBuilderConfig
    ) -> ICudaEngine | None: ...
    def is_network_supported(self, network: INetworkDefinition, config: IBuilderConfig) -> bool: ...
    max_threads: int
    def reset(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> Literal[False]: ...

# --- Runtime ---

class ICudaEngine:
    # Set by clrt._trt_api:
    @property
    def engine_capability(self) -> EngineCapability: ...
    @property
    def hardware_compatibility_level(self) -> HardwareCompatibilityLevel: ...
    @property
    def num_aux_streams(self) -> int: ...
    @property
    def device_memory_size_v2(self) -> int: ...
    def get_tensor_bytes_per_component(self, name: str) -> int: ...
    @property
    def num_io_tensors(self) -> int: ...
    @property
    def max_batch_size(self) -> int: ...  # deprecated (warns): batch dims are explicit
    @property
    def num_optimization_profiles(self) -> int: ...
    @property
    def num_layers(self) -> int: ...
    @property
    def device_memory_size(self) -> int: ...
    @property
    def peak_activation_bytes(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def has_implicit_batch_dimension(self) -> bool: ...
    def get_tensor_name(self, index: int) -> str: ...
    def get_tensor_mode(self, name: str) -> TensorIOMode: ...
    def get_tensor_shape(self, name: str) -> tuple[int, ...]: ...
    def get_tensor_dtype(self, name: str) -> DataType: ...
    def get_tensor_profile_shape(self, name: str, profile_index: int) -> list[tuple[int, ...]]: ...
    def get_tensor_profile_values(self, name: str, profile_index: int) -> list[list[int]]: ...
    def get_tensor_format(self, name: str) -> TensorFormat: ...
    def get_tensor_format_desc(self, name: str) -> str: ...
    def get_tensor_location(self, name: str) -> TensorLocation: ...
    def get_tensor_vectorized_dim(self, name: str) -> int: ...
    def get_tensor_components_per_element(self, name: str) -> int: ...
    def is_shape_inference_io(self, name: str) -> bool: ...
    def is_debug_tensor(self, name: str) -> bool: ...
    @property
    def profiling_verbosity(self) -> ProfilingVerbosity: ...
    @property
    def refittable(self) -> bool: ...
    def create_execution_context(
        self, strategy: ExecutionContextAllocationStrategy = ...
    ) -> IExecutionContext: ...
    def create_execution_context_without_device_memory(self) -> IExecutionContext: ...
    def get_device_memory_size_for_profile(self, profile_index: int) -> int: ...
    def get_device_memory_size_for_profile_v2(self, profile_index: int) -> int: ...
    def create_engine_inspector(self) -> EngineInspector: ...
    def serialize(self) -> IHostMemory: ...
    # clrt._trt_api adds these
    def create_serialization_config(self) -> ISerializationConfig: ...
    def serialize_with_config(self, config: ISerializationConfig) -> IHostMemory: ...
    # TensorRT 8 binding API (DeprecationWarning)
    @property
    def num_bindings(self) -> int: ...
    def get_binding_name(self, index: int) -> str: ...
    def get_binding_index(self, name: str) -> int: ...
    def binding_is_input(self, index: int) -> bool: ...
    def get_binding_shape(self, index: int) -> tuple[int, ...]: ...
    def get_binding_dtype(self, index: int) -> DataType: ...
    def get_profile_shape(
        self, profile_index: int, binding: int | str
    ) -> list[tuple[int, ...]]: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> Literal[False]: ...

class EngineInspector:
    execution_context: object
    def get_layer_information(self, layer_index: int, format: LayerInformationFormat) -> str: ...
    def get_engine_information(self, format: LayerInformationFormat) -> str: ...

IEngineInspector = EngineInspector

class IExecutionContext:
    name: str
    profiling: bool
    profiler: IProfiler | None  # clrt._trt_api adds it, and the next three
    enqueue_emits_profile: bool
    def report_to_profiler(self) -> bool: ...
    def infer_shapes(self) -> list[str]: ...
    @property
    def engine(self) -> ICudaEngine: ...
    @property
    def all_input_dimensions_specified(self) -> bool: ...
    @property
    def all_input_shapes_specified(self) -> bool: ...
    @property
    def all_shape_inputs_specified(self) -> bool: ...
    @property
    def all_binding_shapes_specified(self) -> bool: ...
    @property
    def active_optimization_profile(self) -> int: ...
    @property
    def layer_times(self) -> list[tuple[str, float]]: ...
    def set_input_shape(self, name: str, shape: _Shape) -> bool: ...
    def get_tensor_shape(self, name: str) -> tuple[int, ...]: ...
    def set_binding_shape(self, binding: int, shape: _Shape) -> bool: ...
    def get_binding_shape(self, binding: int) -> tuple[int, ...]: ...
    def set_optimization_profile_async(
        self, profile_index: int, stream_handle: int = 0
    ) -> bool: ...
    def set_device_memory(self, memory: _Pointer, size: int) -> None: ...
    @property
    def device_memory(self) -> int: ...
    @device_memory.setter
    def device_memory(self, memory: _Pointer) -> None: ...
    def update_device_memory_size_for_shapes(self) -> int: ...
    def set_tensor_address(self, name: str, memory: _Pointer) -> bool: ...
    def get_tensor_address(self, name: str) -> int: ...
    def set_output_allocator(
        self, name: str, output_allocator: IOutputAllocator | None
    ) -> bool: ...
    def get_output_allocator(self, name: str) -> IOutputAllocator | None: ...
    def execute_v2(self, bindings: Sequence[_Pointer]) -> bool: ...
    def execute_async_v3(self, stream_handle: int = 0) -> bool: ...
    def execute_async_v2(self, bindings: Sequence[_Pointer], stream_handle: int = 0) -> bool: ...
    def infer(self, feeds: dict[str, _ArrayLike], debug: bool = False) -> dict[str, np.ndarray]: ...
    def set_debug_listener(self, listener: IDebugListener | None) -> bool: ...
    def get_debug_listener(self) -> IDebugListener | None: ...
    def set_tensor_debug_state(self, name: str, flag: bool) -> bool: ...
    def get_debug_state(self, name: str) -> bool: ...
    def set_all_tensors_debug_state(self, flag: bool) -> bool: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> Literal[False]: ...

class IDebugListener:
    def __init__(self) -> None: ...
    def process_debug_tensor(
        self,
        addr: int,
        location: TensorLocation,
        type: DataType,
        shape: tuple[int, ...],
        name: str,
        stream: int,
    ) -> bool: ...

class IProgressMonitor:
    def __init__(self) -> None: ...
    def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None: ...
    def step_complete(self, phase_name: str, step: int) -> bool: ...
    def phase_finish(self, phase_name: str) -> None: ...

class Runtime:
    def __init__(self, logger: ILogger | None) -> None: ...
    @property
    def logger(self) -> ILogger | None: ...
    rebuild_programs: bool
    def deserialize_cuda_engine(self, serialized_engine: Buffer) -> ICudaEngine: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> Literal[False]: ...

# --- INT8 calibrators (subclass one; call its __init__) ---

_CacheResult: TypeAlias = bytes | bytearray | memoryview | str | None

class CalibrationAlgoType(_Enum):
    LEGACY_CALIBRATION: ClassVar[CalibrationAlgoType]
    ENTROPY_CALIBRATION: ClassVar[CalibrationAlgoType]
    ENTROPY_CALIBRATION_2: ClassVar[CalibrationAlgoType]
    MINMAX_CALIBRATION: ClassVar[CalibrationAlgoType]

class IInt8Calibrator:
    def __init__(self) -> None: ...
    def get_algorithm(self) -> CalibrationAlgoType: ...
    def get_batch_size(self) -> int: ...
    # Overridden with TensorRT's signature variants (get_batch(names) or (names, p_str);
    # read_calibration_cache() or (length); write_calibration_cache(cache) or (cache, length)):
    # typed by what they return, taking any parameters.
    # None (or []) when done; else one float32 array or device pointer per name, in order.
    get_batch: Callable[..., Sequence[np.ndarray | _Pointer] | None]
    read_calibration_cache: Callable[..., _CacheResult]
    write_calibration_cache: Callable[..., object]

class IInt8EntropyCalibrator2(IInt8Calibrator): ...
class IInt8EntropyCalibrator(IInt8Calibrator): ...
class IInt8MinMaxCalibrator(IInt8Calibrator): ...

class IInt8LegacyCalibrator(IInt8Calibrator):
    def get_quantile(self) -> float: ...
    def get_regression_cutoff(self) -> float: ...
    read_histogram_cache: Callable[..., _CacheResult]
    write_histogram_cache: Callable[..., object]

def _calib_source_smoke(
    calibrator: IInt8Calibrator,
    names: Sequence[str],
    shapes: Sequence[_Shape],
    max_batches: int = -1,
    write_cache: bytes | None = None,
) -> dict[str, Any]: ...

# --- Device memory (pycuda stand-ins) and devices ---

class DeviceAllocation:
    @property
    def size(self) -> int: ...
    def free(self) -> None: ...
    def __int__(self) -> int: ...
    def __index__(self) -> int: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> Literal[False]: ...

class Stream:
    def __init__(self) -> None: ...
    @property
    def handle(self) -> int: ...
    def synchronize(self) -> None: ...
    def is_done(self) -> bool: ...

class Device:
    @property
    def index(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def vendor(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def driver(self) -> str: ...
    @property
    def platform(self) -> str: ...
    @property
    def is_gpu(self) -> bool: ...
    @property
    def global_mem(self) -> int: ...
    @property
    def max_alloc(self) -> int: ...
    @property
    def local_mem(self) -> int: ...
    @property
    def compute_units(self) -> int: ...
    @property
    def has_fp16(self) -> bool: ...
    @property
    def compute_capability(self) -> int: ...
    @property
    def fingerprint(self) -> str: ...

def mem_alloc(nbytes: int) -> DeviceAllocation: ...
def memcpy_htod(dest: _Pointer, src: _HostBuffer) -> None: ...
def memcpy_dtoh(dest: _HostBuffer, src: _Pointer) -> None: ...
def memcpy_htod_async(dest: _Pointer, src: _HostBuffer, stream: Stream | None = None) -> None: ...
def memcpy_dtoh_async(dest: _HostBuffer, src: _Pointer, stream: Stream | None = None) -> None: ...
def memcpy_dtod(dest: _Pointer, src: _Pointer, size: int) -> None: ...
def memset_d8(dest: _Pointer, data: int, count: int) -> None: ...
def _is_device_pointer(ptr: int) -> bool: ...
def get_devices() -> list[Device]: ...
def set_device(device: int | str) -> Device: ...
def current_device() -> Device: ...
def compile_count() -> int: ...
def _infer_debug(
    engine: ICudaEngine, feeds: dict[str, npt.ArrayLike]
) -> list[tuple[str, npt.NDArray[Any]]]: ...
def _registered_tactics() -> list[tuple[str, str, list[str]]]: ...
