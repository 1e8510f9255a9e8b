"""Files → arrays: parse the UCI datapoints and targets files exactly as distributed.

A datapoints file holds a header line and one line per frame (a timestamp and 100 landmarks × x,
y, z); a targets file one 0/1 label per frame. Lines end with CRLF and the last one has no
newline. Unknown values are written ``nan`` and are parsed as such (never filled in here).

**One rule for every reader** (the offline loader here and the live stream's line parser,
:func:`gfe.deploy.stream.parse_line`, accept exactly the same lines): values are separated by ASCII
spaces or tabs; a value is an ASCII decimal number as the C parser reads it (an overflowing one,
``1e999``, becomes ±inf), ``inf``/``infinity`` in any case with an optional sign, or one of
``nan``, ``NaN``, ``-nan``, ``-NaN``; carriage returns before the line feed and a leading byte-order
mark are ignored. Anything else — ``1_0``, Unicode digits, a non-breaking space, ``NA``, quotes, a
lone CR — is a one-line :class:`~gfe.errors.DataError` naming the file, the line and the value.

Speed: a file in the usual layout is read by one strict ``pandas.read_csv`` (C engine), which
itself rejects anything outside the rule, then checked with vectorised array operations; only a
file it refuses (or an odd layout, e.g. tabs) is read line by line with the stream's functions, to
accept what the rule allows and name the first bad line and value.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gfe import N_LANDMARKS
from gfe.errors import DataError

N_VALUES = 1 + 3 * N_LANDMARKS  # timestamp + x, y, z of each landmark


# One rule for a frame line, offline (load_datapoints) and streamed (gfe.stream.parse_line) alike:
# values are separated by runs of ASCII spaces and tabs; a line ends with LF, any CRs before it and
# a byte-order mark at its start are ignored; every value is an ASCII decimal number as pandas' C
# parser reads it (``-1.5``, ``.5``, ``1.``, ``2e-3``; too large a magnitude is ±inf), ``inf`` or
# ``infinity`` in any case with an optional sign, or one of NAN_SPELLINGS. Nothing else: no ``1_0``,
# no Unicode digits or spaces, no ``NAN`` or ``NA``.
NAN_SPELLINGS = ("nan", "NaN", "-nan", "-NaN")  # the C parser's default NaN strings that look like numbers
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?i:inf|infinity)")
# The ASCII whitespace that Python's str.split() and float() see besides spaces and tabs.
_OTHER_SPACE = "\n\r\v\f\x1c\x1d\x1e\x1f"
_C_PARSER = {
    "sep": " ",
    "header": None,
    "engine": "c",
    "dtype": np.float64,
    "na_values": list(NAN_SPELLINGS),
    "keep_default_na": False,  # an empty field (two spaces, a short line) is an error, not nan
    "skip_blank_lines": False,  # a blank line is an error too
    "quoting": csv.QUOTE_NONE,
    "low_memory": False,  # one pass over the file, no chunks to concatenate
}


def is_number(token: str) -> bool:
    """Whether one value follows the rule above (its definition; the parsers only go faster)."""
    return token in NAN_SPELLINGS or _NUMBER.fullmatch(token) is not None


def split_values(line: str) -> list[str]:
    """A line's values under the rule: [] for a blank line."""
    line = line.removeprefix("\ufeff").removesuffix("\n").rstrip("\r")
    if line.isascii() and not any(c in line for c in _OTHER_SPACE):
        return line.split()  # only spaces and tabs separate: the same, faster
    return [t for t in line.replace("\t", " ").split(" ") if t]


def is_header(tokens: Sequence[str]) -> bool:
    """UCI's header line: ``0.0 0x 0y 0z 1x …``."""
    return len(tokens) > 1 and tokens[1] == "0x"


def parse_frame_values(tokens: Sequence[str], where: str) -> np.ndarray:
    """Parse one frame line's tokens into 301 floats, or raise an error that says ``where``."""
    if len(tokens) != N_VALUES:
        raise DataError(
            f"{where}: expected {N_VALUES} values (timestamp + 100 landmarks × x, y, z), found {len(tokens)}"
        )
    try:
        values = np.array(tokens, dtype=np.float64)  # float() of each: a superset of the rule
    except ValueError:
        values = None
    if values is None or not _only_rule_numbers(tokens, values):
        col, bad = next((i, t) for i, t in enumerate(tokens) if not is_number(t))
        raise DataError(
            f"{where}: value {bad!r} is not a number (value {col + 1} of {N_VALUES}: {_column(col)})"
        )
    return values


