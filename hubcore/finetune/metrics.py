"""Classification metrics from a confusion matrix: accuracy and macro precision, recall and F1.

Metrics are computed from one confusion matrix summed over the whole evaluation set (and, when
training on several devices, over every process), never averaged over batches: a macro F1 of
batch F1s is not the F1 of the data set.
"""
from __future__ import annotations

import numpy as np

METRICS = ("acc", "precision", "recall", "f1")
# Metrics where a smaller value is better; every other metric is better when larger.
LOWER_IS_BETTER = frozenset({"loss"})


def confusion_matrix(predictions: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """counts[true, predicted] over the positions whose label is >= 0 (negative labels are padding)."""
    predictions = np.asarray(predictions).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    keep = labels >= 0
    flat = labels[keep].astype(np.int64) * num_classes + predictions[keep].astype(np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def metrics_from_confusion(counts: np.ndarray) -> dict[str, float]:
    """Accuracy, and precision/recall/F1 averaged over the classes that occur (macro).

    A class counts towards the macro average when it occurs in the labels or in the predictions,
    so a class the model never predicts pulls precision down instead of being skipped.
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total == 0:
        return {name: 0.0 for name in METRICS}
    true_pos = np.diag(counts)
    predicted = counts.sum(axis=0)
    actual = counts.sum(axis=1)
    present = (predicted + actual) > 0
    precision = np.divide(true_pos, predicted, out=np.zeros_like(true_pos), where=predicted > 0)
    recall = np.divide(true_pos, actual, out=np.zeros_like(true_pos), where=actual > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros_like(true_pos), where=denominator > 0)
    return {
        "acc": float(true_pos.sum() / total),
        "precision": float(precision[present].mean()),
        "recall": float(recall[present].mean()),
        "f1": float(f1[present].mean()),
    }


def is_better(metric: str, value: float, best: float | None) -> bool:
    """Whether value improves on best for this metric (loss: lower is better)."""
    if best is None:
        return True
    return value < best if metric in LOWER_IS_BETTER else value > best
