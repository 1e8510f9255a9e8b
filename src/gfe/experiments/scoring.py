"""From one fold's probabilities to its decisions and scores: frame F1 and event F1.

* **Decisions.** ``"threshold"``: a frame is positive when its probability reaches the threshold.
  ``"validation"``: smoothing, hysteresis, minimum segment length (and, for offline models, gap
  filling) chosen by :func:`gfe.models.decisions.select` on the fold's *validation* part — frames
  carved from its training frames — and then applied, unchanged, to the whole recording. Causal
  models get causal decisions only, so a live stream could make the same ones.
* **Event scores** are computed on every maximal stretch of consecutive test frames of each
  recording (the last 20 % under ``chrono``, a whole recording under the cross-signer protocols).
  A shuffled fold (``paper``) has no stretches worth the name, so its event scores are ``nan``.
"""

from __future__ import annotations

import numpy as np

from gfe.metrics import binary_metrics, pooled_event_scores
from gfe.models.decisions import Decisions, Segment, decide, select
from gfe.protocols import Fold, Pool, signer_runs

DECISIONS = ("threshold", "validation")
EVENT_COLUMNS = (
    "event_precision", "event_recall", "event_f1", "onset_error", "offset_error", "n_events", "n_predicted_events",
)  # fmt: skip


def _stretches(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[lo, hi)`` of every run of True."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def validation_segments(pool: Pool, fold: Fold, prob: np.ndarray, val: np.ndarray) -> list[Segment]:
    """The validation part of each recording, as the selector scores it (labels of validation
    frames only; the probabilities of the whole recording, which are features' outputs)."""
    in_val = np.zeros(len(pool), bool)
    in_val[val] = True
    out = []
    for idx in signer_runs(pool).values():
        mask = in_val[idx]
        if not mask.any():
            continue
        lo, hi = int(np.flatnonzero(mask)[0]), int(np.flatnonzero(mask)[-1]) + 1
        part = idx[lo:hi]
        y = np.where(in_val[part], pool.labels[part], 0)
        out.append(Segment(prob[idx], lo, hi, y, pool.usable[part] & in_val[part], events=not fold.shuffled))
    return out


def fold_decisions(
    pool: Pool, fold: Fold, prob: np.ndarray, val: np.ndarray, how: str, causal: bool, threshold: float
) -> tuple[np.ndarray, Decisions]:
    """0/1 decisions for every pool frame (0 where features are unknown) and the rule that made them."""
    if how == "validation" and len(val):
        rule, _ = select(validation_segments(pool, fold, prob, val), causal=causal)
    else:
        rule = Decisions(on=threshold, causal=causal)
    return apply_decisions(pool, prob, rule), rule


def apply_decisions(pool: Pool, prob: np.ndarray, rule: Decisions) -> np.ndarray:
    """0/1 decisions of ``rule`` for every pool frame, recording by recording (0 where unknown)."""
    labels = np.zeros(len(pool), dtype=np.int8)
    for idx in signer_runs(pool).values():
        labels[idx] = decide(prob[idx], rule)
    labels[~pool.usable] = 0
    return labels


def fold_scores(pool: Pool, fold: Fold, labels: np.ndarray) -> dict:
    """Frame scores of the test frames and event scores of their stretches."""
    scores = binary_metrics(pool.labels[fold.test], labels[fold.test])
    if fold.shuffled or not len(fold.test):
        return {**scores, **dict.fromkeys(EVENT_COLUMNS, float("nan"))}
    test = np.zeros(len(pool), bool)
    test[fold.test] = True
    pairs = []
    for idx in signer_runs(pool).values():
        for lo, hi in _stretches(test[idx]):
            part = idx[lo:hi]
            pairs.append((np.where(pool.usable[part], pool.labels[part], 0), labels[part]))
    ev = pooled_event_scores(pairs)
    return {
        **scores, "event_precision": ev.precision, "event_recall": ev.recall, "event_f1": ev.f1,
        "onset_error": ev.onset_mae, "offset_error": ev.offset_mae, "n_events": ev.n_true,
        "n_predicted_events": ev.n_pred,
    }  # fmt: skip


def validation_f1(pool: Pool, val: np.ndarray, labels: np.ndarray) -> float:
    """Frame F1 of the decisions on the validation frames (training frames held out of training),
    what choices between configurations are made on; ``nan`` when the fold carved none."""
    if not len(val):
        return float("nan")
    return binary_metrics(pool.labels[val], labels[val])["f1"]


def rescore(frames, how: str, causal: bool, threshold: float = 0.5) -> dict:
    """The scores of one kept cell fold (its per-frame predictions: signer, frame, split, label,
    prob) with decisions made ``how`` — e.g. decisions chosen on the validation frames of a run
    that used a plain threshold. For a model that carved its validation part anyway (the temporal
    ones), this equals having run with those decisions: the training is the same."""
    pool, fold, prob, val = _kept_fold(frames)
    labels, rule = fold_decisions(pool, fold, prob, val, how, causal, threshold)
    return _rescored(pool, fold, val, labels, rule)


def rescore_shared(parts, causal: bool) -> list[dict]:
    """Like :func:`rescore` with ``"validation"``, but one rule for several kept cell folds (e.g.
    the nine expressions of one shared-model fold): chosen on all their validation frames at once,
    then applied to each. Their scores, in the order of ``parts``."""
    kept = [_kept_fold(frames) for frames in parts]
    segments = [s for pool, fold, prob, val in kept for s in validation_segments(pool, fold, prob, val)]
    rule = select(segments, causal=causal)[0] if segments else Decisions(causal=causal)
    return [
        _rescored(pool, fold, val, apply_decisions(pool, prob, rule), rule) for pool, fold, prob, val in kept
    ]


def _rescored(pool: Pool, fold: Fold, val: np.ndarray, labels: np.ndarray, rule: Decisions) -> dict:
    return {
        **fold_scores(pool, fold, labels),
        "val_f1": validation_f1(pool, val, labels),
        "decision": rule.describe(),
    }


def _kept_fold(frames) -> tuple[Pool, Fold, np.ndarray, np.ndarray]:
    """A kept cell fold's predictions as (pool without features, fold, probabilities, validation)."""
    frames = frames.sort_values(["signer", "frame"], kind="stable")
    prob = frames["prob"].to_numpy(dtype=float)
    usable = np.isfinite(prob)
    pool = Pool(
        expression=str(frames["expression"].iloc[0]), features=np.zeros((len(frames), 0)),
        labels=frames["label"].to_numpy(dtype=np.int64), signers=frames["signer"].to_numpy(dtype=str),
        frame=frames["frame"].to_numpy(), usable=usable, spec=None,
    )  # fmt: skip
    split = frames["split"].to_numpy()
    idx = np.arange(len(frames))
    protocol = str(frames["protocol"].iloc[0])
    fold = Fold(protocol, "", train=idx[split == "train"], test=idx[(split == "test") & usable],
                norm_fit=idx[:0], shuffled=protocol == "paper")  # fmt: skip
    val = idx[(split == "val") & usable]
    return pool, fold, np.nan_to_num(prob), val
