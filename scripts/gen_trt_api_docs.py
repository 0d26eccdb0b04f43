"""Writes docs/tensorrt_api.md: TensorRT 10's Python API (the classes, members and functions
scripts use), and for each whether clrt implements it, refuses it (and why) or lacks it.
`--check` exits 1 when the file is not what this script would write (the test suite runs it)."""

import argparse
import sys
from pathlib import Path

import clrt

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "tensorrt_api.md"

# TensorRT 10's Python API by owner ("" for module level).
API = {
    "": "init_libnvinfer_plugins get_plugin_registry get_builder_plugin_registry volume nptype "
    "Weights Dims Dims2 Dims3 Dims4 DimsHW float32 float16 bfloat16 int8 int32 int64 uint8 bool "
    "fp8 int4 __version__",
    "Logger": "min_severity log",
    "Builder": "create_network create_builder_config create_optimization_profile "
    "build_serialized_network build_serialized_network_to_stream build_engine_with_config "
    "is_network_supported platform_has_tf32 "
    "platform_has_fast_fp16 platform_has_fast_int8 num_DLA_cores max_DLA_batch_size logger "
    "max_threads reset get_plugin_registry",
    "IBuilderConfig": "set_flag clear_flag get_flag flags set_memory_pool_limit "
    "get_memory_pool_limit add_optimization_profile num_optimization_profiles "
    "set_calibration_profile get_calibration_profile int8_calibrator profiling_verbosity "
    "builder_optimization_level avg_timing_iterations default_device_type DLA_core "
    "set_device_type get_device_type can_run_on_DLA engine_capability "
    "create_timing_cache set_timing_cache get_timing_cache algorithm_selector "
    "set_tactic_sources get_tactic_sources set_preview_feature get_preview_feature "
    "hardware_compatibility_level max_aux_streams progress_monitor runtime_platform "
    "set_quantization_flag clear_quantization_flag get_quantization_flag reset",
    "INetworkDefinition": "add_input mark_output unmark_output get_input get_output get_layer "
    "num_inputs num_outputs num_layers name flags get_flag add_convolution_nd add_activation "
    "add_elementwise add_pooling_nd add_matrix_multiply add_softmax add_concatenation "
    "add_shuffle add_constant add_scale add_scale_nd add_identity add_cast add_unary add_reduce "
    "add_slice add_gather add_gather_v2 add_shape add_resize add_topk add_padding_nd add_deconvolution_nd "
    "add_select add_fill add_quantize add_dequantize add_einsum add_loop add_if_conditional "
    "add_plugin_v2 add_plugin_v3 add_normalization add_one_hot add_nms add_non_zero add_scatter "
    "add_grid_sample mark_debug unmark_debug is_debug_tensor mark_output_for_shapes set_weights_name "
    "has_implicit_batch_dimension remove_tensor",
    "ITensor": "name shape dtype dynamic_range set_dynamic_range reset_dynamic_range "
    "is_network_input is_network_output is_shape_tensor is_execution_tensor location "
    "allowed_formats broadcast_across_batch set_dimension_name get_dimension_name",
    "ILayer": "name type num_inputs num_outputs get_input get_output set_input precision "
    "precision_is_set reset_precision set_output_type get_output_type output_type_is_set "
    "reset_output_type metadata",
    "OnnxParser": "parse parse_from_file parse_with_weight_descriptors num_errors get_error "
    "clear_errors supports_operator supports_model flags set_flag clear_flag get_flag "
    "get_used_vc_plugin_libraries set_builder_config",
    "IOptimizationProfile": "set_shape get_shape set_shape_input get_shape_input "
    "extra_memory_target",
    "Runtime": "deserialize_cuda_engine logger max_threads engine_host_code_allowed "
    "load_runtime temporary_directory tempfile_control_flags DLA_core gpu_allocator",
    "ICudaEngine": "num_io_tensors get_tensor_name get_tensor_mode get_tensor_shape "
    "get_tensor_dtype get_tensor_profile_shape get_tensor_profile_values "
    "num_optimization_profiles num_layers device_memory_size device_memory_size_v2 name "
    "create_execution_context create_execution_context_without_device_memory "
    "get_device_memory_size_for_profile get_device_memory_size_for_profile_v2 "
    "create_engine_inspector serialize refittable "
    "profiling_verbosity get_tensor_format get_tensor_format_desc get_tensor_location "
    "get_tensor_vectorized_dim get_tensor_components_per_element is_shape_inference_io "
    "get_tensor_bytes_per_component has_implicit_batch_dimension engine_capability "
    "hardware_compatibility_level num_aux_streams weight_streaming_budget_v2 "
    "streamable_weights_size create_serialization_config serialize_with_config is_debug_tensor",
    "IExecutionContext": "engine name set_input_shape get_tensor_shape set_tensor_address "
    "get_tensor_address execute_v2 execute_async_v3 set_optimization_profile_async "
    "active_optimization_profile all_input_dimensions_specified all_shape_inputs_specified "
    "profiler debug_sync set_output_allocator get_output_allocator set_input_consumed_event "
    "get_max_output_size infer_shapes enqueue_emits_profile report_to_profiler "
    "persistent_cache_limit nvtx_verbosity set_aux_streams device_memory set_device_memory "
    "update_device_memory_size_for_shapes "
    "set_debug_listener get_debug_listener set_all_tensors_debug_state "
    "set_tensor_debug_state get_debug_state",
    "IHostMemory": "nbytes dtype",
    "IEngineInspector": "get_layer_information get_engine_information execution_context",
    "IInt8Calibrator": "get_batch_size get_batch read_calibration_cache "
    "write_calibration_cache get_algorithm",
    "IProfiler": "report_layer_time",
    "IProgressMonitor": "phase_start step_complete phase_finish",
    "IDebugListener": "process_debug_tensor",
    "IStreamReader": "read",
    "IStreamReaderV2": "read seek",
    "IStreamWriter": "write",
    "Refitter": "set_weights set_named_weights unset_named_weights get_named_weights "
    "get_weights_prototype get_weights_location get_all get_all_weights get_missing "
    "get_missing_weights refit_cuda_engine refit_cuda_engine_async weights_validation "
    "max_threads logger set_dynamic_range get_dynamic_range get_tensors_with_dynamic_range "
    "error_recorder",
    "OnnxParserRefitter": "refit_from_file refit_from_bytes num_errors get_error clear_errors",
    "Classes": "IInt8EntropyCalibrator2 IInt8EntropyCalibrator IInt8MinMaxCalibrator "
    "IInt8LegacyCalibrator Profiler Refitter OnnxParserRefitter IOutputAllocator IGpuAllocator "
    "IGpuAsyncAllocator ITimingCache IAlgorithmSelector IProgressMonitor IDebugListener "
    "ISerializationConfig IPluginRegistry IPluginV2 IPluginV3 IErrorRecorder",
    "Enums": "DataType LayerType ActivationType ElementWiseOperation PoolingType "
    "MatrixOperation PaddingMode ScaleMode BuilderFlag MemoryPoolType "
    "NetworkDefinitionCreationFlag ProfilingVerbosity LayerInformationFormat DeviceType "
    "TensorIOMode TensorFormat TensorLocation SeekPosition CalibrationAlgoType ErrorCode "
    "ExecutionContextAllocationStrategy "
    "OnnxParserFlag EngineCapability TacticSource PreviewFeature HardwareCompatibilityLevel "
    "QuantizationFlag UnaryOperation ReduceOperation ResizeMode SampleMode TopKOperation "
    "FillOperation GatherMode ScatterMode WeightsRole",
}

