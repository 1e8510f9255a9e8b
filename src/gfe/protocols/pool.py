"""A pool: one expression's frames from every chosen recording, stacked in recording order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from gfe.data import Recording, load_dataset
from gfe.errors import GfeError
from gfe.features import spec_by_name, usable_frames


@dataclass(frozen=True)
class Pool:
    """One expression's frames from every chosen recording, in recording order."""

    expression: str
    features: np.ndarray  # (frames, n_features) unscaled (a stateful spec: fitted on all the pool's frames)
    labels: np.ndarray  # (frames,) 0/1
    signers: np.ndarray  # (frames,) signer of each frame
    frame: np.ndarray  # (frames,) index of the frame within its recording
    usable: np.ndarray  # (frames,) False where a feature is unknown (nan)
    spec: object  # a feature spec (gfe.features.specs)
    landmarks: np.ndarray | None = None  # (frames, 100, 3): kept for stateful specs, refitted per fold
    state: object = None  # what the spec fitted for ``features`` (None for stateless specs)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_unusable(self) -> int:
        return int((~self.usable).sum())


def make_pool(recordings: Sequence[Recording], spec, state=None) -> Pool:
    """The pool of one expression's recordings. A stateful spec is fitted on the pool's own frames,
    unless ``state`` (e.g. a face template fitted on several pools) is given."""
    if not recordings:
        raise GfeError("no recordings to pool")
    expressions = {r.expression for r in recordings}
    if len(expressions) != 1:
        raise GfeError(f"a pool holds one expression, got {sorted(expressions)}")
    landmarks = np.concatenate([r.landmarks for r in recordings])
    if spec.stateful and state is None:
        state = spec.fit(landmarks)
    features = np.vstack([spec.compute(r.landmarks, state) for r in recordings])
    return Pool(
        expression=recordings[0].expression,
        features=features,
        labels=np.concatenate([r.labels for r in recordings]).astype(np.int64),
        signers=np.concatenate([np.full(r.n_frames, r.signer) for r in recordings]),
        frame=np.concatenate([np.arange(r.n_frames) for r in recordings]),
        usable=usable_frames(features, spec),
        spec=spec,
        landmarks=landmarks if spec.stateful else None,
        state=state,
    )


def pool_features(pool: Pool, fit_on: np.ndarray) -> tuple[np.ndarray, object]:
    """The pool's unscaled features with the spec fitted on the frames ``fit_on`` (indices):
    a stateless spec's features are the pool's own; a stateful one (the aligned face template) is
    refitted on those frames and every recording recomputed, frames in order."""
    if not pool.spec.stateful:
        return pool.features, None
    state = pool.spec.fit(pool.landmarks[np.asarray(fit_on, dtype=int)])
    parts = [pool.spec.compute(pool.landmarks[idx], state) for idx in signer_runs(pool).values()]
    return np.vstack(parts), state


@lru_cache(maxsize=4)
def load_pool(data_dir: str, expression: str, features: str) -> Pool:
    """The pool of ``expression`` (both signers) from a dataset folder, cached per process."""
    return make_pool(load_dataset(data_dir, [expression]), spec_by_name(features))


def signer_runs(pool: Pool) -> dict[str, np.ndarray]:
    """Pool indices of each signer's recording, in frame order."""
    return {str(s): np.flatnonzero(pool.signers == s) for s in dict.fromkeys(pool.signers)}
