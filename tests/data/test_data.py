"""Loading the UCI layout, and one clear message for every kind of bad input."""

from __future__ import annotations

import numpy as np
import pytest

from gfe import EXPRESSIONS
from gfe.data import load_datapoints, load_dataset, load_recording, load_targets, parse_names
from gfe.data.synthetic import HEADER, format_datapoints, format_targets, make_recording
from gfe.errors import DataError


def test_real_dataset_has_18_recordings_and_27936_frames(real_recordings):
    assert len(real_recordings) == 18
    assert sum(r.n_frames for r in real_recordings) == 27_936
    assert sum(r.n_positive for r in real_recordings) == 9_877
    by_name = {r.name: r for r in real_recordings}
    assert by_name["a_affirmative"].n_frames == 1062 and by_name["a_affirmative"].n_positive == 414
    assert by_name["b_yn_question"].n_frames == 1738 and by_name["b_yn_question"].n_positive == 715


def test_reconstructed_files_unknown_values_are_counted_not_filled(real_recordings):
    by_name = {r.name: r for r in real_recordings}
    rel, cond = by_name["a_relative"], by_name["b_conditional"]
    assert rel.n_unknown_timestamps == 2330 and int(rel.unknown_frames.sum()) == 588
    assert cond.n_unknown_timestamps == 2034 and int(cond.unknown_frames.sum()) == 0
    # The 588 frames lack x, y only; their z values are known, and all are labelled 0.
    lost = rel.unknown_frames
    assert np.isnan(rel.landmarks[lost][:, :, :2]).all()
    assert not np.isnan(rel.landmarks[lost][:, :, 2]).any()
    assert rel.labels[lost].sum() == 0
    others = [r for r in real_recordings if r.name not in ("a_relative", "b_conditional")]
    assert all(r.n_unknown_timestamps == 0 and not r.unknown_frames.any() for r in others)


def test_zero_depth_is_counted_and_kept_as_zero(real_recordings):
    r = real_recordings[0]
    assert r.n_zero_depth == int((r.landmarks[:, :, 2] == 0).sum()) > 0


def test_doubt_question_both_spellings(tmp_path):
    ts, lm, y = make_recording(40, seed=1)
    (tmp_path / "a_doubt_question_datapoints.txt").write_text(format_datapoints(ts, lm))
    (tmp_path / "a_doubts_question_targets.txt").write_text(format_targets(y))
    assert load_recording(tmp_path, "a", "doubt_question").n_frames == 40
    (tmp_path / "a_doubts_question_targets.txt").rename(tmp_path / "a_doubt_question_targets.txt")
    assert load_recording(tmp_path, "a", "doubt_question").n_frames == 40


def test_crlf_lf_and_final_newline_are_all_read_the_same(tmp_path):
    ts, lm, _ = make_recording(30, seed=2)
    text = format_datapoints(ts, lm)
    variants = {"crlf": text, "lf": text.replace("\r\n", "\n"), "final": text + "\r\n"}
    loaded = []
    for name, body in variants.items():
        p = tmp_path / f"{name}.txt"
        p.write_bytes(body.encode())
        loaded.append(load_datapoints(p))
    for t, lm_ in loaded[1:]:
        np.testing.assert_array_equal(t, loaded[0][0])
        np.testing.assert_array_equal(lm_, loaded[0][1])
    np.testing.assert_allclose(loaded[0][1], lm, atol=5e-13, rtol=0)


def _write(tmp_path, name, body):
    p = tmp_path / name
    p.write_bytes(body.encode())
    return p


def _rows(n=5, seed=3):
    ts, lm, y = make_recording(n, seed=seed)
    return format_datapoints(ts, lm).split("\r\n"), y


def test_missing_file_names_the_file_and_the_fix(tmp_path):
    with pytest.raises(DataError, match=r"a_affirmative_datapoints\.txt: file not found.*gfe data download"):
        load_recording(tmp_path, "a", "affirmative")


def test_row_with_wrong_number_of_values(tmp_path):
    lines, _ = _rows()
    lines[3] = lines[3] + " 1.0"
    p = _write(tmp_path, "x_datapoints.txt", "\r\n".join(lines))
    with pytest.raises(DataError, match=r"x_datapoints\.txt, line 4: expected 301 values .* found 302"):
        load_datapoints(p)
    lines, _ = _rows()
    lines[2] = " ".join(lines[2].split()[:-5])
    p = _write(tmp_path, "y_datapoints.txt", "\r\n".join(lines))
    with pytest.raises(DataError, match=r"y_datapoints\.txt, line 3: .* found 296"):
        load_datapoints(p)


def test_non_numeric_value(tmp_path):
    lines, _ = _rows()
    tokens = lines[5].split()
    tokens[17] = "abc"
    lines[5] = " ".join(tokens)
    p = _write(tmp_path, "z_datapoints.txt", "\r\n".join(lines))
    with pytest.raises(DataError, match=r"z_datapoints\.txt, line 6: value 'abc' is not a number"):
        load_datapoints(p)


def test_nan_is_read_as_unknown_not_an_error(tmp_path):
    lines, _ = _rows()
    tokens = lines[1].split()
    tokens[0] = tokens[1] = "nan"
    lines[1] = " ".join(tokens)
    ts, lm = load_datapoints(_write(tmp_path, "n_datapoints.txt", "\r\n".join(lines)))
    assert np.isnan(ts[0]) and np.isnan(lm[0, 0, 0]) and not np.isnan(lm[1:]).any()


def test_empty_or_header_only_file(tmp_path):
    with pytest.raises(DataError, match="no frames"):
        load_datapoints(_write(tmp_path, "h_datapoints.txt", HEADER + "\r\n"))


def test_labels_not_0_or_1(tmp_path):
    p = _write(tmp_path, "t.txt", "0\r\n1\r\n2\r\n0")
    with pytest.raises(DataError, match=r"t\.txt, line 3: label '2' is not 0 or 1"):
        load_targets(p)


def test_label_count_differs_from_frame_count(tmp_path):
    ts, lm, y = make_recording(30, seed=4)
    _write(tmp_path, "a_topics_datapoints.txt", format_datapoints(ts, lm))
    _write(tmp_path, "a_topics_targets.txt", format_targets(y[:-2]))
    with pytest.raises(
        DataError, match=r"a_topics_targets\.txt: 28 labels but a_topics_datapoints\.txt has 30 frames"
    ):
        load_recording(tmp_path, "a", "topics")


def test_unknown_expression_and_signer(synthetic_data):
    with pytest.raises(DataError, match="unknown expression 'happy'; choose one of: affirmative"):
        load_recording(synthetic_data, "a", "happy")
    with pytest.raises(DataError, match="unknown signer 'c'"):
        load_recording(synthetic_data, "c", "topics")
    with pytest.raises(DataError, match="unknown expression 'sad'"):
        parse_names("topics,sad", EXPRESSIONS, "expression")


def test_missing_data_folder(tmp_path):
    with pytest.raises(DataError, match=r"data folder not found; pass --data-dir, set GFE_DATA_DIR"):
        load_dataset(tmp_path / "nowhere")


def test_synthetic_dataset_round_trips(synthetic_data):
    recs = load_dataset(synthetic_data)
    assert len(recs) == 18 and all(r.labels is not None and r.n_positive > 0 for r in recs)
