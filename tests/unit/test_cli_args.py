"""Command lines without a device: clrtexec's flag parsing, usage errors and help, its layer
report from the inspector's JSON (a stand-in engine), --calibData file loading; the `clrt`
command's argument parsing."""

import json
import re

import clrt as trt
import numpy as np
import pytest
from clrt import _exec_report, cli
from clrt._exec_calib import CalibError, load_calib_data
from clrt._exec_options import UsageError, parse_args
from clrt._exec_run import LayerProfile
from clrt.clrtexec import main

MODEL = "m.onnx"  # never opened: parsing and usage errors come first


def run(capsys, *argv):
    """(exit status, stdout, stderr) of an in-process clrtexec run."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_flag_parses():
    a = parse_args(
        [
            "--onnx=m.onnx",
            "--saveEngine=e.plan",
            "--fp16",
            "--int8",
            "--calib=c.cache",
            "--calibData=d",
            "--layerPrecisions=*:fp16,conv:fp32",
            "--layerOutputTypes=conv:fp16+fp32",
            "--precisionConstraints=obey",
            "--shapes=input:2x1x28x28",
            "--minShapes=input:1x1x28x28",
            "--optShapes=input:2x1x28x28",
            "--maxShapes=input:4x1x28x28",
            "--memPoolSize=workspace:64",
            "--timingCacheFile=t.cache",
            "--builderOptimizationLevel=2",
            "--iterations=7",
            "--warmUp=5",
            "--duration=0.5",
            "--avgRuns=3",
            "--percentile=50,99.9",
            "--dumpProfile",
            "--exportProfile=p.json",
            "--dumpLayerInfo",
            "--exportLayerInfo=l.json",
            "--exportOutput=o.json",
            "--loadInputs=input:x.npy",
            "--noDataTransfers",
            "--separateProfileRun",
            "--verbose",
            "--device=1",
        ]
    )
    assert (a.onnx, a.saveEngine, a.calib, a.calibData) == ("m.onnx", "e.plan", "c.cache", "d")
    assert a.fp16 and a.int8 and a.dumpProfile and a.dumpLayerInfo and a.verbose
    assert a.noDataTransfers and a.separateProfileRun and a.profile_layers
    assert a.layerPrecisions == {"*": trt.DataType.HALF, "conv": trt.DataType.FLOAT}
    assert a.layerOutputTypes == {"conv": [trt.DataType.HALF, trt.DataType.FLOAT]}
    assert a.precisionConstraints == "obey" and a.shapes == {"input": (2, 1, 28, 28)}
    assert a.profile == {"input": ((1, 1, 28, 28), (2, 1, 28, 28), (4, 1, 28, 28))}
    assert a.memPoolSize == {"workspace": 64 << 20} and a.timingCacheFile == "t.cache"
    assert (a.builderOptimizationLevel, a.iterations, a.warmUp, a.duration) == (2, 7, 5.0, 0.5)
    assert a.avgRuns == 3 and a.percentile == [50.0, 99.9]
    assert (a.exportProfile, a.exportLayerInfo, a.exportOutput) == ("p.json", "l.json", "o.json")
    assert a.loadInputs == {"input": "x.npy"} and a.device == 1
    b = parse_args(["--loadEngine=e.plan", "--best", "--device=PoCL"])
    assert b.loadEngine == "e.plan" and b.fp16 and b.int8 and b.device == "PoCL"
    assert (b.iterations, b.warmUp, b.duration, b.avgRuns) == (10, 200.0, 3.0, 10)
    assert b.percentile == [90.0, 95.0, 99.0] and b.precisionConstraints == "none"


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--memPoolSize=workspace:512K"], {"memPoolSize": {"workspace": 512 << 10}}),
        (["--memPoolSize=workspace:1.5G"], {"memPoolSize": {"workspace": 3 << 29}}),
        (["--shapes='in:put':1x2,b:3"], {"shapes": {"in:put": (1, 2), "b": (3,)}}),
        (["--optShapes=x:2x3"], {"profile": {"x": ((2, 3), (2, 3), (2, 3))}}),
        (["--minShapes=x:1x3", "--maxShapes=x:4x3"], {"profile": {"x": ((1, 3), (4, 3), (4, 3))}}),
        (["--shapes=x:5x3"], {"profile": {"x": ((5, 3), (5, 3), (5, 3))}}),
    ],
)
def test_flag_values(argv, expected):
    a = parse_args(["--onnx=m.onnx", *argv])
    for key, value in expected.items():
        assert getattr(a, key) == value


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--onnx=m.onnx", "--noSuchFlag"], "unrecognized arguments: --noSuchFlag"),
        (["--onnx=m.onnx", "--fp1"], "unrecognized arguments: --fp1"),
        (["--onnx=m.onnx", "--shapes=input:1x3xA"], "argument --shapes: bad dims '1x3xA'"),
        (["--onnx=m.onnx", "--shapes=input"], "argument --shapes: 'input' is not name:"),
        (["--onnx=m.onnx", "--maxShapes=x:-1x3"], "argument --maxShapes: bad dims"),
        (["--onnx=m.onnx", "--layerPrecisions=a:bf16"], "--layerPrecisions: type 'bf16'"),
        (["--onnx=m.onnx", "--layerOutputTypes=a:fp17"], "--layerOutputTypes: unknown type"),
        (["--onnx=m.onnx", "--precisionConstraints=always"], "--precisionConstraints: invalid"),
        (["--onnx=m.onnx", "--iterations=0"], "--iterations: 0 is out of range"),
        (["--onnx=m.onnx", "--warmUp=soon"], "--warmUp: 'soon' is not a number"),
        (["--onnx=m.onnx", "--builderOptimizationLevel=6"], "must be in \\[0, 5\\]"),
        (["--onnx=m.onnx", "--percentile=101"], "--percentile: '101' is not a list"),
        (["--onnx=m.onnx", "--memPoolSize=dlaSRAM:1"], "pool 'dlaSRAM' has no clrt"),
        (["--onnx=m.onnx", "--memPoolSize=workspace:lots"], "bad size 'lots'"),
        (["--onnx=m.onnx", "--calibData=d"], "--calibData calibrates INT8"),
        (["--onnx=m.onnx", "--minShapes=x:4x3", "--maxShapes=x:2x3"], "min <= opt <= max"),
        (["--onnx=m.onnx", "--loadEngine=e"], "exactly one of --onnx"),
        ([], "exactly one of --onnx"),
    ],
)
def test_usage_errors_name_the_flag(argv, message):
    with pytest.raises(UsageError, match=message):
        parse_args(argv)


def test_usage_error_exits_2(capsys):
    code, out, err = run(capsys, f"--onnx={MODEL}", "--shapes=input:1xQ")
    assert code == 2 and "usage: clrtexec" in err and "argument --shapes" in err and not out


def test_help_exits_0_and_explains_timing(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "host timers" in out and "--layerPrecisions" in out


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(msg)


def test_inspector_json_feeds_layer_info_and_profile_columns(monkeypatch):
    # The inspector's JSON as the engine inspector issue specifies it, through a stand-in engine.
    info = {
        "Layers": [
            {
                "Name": "conv",
                "LayerType": "CONVOLUTION",
                "Precision": "INT8",
                "TacticName": "conv.int8_direct",
                "Inputs": [{"Name": "x", "Dimensions": [1, 3, 8, 8], "Format/Datatype": "Int8"}],
                "Outputs": [{"Name": "y", "Dimensions": [1, 4, 8, 8], "Format/Datatype": "Float"}],
            }
        ],
        "Bindings": ["x", "y"],
    }

    class Inspector:
        def get_engine_information(self, fmt):
            assert fmt == "JSON"
            return json.dumps(info)

    class Engine:
        def create_engine_inspector(self):
            return Inspector()

    fmt = type("LayerInformationFormat", (), {"JSON": "JSON"})
    monkeypatch.setattr(trt, "LayerInformationFormat", fmt, raising=False)
    got = _exec_report.layer_info(Engine())
    assert got == info and _exec_report.precision_counts(got) == {"INT8": 1}
    log = _Log()
    _exec_report.dump_layer_info(log, got)
    assert "  conv [CONVOLUTION] (x[1x3x8x8; Int8]) -> (y[1x4x8x8; Float]); Precision: INT8, " in (
        "\n".join(log.lines)
    )
    profile = LayerProfile()
    profile.add([("conv", 1.5)], 1.6)
    log = _Log()
    _exec_report.dump_profile(log, profile, got)
    row = next(line for line in log.lines if line.strip().startswith("conv "))
    assert row.split()[-2:] == ["INT8", "conv.int8_direct"]


def test_calib_data_files(tmp_path):
    shape = {"input": (-1, 1, 28, 28)}
    np.save(tmp_path / "one.npy", np.zeros((1, 28, 28), np.float64))  # one sample, no batch axis
    got = load_calib_data(tmp_path / "one.npy", shape)
    assert got["input"].shape == (1, 1, 28, 28) and got["input"].dtype == np.float32
    np.save(tmp_path / "bad.npy", np.zeros((4, 1, 28, 27), np.float32))
    with pytest.raises(CalibError, match=r"have shape \(1, 28, 27\); the input takes"):
        load_calib_data(tmp_path / "bad.npy", shape)
    per_input = tmp_path / "per_input"
    per_input.mkdir()
    for name in ("a", "b"):
        np.save(per_input / f"{name}.npy", np.ones((3, 2), np.float32))
    got = load_calib_data(per_input, {"a": (-1, 2), "b": (-1, 2)})
    assert sorted(got) == ["a", "b"] and got["a"].shape == (3, 2)
    with pytest.raises(CalibError, match="one <input name>.npy per input"):
        load_calib_data(per_input, {"a": (-1, 2), "c": (-1, 2)})


@pytest.mark.parametrize(
    "spec, message",
    [
        ("fp32:hwc8", "format 'hwc8' in 'fp32:hwc8': clrt's I/O tensors are row major only"),
        ("fp64:chw", "'fp64:chw' is not type:format"),
        ("fp32", "'fp32' is not type:format"),
    ],
)
def test_io_formats_outside_linear_are_refused(spec, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_args([f"--onnx={MODEL}", f"--inputIOFormats={spec}"])


# ---- the clrt command ----


def test_clrt_command_arguments():
    a = cli._args(["compare", "m.onnx", "--data", "x.npy", "--calib", "c.npy", "--precision=fp16"])
    assert (a.command, a.model, a.data, a.calib, a.precision) == (
        "compare",
        "m.onnx",
        "x.npy",
        "c.npy",
        "fp16",
    )
    assert (a.batch, a.keep, a.no_refine, a.opt_level, a.json) == (32, "fp16", False, None, False)
    b = cli._args(["precision-search", "m.onnx", "--data=x.npy", "--budget=0.25", "--no-refine"])
    assert b.budget == 0.25 and b.no_refine and b.labels is None


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "the following arguments are required: command"),
        (["compare", "m.onnx"], "the following arguments are required: --data"),
        (["classes", "m.onnx", "--data=x.npy"], "the following arguments are required: --labels"),
        (["compare", "m.onnx", "--data=x.npy", "--precision=int4"], "invalid choice: 'int4'"),
        (["sensitivity", "m.onnx", "--data=x.npy", "--batch=two"], "invalid int value: 'two'"),
    ],
)
def test_clrt_command_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        cli._args(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_clrt_command_missing_model(tmp_path):
    with pytest.raises(SystemExit, match="clrt: no such ONNX file: .*nope.onnx"):
        cli.main(["compare", str(tmp_path / "nope.onnx"), "--data=x.npy"])
