"""Probabilities → decisions: smoothing, threshold with hysteresis, minimum segment length,
gap filling, and a selector that chooses them on validation frames only.

Steps of :func:`decide` (one recording's probabilities ``p``, in frame order):

1. **Smoothing** (``smooth`` frames, 1 = none): a moving average. ``causal=True`` uses the
   trailing window (frames t-w+1..t, shorter at the start), so a live stream can apply it;
   ``causal=False`` a centred window (offline labelling).
2. **Hysteresis threshold**: a frame turns on when the smoothed probability is ≥ ``on`` and stays
   on until it drops below ``off`` (``off`` ≤ ``on``; ``off = on`` is a plain threshold). The
   recording starts "off". Causal by construction.
3. **Minimum segment length** ``min_len``: offline, positive runs shorter than ``min_len`` are
   removed. Causal ("debounce"), a run is only reported from its ``min_len``-th frame on: its
   first ``min_len - 1`` frames are 0 (a latency of ``min_len - 1`` frames), and shorter runs
   vanish — the same decisions a live detector that waits for confirmation would make.
4. **Gap filling** ``min_gap`` (offline only): gaps of fewer than ``min_gap`` 0-frames between two
   positive runs are filled. Applied before step 3, so two halves of one event join first.

**The selector** (:func:`select`) evaluates a grid of configurations on validation recordings
(the validation part carved from training frames — never test frames) and returns the best by
its objective:

* ``"frame"``: frame F1 pooled over the validation frames;
* ``"event"``: event F1 (IoU ≥ 0.5, one-to-one; :mod:`gfe.metrics`);
* ``"mix"`` (default): ``frame F1 + event F1``.

(Where the scored frames are not contiguous — the shuffled ``paper`` split — there are no events
and every objective is frame F1.)

Why the mix by default: frame F1 is the headline metric and is estimated from hundreds of
validation frames, but it barely penalises flicker (a few spurious 1-frame blips cost few frames
and destroy event precision). Event F1 captures flicker and fragmentation but on a validation part
holding a handful of events per expression it is coarse (steps of 1/n) and noisy, and it ignores
boundary accuracy beyond IoU 0.5. Their sum lets frame F1 break event-F1 ties and lets event F1
veto flicker. Ties in the objective go to the simplest configuration (the grid is ordered from
simple to complex and the first maximum wins). Unusable frames (unknown features) are excluded
from frame F1; for events they count as predicted 0.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from gfe.metrics import pooled_event_scores


@dataclass(frozen=True)
class Decisions:
    smooth: int = 1
    on: float = 0.5
    off: float | None = None  # None: = on
    min_len: int = 1
    min_gap: int = 0  # offline only
    causal: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """A compact form for tables: e.g. ``on 0.45/0.35, smooth 5, min 3``."""
        parts = [f"on {self.on:g}" + (f"/{self.off:g}" if self.off not in (None, self.on) else "")]
        if self.smooth > 1:
            parts.append(f"smooth {self.smooth}")
        if self.min_len > 1:
            parts.append(f"min {self.min_len}")
        if self.min_gap > 0:
            parts.append(f"gap {self.min_gap}")
        return ", ".join(parts)

    @property
    def simple(self) -> bool:
        return self.smooth == 1 and self.off in (None, self.on) and self.min_len == 1 and self.min_gap == 0


def moving_average(p: np.ndarray, window: int, causal: bool) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if window <= 1 or len(p) == 0:
        return p.copy()
    c = np.concatenate([[0.0], np.cumsum(p)])
    n = len(p)
    t = np.arange(n)
    if causal:
        lo, hi = np.maximum(t - window + 1, 0), t + 1
    else:
        half = window // 2
        lo, hi = np.maximum(t - half, 0), np.minimum(t + window - half, n)
    return (c[hi] - c[lo]) / (hi - lo)


def hysteresis(p: np.ndarray, on: float, off: float | None = None) -> np.ndarray:
    """On at ``p ≥ on``, off at ``p < off``, else keep the previous state (start: off)."""
    off = on if off is None else off
    if off > on:
        raise ValueError("hysteresis: off must be <= on")
    p = np.asarray(p, dtype=np.float64)
    state = np.where(p >= on, 1, np.where(p < off, 0, -1))
    idx = np.where(state >= 0, np.arange(len(p)), -1)
    last = np.maximum.accumulate(idx) if len(p) else idx
    return np.where(last >= 0, state[np.maximum(last, 0)], 0).astype(np.int8)


def _runs(y: np.ndarray, value: int) -> tuple[np.ndarray, np.ndarray]:
    b = (np.asarray(y) == value).astype(np.int8)
    d = np.diff(np.concatenate([[0], b, [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def fill_gaps(y: np.ndarray, min_gap: int) -> np.ndarray:
    """Fill 0-runs shorter than ``min_gap`` that lie between two 1-runs (offline)."""
    y = np.asarray(y, dtype=np.int8).copy()
    if min_gap <= 1:
        return y
    s, e = _runs(y, 0)
    for a, b in zip(s, e, strict=True):
        if a > 0 and b < len(y) and b - a < min_gap:
            y[a:b] = 1
    return y


def min_length(y: np.ndarray, min_len: int, causal: bool) -> np.ndarray:
    y = np.asarray(y, dtype=np.int8).copy()
    if min_len <= 1:
        return y
    s, e = _runs(y, 1)
    for a, b in zip(s, e, strict=True):
        if causal:
            y[a : min(a + min_len - 1, b)] = 0
        elif b - a < min_len:
            y[a:b] = 0
    return y


def decide(p: np.ndarray, cfg: Decisions) -> np.ndarray:
    """0/1 decisions of one recording from its probabilities."""
    q = moving_average(p, cfg.smooth, cfg.causal)
    y = hysteresis(q, cfg.on, cfg.off)
    if not cfg.causal and cfg.min_gap > 1:
        y = fill_gaps(y, cfg.min_gap)
    return min_length(y, cfg.min_len, cfg.causal)


# ---------------------------------------------------------------------------------- selection
@dataclass(frozen=True)
class Segment:
    """A part of one recording to score.

    ``p``: probabilities of the **whole** recording (decisions are made on it, so causal
    smoothing at the part's start sees the frames before it, as a live stream would; offline
    smoothing sees both sides — probabilities only, never labels). ``lo, hi``: the part
    ``[lo, hi)``; ``y``, ``usable``: its labels and usable mask (length ``hi - lo``); ``scored``
    (optional, length ``hi - lo``): frames that count for frame F1 (e.g. the validation frames
    of a shuffled split; default: usable). ``events``: whether the part is contiguous in time
    so that event scores mean something.
    """

    p: np.ndarray
    lo: int
    hi: int
    y: np.ndarray
    usable: np.ndarray
    scored: np.ndarray | None = None
    events: bool = True


def default_grid(causal: bool) -> list[Decisions]:
    """Simple first (the selector's tie-break). 5 × 9 × 3 × 5 (× 4 gaps offline) configurations."""
    smooths = (1, 3, 5, 9, 15)
    ons = (0.5, 0.45, 0.55, 0.4, 0.6, 0.35, 0.65, 0.3, 0.7)
    drops = (0.0, 0.1, 0.2)
    lens = (1, 3, 5, 9, 15)
    gaps = (0,) if causal else (0, 3, 7, 15)
    grid = []
    for s, g, ln, dr, on in itertools.product(smooths, gaps, lens, drops, ons):
        grid.append(Decisions(s, on, round(on - dr, 4), ln, g, causal))
    grid.sort(key=lambda c: (c.smooth > 1) + (c.off != c.on) + (c.min_len > 1) + (c.min_gap > 0))
    return grid


def score(segments_: Sequence[Segment], cfg: Decisions) -> dict:
    """Frame F1 (scored frames) and event scores of one configuration over several segments."""
    tp = fp = fn = 0
    pairs = []
    for s in segments_:
        d = decide(s.p, cfg)[s.lo : s.hi]
        u = np.asarray(s.usable, bool)
        d = np.where(u, d, 0)
        sc = u if s.scored is None else (np.asarray(s.scored, bool) & u)
        yt, yp = s.y[sc].astype(bool), d[sc].astype(bool)
        tp += int((yt & yp).sum())
        fp += int((~yt & yp).sum())
        fn += int((yt & ~yp).sum())
        if s.events:
            pairs.append((np.where(u, s.y, 0), d))
    frame_f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    if pairs:
        ev = pooled_event_scores(pairs).to_dict()
    else:
        ev = {k: float("nan") for k in pooled_event_scores([]).to_dict()}
    return {"frame_f1": frame_f1, **ev}


def objective_value(sc: dict, objective: str) -> float:
    if objective == "frame":
        return sc["frame_f1"]
    ev = sc["ev_f1"] if np.isfinite(sc["ev_f1"]) else 0.0  # no events (shuffled split): frame F1
    if objective == "event":
        return ev if np.isfinite(sc["ev_f1"]) else sc["frame_f1"]
    if objective == "mix":
        return sc["frame_f1"] + ev
    raise ValueError(f"unknown objective {objective!r}")


def select(
    segments_: Sequence[Segment],
    causal: bool,
    objective: str = "mix",
    grid: Iterable[Decisions] | None = None,
) -> tuple[Decisions, dict]:
    """The grid configuration with the best ``objective`` on the given (validation) segments;
    returns it and its validation scores. The first maximum in grid order wins."""
    best, best_v, best_sc = None, -np.inf, None
    for cfg in grid or default_grid(causal):
        sc = score(segments_, cfg)
        v = objective_value(sc, objective)
        if v > best_v + 1e-12:
            best, best_v, best_sc = cfg, v, sc
    assert best is not None and best_sc is not None
    return best, best_sc
