"""A pool: one expression's frames from every chosen recording, stacked in recording order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from gfe.data import Recording, load_dataset
from gfe.errors import GfeError
from gfe.features import FeatureSpec, recording_features, spec_by_name


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


@lru_cache(maxsize=4)
def load_pool(data_dir: str, expression: str, features: str) -> Pool:
    """The pool of ``expression`` (both signers) from a dataset folder, cached per process."""
    return make_pool(load_dataset(data_dir, [expression]), spec_by_name(features))


def signer_runs(pool: Pool) -> dict[str, np.ndarray]:
    """Pool indices of each signer's recording, in frame order."""
    return {str(s): np.flatnonzero(pool.signers == s) for s in dict.fromkeys(pool.signers)}
