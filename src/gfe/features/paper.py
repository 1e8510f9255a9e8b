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

from gfe.features.table1 import FEATURE_NAMES, N_ANGLES, N_DISTANCES, N_FEATURES, N_GEOMETRIC, TABLE1


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

_CHUNK = 512  # frames per block: its scratch stays in cache; the per-block Python costs ~3 %


class _Block:
    """Scratch arrays for blocks of ``n`` frames, landmark-major (frames contiguous), so that every
    step is one long vector operation; few and reused, so that they stay in cache. The arithmetic
    is exactly the paper's, in the same order."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.a = np.empty((2, TABLE1.half, n))  # differences: x half, y half
        self.b = np.empty((2, TABLE1.half, n))  # subtrahends, then squares, sums, products
        self.geo = np.empty((N_GEOMETRIC, n))
        self.zero = np.empty(n * N_FEATURES, dtype=bool)

    def fill(self, flat: np.ndarray, out: np.ndarray, spec: FeatureSpec) -> None:
        """``out`` (n, 118), C-contiguous, from ``flat`` (n, 300)."""
        np.copyto(out[:, N_GEOMETRIC:], flat[:, 2::3])
        zero_z = np.nan if spec.zero_depth_unknown else spec.zero_fill
        if zero_z is not None:  # on the whole contiguous block: its geometric columns come next
            block = out.reshape(-1)
            np.copyto(block, zero_z, where=np.equal(block, 0, out=self.zero))
        self._geometry(flat, spec)
        np.copyto(out[:, :N_GEOMETRIC], self.geo.T)

    def _geometry(self, flat: np.ndarray, spec: FeatureSpec) -> None:
        t, d, b, n = TABLE1, self.a, self.b, self.n
        g = flat.T[t.xy_columns]  # (22, n)
        if spec.zero_fill is not None and not g.all():
            np.copyto(g, spec.zero_fill, where=g == 0)
        np.take(g, t.minuend, axis=0, out=d.reshape(2 * t.half, n), mode="clip")  # clip: unbuffered
        np.take(g, t.subtrahend, axis=0, out=b.reshape(2 * t.half, n), mode="clip")
        np.subtract(d, b, out=d)
        np.multiply(d, d, out=b)
        s = np.add(b[0], b[1], out=b[0])  # dx² + dy² of D1–D11, |u|² and |v|² of A1–A7
        np.sqrt(s[t.distances], out=self.geo[:N_DISTANCES])
        den = np.multiply(s[t.u], s[t.v], out=b[1, :N_ANGLES])
        np.sqrt(den, out=den)
        dots = np.multiply(d[:, t.u], d[:, t.v], out=b[1, N_ANGLES : 3 * N_ANGLES].reshape(2, N_ANGLES, n))
        np.add(dots[0], dots[1], out=dots[0])  # ux·vx + uy·vy
        np.divide(dots[0], den, out=self.geo[N_DISTANCES:])
        if spec.round_decimals is not None:
            np.round(self.geo, spec.round_decimals, out=self.geo)


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
    block = _Block(min(_CHUNK, len(lm)))
    with np.errstate(invalid="ignore", divide="ignore"):
        for lo in range(0, len(lm), _CHUNK):
            rows = slice(lo, lo + _CHUNK)
            if len(out[rows]) != block.n:  # the last, shorter block
                block = _Block(len(out[rows]))
            block.fill(flat[rows], out[rows], spec)
    return out


def frame_mask(features: np.ndarray, spec: FeatureSpec = PAPER) -> np.ndarray:
    """True where a frame is usable: all features known (imputable zero depth aside)."""
    known = ~np.isnan(features)
    if spec.zero_depth_unknown:
        known[:, N_GEOMETRIC:] = True
    return known.all(axis=1)


class FrameFeatures:
    """One frame's 118 features, computed with exactly the operations of
    :func:`compute_features` on the same :data:`gfe.features.table1.TABLE1` layout (so the
    values are identical), without its per-call overheads."""

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self.out = np.empty(N_FEATURES)

    def __call__(self, flat: np.ndarray) -> np.ndarray:
        """``flat``: the 300 coordinates (x0 y0 z0 x1 …). Returns a reused (118,) buffer.
        Call it under ``np.errstate(all="ignore")``: a zero-length side gives a nan cosine."""
        spec, out, t = self.spec, self.out, TABLE1
        g = flat[t.xy_columns]
        if spec.zero_fill is not None:
            g[g == 0] = spec.zero_fill
        d = (g[t.minuend] - g[t.subtrahend]).reshape(2, t.half)  # x half, y half
        sq = d * d
        s = sq[0] + sq[1]
        np.sqrt(s[t.distances], out=out[:N_DISTANCES])
        den = np.sqrt(s[t.u] * s[t.v])
        np.divide(d[0, t.u] * d[0, t.v] + d[1, t.u] * d[1, t.v], den, out=out[N_DISTANCES:N_GEOMETRIC])
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
