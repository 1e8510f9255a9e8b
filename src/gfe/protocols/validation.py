"""Validation frames for early stopping and decisions: carved from a fold's training frames only."""

from __future__ import annotations

import numpy as np

from gfe.protocols.pool import Pool
from gfe.protocols.splits import Fold


def carve_validation(pool: Pool, fold: Fold, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split the fold's training frames into (train, validation) — never touching test frames.

    A shuffled fold (``paper``): a random part. Every other fold: the chronologically last
    ``fraction`` of each signer's training frames, so validation lies after what it validates.
    """
    train = np.asarray(fold.train)
    if fraction <= 0 or len(train) < 10:
        return train, np.array([], dtype=int)
    if fold.shuffled:
        rng = np.random.default_rng(seed + 7919)
        val = np.sort(rng.choice(train, size=max(1, int(fraction * len(train))), replace=False))
    else:
        parts = []
        for s in dict.fromkeys(pool.signers[train]):
            own = train[pool.signers[train] == s]
            parts.append(own[len(own) - max(1, int(fraction * len(own))) :])
        val = np.sort(np.concatenate(parts))
    return np.setdiff1d(train, val), val
