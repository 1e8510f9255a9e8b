"""Distinctiveness pruning of the one-hidden-layer MLP (Gedeon & Harris 1991, "Network
Reduction Techniques").

Each hidden unit is described by its activation vector over the training patterns, shifted so
that "neutral" activation sits at the origin:

* sigmoid units: ``a - 0.5`` (the classic 0.5-centred range of the paper);
* tanh units: ``a / 2`` (tanh lies in [-1, 1], so this is the same 0.5-scaled range, already
  centred on 0);
* relu units: ``a - mean(a)`` over the patterns. A relu has no natural neutral level (it is 0 on
  half its input space and unbounded above), so we centre each unit on its own mean; the angle
  between two such vectors is then the angle of their correlation.

Two units are compared by the angle (0–180°) between these vectors. The network is then reduced
greedily, always acting on the most extreme remaining pair (the one closest to 0° or to 180°,
measured as ``min(angle, 180 - angle)``; ties go to the pair with the lowest original indices):

* **similar** (angle < ``similar_deg``): the unit with the higher original index is removed and
  its outgoing weights are added to those of the other unit (merge). If the two units are
  identical this leaves the outputs unchanged.
* **complementary** (angle > ``opposite_deg``): both units are removed, as in the classic method.
  In addition their *mean* contribution over the training patterns,
  ``out_i * mean(a_i) + out_j * mean(a_j)``, is added to the output bias, so the logits change
  only by the removed units' non-constant part,
  ``-(out_i * (a_i - mean(a_i)) + out_j * (a_j - mean(a_j)))``. For an exactly opposite sigmoid
  pair (``a_j = 1 - a_i``) that is ``-(out_i - out_j) * (a_i - mean(a_i))``, which is zero when
  ``out_i == out_j``; the classic method's "remove both" is exact only in that case.

Before the pairwise pass, units whose activation is almost constant over the training patterns
(population standard deviation < ``constant_std``; 0 disables this) are removed and their mean
contribution ``out_k * mean(a_k)`` is folded into the output bias. Units whose centred vector has
(numerically) zero norm have no direction; they are never compared by angle — with
``constant_std > 0`` they are always removed as constant units (their std is 0), with
``constant_std == 0`` they are simply kept.

Activations of the surviving units do not depend on which other units are removed, so the angles
are computed once; only the set of live units (and the outgoing weights, through merges) changes
as the greedy pass proceeds. Everything is computed in float64 and the result is deterministic.

The network never ends with zero hidden units. If every unit would be removed, one is kept
(``PruneReport.kept_last``):

* all units constant: the one with the largest standard deviation is kept (ties: lowest index);
* the last two live units are complementary: the one with the larger centred-vector norm is kept
  (ties: lowest index) and the other is replaced by its least-squares linear fit on the kept unit
  over the training patterns, ``a_j ≈ alpha * a_i + beta``, i.e. ``out_i += alpha * out_j`` and
  ``bias += beta * out_j``. For an exact complement (sigmoid ``a_j = 1 - a_i``, tanh
  ``a_j = -a_i``) the fit is exact and the outputs do not change. The pair is still listed in
  ``opposite_removed``.

The model is modified in place: ``model.hidden`` and ``model.out`` are replaced by new, smaller
``nn.Linear`` layers with the same dtype and device. Any optimizer built on the old parameters must
be rebuilt before retraining.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from gfe.errors import GfeError
from gfe.models.nets import MLP

# A centred vector whose RMS over the patterns is at or below this is treated as zero-norm.
_ZERO_RMS = 1e-12


@dataclass
class PruneReport:
    """What :func:`prune_distinctiveness` did, in the ORIGINAL hidden-unit indices."""

    hidden_before: int
    hidden_after: int
    merged: list[tuple[int, int]] = field(default_factory=list)  # (kept, removed)
    opposite_removed: list[tuple[int, int]] = field(default_factory=list)  # (lower, higher)
    constant_removed: list[int] = field(default_factory=list)
    kept_last: int | None = None  # set only when a unit had to be kept so that one survives


def _centred(acts: np.ndarray, activation: str) -> np.ndarray:
    if activation == "sigmoid":
        return acts - 0.5
    if activation == "tanh":
        return acts / 2.0
    if activation == "relu":
        return acts - acts.mean(axis=0, keepdims=True)
    raise GfeError(f"distinctiveness pruning does not know the activation {activation!r}")


def _angles_deg(centred: np.ndarray, directed: np.ndarray) -> np.ndarray:
    """Pairwise angles (degrees, 0–180) between the columns of ``centred``; NaN for any pair that
    involves a column without a direction (``directed`` False)."""
    norms = np.linalg.norm(centred, axis=0)
    safe = np.where(directed, norms, 1.0)
    unit = centred / safe
    cos = np.clip(unit.T @ unit, -1.0, 1.0)
    angles = np.degrees(np.arccos(cos))
    angles[~directed, :] = np.nan
    angles[:, ~directed] = np.nan
    return angles


def _as_input(model: MLP, x_train: np.ndarray | torch.Tensor) -> torch.Tensor:
    weight = model.hidden.weight
    x = torch.as_tensor(x_train).to(dtype=weight.dtype, device=weight.device)
    if x.ndim != 2 or x.shape[1] != model.hidden.in_features:
        raise GfeError(
            f"x_train must have shape (patterns, {model.hidden.in_features}); got {tuple(x.shape)}"
        )
    if x.shape[0] == 0:
        raise GfeError("x_train has no patterns; distinctiveness needs the training activations")
    return x


def prune_distinctiveness(
    model: MLP,
    x_train: np.ndarray | torch.Tensor,
    similar_deg: float = 15.0,
    opposite_deg: float = 165.0,
    constant_std: float = 1e-3,
) -> PruneReport:
    """Prune ``model``'s hidden layer in place by distinctiveness; see the module docstring for
    the exact rules. Returns a :class:`PruneReport`."""
    if not 0.0 <= similar_deg <= 180.0 or not 0.0 <= opposite_deg <= 180.0:
        raise GfeError(f"angles must lie in [0, 180]; got similar {similar_deg}, opposite {opposite_deg}")
    if constant_std < 0.0:
        raise GfeError(f"constant_std must be >= 0; got {constant_std}")

    x = _as_input(model, x_train)
    with torch.no_grad():
        acts = model.hidden_activations(x).detach().cpu().to(torch.float64).numpy()
        out_w = model.out.weight.detach().cpu().to(torch.float64).numpy().copy()  # (2, H)
        out_b = model.out.bias.detach().cpu().to(torch.float64).numpy().copy()  # (2,)

    n_patterns, n_hidden = acts.shape
    centred = _centred(acts, model.activation)
    means = acts.mean(axis=0)
    stds = acts.std(axis=0)
    norms = np.linalg.norm(centred, axis=0)
    directed = norms > _ZERO_RMS * np.sqrt(n_patterns)
    angles = _angles_deg(centred, directed)

    report = PruneReport(hidden_before=n_hidden, hidden_after=n_hidden)
    alive = np.ones(n_hidden, dtype=bool)
    if constant_std > 0.0:
        _remove_constant(stds < constant_std, stds, means, out_w, out_b, alive, report)
    _pairwise(angles, similar_deg, opposite_deg, acts, means, norms, out_w, out_b, alive, report)
    kept = np.flatnonzero(alive)
    _rebuild(model, kept, out_w, out_b)
    report.hidden_after = len(kept)
    return report


def _remove_constant(constant, stds, means, out_w, out_b, alive, report: PruneReport) -> None:
    """1. Constant units: their mean contribution goes into the output bias."""
    if constant.all():
        keep = int(np.argmax(stds))  # first maximum: lowest index on ties
        constant[keep] = False
        report.kept_last = keep
    for k in np.flatnonzero(constant):
        out_b += out_w[:, k] * means[k]
        alive[k] = False
        report.constant_removed.append(int(k))


def _pairwise(angles, similar_deg, opposite_deg, acts, means, norms, out_w, out_b, alive, report) -> None:
    """2. Greedy pairwise pass on the most extreme pair. Extremeness of a crossing pair is its
    distance from 0° (similar) or 180° (complementary); non-crossing pairs get +inf."""
    n_hidden = len(alive)
    with np.errstate(invalid="ignore"):
        similar = angles < similar_deg
        opposite = (angles > opposite_deg) & ~similar
    extreme = np.full((n_hidden, n_hidden), np.inf)
    extreme[similar] = angles[similar]
    extreme[opposite] = 180.0 - angles[opposite]
    extreme[np.tril_indices(n_hidden)] = np.inf  # each pair once, as (lower, higher)
    while alive.sum() >= 2:
        masked = np.where(alive[:, None] & alive[None, :], extreme, np.inf)
        flat = int(np.argmin(masked))  # first minimum in row-major order: lowest (i, j) on ties
        i, j = divmod(flat, n_hidden)
        if not np.isfinite(masked[i, j]):
            break
        if similar[i, j]:
            out_w[:, i] += out_w[:, j]
            alive[j] = False
            report.merged.append((i, j))
        elif alive.sum() > 2:
            out_b += out_w[:, i] * means[i] + out_w[:, j] * means[j]
            alive[i] = alive[j] = False
            report.opposite_removed.append((i, j))
        else:
            _keep_one_of_the_last_two(i, j, acts, means, norms, out_w, out_b, alive, report)


def _keep_one_of_the_last_two(i, j, acts, means, norms, out_w, out_b, alive, report) -> None:
    """Removing both would empty the layer: keep the more distinct unit, fit the other onto it."""
    keep, drop = (j, i) if norms[j] > norms[i] * (1.0 + 1e-9) else (i, j)
    a_keep = acts[:, keep] - means[keep]
    var = float(a_keep @ a_keep)
    alpha = float(a_keep @ (acts[:, drop] - means[drop])) / var if var > 0.0 else 0.0
    beta = float(means[drop] - alpha * means[keep])
    out_w[:, keep] += alpha * out_w[:, drop]
    out_b += beta * out_w[:, drop]
    alive[drop] = False
    report.opposite_removed.append((i, j))
    report.kept_last = keep


def _rebuild(model: MLP, kept: np.ndarray, out_w: np.ndarray, out_b: np.ndarray) -> None:
    old_hidden, old_out = model.hidden, model.out
    dtype, device = old_hidden.weight.dtype, old_hidden.weight.device
    idx = torch.as_tensor(kept, dtype=torch.long, device=device)
    hidden = nn.Linear(old_hidden.in_features, len(kept), dtype=dtype, device=device)
    out = nn.Linear(len(kept), old_out.out_features, dtype=old_out.weight.dtype, device=device)
    with torch.no_grad():
        hidden.weight.copy_(old_hidden.weight.index_select(0, idx))
        hidden.bias.copy_(old_hidden.bias.index_select(0, idx))
        out.weight.copy_(torch.as_tensor(out_w[:, kept]))
        out.bias.copy_(torch.as_tensor(out_b))
    model.hidden = hidden
    model.out = out
