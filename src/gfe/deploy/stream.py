"""Real time: label landmark frames one at a time, as a Kinect delivers them.

Python API::

    from gfe.deploy import Detector

    det = Detector.from_bundle("bundles/negative")
    p = det.update(landmarks)          # (100, 3) array, or 300 values, or 301 with the timestamp first
    det.reset()                        # a new recording: zero state (normalisation kept)

``update`` returns the probability of the frame's expression, or ``None`` when the frame has no
decision (unknown features, or during calibration). A multi-expression bundle (``shared-lstm``)
steps one network for all its expressions: ``update`` returns ``{expression: probability}`` and
each record's ``probability`` and ``label`` are such objects (``expression=`` / ``--expression``
keeps one head, and plain numbers). :meth:`Detector.process` returns full
:class:`Decision` records and :meth:`Detector.process_line` takes one line of UCI text and
returns JSON-ready records — what ``gfe stream`` prints.

Rules (the same as offline labelling in :mod:`gfe.deploy.labelling`, so both give the same outputs):

* A frame with unknown features (``nan`` x/y of a Table 1 landmark, or an infinite value) gets
  ``probability: null`` and ``reason: "unknown_features"``; the model state is **not** advanced
  and the next frame's delta input is 0.
* ``z = 0`` is handled by the feature spec (clean: imputed mean) and counted in ``zero_depth``.
* A timestamp smaller than the previous known one is accepted and flagged
  ``"timestamp_backwards": true``; ``nan`` timestamps are ``null``.
* Lines (``gfe stream`` / :meth:`Detector.process_line`): a header line is skipped silently; an
  empty (or blank) line is skipped silently (keep-alive); any other line that is not 301 numbers
  (too few or too many values, text, not UTF-8) gives one error record
  ``{"line": n, "error": "..."}`` and the stream goes on. A bad line is a lost frame: it gets no
  frame index, the state is not advanced, and the next frame's delta input is 0. Windows line
  ends (CRLF) are accepted. A line longer than 64 KiB (:data:`MAX_LINE_BYTES`, ten times a frame
  line) is not held in memory: it is skipped with such an error record.

**Calibration for a new signer** (``calibrate_seconds`` / ``calibrate_frames``): the first frames
(the window of :class:`gfe.deploy.labelling.CalibrationWindow`) are buffered, unlabelled; nothing is
decided meanwhile (``update`` returns ``None``, the stream prints one ``{"event":
"calibrating"}`` record at the start). When the window is complete, z-score statistics are fitted
on the buffered frames, an ``{"event": "calibrated"}`` record is emitted, and the buffered frames
are labelled with the new statistics (their decisions carry ``"replayed": true``) before the
stream goes on live. So every frame gets exactly one decision, and the outputs equal offline
labelling with ``--calibrate-seconds`` / ``--calibrate-frames``. A stream that ends during the
window is calibrated on what was buffered (``"complete": false``). The window is at most 10
minutes (``--calibrate-seconds`` ≤ 600) and never buffers more than 18 000 frames, whatever the
timestamps say (then ``"complete": false`` with a ``"note"``).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from gfe.data import N_VALUES, is_header, parse_frame_values, split_values
from gfe.deploy.bundle import Bundle, BundleError, load_bundles
from gfe.deploy.labelling import MAX_CALIBRATION_FRAMES, CalibrationWindow, Normalisation, fit_stats
from gfe.errors import GfeError


# ------------------------------------------------------------------------------------- lines
@dataclass(frozen=True)
class ParsedLine:
    """One line of UCI frame text: ``kind`` is "frame", "header", "blank" or "error"."""

    kind: str
    values: np.ndarray | None = None  # 301 floats for a frame: timestamp, then x, y, z × 100
    error: str | None = None


def parse_line(text: str | bytes, where: str = "line") -> ParsedLine:
    """Parse one line (any line end) under the rule of :mod:`gfe.data`, exactly as the offline
    loader does. Never raises: bad input → ``kind="error"`` with a message."""
    try:
        if isinstance(text, bytes | bytearray):
            try:
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError as exc:
                return ParsedLine(
                    "error", error=f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})"
                )
        tokens = split_values(text)
        if not tokens:
            return ParsedLine("blank")
        if is_header(tokens):
            return ParsedLine("header")
        return ParsedLine("frame", values=parse_frame_values(tokens, where))  # counts before converting
    except GfeError as exc:
        return ParsedLine("error", error=str(exc))
    except Exception as exc:
        return ParsedLine("error", error=f"{where}: unreadable line ({type(exc).__name__})")


# --------------------------------------------------------------------------------- decisions
def _json_num(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


@dataclass
class Decision:
    """The detector's output for one frame."""

    frame: int  # index among the frame lines (as the row of the offline table)
    timestamp: float
    probability: float | dict[str, float] | None  # a multi-expression bundle: one per expression
    label: int | dict[str, int] | None
    latency_us: float
    reason: str | None = None  # why there is no probability
    zero_depth: int = 0  # how many z values were 0 (lost depth)
    timestamp_backwards: bool = False
    replayed: bool = False  # decided after calibration, from the buffer
    line: int | None = None

    def to_dict(self) -> dict:
        rec: dict[str, Any] = {"frame": self.frame}
        if self.line is not None:
            rec["line"] = self.line
        rec.update(
            timestamp=_json_num(self.timestamp),
            probability=(
                {e: _json_num(v) for e, v in self.probability.items()}
                if isinstance(self.probability, dict)
                else _json_num(self.probability)
            ),
            label=self.label,
            latency_us=round(self.latency_us, 1),
        )
        if self.reason:
            rec["reason"] = self.reason
        if self.zero_depth:
            rec["zero_depth"] = self.zero_depth
        if self.timestamp_backwards:
            rec["timestamp_backwards"] = True
        if self.replayed:
            rec["replayed"] = True
        return rec


