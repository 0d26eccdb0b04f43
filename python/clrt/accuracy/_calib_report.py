"""clrt.CalibrationReport: what an INT8 build's calibration found per tensor (histogram, max,
the algorithm's threshold, the range used and who chose it, range refinement's candidates and
their output errors), read from ``config.calibration_report`` after the build."""

import numpy as np

from ._calib_table import calibration_table
from ._report import Report


class CalibrationReport(Report):
    """One row per calibrated tensor, in the network's order. ``histogram(name)`` gives the bin
    edges and counts of |x|; ``plot(name)`` draws them with the thresholds marked; ``plot()``
    without a name draws each tensor's range as a fraction of its max."""

    title = "clrt.CalibrationReport"
    columns = (
        "tensor",
        "absmax",
        "threshold",
        "amax",
        "chosen_by",
        "refined_from",
        "candidates",
        "errors",
    )
    plot_columns = ("tensor", "amax_over_absmax")

    def __init__(self, record):
        self.record = record
        self._hist = {}
        rows = []
        for t in record["tensors"]:
            trials = list(t["trials"])
            refined = t["chosen_by"] == "refinement"
            row = {
                "tensor": t["name"],
                "absmax": t["absmax"],
                "threshold": t["threshold"],
                "amax": t["amax"],
                "chosen_by": t["chosen_by"],
                "refined_from": t["threshold"] if refined else None,
                "candidates": [a for a, _, _ in trials],
                # A candidate dropped early (it could no longer win) shows its bound as '>=x'.
                "errors": [e if done else f">={e:.4g}" for _, e, done in trials],
                "amax_over_absmax": t["amax"] / t["absmax"] if t["absmax"] > 0 else None,
            }
            rows.append(row)
            counts = np.asarray(t["hist"], dtype=np.uint64)
            if counts.size:
                self._hist[t["name"]] = (np.linspace(0.0, t["absmax"], counts.size + 1), counts)
        super().__init__(rows)
        self.by_tensor = {r["tensor"]: r for r in rows}

    def summary(self):
        r = self.record
        out = {
            "algorithm": r["algorithm"],
            "tensors": len(self.rows),
            "refined": sum(1 for row in self.rows if row["chosen_by"] == "refinement"),
        }
        if r["from_cache"]:
            out["source"] = "calibration cache"
        else:
            out.update(batches=r["batches"], batch_size=r["batch_size"])
            out["refinement_seconds"] = r["refine_seconds"]
            out["refinement_passes"] = r["refine_passes"]
        return out

    def histogram(self, tensor):
        """(bin edges, counts) of |x| for `tensor`: 2048 equal bins over [0, absmax]. KeyError
        naming the tensor when it has no histogram (a cache build, a MinMax calibrator)."""
        if tensor not in self._hist:
            have = ", ".join(list(self._hist)[:5])
            raise KeyError(f"CalibrationReport: no histogram for tensor '{tensor}' (have: {have})")
        return self._hist[tensor]

    def plot(self, tensor=None, ax=None):
        """A tensor's histogram (log counts) with the algorithm's threshold, the range used and
        the max marked; without a tensor, the bar chart of amax / absmax. Returns the Figure."""
        if tensor is None:
            return super().plot(ax=ax)
        try:
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError("CalibrationReport.plot() needs matplotlib installed") from e
        edges, counts = self.histogram(tensor)
        row = self.by_tensor[tensor]
        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 3))
        else:
            fig = ax.figure
        ax.stairs(counts.astype(np.float64), edges, fill=True, alpha=0.6)
        ax.set_yscale("symlog")
        ax.axvline(row["threshold"], color="tab:orange", linestyle="--", label="threshold")
        if row["amax"] != row["threshold"]:
            ax.axvline(row["amax"], color="tab:red", label=f"amax ({row['chosen_by']})")
        ax.axvline(row["absmax"], color="gray", linestyle=":", label="max |x|")
        ax.set_xlabel("|x|")
        ax.set_ylabel("count")
        ax.set_title(tensor[-60:])
        ax.legend(fontsize=7)
        fig.tight_layout()
        return fig


def calibration_report(config):
    """The CalibrationReport of the last build with `config`, or None when it calibrated
    nothing (no INT8 calibrator, or no build yet)."""
    record = config._calibration_record
    return None if record is None else CalibrationReport(record)


def read_calibration_cache(path):
    """A calibration cache (file path or bytes) as a table of tensor, scale and amax."""
    return calibration_table(path)
