"""Small synthetic recordings in the exact UCI file layout, made by code (for tests and demos).

The face is a fixed template of 100 landmarks that drifts and jitters; during "expression"
frames a few landmarks (eyebrows, mouth) move, so a model has something real to learn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gfe import EXPRESSIONS, N_LANDMARKS, SIGNERS
from gfe.data.names import datapoints_name, targets_names

HEADER = "0.0 " + " ".join(f"{i}{c}" for i in range(N_LANDMARKS) for c in "xyz")


def make_recording(n_frames: int, seed: int, zero_depth_rate: float = 0.01):
    """Return (timestamps, landmarks (n, 100, 3), labels) of a plausible synthetic recording."""
    rng = np.random.default_rng(seed)
    template = np.column_stack(
        [
            rng.uniform(240, 320, N_LANDMARKS),
            rng.uniform(150, 240, N_LANDMARKS),
            rng.uniform(850, 950, N_LANDMARKS),
        ]
    )
    labels = np.zeros(n_frames, dtype=np.int8)
    start = n_frames // 10
    while start < n_frames - 5:  # alternating neutral and expression runs
        length = int(rng.integers(8, 25))
        labels[start : start + length] = 1
        start += length + int(rng.integers(10, 30))
    drift = np.cumsum(rng.normal(0, 0.1, (n_frames, 1, 3)), axis=0)
    landmarks = template[None] + drift + rng.normal(0, 0.5, (n_frames, N_LANDMARKS, 3))
    moving = [17, 27, 39, 44, 51]  # eyebrows and upper lip: they change distances D1–D9
    landmarks[np.ix_(labels == 1, moving, [1])] -= 8.0
    landmarks[:, :, 2] = np.round(landmarks[:, :, 2])
    landmarks[:, :, 2][rng.random((n_frames, N_LANDMARKS)) < zero_depth_rate] = 0.0
    timestamps = 1.39e9 + np.arange(n_frames) * 0.033
    return timestamps, np.round(landmarks, 3), labels


def format_datapoints(timestamps: np.ndarray, landmarks: np.ndarray) -> str:
    """UCI text: header, CRLF line ends, no final newline."""
    rows = np.column_stack([timestamps, landmarks.reshape(len(landmarks), -1)])
    lines = [HEADER] + [" ".join(f"{v:.15g}" for v in row) for row in rows]
    return "\r\n".join(lines)


def format_targets(labels: np.ndarray) -> str:
    return "\r\n".join(str(int(v)) for v in labels)


def write_recording(
    folder: Path, signer: str, expression: str, n_frames: int = 120, seed: int = 0
) -> tuple[Path, Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ts, lm, y = make_recording(n_frames, seed)
    points = folder / datapoints_name(signer, expression)
    targets = folder / targets_names(signer, expression)[0]
    points.write_bytes(format_datapoints(ts, lm).encode())
    targets.write_bytes(format_targets(y).encode())
    return points, targets


def write_dataset(
    folder: Path,
    n_frames: int = 120,
    expressions: tuple[str, ...] = EXPRESSIONS,
    signers: tuple[str, ...] = SIGNERS,
) -> Path:
    """Write a full synthetic dataset (every signer × expression) in the UCI layout."""
    for i, e in enumerate(expressions):
        for j, s in enumerate(signers):
            write_recording(folder, s, e, n_frames=n_frames + 7 * i + 3 * j, seed=100 * i + j)
    return Path(folder)
