"""Frame-level estimators: the paper's models and classic baselines behind one interface.

Every estimator here follows :class:`gfe.estimators.Estimator`. It learns from the frames whose
label is not ``HIDDEN`` (via :func:`gfe.estimators.frames_of`) and scores every frame of every
recording. All are *causal*: the output at frame ``t`` depends on frames ``<= t`` only (the frame
classifiers read frame ``t`` alone, MiniRocket a window of the frames ending at ``t``).

========================  ======================================================================
name                      model
========================  ======================================================================
``paper-lstm``            the paper's one-layer LSTM, each frame its own length-1 sequence
``mlp``                   one hidden layer of 105 sigmoid units (the paper's early experiment)
``logreg``                logistic regression (lbfgs, C=1)
``extra-trees``           300 extremely randomised trees
``random-forest``         300 random-forest trees
``sk-mlp``                scikit-learn's MLPClassifier, one hidden layer of 105 ReLU units
``minirocket``            MiniRocket (optional package ``aeon``) on windows of the last frames
========================  ======================================================================

Choices that apply to every estimator here:

* ``val`` is ignored, except by ``paper-lstm``/``mlp`` given a ``patience`` (early stopping, used by
  ``gfe tune``): the paper trained for a fixed number of epochs and the sklearn models have no
  early stopping by default. (The benchmark and `gfe train` carve a validation part for them only
  then; see ``gfe.estimators.uses_validation``.)
* Training needs both classes among the learnable frames. A fit where every label is hidden, or
  where the learnable labels are all one class, raises :class:`GfeError` rather than returning a
  constant predictor that would silently score as a model.
* Frames with non-finite features may not be learnable (``GfeError``); at prediction time a
  non-finite feature is read as 0, the mean in z-scored units (such frames are never scored).
* ``seed`` drives every random choice, so the same seed gives identical probabilities.
* Fitting converts convergence warnings into the attribute ``converged_`` (False when the
  optimiser stopped at its iteration limit) so long benchmarks stay quiet.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from gfe.errors import GfeError
from gfe.estimators import HIDDEN, Sequence, frames_of

ROCKET_MISSING = "the 'minirocket' model needs the optional package aeon: pip install 'gfe[rocket]'"


# ------------------------------------------------------------------------------------ helpers
def training_frames(train: list[Sequence], name: str) -> tuple[np.ndarray, np.ndarray]:
    """The learnable frames of ``train`` as (x, y), or a :class:`GfeError` saying why none fit."""
    if not train:
        raise GfeError(f"{name}: no training recordings given")
    if not any(s.train_mask.any() for s in train):
        raise GfeError(f"{name}: every training label is hidden ({HIDDEN}); there is nothing to learn from")
    x, y = frames_of(train)
    classes = np.unique(y)
    if not set(classes.tolist()) <= {0, 1}:
        raise GfeError(f"{name}: training labels must be 0, 1 or hidden ({HIDDEN}); got {classes.tolist()}")
    if len(classes) < 2:
        raise GfeError(
            f"{name}: all {len(y)} learnable frames are of class {int(classes[0])}; "
            "a classifier needs frames of both classes to learn from"
        )
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise GfeError(
            f"{name}: {int(bad.sum())} learnable frames have unknown (non-finite) features; "
            "hide their labels or impute their features"
        )
    return x, y


def _validation_frames(val: list[Sequence], n_features: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The labelled, usable frames of the validation sequences as (x, y); empty when none."""
    xs, ys = [], []
    for s in val:
        m = s.train_mask & (np.ones(len(s.y), bool) if s.usable is None else np.asarray(s.usable, bool))
        xs.append(_features(s, n_features, name)[m])
        ys.append(np.asarray(s.y)[m])
    if not xs:
        return np.empty((0, n_features)), np.empty(0, dtype=np.int64)
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64)


