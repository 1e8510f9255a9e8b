"""The trainer and predictor that every temporal model shares (many-to-many: a label per frame).

A temporal model's torch module has ``forward(x: (batch, time, features), state=None, lengths=None)
-> (logits (batch, time, 2), new_state)``. Training, in short:

* **Inputs.** The scaled features; with ``deltas=True`` also ``x_t - x_{t-1}`` (zero on the first
  frame and wherever frame t or t-1 is unusable), computed on the whole recording before any
  windowing, so it is causal. Delta channels are divided by their standard deviation over the
  learnable frames.
* **Truncated BPTT by overlapping windows with burn-in.** Each recording is cut into consecutive
  chunks of ``chunk_len`` frames. A chunk's training window adds ``burn_in`` frames of context
  before it (and, for an offline model, after it); the model runs over the window from a zero
  state and the loss counts the chunk's frames only, so the burn-in warms the state up and the
  gradient is truncated at the window start. Chosen over carrying detached state across
  consecutive chunks because windows are independent: they can be shuffled (a seeded
  ``torch.Generator``) and batched freely (right-padded + masked), whereas carried state forces
  one batch row per recording — here two recordings per expression, i.e. tiny batches. Windows
  that start at frame 0 have no burn-in, so the model also learns to start from the zero state it
  starts from at prediction time. Offline windows get context on both sides and are shifted to
  stay inside the recording, so they share one length (no packing, which is ~5× slower on CPU).
  Chunks without a learnable frame make no window.
* **Loss.** Cross-entropy over the frames with ``y != HIDDEN`` (and ``usable``, when given) only;
  the label of any other frame is never read. Optional ``class_weight="balanced"``.
* **Regularisation.** Dropout, gaussian input noise (``noise`` = std), weight decay, gradient
  clipping.
* **Early stopping.** With ``val`` sequences: after each epoch the whole-recording loss on the
  validation frames is computed (as at prediction time); the best epoch's weights are kept and
  restored; training stops after ``patience`` epochs without improvement or at ``max_epochs``.
  Without ``val``: exactly ``epochs`` epochs. ``history_`` records it all.
* **Determinism.** ``torch.manual_seed(seed)`` (initial weights, dropout) and a generator seeded
  with ``seed`` (window order, input noise): same seed and data → identical probabilities.

Prediction runs each whole recording through the module (causal models left to right from a zero
state), softmax → probability of the positive class, for every frame (unusable ones included).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gfe.errors import GfeError
from gfe.metrics import f1
from gfe.models.base import MAX_COUNT, MAX_EPOCHS, MAX_FRAMES, Model, Param
from gfe.protocols import HIDDEN, Sequence


# ---------------------------------------------------------------------------------- inputs
def delta_features(x: np.ndarray, usable: np.ndarray | None = None) -> np.ndarray:
    """``x_t - x_{t-1}`` per frame (causal); zero on the first frame and wherever frame t or t-1
    is unusable (its features are an imputed 0, not a measurement)."""
    d = np.zeros_like(x, dtype=np.float32)
    if len(x) > 1:
        d[1:] = x[1:] - x[:-1]
        if usable is not None:
            u = np.asarray(usable, dtype=bool)
            d[1:][~(u[1:] & u[:-1])] = 0.0
    return d


def loss_mask(seq: Sequence) -> np.ndarray:
    """The frames whose loss counts: labelled (not hidden) and usable."""
    m = np.asarray(seq.y) != HIDDEN
    if seq.usable is not None:
        m &= np.asarray(seq.usable, dtype=bool)
    return m


def masked_targets(seq: Sequence, mask: np.ndarray) -> np.ndarray:
    """Labels of the masked frames, 0 elsewhere: labels outside the mask are never read."""
    y = np.zeros(len(mask), dtype=np.int64)
    y[mask] = np.asarray(seq.y)[mask]
    if not np.isin(y[mask], (0, 1)).all():
        raise GfeError(f"recording {seq.signer!r}: labels must be 0, 1 or HIDDEN ({HIDDEN})")
    return y


def masked_ce(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor | None):
    """Mean cross-entropy over masked frames, as (sum, normaliser) so batches can be pooled."""
    ce = F.cross_entropy(logits.reshape(-1, 2), y.reshape(-1), reduction="none")
    w = mask.reshape(-1).to(ce.dtype)
    if weight is not None:
        w = w * weight[y.reshape(-1)]
    return (ce * w).sum(), w.sum()


def _pad_batch(group: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x, y, mask) items of varying length → one right-padded batch."""
    length = max(len(m) for _, _, m in group)
    xb = np.zeros((len(group), length, group[0][0].shape[1]), dtype=np.float32)
    yb = np.zeros((len(group), length), dtype=np.int64)
    mb = np.zeros((len(group), length), dtype=bool)
    for i, (x, y, m) in enumerate(group):
        xb[i, : len(m)], yb[i, : len(m)], mb[i, : len(m)] = x, y, m
    return torch.from_numpy(xb), torch.from_numpy(yb), torch.from_numpy(mb)


