"""Classic scikit-learn classifiers of single frames: baselines behind the model interface.

Each learns from the learnable frames of its training sequences and reads each frame alone (so
all are causal). ``val`` is ignored (no early stopping). Fitting turns convergence warnings into
the attribute ``converged_`` (False when the optimiser stopped at its iteration limit), so long
benchmarks stay quiet. ``seed`` drives every random choice.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np

from gfe.models.base import (
    MAX_COUNT,
    MAX_UNITS,
    FrameModel,
    Param,
    SearchSpace,
    Tags,
    training_frames,
)
from gfe.protocols import Sequence


def sk_seed(seed: int) -> int:
    return int(seed) % 2**32


class SklearnModel(FrameModel):
    """A scikit-learn classifier on single frames; subclasses say how to build it."""

    def _make(self, seed: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit(self, train: list[Sequence], seed: int, val, monitor) -> None:
        """Learn from the learnable frames of ``train``; ``val`` is ignored (no early stopping)."""
        from sklearn.exceptions import ConvergenceWarning

        x, y = training_frames(train, self.name)
        clf = self._make(sk_seed(seed))
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

    def _proba(self, x: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(x)[:, self._col]


class LogisticRegressionModel(SklearnModel):
    """L2-regularised logistic regression (lbfgs). Converges within ~100 iterations on z-scored
    features; ``max_iter`` leaves ample room."""

    name = "logreg"
    tags = Tags(label="logreg", tunable=True, colour="tab:green", default_grid=True, order=30,
                about="logistic regression (lbfgs, C=1)")  # fmt: skip
    _params = ("C", "max_iter")

    @classmethod
    def search_space(cls) -> SearchSpace:
        from optuna.distributions import FloatDistribution

        return SearchSpace({"C": FloatDistribution(1e-4, 1e2, log=True)})

    @classmethod
    def test_params(cls) -> dict:
        return {"max_iter": 200}

    PARAMS: ClassVar[dict[str, Param]] = {
        "C": Param("float", 0, 1e6, low_open=True),
        "max_iter": Param("int", 1, MAX_COUNT),
    }

    def __init__(self, C: float = 1.0, max_iter: int = 2000) -> None:
        self.check(C=C, max_iter=max_iter)
        self.C = float(C)
        self.max_iter = max_iter

    def _make(self, seed: int):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=seed)


class ForestModel(SklearnModel):
    _params = ("n_estimators", "max_features", "min_samples_leaf")
    _forest: ClassVar[str] = ""
    PARAMS: ClassVar[dict[str, Param]] = {
        "n_estimators": Param("int", 1, 10_000),
        "max_features": Param(
            "any",
            optional=True,
            alternatives=(
                Param("choice", choices=("sqrt", "log2")),
                Param("int", 1, MAX_COUNT),
                Param("float", 0, 1, low_open=True),
            ),
        ),
        "min_samples_leaf": Param("int", 1, MAX_COUNT),
    }

    def __init__(
        self, n_estimators: int = 300, max_features: str | float | int = "sqrt", min_samples_leaf: int = 1
    ):
        self.check(n_estimators=n_estimators, max_features=max_features, min_samples_leaf=min_samples_leaf)
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf

    @classmethod
    def test_params(cls) -> dict:
        return {"n_estimators": 10}

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


class ExtraTreesModel(ForestModel):
    """Extremely randomised trees, 300 by default, one core (the family that won Bhuvan et al.)."""

    name = "extra-trees"
    tags = Tags(label="extra-trees", tunable=True, colour="tab:brown", default_grid=True, order=40,
                about="300 extremely randomised trees")  # fmt: skip
    _forest = "ExtraTreesClassifier"

    @classmethod
    def search_space(cls) -> SearchSpace:
        from optuna.distributions import CategoricalDistribution, IntDistribution

        return SearchSpace(
            {
                "n_estimators": IntDistribution(100, 600, step=100),
                "max_features": CategoricalDistribution(["sqrt", "log2", 0.3, 0.6]),
                "min_samples_leaf": IntDistribution(1, 20, log=True),
            }
        )


class RandomForestModel(ForestModel):
    """A random forest, 300 trees by default, one core."""

    name = "random-forest"
    tags = Tags(label="random-forest", colour="tab:gray", order=50, about="300 random-forest trees")
    _forest = "RandomForestClassifier"


class SkMLPModel(SklearnModel):
    """scikit-learn's MLPClassifier: one hidden layer (105 units by default), Adam, no early
    stopping by default (the paper's fixed-budget training); ``converged_`` records whether it
    stopped before ``max_iter`` epochs."""

    name = "sk-mlp"
    tags = Tags(label="sk-mlp", colour="#e6ab02", order=60,
                about="scikit-learn's MLPClassifier, one hidden layer of 105 ReLU units")  # fmt: skip
    _params = ("hidden", "activation", "alpha", "learning_rate_init", "max_iter", "early_stopping")
    PARAMS: ClassVar[dict[str, Param]] = {
        "hidden": Param("int", 1, MAX_UNITS),
        "activation": Param("choice", choices=("relu", "tanh", "logistic", "identity")),
        "alpha": Param("float", 0, 1e6),
        "learning_rate_init": Param("float", 0, 10, low_open=True),
        "max_iter": Param("int", 1, MAX_COUNT),
        "early_stopping": Param("bool"),
    }

    def __init__(
        self,
        hidden: int = 105,
        activation: str = "relu",
        alpha: float = 1e-4,
        learning_rate_init: float = 1e-3,
        max_iter: int = 200,
        early_stopping: bool = False,
    ) -> None:
        self.check(hidden=hidden, activation=activation, alpha=alpha, learning_rate_init=learning_rate_init,
                   max_iter=max_iter, early_stopping=early_stopping)  # fmt: skip
        self.hidden = hidden
        self.activation = activation
        self.alpha = float(alpha)
        self.learning_rate_init = float(learning_rate_init)
        self.max_iter = max_iter
        self.early_stopping = bool(early_stopping)

    @classmethod
    def test_params(cls) -> dict:
        return {"hidden": 8, "max_iter": 20}

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