def _features(seq: Sequence, n_features: int, name: str) -> np.ndarray:
    x = np.asarray(seq.x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != n_features:
        raise GfeError(f"{name}: fitted on {n_features} features, got frames of shape {x.shape}")
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


def _sk_seed(seed: int) -> int:
    return int(seed) % 2**32


def _positive(value: Any, what: str, integer: bool = True) -> None:
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
        raise GfeError(f"{what} must be a positive {'integer' if integer else 'number'}, got {value!r}")


class _FrameEstimator:
    """What every estimator here shares: parameters, fitted-state checks, per-sequence output."""

    name: str = ""
    causal: bool = True
    _params: ClassVar[tuple[str, ...]] = ()

    def get_params(self) -> dict:
        """The keyword parameters that rebuild this estimator with ``ESTIMATORS[name](**params)``."""
        return {k: getattr(self, k) for k in self._params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}[{self.name}]({args})"

    def _check_fitted(self) -> int:
        n = getattr(self, "n_features_", None)
        if n is None:
            raise GfeError(f"{self.name}: call fit before predict_proba")
        return n

    def predict_proba(self, seqs: list[Sequence]) -> list[np.ndarray]:
        """Probability of the positive class for every frame of every recording."""
        n = self._check_fitted()
        out = []
        for s in seqs:
            if len(s.x) == 0:
                out.append(np.empty(0, dtype=np.float64))
                continue
            p = np.asarray(self._sequence_proba(s, n), dtype=np.float64)
            out.append(np.clip(p, 0.0, 1.0))
        return out

    def _sequence_proba(self, seq: Sequence, n_features: int) -> np.ndarray:
        """Frame classifiers read each frame alone; window models override this."""
        return self._proba(_features(seq, n_features, self.name))

    def _proba(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


# ------------------------------------------------------------------------------ torch models
class TorchFrameEstimator(_FrameEstimator):
    """The paper's per-frame LSTM (``model="paper-lstm"``) or one-hidden-layer MLP (``"mlp"``),
    trained by :func:`gfe.training.fit`: cross-entropy, Adam, fixed epochs. Defaults are the
    paper's (Table 2): 105 hidden units, lr 0.0099, 30 full-batch epochs. ``activation`` applies
    to the MLP only. ``val`` is ignored unless ``patience`` is set — the paper trained a fixed
    number of epochs; with ``patience``, ``epochs`` is the maximum and the epoch with the lowest
    validation loss is kept (``history_["best_epoch"]``)."""

    causal = True

    def __init__(
        self,
        model: str = "paper-lstm",
        hidden: int = 105,
        epochs: int = 30,
        lr: float = 0.0099,
        batch_size: int | None = None,
        activation: str = "sigmoid",
        optimizer: str = "adam",
        patience: int | None = None,
    ) -> None:
        from gfe.models import ACTIVATIONS, MODELS  # torch is imported here, not at module import
        from gfe.training import OPTIMIZERS

        if model not in MODELS:
            raise GfeError(f"unknown frame model {model!r}; choose one of: {', '.join(MODELS)}")
        if activation not in ACTIVATIONS:
            raise GfeError(f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}")
        if model != "mlp" and activation != "sigmoid":
            raise GfeError(f"activation applies to the 'mlp' model only, not {model!r}")
        _positive(hidden, "hidden")
        _positive(epochs, "epochs")
        _positive(lr, "lr", integer=False)
        if batch_size is not None:
            _positive(batch_size, "batch_size")
        if optimizer not in OPTIMIZERS:
            raise GfeError(f"unknown optimizer {optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
        if patience is not None:
            _positive(patience, "patience")
        self.name = model
        self.model = model
        self.hidden = hidden
        self.epochs = epochs
        self.lr = float(lr)
        self.batch_size = batch_size
        self.activation = activation
        self.optimizer = optimizer
        self.patience = patience
        self._params = ("hidden", "epochs", "lr", "batch_size", "optimizer", "patience") + (
            ("activation",) if model == "mlp" else ()
        )
        self.epoch_callback = None  # set by hyper-parameter search: called (epoch, FitResult)

    def fit(self, train: list[Sequence], seed: int, val: list[Sequence] | None = None) -> TorchFrameEstimator:
        from gfe.models import build_model
        from gfe.training import TrainConfig, fit

        x, y = training_frames(train, self.name)
        n_features = x.shape[1]
        kwargs: dict[str, Any] = {"hidden": self.hidden}
        if self.model == "mlp":
            kwargs["activation"] = self.activation
        cfg = TrainConfig(
            epochs=self.epochs,
            lr=self.lr,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            patience=self.patience,
        )
        xv = yv = None
        if val is not None and self.patience is not None:  # early stopping needs both
            xv, yv = _validation_frames(val, n_features, self.name)
        result = fit(
            lambda: build_model(self.model, n_features=n_features, **kwargs),
            x,
            y,
            cfg,
            seed,
            x_val=xv,
            y_val=yv,
            on_epoch=self.epoch_callback,
        )
        self.module_ = result.model
        self.train_loss_ = result.train_loss
        self.history_ = {
            "train_loss": result.train_loss,
            "val_loss": result.val_loss,
            "val_f1": result.val_f1,
            "best_epoch": result.best_epoch or len(result.train_loss),
            "epochs_run": len(result.train_loss),
        }
        self.n_features_ = n_features
        return self

    def _proba(self, x: np.ndarray) -> np.ndarray:
        from gfe.training import predict_proba

        return predict_proba(self.module_, x)


# ---------------------------------------------------------------------------- sklearn models
class _SklearnFrameEstimator(_FrameEstimator):
    """A scikit-learn classifier on single frames; subclasses say how to build it."""

    def _make(self, seed: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(
        self, train: list[Sequence], seed: int, val: list[Sequence] | None = None
    ) -> _SklearnFrameEstimator:
        """Learn from the learnable frames of ``train``; ``val`` is ignored (no early stopping)."""
        from sklearn.exceptions import ConvergenceWarning

        x, y = training_frames(train, self.name)
        clf = self._make(_sk_seed(seed))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            clf.fit(x, y)
        self.converged_ = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        for w in caught:  # pass on anything that is not about convergence
            if not issubclass(w.category, ConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        self.model_ = clf
        self._col = int(np.flatnonzero(clf.classes_ == 1)[0])
        self.n_features_ = x.shape[1]
        return self

    def _proba(self, x: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(x)[:, self._col]


class LogisticRegressionEstimator(_SklearnFrameEstimator):
    """L2-regularised logistic regression (lbfgs). Converges within ~100 iterations on z-scored
    features; ``max_iter`` leaves ample room."""

    name = "logreg"
    _params = ("C", "max_iter")

    def __init__(self, C: float = 1.0, max_iter: int = 2000) -> None:
        _positive(C, "C", integer=False)
        _positive(max_iter, "max_iter")
        self.C = float(C)
        self.max_iter = max_iter

    def _make(self, seed: int):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=seed)


class _ForestEstimator(_SklearnFrameEstimator):
    _params = ("n_estimators", "max_features", "min_samples_leaf")
    _forest: ClassVar[str] = ""

    def __init__(
        self, n_estimators: int = 300, max_features: str | float | int = "sqrt", min_samples_leaf: int = 1
    ):
        _positive(n_estimators, "n_estimators")
        _positive(min_samples_leaf, "min_samples_leaf")
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf

    def _make(self, seed: int):
        import sklearn.ensemble

        cls = getattr(sklearn.ensemble, self._forest)
        return cls(
            n_estimators=self.n_estimators,
            max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf,
            n_jobs=1,  # the benchmark already runs one cell per core
            random_state=seed,
        )


class ExtraTreesEstimator(_ForestEstimator):
    """Extremely randomised trees, 300 by default, one core."""

    name = "extra-trees"
    _forest = "ExtraTreesClassifier"


class RandomForestEstimator(_ForestEstimator):
    """A random forest, 300 trees by default, one core."""

    name = "random-forest"
    _forest = "RandomForestClassifier"


class SkMLPEstimator(_SklearnFrameEstimator):
    """scikit-learn's MLPClassifier: one hidden layer (105 units by default), Adam, no early
    stopping by default (the paper's fixed-budget training); ``converged_`` records whether it
    stopped before ``max_iter`` epochs."""

    name = "sk-mlp"
    _params = ("hidden", "activation", "alpha", "learning_rate_init", "max_iter", "early_stopping")

    def __init__(
        self,
        hidden: int = 105,
        activation: str = "relu",
        alpha: float = 1e-4,
        learning_rate_init: float = 1e-3,
        max_iter: int = 200,
        early_stopping: bool = False,
    ) -> None:
        _positive(hidden, "hidden")
        _positive(max_iter, "max_iter")
        if activation not in ("relu", "tanh", "logistic", "identity"):
            raise GfeError(
                f"unknown activation {activation!r}; choose one of: relu, tanh, logistic, identity"
            )
        _positive(learning_rate_init, "learning_rate_init", integer=False)
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not alpha >= 0:
            raise GfeError(f"alpha must be a number >= 0, got {alpha!r}")
        self.hidden = hidden
        self.activation = activation
        self.alpha = float(alpha)
        self.learning_rate_init = float(learning_rate_init)
        self.max_iter = max_iter
        self.early_stopping = bool(early_stopping)

    def _make(self, seed: int):
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(
            hidden_layer_sizes=(self.hidden,),
            activation=self.activation,
            alpha=self.alpha,
            learning_rate_init=self.learning_rate_init,
            max_iter=self.max_iter,
            early_stopping=self.early_stopping,  # when True, sklearn carves 10% of training frames
            random_state=seed,
        )


# -------------------------------------------------------------------------- MiniRocket (aeon)
def rocket_available() -> bool:
    """Whether the optional package for the 'minirocket' model is installed."""
    return importlib.util.find_spec("aeon") is not None


def causal_windows(x: np.ndarray, window: int) -> np.ndarray:
    """(frames, features, window): for each frame the ``window`` frames ending at it, oldest
    first; before the first frame the recording is padded with copies of its first frame."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    padded = np.concatenate([np.repeat(x[:1], window - 1, axis=0), x])
    return np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(padded, window, axis=0))


class WindowRocketEstimator(_FrameEstimator):
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
    causal = True
    _params = ("window", "n_kernels", "classifier", "current_frame")

    def __init__(
        self, window: int = 16, n_kernels: int = 10_000, classifier: str = "ridge", current_frame: bool = True
    ) -> None:
        if not rocket_available():
            raise GfeError(ROCKET_MISSING)
        _positive(window, "window")
        if window < 9:
            raise GfeError(f"window must be at least 9 frames (MiniRocket's kernel length), got {window}")
        _positive(n_kernels, "n_kernels")
        if classifier not in ("ridge", "logreg"):
            raise GfeError(f"unknown classifier {classifier!r}; choose one of: ridge, logreg")
        self.window = window
        self.n_kernels = n_kernels
        self.classifier = classifier
        self.current_frame = bool(current_frame)

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

    def fit(
        self, train: list[Sequence], seed: int, val: list[Sequence] | None = None
    ) -> WindowRocketEstimator:
        try:
            from aeon.transformations.collection.convolution_based import MiniRocket
        except ImportError:
            raise GfeError(ROCKET_MISSING) from None
        from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        x, y = training_frames(train, self.name)  # checks labels; windows are built below
        wins = self._windows(train, learnable=True)
        seed = _sk_seed(seed)
        self.rocket_ = MiniRocket(n_kernels=self.n_kernels, n_jobs=1, random_state=seed).fit(wins)
        feats = self._transform(wins)
        if self.classifier == "ridge":
            clf = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))
        else:
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
        self.model_ = clf.fit(feats, y)
        self.n_features_ = x.shape[1]
        return self

    def _sequence_proba(self, seq: Sequence, n_features: int) -> np.ndarray:
        _features(seq, n_features, self.name)  # shape check
        feats = self._transform(causal_windows(seq.x, self.window))
        if self.classifier == "ridge":
            return (self.model_.decision_function(feats) + 1.0) / 2.0
        return self.model_.predict_proba(feats)[:, 1]


# ------------------------------------------------------------------------------------ registry
def _paper_lstm(**params):
    if "activation" in params:
        raise TypeError("activation applies to the 'mlp' model only")
    return TorchFrameEstimator("paper-lstm", **params)


def _mlp(**params):
    return TorchFrameEstimator("mlp", **params)


ESTIMATORS: dict[str, Callable[..., _FrameEstimator]] = {
    "paper-lstm": _paper_lstm,
    "mlp": _mlp,
    "logreg": LogisticRegressionEstimator,
    "extra-trees": ExtraTreesEstimator,
    "random-forest": RandomForestEstimator,
    "sk-mlp": SkMLPEstimator,
    "minirocket": WindowRocketEstimator,
}
