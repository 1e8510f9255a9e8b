"""Recordings → features: the seed paper's 118 per-frame features (§2.1, Table 1), specs
``paper`` and ``clean``.

- ``paper`` reproduces the paper author's code exactly: every coordinate equal to 0 is replaced by
  1e-5 before anything is computed, distances and cosines are rounded to 4 decimals. Its output
  matches the author's published feature vectors to ~1e-12 (see tests/features/test_features.py).
- ``clean`` keeps full precision and treats ``z = 0`` (Kinect's lost depth) as unknown: after
  standardisation those values become 0, i.e. the fitted mean (mean imputation, done in
  :meth:`gfe.features.scaling.Standardizer.transform`, never before the statistics are fitted).


Per frame: 11 Euclidean distances D1–D11 between landmark pairs (x, y only), 7 cosines A1–A7 of
the angle at the middle landmark of each triple (x, y only), and the 100 raw z coordinates.
:func:`compute_features` is vectorised over frames; :class:`FrameFeatures` computes one frame with
exactly the same operations (for streaming), so both give identical values.

Frames with an unknown (``nan``) x or y have unknown distances/cosines; :func:`frame_mask`
marks them and they are left out of training and scoring.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np

from gfe.features.table1 import (
    ANGLE_A,
    ANGLE_B,
    ANGLE_M,
    DIST_A,
    DIST_B,
    FEATURE_NAMES,
    N_DISTANCES,
    N_FEATURES,
    N_GEOMETRIC,
    N_USED,
    XY_COLUMNS,
)


@dataclass(frozen=True)
class FeatureSpec:
    """How landmarks become the 118 features. ``version`` changes whenever outputs would."""

    name: str = "paper"
    zero_fill: float | None = 1e-5  # replace coordinates equal to 0 by this before computing
    round_decimals: int | None = 4  # round distances and cosines
    zero_depth_unknown: bool = False  # treat z == 0 as unknown (mean-imputed after scaling)
    version: int = 1

    stateful: ClassVar[bool] = False  # needs nothing fitted from data

    @property
    def n_features(self) -> int:
        return N_FEATURES

    def feature_names(self) -> tuple[str, ...]:
        return FEATURE_NAMES

    def to_dict(self) -> dict:
        return asdict(self)

    def fit(self, landmarks: np.ndarray) -> None:
        """Nothing to fit: the paper's features depend on the frame alone."""
        return None

    def compute(self, landmarks: np.ndarray, state: None = None) -> np.ndarray:
        return compute_features(landmarks, self)

    def usable(self, features: np.ndarray) -> np.ndarray:
        return frame_mask(features, self)

    def frames(self, state: None = None) -> FrameFeatures:
        """The single-frame computer for streaming (the same values as :meth:`compute`)."""
        return FrameFeatures(self)

    def state_to_dict(self, state: None) -> None:
        return None

    def state_from_dict(self, data) -> None:
        return None


PAPER = FeatureSpec()
CLEAN = FeatureSpec(name="clean", zero_fill=None, round_decimals=None, zero_depth_unknown=True)

_CHUNK = 1024


def _features_into(flat: np.ndarray, out: np.ndarray, spec: FeatureSpec) -> None:
    """Fill ``out`` (frames, 118) from ``flat`` (frames, 300 coordinates) of one chunk."""
    n_d, fill = N_DISTANCES, spec.zero_fill
    xy = flat.take(XY_COLUMNS, axis=1)
    if fill is not None:
        np.copyto(xy, fill, where=xy == 0)
    x, y = xy[:, :N_USED], xy[:, N_USED:]
    dx, dy = x[:, DIST_A] - x[:, DIST_B], y[:, DIST_A] - y[:, DIST_B]
    np.sqrt(dx * dx + dy * dy, out=out[:, :n_d])
    ux, uy = x[:, ANGLE_A] - x[:, ANGLE_M], y[:, ANGLE_A] - y[:, ANGLE_M]
    vx, vy = x[:, ANGLE_B] - x[:, ANGLE_M], y[:, ANGLE_B] - y[:, ANGLE_M]
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(
            ux * vx + uy * vy,
            np.sqrt((ux * ux + uy * uy) * (vx * vx + vy * vy)),
            out=out[:, n_d:N_GEOMETRIC],
        )
    if spec.round_decimals is not None:
        geo = out[:, :N_GEOMETRIC]
        np.round(geo, spec.round_decimals, out=geo)
    z = out[:, N_GEOMETRIC:]
    np.copyto(z, flat[:, 2::3])
    if spec.zero_depth_unknown:
        np.copyto(z, np.nan, where=z == 0)
    elif fill is not None:
        np.copyto(z, fill, where=z == 0)


