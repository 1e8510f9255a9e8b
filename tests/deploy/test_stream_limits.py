"""Resource caps of `gfe stream`: a line of any length costs bounded memory (and is one error
record), and a calibration window never buffers without bound — offline labelling agrees (issue #14)."""

from __future__ import annotations

import io
import json
import sys
import tracemalloc

import numpy as np
import pytest

from gfe.data.synthetic import format_datapoints, make_recording
from gfe.deploy import labelling
from gfe.deploy.labelling import Normalisation, label_recording
from gfe.deploy.stream import MAX_LINE_BYTES, Detector, OverlongLine, read_lines, run_stream
from gfe.deploy.training import train_bundle


@pytest.fixture(scope="module")
def bundle(synthetic_data_session):
    return train_bundle(synthetic_data_session, "negative", "seq-lstm", params={"hidden": 6, "max_epochs": 1})


@pytest.fixture(scope="module")
def lines():
    ts, lm, _ = make_recording(30, seed=8)
    return format_datapoints(ts, lm).split("\r\n")  # header + 30 frame lines


def _with_a_huge_line(lines, size: int) -> bytes:
    huge = b"1.5 " * (size // 4)
    return ("\r\n".join(lines[:11]) + "\r\n").encode() + huge + b"\r\n" + "\r\n".join(lines[11:]).encode()


@pytest.mark.parametrize("how", ["file", "follow", "stdin"])
def test_a_huge_line_is_read_in_bounded_memory(how, lines, tmp_path, monkeypatch):
    data = _with_a_huge_line(lines, 30 << 20)  # 30 MB in one line
    path = tmp_path / "rec.txt"
    path.write_bytes(data)
    if how == "stdin":
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.FileIO(str(path)))))
    source = "-" if how == "stdin" else path
    tracemalloc.start()
    try:
        got = [
            len(x) if isinstance(x, bytes) else x
            for x in read_lines(source, follow=how == "follow", idle_exit=0.2)
        ]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_LINE_BYTES + (1 << 20), f"peak {peak:,} bytes"
    assert len(got) == 32 and isinstance(got[11], OverlongLine) and got[11].length >= (30 << 20)


def test_a_huge_line_is_one_error_record_and_a_lost_frame(bundle, lines, tmp_path):
    path = tmp_path / "rec.txt"
    path.write_bytes(_with_a_huge_line(lines, 1 << 20))
    out = io.StringIO()
    summary = run_stream(Detector(bundle), read_lines(path), out)
    recs = [json.loads(x) for x in out.getvalue().splitlines()]
    errors = [r for r in recs if "error" in r]
    assert len(errors) == 1 and errors[0]["line"] == 12 and "longer than any frame line" in errors[0]["error"]
    assert summary["bad_lines"] == 1 and summary["frames"] == 30 and summary["decisions"] == 30

    # exactly as a short bad line in its place: a lost frame (gap), the state not advanced
    short = tmp_path / "short.txt"
    short.write_bytes(_with_a_huge_line(lines, 8))
    out2 = io.StringIO()
    run_stream(Detector(bundle), read_lines(short), out2)
    probs = [r.get("probability") for r in recs if "frame" in r]
    probs2 = [r.get("probability") for r in map(json.loads, out2.getvalue().splitlines()) if "frame" in r]
    assert probs == probs2


def test_a_calibration_window_is_capped_and_offline_labelling_agrees(bundle, monkeypatch):
    """Timestamps that never advance: --calibrate-seconds would wait for ever. The window stops
    at the cap (patched small here; 18 000 frames, 10 minutes at 30 fps, in use)."""
    monkeypatch.setattr(labelling, "MAX_CALIBRATION_FRAMES", 25)
    ts, lm, _ = make_recording(60, seed=9)
    ts[:] = ts[0]  # time stands still
    det = Detector(bundle, Normalisation(calibrate_seconds=2.0))
    probs = []
    for t, frame in zip(ts, lm, strict=True):
        decisions = det.process(frame, t)
        probs += [d.probability for d in decisions]
        if det.calibration is not None and len(probs) == 25:
            event = det.pop_events()[-1]
    assert event["event"] == "calibrated" and event["frames"] == 25 and event["complete"] is False
    assert "stopped at" in event["note"]
    offline = label_recording(bundle, ts, lm, Normalisation(calibrate_seconds=2.0))
    assert offline.normalisation["frames"] == 25
    assert np.allclose(np.array(probs, dtype=float), offline.probability, atol=1e-6, equal_nan=True)


def test_the_caps_themselves():
    assert labelling.MAX_CALIBRATION_FRAMES == 18_000 and labelling.MAX_CALIBRATION_SECONDS == 600
    assert 10 * len(" ".join(["-1234.567"] * 301)) <= MAX_LINE_BYTES  # far longer than any frame line
