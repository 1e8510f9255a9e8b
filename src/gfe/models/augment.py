"""Training-time augmentation of a temporal model's windows (``augment=p`` on the windowed and
shared models: each transform is applied to a window with probability ``p``; 0 = off).

The transforms act on a batch of windows ``x`` (batch, time, inputs) of scaled inputs — the
z-scored features, then (with ``deltas``) the scaled frame-to-frame differences — with their labels
``y`` and loss mask ``m``. Each models a nuisance a new recording or a new signer brings:

* **person** — one random offset per static channel and one gain for the whole window: a reference
  face (z-score statistics) slightly off, a signer whose expressions are more or less pronounced.
  In z-scored feature space this is also what a random similarity of the face does to the paper's
  distances (a scale is a gain, a shift an offset); on the aligned specs an image similarity is
  undone exactly by the alignment, so no separate similarity transform is drawn.
* **stretch** — time stretching by a factor in ``[1/max_stretch, max_stretch]`` (log-uniform):
  the window is resampled by linear interpolation (labels and mask: the nearest frame); delta
  channels are multiplied by the factor (faster motion, larger differences); frames beyond the
  window's end become padding (mask False).
* **dropout** — lost measurements: each static channel (and its delta) is set to 0, the value an
  unknown gets after scaling, over a random contiguous span, with probability ``p_channel``
  (lost depth, an occluded landmark).

Every draw comes from the trainer's ``torch.Generator``: the same seed, the same augmentations.
The research that led here measured no clear gain (see docs/ablation.md); it is off by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Augmentation:
    p: float = 0.5  # probability that each transform is applied to a window
    offset_std: float = 0.3  # person: offset of each static channel (scaled units)
    gain_std: float = 0.15  # person: log gain of the window
    max_stretch: float = 1.25
    p_channel: float = 0.05  # dropout: probability per channel and window


def _pick(n: int, p: float, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=gen) < p


def person(x: torch.Tensor, n_static: int, a: Augmentation, gen: torch.Generator) -> torch.Tensor:
    sel = _pick(len(x), a.p, gen)
    if not sel.any():
        return x
    x = x.clone()
    n = int(sel.sum())
    gain = torch.exp(torch.randn(n, 1, 1, generator=gen) * a.gain_std)
    off = torch.randn(n, 1, n_static, generator=gen) * a.offset_std
    xs = x[sel] * gain
    xs[:, :, :n_static] = xs[:, :, :n_static] + off
    x[sel] = xs
    return x


def stretch(x, y, m, n_static: int, deltas: bool, a: Augmentation, gen: torch.Generator):
    sel = _pick(len(x), a.p, gen)
    if not sel.any() or a.max_stretch <= 1:
        return x, y, m
    x, y, m = x.clone(), y.clone(), m.clone()
    length, lim = x.shape[1], math.log(a.max_stretch)
    for i in torch.nonzero(sel).flatten().tolist():
        f = math.exp((torch.rand(1, generator=gen).item() * 2 - 1) * lim)
        pos = torch.arange(length, dtype=torch.float32) * f  # output frame t reads source frame t·f
        valid = pos <= length - 1
        p = pos.clamp(max=length - 1)
        lo = p.floor().long()
        hi = (lo + 1).clamp(max=length - 1)
        w = (p - lo.float())[:, None]
        xi = x[i, lo] * (1 - w) + x[i, hi] * w
        if deltas:
            xi[:, n_static : 2 * n_static] *= f
        near = p.round().long()
        x[i] = torch.where(valid[:, None], xi, torch.zeros_like(xi))
        y[i] = torch.where(valid, y[i, near], torch.zeros_like(y[i]))
        m[i] = valid & m[i, near]
    return x, y, m


def dropout(
    x: torch.Tensor, n_static: int, deltas: bool, a: Augmentation, gen: torch.Generator
) -> torch.Tensor:
    if a.p_channel <= 0:
        return x
    batch, length, _ = x.shape
    hit = torch.rand(batch, n_static, generator=gen) < a.p_channel
    if not hit.any():
        return x
    x = x.clone()
    span_len = (torch.rand(batch, n_static, generator=gen) * 0.75 + 0.25) * length
    start = torch.rand(batch, n_static, generator=gen) * (length - span_len)
    t = torch.arange(length, dtype=torch.float32)[None, :, None]
    span = (t >= start[:, None, :]) & (t < (start + span_len)[:, None, :]) & hit[:, None, :]
    x[:, :, :n_static] = x[:, :, :n_static].masked_fill(span, 0.0)
    if deltas:
        x[:, :, n_static : 2 * n_static] = x[:, :, n_static : 2 * n_static].masked_fill(span, 0.0)
    return x


def augment(x, y, m, n_static: int, deltas: bool, a: Augmentation, gen: torch.Generator):
    """All three transforms, in order, on one training batch → (x, y, m)."""
    x = person(x, n_static, a, gen)
    x, y, m = stretch(x, y, m, n_static, deltas, a, gen)
    return dropout(x, n_static, deltas, a, gen), y, m
