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


def signer_runs(pool: Pool) -> dict[str, np.ndarray]:
    """Pool indices of each signer's recording, in frame order."""
    return {str(s): np.flatnonzero(pool.signers == s) for s in dict.fromkeys(pool.signers)}


def chrono(pool: Pool, seed: int) -> list[Fold]:
    """Later recordings of known signers: per signer, the first 80% of frames train and the last
    20% test (both signers in both sets). The z-score is fitted per signer on training frames."""
    train, test = [], []
    for idx in signer_runs(pool).values():
        n_test = _n_test(len(idx))
        train.append(idx[:-n_test])
        test.append(idx[-n_test:])
    tr, te = np.concatenate(train), np.concatenate(test)
    return [Fold("chrono", "", train=_usable(pool, tr), test=_usable(pool, te), norm_fit=tr)]


def _cross_signer(pool: Pool, calibrated: bool) -> list[Fold]:
    runs = signer_runs(pool)
    if len(runs) < 2:
        raise GfeError("cross-signer protocols need recordings of at least two signers")
    folds = []
    for test_signer, test_idx in runs.items():
        tr = np.concatenate([idx for s, idx in runs.items() if s != test_signer])
        train_signers = "+".join(s for s in runs if s != test_signer)
        # Uncalibrated: the new signer is scaled with the training signers' pooled statistics.
        # Calibrated: the new signer is z-scored on its own frames — features only, no label.
        norm = np.concatenate([tr, test_idx]) if calibrated else tr
        folds.append(
            Fold(
                "cross-signer-calibrated" if calibrated else "cross-signer",
                f"{train_signers}→{test_signer}",
                train=_usable(pool, tr),
                test=_usable(pool, test_idx),
                norm_fit=norm,
                note="test signer z-scored on its own unlabelled frames" if calibrated else "",
            )
        )
    return folds


def cross_signer(pool: Pool, seed: int) -> list[Fold]:
    """A signer never seen: train on one signer, test on the other, both directions. The test
    signer is scaled with the training signer's statistics."""
    return _cross_signer(pool, calibrated=False)


def cross_signer_calibrated(pool: Pool, seed: int) -> list[Fold]:
    """As ``cross-signer``, but the new signer is z-scored on its own **unlabelled** frames (a
    realistic "calibrate on a new signer" step: record a while, then normalise)."""
    return _cross_signer(pool, calibrated=True)


BLOCKED_K = 5
BLOCKED_GAP = 30


def blocked_cv(pool: Pool, seed: int, k: int = BLOCKED_K, gap: int = BLOCKED_GAP) -> list[Fold]:
    """k contiguous test blocks per signer; fold i tests block i of every signer and trains on the
    rest, minus ``gap`` frames on each side of every test block. z-score fitted on training frames."""
    runs = signer_runs(pool)
    folds = []
    for i in range(k):
        train, test = [], []
        for idx in runs.values():
            bounds = np.linspace(0, len(idx), k + 1).astype(int)
            lo, hi = bounds[i], bounds[i + 1]
            pos = np.arange(len(idx))
            test.append(idx[lo:hi])
            train.append(idx[(pos < lo - gap) | (pos >= hi + gap)])
        tr, te = np.concatenate(train), np.concatenate(test)
        folds.append(
            Fold("blocked-cv", f"{i + 1}/{k}", train=_usable(pool, tr), test=_usable(pool, te), norm_fit=tr)
        )
    return folds


ProtocolFn = Callable[[Pool, int], list[Fold]]
PROTOCOLS: dict[str, ProtocolFn] = {
    "paper": paper,
    "paper-holdout": paper_holdout,
    "chrono": chrono,
    "cross-signer": cross_signer,
    "cross-signer-calibrated": cross_signer_calibrated,
    "blocked-cv": blocked_cv,
}
TRANSDUCTIVE = {"paper", "paper-holdout"}  # the paper's z-score saw the test frames


def get_protocol(name: str) -> ProtocolFn:
    if name not in PROTOCOLS:
        raise GfeError(f"unknown protocol {name!r}; choose one of: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]