# What clrt refuses on purpose, and why (a member listed here must not exist in clrt).
REFUSED = {
    "get_plugin_registry": "plugins are not offered (init_libnvinfer_plugins is a no-op)",
    "get_builder_plugin_registry": "plugins are not offered",
    "Builder.get_plugin_registry": "plugins are not offered",
    "INetworkDefinition.add_plugin_v2": "plugins are not offered",
    "INetworkDefinition.add_plugin_v3": "plugins are not offered",
    "IPluginRegistry": "plugins are not offered",
    "IPluginV2": "plugins are not offered",
    "IPluginV3": "plugins are not offered",
    "IGpuAllocator": "device memory is OpenCL buffers that clrt allocates itself",
    "IGpuAsyncAllocator": "device memory is OpenCL buffers that clrt allocates itself",
    "Runtime.gpu_allocator": "device memory is OpenCL buffers that clrt allocates itself",
    "Runtime.DLA_core": "no DLA on OpenCL",
    "Runtime.load_runtime": "no lean/version-compatible runtimes",
    "IBuilderConfig.set_device_type": "no DLA on OpenCL (default_device_type is GPU only)",
    "IBuilderConfig.can_run_on_DLA": "no DLA on OpenCL",
    "Builder.max_DLA_batch_size": "no DLA on OpenCL",
    "IBuilderConfig.set_tactic_sources": "tactics are clrt's OpenCL kernels and CLBlast, not "
    "cuBLAS/cuDNN",
    "IBuilderConfig.algorithm_selector": "deprecated in TensorRT 10; tactics are chosen by timing",
    "IAlgorithmSelector": "deprecated in TensorRT 10",
    "IExecutionContext.set_aux_streams": "one OpenCL queue per context",
    "ICudaEngine.weight_streaming_budget_v2": "no weight streaming",
    "ICudaEngine.streamable_weights_size": "no weight streaming",
}

