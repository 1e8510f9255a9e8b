"""The paper's frame models: its per-frame LSTM, its earlier one-hidden-layer MLP, and that MLP
reduced by distinctiveness pruning (the paper's second preliminary experiment).

All three are trained by :func:`gfe.models.training.fit`: cross-entropy, Adam, a fixed number of
full-batch epochs. Defaults are the paper's (Table 2): 105 hidden units, lr 0.0099, 30 epochs.
``val`` is ignored unless ``patience`` is set — the paper trained a fixed number of epochs; with
``patience``, ``epochs`` is the maximum and the epoch with the lowest validation loss is kept
(``history_["best_epoch"]``), as `gfe tune` does. Each frame is classified alone, so all are causal.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from gfe.errors import GfeError
from gfe.models.base import (
    MAX_COUNT,
    MAX_EPOCHS,
    MAX_UNITS,
    FrameModel,
    Param,
    SearchSpace,
    Tags,
    training_frames,
    validation_frames,
)
from gfe.protocols import Sequence

OPTIMIZER_NAMES = ("adam", "sgd")
ACTIVATION_NAMES = ("sigmoid", "tanh", "relu")


def _table2_space(**extra) -> SearchSpace:
    """The paper's Table 2: hidden units 15–200, learning rate 0.0005–0.03, SGD or Adam; epochs
    (5–1500) by early stopping on validation frames, up to 1500."""
    from optuna.distributions import CategoricalDistribution as Cat
    from optuna.distributions import FloatDistribution as Float
    from optuna.distributions import IntDistribution as Int

    search = {"hidden": Int(15, 200), "lr": Float(5e-4, 0.03, log=True), "optimizer": Cat(["sgd", "adam"])}
    search.update({k: Cat(list(v)) for k, v in extra.items()})
    # Up to 1500 cheap full-batch epochs: prune only after 50, report to the storage every 10th.
    return SearchSpace(
        search,
        fixed={"epochs": 1500, "patience": 50},
        warmup_steps=50,
        report_every=10,
        epochs_from_early_stopping=True,
    )


class PaperNetModel(FrameModel):
    """What the paper's frame models share: parameters, training and the torch network."""

    net: ClassVar[str] = ""
    _params: ClassVar[tuple[str, ...]] = ("hidden", "epochs", "lr", "batch_size", "optimizer", "patience")
    PARAMS: ClassVar[dict[str, Param]] = {
        "hidden": Param("int", 1, MAX_UNITS),
        "epochs": Param("int", 1, MAX_EPOCHS),
        "lr": Param("float", 0, 10, low_open=True),
        "batch_size": Param("int", 1, MAX_COUNT, optional=True),
        "optimizer": Param("choice", choices=OPTIMIZER_NAMES),
        "patience": Param("int", 1, MAX_EPOCHS, optional=True),
    }

    def __init__(
        self,
        hidden: int = 105,
        epochs: int = 30,
        lr: float = 0.0099,
        batch_size: int | None = None,
        optimizer: str = "adam",
        patience: int | None = None,
    ) -> None:
        self.check(
            hidden=hidden, epochs=epochs, lr=lr, batch_size=batch_size, optimizer=optimizer, patience=patience
        )
        self.hidden, self.epochs, self.lr = hidden, epochs, float(lr)
        self.batch_size, self.optimizer, self.patience = batch_size, optimizer, patience

    def uses_validation(self) -> bool:
        return self.patience is not None

    def _net_params(self) -> dict[str, Any]:
        return {"hidden": self.hidden}

    def build_module(self, n_inputs: int):
        from gfe.models.nets import build_net

        return build_net(self.net, n_features=n_inputs, **self._net_params())

    def _train_config(self):
        from gfe.models.training import TrainConfig

        return TrainConfig(
            epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, optimizer=self.optimizer,
            patience=self.patience,
        )  # fmt: skip

    def _fit(self, train: list[Sequence], seed: int, val, monitor) -> None:
        from gfe.models.training import fit

        x, y = training_frames(train, self.name)
        n = x.shape[1]
        xv = yv = None
        if val is not None and self.patience is not None:  # early stopping needs both
            xv, yv = validation_frames(val, n, self.name)
        result = fit(
            lambda: self.build_module(n), x, y, self._train_config(), seed, xv, yv, monitor, self.device
        )
        self._fitted(result, n)

    def _fitted(self, result, n_features: int) -> None:
        self.module_ = result.model
        self.history_ = {
            "train_loss": result.train_loss,
            "val_loss": result.val_loss,
            "val_f1": result.val_f1,
            "best_epoch": result.best_epoch or len(result.train_loss),
            "epochs_run": len(result.train_loss),
        }
        self.n_features_ = n_features

    def _proba(self, x: np.ndarray) -> np.ndarray:
        from gfe.models.training import predict_proba

        return predict_proba(self.module_, x)


