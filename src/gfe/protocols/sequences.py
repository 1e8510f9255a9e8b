"""Folds → what a model sees: one :class:`Sequence` per recording, with hidden labels.

A model sees whole recordings (scaled features in frame order) and the labels of the frames it may
learn from. The label of every other frame is replaced by :data:`HIDDEN` (-1) *before* the model
is called, so no model can read a test label, whatever it does. Inputs (features) of all frames
are visible, as they are to a deployed model that labels a whole recording or a live stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gfe.protocols.pool import Pool, signer_runs

HIDDEN = -1  # the label value of every frame a model must not learn from


@dataclass(frozen=True)
class Sequence:
    """One recording as a model sees it."""

    x: np.ndarray  # (frames, features) scaled features, float
    y: np.ndarray  # (frames,) int: 0/1 where learnable, HIDDEN elsewhere
    signer: str
    usable: np.ndarray | None = None  # (frames,) False where features are unknown (masked out)
    expression: str | None = None  # the expression the labels are of

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError("x and y must have one row per frame")

    @property
    def train_mask(self) -> np.ndarray:
        return self.y != HIDDEN


def frames_of(seqs: list[Sequence]) -> tuple[np.ndarray, np.ndarray]:
    """Stack the learnable frames of all recordings: (x, y) for frame classifiers."""
    xs = [s.x[s.train_mask] for s in seqs]
    ys = [s.y[s.train_mask] for s in seqs]
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64)


def make_sequences(pool: Pool, x: np.ndarray, visible: np.ndarray) -> list[Sequence]:
    """One Sequence per signer's recording; labels outside ``visible`` (indices) are hidden."""
    mask = np.zeros(len(pool), dtype=bool)
    mask[visible] = True
    y = np.where(mask, pool.labels, HIDDEN)
    return [
        Sequence(x=x[idx], y=y[idx], signer=s, usable=pool.usable[idx], expression=pool.expression)
        for s, idx in signer_runs(pool).items()
    ]
