"""One interface for every model of the benchmark: frame classifiers and temporal models alike.

An estimator sees whole recordings (``Sequence``: scaled features in frame order) and, per
recording, a boolean mask of the frames whose labels it may learn from. Labels of every other
frame are replaced by ``HIDDEN`` (-1) *before* the estimator is called, so no estimator can read a
test label, whatever it does. Inputs (features) of all frames are visible, as they are to a
deployed model that labels a whole recording or a live stream: a causal model reads past frames
only, an offline model (BiLSTM) the whole recording.

Frame classifiers simply take the masked frames; temporal models run along the recording and
compute their loss on the masked frames only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

HIDDEN = -1  # the label value of every frame an estimator must not learn from


@dataclass(frozen=True)
class Sequence:
    """One recording as an estimator sees it."""

    x: np.ndarray  # (frames, features) scaled features, float
    y: np.ndarray  # (frames,) int: 0/1 where learnable, HIDDEN elsewhere
    signer: str
    usable: np.ndarray | None = None  # (frames,) False where features are unknown (masked out)

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError("x and y must have one row per frame")

    @property
    def train_mask(self) -> np.ndarray:
        return self.y != HIDDEN


@runtime_checkable
class Estimator(Protocol):
    """What the benchmark needs of a model."""

    name: str
    causal: bool  # True when the output at frame t depends on frames <= t only

    def fit(self, train: list[Sequence], seed: int, val: list[Sequence] | None = None) -> Estimator:
        """Learn from the frames with ``y != HIDDEN``. ``val`` (same recordings, other frames
        labelled) may drive early stopping; it is carved from training frames only."""
        ...

    def predict_proba(self, seqs: list[Sequence]) -> list[np.ndarray]:
        """Probability of the positive class for every frame of every recording."""
        ...


def frames_of(seqs: list[Sequence]) -> tuple[np.ndarray, np.ndarray]:
    """Stack the learnable frames of all recordings: (x, y) for frame classifiers."""
    xs = [s.x[s.train_mask] for s in seqs]
    ys = [s.y[s.train_mask] for s in seqs]
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64)


# Models that carve an early-stopping validation part from their training frames.
USES_VALIDATION = {"seq-lstm", "bilstm", "gru", "tcn"}


def uses_validation(name: str, params: dict | None = None) -> bool:
    """Whether ``name`` with ``params`` early-stops on validation frames: the temporal models
    always, the paper's frame models when given a ``patience``."""
    return name in USES_VALIDATION or (params or {}).get("patience") is not None


def registry() -> dict:
    """Every estimator name → factory (keyword parameters). Imported lazily: the modules that
    define them import this one."""
    from gfe import baselines, temporal

    return {**baselines.ESTIMATORS, **temporal.ESTIMATORS}


def make_estimator(name: str, **params) -> Estimator:
    from gfe.errors import GfeError

    known = registry()
    if name not in known:
        raise GfeError(f"unknown model {name!r}; choose one of: {', '.join(known)}")
    try:
        return known[name](**params)
    except TypeError as exc:
        raise GfeError(f"bad parameters for model {name!r}: {exc}") from None
