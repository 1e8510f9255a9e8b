"""One network for all nine expressions: a shared temporal encoder, one head per expression, and
a masked loss — each frame's loss counts only the expression its recording labels.

Why: each expression has only two recordings (one per signer). The encoder that turns face motion
into "what the face is doing" is the same for all of them, so training it on all 18 recordings
gives it nine times the faces and motions to learn from; each head stays a linear read-out for its
expression. A recording of affirmative sentences is *not* assumed negative for the other eight
heads (it may well contain a topic or a question): its frames train the affirmative head only.

``shared-lstm`` (causal: steps frame by frame, so a bundle of it streams all nine expressions at
once) and ``shared-bilstm`` (offline). Training is :class:`gfe.models.windowed.WindowedModel`'s —
windows with burn-in, deltas, noise, early stopping on validation frames — with a binary
cross-entropy per head on the frames of that head's recordings; with ``task_balance`` every
expression present in a batch weighs the same, whatever its number of frames. The tasks are the
expressions of the training sequences (``Sequence.expression``), in :data:`gfe.EXPRESSIONS` order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gfe import EXPRESSIONS
from gfe.errors import GfeError
from gfe.metrics import f1
from gfe.models.base import MAX_LAYERS, MAX_UNITS, Param, Tags
from gfe.models.recurrent import run_packed
from gfe.models.windowed import WindowedModel, loss_mask
from gfe.protocols import Sequence


class SharedNet(nn.Module):
    """(Bi)LSTM encoder → dropout → ``Linear(hidden, n_tasks)``: one logit per expression and frame.
    ``forward(x (batch, time, inputs), state=None, lengths=None) → (logits (batch, time, n_tasks),
    new_state)``; the causal one steps frame by frame with explicit ``(h, c)``."""

    def __init__(
        self, n_inputs: int, n_tasks: int, hidden: int, layers: int, dropout: float, bidirectional: bool
    ):
        super().__init__()
        self.causal = not bidirectional
        self.rnn = nn.LSTM(
            n_inputs, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )  # fmt: skip
        self.drop = nn.Dropout(dropout)
        self.heads = nn.Linear(hidden * (2 if bidirectional else 1), n_tasks)

    def forward(self, x: torch.Tensor, state=None, lengths: torch.Tensor | None = None):
        out, new_state = run_packed(self.rnn, x, state, None if self.causal else lengths)
        return self.heads(self.drop(out)), new_state


def _head_loss(logits, y, m, task, n_tasks: int, balance: bool):
    """(loss, per-task [sum, count]) of each window's own head over its masked frames."""
    lg = logits.gather(2, task[:, None, None].expand(-1, logits.shape[1], 1))[..., 0]
    ce = F.binary_cross_entropy_with_logits(lg, y, reduction="none") * m
    stats = torch.zeros(n_tasks, 2, dtype=ce.dtype, device=ce.device)
    stats = stats.index_add(0, task, torch.stack([ce.sum(1), m.sum(1).to(ce.dtype)], 1))
    present = stats[:, 1] > 0
    if balance:
        return (stats[present, 0] / stats[present, 1]).mean(), stats.detach()
    return stats[:, 0].sum() / stats[:, 1].sum().clamp(min=1), stats.detach()


