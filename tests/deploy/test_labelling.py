"""Offline labelling: per-frame probabilities and labels, segments, masks, `gfe predict`."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gfe.cli import app
from gfe.data import load_datapoints
from gfe.data.synthetic import format_datapoints, format_targets, make_recording
from gfe.deploy.labelling import (
    Normalisation,
    calibration_length,
    find_segments,
    label_recording,
    predict_file,
)
from gfe.deploy.training import train_bundle
from gfe.errors import GfeError

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def bundles(synthetic_data_session, tmp_path_factory):
    """A seq-lstm bundle for negative, and a folder with an mlp for negative and a paper-lstm
    for topics (a small multi-label set)."""
    root = tmp_path_factory.mktemp("bundles")
    data = synthetic_data_session
    seq = train_bundle(data, "negative", "seq-lstm", params={"hidden": 12, "max_epochs": 2})
    seq.save(root / "seq")
    train_bundle(data, "negative", "mlp", params={"epochs": 3}).save(root / "all" / "negative")
    train_bundle(data, "topics", "paper-lstm", params={"epochs": 3}).save(root / "all" / "topics")
    return root


@pytest.fixture(scope="module")
def odd_recording(tmp_path_factory):
    """A recording with unknown x/y (frames 30–33), a frame of lost depth (60), a timestamp going
    backwards (80) and unknown timestamps (90–99); with its labels."""
    ts, lm, y = make_recording(140, seed=11)
    lm[30:34, 17, 0] = np.nan
    lm[60, :, 2] = 0.0
    ts[80] = ts[79] - 0.5
    ts[90:100] = np.nan
    folder = tmp_path_factory.mktemp("rec")
    path = folder / "c_negative_datapoints.txt"
    path.write_bytes(format_datapoints(ts, lm).encode())
    (folder / "c_negative_targets.txt").write_bytes(format_targets(y).encode())
    return path


def test_segments_are_runs_of_positive_frames():
    pos = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 1], dtype=bool)
    ts = np.array([0.0, 0.1, 0.2, 0.3, np.nan, 0.5, 0.6, 0.7, 0.8, np.nan])
    segs = find_segments(pos, ts)
    assert [(s["start_frame"], s["end_frame"], s["frames"]) for s in segs] == [
        (1, 2, 2),
        (4, 4, 1),
        (7, 9, 3),
    ]
    assert segs[0]["start_time"] == 0.1 and segs[0]["end_time"] == 0.2
    assert segs[0]["duration_s"] == pytest.approx(0.1)
    assert segs[1]["start_time"] is None and segs[2]["end_time"] is None and segs[2]["duration_s"] is None
    assert [s["start_frame"] for s in find_segments(pos, ts, min_frames=2)] == [1, 7]
    assert find_segments(pos, ts, min_frames=4) == []
    assert find_segments(np.ones(3, bool))[0]["end_frame"] == 2  # a run to the very end
    with pytest.raises(GfeError, match="min_frames must be >= 1"):
        find_segments(pos, min_frames=0)


def test_calibration_window():
    ts = np.arange(100) * 0.1
    assert calibration_length(ts, seconds=1.0) == 11  # frames 0..10: the 11th is 1 s after the first
    assert calibration_length(ts, frames=7) == 7
    assert calibration_length(ts, seconds=100.0) == 100  # never complete: all frames
    nan = np.full(100, np.nan)
    assert calibration_length(nan, seconds=1.0) == 30  # no timestamps: 30 frames per second


def test_unknown_frames_are_masked_counted_and_never_in_a_segment(bundles, odd_recording):
    from gfe.deploy.bundle import load_bundle

    ts, lm = load_datapoints(odd_recording)
    b = load_bundle(bundles / "seq")
    lab = label_recording(b, ts, lm, threshold=0.01)  # nearly every usable frame is positive
    assert np.isnan(lab.probability[30:34]).all() and (lab.label[30:34] == -1).all()
    assert not lab.usable[30:34].any() and lab.usable.sum() == 136
    assert np.isfinite(lab.probability[lab.usable]).all()
    assert not any(s["start_frame"] <= 31 <= s["end_frame"] for s in lab.segments)
    assert any(s["end_frame"] == 29 for s in lab.segments) and any(
        s["start_frame"] == 34 for s in lab.segments
    )
    # the model's state is not advanced through masked frames: labelling only the usable frames
    # gives the same probabilities
    keep = lab.usable
    alone = label_recording(b, ts[keep], lm[keep], threshold=0.01)
    # …except the delta input of frame 34 (0 after a masked frame, a real difference here)
    assert np.array_equal(alone.probability[:30], lab.probability[:30])


def test_predict_csv_json_and_report(bundles, odd_recording, tmp_path):
    res = invoke("predict", bundles / "seq", odd_recording, "--out", tmp_path / "neg.csv", "--min-frames", 2)
    assert res.exit_code == 0, res.output
    assert (
        "140 frames; masked (unknown features) 4; unknown timestamps 10; timestamps going backwards 1"
        in res.output
    )
    assert "zero-depth values" in res.output
    frames = pd.read_csv(tmp_path / "neg.csv")
    assert list(frames.columns) == ["frame", "timestamp", "usable", "probability", "label"]
    assert (
        len(frames) == 140 and frames["probability"].isna().sum() == 4 and frames["label"].isna().sum() == 4
    )
    assert frames["timestamp"].isna().sum() == 10
    segs = pd.read_csv(tmp_path / "neg.segments.csv")
    assert list(segs.columns)[:4] == ["expression", "start_frame", "end_frame", "frames"]
    assert (segs["frames"] >= 2).all()

    res = invoke("predict", bundles / "seq", odd_recording, "--out", tmp_path / "neg.json")
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "neg.json").read_text())
    assert doc["report"]["unknown_xy_frames"] == 4 and doc["report"]["zero_depth_frames"] >= 1
    assert doc["report"]["masked_frames"] == 4 and doc["report"]["timestamps_backwards"] == 1
    assert doc["frames"][31] == {"frame": 31, "timestamp": doc["frames"][31]["timestamp"], "usable": False,
                                 "probability": None, "label": None}  # fmt: skip
    assert doc["frames"][95]["timestamp"] is None and doc["frames"][95]["probability"] is not None
    assert doc["labellings"][0]["normalisation"]["method"] == "pooled"
    p = np.array([f["probability"] if f["probability"] is not None else np.nan for f in doc["frames"]])
    assert np.allclose(p, frames["probability"], equal_nan=True, atol=0, rtol=0)  # CSV keeps full precision
    # a file name for another expression than the bundle's is labelled, with a warning
    other = tmp_path / "c_topics_datapoints.txt"
    other.write_bytes(odd_recording.read_bytes())
    res = invoke("predict", bundles / "seq", other)
    assert res.exit_code == 0 and "warning:" in res.output and "the file name says 'topics'" in res.output


def test_predict_to_standard_output(bundles, odd_recording):
    res = invoke("predict", bundles / "seq", odd_recording, "--out", "-")
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert len(doc["frames"]) == 140 and isinstance(doc["segments"], list)
    res = invoke("predict", bundles / "seq", odd_recording, "--out", "-", "--format", "csv")
    assert res.stdout.splitlines()[0] == "frame,timestamp,usable,probability,label"


def test_predict_without_out_prints_json_and_says_where_the_frames_went(bundles, odd_recording):
    res = invoke("predict", bundles / "seq", odd_recording)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)  # standard output holds the JSON document and nothing else
    assert len(doc["frames"]) == 140 and doc["labellings"][0]["expression"] == "negative"
    assert "wrote the frames to standard output" in res.stderr and "--out FILE.csv" in res.stderr
    assert "140 frames" in res.stderr and "140 frames" not in res.stdout


def test_the_output_format_comes_from_the_suffix_or_format(bundles, odd_recording, tmp_path):
    res = invoke("predict", bundles / "seq", odd_recording, "--out", tmp_path / "x.txt")
    assert res.exit_code == 2 and "cannot tell the format from 'x.txt'" in res.output
    assert "--format" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.txt").exists()  # refused before any work
    res = invoke("predict", bundles / "seq", odd_recording, "--out", tmp_path / "x.txt", "--format", "csv")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "x.txt").read_text().splitlines()[0] == "frame,timestamp,usable,probability,label"
    assert (tmp_path / "x.segments.csv").is_file()
    res = invoke("predict", bundles / "seq", odd_recording, "--out", tmp_path / "y.data", "--format", "json")
    assert res.exit_code == 0 and json.loads((tmp_path / "y.data").read_text())["frames"]
    res = invoke("predict", bundles / "seq", odd_recording, "--format", "xml")
    assert res.exit_code == 2 and "--format 'xml': choose csv or json" in res.output


def test_a_folder_of_bundles_gives_a_multi_label_timeline(bundles, odd_recording, tmp_path):
    res = invoke("predict", bundles / "all", odd_recording, "--out", tmp_path / "t.csv")
    assert res.exit_code == 0, res.output
    frames = pd.read_csv(tmp_path / "t.csv")
    assert list(frames.columns) == [
        "frame", "timestamp", "usable", "negative_probability", "negative_label", "topics_probability", "topics_label",
    ]  # fmt: skip
    res = invoke("predict", bundles / "all", odd_recording, "--out", tmp_path / "t.json")
    doc = json.loads((tmp_path / "t.json").read_text())
    assert set(doc["segments"]) == {"negative", "topics"}
    assert [lab["model"] for lab in doc["labellings"]] == ["mlp", "paper-lstm"]
    assert doc["warnings"] == []  # no file-name warning for a multi-label timeline
    # --expression picks one bundle of the folder
    res = invoke(
        "predict", bundles / "all", odd_recording, "--expression", "topics", "--out", tmp_path / "o.csv"
    )
    assert list(pd.read_csv(tmp_path / "o.csv").columns)[-2:] == ["probability", "label"]


def test_targets_are_scored_and_must_have_one_label_per_frame(bundles, odd_recording, tmp_path):
    targets = odd_recording.with_name("c_negative_targets.txt")
    res = invoke(
        "predict", bundles / "seq", odd_recording, "--targets", targets, "--out", tmp_path / "o.json"
    )
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "o.json").read_text())["metrics"]
    assert m["scored_frames"] == 136 and m["tp"] + m["fp"] + m["tn"] + m["fn"] == 136
    assert "against the targets (136 frames): F1" in res.output
    short = tmp_path / "short_targets.txt"
    short.write_text("\n".join(["0"] * 139))
    res = invoke("predict", bundles / "seq", odd_recording, "--targets", short)
    assert res.exit_code == 2
    assert (
        "139 labels but c_negative_datapoints.txt has 140 frames" in res.output
        and "Traceback" not in res.output
    )
    res = invoke("predict", bundles / "all", odd_recording, "--targets", targets)
    assert res.exit_code == 2 and "--targets scores one expression" in res.output


def test_bad_recordings_are_one_clear_error(bundles, odd_recording, tmp_path):
    lines = odd_recording.read_text().splitlines()
    bad = tmp_path / "bad_datapoints.txt"
    bad.write_text("\n".join([*lines[:5], " ".join(lines[5].split()[:100]), *lines[6:]]))
    res = invoke("predict", bundles / "seq", bad)
    assert res.exit_code == 2 and "line 6: expected 301 values" in res.output and "found 100" in res.output
    bad.write_text("\n".join([*lines[:5], lines[5].replace(lines[5].split()[7], "oops", 1), *lines[6:]]))
    res = invoke("predict", bundles / "seq", bad)
    assert res.exit_code == 2 and "value 'oops' is not a number" in res.output
    res = invoke("predict", bundles / "seq", tmp_path / "missing.txt")
    assert res.exit_code == 2 and "file not found" in res.output


def test_normalisation_choices(bundles, odd_recording):
    from gfe.deploy.bundle import load_bundle

    b = load_bundle(bundles / "seq")
    ts, lm = load_datapoints(odd_recording)
    pooled = label_recording(b, ts, lm)
    signer_a = label_recording(b, ts, lm, Normalisation(signer="a"))
    calibrated = label_recording(b, ts, lm, Normalisation(calibrate=True))
    first = label_recording(b, ts, lm, Normalisation(calibrate_frames=50))
    assert signer_a.normalisation == {"method": "training signer", "signer": "a"}
    assert calibrated.normalisation == {"method": "calibrated", "frames": 140}
    assert first.normalisation["frames"] == 50
    for other in (signer_a, calibrated, first):
        assert not np.allclose(pooled.probability[pooled.usable], other.probability[pooled.usable])
    with pytest.raises(GfeError, match="no statistics for signer 'c'"):
        label_recording(b, ts, lm, Normalisation(signer="c"))
    with pytest.raises(GfeError, match="choose one normalisation"):
        Normalisation(signer="a", calibrate=True)
    res = invoke("predict", bundles / "seq", odd_recording, "--calibrate", "--calibrate-seconds", "2")
    assert res.exit_code == 2 and "choose one normalisation" in res.output
    res = invoke("predict", bundles / "seq", odd_recording, "--calibrate-seconds", "1")
    assert res.exit_code == 0 and "calibrated on the recording's first 1 s (32 frames)" in res.output


def test_the_real_recording_with_unknown_values(real_data, tmp_path):
    """a_relative: 588 frames of unknown x/y and no timestamps in the project's copy."""
    b = train_bundle(real_data, "relative", "paper-lstm", params={"epochs": 2})
    rec = b.config["training"]["recordings"][0]
    assert rec["recording"] == "a_relative" and rec["unknown_frames"] == 588
    assert rec["train_frames"] == rec["frames"] - 588
    tl = predict_file([b], real_data / "a_relative_datapoints.txt")
    assert tl.report["frames"] == 2330 and tl.report["unknown_timestamps"] == 2330
    assert tl.report["unknown_xy_frames"] == 588 and tl.report["masked_frames"] == 588
    lab = tl.labellings[0]
    assert np.isnan(lab.probability).sum() == 588 and (lab.label == -1).sum() == 588
    assert all(s["start_time"] is None for s in lab.segments)
    doc = tl.to_dict()
    json.dumps(doc, allow_nan=False)  # valid JSON: nan → null
    assert sum(f["probability"] is None for f in doc["frames"]) == 588
    assert not math.isnan(tl.to_dict()["labellings"][0]["threshold"])
