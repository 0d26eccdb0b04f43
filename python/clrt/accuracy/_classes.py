"""clrt.accuracy.per_class: per-class recall and precision of two models on labelled data, the
confusion-matrix difference, and the classes whose recall drops although the overall accuracy
holds (the loss a single accuracy number hides)."""

import numpy as np

from ._model import as_batches, ort_session
from ._report import Report


class ClassReport(Report):
    """Per class: count, recall and precision of `a` and `b` (%), recall drop a - b (points),
    flagged. `flagged`: classes whose recall drops by more than `threshold` points;
    `confusion_a`/`confusion_b` (rows true class, columns predicted) and `confusion_delta`."""

    title = "clrt.accuracy.per_class"
    columns = (
        "class",
        "name",
        "count",
        "recall_a",
        "recall_b",
        "precision_a",
        "precision_b",
        "recall_drop",
        "flagged",
    )
    plot_columns = ("class", "recall_drop")

    def __init__(self, rows, confusion_a, confusion_b, threshold):
        super().__init__(rows)
        self.confusion_a, self.confusion_b, self.threshold = confusion_a, confusion_b, threshold
        self.confusion_delta = confusion_b - confusion_a
        n = confusion_a.sum()
        self.accuracy_a = float(np.trace(confusion_a) / n * 100) if n else 0.0
        self.accuracy_b = float(np.trace(confusion_b) / n * 100) if n else 0.0
        self.flagged = [r["class"] for r in rows if r["flagged"]]

    def summary(self):
        return {
            "accuracy_a": self.accuracy_a,
            "accuracy_b": self.accuracy_b,
            "accuracy_drop": self.accuracy_a - self.accuracy_b,
            "threshold": self.threshold,
            "flagged": self.flagged,
        }


def _predict(model, batches, output):
    """Top-1 predictions of an engine (ICudaEngine) or an ONNX model run by onnxruntime."""
    if hasattr(model, "create_execution_context"):
        ctx = model.create_execution_context()
        names = [model.get_tensor_name(i) for i in range(model.num_io_tensors)]
        outs = [n for n in names if str(model.get_tensor_mode(n)).endswith("OUTPUT")]
        name = output or outs[0]
        logits = [ctx.infer(b)[name] for b in batches]
    else:
        sess = ort_session(model)
        name = output or sess.get_outputs()[0].name
        logits = [sess.run([name], b)[0] for b in batches]
    return np.concatenate([np.asarray(v).reshape(len(v), -1).argmax(1) for v in logits])


def _input_names(model):
    if hasattr(model, "create_execution_context"):
        names = [model.get_tensor_name(i) for i in range(model.num_io_tensors)]
        return [n for n in names if str(model.get_tensor_mode(n)).endswith("INPUT")]
    return [i.name for i in ort_session(model).get_inputs()]


def per_class(a, b, data, labels, threshold=2.0, num_classes=None, class_names=None, output=None):
    """Compares models `a` (the reference, e.g. FP32) and `b` (e.g. INT8) class by class. Each
    is an ICudaEngine or an ONNX path/bytes (run by onnxruntime FP32). `labels`: int arrays
    matching `data`'s batches. Returns a ClassReport; `.flagged` lists the classes whose recall
    drops by more than `threshold` points."""
    batches = as_batches(data, _input_names(a))
    y = np.concatenate(
        [
            np.asarray(v).reshape(-1)
            for v in (labels if isinstance(labels, (list, tuple)) else [labels])
        ]
    )
    pa, pb = _predict(a, batches, output), _predict(b, batches, output)
    if len(y) != len(pa):
        raise ValueError(f"per_class: {len(y)} labels for {len(pa)} predictions")
    k = num_classes or int(max(y.max(), pa.max(), pb.max())) + 1
    conf_a = np.zeros((k, k), np.int64)
    conf_b = np.zeros((k, k), np.int64)
    np.add.at(conf_a, (y, pa), 1)
    np.add.at(conf_b, (y, pb), 1)
    rows = []
    for c in range(k):
        count = int(conf_a[c].sum())

        def pct(num, den):
            return float(num / den * 100) if den else float("nan")

        ra, rb = pct(conf_a[c, c], count), pct(conf_b[c, c], count)
        drop = ra - rb if count else 0.0
        rows.append(
            {
                "class": c,
                "name": class_names[c] if class_names else str(c),
                "count": count,
                "recall_a": ra,
                "recall_b": rb,
                "precision_a": pct(conf_a[c, c], conf_a[:, c].sum()),
                "precision_b": pct(conf_b[c, c], conf_b[:, c].sum()),
                "recall_drop": drop,
                "flagged": bool(count and drop > threshold),
            }
        )
    return ClassReport(rows, conf_a, conf_b, threshold)
