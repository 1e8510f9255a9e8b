"""The seed paper's Table 1: which landmarks make the 11 distances and the 7 angles.

Besides the names, this module gives the index arrays every feature computation uses (batch and
single frame alike), so both compute exactly the same operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from gfe import N_LANDMARKS

# Paper Table 1 (landmark indices of the UCI layout).
DISTANCE_PAIRS: tuple[tuple[int, int], ...] = (
    (17, 27), (17, 2), (2, 89), (89, 39), (39, 57), (51, 57),
    (48, 54), (44, 57), (44, 89), (89, 10), (10, 27),
)  # fmt: skip
ANGLE_TRIPLES: tuple[tuple[int, int, int], ...] = (
    (27, 2, 10), (17, 10, 2), (48, 89, 54), (89, 48, 51), (89, 54, 51), (51, 48, 57), (51, 54, 57),
)  # fmt: skip
FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"D{i + 1}" for i in range(len(DISTANCE_PAIRS)))
    + tuple(f"A{i + 1}" for i in range(len(ANGLE_TRIPLES)))
    + tuple(f"z{i}" for i in range(N_LANDMARKS))
)
N_FEATURES = len(FEATURE_NAMES)  # 118
N_DISTANCES = len(DISTANCE_PAIRS)  # 11
N_ANGLES = len(ANGLE_TRIPLES)  # 7
N_GEOMETRIC = N_DISTANCES + N_ANGLES  # 18


@dataclass(frozen=True, eq=False)
class Table1Index:
    """Where Table 1's inputs sit, for the block code here and the one-frame code of
    :class:`gfe.features.paper.FrameFeatures` (the same operations on the same layout, so equal values).

    Gather ``xy_columns`` of a frame's 300 values (x0 y0 z0 x1 …): the x of the used landmarks,
    then their y. Then ``gathered[minuend] - gathered[subtrahend]`` is the x half (dx of D1–D11,
    u of A1–A7, v of A1–A7) followed by the y half in the same order; ``distances``, ``u`` and
    ``v`` slice one half.
    """

    landmarks: np.ndarray
    xy_columns: np.ndarray
    minuend: np.ndarray
    subtrahend: np.ndarray
    distances: ClassVar[slice] = slice(0, N_DISTANCES)
    u: ClassVar[slice] = slice(N_DISTANCES, N_DISTANCES + N_ANGLES)
    v: ClassVar[slice] = slice(N_DISTANCES + N_ANGLES, N_DISTANCES + 2 * N_ANGLES)
    half: ClassVar[int] = N_DISTANCES + 2 * N_ANGLES  # 25 differences per coordinate

    @classmethod
    def build(cls) -> Table1Index:
        pairs, triples = np.array(DISTANCE_PAIRS), np.array(ANGLE_TRIPLES)
        used = np.unique(np.concatenate([pairs.ravel(), triples.ravel()]))
        a = np.searchsorted(used, np.concatenate([pairs[:, 0], triples[:, 0], triples[:, 2]]))
        b = np.searchsorted(used, np.concatenate([pairs[:, 1], triples[:, 1], triples[:, 1]]))
        n = len(used)
        return cls(used, np.concatenate([3 * used, 3 * used + 1]), np.r_[a, a + n], np.r_[b, b + n])


TABLE1 = Table1Index.build()
