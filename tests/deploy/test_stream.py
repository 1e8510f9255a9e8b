"""Real time: the Detector, `gfe stream`, bad input, calibration, and streamed == offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gfe.cli import app
from gfe.data import load_datapoints
from gfe.data.synthetic import HEADER, format_datapoints, make_recording
from gfe.deploy.bundle import BundleError, load_bundle
from gfe.deploy.labelling import Normalisation, label_recording
from gfe.deploy.stream import Detector, parse_line, read_lines
from gfe.deploy.training import train_bundle
from gfe.errors import GfeError
from gfe.features import CLEAN, PAPER, FrameFeatures, compute_features

runner = CliRunner()
MODELS = {
    "seq-lstm": {"hidden": 12, "max_epochs": 2},
    "paper-lstm": {"epochs": 3},
    "mlp": {"epochs": 3},
    "gru": {"hidden": 8, "max_epochs": 1},
}


def invoke(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


@pytest.fixture(scope="module")
def bundle_dir(synthetic_data_session, tmp_path_factory):
    root = tmp_path_factory.mktemp("bundles")
    for model, params in MODELS.items():
        train_bundle(synthetic_data_session, "negative", model, params=params).save(root / model)
    return root


@pytest.fixture(scope="module")
def odd():
    """timestamps, landmarks: unknown x/y (frames 30–33 and 70), lost depth, a timestamp going
    backwards, unknown timestamps."""
    ts, lm, _ = make_recording(160, seed=21)
    lm[30:34, 17, 0] = np.nan
    lm[70, 89, 1] = np.nan
    lm[60, :, 2] = 0.0
    ts[80] = ts[79] - 0.5
    ts[90:100] = np.nan
    return ts, lm


def lines_of(ts, lm) -> list[str]:
    return format_datapoints(ts, lm).split("\r\n")


def streamed(det: Detector, ts, lm) -> np.ndarray:
    out = np.full(len(ts), np.nan)
    for i, (t, frame) in enumerate(zip(ts, lm, strict=True)):
        p = det.update(frame, t)
        out[i] = np.nan if p is None else p
    return out


def records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


# ------------------------------------------------------------------------ streamed == offline
@pytest.mark.parametrize("model", list(MODELS))
def test_streamed_outputs_equal_offline_outputs(bundle_dir, odd, model):
    b = load_bundle(bundle_dir / model)
    ts, lm = odd
    offline = label_recording(b, ts, lm).probability
    det = Detector.from_bundle(bundle_dir / model)
    online = streamed(det, ts, lm)
    assert np.array_equal(np.isnan(online), np.isnan(offline))
    assert np.isnan(online).sum() == 5
    assert np.nanmax(np.abs(online - offline)) <= 1e-6
    det.reset()  # a new recording: the same outputs again
    again = streamed(det, ts, lm)
    assert np.array_equal(again, online, equal_nan=True)


def test_streamed_equals_offline_on_the_real_recording(real_data, tmp_path):
    """a_relative of the real data: 588 frames of unknown x/y, no timestamps."""
    b = train_bundle(real_data, "relative", "seq-lstm", params={"hidden": 16, "max_epochs": 1})
    ts, lm = load_datapoints(real_data / "a_relative_datapoints.txt")
    offline = label_recording(b, ts, lm).probability
    online = streamed(Detector(b), ts, lm)
    assert np.isnan(offline).sum() == 588
    assert np.array_equal(np.isnan(online), np.isnan(offline))
    assert np.nanmax(np.abs(online - offline)) <= 1e-6


def test_the_cli_stream_equals_gfe_predict(bundle_dir, odd, tmp_path):
    ts, lm = odd
    path = tmp_path / "rec_datapoints.txt"
    path.write_text("\r\n".join(lines_of(ts, lm)))
    res = invoke("predict", bundle_dir / "seq-lstm", path, "--out", tmp_path / "o.json")
    offline = [f["probability"] for f in json.loads((tmp_path / "o.json").read_text())["frames"]]
    res = invoke("stream", bundle_dir / "seq-lstm", path)
    assert res.exit_code == 0, res.output
    recs = records(res.stdout)
    assert [r["frame"] for r in recs] == list(range(160))
    online = [r["probability"] for r in recs]
    assert [p is None for p in online] == [p is None for p in offline]
    assert max(abs(a - b) for a, b in zip(online, offline, strict=True) if a is not None) <= 1e-6
    assert all(r["latency_us"] > 0 for r in recs)


def test_single_frame_features_equal_the_vectorised_ones(odd):
    _, lm = odd
    lm = lm.copy()
    lm[5, 2, :2] = 0.0  # zero coordinates: the paper spec fills them
    for spec in (CLEAN, PAPER):
        ff = FrameFeatures(spec)
        whole = compute_features(lm, spec)
        for i in range(len(lm)):
            assert np.array_equal(ff(lm[i].reshape(300)), whole[i], equal_nan=True)


# -------------------------------------------------------------------------------- bad input
def test_bad_lines_have_defined_behaviour(bundle_dir, odd):
    ts, lm = odd
    good = lines_of(ts[:6], lm[:6])  # header + 6 frames
    bad_bytes = b"\xff\xfe not utf-8"
    text = "\r\n".join(
        [
            good[0],  # header: skipped
            good[1],
            "",  # empty line: skipped
            "   ",
            " ".join(good[2].split()[:300]),  # too few values
            good[2] + " 1.0",  # too many
            "hello world",  # text
            good[2].replace(good[2].split()[5], "abc", 1),  # one value is text
            good[2],
            good[3] + "\r",  # a stray carriage return
            good[4],
        ]
    ).encode()
    text = text.replace(b"hello world", bad_bytes + b"\r\nhello world")
    res = invoke("stream", bundle_dir / "seq-lstm", input=text)
    assert res.exit_code == 0, res.output
    recs = records(res.stdout)
    errors = [r for r in recs if "error" in r]
    decisions = [r for r in recs if "frame" in r]
    assert [r["frame"] for r in decisions] == [0, 1, 2, 3]  # bad lines are not frames
    assert [r["line"] for r in decisions] == [2, 10, 11, 12]
    assert [r["line"] for r in errors] == [5, 6, 7, 8, 9]
    assert "expected 301 values" in errors[0]["error"] and "found 300" in errors[0]["error"]
    assert "found 302" in errors[1]["error"]
    assert "not UTF-8 text" in errors[2]["error"]
    assert "found 2" in errors[3]["error"]
    assert "value 'abc' is not a number" in errors[4]["error"]
    assert "5 bad lines" in res.stderr


def test_unknown_values_zero_depth_and_time_going_backwards(bundle_dir, odd):
    ts, lm = odd
    res = invoke("stream", bundle_dir / "seq-lstm", input="\n".join(lines_of(ts, lm)))
    recs = {r["frame"]: r for r in records(res.stdout)}
    assert recs[31]["probability"] is None and recs[31]["label"] is None
    assert recs[31]["reason"] == "unknown_features"
    assert recs[60]["zero_depth"] == 100 and recs[60]["probability"] is not None
    assert recs[80]["timestamp_backwards"] is True and "timestamp_backwards" not in recs[81]
    assert recs[95]["timestamp"] is None and recs[95]["probability"] is not None
    assert "timestamp_backwards" not in recs[100]  # compared with the last known timestamp


def test_a_bad_line_is_a_lost_frame(bundle_dir, odd):
    """After a bad line the state is not advanced and the next delta is 0 — exactly as after a
    frame of unknown features."""
    ts, lm = odd
    ts, lm = ts[:40].copy(), lm[:40].copy()
    lines = lines_of(ts, lm)
    with_bad = [*lines[:12], "not a frame", *lines[12:]]
    lm_nan = np.insert(lm, 11, np.nan, axis=0)
    ts_nan = np.insert(ts, 11, np.nan)
    with_masked = lines_of(ts_nan, lm_nan)
    a = [
        r
        for r in records(invoke("stream", bundle_dir / "seq-lstm", input="\n".join(with_bad)).stdout)
        if "frame" in r
    ]
    b = [
        r
        for r in records(invoke("stream", bundle_dir / "seq-lstm", input="\n".join(with_masked)).stdout)
        if "frame" in r
    ]
    b = [r for r in b if r["frame"] != 11]
    assert [r["probability"] for r in a] == [r["probability"] for r in b]


def test_a_bundle_for_another_expression_or_an_offline_model(bundle_dir, synthetic_data_session, tmp_path):
    res = invoke("stream", bundle_dir / "seq-lstm", "--expression", "topics", input="")
    assert res.exit_code == 2 and "detects 'negative', not 'topics'" in res.output
    train_bundle(synthetic_data_session, "negative", "bilstm", params={"hidden": 4, "max_epochs": 1}).save(
        tmp_path / "bi"
    )
    with pytest.raises(BundleError, match="not causal"):
        Detector.from_bundle(tmp_path / "bi")
    res = invoke("stream", tmp_path / "bi", input="")
    assert res.exit_code == 2 and "cannot stream; use `gfe predict`" in res.output
    with pytest.raises(GfeError, match="needs the whole recording"):
        Detector(load_bundle(bundle_dir / "mlp"), Normalisation(calibrate=True))


def test_detector_api_frames(bundle_dir, odd):
    ts, lm = odd
    det = Detector.from_bundle(bundle_dir / "mlp")
    a = det.update(lm[0], ts[0])
    det.reset()
    b = det.update(lm[0].reshape(300), ts[0])
    det.reset()
    c = det.update(np.r_[ts[0], lm[0].reshape(300)])
    assert a == b == c and 0 <= a <= 1
    with pytest.raises(GfeError, match="a frame is"):
        det.update(np.zeros(12))
    with pytest.raises(GfeError, match="do not pass timestamp too"):
        det.update(np.zeros(301), 1.0)
    d = det.process(lm[1], ts[1])[0]
    assert (
        d.frame == 1 and d.label == int(d.probability >= 0.5) and d.latency_us > 0
    )  # refused frames do not count


# ------------------------------------------------------------------------------- calibration
def test_calibration_buffers_then_replays_and_equals_offline(bundle_dir, odd):
    ts, lm = odd
    b = load_bundle(bundle_dir / "seq-lstm")
    offline = label_recording(b, ts, lm, Normalisation(calibrate_frames=40)).probability
    det = Detector(b, Normalisation(calibrate_frames=40))
    got = {}
    for i in range(len(ts)):
        decisions = det.process(lm[i], ts[i])
        if i < 39:
            assert decisions == [] and det.calibrating
        elif i == 39:
            assert [d.frame for d in decisions] == list(range(40)) and all(d.replayed for d in decisions)
        else:
            assert len(decisions) == 1 and not decisions[0].replayed
        got.update({d.frame: d.probability for d in decisions})
    online = np.array([np.nan if got[i] is None else got[i] for i in range(len(ts))])
    assert np.array_equal(np.isnan(online), np.isnan(offline))
    assert np.nanmax(np.abs(online - offline)) <= 1e-6
    # uncalibrated, the outputs differ
    assert not np.allclose(np.nan_to_num(online), np.nan_to_num(label_recording(b, ts, lm).probability))


def test_stream_calibration_by_seconds_in_the_cli(bundle_dir, odd, tmp_path):
    ts, lm = odd
    path = tmp_path / "r_datapoints.txt"
    path.write_text("\n".join(lines_of(ts, lm)))
    res = invoke("stream", bundle_dir / "paper-lstm", path, "--calibrate-seconds", "1")
    recs = records(res.stdout)
    assert recs[0] == {"event": "calibrating", "window": "first 1 s"}
    assert recs[1] == {"event": "calibrated", "window": "first 1 s", "frames": 32, "complete": True}
    assert all(r.get("replayed") for r in recs[2:34]) and "replayed" not in recs[34]
    res2 = invoke(
        "predict", bundle_dir / "paper-lstm", path, "--calibrate-seconds", "1", "--out", tmp_path / "o.json"
    )
    assert res2.exit_code == 0
    offline = [f["probability"] for f in json.loads((tmp_path / "o.json").read_text())["frames"]]
    online = [r["probability"] for r in recs[2:]]
    assert max(abs(a - b) for a, b in zip(online, offline, strict=True) if a is not None) <= 1e-6
    # a stream that ends during the window is calibrated on what it has
    res = invoke(
        "stream",
        bundle_dir / "paper-lstm",
        "--calibrate-seconds",
        "60",
        input="\n".join(lines_of(ts[:10], lm[:10])),
    )
    recs = records(res.stdout)
    assert recs[1] == {"event": "calibrated", "window": "first 60 s", "frames": 10, "complete": False}
    assert len(recs) == 12
    # without timestamps, seconds become frames at 30 per second
    nan_ts = np.full(len(ts), np.nan)
    res = invoke(
        "stream",
        bundle_dir / "paper-lstm",
        "--calibrate-seconds",
        "0.5",
        input="\n".join(lines_of(nan_ts, lm)),
    )
    assert records(res.stdout)[1]["frames"] == 15


# -------------------------------------------------------------------------------- sources
def test_follow_a_file_that_is_still_being_written(tmp_path, odd):
    ts, lm = odd
    lines = lines_of(ts[:20], lm[:20])
    path = tmp_path / "live_datapoints.txt"
    path.write_text("")

    def writer():
        with open(path, "a", newline="") as f:
            for i, line in enumerate(lines):
                f.write(line + ("\r\n" if i < len(lines) - 1 else ""))  # the last line has no line end
                f.flush()
                time.sleep(0.005)

    th = threading.Thread(target=writer)
    th.start()
    got = list(read_lines(path, follow=True, idle_exit=0.4, poll=0.01))
    th.join()
    assert len(got) == 21 and got[-1] == lines[-1].encode() and got[0].endswith(b"\r\n")


def test_gfe_stream_reads_a_real_pipe(bundle_dir, odd):
    ts, lm = odd
    text = "\r\n".join(lines_of(ts[:30], lm[:30]))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "gfe.cli", "stream", str(bundle_dir / "seq-lstm")],
        input=text.encode(), capture_output=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    recs = records(proc.stdout.decode())
    assert [r["frame"] for r in recs] == list(range(30))
    assert "30 frames, 30 decisions, 0 bad lines" in proc.stderr.decode()


# ----------------------------------------------------------------------------------- fuzzing
_token = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "0", "0x", "1e999", "-0", "1_0", "", "١٢", "\x00", "--1"]),
    st.text(max_size=6),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=400), st.binary(max_size=400)))
def test_fuzz_the_line_parser_with_anything(text):
    parsed = parse_line(text)
    assert parsed.kind in ("frame", "header", "blank", "error")
    if parsed.kind == "frame":
        assert parsed.values.shape == (301,)
    if parsed.kind == "error":
        assert parsed.error


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_token, min_size=299, max_size=303), st.sampled_from(["\n", "\r\n", "", "\r"]))
def test_fuzz_near_frames_through_the_detector(tokens, end):
    det = _fuzz_detector()
    out = det.process_line(" ".join(tokens) + end, line=1)
    json.dumps(out, allow_nan=False)  # always valid JSON
    assert len(out) <= 1
    if out and "frame" in out[0]:
        p = out[0]["probability"]
        assert p is None or 0.0 <= p <= 1.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=301, max_size=301))
def test_fuzz_frame_values_through_the_detector(values):
    det = _fuzz_detector()
    for d in det.process(np.array(values)):
        assert d.probability is None or 0.0 <= d.probability <= 1.0
        json.dumps(d.to_dict(), allow_nan=False)


_FUZZ: dict = {}


def _fuzz_detector() -> Detector:
    """One small detector for the fuzz tests (hypothesis forbids function-scoped fixtures)."""
    if "det" not in _FUZZ:
        import tempfile

        from gfe.data.synthetic import write_dataset

        folder = write_dataset(tempfile.mkdtemp(prefix="gfe-fuzz-"), n_frames=60, expressions=("negative",))
        b = train_bundle(folder, "negative", "seq-lstm", params={"hidden": 4, "max_epochs": 1})
        _FUZZ["det"] = Detector(b)
    return _FUZZ["det"]


def test_the_header_line_is_recognised():
    assert parse_line(HEADER).kind == "header"
    assert parse_line("\r\n").kind == "blank"