@dataclass(kw_only=True, eq=False)
class SharedModel(WindowedModel):
    """The multi-task trainer (see the module docstring)."""

    name: ClassVar[str] = ""
    bidirectional: ClassVar[bool] = False
    hidden: int = 128
    layers: int = 1
    dropout: float = 0.3
    batch_size: int = 32
    lr: float = 2e-3
    epochs: int = 30
    task_balance: bool = True
    tasks_: tuple[str, ...] = field(default=(), init=False, repr=False)

    PARAMS: ClassVar[dict[str, Param]] = {
        **WindowedModel.PARAMS,
        "hidden": Param("int", 1, MAX_UNITS),
        "layers": Param("int", 1, MAX_LAYERS),
        "task_balance": Param("bool"),
    }

    def build_module(self, n_inputs: int) -> nn.Module:
        return SharedNet(
            n_inputs, max(len(self.tasks_), 1), self.hidden, self.layers, self.dropout, self.bidirectional
        )

    def bundle_inputs(self) -> dict:
        return {**super().bundle_inputs(), "tasks": list(self.tasks_)}

    def _task(self, seq: Sequence) -> int:
        if seq.expression not in self.tasks_:
            raise GfeError(
                f"{self.name}: recording of {seq.expression!r}, but the model has heads for {', '.join(self.tasks_)}"
            )
        return self.tasks_.index(seq.expression)

    # -- the hooks of WindowedModel
    def _prepare(self, train: list[Sequence]):
        present = {s.expression for s in train}
        if None in present:
            raise GfeError(f"{self.name}: every training recording must say its expression")
        self.tasks_ = tuple(e for e in EXPRESSIONS if e in present)
        windows, _, n_learn = super()._prepare(train)
        tasks = [self._task(s) for s in train]
        return (
            (*windows, torch.tensor([tasks[r] for r in self._window_recordings], dtype=torch.long)),
            None,
            n_learn,
        )

    def _windows(self, inputs, targets, masks):
        spans = self._spans(masks)
        self._window_recordings = [r for r, *_ in spans]
        return super()._windows(inputs, targets, masks)

    def _train_epoch(self, module, opt, windows, weight, gen) -> float:
        xw, yw, mw, lens, tw = windows
        dev, n_tasks = self.device, len(self.tasks_)
        module.train()
        total, n = 0.0, 0
        for idx in torch.randperm(len(xw), generator=gen).split(self.batch_size):
            xb, yb, mb = self._augmented(xw[idx], yw[idx], mw[idx], gen)  # augmentation, noise
            if not bool(mb.any()):
                continue
            logits, _ = module(xb.to(dev), lengths=lens[idx])
            loss, _ = _head_loss(
                logits, yb.to(dev).float(), mb.to(dev).float(), tw[idx].to(dev), n_tasks, self.task_balance
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if self.grad_clip is not None:
                nn.utils.clip_grad_norm_(module.parameters(), self.grad_clip)
            opt.step()
            total, n = total + float(loss.detach()), n + 1
        return total / max(n, 1)

    def _val_batches(self, val: list[Sequence]):
        items = []
        for s in val:
            m = loss_mask(s)
            if m.any():
                end = int(np.flatnonzero(m)[-1]) + 1 if self.tags.causal else len(m)
                y = np.where(m, np.asarray(s.y), 0)
                t = torch.from_numpy
                items.append((t(self._inputs(s)[:end])[None], t(y[:end].astype(np.float32))[None],
                              t(m[:end])[None], torch.tensor([self._task(s)])))  # fmt: skip
        return items

    def _validate(self, module, val_data, weight) -> tuple[float, float]:
        module.eval()
        dev, n_tasks = next(module.parameters()).device, len(self.tasks_)
        stats = torch.zeros(n_tasks, 2, dtype=torch.float64)
        truths, preds = [], []
        with torch.no_grad():
            for xv, yv, mv, tv in val_data:
                logits = module(xv.to(dev))[0].cpu()
                _, st = _head_loss(logits, yv, mv.float(), tv, n_tasks, True)
                stats += st.double()
                own = logits[0, :, int(tv[0])]
                truths.append(yv[0][mv[0]].numpy())
                preds.append((own[mv[0]] >= 0).numpy())
        present = stats[:, 1] > 0
        loss = float((stats[present, 0] / stats[present, 1]).mean())
        return loss, f1(np.concatenate(truths), np.concatenate(preds))

    # -- prediction
    def predict_all(self, seq: Sequence) -> np.ndarray:
        """(frames, n_tasks) probabilities of every head for one whole recording."""
        if self.module_ is None:
            raise GfeError(f"{self.name}: call fit before predicting")
        self.module_.eval()
        x = self._inputs(seq)
        if len(x) == 0:
            return np.zeros((0, len(self.tasks_)))
        with torch.no_grad():
            logits, _ = self.module_(torch.from_numpy(x)[None])
        return torch.sigmoid(logits[0].double()).numpy()

    def predict_proba(self, seqs: list[Sequence]) -> list[np.ndarray]:
        """For each recording, the probability of its own expression (its head)."""
        return [self.predict_all(s)[:, self._task(s)] for s in seqs]

    @classmethod
    def test_params(cls) -> dict:
        return {"hidden": 8, "chunk_len": 32, "epochs": 2, "max_epochs": 2}


@dataclass(kw_only=True, eq=False)
class SharedLSTMModel(SharedModel):
    """Causal shared LSTM: one encoder, nine heads; streams every expression at once."""

    name: ClassVar[str] = "shared-lstm"
    tags: ClassVar[Tags] = Tags(
        label="shared-lstm", colour="#d62728", uses_validation=True, streamable=True, bundle=True, engine="lstm-multi",
        multi_expression=True, order=72, about="one causal LSTM for all 9 expressions, a head each (masked loss)",
    )  # fmt: skip


@dataclass(kw_only=True, eq=False)
class SharedBiLSTMModel(SharedModel):
    """Bidirectional shared LSTM (offline): one encoder, nine heads."""

    name: ClassVar[str] = "shared-bilstm"
    bidirectional: ClassVar[bool] = True
    tags: ClassVar[Tags] = Tags(
        label="shared-bilstm", colour="#9467bd", causal=False, uses_validation=True, bundle=True,
        multi_expression=True, order=82, about="one bidirectional LSTM for all 9 expressions (offline)",
    )  # fmt: skip
