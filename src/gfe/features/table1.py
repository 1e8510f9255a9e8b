"""The seed paper's Table 1: which landmarks make the 11 distances and the 7 angles.

Besides the names, this module gives the index arrays every feature computation uses (batch and
single frame alike), so both compute exactly the same operations.
"""

from __future__ import annotations

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

_P = np.array(DISTANCE_PAIRS)
_T = np.array(ANGLE_TRIPLES)

USED_LANDMARKS = np.unique(np.concatenate([_P.ravel(), _T.ravel()]))  # the landmarks of Table 1
N_USED = len(USED_LANDMARKS)
# Columns of a frame's flat 300 values (x0 y0 z0 x1 ...) to gather: x of every used landmark, then y.
XY_COLUMNS = np.concatenate([3 * USED_LANDMARKS, 3 * USED_LANDMARKS + 1])


def slot(idx: np.ndarray) -> np.ndarray:
    """Positions in the gathered block (x of every used landmark, then y) of landmarks ``idx``."""
    return np.searchsorted(USED_LANDMARKS, idx)


# Slots of the two ends of every distance, and of the ends (a, b) and middle (m) of every angle.
DIST_A, DIST_B = slot(_P[:, 0]), slot(_P[:, 1])
ANGLE_A, ANGLE_M, ANGLE_B = (slot(_T[:, i]) for i in range(3))
