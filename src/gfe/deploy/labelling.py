"""Offline labelling: a recording → per-frame probability and label, and segments.

Rules (the same ones :mod:`gfe.deploy.stream` applies frame by frame, so both agree):

* **Unknown frames.** A frame whose features are unknown (``nan`` x or y of a Table 1 landmark,
  or an infinite value) is *masked*: probability and label ``None`` (empty in CSV), it never
  starts or extends a segment, and a temporal model's state is **not advanced** through it (the
  model runs over the usable frames only). The delta input of the next usable frame is 0, as in
  training.
* **Zero depth.** ``z = 0`` (Kinect's lost depth) is the feature spec's business: the ``clean``
  spec imputes the mean, the ``paper`` spec uses 1e-5. It is counted in the report.
* **Timestamps.** ``nan`` timestamps are reported (``null`` in JSON, empty in CSV); timestamps
  going backwards are accepted and counted.
* **Normalisation.** Default: the bundle's statistics pooled over its training signers. A known
  training signer's own statistics (``signer``), or a calibration on the recording itself, without
  labels: all of its frames (``calibrate``) or its first seconds / frames (``calibrate_seconds``,
  ``calibrate_frames``; the same window the stream calibrates on).
* **Segments.** Runs of consecutive frames labelled 1; runs shorter than ``min_frames`` are dropped
  from the segment list (the per-frame labels are left as they are).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gfe.deploy.bundle import Bundle, BundleError
from gfe.errors import GfeError
from gfe.features import usable_frames

FRAME_RATE = 30.0  # Kinect frames per second: turns calibration seconds into frames without timestamps
MAX_CALIBRATION_SECONDS = 600.0  # a calibration window of at most 10 minutes …
MAX_CALIBRATION_FRAMES = int(MAX_CALIBRATION_SECONDS * FRAME_RATE)  # … and at most 18 000 frames
_UCI_NAME = re.compile(r"^([a-z])_([a-z_]+)_datapoints\.txt$")


# ------------------------------------------------------------------------------- normalisation
@dataclass(frozen=True)
class Normalisation:
    """Which statistics z-score a recording (see the module docstring)."""

    signer: str | None = None  # a training signer of the bundle
    calibrate: bool = False  # fit on all frames of the recording
    calibrate_seconds: float | None = None  # fit on the first seconds of the recording
    calibrate_frames: int | None = None  # fit on the first frames of the recording

    def __post_init__(self) -> None:
        chosen = [
            self.signer is not None,
            self.calibrate,
            self.calibrate_seconds is not None,
            self.calibrate_frames is not None,
        ]
        if sum(chosen) > 1:
            raise GfeError(
                "choose one normalisation: a training signer, --calibrate, --calibrate-seconds "
                "or --calibrate-frames"
            )
        s, k = self.calibrate_seconds, self.calibrate_frames
        if s is not None and not (isinstance(s, int | float) and 0 < s <= MAX_CALIBRATION_SECONDS):
            raise GfeError(
                f"--calibrate-seconds {s}: choose a number of seconds > 0 and <= {MAX_CALIBRATION_SECONDS:g} "
                "(a calibration needs the first seconds of a recording, not all of it; see --calibrate)"
            )
        if k is not None and not (isinstance(k, int) and 1 <= k <= MAX_CALIBRATION_FRAMES):
            raise GfeError(
                f"--calibrate-frames {k}: choose a number of frames from 1 to {MAX_CALIBRATION_FRAMES}"
            )

    @property
    def calibrates_on_start(self) -> bool:
        return self.calibrate_seconds is not None or self.calibrate_frames is not None


class CalibrationWindow:
    """Which first frames a calibration uses, decided frame by frame (so a stream can use it).

    ``frames=K``: the first K frames. ``seconds=S``: frames up to and including the first one at
    least S seconds after the first frame's timestamp; when the first timestamp is unknown
    (``nan``), the first ``ceil(S × 30)`` frames instead (Kinect's frame rate). Whatever the
    timestamps say (they may never advance), a window ends after :data:`MAX_CALIBRATION_FRAMES`
    frames (``capped`` is then True), so a stream never buffers without bound.
    """

    def __init__(self, seconds: float | None = None, frames: int | None = None) -> None:
        if (seconds is None) == (frames is None):
            raise ValueError("give seconds or frames")
        self.seconds = seconds
        self.frames = frames
        self.count = 0
        self.t0: float | None = None
        self.done = False
        self.capped = False

    def add(self, timestamp: float) -> bool:
        """Count one more frame; True once the window is complete (with this frame)."""
        self.count += 1
        if self.seconds is not None and self.count == 1:
            if math.isnan(timestamp):
                self.frames = math.ceil(self.seconds * FRAME_RATE)
                self.seconds = None
            else:
                self.t0 = timestamp
        if self.frames is not None:
            self.done = self.count >= self.frames
        else:
            self.done = timestamp - self.t0 >= self.seconds  # nan → False: time does not advance
        if not self.done and self.count >= MAX_CALIBRATION_FRAMES:
            self.done = self.capped = True
        return self.done

    def describe(self) -> str:
        return f"first {self.seconds:g} s" if self.seconds is not None else f"first {self.frames} frames"


def calibration_length(
    timestamps: np.ndarray, seconds: float | None = None, frames: int | None = None
) -> int:
    """How many first frames the calibration window takes (all of them if it never completes)."""
    window = CalibrationWindow(seconds, frames)
    for i, t in enumerate(timestamps):
        if window.add(float(t)):
            return i + 1
    return len(timestamps)


def fit_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """z-score statistics of unlabelled frames (nan-aware, as :class:`gfe.features.Standardizer`)."""
    from gfe.features import fit_stats as stats

    if len(features) == 0:
        raise GfeError("no frames to calibrate on")
    return stats(features)


def resolve_stats(
    bundle: Bundle, features: np.ndarray, timestamps: np.ndarray, norm: Normalisation
) -> tuple[np.ndarray, np.ndarray, dict]:
    """(mean, std) for a recording, and a description of where they came from."""
    if norm.calibrate:
        mean, std = fit_stats(features)
        return mean, std, {"method": "calibrated", "frames": len(features)}
    if norm.calibrates_on_start:
        k = calibration_length(timestamps, norm.calibrate_seconds, norm.calibrate_frames)
        mean, std = fit_stats(features[:k])
        window = CalibrationWindow(norm.calibrate_seconds, norm.calibrate_frames)
        return mean, std, {"method": "calibrated", "window": window.describe(), "frames": k}
    mean, std = bundle.stats(norm.signer)
    if norm.signer is not None:
        return mean, std, {"method": "training signer", "signer": norm.signer}
    return mean, std, {"method": "pooled", "signers": bundle.signers}


# ------------------------------------------------------------------------------------ segments
def find_segments(
    positive: np.ndarray,
    timestamps: np.ndarray | None = None,
    min_frames: int = 1,
    probability: np.ndarray | None = None,
) -> list[dict]:
    """Runs of True in ``positive``: start/end frame (inclusive), timestamps (None if unknown),
    duration and mean probability; runs shorter than ``min_frames`` are dropped."""
    pos = np.asarray(positive, dtype=bool)
    if min_frames < 1:
        raise GfeError(f"min_frames must be >= 1, got {min_frames}")
    edges = np.diff(np.concatenate([[0], pos.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    out = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        if e - s + 1 < min_frames:
            continue
        t0 = _num(timestamps[s]) if timestamps is not None else None
        t1 = _num(timestamps[e]) if timestamps is not None else None
        seg = {
            "start_frame": s,
            "end_frame": e,
            "frames": e - s + 1,
            "start_time": t0,
            "end_time": t1,
            "duration_s": None if t0 is None or t1 is None else t1 - t0,
        }
        if probability is not None:
            seg["mean_probability"] = float(np.mean(probability[s : e + 1]))
        out.append(seg)
    return out


def _num(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


# ----------------------------------------------------------------------------------- labelling
@dataclass
class Labelling:
    """One bundle's labels of one recording."""

    expression: str
    model: str
    bundle_path: str | None
    probability: np.ndarray  # (frames,) nan where masked
    label: np.ndarray  # (frames,) int8: 0/1, -1 where masked
    usable: np.ndarray  # (frames,) bool
    segments: list[dict]
    normalisation: dict
    threshold: float
    min_frames: int

    @property
    def n_positive(self) -> int:
        return int((self.label == 1).sum())

    def summary(self) -> dict:
        return {
            "expression": self.expression,
            "model": self.model,
            "bundle": self.bundle_path,
            "threshold": self.threshold,
            "min_frames": self.min_frames,
            "normalisation": self.normalisation,
            "masked_frames": int((self.label < 0).sum()),
            "positive_frames": self.n_positive,
            "segments": len(self.segments),
        }


def label_features(
    bundle: Bundle,
    features: np.ndarray,
    timestamps: np.ndarray,
    norm: Normalisation | None = None,
    threshold: float | None = None,
    min_frames: int = 1,
) -> Labelling:
    """Label a recording from its unscaled features (n, 118) of the bundle's spec (a bundle of one
    expression, or one head of a multi-expression bundle: :meth:`Bundle.select`)."""
    if len(bundle.expressions) != 1:
        raise GfeError(
            f"bundle {bundle.name} labels {len(bundle.expressions)} expressions: use label_all, or "
            "choose one with bundle.select(expression)"
        )
    return label_all(bundle, features, timestamps, norm, threshold, min_frames)[0]


def label_all(
    bundle: Bundle,
    features: np.ndarray,
    timestamps: np.ndarray,
    norm: Normalisation | None = None,
    threshold: float | None = None,
    min_frames: int = 1,
) -> list[Labelling]:
    """One :class:`Labelling` per expression of the bundle, from one pass of its model."""
    norm = norm or Normalisation()
    threshold = bundle.threshold if threshold is None else float(threshold)
    if not 0 < threshold < 1:
        raise GfeError(f"threshold must be between 0 and 1, got {threshold}")
    usable = usable_frames(features, bundle.spec)
    mean, std, info = resolve_stats(bundle, features, timestamps, norm)
    probs = np.full((len(features), len(bundle.expressions)), np.nan)
    with np.errstate(all="ignore"):
        x = bundle.inputs(features, usable, mean, std)
        if usable.all():
            probs[:] = bundle.probabilities(np.ascontiguousarray(x))
        elif usable.any():
            probs[usable] = bundle.probabilities(np.ascontiguousarray(x[usable]))
    probs[~np.isfinite(probs)] = np.nan  # a non-finite output (absurd inputs) is no decision
    out = []
    for expression, prob in zip(bundle.expressions, probs.T, strict=True):
        prob = np.ascontiguousarray(prob)
        label = np.where(np.isnan(prob), -1, prob >= threshold).astype(np.int8)
        out.append(
            Labelling(
                expression=expression,
                model=bundle.model,
                bundle_path=str(bundle.path) if bundle.path else None,
                probability=prob,
                label=label,
                usable=usable & ~np.isnan(prob),
                segments=find_segments(label == 1, timestamps, min_frames, prob),
                normalisation=info,
                threshold=threshold,
                min_frames=min_frames,
            )
        )
    return out


def label_recording(
    bundle: Bundle,
    timestamps: np.ndarray,
    landmarks: np.ndarray,
    norm: Normalisation | None = None,
    threshold: float | None = None,
    min_frames: int = 1,
) -> Labelling:
    """Label a recording given as timestamps (n,) and landmarks (n, 100, 3)."""
    with np.errstate(all="ignore"):  # absurd values give inf/nan features: masked, not warned about
        features = bundle.spec.compute(landmarks, bundle.feature_state)
    return label_features(bundle, features, timestamps, norm, threshold, min_frames)


def recording_report(timestamps: np.ndarray, landmarks: np.ndarray) -> dict:
    """What is unknown or odd in a recording: counted, never filled in."""
    known_t = timestamps[~np.isnan(timestamps)]
    z = landmarks[:, :, 2]
    return {
        "frames": len(landmarks),
        "unknown_xy_frames": int(np.isnan(landmarks[:, :, :2]).any(axis=(1, 2)).sum()),
        "infinite_value_frames": int(np.isinf(landmarks).any(axis=(1, 2)).sum()),
        "unknown_timestamps": int(np.isnan(timestamps).sum()),
        "timestamps_backwards": int((np.diff(known_t) < 0).sum()),
        "zero_depth_values": int((z == 0).sum()),
        "zero_depth_frames": int((z == 0).any(axis=1).sum()),
    }


# -------------------------------------------------------------------------------- a timeline
@dataclass
class Timeline:
    """Every bundle's labels of one recording (one bundle, or one per expression)."""

    recording: str
    timestamps: np.ndarray
    report: dict
    labellings: list[Labelling]
    warnings: list[str] = field(default_factory=list)
    metrics: dict | None = None

    @property
    def multi(self) -> bool:
        return len(self.labellings) > 1

    def _col(self, lab: Labelling, what: str) -> str:
        return f"{lab.expression}_{what}" if self.multi else what

    def frames_table(self) -> pd.DataFrame:
        n = len(self.timestamps)
        cols: dict = {
            "frame": np.arange(n),
            "timestamp": self.timestamps,
            "usable": np.logical_and.reduce([lab.usable for lab in self.labellings]),
        }
        for lab in self.labellings:
            cols[self._col(lab, "probability")] = lab.probability
            cols[self._col(lab, "label")] = pd.array(np.where(lab.label < 0, None, lab.label), dtype="Int8")
        return pd.DataFrame(cols)

    def segments_table(self) -> pd.DataFrame:
        rows = [{"expression": lab.expression, **s} for lab in self.labellings for s in lab.segments]
        columns = ["expression", "start_frame", "end_frame", "frames", "start_time", "end_time"]
        columns += ["duration_s", "mean_probability"]
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict:
        frames = self.frames_table()
        records = []
        for row in frames.itertuples(index=False):
            rec = {}
            for k, v in zip(frames.columns, row, strict=True):
                if k == "usable":
                    rec[k] = bool(v)
                elif v is pd.NA or v is None:
                    rec[k] = None
                elif k == "frame" or k.endswith("label") or k == "label":
                    rec[k] = int(v)
                else:
                    rec[k] = _num(v)
            records.append(rec)
        out = {
            "recording": self.recording,
            "report": self.report,
            "warnings": self.warnings,
            "labellings": [lab.summary() for lab in self.labellings],
        }
        if self.metrics is not None:
            out["metrics"] = self.metrics
        if self.multi:
            out["segments"] = {lab.expression: lab.segments for lab in self.labellings}
        else:
            out["segments"] = self.labellings[0].segments
        out["frames"] = records
        return out

    def write(self, out: str | Path, fmt: str | None = None) -> list[Path]:
        """Write JSON (one file) or CSV (frames, and segments beside it as ``*.segments.csv``),
        atomically. ``out = "-"`` writes to standard output (CSV: frames only). Returns the files
        written."""
        import sys

        from gfe.outputs import atomic_write, atomic_write_text

        fmt = fmt or output_format(out)
        if fmt == "json":
            text = json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"
            if str(out) == "-":
                sys.stdout.write(text)
                sys.stdout.flush()
                return []
            return [atomic_write_text(Path(out), text)]
        frames = self.frames_table()
        if str(out) == "-":
            frames.to_csv(sys.stdout, index=False)
            sys.stdout.flush()
            return []
        out = Path(out)
        seg_path = segments_path(out)
        atomic_write(out, lambda tmp: frames.to_csv(tmp, index=False))
        atomic_write(seg_path, lambda tmp: self.segments_table().to_csv(tmp, index=False))
        return [out, seg_path]


FORMATS = ("csv", "json")


def output_format(out: str | Path, fmt: str | None = None) -> str:
    """The format of an output: ``fmt`` when given, else from the file's suffix (.csv, .json);
    standard output (``-``) is JSON. Any other suffix needs ``--format``."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise GfeError(f"--format {fmt!r}: choose csv or json")
        return fmt
    if str(out) == "-":
        return "json"
    suffix = Path(out).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise GfeError(
            f"--out {out}: cannot tell the format from {Path(out).name!r}; name it .csv or .json, or pass --format"
        )
    return suffix


def segments_path(out: Path) -> Path:
    return out.with_name(out.stem + ".segments.csv")


@dataclass(frozen=True)
class Target:
    path: str  # a file, or "-" for standard output
    format: str


def check_output(out: str | Path | None, fmt: str | None, inputs=(), force: bool = False) -> Target:
    """Where `gfe predict` writes, checked before any work: standard output when ``out`` is None or
    ``-``; else a file (and, for CSV, its ``.segments.csv``) that is none of the ``inputs`` and is
    replaced only with ``force``."""
    from gfe.outputs import check_output_file

    out = "-" if out is None else str(out)
    fmt = output_format(out, fmt)
    if out != "-":
        check_output_file(Path(out), inputs, force)
        if fmt == "csv":
            check_output_file(segments_path(Path(out)), inputs, force)
    return Target(out, fmt)


def predict_file(
    bundles: list[Bundle],
    recording: str | Path,
    norm: Normalisation | None = None,
    threshold: float | None = None,
    min_frames: int = 1,
    targets: str | Path | None = None,
) -> Timeline:
    """Load a UCI-format datapoints file and label it with every bundle (each of one expression,
    or of several: a multi-expression bundle labels all of its expressions in one pass)."""
    from gfe.data import load_datapoints, load_targets, read_file
    from gfe.errors import DataError

    if not bundles:
        raise BundleError("no bundle given")
    recording = Path(recording)
    timestamps, landmarks = read_file(load_datapoints, recording)
    report = recording_report(timestamps, landmarks)
    warnings = []
    m = _UCI_NAME.match(recording.name)
    if m and len(bundles) == 1 and m.group(2) not in bundles[0].expressions:
        warnings.append(
            f"the file name says {m.group(2)!r} but the bundle detects {bundles[0].expression!r}: "
            "labelled anyway (pass --expression to require a match)"
        )
    features_by_spec: dict[str, np.ndarray] = {}
    labellings = []
    for b in bundles:
        key = json.dumps([b.config["feature_spec"], b.config.get("feature_state")], sort_keys=True)
        if key not in features_by_spec:
            with np.errstate(all="ignore"):
                features_by_spec[key] = b.spec.compute(landmarks, b.feature_state)
        labellings += label_all(b, features_by_spec[key], timestamps, norm, threshold, min_frames)
    report["masked_frames"] = int((~np.logical_and.reduce([lab.usable for lab in labellings])).sum())
    metrics = None
    if targets is not None:
        if len(labellings) != 1:
            raise GfeError("--targets scores one expression: give one bundle (or --expression E)")
        y = read_file(load_targets, Path(targets))
        if len(y) != len(timestamps):
            raise DataError(
                f"{targets}: {len(y)} labels but {recording.name} has {len(timestamps)} frames; "
                "each frame needs exactly one label — use the targets file of the same recording"
            )
        from gfe.metrics import binary_metrics

        lab = labellings[0]
        ok = lab.label >= 0
        metrics = {"scored_frames": int(ok.sum()), **binary_metrics(y[ok], lab.label[ok])}
    return Timeline(str(recording), timestamps, report, labellings, warnings, metrics)
