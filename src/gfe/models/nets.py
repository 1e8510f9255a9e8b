"""The torch networks of the paper's frame models: its per-frame LSTM and its earlier
one-hidden-layer MLP.

Both map features of shape (frames, n_features) to logits of shape (frames, 2), so the trainer
(:mod:`gfe.models.training`), pruning and the bundles treat them alike.
"""

from __future__ import annotations

import torch
from torch import nn

from gfe.errors import GfeError

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class PaperLSTM(nn.Module):
    """Exactly what the paper trained (§2.2): one LSTM layer, 105 hidden units, a linear layer to
    2 classes. Each frame is fed as its own length-1 sequence (input frames × 1 × 118, as in the
    author's code), so no state flows from one frame to the next."""

    def __init__(self, n_features: int = 118, hidden: int = 105) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, num_layers=1, batch_first=True)
        self.fc = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x.unsqueeze(1))
        return self.fc(out[:, -1])


class MLP(nn.Module):
    """One hidden layer (the paper's preliminary experiment, §1.2); sigmoid hidden units by
    default, as in the classic back-propagation network that distinctiveness pruning assumes."""

    def __init__(self, n_features: int = 118, hidden: int = 105, activation: str = "sigmoid") -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise GfeError(f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}")
        self.activation = activation
        self.hidden = nn.Linear(n_features, hidden)
        self.act = ACTIVATIONS[activation]()
        self.out = nn.Linear(hidden, 2)

    def hidden_activations(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.hidden(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden_activations(x))


NETS: dict[str, type[nn.Module]] = {"paper-lstm": PaperLSTM, "mlp": MLP}


def build_net(name: str, n_features: int = 118, **params) -> nn.Module:
    if name not in NETS:
        raise GfeError(f"unknown network {name!r}; choose one of: {', '.join(NETS)}")
    return NETS[name](n_features=n_features, **params)
