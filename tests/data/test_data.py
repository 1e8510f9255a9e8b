"""Loading the UCI layout, and one clear message for every kind of bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# ------------------------------------------------------------ one rule, offline and streamed alike
def _with_value(token: str, sep: str = " ") -> str:
    tokens = _rows(2, seed=9)[0][1].split()
    tokens[17] = token
    return sep.join(tokens)


REJECTED = {
    "1_0": "underscores (Python's float accepts them)",
    "١٢": "Arabic-Indic digits",
    "1\xa02": "a non-breaking space is not a separator",
    "1\r2": "a CR inside a line",
    "1\x0b": "a vertical tab",
    "\x0c1": "a form feed",
    "NAN": "not one of pandas' NaN spellings",
    "+nan": "not one of pandas' NaN spellings",
    "NA": "pandas' NA string",
    '"1"': "quotes",
    "0x1": "hexadecimal",
    "1,5": "a decimal comma",
    "1e": "an exponent without digits",
    ".": "no digits",
    "\x00": "a NUL byte",
}


@pytest.mark.parametrize("token", list(REJECTED), ids=list(REJECTED.values()))
def test_a_value_outside_the_rule_is_one_clear_error_offline_and_streamed(tmp_path, token):
    from gfe.deploy.stream import parse_line

    line = _with_value(token)
    path = _write(tmp_path, "r_datapoints.txt", "\r\n".join([HEADER, line, line]))
    with pytest.raises(DataError) as err:
        load_datapoints(path)
    message = str(err.value)
    assert message == f"{path}, line 2: value {token!r} is not a number (value 18 of 301: landmark 5 y)"
    assert "\n" not in message
    streamed = parse_line(line + "\r\n", where="line 2")
    assert (
        streamed.kind == "error"
        and streamed.error == f"line 2: value {token!r} is not a number (value 18 of 301: landmark 5 y)"
    )


ACCEPTED = [
    "nan",
    "NaN",
    "-nan",
    "-NaN",
    "inf",
    "-Infinity",
    "+INF",
    "1e999",
    "-1e999",
    ".5",
    "1.",
    "+.5e-3",
    "1E+05",
    "007",
]


@pytest.mark.parametrize("token", ACCEPTED)
def test_values_inside_the_rule_load_the_same_offline_and_streamed(tmp_path, token):
    from gfe.deploy.stream import parse_line

    line = _with_value(token)
    ts, lm = load_datapoints(_write(tmp_path, "r_datapoints.txt", "\r\n".join([HEADER, line, line])))
    streamed = parse_line(line + "\r\n")
    assert streamed.kind == "frame"
    np.testing.assert_array_equal(np.r_[ts[0], lm[0].ravel()], streamed.values)
    np.testing.assert_array_equal(lm[0, 5, 1], float(token))


def test_spaces_tabs_crs_and_a_bom_are_read_as_the_plain_layout(tmp_path):
    """Runs of spaces and tabs separate values, CRs before LF and a leading BOM are ignored: such a
    file (read line by line) gives exactly the values of the plain file (one pandas parse)."""
    ts, lm, _ = make_recording(20, seed=10)
    plain = format_datapoints(ts, lm)
    lines = plain.split("\r\n")
    odd = ["\ufeff" + lines[0]] + ["\t " + ln.replace(" ", " \t  ") + " \r\r" for ln in lines[1:]]
    a = load_datapoints(_write(tmp_path, "a_datapoints.txt", plain))
    b = load_datapoints(_write(tmp_path, "b_datapoints.txt", "\n".join(odd) + "\n \t\r\n\n"))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_a_real_file_read_line_by_line_equals_the_fast_parse(real_data, tmp_path):
    text = (real_data / "a_relative_datapoints.txt").read_text()
    ts, lm = load_datapoints(real_data / "a_relative_datapoints.txt")
    ts2, lm2 = load_datapoints(_write(tmp_path, "t_datapoints.txt", text.replace(" ", "\t")))
    assert lm.flags.c_contiguous and lm2.flags.c_contiguous
    np.testing.assert_array_equal(ts, ts2)
    np.testing.assert_array_equal(lm, lm2)


def test_a_lone_cr_or_a_blank_line_inside_the_file_is_an_error(tmp_path):
    lines, _ = _rows()
    joined = lines[2] + "\r" + lines[3]  # two frames glued by a CR: one bad line, not two frames
    p = _write(tmp_path, "c_datapoints.txt", "\r\n".join([*lines[:2], joined, *lines[4:]]))
    with pytest.raises(DataError, match=r"c_datapoints\.txt, line 3: expected 301 values .* found 601"):
        load_datapoints(p)
    p = _write(tmp_path, "d_datapoints.txt", "\r\n".join([*lines[:3], " \t", *lines[3:]]))
    with pytest.raises(DataError, match=r"d_datapoints\.txt, line 4: expected 301 values .* found 0"):
        load_datapoints(p)


def test_not_utf8_empty_and_blank_files(tmp_path):
    lines, _ = _rows()
    p = tmp_path / "u_datapoints.txt"
    p.write_bytes(("\r\n".join(lines[:3]) + "\r\n").encode() + b"\xff\xfe 1 2\r\n")
    with pytest.raises(
        DataError, match=r"u_datapoints\.txt: not a text file \(invalid start byte at byte \d+\)"
    ):
        load_datapoints(p)
    with pytest.raises(DataError, match=r"e_datapoints\.txt: no frames \(the file holds nothing\)"):
        load_datapoints(_write(tmp_path, "e_datapoints.txt", ""))
    with pytest.raises(DataError, match=r"b_datapoints\.txt: no frames \(the file holds nothing\)"):
        load_datapoints(_write(tmp_path, "b_datapoints.txt", " \r\n\t\r\n"))
    with pytest.raises(DataError, match=r"h_datapoints\.txt: no frames \(the file holds only a header\)"):
        load_datapoints(_write(tmp_path, "h_datapoints.txt", HEADER + "\r\n \r\n"))
    ts, _ = load_datapoints(_write(tmp_path, "n_datapoints.txt", "\n".join(lines[1:]) + "\n\n"))  # no header
    assert len(ts) == len(lines) - 1


def test_labels_follow_the_same_rule(tmp_path):
    np.testing.assert_array_equal(
        load_targets(_write(tmp_path, "t.txt", "0\r\n1 \r\n\t0.0\n1.0\r\n\r\n")), [0, 1, 0, 1]
    )
    with pytest.raises(DataError, match=r"t2\.txt, line 2: label '1\\xa0' is not 0 or 1"):
        load_targets(_write(tmp_path, "t2.txt", "0\r\n1\xa0\r\n0"))  # str.strip() used to accept it
    with pytest.raises(DataError, match=r"t3\.txt, line 2: label '' is not 0 or 1"):
        load_targets(_write(tmp_path, "t3.txt", "0\r\n\r\n1"))
    with pytest.raises(DataError, match=r"t4\.txt: no labels"):
        load_targets(_write(tmp_path, "t4.txt", "\r\n"))
    p = tmp_path / "t5.txt"
    p.write_bytes(b"0\r\n\xff")
    with pytest.raises(DataError, match=r"t5\.txt: not a text file"):
        load_targets(p)


_ODD_CHARS = '0123456789.+-eEinfatyINFATY_x,"# \t\r\x00\x0b\x0c\x1c\x1f\x85\xa0\u2007١\ufeff'


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.text(alphabet=_ODD_CHARS, max_size=6), min_size=1, max_size=3),
    st.sampled_from([" ", "\t", " \t "]),
)
def test_fuzz_offline_and_streamed_parsers_accept_exactly_the_same_lines(tmp_path, tokens, sep):
    from gfe.data import is_number, split_values
    from gfe.deploy.stream import parse_line

    base = _rows(2, seed=11)[0][1].split()
    line = sep.join(base[:5] + tokens + base[5 + len(tokens) :])
    path = _write(tmp_path, "f_datapoints.txt", "\r\n".join([HEADER, line, _rows(2, seed=11)[0][2]]))
    try:
        ts, lm = load_datapoints(path)
        offline = np.r_[ts[0], lm[0].ravel()]
    except DataError as exc:
        offline = str(exc).replace(f"{path}, ", "")
    streamed = parse_line(line.encode() + b"\r\n", where="line 2")
    values = split_values(line)
    rule = len(values) == 301 and all(map(is_number, values))
    if isinstance(offline, str):
        assert not rule and streamed.kind == "error" and streamed.error == offline
    else:
        assert rule and streamed.kind == "frame"
        assert np.array_equal(streamed.values, offline, equal_nan=True)
