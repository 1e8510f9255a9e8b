"""Models → results: seeded, deterministic training with per-epoch train and test loss."""

from __future__ import annotations

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
    # after each epoch on the whole training set when a test set is given (loss curves), else the
    # epoch's mean mini-batch loss
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)  # after each epoch, whole test set
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
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    on_epoch: Callable[[int, FitResult], None] | None = None,
) -> FitResult:
    """Train a fresh model with cross-entropy; record the losses after every epoch.

    The test set only ever feeds the recorded loss curve (the paper's Figs. 3–4); nothing in
    training reads it. Validation frames (carved from training frames by the caller) are scored
    after every epoch; with ``cfg.patience`` the best epoch's weights are kept and training stops
    after ``patience`` epochs without a lower validation loss. ``on_epoch(epoch, result)`` is
    called after each epoch (hyper-parameter search reports and prunes there).
    """
    import copy

    seed_everything(seed)
    model = make_model()
    xt, yt = _tensor(x_train), _tensor(y_train, torch.long)
    xv = _tensor(x_test) if x_test is not None else None
    yv = _tensor(y_test, torch.long) if y_test is not None else None
    xval = _tensor(x_val) if x_val is not None and len(x_val) else None
    yval = _tensor(y_val, torch.long) if xval is not None else None
    if cfg.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    opt = OPTIMIZERS[cfg.optimizer](model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    result = FitResult(model)
    n = len(xt)
    best, best_state, since_best = float("inf"), None, 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        if cfg.batch_size is None or cfg.batch_size >= n:
            batches = [slice(None)]
        else:
            perm = torch.randperm(n, generator=gen)
            batches = [perm[i : i + cfg.batch_size] for i in range(0, n, cfg.batch_size)]
        seen = 0.0
        for b in batches:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[b]), yt[b])
            loss.backward()
            opt.step()
            seen += float(loss.detach()) * (n if isinstance(b, slice) else len(b))
        model.eval()
        with torch.no_grad():
            if xv is not None:  # loss curves (the paper's figures): both losses after the epoch
                result.train_loss.append(float(loss_fn(model(xt), yt)))
            else:  # no curve asked for: the epoch's mean batch loss, which costs nothing extra
                result.train_loss.append(seen / n)
            if xv is not None and yv is not None:
                result.test_loss.append(float(loss_fn(model(xv), yv)))
            if xval is not None:
                logits = model(xval)
                result.val_loss.append(float(loss_fn(logits, yval)))
                result.val_f1.append(f1(y_val, logits.argmax(-1).numpy()))
        if on_epoch is not None:
            on_epoch(epoch, result)
        if xval is None or cfg.patience is None:
            continue
        loss_now = result.val_loss[-1]
        since_best = 0 if loss_now < best - cfg.min_delta else since_best + 1
        if loss_now < best:
            best, result.best_epoch = loss_now, epoch
            best_state = copy.deepcopy(model.state_dict())
        if since_best >= cfg.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result


@torch.no_grad()
def predict_proba(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Probability of the positive class per frame."""
    model.eval()
    return torch.softmax(model(_tensor(x)), dim=-1)[:, 1].numpy().astype(np.float64)