# What clrt implements in part: the limits, shown beside "yes".
NOTES = {
    "Refitter": "BuilderFlag.REFIT (also REFIT_IDENTICAL, STRIP_PLAN, which keeps the weights): "
    "a refit replays the graph passes over the new weights and reloads the engine with its "
    "tactics, precisions and INT8 ranges; contexts made before it raise on their next run",
    "Refitter.get_missing": "always empty: weights not set keep the engine's values",
    "Refitter.get_missing_weights": "always empty: weights not set keep the engine's values",
    "Refitter.get_all_weights": "the float initializers of the ONNX model the engine was parsed "
    "from (batch norms' and others the import computes from included)",
    "Refitter.refit_cuda_engine_async": "refits before returning",
    "Builder.is_network_supported": "runs the build and discards the engine: True exactly when "
    "build_serialized_network would succeed, at a build's cost and with its effects (calibrator "
    "read, timing cache filled)",
    "Builder.max_threads": "stored only (a limit in TensorRT): clrt's builder compiles on "
    "threads of its own and, on NVIDIA, in worker processes (CLRT_BUILD_THREADS, "
    "CLRT_COMPILE_WORKERS)",
    "OnnxParser.set_builder_config": "accepted: clrt's import depends on no builder setting",
    "IExecutionContext.debug_sync": "execute_v2 waits for each layer and logs it (INFO): layer "
    "name and tactic",
    "OnnxParser.get_used_vc_plugin_libraries": "always empty: clrt loads no plugin libraries",
    "IBuilderConfig.get_device_type": "always GPU (no DLA on OpenCL)",
    "Builder.reset": "restores max_threads, the builder's only setting",
    "IBuilderConfig.engine_capability": "STANDARD; SAFETY and DLA_STANDALONE raise "
    "UnsupportedError",
    "IBuilderConfig.get_tactic_sources": "0: none of TacticSource's NVIDIA libraries is used "
    "(set_tactic_sources refused)",
    "IBuilderConfig.set_preview_feature": "PROFILE_SHARING_0806 always on, "
    "ALIASED_PLUGIN_IO_10_03 always off; the other state raises UnsupportedError",
    "IBuilderConfig.hardware_compatibility_level": "NONE; AMPERE_PLUS raises UnsupportedError",
    "IBuilderConfig.max_aux_streams": "stored; a maximum, and clrt engines use no auxiliary "
    "stream (one OpenCL queue), so every value is met",
    "IBuilderConfig.runtime_platform": "SAME_AS_BUILD; WINDOWS_AMD64 raises UnsupportedError",
    "IBuilderConfig.set_quantization_flag": "CALIBRATE_BEFORE_FUSION raises UnsupportedError "
    "(clrt calibrates the fused network)",
    "EngineCapability": "STANDARD only",
    "OnnxParser.flags": "always NATIVE_INSTANCENORM (TensorRT 10's default): clrt imports "
    "InstanceNormalization with its own layers; clear_flag raises UnsupportedError",
    "OnnxParserFlag": "NATIVE_INSTANCENORM, always on",
    "HardwareCompatibilityLevel": "NONE only",
    "QuantizationFlag": "CALIBRATE_BEFORE_FUSION cannot be set",
    "int4": "engine I/O, Cast and Q/DQ (one element per byte, as ml_dtypes.int4); layers "
    "compute it as INT32",
    "fp8": "engine I/O, Cast and Q/DQ (ml_dtypes.float8_e4m3fn); layers compute it as FLOAT",
    "INetworkDefinition.add_slice": "SampleMode.STRICT_BOUNDS with static start/shape/stride; "
    "stride 0 as a broadcast of dims of 1 only (an EXPAND after an extra constant layer); "
    "set_input of inputs 1-5 raises UnsupportedError",
    "INetworkDefinition.add_gather": "GatherMode.DEFAULT needs num_elementwise_dims 0",
    "INetworkDefinition.add_topk": "indices are INT64 (TensorRT's INT32); k as a tensor (set_input(1)) must be "
    "known on the host",
    "INetworkDefinition.add_padding_nd": "zero padding; pre/post_padding_nd read back the "
    "innermost dims from the outermost padded one (at least two)",
    "SampleMode": "slices take STRICT_BOUNDS only; grid sampling FILL, CLAMP and REFLECT",
    "INetworkDefinition.add_resize": "output by shape, scales or set_input(1) with a shape or "
    "scales tensor known on the host; ResizeSelector.UPPER with HALF_PIXEL only (ONNX "
    "pytorch_half_pixel)",
    "INetworkDefinition.add_quantize": "INT8/UINT8 outputs (FP8/INT4 refused); zero point "
    "through set_input(2)",
    "INetworkDefinition.add_dequantize": "INT8/UINT8/INT32 inputs to FLOAT",
    "INetworkDefinition.add_one_hot": "built from several layers (get_layer lists them); "
    "set_input refused",
    "INetworkDefinition.add_normalization": "axes a run of trailing dims; built from several "
    "layers (get_layer lists them); num_groups > 1 needs static C and spatial dims; set_input "
    "refused",
    "INetworkDefinition.add_scatter": "ELEMENT and ND, no reduction",
    "INetworkDefinition.add_einsum": "one or two inputs of static dims, each label of one size "
    "(no broadcasting); built from several layers as the ONNX importer builds Einsum (get_layer "
    "lists them); equation fixed once added, set_input refused",
}


