"""Temporal models: run along a whole recording and label every frame (many-to-many).

Four torch modules, each ``forward(x: (batch, time, features), state=None) -> (logits (batch,
time, 2), new_state)``:

* :class:`SeqLSTM` — causal, unidirectional LSTM; steps frame by frame with explicit ``(h, c)``.
* :class:`GRUNet` — causal GRU; steps frame by frame with explicit ``h``.
* :class:`BiLSTM` — bidirectional LSTM, offline (reads the whole recording), not causal.
* :class:`TCN` — causal temporal convolution network: residual blocks of two dilated 1-D
  convolutions (kernel ``k``, dilation 1, 2, 4, …) padded on the left only. Its receptive field is
  ``1 + 2 (k - 1) (2**levels - 1)`` frames (61 for k=3, 4 levels). Its streaming ``state`` is the
  last ``receptive_field - 1`` input frames.

and, wrapping each, an estimator of :mod:`gfe.estimators` (``seq-lstm``, ``bilstm``, ``gru``,
``tcn``).

Training (:func:`_TemporalEstimator.fit`), in short:

* **Inputs.** The scaled features; with ``deltas=True`` also ``x_t - x_{t-1}`` (zero on the first
  frame and wherever frame t or t-1 is unusable), computed on the whole recording before any
  windowing, so it is causal. Delta channels are divided by their standard deviation over the
  learnable frames.
* **Truncated BPTT by overlapping windows with burn-in.** Each recording is cut into consecutive
  chunks of ``chunk_len`` frames. A chunk's training window adds ``burn_in`` frames of context
  before it (and, for the offline BiLSTM, after it); the model runs over the window from a zero
  state and the loss counts the chunk's frames only, so the burn-in warms the state up and the
  gradient is truncated at the window start. Chosen over carrying detached state across
  consecutive chunks because windows are independent: they can be shuffled (a seeded
  ``torch.Generator``) and batched freely (right-padded + masked), whereas carried state forces
  one batch row per recording — here two recordings per expression, i.e. tiny batches. Windows
  that start at frame 0 have no burn-in, so the model also learns to start from the zero state it
  starts from at prediction time. Default burn-in: ``chunk_len // 2`` for the RNNs; for the TCN its
  receptive field − 1, so a window's chunk outputs equal the whole-recording outputs exactly. The
  BiLSTM's windows get context on both sides and are shifted to stay inside the recording, so
  they share one length (no packing, which is ~5× slower on CPU). Chunks without a learnable
  frame make no window.
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
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gfe.errors import GfeError
from gfe.estimators import HIDDEN, Sequence
from gfe.metrics import f1

__all__ = [
    "ESTIMATORS",
    "TCN",
    "BiLSTM",
    "BiLSTMEstimator",
    "GRUEstimator",
    "GRUNet",
    "SeqLSTM",
    "SeqLSTMEstimator",
    "TCNEstimator",
    "delta_features",
    "tcn_receptive_field",
]


# ------------------------------------------------------------------------------------ modules
class _CausalRNN(nn.Module):
    """Causal recurrent layer(s) → dropout → linear head (2 logits per frame)."""

    causal = True
    RNN: type[nn.Module] = nn.LSTM

    def __init__(self, n_features: int, hidden: int = 64, layers: int = 1, dropout: float = 0.2) -> None:
        super().__init__()
        self.rnn = self.RNN(
            n_features, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor, state=None, lengths: torch.Tensor | None = None):
        # Causal: right padding (``lengths``) cannot change the outputs of the real frames.
        out, new_state = self.rnn(x, state)
        return self.head(self.drop(out)), new_state


class SeqLSTM(_CausalRNN):
    """Causal LSTM → dropout → linear head (2 logits per frame).

    ``state`` is ``(h, c)``, each (layers, batch, hidden); ``None`` is the zero state. Feeding a
    recording in pieces (down to one frame at a time) with the returned state carried over gives
    the same outputs as feeding it at once.
    """

    RNN = nn.LSTM


class GRUNet(_CausalRNN):
    """Causal GRU → dropout → linear head. ``state`` is ``h`` (layers, batch, hidden)."""

    RNN = nn.GRU


class BiLSTM(nn.Module):
    """Bidirectional LSTM → dropout → linear head: frame t sees the whole recording (offline).

    ``lengths`` (batch,) marks right padding, which is then packed away so the backward direction
    starts at each sequence's real last frame. ``state``/``new_state`` are the LSTM's ``(h, c)``
    (2·layers, batch, hidden); they exist for interface symmetry — a bidirectional model cannot
    stream.
    """

    causal = False

    def __init__(self, n_features: int, hidden: int = 64, layers: int = 1, dropout: float = 0.2) -> None:
        super().__init__()
        self.rnn = nn.LSTM(
            n_features,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden, 2)

    def forward(self, x: torch.Tensor, state=None, lengths: torch.Tensor | None = None):
        if lengths is not None and bool((lengths < x.shape[1]).any()):
            packed = nn.utils.rnn.pack_padded_sequence(
                x, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            out, new_state = self.rnn(packed, state)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        else:
            out, new_state = self.rnn(x, state)
        return self.head(self.drop(out)), new_state


def tcn_receptive_field(levels: int, kernel: int) -> int:
    """Frames that one TCN output sees (itself included): two convolutions per level, dilation
    ``2**i`` at level i, so ``1 + 2 (kernel - 1) (2**levels - 1)``."""
    return 1 + 2 * (kernel - 1) * (2**levels - 1)


class _CausalConv(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.conv = nn.Conv1d(c_in, c_out, kernel, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (batch, channels, time)
        return self.conv(F.pad(x, (self.pad, 0)))


class _TemporalBlock(nn.Module):
    """conv → ReLU → dropout → conv → ReLU → dropout, plus a (1×1-projected) residual, → ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            _CausalConv(c_in, c_out, kernel, dilation),
            nn.ReLU(),
            nn.Dropout(dropout),
            _CausalConv(c_out, c_out, kernel, dilation),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.net(x) + self.skip(x))


