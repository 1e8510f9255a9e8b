"""A recording: one signer performing one expression's sentences, as loaded from the UCI files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Recording:
    """One Kinect recording: a signer performing one expression's sentences."""

    signer: str
    expression: str
    timestamps: np.ndarray  # (frames,) seconds; nan where unknown
    landmarks: np.ndarray  # (frames, 100, 3) x, y pixels and z millimetres; nan where unknown
    labels: np.ndarray | None  # (frames,) int8 0/1, or None for an unlabelled recording
    source: Path | None = None
    meta: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.signer}_{self.expression}"

    @property
    def n_frames(self) -> int:
        return int(self.landmarks.shape[0])

    @property
    def n_positive(self) -> int:
        return int(self.labels.sum()) if self.labels is not None else 0

    @property
    def unknown_frames(self) -> np.ndarray:
        """Boolean (frames,): some coordinate of the frame is unknown (``nan``)."""
        return np.isnan(self.landmarks).any(axis=(1, 2))

    @property
    def n_unknown_timestamps(self) -> int:
        return int(np.isnan(self.timestamps).sum())

    @property
    def n_zero_depth(self) -> int:
        """How many z values are exactly 0 (Kinect's code for lost depth)."""
        return int((self.landmarks[:, :, 2] == 0).sum())

    def summary(self) -> dict:
        return {
            "recording": self.name,
            "signer": self.signer,
            "expression": self.expression,
            "frames": self.n_frames,
            "positives": self.n_positive,
            "unknown_frames": int(self.unknown_frames.sum()),
            "unknown_timestamps": self.n_unknown_timestamps,
            "zero_depth_values": self.n_zero_depth,
            "zero_depth_frames": int((self.landmarks[:, :, 2] == 0).any(axis=1).sum()),
        }
