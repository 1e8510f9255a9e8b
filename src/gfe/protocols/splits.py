"""Features → folds: which frames train, which test, and which frames fit the z-score.

A protocol turns a pool (:mod:`gfe.protocols.pool`) and a seed into one or more *folds*. Each fold
names the frames its normaliser is fitted on, so a reader (and a test) can see whether test frames
took part, and says whether its training frames are a shuffled sample (then a validation part is
drawn at random) or contiguous stretches of the recordings (then it is the latest frames).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gfe.errors import GfeError
from gfe.features import Standardizer
from gfe.protocols.pool import Pool, pool_features, signer_runs

TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Fold:
    protocol: str
    name: str  # "" for single-fold protocols
    train: np.ndarray  # indices into the pool, usable frames only
    test: np.ndarray
    norm_fit: np.ndarray  # indices the per-signer z-score is fitted on
    note: str = ""
    shuffled: bool = False  # training frames are a random sample of the recordings (not contiguous)

    def scaled_features(self, pool: Pool) -> np.ndarray:
        """All pool features z-scored per signer with statistics of ``norm_fit`` frames (a spec
        that fits something from data, the aligned face template, fits it on the training frames)."""
        features, _ = pool_features(pool, self.train)
        idx = self.norm_fit
        scaler = Standardizer().fit(features[idx], pool.signers[idx])
        return scaler.transform(features, pool.signers)


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
            shuffled=True,
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


def whole(pool: Pool) -> Fold:
    """Every usable frame trains, nothing is tested, each signer z-scored on all its own frames:
    the fold of a deployed model (``gfe train``)."""
    idx = np.arange(len(pool))
    return Fold("all", "", train=_usable(pool, idx), test=np.array([], dtype=int), norm_fit=idx)


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
