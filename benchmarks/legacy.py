"""The implementations before issue #15, frozen verbatim, as the "old" of the benchmarks.

Not used by gfe itself; tests/test_features.py keeps its own copy of the old feature code as the
exactness oracle, so this file only feeds ``bench_io.py`` and ``bench_features.py``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gfe.errors import DataError

N_VALUES = 301


# ------------------------------------------------------------------------------ loader (data.py)
def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"{path}: file not found; check the path or run `gfe data download`")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text file ({exc.reason} at byte {exc.start})") from None
    return text.splitlines()


def _is_header(line: str) -> bool:
    tokens = line.split()
    return len(tokens) > 1 and tokens[1] == "0x"


def parse_frame_values(tokens: Sequence[str], where: str) -> np.ndarray:
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
    path = Path(path)
    lines = _read_lines(path)
    first = 1 if lines and _is_header(lines[0]) else 0
    body = lines[first:]
    while body and not body[-1].strip():
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
        raise
    return values[:, 0].copy(), values[:, 1:].reshape(len(values), 100, 3).copy()


def load_targets(path: str | Path) -> np.ndarray:
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


# ------------------------------------------------------------------------- features (features.py)
DISTANCE_PAIRS = (
    (17, 27), (17, 2), (2, 89), (89, 39), (39, 57), (51, 57),
    (48, 54), (44, 57), (44, 89), (89, 10), (10, 27),
)  # fmt: skip
ANGLE_TRIPLES = (
    (27, 2, 10), (17, 10, 2), (48, 89, 54), (89, 48, 51), (89, 54, 51), (51, 48, 57), (51, 54, 57),
)  # fmt: skip
_P = np.array(DISTANCE_PAIRS)
_T = np.array(ANGLE_TRIPLES)
_USED = np.unique(np.concatenate([_P.ravel(), _T.ravel()]))
_XY = np.concatenate([3 * _USED, 3 * _USED + 1])
_NU = len(_USED)
_D0, _D1 = np.searchsorted(_USED, _P[:, 0]), np.searchsorted(_USED, _P[:, 1])
_TA, _TM, _TB = (np.searchsorted(_USED, _T[:, i]) for i in range(3))
_CHUNK = 1024


def _features_into(flat: np.ndarray, out: np.ndarray, spec) -> None:
    n_d, fill = len(DISTANCE_PAIRS), spec.zero_fill
    xy = flat.take(_XY, axis=1)
    if fill is not None:
        np.copyto(xy, fill, where=xy == 0)
    x, y = xy[:, :_NU], xy[:, _NU:]
    dx, dy = x[:, _D0] - x[:, _D1], y[:, _D0] - y[:, _D1]
    np.sqrt(dx * dx + dy * dy, out=out[:, :n_d])
    ux, uy = x[:, _TA] - x[:, _TM], y[:, _TA] - y[:, _TM]
    vx, vy = x[:, _TB] - x[:, _TM], y[:, _TB] - y[:, _TM]
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(ux * vx + uy * vy, np.sqrt((ux * ux + uy * uy) * (vx * vx + vy * vy)), out=out[:, n_d:18])
    if spec.round_decimals is not None:
        geo = out[:, :18]
        np.round(geo, spec.round_decimals, out=geo)
    z = out[:, 18:]
    np.copyto(z, flat[:, 2::3])
    if spec.zero_depth_unknown:
        np.copyto(z, np.nan, where=z == 0)
    elif fill is not None:
        np.copyto(z, fill, where=z == 0)


def compute_features(landmarks: np.ndarray, spec) -> np.ndarray:
    lm = np.asarray(landmarks, dtype=np.float64)
    flat = lm.reshape(len(lm), 300)
    out = np.empty((len(lm), 118), dtype=np.float64)
    for lo in range(0, len(lm), _CHUNK):
        _features_into(flat[lo : lo + _CHUNK], out[lo : lo + _CHUNK], spec)
    return out