def _owner(name):
    if name in ("", "Classes", "Enums"):
        return clrt
    return getattr(clrt, name, None)


def rows():
    """(owner, member, status, note) for every API entry."""
    out = []
    for owner, members in API.items():
        obj = _owner(owner)
        for member in members.split():
            key = member if owner in ("", "Classes", "Enums") else f"{owner}.{member}"
            have = obj is not None and hasattr(obj, member)
            if key in REFUSED:
                if have:
                    raise SystemExit(f"{key} is listed as refused but clrt has it")
                out.append((owner, member, "refused", REFUSED[key]))
            else:
                note = NOTES.get(key, "") if have else ""
                out.append((owner, member, "yes" if have else "not yet", note))
    return out


def render():
    table = rows()
    counts = {s: sum(1 for r in table if r[2] == s) for s in ("yes", "refused", "not yet")}
    lines = [
        "# TensorRT's Python API in clrt",
        "",
        "Generated by `python scripts/gen_trt_api_docs.py` from the clrt module itself: the",
        "TensorRT 10 classes, members and functions that scripts use, and whether `import clrt as",
        "trt` provides each (yes), refuses it on purpose (refused, with the reason) or does not",
        "have it yet (not yet). Enum members and deprecated TensorRT 8 names are not listed.",
        "`clrt.tensorrt` is the same module with TensorRT's API version as `__version__`",
        f"({_api_version()}), for clients such as Polygraphy that check it.",
        "",
        f"Totals: {counts['yes']} yes, {counts['refused']} refused, {counts['not yet']} not yet.",
        "",
    ]
    current = None
    for owner, member, status, note in table:
        if owner != current:
            current = owner
            title = {"": "Module functions and aliases", "Classes": "Classes"}.get(owner, owner)
            lines += ["", f"## {title}", "", "| name | clrt | note |", "| --- | --- | --- |"]
        lines.append(f"| `{member}` | {status} | {note} |")
    return "\n".join(lines) + "\n"


def _api_version():
    import clrt.tensorrt

    return clrt.tensorrt.__version__


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="compare with the file, write nothing")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        if not OUT.is_file() or OUT.read_text() != text:
            print(f"{OUT} is out of date: run python scripts/gen_trt_api_docs.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"{len(rows())} entries -> {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