def _only_rule_numbers(tokens: Sequence[str], values: np.ndarray) -> bool:
    """Given that float() read every token: did it only read what the rule allows? float() also
    takes underscores, non-ASCII digits, whitespace around the number and any nan spelling."""
    joined = "".join(tokens)
    if "_" in joined or not joined.isascii() or any(c in joined for c in " \t" + _OTHER_SPACE):
        return False
    nan = np.isnan(values)
    return not nan.any() or all(tokens[i] in NAN_SPELLINGS for i in np.flatnonzero(nan))


def _column(col: int) -> str:
    return "timestamp" if col == 0 else f"landmark {(col - 1) // 3} {'xyz'[(col - 1) % 3]}"


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(f"{path}: file not found; check the path or run `gfe data download`")
    return path.read_bytes()


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text file ({exc.reason} at byte {exc.start})") from None


def _parse_plain(data: bytes) -> np.ndarray | None:
    """(frames, 301) from one pandas C-engine parse, when the text has the plain layout (one space
    between values, LF or CRLF line ends, ASCII). None otherwise, and for any error: then
    :func:`_parse_lines` decides. It never accepts what the rule rejects: pandas fails on a short,
    long or blank line and on any value outside the rule, except values with a leading or trailing
    vertical tab or form feed (refused here) and lines split by a lone CR (the row count tells)."""
    if not data.isascii() or b"\0" in data or b"\v" in data or b"\f" in data:
        return None
    data = data.rstrip(b" \t\r\n")  # trailing blank lines are not frames
    nl = data.find(b"\n")
    first = data if nl < 0 else data[:nl]
    start = len(first) + 1 if is_header(split_values(first.decode())) else 0
    if start >= len(data):
        return None  # nothing, or only a header
    lines = _count_lf(data, start) + 1
    stream = io.BytesIO(data)
    stream.seek(start)
    try:
        values = pd.read_csv(stream, **_C_PARSER).to_numpy()
    except ValueError:  # pandas' ParserError is one too
        return None
    return values if values.shape == (lines, N_VALUES) else None


def _count_lf(data: bytes, start: int, block: int = 1 << 18) -> int:
    """How many LF bytes ``data[start:]`` holds (in blocks: no file-sized temporary)."""
    buf = np.frombuffer(data, np.uint8, offset=start)
    return sum(int(np.count_nonzero(buf[i : i + block] == 10)) for i in range(0, len(buf), block))


def _parse_lines(text: str, path: Path) -> np.ndarray:
    """(frames, 301) line by line under the rule, or the error for the first bad line."""
    rows = [split_values(line) for line in text.split("\n")]
    first = 1 if is_header(rows[0]) else 0
    end = len(rows)
    while end > first and not rows[end - 1]:  # trailing blank lines are not frames
        end -= 1
    if end == first:
        raise DataError(f"{path}: no frames (the file holds {'only a header' if first else 'nothing'})")
    return np.array([parse_frame_values(rows[i], f"{path}, line {i + 1}") for i in range(first, end)])


def load_datapoints(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a datapoints file → (timestamps (frames,), landmarks (frames, 100, 3)).

    Every line must hold 301 values under the rule above (``nan`` is a number here, and is
    reported by the caller, never filled in). A file in UCI's own layout is parsed once by pandas'
    C engine and checked on the parsed array; any other file (or a bad one) line by line, which
    names the first bad line and value.
    """
    path = Path(path)
    data = _read_bytes(path)
    values = _parse_plain(data)
    if values is None:
        values = _parse_lines(_decode(data, path), path)
    landmarks = np.ascontiguousarray(values[:, 1:]).reshape(len(values), N_LANDMARKS, 3)
    return values[:, 0].copy(), landmarks


_LABELS = {"0": 0, "1": 1, "0.0": 0, "1.0": 1}


def _label_text(line: str) -> str:
    return line.removeprefix("\ufeff").rstrip("\r").strip(" \t")


def load_targets(path: str | Path) -> np.ndarray:
    """Read a targets file → int8 labels (frames,), each 0 or 1 (``0.0`` and ``1.0`` too), one a
    line. As for frames: spaces and tabs around a label, CRs before LF, a leading BOM and
    trailing blank lines are ignored."""
    path = Path(path)
    lines = _decode(_read_bytes(path), path).rstrip(" \t\r\n").split("\n")
    if lines == [""]:
        raise DataError(f"{path}: no labels")
    label = {s: _LABELS.get(_label_text(s)) for s in set(lines)}  # each distinct line once
    if None in label.values():
        i = next(i for i, s in enumerate(lines) if label[s] is None)
        raise DataError(f"{path}, line {i + 1}: label {_label_text(lines[i])!r} is not 0 or 1")
    return np.fromiter(map(label.__getitem__, lines), dtype=np.int8, count=len(lines))
