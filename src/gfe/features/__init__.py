"""Recordings → features: the paper's 118 per-frame features, feature specs and z-scoring."""

from gfe.features.compute import (
    FrameFeatures,
    compute_features,
    frame_mask,
    recording_features,
    usable_frames,
)
from gfe.features.scaling import Standardizer, fit_stats, scale_features
from gfe.features.specs import CLEAN, PAPER, SPECS, FeatureSpec, spec_by_name
from gfe.features.table1 import (
    ANGLE_TRIPLES,
    DISTANCE_PAIRS,
    FEATURE_NAMES,
    N_FEATURES,
    N_GEOMETRIC,
)

__all__ = [
    "ANGLE_TRIPLES",
    "CLEAN",
    "DISTANCE_PAIRS",
    "FEATURE_NAMES",
    "N_FEATURES",
    "N_GEOMETRIC",
    "PAPER",
    "SPECS",
    "FeatureSpec",
    "FrameFeatures",
    "Standardizer",
    "compute_features",
    "fit_stats",
    "frame_mask",
    "recording_features",
    "scale_features",
    "spec_by_name",
    "usable_frames",
]