class TCN(nn.Module):
    """Causal temporal convolution network (Bai et al. 2018 style) → linear head per frame.

    ``levels`` residual blocks with dilations 1, 2, 4, …, each two causal convolutions of width
    ``kernel`` padded on the left only. The output at frame t depends on frames
    ``t - receptive_field + 1 … t`` only. Streaming: ``state`` is the buffer of up to
    ``receptive_field - 1`` most recent input frames (batch, ≤ rf-1, features), ``None`` at the
    start of a recording; the buffer is prepended to ``x`` and the outputs of its frames dropped,
    which reproduces the offline outputs.
    """

    causal = True

    def __init__(
        self, n_features: int, channels: int = 64, levels: int = 4, kernel: int = 3, dropout: float = 0.2
    ) -> None:
        super().__init__()
        blocks = [
            _TemporalBlock(n_features if i == 0 else channels, channels, kernel, 2**i, dropout)
            for i in range(levels)
        ]
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(channels, 2)
        self.receptive_field = tcn_receptive_field(levels, kernel)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None, lengths=None):
        n_past = 0
        if state is not None and state.shape[1]:
            n_past = state.shape[1]
            x = torch.cat([state, x], dim=1)
        h = self.blocks(x.transpose(1, 2)).transpose(1, 2)
        keep = self.receptive_field - 1
        new_state = x[:, max(x.shape[1] - keep, 0) :] if keep else x[:, :0]
        return self.head(h[:, n_past:]), new_state


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


def _loss_mask(seq: Sequence) -> np.ndarray:
    m = np.asarray(seq.y) != HIDDEN
    if seq.usable is not None:
        m &= np.asarray(seq.usable, dtype=bool)
    return m


def _targets(seq: Sequence, mask: np.ndarray) -> np.ndarray:
    """Labels of the masked frames, 0 elsewhere: labels outside the mask are never read."""
    y = np.zeros(len(mask), dtype=np.int64)
    y[mask] = np.asarray(seq.y)[mask]
    if not np.isin(y[mask], (0, 1)).all():
        raise GfeError(f"recording {seq.signer!r}: labels must be 0, 1 or HIDDEN ({HIDDEN})")
    return y


def _masked_ce(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor | None):
    """Mean cross-entropy over masked frames, as (sum, normaliser) so batches can be pooled."""
    ce = F.cross_entropy(logits.reshape(-1, 2), y.reshape(-1), reduction="none")
    w = mask.reshape(-1).to(ce.dtype)
    if weight is not None:
        w = w * weight[y.reshape(-1)]
    return (ce * w).sum(), w.sum()


