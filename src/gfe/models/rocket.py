"""MiniRocket (optional package ``aeon``) on causal windows of the last frames, plus the frame."""

from __future__ import annotations

import importlib.util
from typing import ClassVar

import numpy as np

from gfe.errors import GfeError
from gfe.models.base import FrameModel, Param, Tags, frame_inputs, training_frames
from gfe.models.sklearn import sk_seed
from gfe.protocols import Sequence

ROCKET_MISSING = "the 'minirocket' model needs the optional package aeon: pip install 'gfe[rocket]'"


def rocket_available() -> bool:
    """Whether the optional package for the 'minirocket' model is installed."""
    return importlib.util.find_spec("aeon") is not None


def causal_windows(x: np.ndarray, window: int) -> np.ndarray:
    """(frames, features, window): for each frame the ``window`` frames ending at it, oldest
    first; before the first frame the recording is padded with copies of its first frame."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    padded = np.concatenate([np.repeat(x[:1], window - 1, axis=0), x])
    return np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(padded, window, axis=0))


class MiniRocketModel(FrameModel):
    """MiniRocket features of the last ``window`` frames ending at each frame (causal), then a
    linear classifier on the learnable frames' windows. Windows may include frames whose labels
    are hidden: their *features* are visible, as in deployment.

    MiniRocket's kernels sum to zero, so its features ignore a window's level and see only its
    shape; with ``current_frame=True`` (default) the frame's own features are appended, so the
    classifier sees the level (what the frame classifiers see) as well as the recent motion.

    ``classifier="ridge"`` (default, as the MiniRocket paper): RidgeClassifierCV; ridge regresses
    the labels coded ±1, so ``(decision + 1) / 2`` clipped to [0, 1] is its estimate of P(class 1)
    and the 0.5 threshold is the ridge decision. ``classifier="logreg"``: logistic regression on
    standardised MiniRocket features (calibrated probabilities).

    Needs the optional package ``aeon`` (checked at construction, so a benchmark fails before it
    starts). Its numba kernels compile on first use (~25 s, cached on disk afterwards).
    """

    name = "minirocket"
    tags = Tags(label="minirocket", colour="black", requires=("aeon",), order=90,
                about="MiniRocket on causal 16-frame windows plus the current frame (optional: gfe[rocket])")  # fmt: skip
    _params = ("window", "n_kernels", "classifier", "current_frame")
    PARAMS: ClassVar[dict[str, Param]] = {
        "window": Param("int", 9, 10_000),  # at least MiniRocket's kernel length
        "n_kernels": Param("int", 84, 100_000),  # at least MiniRocket's 84 base kernels
        "classifier": Param("choice", choices=("ridge", "logreg")),
        "current_frame": Param("bool"),
    }

    def __init__(
        self, window: int = 16, n_kernels: int = 10_000, classifier: str = "ridge", current_frame: bool = True
    ) -> None:
        if not rocket_available():
            raise GfeError(ROCKET_MISSING)
        self.check(window=window, n_kernels=n_kernels, classifier=classifier, current_frame=current_frame)
        self.window = window
        self.n_kernels = n_kernels
        self.classifier = classifier
        self.current_frame = bool(current_frame)

    @classmethod
    def test_params(cls) -> dict:
        return {"window": 9, "n_kernels": 84}

    def _transform(self, wins: np.ndarray) -> np.ndarray:
        feats = np.asarray(self.rocket_.transform(wins), dtype=np.float64)
        if self.current_frame:
            feats = np.hstack([feats, wins[:, :, -1]])
        return feats

    def _windows(self, seqs: list[Sequence], learnable: bool) -> np.ndarray:
        parts = []
        for s in seqs:
            if len(s.x) == 0:
                continue
            w = causal_windows(s.x, self.window)
            parts.append(w[s.train_mask] if learnable else w)
        return np.concatenate(parts)

    def _fit(self, train: list[Sequence], seed: int, val, monitor) -> None:
        try:
            from aeon.transformations.collection.convolution_based import MiniRocket
        except ImportError:
            raise GfeError(ROCKET_MISSING) from None
        from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        x, y = training_frames(train, self.name)  # checks labels; windows are built below
        wins = self._windows(train, learnable=True)
        seed = sk_seed(seed)
        self.rocket_ = MiniRocket(n_kernels=self.n_kernels, n_jobs=1, random_state=seed).fit(wins)
        feats = self._transform(wins)
        if self.classifier == "ridge":
            clf = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))
        else:
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
        self.model_ = clf.fit(feats, y)
        self.n_features_ = x.shape[1]

    def _sequence_proba(self, seq: Sequence, n_features: int) -> np.ndarray:
        frame_inputs(seq, n_features, self.name)  # shape check
        feats = self._transform(causal_windows(seq.x, self.window))
        if self.classifier == "ridge":
            return (self.model_.decision_function(feats) + 1.0) / 2.0
        return self.model_.predict_proba(feats)[:, 1]
