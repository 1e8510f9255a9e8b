"""Recordings → features: the paper's 118 per-frame features, the aligned-face features, feature
specs and z-scoring (person normalisation)."""

from gfe.features.aligned import ALIGNED, ALIGNED_VEL, AlignedSpec, Template
from gfe.features.paper import CLEAN, PAPER, FeatureSpec, FrameFeatures, compute_features, frame_mask
from gfe.features.scaling import Standardizer, fit_stats, scale_features
from gfe.features.specs import SPECS, spec_by_name, usable_frames
from gfe.features.table1 import ANGLE_TRIPLES, DISTANCE_PAIRS, FEATURE_NAMES, N_FEATURES, N_GEOMETRIC

__all__ = [
    "ALIGNED",
    "ALIGNED_VEL",
    "ANGLE_TRIPLES",
    "CLEAN",
    "DISTANCE_PAIRS",
    "FEATURE_NAMES",
    "N_FEATURES",
    "N_GEOMETRIC",
    "PAPER",
    "SPECS",
    "AlignedSpec",
    "FeatureSpec",
    "FrameFeatures",
    "Standardizer",
    "Template",
    "compute_features",
    "fit_stats",
    "frame_mask",
    "scale_features",
    "spec_by_name",
    "usable_frames",
]