@dataclass
class _Buffered:
    features: np.ndarray
    timestamp: float
    zero_depth: int
    backwards: bool
    gap_before: bool
    line: int | None
    frame: int


class Detector:
    """A causal model of a bundle, stepped one frame at a time (see the module docstring)."""

    def __init__(
        self,
        bundle: Bundle,
        norm: Normalisation | None = None,
        threshold: float | None = None,
    ) -> None:
        norm = norm or Normalisation()
        if not bundle.causal:
            raise BundleError(
                f"bundle {bundle.name}: model {bundle.model!r} reads the whole recording (not causal), "
                "so it cannot stream; use `gfe predict` for it, or a causal model (seq-lstm, paper-lstm, mlp)"
            )
        if norm.calibrate:
            raise GfeError(
                "calibrating on the whole recording needs the whole recording: when streaming, "
                "calibrate on its first seconds (calibrate_seconds) or frames (calibrate_frames)"
            )
        self.bundle = bundle
        self.norm = norm
        self.threshold = bundle.threshold if threshold is None else float(threshold)
        if not 0 < self.threshold < 1:
            raise GfeError(f"threshold must be between 0 and 1, got {self.threshold}")
        self.engine = bundle.engine()
        self.expressions = bundle.expressions
        self._heads = bundle.multi  # probabilities from the heads of bundle.expressions
        self.features = bundle.spec.frames(bundle.feature_state)
        self.delta_scale = bundle.delta_scale
        n = bundle.config["n_features"]
        self._n = n
        self._inp = np.zeros(bundle.config["n_inputs"])
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        if not norm.calibrates_on_start:
            self.mean, self.std = bundle.stats(norm.signer)
        self.calibration: dict | None = None
        self._events: list[dict] = []
        self.reset(recalibrate=True)

    @classmethod
    def from_bundle(
        cls,
        path: str | Path,
        *,
        expression: str | None = None,
        signer: str | None = None,
        calibrate_seconds: float | None = None,
        calibrate_frames: int | None = None,
        threshold: float | None = None,
    ) -> Detector:
        """Load a bundle (or pick ``expression`` from a folder of bundles) and make a detector."""
        bundles = load_bundles(path, expression)
        if len(bundles) > 1:
            raise BundleError(
                f"bundle {path}: a folder of {len(bundles)} bundles; a detector runs one — choose it "
                f"with --expression (expression= in Python): {', '.join(e for b in bundles for e in b.expressions)}"
            )
        norm = Normalisation(
            signer=signer, calibrate_seconds=calibrate_seconds, calibrate_frames=calibrate_frames
        )
        return cls(bundles[0], norm, threshold)

    # -- state
    def reset(self, recalibrate: bool = False) -> None:
        """Start a new recording: zero model state, frame index 0. The normalisation is kept
        (same signer) unless ``recalibrate`` (then calibration, if configured, starts again)."""
        self.state = self.engine.initial_state()
        self.features.reset()
        self._prev: np.ndarray | None = None
        self._prev_usable = False
        self.frame = 0
        self._last_ts = math.nan
        self._buffer: list[_Buffered] = []
        self._gap_pending = False
        if recalibrate and self.norm.calibrates_on_start:
            self.mean = self.std = None
            self.calibration = None
            self._window = CalibrationWindow(self.norm.calibrate_seconds, self.norm.calibrate_frames)
        elif self.calibrating:  # calibration had not finished: start the window again
            self._window = CalibrationWindow(self.norm.calibrate_seconds, self.norm.calibrate_frames)

    @property
    def calibrating(self) -> bool:
        return self.mean is None

    def gap(self) -> None:
        """A frame was lost (a bad line): the next frame's delta input is 0; state unchanged."""
        self._prev_usable = False
        self.features.gap()
        if self.calibrating and self._buffer:
            self._gap_pending = True

    def pop_events(self) -> list[dict]:
        ev, self._events = self._events, []
        return ev

    # -- the hot path
    def _decide(
        self, f: np.ndarray, ts: float, zd: int, back: bool, line, frame: int, t0: int, replayed=False
    ):
        if not self.features.usable(f):
            self._prev_usable = False
            return Decision(
                frame, ts, None, None, (time.perf_counter_ns() - t0) / 1e3, "unknown_features", zd, back,
                replayed, line,
            )  # fmt: skip
        inp, n = self._inp, self._n
        s = inp[:n]
        np.subtract(f, self.mean, out=s)
        s /= self.std
        s[np.isnan(s)] = 0.0
        if self.delta_scale is not None:
            d = inp[n:]
            if self._prev_usable:
                np.subtract(s, self._prev, out=d)
                d /= self.delta_scale
            else:
                d[:] = 0.0
            if self._prev is None:
                self._prev = np.empty(n)
            self._prev[:] = s
        self._prev_usable = True
        if self._heads:
            ps, self.state = self.bundle.step(inp, self.state)
            ok = bool(np.isfinite(ps).all())
            p = dict(zip(self.expressions, ps.tolist(), strict=True)) if ok else None
            label = {e: int(v >= self.threshold) for e, v in p.items()} if ok else None
            if ok and len(ps) == 1:
                p, label = float(ps[0]), label[self.expressions[0]]
        else:
            p, self.state = self.engine.step(inp, self.state)
            ok = math.isfinite(p)
            label = int(p >= self.threshold)
        if not ok:
            return Decision(
                frame, ts, None, None, (time.perf_counter_ns() - t0) / 1e3, "non_finite_output", zd, back,
                replayed, line,
            )  # fmt: skip
        return Decision(
            frame, ts, p, label, (time.perf_counter_ns() - t0) / 1e3, None, zd, back, replayed, line
        )

    def process(self, frame, timestamp: float | None = None, *, line: int | None = None, _t0=None):
        """One frame → its decisions: one normally, none while calibrating, the buffered frames'
        decisions when calibration completes. ``frame``: (100, 3), 300 values or 301 values
        with the timestamp first (then ``timestamp`` must be omitted)."""
        t0 = time.perf_counter_ns() if _t0 is None else _t0
        flat, ts = self._flat(frame, timestamp)
        with np.errstate(all="ignore"):  # absurd values give inf/nan, handled as unknown features
            return self._process(flat, ts, line, t0)

    def _process(self, flat: np.ndarray, ts: float, line: int | None, t0: int) -> list[Decision]:
        f = self.features(flat)
        zd = int(np.count_nonzero(flat[2::3] == 0))
        back = bool(ts < self._last_ts)  # False when either is nan
        if not math.isnan(ts):
            self._last_ts = ts
        idx = self.frame
        self.frame += 1
        if not self.calibrating:
            return [self._decide(f, ts, zd, back, line, idx, t0)]
        if not self._buffer:
            self._events.append({"event": "calibrating", "window": self._window.describe()})
        self._buffer.append(_Buffered(f.copy(), ts, zd, back, self._gap_pending, line, idx))
        self._gap_pending = False
        if self._window.add(ts):
            return self._finish_calibration(complete=not self._window.capped)
        return []

    def _finish_calibration(self, complete: bool) -> list[Decision]:
        feats = np.stack([b.features for b in self._buffer])
        with np.errstate(all="ignore"):
            self.mean, self.std = fit_stats(feats)
        self.calibration = {
            "window": self._window.describe(),
            "frames": len(self._buffer),
            "complete": complete,
        }
        if self._window.capped:
            self.calibration["note"] = (
                f"the window stopped at {MAX_CALIBRATION_FRAMES} frames, the most a calibration buffers "
                "(the timestamps never reached the seconds asked for)"
            )
        self._events.append({"event": "calibrated", **self.calibration})
        out = []
        self._prev_usable = False
        for b in self._buffer:
            if b.gap_before:
                self._prev_usable = False
            t0 = time.perf_counter_ns()
            with np.errstate(all="ignore"):
                d = self._decide(
                    b.features, b.timestamp, b.zero_depth, b.backwards, b.line, b.frame, t0, True
                )
            out.append(d)
        self._buffer = []
        return out

    def finish(self) -> list[Decision]:
        """End of the stream: a calibration still waiting for its window uses what it has."""
        if self.calibrating and self._buffer:
            return self._finish_calibration(complete=False)
        return []

    def update(self, frame, timestamp: float | None = None) -> float | dict[str, float] | None:
        """One frame → the probability of the expression at this frame (a multi-expression bundle:
        ``{expression: probability}``), or None (no decision: unknown features, or calibrating)."""
        idx = self.frame
        for d in self.process(frame, timestamp):
            if d.frame == idx:
                return d.probability
        return None

    def _flat(self, frame, timestamp: float | None) -> tuple[np.ndarray, float]:
        a = np.asarray(frame, dtype=np.float64)
        if a.size == N_VALUES and a.ndim == 1:
            if timestamp is not None:
                raise GfeError("a 301-value frame carries its timestamp first; do not pass timestamp too")
            return a[1:], float(a[0])
        if a.size != 300 or a.shape not in ((300,), (100, 3)):
            raise GfeError(
                f"a frame is (100, 3) landmarks, 300 values or 301 with the timestamp; got {a.shape}"
            )
        return a.reshape(300), math.nan if timestamp is None else float(timestamp)

    # -- text
    def process_line(self, text: str | bytes, line: int | None = None) -> list[dict]:
        """One line of UCI text → JSON-ready records (decisions, events, or one error)."""
        t0 = time.perf_counter_ns()
        where = f"line {line}" if line is not None else "line"
        parsed = parse_line(text, where)
        if parsed.kind in ("blank", "header"):
            return []
        if parsed.kind == "error":
            self.gap()
            rec: dict[str, Any] = (
                {"line": line, "error": parsed.error} if line is not None else {"error": parsed.error}
            )
            return [rec]
        decisions = self.process(parsed.values, line=line, _t0=t0)
        return [*self.pop_events(), *(d.to_dict() for d in decisions)]


