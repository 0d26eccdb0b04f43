"""clrt.accuracy: find what reduced precision broke, and fix it.

- ``compare(model, data, calibrator=...)``: every engine tensor against onnxruntime FP32, in
  execution order, with ``first_divergent``; one build, one run per batch.
- ``sensitivity(model, data, labels, calibrator=...)``: per INT8 layer, the metric with only it
  in INT8 and with all but it; ranked.
- ``search_precisions(model, data, labels, calibrator=..., budget=0.1)``: a small set of layers
  to keep in FP16/FP32 (``.layer_precisions``, a trtexec spec) within the budget of FP32.
- ``per_class(a, b, data, labels)``: per-class recall/precision of two engines or ONNX models
  and the classes whose recall drops (``.flagged``).
- ``calibration_table(cache)``: a calibration cache as a table (tensor, scale, amax); results of
  the calls above keep the cache they calibrated as ``.calibration_cache``.

Models are ONNX paths or bytes; data is a list of input arrays (single-input models) or of
{name: array} dicts; labels a matching list of int arrays (the metric is then top-1 in %).
Builder-config settings pass through as keywords (``refine_int8_ranges=False``,
``builder_optimization_level=0``). Calibration runs once per call; its cache serves every build.
"""

from ._calib_table import CalibrationTable, calibration_table
from ._classes import ClassReport, per_class
from ._compare import CompareReport, compare
from ._precision_search import CandidatesReport, PrecisionSearchResult, search_precisions
from ._report import Report
from ._search import SensitivityReport, sensitivity

__all__ = [
    "CalibrationTable",
    "CandidatesReport",
    "ClassReport",
    "CompareReport",
    "PrecisionSearchResult",
    "Report",
    "SensitivityReport",
    "calibration_table",
    "compare",
    "per_class",
    "search_precisions",
    "sensitivity",
]
