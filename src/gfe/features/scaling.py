"""z-scoring: per-group statistics fitted on chosen frames (never on labels), and applying them."""

from __future__ import annotations

import warnings

import numpy as np


def fit_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) per column of unlabelled frames, ignoring ``nan``; a constant or unknown column
    gets std 1 and an unknown column mean 0."""
    with np.errstate(invalid="ignore"), _quiet_nan_warnings():
        mean = np.nanmean(x, axis=0)
        std = np.nanstd(x, axis=0)
    std = np.where((std > 0) & np.isfinite(std), std, 1.0)
    return np.nan_to_num(mean), std


def scale_features(features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """z-score with given statistics; unknown values (nan: lost depth in the clean spec, or a
    masked frame) become 0, the fitted mean — as :meth:`Standardizer.transform`."""
    s = np.subtract(features, mean)
    s /= std
    np.copyto(s, 0.0, where=np.isnan(s))
    return s


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

    def fit(self, x: np.ndarray, groups: np.ndarray) -> Standardizer:
        for g in np.unique(groups):
            self.stats[str(g)] = fit_stats(x[groups == g])
        self.pooled = fit_stats(x)
        return self

    def fit_group(self, group: str, x: np.ndarray) -> Standardizer:
        self.stats[str(group)] = fit_stats(x)
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
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
