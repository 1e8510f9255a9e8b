"""Fuzzing whole files: a datapoints/targets pair of any content loads, or fails with one GfeError
line — through :func:`gfe.data.load_recording` and through `gfe predict` — never another
exception (issue #14). Written against the public functions, whatever parser is behind them."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gfe.cli import app
from gfe.data import load_recording
from gfe.data.synthetic import HEADER, make_recording
from gfe.deploy.training import train_bundle
from gfe.errors import GfeError

runner = CliRunner()
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_TS, _LM, _ = make_recording(12, seed=1)
GOOD_LINES = [
    " ".join(f"{v:.15g}" for v in np.concatenate([[t], f.ravel()])) for t, f in zip(_TS, _LM, strict=True)
]

# Values a parser must judge one by one: Python's float() reads some that are no UCI numbers
# ("1_0", Unicode digits), pandas reads others.
special = st.sampled_from(
    ["nan", "NaN", "+nan", "-inf", "infinity", "1e999", "-0", "0x", "0x10", "1_0", "١٢", "٣", "\u00a01", "1,5",
     "--1", "", "\x00", "é", "1e", ".", "+"]
)  # fmt: skip
token = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), special, st.text(max_size=5))


@st.composite
def frame_line(draw) -> str:
    """A frame line as it is (often), or with tokens replaced, dropped or added."""
    tokens = draw(st.sampled_from(GOOD_LINES)).split()
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        i = draw(st.integers(0, len(tokens) - 1))
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace":
            tokens[i] = draw(token)
        elif action == "drop":
            del tokens[i]
        else:
            tokens.insert(i, draw(token))
    sep = draw(st.sampled_from([" ", "\t", "  "]))
    return sep.join(tokens)


line = st.one_of(frame_line(), frame_line(), frame_line(), st.just(""), st.text(max_size=40), st.just(HEADER))


@st.composite
def one_odd_value(draw) -> str:
    """A well-formed file but for one value: what a parser must judge value by value."""
    lines = draw(st.lists(st.sampled_from(GOOD_LINES), min_size=1, max_size=6))
    k = draw(st.integers(0, len(lines) - 1))
    tokens = lines[k].split()
    odd = st.one_of(special, special, token).filter(lambda t: t and not any(c.isspace() for c in t))
    tokens[draw(st.integers(0, len(tokens) - 1))] = draw(odd)
    lines[k] = " ".join(tokens)
    return "\r\n".join([HEADER, *lines])


@st.composite
def datapoints_file(draw) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind <= 3:
        return draw(one_odd_value()).encode("utf-8", "surrogatepass")
    lines = ([HEADER] if draw(st.booleans()) else []) + draw(st.lists(line, min_size=1, max_size=8))
    end = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    text = end.join(lines) + (end if draw(st.booleans()) else "")
    return text.encode("utf-8", "surrogatepass") if draw(st.booleans()) else text.encode("utf-8", "replace")


@st.composite
def targets_file(draw) -> bytes:
    labels = draw(
        st.lists(st.one_of(st.sampled_from(["0", "1", "1.0", " 1", ""]), st.text(max_size=3)), max_size=14)
    )
    return draw(st.sampled_from(["\r\n", "\n"])).join(labels).encode("utf-8", "surrogatepass")


def _write(folder: Path, points: bytes, targets: bytes) -> Path:
    (folder / "a_negative_datapoints.txt").write_bytes(points)
    (folder / "a_negative_targets.txt").write_bytes(targets)
    return folder / "a_negative_datapoints.txt"


@FUZZ
@given(datapoints_file(), targets_file())
def test_a_recording_of_any_content_loads_or_is_one_gfe_error(points, targets):
    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp), points, targets)
        try:
            rec = load_recording(tmp, "a", "negative")
        except GfeError as exc:
            assert str(exc) and "\n" not in str(exc)
            return
        n = rec.n_frames
        assert n >= 1 and rec.landmarks.shape == (n, 100, 3) and rec.timestamps.shape == (n,)
        assert rec.labels.shape == (n,) and set(np.unique(rec.labels)) <= {0, 1}
        assert rec.landmarks.dtype == np.float64


@pytest.fixture(scope="module")
def bundle(synthetic_data_session, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "negative"
    train_bundle(synthetic_data_session, "negative", "mlp", params={"epochs": 1}).save(path)
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points=datapoints_file(), targets=targets_file(), with_targets=st.booleans())
def test_gfe_predict_on_any_file_labels_it_or_says_why_in_one_line(bundle, points, targets, with_targets):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), points, targets)
        args = ["predict", str(bundle), str(path), "--out", str(Path(tmp) / "o.json")]
        if with_targets:
            args += ["--targets", str(Path(tmp) / "a_negative_targets.txt")]
        res = runner.invoke(app, args)
        assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
        assert res.exit_code in (0, 2), res.output
        assert "Traceback" not in res.output
        if res.exit_code == 2:
            assert len([x for x in res.output.splitlines() if x.startswith("error:")]) == 1
        else:
            assert (Path(tmp) / "o.json").is_file()


# What the fuzz test found in the parser before its rewrite (issue #15): values that Python's float()
# reads but pandas' C parser does not made load_datapoints raise a bare ValueError, while the
# stream's parser read them as numbers, so offline and live disagreed. Both now refuse them alike.
PARSER_FINDINGS = ["1_0", "1_000.5", "١٢", "٣", "١.٥", "+nan", "NAN", "nAn"]


@pytest.mark.parametrize("value", PARSER_FINDINGS)
def test_offline_and_live_parsers_judge_an_odd_value_alike(value, tmp_path):
    from gfe.data import load_datapoints
    from gfe.deploy.stream import parse_line

    tokens = GOOD_LINES[1].split()
    tokens[5] = value
    path = tmp_path / "rec.txt"
    path.write_text("\r\n".join([HEADER, GOOD_LINES[0], " ".join(tokens)]))
    live = parse_line(" ".join(tokens))
    try:
        _, landmarks = load_datapoints(path)
    except GfeError as exc:
        assert "line 3" in str(exc) and live.kind == "error"
    else:
        assert live.kind == "frame" and live.values[5] == landmarks[1].ravel()[4]
