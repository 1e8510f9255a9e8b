"""Recordings → features: the seed paper's 118 per-frame features (§2.1, Table 1) and z-scoring.

Per frame: 11 Euclidean distances D1–D11 between landmark pairs (x, y only), 7 cosines A1–A7 of
the angle at the middle landmark of each triple (x, y only), and the 100 raw z coordinates.

Two specs:

- ``paper`` reproduces the paper author's code exactly: every coordinate equal to 0 is replaced by
  1e-5 before anything is computed, distances and cosines are rounded to 4 decimals. Its output
  matches the author's published feature vectors to ~1e-12 (see tests/test_features_oracle.py).
- ``clean`` keeps full precision and treats ``z = 0`` (Kinect's lost depth) as unknown: after
  standardisation those values become 0, i.e. the fitted mean (mean imputation, done in
  :meth:`Standardizer.transform`, never before the statistics are fitted).

Frames with an unknown (``nan``) x or y have unknown distances/cosines; :func:`frame_mask`
marks them and they are left out of training and scoring.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from gfe.data import Recording

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
    + tuple(f"z{i}" for i in range(100))
)
N_FEATURES = len(FEATURE_NAMES)  # 118
N_GEOMETRIC = len(DISTANCE_PAIRS) + len(ANGLE_TRIPLES)  # 18

_P = np.array(DISTANCE_PAIRS)
_T = np.array(ANGLE_TRIPLES)
_CHUNK = 1024


def _xy_columns(idx: np.ndarray) -> np.ndarray:
    """Columns of (x, y) of landmarks ``idx`` in a frame's flat 300 values (x0 y0 z0 x1 ...)."""
    return (3 * idx[..., None] + np.array([0, 1])).reshape(*idx.shape[:-1], -1)


_USED = np.unique(np.concatenate([_P.ravel(), _T.ravel()]))  # landmarks of Table 1


def _slot(idx: np.ndarray) -> np.ndarray:
    """Columns of the gathered block (x of every used landmark, then y) that hold ``idx``."""
    return np.searchsorted(_USED, idx)


_XY = np.concatenate([3 * _USED, 3 * _USED + 1])  # x columns, then y columns, of Table 1's landmarks
_NU = len(_USED)
_D0, _D1 = _slot(_P[:, 0]), _slot(_P[:, 1])
_TA, _TM, _TB = (_slot(_T[:, i]) for i in range(3))


def _features_into(flat: np.ndarray, out: np.ndarray, spec: FeatureSpec) -> None:
    """Fill ``out`` (frames, 118) from ``flat`` (frames, 300 coordinates) of one chunk."""
    n_d, fill = len(DISTANCE_PAIRS), spec.zero_fill
    xy = flat.take(_XY, axis=1)
    if fill is not None:
        np.copyto(xy, fill, where=xy == 0)
    x, y = xy[:, :_NU], xy[:, _NU:]
    dx, dy = x[:, _D0] - x[:, _D1], y[:, _D0] - y[:, _D1]
    np.sqrt(dx * dx + dy * dy, out=out[:, :n_d])
    ux, uy = x[:, _TA] - x[:, _TM], y[:, _TA] - y[:, _TM]
    vx, vy = x[:, _TB] - x[:, _TM], y[:, _TB] - y[:, _TM]
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


@dataclass(frozen=True)
class FeatureSpec:
    """How landmarks become the 118 features. ``version`` changes whenever outputs would."""

    name: str = "paper"
    zero_fill: float | None = 1e-5  # replace coordinates equal to 0 by this before computing
    round_decimals: int | None = 4  # round distances and cosines
    zero_depth_unknown: bool = False  # treat z == 0 as unknown (mean-imputed after scaling)
    version: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


PAPER = FeatureSpec()
CLEAN = FeatureSpec(name="clean", zero_fill=None, round_decimals=None, zero_depth_unknown=True)
SPECS = {s.name: s for s in (PAPER, CLEAN)}


def spec_by_name(name: str) -> FeatureSpec:
    from gfe.errors import GfeError

    if name not in SPECS:
        raise GfeError(f"unknown feature spec {name!r}; choose one of: {', '.join(SPECS)}")
    return SPECS[name]


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


def recording_features(rec: Recording, spec: FeatureSpec = PAPER) -> tuple[np.ndarray, np.ndarray]:
    """Unscaled features and usable-frame mask of one recording."""
    x = compute_features(rec.landmarks, spec)
    return x, frame_mask(x, spec)


class Standardizer:
    """Per-group z-score (population std, as ``scipy.stats.zscore``), fitted on chosen frames.

    Groups are signers in every protocol here. Statistics ignore ``nan`` per column, so a frame
    with unknown x/y still contributes its known z values (as the paper author's code did). A
    group never seen in ``fit`` is scaled with statistics pooled over all fitted frames, unless
    statistics for it are added by :meth:`fit_group` (e.g. a new signer's unlabelled frames).
    """

    def __init__(self) -> None:
        self.stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.pooled: tuple[np.ndarray, np.ndarray] | None = None

    @staticmethod
    def _stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore"), _quiet_nan_warnings():
            mean = np.nanmean(x, axis=0)
            std = np.nanstd(x, axis=0)
        std = np.where((std > 0) & np.isfinite(std), std, 1.0)
        return np.nan_to_num(mean), std

    def fit(self, x: np.ndarray, groups: np.ndarray) -> Standardizer:
        for g in np.unique(groups):
            self.stats[str(g)] = self._stats(x[groups == g])
        self.pooled = self._stats(x)
        return self

    def fit_group(self, group: str, x: np.ndarray) -> Standardizer:
        self.stats[str(group)] = self._stats(x)
        return self

    def transform(self, x: np.ndarray, groups: np.ndarray) -> np.ndarray:
        out = np.empty_like(x, dtype=np.float64)
        for g in np.unique(groups):
            sel = groups == g
            mean, std = self.stats.get(str(g)) or self.pooled or self._missing()
            out[sel] = (x[sel] - mean) / std
        # Remaining nan are imputable unknowns (zero depth in the clean spec) → the fitted mean.
        # Frames with unknown geometry are excluded by the mask, so their value is irrelevant.
        return np.nan_to_num(out, nan=0.0)

    @staticmethod
    def _missing():
        raise RuntimeError("Standardizer.transform called before fit")

    def to_dict(self) -> dict:
        return {g: {"mean": m.tolist(), "std": s.tolist()} for g, (m, s) in self.stats.items()}


class _quiet_nan_warnings:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
