"""Features → splits: which frames train, which test, and which frames fit the z-score.

A *pool* holds one expression's recordings stacked in order (signer a, then b). A protocol turns a
pool and a seed into one or more *folds*. Each fold names the frames its normaliser is fitted on,
so a reader (and a test) can see whether test frames took part.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from gfe.data import Recording
from gfe.errors import GfeError
from gfe.features import FeatureSpec, Standardizer, recording_features

TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Pool:
    """One expression's frames from every chosen recording, in recording order."""

    expression: str
    features: np.ndarray  # (frames, 118) unscaled
    labels: np.ndarray  # (frames,) 0/1
    signers: np.ndarray  # (frames,) signer of each frame
    frame: np.ndarray  # (frames,) index of the frame within its recording
    usable: np.ndarray  # (frames,) False where a feature is unknown (nan)
    spec: FeatureSpec

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_unusable(self) -> int:
        return int((~self.usable).sum())


def make_pool(recordings: Sequence[Recording], spec: FeatureSpec) -> Pool:
    if not recordings:
        raise GfeError("no recordings to pool")
    expressions = {r.expression for r in recordings}
    if len(expressions) != 1:
        raise GfeError(f"a pool holds one expression, got {sorted(expressions)}")
    feats, usable = zip(*(recording_features(r, spec) for r in recordings), strict=True)
    return Pool(
        expression=recordings[0].expression,
        features=np.vstack(feats),
        labels=np.concatenate([r.labels for r in recordings]).astype(np.int64),
        signers=np.concatenate([np.full(r.n_frames, r.signer) for r in recordings]),
        frame=np.concatenate([np.arange(r.n_frames) for r in recordings]),
        usable=np.concatenate(usable),
        spec=spec,
    )


@dataclass(frozen=True)
class Fold:
    protocol: str
    name: str  # "" for single-fold protocols
    train: np.ndarray  # indices into the pool, usable frames only
    test: np.ndarray
    norm_fit: np.ndarray  # indices the per-signer z-score is fitted on
    note: str = ""

    def scaled_features(self, pool: Pool) -> np.ndarray:
        """All pool features z-scored per signer with statistics of ``norm_fit`` frames."""
        idx = self.norm_fit
        scaler = Standardizer().fit(pool.features[idx], pool.signers[idx])
        return scaler.transform(pool.features, pool.signers)


def _usable(pool: Pool, idx: np.ndarray) -> np.ndarray:
    return idx[pool.usable[idx]]


def _n_test(n: int) -> int:
    return math.ceil(TEST_FRACTION * n)


def paper(pool: Pool, seed: int) -> list[Fold]:
    """The paper as coded: signers pooled, z-scored per signer over *all* frames (test frames
    included: the paper's transductive choice), frames shuffled, 80/20."""
    order = np.random.default_rng(seed).permutation(len(pool))
    n_test = _n_test(len(pool))
    return [
        Fold(
            "paper",
            "",
            train=_usable(pool, np.sort(order[n_test:])),
            test=_usable(pool, np.sort(order[:n_test])),
            norm_fit=np.arange(len(pool)),
            note="transductive z-score over all frames, as in the paper's code",
        )
    ]


def paper_holdout(pool: Pool, seed: int) -> list[Fold]:
    """The paper as written: signers pooled (a then b), z-scored per signer over all frames, the
    last 20% of frames held out (which is the end of signer b's recording)."""
    n_test = _n_test(len(pool))
    idx = np.arange(len(pool))
    return [
        Fold(
            "paper-holdout",
            "",
            train=_usable(pool, idx[:-n_test]),
            test=_usable(pool, idx[-n_test:]),
            norm_fit=idx,
            note="transductive z-score over all frames, as in the paper",
        )
    ]


ProtocolFn = Callable[[Pool, int], list[Fold]]
PROTOCOLS: dict[str, ProtocolFn] = {"paper": paper, "paper-holdout": paper_holdout}


def get_protocol(name: str) -> ProtocolFn:
    if name not in PROTOCOLS:
        raise GfeError(f"unknown protocol {name!r}; choose one of: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]
