"""clrt.progress: progress of builds and of clrt.accuracy's trials (TensorRT 10's
IProgressMonitor).

    config.progress_monitor = clrt.progress.TqdmMonitor()   # bars in a notebook or terminal
    accuracy.search_precisions(..., progress_monitor=TqdmMonitor())

The builder reports nested phases ("Building engine" > "Calibration" > "Calibration: ranges", one
step per batch; "Range refinement", one step per tensor evaluated; "Precision selection" and
"Tactic timing", one step per layer); clrt.accuracy adds its trials ("Sensitivity trials",
"Precision search"). A monitor's step_complete returning False cancels: a build then returns
None (TensorRT's behaviour) and clrt.accuracy raises Cancelled.
"""

import sys

from ._clrt import IProgressMonitor

_OPEN = []  # names of the Python phases open now (all threads), innermost last


class Cancelled(Exception):
    """A progress monitor's step_complete returned False (clrt.accuracy's calls raise it)."""


class Phase:
    """A phase of Python work reported to `monitor` (None reports nothing) as the builder reports
    its own: phase_start on entering (the parent is the innermost open Python phase),
    phase_finish on leaving; step() reports a step and raises Cancelled on False."""

    def __init__(self, monitor, name, steps):
        self.monitor, self.name, self.steps, self.done = monitor, name, int(steps), 0

    def __enter__(self):
        if self.monitor is not None:
            parent = _OPEN[-1] if _OPEN else None
            self.monitor.phase_start(self.name, parent, self.steps)
        _OPEN.append(self.name)
        return self

    def step(self):
        step, self.done = self.done, self.done + 1
        if self.monitor is not None and not self.monitor.step_complete(self.name, step):
            raise Cancelled(
                f"cancelled by the progress monitor: step_complete('{self.name}', {step}) "
                "returned False"
            )

    def __exit__(self, *exc):
        _OPEN.remove(self.name)
        if self.monitor is not None:
            self.monitor.phase_finish(self.name)
        return False


class _Nested(IProgressMonitor):
    """`monitor` with the builder's top-level phases placed under the innermost open Python
    phase (a build inside a trial shows under it)."""

    def __init__(self, monitor):
        super().__init__()
        self.monitor = monitor

    def phase_start(self, phase_name, parent_phase, num_steps):
        if parent_phase is None and _OPEN:
            parent_phase = _OPEN[-1]
        self.monitor.phase_start(phase_name, parent_phase, num_steps)

    def step_complete(self, phase_name, step):
        return self.monitor.step_complete(phase_name, step)

    def phase_finish(self, phase_name):
        self.monitor.phase_finish(phase_name)


def nested(monitor):
    """What to set as config.progress_monitor for a build run inside Python phases (None for
    None)."""
    return None if monitor is None else _Nested(monitor)


def _tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class _TextBar:
    """tqdm's few methods used here, as plain lines: a phase's start, every tenth of its steps
    and its end (no carriage returns, so logs and notebooks stay readable)."""

    def __init__(self, total, desc, position, file):
        self.total, self.desc, self.n, self.file = total, desc, 0, file
        self.indent = "  " * position
        self._shown = -1
        self._write(f"{desc}: {total} steps")

    def _write(self, text):
        print(f"[clrt] {self.indent}{text}", file=self.file or sys.stderr, flush=True)

    def update(self, n=1):
        self.n += n
        tenth = self.n * 10 // self.total if self.total > 0 else 0
        if tenth > self._shown and self.n < self.total:
            self._shown = tenth
            self._write(f"{self.desc}: {self.n}/{self.total}")

    def close(self):
        self._write(f"{self.desc}: done ({self.n}/{self.total})")


class TqdmMonitor(IProgressMonitor):
    """One bar per open phase, nested phases below their parent: tqdm.auto's (widgets in
    Jupyter, text bars in a terminal); without tqdm, plain lines on `file` (stderr). Phases with
    fewer than `min_steps` steps get no bar. `cancel()` makes the next step_complete return
    False (a build then returns None). `.phases` lists the phases seen, in start order."""

    def __init__(self, file=None, min_steps=1, use_tqdm=True):
        super().__init__()  # pybind11 trampolines need the base __init__
        self.file, self.min_steps = file, min_steps
        self._tqdm = _tqdm() if use_tqdm else None
        self._bars = {}
        self._cancel = False
        self.phases = []

    def cancel(self):
        self._cancel = True

    def phase_start(self, phase_name, parent_phase, num_steps):
        self.phases.append(phase_name)
        if num_steps < self.min_steps:
            return
        position = len(self._bars)
        if self._tqdm is not None:
            bar = self._tqdm(
                total=num_steps,
                desc=phase_name,
                position=position,
                leave=position == 0,
                file=self.file,
            )
        else:
            bar = _TextBar(num_steps, phase_name, position, self.file)
        self._bars[phase_name] = bar

    def step_complete(self, phase_name, step):
        bar = self._bars.get(phase_name)
        if bar is not None:
            bar.update(1)
        return not self._cancel

    def phase_finish(self, phase_name):
        bar = self._bars.pop(phase_name, None)
        if bar is not None:
            bar.close()


__all__ = ["Cancelled", "IProgressMonitor", "Phase", "TqdmMonitor", "nested"]