# -------------------------------------------------------------------------------- the stream
MAX_LINE_BYTES = 1 << 16  # 64 KiB: ten times the longest frame line (301 numbers); longer ones are skipped


@dataclass(frozen=True)
class OverlongLine:
    """What :func:`read_lines` yields for a line longer than :data:`MAX_LINE_BYTES`: its length
    only (the line itself was read in pieces and dropped, never held in memory)."""

    length: int


def read_lines(
    source: str | Path, follow: bool = False, idle_exit: float = 10.0, poll: float = 0.05
) -> Iterator[bytes | OverlongLine]:
    """Lines (bytes, line end included) of standard input (``"-"``) or a file. With ``follow``,
    a file that is still being written is read as it grows (like ``tail -f``) until nothing new
    arrived for ``idle_exit`` seconds; a last line without a line end is read then. A line longer
    than :data:`MAX_LINE_BYTES` is read in pieces and dropped: it yields an :class:`OverlongLine`,
    so memory stays bounded whatever arrives."""
    if str(source) == "-":
        if sys.stdin is None:
            raise GfeError("standard input is closed; pipe frames in, or give a file to read")
        yield from _bounded_lines(sys.stdin.buffer, follow=False, idle_exit=idle_exit, poll=poll)
        return
    path = Path(source)
    if not path.is_file():
        raise GfeError(f"{path}: file not found")
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise GfeError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from None
    with f:
        yield from _bounded_lines(f, follow=follow, idle_exit=idle_exit, poll=poll)


