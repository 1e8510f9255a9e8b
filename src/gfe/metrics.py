"""Scores of a binary per-frame labelling (positive class = the expression is occurring): frame
scores, and event scores — did the model find each occurrence, and when?

**Events.** An event (segment) is a maximal run of consecutive frames labelled 1, written as the
half-open frame interval ``[start, end)``. A predicted segment matches a true one when their
temporal IoU (in frames) is at least ``min_iou`` (0.5); matching is one-to-one, greedy by IoU
(highest first; ties: earliest true, then earliest predicted segment). For IoU > 0.5 this is the
maximum matching (a predicted segment cannot overlap two disjoint true ones by more than half of
itself each), so no assignment solver is needed. Event precision = matched / predicted segments,
recall = matched / true segments, F1 their harmonic mean (1 when there are neither true nor
predicted segments). Onset error = predicted start − true start, offset error = predicted end −
true end, in frames (positive = late), over matched pairs: mean absolute (``*_mae``) and mean
signed (``*_bias``). Over several recordings the counts are summed and the errors averaged over
every matched pair (:func:`pooled_event_scores`); segments never cross a recording boundary.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

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


# ------------------------------------------------------------------------------------ events
def segments(labels: np.ndarray) -> np.ndarray:
    """(k, 2) int array of ``[start, end)`` of every run of 1s in a 0/1 (or bool) vector."""
    y = np.asarray(labels).astype(bool).astype(np.int8)
    if y.ndim != 1:
        raise ValueError("labels must be one-dimensional")
    d = np.diff(np.concatenate([[0], y, [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return np.stack([starts, ends], axis=1) if len(starts) else np.zeros((0, 2), dtype=int)


def iou_matrix(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(n_true, n_pred) temporal IoU of half-open segments."""
    if len(true) == 0 or len(pred) == 0:
        return np.zeros((len(true), len(pred)))
    ts, te = true[:, 0:1], true[:, 1:2]
    ps, pe = pred[None, :, 0], pred[None, :, 1]
    inter = np.clip(np.minimum(te, pe) - np.maximum(ts, ps), 0, None)
    union = (te - ts) + (pe - ps) - inter
    return inter / union


def match_segments(true: np.ndarray, pred: np.ndarray, min_iou: float = 0.5) -> list[tuple[int, int, float]]:
    """One-to-one matches ``(i_true, j_pred, iou)``, greedy by IoU (highest first)."""
    m = iou_matrix(true, pred)
    cand = np.argwhere(m >= min_iou)
    if len(cand) == 0:
        return []
    order = np.lexsort((cand[:, 1], cand[:, 0], -m[cand[:, 0], cand[:, 1]]))
    used_t, used_p, out = set(), set(), []
    for i, j in cand[order]:
        if i in used_t or j in used_p:
            continue
        used_t.add(int(i))
        used_p.add(int(j))
        out.append((int(i), int(j), float(m[i, j])))
    return out


@dataclass(frozen=True)
class EventScores:
    n_true: int
    n_pred: int
    n_matched: int
    precision: float
    recall: float
    f1: float
    onset_mae: float  # frames; nan when nothing matched
    offset_mae: float
    onset_bias: float  # mean signed (pred - true); positive = predicted late
    offset_bias: float

    def to_dict(self, prefix: str = "ev_") -> dict:
        return {prefix + k: v for k, v in asdict(self).items()}


def _scores(n_true: int, n_pred: int, onsets: list[int], offsets: list[int]) -> EventScores:
    k = len(onsets)
    if n_true == 0 and n_pred == 0:
        p = r = f = 1.0
    else:
        p = k / n_pred if n_pred else 0.0
        r = k / n_true if n_true else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
    on, off = np.asarray(onsets, float), np.asarray(offsets, float)
    nan = float("nan")
    return EventScores(
        n_true,
        n_pred,
        k,
        float(p),
        float(r),
        float(f),
        float(np.abs(on).mean()) if k else nan,
        float(np.abs(off).mean()) if k else nan,
        float(on.mean()) if k else nan,
        float(off.mean()) if k else nan,
    )


def _errors(y_true: np.ndarray, y_pred: np.ndarray, min_iou: float):
    t, p = segments(y_true), segments(y_pred)
    pairs = match_segments(t, p, min_iou)
    onsets = [int(p[j, 0] - t[i, 0]) for i, j, _ in pairs]
    offsets = [int(p[j, 1] - t[i, 1]) for i, j, _ in pairs]
    return len(t), len(p), onsets, offsets


def event_scores(y_true: np.ndarray, y_pred: np.ndarray, min_iou: float = 0.5) -> EventScores:
    """Event precision/recall/F1 and onset/offset errors of one recording (same length vectors)."""
    if len(y_true) != len(y_pred):
        raise ValueError("y_true and y_pred must have the same length")
    return _scores(*_errors(y_true, y_pred, min_iou))


def pooled_event_scores(pairs: Iterable[tuple[np.ndarray, np.ndarray]], min_iou: float = 0.5) -> EventScores:
    """Event scores over several recordings: counts summed, boundary errors over all matches."""
    n_t = n_p = 0
    on: list[int] = []
    off: list[int] = []
    for y_true, y_pred in pairs:
        a, b, o, f = _errors(y_true, y_pred, min_iou)
        n_t, n_p = n_t + a, n_p + b
        on += o
        off += f
    return _scores(n_t, n_p, on, off)