class PaperLSTMModel(PaperNetModel):
    """Exactly what the paper trained (§2.2): one LSTM layer of 105 units and a linear layer to 2
    classes; each frame is fed as its own length-1 sequence, as in the author's code (so no state
    flows between frames)."""

    name = "paper-lstm"
    net = "paper-lstm"
    tags = Tags(
        label="PaperLSTM", tunable=True, colour="tab:blue", streamable=True, bundle=True, engine="frame-lstm",
        onnx="frame", default_grid=True, order=10, about="the paper's LSTM, each frame its own length-1 sequence",
    )  # fmt: skip

    @classmethod
    def search_space(cls) -> SearchSpace:
        return _table2_space()

    @classmethod
    def test_params(cls) -> dict:
        return {"hidden": 8, "epochs": 5}


class MLPModel(PaperNetModel):
    """The paper's earlier one-hidden-layer network (105 sigmoid units by default)."""

    name = "mlp"
    net = "mlp"
    tags = Tags(
        label="MLP", colour="tab:orange", tunable=True, streamable=True, bundle=True, engine="mlp", onnx="frame",
        default_grid=True, order=20, about="one hidden layer of 105 sigmoid units (the paper's early experiment)",
    )  # fmt: skip
    _params = (*PaperNetModel._params, "activation")
    PARAMS: ClassVar[dict[str, Param]] = {
        **PaperNetModel.PARAMS,
        "activation": Param("choice", choices=ACTIVATION_NAMES),
    }

    def __init__(self, activation: str = "sigmoid", **params) -> None:
        super().__init__(**params)
        self.check(activation=activation)
        self.activation = activation

    def _net_params(self) -> dict[str, Any]:
        return {"hidden": self.hidden, "activation": self.activation}

    @classmethod
    def search_space(cls) -> SearchSpace:
        return _table2_space(activation=ACTIVATION_NAMES)

    @classmethod
    def test_params(cls) -> dict:
        return {"hidden": 8, "epochs": 5}


class PrunedMLPModel(MLPModel):
    """The MLP reduced by distinctiveness pruning (Gedeon & Harris 1991; :mod:`gfe.models.pruning`):
    trained as ``mlp``, then hidden units whose activation vectors over the training frames are
    within ``similar_deg`` are merged, pairs beyond ``opposite_deg`` removed, near-constant units
    removed, then ``retrain_epochs`` epochs of retraining. ``hidden_units_`` is what is kept."""

    name = "mlp-pruned"
    tags = Tags(
        label="MLP + pruning", colour="tab:olive", order=25,
        about="the MLP after distinctiveness pruning and a short retraining (reproduce)",
    )  # fmt: skip
    _params = (*MLPModel._params, "similar_deg", "opposite_deg", "retrain_epochs")
    PARAMS: ClassVar[dict[str, Param]] = {
        **MLPModel.PARAMS,
        "similar_deg": Param("float", 0, 180),
        "opposite_deg": Param("float", 0, 180),
        "retrain_epochs": Param("int", 0, MAX_EPOCHS),
    }

    def __init__(
        self, similar_deg: float = 15.0, opposite_deg: float = 165.0, retrain_epochs: int = 5, **params
    ) -> None:
        super().__init__(**params)
        self.check(similar_deg=similar_deg, opposite_deg=opposite_deg, retrain_epochs=retrain_epochs)
        if not similar_deg < opposite_deg:
            raise GfeError(f"need 0 <= similar_deg < opposite_deg <= 180, got {similar_deg}, {opposite_deg}")
        self.similar_deg, self.opposite_deg, self.retrain_epochs = similar_deg, opposite_deg, retrain_epochs

    @classmethod
    def search_space(cls) -> None:
        return None

    @classmethod
    def test_params(cls) -> dict:
        return {"hidden": 8, "epochs": 5, "retrain_epochs": 2}

    def _fit(self, train: list[Sequence], seed: int, val, monitor) -> None:
        """Train the MLP (no monitor), prune it, then retrain; ``monitor`` sees the retraining."""
        from gfe.models.pruning import prune_distinctiveness
        from gfe.models.training import FitResult, fit

        super()._fit(train, seed, val, None)
        x, y = training_frames(train, self.name)
        net = copy.deepcopy(self.module_)
        report = prune_distinctiveness(net, x, similar_deg=self.similar_deg, opposite_deg=self.opposite_deg)
        result = FitResult(net)
        if self.retrain_epochs:
            retrain = replace(self._train_config(), epochs=self.retrain_epochs, patience=None)
            result = fit(lambda: net, x, y, retrain, seed, monitor=monitor, device=self.device)
        self._fitted(result, x.shape[1])
        self.hidden_units_ = report.hidden_after
        self.prune_report_ = report
