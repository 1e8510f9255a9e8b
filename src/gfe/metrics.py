"""Scores of a binary per-frame labelling (positive class = the expression is occurring)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score

METRIC_NAMES = ("f1", "precision", "recall", "accuracy", "tn", "fp", "fn", "tp")


def binary_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """F1, precision and recall of the positive class, accuracy and the confusion matrix."""
    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    tn, fp, fn, tp = confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    return {
        "f1": float(f1_score(y_true, y_pred, zero_division=0)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
        "accuracy": float((tp + tn) / max(len(y_true), 1)),
        "tn": int(tn),
        "fp": int(fp),
        "fn": int(fn),
        "tp": int(tp),
    }


def f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """F1 of the positive class from counts alone (0 when nothing is predicted or present): cheap
    enough to call after every training epoch."""
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    tp = int(np.count_nonzero(y_true & y_pred))
    wrong = int(np.count_nonzero(y_true ^ y_pred))
    return 2 * tp / (2 * tp + wrong) if tp else 0.0
