"""A causal temporal convolution network (``tcn``): residual blocks of two dilated 1-D
convolutions (kernel ``k``, dilation 1, 2, 4, …) padded on the left only. Its receptive field is
``1 + 2 (k - 1) (2**levels - 1)`` frames (61 for k=3, 4 levels); its streaming ``state`` is the
last ``receptive_field - 1`` input frames. Training is :class:`gfe.models.windowed.WindowedModel`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from gfe.models.base import MAX_UNITS, Param, SearchSpace, Tags
from gfe.models.windowed import WindowedModel


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


@dataclass(kw_only=True, eq=False)
class TCNModel(WindowedModel):
    """Causal TCN; default burn-in = receptive field − 1, so training windows compute exactly what
    the whole-recording pass computes for their chunk."""

    name: ClassVar[str] = "tcn"
    tags: ClassVar[Tags] = Tags(
        label="tcn", tunable=True, colour="tab:cyan", uses_validation=True, streamable=True, bundle=True, order=85,
        about="causal temporal convolution network (61-frame receptive field)",
    )  # fmt: skip
    channels: int = 64
    levels: int = 4
    kernel: int = 3
    # levels and kernel set the receptive field, 1 + 2 (kernel - 1) (2**levels - 1), and with it
    # the default burn-in: at most 10 levels of kernel 16 (30 691 frames).
    PARAMS: ClassVar[dict[str, Param]] = {
        **WindowedModel.PARAMS,
        "channels": Param("int", 1, MAX_UNITS),
        "levels": Param("int", 1, 10),
        "kernel": Param("int", 1, 16),
    }

    def _default_burn_in(self) -> int:
        return tcn_receptive_field(self.levels, self.kernel) - 1

    def build_module(self, n_inputs: int) -> nn.Module:
        return TCN(n_inputs, self.channels, self.levels, self.kernel, self.dropout)

    @classmethod
    def search_space(cls) -> SearchSpace:
        from optuna.distributions import CategoricalDistribution, IntDistribution

        search = cls._space(
            {
                "channels": IntDistribution(16, 128, log=True),
                "levels": IntDistribution(2, 6),
                "kernel": CategoricalDistribution([2, 3, 5]),
            }
        )
        return SearchSpace(search, fixed={"max_epochs": 80, "patience": 8})

    @classmethod
    def test_params(cls) -> dict:
        return {"channels": 6, "levels": 2, "chunk_len": 32, "epochs": 2, "max_epochs": 2}
