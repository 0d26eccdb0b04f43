"""Reports of clrt.accuracy: a table of rows with a readable repr, HTML for notebooks, pandas and
JSON conversions, and an optional matplotlib plot (matplotlib is not a dependency)."""

import html
import json
import math

import numpy as np


def _plain(v):
    """A JSON-friendly value: NumPy scalars as Python numbers, inf/nan as strings."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, np.ndarray):
        return _plain(v.tolist())
    return v


def _cell(v):
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return "" if v is None else str(v)


class Report:
    """A table (`rows`: list of dicts sharing `columns`) plus summary fields (`summary()`).
    Subclasses set `title`, `columns`, and `plot_columns` = (x label column, y value column)."""

    title = "report"
    columns = ()
    plot_columns = None

    def __init__(self, rows):
        self.rows = list(rows)

    def summary(self):
        """{field: value} shown above the table and included in to_json()."""
        return {}

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def to_dict(self):
        return {
            "title": self.title,
            **_plain(self.summary()),
            "rows": [{c: _plain(r.get(c)) for c in self.columns} for r in self.rows],
        }

    def to_json(self, indent=None):
        return json.dumps(self.to_dict(), indent=indent)

    def to_pandas(self):
        """The rows as a pandas DataFrame (ImportError naming pandas when it is missing)."""
        try:
            import pandas as pd
        except ImportError as e:
            raise ImportError(f"{type(self).__name__}.to_pandas() needs pandas installed") from e
        return pd.DataFrame([{c: r.get(c) for c in self.columns} for r in self.rows])

    def __repr__(self):
        head = [f"{self.title}:"] + [f"  {k}: {_cell(v)}" for k, v in self.summary().items()]
        table = [[str(c) for c in self.columns]] + [
            [_cell(r.get(c)) for c in self.columns] for r in self.rows
        ]
        widths = [min(48, max(len(row[i]) for row in table)) for i in range(len(self.columns))]
        lines = [
            "  " + "  ".join(cell[:48].ljust(w) for cell, w in zip(row, widths)).rstrip()
            for row in table
        ]
        return "\n".join(head + lines)

    def _repr_html_(self):
        esc = html.escape
        summary = "".join(
            f"<tr><th style='text-align:left'>{esc(str(k))}</th><td>{esc(_cell(v))}</td></tr>"
            for k, v in self.summary().items()
        )
        header = "".join(f"<th>{esc(str(c))}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{esc(_cell(r.get(c)))}</td>" for c in self.columns) + "</tr>"
            for r in self.rows
        )
        return (
            f"<div><b>{esc(self.title)}</b><table>{summary}</table>"
            f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table></div>"
        )

    def plot(self, ax=None):
        """A bar chart of plot_columns (matplotlib; ImportError naming it when missing).
        Returns the Figure."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError(f"{type(self).__name__}.plot() needs matplotlib installed") from e
        label, value = self.plot_columns
        if ax is None:
            fig, ax = plt.subplots(figsize=(max(4, 0.35 * len(self.rows)), 3))
        else:
            fig = ax.figure
        vals = [r.get(value) for r in self.rows]
        ax.bar(range(len(vals)), [v if v is not None else np.nan for v in vals])
        ax.set_xticks(range(len(vals)))
        ax.set_xticklabels([str(r.get(label))[-24:] for r in self.rows], rotation=90, fontsize=7)
        ax.set_ylabel(value)
        ax.set_title(self.title)
        fig.tight_layout()
        return fig
