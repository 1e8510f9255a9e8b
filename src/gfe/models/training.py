"""The trainer of the paper's frame networks: seeded, deterministic, full-batch by default."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from gfe.metrics import f1


@dataclass(frozen=True)
class TrainConfig:
    """The paper's choices by default (Table 2): Adam, lr 0.0099, 30 epochs, full batch."""

    epochs: int = 30
    lr: float = 0.0099
    batch_size: int | None = None  # None: one full-batch step per epoch, as the paper's code
    weight_decay: float = 0.0
    optimizer: str = "adam"  # or "sgd" (Table 2 tried both)
    patience: int | None = None  # with validation frames: stop after this many epochs without a better loss
    min_delta: float = 1e-4  # a validation loss must drop by more than this to count as better

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class FitResult:
    model: nn.Module
    train_loss: list[float] = field(default_factory=list)  # each epoch's mean mini-batch loss
    val_loss: list[float] = field(default_factory=list)  # after each epoch, validation frames
    val_f1: list[float] = field(default_factory=list)
    best_epoch: int | None = None  # with validation: the epoch whose weights were kept


def _tensor(x: np.ndarray, dtype=torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(x), dtype=dtype)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}


def fit(
    make_model: Callable[[], nn.Module],
    x_train: np.ndarray,
    y_train: np.ndarray,
    cfg: TrainConfig,
    seed: int,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    monitor: Callable[[int, nn.Module, dict], None] | None = None,
    device: str = "cpu",
) -> FitResult:
    """Train a fresh model with cross-entropy; record the training loss of every epoch.

    Validation frames (carved from training frames by the caller) are scored after every epoch;
    with ``cfg.patience`` the best epoch's weights are kept and training stops after ``patience``
    epochs without a lower validation loss. ``monitor(epoch, model, history)`` is called after each
    epoch with the model in eval mode (loss curves are recorded there, hyper-parameter search
    reports and prunes there); nothing it computes reaches training.
    """
    seed_everything(seed)
    model = make_model().to(device)
    xt, yt = _tensor(x_train).to(device), _tensor(y_train, torch.long).to(device)
    xval = _tensor(x_val).to(device) if x_val is not None and len(x_val) else None
    yval = _tensor(y_val, torch.long).to(device) if xval is not None else None
    if cfg.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    opt = OPTIMIZERS[cfg.optimizer](model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    result = FitResult(model)
    history = {"train_loss": result.train_loss, "val_loss": result.val_loss, "val_f1": result.val_f1}
    stopper = _EarlyStopping(cfg) if xval is not None and cfg.patience is not None else None
    for epoch in range(1, cfg.epochs + 1):
        result.train_loss.append(_epoch(model, opt, loss_fn, xt, yt, cfg.batch_size, gen))
        model.eval()
        if xval is not None:
            with torch.no_grad():
                logits = model(xval)
                result.val_loss.append(float(loss_fn(logits, yval)))
                result.val_f1.append(f1(y_val, logits.argmax(-1).cpu().numpy()))
        if monitor is not None:
            monitor(epoch, model, history)
        if stopper is not None and stopper.update(epoch, result.val_loss[-1], model):
            break
    if stopper is not None and stopper.best_state is not None:
        model.load_state_dict(stopper.best_state)
        result.best_epoch = stopper.best_epoch
    model.cpu().eval()
    return result


def _epoch(model, opt, loss_fn, xt, yt, batch_size: int | None, gen) -> float:
    """One epoch (full batch, or shuffled mini-batches); returns the mean batch loss."""
    model.train()
    n = len(xt)
    if batch_size is None or batch_size >= n:
        batches = [slice(None)]
    else:
        perm = torch.randperm(n, generator=gen).to(xt.device)
        batches = [perm[i : i + batch_size] for i in range(0, n, batch_size)]
    seen = 0.0
    for b in batches:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xt[b]), yt[b])
        loss.backward()
        opt.step()
        seen += float(loss.detach()) * (n if isinstance(b, slice) else len(b))
    return seen / n


class _EarlyStopping:
    """Keeps the weights of the epoch with the lowest validation loss; says when to stop."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.patience, self.min_delta = cfg.patience, cfg.min_delta
        self.best, self.best_state, self.best_epoch, self.since_best = float("inf"), None, None, 0

    def update(self, epoch: int, loss: float, model: nn.Module) -> bool:
        self.since_best = 0 if loss < self.best - self.min_delta else self.since_best + 1
        if loss < self.best:
            self.best, self.best_epoch = loss, epoch
            self.best_state = copy.deepcopy(model.state_dict())
        return self.since_best >= self.patience


@torch.no_grad()
def predict_proba(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Probability of the positive class per frame."""
    model.eval()
    return torch.softmax(model(_tensor(x)), dim=-1)[:, 1].numpy().astype(np.float64)
