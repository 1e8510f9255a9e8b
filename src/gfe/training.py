"""Models → results: seeded, deterministic training with per-epoch train and test loss."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class TrainConfig:
    """The paper's choices by default (Table 2): Adam, lr 0.0099, 30 epochs, full batch."""

    epochs: int = 30
    lr: float = 0.0099
    batch_size: int | None = None  # None: one full-batch step per epoch, as the paper's code
    weight_decay: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class FitResult:
    model: nn.Module
    train_loss: list[float] = field(default_factory=list)  # after each epoch, whole training set
    test_loss: list[float] = field(default_factory=list)  # after each epoch, whole test set


def _tensor(x: np.ndarray, dtype=torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(x), dtype=dtype)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def fit(
    make_model: Callable[[], nn.Module],
    x_train: np.ndarray,
    y_train: np.ndarray,
    cfg: TrainConfig,
    seed: int,
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
) -> FitResult:
    """Train a fresh model with cross-entropy and Adam; record both losses after every epoch.

    The test set only ever feeds the recorded loss curve (the paper's Figs. 3–4); nothing in
    training reads it.
    """
    seed_everything(seed)
    model = make_model()
    xt, yt = _tensor(x_train), _tensor(y_train, torch.long)
    xv = _tensor(x_test) if x_test is not None else None
    yv = _tensor(y_test, torch.long) if y_test is not None else None
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    result = FitResult(model)
    n = len(xt)
    for _ in range(cfg.epochs):
        model.train()
        if cfg.batch_size is None or cfg.batch_size >= n:
            batches = [slice(None)]
        else:
            perm = torch.randperm(n, generator=gen)
            batches = [perm[i : i + cfg.batch_size] for i in range(0, n, cfg.batch_size)]
        for b in batches:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[b]), yt[b])
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            result.train_loss.append(float(loss_fn(model(xt), yt)))
            if xv is not None and yv is not None:
                result.test_loss.append(float(loss_fn(model(xv), yv)))
    return result


@torch.no_grad()
def predict_proba(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Probability of the positive class per frame."""
    model.eval()
    return torch.softmax(model(_tensor(x)), dim=-1)[:, 1].numpy().astype(np.float64)