def compute_features(landmarks: np.ndarray, spec: FeatureSpec = PAPER) -> np.ndarray:
    """(frames, 100, 3) landmarks → (frames, 118) unscaled features, vectorised over frames.

    ``nan`` coordinates give ``nan`` features; with ``spec.zero_depth_unknown`` a zero z is
    returned as ``nan`` too (to be imputed after scaling). Nothing else is filled in.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 3 or lm.shape[1:] != (100, 3):
        raise ValueError(f"landmarks must have shape (frames, 100, 3), got {lm.shape}")
    flat = lm.reshape(len(lm), 300)
    out = np.empty((len(lm), N_FEATURES), dtype=np.float64)
    for lo in range(0, len(lm), _CHUNK):  # chunks keep every temporary in cache
        _features_into(flat[lo : lo + _CHUNK], out[lo : lo + _CHUNK], spec)
    return out


def frame_mask(features: np.ndarray, spec: FeatureSpec = PAPER) -> np.ndarray:
    """True where a frame is usable: all features known (imputable zero depth aside)."""
    known = ~np.isnan(features)
    if spec.zero_depth_unknown:
        known[:, N_GEOMETRIC:] = True
    return known.all(axis=1)


# One frame (FrameFeatures): index pairs into the gathered block for dx, dy, ux, uy, vx, vy.
_N_A = len(ANGLE_A)
_IA = np.concatenate([DIST_A, DIST_A + N_USED, ANGLE_A, ANGLE_A + N_USED, ANGLE_B, ANGLE_B + N_USED])
_IB = np.concatenate([DIST_B, DIST_B + N_USED, ANGLE_M, ANGLE_M + N_USED, ANGLE_M, ANGLE_M + N_USED])
_S_DX, _S_DY = slice(0, N_DISTANCES), slice(N_DISTANCES, 2 * N_DISTANCES)
_O = 2 * N_DISTANCES
_S_U, _S_V = slice(_O, _O + 2 * _N_A), slice(_O + 2 * _N_A, _O + 4 * _N_A)  # (ux, uy), (vx, vy)


class FrameFeatures:
    """One frame's 118 features, computed with exactly the operations of
    :func:`compute_features` (so the values are identical), without its per-call
    overheads."""

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self.out = np.empty(N_FEATURES)

    def __call__(self, flat: np.ndarray) -> np.ndarray:
        """``flat``: the 300 coordinates (x0 y0 z0 x1 …). Returns a reused (118,) buffer.
        Call it under ``np.errstate(all="ignore")``: a zero-length side gives a nan cosine."""
        spec, out = self.spec, self.out
        g = flat[XY_COLUMNS]
        if spec.zero_fill is not None:
            g[g == 0] = spec.zero_fill
        diff = g[_IA] - g[_IB]
        sq = diff * diff
        np.sqrt(sq[_S_DX] + sq[_S_DY], out=out[:N_DISTANCES])
        u, v = sq[_S_U], sq[_S_V]
        uu = u[:_N_A] + u[_N_A:]
        vv = v[:_N_A] + v[_N_A:]
        pr = diff[_S_U] * diff[_S_V]  # ux·vx, uy·vy
        np.divide(pr[:_N_A] + pr[_N_A:], np.sqrt(uu * vv), out=out[N_DISTANCES:N_GEOMETRIC])
        if spec.round_decimals is not None:
            geo = out[:N_GEOMETRIC]
            np.round(geo, spec.round_decimals, out=geo)
        z = out[N_GEOMETRIC:]
        z[:] = flat[2::3]
        if spec.zero_depth_unknown:
            z[z == 0] = np.nan
        elif spec.zero_fill is not None:
            z[z == 0] = spec.zero_fill
        return out

    def reset(self) -> None:
        """A new recording (the paper's features keep no state)."""

    def gap(self) -> None:
        """A lost frame (the paper's features keep no state)."""

    def usable(self, f: np.ndarray) -> bool:
        """:func:`gfe.features.specs.usable_frames` for one frame."""
        if self.spec.zero_depth_unknown:
            return bool(np.isfinite(f[:N_GEOMETRIC]).all()) and not np.isinf(f[N_GEOMETRIC:]).any()
        return bool(np.isfinite(f).all())
