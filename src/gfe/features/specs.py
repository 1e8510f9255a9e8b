"""Feature specs: how landmarks become features, by name. A spec's ``version`` changes whenever
its outputs would, so a bundle made with another version is refused rather than fed other numbers.

Every spec offers the same interface: ``n_features``, ``feature_names()``, ``fit(landmarks)`` (what
the spec needs from training frames, without labels: nothing for ``paper``/``clean``, the face
template for the aligned specs), ``compute(landmarks, state)`` (one recording, frames in order),
``usable(features)`` (frames whose features are known), ``frames(state)`` (the single-frame
computer for streaming) and ``state_to_dict``/``state_from_dict`` (what a bundle stores).

- ``paper``, ``clean``: the paper's 118 features (:mod:`gfe.features.paper`);
- ``aligned``, ``aligned-vel``: landmarks aligned to a canonical face, depth relative to the
  face, pose channels, and (``-vel``) frame-to-frame velocities (:mod:`gfe.features.aligned`).
"""

from __future__ import annotations

import numpy as np

from gfe.errors import GfeError
from gfe.features.aligned import ALIGNED, ALIGNED_VEL
from gfe.features.paper import CLEAN, PAPER

SPECS = {s.name: s for s in (PAPER, CLEAN, ALIGNED, ALIGNED_VEL)}


def spec_by_name(name: str):
    if name not in SPECS:
        raise GfeError(f"unknown feature spec {name!r}; choose one of: {', '.join(SPECS)}")
    return SPECS[name]


def usable_frames(features: np.ndarray, spec) -> np.ndarray:
    """The spec's usable frames, and no infinite feature (e.g. an ``inf`` coordinate)."""
    return spec.usable(features) & ~np.isinf(features).any(axis=1)
