"""Files → recordings: locate the UCI dataset and load it exactly as distributed.

UCI layout (dataset 317): ``{signer}_{expression}_datapoints.txt`` holds a header line and one
line per frame (a timestamp and 100 landmarks × x, y, z), ``{signer}_{expression}_targets.txt``
one 0/1 label per frame. Lines end with CRLF and the last one has no newline. Signer a's
doubt-question labels are spelled ``a_doubts_question_targets.txt``; both spellings are accepted.

Unknown values are written ``nan`` (timestamps of the two reconstructed files, x/y of 588
frames of ``a_relative``) and Kinect writes ``z = 0`` when depth is lost. Both are counted and
reported here and never replaced by numbers: what to do with them is the feature spec's choice.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gfe import EXPRESSIONS, N_LANDMARKS, SIGNERS
from gfe.errors import DataError

N_VALUES = 1 + 3 * N_LANDMARKS  # timestamp + x, y, z of each landmark
DATA_ENV = "GFE_DATA_DIR"


# --------------------------------------------------------------------------------------- names
def check_expression(name: str) -> str:
    """Return ``name`` if it is one of the nine expressions, else raise a clear error."""
    if name not in EXPRESSIONS:
        raise DataError(f"unknown expression {name!r}; choose one of: {', '.join(EXPRESSIONS)}")
    return name


def check_signer(name: str) -> str:
    if name not in SIGNERS:
        raise DataError(f"unknown signer {name!r}; choose one of: {', '.join(SIGNERS)}")
    return name


def parse_names(value: str | Sequence[str] | None, known: Sequence[str], what: str) -> list[str]:
    """Parse a comma-separated CLI value (or a list) into known names; ``None``/'all' → all."""
    if value is None:
        return list(known)
    items = value.split(",") if isinstance(value, str) else list(value)
    items = [s.strip() for s in items if s.strip()]
    if items == ["all"] or not items:
        return list(known)
    unknown = [s for s in items if s not in known]
    if unknown:
        raise DataError(f"unknown {what} {', '.join(map(repr, unknown))}; choose from: {', '.join(known)}")
    return items


def datapoints_name(signer: str, expression: str) -> str:
    return f"{signer}_{expression}_datapoints.txt"


def targets_names(signer: str, expression: str) -> list[str]:
    """Accepted label-file names, UCI's own spelling first."""
    names = [f"{signer}_{expression}_targets.txt"]
    if expression == "doubt_question":
        names.insert(0 if signer == "a" else 1, f"{signer}_doubts_question_targets.txt")
    return names


# ---------------------------------------------------------------------------------- recordings
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


# ------------------------------------------------------------------------------------- parsing
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


def find_targets(data_dir: Path, signer: str, expression: str) -> Path:
    for name in targets_names(signer, expression):
        if (data_dir / name).is_file():
            return data_dir / name
    raise DataError(
        f"{data_dir / targets_names(signer, expression)[0]}: file not found; "
        "check the data folder or run `gfe data download`"
    )


def load_recording(data_dir: str | Path, signer: str, expression: str) -> Recording:
    """Load one labelled recording of the UCI layout."""
    data_dir = Path(data_dir)
    check_signer(signer)
    check_expression(expression)
    points = data_dir / datapoints_name(signer, expression)
    timestamps, landmarks = load_datapoints(points)
    targets = find_targets(data_dir, signer, expression)
    labels = load_targets(targets)
    if len(labels) != len(landmarks):
        raise DataError(
            f"{targets}: {len(labels)} labels but {points.name} has {len(landmarks)} frames; "
            "each frame needs exactly one label — use the targets file of the same recording"
        )
    return Recording(
        signer, expression, timestamps, landmarks, labels, source=points, meta={"targets": targets}
    )


def load_dataset(
    data_dir: str | Path,
    expressions: Iterable[str] | None = None,
    signers: Iterable[str] | None = None,
) -> list[Recording]:
    """Load every (signer, expression) recording, signer-major within each expression."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(
            f"{data_dir}: data folder not found; pass --data-dir, set {DATA_ENV}, or run `gfe data download`"
        )
    exprs = [check_expression(e) for e in (expressions or EXPRESSIONS)]
    sigs = [check_signer(s) for s in (signers or SIGNERS)]
    return [load_recording(data_dir, s, e) for e in exprs for s in sigs]


# ----------------------------------------------------------------------------- where data lives
def cache_dir() -> Path:
    """The per-user folder that ``gfe data download`` fills."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("gfe")) / "uci-gfe"


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """``--data-dir``, then ``$GFE_DATA_DIR``, then the download cache (which may not exist yet)."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return cache_dir()


def dataset_present(data_dir: Path) -> bool:
    return (data_dir / datapoints_name(SIGNERS[0], EXPRESSIONS[0])).is_file()
