"""Features → folds: pools of frames, the evaluation protocols, validation carving, and the
sequences (with hidden labels) that models see."""

from gfe.protocols.pool import Pool, load_pool, make_pool, pool_features, signer_runs
from gfe.protocols.sequences import HIDDEN, Sequence, frames_of, make_sequences
from gfe.protocols.splits import (
    BLOCKED_GAP,
    BLOCKED_K,
    PROTOCOLS,
    TEST_FRACTION,
    TRANSDUCTIVE,
    Fold,
    blocked_cv,
    chrono,
    cross_signer,
    cross_signer_calibrated,
    get_protocol,
    paper,
    paper_holdout,
    whole,
)
from gfe.protocols.validation import carve_validation

__all__ = [
    "BLOCKED_GAP",
    "BLOCKED_K",
    "HIDDEN",
    "PROTOCOLS",
    "TEST_FRACTION",
    "TRANSDUCTIVE",
    "Fold",
    "Pool",
    "Sequence",
    "blocked_cv",
    "carve_validation",
    "chrono",
    "cross_signer",
    "cross_signer_calibrated",
    "frames_of",
    "get_protocol",
    "load_pool",
    "make_pool",
    "make_sequences",
    "paper",
    "paper_holdout",
    "pool_features",
    "signer_runs",
    "whole",
]
