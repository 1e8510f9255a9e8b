"""Files → arrays: parse the UCI datapoints and targets files exactly as distributed.

A datapoints file holds a header line and one line per frame (a timestamp and 100 landmarks × x,
y, z); a targets file one 0/1 label per frame. Lines end with CRLF and the last one has no
newline. Unknown values are written ``nan`` and are parsed as such (never filled in here).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gfe import N_LANDMARKS
from gfe.errors import DataError

N_VALUES = 1 + 3 * N_LANDMARKS  # timestamp + x, y, z of each landmark


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"{path}: file not found; check the path or run `gfe data download`")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text file ({exc.reason} at byte {exc.start})") from None
    return text.splitlines()  # handles CRLF, LF and a missing final newline alike


def _is_header(line: str) -> bool:
    tokens = line.split()
    return len(tokens) > 1 and tokens[1] == "0x"


def parse_frame_values(tokens: Sequence[str], where: str) -> np.ndarray:
    """Parse one frame line's tokens into 301 floats, or raise an error that says ``where``."""
    if len(tokens) != N_VALUES:
        raise DataError(
            f"{where}: expected {N_VALUES} values (timestamp + 100 landmarks × x, y, z), found {len(tokens)}"
        )
    try:
        return np.array([float(t) for t in tokens], dtype=np.float64)
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        raise DataError(f"{where}: value {bad!r} is not a number") from None


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def load_datapoints(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a datapoints file → (timestamps (frames,), landmarks (frames, 100, 3)).

    Every line is checked for its number of values; every value must parse as a number (``nan``
    is a number here, and is reported by the caller, never filled in).
    """
    path = Path(path)
    lines = _read_lines(path)
    first = 1 if lines and _is_header(lines[0]) else 0
    body = lines[first:]
    while body and not body[-1].strip():  # a trailing blank line is not a frame
        body.pop()
    if not body:
        raise DataError(f"{path}: no frames (the file holds {'only a header' if first else 'nothing'})")
    for i, line in enumerate(body):
        n = len(line.split())
        if n != N_VALUES:
            parse_frame_values(line.split(), f"{path}, line {i + first + 1}")
    try:
        values = pd.read_csv(
            io.StringIO("\n".join(body)), sep=r"\s+", header=None, dtype=np.float64, engine="c"
        ).to_numpy()
    except ValueError:
        for i, line in enumerate(body):
            parse_frame_values(line.split(), f"{path}, line {i + first + 1}")
        raise  # pragma: no cover - the loop above always finds the bad value
    return values[:, 0].copy(), values[:, 1:].reshape(len(values), N_LANDMARKS, 3).copy()


def load_targets(path: str | Path) -> np.ndarray:
    """Read a targets file → int8 labels (frames,), each 0 or 1."""
    path = Path(path)
    lines = [s.strip() for s in _read_lines(path)]
    while lines and not lines[-1]:
        lines.pop()
    labels = np.empty(len(lines), dtype=np.int8)
    for i, s in enumerate(lines):
        if s not in ("0", "1", "0.0", "1.0"):
            raise DataError(f"{path}, line {i + 1}: label {s!r} is not 0 or 1")
        labels[i] = int(float(s))
    if not len(labels):
        raise DataError(f"{path}: no labels")
    return labels