def _bounded_lines(f, follow: bool, idle_exit: float, poll: float) -> Iterator[bytes | OverlongLine]:
    """The lines of the binary file ``f``, each at most :data:`MAX_LINE_BYTES` (see read_lines)."""
    pending, dropped = b"", 0  # a line begun but not ended; bytes of an overlong line skipped so far
    idle_since = time.monotonic()
    while True:
        piece = f.readline(1 << 16 if dropped else MAX_LINE_BYTES + 1 - len(pending))
        if piece:
            idle_since = time.monotonic()
            if dropped:
                dropped += len(piece)
                if piece.endswith(b"\n"):
                    yield OverlongLine(dropped)
                    dropped = 0
                continue
            pending += piece
            if pending.endswith(b"\n"):
                yield pending
                pending = b""
            elif len(pending) > MAX_LINE_BYTES:
                pending, dropped = b"", len(pending)
            continue
        if follow and time.monotonic() - idle_since < idle_exit:
            time.sleep(poll)
            continue
        if dropped:
            yield OverlongLine(dropped)
        elif pending:
            yield pending
        return


def run_stream(detector: Detector, lines: Iterable[bytes | OverlongLine], out: IO[str]) -> dict:
    """Feed lines to the detector, write one JSON record per line of output; return a summary."""
    n_lines = n_err = n_blank = 0
    latencies = []

    def emit(records: list[dict]) -> None:
        nonlocal n_err
        for rec in records:
            if "error" in rec:
                n_err += 1
            elif "latency_us" in rec:
                latencies.append(rec["latency_us"])
            out.write(json.dumps(rec, allow_nan=False) + "\n")
        if records:
            out.flush()

    for n_lines, raw in enumerate(lines, start=1):
        if isinstance(raw, OverlongLine):  # a lost frame, like any other bad line
            detector.gap()
            emit([{"line": n_lines, "error": f"line {n_lines}: {raw.length:,} bytes, longer than any frame line "
                   f"(at most {MAX_LINE_BYTES:,} bytes are read); skipped"}])  # fmt: skip
            continue
        if not raw.strip(b" \t\r\n"):  # blank under the rule of gfe.data.files
            n_blank += 1
            continue
        emit(detector.process_line(raw, line=n_lines))
    final = detector.finish()  # a calibration still waiting: its event, then the buffered frames
    emit([*detector.pop_events(), *(d.to_dict() for d in final)])
    return {
        "lines": n_lines,
        "frames": detector.frame,
        "decisions": len(latencies),
        "bad_lines": n_err,
        "blank_lines": n_blank,
        "median_latency_us": float(np.median(latencies)) if latencies else None,
    }
