"""clrt.accuracy.calibration_table: a TensorRT-format calibration cache read back as a table."""

import struct
from pathlib import Path

from ._report import Report


class CalibrationTable(Report):
    """Per tensor of the cache: scale and amax (= scale * 127, the symmetric INT8 range)."""

    title = "clrt.accuracy.calibration_table"
    columns = ("tensor", "scale", "amax")
    plot_columns = ("tensor", "amax")

    def __init__(self, rows, header):
        super().__init__(rows)
        self.header = header
        self.amax = {r["tensor"]: r["amax"] for r in rows}

    def summary(self):
        return {"header": self.header, "tensors": len(self.rows)}


def calibration_table(cache):
    """The cache (bytes, or a file path) as a CalibrationTable; ValueError naming the line that
    is not 'tensor: <hex scale>'."""
    data = Path(cache).read_bytes() if isinstance(cache, (str, Path)) else bytes(cache)
    lines = data.decode("utf-8", "replace").splitlines()
    if not lines or not lines[0].startswith("TRT-"):
        raise ValueError("calibration_table: not a calibration cache (no 'TRT-...' header line)")
    rows = []
    for i, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        name, _, value = line.rpartition(": ")
        try:
            (scale,) = struct.unpack(">f", bytes.fromhex(value.strip().rjust(8, "0")))
        except ValueError:
            raise ValueError(
                f"calibration_table: line {i} '{line[:60]}' is not 'tensor: <hex scale>'"
            ) from None
        rows.append({"tensor": name, "scale": scale, "amax": scale * 127.0})
    return CalibrationTable(rows, lines[0])
