"""Recurrent temporal models: a causal LSTM (``seq-lstm``), a causal GRU (``gru``) and a
bidirectional LSTM (``bilstm``, offline: it reads the whole recording).

Each torch module has ``forward(x: (batch, time, features), state=None, lengths=None) -> (logits
(batch, time, 2), new_state)``; the causal ones step frame by frame with explicit state, so a
bundle of them labels a live stream. Training is :class:`gfe.models.windowed.WindowedModel`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from gfe.models.base import MAX_LAYERS, MAX_UNITS, Param, SearchSpace, Tags
from gfe.models.windowed import WindowedModel


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
        out, new_state = run_packed(self.rnn, x, state, lengths)
        return self.head(self.drop(out)), new_state


def run_packed(rnn: nn.Module, x: torch.Tensor, state=None, lengths: torch.Tensor | None = None):
    """A bidirectional RNN over a batch of windows: packed when some are shorter than the batch
    (``lengths``), so the backward direction starts at each window's own last frame."""
    if lengths is not None and bool((lengths < x.shape[1]).any()):
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, new_state = rnn(packed, state)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out, new_state
    return rnn(x, state)


# ------------------------------------------------------------------------------------ models
@dataclass(kw_only=True, eq=False)
class RNNModel(WindowedModel):
    """A recurrent temporal model: ``hidden`` units per direction, ``layers`` layers."""

    name: ClassVar[str] = ""
    hidden: int = 64
    layers: int = 1
    RNN: ClassVar[type[nn.Module]]
    PARAMS: ClassVar[dict[str, Param]] = {
        **WindowedModel.PARAMS,
        "hidden": Param("int", 1, MAX_UNITS),
        "layers": Param("int", 1, MAX_LAYERS),
    }

    def build_module(self, n_inputs: int) -> nn.Module:
        return self.RNN(n_inputs, self.hidden, self.layers, self.dropout)

    @classmethod
    def search_space(cls) -> SearchSpace:
        from optuna.distributions import FloatDistribution, IntDistribution

        search = cls._space({"hidden": IntDistribution(16, 256, log=True), "layers": IntDistribution(1, 3)})
        search["noise"] = FloatDistribution(0.0, 0.2)
        return SearchSpace(search, fixed={"max_epochs": 80, "patience": 8})

    @classmethod
    def test_params(cls) -> dict:
        return {"hidden": 6, "chunk_len": 32, "epochs": 2, "max_epochs": 2}


@dataclass(kw_only=True, eq=False)
class SeqLSTMModel(RNNModel):
    """Causal LSTM over the recording, one output per frame; trained on 64-frame windows with a
    burn-in; runs frame by frame with carried state, so it can label a live stream."""

    name: ClassVar[str] = "seq-lstm"
    tags: ClassVar[Tags] = Tags(
        label="seq-lstm", tunable=True, colour="tab:red", uses_validation=True, streamable=True, bundle=True,
        engine="lstm", onnx="lstm-step", default_grid=True, order=70,
        about="causal LSTM along the recording (streamable)",
    )  # fmt: skip
    RNN: ClassVar[type[nn.Module]] = SeqLSTM


@dataclass(kw_only=True, eq=False)
class BiLSTMModel(RNNModel):
    """Bidirectional LSTM over the whole recording (offline). Training windows get ``burn_in``
    frames of context on both sides of their chunk."""

    name: ClassVar[str] = "bilstm"
    tags: ClassVar[Tags] = Tags(
        label="bilstm", tunable=True, colour="tab:purple", causal=False, uses_validation=True, bundle=True,
        default_grid=True, order=80, about="bidirectional LSTM (offline: reads the whole recording)",
    )  # fmt: skip
    RNN: ClassVar[type[nn.Module]] = BiLSTM


@dataclass(kw_only=True, eq=False)
class GRUModel(RNNModel):
    """Causal GRU over the recording."""

    name: ClassVar[str] = "gru"
    tags: ClassVar[Tags] = Tags(
        label="gru", tunable=True, colour="tab:pink", uses_validation=True, streamable=True, bundle=True, engine="gru",
        onnx="gru-step", order=75, about="causal GRU along the recording (streamable)",
    )  # fmt: skip
    RNN: ClassVar[type[nn.Module]] = GRUNet