# ------------------------------------------------------------------------------- estimators
@dataclass(kw_only=True, eq=False)
class _TemporalEstimator:
    """Shared trainer and predictor; subclasses add the module and its size parameters."""

    name: ClassVar[str]
    causal: ClassVar[bool]

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

    history_: dict = field(default_factory=dict, init=False, repr=False)
    module_: nn.Module | None = field(default=None, init=False, repr=False)
    n_features_in_: int | None = field(default=None, init=False, repr=False)
    delta_scale_: np.ndarray | None = field(default=None, init=False, repr=False)
    # Called (epoch, history_) after each epoch; hyper-parameter search reports and prunes there.
    epoch_callback: Callable[[int, dict], None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        checks = {
            "chunk_len": self.chunk_len >= 1,
            "burn_in": self.burn_in is None or self.burn_in >= 0,
            "batch_size": self.batch_size >= 1,
            "epochs": self.epochs >= 1,
            "max_epochs": self.max_epochs >= 1,
            "patience": self.patience >= 1,
            "lr": self.lr > 0,
            "weight_decay": self.weight_decay >= 0,
            "noise": self.noise >= 0,
            "dropout": 0 <= self.dropout < 1,
            "class_weight": self.class_weight in (None, "balanced"),
            "grad_clip": self.grad_clip is None or self.grad_clip > 0,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            shown = ", ".join(f"{k}={getattr(self, k)!r}" for k in bad)
            raise GfeError(f"{self.name}: invalid parameter(s) {shown}")

    # -- to be provided by subclasses
    def _build(self, n_inputs: int) -> nn.Module:
        raise NotImplementedError

    def _default_burn_in(self) -> int:
        return self.chunk_len // 2

    # -- public
    def get_params(self) -> dict:
        """Constructor parameters (for run folders): ``type(self)(**est.get_params())`` rebuilds it."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

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

    def _windows(self, inputs, targets, masks):
        """Training windows: (x (n, L, f), y (n, L), loss mask (n, L), lengths (n,))."""
        before = self.effective_burn_in
        after = 0 if self.causal else before
        full = self.chunk_len + before + after
        spans = []
        for r, m in enumerate(masks):
            n = len(m)
            for start in range(0, n, self.chunk_len):
                end = min(start + self.chunk_len, n)
                if not m[start:end].any():
                    continue
                if self.causal:  # right padding is harmless to a causal model
                    lo, hi = max(0, start - before), end
                else:  # offline: keep every window full length (shifted inside the recording)
                    lo = max(0, min(start - before, n - full))
                    hi = min(n, lo + full)
                spans.append((r, lo, start, end, hi))
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
        fewer sequential steps); the offline model's run one by one."""
        items = []
        for s in val:
            m = _loss_mask(s)
            if m.any():
                end = int(np.flatnonzero(m)[-1]) + 1 if self.causal else len(m)
                items.append((self._inputs(s)[:end], _targets(s, m)[:end], m[:end]))
        groups = [items] if self.causal and items else [[it] for it in items]
        batches = []
        for group in groups:
            length = max(len(m) for _, _, m in group)
            xb = np.zeros((len(group), length, group[0][0].shape[1]), dtype=np.float32)
            yb = np.zeros((len(group), length), dtype=np.int64)
            mb = np.zeros((len(group), length), dtype=bool)
            for i, (x, y, m) in enumerate(group):
                xb[i, : len(m)], yb[i, : len(m)], mb[i, : len(m)] = x, y, m
            batches.append((torch.from_numpy(xb), torch.from_numpy(yb), torch.from_numpy(mb)))
        return batches

    def fit(self, train: list[Sequence], seed: int, val: list[Sequence] | None = None):
        t0 = time.perf_counter()
        if not train:
            raise GfeError(f"{self.name}: no training recordings")
        masks = [_loss_mask(s) for s in train]
        n_learn = int(sum(m.sum() for m in masks))
        if n_learn == 0:
            raise GfeError(
                f"{self.name}: no learnable frames — every training label is hidden (or its frame unusable)"
            )
        widths = {np.asarray(s.x).shape[1] if np.asarray(s.x).ndim == 2 else None for s in train}
        if len(widths) != 1 or None in widths:
            raise GfeError(f"{self.name}: training recordings must share one (frames, features) layout")
        targets = [_targets(s, m) for s, m in zip(train, masks, strict=True)]

        self.module_ = None
        self.n_features_in_ = None
        self.delta_scale_ = None
        if self.deltas:
            d = np.concatenate(
                [
                    delta_features(np.asarray(s.x, np.float32), s.usable)[m]
                    for s, m in zip(train, masks, strict=True)
                ]
            )
            self.delta_scale_ = np.maximum(d.std(axis=0), 1e-3).astype(np.float32)
        self.n_features_in_ = widths.pop()
        inputs = [self._inputs(s) for s in train]
        xw, yw, mw, lens = self._windows(inputs, targets, masks)

        weight = None
        if self.class_weight == "balanced":
            ys = np.concatenate([t[m] for t, m in zip(targets, masks, strict=True)])
            counts = np.bincount(ys, minlength=2).astype(np.float64)
            w = np.where(counts > 0, len(ys) / (2 * np.maximum(counts, 1)), 0.0)
            weight = torch.tensor(w, dtype=torch.float32)

        val_data = self._val_batches(val or [])
        use_val = bool(val_data)
        n_epochs = self.max_epochs if use_val else self.epochs

        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        module = self._build(xw.shape[2])
        opt = torch.optim.Adam(module.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        history = {"train_loss": [], "val_loss": [], "val_f1": [], "best_epoch": None, "stopped_early": False}
        best_loss, best_state, since_best = float("inf"), None, 0
        for epoch in range(1, n_epochs + 1):
            module.train()
            total, norm = 0.0, 0.0
            for idx in torch.randperm(len(xw), generator=gen).split(self.batch_size):
                xb = xw[idx]
                if self.noise > 0:
                    xb = xb + self.noise * torch.randn(xb.shape, generator=gen)
                logits, _ = module(xb, lengths=lens[idx])
                s, w = _masked_ce(logits, yw[idx], mw[idx], weight)
                if float(w) == 0:  # only possible with a zero class weight
                    continue
                loss = s / w
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if self.grad_clip is not None:
                    nn.utils.clip_grad_norm_(module.parameters(), self.grad_clip)
                opt.step()
                total, norm = total + float(s.detach()), norm + float(w)
            history["train_loss"].append(total / max(norm, 1e-12))
            if not use_val:
                if self.epoch_callback is not None:
                    self.epoch_callback(epoch, history)
                continue
            module.eval()
            with torch.no_grad():
                vs, vw, preds, truths = 0.0, 0.0, [], []
                for xv, yv, mv in val_data:
                    logits = module(xv)[0]
                    s, w = _masked_ce(logits, yv, mv, weight)
                    vs, vw = vs + float(s), vw + float(w)
                    preds.append(logits.argmax(-1)[mv].numpy())
                    truths.append(yv[mv].numpy())
            vloss = vs / max(vw, 1e-12)
            history["val_loss"].append(vloss)
            history["val_f1"].append(f1(np.concatenate(truths), np.concatenate(preds)))
            if self.epoch_callback is not None:
                self.epoch_callback(epoch, history)
            if vloss < best_loss:
                best_loss, since_best = vloss, 0
                history["best_epoch"] = epoch
                best_state = copy.deepcopy(module.state_dict())
            else:
                since_best += 1
                if since_best >= self.patience:
                    history["stopped_early"] = epoch < n_epochs
                    break
        if use_val and best_state is not None:
            module.load_state_dict(best_state)
        else:
            history["best_epoch"] = len(history["train_loss"])
        module.eval()
        history["epochs_run"] = len(history["train_loss"])
        history["n_windows"] = len(xw)
        history["n_learnable_frames"] = n_learn
        history["fit_seconds"] = time.perf_counter() - t0
        self.history_ = history
        self.module_ = module
        return self

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


@dataclass(kw_only=True, eq=False)
class _RNNEstimator(_TemporalEstimator):
    hidden: int = 64
    layers: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hidden < 1 or self.layers < 1:
            raise GfeError(f"{self.name}: hidden and layers must be >= 1")


@dataclass(kw_only=True, eq=False)
class SeqLSTMEstimator(_RNNEstimator):
    """Causal LSTM over the recording (``seq-lstm``)."""

    name: ClassVar[str] = "seq-lstm"
    causal: ClassVar[bool] = True

    def _build(self, n_inputs: int) -> nn.Module:
        return SeqLSTM(n_inputs, self.hidden, self.layers, self.dropout)


@dataclass(kw_only=True, eq=False)
class BiLSTMEstimator(_RNNEstimator):
    """Bidirectional LSTM over the whole recording (``bilstm``, offline). Training windows get
    ``burn_in`` frames of context on both sides of their chunk."""

    name: ClassVar[str] = "bilstm"
    causal: ClassVar[bool] = False

    def _build(self, n_inputs: int) -> nn.Module:
        return BiLSTM(n_inputs, self.hidden, self.layers, self.dropout)


@dataclass(kw_only=True, eq=False)
class GRUEstimator(_RNNEstimator):
    """Causal GRU over the recording (``gru``)."""

    name: ClassVar[str] = "gru"
    causal: ClassVar[bool] = True

    def _build(self, n_inputs: int) -> nn.Module:
        return GRUNet(n_inputs, self.hidden, self.layers, self.dropout)


@dataclass(kw_only=True, eq=False)
class TCNEstimator(_TemporalEstimator):
    """Causal TCN (``tcn``); default burn-in = receptive field − 1, so training windows compute
    exactly what the whole-recording pass computes for their chunk."""

    name: ClassVar[str] = "tcn"
    causal: ClassVar[bool] = True
    channels: int = 64
    levels: int = 4
    kernel: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.channels < 1 or self.levels < 1 or self.kernel < 1:
            raise GfeError(f"{self.name}: channels, levels and kernel must be >= 1")

    def _default_burn_in(self) -> int:
        return tcn_receptive_field(self.levels, self.kernel) - 1

    def _build(self, n_inputs: int) -> nn.Module:
        return TCN(n_inputs, self.channels, self.levels, self.kernel, self.dropout)


ESTIMATORS: dict[str, type[_TemporalEstimator]] = {
    "seq-lstm": SeqLSTMEstimator,
    "bilstm": BiLSTMEstimator,
    "gru": GRUEstimator,
    "tcn": TCNEstimator,
}