# ------------------------------------------------------------------------------------ model
@dataclass(kw_only=True, eq=False)
class WindowedModel(Model):
    """Shared trainer and predictor; subclasses add the module and its size parameters."""

    name: ClassVar[str] = ""

    dropout: float = 0.2
    chunk_len: int = 64  # frames whose loss one training window counts
    burn_in: int | None = None  # context frames before (offline: and after) a chunk; None: auto
    batch_size: int = 16  # windows per Adam step
    epochs: int = 40  # without validation
    max_epochs: int = 60  # with validation (early stopping)
    patience: int = 8
    lr: float = 3e-3
    weight_decay: float = 1e-4
    deltas: bool = True
    noise: float = 0.05  # std of gaussian noise added to the inputs while training
    class_weight: str | None = None  # None or "balanced"
    grad_clip: float | None = 1.0  # max gradient norm; None: no clipping
    augment: float = 0.0  # probability of each augmentation per training window (gfe.models.augment); 0: off

    history_: dict = field(default_factory=dict, init=False, repr=False)
    module_: nn.Module | None = field(default=None, init=False, repr=False)
    n_features_in_: int | None = field(default=None, init=False, repr=False)
    delta_scale_: np.ndarray | None = field(default=None, init=False, repr=False)

    PARAMS: ClassVar[dict[str, Param]] = {
        "dropout": Param("float", 0, 1, high_open=True),
        "chunk_len": Param("int", 1, MAX_FRAMES),
        "burn_in": Param("int", 0, MAX_FRAMES, optional=True),
        "batch_size": Param("int", 1, MAX_COUNT),
        "epochs": Param("int", 1, MAX_EPOCHS),
        "max_epochs": Param("int", 1, MAX_EPOCHS),
        "patience": Param("int", 1, MAX_EPOCHS),
        "lr": Param("float", 0, 10, low_open=True),
        "weight_decay": Param("float", 0, 10),
        "deltas": Param("bool"),
        "noise": Param("float", 0, 100),
        "class_weight": Param("choice", choices=("balanced",), optional=True),
        "grad_clip": Param("float", 0, 1e6, low_open=True, optional=True),
        "augment": Param("float", 0, 1),
    }

    def __post_init__(self) -> None:
        """Every parameter's type and range (:attr:`PARAMS`), checked before anything is built."""
        self.check(**self.get_params())

    # -- to be provided by subclasses
    def build_module(self, n_inputs: int) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def _default_burn_in(self) -> int:
        return self.chunk_len // 2

    # -- public
    def get_params(self) -> dict:
        """Constructor parameters (for run folders): ``type(self)(**m.get_params())`` rebuilds it."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    def bundle_inputs(self) -> dict:
        ds = self.delta_scale_
        return {"delta_scale": None if ds is None else [float(v) for v in np.asarray(ds, np.float32)]}

    @property
    def effective_burn_in(self) -> int:
        return self._default_burn_in() if self.burn_in is None else self.burn_in

    def _inputs(self, seq: Sequence) -> np.ndarray:
        x = np.asarray(seq.x, dtype=np.float32)
        if x.ndim != 2:
            raise GfeError(f"recording {seq.signer!r}: features must be (frames, features), got {x.shape}")
        if self.n_features_in_ is not None and x.shape[1] != self.n_features_in_:
            raise GfeError(
                f"{self.name}: recording {seq.signer!r} has {x.shape[1]} features, "
                f"the model was fitted on {self.n_features_in_}"
            )
        if not self.deltas:
            return x
        d = delta_features(x, seq.usable)
        if self.delta_scale_ is not None:
            d = d / self.delta_scale_
        return np.concatenate([x, d], axis=1)

    def _spans(self, masks: list[np.ndarray]) -> list[tuple[int, int, int, int, int]]:
        """(recording, window start, chunk start, chunk end, window end) of every window."""
        before = self.effective_burn_in
        after = 0 if self.tags.causal else before
        full = self.chunk_len + before + after
        spans = []
        for r, m in enumerate(masks):
            n = len(m)
            for start in range(0, n, self.chunk_len):
                end = min(start + self.chunk_len, n)
                if not m[start:end].any():
                    continue
                if self.tags.causal:  # right padding is harmless to a causal model
                    lo, hi = max(0, start - before), end
                else:  # offline: keep every window full length (shifted inside the recording)
                    lo = max(0, min(start - before, n - full))
                    hi = min(n, lo + full)
                spans.append((r, lo, start, end, hi))
        return spans

    def _windows(self, inputs, targets, masks):
        """Training windows: (x (n, L, f), y (n, L), loss mask (n, L), lengths (n,))."""
        spans = self._spans(masks)
        length = max(hi - lo for _, lo, _, _, hi in spans)
        n_in = inputs[0].shape[1]
        xw = np.zeros((len(spans), length, n_in), dtype=np.float32)
        yw = np.zeros((len(spans), length), dtype=np.int64)
        mw = np.zeros((len(spans), length), dtype=bool)
        lens = np.zeros(len(spans), dtype=np.int64)
        for i, (r, lo, start, end, hi) in enumerate(spans):
            xw[i, : hi - lo] = inputs[r][lo:hi]
            yw[i, : hi - lo] = targets[r][lo:hi]
            mw[i, start - lo : end - lo] = masks[r][start:end]
            lens[i] = hi - lo
        return torch.from_numpy(xw), torch.from_numpy(yw), torch.from_numpy(mw), torch.from_numpy(lens)

    def _val_batches(self, val: list[Sequence]) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Whole validation recordings as (x, y, mask) batches. A causal model's recordings are
        cut after their last validation frame and run as one right-padded batch (same outputs,
        fewer sequential steps); an offline model's run one by one."""
        items = []
        for s in val:
            m = loss_mask(s)
            if m.any():
                end = int(np.flatnonzero(m)[-1]) + 1 if self.tags.causal else len(m)
                items.append((self._inputs(s)[:end], masked_targets(s, m)[:end], m[:end]))
        groups = [items] if self.tags.causal and items else [[it] for it in items]
        return [_pad_batch(group) for group in groups]

    # -- training
    def _prepare(self, train: list[Sequence]):
        """Check the training recordings, fit the delta scale, build the windows and class weights."""
        if not train:
            raise GfeError(f"{self.name}: no training recordings")
        masks = [loss_mask(s) for s in train]
        n_learn = int(sum(m.sum() for m in masks))
        if n_learn == 0:
            raise GfeError(
                f"{self.name}: no learnable frames — every training label is hidden (or its frame unusable)"
            )
        widths = {np.asarray(s.x).shape[1] if np.asarray(s.x).ndim == 2 else None for s in train}
        if len(widths) != 1 or None in widths:
            raise GfeError(f"{self.name}: training recordings must share one (frames, features) layout")
        targets = [masked_targets(s, m) for s, m in zip(train, masks, strict=True)]
        self.module_, self.n_features_in_, self.delta_scale_ = None, None, None
        if self.deltas:
            d = np.concatenate(
                [
                    delta_features(np.asarray(s.x, np.float32), s.usable)[m]
                    for s, m in zip(train, masks, strict=True)
                ]
            )
            self.delta_scale_ = np.maximum(d.std(axis=0), 1e-3).astype(np.float32)
        self.n_features_in_ = widths.pop()
        windows = self._windows([self._inputs(s) for s in train], targets, masks)
        return windows, self._class_weight(targets, masks), n_learn

    def _class_weight(self, targets, masks) -> torch.Tensor | None:
        if self.class_weight != "balanced":
            return None
        ys = np.concatenate([t[m] for t, m in zip(targets, masks, strict=True)])
        counts = np.bincount(ys, minlength=2).astype(np.float64)
        w = np.where(counts > 0, len(ys) / (2 * np.maximum(counts, 1)), 0.0)
        return torch.tensor(w, dtype=torch.float32)

    def _train_epoch(self, module, opt, windows, weight, gen) -> float:
        xw, yw, mw, lens = windows
        dev = self.device
        module.train()
        total, norm = 0.0, 0.0
        for idx in torch.randperm(len(xw), generator=gen).split(self.batch_size):
            xb, yb, mb = self._augmented(xw[idx], yw[idx], mw[idx], gen)
            logits, _ = module(xb.to(dev), lengths=lens[idx])
            s, w = masked_ce(logits, yb.to(dev), mb.to(dev), weight)
            if float(w) == 0:  # only possible with a zero class weight
                continue
            loss = s / w
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if self.grad_clip is not None:
                nn.utils.clip_grad_norm_(module.parameters(), self.grad_clip)
            opt.step()
            total, norm = total + float(s.detach()), norm + float(w)
        return total / max(norm, 1e-12)

    def _augmented(self, xb, yb, mb, gen):
        """A training batch after augmentation (if on) and gaussian input noise, both drawn on the
        CPU generator whatever the device: the same seed gives the same batches."""
        if self.augment > 0:
            from gfe.models.augment import Augmentation, augment

            xb, yb, mb = augment(
                xb, yb, mb, self.n_features_in_, self.deltas, Augmentation(p=self.augment), gen
            )
        if self.noise > 0:
            xb = xb + self.noise * torch.randn(xb.shape, generator=gen)
        return xb, yb, mb

    @staticmethod
    def _validate(module, val_data, weight) -> tuple[float, float]:
        """(loss, F1) of the validation frames, whole recordings at once as at prediction time."""
        module.eval()
        dev = next(module.parameters()).device
        with torch.no_grad():
            vs, vw, preds, truths = 0.0, 0.0, [], []
            for xv, yv, mv in val_data:
                logits = module(xv.to(dev))[0].cpu()
                s, w = masked_ce(logits, yv, mv, None if weight is None else weight.cpu())
                vs, vw = vs + float(s), vw + float(w)
                preds.append(logits.argmax(-1)[mv].numpy())
                truths.append(yv[mv].numpy())
        return vs / max(vw, 1e-12), f1(np.concatenate(truths), np.concatenate(preds))

    def _fit(self, train: list[Sequence], seed: int, val, monitor) -> None:
        t0 = time.perf_counter()
        windows, weight, n_learn = self._prepare(train)
        val_data = self._val_batches(val or [])
        n_epochs = self.max_epochs if val_data else self.epochs
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        module = self.build_module(windows[0].shape[2]).to(self.device)
        weight = None if weight is None else weight.to(self.device)
        opt = torch.optim.Adam(module.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        history = {"train_loss": [], "val_loss": [], "val_f1": [], "best_epoch": None, "stopped_early": False}
        best_loss, best_state, since_best = float("inf"), None, 0
        for epoch in range(1, n_epochs + 1):
            history["train_loss"].append(self._train_epoch(module, opt, windows, weight, gen))
            if not val_data:
                if monitor is not None:
                    monitor(epoch, module, history)
                continue
            vloss, vf1 = self._validate(module, val_data, weight)
            history["val_loss"].append(vloss)
            history["val_f1"].append(vf1)
            if monitor is not None:
                monitor(epoch, module, history)
            if vloss < best_loss:
                best_loss, since_best, history["best_epoch"] = vloss, 0, epoch
                best_state = copy.deepcopy(module.state_dict())
            else:
                since_best += 1
                if since_best >= self.patience:
                    history["stopped_early"] = epoch < n_epochs
                    break
        if val_data and best_state is not None:
            module.load_state_dict(best_state)
        else:
            history["best_epoch"] = len(history["train_loss"])
        module.cpu().eval()
        history.update(
            epochs_run=len(history["train_loss"]), n_windows=len(windows[0]), n_learnable_frames=n_learn,
            fit_seconds=time.perf_counter() - t0,
        )  # fmt: skip
        self.history_, self.module_ = history, module

    def predict_proba(self, seqs: list[Sequence]) -> list[np.ndarray]:
        if self.module_ is None:
            raise GfeError(f"{self.name}: call fit before predict_proba")
        self.module_.eval()
        out = []
        with torch.no_grad():
            for s in seqs:
                x = self._inputs(s)
                if len(x) == 0:
                    out.append(np.zeros(0))
                    continue
                logits, _ = self.module_(torch.from_numpy(x)[None])
                out.append(torch.softmax(logits[0].double(), dim=-1)[:, 1].numpy())
        return out

    @classmethod
    def _space(cls, search: dict) -> dict:
        """The search common to the temporal models (chunk length, learning rate, regularisers)."""
        from optuna.distributions import CategoricalDistribution as Cat
        from optuna.distributions import FloatDistribution as Float

        return {
            **search,
            "dropout": Float(0.0, 0.5),
            "chunk_len": Cat([16, 32, 64, 128, 256]),
            "lr": Float(3e-4, 1e-2, log=True),
            "weight_decay": Float(1e-6, 1e-2, log=True),
        }
